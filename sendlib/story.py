"""What each report says: the findings, tables and briefing answers for England, a region and an LA, read from
the derived tables (data/derived) and worded here, so that the notebooks and the CLI only present them. Nothing
here fits a model: every number is a row of a derived or processed table, and every sentence names its year,
unit and base (the lens that produced it).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sendlib import formatting as fmt
from sendlib.data import describe_modified, load, read_manifest
from sendlib.display import Column, ReportTable
from sendlib.geography import ENGLAND_CODE, resolve_area
from sendlib.periods import fy_start, last_january_before_agreement

SOURCE_SEN2 = "DfE, Education, health and care plans (SEN2)"
SOURCE_DSG = "ESFA/DfE DSG allocations"
SOURCE_NATIONAL = "DfE written answers UIN 129210, 195389, 12849 and the 2023-24 DSG allocations"
SOURCE_ONS = "ONS GDP deflator (YBGB)"
SOURCE_PROGRAMMES = "programme lists compiled from gov.uk and council sources"
PROGRAMME_NAMES = {"safety_valve": "Safety Valve", "dbv": "Delivering Better Value (DBV)"}
LENS_WORDS = {
    "own_base": "its own first-year funding per plan, held in real terms",
    "national_rate": "England's 2015-16 funding per plan, held in real terms",
    "area_rate": "its own funding per plan in its own first year, held in real terms",
}

# ----------------------------------------------------------------------------------------- shared pieces


def years_in_hand() -> dict[str, str]:
    """Return the years the tables cover: LA allocations (first, last), latest January, deflator gap, deficit year."""
    hnb = load("high_needs_block").query("level == 'la'")["financial_year"]
    national = load("national_series")
    ehcp = load("ehcp")["january"]
    balance = load("dsg_balance").dropna(subset=["cumulative_deficit_gbp"])["financial_year"]
    no_deflator = national[national["gdp_deflator"].isna() & national["hnb_gbp"].notna()]["financial_year"]
    stated = national[(national["hnb_status"] != "allocation") & national["hnb_gbp"].notna()]
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


def report_prices() -> str:
    """Return the financial year whose prices every real-terms figure uses (the derived tables' price year)."""
    return str(load("gap")["prices"].iloc[0])


def gap_for(code: str, level: str, lens: str = "own_base") -> pd.DataFrame:
    """Return the funding model rows of one area under one lens (GBP; real terms in report prices)."""
    gap = load("gap")
    rows = gap[(gap["level"] == level) & (gap["area_code"] == code) & (gap["lens"] == lens)]
    return rows.sort_values("financial_year").reset_index(drop=True)


def gap_summary_for(code: str, level: str, lens: str = "own_base") -> pd.Series | None:
    """Return the area's gap summary row under one lens (base, latest year, cumulative gap), or None."""
    summary = load("gap_summary")
    rows = summary[(summary["level"] == level) & (summary["area_code"] == code) & (summary["lens"] == lens)]
    return rows.iloc[0] if not rows.empty else None


def gap_table(frame: pd.DataFrame, name: str = "gap") -> ReportTable:
    """Return the model rows as a report table (money as £m/£bn, per plan to the pound, index to one decimal)."""
    prices = frame["prices"].iloc[0] if not frame.empty else report_prices()
    return ReportTable([
        Column("Financial year", frame["financial_year"].tolist()),
        Column("EHC plans (January before)", frame["ehc_plans"].tolist(), fmt.count),
        Column("Actual", frame["actual_gbp"].tolist(), fmt.money),
        Column("Necessary", frame["necessary_gbp"].tolist(), fmt.money),
        Column("Gap", frame["gap_gbp"].tolist(), fmt.money),
        Column(f"Gap, {prices} prices", frame["gap_real_gbp"].tolist(), fmt.money),
        Column("Actual £ per plan", frame["actual_per_plan_gbp"].tolist(), fmt.pounds),
        Column("Necessary £ per plan", frame["necessary_per_plan_gbp"].tolist(), fmt.pounds),
        Column("Real per-plan index", frame["real_per_plan_index"].tolist(), fmt.index),
    ], rows=frame, name=name)


def chart_frame(frame: pd.DataFrame, real: bool = False) -> pd.DataFrame:
    """Return financial_year, actual and necessary in £m (cash, or real terms) for plots.gap_chart."""
    suffix = "_real_gbp" if real else "_gbp"
    return pd.DataFrame({"financial_year": frame["financial_year"],
                         "actual": frame[f"actual{suffix}"] / 1e6, "necessary": frame[f"necessary{suffix}"] / 1e6})


def latest_complete(frame: pd.DataFrame) -> pd.Series:
    """Return the latest model row with necessary funding (a deflator) published."""
    return frame.dropna(subset=["necessary_gbp"]).iloc[-1]


def coverage(with_groups: bool = False) -> str:
    """Return the sentence that says how many SV agreements and DBV LAs are identified (and, with_groups, how
    many current LAs each comparison group holds)."""
    table = load("programme_coverage").set_index(["programme", "cohort"])
    sv_all, dbv_all = table.loc[("safety_valve", "all")], table.loc[("dbv", "all")]
    by_cohort = "; ".join(f"{c}: {int(r.identified)} of {int(r.announced)}" for (p, c), r in table.iterrows()
                          if p == "safety_valve" and c != "all")
    by_tranche = "; ".join(f"{c}: {int(r.identified)} of {int(r.announced)}" for (p, c), r in table.iterrows()
                           if p == "dbv" and c != "all")
    text = (f"{int(sv_all.identified)} of the {int(sv_all.announced)} Safety Valve agreements ({by_cohort}) and "
            f"{int(dbv_all.identified)} of the {int(dbv_all.announced)} DBV LAs ({by_tranche}) are identified")
    medium = int(sv_all.medium_confidence) + int(dbv_all.medium_confidence)
    if medium:
        text += f"; {medium} of these entries have medium confidence (cohort or tranche inferred)"
    if int(sv_all.low_confidence):
        names = ", ".join(str(sv_all.low_confidence_names).split("; "))
        text += (f"; {int(sv_all.low_confidence)} further Safety Valve candidate(s) of low confidence ({names}) "
                 "are shown apart")
    if with_groups:
        text += ". " + group_counts_sentence()
    return text + "."


def group_counts_sentence() -> str:
    """Return 'Of N current LAs: ...' with the count per group and the DSG balance basis of the Other groups."""
    groups = load("groups")
    counts = groups["group"].value_counts()
    order = load("group_summary").query("grouping == 'cohort'").drop_duplicates("group").sort_values("group_rank")
    ordered = [g for g in order["group"] if g in counts.index] + sorted(set(counts.index) - set(order["group"]))
    text = f"Of {len(groups)} current LAs: " + ", ".join(f"{g} {int(counts[g])}" for g in ordered)
    other = groups.dropna(subset=["deficit_measure"])
    if not other.empty:
        basis = other.groupby(["deficit_financial_year", "deficit_measure"]).size()
        text += ("; 'Other' groups by the latest DSG cumulative balance held (positive = deficit): "
                 + ", ".join(f"{fy} {m} for {n} LA(s)" for (fy, m), n in basis.items()))
    unknown = groups[groups["group"] == "Other: deficit unknown"]
    if not unknown.empty:
        text += f"; no balance data for {', '.join(unknown['area_name'])}"
    return text


def modified_data_warning() -> str | None:
    """Return a warning that the data differ from the published build (allowed by the researcher), or None."""
    what = describe_modified()
    if not what:
        return None
    return (f"**These figures use data that differ from the published build** ({what}; allowed with "
            "--allow-modified-data). Do not share them as sendlib's figures.")


# ----------------------------------------------------------------------------------------- England


def england_findings() -> list[str]:
    """Return the England report's key findings, each a sentence with its year, unit and base."""
    model = gap_for(ENGLAND_CODE, "england")
    base, last = model.iloc[0], latest_complete(model)
    summary = gap_summary_for(ENGLAND_CODE, "england")
    ehcp = load("ehcp").query("level == 'england'").dropna(subset=["ehc_plans"]).set_index("january")["ehc_plans"]
    first_j, last_j = int(ehcp.index.min()), int(ehcp.index.max())
    national = load("national_series").dropna(subset=["hnb_gbp"]).set_index("financial_year")
    newest = national.index[-1]
    return [
        f"In {last['financial_year']} the high needs block was {fmt.money(last['actual_gbp'])}. Holding "
        f"{base['financial_year']} funding per EHC plan ({fmt.pounds(base['actual_per_plan_gbp'])}) constant in real "
        f"terms for the {fmt.count(last['ehc_plans'])} plans of January {int(last['january'])} would have "
        f"needed {fmt.money(last['necessary_gbp'])}: a gap of {fmt.money(last['gap_gbp'])}.",
        f"Real funding per plan in {last['financial_year']} was {last['real_per_plan_index']:.0f}% of its "
        f"{base['financial_year']} level ({fmt.pounds(last['actual_per_plan_gbp'])} against "
        f"{fmt.pounds(last['necessary_per_plan_gbp'])}, GDP deflator).",
        f"EHC plans rose {fmt.change_between(ehcp[last_j], ehcp[first_j]):.0f}% from January {first_j} to January "
        f"{last_j} ({fmt.count(ehcp[first_j])} to {fmt.count(ehcp[last_j])}); the high needs block rose "
        f"{fmt.change_between(national.loc[newest, 'hnb_gbp'], national.iloc[0]['hnb_gbp']):.0f}% in cash from "
        f"{national.index[0]} to {newest}.",
        f"Added up from {base['financial_year']} to {last['financial_year']}, the shortfall comes to "
        f"{fmt.money(summary['cumulative_gap_real_gbp'])} in {last['prices']} prices.",
    ]


def gap_chart_title(model: pd.DataFrame, real: bool = False) -> str:
    """Return the England gap chart's title: the latest gap (cash), or how the real-terms shortfall grew."""
    base, last = model.iloc[0], latest_complete(model)
    if not real:
        return f"High needs funding was {fmt.money(last['gap_gbp'])} short of need in {last['financial_year']}"
    return (f"In {last['prices']} prices the shortfall grew from nothing in {base['financial_year']} to "
            f"{fmt.money(last['gap_real_gbp'])} in {last['financial_year']}")


def index_title(model: pd.DataFrame) -> str:
    """Return the real per-plan index chart's title (the latest index against the base year)."""
    base, last = model.iloc[0], latest_complete(model)
    return (f"Real funding per EHC plan fell to {last['real_per_plan_index']:.0f}% of its "
            f"{base['financial_year']} level by {last['financial_year']}")


def growth_frame(model: pd.DataFrame) -> pd.DataFrame:
    """Return financial_year, plans (count, January before) and funding (GBP, cash) for the growth index chart."""
    rows = model.dropna(subset=["actual_gbp", "ehc_plans"])
    return pd.DataFrame({"financial_year": rows["financial_year"], "plans": rows["ehc_plans"].astype(float),
                         "funding": rows["actual_gbp"]}).reset_index(drop=True)


def growth_title(growth: pd.DataFrame) -> str:
    """Return the growth chart's title: EHC plans' and cash funding's growth over the years shown (%)."""
    first, last = growth.iloc[0], growth.iloc[-1]
    return (f"EHC plans grew {fmt.change_between(last['plans'], first['plans']):.0f}% and cash funding "
            f"{fmt.change_between(last['funding'], first['funding']):.0f}% from {first['financial_year']} to "
            f"{last['financial_year']}")


def region_index_title(index: pd.DataFrame, name: str) -> str:
    """Return the region's index chart title: its latest real per-plan index against England's on the same base."""
    latest = index.dropna(subset=["index"])["financial_year"].max()
    ends = index[index["financial_year"] == latest].set_index("group")["index"]
    base = index["financial_year"].min()
    return (f"Real funding per plan in {latest}: {ends[name]:.0f}% of its {base} level in {name}, "
            f"{ends['England']:.0f}% in England")


def ranking_titles(ranking: pd.DataFrame, name: str) -> tuple[str, str]:
    """Return the titles of the region's two ranked charts: lowest real per-plan index, fastest plan growth."""
    lowest = ranking.sort_values("real_per_plan_index").iloc[0]
    fastest = ranking.sort_values("growth_since_2015", ascending=False).iloc[0]
    base = years_in_hand()["la_first"]
    return (f"{lowest['area_name']} had the lowest real funding per plan in {name}: "
            f"{lowest['real_per_plan_index']:.0f}% of its {base} level",
            f"EHC plans in {fastest['area_name']} grew fastest in {name}: up {fastest['growth_since_2015']:.0f}% "
            "since 2015")


def national_sources_table() -> ReportTable:
    """Return England's high needs block by year with its status and source (for the report's caveats)."""
    national = load("national_series")
    return ReportTable([Column("Financial year", national["financial_year"].tolist()),
                        Column("High needs block", national["hnb_gbp"].tolist(), fmt.money),
                        Column("Status", national["hnb_status"].tolist()),
                        Column("Source", national["hnb_source"].tolist())],
                       rows=national, name="england-high-needs-block-sources", text_only=True)


def sensitivity_rows(year: str) -> pd.DataFrame:
    """Return the sensitivity table's rows for one financial year (England; GBP)."""
    table = load("sensitivity")
    return table[table["financial_year"] == year].reset_index(drop=True)


def sensitivity_table(year: str) -> ReportTable:
    """Return the "how much does the choice matter" table for England in one year."""
    table = sensitivity_rows(year)
    return ReportTable([
        Column("Variant", table["variant"].tolist()),
        Column("Base year", table["base_year"].tolist()),
        Column("Gap (cash)", table["gap_gbp"].tolist(), fmt.money),
        Column("Gap (real terms)", [f"{fmt.money(v)} ({p})" if p != "cash" else fmt.money(v)
                                    for v, p in zip(table["gap_real_gbp"], table["prices"], strict=True)]),
        Column("Real per-plan index", table["real_per_plan_index"].tolist(), fmt.index),
        Column("Difference from baseline", table["gap_difference_from_baseline_gbp"].tolist(), fmt.money),
    ], rows=table, name=f"sensitivity-{year}")


def sensitivity_summary(year: str) -> str:
    """Return one sentence giving the range of the gap across the model's variants in one year."""
    table = sensitivity_rows(year).dropna(subset=["gap_gbp"])
    low, high = table.loc[table["gap_gbp"].idxmin()], table.loc[table["gap_gbp"].idxmax()]
    text = (f"Across these choices the {year} gap ranges from {fmt.money(low['gap_gbp'])} ({low['variant']}) to "
            f"{fmt.money(high['gap_gbp'])} ({high['variant']}); the baseline gives "
            f"{fmt.money(table['gap_gbp'].iloc[0])}.")
    if (table["gap_gbp"] > 0).all():
        text += " Every variant shows funding per plan below its base-year real level."
    return text


def projection_table() -> ReportTable:
    """Return the labelled projection of plans and necessary funding as a report table."""
    table = load("projection")
    return ReportTable([
        Column("January", table["january"].tolist(), lambda v: str(int(v))),
        Column("Financial year", table["financial_year"].tolist()),
        Column("EHC plans (projection)", table["ehc_plans_projected"].tolist(), fmt.count),
        Column("95% interval", [f"{fmt.count(lo)} to {fmt.count(hi)}" for lo, hi in zip(
            table["ehc_plans_low"], table["ehc_plans_high"], strict=True)]),
        Column("Necessary funding (projection)", [f"{fmt.money(v)} ({p} prices)" for v, p in zip(
            table["necessary_gbp"], table["prices"], strict=True)]),
        Column("Trend growth a year", table["annual_growth_pct"].tolist(), fmt.percent),
        Column("Fitted on", [f"Januaries {v}" for v in table["fitted_januaries"]]),
    ], rows=table, name="projection")


def programme_overview_table() -> ReportTable:
    """Return SV and DBV LAs by region with the DfE money committed (known amounts, and how many are unknown)."""
    frame = load("programme_overview")
    return ReportTable([
        Column("Region", frame["region_name"].tolist()),
        Column("Safety Valve LAs", frame["sv_las"].tolist(), fmt.count),
        Column("DfE money committed (known)", frame["sv_dfe_amount_gbp"].where(frame["sv_amounts_known"] > 0).tolist(),
               lambda v: "none found" if fmt.is_missing(v) else fmt.money(v)),
        Column("Amount not found", frame["sv_amounts_unknown"].tolist(), fmt.count),
        Column("DBV LAs", frame["dbv_las"].tolist(), fmt.count),
        Column("Low-confidence candidates", frame["low_confidence_las"].fillna("").tolist()),
    ], rows=frame, name="programmes-by-region")


def group_lookup() -> pd.DataFrame:
    """Return each current LA's comparison group and programme group (one row per LA, indexed by code)."""
    return load("groups").set_index("area_code")


def programme_marks() -> dict[str, str]:
    """Return LA name -> 'Safety Valve' | 'DBV' for LAs in a programme's primary group (for chart highlights)."""
    groups = group_lookup()
    chosen = groups[groups["primary"] & groups["programme_group"].isin(["Safety Valve", "DBV"])]
    return dict(zip(chosen["area_name"], chosen["programme_group"], strict=True))


def _latest(indicator: str, levels: tuple[str, ...] = ("la",)) -> pd.DataFrame:
    """Return each area's latest value of one indicator with its year (indexed by area code)."""
    table = load("indicators")
    table = table[(table["indicator"] == indicator) & table["level"].isin(levels) & table["flag"].isna()]
    return table.sort_values("year").groupby("area_code").tail(1).set_index("area_code")


def las_table(region_code: str | None = None) -> ReportTable:
    """Return one row per current LA (or the region's): programme, plans, growth, funding per plan, gap, deficit."""
    groups = group_lookup()
    if region_code is not None:
        groups = groups[groups["region_code"] == region_code]
    groups = groups.sort_values("area_name")
    codes = groups.index.tolist()
    plans = _latest("ehc_plans")["value"]
    index = _latest("ehc_plans_index_2015")["value"]
    per_plan = _latest("hnb_per_plan_real_gbp")["value"]
    gap_per_plan = _latest("funding_gap_per_plan_real_gbp")["value"]
    deficit = _latest("dsg_deficit_pct_of_hnb")["value"]
    summary = load("gap_summary").query("level == 'la' and lens == 'own_base'").set_index("area_code")
    rows = pd.DataFrame({
        "area_code": codes, "area_name": groups["area_name"].tolist(), "region_name": groups["region_name"].tolist(),
        "group": groups["group"].tolist(), "primary": groups["primary"].tolist(),
        "ehc_plans": plans.reindex(codes).tolist(), "growth_since_2015_pct": (index.reindex(codes) - 100).tolist(),
        "hnb_per_plan_real_gbp": per_plan.reindex(codes).tolist(),
        "real_per_plan_index": summary["latest_real_per_plan_index"].reindex(codes).tolist(),
        "gap_gbp": summary["latest_gap_gbp"].reindex(codes).tolist(),
        "gap_per_plan_real_gbp": gap_per_plan.reindex(codes).tolist(),
        "dsg_deficit_pct_of_hnb": deficit.reindex(codes).tolist(),
        "data_flags": [flag_summary(c) for c in codes]})
    columns = [Column("Local authority", rows["area_name"].tolist())]
    if region_code is None:
        columns.append(Column("Region", rows["region_name"].tolist()))
    columns += [
        Column("Programme", [g + ("" if p else " (not in primary groups)") for g, p in zip(
            rows["group"], rows["primary"], strict=True)]),
        Column("EHC plans", rows["ehc_plans"].tolist(), fmt.count),
        Column("Growth since 2015", rows["growth_since_2015_pct"].tolist(), lambda v: fmt.number(v, 0, "%")),
        Column("HNB per plan (real)", rows["hnb_per_plan_real_gbp"].tolist(), fmt.pounds),
        Column("Real per-plan index", rows["real_per_plan_index"].tolist(), fmt.index),
        Column("Gap", rows["gap_gbp"].tolist(), fmt.money),
        Column("Gap per plan (real)", rows["gap_per_plan_real_gbp"].tolist(), fmt.pounds),
        Column("DSG deficit % of HNB", rows["dsg_deficit_pct_of_hnb"].tolist(), fmt.percent),
        Column("Data flags", rows["data_flags"].tolist()),
    ]
    return ReportTable(columns, rows=rows, name="councils" if region_code is None else f"councils-{region_code}",
                       notes=las_table_notes())


def flag_summary(code: str) -> str:
    """Return the data flags of one area in a few words ('count break January 2025; unusual base 2019-20')."""
    flagged = flags_for([code])
    return "; ".join(f"{FLAG_WORDS.get(r.code, r.code)} {r.period}" for r in flagged.itertuples())


def las_table_notes() -> str:
    """Return the notes that go under the LA table: years, prices and bases."""
    prices = report_prices()
    y = years_in_hand()
    return (f"EHC plans: January {y['january_last']}. Growth: since January {y['january_first']} (reorganised LAs "
            f"chained to their predecessors). HNB per plan and gap per plan: {y['la_last']} high needs block over "
            f"January {y['la_last'][:4]} plans, in {prices} prices. Gap and real per-plan index: against each LA's own "
            f"{y['la_first']} funding per plan, held constant in real terms (index 100 = no erosion). DSG deficit: end "
            f"{y['deficit_year']}, as derived from s251 by a third party. Data flags (see Methods): a count break leaves "
            "that count out of growth figures and group medians; an unusual base means the own-base gap should be "
            "read beside the national rate.")


# ----------------------------------------------------------------------------------------- maps


def membership_frame() -> pd.DataFrame:
    """Return area_code, group (in display order) and programme_group of every current LA, for the hex map."""
    groups = load("groups")
    order = group_summary_rows("cohort").drop_duplicates("group").sort_values("group_rank")["group"].tolist()
    order += sorted(set(groups["group"]) - set(order))
    present = [g for g in order if g in set(groups["group"])]
    return pd.DataFrame({"area_code": groups["area_code"],
                         "group": pd.Categorical(groups["group"], categories=present, ordered=True),
                         "programme_group": groups["programme_group"]})


def membership_title(frame: pd.DataFrame, codes: list[str] | None = None, region_name: str | None = None) -> str:
    """Return the membership map's title: how many councils are in each programme (England, or `codes`)."""
    shown = frame if codes is None else frame[frame["area_code"].isin(codes)]
    families = shown["programme_group"].value_counts()
    where = f" in {region_name}" if region_name else ""
    return (f"{int(families.get('Safety Valve', 0))} councils{where} have a Safety Valve agreement and "
            f"{int(families.get('DBV', 0))} are in Delivering Better Value")


def index_frame() -> pd.DataFrame:
    """Return area_code and each current LA's latest real per-plan index on its own base (base year = 100)."""
    summary = load("gap_summary").query("level == 'la' and lens == 'own_base'").set_index("area_code")
    codes = load("groups")["area_code"]
    return pd.DataFrame({"area_code": codes, "index": codes.map(summary["latest_real_per_plan_index"])})


def index_map_title(frame: pd.DataFrame, codes: list[str] | None = None) -> str:
    """Return the index map's title: in how many councils real funding per plan fell below its base (count)."""
    shown = frame if codes is None else frame[frame["area_code"].isin(codes)]
    values = shown["index"].dropna()
    y = years_in_hand()
    return (f"Real funding per plan in {y['la_last']} was below its {y['la_first']} level in {int((values < 100).sum())} "
            f"of {len(values)} councils")


def growth_frame_by_la() -> pd.DataFrame:
    """Return area_code and each current LA's growth in EHC plans since January 2015 (%, latest unflagged count)."""
    codes = load("groups")["area_code"]
    index = _latest("ehc_plans_index_2015")["value"]
    return pd.DataFrame({"area_code": codes, "growth": codes.map(index) - 100})


def growth_map_title(frame: pd.DataFrame, codes: list[str] | None = None) -> str:
    """Return the growth map's title: the median council's growth in EHC plans since January 2015 (%)."""
    shown = frame if codes is None else frame[frame["area_code"].isin(codes)]
    y = years_in_hand()
    return (f"EHC plans more than doubled in {int((shown['growth'] > 100).sum())} of {int(shown['growth'].notna().sum())}"
            f" councils from January {y['january_first']} to their latest count (median "
            f"{fmt.signed_percent(shown['growth'].median())})")


MAP_SOURCE = f"{SOURCE_SEN2}; {SOURCE_DSG}; {SOURCE_PROGRAMMES}; sendlib derived tables"


# ----------------------------------------------------------------------------------------- comparisons


FLAG_WORDS = {"count_break": "count break", "unusual_base": "unusual base", "joined_base": "joined base"}
KEY_INDICATORS = ["ehc_plans_index_2015", "ehc_plans_per_1000_aged_0_25", "refusals_per_100_requests",
                  "refusal_rate_decided_pct", "within_20_weeks_pct", "placement_state_special_pct",
                  "placement_independent_special_pct", "hnb_per_plan_real_gbp", "funding_gap_per_plan_real_gbp",
                  "dsg_deficit_pct_of_hnb"]


def _catalogue() -> pd.DataFrame:
    """Return the indicator catalogue indexed by name."""
    return load("indicator_catalogue").set_index("name")


def indicator_label(name: str) -> str:
    """Return an indicator's readable label."""
    return str(_catalogue().loc[name, "label"])


def group_summary_rows(grouping: str = "programme") -> pd.DataFrame:
    """Return the derived group summary of one grouping (medians, quartiles, n per group, indicator and year)."""
    summary = load("group_summary")
    return summary[summary["grouping"] == grouping].reset_index(drop=True)


def group_summary_table(indicators: tuple[str, ...] | None = None) -> ReportTable:
    """Return latest-year medians and interquartile ranges (with n) per programme group, for key indicators."""
    summary = group_summary_rows("programme")
    shown, behind = [], []
    for name in indicators or KEY_INDICATORS:
        part = summary[summary["indicator"] == name].dropna(subset=["median"])
        if part.empty:
            continue
        part = part[part["year"] == part["year"].max()].sort_values("group_rank")
        behind.append(part)
        unit = part["unit"].iloc[0]
        row: dict[str, Any] = {"Indicator": indicator_label(name), "Year": part["period"].iloc[0]}
        for r in part.itertuples():
            flag = " *" if r.small_n else ""
            row[r.group] = (f"{fmt.by_unit(r.median, unit)} ({fmt.by_unit(r.q1, unit)}–{fmt.by_unit(r.q3, unit)}; "
                            f"n={r.n}){flag}")
        shown.append(row)
    frame = pd.DataFrame(shown).fillna("")
    rows = pd.concat(behind, ignore_index=True) if behind else summary.iloc[0:0]
    return ReportTable([Column(c, frame[c].tolist()) for c in frame.columns], rows=rows, name="group-medians")


def group_trend_frame(indicator: str = "ehc_plans_index_2015") -> pd.DataFrame:
    """Return the median of an indicator by programme group and year, for a grouped line chart."""
    summary = group_summary_rows("programme")
    part = summary[(summary["indicator"] == indicator)].dropna(subset=["median"])
    part = part[~part["group"].str.contains("unknown")].sort_values(["year", "group_rank"])
    return pd.DataFrame({"year": part["year"].astype(str), "group": part["group"], "median": part["median"]})


def comparison_table(code: str) -> ReportTable:
    """Return the LA's latest indicators against its region, England, its programme group and its statistical
    neighbours (medians, with n)."""
    table = load("la_comparison")
    mine = table[table["area_code"] == code].set_index("indicator")
    wanted = [n for n in KEY_INDICATORS if n in mine.index]
    mine = mine.loc[wanted].reset_index()
    group = mine["group"].dropna().iloc[0] if mine["group"].notna().any() else None

    def median(value: object, n: object, unit: str) -> str:
        return f"{fmt.by_unit(value, unit)} (n={int(n)})" if n and int(n) > 0 else "n/a"

    return ReportTable([
        Column("Indicator", [indicator_label(n) for n in mine["indicator"]]),
        Column("Year", mine["period"].tolist()),
        Column("This LA", [fmt.by_unit(v, u) + (f" ({FLAG_WORDS.get(f, f)}: not in the medians)"
                                                 if isinstance(f, str) else "")
                           for v, u, f in zip(mine["value"], mine["unit"], mine["flag"], strict=True)]),
        Column("Region", [fmt.by_unit(v, u) for v, u in zip(mine["region_value"], mine["unit"], strict=True)]),
        Column("England", [fmt.by_unit(v, u) for v, u in zip(mine["england_value"], mine["unit"], strict=True)]),
        Column(f"{group} (median)" if group else "Group", [median(v, n, u) for v, n, u in zip(
            mine["group_median"], mine["group_n"], mine["unit"], strict=True)]),
        Column("Statistical neighbours (median)", [median(v, n, u) for v, n, u in zip(
            mine["neighbours_median"], mine["neighbours_n"], mine["unit"], strict=True)]),
    ], rows=mine, name=f"comparison-{code}")


def group_trend_title(trend: pd.DataFrame) -> str:
    """Return a title stating how the groups' median plans index ended (e.g. 'rose 2.5 to 2.6 fold in every group')."""
    first_year, last_year = trend["year"].min(), trend["year"].max()
    ends = trend[trend["year"] == last_year].set_index("group")["median"]
    low, high = ends.min() / 100, ends.max() / 100
    pace = "at much the same pace in every group" if high - low < 0.25 else "at different paces across the groups"
    return f"EHC plans rose {low:.1f} to {high:.1f} fold from {first_year} to {last_year}, {pace}"


def cohort_trend_frame(indicator: str = "ehc_plans_index_2015") -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the median of an indicator by SV cohort (and the councils in neither programme) by year, and each
    cohort's last January before its agreement (for the chart's markers)."""
    trends = group_summary_rows("cohort")
    trends = trends[trends["indicator"] == indicator]
    wanted = [g for g in trends["group"].unique() if str(g).startswith("SV ") or str(g).startswith("Other: ")]
    part = trends[trends["group"].isin(wanted) & ~trends["group"].str.contains("unknown")].dropna(subset=["median"])
    part = part.sort_values(["year", "group_rank"])
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


# ----------------------------------------------------------------------------------------- event study


OUTCOME_LABELS = {"log_ehc_plans": "EHC plans (log)", "new_plans_per_1000": "New plans per 1,000 aged 0-25",
                  "refusal_rate": "Refusals per 100 requests", "within_20_weeks_pct": "Issued within 20 weeks (%)",
                  "special_or_independent_share": "Share in special or independent schools"}
MAIN_SAMPLE = "unflagged"  # the main estimate leaves out counts a data flag marks; "all" keeps them


def effects_frame(outcome: str = "log_ehc_plans", comparison: str = "never", sample: str = MAIN_SAMPLE) -> pd.DataFrame:
    """Return the event-study estimates of one outcome, comparison and sample (outcome units)."""
    table = load("event_study")
    rows = table[(table["outcome"] == outcome) & (table["comparison"] == comparison) & (table["sample"] == sample)]
    return rows.sort_values("event_time").reset_index(drop=True)


def effects_test(outcome: str = "log_ehc_plans", comparison: str = "never", sample: str = MAIN_SAMPLE) -> pd.Series:
    """Return what one event study rests on (units, observations, Januaries) and its pre-trend test."""
    tests = load("event_study_tests")
    return tests[(tests["outcome"] == outcome) & (tests["comparison"] == comparison)
                 & (tests["sample"] == sample)].iloc[0]


def effects_units(outcome: str = "log_ehc_plans", comparison: str = "never", sample: str = MAIN_SAMPLE) -> pd.DataFrame:
    """Return the treated, comparison and dropped units of one event study."""
    units = load("event_study_units")
    return units[(units["outcome"] == outcome) & (units["comparison"] == comparison)
                 & (units["sample"] == sample)].reset_index(drop=True)


def effects_cohorts(outcome: str = "log_ehc_plans", sample: str = MAIN_SAMPLE) -> dict[str, list[str]]:
    """Return cohort label ('2022-23 (first treated January 2024)') -> the treated councils' names."""
    treated = effects_units(outcome, "never", sample).query("role == 'treated'")
    out: dict[str, list[str]] = {}
    for (cohort, first), group in treated.groupby(["cohort", "first_treated"], sort=True):
        out[f"{cohort} (first treated January {int(first)})"] = sorted(group["unit_name"])
    return out


