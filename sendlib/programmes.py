"""Programme membership: which LAs are in Safety Valve (by agreement year) or DBV (by tranche), with the
source and confidence of every entry, and the comparison groups built from it.

Groups (one per current LA, `groups()`):
  * "SV 2020-21" ... "SV 2023-24": Safety Valve by agreement (financial) year;
  * "DBV tranche 1" ... "DBV tranche 3": Delivering Better Value, for LAs without an SV agreement (yet);
  * "Other: DSG deficit" / "Other: no DSG deficit": neither programme, by the DSG cumulative balance in the
    latest year with data (2023-24 balance carried forward in GBP where held, else 2021-22 % of DSG income);
  * "Other: deficit unknown": neither programme and no balance data (never guessed);
  * "Low confidence: SV candidate": entries of low confidence, kept out of the primary groups (primary=False).
Bracknell Forest and Bristol were DBV tranche 1 and moved to SV in 2023-24: they are SV from 2023-24 and
DBV before it (see `groups(as_of=...)`). DBV tranches are not dated in programmes.csv, so DBV membership does
not depend on `as_of`; only SV agreement years do.
"""

from __future__ import annotations

import argparse
import json
import math
from functools import lru_cache
from typing import Any

import pandas as pd

from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import resolve_area
from sendlib.periods import fy_start, is_fy_label

SV_AGREEMENTS_ANNOUNCED = 38
DBV_LAS_ANNOUNCED = 55
#: Announced per SV cohort (5 + 9 + 20 + 4 = 38) and names per DBV tranche on DfE's lists (21 + 22 + 12 = 55;
#: tranche 1's 20 original LAs include Cumbria, now Cumberland and Westmorland and Furness), from
#: shared/reference/README_programmes_sources.md.
SV_ANNOUNCED_BY_COHORT: dict[str, int] = {"2020-21": 5, "2021-22": 9, "2022-23": 20, "2023-24": 4}
DBV_ANNOUNCED_BY_TRANCHE: dict[str, int] = {"tranche 1": 21, "tranche 2": 22, "tranche 3": 12}

PROGRAMME_NAMES = {"safety_valve": "Safety Valve", "dbv": "Delivering Better Value (DBV)"}
OTHER_DEFICIT = "Other: DSG deficit"
OTHER_NO_DEFICIT = "Other: no DSG deficit"
DEFICIT_UNKNOWN = "Other: deficit unknown"
LOW_CONFIDENCE = "Low confidence: SV candidate"
FAMILY_SV, FAMILY_DBV = "Safety Valve", "DBV"
GROUP_COLUMNS = ["area_code", "area_name", "region_code", "region_name", "group", "programme_group", "cohort",
                 "confidence", "primary", "sv_cohort", "deficit_financial_year", "deficit_measure"]


# ----------------------------------------------------------------------------------------- membership


def _programme_rows() -> pd.DataFrame:
    """Return programmes.csv with `primary` (confidence is not low) and `order` (agreement or tranche rank)."""
    rows = load("programmes")
    rows["primary"] = rows["confidence"] != "low"
    rows["order"] = [fy_start(c) if is_fy_label(c) else int(str(c)[-1]) for c in rows["cohort"]]
    return rows


def _check_as_of(as_of: str | None) -> None:
    """Raise ParameterError unless as_of is None or a financial year label."""
    if as_of is not None and not is_fy_label(as_of):
        raise ParameterError("as_of", as_of, "a financial year such as '2022-23'")


def status(area: str) -> list[dict[str, Any]]:
    """Return the LA's programme entries (programme, cohort, dfe_amount_gbp in GBP, confidence, source, ...)."""
    row = resolve_area(area, levels=("la",))
    rows = _programme_rows()
    rows = rows[rows["area_code"] == row["area_code"]].sort_values(["programme", "order"])
    sv_years = rows.loc[(rows["programme"] == "safety_valve") & rows["primary"], "cohort"].tolist()
    out = []
    for entry in rows.itertuples(index=False):
        period = None
        if entry.programme == "dbv" and sv_years:
            period = f"counted as DBV until {sv_years[0]}, then Safety Valve"
        elif entry.programme == "safety_valve":
            period = f"counted as Safety Valve from {entry.cohort}" if entry.primary else \
                "low confidence: shown apart, not in the primary groups"
        out.append({
            "programme": entry.programme, "programme_name": PROGRAMME_NAMES[entry.programme],
            "cohort": entry.cohort, "dfe_amount_gbp": _int_or_none(entry.dfe_amount_gbp),
            "confidence": entry.confidence, "source": entry.source,
            "amount_source": _str_or_none(entry.amount_source), "amount_note": _str_or_none(entry.amount_note),
            "confidence_note": _str_or_none(entry.confidence_note), "notes": _str_or_none(entry.notes),
            "primary": bool(entry.primary), "period": period,
        })
    return sorted(out, key=lambda d: (d["programme"] != "safety_valve", d["cohort"]))


