"""`sendlib gap`: necessary versus actual high needs funding for England, a region or an LA, as a table in £m
(or a CSV in pounds). The default model is read from data/derived/gap.csv; other variants (--deflator, --lag,
--base-year, --prices, --numerator) are computed on demand through sendlib.funding."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from sendlib import formatting as fmt
from sendlib.commands.arguments import area_argument, financial_year_argument, named_as_flags
from sendlib.errors import ParameterError

LENS_OF = {"own": "own_base", "national": "national_rate", "area": "area_rate"}
#: The model's parameter names (sendlib.funding.gap) as the user types them.
FLAGS = {"level": "--level", "area": "--area", "deflator": "--deflator", "lag": "--lag", "base_year": "--base-year",
         "prices": "--prices", "numerator": "--numerator", "la_base": "--la-base"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sendlib gap`."""
    gap = subparsers.add_parser("gap", help="necessary versus actual high needs funding")
    gap.add_argument("--level", choices=["england", "region", "la"], default="england")
    gap.add_argument("--area", help="region or LA: code or name (default: every area of the level)")
    gap.add_argument("--deflator", choices=["gdp", "cpih", "none"], default="gdp")
    gap.add_argument("--lag", type=int, choices=[0, 1], default=0,
                     help="0: plans of the January before the year (default); 1: the January inside it")
    gap.add_argument("--base-year", help="financial year of the base rate, e.g. 2015-16")
    gap.add_argument("--prices", help="financial year whose prices the real-terms columns use (default: the latest "
                                      "year with a deflator)")
    gap.add_argument("--numerator", choices=["before", "after"], default="before",
                     help="high needs block before (default) or after deductions")
    gap.add_argument("--la-base", choices=list(LENS_OF), default=None,
                     help="regions and LAs: the council's own first-year rate (own, the default; a region sums its "
                          "councils), England's 2015-16 rate (national), or the area's own rate in its own first year "
                          "(area)")
    gap.add_argument("--csv", metavar="PATH", help="write the full table in pounds, unrounded ('-' for standard output)")
    gap.set_defaults(func=run)