def effects_cohort_lines(outcome: str = "log_ehc_plans") -> list[str]:
    """Return one line per Safety Valve cohort in the event study: its first treated January and its councils."""
    return [f"**{cohort}**: {', '.join(names)}" for cohort, names in effects_cohorts(outcome).items()]


def _solid(frame: pd.DataFrame) -> pd.Series:
    """Return the latest event time at which at least half of the treated councils are observed."""
    after = frame[frame["event_time"] >= 0]
    solid = after[after["n_treated"] >= after["n_treated"].max() / 2]
    return (solid if not solid.empty else after).iloc[-1]


def _against(main: pd.DataFrame, other: pd.DataFrame) -> str:
    """Return 'the estimate N year(s) after is X (low to high), against Y (low to high)' for two event studies, at
    the latest event time the main one observes at least half of its treated councils."""
    solid = _solid(main)
    row = other.set_index("event_time").loc[int(solid["event_time"])]
    return (f"the estimate {int(solid['event_time'])} year(s) after is {row['estimate']:.3f} ({row['ci_low']:.3f} to "
            f"{row['ci_high']:.3f}), against {solid['estimate']:.3f} ({solid['ci_low']:.3f} to "
            f"{solid['ci_high']:.3f})")


def effects_robustness(outcome: str = "log_ehc_plans") -> str:
    """Return a sentence comparing the main estimate with the DBV-only comparison group (the robustness check)."""
    return ("Robustness: against councils in DBV only (rather than all councils never in Safety Valve), "
            + _against(effects_frame(outcome, "never"), effects_frame(outcome, "dbv")) + " in the main comparison.")


