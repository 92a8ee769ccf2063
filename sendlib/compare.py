"""Indicators per LA and year, and comparisons between the programme groups: medians and interquartile
ranges with n per group, never a bare mean.

`year` means different things per indicator (see `indicator_catalogue()`): the January of the SEN2 count for
caseload indicators, the calendar year of the flow for requests, refusals, new plans and timeliness, and the
start year of the financial year for money (2023 = 2023-24). Every row also carries a readable `period`.
Groups come from `sendlib.programmes.groups()` and are fixed for every year (default: current status), so
"SV 2022-23" in 2016 means the LAs that entered Safety Valve in 2022-23.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from sendlib import funding
from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import harmonise, stable_units, unit_names
from sendlib.periods import first_flow_year_after_agreement, fy_label, fy_start, last_january_before_agreement
from sendlib.programmes import (
    FAMILY_SV,
    OTHER_DEFICIT,
    OTHER_NO_DEFICIT,
    group_order,
    groups,
    programme_group_order,
)

BASE_JANUARY = 2015
POPULATION_JANUARY = 2024  # the January paired with the only mid-year with ages 0-25 (mid-2023)
SMALL_N = 5
TIDY_COLUMNS = ["area_code", "year", "period", "indicator", "value", "unit"]
SUMMARY_COLUMNS = ["grouping", "group", "indicator", "unit", "year", "period", "n", "median", "q1", "q3",
                   "small_n"]
YEAR_JANUARY = "january"
YEAR_CALENDAR = "calendar"
YEAR_FINANCIAL = "financial"
YEAR_MEANINGS = {
    YEAR_JANUARY: "January of the SEN2 count",
    YEAR_CALENDAR: "calendar year of the flow (reported in the following January's SEN2 collection)",
    YEAR_FINANCIAL: "start year of the financial year (2023 = 2023-24)",
}
SEN2 = "DfE SEN2 (Education, health and care plans), via ehcp.csv"
REORGANISED = ("Dorset, BCP, North and West Northamptonshire, Cumberland and Westmorland and Furness: years "
               "before the LA existed carry the index of the combined area (predecessors + successors); later "
               "years chain-link the LA's own counts (sendlib.compare.plans_index)")


@dataclass(frozen=True)
class Indicator:
    """One indicator: its name, unit, what `year` means, its source and its main caveat."""

    name: str
    label: str
    unit: str
    year: str
    source: str
    caveat: str


def indicator_list() -> list[Indicator]:
    """Return the indicators in display order."""
    prices = funding.latest_prices()
    per_plan = f"GBP per EHC plan, {prices} prices (GDP deflator)"
    hnb = "high needs block before deductions (DSG allocations, high_needs_block.csv)"
    return [
        Indicator("ehc_plans", "EHC plans", "count", YEAR_JANUARY, SEN2,
                  "statements and EHC plans to January 2018, EHC plans from 2019"),
        Indicator("ehc_plans_per_1000_aged_0_25", "EHC plans per 1,000 aged 0-25",
                  "EHC plans per 1,000 residents aged 0-25 (January 2024 plans / mid-2023 population)", YEAR_JANUARY,
                  SEN2 + "; ONS mid-2023 population by age (population.csv)",
                  "population by age is held for mid-2023 only, so January 2024 only; other years use growth "
                  "(never an invented denominator); England's 0-25 population is the sum of its LAs (population.csv)"),
        Indicator("ehc_plans_index_2015", "EHC plans, index", "index, January 2015 = 100", YEAR_JANUARY, SEN2,
                  REORGANISED),
        Indicator("ehc_plans_growth_pct", "EHC plans, growth on a year earlier", "% change on the previous January",
                  YEAR_JANUARY, SEN2, "from the index, so reorganised LAs follow the combined area before they existed"),
        Indicator("new_plans", "New EHC plans", "count of new EHC plans made in the calendar year", YEAR_CALENDAR,
                  SEN2, "Yorkshire and the Humber 2022 corrected from the 2023 management-information file"),
        Indicator("refusal_rate_decided_pct", "Refusal rate (decided requests)",
                  "% of decided requests refused: refused / (agreed to assess + refused)", YEAR_CALENDAR, SEN2,
                  "decisions to assess are published from calendar 2023 only (January 2024 collection)"),
        Indicator("refusals_per_100_requests", "Refusals per 100 requests received",
                  "requests refused per 100 requests received", YEAR_CALENDAR, SEN2,
                  "requests received and refused in a year are not the same requests; a ratio, not a decision rate"),
        Indicator("within_20_weeks_pct", "Plans issued within 20 weeks", "% of new EHC plans issued within 20 weeks",
                  YEAR_CALENDAR, SEN2, "as published (excluding exceptions); missing where no plans were issued"),
        Indicator("placement_mainstream_pct", "Placed in mainstream", "% of EHC plans", YEAR_JANUARY, SEN2,
                  "placements published from January 2019"),
        Indicator("placement_state_special_pct", "Placed in state special schools", "% of EHC plans", YEAR_JANUARY,
                  SEN2, "placements published from January 2019"),
        Indicator("placement_independent_special_pct", "Placed in independent or non-maintained special schools",
                  "% of EHC plans", YEAR_JANUARY, SEN2, "placements published from January 2019"),
        Indicator("hnb_per_plan_real_gbp", "High needs block per EHC plan, real terms", per_plan, YEAR_FINANCIAL,
                  hnb + "; plans of the January before the year; sendlib.funding.gap",
                  "financial year t is paired with the January before it (lag 0)"),
        Indicator("funding_gap_per_plan_real_gbp", "Funding gap per EHC plan (model)", per_plan, YEAR_FINANCIAL,
                  "sendlib.funding.gap (necessary minus actual, LA's own base-year rate)",
                  "a modelled quantity: positive = funding below the LA's base-year (its earliest year, usually "
                  "2019-20) real funding per plan; 0 in the base year by construction"),
        Indicator("hn_spend_pct_of_hnb", "High-needs spend against the high needs block",
                  "% of the high needs block before deductions (same financial year)", YEAR_FINANCIAL,
                  "s251 outturn net high-needs spend (lines 1.2.x) / " + hnb,
                  "spend is a third party's derivation of the official s251 file (status derived-third-party) "
                  "and excludes place funding (line 1.0.2)"),
        Indicator("dsg_deficit_pct_of_hnb", "DSG deficit against the high needs block",
                  "% of the high needs block before deductions (positive = deficit)", YEAR_FINANCIAL,
                  "s251 line 1.9.3 balance carried forward (dsg_balance.csv) / " + hnb,
                  "2023-24 only; the balance is a third party's derivation of the official s251 file "
                  "(status derived-third-party); negative = surplus"),
        Indicator("dsg_balance_pct_of_dsg_income", "DSG cumulative balance against DSG income",
                  "% of total DSG income (positive = deficit)", YEAR_FINANCIAL,
                  "DfE SEND-AP Inclusion Dashboard from s251 outturn (dsg_balance.csv)",
                  "2019-20 to 2021-22 only (status derived-official); a different measure from the 2023-24 GBP balance"),
    ]


def indicator_catalogue() -> pd.DataFrame:
    """Return one row per indicator: name, label, unit, year (what `year` means), source, caveat."""
    frame = pd.DataFrame([asdict(i) for i in indicator_list()])
    frame["year"] = frame["year"].map(YEAR_MEANINGS)
    return frame


def _period(year: int, kind: str) -> str:
    """Return the readable period of a year of a given kind ('January 2024', 'calendar 2023', '2023-24')."""
    if kind == YEAR_JANUARY:
        return f"January {year}"
    if kind == YEAR_CALENDAR:
        return f"calendar {year}"
    return fy_label(year)


# ----------------------------------------------------------------------------------------- caseload


def plans_index(levels: tuple[str, ...] = ("la", "region", "england")) -> pd.DataFrame:
    """Return area_code, january, ehc_plans_index_2015 (January 2015 = 100) and basis for every area with a base.

    Areas counted in January 2015 use their own counts. An LA created later (Dorset, BCP, the Northamptonshire
    and Cumbria successors) carries its combined area's index (predecessors + successors, harmonised) up to its
    first January, then chain-links its own counts from there.
    """
    levels = tuple(sorted(set(levels)))
    ehcp = load("ehcp")
    ehcp = ehcp[ehcp["level"].isin(levels)].dropna(subset=["ehc_plans"])
    plans = ehcp.pivot(index="area_code", columns="january", values="ehc_plans").astype(float)
    own = plans[plans[BASE_JANUARY].notna()]
    index = own.div(own[BASE_JANUARY], axis=0) * 100
    frames = [_long_index(index, {c: "own counts" for c in index.index})]
    later = [c for c in plans.index if c not in own.index]
    if later:
        frames.append(_chain_linked(plans.loc[later], ehcp))
    return pd.concat(frames, ignore_index=True).sort_values(["area_code", "january"]).reset_index(drop=True)


def _long_index(index: pd.DataFrame, basis: dict[str, str]) -> pd.DataFrame:
    """Return a wide index table (area x January) as long rows with each area's basis."""
    long = index.reset_index().melt(id_vars="area_code", var_name="january", value_name="ehc_plans_index_2015")
    long = long.dropna(subset=["ehc_plans_index_2015"])
    long["january"] = long["january"].astype(int)
    long["basis"] = long["area_code"].map(basis)
    return long


