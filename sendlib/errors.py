"""Errors that name the file, table, column or parameter at fault and what was expected."""

from __future__ import annotations


class SendlibError(Exception):
    """Base class: every error sendlib raises on purpose."""


class InputFileError(SendlibError):
    """An official input file is missing, unreadable or not in the expected format."""

    def __init__(self, path: object, problem: str, expected: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.expected = expected
        message = f"{self.path}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)


class BuildCheckError(SendlibError):
    """A built table failed a consistency check; names the table, area and period."""

    def __init__(self, table: str, problem: str):
        self.table = table
        super().__init__(f"table {table}: {problem}")


class DataValidationError(SendlibError):
    """A processed or derived table does not match its schema or its manifest entry (names the table)."""

    def __init__(self, table: str, problem: str, layer: str | None = "processed"):
        self.table = table
        self.problem = problem
        self.layer = layer
        where = f"data/{layer}/{table}.csv" if layer else table
        super().__init__(f"{where}: {problem}")


class ParameterError(SendlibError):
    """A user-supplied parameter (area, year, deflator...) is not valid.

    `parameter` is what the user typed it as: a flag ('--area') or an internal name ('base_year') reads
    "--area='x' is not valid"; words for a positional argument ('LA name or code') read "LA name or code 'x'
    is not valid"."""

    def __init__(self, parameter: str, value: object, expected: str, suggestions: list[str] | None = None):
        self.parameter = parameter
        self.value = value
        self.expected = expected
        self.suggestions = suggestions or []
        named = f"{parameter} {value!r}" if " " in parameter else f"{parameter}={value!r}"
        message = f"{named} is not valid: expected {expected}"
        if self.suggestions:
            message += ". Did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message)


class OutputFileError(SendlibError):
    """A file or folder sendlib writes cannot be written (read-only, disk full, a folder or file in the way)."""

    def __init__(self, path: object, problem: str, advice: str = "", flag: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.flag = flag
        message = f"cannot write {self.path}" + (f" ({flag})" if flag else "") + f": {problem}"
        if advice:
            message += f"; {advice}"
        super().__init__(message)


class LockTimeoutError(SendlibError):
    """Another sendlib process held a lock longer than we wait; names the lock file and what to do."""

    def __init__(self, lock: object, seconds: float, holder: str):
        self.lock = str(lock)
        super().__init__(f"{self.lock} stayed locked for {seconds:.0f} s: {holder} is still writing there; "
                         "wait for it to finish (or stop it) and run again")
