"""The one way in for data: `load(name)` returns a validated table, processed (data/processed: tidy official
figures) or derived (data/derived: what the models computed from them), checked against its folder's
MANIFEST.json once per process; `check()` compares every table with the manifests.

Every cache of the package lives here (`_TABLES`, `_VERIFIED`): `clear_cache()` empties them all, and the build
and derive steps call it, so an in-process rebuild never leaves stale results.

A table that differs from its manifest (edited by hand, cut off, rows deleted) stops the command with a
DataValidationError naming the table, the expected and found checksum and how to restore it. A researcher who
means to experiment sets SENDLIB_ALLOW_MODIFIED_DATA=1 (or the CLI's --allow-modified-data): loading then goes on,
and `modified_tables()` lists what differs so that every output can say so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from sendlib.errors import DataValidationError, ParameterError
from sendlib.paths import derived_dir, processed_dir
from sendlib.schemas import DERIVED, SCHEMAS, TABLES, Schema, TableContext, check_table, conform, validate
from sendlib.sources import sha256_of

MANIFEST = "MANIFEST.json"
ALLOW_MODIFIED_ENV = "SENDLIB_ALLOW_MODIFIED_DATA"
BUILD_COMMAND = "sendlib data build"
DERIVE_COMMAND = "sendlib data derive"

_TABLES: dict[tuple[str, str, int], pd.DataFrame] = {}
_VERIFIED: dict[tuple[str, str, int], str | None] = {}  # (table, file, mtime) -> None if it matches, else why not
_MANIFESTS: dict[tuple[str, int], dict] = {}


def folder_of(name: str) -> Path:
    """Return the folder that holds a table: data/processed or data/derived."""
    return derived_dir() if SCHEMAS[name].layer == "derived" else processed_dir()


def restore_hint(name: str) -> str:
    """Return how to restore or rebuild a table (the command to run)."""
    layer = SCHEMAS[name].layer
    folder = "data/derived" if layer == "derived" else "data/processed"
    command = DERIVE_COMMAND if layer == "derived" else BUILD_COMMAND
    return f"run `{command}`, or restore it with `git checkout -- {folder}/{name}.csv`"


def allow_modified() -> bool:
    """Return True if the researcher asked to use tables that differ from their manifest."""
    return os.environ.get(ALLOW_MODIFIED_ENV, "").strip().lower() in ("1", "true", "yes")


def load(name: str) -> pd.DataFrame:
    """Return the table `name` (areas, ehcp, ..., or a derived table such as gap), validated against its schema
    and its manifest. Tables are read once per process; callers get a copy they may change freely."""
    if name not in SCHEMAS:
        raise ParameterError("table", name, f"one of {list(TABLES) + list(DERIVED)}")
    path = folder_of(name) / f"{name}.csv"
    if not path.is_file():
        raise DataValidationError(name, f"file {path} not found; {restore_hint(name)}", SCHEMAS[name].layer)
    stamp = path.stat().st_mtime_ns
    key = (name, str(path), stamp)
    if key not in _TABLES:
        verify(name, key)
        _TABLES[key] = read_table(path, SCHEMAS[name], _context(name, key))
    return _TABLES[key].copy()


def _context(name: str, key: tuple[str, str, int]) -> TableContext | None:
    """Return what a table's plausibility rules use: the other tables (loaded), its manifest entry, and whether
    it differs from it (None for a table without rules)."""
    if not SCHEMAS[name].checks:
        return None
    entry = read_manifest(folder_of(name))["tables"].get(name)
    return TableContext(related=load, manifest=entry if isinstance(entry, dict) else {},
                        modified=bool(_VERIFIED.get(key)))


def read_table(path: Path, schema: Schema, context: TableContext | None = None) -> pd.DataFrame:
    """Return one CSV read with its schema's types, conformed and validated (a DataValidationError otherwise);
    with a `context`, the schema's plausibility rules are checked too (sendlib.schemas: years present, sums)."""
    try:
        frame = pd.read_csv(path, dtype=schema.dtypes(), keep_default_na=False, na_values=[""])
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(schema.name, _unreadable(path, schema, exc), schema.layer) from None
    if list(frame.columns) != schema.names:
        missing = [c for c in schema.names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in schema.names]
        what = "; ".join([f"missing column(s) {missing}"] * bool(missing) + [f"unexpected column(s) {extra}"] * bool(extra))
        raise DataValidationError(schema.name, f"{what or 'columns out of order'}: columns are {list(frame.columns)}, "
                                               f"expected {schema.names}", schema.layer)
    frame = validate(conform(frame, schema), schema)
    return check_table(frame, schema, context) if context is not None else frame


def _unreadable(path: Path, schema: Schema, error: BaseException) -> str:
    """Return why a CSV cannot be read with its schema's types: the first cell that is not a number, else the
    parser's own complaint (a cut-off or ragged file)."""
    try:
        text = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        return f"{path} is not a readable CSV ({_first_line(exc)}); it may be cut off"
    for column in schema.columns:
        if column.kind in ("int", "float") and column.name in text.columns:
            values = text[column.name].str.strip()
            bad = values[(values != "") & pd.to_numeric(values, errors="coerce").isna()]
            if not bad.empty:
                return (f"column {column.name!r} holds {bad.iloc[0]!r} at row {int(bad.index[0]) + 2}, expected a "
                        f"number{' (GBP, in pounds)' if column.name.endswith('_gbp') else ''}")
    return f"{path} cannot be read as the expected CSV ({_first_line(error)})"


