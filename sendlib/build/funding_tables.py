"""high_needs_block.csv, deflators.csv and national_series.csv: the money side of the model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from sendlib.build.common import Built, as_int, path_of, require
from sendlib.build.ehcp import caseload_inputs
from sendlib.errors import InputFileError
from sendlib.geography import ENGLAND_CODE, normalise_name
from sendlib.periods import existed_in_financial_year, financial_years, fy_start
from sendlib.readers.dsg_ods import (
    DsgSummary,
    financial_year_of_sheet,
    publication_date,
    read_summary_sheet,
    read_workbook,
)
from sendlib.readers.ees import read_columns
from sendlib.readers.ons import (
    OnsSeries,
    financial_year_means_monthly,
    financial_year_means_quarterly,
    read_ons_series,
)
from sendlib.sources import dsg_allocation_sources, source

DATED_DSG_FILES = ["dsg_2020_21", "dsg_2021_22", "dsg_2022_23", "dsg_2023_24"]
NATIONAL_FIRST_YEAR, NATIONAL_LAST_YEAR = "2015-16", "2026-27"
SERIES_ANSWER = "129210"  # the DfE written answer that gives England's HNB 2015-16 to 2022-23 as one series
NOT_IN_HAND_FROM = 2026  # from 2026-27 a year may lack an England HNB in hand: left missing, with the reason
PUBLISHED_PLANS = {"2015-16": 240_183, "2026-27": 718_838}  # England plans paired with the year (January before)


@dataclass
class Vintage:
    """One release of one financial year's allocations."""

    financial_year: str
    published: date | None
    label: str
    source_name: str
    summary: DsgSummary
    full_file: bool


def _dated_vintages(raw: Path) -> dict[float, tuple[date, str]]:
    """Return England total DSG -> (date, sheet) from the workbook of dated March updates."""
    sheets = read_workbook(path_of(raw, "dsg_march_vintages"))
    found = {}
    for name, cells in sheets.items():
        match = re.search(r"(\d{4})_(\d{2})_(\d{2})$", name)
        if not match:
            continue
        header = [str(v) for v in cells.iloc[0].tolist()]
        try:
            code_col = header.index("la_code")
            total_col = next(i for i, h in enumerate(header) if h.lower().startswith("total dsg"))
        except (ValueError, StopIteration):
            raise InputFileError(path_of(raw, "dsg_march_vintages"), f"sheet {name}: header {header}",
                                 "columns la_code and 'Total DSG allocation (£s)'") from None
        england = cells[cells.iloc[:, code_col].astype(str).str.upper() == "ENGLAND"]
        if len(england) == 1:
            found[round(float(england.iat[0, total_col]))] = (date(*map(int, match.groups())), name)
    return found


def dsg_allocation_files(raw: Path) -> list[str]:
    """Return the names of the full DSG allocation files in hand: the dated files, then every downloaded year present."""
    return DATED_DSG_FILES + [s.name for s in dsg_allocation_sources() if s.find(raw) is not None]


