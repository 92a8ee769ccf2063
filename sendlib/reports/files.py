"""Safe writing into outputs/: atomic replacement, a lock for shared state, and clean-up of what a killed
build left behind. Readers (browsers, a second build) only ever see a complete old file or a complete new
one: every file is written to a temporary name in the same folder and moved into place with os.replace.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".sendlib-reports.lock"
RUN_PREFIX = ".run-"
TEMP_PATTERN = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")
RUN_PATTERN = re.compile(r"^\.run-(\d+)-[0-9a-f]{8}$")


def temp_name(path: Path) -> Path:
    """Return a unique temporary path next to `path`, carrying this process's pid."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write `content` to `path` atomically (temporary file in the same folder, fsync, os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return path


def move_atomic(source: Path, target: Path) -> Path:
    """Move a finished file into place atomically (same file system: outputs/ holds both)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return target


@contextlib.contextmanager
def locked(folder: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold an exclusive fcntl lock on folder/.sendlib-reports.lock (shared state, index, clean-up)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{folder / LOCK_NAME} stayed locked for {timeout:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    """Return True if a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_run_folder(out: Path) -> Path:
    """Create this build's private working folder under outputs/ (same file system, so moves are atomic)."""
    folder = out / f"{RUN_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    return folder


def clean_stale(out: Path) -> int:
    """Remove temporary files and run folders left by builds that are no longer running; return how many."""
    removed = 0
    if not out.is_dir():
        return 0
    for root, dirs, files in os.walk(out):
        for name in list(dirs):
            match = RUN_PATTERN.match(name)
            if match and not pid_alive(int(match.group(1))):
                shutil.rmtree(Path(root) / name, ignore_errors=True)
                dirs.remove(name)
                removed += 1
            elif match:
                dirs.remove(name)
        for name in files:
            match = TEMP_PATTERN.match(name)
            if match and not pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    (Path(root) / name).unlink()
                    removed += 1
    return removed
