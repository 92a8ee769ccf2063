"""The derive step: every number a report, the CLI or a notebook shows, computed once by the models from the
processed tables and written to data/derived/*.csv with data/derived/MANIFEST.json (each table's rows, sha256,
schema and inputs: the processed tables' sha256 and the sendlib version). `sendlib data build` runs it after the
processed tables; `sendlib data derive` runs it alone. Rebuilding twice is byte-identical.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sendlib import __version__, compare, effects, flags, funding, programmes
from sendlib.data import MANIFEST, clear_cache, load, read_manifest
from sendlib.geography import ENGLAND_CODE, unit_names
from sendlib.io import write_folder_atomic
from sendlib.paths import derived_dir, processed_dir
from sendlib.periods import fy_start
from sendlib.schemas import DERIVED, SCHEMAS, conform, validate

LEVELS = ("england", "region", "la")
#: the lenses each level is derived under (England's own base is its national rate: both are written)
LEVEL_LENSES = {"england": ("own", "national", "area"), "region": ("own", "national", "area"),
                "la": ("own", "national", "area")}


# ----------------------------------------------------------------------------------------- funding


def gap_table(prices: str) -> pd.DataFrame:
    """Return the funding model for England, every region and every LA under each lens (GBP; prices given)."""
    frames = [funding.gap(level, la_base=base, prices=prices) for level in LEVELS for base in LEVEL_LENSES[level]]
    return pd.concat(frames, ignore_index=True)


GAP_SUMMARY_COLUMNS = ["level", "area_code", "area_name", "lens", "base_year", "base_area_code", "base_rate_gbp",
                       "first_year", "latest_year", "latest_actual_gbp", "latest_necessary_gbp", "latest_gap_gbp",
                       "latest_gap_real_gbp", "latest_actual_per_plan_gbp", "latest_necessary_per_plan_gbp",
                       "latest_real_per_plan_index", "latest_ehc_plans", "cumulative_gap_gbp",
                       "cumulative_gap_real_gbp", "prices", "deflator"]


def gap_summary(gap: pd.DataFrame) -> pd.DataFrame:
    """Return per level, area and lens: the base, the latest year with necessary funding and the gap summed from
    the base year to it (GBP, cash and in the table's prices)."""
    usable = gap.dropna(subset=["necessary_gbp"]).sort_values("financial_year")
    keys = ["level", "area_code", "lens"]
    latest = usable.groupby(keys, sort=False).tail(1).set_index(keys)
    first = usable.groupby(keys, sort=False).head(1).set_index(keys)
    totals = funding.cumulative_gap(usable).set_index(keys)
    out = pd.DataFrame({
        "area_name": latest["area_name"], "base_year": latest["base_year"], "base_area_code": latest["base_area_code"],
        "base_rate_gbp": latest["base_rate_gbp"], "first_year": first["financial_year"],
        "latest_year": latest["financial_year"], "latest_actual_gbp": latest["actual_gbp"],
        "latest_necessary_gbp": latest["necessary_gbp"], "latest_gap_gbp": latest["gap_gbp"],
        "latest_gap_real_gbp": latest["gap_real_gbp"], "latest_actual_per_plan_gbp": latest["actual_per_plan_gbp"],
        "latest_necessary_per_plan_gbp": latest["necessary_per_plan_gbp"],
        "latest_real_per_plan_index": latest["real_per_plan_index"], "latest_ehc_plans": latest["ehc_plans"],
        "cumulative_gap_gbp": totals["cumulative_gap_gbp"], "cumulative_gap_real_gbp": totals["cumulative_gap_real_gbp"],
        "prices": latest["prices"], "deflator": latest["deflator"]}).reset_index()
    return _ordered(out, GAP_SUMMARY_COLUMNS, ["level", "area_code", "lens"])


# ----------------------------------------------------------------------------------------- LAs

LA_SUMMARY_COLUMNS = [
    "area_code", "area_name", "region_code", "region_name", "current", "last_january", "successor_codes",
    "group", "programme_group", "primary",
    "ehc_plans_latest", "ehc_plans_january", "ehc_plans_2015", "growth_since_2015_pct", "growth_to_january",
    "growth_basis", "ehc_plans_per_1000_aged_0_25", "per_1000_january", "england_ehc_plans_per_1000_aged_0_25",
    "hnb_gbp", "hnb_financial_year", "model_note",
    "deficit_gbp", "deficit_financial_year", "deficit_status", "deficit_pct_of_hnb",
    "dsg_balance_pct_of_dsg_income", "dsg_balance_pct_financial_year", "dsg_balance_pct_status"]


def la_summary(indicators: pd.DataFrame, plans_index: pd.DataFrame, groups: pd.DataFrame,
               gap: pd.DataFrame) -> pd.DataFrame:
    """Return one row per LA since 2015: latest EHC plans (count) and growth since January 2015 (%), plans per
    1,000 aged 0-25, the latest high needs block (GBP), the DSG balance (GBP, % of HNB, % of DSG income; + =
    deficit) and the comparison group; the funding model's figures are in gap_summary."""
    areas = load("areas")
    las = areas[areas["level"] == "la"].set_index("area_code")
    latest_january = int(las["last_year"].max())
    ehcp = load("ehcp")
    plans = ehcp[ehcp["level"] == "la"].dropna(subset=["ehc_plans"]).sort_values("january")
    last_plans = plans.groupby("area_code").tail(1).set_index("area_code")
    first_plans = plans[plans["january"] == compare.BASE_JANUARY].set_index("area_code")["ehc_plans"]
    index = plans_index.sort_values("january").groupby("area_code").tail(1).set_index("area_code")
    rate = indicators[indicators["indicator"] == "ehc_plans_per_1000_aged_0_25"].set_index("area_code")
    hnb = load("high_needs_block")
    hnb = hnb[hnb["level"] == "la"].assign(start=lambda f: f["financial_year"].map(fy_start)).sort_values("start")
    last_hnb = hnb.groupby("area_code").tail(1).set_index("area_code")
    modelled = set(gap.loc[(gap["level"] == "la") & (gap["lens"] == "own_base"), "area_code"])
    deficits = _deficits()
    members = groups.set_index("area_code")
    rows = []
    for code, la in las.iterrows():
        row: dict[str, object] = {
            "area_code": code, "area_name": la["area_name"], "region_code": la["region_code"],
            "region_name": la["region_name"], "current": int(la["last_year"]) == latest_january,
            "last_january": int(la["last_year"]), "successor_codes": la["successor_codes"]}
        row.update({k: members.loc[code, k] if code in members.index else None
                    for k in ("group", "programme_group", "primary")})
        if code in last_plans.index:
            row.update({"ehc_plans_latest": last_plans.loc[code, "ehc_plans"],
                        "ehc_plans_january": int(last_plans.loc[code, "january"]),
                        "ehc_plans_2015": first_plans.get(code)})
        if code in index.index:
            row.update({"growth_since_2015_pct": float(index.loc[code, "ehc_plans_index_2015"]) - 100,
                        "growth_to_january": int(index.loc[code, "january"]),
                        "growth_basis": index.loc[code, "basis"]})
        if code in rate.index:
            row.update({"ehc_plans_per_1000_aged_0_25": rate.loc[code, "value"],
                        "per_1000_january": int(rate.loc[code, "year"]),
                        "england_ehc_plans_per_1000_aged_0_25": rate.loc[ENGLAND_CODE, "value"]
                        if ENGLAND_CODE in rate.index else None})
        if code in last_hnb.index:
            row.update({"hnb_gbp": last_hnb.loc[code, "hnb_before_deductions_gbp"],
                        "hnb_financial_year": last_hnb.loc[code, "financial_year"]})
        if code not in modelled:
            row["model_note"] = "no_allocation" if code not in last_hnb.index else "not_counted_in_paired_january"
        row.update(deficits.get(code, {}))
        rows.append(row)
    return pd.DataFrame(rows, columns=LA_SUMMARY_COLUMNS)


def _deficits() -> dict[str, dict[str, object]]:
    """Return per LA the latest DSG balance in GBP (+ = deficit; year, status, % of that year's HNB) and the
    latest balance as % of DSG income (year, status)."""
    balance = load("dsg_balance").assign(start=lambda f: f["financial_year"].map(fy_start)).sort_values("start")
    hnb = load("high_needs_block").set_index(["area_code", "financial_year"])["hnb_before_deductions_gbp"]
    out: dict[str, dict[str, object]] = {}
    for row in balance.dropna(subset=["cumulative_deficit_gbp"]).groupby("area_code").tail(1).itertuples():
        block = hnb.get((row.area_code, row.financial_year))
        out.setdefault(row.area_code, {}).update({
            "deficit_gbp": row.cumulative_deficit_gbp, "deficit_financial_year": row.financial_year,
            "deficit_status": row.gbp_status,
            "deficit_pct_of_hnb": 100 * float(row.cumulative_deficit_gbp) / float(block) if block else None})
    for row in balance.dropna(subset=["cumulative_deficit_pct_of_income"]).groupby("area_code").tail(1).itertuples():
        out.setdefault(row.area_code, {}).update({
            "dsg_balance_pct_of_dsg_income": row.cumulative_deficit_pct_of_income,
            "dsg_balance_pct_financial_year": row.financial_year, "dsg_balance_pct_status": row.pct_status})
    return out


LA_COMPARISON_COLUMNS = ["area_code", "indicator", "year", "period", "unit", "value", "flag", "region_value",
                         "england_value", "group", "group_median", "group_n", "neighbours_median", "neighbours_n"]


def la_comparison(indicators: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Return per current LA and indicator, in the LA's latest year: its value (and the flag on it), its region's,
    England's, the median (and n) of the other LAs in its programme group and of its DfE statistical neighbours
    (indicator units); values a data flag marks are left out of the medians."""
    areas = load("areas").set_index("area_code")
    neighbours = load("statistical_neighbours").groupby("area_code")["neighbour_code"].apply(list).to_dict()
    members = groups.set_index("area_code")["group"]
    by_group = {g: list(codes) for g, codes in groups.groupby("group")["area_code"]}
    values = indicators[indicators["flag"].isna()].set_index(["indicator", "year", "area_code"])["value"]
    rows = []
    las = indicators[indicators["area_code"].isin(members.index)]
    latest = las.sort_values("year").groupby(["area_code", "indicator"]).tail(1)
    for r in latest.itertuples(index=False):
        region = areas.loc[r.area_code, "region_code"]
        group = members.get(r.area_code)

        def median(codes: list[str], r=r) -> tuple[float, int]:
            found = [values.get((r.indicator, r.year, c)) for c in codes if c != r.area_code]
            found = [v for v in found if v is not None and not math.isnan(v)]
            return (float(np.median(found)), len(found)) if found else (math.nan, 0)

        group_median, group_n = median(by_group.get(group, []))
        neighbour_median, neighbour_n = median(neighbours.get(r.area_code, []))
        rows.append({"area_code": r.area_code, "indicator": r.indicator, "year": r.year, "period": r.period,
                     "unit": r.unit, "value": r.value, "flag": r.flag,
                     "region_value": values.get((r.indicator, r.year, region)),
                     "england_value": values.get((r.indicator, r.year, ENGLAND_CODE)), "group": group,
                     "group_median": group_median, "group_n": group_n, "neighbours_median": neighbour_median,
                     "neighbours_n": neighbour_n})
    return _ordered(pd.DataFrame(rows, columns=LA_COMPARISON_COLUMNS), LA_COMPARISON_COLUMNS,
                    ["area_code", "indicator"])


# ----------------------------------------------------------------------------------------- comparisons


def group_summary(indicators: pd.DataFrame) -> pd.DataFrame:
    """Return the group medians, quartiles and n of every indicator and year, by programme and by cohort, with
    each group's display rank and (cohort grouping) the period at which each SV cohort's agreement is marked."""
    frames = []
    catalogue = {i.name: i for i in compare.indicator_list()}
    for grouping, order in (("programme", programmes.programme_group_order()), ("cohort", programmes.group_order())):
        summary = compare.group_summary(grouping, frame=indicators)
        summary["group_rank"] = summary["group"].map({g: r for r, g in enumerate(order)}).astype("Int64")
        cohort = summary["group"].str.extract(r"^SV (\d{4}-\d{2})$")[0]
        summary["entry_financial_year"] = cohort.astype("string")
        summary["entry"] = [isinstance(c, str) and y == compare.entry_mark_year(c, catalogue[i].year)
                            for c, y, i in zip(cohort, summary["year"], summary["indicator"], strict=True)]
        frames.append(summary)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------- event study

EVENT_STUDY_COLUMNS = ["outcome", "comparison", "sample", "event_time", "estimate", "se", "ci_low", "ci_high",
                       "n_treated"]
EVENT_TEST_COLUMNS = ["outcome", "comparison", "sample", "outcome_description", "unit", "timing", "n_units",
                      "n_treated_units", "n_observations", "first_january", "last_january", "pretrend_event_times",
                      "pretrend_f", "pretrend_df_num", "pretrend_df_denom", "pretrend_p", "excluded_observations"]
EVENT_UNIT_COLUMNS = ["outcome", "comparison", "sample", "role", "reason", "reason_description", "unit",
                      "unit_name", "cohort", "first_treated"]


def event_studies(inputs: effects.Inputs, samples: tuple[str, ...] = ("all",)) -> dict[str, pd.DataFrame]:
    """Return the event study of every outcome, comparison and sample: estimates, tests and units."""
    estimates, tests, units = [], [], []
    for outcome, about in effects.OUTCOMES.items():
        for comparison in effects.COMPARISONS:
            summary = None
            for sample in samples:
                if summary is None or about.timing == "stock":  # a flag marks counts: flows are the same sample
                    summary = effects.event_study_summary(outcome, comparison, inputs=inputs, sample=sample)
                key = {"outcome": outcome, "comparison": comparison, "sample": sample}
                estimates.append(summary.table.assign(**key))
                pre = summary.pretrend
                tests.append({**key, "outcome_description": about.description, "unit": about.unit,
                              "timing": about.timing, "n_units": summary.n_units,
                              "n_treated_units": int((summary.units["role"] == "treated").sum()),
                              "n_observations": summary.n_observations, "first_january": summary.first_january,
                              "last_january": summary.last_january,
                              "pretrend_event_times": ";".join(str(e) for e in pre.event_times) or None,
                              "pretrend_f": pre.statistic, "pretrend_df_num": pre.df_num,
                              "pretrend_df_denom": pre.df_denom, "pretrend_p": pre.p_value,
                              "excluded_observations": "; ".join(
                                  f"{inputs.names.get(u, u)} January {j}" for u, j in summary.excluded) or None})
                units.append(summary.units.assign(
                    **key, reason_description=summary.units["reason"].map(effects.DROP_REASONS)))
    return {"event_study": pd.concat(estimates, ignore_index=True)[EVENT_STUDY_COLUMNS],
            "event_study_tests": pd.DataFrame(tests, columns=EVENT_TEST_COLUMNS),
            "event_study_units": pd.concat(units, ignore_index=True)[EVENT_UNIT_COLUMNS]}


# ----------------------------------------------------------------------------------------- everything


def compute() -> dict[str, pd.DataFrame]:
    """Return every derived table (name -> frame), computed from the processed tables."""
    prices = funding.latest_prices()
    gap = gap_table(prices)
    names = {**load("areas").set_index("area_code")["area_name"].to_dict(), **unit_names()}
    population = load("population")
    population = population[(population["level"] == "la")]
    population = population[population["mid_year"] == population["mid_year"].max()]
    own_la = gap[(gap["level"] == "la") & (gap["lens"] == "own_base")]
    flag_table = flags.all_flags(load("ehcp"), own_la, population.set_index("area_code")["population_0_25"].astype(float),
                                 names)
    indicators = compare.indicators(("la", "region", "england"))
    indicators = indicators.assign(level=indicators["area_code"].map(_level_of()))
    indicators["flag"] = flags.indicator_flags(indicators, flag_table)
    unflagged = indicators[indicators["flag"].isna()]
    groups = programmes.groups()
    broken = flags.broken_counts(flag_table)
    index = compare.plans_index(("la",))
    index = index[[(c, int(j)) not in broken for c, j in zip(index["area_code"], index["january"], strict=True)]]
    breaks = pd.DataFrame(sorted(broken), columns=["area_code", "january"])
    inputs = effects.read_inputs(breaks)
    tables = {
        "gap": gap,
        "gap_summary": gap_summary(gap),
        "sensitivity": funding.sensitivity(),
        "projection": funding.projection("england"),
        "indicators": indicators,
        "indicator_catalogue": compare.indicator_catalogue(),
        "groups": groups,
        "programme_status": programmes.status_table(),
        "programme_overview": programmes.overview(),
        "programme_coverage": programmes.coverage(),
        "group_summary": group_summary(unflagged[unflagged["level"] == "la"]),
        "growth_before_after": compare.growth_before_after(broken=broken),
        "growth_before_after_summary": compare.growth_before_after_summary(broken=broken),
        "la_summary": la_summary(indicators, index, groups, gap),
        "la_comparison": la_comparison(indicators, groups),
        "flags": flag_table,
        **event_studies(inputs, samples=effects.SAMPLES),
    }
    return tables


def _level_of() -> dict[str, str]:
    """Return area_code -> level (la, region, england) from the registry."""
    return load("areas").set_index("area_code")["level"].to_dict()


def _ordered(frame: pd.DataFrame, columns: list[str], keys: list[str]) -> pd.DataFrame:
    """Return the frame with exactly `columns`, sorted by `keys`."""
    return frame[columns].sort_values(keys, kind="stable").reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return a table as UTF-8 CSV bytes: LF line ends, missing as empty, no index."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def derive_all(out: Path | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Compute every derived table, validate it against its schema and replace data/derived (all or nothing);
    return the derived MANIFEST."""
    import hashlib

    out = Path(out) if out is not None else derived_dir()
    processed = read_manifest(processed_dir())
    tables = compute()
    files: dict[str, bytes] = {}
    entries = {}
    for name in DERIVED:
        schema = SCHEMAS[name]
        if name not in tables:
            raise KeyError(f"derive step made no table {name!r}")
        frame = validate(conform(tables[name], schema), schema)
        files[f"{name}.csv"] = csv_bytes(frame)
        entries[name] = {"file": f"{name}.csv", "rows": int(len(frame)),
                         "sha256": hashlib.sha256(files[f"{name}.csv"]).hexdigest(), "row": schema.row,
                         "key": list(schema.key), "description": schema.description}
        if progress:
            progress(name)
    manifest = {"built_by": f"sendlib {__version__}",
                "inputs": {name: entry["sha256"] for name, entry in sorted(processed["tables"].items())},
                "tables": entries}
    files[MANIFEST] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_folder_atomic(out, files)
    clear_cache()
    return manifest
