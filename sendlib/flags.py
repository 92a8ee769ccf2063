"""Data flags, by rule, in one place: figures a council could knock down, marked before anything uses them.

Three rules (each row of the flag table names its rule):
  * count_break   a January EHC plan count that differs from the previous count plus that year's new plans
                  minus its ceased plans by more than COUNT_BREAK_SHARE of that expected count and more than
                  COUNT_BREAK_PLANS plans. The flagged count is left out of the event study, the group medians
                  and every growth figure that would start or end on it.
  * unusual_base  a council whose base-year funding per plan, or base-year plans per 1,000 residents aged 0-25,
                  lies more than UNUSUAL_Z robust standard deviations from the median of all councils' base
                  years (log scale; robust SD = 1.4826 x median absolute deviation). Its own-base gap measures
                  its own starting point, not lost funding: it is left out of the group medians of the own-base
                  funding indicators, and its national-rate gap is shown beside it.
  * joined_base   a council created by a reorganisation whose own-base rate is the joined rate of its
                  predecessors (and successors) in the first year they share: informational, nothing left out.
Pure functions over tidy frames; the derive step writes the table (flags.csv).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sendlib.formatting import count, pounds
from sendlib.periods import fy_start

COUNT_BREAK_SHARE = 0.25
COUNT_BREAK_PLANS = 200
UNUSUAL_Z = 3.5
MAD_TO_SD = 1.4826
FLAG_COLUMNS = ["area_code", "level", "code", "period_kind", "year", "period", "value", "expected", "message",
                "rule", "excludes"]
RULES = {
    "count_break": (f"|January count - (previous January count + new plans - ceased plans)| > "
                    f"{COUNT_BREAK_SHARE:.0%} of the expected count and > {COUNT_BREAK_PLANS} plans"),
    "unusual_base": (f"base-year funding per plan or plans per 1,000 aged 0-25 more than {UNUSUAL_Z} robust standard "
                     "deviations (1.4826 x median absolute deviation, log scale) from all councils' median"),
    "joined_base": "council created by a reorganisation whose own-base rate is its joined predecessors' rate",
}
EXCLUDES = {
    "count_break": "the event study, the group medians and growth figures that start or end on this count",
    "unusual_base": "the group medians of the own-base funding indicators (the national-rate lens is shown beside it)",
    "joined_base": "nothing (the council's own first year is available as the area-rate lens)",
}


def count_breaks(ehcp: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Return a count_break flag for each LA January whose count departs from the previous count plus the
    flows between (new minus ceased plans, calendar year = January - 1) beyond the stated tolerance."""
    if "ceased_plans" not in ehcp.columns:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    las = ehcp[ehcp["level"] == "la"].sort_values(["area_code", "january"])
    previous = las.groupby("area_code")["ehc_plans"].shift().astype(float)
    consecutive = las.groupby("area_code")["january"].diff() == 1
    expected = previous + las["new_plans"].astype(float) - las["ceased_plans"].astype(float)
    actual = las["ehc_plans"].astype(float)
    difference = actual - expected
    broken = consecutive & expected.notna() & actual.notna() & (difference.abs() > COUNT_BREAK_SHARE * expected.abs()) \
        & (difference.abs() > COUNT_BREAK_PLANS)
    rows = []
    for index in las.index[broken]:
        row = las.loc[index]
        january = int(row["january"])
        rows.append({
            "area_code": row["area_code"], "level": "la", "code": "count_break", "period_kind": "january",
            "year": january, "period": f"January {january}", "value": actual[index], "expected": expected[index],
            "message": (f"{names.get(row['area_code'], row['area_code'])}: {count(actual[index])} EHC plans in January "
                        f"{january}, but January {january - 1}'s {count(previous[index])} plus {count(row['new_plans'])} "
                        f"new plans minus {count(row['ceased_plans'])} ceased plans in {january - 1} gives "
                        f"{count(expected[index])} ({difference[index]:+,.0f}); DfE's published count is kept, "
                        "but left out of comparisons"),
            "rule": RULES["count_break"], "excludes": EXCLUDES["count_break"]})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def robust_z(values: pd.Series) -> pd.Series:
    """Return each value's robust z-score on the log scale: (log x - median) / (1.4826 x median absolute deviation)."""
    logged = np.log(values.astype(float).where(values > 0))
    median = logged.median()
    spread = MAD_TO_SD * (logged - median).abs().median()
    if not spread or math.isnan(spread):
        return pd.Series(0.0, index=values.index)
    return (logged - median) / spread


