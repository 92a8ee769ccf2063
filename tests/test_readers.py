"""Readers of the official formats: EES tidy CSV, ONS time-series CSV, DSG allocations ODS, and text decoding."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendlib.errors import InputFileError
from sendlib.readers.dsg_ods import (
    financial_year_of_sheet,
    publication_date,
    read_summary_sheet,
    read_workbook,
)
from sendlib.readers.ees import (
    SUPPRESSION_SYMBOLS,
    financial_year_of_time_period,
    january_of_time_period,
    parse_numeric,
    read_columns,
)
from sendlib.readers.ons import financial_year_means_monthly, financial_year_means_quarterly, read_ons_series
from sendlib.readers.text import decode_bytes, read_csv_rows

EES = Path(__file__).parent / "fixtures" / "ees" / "sen2_caseload_excerpt.csv"
YBGB = Path(__file__).parent / "fixtures" / "ons" / "ybgb_gdp_deflator_excerpt.csv"
CPIH = Path(__file__).parent / "fixtures" / "ons" / "l522_cpih_excerpt.csv"
GEO = ["time_period", "time_identifier", "geographic_level", "region_code", "old_la_code", "la_name"]
PLACEMENTS = ["mainstream_total", "special_la_maintained", "special_academy_free", "special_independent",
              "special_non_maintained", "fe_total"]
NUMBERS = ["ehcplans"] + PLACEMENTS


def read_caseload(path: Path) -> pd.DataFrame:
    """Read the caseload excerpt the way the ehcp builder does."""
    return read_columns(path, GEO + NUMBERS, numeric=NUMBERS, counts=NUMBERS,
                        key=["time_period", "geographic_level", "region_code", "old_la_code"])


def edited(helpers, tmp_path: Path, change, name: str = "edited.csv") -> Path:
    """Return a copy of the EES excerpt with `change(rows)` applied to its rows (header first)."""
    rows = helpers.read_rows(EES)
    change(rows)
    return helpers.write_rows(tmp_path / name, rows)


# --------------------------------------------------------------------------------------- EES tidy CSV


def test_ees_official_order_reads_counts_and_text(helpers):
    frame = read_caseload(EES)
    assert len(frame) == 10
    camden = frame[(frame["old_la_code"] == "202") & (frame["time_period"] == "202425")].iloc[0]
    assert camden["la_name"] == "Camden"
    assert camden["ehcplans"] == 2995
    assert camden["mainstream_total"] == 1195
    england = frame[(frame["geographic_level"] == "National") & (frame["time_period"] == "202425")].iloc[0]
    assert england["ehcplans"] == 6012  # "6,012" with a thousands separator
    assert frame["old_la_code"].tolist()[2] == "201"  # codes stay text with their leading digits


def test_ees_columns_in_another_order_give_the_same_frame(helpers, tmp_path):
    rows = helpers.read_rows(EES)
    order = list(reversed(range(len(rows[0]))))
    shuffled = helpers.write_rows(tmp_path / "reordered.csv", [[row[i] for i in order] for row in rows])
    assert helpers.read_rows(shuffled)[0][0] == "fe_total"
    pd.testing.assert_frame_equal(read_caseload(shuffled), read_caseload(EES))


def test_ees_column_names_match_whatever_their_case(helpers, tmp_path):
    path = edited(helpers, tmp_path, lambda rows: rows[0].__setitem__(12, "EHCPlans"))
    assert read_caseload(path)["ehcplans"].sum() == read_caseload(EES)["ehcplans"].sum()


@pytest.mark.parametrize("symbol", ["x", "z", "c", ":", "..", "-", "X", ""])
def test_suppression_symbols_become_missing_never_zero(symbol):
    parsed = parse_numeric(pd.Series([symbol, "5", "0"]), Path("f.csv"), "value")
    assert math.isnan(parsed.iloc[0])
    assert parsed.iloc[1:].tolist() == [5.0, 0.0]


def test_suppression_symbols_in_the_file_are_missing_and_sums_skip_them():
    frame = read_caseload(EES)
    city = frame[(frame["old_la_code"] == "201") & (frame["time_period"] == "202324")].iloc[0]
    assert city[PLACEMENTS].isna().all()  # c, c, z, c, c, x
    assert city["ehcplans"] == 23
    non_maintained = frame.set_index(["time_period", "old_la_code"])["special_non_maintained"]
    assert np.isnan(non_maintained[("202324", "202")])  # ':'
    assert np.isnan(non_maintained[("202324", "390")])  # '..'
    assert non_maintained[("202425", "390")] == 30
    assert (frame[PLACEMENTS].fillna(-1) != 0).all(axis=None)  # nothing became 0
    assert {"x", "z", "c", ":", "..", "-"} <= set(SUPPRESSION_SYMBOLS)


def test_non_numeric_value_names_file_column_and_row(helpers, tmp_path):
    path = edited(helpers, tmp_path, lambda rows: rows[4].__setitem__(12, "28O7"))  # letter O, 5th line
    with pytest.raises(InputFileError) as caught:
        read_caseload(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'ehcplans'" in message
    assert "row 5" in message
    assert "'28O7'" in message


def test_negative_count_is_rejected(helpers, tmp_path):
    path = edited(helpers, tmp_path, lambda rows: rows[5].__setitem__(13, "-12"))
    with pytest.raises(InputFileError, match=r"'mainstream_total' row 6 holds a negative count '-12'") as caught:
        read_caseload(path)
    assert str(path) in str(caught.value)


def test_negative_value_is_allowed_where_it_is_not_a_count(helpers, tmp_path):
    path = edited(helpers, tmp_path, lambda rows: rows[5].__setitem__(13, "-12"))
    frame = read_columns(path, GEO + ["mainstream_total"], numeric=["mainstream_total"])
    assert frame["mainstream_total"].iloc[4] == -12


def test_repeated_key_is_rejected(helpers, tmp_path):
    path = edited(helpers, tmp_path, lambda rows: rows.append(list(rows[4])))
    with pytest.raises(InputFileError, match="repeats") as caught:
        read_caseload(path)
    assert str(path) in str(caught.value)
    assert "'202'" in str(caught.value)


def test_missing_column_lists_what_was_expected(helpers, tmp_path):
    path = edited(helpers, tmp_path, lambda rows: rows[0].__setitem__(12, "ehc_plans"))
    with pytest.raises(InputFileError) as caught:
        read_caseload(path)
    message = str(caught.value)
    assert str(path) in message and "missing column(s) ['ehcplans']" in message
    assert "in any order" in message


def test_academic_year_label_is_the_january_at_its_end():
    assert january_of_time_period("202425", "Academic year") == 2025
    assert january_of_time_period("201819", "Academic year") == 2019
    assert january_of_time_period("2022", "Calendar year") == 2022
    assert january_of_time_period(" 2015 ", "calendar year") == 2015
    assert january_of_time_period("199900", "Academic year") == 2000  # the century turns


@pytest.mark.parametrize("label, identifier", [
    ("202426", "Academic year"),  # 26 does not follow 2024
    ("2024", "Academic year"),
    ("2024/25", "Academic year"),
    ("202425", "Calendar year"),
    ("22", "Calendar year"),
    ("2022", "Financial year"),
    ("2022", "Spring term"),
])
def test_bad_time_labels_raise(label, identifier):
    with pytest.raises(ValueError):
        january_of_time_period(label, identifier)


def test_financial_year_time_period():
    assert financial_year_of_time_period("201920") == "2019-20"
    with pytest.raises(ValueError):
        financial_year_of_time_period("201921")


# --------------------------------------------------------------------------------------- ONS time series


def test_ons_series_metadata_and_observations():
    series = read_ons_series(YBGB, "YBGB")
    assert series.cdid == "YBGB"
    assert series.title.startswith("Gross domestic product")
    assert series.release_date == date(2025, 6, 30)
    assert len(series.quarterly) == 13 and series.monthly.empty
    assert series.quarterly.iloc[0].tolist() == [2022, 1, 98.1]
    assert series.quarterly.iloc[-1].tolist() == [2025, 1, 112.2]


def test_ons_wrong_cdid_is_an_error_naming_the_file():
    with pytest.raises(InputFileError) as caught:
        read_ons_series(YBGB, "L522")
    assert str(YBGB) in str(caught.value)
    assert "'YBGB'" in str(caught.value) and "L522" in str(caught.value)


def test_ons_release_date_must_be_a_date(helpers, tmp_path):
    rows = helpers.read_rows(YBGB)
    rows[5][1] = "June 2025"
    path = helpers.write_rows(tmp_path / "ybgb.csv", rows)
    with pytest.raises(InputFileError, match="Release date 'June 2025' is not a date"):
        read_ons_series(path, "YBGB")


def test_ons_row_after_data_began_is_refused(helpers, tmp_path):
    rows = helpers.read_rows(YBGB) + [["Footnote", "provisional"]]
    path = helpers.write_rows(tmp_path / "ybgb.csv", rows)
    with pytest.raises(InputFileError, match="'Footnote'"):
        read_ons_series(path, "YBGB")


def test_gdp_financial_year_is_mean_of_q2_to_q4_and_next_q1():
    means = financial_year_means_quarterly(read_ons_series(YBGB, "YBGB").quarterly).set_index("financial_year")
    # 2021-22 has only 2022 Q1 and 2025-26 has no quarter: both incomplete, both dropped
    assert means.index.tolist() == ["2022-23", "2023-24", "2024-25"]
    assert means.loc["2022-23", "value"] == pytest.approx((99.4 + 100.3 + 102.2 + 104.1) / 4)
    assert means.loc["2023-24", "value"] == pytest.approx((105.6 + 106.5 + 108.6 + 108.8) / 4)
    assert means.loc["2024-25", "value"] == pytest.approx((109.3 + 110.6 + 111.3 + 112.2) / 4)


def test_gdp_year_with_a_missing_quarter_is_dropped():
    quarterly = read_ons_series(YBGB, "YBGB").quarterly
    without = quarterly[~((quarterly["year"] == 2023) & (quarterly["quarter"] == 4))]
    assert financial_year_means_quarterly(without)["financial_year"].tolist() == ["2022-23", "2024-25"]


def test_cpih_financial_year_is_mean_of_april_to_march(helpers):
    series = read_ons_series(CPIH, "L522")
    assert series.release_date == date(2025, 7, 16)
    assert len(series.monthly) == 30 and len(series.quarterly) == 9
    means = financial_year_means_monthly(series.monthly).set_index("financial_year")
    assert means.index.tolist() == ["2023-24", "2024-25"]  # 2022-23 (Jan-Mar) and 2025-26 (Apr-Jun) incomplete
    labels = {row[0]: float(row[1]) for row in helpers.read_rows(CPIH)[8:]}
    months = ["APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    expected = [labels[f"2023 {m}"] for m in months] + [labels[f"2024 {m}"] for m in ("JAN", "FEB", "MAR")]
    assert means.loc["2023-24", "value"] == pytest.approx(sum(expected) / 12)


def test_ons_file_with_three_columns_is_refused(helpers, tmp_path):
    rows = [row + ["extra"] for row in helpers.read_rows(CPIH)]
    path = helpers.write_rows(tmp_path / "cpih.csv", rows)
    with pytest.raises(InputFileError, match="two columns"):
        read_ons_series(path, "L522")


COPY = Path(__file__).parent / "fixtures" / "ons" / "ybgb_two_column_copy.csv"
COPY_METADATA = {"Title": "Gross domestic product at market prices:Implied deflator:SA", "CDID": "YBGB",
                 "Release date": "03-10-2026"}


def test_two_column_copy_is_read_with_the_metadata_the_registry_states():
    series = read_ons_series(COPY, "YBGB", COPY_METADATA)
    assert (series.cdid, series.release_date) == ("YBGB", date(2026, 10, 3))
    assert len(series.quarterly) == 10 and series.quarterly.iloc[-1].tolist() == [2025, 2, 102.8]
    means = financial_year_means_quarterly(series.quarterly).set_index("financial_year")
    assert means.index.tolist() == ["2023-24", "2024-25"]  # 2025-26 has one quarter only
    assert means.loc["2024-25", "value"] == pytest.approx((99.4 + 100.3 + 101.1 + 102.0) / 4)


def test_two_column_copy_without_stated_metadata_is_refused():
    with pytest.raises(InputFileError) as caught:
        read_ons_series(COPY, "YBGB")
    assert str(COPY) in str(caught.value) and "without ONS's metadata rows" in str(caught.value)
    with pytest.raises(InputFileError, match="CDID is 'YBGB'"):
        read_ons_series(COPY, "L522", COPY_METADATA)


def test_registry_gives_the_ybgb_copy_its_vintage():
    from sendlib.sources import SOURCES

    copy = SOURCES["ons_gdp_deflator_2026_copy"].series_copy
    assert copy is not None and copy.cdid == "YBGB" and copy.as_of == date(2026, 10, 3)
    assert copy.index_base == "2024 = 100" and "fetched 2026-10-03" in copy.vintage
    assert SOURCES["ons_gdp_deflator"].optional and SOURCES["ons_gdp_deflator"].series_copy is None


# --------------------------------------------------------------------------------------- SEN2 release registry


def test_each_sen2_release_is_a_registry_entry_with_its_own_names():
    from sendlib.sources import SOURCES, sen2_datasets

    caseload = {d.release: d for d in sen2_datasets("caseload")}
    assert caseload["SEN2 2025 release"].columns["placement_state_special"] == ("special_la_maintained",
                                                                                "special_academy_free")
    assert caseload["SEN2 2026 release"].columns["placement_state_special"] == (
        "special_la_maintained", "special_academy", "special_free_school")
    timeliness = {d.release: d for d in sen2_datasets("timeliness")}
    assert timeliness["SEN2 2025 release"].columns["within_20_weeks_pct"] == ("PC_plans_issued_20_weeks_ex",)
    assert timeliness["SEN2 2026 release"].columns["within_20_weeks_pct"] == ("pc_plans_issued_20_weeks_ex",)
    assert timeliness["SEN2 2026 release"].keep == {"breakdown_topic": "All EHC plans"}
    assert timeliness["SEN2 2025 release"].keep == {"breakdown_topic": "All EHC plans issued"}
    assert [d.release for d in sen2_datasets("newplans")] == [
        "SEN2 2023 release, management information file", "SEN2 2025 release", "SEN2 2026 release"]
    for name in ["caseload", "newplans", "requests", "timeliness", "ceased", "annual_reviews"]:
        for spec in sen2_datasets(name):
            for file in spec.files:
                assert file in SOURCES, file
                have = {c.lower() for c in SOURCES[file].columns}
                assert {c.lower() for c in spec.source_columns()} <= have, (file, spec.release)


# --------------------------------------------------------------------------------------- DSG allocations ODS


def summary(path: Path):
    """Read the Allocations_summary sheet of a generated workbook."""
    sheets = read_workbook(path)
    cells = sheets["Allocations_summary"]
    fy = financial_year_of_sheet(cells, path, "Allocations_summary")
    return sheets, read_summary_sheet(cells, path, "Allocations_summary", fy)


def test_dsg_summary_reads_la_rows_england_and_regions(make_dsg_ods):
    path = make_dsg_ods()
    sheets, result = summary(path)
    assert result.financial_year == "2022-23"
    assert result.unit_multiplier == 1.0
    assert result.la["la_code"].tolist() == ["202", "203", "383", "384", "940"]
    leeds = result.la.set_index("la_code").loc["383"]
    assert leeds["la_name"] == "Leeds"
    assert leeds["hnb_before_deductions_gbp"] == 120_500_000
    assert leeds["hnb_after_deductions_gbp"] == 105_250_000
    assert leeds["total_dsg_before_gbp"] == 610_000_000 + 5_900_000 + 120_500_000 + 51_000_000
    assert result.england["hnb_before_deductions_gbp"] == result.la["hnb_before_deductions_gbp"].sum()
    # upper-case summary rows (LONDON, METROPOLITAN AUTHORITIES...) are not regions
    assert result.regions["region_name"].tolist() == ["East Midlands", "Yorkshire and the Humber"]
    assert publication_date(sheets, path) == date(2023, 7, 20)


@pytest.mark.parametrize("offset", [3, 8])
def test_dsg_header_rows_moved_down_still_read(make_dsg_ods, offset):
    _, plain = summary(make_dsg_ods())
    _, moved = summary(make_dsg_ods(offset=offset))
    assert moved.financial_year == "2022-23"
    pd.testing.assert_frame_equal(moved.la, plain.la)
    assert moved.england == plain.england


def test_dsg_title_sharing_a_row_with_group_headings(make_dsg_ods):
    _, plain = summary(make_dsg_ods())
    _, shared = summary(make_dsg_ods(title_with_groups=True))  # the layout of the 2022-23 file
    pd.testing.assert_frame_equal(shared.la, plain.la)


def test_dsg_million_sheet_is_converted_to_pounds(make_dsg_ods):
    _, pounds = summary(make_dsg_ods())
    _, millions = summary(make_dsg_ods(million=True, fy_words="2019-20"))
    assert millions.financial_year == "2019-20"
    assert millions.unit_multiplier == 1e6
    columns = ["hnb_before_deductions_gbp", "hnb_after_deductions_gbp", "total_dsg_before_gbp"]
    assert (millions.la[columns] == pounds.la[columns]).all(axis=None)
    assert millions.la.loc[millions.la["la_code"] == "940", "hnb_before_deductions_gbp"].iloc[0] == 52_370_000


def test_dsg_missing_hnb_column_is_a_clear_error(make_dsg_ods):
    path = make_dsg_ods(hnb_after_heading="Total high needs places deducted (£s)")
    sheets = read_workbook(path)
    with pytest.raises(InputFileError) as caught:
        read_summary_sheet(sheets["Allocations_summary"], path, "Allocations_summary", "2022-23")
    message = str(caught.value)
    assert str(path) in message and "Allocations_summary" in message
    assert "'High needs block'" in message and "before and after deductions" in message


def test_dsg_workbook_without_title_year_is_an_error(make_dsg_ods):
    path = make_dsg_ods(fy_words="this year")
    cells = read_workbook(path)["Allocations_summary"]
    with pytest.raises(InputFileError, match="no financial year"):
        financial_year_of_sheet(cells, path, "Allocations_summary")


def test_dsg_information_sheet_absent_gives_no_date(make_dsg_ods):
    path = make_dsg_ods(information=False)
    assert publication_date(read_workbook(path), path) is None


def test_dsg_publication_date_that_is_not_a_date(make_dsg_ods):
    path = make_dsg_ods(publication="to be confirmed")
    with pytest.raises(InputFileError, match="'to be confirmed' is not a date"):
        publication_date(read_workbook(path), path)


@pytest.mark.parametrize("content, problem", [(b"", "empty"), (b"PK\x03\x04 cut off", "cannot be read")])
def test_dsg_empty_or_corrupt_workbook(tmp_path, content, problem):
    path = tmp_path / "dsg.ods"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=problem) as caught:
        read_workbook(path)
    assert str(path) in str(caught.value)


def test_dsg_truncated_workbook(make_dsg_ods, tmp_path):
    whole = make_dsg_ods().read_bytes()
    path = tmp_path / "truncated.ods"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputFileError, match="cannot be read as a spreadsheet") as caught:
        read_workbook(path)
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------------------- text decoding

HEADER = "la_name,old_la_code,value\n"


def write(tmp_path: Path, content: bytes, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\r\n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(InputFileError, match="empty") as caught:
        read_csv_rows(path)
    assert str(path) in str(caught.value)


def test_header_only_file(tmp_path):
    path = write(tmp_path, HEADER.encode())
    with pytest.raises(InputFileError, match="header but no data rows") as caught:
        read_csv_rows(path)
    assert str(path) in str(caught.value)


def test_truncated_last_row(tmp_path):
    path = write(tmp_path, (HEADER + "Leeds,383,362\nWakefield,38").encode())
    with pytest.raises(InputFileError, match="last row has 2 fields but the header has 3: the file is truncated") as caught:
        read_csv_rows(path)
    assert str(path) in str(caught.value)


def test_truncated_inside_a_quoted_field(tmp_path):
    path = write(tmp_path, (HEADER + '"Leeds",383,362\n"Wakefield",384,"41').encode())
    with pytest.raises(InputFileError, match="truncated inside a quoted field") as caught:
        read_csv_rows(path)
    assert str(path) in str(caught.value)


def test_ragged_middle_row_names_its_number(tmp_path):
    path = write(tmp_path, (HEADER + "Leeds,383\nWakefield,384,41\n").encode())
    with pytest.raises(InputFileError, match="row 2 has 2 fields"):
        read_csv_rows(path)


def test_utf8_with_bom(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + (HEADER + "Leeds,383,362\n").encode())
    header, rows = read_csv_rows(path)
    assert header == ["la_name", "old_la_code", "value"]  # no \ufeff on the first name
    assert rows == [["Leeds", "383", "362"]]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_latin1_and_windows_1252(tmp_path, encoding):
    text = HEADER + "Saint-Étienne-like name,999,£1.5m\n"
    path = write(tmp_path, text.encode(encoding))
    header, rows = read_csv_rows(path)
    assert rows == [["Saint-Étienne-like name", "999", "£1.5m"]]


def test_windows_1252_quotes_and_dash(tmp_path):
    text = 'note\n"“Her Majesty’s Revenue and Customs” – £16,190"\n'
    _, rows = read_csv_rows(write(tmp_path, text.encode("cp1252")))
    assert rows == [["“Her Majesty’s Revenue and Customs” – £16,190"]]


def test_utf8_preferred_over_latin1(tmp_path):
    assert decode_bytes("£ and é".encode(), Path("x.csv")) == "£ and é"


@pytest.mark.parametrize("page", [
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not found</body></html>\n",
    b"\n  <html>\n<head><title>Service unavailable</title></head></html>",
])
def test_html_error_page_instead_of_csv(tmp_path, page):
    path = write(tmp_path, page)
    with pytest.raises(InputFileError, match="HTML page") as caught:
        read_csv_rows(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="not found") as caught:
        read_csv_rows(tmp_path / "absent.csv")
    assert "absent.csv" in str(caught.value)


def test_blank_lines_are_ignored(tmp_path):
    header, rows = read_csv_rows(write(tmp_path, (HEADER + "\nLeeds,383,362\n\n").encode()))
    assert rows == [["Leeds", "383", "362"]]
