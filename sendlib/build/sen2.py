"""The SEN2 releases (EHC plans): one reader for every dataset of every release, driven by the registry
(`sources.SEN2_DATASETS`), and the rule that the latest release wins for any period two releases cover.

Each value keeps where it came from (release and file) and, where the file holds a suppression symbol instead
of a number, the symbol: the value is missing (never 0) and the symbol goes to suppressions.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendlib.build.common import require
from sendlib.errors import InputFileError
from sendlib.geography import ENGLAND_CODE
from sendlib.readers.ees import (
    SUPPRESSION_SYMBOLS,
    ees_level,
    january_of_time_period,
    parse_numeric,
    read_columns,
)
from sendlib.sources import Sen2Dataset, sen2_datasets, source

GEO = ["time_period", "time_identifier", "geographic_level", "region_code", "region_name", "old_la_code",
       "new_la_code", "la_name"]
KEY = ["area_code", "period"]
#: Columns of `Sen2Rows.symbols`: one row per value the file suppressed.
SYMBOL_COLUMNS = ["area_code", "level", "period", "column", "symbol", "source_column", "source", "release"]
ROW_ABSENT = "row absent"


@dataclass
class Sen2Rows:
    """The top-level rows of one dataset: values as floats (missing where suppressed) and the symbols met.

    `rows` has area_code, level, region_code, old_la_code, new_la_code, la_name, region_name, period (a January
    or a calendar year), the table columns of the dataset, `release` and `source` (the registered file).
    """

    rows: pd.DataFrame
    symbols: pd.DataFrame


@dataclass
class Combined:
    """One dataset across releases: the rows of the latest release for each period, and every release read."""

    dataset: str
    rows: pd.DataFrame
    symbols: pd.DataFrame
    columns: list[str]
    chosen: dict[int, Sen2Dataset]  # period -> the release its rows come from
    read: list[tuple[Sen2Dataset, Sen2Rows]]  # every release in hand, oldest first


def area_codes(frame: pd.DataFrame, path: Path) -> pd.Series:
    """Return the area code of each EES row: 3-digit LA code, E12 region code or England's code."""
    level = frame["geographic_level"].map(lambda v: ees_level(v, path))
    code = np.where(level == "la", frame["old_la_code"],
                    np.where(level == "region", frame["region_code"], ENGLAND_CODE))
    result = pd.Series(code, index=frame.index, dtype=object)
    bad = (level == "la") & ~result.str.fullmatch(r"\d{3}")
    if bad.any():
        raise InputFileError(path, f"old_la_code {result[bad].iloc[0]!r} is not a 3-digit LA code",
                             "3-digit DfE codes such as '886'")
    return result


def _symbol(text: pd.Series) -> pd.Series:
    """Return the suppression symbol of each cell as published ('x', 'c', '(blank)'), or None for a number."""
    stripped = text.astype(str).str.strip()
    is_symbol = stripped.str.lower().isin(SUPPRESSION_SYMBOLS)
    return stripped.where(is_symbol).map(lambda s: None if pd.isna(s) else (s or "(blank)"))


