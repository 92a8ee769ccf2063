"""The one command line: `sendlib data build|check|download`, `gap`, `la`, `compare`, `effects`, `reports`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sendlib import __version__
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
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also SENDLIB_DEBUG=1)")
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
    reports.add_argument("--kernels", choices=["auto", "fast", "plain"], default=None,
                         help="pre-warmed kernels from the fork server (fast, Linux), plain papermill kernels, or "
                              "auto: fast where it can run (default; also SENDLIB_KERNELS)")
    reports.set_defaults(func=_delegate("sendlib.reports", "command_reports"))
    return parser


EXIT_INTERRUPTED = 130
DATA_ADVICE = ("run `sendlib data check` to find the table, then restore it (`git checkout data/processed`) "
               "or rebuild it (`sendlib data build`)")


def _failure(exc: Exception) -> tuple[str, int]:
    """Return (one line, exit status) for an exception that reached the command line."""
    import errno
    import json

    from sendlib.io import describe_os_error

    if isinstance(exc, ParameterError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, SendlibError):
        return str(exc), EXIT_FAILED
    where = _file_in_traceback(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); {DATA_ADVICE}", EXIT_FAILED
    if isinstance(exc, OSError):
        problem, advice = describe_os_error(exc)
        if exc.errno == errno.ENOENT:
            problem, advice = "no such file or folder", "check the path"
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{problem}; {advice}", EXIT_FAILED
    if isinstance(exc, json.JSONDecodeError):
        return f"{where}: not valid JSON ({exc.msg}, line {exc.lineno}); {DATA_ADVICE}", EXIT_FAILED
    pandas_errors = sys.modules.get("pandas.errors")
    if pandas_errors is not None and isinstance(exc, pandas_errors.ParserError | pandas_errors.EmptyDataError):
        return f"{where}: not valid CSV ({' '.join(str(exc).split())}); {DATA_ADVICE}", EXIT_FAILED
    return (f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} (run again with --debug "
            "for the traceback and report it)"), EXIT_FAILED


def _file_in_traceback(exc: BaseException) -> str:
    """Return the file being read when `exc` was raised (a path held by the innermost frame that has one)."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name in ("path", "filepath_or_buffer", "filename", "file", "source"):
            value = frame.f_locals.get(name)
            if isinstance(value, str | os.PathLike) and os.path.isfile(value):
                return os.fspath(value)
    return "a data file"


def _fail(exc: BaseException, message: str, status: int, debug: bool) -> int:
    """Print the traceback (with --debug) and the one-line message; return the exit status."""
    import traceback

    try:
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"sendlib: {message}", file=sys.stderr)
    except OSError:  # stderr closed too: nothing more to say
        pass
    return status


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush does not fail again."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):  # stdout may not be a real file (tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failed, 2 bad parameters, 130 interrupted).

    The one error boundary: every expected failure (a bad parameter, a bad data file, a file-system error,
    a lock held too long, Ctrl-C) ends in one line on stderr that names the file or flag and what to do.
    `--debug` (anywhere on the line) or SENDLIB_DEBUG=1 also prints the traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("SENDLIB_DEBUG", "").strip() not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    try:
        args = build_parser().parse_args(argv)
        status = args.func(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # output piped into `head` and the reader stopped: not an error
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt as exc:
        return _fail(exc, "interrupted (Ctrl-C): files already written are complete and nothing half-written "
                          "was kept; run the command again to finish", EXIT_INTERRUPTED, debug)
    except Exception as exc:
        message, status = _failure(exc)
        return _fail(exc, message, status, debug)


if __name__ == "__main__":
    sys.exit(main())
