"""Strict input, messages that name the right thing, plausibility rules, and modified data said loudly (issue 13).

Every case asserts the exit status, that the one line on stderr names the user's flag or the table at fault
(never an internal parameter name), that there is no traceback and that nothing half-written is left. Edited
data are always edited in copies of data/processed and data/derived under tmp_path (SENDLIB_PROCESSED_DIR,
SENDLIB_DERIVED_DIR), never in the repository.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_support import london, one_line

from sendlib.cli import main
from sendlib.data import MANIFEST, allow_modified, clear_cache, load, modified_tables
from sendlib.errors import DataValidationError, ParameterError
from sendlib.geography import MAX_QUERY, find_area_codes, match_area, suggest_areas
from sendlib.paths import derived_dir, processed_dir

ALLOW = "SENDLIB_ALLOW_MODIFIED_DATA"


# --------------------------------------------------------------------------------------- helpers




@pytest.fixture(autouse=True)
def as_built(monkeypatch):
    """Start every test with modified data not allowed and no table cached; leave no cache behind."""
    monkeypatch.delenv(ALLOW, raising=False)
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """Return a folder holding copies of data/processed and data/derived, which every command then reads."""
    folder = tmp_path / "data"
    shutil.copytree(processed_dir(), folder / "processed")
    shutil.copytree(derived_dir(), folder / "derived")
    monkeypatch.setenv("SENDLIB_PROCESSED_DIR", str(folder / "processed"))
    monkeypatch.setenv("SENDLIB_DERIVED_DIR", str(folder / "derived"))
    clear_cache()
    return folder


def edit(folder: Path, name: str, change, layer: str = "processed") -> None:
    """Rewrite one table of a copy after change(frame of text) edits it in place or returns a new frame."""
    path = folder / layer / f"{name}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = change(frame)
    frame = frame if changed is None else changed
    frame.to_csv(path, index=False, lineterminator="\n")
    clear_cache()


def record_checksum(folder: Path, name: str, layer: str = "processed") -> None:
    """Record a table's new checksum and rows in its MANIFEST.json, as if it had been built that way."""
    path = folder / layer / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    table = folder / layer / f"{name}.csv"
    manifest["tables"][name]["sha256"] = hashlib.sha256(table.read_bytes()).hexdigest()
    manifest["tables"][name]["rows"] = len(pd.read_csv(table, dtype=str))
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    clear_cache()


def cell(frame: pd.DataFrame, column: str, **where: str) -> pd.Series:
    """Return the mask of the rows matching `where` (column -> text), failing if there are none."""
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        mask &= frame[key] == value
    assert mask.any(), where
    return mask


def camden_times_ten(frame: pd.DataFrame) -> None:
    """Set Camden's 2023-24 high needs block (before deductions) to ten times its value."""
    mask = cell(frame, "hnb_before_deductions_gbp", area_code="202", financial_year="2023-24")
    frame.loc[mask, "hnb_before_deductions_gbp"] = str(int(frame.loc[mask, "hnb_before_deductions_gbp"].item()) * 10)


LONDON_THREE = ["202", "203", "204"]  # Camden, Greenwich, Hackney


# --------------------------------------------------------------------------------------- strict queries


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return load("areas")


@pytest.mark.parametrize("query", ["???", "!!!", "—", "...", "Лондон", "東京", " ", ""],
                         ids=["question-marks", "bangs", "dash", "dots", "cyrillic", "kanji", "space", "empty"])
@pytest.mark.parametrize("levels", [("la",), ("region",), ("england",), ("la", "region", "england")])
def test_a_query_without_letters_or_digits_matches_nothing_and_is_refused(registry, query, levels):
    assert find_area_codes(query, levels, registry) == []
    assert suggest_areas(query, levels, registry) == []
    with pytest.raises(ParameterError) as caught:
        match_area(query, levels, "--area", registry)
    assert caught.value.parameter == "--area" and caught.value.suggestions == []
    expected = "not an empty value" if not query.strip() else "letters (A-Z) or digits; this one has none"
    assert expected in str(caught.value)