def _chain_linked(plans: pd.DataFrame, ehcp: pd.DataFrame) -> pd.DataFrame:
    """Return the chain-linked index of LAs created after January 2015 (combined area, then own counts)."""
    mapping, names = stable_units(), unit_names()
    units = {mapping[c] for c in plans.index if c in mapping}
    members = [m for u in units for m in u.split("+")]
    joined = harmonise(ehcp[ehcp["area_code"].isin(members)][["area_code", "level", "january", "ehc_plans"]],
                       period="january", values=["ehc_plans"])
    unit_plans = joined.pivot(index="area_code", columns="january", values="ehc_plans").astype(float)
    unit_index = unit_plans.div(unit_plans[BASE_JANUARY], axis=0) * 100
    rows, basis = {}, {}
    for code in plans.index:
        unit = mapping.get(code)
        if unit is None or unit not in unit_index.index:
            continue
        series = plans.loc[code].dropna()
        link = int(series.index.min())
        combined = unit_index.loc[unit]
        before = combined[combined.index < link]
        after = combined[link] * series / series[link]
        rows[code] = pd.concat([before, after])
        basis[code] = f"combined area {names[unit]} to January {link}, then own counts (chain-linked)"
    wide = pd.DataFrame(rows).T
    wide.index.name = "area_code"
    return _long_index(wide, basis)


