"""high_needs_spend.csv, population.csv, context.csv and statistical_neighbours.csv: denominators and context."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sendlib.build.common import Built, as_int, path_of, require
from sendlib.errors import InputFileError
from sendlib.geography import ENGLAND_CODE, normalise_name, ons_to_area_code, split_list
from sendlib.periods import existed_in_financial_year
from sendlib.readers.dsg_ods import read_workbook
from sendlib.readers.ees import read_columns
from sendlib.readers.text import read_csv_rows
from sendlib.sources import STATUS_DERIVED_THIRD_PARTY, STATUS_OFFICIAL, source

LAIT_ENGLAND = "970"
LAIT_REGION_NUMBERS = {str(n) for n in range(980, 991)}
LAIT_SUBREGIONS = {"987", "988"}  # Inner and Outer London: not regions in areas.csv
AGES_MID_YEAR = 2023  # the single-year-of-age file in hand is mid-2023 (MYE2)
LAIT_UNITS = {
    "SEN_CASES_JAN": "count", "PrimStatements": "% of pupils", "SecStatements": "% of pupils",
    "SEN_TotStat": "% of pupils", "SEN_TotSENSuP": "% of pupils", "ChildPov": "% of children",
    "PriFSM": "% of pupils", "SecFSM": "% of pupils", "EALPri": "% of pupils", "EALSec": "% of pupils",
    "Premium": "count", "SENFinance": "GBP per week per child with a plan",
}


def _add_region_and_england(frame: pd.DataFrame, areas: pd.DataFrame, period: str, values: list[str],
                            complete_only: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Return the LA rows plus region and England rows summed from them (only where every LA has a value)."""
    spans = areas.set_index("area_code")
    region_of = spans["region_code"]
    out, notes = [frame], []
    for when, group in frame.groupby(period):
        la_codes = areas[(areas["level"] == "la")]
        alive = [c for c in la_codes["area_code"] if _alive(spans.loc[c], when, period)]
        sums = {}
        for region, members in pd.Series(alive).groupby(pd.Series(alive).map(region_of)):
            have = group.set_index("area_code").reindex(members.tolist())
            complete = have[values].notna().all(axis=None)
            if complete or not complete_only:
                sums[region] = have[values].sum()
            else:
                lacking = sorted(set(members) - set(have.dropna(subset=values).index))
                notes.append(f"{when}: no region total for {region} (missing LAs {lacking})")
        if sums:
            regions = pd.DataFrame(sums).T.reset_index(names="area_code")
            regions["level"], regions[period] = "region", when
            out.append(regions)
            if len(sums) == 9:
                england = regions[values].sum().to_frame().T
                england["area_code"], england["level"], england[period] = ENGLAND_CODE, "england", when
                out.append(england)
            else:
                notes.append(f"{when}: no England total (a region is incomplete)")
    return pd.concat(out, ignore_index=True), notes


def _alive(span: pd.Series, when: object, period: str) -> bool:
    """Return True if an LA existed in a financial year or at a mid-year date."""
    if period == "financial_year":
        return existed_in_financial_year(int(span["first_year"]), int(span["last_year"]), str(when))
    return int(span["first_year"]) <= int(when) + 1 <= int(span["last_year"]) + 1


def build_high_needs_spend(raw: Path, areas: pd.DataFrame) -> Built:
    """Return high_needs_spend.csv: s251 outturn net high-needs spend (lines 1.2.x) per LA, GBP."""
    table = "high_needs_spend"
    path = path_of(raw, "s251_high_needs_net")
    frame = read_columns(path, ["fy", "new_la_code", "la_name", "hn_1_2_x_net"], numeric=["hn_1_2_x_net"],
                         key=["fy", "new_la_code"])
    mapping = ons_to_area_code(areas)
    frame["area_code"] = frame["new_la_code"].map(mapping)
    unknown = frame[frame["area_code"].isna()]
    if not unknown.empty:
        raise InputFileError(path, f"ONS code {unknown['new_la_code'].iloc[0]!r} ({unknown['la_name'].iloc[0]}) "
                                   "is not in areas.csv", "ONS codes of English upper-tier LAs")
    la = pd.DataFrame({"area_code": frame["area_code"], "level": "la", "financial_year": frame["fy"],
                       "hn_net_spend_gbp": frame["hn_1_2_x_net"]})
    dup = la[la.duplicated(["area_code", "financial_year"], keep=False)]
    require(dup.empty, table, f"two rows for one LA and year: {dup.head(2).to_dict('records')}")
    full, notes = _add_region_and_england(la, areas, "financial_year", ["hn_net_spend_gbp"])
    full["hn_net_spend_gbp"] = as_int(full["hn_net_spend_gbp"].astype(float))
    full["status"] = STATUS_DERIVED_THIRD_PARTY
    full["source"] = source("s251_high_needs_net").title
    full = full.sort_values(["financial_year", "level", "area_code"],
                            key=lambda c: c.map({"england": 0, "region": 1, "la": 2}) if c.name == "level" else c)
    return Built(table, full[["area_code", "level", "financial_year", "hn_net_spend_gbp", "status", "source"]]
                 .reset_index(drop=True), ["s251_high_needs_net"], [],
                 [f"{len(la)} LA-years from {la['financial_year'].min()} to {la['financial_year'].max()}"],
                 ["Net expenditure on s251 lines 1.2.x (top-ups, SEN support, hospital, AP, therapies...); excludes "
                  "1.0.2 high-needs place funding. A third party's derivation of the official s251 file: "
                  "status derived-third-party",
                  "Region and England rows are sums of LAs, given only where every LA has a value"] + notes)