def effects_flag_sentence(outcome: str = "log_ehc_plans") -> str:
    """Return a sentence giving the main estimate with and without the counts a data flag marks."""
    test = effects_test(outcome, "never", MAIN_SAMPLE)
    if not isinstance(test["excluded_observations"], str):
        return "No count in this study is marked by a data flag, so every observation is used."
    return (f"The main estimate leaves out the counts a data flag marks ({test['excluded_observations']}: see "
            "Methods). With them left in, "
            + _against(effects_frame(outcome, "never", MAIN_SAMPLE), effects_frame(outcome, "never", "all")) + ".")


def effects_overview() -> ReportTable:
    """Return one row per event-study outcome: the estimate a year after the first treated period, its 95%
    interval, the pre-trend p-value and the councils observed (against councils never in Safety Valve)."""
    tests = load("event_study_tests")
    rows = []
    for outcome in tests["outcome"].unique():
        frame = effects_frame(outcome)
        one = frame[frame["event_time"] == 1]
        if one.empty:
            continue
        r = one.iloc[0]
        test = effects_test(outcome)
        rows.append({"outcome": outcome, "unit": test["unit"], "estimate": r["estimate"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "excludes_zero": bool(r["ci_low"] > 0 or r["ci_high"] < 0),
                     "pretrend_p": test["pretrend_p"], "n_treated": int(r["n_treated"])})
    frame = pd.DataFrame(rows)
    return ReportTable([
        Column("Outcome", [OUTCOME_LABELS.get(o, o) for o in frame["outcome"]]),
        Column("Unit", frame["unit"].tolist()),
        Column("Estimate, 1 year after", frame["estimate"].tolist(), lambda v: fmt.number(v, 3)),
        Column("95% interval", [f"{fmt.number(lo, 3)} to {fmt.number(hi, 3)}" for lo, hi in zip(
            frame["ci_low"], frame["ci_high"], strict=True)]),
        Column("Interval excludes zero", ["yes" if x else "no" for x in frame["excludes_zero"]]),
        Column("Pre-trend p", frame["pretrend_p"].tolist(), lambda v: fmt.number(v, 2)),
        Column("Councils", frame["n_treated"].tolist(), fmt.count),
    ], rows=frame, name="event-study-outcomes")


def effects_title(frame: pd.DataFrame) -> str:
    """Return a title that states what the event study finds, with its uncertainty, in words.

    It reads the latest event time at which at least half of the treated councils are observed, so that the
    headline does not rest on one small cohort.
    """
    last = _solid(frame)
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


def effects_table(outcome: str = "log_ehc_plans") -> tuple[ReportTable, str, list[str]]:
    """Return the event-study estimates (report table), the pre-trend sentence and the caveats for one outcome."""
    table = effects_frame(outcome)
    reference = table["event_time"] == -1
    display = ReportTable([
        Column("Years from the first count after the agreement", table["event_time"].tolist(), lambda v: str(int(v))),
        Column("Estimate", [("0 (reference)" if ref else fmt.number(v, 3)) for v, ref in zip(
            table["estimate"], reference, strict=True)]),
        Column("About", [("" if ref else fmt.signed_percent((math.exp(v) - 1) * 100, 1)) for v, ref in zip(
            table["estimate"], reference, strict=True)]),
        Column("95% interval", [("" if ref else f"{fmt.number(lo, 3)} to {fmt.number(hi, 3)}") for lo, hi, ref in zip(
            table["ci_low"], table["ci_high"], reference, strict=True)]),
        Column("Treated LAs", table["n_treated"].tolist(), fmt.count),
    ], rows=table, name=f"event-study-{outcome}")
    test = effects_test(outcome)
    sentence = (f"Pre-trend test: F({int(test['pretrend_df_num'])}, {int(test['pretrend_df_denom'])}) = "
                f"{test['pretrend_f']:.2f}, p = {test['pretrend_p']:.2f} "
                f"({'no evidence' if test['pretrend_p'] >= 0.05 else 'evidence'} that treated and comparison LAs "
                "were already diverging before the agreements, at the 5% level).")
    return display, sentence, effects_caveats(outcome, "never")


def effects_caveats(outcome: str, comparison: str) -> list[str]:
    """Return the caveats of one event study, in words (numbers from the derived tables)."""
    units = effects_units(outcome, comparison)
    treated = units[units["role"] == "treated"]
    sizes = treated.groupby("cohort").size()
    mixed = sorted(units.loc[(units["role"] == "dropped") & (units["reason"] == "mixed_status"), "unit_name"])
    coverage_table = load("programme_coverage").set_index(["programme", "cohort"])
    sv_all = coverage_table.loc[("safety_valve", "all")]
    uncertain = int(sv_all.low_confidence)
    unidentified = max(int(sv_all.announced) - int(sv_all.identified) - uncertain, 0)
    lines = [
        "Selection: LAs entered Safety Valve because of the largest DSG deficits; growth that was unusually fast "
        "before the agreement may slow anyway (regression to the mean), which the estimates would attribute to SV.",
        "Anticipation: agreements were negotiated for months before signing; an effect that starts then shows up "
        "in the reference period (event time -1) and biases the estimates towards zero.",
        "COVID-19: flows of calendar year 2020 (January 2021 rows) and the first agreements (2020-21) coincide with "
        "the pandemic; year effects absorb only the national shock, not different shocks in SV LAs.",
        "SEN2 became a person-level collection in January 2023 (flows of 2022 onward): year effects absorb the "
        "national break, not LAs' different reporting changes, which fall just before the 2022-23 and 2023-24 "
        "cohorts.",
        "Reorganisations: Dorset, Northamptonshire and Cumbria are joined into stable units"
        + (f"; dropped because their member LAs differ in programme status: {'; '.join(mixed)}" if mixed else "") + ".",
        f"Few treated LAs per cohort ({int(sizes.min()) if len(sizes) else 0} to {int(sizes.max()) if len(sizes) else 0}"
        "), and only the earliest cohorts reach the longest lags: intervals are wide and the cohorts behind an event "
        "time change with it (see n_treated).",
    ]
    if unidentified or uncertain:
        lines.append(f"Of the {int(sv_all.announced)} announced SV agreements, {unidentified} with no programme row "
                     f"may put an SV LA in the comparison group; {uncertain} low-confidence candidate(s) left out "
                     "of every group.")
    if comparison == "never":
        lines.append("The never-in-SV comparison includes DBV LAs, which had their own (lighter) programme from "
                     "2022-23; comparison 'dbv' uses only them.")
    else:
        lines.append("DBV-only LAs were chosen for deficits just below the SV ones but are few; DBV itself may "
                     "have changed their trends from 2022-23.")
    return lines


def effects_notes(outcome: str, comparison: str, sample: str = MAIN_SAMPLE) -> list[str]:
    """Return the notes of one event study: what it rests on, the intervals, the reference, the denominators."""
    test = effects_test(outcome, comparison, sample)
    notes = [f"{int(test['n_units'])} units ({int(test['n_treated_units'])} treated), {int(test['n_observations'])} "
             f"unit-Januaries, January {int(test['first_january'])}-{int(test['last_january'])}",
             "95% intervals: t with units - 1 degrees of freedom, LA-clustered standard errors",
             "event time -1 (the January before the first treated one) is the reference, fixed at 0"]
    if test["timing"] == "flow":
        notes.append("flows of calendar year Y are reported in January Y + 1; event time 0 = flows of the calendar "
                     "year the agreement was signed (e.g. 2023 for 2022-23)")
    if outcome == "new_plans_per_1000":
        notes.append("denominator: mid-2023 residents aged 0-25 for every year (the only year published at those "
                     "ages)")
    if outcome == "refusal_rate":
        notes.append("denominator: requests received in the year (decided requests are published only from 2023)")
    if isinstance(test["excluded_observations"], str):
        notes.append(f"left out by the count-break flag: {test['excluded_observations']}")
    return notes


# ----------------------------------------------------------------------------------------- regions


def region_findings(region_code: str) -> list[str]:
    """Return the region report's key findings; every sentence names the definition (lens) of its figures."""
    own = gap_for(region_code, "region", "own_base")
    last = latest_complete(own)
    fy, name = last["financial_year"], last["area_name"]
    rate = gap_for(region_code, "region", "area_rate").set_index("financial_year")
    national = gap_for(region_code, "region", "national_rate").set_index("financial_year")
    england = gap_for(ENGLAND_CODE, "england", "area_rate").set_index("financial_year")
    base = str(rate["base_year"].iloc[0])
    groups = group_lookup()
    mine = groups[groups["region_code"] == region_code]
    sv = mine[(mine["programme_group"] == "Safety Valve") & mine["primary"]]
    dbv = mine[(mine["programme_group"] == "DBV") & mine["primary"]]
    ehcp = load("ehcp").set_index(["area_code", "january"])["ehc_plans"]
    first_j, last_j = int(years_in_hand()["january_first"]), int(years_in_hand()["january_last"])
    return [
        f"In {fy} {name}'s high needs block was {fmt.money(last['actual_gbp'])}. Holding each council's own "
        f"{base} funding per plan in real terms would have needed {fmt.money(last['necessary_gbp'])}: a gap of "
        f"{fmt.money(last['gap_gbp'])} (the sum of its councils' gaps).",
        f"At the region's own {base} funding per plan ({fmt.pounds(rate.loc[base, 'actual_per_plan_gbp'])}), held "
        f"in real terms, the {fy} gap is {fmt.money(rate.loc[fy, 'gap_gbp'])} and real funding per plan is "
        f"{rate.loc[fy, 'real_per_plan_index']:.1f}% of its {base} level (England, on the same base: "
        f"{england.loc[fy, 'real_per_plan_index']:.1f}%).",
        f"At England's 2015-16 funding per plan ({fmt.pounds(national.loc[fy, 'base_rate_gbp'])}), held in real "
        f"terms, {name}'s plans would have needed {fmt.money(national.loc[fy, 'necessary_gbp'])} in {fy}: a gap "
        f"of {fmt.money(national.loc[fy, 'gap_gbp'])}.",
        f"EHC plans in {name} rose {fmt.change_between(ehcp[(region_code, last_j)], ehcp[(region_code, first_j)]):.0f}% "
        f"from January {first_j} to January {last_j} (England: "
        f"{fmt.change_between(ehcp[(ENGLAND_CODE, last_j)], ehcp[(ENGLAND_CODE, first_j)]):.0f}%).",
        f"{len(sv)} of its {len(mine)} LAs have a Safety Valve agreement and {len(dbv)} are in Delivering Better "
        f"Value.",
    ]


def region_index_frame(region_code: str) -> pd.DataFrame:
    """Return the region's and England's real per-plan index, each on its own rate in the first year of council
    allocations (the area-rate lens), for a line chart."""
    model = gap_for(region_code, "region", "area_rate")
    england = gap_for(ENGLAND_CODE, "england", "area_rate")
    england = england[england["financial_year"].isin(model["financial_year"])]
    return pd.concat([
        pd.DataFrame({"financial_year": model["financial_year"], "group": model["area_name"],
                      "index": model["real_per_plan_index"]}),
        pd.DataFrame({"financial_year": england["financial_year"], "group": "England",
                      "index": england["real_per_plan_index"]})], ignore_index=True)


def region_la_codes(region_code: str) -> list[str]:
    """Return the codes of the region's current LAs."""
    groups = group_lookup()
    return groups.index[groups["region_code"] == region_code].tolist()


def region_la_ranking(region_code: str) -> pd.DataFrame:
    """Return the region's LAs with their latest real per-plan index and gap per plan (for ranked charts)."""
    summary = load("gap_summary").query("level == 'la' and lens == 'own_base'")
    regions = load("areas").set_index("area_code")["region_code"]
    latest = summary[summary["area_code"].map(regions) == region_code].dropna(subset=["latest_real_per_plan_index"])
    index_2015 = _latest("ehc_plans_index_2015")["value"]
    return pd.DataFrame({
        "area_code": latest["area_code"], "area_name": latest["area_name"],
        "real_per_plan_index": latest["latest_real_per_plan_index"],
        "growth_since_2015": latest["area_code"].map(index_2015) - 100,
        "gap_per_plan_gbp": latest["latest_gap_real_gbp"] / latest["latest_ehc_plans"].astype(float)}).reset_index(
        drop=True)


# ----------------------------------------------------------------------------------------- lenses

LENS_NAMES = {"own_base": "Own base", "national_rate": "National rate", "area_rate": "Own first year"}
LENS_QUESTIONS = {
    "own_base": "Has funding per plan kept the council's own first-year value in real terms?",
    "national_rate": "Is the council funded per plan as England was in 2015-16, held in real terms, for the plans "
                     "it has now?",
    "area_rate": "Has funding per plan kept the value of the council's own first year (not joined with its "
                 "predecessors)?",
}
REGION_LENS_NAMES = {"own_base": "Sum of councils", "area_rate": "Regional rate", "national_rate": "National rate"}
REGION_LENS_QUESTIONS = {
    "own_base": "The region's councils added up, each against its own first-year funding per plan.",
    "area_rate": "The region as one, against its own funding per plan in the first year of council allocations.",
    "national_rate": "The region's plans at England's 2015-16 funding per plan, held in real terms.",
}


def lens_rows(code: str, level: str) -> pd.DataFrame:
    """Return the area's gap summary under each lens it is shown with (the area-rate lens of an LA only where
    it differs from its own base: a council created by a reorganisation)."""
    summary = load("gap_summary")
    rows = summary[(summary["level"] == level) & (summary["area_code"] == code)].set_index("lens")
    wanted = ["own_base", "area_rate", "national_rate"] if level == "region" else ["own_base", "national_rate"]
    if level == "la" and {"own_base", "area_rate"} <= set(rows.index) and (
            rows.loc["own_base", "base_area_code"] != rows.loc["area_rate", "base_area_code"]):
        wanted.insert(1, "area_rate")
    return rows.reindex([w for w in wanted if w in rows.index]).reset_index()


def lens_table(code: str, level: str) -> ReportTable:
    """Return the area's latest gap under each lens side by side (GBP; index: base year = 100)."""
    rows = lens_rows(code, level)
    names, questions = (REGION_LENS_NAMES, REGION_LENS_QUESTIONS) if level == "region" else (LENS_NAMES,
                                                                                            LENS_QUESTIONS)
    return ReportTable([
        Column("Lens", [names[lens] for lens in rows["lens"]]),
        Column("Base", [f"{y}, {fmt.pounds(r)} per plan" if not fmt.is_missing(r) else f"{y}, each council's own"
                        for y, r in zip(rows["base_year"], rows["base_rate_gbp"], strict=True)]),
        Column("Year", rows["latest_year"].tolist()),
        Column("Real per-plan index", rows["latest_real_per_plan_index"].tolist(), fmt.index),
        Column("Gap", rows["latest_gap_gbp"].tolist(), fmt.money),
        Column(f"Gap, {report_prices()} prices", rows["latest_gap_real_gbp"].tolist(), fmt.money),
        Column("Gap added up since the base year (cash)", rows["cumulative_gap_gbp"].tolist(), fmt.money),
        Column("What it answers", [questions[lens] for lens in rows["lens"]]),
    ], rows=rows, name=f"lenses-{code}")


def lens_sentences(code: str, level: str) -> list[str]:
    """Return one sentence per lens with its latest figures, and one on whether the lenses disagree and why."""
    rows = lens_rows(code, level).set_index("lens")
    names = REGION_LENS_NAMES if level == "region" else LENS_NAMES
    out = []
    for lens, r in rows.iterrows():
        if level == "region":
            break
        gap = float(r["latest_gap_gbp"])
        direction = f"a gap of {fmt.money(gap)}" if gap >= 0 else f"{fmt.money(-gap)} above it"
        out.append(f"**{names[lens]}** ({LENS_WORDS[lens] if level != 'region' else REGION_LENS_QUESTIONS[lens]}): "
                   f"in {r['latest_year']} real funding per plan was {r['latest_real_per_plan_index']:.1f}% of the "
                   f"base ({r['base_year']}), {direction}.")
    if level == "region":
        return [f"The sum of councils and the regional rate differ because the councils started from different "
                f"funding per plan: the regional rate holds the region's average ({fmt.pounds(rows.loc['area_rate', 'base_rate_gbp'])}"
                f" in {rows.loc['area_rate', 'base_year']}) for all its plans, so councils whose plans grew fastest "
                "weigh more. The national rate starts from England's 2015-16 funding per plan, before the years "
                "of council allocations in hand."] if "area_rate" in rows.index else []
    if {"own_base", "national_rate"} <= set(rows.index):
        own, national = rows.loc["own_base"], rows.loc["national_rate"]
        flagged = flags_for([code])
        unusual = flagged[flagged["code"] == "unusual_base"]
        opposite = (own["latest_gap_gbp"] >= 0) != (national["latest_gap_gbp"] >= 0)
        apart = abs(own["latest_real_per_plan_index"] - national["latest_real_per_plan_index"]) >= 20
        if opposite or apart or not unusual.empty:
            reason = (" Its base year was unusual (see the data flag): the own-base lens then measures a change "
                      "in how plans were used as much as lost funding, and the national rate is the fairer "
                      "reading." if not unusual.empty else
                      " The two start from different funding per plan: the council's own first year and England's "
                      "2015-16 rate.")
            out.append(f"The two lenses disagree ({own['latest_real_per_plan_index']:.0f} against "
                       f"{national['latest_real_per_plan_index']:.0f}).{reason}")
        else:
            out.append("The two lenses agree on the direction: read the own-base figure for the council's own "
                       "history and the national rate for a like-for-like comparison with other councils.")
    return out


def joined_base_line(code: str) -> str | None:
    """Return the sentence naming a successor council's joined predecessors and base year, or None."""
    flagged = flags_for([code])
    joined = flagged[flagged["code"] == "joined_base"]
    return None if joined.empty else str(joined["message"].iloc[0]) + "."


# ----------------------------------------------------------------------------------------- missing values


def suppression_note(code: str, column: str, year: int) -> str | None:
    """Return why an official value is missing (suppressed or absent in the release), or None if it is not."""
    table = load("suppressions")
    rows = table[(table["area_code"] == code) & (table["column"] == column) & (table["period"] == str(year))]
    if rows.empty:
        return None
    r = rows.iloc[0]
    what = f"'{r['symbol']}', {r['meaning']}" if r["symbol"] != "row absent" else str(r["meaning"])
    return f"{r['period_label']}: not published for this council in DfE's {r['release']} ({what})"


def latest_count_note(code: str) -> str | None:
    """Return why a current LA has no count for the latest January, or None if it has one."""
    h = la_summary(code)
    latest = int(load("la_summary")["last_january"].max())
    if not bool(h["current"]) or fmt.is_missing(h["ehc_plans_january"]) or int(h["ehc_plans_january"]) >= latest:
        return None
    note = suppression_note(code, "ehc_plans", latest)
    region = f"; the {h['region_name']} and England totals include it" if note else ""
    return (note or f"January {latest}: no count in the files in hand") + region


def deficit_trajectory(code: str) -> ReportTable:
    """Return the council's DSG cumulative balance by year (GBP, + = deficit; % of DSG income), each with its
    status and source."""
    balance = load("dsg_balance")
    rows = balance[balance["area_code"] == code].sort_values("financial_year").reset_index(drop=True)
    return ReportTable([
        Column("End of", rows["financial_year"].tolist()),
        Column("DSG balance (+ = deficit)", rows["cumulative_deficit_gbp"].tolist(), fmt.money),
        Column("Status", rows["gbp_status"].fillna("").tolist()),
        Column("% of DSG income", rows["cumulative_deficit_pct_of_income"].tolist(),
               lambda v: fmt.MISSING if fmt.is_missing(v) else f"{float(v):+.2f}%"),
        Column("Status (%)", rows["pct_status"].fillna("").tolist()),
    ], rows=rows, name=f"dsg-balance-{code}",
        notes="Statuses: derived-reconstruction = DfE's own % of DSG times the DSG total it used (exact to the "
              "rounding bound in the CSV); derived-official = DfE's SEND-AP dashboard; derived-third-party = a third "
              "party's reading of the s251 outturn. 2022-23 is not in the files in hand.")


# ----------------------------------------------------------------------------------------- an LA


def la_summary(code: str) -> pd.Series:
    """Return the LA's headline row (latest plans, growth, HNB, DSG balance, group; see la_summary.csv)."""
    table = load("la_summary").set_index("area_code")
    return table.loc[code]


def la_headline_lines(code: str) -> list[str]:
    """Return the LA's headline numbers as sentences (plans, growth, funding per plan under each lens, deficit),
    each data flag next to the figure it touches."""
    h = la_summary(code)
    own = gap_summary_for(code, "la", "own_base")
    flagged = flags_for([code])
    lines = []
    if not fmt.is_missing(h["ehc_plans_latest"]):
        note = latest_count_note(code)
        lines.append(f"EHC plans, January {int(h['ehc_plans_january'])}: {fmt.count(h['ehc_plans_latest'])}"
                     + (f" ({note})" if note else ""))
    if not fmt.is_missing(h["growth_since_2015_pct"]):
        lines.append(f"Growth since January 2015: {fmt.signed_percent(h['growth_since_2015_pct'])} to January "
                     f"{int(h['growth_to_january'])} ({h['growth_basis']})")
    lines += [f"Data flag: {m}." for m in flagged.loc[flagged["code"] == "count_break", "message"]]
    if not fmt.is_missing(h["ehc_plans_per_1000_aged_0_25"]):
        lines.append(f"EHC plans per 1,000 aged 0-25: {h['ehc_plans_per_1000_aged_0_25']:.1f} (January "
                     f"{int(h['per_1000_january'])} plans, mid-{int(h['per_1000_january']) - 1} population; England "
                     f"{h['england_ehc_plans_per_1000_aged_0_25']:.1f})")
    if own is None and not fmt.is_missing(h["hnb_gbp"]):
        lines.append(f"High needs block {h['hnb_financial_year']}: {fmt.money(h['hnb_gbp'])} (per plan: n/a)")
    if own is not None:
        lines.append(f"High needs block {own['latest_year']}: {fmt.money(own['latest_actual_gbp'])} = "
                     f"{fmt.pounds(own['latest_actual_per_plan_gbp'])} per plan (plans of January "
                     f"{fy_start(own['latest_year'])})")
        for lens, r in lens_rows(code, "la").set_index("lens").iterrows():
            lines.append(f"{LENS_NAMES[lens]}, {LENS_WORDS[lens]} (base {r['base_year']}, "
                         f"{fmt.pounds(r['base_rate_gbp'])} per plan): real funding per plan "
                         f"{r['latest_real_per_plan_index']:.1f} (base = 100); {r['latest_year']}: "
                         f"{gap_phrase(r['latest_gap_gbp'])}; added up {r['first_year']} to {r['latest_year']}: "
                         f"{gap_phrase(r['cumulative_gap_gbp'])} cash ({gap_phrase(r['cumulative_gap_real_gbp'])} in "
                         f"{r['prices']} prices)")
        lines.append("Gap = funding needed to hold the base rate per plan in real terms (GDP deflator), minus the "
                     "high needs block (positive = shortfall)")
        lines += [f"Data flag: {m}." for m in flagged.loc[flagged["code"].isin(["unusual_base", "joined_base"]),
                                                          "message"]]
    else:
        lines.append(f"Funding gap: n/a ({model_note_text(h)})")
    lines.extend(deficit_lines(h))
    return lines


def gap_phrase(value: object) -> str:
    """Return a gap in words: 'a gap of £90.7m', or '£875k above it' for funding above the base (GBP)."""
    if fmt.is_missing(value):
        return "n/a"
    amount = float(value)  # type: ignore[arg-type]
    return f"a gap of {fmt.money(amount)}" if amount >= 0 else f"{fmt.money(-amount)} above it"


STATUS_WORDS = {
    "derived-third-party": "s251 line 1.9.3 as derived by a third party",
    "derived-reconstruction": "reconstructed from DfE's own % of DSG and its DSG total",
    "derived-official": "DfE's SEND-AP Inclusion Dashboard, from the s251 outturn",
    "official": "official",
}


def model_note_text(h: pd.Series) -> str:
    """Return why an LA has no funding model, in words."""
    if h["model_note"] == "no_allocation":
        return "no high needs block allocation in the DSG files in hand"
    y = years_in_hand()
    return (f"funded from {y['la_first']}, but the model pairs each year with the January before it, when the LA "
            "was not yet counted; its combined area is in sendlib.funding.harmonised_gap")


def deficit_lines(h: pd.Series) -> list[str]:
    """Return the DSG balance sentences of an LA headline row (GBP; % of HNB; % of DSG income)."""
    lines = []
    if not fmt.is_missing(h["deficit_gbp"]):
        value = float(h["deficit_gbp"])
        word = "deficit" if value > 0 else "surplus" if value < 0 else "balance (nil)"
        share = (f", {h['deficit_pct_of_hnb']:.0f}% of the {h['deficit_financial_year']} high needs block"
                 if not fmt.is_missing(h["deficit_pct_of_hnb"]) and value > 0 else "")
        lines.append(f"DSG cumulative {word}, end {h['deficit_financial_year']}: {fmt.money(abs(value))}{share} "
                     f"(status {h['deficit_status']}: {STATUS_WORDS.get(str(h['deficit_status']), 's251 line 1.9.3')})")
    if not fmt.is_missing(h["dsg_balance_pct_of_dsg_income"]):
        lines.append(f"DSG cumulative balance, end {h['dsg_balance_pct_financial_year']}: "
                     f"{h['dsg_balance_pct_of_dsg_income']:+.2f}% of DSG income (positive = deficit; status "
                     f"{h['dsg_balance_pct_status']})")
    if fmt.is_missing(h["deficit_gbp"]) and fmt.is_missing(h["dsg_balance_pct_of_dsg_income"]):
        lines.append("DSG deficit: not known (no balance in the files in hand)")
    return lines


def no_model_reason(code: str) -> str:
    """Return why an LA has no necessary-versus-actual series (no allocation, or created after the years in hand)."""
    h = la_summary(code)
    return f"No funding model for {h['area_name']}: {model_note_text(h)}."


def la_gap_title(model: pd.DataFrame) -> str:
    """Return the LA gap chart's title: the latest gap (or surplus) and the real per-plan index."""
    last = latest_complete(model)
    if last["gap_gbp"] >= 0:
        return (f"{last['area_name']}: high needs funding was {fmt.money(last['gap_gbp'])} short of need in "
                f"{last['financial_year']}; real funding per plan {last['real_per_plan_index']:.0f}% of its "
                f"{last['base_year']} level")
    return (f"{last['area_name']}: real funding per plan in {last['financial_year']} was "
            f"{last['real_per_plan_index']:.0f}% of its {last['base_year']} level ({fmt.money(-last['gap_gbp'])} "
            "above it)")


def la_plans_trend(code: str) -> pd.DataFrame:
    """Return year, group (the LA, its region, England) and value (EHC plans index, January 2015 = 100)."""
    index = load("indicators").query("indicator == 'ehc_plans_index_2015'")
    areas = load("areas").set_index("area_code")
    region = areas.loc[code, "region_code"]
    wanted = {code: areas.loc[code, "area_name"], region: areas.loc[region, "area_name"], ENGLAND_CODE: "England"}
    part = index[index["area_code"].isin(list(wanted))].sort_values(["area_code", "year"])
    if part[part["area_code"] == code].empty:
        return pd.DataFrame(columns=["year", "group", "value"])
    order = {c: i for i, c in enumerate(wanted)}
    part = part.assign(order=part["area_code"].map(order)).sort_values(["order", "year"])
    return pd.DataFrame({"year": part["year"].astype(str), "group": part["area_code"].map(wanted),
                         "value": part["value"]}).reset_index(drop=True)


def la_plans_title(trend: pd.DataFrame, name: str) -> str:
    """Return the LA plans-trend title: the LA's latest index against England's in the same January."""
    own = trend[trend["group"] == name].sort_values("year").iloc[-1]
    england = trend[(trend["group"] == "England") & (trend["year"] == own["year"])]["value"]
    versus = f", against {england.iloc[0] / 100:.1f} times in England" if not england.empty else ""
    return f"By January {own['year']} EHC plans in {name} were {own['value'] / 100:.1f} times their 2015 level{versus}"


def programme_entries(code: str) -> list[dict[str, Any]]:
    """Return the LA's programme entries (derived programme_status rows), Safety Valve first."""
    table = load("programme_status")
    rows = table[table["area_code"] == code]
    return [{k: (None if fmt.is_missing(v) and not isinstance(v, str) else v) for k, v in r.items()}
            for r in rows.to_dict("records")]


def entry_period(entry: dict[str, Any]) -> str | None:
    """Return how an entry counts in the comparisons, in words ('counted as Safety Valve from 2022-23')."""
    if entry["programme"] == "dbv" and entry.get("counted_until"):
        return f"counted as DBV until {entry['counted_until']}, then Safety Valve"
    if entry["programme"] == "safety_valve":
        return (f"counted as Safety Valve from {entry['cohort']}" if entry["primary"]
                else "low confidence: shown apart, not in the primary groups")
    return None


def la_status_lines(code: str) -> list[str]:
    """Return the "Is your LA included?" answer as markdown lines (programme, cohort, money, confidence, source)."""
    entries = programme_entries(code)
    if not entries:
        return ["**Not in Safety Valve or Delivering Better Value** in the programme lists identified so far ("
                + coverage().rstrip(".") + ")"]
    lines = []
    for e in entries:
        cohort = f"agreement {e['cohort']}" if e["programme"] == "safety_valve" else e["cohort"]
        money = (f"DfE committed {fmt.money(e['dfe_amount_gbp'])}" if e["dfe_amount_gbp"] is not None
                 else f"DfE amount not found{' (' + e['amount_note'] + ')' if e['amount_note'] else ''}")
        lines.append(f"**{PROGRAMME_NAMES[e['programme']]}, {cohort}**: {money}. Confidence: {e['confidence']}. "
                     f"Source: {e['source']}.")
        period = entry_period(e)
        if period:
            lines.append(f"({period}.)")
    return lines


def la_briefing(code: str) -> list[tuple[str, str]]:
    """Return the six briefing questions for an LA, each with its answer (markdown) from the data."""
    h = la_summary(code)
    indicators = load("indicators")
    mine = indicators[indicators["area_code"] == code]
    england = indicators[indicators["area_code"] == ENGLAND_CODE]
    answers = [("1. Is the LA in Safety Valve or DBV, since when, with how much DfE money?",
                " ".join(la_status_lines(code)))]
    answers.append(("2. How have EHC plans, new plans, refusals to assess and the share issued within 20 weeks "
                    "changed, before and after it joined?", _flows_answer(code, mine)))
    answers.append(("3. Is there a shift away from special and independent placements?",
                    _placements_answer(mine, england)))
    answers.append(("4. Is funding per plan keeping up in real terms, and how large is the LA's gap?",
                    _funding_answer(code, h)))
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


def sv_cohort(code: str) -> str | None:
    """Return the financial year of the LA's primary Safety Valve agreement (None if not in SV)."""
    for e in programme_entries(code):
        if e["programme"] == "safety_valve" and e["primary"]:
            return str(e["cohort"])
    return None


def _flows_answer(code: str, mine: pd.DataFrame) -> str:
    """Return the answer on plans, new plans, refusals and timeliness (with the SV entry where there is one)."""
    plans = _series(mine, "ehc_plans")
    new = _series(mine, "new_plans")
    refused = _series(mine, "refusals_per_100_requests")
    timely = _series(mine, "within_20_weeks_pct")
    parts = []
    if len(plans):
        parts.append(f"EHC plans went from {fmt.count(plans.iloc[0])} (January {plans.index[0]}) to "
                     f"{fmt.count(plans.iloc[-1])} (January {plans.index[-1]}).")
    for label, series, digits, suffix in [("New plans", new, 0, ""),
                                          ("Refusals to assess per 100 requests received", refused, 1, ""),
                                          ("Plans issued within 20 weeks", timely, 1, "%")]:
        if len(series):
            latest, earlier = series.index[-1], series.index[-1] - 3
            parts.append(f"{label}: {fmt.number(series.iloc[-1], digits, suffix)} in {latest} "
                         f"({fmt.number(series.get(earlier), digits, suffix)} in {earlier}).")
    cohort = sv_cohort(code)
    growth = load("growth_before_after").set_index("area_code")
    if cohort is not None and code in growth.index and len(plans):
        g = growth.loc[code]
        before_ok = not fmt.is_missing(g["growth_before_pct_a_year"])
        after_ok = not fmt.is_missing(g["growth_after_pct_a_year"])
        if before_ok and after_ok:
            pivot = int(g["entry_january"])
            parts.append(f"Plans grew {g['growth_before_pct_a_year']:.1f}% a year from January "
                         f"{int(g['before_from_january'])} to January {pivot} (the last count before the agreement) "
                         f"and {g['growth_after_pct_a_year']:.1f}% a year from January {pivot} to "
                         f"{int(g['after_to_january'])}, after it (first count after it: January "
                         f"{last_january_before_agreement(cohort) + 1}). See the England report's event study for "
                         "what this does and does not show.")
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


def _funding_answer(code: str, h: pd.Series) -> str:
    """Return the answer on real funding per plan and the gap."""
    own = gap_summary_for(code, "la", "own_base")
    if own is None:
        return f"Funding per plan cannot be compared over time for {h['area_name']}: {model_note_text(h)}."
    opening = (f"In {own['latest_year']} the high needs block was {fmt.money(own['latest_actual_gbp'])}, "
               f"{fmt.pounds(own['latest_actual_per_plan_gbp'])} per plan (January {fy_start(own['latest_year'])} "
               f"plans). In real terms that is {own['latest_real_per_plan_index']:.0f}% of its {own['base_year']} "
               "funding per plan. ")
    national = gap_summary_for(code, "la", "national_rate")
    other = "" if national is None else (
        f" At England's 2015-16 funding per plan ({fmt.pounds(national['base_rate_gbp'])}, held in real terms) its "
        f"{national['latest_year']} funding per plan is {national['latest_real_per_plan_index']:.0f}% of that rate: "
        f"{gap_phrase(national['latest_gap_gbp'])}.")
    if own["latest_gap_gbp"] >= 0:
        return opening + (f"Holding {own['base_year']} real funding per plan would have needed "
                          f"{fmt.money(own['latest_gap_gbp'])} more in {own['latest_year']}; added up from "
                          f"{own['base_year']}, the shortfall is {fmt.money(own['cumulative_gap_gbp'])} (cash).") + other
    return opening + (f"Funding per plan has kept ahead of its {own['base_year']} real level: the block was "
                      f"{fmt.money(-own['latest_gap_gbp'])} more in {own['latest_year']} than holding it would have "
                      f"given (cumulative since {own['base_year']}: {fmt.money(-own['cumulative_gap_gbp'])} cash). That "
                      f"is measured against the LA's own {own['base_year']} funding, not against need.") + other


def _deficit_answer(code: str, h: pd.Series) -> str:
    """Return the answer on the DSG deficit against the HNB and SV money against the deficit."""
    parts = []
    if not fmt.is_missing(h["deficit_gbp"]):
        value = float(h["deficit_gbp"])
        share = (f", {h['deficit_pct_of_hnb']:.0f}% of its {h['deficit_financial_year']} high needs block"
                 if not fmt.is_missing(h["deficit_pct_of_hnb"]) and value > 0 else "")
        word = "deficit" if value > 0 else "surplus" if value < 0 else "balance of nil"
        parts.append(f"Cumulative DSG {word} at the end of {h['deficit_financial_year']}: "
                     f"{fmt.money(abs(value))}{share} ({STATUS_WORDS.get(str(h['deficit_status']), 's251')}). The "
                     "table below shows the balance in each year in hand, with the status of each figure.")
    if not fmt.is_missing(h["dsg_balance_pct_of_dsg_income"]):
        parts.append(f"At the end of {h['dsg_balance_pct_financial_year']} the balance was "
                     f"{h['dsg_balance_pct_of_dsg_income']:+.1f}% of DSG income (positive = deficit).")
    money = [e for e in programme_entries(code) if e["programme"] == "safety_valve" and e["dfe_amount_gbp"]]
    if money and not fmt.is_missing(h["deficit_gbp"]) and float(h["deficit_gbp"]):
        amount = money[0]["dfe_amount_gbp"]
        parts.append(f"The Safety Valve agreement commits {fmt.money(amount)} of DfE money "
                     f"({amount / float(h['deficit_gbp']) * 100:.0f}% of the end-{h['deficit_financial_year']} "
                     "deficit, which is after payments received so far). Ask what the council must cut to meet its "
                     "side of the agreement, and whether payments have been withheld.")
    if not parts:
        parts.append("No DSG balance for this LA in the files in hand.")
    return " ".join(parts)


# ----------------------------------------------------------------------------------------- data quality


def flags_for(codes: list[str] | None = None) -> pd.DataFrame:
    """Return the data flags (derived flags table) of the given areas (all if None)."""
    table = load("flags")
    return table if codes is None else table[table["area_code"].isin(codes)].reset_index(drop=True)


def data_warnings(codes: list[str] | None = None) -> list[str]:
    """Return one sentence per data flag of the given areas: the message, and what the flag leaves out."""
    return [f"{r.message}. Left out: {r.excludes}." for r in flags_for(codes).itertuples()]


# ----------------------------------------------------------------------------------------- methods


def method_notes(kind: str) -> list[str]:
    """Return the methods and caveats for a report of kind england | region | la."""
    prices = report_prices()
    y = years_in_hand()
    notes = [
        "**Necessary funding** = base-year high needs block per EHC plan × (price index this year ÷ price index in "
        "the base year) × EHC plans this year. The **gap** is necessary minus actual; the **real per-plan index** "
        "is actual funding per plan as a percentage of the base-year rate in real terms. Full method: docs/method.md.",
        f"Plans are counted in the January before the financial year (January 2019 for 2019-20). DfE labels the "
        f"January count of {y['january_last']} '{int(y['january_last']) - 1}/{y['january_last'][2:]}'; the model "
        "pairs years with Januaries explicitly, never by that label.",
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
        "entry; " + coverage().rstrip(".") + ". Low-confidence entries are kept out of the comparison groups.",
        "DSG deficits for 2023-24 and high-needs spending are third parties' derivations of DfE's s251 outturn "
        "files, and are labelled so; DSG balances for 2019-20 to 2021-22 were derived by DfE's SEND-AP dashboard.",
        "No national data exists on NHS contributions to EHC plans or on transfers from the schools block.",
        "Every table has a **Download (CSV)** link to the rows behind it, from sendlib's derived tables "
        "(data/derived); docs/data.md says which table and column each figure comes from.",
    ]
    warning = modified_data_warning()
    if warning:
        notes.insert(0, warning)
    return notes


# ----------------------------------------------------------------------------------------- sources


def sources_table(tables: tuple[str, ...] = ("ehcp", "high_needs_block", "national_series", "deflators",
                                             "programmes", "dsg_balance", "high_needs_spend", "population")
                  ) -> ReportTable:
    """Return the inputs behind the report's tables, once each: publisher, title, release read, status, URL."""
    manifest = read_manifest()
    rows = []
    for table in tables:
        for item in manifest["tables"][table]["inputs"]:
            rows.append({"Publisher": item["publisher"], "Title": item["title"], "Release read": item["release"],
                         "Status": item["status"], "URL": item["url"]})
    frame = pd.DataFrame(rows).drop_duplicates(subset=["Title"]).reset_index(drop=True)
    return ReportTable([Column(c, frame[c].tolist()) for c in frame.columns], rows=frame, name="sources",
                       text_only=True)


def corrections_list() -> list[str]:
    """Return the corrections applied to the official files when the tables were built (from MANIFEST.json)."""
    manifest = read_manifest()
    return [c["reason"] for entry in manifest["tables"].values() for c in entry["corrections"]]