def _caseload(ehcp: pd.DataFrame, levels: tuple[str, ...]) -> list[pd.DataFrame]:
    """Return tidy frames (area_code, year, indicator, value) of the January caseload indicators."""
    out = [_tidy(ehcp, "january", ehcp["ehc_plans"], "ehc_plans")]
    index = plans_index(levels)
    out.append(_tidy(index, "january", index["ehc_plans_index_2015"], "ehc_plans_index_2015"))
    index = index.sort_values(["area_code", "january"])
    previous = index.groupby("area_code")["ehc_plans_index_2015"].shift()
    consecutive = index.groupby("area_code")["january"].diff() == 1
    growth = (100 * (index["ehc_plans_index_2015"] / previous - 1)).where(consecutive)
    out.append(_tidy(index, "january", growth, "ehc_plans_growth_pct"))
    for column in ["placement_mainstream", "placement_state_special", "placement_independent_special"]:
        out.append(_tidy(ehcp, "january", 100 * ehcp[column] / ehcp["ehc_plans"], f"{column}_pct"))
    out.append(_per_1000(ehcp))
    return out


def _per_1000(ehcp: pd.DataFrame) -> pd.DataFrame:
    """Return EHC plans in January 2024 per 1,000 residents aged 0-25 at mid-2023 (tidy)."""
    population = load("population")
    population = population[population["mid_year"] == POPULATION_JANUARY - 1].set_index("area_code")
    aged = population["population_0_25"].astype(float)
    counts = ehcp[ehcp["january"] == POPULATION_JANUARY]
    rate = 1000 * counts["ehc_plans"].astype(float) / counts["area_code"].map(aged)
    return _tidy(counts, "january", rate, "ehc_plans_per_1000_aged_0_25")


