"""ehcp.csv: EHC plans each January from 2015 with the flows of the calendar year before, per LA, region
and England, from the SEN2 releases (the latest release in hand for each period), and the suppressed or absent
values met on the way (for suppressions.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sendlib.build.common import Built, as_int, check_sums, path_of, require
from sendlib.build.sen2 import ROW_ABSENT, Combined, combine, revisions, shared_counts
from sendlib.errors import InputFileError
from sendlib.readers.ees import SUPPRESSION_SYMBOLS
from sendlib.sources import SOURCES, source

FIRST_JANUARY = 2015
YORKSHIRE = "E12000003"
#: England's EHC plans as DfE published them: the build stops if a January reads otherwise.
PUBLISHED_ENGLAND_PLANS = {2015: 240_183, 2025: 638_745, 2026: 718_838}
#: The flow datasets, in the order their columns appear, and how a sentence names each.
FLOW_DATASETS = {"newplans": "new plans", "ceased": "ceased plans", "requests": "requests",
                 "timeliness": "20-week timeliness"}
PLACEMENTS = ["placement_mainstream", "placement_state_special", "placement_independent_special", "placement_post16"]

COUNT_COLUMNS = [
    "ehc_plans", "new_plans", "ceased_plans", "requests", "requests_refused", "requests_agreed_to_assess",
    "plans_issued", "plans_issued_within_20_weeks", "plans_issued_excl_exceptions",
    "plans_issued_within_20_weeks_excl_exceptions", "placement_mainstream", "placement_state_special",
    "placement_independent_special", "placement_post16", "placement_other",
]
CASELOAD_COLUMNS = ["ehc_plans", *PLACEMENTS, "placement_other"]
COLUMNS = ["area_code", "level", "january", "ehc_plans", "flows_calendar_year", "new_plans", "ceased_plans",
           "requests", "requests_refused", "requests_agreed_to_assess", "plans_issued",
           "plans_issued_within_20_weeks", "within_20_weeks_incl_exceptions_pct", "plans_issued_excl_exceptions",
           "plans_issued_within_20_weeks_excl_exceptions", "within_20_weeks_pct", "placement_mainstream",
           "placement_state_special", "placement_independent_special", "placement_post16", "placement_other",
           "caseload_source", "flows_source"]
SUPPRESSION_COLUMNS = ["table", "area_code", "level", "period", "period_label", "column", "symbol", "meaning",
                       "source", "source_column", "release"]


def sen2_presence(raw: Path) -> pd.DataFrame:
    """Return one row per LA and January counted in the SEN2 caseload files (which LAs existed when).

    A row counts even when every value in it is suppressed (the Isle of Wight in January 2026).
    """
    caseload = combine(raw, "caseload")
    frames = [rows.rows.loc[rows.rows["level"] == "la",
                            ["old_la_code", "new_la_code", "la_name", "region_code", "region_name", "period"]]
              for _, rows in caseload.read]
    presence = pd.concat(frames).rename(columns={"period": "january"})
    # releases are read oldest first: keep the latest release's names and codes for the Januaries two cover
    return presence.drop_duplicates(["old_la_code", "january"], keep="last").reset_index(drop=True)


def caseload_inputs(raw: Path) -> list[str]:
    """Return the names of the caseload files in hand (what areas.csv is built from), in registry order."""
    return _inputs(raw, [combine(raw, "caseload")])


def _inputs(raw: Path, combined: list[Combined]) -> list[str]:
    """Return the registered files in hand of the releases that give at least one period, in registry order.

    A release wholly superseded by a later one for every period it covers is read (its revisions are stated in
    the checks) but is not an input of the table.
    """
    names = {name for c in combined for spec in c.chosen.values() for name in spec.files if source(name).find(raw)}
    return [name for name in SOURCES if name in names]


def _flow_revisions(flows: dict[str, Combined]) -> list[str]:
    """Return a sentence per flow dataset a later release revises (its first column), naming the count changed."""
    checks = []
    for combined in flows.values():
        changed = revisions(combined, combined.columns[0])
        for early, late, shared in shared_counts(combined):
            pair = changed[(changed["earlier"] == early.release) & (changed["later"] == late.release)]
            if shared:
                checks.append(f"{late.release} revises {combined.columns[0]} in {len(pair)} of the {shared} "
                              f"area-years it shares with the {early.release}; the later release is used")
    return checks


def _caseload_checks(caseload: Combined, table: str) -> list[str]:
    """Check releases that count different things agree where they overlap; state what later releases revise."""
    checks = []
    changed = revisions(caseload, "ehc_plans")
    for early, late, shared in shared_counts(caseload):
        pair = changed[(changed["earlier"] == early.release) & (changed["later"] == late.release)]
        if early.measure != late.measure:
            require(pair.empty, table, f"the {early.release} and {late.release} disagree on EHC plans for "
                    + ", ".join(f"{r.area_code} January {r.period}" for r in pair.head(3).itertuples()))
            checks.append(f"{early.release} ({early.measure}) and {late.release} ({late.measure}) agree exactly "
                          f"on {shared} area-Januaries they share; the later release is used for them")
        elif shared:
            examples = ", ".join(f"{r.area_code} January {r.period}: {r.earlier_value:,.0f} -> {r.later_value:,.0f}"
                                 for r in pair.head(3).itertuples())
            checks.append(f"{late.release} revises EHC plans in {len(pair)} of the {shared} area-Januaries it shares "
                          f"with the {early.release}" + (f" ({examples}); the later release is used" if len(pair)
                                                         else "; the later release is used"))
    return checks


def _caseload_table(caseload: Combined) -> pd.DataFrame:
    """Return area_code, level, january, the caseload columns and caseload_source ('<release> (<measure>)')."""
    rows = caseload.rows
    source_of = {period: f"{spec.release} ({spec.measure})" for period, spec in caseload.chosen.items()}
    frame = pd.DataFrame({"area_code": rows["area_code"], "level": rows["level"], "january": rows["period"],
                          **{c: rows[c] for c in ["ehc_plans", *PLACEMENTS]},
                          "caseload_source": rows["period"].map(source_of)})
    placed = frame[PLACEMENTS].sum(axis=1, min_count=len(PLACEMENTS))
    frame["placement_other"] = frame["ehc_plans"] - placed
    return frame


def _flows_table(flows: dict[str, Combined]) -> pd.DataFrame:
    """Return area_code, level, january, flows_calendar_year, the flow columns and flows_source, one row per area-year.

    flows_source names the release of the row, or each release with its datasets where they differ.
    """
    keys = ["area_code", "level", "period"]
    merged = None
    for name, combined in flows.items():
        part = combined.rows[keys + combined.columns + ["release"]].rename(columns={"release": f"{name}_release"})
        merged = part if merged is None else merged.merge(part, on=keys, how="outer")
    release_columns = [f"{name}_release" for name in flows]

    def named(row: pd.Series) -> str:
        by_release: dict[str, list[str]] = {}
        for name in flows:
            release = row[f"{name}_release"]
            if isinstance(release, str):
                by_release.setdefault(release, []).append(FLOW_DATASETS[name])
        if len(by_release) == 1:
            return next(iter(by_release))
        return "; ".join(f"{release} ({', '.join(names)})" for release, names in by_release.items())

    merged["flows_source"] = merged[release_columns].apply(named, axis=1) if len(merged) else pd.Series(dtype=object)
    merged["january"] = merged["period"] + 1
    return merged.drop(columns=release_columns).rename(columns={"period": "flows_calendar_year"})


def _suppressions(frame: pd.DataFrame, caseload: Combined, flows: dict[str, Combined]) -> pd.DataFrame:
    """Return one row per value of ehcp.csv that an input suppressed (its symbol) or left out (no row for the area)."""
    in_table = frame[["area_code", "january"]]
    found = []
    symbols = caseload.symbols.rename(columns={"period": "january"})
    symbols["period_label"] = "January " + symbols["january"].astype(str)
    found.append(symbols)
    # placement_other is ehc_plans minus the four placement groups: missing wherever one of them is suppressed
    by_key = symbols.set_index(["area_code", "january", "column"])
    for row in frame[frame["placement_other"].isna()].itertuples():
        for column in ["ehc_plans", *PLACEMENTS]:
            if (row.area_code, row.january, column) in by_key.index:
                held = by_key.loc[(row.area_code, row.january, column)]
                found.append(pd.DataFrame([{**held.to_dict(), "area_code": row.area_code, "january": row.january,
                                            "column": "placement_other", "period_label": f"January {row.january}"}]))
                break
    for combined in flows.values():
        flow = combined.symbols.rename(columns={"period": "flows_calendar_year"})
        flow["january"] = flow["flows_calendar_year"] + 1
        flow["period_label"] = "calendar year " + flow["flows_calendar_year"].astype(str)
        found.append(flow.drop(columns="flows_calendar_year"))
        found.append(_rows_absent(frame, combined))
    out = pd.concat(found, ignore_index=True).merge(in_table, on=["area_code", "january"])
    out["table"] = "ehcp"
    out["period"] = out["january"].astype(str)
    out["meaning"] = out["symbol"].map(_meaning)
    return out[SUPPRESSION_COLUMNS]


def _meaning(symbol: str) -> str:
    """Return what a suppression symbol (or 'row absent') means, in words."""
    if symbol == ROW_ABSENT:
        return "the file has no row for this area in this period"
    first = symbol.split("/")[0]
    return SUPPRESSION_SYMBOLS.get("" if first == "(blank)" else first.lower(), "not available")


def _rows_absent(frame: pd.DataFrame, combined: Combined) -> pd.DataFrame:
    """Return a 'row absent' entry per column for each area counted in a January whose flows file has no row for it."""
    rows = []
    present = set(zip(combined.rows["area_code"], combined.rows["period"], strict=True))
    for period, spec in combined.chosen.items():
        counted = frame.loc[frame["january"] == period + 1, ["area_code", "level"]]
        for area in counted.itertuples():
            if (area.area_code, period) in present:
                continue
            for column in spec.columns:
                rows.append({"area_code": area.area_code, "level": area.level, "january": period + 1,
                             "column": column, "symbol": ROW_ABSENT, "source_column": None,
                             "source": "+".join(spec.files), "release": spec.release,
                             "period_label": f"calendar year {period}"})
    return pd.DataFrame(rows, columns=["area_code", "level", "january", "column", "symbol", "source_column",
                                       "source", "release", "period_label"])


def _annual_reviews_check(raw: Path, frame: pd.DataFrame, table: str) -> tuple[list[str], list[str]]:
    """Check the annual-reviews file's total_ehc_plans equals the January caseload after its calendar year.

    England and regions must agree (the build stops otherwise); LA rows, where a full file holds them, are
    compared and the differences stated. Returns (checks, inputs read).
    """
    reviews = combine(raw, "annual_reviews")
    plans = frame.set_index(["area_code", "january"])["ehc_plans"]
    checks = []
    for period, spec in reviews.chosen.items():
        rows = reviews.rows[reviews.rows["period"] == period]
        compared, differ = 0, []
        for row in rows.itertuples():
            counted = plans.get((row.area_code, period + 1))
            if counted is None or pd.isna(counted) or pd.isna(row.total_ehc_plans):
                continue
            compared += 1
            if abs(counted - row.total_ehc_plans) > 0.5:
                require(row.level == "la", table, f"{spec.release} annual reviews {period}: total_ehc_plans of "
                                                  f"{row.area_code} is {row.total_ehc_plans:,.0f} but the January "
                                                  f"{period + 1} caseload is {counted:,.0f}")
                differ.append(f"{row.area_code} ({row.total_ehc_plans:,.0f} vs {counted:,.0f})")
        levels = ", ".join(sorted(set(rows["level"]), key=["england", "region", "la"].index))
        checks.append(f"{spec.release}: total_ehc_plans of the calendar-{period} annual reviews equals the January "
                      f"{period + 1} caseload in {compared - len(differ)} of {compared} rows ({levels})"
                      + (f"; LAs that differ: {', '.join(differ)}" if differ else ""))
    return checks, _inputs(raw, [reviews])


def build_ehcp(raw: Path, areas: pd.DataFrame) -> Built:
    """Return ehcp.csv: January caseloads from 2015, placements, and the previous calendar year's flows."""
    table = "ehcp"
    corrections = []
    caseload = combine(raw, "caseload")
    checks = _caseload_checks(caseload, table)
    cases = _caseload_table(caseload)
    require(not (cases["placement_other"] < 0).any(), table,
            "placements add up to more than the EHC plans for "
            + str(cases.loc[cases["placement_other"] < 0, ["area_code", "january"]].head(2).to_dict("records")))

    flow_sets = {name: combine(raw, name) for name in FLOW_DATASETS}
    newplans = flow_sets["newplans"]
    mi = next(rows.rows for spec, rows in newplans.read if "sen2_mi_2023" in spec.files)
    newplans.rows, correction = _correct_yorkshire_new_plans(newplans.rows, mi, raw)
    if correction:
        corrections.append(correction)
    flows = _flows_table(flow_sets)
    checks += _flow_revisions(flow_sets)

    frame = cases[cases["january"] >= FIRST_JANUARY].merge(
        flows, on=["area_code", "level", "january"], how="left")
    england = frame[frame["level"] == "england"].set_index("january")["ehc_plans"]
    for january, expected in PUBLISHED_ENGLAND_PLANS.items():
        require(england.get(january) == expected, table,
                f"England EHC plans in January {january} are {england.get(january)}, expected {expected:,}")
    checks.append("England EHC plans: " + ", ".join(f"{v:,} in January {j}" for j, v in
                                                    PUBLISHED_ENGLAND_PLANS.items()) + ", as published")
    orphans = flows.merge(cases[["area_code", "january"]], on=["area_code", "january"], how="left", indicator=True)
    orphans = orphans[(orphans["_merge"] == "left_only") & (orphans["january"] >= FIRST_JANUARY)
                      & (orphans["january"] <= cases["january"].max())]
    require(orphans.empty, table, "flows for an area with no January count: "
            + str(orphans[["area_code", "flows_calendar_year"]].head(3).to_dict("records")))
    frame["flows_calendar_year"] = frame["january"] - 1
    frame["flows_source"] = frame["flows_source"].fillna("")

    unknown = sorted(set(frame.loc[frame["level"] == "la", "area_code"]) - set(areas["area_code"]))
    require(not unknown, table, f"LA codes not in areas.csv: {unknown}")
    for column in COUNT_COLUMNS:
        frame[column] = as_int(frame[column])
    frame = frame[COLUMNS].sort_values(["level", "area_code", "january"], key=_level_order).reset_index(drop=True)

    suppressed = _suppressions(frame, caseload, flow_sets)
    exceptions = {}
    if correction:
        exceptions[("new_plans", YORKSHIRE, correction["january"])] = correction["reason"]
    missing = {(r.area_code, r.column, int(r.period)): ("has no row" if r.symbol == ROW_ABSENT else
                                                        f"suppressed ({r.symbol})") for r in suppressed.itertuples()}
    checks += check_sums(frame, table, "january", COUNT_COLUMNS, areas, exceptions, missing,
                         lambda column, january: (f"January {january}" if column in CASELOAD_COLUMNS
                                                  else f"calendar year {january - 1}"))
    review_checks, review_inputs = _annual_reviews_check(raw, frame, table)
    checks += review_checks
    inputs = _inputs(raw, [caseload, *flow_sets.values()]) + review_inputs
    return Built(table, frame, [name for name in SOURCES if name in inputs], corrections, checks,
                 _notes(frame, caseload, flow_sets, suppressed), suppressed=suppressed)


