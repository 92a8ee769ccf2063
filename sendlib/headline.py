"""Headline numbers for one LA (EHC plans and their growth, funding per plan, the funding gap, the DSG
deficit), as one dict that `sendlib la`, the reports and notebooks share."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.periods import fy_start

ENGLAND = "E92000001"


def _float(value: object) -> float | None:
    """Return value as a float, or None where it is missing."""
    return None if value is None or pd.isna(value) else float(value)


def _int(value: object) -> int | None:
    """Return value as an int, or None where it is missing."""
    return None if value is None or pd.isna(value) else int(value)


def caseload_headline(code: str) -> dict[str, Any]:
    """Return latest EHC plans (count, January), growth since January 2015 (%, with its basis) and plans per 1,000 aged 0-25."""
    from sendlib.compare import indicators, plans_index

    ehcp = load("ehcp")
    own = ehcp[(ehcp["area_code"] == code)].dropna(subset=["ehc_plans"]).sort_values("january")
    out: dict[str, Any] = {"ehc_plans_latest": None, "ehc_plans_january": None, "ehc_plans_2015": None,
                           "growth_since_2015_pct": None, "growth_since_2015_basis": None,
                           "ehc_plans_per_1000_aged_0_25": None, "england_ehc_plans_per_1000_aged_0_25": None}
    if own.empty:
        return out
    last = own.iloc[-1]
    out["ehc_plans_latest"], out["ehc_plans_january"] = _int(last["ehc_plans"]), _int(last["january"])
    base = own[own["january"] == 2015]
    out["ehc_plans_2015"] = _int(base["ehc_plans"].iloc[0]) if not base.empty else None
    index = plans_index(("la",))
    index = index[(index["area_code"] == code) & (index["january"] == last["january"])]
    if not index.empty:
        out["growth_since_2015_pct"] = float(index["ehc_plans_index_2015"].iloc[0]) - 100
        out["growth_since_2015_basis"] = str(index["basis"].iloc[0])
    rates = indicators(("la", "england"))
    rates = rates[rates["indicator"] == "ehc_plans_per_1000_aged_0_25"].set_index("area_code")["value"]
    out["ehc_plans_per_1000_aged_0_25"] = _float(rates.get(code))
    out["england_ehc_plans_per_1000_aged_0_25"] = _float(rates.get(ENGLAND))
    return out


@lru_cache(maxsize=1)
def _la_gap() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the LA funding model (sendlib.funding.gap; real terms in the latest deflator year's prices, as in the
    indicators) and its cumulative gaps (cached)."""
    from sendlib import funding
    from sendlib.compare import latest_prices

    model = funding.gap("la", prices=latest_prices())
    return model, funding.cumulative_gap(model)


def funding_headline(code: str) -> dict[str, Any]:
    """Return the latest high needs block (GBP, per plan) and the funding gap (latest year and cumulative, GBP)."""
    keys = ["hnb_gbp", "hnb_per_plan_gbp", "hnb_financial_year", "hnb_plans_january", "real_per_plan_index",
            "gap_gbp", "gap_real_gbp", "gap_financial_year", "gap_base_year", "gap_cumulative_gbp",
            "gap_cumulative_real_gbp", "gap_prices", "gap_deflator", "gap_note"]
    out: dict[str, Any] = dict.fromkeys(keys)
    model, cumulative = _la_gap()
    rows = model[model["area_code"] == code].dropna(subset=["actual_gbp"])
    if rows.empty:
        funded = load("high_needs_block").query("area_code == @code")
        if funded.empty:
            out["gap_note"] = "no high needs block allocation in the DSG files in hand"
            return out
        last = funded.loc[funded["financial_year"].map(fy_start).idxmax()]
        out.update({"hnb_gbp": _float(last["hnb_before_deductions_gbp"]),
                    "hnb_financial_year": str(last["financial_year"])})
        out["gap_note"] = (f"funded from {funded['financial_year'].min()}, but the model pairs each year with the "
                           "January before it, when the LA was not yet counted; its combined area is in "
                           "sendlib.funding.harmonised_gap")
        return out
    last = rows.loc[rows["financial_year"].map(fy_start).idxmax()]
    out.update({"hnb_gbp": _float(last["actual_gbp"]), "hnb_per_plan_gbp": _float(last["actual_per_plan_gbp"]),
                "hnb_financial_year": str(last["financial_year"]),
                "hnb_plans_january": fy_start(str(last["financial_year"])),
                "real_per_plan_index": _float(last["real_per_plan_index"]),
                "gap_gbp": _float(last["gap_gbp"]), "gap_real_gbp": _float(last["gap_real_gbp"]),
                "gap_financial_year": str(last["financial_year"]), "gap_base_year": str(last["base_year"]),
                "gap_prices": str(last["prices"]), "gap_deflator": str(last["deflator"])})
    total = cumulative[cumulative["area_code"] == code]
    if not total.empty:
        out["gap_cumulative_gbp"] = _float(total["cumulative_gap_gbp"].iloc[0])
        out["gap_cumulative_real_gbp"] = _float(total["cumulative_gap_real_gbp"].iloc[0])
    return out