@pytest.mark.parametrize("query, levels, code", [
    ("west mid", ("region",), "E12000005"),
    ("Lond", ("region",), "E12000007"),
    ("Tower Ham", ("la",), "211"),
    ("Hamlets", ("la",), "211"),          # the start of its second word
    ("yorkshire and", ("region",), "E12000003"),
])
def test_the_start_of_a_word_of_one_area_is_taken_and_marked_partial(registry, query, levels, code):
    match = match_area(query, levels, "--area", registry)
    assert match.row["area_code"] == code and match.partial
    assert match.taken_as("--area") == f"--area {query!r} taken as {match.row['area_name']} ({code})"


@pytest.mark.parametrize("query, levels, code", [
    ("Kingston", ("la",), "314"), ("886", ("la",), "886"), ("E10000016", ("la",), "886"),
    ("london", ("region",), "E12000007"), ("England", ("england",), "E92000001"), ("BCP", ("la",), "839"),
])
def test_codes_names_and_aliases_are_not_partial(registry, query, levels, code):
    match = match_area(query, levels, "--area", registry)
    assert match.row["area_code"] == code and not match.partial


@pytest.mark.parametrize("query, levels, listed", [
    ("West", ("region",), ["North West (E12000002)", "South West (E12000009)", "West Midlands (E12000005)"]),
    ("West", ("la",), ["West Sussex (938)", "Westminster (213)", "Cheshire West and Chester (896)"]),
    ("Thames", ("la",), ["Kingston upon Thames (314)", "Richmond upon Thames (318)"]),
])
def test_the_start_of_a_word_of_several_areas_is_refused_with_them_listed(registry, query, levels, listed):
    with pytest.raises(ParameterError, match="matches several areas") as caught:
        match_area(query, levels, "--area", registry)
    for label in listed:
        assert label in caught.value.suggestions


def test_the_middle_of_a_word_is_not_a_match(registry):
    assert find_area_codes("ower", ("la",), registry) == []  # not Tower Hamlets
    assert find_area_codes("idlands", ("region",), registry) == []


def test_an_over_long_query_is_refused_before_matching_and_echoed_cut_short(registry):
    query = "Kent" * 25_000  # 100,000 characters
    assert find_area_codes(query, ("la",), registry) == [] and suggest_areas(query, ("la",), registry) == []
    with pytest.raises(ParameterError) as caught:
        match_area(query, ("la",), "--area", registry)
    message = str(caught.value)
    assert f"at most {MAX_QUERY} characters (this one has 100,000)" in message
    assert len(message) < 300 and "…" in str(caught.value.value) and len(caught.value.value) <= 60
    assert match_area("Kent" + " " * MAX_QUERY, ("la",), "--area", registry).row["area_code"] == "886"  # spaces trimmed


# --------------------------------------------------------------------------------------- strict command line


@pytest.mark.parametrize("argv, starts", [
    (["gap", "--area", "???"], "sendlib: --area='???' is not valid: expected England"),
    (["gap", "--level", "region", "--area", "???"], "sendlib: --area='???' is not valid: expected a region"),
    (["gap", "--level", "la", "--area", "Лондон"], "sendlib: --area='Лондон' is not valid: expected an LA"),
    (["la", "???"], "sendlib: LA name or code '???' is not valid: expected an LA"),
    (["la", ""], "sendlib: LA name or code '' is not valid: expected an LA"),
    (["la", "   "], "sendlib: LA name or code '   ' is not valid: expected an LA"),
    (["reports", "--region", "!!!"], "sendlib: --region='!!!' is not valid"),
])
def test_queries_without_letters_are_one_line_naming_the_argument(tmp_path, capsys, argv, starts):
    argv = argv + (["--out", str(tmp_path / "out")] if argv[0] == "reports" else [])
    assert main(argv) == 2
    printed = capsys.readouterr()
    line = one_line(printed.err)
    assert line.startswith(starts), line
    assert "QUERY" not in line and printed.out == ""  # never England's (or any) table
    assert not (tmp_path / "out").exists()


def test_west_is_refused_and_west_midlands_is_said_when_taken(capsys):
    assert main(["gap", "--level", "region", "--area", "West"]) == 2
    printed = capsys.readouterr()
    line = one_line(printed.err)
    assert line.startswith("sendlib: --area='West' is not valid") and "West Midlands (E12000005)" in line
    assert "South West (E12000009)" in line and printed.out == ""
    assert main(["gap", "--level", "region", "--area", "west mid"]) == 0
    printed = capsys.readouterr()
    assert printed.err == "sendlib: --area 'west mid' taken as West Midlands (E12000005)\n"
    assert "West Midlands (E12000005): base year" in printed.out
    assert main(["gap", "--level", "region", "--area", "West Midlands"]) == 0
    assert capsys.readouterr().err == ""  # a whole name needs no word


