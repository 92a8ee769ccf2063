"""What every table builder returns, and helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlib.errors import BuildCheckError
from sendlib.periods import ENGLAND_CODE
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
    suppressed: pd.DataFrame | None = None  # rows for suppressions.csv: values the inputs suppressed or left out


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
               exceptions: dict[tuple[str, str, object], str] | None = None,
               missing: dict[tuple[str, str, object], str] | None = None,
               label=None) -> list[str]:
    """Check LA rows sum to their region and regions to England wherever all three are published.

    Returns a description of what was checked; raises BuildCheckError naming table, area, period and
    column for any difference not listed in `exceptions` ((column, region_code, period) -> reason).

    Where an LA's value is missing for a stated reason (`missing`: (area_code, column, period) -> e.g.
    "suppressed (x)" or "row absent"), the region and England rows keep the published totals: the check then
    requires the region to be at least the sum of its other LAs and states the difference (the implied value is
    said, never stored). An LA value missing for no stated reason skips the region, as before. `label(column,
    period)` words the period in those statements (default "<period>").
    """
    exceptions, missing = exceptions or {}, missing or {}
    label = label or (lambda column, when: str(when))
    region_of = areas.set_index("area_code")["region_code"]
    names = areas.set_index("area_code")["area_name"] if "area_name" in areas.columns else pd.Series(dtype=object)
    la = frame[frame["level"] == "la"].copy()
    la["region_code"] = la["area_code"].map(region_of)
    regions = frame[frame["level"] == "region"].set_index(["area_code", period])
    england = frame[frame["level"] == "england"].set_index(period)
    checked, skipped, stated = 0, 0, []
    for column in columns:
        for when, year in la.groupby(period):
            shortfalls = []
            for region, group in year.groupby("region_code"):
                if (region, when) not in regions.index or pd.isna(regions.loc[(region, when), column]):
                    skipped += 1
                    continue
                published = regions.loc[(region, when), column]
                lacking = group[group[column].isna()]
                reasons = [missing.get((code, column, when)) for code in lacking["area_code"]]
                if not lacking.empty and not all(reasons):
                    skipped += 1
                    continue
                total = group[column].sum()
                if lacking.empty:
                    if abs(total - published) > 0.5 and (column, region, when) not in exceptions:
                        raise BuildCheckError(
                            table, f"{column} for {when}: LAs of region {region} sum to {total:,.0f} "
                                   f"but the region row says {published:,.0f}")
                    checked += 1
                    continue
                if published - total < -0.5:
                    raise BuildCheckError(
                        table, f"{column} for {when}: LAs of region {region} sum to {total:,.0f} without "
                               f"{', '.join(lacking['area_code'])} ({', '.join(reasons)}), more than the region "
                               f"row's {published:,.0f}")
                who = ", ".join(f"{names.get(code, code)} {reason}" for code, reason in
                                zip(lacking["area_code"], reasons, strict=True))
                shortfalls.append((names.get(region, region), published - total, who))
                skipped += 1
            if shortfalls:
                stated.append(_shortfall_sentence(column, label(column, when), shortfalls,
                                                  england, when, column, year))
        for when, group in frame[frame["level"] == "region"].groupby(period):
            if when not in england.index or group[column].isna().any() or pd.isna(england.loc[when, column]):
                skipped += 1
                continue
            total, published = group[column].sum(), england.loc[when, column]
            if abs(total - published) > 0.5 and (column, ENGLAND_CODE, when) not in exceptions:
                raise BuildCheckError(
                    table, f"{column} for {when}: regions sum to {total:,.0f} but England says {published:,.0f}")
            checked += 1
    return [f"LA->region->England sums agree in {checked} region/England-periods; "
            f"{skipped} skipped where a value is suppressed or not published"] + stated


def _shortfall_sentence(column: str, when: str, shortfalls: list[tuple[str, float, str]], england: pd.DataFrame,
                        period_value: object, name: str, year: pd.DataFrame) -> str:
    """Return the manifest sentence for the regions whose published total exceeds the sum of their listed LAs."""
    national = england.loc[period_value, name] if period_value in england.index else float("nan")
    beyond = national - year[name].sum() if pd.notna(national) else float("nan")
    if len(shortfalls) == 1 and pd.notna(beyond) and abs(beyond - shortfalls[0][1]) <= 0.5:
        region, gap, who = shortfalls[0]
        if gap > 0.5:
            return f"{column}: {region} and England exceed the sum of their LAs by {gap:,.0f} in {when}: {who}"
        return f"{column}: {region} and England equal the sum of their LAs in {when} without {who}"
    parts = [f"{region} exceeds the sum of its LAs by {gap:,.0f} ({who})" if gap > 0.5 else
             f"{region} equals the sum of its LAs without {who}" for region, gap, who in shortfalls]
    if pd.notna(beyond):
        parts.append(f"England exceeds the sum of its LAs by {beyond:,.0f}" if beyond > 0.5
                     else "England equals the sum of its LAs")
    return f"{column}, {when}: " + "; ".join(parts)