def _years(frame: pd.DataFrame, column: str) -> str:
    """Return 'first-last' of the flows calendar years with a value of `column` (or 'none')."""
    years = frame.dropna(subset=[column])["flows_calendar_year"]
    return f"{years.min()}-{years.max()}" if len(years) else "none"


def _notes(frame: pd.DataFrame, caseload: Combined, flows: dict[str, Combined], suppressed: pd.DataFrame) -> list[str]:
    """Return the table notes: definitions, which release each period comes from, and what is not in hand."""
    def spans(combined: Combined) -> str:
        by_release: dict[str, list[int]] = {}
        for period, spec in combined.chosen.items():
            by_release.setdefault(spec.release, []).append(period)
        return "; ".join(f"{release} {min(p)}-{max(p)}" for release, p in by_release.items())

    ceased = _years(frame, "ceased_plans")
    return [
        "january = the January of the count; flows (new plans, ceased plans, requests, refusals, 20-week "
        "timeliness) are for flows_calendar_year = january - 1, as reported in that January's SEN2 collection",
        "The latest release in hand wins for any period two releases cover; caseload_source and flows_source name "
        f"the release of each row. Caseload (Januaries): {spans(caseload)}. "
        + ". ".join(f"{FLOW_DATASETS[n].capitalize()} (calendar years): {spans(c)}" for n, c in flows.items()),
        "placement_other = ehc_plans minus the four named placement groups (AP/PRU, home education, "
        "NEET, other arrangements, awaiting provision, unknown)",
        "requests_refused = requests where the LA decided not to assess",
        "within_20_weeks_pct = % of EHC plans issued within 20 weeks EXCLUDING exceptions (DfE's headline); "
        "within_20_weeks_incl_exceptions_pct includes them. plans_issued and plans_issued_within_20_weeks include "
        "exceptions; the *_excl_exceptions columns exclude them. Calendar years 2014-2018 come from the 2023 "
        "management-information file, which gives both (tot_inc_exc_ehc, inc_exc_20week_ehc, inc_exc_20week_rate; "
        "tot_no_exc_ehc, no_exc_20week_ehc, no_exc_20week_rate)",
        "plans_issued is DfE's timeliness denominator (plans issued in the year, for which timing is recorded); "
        "it is not the new_plans count",
        f"ceased_plans = EHC plans that ceased in flows_calendar_year (total_ceased), in hand for {ceased}; "
        "earlier years are not: the 2023 management-information file gives no total (discontinued_total is 'z' "
        "for 2014-2021; it splits EHC plans discontinued into four reasons only)"
        + ("" if "SEN2 2026 release" in {s.release for s in flows["ceased"].chosen.values()} else
           "; the 2026 release's ceased plans (calendar 2025) are not in the reference folder: "
           "`sendlib data download --only sen2_2026_ceased` fetches them"),
        f"Suppressed or absent values stay missing (never 0, never filled from a region total): "
        f"{len(suppressed)} values, listed with their symbol and source in suppressions.csv; region and England "
        "rows keep the published totals, and the checks state each total that exceeds the sum of its LAs",
    ]


