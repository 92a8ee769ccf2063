"""What each report says: the findings, tables and briefing answers for England, a region and an LA,
computed here so that the notebooks only present them. Every number comes from the processed tables
through sendlib's models; every sentence names its year, unit and base."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import pandas as pd

from sendlib import compare, funding, programmes
from sendlib.data import load, read_manifest
from sendlib.errors import ParameterError
from sendlib.geography import ENGLAND_CODE, resolve_area
from sendlib.headline import la_headline

SOURCE_SEN2 = "DfE, Education, health and care plans (SEN2)"
SOURCE_DSG = "ESFA/DfE DSG allocations"
SOURCE_NATIONAL = "DfE written answers UIN 129210, 195389, 12849 and the 2023-24 DSG allocations"
SOURCE_ONS = "ONS GDP deflator (YBGB)"


# ----------------------------------------------------------------------------------------- formatting


def gbp(value: float | None, digits: int = 1) -> str:
    """Return money as '£6.4bn', '£77.8m' or '£950k' ('n/a' if missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(float(value))
    if value >= 1e9:
        return f"{sign}£{value / 1e9:,.{digits}f}bn"
    if value >= 1e6:
        return f"{sign}£{value / 1e6:,.{digits}f}m"
    if value >= 1e3:
        return f"{sign}£{value / 1e3:,.0f}k"
    return f"{sign}£{value:,.0f}"


def pounds(value: float | None) -> str:
    """Return money to the pound: '£21,846' ('n/a' if missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{'-' if value < 0 else ''}£{abs(float(value)):,.0f}"


def number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    """Return a number with thousands separators ('n/a' if missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):,.{digits}f}{suffix}"


def percent_change(new: float, old: float) -> float:
    """Return the percentage change from old to new (%)."""
    return (float(new) / float(old) - 1) * 100


# ----------------------------------------------------------------------------------------- shared pieces


@lru_cache(maxsize=1)
def years_in_hand() -> dict[str, str]:
    """Return the years the tables cover: LA allocations (first, last), latest January, deflator gap, deficit year."""
    hnb = load("high_needs_block").query("level == 'la'")["financial_year"]
    national = load("national_series")
    ehcp = load("ehcp")["january"]
    balance = load("dsg_balance").dropna(subset=["cumulative_deficit_gbp"])["financial_year"]
    no_deflator = national[national["gdp_deflator"].isna()]["financial_year"]
    stated = national[national["hnb_status"] != "allocation"]
    later = stated[stated["financial_year"] > hnb.max()]["financial_year"]
    return {"la_first": hnb.min(), "la_last": hnb.max(), "january_first": str(ehcp.min()),
            "january_last": str(ehcp.max()), "no_deflator": ", ".join(no_deflator),
            "deficit_year": balance.max(), "statements_after_files": ", ".join(later)}


def national_table_notes() -> str:
    """Return the notes under England's gap table: years without a deflator and years given by DfE statements."""
    y = years_in_hand()
    notes = []
    if y["no_deflator"]:
        notes.append(f"{y['no_deflator']} has no GDP deflator yet, so its necessary funding is not estimated.")
    if y["statements_after_files"]:
        notes.append(f"The {y['statements_after_files']} high needs block totals are DfE statements in written answers "
                     "(see Methods).")
    return " ".join(notes)


def area(code: str, level: str) -> pd.Series:
    """Return the registry row of the report's area (a code or name at one level; ParameterError if unknown)."""
    return resolve_area(code, levels=(level,), parameter=level)


@lru_cache(maxsize=1)
def report_prices() -> str:
    """Return the financial year whose prices every real-terms figure in the reports uses (latest deflator year)."""
    return compare.latest_prices()


@lru_cache(maxsize=8)
def _gap(level: str, prices: str | None = None, base_year: str | None = None) -> pd.DataFrame:
    """Return the funding model for a level in report prices (cached; the LA model is the headline module's)."""
    if level == "la" and prices is None and base_year is None:
        from sendlib.headline import _la_gap

        return _la_gap()[0]
    return funding.gap(level, prices=prices or report_prices(), base_year=base_year)