def _registered_year(name: str) -> str | None:
    """Return the financial year a per-year downloaded DSG source must hold ('2018-19'), or None for other files."""
    match = re.fullmatch(r"dsg_allocations_(\d{4})_(\d{2})", name)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def _vintages(raw: Path) -> list[Vintage]:
    """Return every release of DSG allocations in hand, each with its publication date where known."""
    result: list[Vintage] = []
    for name in dsg_allocation_files(raw):
        path = path_of(raw, name)
        sheets = read_workbook(path)
        published = publication_date(sheets, path)
        sheet = next((s for s in sheets if s.lower().startswith("allocations_summary")), None)
        if sheet is None:
            raise InputFileError(path, f"no Allocations_summary sheet (sheets: {list(sheets)})",
                                 "a sheet named Allocations_summary")
        fy = financial_year_of_sheet(sheets[sheet], path, sheet)
        expected = _registered_year(name)
        if expected and fy != expected:
            raise InputFileError(path, f"sheet {sheet} is titled for {fy}", f"the {expected} allocations "
                                 f"(input '{name}'; download it again with `sendlib data download --only {name}`)")
        summary = read_summary_sheet(sheets[sheet], path, sheet, fy)
        when = f"published {published:%-d %B %Y}" if published else "publication date not stated"
        result.append(Vintage(fy, published, f"{source(name).title} ({when})", name, summary, True))
    dated_by_total = _dated_vintages(raw)
    for v in result:
        dated_by_total.setdefault(round(v.summary.england["total_dsg_before_gbp"]), (v.published, v.source_name))
    path = path_of(raw, "dsg_summaries")
    for sheet, cells in read_workbook(path).items():
        if not sheet.lower().startswith("allocations_"):
            continue
        fy = financial_year_of_sheet(cells, path, sheet)
        summary = read_summary_sheet(cells, path, sheet, fy)
        published, _ = dated_by_total.get(round(summary.england["total_dsg_before_gbp"]), (None, None))
        when = (f"update of {published:%-d %B %Y}, identified by its total DSG" if published
                else "update date not stated")
        result.append(Vintage(fy, published, f"Dedicated schools grant (DSG): {fy[:4]} to {fy[:2]}{fy[5:]} "
                                              f"allocations, summary sheet ({when})", "dsg_summaries", summary, False))
    return result


def latest_vintages(raw: Path) -> tuple[dict[str, Vintage], list[str]]:
    """Return the latest release in hand for each financial year, and the releases passed over."""
    chosen: dict[str, Vintage] = {}
    everything = _vintages(raw)
    for v in everything:
        best = chosen.get(v.financial_year)
        if best is None or (v.published or date.min, v.full_file) > (best.published or date.min, best.full_file):
            chosen[v.financial_year] = v
    passed_over = [f"{v.financial_year}: {v.label}" for v in everything if chosen[v.financial_year] is not v]
    return chosen, passed_over


