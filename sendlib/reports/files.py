"""Safe writing into outputs/: atomic replacement, a lock for shared state, and clean-up of what a killed
build left behind. Readers (browsers, a second build) only ever see a complete old file or a complete new
one: every file is written to a temporary name in the same folder and moved into place with os.replace
(sendlib.io.write_bytes_atomic, so permissions follow the umask).

Each build works in its own folder outputs/.run-<16 hex>/ whose lock file it holds while it lives
(sendlib.io.claim_folder); its temporary files are named after that folder (.<name>.<16 hex>.<8 hex>.tmp).
The next build removes run folders whose lock is free and temporary files whose run folder is gone, so a
live build is never judged dead by its process id (another PID namespace sees other ids).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from sendlib import io
from sendlib.errors import LockTimeoutError

LOCK_NAME = ".sendlib-reports.lock"
LOCK_TIMEOUT = 120.0
RUN_PREFIX = ".run-"
TEMP_PATTERN = re.compile(r"^\..+\.([0-9a-z]+)\.[0-9a-f]{8}\.tmp$")
RUN_TAG = re.compile(r"^[0-9a-f]{16}$")

_run_tag: str | None = None


def use_run(tag: str | None) -> None:
    """Name this process's temporary files after the run folder .run-<tag> (None: after the process)."""
    global _run_tag
    _run_tag = tag


def temp_name(path: Path) -> Path:
    """Return a unique temporary path next to `path`, named after this process's run."""
    return io.temp_path(path, _run_tag)


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write `content` to `path` atomically (temporary file in the same folder, fsync, os.replace)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return io.write_bytes_atomic(data, path, tag=_run_tag)


def move_atomic(source: Path, target: Path) -> Path:
    """Move a finished file into place atomically (same file system: outputs/ holds both)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return target


@contextlib.contextmanager
def locked(folder: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on folder/.sendlib-reports.lock (shared state, index, clean-up)."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while not io.try_lock(handle):
            if time.monotonic() > deadline:
                raise LockTimeoutError(folder / LOCK_NAME, timeout, "another `sendlib reports`")
            time.sleep(0.05)
        try:
            yield
        finally:
            io.unlock(handle)


def new_run_folder(out: Path) -> io.OwnedFolder:
    """Claim this build's private working folder under outputs/ (same file system, so moves are atomic)."""
    return io.claim_folder(out, RUN_PREFIX)


def clean_stale(out: Path) -> int:
    """Remove run folders and temporary files left by builds that are no longer running; return how many."""
    if not out.is_dir():
        return 0
    removed = len(io.remove_abandoned(out, RUN_PREFIX))
    live = {p.name[len(RUN_PREFIX):] for p in out.iterdir() if p.name.startswith(RUN_PREFIX) and p.is_dir()}
    for root, dirs, names in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(RUN_PREFIX)]
        for name in names:
            match = TEMP_PATTERN.match(name)
            if not match:
                continue
            owner, path = match.group(1), Path(root) / name
            if RUN_TAG.match(owner):
                stale = owner not in live
            else:  # written outside a run (or by an older sendlib): a write takes seconds, not minutes
                stale = io.age_seconds(path) > io.LEGACY_AGE_SECONDS
            if stale:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    return removed

