"""Reading a CSV or XLSX export into a header and rows of cells, and parsing the dates people and form tools
write. Problems name the file, the spreadsheet row (the header is row 1) and the column, never the value."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sendlib.errors import InputFileError, SendlibError

EARLIEST = dt.date(2014, 9, 1)  # the Children and Families Act 2014 SEND reforms
DATE_ORDERS = ("dmy", "mdy")
_TIMEZONE = re.compile(r"\s+(?:GMT|BST|UTC)(?:[+-]\d{1,2}(?::?\d{2})?)?$", re.I)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where (row, column) and what was expected; never the value itself."""

    row: int | None
    column: str | None
    expected: str

    def describe(self) -> str:
        """Return 'row 4, column "What is your role?": expected ...'."""
        where = [f"row {self.row}"] if self.row is not None else []
        where += [f"column {self.column!r}"] if self.column is not None else []
        return (", ".join(where) + ": " if where else "") + f"expected {self.expected}"


class FileProblems(SendlibError):
    """An input file has problems; nothing was written. Lists each with its row and column (values never shown)."""

    LIMIT = 25

    def __init__(self, path: Path | str, problems: list[Problem], note: str = "nothing was imported"):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {len(problems)} problem(s); {note}."]
        lines += [f"  - {p.describe()}" for p in problems[: self.LIMIT]]
        if len(problems) > self.LIMIT:
            lines.append(f"  ... and {len(problems) - self.LIMIT} more")
        super().__init__("\n".join(lines))


@dataclass
class Sheet:
    """A file's header and data rows (cells as text, or datetime where a workbook holds a date)."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[object]]]  # (spreadsheet row number, cells)


def read_sheet(path: Path | str) -> Sheet:
    """Return the header and non-blank rows of a CSV (UTF-8 or Windows-1252; ',' ';' or tab) or XLSX file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", "a CSV or XLSX export")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path)
    else:
        raise InputFileError(path, f"files of type {suffix or '(none)'} cannot be read",
                             "a .csv or .xlsx file (save an .xls or .ods file as .xlsx first)")
    if not table or not any(cell_text(c) for c in table[0]):
        raise InputFileError(path, "the file is empty or its first row is blank", "a header row of question texts")
    header = [cell_text(c) for c in table[0]]
    while header and not header[-1]:
        header.pop()
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if any(cell_text(c) for c in cells):
            rows.append((number, list(cells)))
    return Sheet(path, header, rows)


def cell_text(cell: object) -> str:
    """Return a cell as stripped text ('' for empty)."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).replace("\u00a0", " ").strip()


def _read_csv(path: Path) -> list[list[object]]:
    """Return the rows of a CSV file."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise InputFileError(path, "the file is not text", "a CSV file in UTF-8")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise InputFileError(path, f"the CSV cannot be read ({exc})", "a CSV export") from exc


def _read_xlsx(path: Path) -> list[list[object]]:
    """Return the rows of the first sheet of an XLSX workbook."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise InputFileError(path, f"the workbook cannot be read ({type(exc).__name__})", "an .xlsx export") from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


# --------------------------------------------------------------------------------------- dates


def parse_date(value: object, order: str = "dmy", today: dt.date | None = None) -> tuple[dt.date | None, str]:
    """Return (date, '') or (None, what was expected); accepts workbook dates, ISO, d/m/y (or m/d/y) and '14 March 2025'."""
    today = today or dt.date.today()
    expected = (f"a date from {EARLIEST.day} {EARLIEST:%B %Y} to today, e.g. 2025-03-14 or "
                + ("14/03/2025" if order == "dmy" else "03/14/2025"))
    if isinstance(value, dt.datetime):
        found: dt.date | None = value.date()
    elif isinstance(value, dt.date):
        found = value
    else:
        text = _TIMEZONE.sub("", cell_text(value))
        if not text:
            return None, expected
        found, hint = _parse_text_date(text, order)
        if found is None:
            return None, hint or expected
    if not EARLIEST <= found <= today:
        return None, expected
    return found, ""


def _parse_text_date(text: str, order: str) -> tuple[dt.date | None, str]:
    """Return (date, '') from text, or (None, a hint when the other day/month order would have worked)."""
    iso = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?", text)
    if iso:
        return _date(int(iso[1]), int(iso[2]), int(iso[3])), ""
    slashed = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ ,T].*)?", text)
    if slashed:
        first, second, year = int(slashed[1]), int(slashed[2]), int(slashed[3])
        year += 2000 if year < 100 else 0
        day, month = (first, second) if order == "dmy" else (second, first)
        found = _date(year, month, day)
        if found is None and _date(year, day, month) is not None:
            other = "mdy" if order == "dmy" else "dmy"
            return None, (f"a date in {'day/month/year' if order == 'dmy' else 'month/day/year'} order "
                          f"(this file looks {'month/day/year' if other == 'mdy' else 'day/month/year'}: "
                          f"import it with --date-order {other})")
        return found, ""
    for pattern in ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y %H:%M", "%d-%b-%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date(), ""
        except ValueError:
            continue
    return None, ""


def _date(year: int, month: int, day: int) -> dt.date | None:
    """Return the date, or None if it does not exist."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
