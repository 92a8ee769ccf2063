"""What the commands share about their arguments: empty values refused for every flag, an area named by the
user (saying on stderr which area a partial name was taken as), financial years, the model's parameter names
translated to the user's flags, and the lines that say an output used modified data."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable, Iterator, Mapping

import pandas as pd

from sendlib.errors import ParameterError

#: What a flag expects, said when it is given an empty value (by its argparse dest; other flags: DEFAULT_EXPECTED).
EMPTY_EXPECTED = {
    "csv": "a file name (or - for standard output)", "out": "a folder name", "dest": "a folder name",
    "raw": "a folder name", "dir": "a folder name", "names": "a file name", "area": "an area name or code",
    "region": "a region name or code", "la": "an LA name or code", "base_year": "a financial year such as 2015-16",
    "prices": "a financial year such as 2025-26", "outcome": "an outcome name (without --outcome: every outcome)",
    "only": "the name of a downloadable source (`sendlib data download --list` lists them)",
}
DEFAULT_EXPECTED = "a value (an empty one is not a choice)"
#: Commands whose text output carries the modified-data header and footer on standard output.
TEXT_COMMANDS = ("gap", "la", "compare", "effects")


# --------------------------------------------------------------------------------------- empty values


def chosen_parsers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[argparse.ArgumentParser]:
    """Return the parser and the sub-command parsers the arguments went through (sendlib, data, check...)."""
    chain = [parser]
    while True:
        step = next((a for a in chain[-1]._actions if isinstance(a, argparse._SubParsersAction)), None)
        name = getattr(args, step.dest, None) if step is not None else None
        if step is None or name not in step.choices:
            return chain
        chain.append(step.choices[name])


def refuse_empty_values(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Raise ParameterError naming the flag if any flag that takes a value was given an empty one (`--area ''`):
    an empty value never silently means the default."""
    for step in chosen_parsers(parser, args):
        for action in step._actions:
            if not action.option_strings or action.nargs == 0 or not hasattr(args, action.dest):
                continue
            value = getattr(args, action.dest)
            given = value if isinstance(value, list) else [value]
            for item in given:
                if isinstance(item, str) and not item.strip():
                    flag = max(action.option_strings, key=len)
                    raise ParameterError(flag, item, EMPTY_EXPECTED.get(action.dest, DEFAULT_EXPECTED))


# --------------------------------------------------------------------------------------- values


def area_argument(value: str, levels: Iterable[str], flag: str) -> pd.Series:
    """Return the registry row of the area a flag names; say on stderr which area a partial name was taken as."""
    from sendlib.geography import match_area

    match = match_area(value, tuple(levels), flag)
    if match.partial:
        print(f"sendlib: {match.taken_as(flag)}", file=sys.stderr)
    return match.row


def say_taken_as(value: str, levels: Iterable[str], flag: str) -> None:
    """Say on stderr which area a partial name was taken as; say nothing for a code, a whole name, or a value
    that names no single area (the command refuses that itself, with its own list of valid values)."""
    from sendlib.geography import match_area

    try:
        match = match_area(value, tuple(levels), flag)
    except ParameterError:
        return
    if match.partial:
        print(f"sendlib: {match.taken_as(flag)}", file=sys.stderr)


def financial_year_argument(value: str | None, flag: str) -> str | None:
    """Return a financial year flag's value without surrounding spaces (None if not given); ParameterError
    naming the flag if it is empty or not a year like 2015-16."""
    from sendlib.periods import is_fy_label

    if value is None:
        return None
    text = str(value).strip()
    if not text:
        raise ParameterError(flag, value, EMPTY_EXPECTED.get(flag.lstrip("-").replace("-", "_"), DEFAULT_EXPECTED))
    if not is_fy_label(text):
        raise ParameterError(flag, value, "a financial year such as 2015-16 (four digits, a hyphen, the next year's "
                                          "last two digits)")
    return text


@contextlib.contextmanager
def named_as_flags(flags: Mapping[str, str], values: Mapping[str, object] | None = None) -> Iterator[None]:
    """Re-raise a model's ParameterError under the user's flag ('base_year' -> '--base-year'), with the value the
    user typed where the command passed on another form of it (`values`: parameter -> typed value)."""
    try:
        yield
    except ParameterError as exc:
        if exc.parameter not in flags:
            raise
        value = (values or {}).get(exc.parameter, exc.value)
        raise ParameterError(flags[exc.parameter], value, exc.expected, exc.suggestions) from None


# --------------------------------------------------------------------------------------- modified data


def modified_data_words() -> str | None:
    """Return which tables differ from their MANIFEST.json, in words (None if none: the data are as built)."""
    from sendlib.data import describe_modified

    return describe_modified()


def modified_data_header() -> str | None:
    """Return the first line of a text output made from modified data (None if the data are as built)."""
    words = modified_data_words()
    if words is None:
        return None
    return (f"MODIFIED DATA: these figures use tables that differ from MANIFEST.json ({words}), allowed by "
            "--allow-modified-data. They are not sendlib's published figures: do not share them as such.")


def modified_data_footer() -> str | None:
    """Return the last line of an output made from modified data (None if the data are as built)."""
    words = modified_data_words()
    if words is None:
        return None
    return f"MODIFIED DATA: the figures above use tables that differ from MANIFEST.json ({words})."


def text_output(args: argparse.Namespace) -> bool:
    """Return True if the command prints readable text on standard output (not CSV or JSON)."""
    return (getattr(args, "command", None) in TEXT_COMMANDS and getattr(args, "csv", None) is None
            and not getattr(args, "json", False))


def say_modified_data(args: argparse.Namespace, where: str) -> None:
    """Print the modified-data header ('header', text outputs only) or footer ('footer': on standard output
    for text, else one line on stderr), if the tables used differ from MANIFEST.json."""
    if where == "header":
        line = modified_data_header() if text_output(args) else None
        if line:
            print(line + "\n")
        return
    words = modified_data_words()
    if words is None:
        return
    if text_output(args):
        print("\n" + modified_data_footer())
    else:
        print(f"sendlib: MODIFIED DATA: this output uses tables that differ from MANIFEST.json ({words}), allowed "
              "by --allow-modified-data; it is not sendlib's published figures", file=sys.stderr)
