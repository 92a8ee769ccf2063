"""The data loader: schema dtypes, caching, and check() against MANIFEST.json."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sendlib.data import MANIFEST, check, clear_cache, load, read_manifest
from sendlib.errors import DataValidationError, ParameterError
from sendlib.schemas import SCHEMAS, TABLES

PROCESSED = Path(__file__).resolve().parents[1] / "data" / "processed"


@pytest.fixture
def processed_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a copy of data/processed that load() reads (SENDLIB_PROCESSED_DIR points at it)."""
    folder = shutil.copytree(PROCESSED, tmp_path / "processed")
    monkeypatch.setenv("SENDLIB_PROCESSED_DIR", str(folder))
    return folder


def rewrite_csv(path: Path, change) -> None:
    """Apply change(list of lines) to a CSV file's lines, keeping LF line ends."""
    lines = path.read_text(encoding="utf-8").splitlines()
    change(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def record_checksum(folder: Path, name: str) -> None:
    """Update MANIFEST.json's checksum for one table, as if it had been built that way."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["tables"][name]["sha256"] = hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


@pytest.mark.parametrize("name", TABLES)
def test_load_returns_schema_dtypes_and_columns(name):
    frame = load(name)
    schema = SCHEMAS[name]
    assert list(frame.columns) == schema.names
    assert {c: str(t) for c, t in frame.dtypes.items()} == schema.dtypes()
    assert len(frame) > 0


def test_codes_are_text_with_leading_digits():
    areas = load("areas")
    assert areas["area_code"].dtype == "string"
    assert "201" in set(areas["area_code"])  # City of London, not 201.0 or 201
    ehcp = load("ehcp")
    city = ehcp[ehcp["area_code"] == "201"]
    assert not city.empty and city["january"].dtype == "Int64"
    assert load("statistical_neighbours")["neighbour_code"].str.fullmatch(r"\d{3}").all()


def test_missing_values_stay_missing():
    ehcp = load("ehcp")
    # requests agreed to assess are only published from the 2025 release (flows of 2019 onwards)
    early = ehcp[(ehcp["january"] <= 2019) & (ehcp["level"] == "england")]
    assert early["requests_agreed_to_assess"].isna().all()
    # a count is missing only where its release suppressed it, and suppressions.csv says so (Isle of Wight, 2026)
    missing = ehcp[ehcp["ehc_plans"].isna()]
    assert list(zip(missing["area_code"], missing["january"], strict=True)) == [("921", 2026)]
    reasons = load("suppressions").query("table == 'ehcp' and column == 'ehc_plans'")
    assert list(zip(reasons["area_code"], reasons["period"].astype(int), reasons["symbol"], strict=True)) == [
        ("921", 2026, "x")]


def test_every_suppression_names_a_missing_value_of_its_table():
    suppressions = load("suppressions")
    assert set(suppressions["table"]) == {"ehcp"}
    ehcp = load("ehcp").set_index(["area_code", "january"])
    for row in suppressions.itertuples():
        assert pd.isna(ehcp.loc[(row.area_code, int(row.period)), row.column]), row


def test_loads_are_equal_copies_that_callers_may_change():
    first = load("areas")
    second = load("areas")
    pd.testing.assert_frame_equal(first, second)
    assert first is not second
    first.loc[first.index[0], "area_name"] = "Changed"
    del first["aliases"]
    third = load("areas")
    assert third.loc[third.index[0], "area_name"] != "Changed"
    assert "aliases" in third.columns
    pd.testing.assert_frame_equal(third, second)


def test_unknown_table_is_a_parameter_error():
    with pytest.raises(ParameterError) as caught:
        load("ehcps")
    assert caught.value.parameter == "table"
    assert "ehcp" in str(caught.value)


def test_check_passes_on_an_untouched_copy(processed_copy):
    assert check(processed_copy) == []


def test_check_names_the_table_edited_by_hand(processed_copy):
    def nudge(lines):
        cells = lines[3].split(",")
        cells[1] = f"{float(cells[1]) + 0.5:g}"
        lines[3] = ",".join(cells)

    rewrite_csv(processed_copy / "deflators.csv", nudge)
    problems = check(processed_copy)
    assert len(problems) == 1
    assert problems[0].startswith("deflators: deflators.csv has sha256")
    assert "edited after it was built" in problems[0]


def test_check_reports_a_missing_table_file(processed_copy):
    (processed_copy / "population.csv").unlink()
    problems = check(processed_copy)
    assert len(problems) == 1
    assert problems[0].startswith(f"population: {processed_copy / 'population.csv'} is missing")
    assert "sendlib data build" in problems[0]


def test_check_validates_the_schema_as_well_as_the_checksum(processed_copy):
    rewrite_csv(processed_copy / "deflators.csv", lambda lines: lines.append(lines[-1]))
    record_checksum(processed_copy, "deflators")
    problems = check(processed_copy)
    assert len(problems) == 1 and problems[0].startswith("deflators:")
    assert "key ['financial_year'] repeats" in problems[0]


def test_check_without_a_manifest(tmp_path):
    with pytest.raises(DataValidationError, match="MANIFEST"):
        read_manifest(tmp_path)


def test_load_refuses_a_csv_missing_a_column(processed_copy):
    def drop_cpih(lines):
        for i, line in enumerate(lines):
            cells = line.split(",")
            del cells[2]
            lines[i] = ",".join(cells)

    assert (processed_copy / "deflators.csv").read_text().splitlines()[0].split(",")[2] == "cpih"
    rewrite_csv(processed_copy / "deflators.csv", drop_cpih)
    record_checksum(processed_copy, "deflators")  # the manifest agrees: the schema is what refuses it
    with pytest.raises(DataValidationError) as caught:
        load("deflators")
    message = str(caught.value)
    assert "deflators.csv" in message
    assert "missing column(s) ['cpih']" in message


def test_load_refuses_a_repeated_key(processed_copy):
    rewrite_csv(processed_copy / "high_needs_block.csv", lambda lines: lines.insert(2, lines[1]))
    record_checksum(processed_copy, "high_needs_block")
    with pytest.raises(DataValidationError) as caught:
        load("high_needs_block")
    message = str(caught.value)
    assert "high_needs_block.csv" in message
    assert "key ['area_code', 'financial_year'] repeats" in message


def test_load_refuses_a_value_outside_its_range(processed_copy):
    rewrite_csv(processed_copy / "areas.csv", lambda lines: lines.__setitem__(1, lines[1].replace("la,", "county,", 1)))
    record_checksum(processed_copy, "areas")
    with pytest.raises(DataValidationError, match=r"areas.csv: column 'level' holds 'county'"):
        load("areas")


def test_load_refuses_a_missing_file(processed_copy):
    (processed_copy / "ehcp.csv").unlink()
    with pytest.raises(DataValidationError, match=r"ehcp.csv: file .*ehcp.csv not found; run `sendlib data build`"):
        load("ehcp")


def test_load_after_clear_cache_sees_a_rebuilt_file(processed_copy):
    before = load("deflators")
    rewrite_csv(processed_copy / "deflators.csv", lambda lines: lines.pop())
    record_checksum(processed_copy, "deflators")
    clear_cache()
    assert len(load("deflators")) == len(before) - 1


def test_load_refuses_a_table_edited_after_it_was_built(processed_copy):
    def times_ten(lines):
        cells = lines[1].split(",")
        cells[3] = cells[3] + "0"  # the first row's high needs block x 10
        lines[1] = ",".join(cells)

    rewrite_csv(processed_copy / "high_needs_block.csv", times_ten)
    with pytest.raises(DataValidationError) as caught:
        load("high_needs_block")
    message = str(caught.value)
    assert "high_needs_block.csv" in message and "sha256" in message and "records" in message
    assert "sendlib data build" in message and "git checkout" in message and "--allow-modified-data" in message


def test_modified_data_can_be_allowed_and_is_then_listed(processed_copy, monkeypatch):
    from sendlib.data import modified_tables

    rewrite_csv(processed_copy / "deflators.csv", lambda lines: lines.pop())
    monkeypatch.setenv("SENDLIB_ALLOW_MODIFIED_DATA", "1")
    clear_cache()
    assert len(load("deflators")) > 0
    assert modified_tables() == ["deflators"]


@pytest.mark.parametrize("text, expected", [
    ("10.5bn", "column 'hnb_before_deductions_gbp' holds '10.5bn' at row 2, expected a number (GBP, in pounds)"),
])
def test_a_word_in_a_numeric_column_is_named(processed_copy, text, expected):
    def change(lines):
        header = lines[0].split(",")
        cells = lines[1].split(",")
        cells[header.index("hnb_before_deductions_gbp")] = text
        lines[1] = ",".join(cells)

    rewrite_csv(processed_copy / "high_needs_block.csv", change)
    record_checksum(processed_copy, "high_needs_block")
    with pytest.raises(DataValidationError) as caught:
        load("high_needs_block")
    assert expected in str(caught.value)


def test_derived_tables_load_with_their_schema_and_are_up_to_date():
    from sendlib.schemas import DERIVED

    assert check(names=DERIVED) == []
    for name in DERIVED:
        frame = load(name)
        assert list(frame.columns) == SCHEMAS[name].names and len(frame) > 0, name


def test_a_stale_derived_table_names_the_command_to_run(processed_copy, tmp_path, monkeypatch):
    derived = shutil.copytree(PROCESSED.parent / "derived", tmp_path / "derived")
    monkeypatch.setenv("SENDLIB_DERIVED_DIR", str(derived))
    rewrite_csv(processed_copy / "deflators.csv", lambda lines: lines.pop())
    record_checksum(processed_copy, "deflators")  # a rebuild of the processed tables, not derived again
    clear_cache()
    problems = check(names=("gap",))
    assert any("sendlib data derive" in p and "deflators" in p for p in problems)
    with pytest.raises(DataValidationError, match="run `sendlib data derive`"):
        load("gap")