def _int_or_none(value: object) -> int | None:
    """Return value as an int, or None where it is missing."""
    return None if value is None or pd.isna(value) else int(value)


def _str_or_none(value: object) -> str | None:
    """Return value as a str, or None where it is missing."""
    return None if value is None or pd.isna(value) else str(value)


# ----------------------------------------------------------------------------------------- deficits


def latest_balance(as_of: str | None = None) -> pd.DataFrame:
    """Return per LA the latest DSG balance up to as_of: year, measure, value (GBP or % of income; + = deficit)."""
    _check_as_of(as_of)
    balance = load("dsg_balance")
    balance = balance[balance["level"] == "la"].copy()
    if as_of is not None:
        balance = balance[balance["financial_year"].map(fy_start) <= fy_start(as_of)]
    gbp = balance.dropna(subset=["cumulative_deficit_gbp"]).assign(
        measure="balance carried forward (GBP)", value=lambda f: f["cumulative_deficit_gbp"].astype(float),
        status=lambda f: f["gbp_status"])
    pct = balance.dropna(subset=["cumulative_deficit_pct_of_income"]).assign(
        measure="cumulative balance (% of DSG income)", value=lambda f: f["cumulative_deficit_pct_of_income"],
        status=lambda f: f["pct_status"])
    both = pd.concat([gbp, pct], ignore_index=True)
    both["start"] = both["financial_year"].map(fy_start)
    latest = both.sort_values(["area_code", "start"]).groupby("area_code").tail(1)
    return latest[["area_code", "financial_year", "measure", "value", "status"]].reset_index(drop=True)


# ----------------------------------------------------------------------------------------- groups


def current_las() -> pd.DataFrame:
    """Return the areas rows of the LAs counted in the latest January (the current LAs)."""
    areas = load("areas")
    las = areas[areas["level"] == "la"]
    return las[las["last_year"] == las["last_year"].max()].reset_index(drop=True)


def _assign(code: str, entries: pd.DataFrame, balance: dict[str, pd.Series], as_of: str | None) -> dict:
    """Return the group, programme_group, cohort, confidence and primary flag of one LA."""
    started = entries if as_of is None else entries[
        (entries["programme"] == "dbv") | (entries["order"] <= fy_start(as_of))]
    for programme, family in (("safety_valve", FAMILY_SV), ("dbv", FAMILY_DBV)):
        chosen = started[(started["programme"] == programme) & started["primary"]].sort_values("order")
        if not chosen.empty:
            first = chosen.iloc[0]
            label = f"SV {first['cohort']}" if programme == "safety_valve" else f"DBV {first['cohort']}"
            return {"group": label, "programme_group": family, "cohort": first["cohort"],
                    "confidence": first["confidence"], "primary": True}
    low = started[~started["primary"]]
    if not low.empty:
        first = low.iloc[0]
        return {"group": LOW_CONFIDENCE, "programme_group": LOW_CONFIDENCE, "cohort": first["cohort"],
                "confidence": first["confidence"], "primary": False}
    if code not in balance:
        label = DEFICIT_UNKNOWN
    else:
        label = OTHER_DEFICIT if balance[code]["value"] > 0 else OTHER_NO_DEFICIT
    return {"group": label, "programme_group": label, "cohort": None, "confidence": None, "primary": True}


def groups(as_of: str | None = None) -> pd.DataFrame:
    """Return one row per current LA with its comparison group as of a financial year (default: latest status).

    Columns: area_code, area_name, region_code, region_name, group, programme_group (SV cohorts joined, DBV
    tranches joined), cohort, confidence, primary (False for low-confidence entries, shown apart), sv_cohort
    (the LA's SV agreement year whatever as_of is), deficit_financial_year and deficit_measure (the DSG balance
    used for the two 'Other' groups: the latest year with data up to as_of).
    """
    _check_as_of(as_of)
    out = _groups(as_of).copy()
    out.attrs["coverage"] = coverage_statement(out)
    return out


