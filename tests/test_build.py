"""Table builders: the traps in the official files, the sum checks, a rebuild from the reference files that
matches the committed tables byte for byte, and builds that fail without writing anything."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendlib.build import build_all
from sendlib.build.common import check_sums
from sendlib.build.ehcp import _correct_yorkshire_new_plans, build_ehcp
from sendlib.build.pipeline import _build_areas
from sendlib.errors import BuildCheckError, InputFileError
from sendlib.schemas import TABLES

YORKSHIRE, NORTH_EAST, ENGLAND = "E12000003", "E12000001", "E92000001"


# --------------------------------------------------------------------------------------- Yorkshire 2022 defect


def flows(values: dict[tuple[str, int], float], column: str = "new_ehc_plans") -> pd.DataFrame:
    """Return SEN2 flow rows from {(area_code, year): value}; regions and England are E12/E92 codes."""
    region_of = {"383": YORKSHIRE, "384": YORKSHIRE, "370": YORKSHIRE, "390": NORTH_EAST}
    rows = []
    for (code, year), value in values.items():
        level = "england" if code == ENGLAND else "region" if code.startswith("E12") else "la"
        region = code if level == "region" else region_of.get(code, "")
        rows.append({"area_code": code, "level": level, "region_code": region, "period": year, column: value})
    return pd.DataFrame(rows)


@pytest.fixture
def mi_raw(tmp_path):
    """Return a raw folder holding (an empty stand-in for) the MI file, so errors can name it."""
    from sendlib.sources import source

    path = tmp_path / source("sen2_mi_2023").path
    path.parent.mkdir(parents=True)
    path.write_text("placeholder\n")
    return tmp_path


MI = flows({("383", 2022): 362.0, ("384", 2022): 410.0, ("370", 2022): 250.0, ("390", 2022): 99.0,
            ("383", 2021): 300.0, ("384", 2021): 380.0, ("370", 2021): 240.0}, "new_all_ehc")


def test_yorkshire_defect_is_replaced_from_the_mi_file(mi_raw):
    newplans = flows({(YORKSHIRE, 2022): 6078.0, ("383", 2022): 6078.0, ("384", 2022): 6078.0, ("370", 2022): 6078.0,
                      ("390", 2022): 101.0, (YORKSHIRE, 2021): 5000.0, ("383", 2021): 310.0, ("384", 2021): 390.0,
                      ("370", 2021): 250.0})
    fixed, correction = _correct_yorkshire_new_plans(newplans, MI, mi_raw)
    values = fixed.set_index(["area_code", "period"])["new_ehc_plans"]
    assert values[("383", 2022)] == 362 and values[("384", 2022)] == 410 and values[("370", 2022)] == 250
    assert values[(YORKSHIRE, 2022)] == 6078  # the region row keeps the published total
    assert values[("390", 2022)] == 101  # other regions untouched
    assert values[("383", 2021)] == 310  # other years untouched
    assert correction["calendar_year"] == 2022 and correction["january"] == 2023
    assert correction["published_value"] == 6078
    assert correction["replacement_values"] == {"370": 250, "383": 362, "384": 410}
    assert correction["source"] == "sen2_mi_2023" and correction["column"] == "new_plans"
    assert "6,078" in correction["reason"]
    assert newplans.set_index(["area_code", "period"])["new_ehc_plans"][("383", 2022)] == 6078  # input not changed


def test_yorkshire_correction_not_applied_when_the_defect_is_absent(mi_raw):
    newplans = flows({(YORKSHIRE, 2022): 1020.0, ("383", 2022): 360.0, ("384", 2022): 410.0, ("370", 2022): 250.0})
    fixed, correction = _correct_yorkshire_new_plans(newplans, MI, mi_raw)
    assert correction is None
    pd.testing.assert_frame_equal(fixed, newplans)


def test_yorkshire_correction_needs_every_la_to_repeat_the_total(mi_raw):
    newplans = flows({(YORKSHIRE, 2022): 6078.0, ("383", 2022): 6078.0, ("384", 2022): 6078.0, ("370", 2022): 250.0})
    fixed, correction = _correct_yorkshire_new_plans(newplans, MI, mi_raw)
    assert correction is None
    pd.testing.assert_frame_equal(fixed, newplans)


def test_yorkshire_defect_without_mi_values_is_an_error_naming_the_mi_file(mi_raw):
    newplans = flows({(YORKSHIRE, 2022): 6078.0, ("383", 2022): 6078.0, ("384", 2022): 6078.0})
    partial = MI[MI["area_code"] != "384"]
    with pytest.raises(InputFileError) as caught:
        _correct_yorkshire_new_plans(newplans, partial, mi_raw)
    assert "sen2_mi_2023release_2014-2022.csv" in str(caught.value)
    assert "['384']" in str(caught.value)


# --------------------------------------------------------------------------------------- sum checks

AREAS = pd.DataFrame({"area_code": ["383", "384", "390", YORKSHIRE, NORTH_EAST, ENGLAND],
                      "region_code": [YORKSHIRE, YORKSHIRE, NORTH_EAST, YORKSHIRE, NORTH_EAST, ""]})


def summed(la: dict[str, list[float]], januaries=(2023, 2024)) -> pd.DataFrame:
    """Return a table with LA rows and region and England rows that are their sums."""
    rows = []
    for i, january in enumerate(januaries):
        values = {code: series[i] for code, series in la.items()}
        yorkshire = values["383"] + values["384"]
        rows += [{"area_code": c, "level": "la", "january": january, "plans": v} for c, v in values.items()]
        rows += [{"area_code": YORKSHIRE, "level": "region", "january": january, "plans": yorkshire},
                 {"area_code": NORTH_EAST, "level": "region", "january": january, "plans": values["390"]},
                 {"area_code": ENGLAND, "level": "england", "january": january, "plans": yorkshire + values["390"]}]
    return pd.DataFrame(rows)


def test_check_sums_passes_when_las_add_up():
    table = summed({"383": [100.0, 110.0], "384": [50.0, 60.0], "390": [70.0, 80.0]})
    result = check_sums(table, "ehcp", "january", ["plans"], AREAS)
    assert "agree in 6 region/England-periods" in result[0]


def test_check_sums_names_table_region_period_and_column():
    table = summed({"383": [100.0, 110.0], "384": [50.0, 60.0], "390": [70.0, 80.0]})
    table.loc[(table["area_code"] == "384") & (table["january"] == 2024), "plans"] = 61.0
    with pytest.raises(BuildCheckError) as caught:
        check_sums(table, "ehcp", "january", ["plans"], AREAS)
    message = str(caught.value)
    assert caught.value.table == "ehcp" and message.startswith("table ehcp:")
    assert "plans for 2024" in message and YORKSHIRE in message
    assert "171" in message and "170" in message


def test_check_sums_regions_to_england():
    table = summed({"383": [100.0, 110.0], "384": [50.0, 60.0], "390": [70.0, 80.0]})
    table.loc[(table["level"] == "england") & (table["january"] == 2023), "plans"] = 1000.0
    with pytest.raises(BuildCheckError, match="plans for 2023: regions sum to 220 but England says 1,000"):
        check_sums(table, "ehcp", "january", ["plans"], AREAS)


def test_check_sums_skips_suppressed_cells():
    table = summed({"383": [100.0, 110.0], "384": [50.0, 60.0], "390": [70.0, 80.0]})
    table.loc[(table["area_code"] == "384") & (table["january"] == 2024), "plans"] = np.nan
    result = check_sums(table, "ehcp", "january", ["plans"], AREAS)
    assert "5 region/England-periods" in result[0] and "1 skipped" in result[0]


def test_check_sums_honours_listed_exceptions():
    table = summed({"383": [100.0, 110.0], "384": [50.0, 60.0], "390": [70.0, 80.0]})
    table.loc[(table["area_code"] == "384") & (table["january"] == 2024), "plans"] = 61.0
    check_sums(table, "ehcp", "january", ["plans"], AREAS, {("plans", YORKSHIRE, 2024): "known defect"})


# --------------------------------------------------------------------------------------- tiny raw folder


def build_tiny(raw):
    areas = _build_areas(raw)
    return areas, build_ehcp(raw, areas.frame)


def test_tiny_build_corrects_yorkshire_and_records_it(make_tiny_raw, helpers):
    _, ehcp = build_tiny(make_tiny_raw(yorkshire_defect=True))
    assert len(ehcp.corrections) == 1
    correction = ehcp.corrections[0]
    assert correction["calendar_year"] == 2022 and correction["region"] == "Yorkshire and The Humber"
    expected = {code: helpers.tiny_new_plans(code, 2022) for code in ("383", "384")}
    assert correction["replacement_values"] == expected
    new_plans = ehcp.frame.set_index(["area_code", "january"])["new_plans"]
    assert new_plans[("383", 2023)] == expected["383"] and new_plans[("384", 2023)] == expected["384"]
    assert new_plans[(YORKSHIRE, 2023)] == correction["published_value"]
    assert ehcp.frame.loc[(ehcp.frame["area_code"] == "383") & (ehcp.frame["january"] == 2023),
                          "flows_calendar_year"].item() == 2022


def test_tiny_build_without_the_defect_has_no_correction(make_tiny_raw, helpers):
    _, defective = build_tiny(make_tiny_raw(yorkshire_defect=True))
    _, clean = build_tiny(make_tiny_raw(yorkshire_defect=False))
    assert clean.corrections == []
    pd.testing.assert_frame_equal(clean.frame, defective.frame)  # the correction restores the true values


def test_tiny_build_reads_the_full_age_breakdown_file(make_tiny_raw):
    areas, ehcp = build_tiny(make_tiny_raw())
    areas_all_ages, ehcp_all_ages = build_tiny(make_tiny_raw(age_breakdown=True))
    pd.testing.assert_frame_equal(areas_all_ages.frame, areas.frame)
    pd.testing.assert_frame_equal(ehcp_all_ages.frame, ehcp.frame)


def test_tiny_build_facts(make_tiny_raw, helpers):
    _, ehcp = build_tiny(make_tiny_raw())
    frame = ehcp.frame
    england = frame[frame["level"] == "england"].set_index("january")["ehc_plans"]
    assert england[2015] == 240_183 and england[2025] == 638_745
    assert sorted(frame["january"].unique()) == list(range(2015, 2026))
    leeds = frame[frame["area_code"] == "383"].set_index("january")
    assert leeds.loc[2017, "ehc_plans"] == helpers.tiny_plans("383", 2017)
    assert leeds.loc[2016, "new_plans"] == helpers.tiny_new_plans("383", 2015)  # flows of the year before
    assert leeds.loc[2016, "flows_source"].startswith("SEN2 2023 release")
    assert leeds.loc[2020, "flows_source"] == "SEN2 2025 release"
    assert leeds.loc[2015, "caseload_source"].startswith("SEN2 2022 release")
    assert leeds.loc[2019, "caseload_source"].startswith("SEN2 2025 release")


def test_tiny_build_without_january_2025_fails_naming_table_and_january(make_tiny_raw, helpers):
    from sendlib.sources import source

    raw = make_tiny_raw()
    path = raw / source("sen2_2025_caseload").path
    rows = helpers.read_rows(path)
    helpers.write_rows(path, [r for r in rows if r[0] != "202425"])
    with pytest.raises(BuildCheckError) as caught:
        build_tiny(raw)
    message = str(caught.value)
    assert caught.value.table == "ehcp"
    assert "January 2025" in message and "638,745" in message


def test_tiny_build_releases_that_disagree_fail(make_tiny_raw, helpers):
    from sendlib.sources import source

    raw = make_tiny_raw()
    path = raw / source("sen2_2022_caseload").path
    rows = helpers.read_rows(path)
    for row in rows:
        if row[0] == "2021" and row[7] == "390":
            row[-1] = str(int(row[-1]) + 1)
    helpers.write_rows(path, rows)
    with pytest.raises(BuildCheckError, match="disagree on EHC plans for 390 January 2021"):
        build_tiny(raw)


def test_tiny_areas_registry(make_tiny_raw):
    areas = _build_areas(make_tiny_raw()).frame
    assert areas["area_code"].tolist() == ["383", "384", "390", NORTH_EAST, YORKSHIRE, ENGLAND]
    assert areas["level"].tolist() == ["la"] * 3 + ["region"] * 2 + ["england"]
    leeds = areas.set_index("area_code").loc["383"]
    assert (leeds["ons_code"], leeds["first_year"], leeds["last_year"]) == ("E08000035", 2015, 2025)


# --------------------------------------------------------------------------------------- reference rebuild


@pytest.mark.reference
@pytest.mark.parametrize("filename", [f"{name}.csv" for name in TABLES] + ["MANIFEST.json"])
def test_rebuild_matches_the_committed_tables_byte_for_byte(reference_build, helpers, filename):
    built = (reference_build.out / filename).read_bytes()
    committed = (helpers.processed / filename).read_bytes()
    assert built == committed, f"{filename} rebuilt from the reference differs from data/processed/{filename}"


@pytest.mark.reference
def test_building_twice_gives_identical_files(reference_build, helpers):
    second = reference_build.wait_for_second()  # another process, another hash seed
    first_files, second_files = helpers.snapshot(reference_build.out), helpers.snapshot(second)
    assert sorted(first_files) == sorted(second_files)
    different = [name for name in first_files if first_files[name] != second_files[name]]
    assert different == []


@pytest.mark.reference
def test_published_facts(reference_tables):
    ehcp = reference_tables["ehcp"]
    england = ehcp[ehcp["level"] == "england"].set_index("january")["ehc_plans"]
    assert england[2015] == 240_183
    assert england[2025] == 638_745
    hnb = reference_tables["high_needs_block"]
    row = hnb[(hnb["level"] == "england") & (hnb["financial_year"] == "2019-20")]
    assert abs(row["hnb_before_deductions_gbp"].item() - 6_279.1e6) <= 0.1e6


@pytest.mark.reference
def test_leeds_2022_new_plans_after_the_yorkshire_correction(reference_build, reference_tables):
    ehcp = reference_tables["ehcp"]
    leeds = ehcp[(ehcp["area_code"] == "383") & (ehcp["flows_calendar_year"] == 2022)]
    assert leeds["new_plans"].item() == 362
    yorkshire_las = reference_tables["areas"].query("level == 'la' and region_code == @YORKSHIRE")["area_code"]
    in_2023 = ehcp[ehcp["area_code"].isin(yorkshire_las) & (ehcp["january"] == 2023)]["new_plans"]
    assert (in_2023 != 6078).all() and in_2023.nunique() > 10
    corrections = reference_build.manifest["tables"]["ehcp"]["corrections"]
    assert len(corrections) == 1
    assert corrections[0]["calendar_year"] == 2022 and corrections[0]["published_value"] == 6078
    assert corrections[0]["replacement_values"]["383"] == 362
    on_disk = json.loads((reference_build.out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert on_disk["tables"]["ehcp"]["corrections"] == corrections


@pytest.mark.reference
def test_ehc_plans_of_las_sum_to_regions_and_regions_to_england(reference_tables):
    ehcp = reference_tables["ehcp"]
    region_of = reference_tables["areas"].set_index("area_code")["region_code"]
    januaries = sorted(ehcp["january"].unique())
    assert januaries == list(range(2015, 2026))
    for january in januaries:
        year = ehcp[ehcp["january"] == january]
        la = year[year["level"] == "la"]
        regions = year[year["level"] == "region"].set_index("area_code")["ehc_plans"]
        assert len(regions) == 9
        by_region = la.groupby(la["area_code"].map(region_of))["ehc_plans"].sum()
        pd.testing.assert_series_equal(by_region.sort_index(), regions.sort_index(), check_names=False)
        assert regions.sum() == year.loc[year["level"] == "england", "ehc_plans"].item()


# --------------------------------------------------------------------------------------- nothing half-written


@pytest.mark.reference
def test_failed_build_leaves_output_unchanged(raw_copy, existing_output, cached_workbooks, helpers):
    # the statistical neighbours workbook is read last: everything else is built before the failure
    path = raw_copy / "lait" / "lait_statistical_neighbours_sn_may_2025.xlsx"
    path.write_bytes(path.read_bytes()[:5000])
    before = helpers.snapshot(existing_output)
    with pytest.raises(InputFileError, match="lait_statistical_neighbours_sn_may_2025.xlsx"):
        build_all(raw_copy, existing_output)
    assert helpers.snapshot(existing_output) == before  # no temporary .build-* folder either


@pytest.fixture(scope="module")
def built_reference(reference_dir, workbook_cache, reference_build, helpers):
    """Return every table built (not yet written) from the reference, once per module."""
    from sendlib.build.pipeline import build_tables

    with pytest.MonkeyPatch.context() as patch:
        helpers.install_workbook_cache(patch, workbook_cache)
        return build_tables(reference_dir)


@pytest.fixture
def prebuilt(monkeypatch, built_reference):
    """Make build_all skip building (it gets copies of the tables built once) so a test can focus on writing."""
    import sendlib.build.pipeline as pipeline

    monkeypatch.setattr(pipeline, "build_tables", lambda raw, progress=None: copy.deepcopy(built_reference))


@pytest.mark.reference
def test_successful_build_replaces_the_tables_and_keeps_other_files(reference_dir, reference_build, existing_output,
                                                                   prebuilt, helpers):
    build_all(reference_dir, existing_output)
    after = helpers.snapshot(existing_output)
    assert after.pop("notes.txt") == b"kept\n"
    assert after == helpers.snapshot(reference_build.out)  # and no temporary .build-* folder


@pytest.mark.reference
@pytest.mark.parametrize("failing_call", [1, 5, 12])
def test_failure_while_replacing_files_puts_the_old_ones_back(reference_dir, existing_output, prebuilt, helpers,
                                                             monkeypatch, failing_call):
    import sendlib.io as io_module

    real_replace, calls = os.replace, []

    def replace(source, target):
        if Path(target).parent == existing_output:
            calls.append(target)
            if len(calls) == failing_call:
                raise PermissionError(f"{target} is open in another program")
        return real_replace(source, target)

    before = helpers.snapshot(existing_output)
    monkeypatch.setattr(io_module.os, "replace", replace)
    with pytest.raises(PermissionError):
        build_all(reference_dir, existing_output)
    assert len(calls) >= failing_call
    assert helpers.snapshot(existing_output) == before


@pytest.mark.reference
def test_failure_while_writing_the_manifest_leaves_output_unchanged(reference_dir, existing_output, prebuilt,
                                                                  helpers, monkeypatch):
    import sendlib.build.pipeline as pipeline

    real = pipeline.manifest_for
    monkeypatch.setattr(pipeline, "manifest_for", lambda *args: {**real(*args), "bad": {1, 2}})  # not JSON
    before = helpers.snapshot(existing_output)
    with pytest.raises(TypeError):
        build_all(reference_dir, existing_output)
    assert helpers.snapshot(existing_output) == before
