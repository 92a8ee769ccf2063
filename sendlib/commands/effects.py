"""`sendlib effects`: the event study of Safety Valve agreements (Sun–Abraham), for every outcome and comparison,
read from data/derived (estimates, pre-trend tests, the councils behind them, notes and caveats)."""

from __future__ import annotations

import argparse
import sys

from sendlib import story
from sendlib.data import load
from sendlib.errors import ParameterError

COMPARISON_WORDS = {"never": "never in Safety Valve", "dbv": "DBV-only LAs"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sendlib effects`."""
    effects = subparsers.add_parser("effects", help="event study of Safety Valve agreements")
    effects.add_argument("--outcome", help="one outcome (default: all)")
    effects.add_argument("--comparison", choices=list(COMPARISON_WORDS), default=None,
                         help="never-treated LAs, or DBV-only LAs (default: both)")
    effects.add_argument("--sample", choices=["unflagged", "all"], default=None,
                         help="leave out counts a data flag marks (unflagged, the main estimate) or keep all")
    effects.add_argument("--csv", metavar="PATH", help="write the estimates ('-' for standard output)")
    effects.set_defaults(func=run)


def format_block(outcome: str, comparison: str, sample: str) -> str:
    """Return the readable block of one outcome, comparison and sample: cohorts, estimates, pre-trend, drops."""
    test = story.effects_test(outcome, comparison, sample)
    units = story.effects_units(outcome, comparison, sample)
    lines = [f"{outcome} — {test['outcome_description']}",
             f"  unit: {test['unit']}; comparison: {COMPARISON_WORDS[comparison]} "
             f"({int((units['role'] == 'comparison').sum())} units); sample: {sample}; estimator: Sun–Abraham"]
    treated = units[units["role"] == "treated"]
    for (cohort, first), group in treated.groupby(["cohort", "first_treated"], sort=True):
        lines.append(f"  cohort {cohort} (first treated January {int(first)}): {len(group)} — "
                     f"{', '.join(sorted(group['unit_name']))}")
    lines.append(f"  {'event time':>10}  {'estimate':>9}  {'95% interval':>21}  {'treated':>7}")
    for row in story.effects_frame(outcome, comparison, sample).itertuples():
        interval = f"[{row.ci_low:8.3f}, {row.ci_high:8.3f}]"
        mark = "  (reference)" if row.event_time == -1 else ""
        lines.append(f"  {row.event_time:>10}  {row.estimate:9.3f}  {interval:>21}  {row.n_treated:>7}{mark}")
    if isinstance(test["pretrend_event_times"], str):
        times = [int(t) for t in test["pretrend_event_times"].split(";")]
        lines.append(f"  pre-trend test (event times {min(times)}..{max(times)} all zero): "
                     f"F({int(test['pretrend_df_num'])}, {int(test['pretrend_df_denom'])}) = {test['pretrend_f']:.2f}, "
                     f"p = {test['pretrend_p']:.3f}")
    else:
        lines.append("  pre-trend test: no pre-period estimates")
    for (_reason, text), group in units[units["role"] == "dropped"].groupby(["reason", "reason_description"]):
        lines.append(f"  dropped ({text}): {', '.join(sorted(group['unit_name']))}")
    lines.extend(f"  note: {note}" for note in story.effects_notes(outcome, comparison, sample))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the event-study tables (or write the estimates as CSV); return the exit status (0 ok)."""
    from sendlib.io import check_output_file, write_csv_atomic

    tests = load("event_study_tests")
    outcomes = list(dict.fromkeys(tests["outcome"]))
    if args.outcome is not None and args.outcome not in outcomes:  # '' included: an empty value is refused
        raise ParameterError("--outcome", args.outcome, "one of " + ", ".join(outcomes))
    chosen = [args.outcome] if args.outcome else outcomes
    comparisons = [args.comparison] if args.comparison else list(COMPARISON_WORDS)
    samples = [args.sample] if args.sample else [story.MAIN_SAMPLE]
    check_output_file(args.csv, "--csv")
    if args.csv is not None:
        table = load("event_study")
        frame = table[table["outcome"].isin(chosen) & table["comparison"].isin(comparisons)
                      & table["sample"].isin(samples)].reset_index(drop=True)
        write_csv_atomic(frame, args.csv, flag="--csv")
        if args.csv == "-":
            return 0
        print(f"Wrote {len(frame)} rows to {args.csv}", file=sys.stderr)
        for o in chosen:
            for c in comparisons:
                for s in samples:
                    print(f"  {o} vs {c} ({s}): pre-trend p = {story.effects_test(o, c, s)['pretrend_p']:.3f}",
                          file=sys.stderr)
        return 0
    print("Event study of Safety Valve agreements (Sun–Abraham: cohort x event-time effects with LA and year "
          "fixed effects, OLS, LA-clustered errors, averaged over cohorts by their treated LAs)\n")
    caveats: list[str] = []
    for outcome in chosen:
        for comparison in comparisons:
            for sample in samples:
                print(format_block(outcome, comparison, sample) + "\n")
            caveats += story.effects_caveats(outcome, comparison)
    print("Caveats:")
    for caveat in dict.fromkeys(caveats):
        print(f"  - {caveat}")
    return 0



