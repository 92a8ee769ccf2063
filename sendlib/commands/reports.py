"""`sendlib reports`: execute the report notebooks (papermill) into self-contained HTML with an index."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sendlib reports`."""
    reports = subparsers.add_parser("reports", help="execute the notebooks into HTML reports")
    reports.add_argument("--england", action="store_true", help="the England report")
    reports.add_argument("--region", action="append", default=[], metavar="NAME", help="a region (repeatable)")
    reports.add_argument("--all-regions", action="store_true", help="all 9 regions")
    reports.add_argument("--la", action="append", default=[], metavar="CODE", help="an LA (repeatable)")
    reports.add_argument("--all-las", action="store_true", help="every current LA")
    reports.add_argument("--all", action="store_true", help="England and the 9 regions (the default)")
    reports.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: the number of cores)")
    reports.add_argument("--out", default=None, help="output folder (default outputs)")
    reports.add_argument("--timeout", type=int, default=600, help="seconds allowed per notebook cell")
    reports.add_argument("--kernels", choices=["auto", "fast", "plain"], default=None,
                         help="pre-warmed kernels from the fork server (fast, Linux), plain papermill kernels, or "
                              "auto: fast where it can run (default; also SENDLIB_KERNELS)")
    reports.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the reports (see sendlib.reports.runner), first saying which area each partial name was taken as."""
    from sendlib.commands.arguments import say_taken_as
    from sendlib.reports.runner import command_reports

    for flag, level, values in (("--region", "region", args.region), ("--la", "la", args.la)):
        for value in values:
            say_taken_as(value, (level,), flag)
    return command_reports(args)