def test_la_says_which_council_a_partial_name_was_taken_as(capsys):
    assert main(["la", "Tower Ham", "--json"]) == 0
    printed = capsys.readouterr()
    assert printed.err == "sendlib: LA name or code 'Tower Ham' taken as Tower Hamlets (211)\n"
    assert json.loads(printed.out)["area_code"] == "211"


def test_reports_say_which_area_a_partial_name_was_taken_as(capsys, monkeypatch):
    from sendlib.reports import runner

    seen = []
    monkeypatch.setattr(runner, "command_reports", lambda args: seen.append(args.region) or 0)
    assert main(["reports", "--region", "Lond"]) == 0
    assert capsys.readouterr().err == "sendlib: --region 'Lond' taken as London (E12000007)\n"
    assert seen == [["Lond"]]


def test_a_100000_character_query_is_one_short_line(capsys):
    assert main(["la", "x" * 100_000]) == 2
    line = one_line(capsys.readouterr().err)
    assert len(line) < 300 and f"at most {MAX_QUERY} characters" in line and "x" * 61 not in line


EMPTY = [
    (["gap", "--area", ""], "--area", "an area name or code"),
    (["gap", "--base-year", ""], "--base-year", "a financial year such as 2015-16"),
    (["gap", "--prices", " "], "--prices", "a financial year such as 2025-26"),
    (["gap", "--csv", ""], "--csv", "a file name (or - for standard output)"),
    (["effects", "--outcome", ""], "--outcome", "an outcome name"),
    (["compare", "--csv", "  "], "--csv", "a file name (or - for standard output)"),
    (["reports", "--region", ""], "--region", "a region name or code"),
    (["reports", "--la", ""], "--la", "an LA name or code"),
    (["reports", "--region", "London", "--out", ""], "--out", "a folder name"),
    (["data", "check", "--dir", ""], "--dir", "a folder name"),
    (["data", "build", "--raw", ""], "--raw", "a folder name"),
    (["data", "build", "--out", ""], "--out", "a folder name"),
    (["data", "download", "--dest", "", "--list"], "--dest", "a folder name"),
    (["data", "download", "--only", ""], "--only", "the name of a downloadable source"),
    (["feedback", "template", "--out", ""], "--out", "a folder name"),
]


