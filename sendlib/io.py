"""Writing files so that a reader never sees half a file, working folders owned by a lock, and one-line
descriptions of file-system failures.

* `write_bytes_atomic` / `write_csv_atomic`: a temporary file in the target's folder (created with mode
  0666 so the umask decides the permissions, like any other program's output), fsync, then os.replace. A
  failure (full disk, read-only folder) removes the temporary file, leaves the old file as it was and raises
  OutputFileError naming the target. `write_csv_atomic(frame, "-")` writes to standard output.
* `claim_folder` / `remove_abandoned`: a working folder (a build's staging folder, a report run's folder, the
  fork server's socket folder) holds a lock file that its owner keeps locked while it lives (flock on POSIX,
  msvcrt on Windows). Whether a folder is abandoned is judged by that lock, never by a process id, so a run
  in another PID namespace (another container on the same folder) is never mistaken for a dead one, and the
  lock is released by the kernel however the owner died.
* `check_output_file` / `check_output_folder`: refuse an output path that cannot be written before any work
  is done, naming the flag.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sendlib.errors import OutputFileError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

OWNER_LOCK = ".owner.lock"
LEGACY_AGE_SECONDS = 600.0
STDOUT = "-"

_ADVICE = {
    errno.ENOSPC: ("the disk is full (no space left on the device)", "free some space and run again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space and run again"),
    errno.EACCES: ("permission denied (the folder is read-only for you)",
                   "choose a folder you can write to, or change its permissions"),
    errno.EPERM: ("permission denied", "choose a folder you can write to, or change its permissions"),
    errno.EROFS: ("the file system is read-only", "choose a folder on a writable disk"),
    errno.EISDIR: ("it is a folder", "give a file name"),
    errno.ENOTDIR: ("part of the path is a file, not a folder", "give a path whose folders are folders"),
    errno.ENOENT: ("the folder does not exist", "create it first or give another path"),
    errno.ENAMETOOLONG: ("the name is too long", "give a shorter path"),
    errno.EEXIST: ("it already exists", "remove it or give another path"),
}


# --------------------------------------------------------------------------------------- errors


def describe_os_error(exc: OSError) -> tuple[str, str]:
    """Return (what went wrong, what to do) for a file-system error, in plain words."""
    if exc.errno in _ADVICE:
        return _ADVICE[exc.errno]
    return (exc.strerror or str(exc) or type(exc).__name__).lower(), "check the path and run again"


def output_error(exc: OSError, path: str | os.PathLike, flag: str | None = None) -> OutputFileError:
    """Return the OutputFileError for a failure writing `path` (named, with what to do)."""
    problem, advice = describe_os_error(exc)
    return OutputFileError(path, problem, advice, flag)


# --------------------------------------------------------------------------------------- atomic files


def temp_path(target: Path, tag: str | None = None) -> Path:
    """Return a unique hidden temporary path next to `target`: .<name>.<tag>.<8 hex>.tmp (tag: owner)."""
    return target.with_name(f".{target.name}.{tag or f'p{os.getpid()}'}.{secrets.token_hex(4)}.tmp")


def create_temp(folder: Path, prefix: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """Create and open a new temporary file <prefix><8 hex><suffix> in `folder` (mode from the umask)."""
    for _ in range(100):
        path = Path(folder) / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(Path(folder) / prefix))


def _write_all(handle: IO[bytes], data: bytes) -> None:
    """Write every byte of `data` to an open file (one place, so tests can simulate a full disk)."""
    handle.write(data)


def write_bytes_atomic(content: bytes, path: str | os.PathLike, *, flag: str | None = None,
                       tag: str | None = None) -> Path:
    """Write bytes to `path` via a temporary file and os.replace (mode from the umask); return the path.

    On any failure the temporary file is removed, `path` keeps its old content, and an OSError becomes an
    OutputFileError naming `path` (and `flag`, the option it came from).
    """
    target = Path(path)
    temp = temp_path(target, tag)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(temp, "xb")  # noqa: SIM115 (new file, mode 0666 less the umask)
        try:
            with handle:
                _write_all(handle, content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
    except OSError as exc:
        blocking = _nearest_existing(target.parent)
        if not blocking.is_dir():
            raise OutputFileError(target, f"{blocking} is a file, not a folder",
                                  "give a path whose folders are folders", flag) from exc
        problem = IsADirectoryError(errno.EISDIR, "Is a directory", str(target)) if target.is_dir() else exc
        raise output_error(problem, target, flag) from exc
    return target


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike, *, flag: str | None = None) -> Path | None:
    """Write a DataFrame as UTF-8 CSV (no index, LF line ends) atomically, or to standard output for '-'."""
    text = frame.to_csv(index=False, lineterminator="\n")
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    return write_bytes_atomic(text.encode("utf-8"), path, flag=flag)


# --------------------------------------------------------------------------------------- checks up front


def _nearest_existing(path: Path) -> Path:
    """Return `path` or its nearest ancestor that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def _probe_writable(folder: Path, shown: Path, flag: str | None) -> None:
    """Raise OutputFileError unless a file can be created (and removed again) in `folder`."""
    probe = temp_path(folder / "write-check")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise output_error(exc, shown, flag) from exc
    with contextlib.suppress(OSError):
        probe.unlink()


