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


def flows(values: dict[tuple[str, int], float], column: str = "new_plans") -> pd.DataFrame:
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
            ("383", 2021): 300.0, ("384", 2021): 380.0, ("370", 2021): 240.0})


def test_yorkshire_defect_is_replaced_from_the_mi_file(mi_raw):
    newplans = flows({(YORKSHIRE, 2022): 6078.0, ("383", 2022): 6078.0, ("384", 2022): 6078.0, ("370", 2022): 6078.0,
                      ("390", 2022): 101.0, (YORKSHIRE, 2021): 5000.0, ("383", 2021): 310.0, ("384", 2021): 390.0,
                      ("370", 2021): 250.0})
    fixed, correction = _correct_yorkshire_new_plans(newplans, MI, mi_raw)
    values = fixed.set_index(["area_code", "period"])["new_plans"]
    assert values[("383", 2022)] == 362 and values[("384", 2022)] == 410 and values[("370", 2022)] == 250
    assert values[(YORKSHIRE, 2022)] == 6078  # the region row keeps the published total
    assert values[("390", 2022)] == 101  # other regions untouched
    assert values[("383", 2021)] == 310  # other years untouched
    assert correction["calendar_year"] == 2022 and correction["january"] == 2023
    assert correction["published_value"] == 6078
    assert correction["replacement_values"] == {"370": 250, "383": 362, "384": 410}
    assert correction["source"] == "sen2_mi_2023" and correction["column"] == "new_plans"
    assert "6,078" in correction["reason"]
    assert newplans.set_index(["area_code", "period"])["new_plans"][("383", 2022)] == 6078  # input not changed


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
    assert sorted(frame["january"].unique()) == list(range(2015, 2027))
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
    assert (leeds["ons_code"], leeds["first_year"], leeds["last_year"]) == ("E08000035", 2015, 2026)


# --------------------------------------------------------------------------------------- the 2026 release (tiny)


def test_tiny_suppressed_la_stays_missing_and_region_totals_are_kept(make_tiny_raw, helpers):
    areas, ehcp = build_tiny(make_tiny_raw())
    frame = ehcp.frame.set_index(["area_code", "january"])
    wakefield = helpers.tiny_suppressed
    true_value = helpers.tiny_plans(wakefield, 2026)
    row = frame.loc[(wakefield, 2026)]
    for column in ["ehc_plans", "placement_mainstream", "placement_other", "new_plans", "requests", "plans_issued",
                   "within_20_weeks_pct"]:
        assert pd.isna(row[column]), column  # never 0, never the implied region-minus-LAs value
    assert frame.loc[(YORKSHIRE, 2026), "ehc_plans"] == helpers.tiny_plans("383", 2026) + true_value
    assert frame.loc[(ENGLAND, 2026), "ehc_plans"] == 718_838
    assert frame.loc[(wakefield, 2025), "ehc_plans"] == helpers.tiny_plans(wakefield, 2025)  # other years read
    assert f"ehc_plans: Yorkshire and The Humber and England exceed the sum of their LAs by {true_value:,} in " \
           "January 2026: Wakefield suppressed (x)" in ehcp.checks
    assert any(c.startswith("new_plans: Yorkshire and The Humber and England exceed the sum of their LAs by ")
               and c.endswith("in calendar year 2025: Wakefield suppressed (x)") for c in ehcp.checks)
    rows = ehcp.suppressed.set_index(["area_code", "period", "column"])
    cell = rows.loc[(wakefield, "2026", "ehc_plans")]
    assert (cell["symbol"], cell["source"], cell["release"], cell["period_label"], cell["source_column"]) == \
        ("x", "sen2_2026_caseload", "SEN2 2026 release", "January 2026", "ehcplans")
    assert rows.loc[(wakefield, "2026", "new_plans"), "period_label"] == "calendar year 2025"
    assert set(ehcp.suppressed["area_code"]) == {wakefield}
    assert areas.frame.set_index("area_code").loc[wakefield, "last_year"] == 2026  # the row counts, the value not