@pytest.mark.parametrize("argv, flag, expected", EMPTY, ids=[" ".join(a[:2]) + " " + f for a, f, _ in EMPTY])
def test_an_empty_value_is_refused_for_every_flag(tmp_path, monkeypatch, capsys, argv, flag, expected):
    monkeypatch.chdir(tmp_path)  # whatever an empty value might have meant, nothing is written here
    assert main(argv) == 2
    printed = capsys.readouterr()
    value = argv[argv.index(flag) + 1]
    assert one_line(printed.err).startswith(f"sendlib: {flag}={value!r} is not valid: expected {expected}")
    assert printed.out == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, flag", [
    (["gap", "--level", "england", "--la-base", "national"], "--la-base"),
    (["gap", "--la-base", "own"], "--la-base"),  # said explicitly at England level: refused too
    (["gap", "--deflator", "none", "--prices", "2020-21"], "--prices"),
    (["gap", "--level", "region", "--deflator", "none", "--prices", "2020-21"], "--prices"),
])
def test_flags_that_do_not_apply_are_refused(tmp_path, capsys, argv, flag):
    target = tmp_path / "gap.csv"
    assert main(argv + ["--csv", str(target)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"sendlib: {flag}=") and "expected no " + flag in line
    assert not target.exists()


def test_la_base_still_applies_to_regions_and_las(capsys):
    assert main(["gap", "--level", "region", "--area", "London", "--la-base", "own"]) == 0
    assert main(["gap", "--level", "la", "--area", "886", "--la-base", "national"]) == 0
    capsys.readouterr()


def test_a_base_year_with_spaces_around_is_that_year(capsys):
    assert main(["gap", "--base-year", "2016-17"]) == 0
    plain = capsys.readouterr()
    assert main(["gap", "--base-year", " 2016-17 "]) == 0
    spaced = capsys.readouterr()
    assert spaced.out == plain.out and "base year 2016-17" in spaced.out and spaced.err == ""


@pytest.mark.parametrize("argv, flag, fragment", [
    (["gap", "--base-year", "2031-32"], "--base-year", "a year with both funding and plans: 2015-16"),
    (["gap", "--prices", "2031-32"], "--prices", "a year with a published deflator"),
    (["gap", "--base-year", "2015"], "--base-year", "a financial year such as 2015-16"),
    (["gap", "--prices", "2020/21"], "--prices", "a financial year such as 2015-16"),
    (["gap", "--level", "la", "--area", "886", "--base-year", "2016-17"], "--base-year",
     "a year with both funding and plans: 2019-20"),
])
def test_model_errors_name_the_users_flag(capsys, argv, flag, fragment):
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    value = argv[argv.index(flag) + 1]
    assert line.startswith(f"sendlib: {flag}={value!r} is not valid: expected ") and fragment in line
    for internal in ("base_year=", "prices=", "area=", "level=", "la_base="):
        assert f" {internal}" not in line and not line.startswith(f"sendlib: {internal}")


def test_spaces_around_a_year_never_give_an_error_that_lists_the_year_as_valid(capsys):
    assert main(["gap", "--base-year", " 2031-32 "]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("sendlib: --base-year='2031-32' is not valid: expected a year with both funding and plans")
    assert "2031-32," not in line and not line.endswith("2031-32")


@pytest.mark.parametrize("lag", [[], ["--lag", "1"]], ids=["lag-0", "lag-1"])
def test_dorset_county_is_explained_without_citing_other_councils(capsys, lag):
    assert main(["gap", "--level", "la", "--area", "835", *lag]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("sendlib: --area='835' is not valid: expected ")
    assert "Dorset (to 2019) was last counted in January 2019 and abolished before 2019-20" in line
    assert "Dorset (838)" in line and "Bournemouth, Christchurch and Poole (839)" in line
    assert "City of London" not in line and "Scilly" not in line and " area=" not in line


def test_dorset_by_name_is_the_unitary_council_and_has_figures(capsys):
    assert main(["gap", "--level", "la", "--area", "dorset", "--lag", "1"]) == 0
    printed = capsys.readouterr()
    assert printed.err == "" and "\nDorset (838): base year" in printed.out


def test_a_council_outside_the_allocation_files_is_said_as_such(capsys):
    assert main(["gap", "--level", "la", "--area", "City of London"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "City of London has none in the DSG allocation files in hand" in line and "Scilly" not in line


# --------------------------------------------------------------------------------------- plausibility rules


def test_the_committed_tables_pass_every_rule():
    from sendlib.data import check
    from sendlib.schemas import DERIVED, TABLES

    assert check(names=TABLES + DERIVED) == []


def test_a_zero_plan_count_is_a_named_error_never_an_infinite_rate(data_copy, capsys):
    def zero(frame):
        frame.loc[cell(frame, "ehc_plans", area_code="E92000001", january="2024"), "ehc_plans"] = "0"

    edit(data_copy, "ehcp", zero)
    record_checksum(data_copy, "ehcp")
    with pytest.raises(DataValidationError) as caught:
        load("ehcp")
    assert ("data/processed/ehcp.csv: column 'ehc_plans' holds 0 at row " in str(caught.value)
            and "(area_code 'E92000001', january 2024), expected a number above zero" in str(caught.value))
    assert main(["--allow-modified-data", "gap", "--base-year", "2016-17"]) == 1
    printed = capsys.readouterr()
    line = one_line(printed.err)
    assert "ehcp.csv" in line and "ehc_plans" in line and "above zero" in line and "inf" not in printed.out


def test_a_zero_in_the_national_plans_is_refused(data_copy, capsys):
    def zero(frame):
        frame.loc[cell(frame, "ehc_plans_january", financial_year="2024-25"), "ehc_plans_january"] = "0"

    edit(data_copy, "national_series", zero)
    assert main(["gap", "--allow-modified-data"]) == 1
    printed = capsys.readouterr()
    assert "column 'ehc_plans_january' holds 0" in one_line(printed.err) and printed.out == ""


def test_deleting_the_last_two_rows_of_the_national_series_never_moves_the_price_year(data_copy, capsys):
    edit(data_copy, "national_series", lambda frame: frame.iloc[:-2])
    assert main(["gap"]) == 1
    assert "national_series.csv" in one_line(capsys.readouterr().err)
    assert main(["gap", "--allow-modified-data"]) == 1
    printed = capsys.readouterr()
    assert one_line(printed.err).startswith(
        "sendlib: data/processed/national_series.csv: the series ends at 2024-25, but the GDP deflator "
        "(deflators.csv) runs to 2025-26")
    assert printed.out == ""
    record_checksum(data_copy, "national_series")  # a manifest edited to match: the rule still holds
    with pytest.raises(DataValidationError, match="ends at 2024-25"):
        load("national_series")


@pytest.mark.parametrize("year, message", [
    ("2015-16", "financial_year starts at 2016-17, expected 2015-16 (the model's first year)"),
    ("2018-19", "financial_year has no row for 2018-19 (between 2015-16 and 2026-27)"),
])
def test_every_year_of_the_national_series_is_needed(data_copy, year, message):
    edit(data_copy, "national_series", lambda frame: frame[frame["financial_year"] != year])
    record_checksum(data_copy, "national_series")
    with pytest.raises(DataValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load("national_series")


def test_a_hole_in_the_deflator_is_refused(data_copy):
    def hole(frame):
        frame.loc[cell(frame, "gdp_deflator", financial_year="2019-20"), "gdp_deflator"] = ""

    edit(data_copy, "deflators", hole)
    record_checksum(data_copy, "deflators")
    with pytest.raises(DataValidationError, match="gdp_deflator is missing for 2019-20, inside the years it covers"):
        load("deflators")


def test_an_infinite_value_in_a_derived_table_is_refused(data_copy):
    def infinite(frame):
        frame.loc[frame.index[0], "actual_per_plan_gbp"] = "inf"

    edit(data_copy, "gap", infinite, layer="derived")
    record_checksum(data_copy, "gap", layer="derived")
    with pytest.raises(DataValidationError, match="column 'actual_per_plan_gbp' holds inf at row 2 .*finite"):
        load("gap")


def test_a_missing_england_row_is_refused(data_copy):
    edit(data_copy, "ehcp", lambda f: f[~((f["area_code"] == "E92000001") & (f["january"] == "2024"))])
    record_checksum(data_copy, "ehcp")
    with pytest.raises(DataValidationError, match="january 2024 has no row for E92000001"):
        load("ehcp")


def test_deleting_three_london_councils_for_a_year_fails_the_sum_rule(data_copy, capsys):
    def delete(frame):
        return frame[~(frame["area_code"].isin(LONDON_THREE) & (frame["financial_year"] == "2023-24"))]

    edit(data_copy, "high_needs_block", delete)
    named = "financial_year 2023-24: Camden (202), Greenwich (203), Hackney (204) have no row"
    for argv in (["gap", "--allow-modified-data", "--level", "region", "--area", "London"],
                 ["gap", "--allow-modified-data"], ["la", "Camden", "--allow-modified-data"]):
        assert main(argv) == 1
        printed = capsys.readouterr()
        line = one_line(printed.err)
        assert line.startswith("sendlib: data/processed/high_needs_block.csv: ") and named in line
        assert "London's row is the sum of its councils" in line and printed.out == ""
    record_checksum(data_copy, "high_needs_block")  # even with the manifest edited to match
    with pytest.raises(DataValidationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        load("high_needs_block")


def test_deleting_three_london_councils_altogether_fails_the_sum_rule(data_copy, capsys):
    before = len(load("high_needs_block"))
    edit(data_copy, "high_needs_block", lambda frame: frame[~frame["area_code"].isin(LONDON_THREE)])
    after = before - 3 * 5
    assert main(["--allow-modified-data", "gap", "--level", "region"]) == 1
    printed = capsys.readouterr()
    line = one_line(printed.err)
    assert line.startswith(f"sendlib: data/processed/high_needs_block.csv: {after} rows, but MANIFEST.json records "
                           f"{before} (London's hnb_before_deductions_gbp for 2019-20 is £")
    assert "more than the sum of its councils: councils' rows are missing" in line and printed.out == ""
    record_checksum(data_copy, "high_needs_block")  # a manifest edited to match: the sums still do not add up
    with pytest.raises(DataValidationError, match="the councils of London sum to £.*but its row says £"):
        load("high_needs_block")


def test_camden_times_ten_is_plausible_when_allowed_but_not_as_published(data_copy, monkeypatch):
    edit(data_copy, "high_needs_block", camden_times_ten)
    with pytest.raises(DataValidationError, match="sha256"):
        load("high_needs_block")
    monkeypatch.setenv(ALLOW, "1")
    clear_cache()
    frame = load("high_needs_block")
    camden = frame[(frame["area_code"] == "202") & (frame["financial_year"] == "2023-24")]
    assert int(camden["hnb_before_deductions_gbp"].item()) > 500_000_000
    assert modified_tables() == ["high_needs_block"]
    monkeypatch.delenv(ALLOW)
    record_checksum(data_copy, "high_needs_block")  # a manifest edited to hide it: the sum rule finds it
    with pytest.raises(DataValidationError, match="hnb_before_deductions_gbp for 2023-24: the councils of London sum"):
        load("high_needs_block")


def test_suppressed_values_are_the_stated_exceptions_of_the_sum_rule(data_copy):
    ehcp = load("ehcp")
    wight = ehcp[(ehcp["area_code"] == "921") & (ehcp["january"] == 2026)]
    assert pd.isna(wight["ehc_plans"].item())  # suppressed in January 2026: South East keeps its total

    def give_wight_a_value(frame):
        frame.loc[cell(frame, "ehc_plans", area_code="921", january="2026"), "ehc_plans"] = "100"

    edit(data_copy, "ehcp", give_wight_a_value)
    record_checksum(data_copy, "ehcp")
    with pytest.raises(DataValidationError, match="ehc_plans for 2026: the councils of South East sum to"):
        load("ehcp")


def test_a_region_below_its_councils_with_a_suppressed_one_is_refused(data_copy):
    def lower(frame):
        mask = cell(frame, "ehc_plans", area_code="E12000008", january="2026")
        frame.loc[mask, "ehc_plans"] = str(int(frame.loc[mask, "ehc_plans"].item()) - 5000)

    edit(data_copy, "ehcp", lower)
    record_checksum(data_copy, "ehcp")
    with pytest.raises(DataValidationError, match="ehc_plans for 2026: the councils of South East with a value sum to"):
        load("ehcp")


def test_data_check_lists_a_rule_broken_under_an_edited_manifest(data_copy, capsys):
    edit(data_copy, "national_series", lambda frame: frame.iloc[:-2])
    record_checksum(data_copy, "national_series")
    assert main(["data", "check", "--dir", str(data_copy / "processed")]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("sendlib: national_series: the series ends at 2024-25")


# --------------------------------------------------------------------------------------- modified data said loudly


@pytest.fixture
def camden_copy(data_copy) -> Path:
    """A copy of the data with Camden's 2023-24 high needs block x10 (the manifest left as built)."""
    edit(data_copy, "high_needs_block", camden_times_ten)
    return data_copy


def test_modified_data_without_the_flag_is_one_line_and_writes_nothing(camden_copy, tmp_path, capsys):
    target = tmp_path / "gap.csv"
    assert main(["gap", "--csv", str(target)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "high_needs_block.csv" in line and "--allow-modified-data" in line and "sha256" in line
    assert not target.exists()


@pytest.mark.parametrize("argv", [
    ["gap", "--level", "region", "--area", "London"], ["la", "Camden"], ["compare"],
    ["effects", "--outcome", "log_ehc_plans", "--comparison", "never"]], ids=["gap", "la", "compare", "effects"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_text_output_says_modified_data_in_its_first_and_last_line(camden_copy, capsys, argv, where):
    assert main(["--allow-modified-data", *argv] if where == "before" else [*argv, "--allow-modified-data"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.strip().splitlines()
    words = ("data/processed: high_needs_block and the derived tables computed from it; figures derived before the "
             "change, run `sendlib data derive` to recompute them")
    assert lines[0].startswith("MODIFIED DATA: these figures use tables that differ from MANIFEST.json") and \
        words in lines[0] and "not sendlib's published figures" in lines[0]
    assert lines[-1] == f"MODIFIED DATA: the figures above use tables that differ from MANIFEST.json ({words})."
    assert printed.err == "" and not allow_modified()  # the flag is for that command only


def test_csv_and_json_outputs_say_it_in_one_line_on_stderr(camden_copy, tmp_path, capsys):
    target = tmp_path / "gap.csv"
    assert main(["gap", "--allow-modified-data", "--csv", str(target)]) == 0
    printed = capsys.readouterr()
    lines = printed.err.splitlines()
    assert lines[0] == f"Wrote {len(pd.read_csv(target))} rows to {target}"
    assert lines[1].startswith("sendlib: MODIFIED DATA: this output uses tables that differ from MANIFEST.json "
                               "(data/processed: high_needs_block") and len(lines) == 2
    assert main(["gap", "--allow-modified-data", "--csv", "-"]) == 0
    printed = capsys.readouterr()
    assert list(pd.read_csv(io.StringIO(printed.out)).columns)[:2] == ["level", "area_code"]  # CSV only
    assert "MODIFIED DATA" in one_line(printed.err)
    assert main(["la", "Camden", "--json", "--allow-modified-data"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["area_code"] == "202" and "MODIFIED DATA" in one_line(printed.err)


def test_the_environment_variable_allows_it_too(camden_copy, monkeypatch, capsys):
    monkeypatch.setenv(ALLOW, "1")
    assert main(["gap"]) == 0
    assert capsys.readouterr().out.startswith("MODIFIED DATA: ")


def test_output_from_data_as_built_says_nothing_of_it(data_copy, capsys):
    assert main(["gap", "--allow-modified-data"]) == 0
    printed = capsys.readouterr()
    assert "MODIFIED" not in printed.out + printed.err


# --------------------------------------------------------------------------------------- reports


@pytest.fixture
def quick_build(fake_papermill, monkeypatch, tmp_path):
    """The fake papermill of conftest, with a private temp folder."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    return fake_papermill


def test_a_report_from_modified_data_says_so_in_its_masthead_footer_summary_and_index(
        camden_copy, tmp_path, quick_build, capsys):
    from sendlib.reports.index import entry_from_file

    out = tmp_path / "out"
    assert main(london(out)) == 1  # not allowed: refused before any report runs
    line = one_line(capsys.readouterr().err)
    assert "high_needs_block.csv" in line and "--allow-modified-data" in line
    assert not (out / "regions" / "london.html").exists()

    assert main(london(out, "--allow-modified-data")) == 0
    printed = capsys.readouterr()
    words = ("data/processed: high_needs_block and the derived tables computed from it; figures derived before the "
             "change, run `sendlib data derive` to recompute them")
    assert "Built 1 of 1 reports in " in printed.out and f"into {out.resolve()} WITH MODIFIED DATA." in printed.out
    assert f"MODIFIED DATA: tables that differ from MANIFEST.json ({words})" in printed.out
    assert "  ok (MODIFIED DATA) regions/london.html" in printed.err
    page = (out / "regions" / "london.html").read_text(encoding="utf-8")
    masthead = page[page.index('<header class="masthead">'):page.index("</header>")]
    assert 'class="modified-data"' in masthead and words in masthead and "not sendlib's" in masthead
    footer = page[page.index('<footer class="provenance"'):page.index("</footer>")]
    assert "<dt>Data</dt>" in footer and "Modified:" in footer and words in footer
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<span class="status-modified">built with modified data</span>' in index and words in index
    assert '<span class="status-ok">ok</span>' not in index  # the one report in this folder is not just "ok"
    state = json.loads((out / ".reports.json").read_text(encoding="utf-8"))
    assert [(e["relpath"], e["status"], e["modified"]) for e in state["reports"]] == [
        ("regions/london.html", "ok", words)]
    assert entry_from_file(out, "regions/london.html").modified == words  # the record rebuilt from disk keeps it


def test_a_report_from_data_as_built_says_so_in_its_footer(data_copy, tmp_path, quick_build, capsys):
    out = tmp_path / "out"
    assert main(london(out)) == 0
    printed = capsys.readouterr()
    assert "MODIFIED" not in printed.out + printed.err
    page = (out / "regions" / "london.html").read_text(encoding="utf-8")
    assert "<dt>Data</dt><dd>as built: every table matches MANIFEST.json</dd>" in page
    assert "modified-data" not in page.replace(".modified-data", "").replace("sendlib-modified-data", "")
    assert '<span class="status-ok">ok</span>' in (out / "index.html").read_text(encoding="utf-8")


def test_implausible_modified_data_stops_a_build_before_any_report(data_copy, tmp_path, quick_build, capsys):
    edit(data_copy, "high_needs_block", lambda frame: frame[~frame["area_code"].isin(LONDON_THREE)])
    out = tmp_path / "out"
    assert main(london(out, "--allow-modified-data")) == 1
    line = one_line(capsys.readouterr().err)
    assert "high_needs_block.csv" in line and "rows, but MANIFEST.json records" in line
    assert not out.exists() or not list(out.rglob("*.html"))
    assert os.environ.get(ALLOW) is None


# --------------------------------------------------------------------------------------- damaged files, allowed


def _cut_off(path: Path) -> None:
    """Cut a CSV off just after a comma half-way through (as an interrupted copy would)."""
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b",", len(data) // 2) + 1])


def _no_sha256(folder: Path) -> None:
    path = folder / "processed" / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["tables"]["ehcp"]["sha256"]
    path.write_text(json.dumps(manifest), encoding="utf-8")


DAMAGE = [
    ("empty-areas", lambda f: (f / "processed" / "areas.csv").write_bytes(b""), ["la", "kent"],
     "data/processed/areas.csv: ", "is not a readable CSV"),
    ("cut-off-ehcp", lambda f: _cut_off(f / "processed" / "ehcp.csv"), ["gap", "--base-year", "2016-17"],
     "data/processed/ehcp.csv: ", "is missing at row"),
    ("word-in-hnb", lambda f: edit(f, "high_needs_block", lambda t: t.__setitem__(
        "hnb_before_deductions_gbp", t["hnb_before_deductions_gbp"].where(t.index != 0, "10.5bn"))), ["gap"],
     "data/processed/high_needs_block.csv: ", "holds '10.5bn' at row 2, expected a number (GBP, in pounds)"),
    ("no-sha256", _no_sha256, ["gap"], "data/processed/ehcp.csv: ", "has no 'sha256'"),
    ("no-manifest", lambda f: (f / "processed" / MANIFEST).unlink(), ["gap"], "MANIFEST: ", "MANIFEST.json not found"),
]


@pytest.mark.parametrize("damage, argv, starts, fragment", [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_damaged_data_is_one_line_even_when_modified_data_are_allowed(data_copy, tmp_path, capsys, damage, argv,
                                                                      starts, fragment):
    damage(data_copy)
    clear_cache()
    target = tmp_path / "out.csv"
    output = ["--csv", str(target)] if argv[0] == "gap" else ["--json"]
    assert main([*argv, *output]) == 1  # not allowed: one line (the checksum, or the damage itself)
    printed = capsys.readouterr()
    assert one_line(printed.err) and printed.out == "" and not target.exists()
    assert main(["--allow-modified-data", *argv, *output]) == 1  # allowed: the damage itself is named
    printed = capsys.readouterr()
    line = one_line(printed.err)
    assert line.startswith(f"sendlib: {starts}") and fragment in line, line
    assert printed.out == "" and not target.exists() and not allow_modified()


def test_a_council_created_after_the_allocations_in_hand_is_said_as_such():
    from sendlib.funding import no_data_reason

    row = pd.Series({"area_code": "999", "area_name": "Newshire", "level": "la", "first_year": 2028,
                     "last_year": 2028, "successor_codes": pd.NA})
    reason = no_data_reason(row, 0)
    assert reason == ("an LA that existed in the years of the DSG allocations in hand (2019-20 to 2023-24): Newshire "
                      "was first counted in January 2028, after 2023-24")
    gone = no_data_reason(pd.Series({**row.to_dict(), "first_year": 2015, "last_year": 2017}), 0)
    assert gone.endswith("Newshire was last counted in January 2017 and abolished before 2019-20")