def build_high_needs_block(raw: Path, areas: pd.DataFrame) -> Built:
    """Return high_needs_block.csv: HNB before and after deductions per LA, region and England, latest vintage."""
    table = "high_needs_block"
    chosen, passed_over = latest_vintages(raw)
    spans = areas.set_index("area_code")
    region_names = {normalise_name(n): c for c, n in zip(areas["area_code"], areas["area_name"], strict=True)
                    if c.startswith("E12")}
    frames, checks = [], []
    for fy in sorted(chosen):
        v = chosen[fy]
        la = v.summary.la.copy()
        unknown = sorted(set(la["la_code"]) - set(spans.index))
        require(not unknown, table, f"{fy}: LA codes not in areas.csv: {unknown} ({v.label})")
        gone = [c for c in la["la_code"] if not existed_in_financial_year(
            int(spans.loc[c, "first_year"]), int(spans.loc[c, "last_year"]), fy)]
        require(not gone, table, f"{fy}: allocations for LAs that did not exist that year: {gone}")
        la["region_code"] = la["la_code"].map(spans["region_code"])
        tolerance = max(2.0, len(la) * (1.0 if v.summary.unit_multiplier != 1 else 0.01))
        for column in ["hnb_before_deductions_gbp", "hnb_after_deductions_gbp"]:
            total, published = la[column].sum(), v.summary.england[column]
            require(abs(total - published) <= tolerance, table,
                    f"{fy} {column}: LAs sum to £{total:,.0f} but the ENGLAND row says £{published:,.0f}")
        regions = la.groupby("region_code")[["hnb_before_deductions_gbp", "hnb_after_deductions_gbp"]].sum()
        for r in v.summary.regions.itertuples():
            code = region_names.get(normalise_name(r.region_name))
            if code is not None:
                require(abs(regions.loc[code, "hnb_before_deductions_gbp"] - r.hnb_before_deductions_gbp) <= tolerance,
                        table, f"{fy} region {r.region_name}: LA sum differs from the file's region row")
        checks.append(f"{fy}: {len(la)} LAs sum to the ENGLAND row and to each region row ({v.label})")
        la_rows = pd.DataFrame({"area_code": la["la_code"], "level": "la", "financial_year": fy,
                                "hnb_before_deductions_gbp": la["hnb_before_deductions_gbp"],
                                "hnb_after_deductions_gbp": la["hnb_after_deductions_gbp"]})
        region_rows = pd.DataFrame({"area_code": regions.index, "level": "region", "financial_year": fy,
                                    "hnb_before_deductions_gbp": regions["hnb_before_deductions_gbp"].to_numpy(),
                                    "hnb_after_deductions_gbp": regions["hnb_after_deductions_gbp"].to_numpy()})
        england_row = pd.DataFrame([{"area_code": ENGLAND_CODE, "level": "england", "financial_year": fy,
                                     "hnb_before_deductions_gbp": v.summary.england["hnb_before_deductions_gbp"],
                                     "hnb_after_deductions_gbp": v.summary.england["hnb_after_deductions_gbp"]}])
        frame = pd.concat([england_row, region_rows, la_rows], ignore_index=True)
        frame["source_release"] = v.label
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    for column in ["hnb_before_deductions_gbp", "hnb_after_deductions_gbp"]:
        frame[column] = as_int(frame[column])
    england = frame[(frame["level"] == "england") & (frame["financial_year"] == "2019-20")]
    if not england.empty:
        value = england["hnb_before_deductions_gbp"].iloc[0]
        require(abs(value - 6_279.1e6) <= 0.1e6, table, f"England HNB before deductions 2019-20 is £{value / 1e6:,.1f}m, "
                "expected £6,279.1m (±£0.1m)")
        checks.append("England HNB before deductions 2019-20 = £6,279.1m")
    inputs = sorted({v.source_name for v in chosen.values()} | {"dsg_march_vintages"})
    notes = ["Region rows are the sums of their LAs; England is the file's ENGLAND row (equal to the LA sum)",
             "City of London and the Isles of Scilly are not in the DSG allocation files",
             "Each year uses the latest release in hand: " + "; ".join(f"{fy}: {chosen[fy].label}" for fy in sorted(chosen)),
             "Earlier releases in hand, not used: " + "; ".join(passed_over)]
    frame = frame.sort_values(["financial_year", "level", "area_code"],
                              key=lambda c: c.map({"england": 0, "region": 1, "la": 2}) if c.name == "level" else c)
    releases: dict[str, list[str]] = {}
    for fy in sorted(chosen):
        releases.setdefault(chosen[fy].source_name, []).append(f"{fy}: {chosen[fy].label}")
    return Built(table, frame.reset_index(drop=True), inputs, [], checks, notes,
                 {name: "; ".join(labels) for name, labels in releases.items()})


#: Every registered YBGB file: the latest vintage in hand is the GDP deflator for every year (never spliced).
GDP_DEFLATOR_SOURCES = ("ons_gdp_deflator", "ons_gdp_deflator_2026_copy")
HMT_DEFLATOR = "hmt_gdp_deflator_march_2026"


@dataclass
class DeflatorVintage:
    """One YBGB file in hand: its registered name, the series, when it was current, and its vintage in words."""

    name: str
    series: OnsSeries
    as_of: date
    vintage: str
    index_base: str


def gdp_deflator_vintages(raw: Path) -> list[DeflatorVintage]:
    """Return every YBGB file in hand, latest vintage first (a dated ONS download or a copy the registry dates)."""
    found, missing = [], []
    for name in GDP_DEFLATOR_SOURCES:
        registered = source(name)
        path = registered.find(raw)
        if path is None:
            if not registered.optional:
                missing.append(registered)
            continue
        copy = registered.series_copy
        if copy is None:
            series = read_ons_series(path, "YBGB")
            found.append(DeflatorVintage(name, series, series.release_date, series.release_date.isoformat(),
                                         "the reference year ONS published"))
        else:
            series = read_ons_series(path, copy.cdid, {"Title": copy.title, "CDID": copy.cdid,
                                                       "Release date": f"{copy.as_of:%d-%m-%Y}"})
            found.append(DeflatorVintage(name, series, copy.as_of, copy.vintage, copy.index_base))
    if not found and missing:
        missing[0].locate(raw)  # names the file expected
    require(bool(found), "deflators", "no GDP deflator (YBGB) file is in hand")
    return sorted(found, key=lambda v: (v.as_of, v.name), reverse=True)  # one vintage in hand is enough