def gap_for(code: str, level: str) -> pd.DataFrame:
    """Return the funding model rows of one area (GBP; real terms in report prices)."""
    return _gap(level)[lambda f: f["area_code"] == code].reset_index(drop=True)


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the model rows as a display table: £m to one decimal, per plan to the pound, index to one decimal."""
    prices = frame["prices"].iloc[0]
    return pd.DataFrame({
        "Financial year": frame["financial_year"],
        "EHC plans (January before)": frame["ehc_plans"].map(number),
        "Actual £m": frame["actual_gbp"].map(lambda v: number(v / 1e6, 1)),
        "Necessary £m": frame["necessary_gbp"].map(lambda v: number(v / 1e6, 1)),
        "Gap £m": frame["gap_gbp"].map(lambda v: number(v / 1e6, 1)),
        f"Gap £m, {prices} prices": frame["gap_real_gbp"].map(lambda v: number(v / 1e6, 1)),
        "Actual £ per plan": frame["actual_per_plan_gbp"].map(pounds),
        "Necessary £ per plan": frame["necessary_per_plan_gbp"].map(pounds),
        "Real per-plan index": frame["real_per_plan_index"].map(lambda v: number(v, 1)),
    })


def chart_frame(frame: pd.DataFrame, real: bool = False) -> pd.DataFrame:
    """Return financial_year, actual and necessary in £m (cash, or real terms) for plots.gap_chart."""
    suffix = "_real_gbp" if real else "_gbp"
    return pd.DataFrame({"financial_year": frame["financial_year"],
                         "actual": frame[f"actual{suffix}"] / 1e6, "necessary": frame[f"necessary{suffix}"] / 1e6})


def latest_complete(frame: pd.DataFrame) -> pd.Series:
    """Return the latest model row with necessary funding (a deflator) published."""
    return frame.dropna(subset=["necessary_gbp"]).iloc[-1]


def coverage() -> str:
    """Return the sentence that says how many SV agreements and DBV LAs are identified."""
    return programmes.coverage_statement() + "."


# ----------------------------------------------------------------------------------------- England


def england_findings() -> list[str]:
    """Return the England report's key findings, each a sentence with its year, unit and base."""
    model = _gap("england")
    base, last = model.iloc[0], latest_complete(model)
    cumulative = model.dropna(subset=["gap_real_gbp"])["gap_real_gbp"].sum()
    ehcp = load("ehcp").query("level == 'england'").set_index("january")["ehc_plans"]
    first_j, last_j = int(ehcp.index.min()), int(ehcp.index.max())
    national = load("national_series").set_index("financial_year")
    newest = national["hnb_gbp"].last_valid_index()  # the latest year with an England HNB in hand
    return [
        f"In {last['financial_year']} the high needs block was {gbp(last['actual_gbp'])}. Holding "
        f"{base['financial_year']} funding per EHC plan ({pounds(base['actual_per_plan_gbp'])}) constant in real "
        f"terms for the {number(last['ehc_plans'])} plans of January {last['financial_year'][:4]} would have "
        f"needed {gbp(last['necessary_gbp'])}: a gap of {gbp(last['gap_gbp'])}.",
        f"Real funding per plan in {last['financial_year']} was {last['real_per_plan_index']:.0f}% of its "
        f"{base['financial_year']} level ({pounds(last['actual_per_plan_gbp'])} against "
        f"{pounds(last['necessary_per_plan_gbp'])}, GDP deflator).",
        f"EHC plans rose {percent_change(ehcp[last_j], ehcp[first_j]):.0f}% from January {first_j} to January "
        f"{last_j} ({number(ehcp[first_j])} to {number(ehcp[last_j])}); the high needs block rose "
        f"{percent_change(national.loc[newest, 'hnb_gbp'], national.iloc[0]['hnb_gbp']):.0f}% in cash from "
        f"{national.index[0]} to {newest}.",
        f"Added up from {base['financial_year']} to {last['financial_year']}, the shortfall comes to "
        f"{gbp(cumulative)} in {last['prices']} prices.",
    ]


def national_sources_table() -> pd.DataFrame:
    """Return England's high needs block by year with its status and source (for the report's caveats)."""
    national = load("national_series")
    return pd.DataFrame({"Financial year": national["financial_year"],
                         "High needs block": national["hnb_gbp"].map(gbp),
                         "Status": national["hnb_status"], "Source": national["hnb_source"]})


@lru_cache(maxsize=16)
def sensitivity_table(year: str) -> pd.DataFrame:
    """Return the "how much does the choice matter" table for England in one year."""
    table = funding.sensitivity(year)
    return pd.DataFrame({"Variant": table["variant"], "Base year": table["base_year"],
                         "Gap (cash)": table["gap_gbp"].map(gbp),
                         "Gap (real terms)": [f"{gbp(v)} ({p})" if p != "cash" else gbp(v)
                                              for v, p in zip(table["gap_real_gbp"], table["prices"], strict=True)],
                         "Real per-plan index": table["real_per_plan_index"].map(lambda v: number(v, 1)),
                         "Difference from baseline": table["gap_difference_from_baseline_gbp"].map(gbp)})


@lru_cache(maxsize=16)
def sensitivity_summary(year: str) -> str:
    """Return one sentence giving the range of the gap across the model's variants in one year."""
    table = funding.sensitivity(year).dropna(subset=["gap_gbp"])
    low, high = table.loc[table["gap_gbp"].idxmin()], table.loc[table["gap_gbp"].idxmax()]
    return (f"Across these choices the {year} gap ranges from {gbp(low['gap_gbp'])} ({low['variant']}) to "
            f"{gbp(high['gap_gbp'])} ({high['variant']}); the baseline gives {gbp(table['gap_gbp'].iloc[0])}. "
            "Every variant shows funding per plan below its base-year real level.") if (
        table["gap_gbp"] > 0).all() else (
            f"Across these choices the {year} gap ranges from {gbp(low['gap_gbp'])} ({low['variant']}) to "
            f"{gbp(high['gap_gbp'])} ({high['variant']}); the baseline gives {gbp(table['gap_gbp'].iloc[0])}.")


@lru_cache(maxsize=16)
def projection_table(level: str = "england", area: str | None = None) -> pd.DataFrame:
    """Return the labelled projection of plans and necessary funding as a display table."""
    table = funding.projection(level, area=area)
    return pd.DataFrame({
        "January": table["january"], "Financial year": table["financial_year"],
        "EHC plans (projection)": table["ehc_plans_projected"].map(number),
        "95% interval": [f"{number(lo)} to {number(hi)}" for lo, hi in zip(table["ehc_plans_low"],
                                                                           table["ehc_plans_high"], strict=True)],
        "Necessary funding (projection)": [f"{gbp(v)} ({p} prices)" for v, p in zip(table["necessary_gbp"],
                                                                                   table["prices"], strict=True)],
        "Trend growth a year": table["annual_growth_pct"].map(lambda v: number(v, 1, "%")),
        "Fitted on": table["fitted_januaries"].map(lambda v: f"Januaries {v}")})


@lru_cache(maxsize=16)
def programme_overview_table() -> pd.DataFrame:
    """Return SV and DBV LAs by region with the DfE money committed (known amounts, and how many are unknown)."""
    frame = programmes.overview()
    return pd.DataFrame({
        "Region": frame["region_name"],
        "Safety Valve LAs": frame["sv_las"],
        "DfE money committed (known)": [gbp(v) if known else "none found" for v, known in
                                        zip(frame["sv_dfe_amount_gbp"], frame["sv_amounts_known"], strict=True)],
        "Amount not found": frame["sv_amounts_unknown"],
        "DBV LAs": frame["dbv_las"],
        "Low-confidence candidates": frame["low_confidence_las"].fillna(""),
    })


def group_lookup() -> pd.DataFrame:
    """Return each current LA's comparison group and programme group (one row per LA)."""
    return programmes.groups().set_index("area_code")


