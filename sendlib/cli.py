"""The one command line: `sendlib data build|derive|check|download`, `gap`, `la`, `compare`, `effects`, `reports`."""

from __future__ import annotations

import argparse
import os
import sys

from sendlib import __version__
from sendlib.errors import ParameterError, SendlibError

ALLOW_MODIFIED_ENV = "SENDLIB_ALLOW_MODIFIED_DATA"  # as sendlib.data.ALLOW_MODIFIED_ENV (not imported: startup time)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand (each registered by its module in sendlib.commands)."""
    from sendlib.commands import compare, data, effects, feedback, gap, la, reports

    parser = argparse.ArgumentParser(prog="sendlib", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sendlib {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also SENDLIB_DEBUG=1)")
    parser.add_argument("--allow-modified-data", action="store_true",
                        help="use tables that differ from their MANIFEST.json (for experiments; every output then "
                             "says so; also SENDLIB_ALLOW_MODIFIED_DATA=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data, gap, la, compare, effects, reports, feedback):
        module.register(commands)
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
    allow = "--allow-modified-data" in argv
    argv = [a for a in argv if a not in ("--debug", "--allow-modified-data")]
    before = os.environ.get(ALLOW_MODIFIED_ENV)
    if allow:  # for this process and the report kernels it starts
        os.environ[ALLOW_MODIFIED_ENV] = "1"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        status = _run(parser, args)
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
    finally:
        if allow:
            if before is None:
                os.environ.pop(ALLOW_MODIFIED_ENV, None)
            else:
                os.environ[ALLOW_MODIFIED_ENV] = before


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the chosen command: refuse empty values, and when modified data are allowed, check every table first
    (a changed table must still be plausible) and say in the output's header and footer that the data differ."""
    from sendlib.commands.arguments import refuse_empty_values, say_modified_data
    from sendlib.data import allow_modified, verify_all

    refuse_empty_values(parser, args)
    if allow_modified() and args.command != "data":
        verify_all()
        say_modified_data(args, "header")
    status = args.func(args)
    say_modified_data(args, "footer")
    return status


if __name__ == "__main__":
    sys.exit(main())
