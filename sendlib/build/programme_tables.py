"""programmes.csv and dsg_balance.csv: who is in Safety Valve or DBV, and the deficits behind it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sendlib.build.common import Built, as_int, path_of, require
from sendlib.errors import InputFileError
from sendlib.geography import ENGLAND_CODE, codes_from_names, normalise_name, ons_to_area_code
from sendlib.readers.ees import read_columns
from sendlib.readers.govuk import SafetyValveListing, safety_valve_listings
from sendlib.sources import (
    STATUS_DERIVED_OFFICIAL,
    STATUS_DERIVED_RECONSTRUCTION,
    STATUS_DERIVED_THIRD_PARTY,
    source,
)

PROGRAMMES = {"safety valve": "safety_valve", "delivering better value": "dbv"}
SV_AGREEMENTS_ANNOUNCED, DBV_LAS_ANNOUNCED = 38, 55
GOVUK_SAFETY_VALVE = "govuk_safety_valve"  # optional: the gov.uk page's Content API item, when downloaded


def _cohort(programme: str, text: str, path: Path) -> tuple[str, bool]:
    """Return (cohort label, inferred?) from the compiled file's cohort text."""
    raw = str(text).strip()
    if programme == "safety_valve":
        match = re.match(r"^(20\d{2})-(\d{2})", raw)
        if not match:
            raise InputFileError(path, f"Safety Valve cohort {raw!r}", "a financial year such as '2022-23'")
        return f"{match.group(1)}-{match.group(2)}", "candidate" in raw.lower() or "unconfirmed" in raw.lower()
    match = re.match(r"^tranche\s*(\d)", raw, flags=re.IGNORECASE)
    if not match:
        raise InputFileError(path, f"DBV cohort {raw!r}", "'Tranche 1', 'Tranche 2' or 'Tranche 3'")
    return f"tranche {match.group(1)}", "inferred" in raw.lower()


def _confidence(text: str, path: Path) -> str:
    """Return high | medium | low from the compiled file's confidence text ('high (membership); cohort inferred (medium)')."""
    lowered = str(text).strip().lower()
    if lowered.startswith("low"):
        return "low"
    if lowered.startswith("medium") or "inferred" in lowered or "(medium" in lowered:
        return "medium"
    if lowered.startswith("high"):
        return "high"
    raise InputFileError(path, f"membership_confidence {text!r}", "text starting with high, medium or low")


def _amount(text: str, programme: str) -> tuple[float, str]:
    """Return (DfE amount in pounds or NaN, note) from text like '33.5 (Room151: 33.0)' or 'up to 1.0 (...)'."""
    raw = str(text).strip()
    if not raw or raw.lower() == "nan":
        return np.nan, "not found"
    if raw.lower().startswith("up to"):
        return np.nan, f"{raw} £m: a ceiling, not a confirmed amount"
    match = re.match(r"^(\d+(?:\.\d+)?)", raw)
    if not match:
        return np.nan, raw
    note = raw[match.end():].strip(" ()")
    return round(float(match.group(1)) * 1e6), note


