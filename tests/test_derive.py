"""The derive step: data/derived is what the models give from data/processed, byte for byte, all or nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sendlib import derive
from sendlib.data import read_manifest
from sendlib.errors import DataValidationError
from sendlib.paths import derived_dir, processed_dir
from sendlib.schemas import DERIVED


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Derive every table into a scratch folder (from the committed processed tables)."""
    out = tmp_path_factory.mktemp("derived")
    manifest = derive.derive_all(out)
    return out, manifest


def test_the_committed_derived_tables_are_what_the_models_give_byte_for_byte(fresh):
    out, _manifest = fresh
    for name in [*DERIVED, "MANIFEST"]:
        filename = "MANIFEST.json" if name == "MANIFEST" else f"{name}.csv"
        assert (out / filename).read_bytes() == (derived_dir() / filename).read_bytes(), (
            f"data/derived/{filename} differs from a fresh derive: run `sendlib data derive` and commit it")


def test_the_manifest_records_inputs_rows_and_checksums(fresh):
    out, manifest = fresh
    processed = read_manifest(processed_dir())["tables"]
    assert manifest["inputs"] == {name: entry["sha256"] for name, entry in sorted(processed.items())}
    assert manifest["built_by"].startswith("sendlib ")
    assert set(manifest["tables"]) == set(DERIVED)
    for name, entry in manifest["tables"].items():
        frame = pd.read_csv(out / entry["file"])
        assert len(frame) == entry["rows"] and entry["sha256"] and entry["description"], name
    assert json.loads((out / "MANIFEST.json").read_text(encoding="utf-8")) == manifest


def test_a_table_that_fails_its_schema_leaves_the_folder_as_it_was(fresh, monkeypatch, helpers):
    out, _manifest = fresh
    before = helpers.snapshot(out)
    real = derive.compute

    def broken() -> dict[str, pd.DataFrame]:
        tables = real()
        tables["gap"] = tables["gap"].assign(lens="made-up")  # not an allowed value
        return tables

    monkeypatch.setattr(derive, "compute", broken)
    with pytest.raises(DataValidationError, match="lens"):
        derive.derive_all(out)
    assert helpers.snapshot(out) == before