def test_check_sums_states_a_shortfall_explained_by_a_suppressed_la_and_refuses_others():
    table = summed({"383": [100.0, 110.0], "384": [50.0, 60.0], "390": [70.0, 80.0]})
    table.loc[(table["area_code"] == "384") & (table["january"] == 2024), "plans"] = np.nan
    areas = AREAS.assign(area_name=["Leeds", "Wakefield", "Gateshead", "Yorkshire", "North East", "England"])
    stated = check_sums(table, "ehcp", "january", ["plans"], areas, missing={("384", "plans", 2024): "suppressed (x)"},
                        label=lambda column, january: f"January {january}")
    assert "plans: Yorkshire and England exceed the sum of their LAs by 60 in January 2024: Wakefield suppressed (x)" \
        in stated
    table.loc[(table["area_code"] == "383") & (table["january"] == 2024), "plans"] = 200.0  # LAs exceed the region
    with pytest.raises(BuildCheckError, match=r"LAs of region E12000003 sum to 200 without 384 \(suppressed \(x\)\)"):
        check_sums(table, "ehcp", "january", ["plans"], areas, missing={("384", "plans", 2024): "suppressed (x)"})


def test_tiny_2026_release_is_read_through_the_registry(make_tiny_raw, helpers):
    _, ehcp = build_tiny(make_tiny_raw())
    frame = ehcp.frame.set_index(["area_code", "january"])
    gateshead = frame.loc[("390", 2026)]
    plans, _, maintained, academy, free_school, independent, non_maintained, _ = helpers.tiny_placements_2026("390", 2026)
    assert gateshead["placement_state_special"] == maintained + academy + free_school  # special_academy_free split
    assert gateshead["placement_independent_special"] == independent + non_maintained
    assert gateshead["ehc_plans"] == plans
    issued, excluding, within, within_ex = helpers.tiny_timeliness("390", 2025)
    assert (gateshead["plans_issued"], gateshead["plans_issued_excl_exceptions"]) == (issued, excluding)
    assert gateshead["within_20_weeks_pct"] == round(100 * within_ex / excluding, 1)  # pc_..._ex, lower case
    assert gateshead["within_20_weeks_incl_exceptions_pct"] == round(100 * within / issued, 1)
    assert (gateshead["caseload_source"], gateshead["flows_source"]) == ("SEN2 2026 release (EHC plans)",
                                                                         "SEN2 2026 release")
    earlier = frame.loc[("390", 2025)]
    assert (earlier["caseload_source"], earlier["flows_source"]) == ("SEN2 2025 release (EHC plans)",
                                                                     "SEN2 2025 release")
    issued, excluding, within, within_ex = helpers.tiny_timeliness("390", 2024)
    assert earlier["within_20_weeks_pct"] == round(100 * within_ex / excluding, 1)  # PC_..._ex, upper case (2025)
    mi_year = frame.loc[("390", 2016)]  # calendar 2015, from the management-information file
    issued, excluding, within, within_ex = helpers.tiny_timeliness("390", 2015)
    assert (mi_year["plans_issued_within_20_weeks"], mi_year["plans_issued_within_20_weeks_excl_exceptions"]) == \
        (within, within_ex)
    assert mi_year["within_20_weeks_pct"] == round(100 * within_ex / excluding, 1)
    assert "sen2_2026_caseload_national" in ehcp.inputs and "sen2_2026_annual_reviews" in ehcp.inputs


def test_tiny_ceased_plans_come_from_the_2025_release_only(make_tiny_raw, helpers):
    _, ehcp = build_tiny(make_tiny_raw())
    leeds = ehcp.frame[ehcp.frame["area_code"] == "383"].set_index("flows_calendar_year")["ceased_plans"]
    assert leeds[2024] == helpers.tiny_new_plans("383", 2024) // 3 and leeds[2022] == helpers.tiny_new_plans("383", 2022) // 3
    assert leeds[[2014, 2021, 2025]].isna().all()  # no file in hand covers these years: missing, not 0
    assert any("ceased_plans = EHC plans that ceased" in n and "sen2_2026_ceased" in n for n in ehcp.notes)


def test_renamed_top_level_label_is_an_error_naming_the_labels_found(make_tiny_raw, helpers):
    from sendlib.sources import source

    raw = make_tiny_raw()
    path = raw / source("sen2_2026_newplans").path
    rows = helpers.read_rows(path)
    helpers.write_rows(path, [rows[0]] + [r[:10] + ["All new plans", "All new plans"] + r[12:] for r in rows[1:]])
    with pytest.raises(InputFileError) as caught:
        build_tiny(raw)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "breakdown_topic = 'All new EHC plans'" in message and "['All new plans']" in message
    assert "sources.SEN2_DATASETS" in message


