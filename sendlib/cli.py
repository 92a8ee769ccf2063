"""The one command line: `sendlib data build|check|download`, `gap`, `la`, `compare`, `effects`, `reports`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sendlib import __version__
from sendlib.commands import feedback as feedback_command
from sendlib.errors import ParameterError, SendlibError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _data_build(args: argparse.Namespace) -> int:
    """Build data/processed from the official files."""
    from tqdm import tqdm

    from sendlib.build import build_all
    from sendlib.paths import default_raw_dir, processed_dir

    raw = Path(args.raw) if args.raw else default_raw_dir()
    out = Path(args.out) if args.out else processed_dir()
    print(f"Reading official files from {raw}", file=sys.stderr)
    with tqdm(total=11, desc="tables", unit="table", disable=args.quiet or not sys.stderr.isatty()) as bar:
        manifest = build_all(raw, out, progress=lambda name: (bar.set_postfix_str(name), bar.update()))
    for name, entry in manifest["tables"].items():
        fixes = f", {len(entry['corrections'])} correction(s)" if entry["corrections"] else ""
        print(f"  {name + '.csv':28s} {entry['rows']:>6,} rows{fixes}")
    print(f"Wrote {len(manifest['tables'])} tables and MANIFEST.json to {out}")
    return EXIT_OK


def _data_check(args: argparse.Namespace) -> int:
    """Check data/processed against MANIFEST.json and print coverage."""
    from sendlib.data import check, coverage

    problems = check(Path(args.dir) if args.dir else None)
    if problems:
        print("Processed tables do not match MANIFEST.json:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_FAILED
    print("All processed tables match MANIFEST.json (checksums, row counts, schemas).")
    if not args.dir:
        print("Coverage:")
        for line in coverage():
            print(f"  {line}")
    return EXIT_OK


def _delegate(module: str, function: str):
    """Return a handler that imports `module` only when its subcommand runs (keeps `sendlib --help` fast)."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(args)

    return handler


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="sendlib", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sendlib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build, check or download the data tables")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    build = data_commands.add_parser("build", help="build data/processed from the official files")
    build.add_argument("--raw", help="folder of official files (default data/raw, else ../shared/reference)")
    build.add_argument("--out", help="folder to write (default data/processed)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=_data_build)
    check = data_commands.add_parser("check", help="check data/processed against MANIFEST.json; print coverage")
    check.add_argument("--dir", help="folder of processed tables (default data/processed)")
    check.set_defaults(func=_data_check)
    download = data_commands.add_parser("download", help="download the official files into data/raw")
    download.add_argument("--dest", help="folder to download into (default data/raw)")
    download.add_argument("--only", action="append", metavar="NAME", help="download only this source (repeatable)")
    download.add_argument("--list", action="store_true", help="list the sources and their URLs, download nothing")
    download.set_defaults(func=_delegate("sendlib.download", "command_download"))

    gap = commands.add_parser("gap", help="necessary versus actual high needs funding")
    gap.add_argument("--level", choices=["england", "region", "la"], default="england")
    gap.add_argument("--area", help="region or LA: code or name (default: every area of the level)")
    gap.add_argument("--deflator", choices=["gdp", "cpih", "none"], default="gdp")
    gap.add_argument("--lag", type=int, choices=[0, 1], default=0,
                     help="0: plans of the January before the year (default); 1: the January inside it")
    gap.add_argument("--base-year", help="financial year of the base rate, e.g. 2015-16")
    gap.add_argument("--prices", help="financial year whose prices the real-terms columns use (default latest)")
    gap.add_argument("--numerator", choices=["before", "after"], default="before",
                     help="high needs block before (default) or after deductions")
    gap.add_argument("--la-base", choices=["own", "national"], default="own",
                     help="LA base rate: its own (default) or England's (a simplification)")
    gap.add_argument("--csv", metavar="PATH", help="write the full table in pounds, unrounded")
    gap.set_defaults(func=_delegate("sendlib.funding", "command_gap"))

    la = commands.add_parser("la", help='"Is your LA included?": programme status and headline numbers')
    la.add_argument("query", metavar="QUERY", help="3-digit code, ONS code or name (any case)")
    la.add_argument("--json", action="store_true", help="print one JSON object")
    la.set_defaults(func=_delegate("sendlib.programmes", "command_la"))

    compare = commands.add_parser("compare", help="SV and DBV LAs against all others")
    compare.add_argument("--csv", metavar="PATH", help="write the group summaries")
    compare.set_defaults(func=_delegate("sendlib.compare", "command_compare"))

    effects = commands.add_parser("effects", help="event study of Safety Valve agreements")
    effects.add_argument("--outcome", help="one outcome (default: all)")
    effects.add_argument("--comparison", choices=["never", "dbv"], default=None,
                         help="never-treated LAs, or DBV-only LAs (default: both)")
    effects.add_argument("--csv", metavar="PATH", help="write the estimates")
    effects.set_defaults(func=_delegate("sendlib.effects", "command_effects"))

    reports = commands.add_parser("reports", help="execute the notebooks into HTML reports")
    reports.add_argument("--england", action="store_true", help="the England report")
    reports.add_argument("--region", action="append", default=[], metavar="NAME", help="a region (repeatable)")
    reports.add_argument("--all-regions", action="store_true", help="all 9 regions")
    reports.add_argument("--la", action="append", default=[], metavar="CODE", help="an LA (repeatable)")
    reports.add_argument("--all-las", action="store_true", help="every current LA")
    reports.add_argument("--all", action="store_true", help="England and the 9 regions (the default)")
    reports.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: the number of cores)")
    reports.add_argument("--out", default=None, help="output folder (default outputs)")
    reports.add_argument("--timeout", type=int, default=600, help="seconds allowed per notebook cell")
    reports.set_defaults(func=_delegate("sendlib.reports", "command_reports"))
    feedback_command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failed, 2 bad parameters)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ParameterError as exc:
        print(f"sendlib: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SendlibError as exc:
        print(f"sendlib: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into `head` and the reader stopped: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