def _first_line(error: BaseException) -> str:
    """Return the first line of an exception's message."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def clear_cache() -> None:
    """Forget every table, manifest and verification read so far (after a rebuild in the same process)."""
    _TABLES.clear()
    _VERIFIED.clear()
    _MANIFESTS.clear()


# ----------------------------------------------------------------------------------------- manifests


def read_manifest(folder: Path | None = None) -> dict:
    """Return MANIFEST.json of a folder (default data/processed), or raise a DataValidationError naming it."""
    path = (folder or processed_dir()) / MANIFEST
    if not path.is_file():
        command = DERIVE_COMMAND if path.parent == derived_dir() else BUILD_COMMAND
        raise DataValidationError("MANIFEST", f"{path} not found; run `{command}` or restore it from git", None)
    stamp = path.stat().st_mtime_ns
    if (str(path), stamp) not in _MANIFESTS:
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataValidationError("MANIFEST", f"{path} is not valid JSON ({_first_line(exc)}); restore it with "
                                                  "`git checkout` or rebuild", None) from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict):
            raise DataValidationError("MANIFEST", f"{path} has no 'tables' object; restore it or rebuild", None)
        _MANIFESTS[(str(path), stamp)] = manifest
    return _MANIFESTS[(str(path), stamp)]


def _entry(manifest: dict, name: str, path: Path) -> dict:
    """Return a table's manifest entry with its sha256 and rows, or raise naming what is missing."""
    entry = manifest["tables"].get(name)
    if not isinstance(entry, dict):
        raise DataValidationError(name, f"not listed in {path.parent / MANIFEST}; {restore_hint(name)}",
                                  SCHEMAS[name].layer)
    for field in ("sha256", "rows"):
        if field not in entry:
            raise DataValidationError(name, f"its entry in {path.parent / MANIFEST} has no {field!r}; "
                                            f"{restore_hint(name)}", SCHEMAS[name].layer)
    return entry


def difference(name: str) -> str | None:
    """Return what differs between a table and its manifest entry (checksum, or staleness of a derived table),
    or None if it matches."""
    folder = folder_of(name)
    path = folder / f"{name}.csv"
    manifest = read_manifest(folder)
    entry = _entry(manifest, name, path)
    digest = sha256_of(path)
    if digest != entry["sha256"]:
        return (f"{path} has sha256 {digest[:12]}…, but {folder / MANIFEST} records {entry['sha256'][:12]}… "
                f"({entry['rows']} rows): the file was changed after it was built; {restore_hint(name)}")
    if SCHEMAS[name].layer == "derived":
        stale = stale_inputs(manifest)
        if stale:
            return (f"data/derived is older than the processed tables it came from ({', '.join(stale)} changed "
                    f"since it was derived): run `{DERIVE_COMMAND}`")
        for source in TABLES:  # the processed tables it came from must still be as built
            path = processed_dir() / f"{source}.csv"
            key = (source, str(path), path.stat().st_mtime_ns if path.is_file() else -1)
            if key not in _VERIFIED:
                _VERIFIED[key] = difference(source) if path.is_file() else (
                    f"{path} not found; {restore_hint(source)}")
            if _VERIFIED[key]:
                return f"it was derived from data/processed/{source}.csv, which differs now: {_VERIFIED[key]}"
    return None


def stale_inputs(derived_manifest: dict) -> list[str]:
    """Return the processed tables whose sha256 differs from the one the derived tables were computed from."""
    processed = read_manifest(processed_dir())["tables"]
    recorded = derived_manifest.get("inputs", {})
    return sorted(name for name in TABLES if name in processed
                  and recorded.get(name) != processed[name].get("sha256"))


def verify(name: str, key: tuple[str, str, int] | None = None) -> None:
    """Check one table (as found now: name, file, mtime) against its manifest once per process; raise
    DataValidationError on a mismatch unless modified data is allowed (then `modified_tables()` lists it)."""
    if key is None:
        path = folder_of(name) / f"{name}.csv"
        key = (name, str(path), path.stat().st_mtime_ns if path.is_file() else -1)
    if key not in _VERIFIED:
        _VERIFIED[key] = difference(name)
    problem = _VERIFIED[key]
    if problem and not allow_modified():
        raise DataValidationError(name, problem + f" (to use it anyway: --allow-modified-data or "
                                                  f"{ALLOW_MODIFIED_ENV}=1)", SCHEMAS[name].layer)
    if problem and SCHEMAS[name].layer == "derived":
        for source in modified_tables():  # a changed processed table must still be plausible (sums, years)
            if SCHEMAS[source].layer == "processed":
                load(source)


