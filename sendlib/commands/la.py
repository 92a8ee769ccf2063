"""`sendlib la QUERY [--json]`: "Is your LA included?" The LA's programme status with source and confidence,
its headline numbers under each lens, and its data flags, read from the derived tables."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import pandas as pd

from sendlib import formatting as fmt
from sendlib import story
from sendlib.geography import resolve_area

#: The LA argument (QUERY) in the words errors use.
QUERY_WORDS = "LA name or code"
PROGRAMME_KEYS = ("programme", "cohort", "dfe_amount_gbp", "confidence", "source")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sendlib la`."""
    la = subparsers.add_parser("la", help='"Is your LA included?": programme status and headline numbers')
    la.add_argument("query", metavar="QUERY", help="3-digit code, ONS code or name (any case)")
    la.add_argument("--json", action="store_true", help="print one JSON object")
    la.set_defaults(func=run)


def _plain(value: object) -> Any:
    """Return a table value as plain JSON (None where missing; numpy numbers as Python numbers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) or value is None:
        return value
    if value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _rounded(key: str, value: Any) -> Any:
    """Return GBP to the pound and other floats to 2 decimals (the JSON's precision)."""
    if isinstance(value, float) and not isinstance(value, bool):
        return round(value) if key.endswith("_gbp") else round(value, 2)
    return value


def headline(code: str) -> dict[str, Any]:
    """Return the LA's headline numbers as one flat dict (units in the key names; None where missing)."""
    h = story.la_summary(code)
    own = story.gap_summary_for(code, "la", "own_base")
    out: dict[str, Any] = {
        "ehc_plans_latest": h["ehc_plans_latest"], "ehc_plans_january": h["ehc_plans_january"],
        "ehc_plans_2015": h["ehc_plans_2015"], "growth_since_2015_pct": h["growth_since_2015_pct"],
        "growth_since_2015_to_january": h["growth_to_january"], "growth_since_2015_basis": h["growth_basis"],
        "ehc_plans_per_1000_aged_0_25": h["ehc_plans_per_1000_aged_0_25"],
        "england_ehc_plans_per_1000_aged_0_25": h["england_ehc_plans_per_1000_aged_0_25"],
        "hnb_gbp": h["hnb_gbp"], "hnb_per_plan_gbp": None, "hnb_financial_year": h["hnb_financial_year"],
        "hnb_plans_january": None, "real_per_plan_index": None, "gap_gbp": None, "gap_real_gbp": None,
        "gap_financial_year": None, "gap_base_year": None, "gap_cumulative_gbp": None, "gap_cumulative_real_gbp": None,
        "gap_prices": None, "gap_deflator": None, "gap_note": None}
    if own is not None:
        out.update({"hnb_gbp": own["latest_actual_gbp"], "hnb_per_plan_gbp": own["latest_actual_per_plan_gbp"],
                    "hnb_financial_year": own["latest_year"], "hnb_plans_january": int(own["latest_year"][:4]),
                    "real_per_plan_index": own["latest_real_per_plan_index"], "gap_gbp": own["latest_gap_gbp"],
                    "gap_real_gbp": own["latest_gap_real_gbp"], "gap_financial_year": own["latest_year"],
                    "gap_base_year": own["base_year"], "gap_cumulative_gbp": own["cumulative_gap_gbp"],
                    "gap_cumulative_real_gbp": own["cumulative_gap_real_gbp"], "gap_prices": own["prices"],
                    "gap_deflator": own["deflator"]})
    else:
        out["gap_note"] = story.model_note_text(h)
    out.update({key: h[key] for key in ("deficit_gbp", "deficit_financial_year", "deficit_status",
                                        "deficit_pct_of_hnb", "dsg_balance_pct_of_dsg_income",
                                        "dsg_balance_pct_financial_year", "dsg_balance_pct_status")})
    out["ehc_plans_note"] = story.latest_count_note(code)
    out["comparison_group"] = h["group"]
    out["comparison_group_primary"] = None if fmt.is_missing(h["primary"]) else bool(h["primary"])
    out["abolished_note"] = None
    if not bool(h["current"]):
        successors = [story.la_summary(s)["area_name"] for s in str(h["successor_codes"] or "").split(";") if s]
        out["abolished_note"] = (f"Abolished: last counted in January {int(h['last_january'])}"
                                 + (f"; succeeded by {', '.join(successors)}" if successors else ""))
    return {k: _rounded(k, v) for k, v in _plain(out).items()}


def la_record(query: str) -> dict[str, Any]:
    """Return the `sendlib la --json` object: area_code, area_name, region_name, programmes, headline, lenses
    (the gap under each lens) and flags (code, year, message)."""
    row = resolve_area(query, levels=("la",), parameter="QUERY")
    code = str(row["area_code"])
    entries = story.programme_entries(code)
    flagged = story.flags_for([code])
    return _plain({"area_code": code, "area_name": str(row["area_name"]),
                   "region_name": None if fmt.is_missing(row["region_name"]) else str(row["region_name"]),
                   "programmes": [{k: e[k] for k in PROGRAMME_KEYS} for e in entries],
                   "headline": headline(code), "lenses": lenses(code),
                   "flags": [{"code": r.code, "year": int(r.year), "period": r.period, "message": r.message,
                              "rule": r.rule, "excludes": r.excludes} for r in flagged.itertuples()]})


LENS_KEYS = {"base_year": "base_year", "base_area_code": "base_area_code", "base_rate_gbp": "base_rate_gbp",
             "latest_year": "financial_year", "latest_real_per_plan_index": "real_per_plan_index",
             "latest_gap_gbp": "gap_gbp", "latest_gap_real_gbp": "gap_real_gbp", "first_year": "first_year",
             "cumulative_gap_gbp": "cumulative_gap_gbp", "cumulative_gap_real_gbp": "cumulative_gap_real_gbp",
             "prices": "prices"}


def lenses(code: str) -> dict[str, dict[str, Any]]:
    """Return the LA's latest gap under each lens: own_base, national_rate and, for a council created by a
    reorganisation, area_rate (its own first year); each with what it answers."""
    out = {}
    for _, r in story.lens_rows(code, "la").iterrows():
        entry = {new: _rounded(new, _plain(r[old])) for old, new in LENS_KEYS.items()}
        entry["answers"] = story.LENS_QUESTIONS[r["lens"]]
        out[str(r["lens"])] = entry
    return out


def format_la(record: dict[str, Any]) -> str:
    """Return the readable `sendlib la` text for one LA record (from la_record)."""
    h = record["headline"]
    row = resolve_area(record["area_code"], levels=("la",))
    lines = [record["area_name"], f"  Codes: {row['area_code']} (DfE 3-digit), {row['ons_code']} (ONS)",
             f"  Region: {record['region_name'] or 'n/a'}"]
    if h.get("abolished_note"):
        lines.append(f"  {h['abolished_note']}")
    lines.append("Programme status")
    entries = story.programme_entries(record["area_code"])
    if not entries:
        lines.append("  Not in Safety Valve or Delivering Better Value (in the entries identified so far)")
    for e in entries:
        cohort = f"agreement {e['cohort']}" if e["programme"] == "safety_valve" else e["cohort"]
        amount = (f"DfE {fmt.money(e['dfe_amount_gbp'])} committed" if e["dfe_amount_gbp"] is not None
                  else f"DfE amount not known{' (' + e['amount_note'] + ')' if e['amount_note'] else ''}")
        lines.append(f"  {story.PROGRAMME_NAMES[e['programme']]}, {cohort}: {amount}; confidence {e['confidence']}")
        period = story.entry_period(e)
        if period:
            lines.append(f"    {period}")
        lines.append(f"    source: {e['source']}")
        if e["dfe_amount_gbp"] is not None and e["amount_source"]:
            lines.append(f"    amount source: {e['amount_source']}")
    if h.get("comparison_group"):
        primary = "" if h.get("comparison_group_primary") else " (not in the primary comparison groups)"
        lines.append(f"  Comparison group: {h['comparison_group']}{primary}")
    lines.append("Headline numbers")
    lines.extend("  " + line for line in story.la_headline_lines(record["area_code"]))
    lines.append("Coverage: " + story.coverage())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the LA's programme status and headline numbers (or one JSON object with --json); return 0."""
    from sendlib.commands.arguments import area_argument

    row = area_argument(str(args.query), ("la",), QUERY_WORDS)  # refused, or taken as one LA (said if partial)
    record = la_record(str(row["area_code"]))
    if args.json:
        print(json.dumps(record, indent=2, ensure_ascii=False))
    else:
        print(format_la(record))
    return 0