@lru_cache(maxsize=8)
def _groups(as_of: str | None) -> pd.DataFrame:
    """Return the groups frame for one as_of (cached per process; callers copy it)."""
    las = current_las()
    programmes = _programme_rows()
    by_area = dict(list(programmes.groupby("area_code")))
    empty = programmes.iloc[0:0]
    balance = {r["area_code"]: r for _, r in latest_balance(as_of).iterrows()}
    rows = []
    for la in las.itertuples(index=False):
        entries = by_area.get(la.area_code, empty)
        assigned = _assign(la.area_code, entries, balance, as_of)
        sv = entries[(entries["programme"] == "safety_valve") & entries["primary"]]
        held = balance.get(la.area_code)
        is_other = assigned["group"] in (OTHER_DEFICIT, OTHER_NO_DEFICIT)
        rows.append({"area_code": la.area_code, "area_name": la.area_name, "region_code": la.region_code,
                     "region_name": la.region_name, **assigned,
                     "sv_cohort": sv["cohort"].iloc[0] if not sv.empty else None,
                     "deficit_financial_year": held["financial_year"] if is_other else None,
                     "deficit_measure": held["measure"] if is_other else None})
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    for column in ["cohort", "confidence", "sv_cohort", "deficit_financial_year", "deficit_measure"]:
        out[column] = out[column].astype("string")
    out["primary"] = out["primary"].astype(bool)
    return out


def group_order() -> list[str]:
    """Return the group labels in display order (SV cohorts, DBV tranches, Other groups, low confidence)."""
    return ([f"SV {c}" for c in SV_ANNOUNCED_BY_COHORT] + [f"DBV {t}" for t in DBV_ANNOUNCED_BY_TRANCHE]
            + [OTHER_DEFICIT, OTHER_NO_DEFICIT, DEFICIT_UNKNOWN, LOW_CONFIDENCE])


def programme_group_order() -> list[str]:
    """Return the programme-level group labels in display order."""
    return [FAMILY_SV, FAMILY_DBV, OTHER_DEFICIT, OTHER_NO_DEFICIT, DEFICIT_UNKNOWN, LOW_CONFIDENCE]


# ----------------------------------------------------------------------------------------- coverage


def coverage_statement(frame: pd.DataFrame | None = None) -> str:
    """Return the sentence that states how many of the announced SV agreements and DBV LAs are identified.

    Given a `groups()` frame, it also states how many current LAs each group holds and which DSG balance
    year and measure the 'Other' groups rest on.
    """
    programmes = _programme_rows()
    sv = programmes[(programmes["programme"] == "safety_valve") & programmes["primary"]]
    low = programmes[~programmes["primary"]]
    dbv = programmes[programmes["programme"] == "dbv"]
    by_cohort = "; ".join(f"{c}: {int((sv['cohort'] == c).sum())} of {n}" for c, n in SV_ANNOUNCED_BY_COHORT.items())
    by_tranche = "; ".join(f"{t}: {int((dbv['cohort'] == t).sum())} of {n}"
                           for t, n in DBV_ANNOUNCED_BY_TRANCHE.items())
    text = (f"{len(sv)} of the {SV_AGREEMENTS_ANNOUNCED} Safety Valve agreements ({by_cohort}) and "
            f"{_dbv_las_identified(programmes)} of the {DBV_LAS_ANNOUNCED} DBV LAs ({by_tranche}) are identified")
    medium = programmes[programmes["confidence"] == "medium"]
    if len(medium):
        text += f"; {len(medium)} of these entries have medium confidence (cohort or tranche inferred)"
    if len(low):
        names = ", ".join(sorted(low["area_name"]))
        text += f"; {len(low)} further Safety Valve candidate(s) of low confidence ({names}) are shown apart"
    if frame is not None:
        text += ". " + _group_counts_sentence(frame)
    return text


def _dbv_las_identified(programmes: pd.DataFrame) -> int:
    """Return the number of DBV names identified (Cumberland and Westmorland and Furness count apart, as on DfE's lists)."""
    dbv = programmes[programmes["programme"] == "dbv"]
    return int(dbv["area_code"].nunique())


def _group_counts_sentence(frame: pd.DataFrame) -> str:
    """Return 'Of N current LAs: ...' with the count per group and the DSG balance basis of the Other groups."""
    counts = frame["group"].value_counts()
    parts = [f"{g} {int(counts[g])}" for g in group_order() if g in counts.index]
    text = f"Of {len(frame)} current LAs: " + ", ".join(parts)
    other = frame.dropna(subset=["deficit_measure"])
    if not other.empty:
        basis = other.groupby(["deficit_financial_year", "deficit_measure"]).size()
        text += ("; 'Other' groups by the latest DSG cumulative balance held (positive = deficit): "
                 + ", ".join(f"{fy} {m} for {n} LA(s)" for (fy, m), n in basis.items()))
    unknown = frame[frame["group"] == DEFICIT_UNKNOWN]
    if not unknown.empty:
        text += f"; no balance data for {', '.join(unknown['area_name'])}"
    return text


