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

from typing import Any

import pandas as pd

from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import ENGLAND_CODE, current_las, resolve_area
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


def programme_rows() -> pd.DataFrame:
    """Return programmes.csv with `primary` (confidence is not low) and `order` (agreement or tranche rank)."""
    rows = load("programmes")
    rows["primary"] = rows["confidence"] != "low"
    rows["order"] = [fy_start(c) if is_fy_label(c) else int(str(c)[-1]) for c in rows["cohort"]]
    return rows


def _check_as_of(as_of: str | None) -> None:
    """Raise ParameterError unless as_of is None or a financial year label."""
    if as_of is not None and not is_fy_label(as_of):
        raise ParameterError("as_of", as_of, "a financial year such as '2022-23'")


STATUS_COLUMNS = ["area_code", "area_name", "programme", "cohort", "dfe_amount_gbp", "confidence", "primary",
                  "counted_from", "counted_until", "source", "amount_source", "amount_note", "confidence_note",
                  "notes"]


def status_table() -> pd.DataFrame:
    """Return every programme entry (one row per LA and programme), Safety Valve first, with `counted_from` (the
    year a primary Safety Valve entry counts from) and `counted_until` (the Safety Valve year that ends a DBV
    entry of an LA that moved to Safety Valve, e.g. Bracknell Forest and Bristol); money in GBP."""
    rows = programme_rows()
    sv = (rows["programme"] == "safety_valve") & rows["primary"]
    first_sv = rows[sv].sort_values("order").groupby("area_code")["cohort"].first()
    rows["counted_from"] = rows["cohort"].where(sv)
    rows["counted_until"] = rows["area_code"].map(first_sv).where(rows["programme"] == "dbv")
    rows = rows.assign(sv_first=rows["programme"] != "safety_valve").sort_values(["area_code", "sv_first", "cohort"])
    out = rows[STATUS_COLUMNS].reset_index(drop=True)
    for column in ("counted_from", "counted_until"):
        out[column] = out[column].astype("string")
    return out


def status(area: str) -> list[dict[str, Any]]:
    """Return the LA's programme entries (programme, cohort, dfe_amount_gbp in GBP, confidence, source, ...)
    as dicts (see status_table), Safety Valve first; an empty list for an LA in neither programme."""
    row = resolve_area(area, levels=("la",))
    table = status_table()
    entries = table[table["area_code"] == row["area_code"]]
    return [{k: _plain(v) for k, v in entry.items()} for entry in entries.to_dict("records")]


def _plain(value: object) -> object:
    """Return a table value as a plain Python value (None where missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


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
    las = current_las()
    programmes = programme_rows()
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


COVERAGE_COLUMNS = ["programme", "cohort", "identified", "announced", "medium_confidence", "low_confidence",
                    "low_confidence_names"]


def coverage() -> pd.DataFrame:
    """Return per programme and cohort (and 'all'): entries identified against those announced (counts), how many
    have medium confidence, and the low-confidence candidates kept apart (count and names)."""
    programmes = programme_rows()
    rows = []
    for programme, announced in (("safety_valve", SV_ANNOUNCED_BY_COHORT), ("dbv", DBV_ANNOUNCED_BY_TRANCHE)):
        entries = programmes[programmes["programme"] == programme]
        firm = entries[entries["primary"]]
        low = entries[~entries["primary"]]
        for cohort, count in [*announced.items(), ("all", sum(announced.values()))]:
            if cohort != "all":
                here, low_here = firm[firm["cohort"] == cohort], low[low["cohort"] == cohort]
            else:
                here, low_here = firm, low
            identified = int(here["area_code"].nunique()) if programme == "dbv" else len(here)
            rows.append({"programme": programme, "cohort": cohort, "identified": identified,
                         "announced": SV_AGREEMENTS_ANNOUNCED if (programme, cohort) == ("safety_valve", "all")
                         else DBV_LAS_ANNOUNCED if (programme, cohort) == ("dbv", "all") else count,
                         "medium_confidence": int((here["confidence"] == "medium").sum()),
                         "low_confidence": len(low_here),
                         "low_confidence_names": "; ".join(sorted(low_here["area_name"])) or None})
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


# ----------------------------------------------------------------------------------------- overview


def overview() -> pd.DataFrame:
    """Return SV and DBV LAs per region and England: counts, names and DfE money committed (GBP, known sums).

    `sv_dfe_amount_gbp` sums the SV agreements whose total DfE commitment a source states; `sv_amounts_unknown`
    counts those without. DBV 'up to £1m' implementation grants are ceilings and left blank unless a council
    confirms the award. LAs that moved from DBV to SV (Bracknell Forest, Bristol) appear in both programmes.
    Low-confidence entries are counted apart (`low_confidence_las`) and not in the programme columns.
    """
    areas = load("areas").set_index("area_code")
    rows = programme_rows()
    rows["region_code"] = rows["area_code"].map(areas["region_code"])
    regions = areas[areas["level"] == "region"].sort_index()
    out = []
    for code, name in [*zip(regions.index, regions["area_name"], strict=True), (None, "England")]:
        here = rows if code is None else rows[rows["region_code"] == code]
        record: dict[str, Any] = {"region_code": code or ENGLAND_CODE, "region_name": name}
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
    return pd.DataFrame(out)
