"""ESFA/DfE "Dedicated schools grant (DSG): allocations" spreadsheets (ODS or XLSX).

The Allocations_summary sheet has a title row, a row of group headings ("... before ..." / "... after
deductions"), a row of block headings, a row of [A]..[J] markers, then ENGLAND, one row per LA (3-digit
code, name) and summary rows. Header rows move between releases, so they are found by their text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from sendlib.errors import InputFileError

_CODE = re.compile(r"^\d{3}$")


@dataclass(frozen=True)
class DsgSummary:
    """The LA rows of one DSG allocations summary sheet, in pounds."""

    financial_year: str
    sheet: str
    la: pd.DataFrame  # la_code, la_name, hnb_before_deductions_gbp, hnb_after_deductions_gbp, total_dsg_before_gbp
    england: dict[str, float]
    regions: pd.DataFrame  # region_name, hnb_before_deductions_gbp
    unit_multiplier: float


def read_workbook(path: Path) -> dict[str, pd.DataFrame]:
    """Return every sheet of an ODS/XLSX workbook as raw cells (no header inference)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", "a DSG allocations spreadsheet")
    if path.stat().st_size == 0:
        raise InputFileError(path, "the file is empty", "a DSG allocations spreadsheet (ODS or XLSX)")
    engine = "odf" if path.suffix.lower() == ".ods" else None
    try:
        return pd.read_excel(path, sheet_name=None, header=None, engine=engine)
    except Exception as exc:  # odfpy and openpyxl raise many types for corrupt files
        raise InputFileError(path, f"cannot be read as a spreadsheet ({type(exc).__name__}: {exc})",
                             "a complete ODS or XLSX workbook") from exc


def publication_date(sheets: dict[str, pd.DataFrame], path: Path) -> date | None:
    """Return the 'Publication date' written on the Information sheet, if there is one."""
    for name, cells in sheets.items():
        if not name.lower().startswith("information"):
            continue
        for _, row in cells.iterrows():
            texts = [str(v).strip() for v in row.tolist() if pd.notna(v)]
            for i, text in enumerate(texts):
                if text.lower().startswith("publication date") and i + 1 < len(texts):
                    return _parse_date(texts[i + 1], path)
    return None