# ----------------------------------------------------------------------------------------- overview


def overview() -> pd.DataFrame:
    """Return SV and DBV LAs per region and England: counts, names and DfE money committed (GBP, known sums).

    `sv_dfe_amount_gbp` sums the SV agreements whose total DfE commitment a source states; `sv_amounts_unknown`
    counts those without. DBV 'up to £1m' implementation grants are ceilings and left blank unless a council
    confirms the award. LAs that moved from DBV to SV (Bracknell Forest, Bristol) appear in both programmes.
    Low-confidence entries are counted apart (`low_confidence_las`) and not in the programme columns.
    """
    areas = load("areas").set_index("area_code")
    rows = _programme_rows()
    rows["region_code"] = rows["area_code"].map(areas["region_code"])
    regions = areas[areas["level"] == "region"].sort_index()
    out = []
    for code, name in [*zip(regions.index, regions["area_name"], strict=True), (None, "England")]:
        here = rows if code is None else rows[rows["region_code"] == code]
        record: dict[str, Any] = {"region_code": code or "E92000001", "region_name": name}
        for programme, prefix in (("safety_valve", "sv"), ("dbv", "dbv")):
            chosen = here[(here["programme"] == programme) & here["primary"]].sort_values(["order", "area_name"])
            record[f"{prefix}_las"] = len(chosen)
            record[f"{prefix}_dfe_amount_gbp"] = int(chosen["dfe_amount_gbp"].dropna().sum())
            record[f"{prefix}_amounts_known"] = int(chosen["dfe_amount_gbp"].notna().sum())
            record[f"{prefix}_amounts_unknown"] = int(chosen["dfe_amount_gbp"].isna().sum())
            record[f"{prefix}_names"] = "; ".join(f"{r.area_name} ({r.cohort})" for r in chosen.itertuples())
        low = here[~here["primary"]]
        record["low_confidence_las"] = "; ".join(f"{r.area_name} (SV {r.cohort}?)" for r in low.itertuples())
        out.append(record)
    frame = pd.DataFrame(out)
    frame.attrs["coverage"] = coverage_statement()
    return frame


# ----------------------------------------------------------------------------------------- `sendlib la`


def la_record(area: str) -> dict[str, Any]:
    """Return the `sendlib la --json` object: area_code, area_name, region_name, programmes, headline."""
    from sendlib.headline import la_headline

    row = resolve_area(area, levels=("la",), parameter="QUERY")
    entries = status(row["area_code"])
    keys = ("programme", "cohort", "dfe_amount_gbp", "confidence", "source")
    return {"area_code": str(row["area_code"]), "area_name": str(row["area_name"]),
            "region_name": _str_or_none(row["region_name"]),
            "programmes": [{k: e[k] for k in keys} for e in entries],
            "headline": la_headline(str(row["area_code"]))}


def _money(value: float | None) -> str:
    """Return GBP as '£12.3m' (or '£950k' under a million; 'n/a' if missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value == 0:
        return "£0"
    if abs(value) >= 1e6:
        return f"{'-' if value < 0 else ''}£{abs(value) / 1e6:,.1f}m"
    return f"{'-' if value < 0 else ''}£{abs(value) / 1e3:,.0f}k"


def _number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    """Return a number with thousands separators (or 'n/a')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}{suffix}"


def format_la(record: dict[str, Any]) -> str:
    """Return the readable `sendlib la` text for one LA record (from la_record)."""
    h = record["headline"]
    row = resolve_area(record["area_code"], levels=("la",))
    lines = [record["area_name"], f"  Codes: {row['area_code']} (DfE 3-digit), {row['ons_code']} (ONS)",
             f"  Region: {record['region_name'] or 'n/a'}"]
    if h.get("abolished_note"):
        lines.append(f"  {h['abolished_note']}")
    lines.append("Programme status")
    entries = status(record["area_code"])
    if not entries:
        lines.append("  Not in Safety Valve or Delivering Better Value (in the entries identified so far)")
    for e in entries:
        cohort = f"agreement {e['cohort']}" if e["programme"] == "safety_valve" else e["cohort"]
        amount = (f"DfE {_money(e['dfe_amount_gbp'])} committed" if e["dfe_amount_gbp"] is not None
                  else f"DfE amount not known{' (' + e['amount_note'] + ')' if e['amount_note'] else ''}")
        lines.append(f"  {e['programme_name']}, {cohort}: {amount}; confidence {e['confidence']}")
        if e["period"]:
            lines.append(f"    {e['period']}")
        lines.append(f"    source: {e['source']}")
        if e["dfe_amount_gbp"] is not None and e["amount_source"]:
            lines.append(f"    amount source: {e['amount_source']}")
    if h.get("comparison_group"):
        primary = "" if h.get("comparison_group_primary") else " (not in the primary comparison groups)"
        lines.append(f"  Comparison group: {h['comparison_group']}{primary}")
    lines.append("Headline numbers")
    lines.extend("  " + line for line in headline_lines(h))
    lines.append("Coverage: " + coverage_statement() + ".")
    return "\n".join(lines)