def _check_ancestors(path: Path, flag: str | None) -> None:
    """Raise OutputFileError if a part of the path above `path` is a file or its folder cannot be written."""
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise OutputFileError(path, f"{existing} is a file, not a folder", "give a path whose folders are folders",
                              flag)
    _probe_writable(existing, path, flag)


def check_output_file(path: str | os.PathLike | None, flag: str) -> str | None:
    """Return the path if a file can be written there ('-' is standard output); raise a named error if not.

    Refused before any work: an empty value (ParameterError, exit 2), a folder, a path under a file, a
    folder that cannot be written (OutputFileError, exit 1). A missing folder is fine: it is created.
    """
    if path is None:
        return None
    text = os.fspath(path)
    if not text.strip():
        raise ParameterError(flag, text, "a file name (or - for standard output)")
    if text == STDOUT:
        return text
    target = Path(text)
    if target.is_dir():
        raise OutputFileError(target, "it is a folder", f"give a file name, e.g. {target / 'table.csv'}", flag)
    _check_ancestors(target, flag)
    return text


def check_output_folder(path: str | os.PathLike, flag: str) -> Path:
    """Return the folder if sendlib can write into it (it may not exist yet); raise a named error if not."""
    text = os.fspath(path)
    if not text.strip():
        raise ParameterError(flag, text, "a folder name")
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise OutputFileError(folder, "it is a file, not a folder", "give a folder name", flag)
    if folder.is_dir():
        _probe_writable(folder, folder, flag)
    else:
        _check_ancestors(folder, flag)
    return folder


# --------------------------------------------------------------------------------------- owned folders


def try_lock(handle: IO) -> bool:
    """Take an exclusive lock on an open file without waiting; return False if another process holds it."""
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def unlock(handle: IO) -> None:
    """Release a lock taken with try_lock."""
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        with contextlib.suppress(OSError):
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _still_there(handle: IO, path: Path) -> bool:
    """Return True if `path` is still the file `handle` has open (not removed and replaced meanwhile)."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


class OwnedFolder:
    """A working folder that belongs to this process while it holds the folder's lock file."""

    def __init__(self, path: Path, handle: IO):
        """Wrap a claimed folder and its open, locked lock file."""
        self.path = path
        self._handle: IO | None = handle

    @property
    def token(self) -> str:
        """Return the folder's unique part (after the prefix)."""
        return self.path.name.rsplit("-", 1)[-1]

    def remove(self) -> None:
        """Delete the folder and release its lock (the lock is held until the files are gone on POSIX)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if os.name == "nt":  # pragma: no cover - Windows cannot delete an open file
            handle.close()
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            unlock(handle)
            handle.close()

    def __enter__(self) -> OwnedFolder:
        """Return the folder."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Remove the folder."""
        self.remove()


