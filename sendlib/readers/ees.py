"""Explore-education-statistics (EES) tidy CSV files: column checks by name, suppression symbols,
time-period labels, and the EES geography columns."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sendlib.errors import InputFileError
from sendlib.readers.text import read_csv_rows

#: Symbols DfE and ONS publish in numeric cells, and what they mean. Each becomes missing, never 0.
SUPPRESSION_SYMBOLS: dict[str, str] = {
    "x": "not available",
    "z": "not applicable",
    "c": "confidential (suppressed)",
    ":": "not available",
    "..": "not available",
    "-": "not available",
    "u": "low reliability",
    "low": "fewer than 0.5",
    "~": "fewer than 0.5",
    "": "blank",
}

GEOGRAPHY_LEVELS = {"National": "england", "Regional": "region", "Local authority": "la"}


def read_columns(
    path: Path,
    required: Sequence[str],
    numeric: Iterable[str] = (),
    counts: Iterable[str] = (),
    key: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return the required columns of a CSV (EES or other) as text, with `numeric` columns parsed (suppression -> NaN).

    Columns are found by name whatever their order; `counts` must also be non-negative; `key` must not repeat.
    """
    path = Path(path)
    header, rows = read_csv_rows(path)
    by_lower = {}
    for position, name in enumerate(header):
        by_lower.setdefault(name.lower(), position)
    missing = [c for c in required if c.lower() not in by_lower]
    if missing:
        raise InputFileError(
            path,
            f"missing column(s) {missing}; the file has {header}",
            f"the columns {list(required)} in any order",
        )
    data = {c: [r[by_lower[c.lower()]].strip() for r in rows] for c in required}
    frame = pd.DataFrame(data, dtype=object)
    counts = set(counts)
    for column in list(numeric) + [c for c in counts if c not in set(numeric)]:
        frame[column] = parse_numeric(frame[column], path, column, non_negative=column in counts)
    if key:
        repeated = frame[frame.duplicated(list(key), keep=False)]
        if not repeated.empty:
            first = repeated.iloc[0]
            raise InputFileError(
                path,
                f"key {list(key)} repeats, e.g. {dict(first[list(key)])} appears {len(repeated)} times",
                "one row per key",
            )
    return frame


def parse_numeric(values: pd.Series, path: Path, column: str, non_negative: bool = False) -> pd.Series:
    """Return a float Series: suppression symbols become NaN; anything else non-numeric is an error."""
    text = values.astype(str).str.strip().str.replace(",", "", regex=False)
    is_symbol = text.str.lower().isin(SUPPRESSION_SYMBOLS)
    parsed = pd.to_numeric(text.where(~is_symbol), errors="coerce")
    bad = parsed.isna() & ~is_symbol
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(
            path,
            f"column {column!r} row {position + 2} holds {values.iloc[position]!r}",
            "a number or one of the suppression symbols " + ", ".join(repr(s) for s in SUPPRESSION_SYMBOLS if s),
        )
    if non_negative and (parsed < 0).any():
        position = int(np.flatnonzero((parsed < 0).to_numpy())[0])
        raise InputFileError(
            path,
            f"column {column!r} row {position + 2} holds a negative count {values.iloc[position]!r}",
            "counts of zero or more",
        )
    return parsed.astype(float)


_ACADEMIC = re.compile(r"^(\d{4})(\d{2})$")


def january_of_time_period(time_period: str, time_identifier: str) -> int:
    """Return the January (year) of a census count from its EES time label.

    EES labels the January 2025 SEN2 count as academic year "202425"; older releases label it "2025"
    with time_identifier "Calendar year". Both mean the count taken in January 2025.
    """
    label = str(time_period).strip()
    ident = str(time_identifier).strip().lower()
    if ident.startswith("academic year") or (ident == "" and _ACADEMIC.match(label)):
        match = _ACADEMIC.match(label)
        if not match:
            raise ValueError(f"academic-year time_period {label!r} is not of the form YYYYYY")
        start, end = int(match.group(1)), int(match.group(2))
        if (start + 1) % 100 != end:
            raise ValueError(f"academic-year time_period {label!r}: {end:02d} does not follow {start}")
        return start + 1
    if ident.startswith("calendar year") or ident == "january":
        if not re.fullmatch(r"\d{4}", label):
            raise ValueError(f"calendar-year time_period {label!r} is not of the form YYYY")
        return int(label)
    raise ValueError(f"time_identifier {time_identifier!r} is not a January count label")


def financial_year_of_time_period(time_period: str) -> str:
    """Return "2019-20" for the EES financial-year label "201920"."""
    match = _ACADEMIC.match(str(time_period).strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"financial-year time_period {time_period!r} is not of the form YYYYYY")
    return f"{match.group(1)}-{match.group(2)}"


def ees_level(geographic_level: str, path: Path) -> str:
    """Return la | region | england for an EES geographic_level."""
    try:
        return GEOGRAPHY_LEVELS[geographic_level]
    except KeyError:
        raise InputFileError(
            path, f"geographic_level {geographic_level!r} is not handled", f"one of {sorted(GEOGRAPHY_LEVELS)}"
        ) from None
