"""Writing files so that a reader never sees half a file: temporary file in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def write_bytes_atomic(content: bytes, path: str | os.PathLike) -> Path:
    """Write bytes to path via a temporary file and os.replace; return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a DataFrame as UTF-8 CSV (no index, LF line ends) atomically; return the path."""
    return write_bytes_atomic(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), path)


def write_folder_atomic(folder: str | os.PathLike, files: dict[str, bytes]) -> Path:
    """Replace the named files in `folder` all at once or not at all (staged in the folder, then renamed; a
    failure part-way puts the previous files back); return the folder."""
    import shutil

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    previous, replaced = staging / "previous", []
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content)
        previous.mkdir()
        for name in files:
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
        shutil.rmtree(staging, ignore_errors=True)
    return out