def _hmt_deflator(raw: Path) -> pd.DataFrame:
    """Return financial_year, hmt_gdp_deflator (2024-25 = 100) and its outturn/forecast status from HM Treasury's file
    (no rows when the file is not in hand: the model does not use it)."""
    if source(HMT_DEFLATOR).find(raw) is None:
        return pd.DataFrame(columns=["financial_year", "hmt_gdp_deflator", "hmt_gdp_deflator_status"])
    path = path_of(raw, HMT_DEFLATOR)
    frame = read_columns(path, ["fiscal_year", "gdp_deflator", "is_forecast"], numeric=["gdp_deflator"],
                         key=["fiscal_year"])
    flags = frame["is_forecast"].str.strip().str.lower()
    bad = frame[~flags.isin(["true", "false"])]
    if not bad.empty:
        raise InputFileError(path, f"is_forecast {bad['is_forecast'].iloc[0]!r}", "true or false")
    for label in frame["fiscal_year"]:
        try:
            fy_start(label)
        except ValueError:
            raise InputFileError(path, f"fiscal_year {label!r}", "a financial year such as '2024-25'") from None
    return pd.DataFrame({"financial_year": frame["fiscal_year"].str.strip(),
                         "hmt_gdp_deflator": frame["gdp_deflator"],
                         "hmt_gdp_deflator_status": flags.map({"true": "forecast", "false": "outturn"})})