def test_full_2026_download_latest_release_wins_for_every_period_it_covers(make_tiny_raw, helpers):
    areas, extracts = build_tiny(make_tiny_raw())
    _, full = build_tiny(make_tiny_raw(full_2026=True))
    frame = full.frame.set_index(["area_code", "january"])
    assert frame.loc[("390", 2024), "ehc_plans"] == helpers.tiny_plans("390", 2024) + 5  # the 2026 revision
    assert frame.loc[(NORTH_EAST, 2024), "ehc_plans"] == helpers.tiny_plans("390", 2024) + 5
    assert frame.loc[("390", 2024), "new_plans"] == helpers.tiny_new_plans("390", 2023) + 3
    sources = full.frame.set_index("january")["caseload_source"]
    assert set(sources[sources.index >= 2019]) == {"SEN2 2026 release (EHC plans)"}
    assert set(sources[sources.index < 2019]) == {"SEN2 2022 release (statements + EHC plans)"}
    assert frame.loc[("390", 2024), "flows_source"] == ("SEN2 2026 release (new plans); SEN2 2025 release "
                                                        "(ceased plans, requests, 20-week timeliness)")
    assert "sen2_2025_caseload" not in full.inputs and "sen2_2025_newplans" not in full.inputs
    assert "sen2_2025_ceased" in full.inputs
    assert any(c.startswith("SEN2 2026 release revises EHC plans in 3 of the 42 area-Januaries it shares with the "
                            "SEN2 2025 release") for c in full.checks)
    assert full.corrections == []  # the 2026 release's 2022 new plans do not repeat the regional total
    # outside the revised cells, the full files give the extracts' tables
    same = extracts.frame.set_index(["area_code", "january"])
    unchanged = [c for c in same.columns if c not in ("caseload_source", "flows_source")]
    revised = {("390", 2024), (NORTH_EAST, 2024), (ENGLAND, 2024), ("383", 2023), ("384", 2023), (YORKSHIRE, 2023)}
    keep = [k for k in same.index if k not in revised]
    pd.testing.assert_frame_equal(frame.loc[keep, unchanged], same.loc[keep, unchanged])


def test_rows_two_files_of_one_release_share_must_agree(make_tiny_raw, helpers):
    from sendlib.sources import source

    raw = make_tiny_raw()
    path = raw / source("sen2_2026_caseload").path
    rows = helpers.read_rows(path)
    for row in rows:
        if row[2] == "Regional" and row[5] == NORTH_EAST:
            row[12] = str(int(row[12]) + 1)
    helpers.write_rows(path, rows)
    with pytest.raises(InputFileError, match="period 2026 differs from the same row in ehcp_sen2_2026release/"):
        build_tiny(raw)


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
    assert england[2026] == 718_838
    hnb = reference_tables["high_needs_block"]
    row = hnb[(hnb["level"] == "england") & (hnb["financial_year"] == "2019-20")]
    assert abs(row["hnb_before_deductions_gbp"].item() - 6_279.1e6) <= 0.1e6


@pytest.mark.reference
def test_january_2026_isle_of_wight_stays_suppressed_and_the_region_keeps_its_total(reference_build,
                                                                                  reference_tables):
    ehcp = reference_tables["ehcp"].set_index(["area_code", "january"])
    assert pd.isna(ehcp.loc[("921", 2026), "ehc_plans"])  # never 0, never the implied 2,000
    assert ehcp.loc[("921", 2025), "ehc_plans"] == 1_799
    assert ehcp.loc[("E12000008", 2026), "ehc_plans"] == 122_687  # South East, as published
    assert ehcp.loc[("316", 2026), "ehc_plans"] == 3_639 and ehcp.loc[("E12000001", 2026), "ehc_plans"] == 31_915
    assert ehcp.loc[("921", 2026), "caseload_source"] == "SEN2 2026 release (EHC plans)"
    checks = reference_build.manifest["tables"]["ehcp"]["checks"]
    assert "ehc_plans: South East and England exceed the sum of their LAs by 2,000 in January 2026: Isle of Wight " \
           "suppressed (x)" in checks
    assert any(c.startswith("plans_issued, calendar year 2025: North West exceeds the sum of its LAs by 196 (Halton "
                            "suppressed (x)); East Midlands equals the sum of its LAs without Leicester has no row")
               for c in checks)
    assert "SEN2 2026 release: total_ehc_plans of the calendar-2025 annual reviews equals the January 2026 caseload " \
           "in 10 of 10 rows (england, region)" in checks
    suppressions = reference_tables["suppressions"].set_index(["table", "area_code", "period", "column"])
    iow = suppressions.loc[("ehcp", "921", "2026", "ehc_plans")]
    assert (iow["symbol"], iow["release"], iow["source"]) == ("x", "SEN2 2026 release", "sen2_2026_caseload")
    assert suppressions.loc[("ehcp", "876", "2026", "plans_issued"), "symbol"] == "x"  # Halton
    norfolk = suppressions.xs(("ehcp", "926", "2026"), level=("table", "area_code", "period"))
    assert set(norfolk.index) == {"plans_issued_excl_exceptions", "plans_issued_within_20_weeks_excl_exceptions",
                                  "within_20_weeks_pct"}  # only the excluding-exceptions values
    assert suppressions.loc[("ehcp", "856", "2026", "within_20_weeks_pct"), "symbol"] == "row absent"  # Leicester
    areas = reference_tables["areas"]
    current = areas[(areas["level"] == "la") & (areas["last_year"] == 2026)]
    assert len(current) == 153 and "921" in set(current["area_code"])