def headline_lines(h: dict[str, Any]) -> list[str]:
    """Return the readable lines of a la_headline dict (EHC plans, funding per plan, gap, deficit)."""
    lines = []
    if h.get("ehc_plans_latest") is not None:
        lines.append(f"EHC plans, January {h['ehc_plans_january']}: {_number(h['ehc_plans_latest'])}")
    if h.get("growth_since_2015_pct") is not None:
        lines.append(f"Growth since January 2015: {h['growth_since_2015_pct']:+,.0f}% ({h['growth_since_2015_basis']})")
    if h.get("ehc_plans_per_1000_aged_0_25") is not None:
        lines.append(f"EHC plans per 1,000 aged 0-25: {h['ehc_plans_per_1000_aged_0_25']:.1f} (January 2024 plans, "
                     f"mid-2023 population; England {h['england_ehc_plans_per_1000_aged_0_25']:.1f})")
    if h.get("hnb_per_plan_gbp") is None and h.get("hnb_gbp") is not None:
        lines.append(f"High needs block {h['hnb_financial_year']}: {_money(h['hnb_gbp'])} (per plan: n/a)")
    if h.get("hnb_per_plan_gbp") is not None:
        lines.append(f"High needs block {h['hnb_financial_year']}: {_money(h['hnb_gbp'])} = "
                     f"£{h['hnb_per_plan_gbp']:,.0f} per plan (plans of January {h['hnb_plans_january']}); "
                     f"real funding per plan {h['real_per_plan_index']:.1f} (base year {h['gap_base_year']} = 100)")
    if h.get("gap_gbp") is not None:
        lines.append(f"Funding gap {h['gap_financial_year']}: {_money(h['gap_gbp'])}; cumulative "
                     f"{h['gap_base_year']} to {h['gap_financial_year']}: {_money(h['gap_cumulative_gbp'])} cash "
                     f"({_money(h['gap_cumulative_real_gbp'])} in {h['gap_prices']} prices, {h['gap_deflator']} "
                     f"deflator); gap = funding needed to hold {h['gap_base_year']} real funding per plan, minus the "
                     "high needs block (positive = shortfall)")
    elif h.get("gap_note"):
        lines.append(f"Funding gap: n/a ({h['gap_note']})")
    if h.get("deficit_gbp") is not None:
        word = "deficit" if h["deficit_gbp"] > 0 else "surplus" if h["deficit_gbp"] < 0 else "balance (nil)"
        share = (f", {h['deficit_pct_of_hnb']:.0f}% of the {h['deficit_financial_year']} high needs block"
                 if h.get("deficit_pct_of_hnb") is not None and h["deficit_gbp"] > 0 else "")
        lines.append(f"DSG cumulative {word}, end {h['deficit_financial_year']}: {_money(abs(h['deficit_gbp']))}{share} "
                     f"(status {h['deficit_status']}: s251 line 1.9.3)")
    if h.get("dsg_balance_pct_of_dsg_income") is not None:
        lines.append(f"DSG cumulative balance, end {h['dsg_balance_pct_financial_year']}: "
                     f"{h['dsg_balance_pct_of_dsg_income']:+.2f}% of DSG income (positive = deficit; status "
                     f"{h['dsg_balance_pct_status']})")
    if h.get("deficit_gbp") is None and h.get("dsg_balance_pct_of_dsg_income") is None:
        lines.append("DSG deficit: not known (no balance in the files in hand)")
    return lines


def _jsonable(value: Any) -> Any:
    """Return value with NaN/NA as None and numpy numbers as Python numbers (for json.dumps)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def command_la(args: argparse.Namespace) -> int:
    """Print the LA's programme status and headline numbers (or one JSON object with --json); return 0."""
    record = _jsonable(la_record(args.query))
    if args.json:
        print(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        print(format_la(record))
    return 0