def programme_marks() -> dict[str, str]:
    """Return LA name -> 'Safety Valve' | 'DBV' for LAs in a programme's primary group (for chart highlights)."""
    groups = group_lookup()
    marks = {}
    for _code, row in groups.iterrows():
        if row["primary"] and row["programme_group"] in ("Safety Valve", "DBV"):
            marks[row["area_name"]] = row["programme_group"]
    return marks


def _latest(indicator: str, levels: tuple[str, ...] = ("la",)) -> pd.DataFrame:
    """Return each area's latest value of one indicator with its year."""
    table = compare.indicators(levels)
    table = table[table["indicator"] == indicator].dropna(subset=["value"]).sort_values("year")
    return table.groupby("area_code").tail(1).set_index("area_code")


@lru_cache(maxsize=16)
def las_table(region_code: str | None = None) -> pd.DataFrame:
    """Return one row per current LA (or the region's): programme, plans, growth, funding per plan, gap, deficit."""
    groups = group_lookup()
    if region_code is not None:
        groups = groups[groups["region_code"] == region_code]
    plans = _latest("ehc_plans")
    index = _latest("ehc_plans_index_2015")
    per_plan = _latest("hnb_per_plan_real_gbp")
    gap_per_plan = _latest("funding_gap_per_plan_real_gbp")
    deficit = _latest("dsg_deficit_pct_of_hnb")
    model = _gap("la")
    latest_model = model.dropna(subset=["gap_gbp"]).sort_values("financial_year").groupby("area_code").tail(1)
    latest_model = latest_model.set_index("area_code")
    rows = []
    for code, g in groups.sort_values("area_name").iterrows():
        rows.append({
            "Local authority": g["area_name"], "Region": g["region_name"],
            "Programme": g["group"] + ("" if g["primary"] else " (not in primary groups)"),
            "EHC plans": number(plans["value"].get(code)),
            "Growth since 2015": number(index["value"].get(code) - 100 if code in index.index else None, 0, "%"),
            "HNB per plan (real)": pounds(per_plan["value"].get(code)),
            "Real per-plan index": number(latest_model["real_per_plan_index"].get(code), 1),
            "Gap": gbp(latest_model["gap_gbp"].get(code)),
            "Gap per plan (real)": pounds(gap_per_plan["value"].get(code)),
            "DSG deficit % of HNB": number(deficit["value"].get(code), 1, "%"),
        })
    frame = pd.DataFrame(rows)
    return frame.drop(columns=["Region"]) if region_code is not None else frame


def las_table_notes() -> str:
    """Return the notes that go under the LA table: years, prices and bases."""
    prices = report_prices()
    y = years_in_hand()
    return (f"EHC plans: January {y['january_last']}. Growth: since January {y['january_first']} (reorganised LAs "
            f"chained to their predecessors). HNB per plan and gap per plan: {y['la_last']} high needs block over "
            f"January {y['la_last'][:4]} plans, in {prices} prices. Gap and real per-plan index: against each LA's own "
            f"{y['la_first']} funding per plan, held constant in real terms (index 100 = no erosion). DSG deficit: end "
            f"{y['deficit_year']}, as derived from s251 by a third party.")


# ----------------------------------------------------------------------------------------- comparisons


KEY_INDICATORS = ["ehc_plans_index_2015", "ehc_plans_per_1000_aged_0_25", "refusals_per_100_requests",
                  "refusal_rate_decided_pct", "within_20_weeks_pct", "placement_state_special_pct",
                  "placement_independent_special_pct", "hnb_per_plan_real_gbp", "funding_gap_per_plan_real_gbp",
                  "dsg_deficit_pct_of_hnb"]


@lru_cache(maxsize=1)
def _catalogue() -> pd.DataFrame:
    """Return the indicator catalogue indexed by name."""
    return compare.indicator_catalogue().set_index("name")


def indicator_label(name: str) -> str:
    """Return an indicator's readable label."""
    return str(_catalogue().loc[name, "label"])


def format_value(value: float | None, unit: str) -> str:
    """Return an indicator value formatted for its unit (GBP to the pound, % and rates to one decimal)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit.startswith("GBP"):
        return pounds(value)
    if unit == "count":
        return number(value)
    return number(value, 1)


@lru_cache(maxsize=4)
def group_summary_table(indicators: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Return latest-year medians and interquartile ranges (with n) per programme group, for key indicators."""
    summary = compare.group_summary("programme")
    rows = []
    for name in indicators or KEY_INDICATORS:
        part = summary[summary["indicator"] == name].dropna(subset=["median"])
        if part.empty:
            continue
        year = part["year"].max()
        part = part[part["year"] == year]
        unit = part["unit"].iloc[0]
        row: dict[str, Any] = {"Indicator": indicator_label(name), "Year": part["period"].iloc[0]}
        for r in part.itertuples():
            flag = " *" if r.small_n else ""
            row[r.group] = (f"{format_value(r.median, unit)} ({format_value(r.q1, unit)}–{format_value(r.q3, unit)}; "
                            f"n={r.n}){flag}")
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


@lru_cache(maxsize=16)
def group_trend_frame(indicator: str = "ehc_plans_index_2015") -> pd.DataFrame:
    """Return the median of an indicator by programme group and year, for a grouped line chart."""
    summary = compare.group_summary("programme")
    part = summary[(summary["indicator"] == indicator)].dropna(subset=["median"])
    part = part[~part["group"].str.contains("unknown")]
    return pd.DataFrame({"year": part["year"].astype(str), "group": part["group"], "median": part["median"]})


@lru_cache(maxsize=1)
def _indicators_by_name() -> dict[str, pd.DataFrame]:
    """Return every area's indicators split by indicator name (cached: reports look them up per LA)."""
    table = compare.indicators(("la", "region", "england")).dropna(subset=["value"])
    return {name: part for name, part in table.groupby("indicator")}


