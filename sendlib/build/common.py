"""What every table builder returns, and helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlib.errors import BuildCheckError
from sendlib.sources import source


@dataclass
class Built:
    """A built table with the inputs it read, the corrections applied and the checks it passed."""

    name: str
    frame: pd.DataFrame
    inputs: list[str]
    corrections: list[dict] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    releases: dict[str, str] = field(default_factory=dict)  # input name -> the release actually read
    extra_inputs: list[dict] = field(default_factory=list)  # manifest entries of inputs outside the registry
    licence: dict = field(default_factory=dict)  # a licence the table carries (its MANIFEST entry's "licence")
    companions: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes written beside the table


def path_of(raw: Path, name: str) -> Path:
    """Return the path of registered input `name` under the raw folder."""
    return source(name).locate(raw)


def require(condition: bool, table: str, problem: str) -> None:
    """Raise BuildCheckError naming the table unless `condition` holds."""
    if not condition:
        raise BuildCheckError(table, problem)


def as_int(series: pd.Series) -> pd.Series:
    """Return a nullable integer Series from floats that hold whole numbers."""
    rounded = series.round()
    return rounded.astype("Int64")


def check_sums(frame: pd.DataFrame, table: str, period: str, columns: list[str], areas: pd.DataFrame,
               exceptions: dict[tuple[str, str, object], str] | None = None) -> list[str]:
    """Check LA rows sum to their region and regions to England wherever all three are published.

    Returns a description of what was checked; raises BuildCheckError naming table, area, period and
    column for any difference not listed in `exceptions` ((column, region_code, period) -> reason).
    """
    exceptions = exceptions or {}
    region_of = areas.set_index("area_code")["region_code"]
    la = frame[frame["level"] == "la"].copy()
    la["region_code"] = la["area_code"].map(region_of)
    regions = frame[frame["level"] == "region"].set_index(["area_code", period])
    england = frame[frame["level"] == "england"].set_index(period)
    checked, skipped = 0, 0
    for column in columns:
        for (region, when), group in la.groupby(["region_code", period]):
            if (region, when) not in regions.index or group[column].isna().any():
                skipped += 1
                continue
            published = regions.loc[(region, when), column]
            if pd.isna(published):
                skipped += 1
                continue
            total = group[column].sum()
            if abs(total - published) > 0.5:
                if (column, region, when) in exceptions:
                    continue
                raise BuildCheckError(
                    table, f"{column} for {when}: LAs of region {region} sum to {total:,.0f} "
                           f"but the region row says {published:,.0f}")
            checked += 1
        for when, group in frame[frame["level"] == "region"].groupby(period):
            if when not in england.index or group[column].isna().any() or pd.isna(england.loc[when, column]):
                skipped += 1
                continue
            total, published = group[column].sum(), england.loc[when, column]
            if abs(total - published) > 0.5 and (column, "E92000001", when) not in exceptions:
                raise BuildCheckError(
                    table, f"{column} for {when}: regions sum to {total:,.0f} but England says {published:,.0f}")
            checked += 1
    return [f"LA->region->England sums agree in {checked} region/England-periods; "
            f"{skipped} skipped where a value is suppressed or not published"]
