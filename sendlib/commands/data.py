"""`sendlib data build|derive|check|download`: build the processed tables from the official files, derive the
tables every report reads, check both against their manifests, download the official files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sendlib.schemas import DERIVED, TABLES

EXIT_OK, EXIT_FAILED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sendlib data` and its actions."""
    data = subparsers.add_parser("data", help="build, derive, check or download the data tables")
    actions = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="build data/processed from the official files, then data/derived")
    build.add_argument("--raw", help="folder of official files (default data/raw, else ../shared/reference)")
    build.add_argument("--out", help="folder to write the processed tables (default data/processed)")
    build.add_argument("--no-derive", action="store_true", help="build data/processed only")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=run_build)
    derive = actions.add_parser("derive", help="compute data/derived from data/processed (the models' tables)")
    derive.set_defaults(func=run_derive)
    check = actions.add_parser("check", help="check the tables against their MANIFEST.json files; print coverage")
    check.add_argument("--dir", help="folder of processed tables to check (default: data/processed and data/derived)")
    check.set_defaults(func=run_check)
    download = actions.add_parser("download", help="download the official files into data/raw")
    download.add_argument("--dest", help="folder to download into (default data/raw)")
    download.add_argument("--only", action="append", metavar="NAME", help="download only this source (repeatable)")
    download.add_argument("--list", action="store_true", help="list the sources and their URLs, download nothing")
    download.set_defaults(func=run_download)


def _bar(total: int, quiet: bool, desc: str):
    """Return a progress bar on stderr (silent when not a terminal or --quiet)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="table", disable=quiet or not sys.stderr.isatty())


def run_build(args: argparse.Namespace) -> int:
    """Build data/processed from the official files, then data/derived (unless --no-derive or --out)."""
    from sendlib.build import build_all
    from sendlib.paths import default_raw_dir, processed_dir

    raw = Path(args.raw) if args.raw else default_raw_dir()
    out = Path(args.out) if args.out else processed_dir()
    print(f"Reading official files from {raw}", file=sys.stderr)
    with _bar(len(TABLES), args.quiet, "tables") as bar:
        manifest = build_all(raw, out, progress=lambda name: (bar.set_postfix_str(name), bar.update()))
    for name, entry in manifest["tables"].items():
        fixes = f", {len(entry['corrections'])} correction(s)" if entry["corrections"] else ""
        print(f"  {name + '.csv':28s} {entry['rows']:>6,} rows{fixes}")
    print(f"Wrote {len(manifest['tables'])} tables and MANIFEST.json to {out}")
    if args.no_derive or args.out:
        if args.out:
            print("Derived tables not rebuilt (--out writes elsewhere); run `sendlib data derive` for data/derived")
        return EXIT_OK
    return run_derive(argparse.Namespace(quiet=args.quiet))


def run_derive(args: argparse.Namespace) -> int:
    """Compute data/derived from data/processed and print what was written."""
    from sendlib.derive import derive_all
    from sendlib.paths import derived_dir

    with _bar(len(DERIVED), getattr(args, "quiet", False), "derived") as bar:
        manifest = derive_all(progress=lambda name: (bar.set_postfix_str(name), bar.update()))
    for name, entry in manifest["tables"].items():
        print(f"  {name + '.csv':32s} {entry['rows']:>6,} rows")
    print(f"Wrote {len(manifest['tables'])} derived tables and MANIFEST.json to {derived_dir()}")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """Check the tables against their manifests (checksums, rows, schemas, staleness); print coverage."""
    from sendlib.data import check

    problems = check(Path(args.dir)) if args.dir else check(names=TABLES + DERIVED)
    if len(problems) == 1:
        print(f"sendlib: {problems[0]}", file=sys.stderr)
        return EXIT_FAILED
    if problems:
        print("Tables do not match their MANIFEST.json:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_FAILED
    print("All processed and derived tables match their MANIFEST.json (checksums, row counts, schemas), and the "
          "derived tables are up to date." if not args.dir else "All tables match MANIFEST.json.")
    if not args.dir:
        print("Coverage:")
        for line in coverage_lines():
            print(f"  {line}")
    return EXIT_OK


def coverage_lines() -> list[str]:
    """Return lines describing which series, years and LAs the processed tables cover."""
    from sendlib import story
    from sendlib.data import load

    lines = []
    areas = load("areas")
    las = areas[areas["level"] == "la"]
    latest = int(las["last_year"].max())
    lines.append(f"areas: {len(las)} LAs since 2015 ({int((las['last_year'] == latest).sum())} in {latest}), "
                 f"{int((areas['level'] == 'region').sum())} regions, England")
    ehcp = load("ehcp")
    for column in ["ehc_plans", "new_plans", "requests", "requests_refused", "within_20_weeks_pct",
                   "placement_state_special"]:
        have = ehcp.dropna(subset=[column])
        lines.append(f"ehcp.{column}: January {have['january'].min()}–{have['january'].max()}, "
                     f"{have[have['level'] == 'la']['area_code'].nunique()} LAs")
    for name, period, value in [("high_needs_block", "financial_year", "hnb_before_deductions_gbp"),
                                ("dsg_balance", "financial_year", None), ("high_needs_spend", "financial_year", None),
                                ("population", "mid_year", None)]:
        frame = load(name)
        frame = frame.dropna(subset=[value]) if value else frame
        periods = sorted(frame[period].astype(str).unique())
        lines.append(f"{name}: {', '.join(periods) if len(periods) <= 6 else periods[0] + '–' + periods[-1]}; "
                     f"{frame[frame['level'] == 'la']['area_code'].nunique()} LAs")
    national = load("national_series")
    statuses = national.groupby("hnb_status")["financial_year"].agg(lambda s: f"{s.min()}..{s.max()}")
    lines.append("national_series: " + "; ".join(f"{k} {v}" for k, v in statuses.items())
                 + f"; GDP deflator to {national.dropna(subset=['gdp_deflator'])['financial_year'].max()}")
    lines.append("programmes: " + story.coverage(with_groups=True))
    return lines


def run_download(args: argparse.Namespace) -> int:
    """Download the official files (see sendlib.download)."""
    from sendlib.download import command_download

    return command_download(args)