def build_deflators(raw: Path) -> Built:
    """Return deflators.csv: financial-year GDP deflator (mean of Q2..Q1, latest ONS vintage), CPIH (mean of
    April..March) and, apart, HM Treasury's financial-year deflator with its outturn/forecast status."""
    vintages = gdp_deflator_vintages(raw)
    gdp = vintages[0]
    cpih = read_ons_series(path_of(raw, "ons_cpih"), "L522")
    hmt = _hmt_deflator(raw)
    gdp_fy = financial_year_means_quarterly(gdp.series.quarterly).rename(columns={"value": "gdp_deflator"})
    cpih_fy = financial_year_means_monthly(cpih.monthly).rename(columns={"value": "cpih"})
    frame = gdp_fy.merge(cpih_fy, on="financial_year", how="outer").merge(hmt, on="financial_year", how="outer")
    frame = frame[frame["financial_year"].map(fy_start) >= 2010].sort_values("financial_year")
    frame["vintage"] = gdp.vintage
    frame["cpih_vintage"] = cpih.release_date.isoformat()
    frame["hmt_vintage"] = "HM Treasury March 2026 (QNA); OBR forecasts (March 2026) from 2025-26"
    for column in ["gdp_deflator", "cpih", "hmt_gdp_deflator"]:
        frame[column] = frame[column].round(6)
    frame = frame[["financial_year", "gdp_deflator", "cpih", "vintage", "cpih_vintage", "hmt_gdp_deflator",
                   "hmt_gdp_deflator_status", "hmt_vintage"]].reset_index(drop=True)
    last = gdp_fy["financial_year"].max()
    checks = [f"GDP deflator: {len(gdp_fy)} complete financial years to {last}, all from one vintage ({gdp.vintage})",
              f"CPIH: {len(cpih_fy)} complete financial years to {cpih_fy['financial_year'].max()}",
              (f"HM Treasury deflator: outturn to "
               f"{hmt.loc[hmt['hmt_gdp_deflator_status'] == 'outturn', 'financial_year'].max()}, forecast "
               f"{hmt.loc[hmt['hmt_gdp_deflator_status'] == 'forecast', 'financial_year'].min()} to "
               f"{hmt['financial_year'].max()}" if not hmt.empty else "HM Treasury deflator: not in hand")]
    indexed = frame.set_index("financial_year")
    previous = f"{fy_start(last) - 1}-{fy_start(last) % 100:02d}"
    if previous in indexed.index and not hmt.empty:
        ons = 100 * (indexed.loc[last, "gdp_deflator"] / indexed.loc[previous, "gdp_deflator"] - 1)
        treasury = 100 * (indexed.loc[last, "hmt_gdp_deflator"] / indexed.loc[previous, "hmt_gdp_deflator"] - 1)
        checks.append(f"{last} on {previous}: ONS outturn {ons:+.2f}%; HM Treasury March 2026 "
                      f"({indexed.loc[last, 'hmt_gdp_deflator_status']}) {treasury:+.2f}%")
    notes = ["A financial year appears only when all four quarters (GDP) or twelve months (CPIH) are published",
             f"gdp_deflator: ONS YBGB, index {gdp.index_base}, {gdp.vintage}; the one vintage for every year "
             "(the model rebases it to its price year)",
             f"CPIH 2015 = 100 (ONS release {cpih.release_date:%-d %B %Y})",
             "hmt_gdp_deflator: HM Treasury's financial-year GDP deflator, 2024-25 = 100, March 2026 edition; "
             "hmt_gdp_deflator_status 'forecast' marks OBR forecasts (chained from OBR's year-on-year changes by "
             "the third party whose copy is read). Not used by the model"]
    if len(vintages) > 1:
        notes.append("Other GDP deflator vintages in hand, not used: "
                     + "; ".join(f"{v.name} ({v.vintage})" for v in vintages[1:]))
    releases = {gdp.name: gdp.vintage if gdp.name != "ons_gdp_deflator" else f"ONS release of {gdp.as_of:%-d %B %Y}",
                "ons_cpih": f"ONS release of {cpih.release_date:%-d %B %Y}"}
    inputs = [gdp.name, "ons_cpih"] + ([HMT_DEFLATOR] if not hmt.empty else [])
    return Built("deflators", frame, inputs, [], checks, notes, releases)


def _dsg_page(financial_year: str) -> str:
    """Return the official page of a financial year's DSG allocations."""
    return source(f"dsg_allocations_{financial_year.replace('-', '_')}").url


def _statements(external: Path) -> pd.DataFrame:
    """Return the hand-transcribed DfE statements of England's HNB (data/external), each with its citation."""
    path = external / "national_hnb_statements.csv"
    frame = read_columns(path, ["financial_year", "hnb_gbp", "hnb_status", "source", "url", "quote"],
                         numeric=["hnb_gbp"], counts=["hnb_gbp"], key=["financial_year"])
    bad = frame[~frame["hnb_status"].isin(["statement", "parliamentary-answer"])]
    if not bad.empty:
        raise InputFileError(path, f"hnb_status {bad['hnb_status'].iloc[0]!r}", "statement or parliamentary-answer")
    return frame