def comparison_table(code: str) -> pd.DataFrame:
    """Return the LA's latest indicators against its region, England, its programme group and its statistical
    neighbours (medians, with n)."""
    by_name = _indicators_by_name()
    areas = load("areas").set_index("area_code")
    region = areas.loc[code, "region_code"]
    groups = group_lookup()
    group = groups["group"].get(code)
    members = groups.index[groups["group"] == group] if group is not None else []
    neighbours = load("statistical_neighbours").query("area_code == @code")["neighbour_code"].tolist()
    rows = []
    for name in KEY_INDICATORS:
        part = by_name.get(name, pd.DataFrame(columns=["area_code", "year", "period", "value", "unit"]))
        own = part[part["area_code"] == code]
        if own.empty:
            continue
        year = own["year"].max()
        same = part[part["year"] == year].set_index("area_code")["value"]
        unit = part["unit"].iloc[0]

        def median(codes: list[str], same: pd.Series = same, unit: str = unit) -> str:
            values = same.reindex([c for c in codes if c != code]).dropna()
            return f"{format_value(values.median(), unit)} (n={len(values)})" if len(values) else "n/a"

        rows.append({"Indicator": indicator_label(name), "Year": own[own["year"] == year]["period"].iloc[0],
                     "This LA": format_value(same.get(code), unit), "Region": format_value(same.get(region), unit),
                     "England": format_value(same.get(ENGLAND_CODE), unit),
                     f"{group} (median)" if group else "Group": median(list(members)),
                     "Statistical neighbours (median)": median(neighbours)})
    return pd.DataFrame(rows)


def group_trend_title(trend: pd.DataFrame) -> str:
    """Return a title stating how the groups' median plans index ended (e.g. 'rose 2.5 to 2.6 fold in every group')."""
    first_year, last_year = trend["year"].min(), trend["year"].max()
    ends = trend[trend["year"] == last_year].set_index("group")["median"]
    low, high = ends.min() / 100, ends.max() / 100
    pace = "at much the same pace in every group" if high - low < 0.25 else "at different paces across the groups"
    return f"EHC plans rose {low:.1f} to {high:.1f} fold from {first_year} to {last_year}, {pace}"


@lru_cache(maxsize=16)
def cohort_trend_frame(indicator: str = "ehc_plans_index_2015") -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the median of an indicator by SV cohort (and the councils in neither programme) by year, and each
    cohort's January of the agreement year, the last count before it (for the chart's markers)."""
    trends = compare.group_trends(indicator)
    wanted = [g for g in trends["group"].unique() if str(g).startswith("SV ") or str(g).startswith("Other: ")]
    part = trends[trends["group"].isin(wanted) & ~trends["group"].str.contains("unknown")].dropna(subset=["median"])
    frame = pd.DataFrame({"year": part["year"].astype(str), "group": part["group"], "median": part["median"]})
    entries = {str(r.group): str(r.year) for r in part[part["entry"].astype(bool)].itertuples()}
    return frame, entries


def cohort_trend_title(frame: pd.DataFrame, entries: dict[str, str]) -> str:
    """Return a title comparing the Safety Valve cohorts' median growth with councils in neither programme."""
    last = frame["year"].max()
    ends = frame[frame["year"] == last].set_index("group")["median"] / 100
    sv = ends[[g for g in ends.index if g.startswith("SV ")]]
    other = ends[[g for g in ends.index if g.startswith("Other")]]
    return (f"By January {last} Safety Valve cohorts' median plans were {sv.min():.1f} to {sv.max():.1f} times their "
            f"2015 level, against {other.min():.1f} to {other.max():.1f} times for councils in neither programme")


def effects_cohort_lines(outcome: str = "log_ehc_plans") -> list[str]:
    """Return one line per Safety Valve cohort in the event study: its first treated January and its councils."""
    summary = _effects_summary(outcome)
    return [f"**{cohort}**: {', '.join(names)}" for cohort, names in summary.cohorts.items()]


@lru_cache(maxsize=16)
def effects_robustness(outcome: str = "log_ehc_plans") -> str:
    """Return a sentence comparing the main estimate with the DBV-only comparison group (the robustness check)."""
    main = effects_frame(outcome, "never")
    dbv = effects_frame(outcome, "dbv")
    after = main[main["event_time"] >= 0]
    solid = after[after["n_treated"] >= after["n_treated"].max() / 2].iloc[-1]
    other = dbv.set_index("event_time").loc[int(solid["event_time"])]
    return (f"Robustness: against councils in DBV only (rather than all councils never in Safety Valve), the "
            f"estimate {int(solid['event_time'])} year(s) after is {other['estimate']:.3f} "
            f"({other['ci_low']:.3f} to {other['ci_high']:.3f}), against {solid['estimate']:.3f} "
            f"({solid['ci_low']:.3f} to {solid['ci_high']:.3f}) in the main comparison.")


OUTCOME_LABELS = {"log_ehc_plans": "EHC plans (log)", "new_plans_per_1000": "New plans per 1,000 aged 0-25",
                  "refusal_rate": "Refusals per 100 requests", "within_20_weeks_pct": "Issued within 20 weeks (%)",
                  "special_or_independent_share": "Share in special or independent schools"}


@lru_cache(maxsize=1)
def effects_overview() -> pd.DataFrame:
    """Return one row per event-study outcome: the estimate a year after the first treated period, its 95%
    interval, the pre-trend p-value and the councils observed (against councils never in Safety Valve)."""
    from sendlib import effects

    rows = []
    for outcome, about in effects.OUTCOMES.items():
        frame = effects_frame(outcome)
        summary = _effects_summary(outcome)
        one = frame[frame["event_time"] == 1]
        if one.empty:
            continue
        r = one.iloc[0]
        clear = r["ci_low"] > 0 or r["ci_high"] < 0
        rows.append({"Outcome": OUTCOME_LABELS.get(outcome, outcome), "Unit": about.unit,
                     "Estimate, 1 year after": number(r["estimate"], 3),
                     "95% interval": f"{number(r['ci_low'], 3)} to {number(r['ci_high'], 3)}",
                     "Interval excludes zero": "yes" if clear else "no",
                     "Pre-trend p": number(summary.pretrend.p_value, 2), "Councils": int(r["n_treated"])})
    return pd.DataFrame(rows)