def read_file(path: Path, spec: Sen2Dataset, name: str) -> Sen2Rows:
    """Return the top-level rows of one file of one dataset, values parsed and symbols kept."""
    parts = list(dict.fromkeys(c for cols in spec.columns.values() for c in cols))
    text = read_columns(path, GEO + list(spec.keep) + parts)
    for column, value in spec.keep.items():
        found = text[column]
        text = text[found == value]
        if text.empty:
            labels = sorted(set(found))[:12]
            raise InputFileError(path, f"no rows with {column} = {value!r}; the file has {labels}",
                                 f"the {spec.release} top-level label {value!r} (if DfE renamed it, update "
                                 "sources.SEN2_DATASETS)")
    text = text.reset_index(drop=True)
    frame = text[GEO].copy()
    frame["level"] = frame["geographic_level"].map(lambda v: ees_level(v, path))
    frame["area_code"] = area_codes(frame, path)
    if spec.period == "january":
        frame["period"] = [january_of_time_period(p, i) for p, i in
                           zip(frame["time_period"], frame["time_identifier"], strict=True)]
    else:
        frame["period"] = frame["time_period"].astype(int)
    repeated = frame[frame.duplicated(KEY, keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        times = int(((repeated["area_code"] == first["area_code"]) & (repeated["period"] == first["period"])).sum())
        raise InputFileError(path, f"area {first['area_code']} period {first['period']} appears {times} times",
                             "one row per area and period")
    parsed = {c: parse_numeric(text[c], path, c, non_negative=True) for c in parts}
    marks = {c: _symbol(text[c]) for c in parts}
    symbols = []
    for column, sources in spec.columns.items():
        frame[column] = pd.concat([parsed[c] for c in sources], axis=1).sum(axis=1, min_count=len(sources))
        held = pd.concat([marks[c] for c in sources], axis=1)
        held.columns = list(sources)
        for row in np.flatnonzero(held.notna().any(axis=1).to_numpy()):
            cells = held.iloc[row].dropna()
            symbols.append({"area_code": frame.at[row, "area_code"], "level": frame.at[row, "level"],
                            "period": int(frame.at[row, "period"]), "column": column,
                            "symbol": "/".join(dict.fromkeys(cells.tolist())),
                            "source_column": "+".join(cells.index), "source": name, "release": spec.release})
    frame["release"], frame["source"] = spec.release, name
    keep = ["area_code", "level", "region_code", "old_la_code", "new_la_code", "la_name", "region_name", "period",
            *spec.columns, "release", "source"]
    return Sen2Rows(frame[keep], pd.DataFrame(symbols, columns=SYMBOL_COLUMNS))


def read_release(raw: Path, spec: Sen2Dataset) -> Sen2Rows | None:
    """Return one dataset of one release from every one of its files in hand (None if only optional files, absent).

    Rows two files share (the 2026 caseload extracts both hold the North East) must agree in every column.
    """
    found = []
    for name in spec.files:
        registered = source(name)
        path = registered.find(raw)
        if path is None:
            if registered.optional:
                continue
            registered.locate(raw)  # raises, naming the file
        found.append((name, path, read_file(path, spec, name)))
    if not found:
        return None
    rows = pd.concat([r.rows for _, _, r in found], ignore_index=True)
    shared = rows[rows.duplicated(KEY, keep=False)]
    for _, group in shared.groupby(KEY):
        values = group[list(spec.columns)]
        if not all(values.iloc[0].equals(values.iloc[i]) for i in range(1, len(group))):
            first, other = group["source"].iloc[0], group["source"].iloc[1]
            raise InputFileError(source(other).locate(raw),
                                 f"area {group['area_code'].iloc[0]} period {group['period'].iloc[0]} differs from "
                                 f"the same row in {source(first).path}",
                                 "the same values in every file of one release")
    rows = rows.drop_duplicates(KEY, keep="first").reset_index(drop=True)
    symbols = pd.concat([r.symbols for _, _, r in found], ignore_index=True)
    symbols = symbols.drop_duplicates(["area_code", "period", "column"], keep="first").reset_index(drop=True)
    return Sen2Rows(rows, symbols)


def combine(raw: Path, dataset: str) -> Combined:
    """Return one dataset across every release in hand: for each period, the rows of the latest release covering it."""
    specs = sen2_datasets(dataset)
    read = [(spec, rows) for spec in specs if (rows := read_release(raw, spec)) is not None]
    require(bool(read), dataset, f"no release of the SEN2 {dataset} data is in hand")
    chosen: dict[int, Sen2Dataset] = {}
    for spec, rows in read:  # oldest first: a later release replaces an earlier one for each period it covers
        for period in rows.rows["period"].unique():
            chosen[int(period)] = spec
    columns = list(dict.fromkeys(c for spec, _ in read for c in spec.columns))
    picked_rows, picked_symbols = [], []
    for spec, rows in read:
        mine = [p for p, s in chosen.items() if s is spec]
        picked_rows.append(rows.rows[rows.rows["period"].isin(mine)])
        picked_symbols.append(rows.symbols[rows.symbols["period"].isin(mine)])
    frame = pd.concat(picked_rows, ignore_index=True)
    for column in columns:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame.sort_values(KEY).reset_index(drop=True)
    symbols = pd.concat(picked_symbols, ignore_index=True).sort_values(["area_code", "period", "column"])
    return Combined(dataset, frame, symbols.reset_index(drop=True), columns, dict(sorted(chosen.items())), read)


def revisions(combined: Combined, column: str) -> pd.DataFrame:
    """Return where a later release changes an earlier one's value of `column` for the same area and period.

    Columns: area_code, period, earlier (release), later (release), earlier_value, later_value, same_measure.
    """
    found = []
    for (early, early_rows), (late, late_rows) in zip(combined.read, combined.read[1:], strict=False):
        if column not in early.columns or column not in late.columns:
            continue
        both = early_rows.rows[KEY + [column]].merge(late_rows.rows[KEY + [column]], on=KEY,
                                                     suffixes=("_earlier", "_later"))
        before, after = both[f"{column}_earlier"], both[f"{column}_later"]
        differs = both[~((before == after) | (before.isna() & after.isna()))]
        found.append(pd.DataFrame({"area_code": differs["area_code"], "period": differs["period"],
                                   "earlier": early.release, "later": late.release,
                                   "earlier_value": before[differs.index], "later_value": after[differs.index],
                                   "same_measure": early.measure == late.measure, "shared": len(both)}))
    columns = ["area_code", "period", "earlier", "later", "earlier_value", "later_value", "same_measure", "shared"]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=columns)


def shared_counts(combined: Combined) -> list[tuple[Sen2Dataset, Sen2Dataset, int]]:
    """Return (earlier release, later release, area-periods both hold) for each consecutive pair of releases."""
    pairs = []
    for (early, early_rows), (late, late_rows) in zip(combined.read, combined.read[1:], strict=False):
        pairs.append((early, late, len(early_rows.rows[KEY].merge(late_rows.rows[KEY], on=KEY))))
    return pairs
