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