def deficit_headline(code: str) -> dict[str, Any]:
    """Return the DSG balance where known: latest GBP balance (+ = deficit) with year, status and % of HNB; latest % of income."""
    out: dict[str, Any] = {"deficit_gbp": None, "deficit_financial_year": None, "deficit_status": None,
                           "deficit_pct_of_hnb": None, "dsg_balance_pct_of_dsg_income": None,
                           "dsg_balance_pct_financial_year": None, "dsg_balance_pct_status": None}
    balance = load("dsg_balance")
    balance = balance[balance["area_code"] == code].assign(start=lambda f: f["financial_year"].map(fy_start))
    gbp = balance.dropna(subset=["cumulative_deficit_gbp"]).sort_values("start")
    if not gbp.empty:
        last = gbp.iloc[-1]
        out.update({"deficit_gbp": _int(last["cumulative_deficit_gbp"]),
                    "deficit_financial_year": str(last["financial_year"]), "deficit_status": str(last["gbp_status"])})
        hnb = load("high_needs_block")
        hnb = hnb[(hnb["area_code"] == code) & (hnb["financial_year"] == last["financial_year"])]
        if not hnb.empty:
            out["deficit_pct_of_hnb"] = 100 * float(last["cumulative_deficit_gbp"]) / float(
                hnb["hnb_before_deductions_gbp"].iloc[0])
    pct = balance.dropna(subset=["cumulative_deficit_pct_of_income"]).sort_values("start")
    if not pct.empty:
        last = pct.iloc[-1]
        out.update({"dsg_balance_pct_of_dsg_income": _float(last["cumulative_deficit_pct_of_income"]),
                    "dsg_balance_pct_financial_year": str(last["financial_year"]),
                    "dsg_balance_pct_status": str(last["pct_status"])})
    return out


def _rounded(out: dict[str, Any]) -> dict[str, Any]:
    """Return the headline with GBP to the pound and percentages, rates and indices to 2 decimals."""
    rounded = {}
    for key, value in out.items():
        if isinstance(value, float) and key.endswith("_gbp"):
            value = round(value)
        elif isinstance(value, float):
            value = round(value, 2)
        rounded[key] = value
    return rounded


def la_headline(code: str) -> dict[str, Any]:
    """Return the LA's headline numbers as one flat dict (units in key names; None where missing)."""
    from sendlib.programmes import groups

    areas = load("areas").set_index("area_code")
    if code not in areas.index or areas.loc[code, "level"] != "la":
        raise ParameterError("code", code, "a 3-digit LA code in areas.csv")
    out: dict[str, Any] = {}
    out.update(caseload_headline(code))
    out.update(funding_headline(code))
    out.update(deficit_headline(code))
    members = groups().set_index("area_code")
    out["comparison_group"] = str(members.loc[code, "group"]) if code in members.index else None
    out["comparison_group_primary"] = bool(members.loc[code, "primary"]) if code in members.index else None
    row = areas.loc[code]
    latest = int(areas.loc[areas["level"] == "la", "last_year"].max())
    out["abolished_note"] = None
    if int(row["last_year"]) < latest:
        codes = "" if pd.isna(row["successor_codes"]) else str(row["successor_codes"])
        successors = [areas.loc[s, "area_name"] for s in codes.split(";") if s in areas.index]
        out["abolished_note"] = (f"Abolished: last counted in January {int(row['last_year'])}"
                                 + (f"; succeeded by {', '.join(successors)}" if successors else ""))
    return _rounded(out)
