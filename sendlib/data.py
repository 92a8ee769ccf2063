"""The one way in for data: `load(name)` returns a validated processed table; `check()` compares the
committed tables with MANIFEST.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sendlib.errors import DataValidationError, ParameterError
from sendlib.paths import processed_dir
from sendlib.schemas import SCHEMAS, TABLES, conform, validate
from sendlib.sources import sha256_of

MANIFEST = "MANIFEST.json"


def load(name: str) -> pd.DataFrame:
    """Return the processed table `name` (areas, ehcp, high_needs_block, ...), validated against its schema.

    Tables are read once per process; callers get a copy they may change freely.
    """
    if name not in SCHEMAS:
        raise ParameterError("table", name, f"one of {list(TABLES)}")
    path = processed_dir() / f"{name}.csv"
    stamp = path.stat().st_mtime_ns if path.is_file() else None
    return _load_cached(name, str(path), stamp).copy()


@lru_cache(maxsize=32)
def _load_cached(name: str, path: str, stamp: int | None) -> pd.DataFrame:
    """Read and validate one table (cached by path and modification time)."""
    if stamp is None:
        raise DataValidationError(name, "file not found; run `sendlib data build` or restore it from git")
    schema = SCHEMAS[name]
    frame = pd.read_csv(path, dtype=schema.dtypes(), keep_default_na=False, na_values=[""])
    if list(frame.columns) != schema.names:
        missing = [c for c in schema.names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in schema.names]
        what = "; ".join([f"missing column(s) {missing}"] * bool(missing) + [f"unexpected column(s) {extra}"] * bool(extra))
        raise DataValidationError(name, f"{what or 'columns out of order'}: columns are {list(frame.columns)}, "
                                        f"expected {schema.names}")
    return validate(conform(frame, schema), schema)


def clear_cache() -> None:
    """Forget the tables read so far (after a rebuild in the same process)."""
    _load_cached.cache_clear()


def read_manifest(folder: Path | None = None) -> dict:
    """Return MANIFEST.json of the processed folder."""
    path = (folder or processed_dir()) / MANIFEST
    if not path.is_file():
        raise DataValidationError("MANIFEST", f"{path} not found; run `sendlib data build`")
    return json.loads(path.read_text(encoding="utf-8"))


def check(folder: Path | None = None) -> list[str]:
    """Return problems found comparing each processed table with MANIFEST.json (checksum, rows, schema); [] if none."""
    folder = folder or processed_dir()
    manifest = read_manifest(folder)
    problems = []
    for name in TABLES:
        entry = manifest.get("tables", {}).get(name)
        path = folder / f"{name}.csv"
        if entry is None:
            problems.append(f"{name}: not in {MANIFEST}")
            continue
        if not path.is_file():
            problems.append(f"{name}: {path} is missing")
            continue
        digest = sha256_of(path)
        if digest != entry["sha256"]:
            problems.append(f"{name}: {path.name} has sha256 {digest[:12]}…, but {MANIFEST} records "
                            f"{entry['sha256'][:12]}…: the file was edited after it was built")
            continue
        try:
            schema = SCHEMAS[name]
            frame = pd.read_csv(path, dtype=schema.dtypes(), keep_default_na=False, na_values=[""])
            validate(conform(frame, schema), schema)
        except (DataValidationError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        if len(frame) != entry["rows"]:
            problems.append(f"{name}: {len(frame)} rows, {MANIFEST} records {entry['rows']}")
    return problems


def coverage() -> list[str]:
    """Return lines describing which series, years and LAs the processed tables cover."""
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
        years = have["january"]
        lines.append(f"ehcp.{column}: January {years.min()}–{years.max()}, "
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
    from sendlib.programmes import coverage_statement

    lines.append("programmes: " + coverage_statement())
    return lines