def modified_details() -> dict[str, str]:
    """Return table -> how it differs from its manifest, for the tables checked in this process that differ
    (allowed by the researcher)."""
    current = {}
    for (name, file, stamp), problem in _VERIFIED.items():
        path = folder_of(name) / f"{name}.csv"
        if problem and file == str(path) and path.is_file() and path.stat().st_mtime_ns == stamp:
            current[name] = problem
    return dict(sorted(current.items()))


def describe_modified() -> str | None:
    """Return the tables checked in this process that differ from their MANIFEST.json, in words for an output's
    header and footer ('data/processed: high_needs_block and the derived tables computed from it'); None if none."""
    details = modified_details()
    if not details:
        return None
    processed = [n for n in details if SCHEMAS[n].layer == "processed"]
    derived = [n for n in details if SCHEMAS[n].layer == "derived"]
    stale = [n for n in derived if details[n].startswith("data/derived is older")]
    computed = [n for n in derived if details[n].startswith("it was derived from")]
    own = [n for n in derived if n not in stale and n not in computed]
    parts = (["data/processed: " + ", ".join(processed)] * bool(processed) + ["data/derived: " + ", ".join(own)]
             * bool(own) + ["data/derived is older than data/processed"] * bool(stale))
    text = "; ".join(parts)
    if computed:
        text += (" and " if text else "") + "the derived tables computed from " + ("it" if len(processed) == 1
                                                                                   else "them")
    if processed and not (stale or computed or own):
        return text
    if stale or computed:
        text += "; figures derived before the change, run `sendlib data derive` to recompute them"
    return text


def modified_tables() -> list[str]:
    """Return the tables loaded in this process that differ from their manifest (allowed by the researcher)."""
    return list(modified_details())


def verify_all() -> list[str]:
    """Check every table on disk against its manifest (once per process; DataValidationError on a difference
    unless modified data is allowed), run the plausibility rules of each processed table that differs, and
    return modified_tables(): what a command or report must then say it used."""
    for name in TABLES + DERIVED:
        if (folder_of(name) / f"{name}.csv").is_file():
            verify(name)
    for name in modified_tables():
        if SCHEMAS[name].layer == "processed":
            load(name)
    return modified_tables()


def _folder_context(folder: Path, entry: dict, name: str) -> TableContext:
    """Return the plausibility-rule context of a table checked in `folder` (other tables read from there)."""
    read: dict[str, pd.DataFrame] = {}

    def related(other: str) -> pd.DataFrame:
        if other not in read:
            manifest = read_manifest(folder)["tables"].get(other)
            context = _folder_context(folder, manifest, other) if SCHEMAS[other].checks and manifest else None
            read[other] = read_table(folder / f"{other}.csv", SCHEMAS[other], context)
        return read[other].copy()

    return TableContext(related=related, manifest=entry if isinstance(entry, dict) else {}, modified=False)


def check(folder: Path | None = None, names: tuple[str, ...] = TABLES) -> list[str]:
    """Return problems found comparing each table with its folder's MANIFEST.json (checksum, rows, schema, and
    for derived tables whether they are older than the processed tables); [] if none. A manifest that cannot
    be read is one problem for its folder."""
    problems = []
    manifests: dict[Path, dict | None] = {}
    for name in names:
        base = folder if folder is not None else folder_of(name)
        path = base / f"{name}.csv"
        if base not in manifests:
            try:
                manifests[base] = read_manifest(base)
            except DataValidationError as exc:
                manifests[base] = None
                problems.append(str(exc))
        manifest = manifests[base]
        if manifest is None:
            continue
        try:
            entry = _entry(manifest, name, path)
        except DataValidationError as exc:
            problems.append(f"{name}: {exc.problem}")
            continue
        if not path.is_file():
            problems.append(f"{name}: {path} is missing; {restore_hint(name)}")
            continue
        digest = sha256_of(path)
        if digest != entry["sha256"]:
            problems.append(f"{name}: {path.name} has sha256 {digest[:12]}…, but {MANIFEST} records "
                            f"{entry['sha256'][:12]}…: the file was edited after it was built; {restore_hint(name)}")
            continue
        try:
            frame = read_table(path, SCHEMAS[name], _folder_context(base, entry, name) if SCHEMAS[name].checks
                               else None)
        except DataValidationError as exc:
            if exc.table != name and exc.table in names:
                continue  # a table its rules read is at fault: that table's own line says so
            problems.append(f"{name}: {exc.problem}" if exc.table == name else str(exc))
            continue
        if len(frame) != entry["rows"]:
            problems.append(f"{name}: {len(frame)} rows, {MANIFEST} records {entry['rows']}")
    derived = manifests.get(derived_dir())
    processed_ok = manifests.get(processed_dir(), True) is not None
    if folder is None and derived is not None and processed_ok and set(names) & set(DERIVED):
        try:
            stale = stale_inputs(derived)
        except DataValidationError as exc:
            problems.append(str(exc))
        else:
            if stale:
                problems.append(f"data/derived is older than the processed tables it came from ({', '.join(stale)}"
                                f" changed since): run `{DERIVE_COMMAND}`")
    return problems
