"""`sendlib compare`: Safety Valve and DBV councils against all others (medians and interquartile ranges with n,
never a bare mean), and EHC plan growth before and after each Safety Valve agreement, from data/derived."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from sendlib import formatting as fmt
from sendlib import story
from sendlib.data import load

KEY_INDICATORS = ["ehc_plans_per_1000_aged_0_25", "ehc_plans_index_2015", "ehc_plans_growth_pct",
                  "refusal_rate_decided_pct", "within_20_weeks_pct", "placement_independent_special_pct",
                  "hnb_per_plan_real_gbp", "funding_gap_per_plan_real_gbp", "hn_spend_pct_of_hnb",
                  "dsg_deficit_pct_of_hnb"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sendlib compare`."""
    compare = subparsers.add_parser("compare", help="SV and DBV LAs against all others")
    compare.add_argument("--csv", metavar="PATH", help="write the group summaries ('-' for standard output)")
    compare.set_defaults(func=run)


def _value(value: float, unit: str) -> str:
    """Return a value formatted for its unit (pounds to the pound, others to one decimal)."""
    return fmt.pounds(value) if unit.startswith("GBP") else fmt.number(value, 1)


def summary_text(summary: pd.DataFrame) -> str:
    """Return the readable text: latest-year median [IQR] (n) per group for the key indicators."""
    catalogue = load("indicator_catalogue").set_index("name")
    lines = []
    for name in KEY_INDICATORS:
        rows = summary[summary["indicator"] == name]
        if rows.empty:
            continue
        latest = rows[rows["year"] == rows["year"].max()].sort_values("group_rank")
        unit = str(catalogue.loc[name, "unit"])
        lines.append(f"\n{catalogue.loc[name, 'label']}, {latest['period'].iloc[0]} ({unit})")
        for r in latest.itertuples(index=False):
            flag = "  n < 5: read with care" if r.small_n else ""
            lines.append(f"  {r.group:26s} n={r.n:<4d} median {_value(r.median, unit):>9}   "
                         f"IQR {_value(r.q1, unit)} to {_value(r.q3, unit)}{flag}")
    return "\n".join(lines)


def growth_text(table: pd.DataFrame) -> str:
    """Return the readable before/after growth table per SV cohort with the comparison's medians."""
    lines = ["\nEHC plan growth before and after Safety Valve entry (% a year; median [IQR], n), against LAs in "
             "neither programme over the same Januaries"]
    for r in table.itertuples(index=False):
        flag = "  n < 5: read with care" if r.small_n else ""
        lines.append(f"  SV {r.cohort}: before {r.before} {fmt.number(r.before_median)} [{fmt.number(r.before_q1)} to "
                     f"{fmt.number(r.before_q3)}] n={r.before_n}; after {r.after} {fmt.number(r.after_median)} "
                     f"[{fmt.number(r.after_q1)} to {fmt.number(r.after_q3)}] n={r.after_n}; comparison "
                     f"{fmt.number(r.comparison_before_median)} then {fmt.number(r.comparison_after_median)} "
                     f"(n={r.comparison_n}){flag}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the group comparison (or write the tidy group summaries, both groupings, to --csv); return 0."""
    from sendlib.io import check_output_file, write_csv_atomic

    check_output_file(args.csv, "--csv")
    table = load("group_summary")
    if args.csv is not None:
        write_csv_atomic(table, args.csv, flag="--csv")
        if args.csv == "-":
            return 0
        print(f"Wrote {len(table)} rows to {args.csv} (medians and quartiles in each indicator's unit; units and "
              "year meanings: data/derived/indicator_catalogue.csv)", file=sys.stderr)
        return 0
    print("Safety Valve and DBV LAs against all others: medians and interquartile ranges (IQR) with n, current LAs "
          "in their current group, latest year of each indicator")
    print("Coverage: " + story.coverage(with_groups=True))
    print(summary_text(table[table["grouping"] == "programme"]))
    print(growth_text(load("growth_before_after_summary")))
    print("\nNotes: HNB and gap per plan pair financial year t with the January before it; spend and the 2023-24 "
          "DSG balance are third-party derivations of the official s251 file; EHC plans per 1,000 aged 0-25 use the "
          "only population by age in hand (mid-2023). Groups are associations, not effects: see `sendlib effects`.")
    return 0