def build_population(raw: Path, areas: pd.DataFrame) -> Built:
    """Return population.csv: ONS mid-year population, all ages 2011-2023 and ages 0-25 and 2-18 (mid-2023)."""
    ages_path = path_of(raw, "ons_mye2023_single_age")
    ages = read_columns(ages_path, ["area_code", "area_name", "all_ages", "pop_0_25", "pop_2_18"],
                        counts=["all_ages", "pop_0_25", "pop_2_18"], key=["area_code"])
    totals_path = path_of(raw, "ons_mye4_totals")
    names, _ = read_csv_rows(totals_path)
    year_columns = [c for c in names if re.fullmatch(r"mid_\d{4}", c)]
    if not year_columns:
        raise InputFileError(totals_path, f"no mid_YYYY columns in {names}", "columns mid_2011 .. mid_2023")
    totals = read_columns(totals_path, ["area_code", "area_name"] + year_columns, counts=year_columns, key=["area_code"])
    mapping = ons_to_area_code(areas)
    for frame, path in [(ages, ages_path), (totals, totals_path)]:
        frame["code"] = frame["area_code"].map(mapping)
        unknown = frame[frame["code"].isna()]
        if not unknown.empty:
            raise InputFileError(path, f"ONS code {unknown['area_code'].iloc[0]!r} is not in areas.csv",
                                 "ONS codes of English upper-tier LAs and England")
    long = totals.melt(id_vars=["code"], value_vars=year_columns, var_name="mid", value_name="population_all_ages")
    long["mid_year"] = long["mid"].str[4:].astype(int)
    merged = long.merge(ages[["code", "pop_0_25", "pop_2_18", "all_ages"]].assign(mid_year=AGES_MID_YEAR),
                        on=["code", "mid_year"], how="left")
    both = merged.dropna(subset=["all_ages"])
    require((both["all_ages"] == both["population_all_ages"]).all(), "population",
            "MYE2 and MYE4 disagree on the mid-2023 all-ages population")
    la = merged[merged["code"] != ENGLAND_CODE]
    la = pd.DataFrame({"area_code": la["code"], "level": "la", "mid_year": la["mid_year"],
                       "population_all_ages": la["population_all_ages"], "population_0_25": la["pop_0_25"],
                       "population_2_18": la["pop_2_18"]})
    regions = la.merge(areas[["area_code", "region_code"]], on="area_code")
    regions = regions.groupby(["region_code", "mid_year"], as_index=False)[
        ["population_all_ages", "population_0_25", "population_2_18"]].sum(min_count=1)
    regions = regions.rename(columns={"region_code": "area_code"}).assign(level="region")
    england = merged[merged["code"] == ENGLAND_CODE]
    england = pd.DataFrame({"area_code": ENGLAND_CODE, "level": "england", "mid_year": england["mid_year"],
                            "population_all_ages": england["population_all_ages"],
                            "population_0_25": england["pop_0_25"], "population_2_18": england["pop_2_18"]})
    check = regions.groupby("mid_year")["population_all_ages"].sum()
    published = england.set_index("mid_year")["population_all_ages"]
    require((check - published).abs().max() == 0, "population", "LA populations do not sum to England's")
    # the single-year-of-age file has no England row: England's age bands are the sums of its LAs (all present)
    for column in ["population_0_25", "population_2_18"]:
        by_year = la.groupby("mid_year")[column].agg(lambda v: v.sum() if v.notna().all() else float("nan"))
        england[column] = england[column].fillna(england["mid_year"].map(by_year))
    out = pd.concat([england, regions, la], ignore_index=True)
    for column in ["population_all_ages", "population_0_25", "population_2_18"]:
        out[column] = as_int(out[column])
    out["source"] = "ONS mid-year population estimates (MYE2 mid-2023 by age; MYE4 totals mid-2011 to mid-2023)"
    out = out.sort_values(["mid_year", "level", "area_code"],
                          key=lambda c: c.map({"england": 0, "region": 1, "la": 2}) if c.name == "level" else c)
    return Built("population", out.reset_index(drop=True), ["ons_mye2023_single_age", "ons_mye4_totals"], [],
                 ["LA populations sum exactly to England's in every year"],
                 ["All figures on April 2023 boundaries (so Cumberland and Westmorland and Furness have figures "
                  "before they existed, and Cumbria, Northamptonshire, Dorset county, Bournemouth and Poole have none)",
                  "Ages 0-25 and 2-18 are available for mid-2023 only; England's are the sums of its LAs",
                  "Region rows are the sums of their LAs"])