def is_default(args: argparse.Namespace) -> bool:
    """Return True if the options ask for the model as derived (read from data/derived, not recomputed)."""
    return (args.deflator == "gdp" and args.lag == 0 and args.base_year is None and args.prices is None
            and args.numerator == "before")


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that are empty or do not apply to the chosen level or variant (named by their flag); strip
    the spaces around a financial year ('--base-year " 2015-16 "' is 2015-16); --la-base is 'own' when not given."""
    for flag, value in (("--area", args.area), ("--base-year", args.base_year), ("--prices", args.prices)):
        if value is not None and not str(value).strip():
            raise ParameterError(flag, value, "a non-empty value")
    if args.level == "england" and args.la_base is not None:
        raise ParameterError("--la-base", args.la_base, "no --la-base at --level england (England's base is its own "
                                                        "2015-16 rate; --la-base chooses the base of regions and LAs)")
    if args.deflator == "none" and args.prices is not None:
        raise ParameterError("--prices", args.prices, "no --prices with --deflator none (cash terms have no price year)")
    args.la_base = args.la_base or "own"
    args.base_year = financial_year_argument(args.base_year, "--base-year")
    args.prices = financial_year_argument(args.prices, "--prices")


def gap_rows(args: argparse.Namespace) -> pd.DataFrame:
    """Return the gap rows the options ask for (derived table, or computed for a non-default variant)."""
    from sendlib.data import load

    row = area_argument(args.area, (args.level,), "--area") if args.area is not None else None
    if not is_default(args):
        from sendlib import funding

        with named_as_flags(FLAGS, {"area": args.area}):
            return funding.gap(level=args.level, area=None if row is None else str(row["area_code"]),
                               deflator=args.deflator, lag=args.lag, base_year=args.base_year, prices=args.prices,
                               numerator=args.numerator, la_base=args.la_base)
    table = load("gap")
    lens = "own_base" if args.level == "england" else LENS_OF[args.la_base]
    rows = table[(table["level"] == args.level) & (table["lens"] == lens)]
    if row is not None:
        rows = rows[rows["area_code"] == row["area_code"]]
        if rows.empty:
            from sendlib.funding import no_data_reason

            raise ParameterError("--area", args.area, no_data_reason(row, args.lag))
    return rows.sort_values(["area_code", "financial_year"]).reset_index(drop=True)


def format_table(frame: pd.DataFrame) -> str:
    """Return the gap table as text: money in £m to one decimal, per plan to the pound, index to one decimal."""
    lines = []
    for (code, name), group in frame.groupby(["area_code", "area_name"], sort=False):
        first = group.iloc[0]
        lines.append(f"\n{name} ({code}): base year {first['base_year']}"
                     + base_words(first) + f", deflator {first['deflator']}, real terms in {first['prices']} prices")
        lines.append(f"{'year':8} {'EHC plans':>10} {'actual £m':>10} {'necessary £m':>13} {'gap £m':>9} "
                     f"{'actual £/plan':>14} {'necessary £/plan':>17} {'index':>6} {'real gap £m':>12}")
        for r in group.itertuples():
            lines.append(f"{r.financial_year:8} {fmt.count(r.ehc_plans):>10} {fmt.millions(r.actual_gbp):>10} "
                         f"{fmt.millions(r.necessary_gbp):>13} {fmt.millions(r.gap_gbp):>9} "
                         f"{fmt.number(r.actual_per_plan_gbp, 0):>14} {fmt.number(r.necessary_per_plan_gbp, 0):>17} "
                         f"{fmt.index(r.real_per_plan_index):>6} {fmt.millions(r.gap_real_gbp):>12}")
    return "\n".join(lines)


def base_words(row: pd.Series) -> str:
    """Return what the base rate is, in words, for the header line of one area."""
    lens, base = row["lens"], str(row["base_area_code"])
    if lens == "national_rate" and row["level"] != "england":
        return " (England's 2015-16 rate)" if row["base_year"] == "2015-16" else " (England's rate)"
    if "+" in base and base != row["area_code"]:
        from sendlib.geography import unit_names

        return f" (joined rate of {unit_names().get(base, base)})"
    if row["level"] == "region" and lens == "own_base":
        return " (sum of its councils, each on its own first-year rate)"
    return ""


def reconciliation(frame: pd.DataFrame) -> list[str]:
    """Return the lines saying how LA national-rate necessary funding sums to England's (and what is missing)."""
    from sendlib.data import load

    table = load("gap")
    england = table[(table["level"] == "england") & (table["lens"] == "national_rate")].set_index("financial_year")
    ehcp = load("ehcp").set_index(["area_code", "january"])["ehc_plans"]
    areas = load("areas").set_index("area_code")
    lines = ["\nLA rows against England (national rate): necessary funding summed over the LA rows, and the plans of "
             "councils with no DSG allocation (funded outside the allocation files):"]
    for fy, group in frame.groupby("financial_year"):
        if fy not in england.index or pd.isna(england.loc[fy, "necessary_gbp"]):
            continue
        total, whole = group["necessary_gbp"].sum(), england.loc[fy, "necessary_gbp"]
        january = int(england.loc[fy, "january"])
        counted = set(group["area_code"].str.split("+").explode())
        missing = [c for c in areas.index[areas["level"] == "la"] if c not in counted
                   and not pd.isna(ehcp.get((c, january), float("nan")))]
        names = ", ".join(f"{areas.loc[c, 'area_name']} ({fmt.count(ehcp[(c, january)])} plans)" for c in missing)
        lines.append(f"  {fy}: LAs {fmt.money(total)} against England {fmt.money(whole)} (difference "
                     f"{fmt.money(whole - total)}){': ' + names if names else ''}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the gap table (or write the CSV in pounds, unrounded) for `sendlib gap`; return 0."""
    from sendlib.io import check_output_file, write_csv_atomic

    check_options(args)
    check_output_file(args.csv, "--csv")
    frame = gap_rows(args)
    if args.csv is not None:
        write_csv_atomic(frame, args.csv, flag="--csv")
        if args.csv != "-":
            print(f"Wrote {len(frame)} rows to {args.csv}", file=sys.stderr)
        return 0
    print("Necessary versus actual high needs funding (necessary = base-year funding per EHC plan, held constant "
          "in real terms, times the plans counted in " + ("the January before" if args.lag == 0 else
                                                            "the January inside") + " each year)")
    print(format_table(frame))
    missing = frame[frame["necessary_gbp"].isna()]
    if not missing.empty:
        print(f"\nn/a: no {args.deflator.upper()} deflator published yet for "
              + ", ".join(sorted(missing["financial_year"].unique())) + " (never estimated here)")
    if args.level == "england":
        from sendlib.data import load

        national = load("national_series").set_index("financial_year")
        statuses = national.loc[frame["financial_year"].unique(), "hnb_status"]
        print("\nHigh needs block source by year: " + "; ".join(f"{fy} {s}" for fy, s in statuses.items()))
    if args.level == "la" and args.la_base == "national" and args.area is None:
        print("\n".join(reconciliation(frame)))
    if args.level == "la" and (frame["area_code"].str.contains("+", regex=False)).any():
        print("\nRows like '835+836+...' are a reorganisation year, when the new councils were funded but their plans "
              "were still counted under the old ones: the joined area is one row, so that the LAs add up.")
    return 0