def claim_folder(parent: Path, prefix: str, attempts: int = 5) -> OwnedFolder:
    """Create parent/<prefix><16 hex>/ and lock its owner file for as long as this process holds it."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    problem: OSError | None = None
    for _ in range(attempts):
        path = parent / f"{prefix}{secrets.token_hex(8)}"
        try:
            path.mkdir()
            lock_path = path / OWNER_LOCK
            handle = open(lock_path, "a+b")  # noqa: SIM115 (kept open: the lock lives as long as the folder)
        except FileExistsError:
            continue
        except FileNotFoundError as exc:  # removed by a clean-up in the instant before we locked it
            problem = exc
            continue
        if try_lock(handle) and _still_there(handle, lock_path):
            return OwnedFolder(path, handle)
        handle.close()
    raise problem or OSError(errno.EEXIST, f"could not claim a working folder {prefix}* in {parent}")


def age_seconds(path: Path) -> float:
    """Return how long ago the path was last modified, in seconds."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _foreign(entry: os.DirEntry) -> bool:
    """Return True if another user owns the entry (never touched: /tmp is shared)."""
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows
        return False
    try:
        return entry.stat(follow_symlinks=False).st_uid != os.geteuid()
    except OSError:
        return True


def remove_abandoned(parent: Path, prefix: str, legacy_age: float = LEGACY_AGE_SECONDS,
                     legacy_alive: Callable[[Path], bool] | None = None) -> list[Path]:
    """Remove parent/<prefix>* folders whose owner is gone; return the folders removed.

    A folder without a lock file (written by an older sendlib) is removed once it is `legacy_age` seconds
    old, unless `legacy_alive(folder)` says its owner still runs.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir(follow_symlinks=False) or _foreign(entry):
            continue
        if _remove_if_abandoned(Path(entry.path), legacy_age, legacy_alive):
            removed.append(Path(entry.path))
    return removed


def _remove_if_abandoned(folder: Path, legacy_age: float, legacy_alive: Callable[[Path], bool] | None) -> bool:
    """Remove the folder if its lock is free (without a lock file: if it is old and not alive); True if removed."""
    try:
        handle = open(folder / OWNER_LOCK, "rb")  # noqa: SIM115
    except FileNotFoundError:  # an older sendlib's folder, or one being claimed this instant
        if age_seconds(folder) <= legacy_age or (legacy_alive is not None and legacy_alive(folder)):
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return not folder.exists()
    except OSError:
        return False
    with handle:
        if not try_lock(handle):
            return False  # its owner is alive
        if os.name == "nt":  # pragma: no cover - Windows cannot delete an open file
            handle.close()
        shutil.rmtree(folder, ignore_errors=True)  # holding the lock: the owner cannot come back meanwhile
    return not folder.exists()


# --------------------------------------------------------------------------------------- whole folders

STAGING_PREFIX = ".build-"


def write_folder_atomic(folder: str | os.PathLike, files: dict[str, bytes]) -> Path:
    """Replace the named files in `folder` all at once or not at all; return the folder.

    The files are written to a staging folder inside `folder` that this process owns (locked, so a build that
    was killed leaves a folder the next one removes, and a live build's folder is never removed under it), then
    renamed into place; a failure part-way puts the previous files back.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    remove_abandoned(out, STAGING_PREFIX)  # staging folders of builds that were killed
    owned = claim_folder(out, STAGING_PREFIX)
    staging = owned.path
    previous, replaced = staging / "previous", []
    try:
        for name, content in files.items():
            with open(staging / name, "wb") as handle:
                _write_all(handle, content)
        previous.mkdir()
        for name in files:  # keep the old files, to put back if a replacement fails part-way
            if (out / name).is_file():
                shutil.copy2(out / name, previous / name)
        for name in files:
            os.replace(staging / name, out / name)
            replaced.append(name)
    except BaseException:
        for name in reversed(replaced):
            if (previous / name).is_file():
                os.replace(previous / name, out / name)
            else:
                (out / name).unlink(missing_ok=True)
        raise
    finally:
        owned.remove()
    return out