@lru_cache(maxsize=8)
def effects_frame(outcome: str = "log_ehc_plans", comparison: str = "never") -> pd.DataFrame:
    """Return the event-study estimates for one outcome (sendlib.effects.event_study; cached)."""
    from sendlib import effects

    return effects.event_study(outcome, comparison)


def effects_title(frame: pd.DataFrame) -> str:
    """Return a title that states what the event study finds, with its uncertainty, in words.

    It reads the latest event time at which at least half of the treated councils are observed, so that the
    headline does not rest on one small cohort.
    """
    after = frame[frame["event_time"] >= 0]
    solid = after[after["n_treated"] >= after["n_treated"].max() / 2]
    last = (solid if not solid.empty else after).iloc[-1]
    significant = last["ci_high"] < 0 or last["ci_low"] > 0
    change = (math.exp(last["estimate"]) - 1) * 100
    direction = "fewer" if change < 0 else "more"
    when = int(last["event_time"])
    year = "the first count after" if when == 0 else f"{when} year{'s' if when > 1 else ''} after the first count after"
    if significant:
        return (f"Safety Valve councils had about {abs(change):.0f}% {direction} EHC plans than comparable councils "
                f"{year} their agreement ({int(last['n_treated'])} councils; the 95% interval excludes zero)")
    return (f"No clear difference in EHC plans {year} a Safety Valve agreement: {abs(change):.0f}% {direction}, "
            f"but the 95% interval includes zero ({int(last['n_treated'])} councils)")


@lru_cache(maxsize=8)
def _effects_summary(outcome: str):
    """Return the event-study summary for one outcome against never-treated councils (cached)."""
    from sendlib import effects

    return effects.event_study_summary(outcome)


@lru_cache(maxsize=8)
def effects_table(outcome: str = "log_ehc_plans") -> tuple[pd.DataFrame, str, list[str]]:
    """Return the event-study estimates (display table), the pre-trend sentence and the caveats for one outcome."""

    summary = _effects_summary(outcome)
    table = summary.table
    reference = table["event_time"] == -1
    display = pd.DataFrame({
        "Years from the first count after the agreement": table["event_time"],
        "Estimate": [("0 (reference)" if ref else number(v, 3)) for v, ref in zip(table["estimate"], reference,
                                                                                  strict=True)],
        "About": [("" if ref else f"{(math.exp(v) - 1) * 100:+.1f}%") for v, ref in zip(table["estimate"], reference,
                                                                                     strict=True)],
        "95% interval": [("" if ref else f"{number(lo, 3)} to {number(hi, 3)}")
                         for lo, hi, ref in zip(table["ci_low"], table["ci_high"], reference, strict=True)],
        "Treated LAs": table["n_treated"]})
    pre = summary.pretrend
    sentence = (f"Pre-trend test: F({pre.df_num}, {pre.df_denom}) = {pre.statistic:.2f}, p = {pre.p_value:.2f} "
                f"({'no evidence' if pre.p_value >= 0.05 else 'evidence'} that treated and comparison LAs were "
                "already diverging before the agreements, at the 5% level).")
    return display, sentence, list(summary.caveats)


# ----------------------------------------------------------------------------------------- regions


def region_findings(region_code: str) -> list[str]:
    """Return the region report's key findings (years, units and bases stated)."""
    model = gap_for(region_code, "region")
    base, last = model.iloc[0], latest_complete(model)
    england = _gap("england", base_year=base["financial_year"])
    england_last = england.set_index("financial_year").loc[last["financial_year"]]
    name = last["area_name"]
    groups = group_lookup()
    mine = groups[groups["region_code"] == region_code]
    sv = mine[(mine["programme_group"] == "Safety Valve") & mine["primary"]]
    dbv = mine[(mine["programme_group"] == "DBV") & mine["primary"]]
    ehcp = load("ehcp").set_index(["area_code", "january"])["ehc_plans"]
    first_j, last_j = int(years_in_hand()["january_first"]), int(years_in_hand()["january_last"])
    return [
        f"In {last['financial_year']} {name}'s high needs block was {gbp(last['actual_gbp'])}; holding its "
        f"{base['financial_year']} funding per plan ({pounds(base['actual_per_plan_gbp'])}) in real terms would "
        f"have needed {gbp(last['necessary_gbp'])}: a gap of {gbp(last['gap_gbp'])}.",
        f"Real funding per plan was {last['real_per_plan_index']:.0f}% of its {base['financial_year']} level "
        f"(England, on the same base: {england_last['real_per_plan_index']:.0f}%).",
        f"EHC plans in {name} rose {percent_change(ehcp[(region_code, last_j)], ehcp[(region_code, first_j)]):.0f}% "
        f"from January {first_j} to January {last_j} (England: "
        f"{percent_change(ehcp[(ENGLAND_CODE, last_j)], ehcp[(ENGLAND_CODE, first_j)]):.0f}%).",
        f"{len(sv)} of its {len(mine)} LAs have a Safety Valve agreement and {len(dbv)} are in Delivering Better "
        f"Value.",
    ]


def region_index_frame(region_code: str) -> pd.DataFrame:
    """Return the region's and England's real per-plan index on the region's base year, for a line chart."""
    model = gap_for(region_code, "region")
    base = model["base_year"].iloc[0]
    england = _gap("england", base_year=base)
    england = england[england["financial_year"].isin(model["financial_year"])]
    return pd.concat([
        pd.DataFrame({"financial_year": model["financial_year"], "group": model["area_name"],
                      "index": model["real_per_plan_index"]}),
        pd.DataFrame({"financial_year": england["financial_year"], "group": "England",
                      "index": england["real_per_plan_index"]})], ignore_index=True)


def region_la_codes(region_code: str) -> list[str]:
    """Return the codes of the region's current LAs."""
    return group_lookup().query("region_code == @region_code").index.tolist()