def _parse_date(text: str, path: Path) -> date:
    """Return the date in strings like 'Thursday, 20 Jul, 2023'."""
    for fmt in ("%A, %d %b, %Y", "%d %B %Y", "%d %b %Y", "%A, %d %B, %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise InputFileError(path, f"publication date {text!r} is not a date", "e.g. 'Thursday, 20 Jul, 2023'")


def read_summary_sheet(cells: pd.DataFrame, path: Path, sheet: str, financial_year: str) -> DsgSummary:
    """Return the HNB before/after deductions and total DSG of each LA in one summary sheet."""
    where = f"{path.name} sheet {sheet}"
    head_row = _find_row(cells, lambda texts: sum("high needs block" in t for t in texts) >= 2)
    if head_row is None:
        raise InputFileError(path, f"{where}: no header row naming 'High needs block' twice",
                             "block headings before and after deductions")
    labels = [str(v).lower() if pd.notna(v) else "" for v in cells.iloc[head_row].tolist()]
    hnb_cols = [i for i, t in enumerate(labels) if "high needs block" in t]
    total_cols = [i for i, t in enumerate(labels) if "total dsg" in t]
    if len(hnb_cols) != 2 or not total_cols:
        raise InputFileError(path, f"{where}: found {len(hnb_cols)} 'High needs block' columns",
                             "exactly two (before and after deductions) and a 'Total DSG' column")
    group = _group_headings(cells, head_row)
    before_text, after_text = group.get(hnb_cols[0], ""), group.get(hnb_cols[1], "")
    if not ("before" in before_text or "prior" in before_text) or "after" not in after_text:
        raise InputFileError(path, f"{where}: cannot tell which HNB column is before deductions",
                             "group headings 'before/prior to ... deductions' then 'after deductions'")
    units = {("million" in labels[i] or "£m" in labels[i]) for i in hnb_cols + total_cols[:1]}
    if len(units) != 1:
        raise InputFileError(path, f"{where}: HNB and total DSG columns are in different units", "one unit")
    multiplier = 1e6 if units.pop() else 1.0
    first_col = cells.iloc[:, 0].astype(str).str.strip()
    england_rows = first_col[first_col.str.upper() == "ENGLAND"].index
    if len(england_rows) != 1:
        raise InputFileError(path, f"{where}: {len(england_rows)} rows labelled ENGLAND", "exactly one")
    start = england_rows[0]

    def money(row: int, col: int, what: str) -> float:
        value = cells.iat[row, col]
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputFileError(path, f"{where} row {row + 1}: {what} is {value!r}", "a number of pounds") from None
        if pd.isna(number):
            raise InputFileError(path, f"{where} row {row + 1}: {what} is blank", "a number of pounds")
        return round(number * multiplier) if multiplier != 1.0 else number

    records, regions, row = [], [], start + 1
    while row < len(cells):
        code = str(cells.iat[row, 0]).strip()
        if _CODE.match(code):
            records.append({
                "la_code": code,
                "la_name": str(cells.iat[row, 1]).strip(),
                "hnb_before_deductions_gbp": money(row, hnb_cols[0], "HNB before deductions"),
                "hnb_after_deductions_gbp": money(row, hnb_cols[1], "HNB after deductions"),
                "total_dsg_before_gbp": money(row, total_cols[0], "total DSG"),
            })
        elif code and code.lower() != "nan" and not code.isupper() and pd.notna(cells.iat[row, hnb_cols[0]]):
            regions.append({"region_name": code, "hnb_before_deductions_gbp": money(row, hnb_cols[0], "region HNB")})
        row += 1
    if not records:
        raise InputFileError(path, f"{where}: no LA rows (3-digit codes) after ENGLAND", "one row per LA")
    la = pd.DataFrame(records)
    if la["la_code"].duplicated().any():
        dup = la.loc[la["la_code"].duplicated(), "la_code"].iloc[0]
        raise InputFileError(path, f"{where}: LA code {dup} appears twice", "one row per LA")
    england = {
        "hnb_before_deductions_gbp": money(start, hnb_cols[0], "England HNB before deductions"),
        "hnb_after_deductions_gbp": money(start, hnb_cols[1], "England HNB after deductions"),
        "total_dsg_before_gbp": money(start, total_cols[0], "England total DSG"),
    }
    return DsgSummary(financial_year, sheet, la, england, pd.DataFrame(regions), multiplier)


def _find_row(cells: pd.DataFrame, test, limit: int = 30) -> int | None:
    """Return the first row index (within `limit`) whose lower-cased texts pass `test`."""
    for i in range(min(limit, len(cells))):
        texts = [str(v).lower() for v in cells.iloc[i].tolist() if pd.notna(v)]
        if test(texts):
            return i
    return None


def _group_headings(cells: pd.DataFrame, head_row: int) -> dict[int, str]:
    """Return, for each column, the nearest group heading to its left in the rows above the header."""
    result: dict[int, str] = {}
    for r in range(head_row):
        current = ""
        for c in range(cells.shape[1]):
            value = cells.iat[r, c]
            if pd.notna(value) and str(value).strip() and c > 0:
                current = str(value).lower()
            if current:
                result[c] = current
    return result


def financial_year_of_sheet(cells: pd.DataFrame, path: Path, sheet: str) -> str:
    """Return the financial year named in a summary sheet's title ('2019-20' or '2020 to 2021').

    The title is searched for in the rows above the ENGLAND row (as far down as headers are searched), since
    header rows move down between releases.
    """
    for i in range(min(30, len(cells))):
        if str(cells.iat[i, 0]).strip().upper() == "ENGLAND":
            break
        for value in cells.iloc[i].tolist():
            text = str(value)
            if m := re.search(r"(20\d{2}) to (20\d{2})", text):
                return f"{m.group(1)}-{m.group(2)[2:]}"
            if m := re.search(r"(20\d{2})-(\d{2})", text):
                return f"{m.group(1)}-{m.group(2)}"
    raise InputFileError(path, f"sheet {sheet}: no financial year in its title rows", "e.g. '2020 to 2021'")
