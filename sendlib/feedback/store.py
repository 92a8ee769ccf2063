"""Where survey data lives (data/feedback/, git-ignored; env SENDLIB_FEEDBACK_DIR overrides), the disclosure
threshold, the pseudonym key, and reading and writing the stored tables atomically."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import pandas as pd

from sendlib.errors import InputFileError, ParameterError
from sendlib.io import write_bytes_atomic, write_csv_atomic
from sendlib.paths import REPO_ROOT

FEEDBACK_ENV = "SENDLIB_FEEDBACK_DIR"
RESPONSES = "responses.csv"
CONTACTS = "contacts.csv"
ACTIONS = "actions.csv"
SUMMARY = "summary.csv"
QUOTES = "quotes.csv"
SUMMARY_INFO = "summary.json"
SETTINGS = "settings.json"
NAMES = "names.txt"
KEY = ".pseudonym-key"
REJECTED = "rejected"

DEFAULT_THRESHOLD = 5
MINIMUM_THRESHOLD = 3

#: Columns every stored response has before the question columns.
RESPONSE_META = ("submission", "respondent", "layout", "synthetic")
CONTACT_COLUMNS = ("submission", "respondent", "la", "name", "email", "phone")
ACTION_COLUMNS = ("date", "area_code", "issue", "action", "status")


def feedback_dir() -> Path:
    """Return the folder of survey data (data/feedback, git-ignored; env SENDLIB_FEEDBACK_DIR overrides)."""
    return Path(os.environ.get(FEEDBACK_ENV) or REPO_ROOT / "data" / "feedback")


def display_path(path: Path) -> str:
    """Return a path as the user should see it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------- threshold


def check_threshold(value: object) -> int:
    """Return the threshold (respondents, count) if it is a whole number of at least 3; ParameterError otherwise."""
    try:
        number = int(str(value))
    except ValueError:
        number = None
    if number is None or str(number) != str(value).strip() or number < MINIMUM_THRESHOLD:
        raise ParameterError("threshold", value, f"a whole number of respondents, at least {MINIMUM_THRESHOLD} "
                                                 f"(default {DEFAULT_THRESHOLD}); lower thresholds are refused")
    return number


def threshold(folder: Path | None = None) -> int:
    """Return the disclosure threshold in force (respondents, count): settings.json, else the default 5."""
    path = (folder or feedback_dir()) / SETTINGS
    if not path.is_file():
        return DEFAULT_THRESHOLD
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("threshold", DEFAULT_THRESHOLD)
    except (OSError, ValueError, AttributeError) as exc:
        raise InputFileError(path, f"cannot read the settings ({exc})", '{"threshold": 5}') from exc
    try:
        return check_threshold(value)
    except ParameterError as exc:
        raise InputFileError(path, f"threshold {value!r} is not allowed",
                             f"a whole number of at least {MINIMUM_THRESHOLD}") from exc


def set_threshold(value: object, folder: Path | None = None) -> int:
    """Record a new threshold in settings.json; return it (ParameterError if below the minimum)."""
    number = check_threshold(value)
    path = (folder or feedback_dir()) / SETTINGS
    write_bytes_atomic((json.dumps({"threshold": number}, indent=1) + "\n").encode("utf-8"), path)
    return number


# --------------------------------------------------------------------------------------- pseudonyms


def pseudonym_key(folder: Path | None = None, create: bool = True) -> bytes:
    """Return the secret key of the pseudonyms (created at the first import; kept only in the feedback folder)."""
    path = (folder or feedback_dir()) / KEY
    if path.is_file():
        key = path.read_text(encoding="ascii").strip()
        if len(key) != 64:
            raise InputFileError(path, "the pseudonym key is damaged", "64 hexadecimal characters")
        return bytes.fromhex(key)
    if not create:
        raise InputFileError(path, "no pseudonym key", "a key written by the first `sendlib feedback import`")
    key = secrets.token_hex(32)
    write_bytes_atomic((key + "\n").encode("ascii"), path)
    path.chmod(0o600)
    return bytes.fromhex(key)


def pseudonym(key: bytes, prefix: str, text: str) -> str:
    """Return a keyed hash of text: the same input and key give the same pseudonym, which cannot be reversed."""
    return prefix + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


# --------------------------------------------------------------------------------------- tables


def read_table(path: Path, columns: list[str] | tuple[str, ...], what: str) -> pd.DataFrame:
    """Return a stored CSV as text (missing as ''), or an empty frame with the columns when there is no file."""
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if list(frame.columns) != list(columns):
        raise InputFileError(path, f"the stored {what} have columns {list(frame.columns)}",
                             f"{list(columns)} (the file was changed by hand or by another survey definition)")
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write a stored table atomically (UTF-8, LF)."""
    return write_csv_atomic(frame, path)


def response_columns(stored_columns: list[str]) -> list[str]:
    """Return the columns of responses.csv: the pseudonymous keys, then the question columns."""
    return list(RESPONSE_META) + list(stored_columns)


def sha256_file(path: Path) -> str:
    """Return the sha256 of a file ('' when it does not exist)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def read_names(folder: Path | None = None, extra: list[Path] | None = None) -> list[str]:
    """Return the names to redact: data/feedback/names.txt plus any lists given (one name a line, '#' comments)."""
    default = (folder or feedback_dir()) / NAMES
    names: list[str] = []
    for path in [default] + [Path(p) for p in extra or []]:
        if not path.is_file():
            if path == default:
                continue
            raise InputFileError(path, "the list of names to redact does not exist", "a text file, one name a line")
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            text = line.split("#", 1)[0].strip()
            if text:
                names.append(text)
    return names