def build_programmes(raw: Path, areas: pd.DataFrame) -> Built:
    """Return programmes.csv: one row per LA and programme, every compiled row kept with its confidence."""
    table = "programmes"
    path = path_of(raw, "programme_membership")
    columns = ["la_name", "old_la_code", "programme", "cohort", "dfe_amount_gbp_m", "amount_source",
               "membership_confidence", "membership_source", "notes"]
    frame = read_columns(path, columns)
    rows = []
    names = areas.set_index("area_code")["area_name"]
    for r in frame.itertuples(index=False):
        programme = PROGRAMMES.get(r.programme.strip().lower())
        if programme is None:
            raise InputFileError(path, f"programme {r.programme!r}", "'Safety Valve' or 'Delivering Better Value'")
        code = r.old_la_code.strip()
        if code not in names.index:
            raise InputFileError(path, f"LA code {code!r} ({r.la_name}) is not in areas.csv", "a 3-digit LA code")
        if normalise_name(names[code]) != normalise_name(r.la_name):
            raise InputFileError(path, f"LA code {code} is {names[code]!r} in areas.csv, not {r.la_name!r}",
                                 "the code and name of the same LA")
        cohort, inferred = _cohort(programme, r.cohort, path)
        confidence = _confidence(r.membership_confidence, path)
        if inferred and confidence == "high":
            confidence = "medium"
        if "candidate" in r.cohort.lower():
            confidence = "low"
        amount, amount_note = _amount(r.dfe_amount_gbp_m, programme)
        rows.append({"area_code": code, "area_name": names[code], "programme": programme, "cohort": cohort,
                     "dfe_amount_gbp": amount, "confidence": confidence, "source": r.membership_source.strip(),
                     "amount_source": r.amount_source.strip(), "amount_note": amount_note,
                     "confidence_note": r.membership_confidence.strip(), "notes": r.notes.strip()})
    govuk_rows, govuk_checks, govuk_notes, govuk_used = _govuk_safety_valve(raw, areas, rows)
    out = pd.DataFrame(rows + govuk_rows)
    out["dfe_amount_gbp"] = as_int(out["dfe_amount_gbp"])
    dup = out[out.duplicated(["area_code", "programme"], keep=False)]
    require(dup.empty, table, f"LA and programme repeat: {dup[['area_code', 'programme']].head(2).to_dict('records')}")
    out = out.sort_values(["programme", "cohort", "area_name"], key=lambda c: c.map({"safety_valve": 0, "dbv": 1})
                          if c.name == "programme" else c).reset_index(drop=True)
    sv = out[(out["programme"] == "safety_valve") & (out["confidence"] != "low")]
    dbv = out[out["programme"] == "dbv"]
    checks = [f"every programme LA is in areas.csv ({len(out)} rows)",
              f"Safety Valve: {len(sv)} of {SV_AGREEMENTS_ANNOUNCED} agreements identified (high or medium confidence), "
              f"{int((out['confidence'] == 'low').sum())} low-confidence candidate(s) kept apart",
              f"DBV: {len(dbv)} rows for {DBV_LAS_ANNOUNCED} LAs announced"] + govuk_checks
    inputs = ["programme_membership"] + ([GOVUK_SAFETY_VALVE] if govuk_used else [])
    return Built(table, out, inputs, [], checks,
                 ["confidence: high = named in a DfE document or its transcription; medium = membership high but "
                  "cohort or tranche inferred, or two secondary sources; low = indirect evidence only (kept out of "
                  "the primary groups)",
                  "dfe_amount_gbp: total DfE revenue commitment of a Safety Valve agreement where a source states it; "
                  "DBV 'up to £1m' implementation grants are ceilings and left blank"] + govuk_notes)


def _govuk_codes(listings: list[SafetyValveListing], path: Path, areas: pd.DataFrame
                 ) -> tuple[dict[str, list[SafetyValveListing]], list[str]]:
    """Return LA code -> the gov.uk attachments naming it, and the titles whose LA name matches no LA."""
    by_code: dict[str, list[SafetyValveListing]] = {}
    unmatched = []
    for item in listings:
        periods = pd.Series([item.financial_year]) if item.financial_year else None
        try:
            code = codes_from_names(pd.Series([item.la_name]), path, areas, periods=periods).iloc[0]
        except InputFileError:
            unmatched.append(item.title)
            continue
        by_code.setdefault(code, []).append(item)
    return by_code, unmatched


