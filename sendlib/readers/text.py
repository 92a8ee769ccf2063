"""Decode CSV files the way official publishers actually ship them (UTF-8, UTF-8 with BOM, Windows-1252)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sendlib.errors import InputFileError


def decode_bytes(raw: bytes, path: Path) -> str:
    """Return the text of a file, trying UTF-8 (with or without BOM) then Windows-1252."""
    if not raw.strip():
        raise InputFileError(path, "the file is empty", "a CSV file with a header row and data rows")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="strict") if _is_cp1252(raw) else raw.decode("latin-1")


def _is_cp1252(raw: bytes) -> bool:
    """Return True if the bytes decode as Windows-1252."""
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def looks_like_html(text: str) -> bool:
    """Return True if the text is an HTML page (an error page served instead of data)."""
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<head>" in head


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Return (header, rows) of a CSV file as text, refusing ragged or truncated rows."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", "the official file at this path")
    text = decode_bytes(path.read_bytes(), path)
    if looks_like_html(text):
        raise InputFileError(path, "this is an HTML page, not a CSV file", "comma-separated data")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # strict: a quote left open is an error
    try:
        rows = list(reader)
    except csv.Error as exc:
        hint = ": the file is truncated inside a quoted field" if "end of data" in str(exc) else ""
        raise InputFileError(path, f"not valid CSV (line {reader.line_num}: {exc}){hint}",
                             "comma-separated data with every quoted field closed") from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InputFileError(path, "the file has no rows", "a header row and data rows")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not body:
        raise InputFileError(path, "the file has a header but no data rows", "at least one data row")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            where = "last row" if number == len(body) + 1 else f"row {number}"
            raise InputFileError(
                path,
                f"{where} has {len(row)} fields but the header has {len(header)}: the file is truncated or malformed",
                f"{len(header)} fields in every row",
            )
    return header, body
