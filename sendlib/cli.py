"""The one command line: `sendlib data build|derive|check|download`, `gap`, `la`, `compare`, `effects`, `reports`."""

from __future__ import annotations

import argparse
import sys

from sendlib import __version__
from sendlib.errors import ParameterError, SendlibError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand (each registered by its module in sendlib.commands)."""
    from sendlib.commands import compare, data, effects, gap, la, reports

    parser = argparse.ArgumentParser(prog="sendlib", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sendlib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data, gap, la, compare, effects, reports):
        module.register(commands)
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
