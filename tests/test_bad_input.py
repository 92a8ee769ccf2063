"""Bad raw input: one official file is damaged in a copy of the reference folder.

Each damage that cannot be read is a clear error naming the file (and the column where there is one) and the
build writes nothing; each that is only a different way of writing the same data (byte-order mark, Windows
encoding, columns in another order, header rows moved) gives the same tables as the reference build.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from sendlib.build import build_all
from sendlib.build.context_tables import build_context
from sendlib.build.ehcp import build_ehcp
from sendlib.build.funding_tables import build_high_needs_block, build_national_series
from sendlib.build.pipeline import _build_areas, _csv_bytes
from sendlib.errors import BuildCheckError, InputFileError
from sendlib.paths import external_dir
from sendlib.readers.dsg_ods import financial_year_of_sheet, read_summary_sheet, read_workbook
from sendlib.schemas import SCHEMAS, conform, validate

pytestmark = pytest.mark.reference

CASELOAD = "ehcp_sen2/sen2_2025release_caseload_toplevel.csv"
NEWPLANS = "ehcp_sen2/sen2_2025release_newplans_toplevel.csv"
REQUESTS = "ehcp_sen2/sen2_2025release_requests_toplevel.csv"
MI = "ehcp_sen2/sen2_mi_2023release_2014-2022.csv"
GEO = "la_lookup/dfeR_geo_hierarchy_la_level_england_2017-2025.csv"
LAIT = "lait/lait_sen_context_indicators_2016-2025.csv"
LAIT_DICTIONARY = "lait/lait_data_dictionary_subset.csv"
ANSWERS = "dsg_high_needs_block/hnb_secondary_values_from_parliamentary_answers.csv"
DSG_2022_23 = "dsg_high_needs_block/dsg_2022-23_allocations_file_dated_2023_07_20.ods"


# --------------------------------------------------------------------------------------- damage


def edit_rows(path: Path, change) -> None:
    """Rewrite a CSV after change(header, rows) edits the header and the list of rows in place (UTF-8, LF)."""
    with open(path, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    change(header, rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def set_cell(column: str, value: str, **where: str):
    """Return a change setting `column` to `value` in the first row matching `where` (column -> value)."""

    def change(header, rows):
        row = next(r for r in rows if all(r[header.index(c)] == v for c, v in where.items()))
        row[header.index(column)] = value

    return change


def leeds(time_period: str) -> dict[str, str]:
    return {"old_la_code": "383", "time_period": time_period}


def truncate_mid_row(path: Path) -> None:
    data = path.read_bytes()
    cut = len(data) * 2 // 3
    while data[cut - 1:cut] in (b"\n", b","):
        cut += 1
    path.write_bytes(data[:cut])


def truncate_inside_quotes(path: Path) -> None:
    data = path.read_bytes()
    cut = data.rindex(b',"') + 5  # inside the last quoted LA name
    path.write_bytes(data[:cut])


def rename_column(old: str, new: str):
    def change(header, rows):
        header[header.index(old)] = new

    return change


def drop_column(name: str):
    def change(header, rows):
        position = header.index(name)
        for row in [header, *rows]:
            del row[position]

    return change


def repeat_row(**where: str):
    def change(header, rows):
        rows.append(list(next(r for r in rows if all(r[header.index(c)] == v for c, v in where.items()))))

    return change


def drop_rows(column: str, value: str):
    def change(header, rows):
        rows[:] = [r for r in rows if r[header.index(column)] != value]

    return change


HTML = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><title>Page not found - GOV.UK</title></head>\n"
        b"<body><h1>Page not found</h1></body></html>\n")

ERRORS = [
    # id, file, damage (bytes, or a change to the rows), error, what the message must say
    ("empty", NEWPLANS, b"", InputFileError, ["the file is empty"]),
    ("header-only", MI, "header", InputFileError, ["header but no data rows"]),
    ("truncated", CASELOAD, truncate_mid_row, InputFileError, ["last row has", "fields but the header has 60", "truncated"]),
    ("truncated-in-quotes", MI, truncate_inside_quotes, InputFileError, ["truncated inside a quoted field"]),
    ("html-page", GEO, HTML, InputFileError, ["HTML page"]),
    ("renamed-column", CASELOAD, rename_column("ehcplans", "ehc_plans"), InputFileError,
     ["missing column(s) ['ehcplans']", "in any order"]),
    ("missing-column", REQUESTS, drop_column("requests_decided_to_assess"), InputFileError,
     ["missing column(s) ['requests_decided_to_assess']", "'requests_received_in_year'"]),
    ("not-a-number", REQUESTS, set_cell("requests_received_in_year", "1O4", **leeds("2023")), InputFileError,
     ["column 'requests_received_in_year'", "holds '1O4'"]),
    ("negative-count", NEWPLANS, set_cell("new_ehc_plans", "-362", **leeds("2022")), InputFileError,
     ["column 'new_ehc_plans'", "negative count '-362'"]),
    ("repeated-key", CASELOAD, repeat_row(**leeds("202425")), InputFileError, ["area 383 period 2025 appears 2 times"]),
    ("la-code-malformed", CASELOAD, set_cell("old_la_code", "38", **leeds("202324")), InputFileError,
     ["old_la_code '38' is not a 3-digit LA code"]),
    ("la-code-not-in-registry", LAIT, set_cell("la_number", "999", la_number="383"), InputFileError,
     ["la_number", "['999'] not in areas.csv"]),
    ("missing-year", CASELOAD, drop_rows("time_period", "202425"), BuildCheckError,
     ["table ehcp", "January 2025", "638,745"]),
]


@pytest.mark.parametrize("file, damage, error, fragments", [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_bad_file_is_a_clear_error_and_nothing_is_written(raw_copy, existing_output, cached_workbooks, helpers,
                                                         file, damage, error, fragments):
    path = raw_copy / file
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    elif damage == "header":
        path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])
    elif damage.__code__.co_argcount == 1:
        damage(path)
    else:
        edit_rows(path, damage)
    before = helpers.snapshot(existing_output)
    with pytest.raises(error) as caught:
        build_all(raw_copy, existing_output)
    message = str(caught.value)
    if error is InputFileError:
        assert caught.value.path == str(path)
        assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message
    assert helpers.snapshot(existing_output) == before


# --------------------------------------------------------------------------------------- same data, other form


@pytest.fixture(scope="module")
def reference_areas(reference_dir: Path) -> pd.DataFrame:
    """Return areas.csv as the pipeline builds it (before it is written)."""
    return _build_areas(reference_dir).frame


def table_bytes(built) -> bytes:
    """Return a built table as the pipeline writes it."""
    schema = SCHEMAS[built.name]
    return _csv_bytes(validate(conform(built.frame, schema), schema))


def assert_as_in_reference(built, reference_build) -> None:
    assert table_bytes(built) == (reference_build.out / f"{built.name}.csv").read_bytes(), built.name


def reencode(path: Path, encoding: str, bom: bool = False) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))


def test_byte_order_mark_is_accepted(raw_copy, reference_build):
    reencode(raw_copy / CASELOAD, "utf-8", bom=True)
    areas = _build_areas(raw_copy)
    assert_as_in_reference(areas, reference_build)
    assert_as_in_reference(build_ehcp(raw_copy, areas.frame), reference_build)


def test_windows_1252_file_is_accepted(raw_copy, reference_build, reference_areas):
    path = raw_copy / LAIT_DICTIONARY
    reencode(path, "cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # "£" and "’" are single bytes now
    assert_as_in_reference(build_context(raw_copy, reference_areas), reference_build)


def test_latin1_file_is_accepted(raw_copy, reference_build, reference_tables):
    path = raw_copy / ANSWERS
    reencode(path, "latin-1")
    assert "£".encode("latin-1") in path.read_bytes()
    tables = {name: reference_tables[name] for name in ("ehcp", "high_needs_block", "deflators")}
    built = build_national_series(raw_copy, external_dir(), tables["ehcp"], tables["high_needs_block"],
                                  tables["deflators"])
    assert_as_in_reference(built, reference_build)


@pytest.mark.parametrize("file", [CASELOAD, MI])
def test_columns_in_another_order_give_the_same_tables(raw_copy, reference_build, file):
    def reverse(header, rows):
        for row in [header, *rows]:
            row.reverse()

    edit_rows(raw_copy / file, reverse)
    areas = _build_areas(raw_copy)
    assert_as_in_reference(areas, reference_build)
    assert_as_in_reference(build_ehcp(raw_copy, areas.frame), reference_build)


def test_suppression_symbol_in_a_count_becomes_missing(raw_copy, reference_tables, reference_areas):
    edit_rows(raw_copy / NEWPLANS, set_cell("new_ehc_plans", "c", **leeds("2023")))
    built = build_ehcp(raw_copy, reference_areas)
    frame = validate(conform(built.frame, SCHEMAS["ehcp"]), SCHEMAS["ehcp"])
    expected = reference_tables["ehcp"]
    cell = (frame["area_code"] == "383") & (frame["january"] == 2024)
    assert pd.isna(frame.loc[cell, "new_plans"].item())  # not 0
    assert expected.loc[cell, "new_plans"].item() > 0
    pd.testing.assert_frame_equal(frame.drop(columns="new_plans"), expected.drop(columns="new_plans"))
    pd.testing.assert_series_equal(frame.loc[~cell, "new_plans"], expected.loc[~cell, "new_plans"])
    assert any("skipped where a value is suppressed" in check for check in built.checks)


def test_dsg_workbook_with_header_rows_moved_down(raw_copy, reference_build, reference_areas, cached_workbooks):
    path = raw_copy / DSG_2022_23
    sheets = read_workbook(path)
    summary = sheets["Allocations_summary"]
    moved = pd.concat([pd.DataFrame([[None] * summary.shape[1]] * 4), summary], ignore_index=True)
    information = next(name for name in sheets if name.startswith("Information"))
    with pd.ExcelWriter(path, engine="odf") as writer:
        sheets[information].to_excel(writer, sheet_name=information, header=False, index=False)
        moved.to_excel(writer, sheet_name="Allocations_summary", header=False, index=False)
    again = read_workbook(path)["Allocations_summary"]
    assert again.iloc[:4].isna().all(axis=None) and re.search("2022 to 2023", str(again.iat[4, 0]))
    assert financial_year_of_sheet(again, path, "Allocations_summary") == "2022-23"
    assert len(read_summary_sheet(again, path, "Allocations_summary", "2022-23").la) == 150
    assert_as_in_reference(build_high_needs_block(raw_copy, reference_areas), reference_build)