@pytest.mark.reference
def test_timeliness_has_both_rates_with_dfe_headline_excluding_exceptions(reference_tables):
    ehcp = reference_tables["ehcp"]
    england = ehcp[ehcp["level"] == "england"].set_index("flows_calendar_year")
    assert england.loc[2024, "within_20_weeks_pct"] == 46.4 and england.loc[2024, "within_20_weeks_incl_exceptions_pct"] == 45.9
    assert england.loc[2025, "within_20_weeks_pct"] == 46.1 and england.loc[2025, "within_20_weeks_incl_exceptions_pct"] == 45.5
    assert (england.loc[2025, "plans_issued"], england.loc[2025, "plans_issued_excl_exceptions"]) == (102_203, 95_411)
    early = england.loc[2014:2018]  # the 2023 management-information file gives both rates
    assert early["within_20_weeks_pct"].notna().all() and early["within_20_weeks_incl_exceptions_pct"].notna().all()
    assert england.loc[2015, "within_20_weeks_pct"] == pytest.approx(59.2)
    assert england.loc[2015, "within_20_weeks_incl_exceptions_pct"] == pytest.approx(54.6)


@pytest.mark.reference
def test_ceased_plans_and_the_newham_count_break(reference_tables):
    ehcp = reference_tables["ehcp"]
    newham = ehcp[ehcp["area_code"] == "316"].set_index("january")
    assert newham.loc[2024, "ehc_plans"] == 2_705 and newham.loc[2025, "ehc_plans"] == 1_199
    assert (newham.loc[2025, "new_plans"], newham.loc[2025, "ceased_plans"]) == (379, 42)  # calendar 2024
    assert newham.loc[2026, "ehc_plans"] == 3_639
    england = ehcp[ehcp["level"] == "england"].set_index("flows_calendar_year")["ceased_plans"]
    assert england[2024] == 44_862 and england[2022] == 34_724
    assert england[[2021, 2025]].isna().all()


@pytest.mark.reference
def test_dsg_balances_in_pounds_carry_their_status_and_source(reference_tables):
    balance = reference_tables["dsg_balance"].set_index(["area_code", "financial_year"])
    kent = balance.loc[("886", "2021-22")]
    assert kent["cumulative_deficit_gbp"] == pytest.approx(97.6e6, abs=0.05e6)
    assert (kent["gbp_status"], kent["pct_status"]) == ("derived-reconstruction", "derived-official")
    assert kent["gbp_rounding_bound_gbp"] > 0 and kent["cumulative_deficit_pct_of_income"] == pytest.approx(6.83)
    later = balance.loc[("886", "2023-24")]
    assert later["gbp_status"] == "derived-third-party" and pd.isna(later["gbp_rounding_bound_gbp"])
    assert pd.isna(later["pct_status"]) and pd.isna(later["cumulative_deficit_pct_of_income"])
    assert balance.loc[("E92000001", "2019-20"), "cumulative_deficit_gbp"] == 484_569_220
    has_gbp = reference_tables["dsg_balance"].dropna(subset=["cumulative_deficit_gbp"])
    assert has_gbp["gbp_status"].notna().all() and has_gbp["gbp_source"].notna().all()
    has_pct = reference_tables["dsg_balance"].dropna(subset=["cumulative_deficit_pct_of_income"])
    assert has_pct["pct_status"].notna().all() and has_pct["pct_source"].notna().all()