def unusual_bases(base_rows: pd.DataFrame, population_0_25: pd.Series, names: dict[str, str]) -> pd.DataFrame:
    """Return an unusual_base flag for each council whose base-year rate (GBP per plan) or plans per 1,000 aged
    0-25 lies beyond UNUSUAL_Z robust SDs; `base_rows` are the own-base model's base-year rows of single LAs."""
    frame = base_rows[~base_rows["area_code"].str.contains("+", regex=False)].copy()
    frame["rate"] = frame["base_rate_gbp"].astype(float)
    frame["per_1000"] = 1000 * frame["ehc_plans"].astype(float) / frame["area_code"].map(population_0_25)
    frame["rate_z"] = robust_z(frame["rate"])
    frame["per_1000_z"] = robust_z(frame["per_1000"])
    median_rate, median_per_1000 = frame["rate"].median(), frame["per_1000"].median()
    rows = []
    for row in frame[(frame["rate_z"].abs() > UNUSUAL_Z) | (frame["per_1000_z"].abs() > UNUSUAL_Z)].itertuples():
        parts = []
        if abs(row.rate_z) > UNUSUAL_Z:
            parts.append(f"{pounds(row.rate)} per plan ({row.rate / median_rate:.1f} times the councils' median "
                         f"{pounds(median_rate)})")
        if abs(row.per_1000_z) > UNUSUAL_Z:
            parts.append(f"{row.per_1000:.1f} plans per 1,000 residents aged 0-25 (median {median_per_1000:.1f}; "
                         "mid-2023 population)")
        start = fy_start(str(row.base_year))
        rows.append({
            "area_code": row.area_code, "level": "la", "code": "unusual_base", "period_kind": "financial_year",
            "year": start, "period": str(row.base_year), "value": row.rate, "expected": median_rate,
            "message": (f"{names.get(row.area_code, row.area_code)}: its base year {row.base_year} had "
                        + " and ".join(parts) + ". Its own-base gap measures a move from support without plans to "
                        "plans as much as lost funding: read it beside the national-rate lens"),
            "rule": RULES["unusual_base"], "excludes": EXCLUDES["unusual_base"]})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def joined_bases(own_base_la: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Return a joined_base flag for each council whose own-base rate is its joined unit's rate from a year before
    its own first year (GBP per plan); `names` must name joined units too."""
    joined = own_base_la[(own_base_la["base_area_code"] != own_base_la["area_code"])
                         & own_base_la["base_area_code"].str.contains("+", regex=False)
                         & ~own_base_la["area_code"].str.contains("+", regex=False)]
    rows = []
    for code, group in joined.groupby("area_code"):
        first = group.sort_values("financial_year").iloc[0]
        if fy_start(str(first["financial_year"])) <= fy_start(str(first["base_year"])):
            continue  # a predecessor whose own first year is the joined base year (Cumbria): its own rate
        unit = str(first["base_area_code"])
        rows.append({
            "area_code": code, "level": "la", "code": "joined_base", "period_kind": "financial_year",
            "year": fy_start(str(first["base_year"])), "period": str(first["base_year"]),
            "value": float(first["base_rate_gbp"]), "expected": math.nan,
            "message": (f"{names.get(code, code)}: its base rate is the {first['base_year']} funding per plan of the "
                        f"joined area {names.get(unit, unit)} ({pounds(first['base_rate_gbp'])}), so its index "
                        f"is not 100 in its own first year ({first['financial_year']})"),
            "rule": RULES["joined_base"], "excludes": EXCLUDES["joined_base"]})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def all_flags(ehcp: pd.DataFrame, own_base_la: pd.DataFrame, population_0_25: pd.Series,
              names: dict[str, str]) -> pd.DataFrame:
    """Return the flag table: every rule's flags, by area, code and year."""
    base_rows = own_base_la[own_base_la["financial_year"] == own_base_la["base_year"]]
    frames = [count_breaks(ehcp, names), unusual_bases(base_rows, population_0_25, names),
              joined_bases(own_base_la, names)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["area_code", "code", "year"]).reset_index(drop=True)[FLAG_COLUMNS]


# ----------------------------------------------------------------------------------------- what a flag leaves out

#: indicators computed from a January count (so a count break at that January removes them)
COUNT_INDICATORS = ("ehc_plans", "ehc_plans_index_2015", "ehc_plans_growth_pct", "ehc_plans_per_1000_aged_0_25",
                    "placement_mainstream_pct", "placement_state_special_pct", "placement_independent_special_pct")
#: indicators computed from the following January's count too (growth on a year earlier)
NEXT_YEAR_INDICATORS = ("ehc_plans_growth_pct",)
#: financial-year indicators whose per-plan figure uses the January count before the year (lag 0)
PAIRED_INDICATORS = ("hnb_per_plan_real_gbp", "funding_gap_per_plan_real_gbp")
#: indicators that measure against the LA's own base (an unusual base removes every year of them)
OWN_BASE_INDICATORS = ("funding_gap_per_plan_real_gbp",)


def indicator_flags(indicators: pd.DataFrame, flag_table: pd.DataFrame) -> pd.Series:
    """Return, for each indicator row, the code of the flag that leaves it out of comparisons (None if none)."""
    excluded: dict[tuple[str, str, int], str] = {}
    for row in flag_table.itertuples(index=False):
        if row.code == "count_break":
            january = int(row.year)
            for name in COUNT_INDICATORS:
                excluded[(row.area_code, name, january)] = row.code
            for name in NEXT_YEAR_INDICATORS:
                excluded[(row.area_code, name, january + 1)] = row.code
            for name in PAIRED_INDICATORS:  # financial year starting in that January (start year = January)
                excluded[(row.area_code, name, january)] = row.code
        elif row.code == "unusual_base":
            years = indicators.loc[(indicators["area_code"] == row.area_code)
                                   & indicators["indicator"].isin(OWN_BASE_INDICATORS), ["indicator", "year"]]
            for name, year in zip(years["indicator"], years["year"], strict=True):
                excluded[(row.area_code, name, int(year))] = row.code
    keys = zip(indicators["area_code"], indicators["indicator"], indicators["year"].astype(int), strict=True)
    return pd.Series([excluded.get(k) for k in keys], index=indicators.index, dtype="object")


def broken_counts(flag_table: pd.DataFrame) -> frozenset[tuple[str, int]]:
    """Return the (area_code, January) counts a count_break flag marks."""
    breaks = flag_table[flag_table["code"] == "count_break"]
    return frozenset(zip(breaks["area_code"], breaks["year"].astype(int), strict=True))