def _flows(ehcp: pd.DataFrame) -> list[pd.DataFrame]:
    """Return tidy frames of the calendar-year flow indicators (new plans, refusals, 20-week timeliness)."""
    refused = ehcp["requests_refused"].astype(float)
    decided = ehcp["requests_agreed_to_assess"].astype(float) + refused
    requests = ehcp["requests"].astype(float)
    return [
        _tidy(ehcp, "flows_calendar_year", ehcp["new_plans"], "new_plans"),
        _tidy(ehcp, "flows_calendar_year", (100 * refused / decided).where(decided > 0), "refusal_rate_decided_pct"),
        _tidy(ehcp, "flows_calendar_year", (100 * refused / requests).where(requests > 0),
              "refusals_per_100_requests"),
        _tidy(ehcp, "flows_calendar_year", ehcp["within_20_weeks_pct"], "within_20_weeks_pct"),
    ]


# ----------------------------------------------------------------------------------------- money


def _money(levels: tuple[str, ...]) -> list[pd.DataFrame]:
    """Return tidy frames of the financial-year indicators (real HNB and gap per plan, spend and deficit shares)."""
    prices = funding.latest_prices()
    out = []
    for level in levels:
        base = "2019-20" if level == "england" else None  # England's national series starts 2015-16; align with LAs
        model = funding.gap(level, prices=prices, base_year=base).dropna(subset=["actual_real_gbp"])
        model = model[~model["area_code"].str.contains("+", regex=False)]  # a reorganisation year's joined row
        model = model.assign(start=model["financial_year"].map(fy_start))
        plans = model["ehc_plans"].astype(float)
        out.append(_tidy(model, "start", model["actual_real_gbp"] / plans, "hnb_per_plan_real_gbp"))
        out.append(_tidy(model, "start", model["gap_real_gbp"] / plans, "funding_gap_per_plan_real_gbp"))
    hnb = load("high_needs_block")
    hnb = hnb[hnb["level"].isin(levels)][["area_code", "financial_year", "hnb_before_deductions_gbp"]]
    spend = load("high_needs_spend").merge(hnb, on=["area_code", "financial_year"])
    spend["start"] = spend["financial_year"].map(fy_start)
    out.append(_tidy(spend, "start", 100 * spend["hn_net_spend_gbp"].astype(float)
                     / spend["hnb_before_deductions_gbp"].astype(float), "hn_spend_pct_of_hnb"))
    balance = load("dsg_balance")
    balance = balance[balance["level"].isin(levels)].assign(start=lambda f: f["financial_year"].map(fy_start))
    deficit = balance.dropna(subset=["cumulative_deficit_gbp"]).merge(hnb, on=["area_code", "financial_year"])
    out.append(_tidy(deficit, "start", 100 * deficit["cumulative_deficit_gbp"].astype(float)
                     / deficit["hnb_before_deductions_gbp"].astype(float), "dsg_deficit_pct_of_hnb"))
    out.append(_tidy(balance, "start", balance["cumulative_deficit_pct_of_income"], "dsg_balance_pct_of_dsg_income"))
    return out


# ----------------------------------------------------------------------------------------- indicators


def _tidy(frame: pd.DataFrame, year: str, values: pd.Series, name: str) -> pd.DataFrame:
    """Return area_code, year, indicator, value rows for one indicator (missing values dropped)."""
    out = pd.DataFrame({"area_code": frame["area_code"].astype(str).to_numpy(),
                        "year": frame[year].astype(int).to_numpy(),
                        "indicator": name, "value": pd.to_numeric(values, errors="coerce").astype(float).to_numpy()})
    return out[np.isfinite(out["value"])]


def indicators(levels: tuple[str, ...] = ("la",)) -> pd.DataFrame:
    """Return the tidy indicator table: area_code, year, period, indicator, value, unit (see indicator_catalogue()).

    `levels` picks LAs (default), regions and/or England. LAs are every LA since 2015 for the years it was
    counted or funded (reorganised LAs also carry their combined area's index before they existed).
    """
    unknown = [lv for lv in levels if lv not in ("la", "region", "england")]
    if unknown:
        raise ParameterError("levels", unknown[0], "'la', 'region' or 'england'")
    levels = tuple(sorted(set(levels)))
    ehcp = load("ehcp")
    ehcp = ehcp[ehcp["level"].isin(levels)]
    frames = _caseload(ehcp, levels) + _flows(ehcp) + _money(levels)
    out = pd.concat(frames, ignore_index=True)
    catalogue = {i.name: i for i in indicator_list()}
    out["unit"] = out["indicator"].map(lambda n: catalogue[n].unit)
    out["period"] = [_period(y, catalogue[n].year) for y, n in zip(out["year"], out["indicator"], strict=True)]
    order = {name: rank for rank, name in enumerate(catalogue)}
    out = out.assign(rank=out["indicator"].map(order)).sort_values(["rank", "area_code", "year"])
    return out[TIDY_COLUMNS].reset_index(drop=True)