@pytest.mark.reference
def test_one_gdp_deflator_vintage_for_every_year_and_hmt_apart(reference_build, reference_tables):
    deflators = reference_tables["deflators"].set_index("financial_year")
    growth = deflators.loc["2025-26", "gdp_deflator"] / deflators.loc["2024-25", "gdp_deflator"] - 1
    assert round(100 * growth, 2) == 3.32  # outturn in the autumn-2026 vintage
    assert deflators["vintage"].nunique() == 1 and "fetched 2026-10-03" in deflators["vintage"].iloc[0]
    assert deflators.loc["2025-26", "hmt_gdp_deflator_status"] == "forecast"
    assert deflators.loc["2024-25", "hmt_gdp_deflator"] == 100 and deflators.loc["2024-25", "hmt_gdp_deflator_status"] == "outturn"
    assert pd.isna(deflators.loc["2026-27", "gdp_deflator"]) and deflators.loc["2030-31", "hmt_gdp_deflator_status"] == "forecast"
    inputs = {i["name"]: i for i in reference_build.manifest["tables"]["deflators"]["inputs"]}
    assert set(inputs) == {"ons_gdp_deflator_2026_copy", "ons_cpih", "hmt_gdp_deflator_march_2026"}
    assert inputs["ons_gdp_deflator_2026_copy"]["sha256"] == \
        "c63eb90ff3e04fa522876bfac98910cb49d3d092a5a4a6a8f49f160b0ac47add"
    national = reference_tables["national_series"].set_index("financial_year")
    pd.testing.assert_series_equal(national["gdp_deflator"], deflators.loc[national.index, "gdp_deflator"],
                                   check_names=False)


@pytest.mark.reference
def test_national_series_pairs_january_2026_with_2026_27_and_leaves_its_hnb_missing(reference_tables):
    national = reference_tables["national_series"].set_index("financial_year")
    row = national.loc["2026-27"]
    assert row["ehc_plans_january"] == 718_838 and row["january"] == 2026
    assert pd.isna(row["hnb_gbp"]) and row["hnb_status"] == "not in hand"
    assert "dsg_allocations_2026_27" in row["hnb_source"]
    assert national.loc["2025-26", "hnb_gbp"] == 11_900_000_000


@pytest.mark.reference
def test_manifest_records_each_new_input_with_checksum_and_release(reference_build, reference_dir):
    from sendlib.sources import SOURCES, sha256_of

    tables = reference_build.manifest["tables"]
    for table, name in [("ehcp", "sen2_2026_caseload"), ("ehcp", "sen2_2026_caseload_national"),
                        ("ehcp", "sen2_2026_newplans"), ("ehcp", "sen2_2026_requests"), ("ehcp", "sen2_2026_timeliness"),
                        ("ehcp", "sen2_2026_annual_reviews"), ("ehcp", "sen2_2025_ceased"),
                        ("dsg_balance", "dsg_balance_reconstructed_2019_22"),
                        ("deflators", "hmt_gdp_deflator_march_2026"), ("suppressions", "sen2_2026_caseload")]:
        entry = next(i for i in tables[table]["inputs"] if i["name"] == name)
        assert entry["sha256"] == sha256_of(reference_dir / SOURCES[name].path), name
        assert entry["release"], name
    assert next(i for i in tables["ehcp"]["inputs"] if i["name"] == "sen2_2026_caseload")["release"] == \
        "2026 release (June 2026)"


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
    suppressed = reference_tables["suppressions"].query("table == 'ehcp' and column == 'ehc_plans'")
    januaries = sorted(ehcp["january"].unique())
    assert januaries == list(range(2015, 2027))
    for january in januaries:
        year = ehcp[ehcp["january"] == january]
        la = year[year["level"] == "la"]
        regions = year[year["level"] == "region"].set_index("area_code")["ehc_plans"]
        assert len(regions) == 9
        by_region = la.groupby(la["area_code"].map(region_of))["ehc_plans"].sum()
        short = regions.sort_index() - by_region.sort_index()
        missing = la[la["ehc_plans"].isna()]
        # an LA count is missing only where the release suppressed it, and only its region is short
        assert set(missing["area_code"]) == set(suppressed.loc[suppressed["period"] == str(january), "area_code"])
        assert set(short[short != 0].index) == set(missing["area_code"].map(region_of))
        assert regions.sum() == year.loc[year["level"] == "england", "ehc_plans"].item()
    assert short.to_dict()["E12000008"] == 2_000  # January 2026: the Isle of Wight, suppressed


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