def _correct_yorkshire_new_plans(newplans: pd.DataFrame, mi: pd.DataFrame, raw: Path) -> tuple[pd.DataFrame, dict | None]:
    """Replace Yorkshire and the Humber LA new plans that repeat the regional total with the MI file's values.

    The 2025 release gives every Yorkshire and the Humber LA the regional total (6,078) as its 2022 new plans.
    The defect is detected, not assumed: a year is corrected only if every LA in the region repeats the total.
    Both frames have area_code, level, period and new_plans; `newplans` also region_code (and release).
    """
    la = newplans[newplans["level"] == "la"]
    region = newplans[(newplans["level"] == "region") & (newplans["area_code"] == YORKSHIRE)].set_index("period")
    yorkshire = la[la["region_code"] == YORKSHIRE]
    for year, group in yorkshire.groupby("period"):
        total = region.loc[year, "new_plans"] if year in region.index else np.nan
        if len(group) > 1 and (group["new_plans"] == total).all():
            replacement = mi[(mi["period"] == year) & (mi["level"] == "la")].set_index("area_code")["new_plans"]
            missing = sorted(set(group["area_code"]) - set(replacement.dropna().index))
            if missing:
                raise InputFileError(path_of(raw, "sen2_mi_2023"),
                                     f"no {year} new plans for Yorkshire and the Humber LAs {missing}",
                                     "new_all_ehc for every LA in the region")
            fixed = newplans.copy()
            rows = fixed["area_code"].isin(group["area_code"]) & (fixed["period"] == year)
            fixed.loc[rows, "new_plans"] = fixed.loc[rows, "area_code"].map(replacement)
            values = {c: int(v) for c, v in replacement[group["area_code"]].sort_index().items()}
            release = group["release"].iloc[0] if "release" in group.columns else "The SEN2 release"
            reason = (f"{release} gives every Yorkshire and the Humber LA the regional total "
                      f"{int(total):,} as its {year} new EHC plans; replaced with new_all_ehc from the 2023 "
                      f"management-information file (LA sum {sum(values.values()):,}; the region row keeps "
                      f"the published {int(total):,})")
            return fixed, {"table": "ehcp", "column": "new_plans", "region": "Yorkshire and The Humber",
                           "calendar_year": int(year), "january": int(year) + 1, "source": "sen2_mi_2023",
                           "reason": reason, "published_value": int(total), "replacement_values": values}
    return newplans, None


def _level_order(column: pd.Series) -> pd.Series:
    """Sort key: England first, then regions, then LAs."""
    if column.name == "level":
        return column.map({"england": 0, "region": 1, "la": 2})
    return column