def region_la_ranking(region_code: str) -> pd.DataFrame:
    """Return the region's LAs with their latest real per-plan index and gap per plan (for ranked charts)."""
    model = _gap("la")
    areas = load("areas").set_index("area_code")
    model = model[model["area_code"].map(areas["region_code"]) == region_code]
    latest = model.dropna(subset=["real_per_plan_index"]).sort_values("financial_year").groupby("area_code").tail(1)
    index_2015 = _latest("ehc_plans_index_2015")
    latest = latest.assign(growth_since_2015=latest["area_code"].map(index_2015["value"]) - 100,
                           gap_per_plan_gbp=latest["gap_real_gbp"] / latest["ehc_plans"].astype(float))
    return latest.reset_index(drop=True)


# ----------------------------------------------------------------------------------------- an LA


def la_headline_lines(code: str) -> list[str]:
    """Return the LA's headline numbers as sentences (plans, growth, funding per plan, gap, deficit)."""
    return programmes.headline_lines(la_headline(code))


def no_model_reason(code: str) -> str:
    """Return why an LA has no necessary-versus-actual series (no allocation, or created after the years in hand)."""
    row = resolve_area(code, levels=("la",))
    try:
        funding.gap("la", area=code)
    except ParameterError as error:
        return f"No funding model for {row['area_name']}: {error.expected}."
    return f"No funding model for {row['area_name']} in the years in hand."


def la_gap_title(model: pd.DataFrame) -> str:
    """Return the LA gap chart's title: the latest gap (or surplus) and the real per-plan index."""
    last = latest_complete(model)
    if last["gap_gbp"] >= 0:
        return (f"{last['area_name']}: high needs funding was {gbp(last['gap_gbp'])} short of need in "
                f"{last['financial_year']}; real funding per plan {last['real_per_plan_index']:.0f}% of its "
                f"{last['base_year']} level")
    return (f"{last['area_name']}: real funding per plan in {last['financial_year']} was "
            f"{last['real_per_plan_index']:.0f}% of its {last['base_year']} level ({gbp(-last['gap_gbp'])} above it)")


def la_plans_trend(code: str) -> pd.DataFrame:
    """Return year, group (the LA, its region, England) and value (EHC plans index, January 2015 = 100)."""
    index = compare.plans_index(("la", "region", "england"))
    areas = load("areas").set_index("area_code")
    region = areas.loc[code, "region_code"]
    wanted = {code: areas.loc[code, "area_name"], region: areas.loc[region, "area_name"], ENGLAND_CODE: "England"}
    part = index[index["area_code"].isin(list(wanted))].dropna(subset=["ehc_plans_index_2015"])
    if part[part["area_code"] == code].empty:
        return pd.DataFrame(columns=["year", "group", "value"])
    return pd.DataFrame({"year": part["january"].astype(str), "group": part["area_code"].map(wanted),
                         "value": part["ehc_plans_index_2015"]}).reset_index(drop=True)


def la_plans_title(trend: pd.DataFrame, name: str) -> str:
    """Return the LA plans-trend title: the LA's latest index against England's in the same January."""
    own = trend[trend["group"] == name].sort_values("year").iloc[-1]
    england = trend[(trend["group"] == "England") & (trend["year"] == own["year"])]["value"]
    versus = f", against {england.iloc[0] / 100:.1f} times in England" if not england.empty else ""
    return f"By January {own['year']} EHC plans in {name} were {own['value'] / 100:.1f} times their 2015 level{versus}"


def la_status_lines(code: str) -> list[str]:
    """Return the "Is your LA included?" answer as markdown lines (programme, cohort, money, confidence, source)."""
    entries = programmes.status(code)
    if not entries:
        return ["**Not in Safety Valve or Delivering Better Value** in the programme lists identified so far ("
                + coverage() + ")"]
    lines = []
    for e in entries:
        cohort = f"agreement {e['cohort']}" if e["programme"] == "safety_valve" else e["cohort"]
        money = (f"DfE committed {gbp(e['dfe_amount_gbp'])}" if e["dfe_amount_gbp"] is not None
                 else f"DfE amount not found{' (' + e['amount_note'] + ')' if e['amount_note'] else ''}")
        lines.append(f"**{e['programme_name']}, {cohort}**: {money}. Confidence: {e['confidence']}. "
                     f"Source: {e['source']}.")
        if e.get("period"):
            lines.append(f"({e['period']}.)")
    return lines


def la_briefing(code: str) -> list[tuple[str, str]]:
    """Return the six briefing questions for an LA, each with its answer (markdown) from the data."""
    h = la_headline(code)
    name = resolve_area(code, levels=("la",))["area_name"]
    ind = compare.indicators(("la", "england"))
    mine = ind[ind["area_code"] == code]
    england = ind[ind["area_code"] == ENGLAND_CODE]
    answers = [("1. Is the LA in Safety Valve or DBV, since when, with how much DfE money?",
                " ".join(la_status_lines(code)))]
    answers.append(("2. How have EHC plans, new plans, refusals to assess and the share issued within 20 weeks "
                    "changed, before and after it joined?", _flows_answer(code, mine, h)))
    answers.append(("3. Is there a shift away from special and independent placements?",
                    _placements_answer(mine, england)))
    answers.append(("4. Is funding per plan keeping up in real terms, and how large is the LA's gap?",
                    _funding_answer(h, name)))
    answers.append(("5. How large is the DSG deficit against the high needs block? Is the extra funding adequate?",
                    _deficit_answer(code, h)))
    answers.append(("6. What is not in the national data?",
                    "There is no national data on **NHS contributions to EHC plans** or on **transfers from the "
                    "schools block to the high needs block**. Ask the council: how much the integrated care board "
                    "contributes to EHC plans each year; whether it has moved money from the schools block (and "
                    "with the schools forum's or the Secretary of State's agreement); what its deficit management "
                    "plan assumes about plans, placements and refusals; and what its Safety Valve or DBV plan "
                    "commits it to."))
    return answers


def _series(mine: pd.DataFrame, indicator: str) -> pd.Series:
    """Return one indicator of one area as year -> value."""
    part = mine[mine["indicator"] == indicator].dropna(subset=["value"])
    return part.set_index("year")["value"].sort_index()


