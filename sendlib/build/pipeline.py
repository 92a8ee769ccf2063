"""Run every table builder, validate, and write data/processed and MANIFEST.json all at once or not at all."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from sendlib import __version__
from sendlib.build.common import Built, path_of
from sendlib.build.context_tables import (
    build_context,
    build_high_needs_spend,
    build_population,
    build_statistical_neighbours,
)
from sendlib.build.ehcp import SUPPRESSION_COLUMNS, build_ehcp, caseload_inputs, sen2_presence
from sendlib.build.funding_tables import build_deflators, build_high_needs_block, build_national_series
from sendlib.build.hex_layout import build_hex_layout
from sendlib.build.programme_tables import build_dsg_balance, build_programmes
from sendlib.data import MANIFEST, clear_cache
from sendlib.geography import build_areas
from sendlib.io import STAGING_PREFIX, remove_abandoned, write_folder_atomic
from sendlib.paths import external_dir
from sendlib.readers.ees import read_columns
from sendlib.schemas import SCHEMAS, conform, validate
from sendlib.sources import SOURCES, sha256_of


def _build_areas(raw: Path) -> Built:
    """Return areas.csv from the dfeR lookups, the boundary changes and the SEN2 January counts."""
    geo = read_columns(path_of(raw, "dfer_geo_hierarchy"), list(SOURCES["dfer_geo_hierarchy"].columns))
    old = read_columns(path_of(raw, "dfer_old_la_codes"), list(SOURCES["dfer_old_la_codes"].columns))
    changes = read_columns(path_of(raw, "boundary_changes"), list(SOURCES["boundary_changes"].columns))
    frame = build_areas(geo, old, changes, sen2_presence(raw))
    las = frame[frame["level"] == "la"]
    return Built("areas", frame, ["dfer_geo_hierarchy", "dfer_old_la_codes", "boundary_changes",
                                  *caseload_inputs(raw)], [],
                 [f"{len(las)} LAs counted since January 2015, "
                  f"{int((las['last_year'] == las['last_year'].max()).sum())} in January {las['last_year'].max()}"],
                 ["first_year/last_year = first and last January the LA was counted in SEN2 (from 2015)",
                  "successor_codes name the LAs that took over an abolished LA's area",
                  "ons_code is the latest ONS code; former_ons_codes the earlier ones (Buckinghamshire, "
                  "North Yorkshire, Somerset changed ONS codes without changing their 3-digit code)"])


def build_tables(raw: Path, progress=None) -> list[Built]:
    """Return every processed table built from the official files under `raw`, validated."""
    raw = Path(raw)
    steps = []
    areas = _build_areas(raw)
    steps.append(areas)
    tick = progress or (lambda name: None)
    tick("areas")
    ehcp = build_ehcp(raw, areas.frame)
    tick("ehcp")
    hnb = build_high_needs_block(raw, areas.frame)
    tick("high_needs_block")
    deflators = build_deflators(raw)
    tick("deflators")
    national = build_national_series(raw, external_dir(), ehcp.frame, hnb.frame, deflators.frame)
    tick("national_series")
    steps += [ehcp, hnb, national, deflators]
    for builder in (build_programmes, build_dsg_balance, build_high_needs_spend, build_population, build_context,
                    build_statistical_neighbours, build_hex_layout):
        built = builder(raw, areas.frame)
        steps.append(built)
        tick(built.name)
    steps.append(_build_suppressions(steps))
    tick("suppressions")
    for built in steps:
        schema = SCHEMAS[built.name]
        built.frame = validate(conform(built.frame, schema), schema)
    return steps


def _build_suppressions(steps: list[Built]) -> Built:
    """Return suppressions.csv: every value a table keeps that an input suppressed (its symbol) or left out."""
    found = [b for b in steps if b.suppressed is not None]
    frame = pd.concat([b.suppressed for b in found], ignore_index=True) if found else \
        pd.DataFrame(columns=SUPPRESSION_COLUMNS)
    order = {"england": 0, "region": 1, "la": 2}
    frame = frame.sort_values(["table", "level", "area_code", "period", "column"],
                              key=lambda c: c.map(order) if c.name == "level" else c).reset_index(drop=True)
    counts = frame.groupby(["table", "symbol"]).size()
    checks = [f"{table}: {count:,} value(s) with {symbol!r}" for (table, symbol), count in counts.items()]
    inputs = sorted({name for b in found for name in b.inputs}, key=list(SOURCES).index)
    return Built("suppressions", frame, inputs, [], checks,
                 ["One row per value of a processed table that is missing because its official file suppressed it "
                  "(symbol as published: x, c, z, ...) or had no row for the area in that period ('row absent')",
                  "period is the table's own period key (ehcp: the January); period_label says what the value "
                  "covers (a January count, or the calendar year of a flow)",
                  "Values implied by a region total minus its other LAs are never stored: the build's sum checks "
                  "state the differences (MANIFEST.json, ehcp checks)"])


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return the table as UTF-8 CSV bytes: LF line ends, missing as empty, no index."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def manifest_for(built: list[Built], raw: Path, files: dict[str, bytes]) -> dict:
    """Return MANIFEST.json's content: per table its inputs with checksums, rows, corrections, checks and notes."""
    tables = {}
    for b in built:
        inputs = [SOURCES[name].describe(raw) for name in b.inputs]
        known = {name: release for other in built for name, release in other.releases.items()}
        for item in inputs:
            item["release"] = known.get(item["name"], item["release"])
        if b.name == "national_series":
            statements = external_dir() / "national_hnb_statements.csv"
            inputs.append({"name": "dfe_statements", "file": "data/external/national_hnb_statements.csv",
                           "publisher": "DfE (written parliamentary answers)",
                           "title": "England high needs funding stated by DfE, transcribed with citations",
                           "url": "see each row's url", "release": "see each row", "status": "secondary",
                           "sha256": sha256_of(statements)})
        inputs += b.extra_inputs
        tables[b.name] = {
            "file": f"{b.name}.csv",
            "rows": int(len(b.frame)),
            "sha256": hashlib.sha256(files[b.name]).hexdigest(),
            "row": SCHEMAS[b.name].row,
            "key": list(SCHEMAS[b.name].key),
            "inputs": inputs,
            "corrections": b.corrections,
            "checks": b.checks,
            "notes": b.notes,
        }
        if b.licence:
            tables[b.name]["licence"] = b.licence
    return {"built_by": f"sendlib {__version__}", "licence": "Open Government Licence v3.0 (input data)",
            "tables": tables}


def build_all(raw: Path, out: Path, progress=None) -> dict:
    """Build every table from `raw` and replace the CSVs and MANIFEST.json in `out`; return the manifest.

    Everything is built and validated in memory and written to a temporary folder first: a failure leaves
    `out` exactly as it was.
    """
    raw, out = Path(raw), Path(out)
    remove_abandoned(out, STAGING_PREFIX)  # staging folders of builds that were killed, even if this one fails
    built = build_tables(raw, progress)
    files = {b.name: _csv_bytes(b.frame) for b in built}
    companions = {filename: content for b in built for filename, content in b.companions.items()}
    manifest = manifest_for(built, raw, files)
    contents = {f"{name}.csv": content for name, content in files.items()} | companions
    contents[MANIFEST] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_folder_atomic(out, contents)
    clear_cache()
    return manifest