def _govuk_safety_valve(raw: Path, areas: pd.DataFrame, compiled: list[dict]
                        ) -> tuple[list[dict], list[str], list[str], bool]:
    """Return (rows to add, checks, notes, used?) from the gov.uk Safety Valve page's Content API item, if downloaded.

    The compiled rows are kept as they are (cohort, confidence, source); the gov.uk attachment titles only
    cross-check them, and an LA named there with its agreement year but absent from the compiled file is
    added with confidence high and the gov.uk page as its source. Nothing is added without a year.
    """
    govuk = source(GOVUK_SAFETY_VALVE)
    path = govuk.find(raw)
    if path is None:
        return [], [], [], False
    listings = safety_valve_listings(path)
    by_code, unmatched = _govuk_codes(listings, path, areas)
    names = areas.set_index("area_code")["area_name"]
    sv = {r["area_code"]: r for r in compiled if r["programme"] == "safety_valve"}
    agree, differ, added, undated, rows = [], [], [], [], []
    for code, items in sorted(by_code.items()):
        years = sorted({i.financial_year for i in items if i.financial_year})
        if code in sv:
            if years and sv[code]["cohort"] not in years:
                differ.append(f"{names[code]} (gov.uk {', '.join(years)}; compiled {sv[code]['cohort']}, kept)")
            else:
                agree.append(names[code])
        elif not years:
            undated.append(names[code])
        else:
            first = min(items, key=lambda i: i.financial_year or "9999")
            added.append(f"{names[code]} ({years[0]})")
            rows.append({"area_code": code, "area_name": names[code], "programme": "safety_valve",
                         "cohort": years[0], "dfe_amount_gbp": np.nan, "confidence": "high", "source": govuk.url,
                         "amount_source": "", "amount_note": "not found",
                         "confidence_note": f"named in the gov.uk attachment '{first.title}'",
                         "notes": "added from the gov.uk Content API item; not in the compiled file"})
    missing = sorted(names[c] for c, r in sv.items() if c not in by_code and r["confidence"] != "low")
    checks = [f"gov.uk Safety Valve page ({path.name}): {len(listings)} agreement attachment(s) name "
              f"{len(by_code)} LA(s); {len(agree)} agree with the compiled file, {len(differ)} differ in year "
              f"(compiled kept), {len(added)} added with confidence high"]
    notes = [f"gov.uk agreement year differs from the compiled cohort: {'; '.join(differ)}"] if differ else []
    notes += [f"added from the gov.uk page (not in the compiled file): {', '.join(added)}"] if added else []
    notes += [f"named on the gov.uk page without a year, not added: {', '.join(undated)}"] if undated else []
    notes += [f"gov.uk attachment titles matching no LA in areas.csv: {'; '.join(unmatched)}"] if unmatched else []
    notes += [f"compiled Safety Valve LAs not named on the gov.uk page: {', '.join(missing)}"] if missing else []
    return rows, checks, notes, True


def _zero_balances_without_s251_rows(gbp: pd.DataFrame, raw: Path, areas: pd.DataFrame
                                     ) -> tuple[pd.DataFrame, list[dict]]:
    """Return the 2023-24 balances with a 0 set to missing where the LA has no s251 2023-24 return at all.

    The derived file writes 0 for LAs absent from the s251 outturn (Cumberland and Westmorland and Furness in
    2023-24); a balance of exactly £0 from an LA with no return is a fill, not a figure.
    """
    spend_path = path_of(raw, "s251_high_needs_net")
    spend = read_columns(spend_path, ["fy", "new_la_code"])
    returned = set(spend.loc[spend["fy"] == "2023-24", "new_la_code"].map(ons_to_area_code(areas)))
    value = "dsg_balance_carried_forward_2023_24_gbp"
    filled = gbp[(gbp[value] == 0) & ~gbp["area_code"].isin(returned)]
    if filled.empty:
        return gbp, []
    fixed = gbp.copy()
    fixed.loc[filled.index, value] = np.nan
    names = areas.set_index("area_code")["area_name"]
    return fixed, [{"table": "dsg_balance", "column": "cumulative_deficit_gbp", "financial_year": "2023-24",
                    "areas": sorted(filled["area_code"]), "source": "dsg_balance_2023_24_kali89",
                    "reason": "balance of exactly £0 for " + ", ".join(names[c] for c in sorted(filled["area_code"]))
                              + ", which have no row in the s251 2023-24 outturn: a fill for a missing return, "
                                "set to missing"}]


