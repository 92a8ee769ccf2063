"""ONS time-series CSV downloads: metadata rows (Title, CDID, ..., Important notes), then annual
"YYYY", quarterly "YYYY Qn" and monthly "YYYY MON" rows. A copy that dropped the metadata rows (a
`period,value` header, then the same rows) is read when the caller states what those rows said."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from sendlib.errors import InputFileError
from sendlib.periods import fy_label
from sendlib.readers.text import read_csv_rows

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_ANNUAL = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4}) Q([1-4])$")
_MONTH = re.compile(r"^(\d{4}) (" + "|".join(MONTHS) + r")$")


@dataclass(frozen=True)
class OnsSeries:
    """One ONS series: its identifier, release date and the quarterly and monthly observations."""

    cdid: str
    title: str
    release_date: date
    quarterly: pd.DataFrame  # columns year, quarter, value
    monthly: pd.DataFrame  # columns year, month (1-12), value


COPY_HEADER = ("period", "value")


def read_ons_series(path: Path, expected_cdid: str, dropped_metadata: Mapping[str, str] | None = None) -> OnsSeries:
    """Return the series in an ONS time-series CSV, checking its CDID and release date.

    A two-column copy whose first row is `period,value` has no metadata rows: it is read only with
    `dropped_metadata`, what those rows said (CDID, Title, Release date as DD-MM-YYYY), stated by the caller.
    """
    path = Path(path)
    header, rows = _read_two_columns(path)
    if tuple(h.strip().lower() for h in header) == COPY_HEADER:
        if dropped_metadata is None:
            raise InputFileError(path, "a 'period,value' copy without ONS's metadata rows (Title, CDID, Release date)",
                                 "the ONS download format, or the registry stating the copy's series and vintage")
        meta: dict[str, str] = dict(dropped_metadata)
    else:
        meta = {header[0]: header[1]}
    data: list[tuple[str, str]] = []
    for label, value in rows:
        if _ANNUAL.match(label) or _QUARTER.match(label) or _MONTH.match(label):
            data.append((label, value))
        elif not data:
            meta[label] = value
        else:
            raise InputFileError(path, f"unexpected row label {label!r} after the data began", "YYYY, YYYY Qn or YYYY MON")
    cdid = meta.get("CDID", "")
    if cdid != expected_cdid:
        raise InputFileError(path, f"CDID is {cdid!r}", f"the ONS series {expected_cdid}")
    try:
        released = datetime.strptime(meta.get("Release date", ""), "%d-%m-%Y").date()
    except ValueError:
        raise InputFileError(path, f"Release date {meta.get('Release date')!r} is not a date", "DD-MM-YYYY") from None
    quarterly, monthly = [], []
    for label, value in data:
        try:
            number = float(value)
        except ValueError:
            raise InputFileError(path, f"value {value!r} for {label} is not a number", "a number") from None
        if m := _QUARTER.match(label):
            quarterly.append((int(m.group(1)), int(m.group(2)), number))
        elif m := _MONTH.match(label):
            monthly.append((int(m.group(1)), MONTHS.index(m.group(2)) + 1, number))
    if not quarterly and not monthly:
        raise InputFileError(path, "no quarterly or monthly observations", "rows labelled 'YYYY Qn' or 'YYYY MON'")
    return OnsSeries(
        cdid=cdid,
        title=meta.get("Title", ""),
        release_date=released,
        quarterly=pd.DataFrame(quarterly, columns=["year", "quarter", "value"]),
        monthly=pd.DataFrame(monthly, columns=["year", "month", "value"]),
    )


def _read_two_columns(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Return the first row and the remaining rows of a two-column ONS CSV."""
    try:
        header, body = read_csv_rows(path)
    except InputFileError as exc:
        if "fields" in exc.problem:
            raise InputFileError(path, exc.problem, "two columns: label, value") from None
        raise
    if len(header) != 2:
        raise InputFileError(path, f"{len(header)} columns", "two columns: label, value")
    return header, [(r[0].strip(), r[1].strip()) for r in body]


def financial_year_means_quarterly(quarterly: pd.DataFrame) -> pd.DataFrame:
    """Return financial_year, value: the mean of quarters Q2..Q4 of year t and Q1 of t+1 (complete years only)."""
    q = quarterly.copy()
    q["fy_start"] = q["year"].where(q["quarter"] >= 2, q["year"] - 1)
    grouped = q.groupby("fy_start")["value"].agg(["mean", "count"])
    grouped = grouped[grouped["count"] == 4]
    return pd.DataFrame(
        {"financial_year": [fy_label(int(y)) for y in grouped.index], "value": grouped["mean"].to_numpy()}
    )


def financial_year_means_monthly(monthly: pd.DataFrame) -> pd.DataFrame:
    """Return financial_year, value: the mean of April of year t to March of t+1 (complete years only)."""
    m = monthly.copy()
    m["fy_start"] = m["year"].where(m["month"] >= 4, m["year"] - 1)
    grouped = m.groupby("fy_start")["value"].agg(["mean", "count"])
    grouped = grouped[grouped["count"] == 12]
    return pd.DataFrame(
        {"financial_year": [fy_label(int(y)) for y in grouped.index], "value": grouped["mean"].to_numpy()}
    )