def build_national_series(raw: Path, external: Path, ehcp: pd.DataFrame, hnb: pd.DataFrame,
                          deflators: pd.DataFrame) -> Built:
    """Return national_series.csv: England's HNB 2015-16 to 2025-26 with its status and source, plans and deflator.

    Priority for each year: the DfE written-answer series (UIN 129210) where it covers the year, so the
    series is consistent; then the latest DSG allocation file; then a cited DfE statement.
    """
    table = "national_series"
    pq_path = path_of(raw, "hnb_parliamentary_answers")
    pq = read_columns(pq_path, ["geography", "financial_year", "hnb_gbp_m", "source_pq", "source_url"],
                      numeric=["hnb_gbp_m"], counts=["hnb_gbp_m"])
    series = pq[(pq["geography"] == "England") & pq["source_pq"].str.contains(SERIES_ANSWER)]
    if series["financial_year"].duplicated().any():
        raise InputFileError(pq_path, "England appears twice for a year in the UIN 129210 series", "one row per year")
    answers = {r.financial_year: (round(r.hnb_gbp_m * 1e6), r.source_pq, r.source_url) for r in series.itertuples()}
    england_hnb = hnb[hnb["level"] == "england"].set_index("financial_year")
    statements = _statements(external).set_index("financial_year")
    plans = ehcp[ehcp["level"] == "england"].set_index("january")["ehc_plans"]
    deflator = deflators.set_index("financial_year")["gdp_deflator"]
    rows = []
    for fy in financial_years(NATIONAL_FIRST_YEAR, NATIONAL_LAST_YEAR):
        if fy in answers:
            value, label, url = answers[fy]
            status, source_text = "parliamentary-answer", f"DfE written answer {label}"
        elif fy in england_hnb.index:
            value = int(england_hnb.loc[fy, "hnb_before_deductions_gbp"])
            status, source_text, url = "allocation", england_hnb.loc[fy, "source_release"], _dsg_page(fy)
        elif fy in statements.index:
            s = statements.loc[fy]
            value, status = int(s["hnb_gbp"]), s["hnb_status"]
            source_text, url = f"{s['source']}: \"{s['quote']}\"", s["url"]
        elif fy_start(fy) >= NOT_IN_HAND_FROM:
            value, status, url = pd.NA, "not in hand", _dsg_page(fy)
            source_text = (f"not in hand: no DfE statement of England's {fy} high needs total was found, and the {fy} "
                           f"DSG allocation file is not in the raw folder (`sendlib data download --only "
                           f"dsg_allocations_{fy.replace('-', '_')}` fetches it)")
        else:
            raise InputFileError(external / "national_hnb_statements.csv", f"no England HNB for {fy}",
                                 "an allocation, the UIN 129210 series or a cited statement for every year")
        january = fy_start(fy)
        rows.append({"financial_year": fy, "hnb_gbp": value, "hnb_status": status, "hnb_source": source_text,
                     "hnb_source_url": url, "january": january,
                     "ehc_plans_january": plans.get(january, pd.NA),
                     "gdp_deflator": deflator.get(fy, float("nan"))})
    frame = pd.DataFrame(rows)
    frame["ehc_plans_january"] = frame["ehc_plans_january"].astype("Int64")
    frame["hnb_gbp"] = frame["hnb_gbp"].astype("Int64")
    paired = frame.set_index("financial_year")["ehc_plans_january"]
    for fy, expected in PUBLISHED_PLANS.items():
        require(paired.get(fy) == expected, table, f"England plans paired with {fy} (January {fy_start(fy)}) are "
                                                   f"{paired.get(fy)}, expected {expected:,}")
    checks = ["England plans paired with each year as published: "
              + ", ".join(f"{fy} {v:,} (January {fy_start(fy)})" for fy, v in PUBLISHED_PLANS.items())]
    for fy, (value, _, _) in answers.items():
        if fy in england_hnb.index:
            file_value = england_hnb.loc[fy, "hnb_before_deductions_gbp"]
            checks.append(f"{fy}: written answer £{value / 1e6:,.0f}m vs allocation file £{file_value / 1e6:,.1f}m "
                          f"(difference £{(file_value - value) / 1e6:,.1f}m)")
    notes = ["ehc_plans_january is the January before the financial year starts (January 2015 for 2015-16)",
             "gdp_deflator is missing where ONS has not yet published all four quarters of the year",
             "hnb_gbp is missing (hnb_status 'not in hand') where no allocation file, DfE written-answer series or "
             "cited DfE statement in data/external gives the year; hnb_source says what would close the gap"]
    deflator = gdp_deflator_vintages(raw)[0].name
    caseload = caseload_inputs(raw)
    return Built(table, frame, ["hnb_parliamentary_answers", "dsg_summaries", deflator, *caseload], [], checks, notes)