def _entry_year(code: str) -> int | None:
    """Return the first January count after the LA's Safety Valve agreement (None if not in SV)."""
    for e in programmes.status(code):
        if e["programme"] == "safety_valve" and e["primary"]:
            return int(e["cohort"][:4]) + 2
    return None


def _flows_answer(code: str, mine: pd.DataFrame, h: dict) -> str:
    """Return the answer on plans, new plans, refusals and timeliness (with the SV entry where there is one)."""
    plans = _series(mine, "ehc_plans")
    new = _series(mine, "new_plans")
    refused = _series(mine, "refusals_per_100_requests")
    timely = _series(mine, "within_20_weeks_pct")
    parts = []
    if len(plans):
        parts.append(f"EHC plans went from {number(plans.iloc[0])} (January {plans.index[0]}) to "
                     f"{number(plans.iloc[-1])} (January {plans.index[-1]}).")
    for label, series, digits, suffix in [("New plans", new, 0, ""),
                                          ("Refusals to assess per 100 requests received", refused, 1, ""),
                                          ("Plans issued within 20 weeks", timely, 1, "%")]:
        if len(series):
            latest, earlier = series.index[-1], series.index[-1] - 3
            parts.append(f"{label}: {number(series.iloc[-1], digits, suffix)} in {latest} "
                         f"({number(series.get(earlier), digits, suffix)} in {earlier}).")
    entry = _entry_year(code)
    if entry is not None and len(plans):
        before = plans[plans.index < entry]
        after = plans[plans.index >= entry - 1]
        if len(before) >= 4 and len(after) >= 2:
            growth_before = ((before.iloc[-1] / before.iloc[-4]) ** (1 / 3) - 1) * 100
            growth_after = ((after.iloc[-1] / after.iloc[0]) ** (1 / (len(after) - 1)) - 1) * 100
            parts.append(f"Plans grew {growth_before:.1f}% a year in the three years to January {before.index[-1]} "
                         f"and {growth_after:.1f}% a year from January {after.index[0]} to {after.index[-1]}, "
                         f"after the agreement (first count after it: January {entry}). See the England report's "
                         "event study for what this does and does not show.")
    return " ".join(parts) or "No SEN2 figures for this LA."


def _placements_answer(mine: pd.DataFrame, england: pd.DataFrame) -> str:
    """Return the answer on special and independent placement shares (2019 onward)."""
    state = _series(mine, "placement_state_special_pct")
    independent = _series(mine, "placement_independent_special_pct")
    if not len(state):
        return "No placement figures for this LA."
    e_state = _series(england, "placement_state_special_pct")
    e_ind = _series(england, "placement_independent_special_pct")
    first, last = state.index[0], state.index[-1]
    return (f"Share of plans in state special schools: {state[first]:.1f}% (January {first}) to {state[last]:.1f}% "
            f"(January {last}); in independent or non-maintained special schools: {independent[first]:.1f}% to "
            f"{independent[last]:.1f}%. England: {e_state[first]:.1f}% to {e_state[last]:.1f}% and "
            f"{e_ind[first]:.1f}% to {e_ind[last]:.1f}%. A falling special share can mean more children placed in "
            "mainstream, but also more waiting without a placement: ask how many children are awaiting a place.")


def _funding_answer(h: dict, name: str) -> str:
    """Return the answer on real funding per plan and the gap."""
    if h.get("gap_gbp") is None:
        return (f"Funding per plan cannot be compared over time for {name}: {h.get('gap_note') or 'no allocation'}.")
    opening = (f"In {h['hnb_financial_year']} the high needs block was {gbp(h['hnb_gbp'])}, "
               f"{pounds(h['hnb_per_plan_gbp'])} per plan (January {h['hnb_plans_january']} plans). In real terms that "
               f"is {h['real_per_plan_index']:.0f}% of its {h['gap_base_year']} funding per plan. ")
    if h["gap_gbp"] >= 0:
        return opening + (f"Holding {h['gap_base_year']} real funding per plan would have needed {gbp(h['gap_gbp'])} "
                          f"more in {h['gap_financial_year']}; added up from {h['gap_base_year']}, the shortfall is "
                          f"{gbp(h['gap_cumulative_gbp'])} (cash).")
    return opening + (f"Funding per plan has kept ahead of its {h['gap_base_year']} real level: the block was "
                      f"{gbp(-h['gap_gbp'])} more in {h['gap_financial_year']} than holding it would have given "
                      f"(cumulative since {h['gap_base_year']}: {gbp(-h['gap_cumulative_gbp'])} cash). That is measured "
                      f"against the LA's own {h['gap_base_year']} funding, not against need.")


def _deficit_answer(code: str, h: dict) -> str:
    """Return the answer on the DSG deficit against the HNB and SV money against the deficit."""
    parts = []
    if h.get("deficit_gbp") is not None:
        share = (f", {h['deficit_pct_of_hnb']:.0f}% of its {h['deficit_financial_year']} high needs block"
                 if h.get("deficit_pct_of_hnb") is not None and h["deficit_gbp"] > 0 else "")
        word = "deficit" if h["deficit_gbp"] > 0 else "surplus" if h["deficit_gbp"] < 0 else "balance of nil"
        parts.append(f"Cumulative DSG {word} at the end of {h['deficit_financial_year']}: "
                     f"{gbp(abs(h['deficit_gbp']))}{share} (derived from the s251 outturn by a third party).")
    if h.get("dsg_balance_pct_of_dsg_income") is not None:
        parts.append(f"At the end of {h['dsg_balance_pct_financial_year']} the balance was "
                     f"{h['dsg_balance_pct_of_dsg_income']:+.1f}% of DSG income (positive = deficit).")
    money = [e for e in programmes.status(code) if e["programme"] == "safety_valve" and e["dfe_amount_gbp"]]
    if money and h.get("deficit_gbp"):
        amount = money[0]["dfe_amount_gbp"]
        parts.append(f"The Safety Valve agreement commits {gbp(amount)} of DfE money "
                     f"({amount / h['deficit_gbp'] * 100:.0f}% of the end-{h['deficit_financial_year']} deficit, which "
                     "is after payments received so far). Ask what the council must cut to meet its side of the "
                     "agreement, and whether payments have been withheld.")
    if not parts:
        parts.append("No DSG balance for this LA in the files in hand.")
    return " ".join(parts)