# ----------------------------------------------------------------------------------------- comparisons


def _grouped(grouping: str, as_of: str | None, frame: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (indicator rows of primary current LAs with their group, the groups frame)."""
    if grouping not in ("programme", "cohort"):
        raise ParameterError("grouping", grouping, "'programme' (SV, DBV, others) or 'cohort' (SV cohorts, DBV tranches)")
    members = groups(as_of)
    primary = members[members["primary"]]
    column = "programme_group" if grouping == "programme" else "group"
    data = indicators() if frame is None else frame
    merged = data.merge(primary[["area_code", column]].rename(columns={column: "group"}), on="area_code")
    return merged, members


def group_summary(grouping: str = "programme", as_of: str | None = None,
                  frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return per group, indicator and year: n LAs with a value, median, q1 and q3 (indicator's unit), small_n.

    grouping 'programme': Safety Valve (all cohorts), DBV (all tranches), Other: DSG deficit, Other: no DSG
    deficit, Other: deficit unknown; 'cohort': SV cohorts and DBV tranches apart. Only current LAs in primary
    groups (low-confidence entries are left out); quartiles by linear interpolation; small_n = n < 5.
    """
    merged, _members = _grouped(grouping, as_of, frame)
    grouped = merged.groupby(["group", "indicator", "unit", "year", "period"])["value"]
    quartiles = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    quartiles.columns = ["q1", "median", "q3"]
    stats = quartiles.join(grouped.count().rename("n")).reset_index()
    stats["grouping"] = grouping
    stats["small_n"] = stats["n"] < SMALL_N
    order = group_order() if grouping == "cohort" else programme_group_order()
    indicator_rank = {i.name: r for r, i in enumerate(indicator_list())}
    stats = stats.assign(g=stats["group"].map({g: r for r, g in enumerate(order)}),
                         i=stats["indicator"].map(indicator_rank)).sort_values(["i", "year", "g"])
    return stats[SUMMARY_COLUMNS].reset_index(drop=True)


def entry_mark_year(cohort: str, kind: str) -> int:
    """Return the indicator year at which an SV cohort's agreement is marked on a trend chart: the last January
    before it, the first calendar year of flows after it, or the agreement's financial year for money."""
    if kind == YEAR_JANUARY:
        return last_january_before_agreement(cohort)
    if kind == YEAR_CALENDAR:
        return first_flow_year_after_agreement(cohort)
    return fy_start(cohort)


def group_trends(indicator: str = "ehc_plans_index_2015", as_of: str | None = None,
                 frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the median, IQR and n of one indicator per group (SV cohorts, DBV tranches, others) and year.

    `entry_financial_year` names each SV cohort's agreement year and `entry` is True at the period where it
    is marked (`entry_mark_year`): the last January before the agreement, the first calendar year of flows after
    it, the agreement's financial year for money.
    """
    catalogue = {i.name: i for i in indicator_list()}
    if indicator not in catalogue:
        raise ParameterError("indicator", indicator, "one of " + ", ".join(catalogue))
    summary = group_summary("cohort", as_of, frame)
    trends = summary[summary["indicator"] == indicator].copy()
    cohort = trends["group"].str.extract(r"^SV (\d{4}-\d{2})$")[0]
    trends["entry_financial_year"] = cohort.astype("string")
    kind = catalogue[indicator].year
    trends["entry"] = [isinstance(c, str) and y == entry_mark_year(c, kind)
                       for c, y in zip(cohort, trends["year"], strict=True)]
    return trends.reset_index(drop=True)


def _annual_growth(series: pd.Series, start: int, end: int) -> float:
    """Return the compound annual growth of an index between two Januaries (% a year; NaN if not computable)."""
    if end <= start or start not in series.index or end not in series.index:
        return math.nan
    return 100 * ((series[end] / series[start]) ** (1 / (end - start)) - 1)


def _index_without(broken: frozenset[tuple[str, int]]) -> pd.DataFrame:
    """Return the LAs' plans index as area x January, with counts a data flag marks set to missing."""
    index = plans_index(("la",)).pivot(index="area_code", columns="january", values="ehc_plans_index_2015")
    for code, january in broken:
        if code in index.index and january in index.columns:
            index.loc[code, january] = math.nan
    return index


def growth_before_after(window: int = 3, as_of: str | None = None,
                        broken: frozenset[tuple[str, int]] = frozenset()) -> pd.DataFrame:
    """Return per SV LA the annual growth of EHC plans (% a year) in `window` years before and after its agreement.

    The pivot is the last January count before the agreement (sendlib.periods.last_january_before_agreement).
    Before: pivot - window to pivot (from 2015 at the earliest); after: pivot to pivot + window (to the latest
    January at most), so the after window starts with the first count after the agreement. Reorganised LAs use
    the chain-linked index (see plans_index). A window that starts or ends on a count in `broken` (area_code,
    January: a data flag) has no growth figure.
    """
    if not 1 <= window <= 6:
        raise ParameterError("window", window, "1 to 6 years")
    members = groups(as_of)
    sv = members[members["programme_group"] == FAMILY_SV]
    index = _index_without(broken)
    latest = int(index.columns.max())
    rows = []
    for la in sv.itertuples(index=False):
        entry = last_january_before_agreement(la.cohort)
        before, after = max(BASE_JANUARY, entry - window), min(latest, entry + window)
        series = index.loc[la.area_code].dropna() if la.area_code in index.index else pd.Series(dtype=float)
        growth_before, growth_after = _annual_growth(series, before, entry), _annual_growth(series, entry, after)
        rows.append({"area_code": la.area_code, "area_name": la.area_name, "cohort": la.cohort,
                     "entry_january": entry, "before_from_january": before, "growth_before_pct_a_year": growth_before,
                     "after_to_january": after, "growth_after_pct_a_year": growth_after,
                     "change_pp": growth_after - growth_before})
    return pd.DataFrame(rows).sort_values(["cohort", "area_name"]).reset_index(drop=True)


def growth_before_after_summary(window: int = 3, as_of: str | None = None,
                                broken: frozenset[tuple[str, int]] = frozenset()) -> pd.DataFrame:
    """Return per SV cohort: n, median and IQR of growth before and after entry (% a year), and the same
    windows' median growth among LAs in neither programme (the comparison), with its n; counts in `broken`
    (a data flag) start or end no window."""
    per_la = growth_before_after(window, as_of, broken)
    members = groups(as_of)
    others = members[members["group"].isin([OTHER_DEFICIT, OTHER_NO_DEFICIT])]["area_code"]
    index = _index_without(broken)
    rows = []
    for cohort, group in per_la.groupby("cohort"):
        first = group.iloc[0]
        comparison = pd.DataFrame([
            {"before": _annual_growth(index.loc[c].dropna(), first["before_from_january"], first["entry_january"]),
             "after": _annual_growth(index.loc[c].dropna(), first["entry_january"], first["after_to_january"])}
            for c in others if c in index.index])
        row = {"cohort": cohort, "entry_january": first["entry_january"],
               "before": f"{first['before_from_january']}-{first['entry_january']}",
               "after": f"{first['entry_january']}-{first['after_to_january']}"}
        for name, column in (("before", "growth_before_pct_a_year"), ("after", "growth_after_pct_a_year"),
                             ("change", "change_pp")):
            values = group[column].dropna()
            row.update({f"{name}_n": len(values), f"{name}_median": values.median(),
                        f"{name}_q1": values.quantile(0.25), f"{name}_q3": values.quantile(0.75)})
        row.update({"comparison_n": int(comparison["after"].notna().sum()),
                    "comparison_before_median": comparison["before"].median(),
                    "comparison_after_median": comparison["after"].median()})
        row["small_n"] = row["before_n"] < SMALL_N or row["after_n"] < SMALL_N
        rows.append(row)
    return pd.DataFrame(rows)