def build_context(raw: Path, areas: pd.DataFrame) -> Built:
    """Return context.csv: LAIT indicators (pupils with EHC plans or SEN support, FSM, EAL, child poverty...)."""
    path = path_of(raw, "lait_indicators")
    frame = read_columns(path, ["measure_short", "years", "la_or_region", "value", "la_number"], numeric=["value"])
    regions = {normalise_name(n): c for r in areas[areas["level"] == "region"].itertuples()
               for c, n in [(r.area_code, r.area_name)] + [(r.area_code, a) for a in split_list(r.aliases)]}
    is_region = frame["la_number"].isin(LAIT_REGION_NUMBERS)
    frame = frame[~frame["la_number"].isin(LAIT_SUBREGIONS)].copy()
    is_region = frame["la_number"].isin(LAIT_REGION_NUMBERS)
    codes = frame["la_number"].where(frame["la_number"] != LAIT_ENGLAND, ENGLAND_CODE)
    codes = codes.where(~is_region, frame["la_or_region"].map(lambda n: regions.get(normalise_name(n))))
    unknown = sorted(set(codes.dropna()) - set(areas["area_code"])) + sorted(set(frame.loc[codes.isna(), "la_or_region"]))
    if unknown:
        raise InputFileError(path, f"la_number(s) or region name(s) {unknown[:5]} not in areas.csv",
                             "3-digit LA codes, 970 (England) or 980-990 (regions)")
    dictionary = read_columns(path_of(raw, "lait_dictionary"), ["Measure_short", "Measure"])
    described = dictionary.drop_duplicates("Measure_short").set_index("Measure_short")["Measure"]
    units = frame["measure_short"].map(LAIT_UNITS)
    if units.isna().any():
        raise InputFileError(path, f"indicator {frame.loc[units.isna(), 'measure_short'].iloc[0]!r} has no unit",
                             f"one of {sorted(LAIT_UNITS)}")
    levels = ["england" if c == ENGLAND_CODE else "region" if c.startswith("E12") else "la" for c in codes]
    out = pd.DataFrame({"area_code": codes, "level": levels,
                        "indicator": frame["measure_short"], "period": frame["years"], "value": frame["value"],
                        "unit": units, "description": frame["measure_short"].map(described).fillna("")})
    dup = out[out.duplicated(["area_code", "indicator", "period"], keep=False)]
    require(dup.empty, "context", f"area, indicator and period repeat: {dup.head(2).to_dict('records')}")
    out = out.sort_values(["indicator", "period", "area_code"]).reset_index(drop=True)
    out["status"] = STATUS_OFFICIAL
    return Built("context", out, ["lait_indicators", "lait_dictionary"], [],
                 [f"{out['indicator'].nunique()} indicators, {out['area_code'].nunique()} areas"],
                 ["Inner and Outer London rows (LAIT 987, 988) are left out: they are not regions",
                  "period is LAIT's label: 'YYYY' = January census; 'YYYY-YY' = financial year; '(OT)' = s251 outturn",
                  "'-' in LAIT (not available) is missing here"])


def build_statistical_neighbours(raw: Path, areas: pd.DataFrame) -> Built:
    """Return statistical_neighbours.csv: each LA's ten DfE statistical neighbours, ranked, with closeness."""
    path = path_of(raw, "statistical_neighbours")
    sheets = read_workbook(path)
    cells = next(iter(sheets.values()))
    header_row = next((i for i in range(min(20, len(cells)))
                       if "SN1" in [str(v).strip() for v in cells.iloc[i].tolist()]), None)
    if header_row is None:
        raise InputFileError(path, "no header row with SN1..SN10", "a row of headings 'LA num', 'SN1', 'SNP', ...")
    header = [str(v).strip() for v in cells.iloc[header_row].tolist()]
    la_col = header.index("LA num") if "LA num" in header else 0
    rows = []
    for i in range(header_row + 1, len(cells)):
        code = str(cells.iat[i, la_col]).strip().split(".")[0]
        if not re.fullmatch(r"\d{3}", code):
            continue
        for rank in range(1, 11):
            col = header.index(f"SN{rank}")
            neighbour = str(cells.iat[i, col]).strip().split(".")[0]
            closeness = str(cells.iat[i, col + 1]).strip() if col + 1 < len(header) else ""
            if re.fullmatch(r"\d{3}", neighbour):
                rows.append({"area_code": code, "rank": rank, "neighbour_code": neighbour, "closeness": closeness})
    out = pd.DataFrame(rows)
    unknown = sorted((set(out["area_code"]) | set(out["neighbour_code"])) - set(areas["area_code"]))
    if unknown:
        raise InputFileError(path, f"LA codes {unknown} not in areas.csv", "3-digit LA codes")
    return Built("statistical_neighbours", out, ["statistical_neighbours"], [],
                 [f"{out['area_code'].nunique()} LAs with {len(out)} neighbour links"],
                 ["DfE children's services statistical neighbours, May 2025: 10 per LA, rank 1 = closest"])