# ----------------------------------------------------------------------------------------- data quality


UNUSUAL_RISE, UNUSUAL_FALL, UNUSUAL_MINIMUM = 0.5, -0.2, 100


@lru_cache(maxsize=1)
def unusual_counts() -> pd.DataFrame:
    """Return LA Januaries whose EHC plan count rose over 50% or fell over 20% in a year (from at least 100 plans)."""
    ehcp = load("ehcp").query("level == 'la'").sort_values(["area_code", "january"])
    ehcp = ehcp.assign(previous=ehcp.groupby("area_code")["ehc_plans"].shift())
    change = ehcp["ehc_plans"] / ehcp["previous"] - 1
    flagged = ehcp[((change > UNUSUAL_RISE) | (change < UNUSUAL_FALL)) & (ehcp["previous"] >= UNUSUAL_MINIMUM)]
    return flagged.assign(change_pct=change[flagged.index] * 100)[["area_code", "january", "previous", "ehc_plans",
                                                                    "change_pct"]].reset_index(drop=True)


def data_warnings(codes: list[str] | None = None) -> list[str]:
    """Return a warning for each LA (of `codes`, or all) whose published plan counts jump implausibly in a year."""
    flagged = unusual_counts()
    if codes is not None:
        flagged = flagged[flagged["area_code"].isin(codes)]
    names = load("areas").set_index("area_code")["area_name"]
    return [f"{names[r.area_code]}: EHC plans went from {number(r.previous)} in January {r.january - 1} to "
            f"{number(r.ehc_plans)} in January {r.january} ({r.change_pct:+.0f}%) in DfE's published SEN2 figures. "
            "A change this size usually reflects how the council's return was compiled; per-plan figures for the "
            "years paired with these counts should be checked with the council."
            for r in flagged.itertuples()]


# ----------------------------------------------------------------------------------------- methods


def method_notes(kind: str) -> list[str]:
    """Return the methods and caveats for a report of kind england | region | la."""
    prices = report_prices()
    y = years_in_hand()
    notes = [
        "**Necessary funding** = base-year high needs block per EHC plan × (price index this year ÷ price index in "
        "the base year) × EHC plans this year. The **gap** is necessary minus actual; the **real per-plan index** "
        "is actual funding per plan as a percentage of the base-year rate in real terms. Full method: docs/method.md.",
        "Plans are counted in the January before the financial year (January 2019 for 2019-20). DfE labels the "
        "January count of 2025 '2024/25'; the model pairs years with Januaries explicitly, never by that label.",
        f"Prices: the GDP deflator (ONS series YBGB), financial-year averages; real terms in {prices} prices. "
        + (f"{y['no_deflator']} has no deflator yet and is not estimated." if y["no_deflator"] else ""),
        "The base year is a reference point, not a judgement that funding was adequate then. The block also pays for "
        "pupils without plans; the model divides it all by plans, as DfE's own per-plan comparisons do.",
    ]
    if kind in ("region", "la"):
        notes.append(f"LA allocations in hand run from {y['la_first']} to {y['la_last']}, so regions and LAs are measured "
                     f"against their own {y['la_first']} funding per plan; England is measured against "
                     f"{load('national_series')['financial_year'].min()}. Councils created by "
                     "reorganisations share their predecessors' base rate, and a region's figures are the sums "
                     "over its councils.")
    notes += [
        "Programme membership is compiled from gov.uk, council and press sources with a confidence grade for each "
        "entry; " + programmes.coverage_statement() + ". Low-confidence entries are kept out of the comparison groups.",
        "DSG deficits for 2023-24 and high-needs spending are third parties' derivations of DfE's s251 outturn "
        "files, and are labelled so; DSG balances for 2019-20 to 2021-22 were derived by DfE's SEND-AP dashboard.",
        "No national data exists on NHS contributions to EHC plans or on transfers from the schools block.",
    ]
    return notes


# ----------------------------------------------------------------------------------------- sources


def sources_table(tables: tuple[str, ...] = ("ehcp", "high_needs_block", "national_series", "deflators",
                                             "programmes", "dsg_balance", "high_needs_spend", "population")
                  ) -> pd.DataFrame:
    """Return the inputs behind the report's tables, once each: publisher, title, release read, status, URL."""
    manifest = read_manifest()
    rows = []
    for table in tables:
        for item in manifest["tables"][table]["inputs"]:
            rows.append({"Publisher": item["publisher"], "Title": item["title"], "Release read": item["release"],
                         "Status": item["status"], "URL": item["url"]})
    return pd.DataFrame(rows).drop_duplicates(subset=["Title"]).reset_index(drop=True)


def corrections_list() -> list[str]:
    """Return the corrections applied to the official files when the tables were built (from MANIFEST.json)."""
    manifest = read_manifest()
    return [c["reason"] for entry in manifest["tables"].values() for c in entry["corrections"]]


def warm_up() -> None:
    """Compute the shared results the reports use once (the report fork server calls this before forking)."""
    for level in ("england", "region", "la"):
        _gap(level)
    group_lookup()
    for levels in (("la",), ("la", "england"), ("la", "region", "england")):
        compare.indicators(levels)
    compare.group_summary("programme")
    programmes.overview()
    _indicators_by_name()
    from sendlib import headline

    headline.la_headline("886")  # fills the headline module's caches of the LA model
    # what the England report and the region reports compute: once per build, not once per report
    year = latest_complete(_gap("england"))["financial_year"]
    sensitivity_table(year)
    sensitivity_summary(year)
    projection_table()
    programme_overview_table()
    group_summary_table()
    group_trend_frame()
    cohort_trend_frame()
    las_table()
    effects_table("log_ehc_plans")
    effects_robustness("log_ehc_plans")
    effects_overview()
    unusual_counts()
    regions = load("areas").query("level == 'region'")["area_code"]
    _gap("england", base_year=gap_for(regions.iloc[0], "region")["base_year"].iloc[0])