def _balance_areas(frame: pd.DataFrame, path: Path, areas: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return the rows of a SEND-AP style balance file with area_code and level (LAs by name, regions by name)."""
    la = frame[frame["geographic_level"] == "Local authority"].copy()
    la["area_code"] = codes_from_names(la["la_name"], path, areas, periods=la["financial_year"])
    la["level"] = "la"
    regions = frame[frame["geographic_level"] == "Regional"].copy()
    region_codes = {normalise_name(n): c for c, n in zip(areas["area_code"], areas["area_name"], strict=True)
                    if c.startswith("E12")}
    regions["area_code"] = regions["region_name"].map(lambda n: region_codes.get(normalise_name(n)))
    require(regions["area_code"].notna().all(), table, f"unknown region names in {path.name}")
    regions["level"] = "region"
    nation = frame[frame["geographic_level"] == "National"].copy()
    nation["area_code"], nation["level"] = ENGLAND_CODE, "england"
    return pd.concat([nation, regions, la])


def _reconstructed_balances(raw: Path, areas: pd.DataFrame, pct: pd.DataFrame, table: str
                            ) -> tuple[pd.DataFrame, list[str]]:
    """Return the 2019-20..2021-22 balances in pounds (reconstructed), checked against the dashboard's %.

    The file inverts DfE's own formula (% = 100 x balance / total DSG, rounded to 2 dp), so its % column must equal
    the dashboard's for every area and year, and its LA codes must name the LAs the dashboard names.
    """
    name = "dsg_balance_reconstructed_2019_22"
    path = path_of(raw, name)
    frame = read_columns(path, list(source(name).columns),
                         numeric=["deficit", "dsg_balance_1_9_3_reconstructed_gbp", "rounding_bound_gbp"])
    frame = _balance_areas(frame, path, areas, table)
    by_code = frame[frame["level"] == "la"]
    differ = by_code[by_code["old_la_code"].str.strip() != by_code["area_code"]]
    if not differ.empty:
        first = differ.iloc[0]
        raise InputFileError(path, f"{first['la_name']} {first['financial_year']} has old_la_code "
                                   f"{first['old_la_code']!r} but its name is LA {first['area_code']}",
                             "the code and the name of the same LA")
    both = frame.merge(pct, on=["area_code", "financial_year"], how="outer", indicator=True,
                       suffixes=("", "_dashboard"))
    unmatched = both[both["_merge"] != "both"]
    require(unmatched.empty, table, f"{path.name} and the SEND-AP % file cover different area-years: "
            + str(unmatched[["area_code", "financial_year", "_merge"]].head(3).to_dict("records")))
    off = both[(both["deficit"] - both["deficit_dashboard"]).abs() > 1e-9]
    require(off.empty, table, f"{path.name}: % of DSG differs from the dashboard's for "
            + str(off[["area_code", "financial_year"]].head(3).to_dict("records")))
    bound = frame["rounding_bound_gbp"]
    checks = [f"{path.name}: {len(frame)} area-years, each % of DSG equal to the SEND-AP dashboard's; "
              f"rounding bounds £{bound.min():,.0f} to £{bound.max():,.0f}"]
    england = frame[frame["level"] == "england"].set_index("financial_year")
    la = frame[frame["level"] == "la"].groupby("financial_year")
    for fy, group in la:
        total, national = group["dsg_balance_1_9_3_reconstructed_gbp"].sum(), england.loc[fy, "dsg_balance_1_9_3_reconstructed_gbp"]
        allowed = england.loc[fy, "rounding_bound_gbp"] + group["rounding_bound_gbp"].sum()
        require(abs(total - national) <= allowed, table, f"{fy}: reconstructed LA balances sum to £{total:,.0f}, "
                f"England's is £{national:,.0f}, beyond the rounding bounds (£{allowed:,.0f})")
        checks.append(f"{fy}: LA balances sum to £{total / 1e6:,.1f}m, England's row £{national / 1e6:,.1f}m "
                      f"(within the rounding bounds, ±£{allowed / 1e6:,.1f}m)")
    return frame, checks


def build_dsg_balance(raw: Path, areas: pd.DataFrame) -> Built:
    """Return dsg_balance.csv: cumulative DSG deficit per area and year, each value with its status and source.

    2019-20..2021-22: % of DSG income (DfE's SEND-AP dashboard, derived-official) and pounds (reconstructed from
    that % and DfE's DSG total, derived-reconstruction, with its rounding bound); 2023-24: pounds (a third party's
    derivation from the s251 outturn, derived-third-party).
    """
    table = "dsg_balance"
    pct_path = path_of(raw, "dsg_balance_pct_sendap")
    pct = read_columns(pct_path, ["geographic_level", "region_name", "la_name", "deficit", "financial_year"],
                       numeric=["deficit"])
    pct = _balance_areas(pct, pct_path, areas, table)[["area_code", "level", "financial_year", "deficit"]]
    reconstructed, checks = _reconstructed_balances(raw, areas, pct[["area_code", "financial_year", "deficit"]], table)
    early = pct.merge(reconstructed[["area_code", "financial_year", "dsg_balance_1_9_3_reconstructed_gbp",
                                     "rounding_bound_gbp"]], on=["area_code", "financial_year"], how="left")
    frames = [pd.DataFrame({
        "area_code": early["area_code"], "level": early["level"], "financial_year": early["financial_year"],
        "cumulative_deficit_gbp": early["dsg_balance_1_9_3_reconstructed_gbp"],
        "gbp_status": STATUS_DERIVED_RECONSTRUCTION, "gbp_source": source("dsg_balance_reconstructed_2019_22").title,
        "gbp_rounding_bound_gbp": early["rounding_bound_gbp"],
        "cumulative_deficit_pct_of_income": early["deficit"],
        "pct_status": STATUS_DERIVED_OFFICIAL, "pct_source": source("dsg_balance_pct_sendap").title})]
    gbp_path = path_of(raw, "dsg_balance_2023_24_kali89")
    gbp = read_columns(gbp_path, ["new_la_code", "la_name", "dsg_balance_carried_forward_2023_24_gbp"],
                       numeric=["dsg_balance_carried_forward_2023_24_gbp"])
    gbp["area_code"] = gbp["new_la_code"].map(ons_to_area_code(areas))
    missing = gbp[gbp["area_code"].isna()]
    if not missing.empty:
        raise InputFileError(gbp_path, f"ONS code {missing['new_la_code'].iloc[0]!r} is not in areas.csv",
                             "ONS codes of English upper-tier LAs")
    gbp, corrections = _zero_balances_without_s251_rows(gbp, raw, areas)
    frames.append(pd.DataFrame({
        "area_code": gbp["area_code"], "level": "la", "financial_year": "2023-24",
        "cumulative_deficit_gbp": gbp["dsg_balance_carried_forward_2023_24_gbp"],
        "gbp_status": STATUS_DERIVED_THIRD_PARTY, "gbp_source": source("dsg_balance_2023_24_kali89").title,
        "gbp_rounding_bound_gbp": np.nan, "cumulative_deficit_pct_of_income": np.nan,
        "pct_status": None, "pct_source": None}))
    out = pd.concat(frames, ignore_index=True)
    for column in ["cumulative_deficit_gbp", "gbp_rounding_bound_gbp"]:
        out[column] = as_int(out[column])
    dup = out[out.duplicated(["area_code", "financial_year"], keep=False)]
    require(dup.empty, table, f"area and year repeat: {dup[['area_code', 'financial_year']].head(2).to_dict('records')}")
    out = out.sort_values(["financial_year", "level", "area_code"],
                          key=lambda c: c.map({"england": 0, "region": 1, "la": 2}) if c.name == "level" else c)
    la_years = int((pct["level"] == "la").sum())
    checks.insert(0, f"{la_years} LA-years of % of income and pounds (2019-20 to 2021-22); {len(gbp)} LAs in pounds "
                     "(2023-24)")
    return Built(table, out.reset_index(drop=True), ["dsg_balance_pct_sendap", "dsg_balance_reconstructed_2019_22",
                                                      "dsg_balance_2023_24_kali89", "s251_high_needs_net"],
                 corrections, checks,
                 ["Positive = cumulative deficit, negative = surplus",
                  "Each value carries its own status and source: gbp_status/gbp_source for cumulative_deficit_gbp, "
                  "pct_status/pct_source for cumulative_deficit_pct_of_income",
                  "2019-20 to 2021-22, % of income: DSG cumulative balance as % of total DSG income, derived by DfE's "
                  "SEND-AP Inclusion Dashboard from s251 outturn (derived-official)",
                  "2019-20 to 2021-22, pounds: that % times the total DSG allocation (March update) DfE's dashboard "
                  "divided by: a reconstruction (derived-reconstruction), exact to +/- gbp_rounding_bound_gbp "
                  "(0.005% of DSG, from the % rounded to 2 dp)",
                  "2023-24: balance carried forward (s251 line 1.9.3) in pounds, derived by a third party from the "
                  "official s251 outturn file (derived-third-party); 2022-23 is not in hand"])
