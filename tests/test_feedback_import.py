"""Importing survey exports: Microsoft Forms, Google Forms and the template's own layout round-trip; every bad
input is reported with file, row, column and what was expected (never the value) and nothing is written;
duplicates add nothing; contacts are split off, respondents pseudonymised and free text redacted."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from feedback_synthetic import (
    LISTED_NAME,
    MARKERS,
    export_frame,
    files_under,
    scan_for_markers,
    synthetic_responses,
    use_feedback_folder,
    write_export,
)

from sendlib.errors import InputFileError, ParameterError, SendlibError
from sendlib.feedback import store
from sendlib.feedback.definition import load_definition
from sendlib.feedback.importer import SEEN, import_files, outside_feedback
from sendlib.feedback.sheets import FileProblems, parse_date
from sendlib.paths import REPO_ROOT


@pytest.fixture
def feedback_folder(tmp_path, monkeypatch):
    """An empty feedback folder for the test (SENDLIB_FEEDBACK_DIR), never data/feedback/."""
    return use_feedback_folder(tmp_path, monkeypatch)


D = load_definition()
CODES = {"Leeds": "383", "Wakefield": "384", "Kent": "886", "kingston": "314", "E08000036": "384", "886": "886"}


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stored(folder) -> pd.DataFrame:
    return pd.read_csv(folder / store.RESPONSES, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("layout, suffix", [("microsoft_forms", ".xlsx"), ("microsoft_forms", ".csv"),
                                            ("google_forms", ".csv"), ("google_forms", ".xlsx"),
                                            ("template", ".csv"), ("template", ".xlsx")])
def test_each_layout_round_trips(layout, suffix, tmp_path, feedback_folder):
    responses = synthetic_responses({"Leeds": 4, "Wakefield": 3, "kingston": 2, "E08000036": 1}, seed=7)
    path = write_export(export_frame(responses, layout, workbook=suffix == ".xlsx"), tmp_path / f"export{suffix}")
    result = import_files([path])
    assert (result.rows, result.added, result.rejected, result.duplicates) == (10, 10, 0, 0)
    got = stored(feedback_folder)
    assert got["layout"].unique().tolist() == [layout]
    assert got["la"].tolist() == [CODES[r.la] for r in responses]
    assert got["date"].tolist() == [r.when.date().isoformat() for r in responses]
    for q in D.of_type("choice"):
        assert got[q.id].tolist() == [r.answers[q.id] for r in responses], q.id
    assert got["barriers"].tolist() == [";".join(o for o in D.question("barriers").options
                                                 if o in r.answers["barriers"]) for r in responses]
    assert got["quote_consent"].tolist() == [r.answers["quote_consent"] for r in responses]
    assert got["synthetic"].eq("yes").all()
    assert got["submission"].str.fullmatch(r"S[0-9a-f]{16}").all()
    assert got["respondent"].str.fullmatch(r"R[0-9a-f]{16}").all()
    assert got["submission"].is_unique and got["respondent"].is_unique


def test_reimporting_adds_nothing_and_changes_no_file(tmp_path, feedback_folder):
    path = write_export(export_frame(synthetic_responses({"Leeds": 8})), tmp_path / "forms.xlsx")
    import_files([path])
    before = snapshot(feedback_folder)
    again = import_files([path])
    assert (again.added, again.duplicates) == (0, 8)
    assert snapshot(feedback_folder) == before
    (feedback_folder / SEEN).unlink()  # as after a crash between writing the responses and the keys
    assert import_files([path]).added == 0


def test_the_same_export_as_csv_and_xlsx_is_recognised(tmp_path, feedback_folder):
    frame = export_frame(synthetic_responses({"Kent": 6}), "google_forms", workbook=True)
    import_files([write_export(frame, tmp_path / "g.xlsx")])
    second = import_files([write_export(frame, tmp_path / "g.csv")])
    assert (second.added, second.duplicates) == (0, 6)
    assert len(stored(feedback_folder)) == 6


def test_repeated_rows_in_one_file_count_once(tmp_path, feedback_folder):
    frame = export_frame(synthetic_responses({"Kent": 5}), "template")
    doubled = pd.concat([frame, frame.iloc[[0, 1]]], ignore_index=True)
    result = import_files([write_export(doubled, tmp_path / "t.csv")])
    assert (result.added, result.duplicates) == (5, 2)


def test_a_later_submission_from_the_same_email_replaces_the_earlier(tmp_path, feedback_folder):
    responses = synthetic_responses({"Kent": 5})
    repeat = synthetic_responses({"Kent": 1}, seed=99)[0]
    repeat.email, repeat.when = responses[1].email, responses[1].when + dt.timedelta(days=3)
    assert repeat.email
    import_files([write_export(export_frame(responses), tmp_path / "a.xlsx")])
    result = import_files([write_export(export_frame([repeat]), tmp_path / "b.xlsx")])
    assert (result.added, result.replaced) == (1, 1)
    got = stored(feedback_folder)
    assert len(got) == 5 and got["respondent"].is_unique
    assert repeat.when.date().isoformat() in set(got["date"])
    contacts = pd.read_csv(feedback_folder / store.CONTACTS, dtype=str, keep_default_na=False)
    assert set(contacts["submission"]) <= set(got["submission"])
    again = import_files([tmp_path / "a.xlsx"])  # the replaced submission does not come back
    assert (again.added, again.duplicates) == (0, 5)


def test_contacts_are_split_off_and_free_text_redacted(tmp_path, feedback_folder):
    names = tmp_path / "names.txt"
    names.write_text(f"# colleagues named in comments\n{LISTED_NAME}\n", encoding="utf-8")
    responses = synthetic_responses({"Leeds": 9, "Kent": 6})
    result = import_files([write_export(export_frame(responses), tmp_path / "f.xlsx")], names_files=[names])
    contacts = pd.read_csv(feedback_folder / store.CONTACTS, dtype=str, keep_default_na=False)
    assert list(contacts.columns) == list(store.CONTACT_COLUMNS)
    assert sorted(contacts["email"][contacts["email"] != ""]) == sorted(r.email for r in responses if r.email)
    assert sorted(contacts["name"]) == sorted(r.name for r in responses)
    assert result.contacts == len(responses) and result.redactions > 0
    got = stored(feedback_folder)
    assert not set(got.columns) & {"name", "email", "phone", "contact_name", "contact_email", "contact_phone"}
    text = " ".join(got[[q.id for q in D.of_type("text")]].to_numpy().ravel())
    assert "[email]" in text and "[phone]" in text and "[postcode]" in text and "[name]" in text
    leaks = scan_for_markers(files_under(feedback_folder, skip=(store.CONTACTS,)))
    assert not leaks, leaks


def test_names_are_redacted_only_when_listed(tmp_path, feedback_folder):
    import_files([write_export(export_frame(synthetic_responses({"Leeds": 9})), tmp_path / "f.xlsx")])
    assert LISTED_NAME in (feedback_folder / store.RESPONSES).read_text(encoding="utf-8")
    (feedback_folder / store.NAMES).write_text(LISTED_NAME + "\n", encoding="utf-8")  # the default list
    (feedback_folder / store.RESPONSES).unlink()
    (feedback_folder / SEEN).unlink()
    import_files([tmp_path / "f.xlsx"])
    assert LISTED_NAME not in (feedback_folder / store.RESPONSES).read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------- bad input


def _export(tmp_path, change, layout="microsoft_forms", suffix=".xlsx"):
    frame = export_frame(synthetic_responses({"Leeds": 4, "Kent": 3}, plant=False), layout,
                         workbook=suffix == ".xlsx")
    frame = change(frame) if change else frame
    return write_export(frame, tmp_path / f"bad{suffix}")


def _set(column, row, value):
    def change(frame):
        frame = frame.astype(object)
        frame.loc[row, column] = value
        return frame
    return change


ROLE, LA, BARRIERS = D.question("role").text, D.question("la").text, D.question("barriers").text
SECRET = "Qzxvmarker-value"

BAD_ROWS = [
    ("unknown LA", _set(LA, 2, f"Atlantis {SECRET}"), 4, LA, "an English upper-tier LA"),
    ("abolished LA", _set(LA, 0, "Northamptonshire"), 2, LA, "no longer exists"),
    ("ambiguous LA", _set(LA, 1, "North"), 3, LA, "current LA"),
    ("answer outside its set", _set(ROLE, 3, f"Headteacher {SECRET}"), 5, ROLE, "one of SENCO, Teacher"),
    ("missing required answer", _set(ROLE, 1, ""), 3, ROLE, "required"),
    ("tick box outside its set", _set(BARRIERS, 0, f"Funding;{SECRET};"), 2, BARRIERS, "options from"),
    ("impossible date", _set("Completion time", 2, "31/02/2025 10:00"), 4, "Completion time", "a date"),
    ("future date", _set("Completion time", 2, (dt.date.today() + dt.timedelta(days=9)).isoformat()), 4,
     "Completion time", "to today"),
    ("date before the reforms", _set("Completion time", 2, "2013-05-01"), 4, "Completion time", "from 1 September 2014"),
    ("not a date", _set("Completion time", 0, SECRET), 2, "Completion time", "a date"),
    ("wrong synthetic marker", _set("sendlib synthetic test data", 1, "no"), 3, "sendlib synthetic test data", "'yes'"),
]


@pytest.mark.parametrize("label, change, row, column, expected", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_value_names_file_row_column_and_expectation_and_nothing_is_written(
        label, change, row, column, expected, tmp_path, feedback_folder):
    import_files([write_export(export_frame(synthetic_responses({"Kent": 5}, seed=3)), tmp_path / "first.xlsx")])
    before = snapshot(feedback_folder)
    path = _export(tmp_path, change)
    with pytest.raises(FileProblems) as caught:
        import_files([path])
    message = str(caught.value)
    assert path.name in message and f"row {row}" in message and repr(column) in message, message
    assert expected in message, message
    assert "nothing was imported" in message
    assert SECRET not in message and "Qzxv" not in message
    assert snapshot(feedback_folder) == before


def _rename(old, new):
    return lambda frame: frame.rename(columns={old: new})


BAD_HEADERS = [
    ("unknown column", lambda f: f.assign(**{"Favourite colour": "blue"}), "Favourite colour", "a question of the survey"),
    ("misspelt question", _rename(ROLE, "What is your rol?"), "What is your rol?", "closest: 'What is your role?'"),
    ("missing column", lambda f: f.drop(columns=[D.question("setting").text]), D.question("setting").text, "missing"),
    ("repeated column", lambda f: f.rename(columns={D.question("setting").text: ROLE}), ROLE, "each question once"),
]


@pytest.mark.parametrize("label, change, column, expected", BAD_HEADERS, ids=[b[0] for b in BAD_HEADERS])
def test_a_bad_header_is_reported_and_nothing_is_written(label, change, column, expected, tmp_path, feedback_folder):
    path = _export(tmp_path, change, suffix=".csv")
    with pytest.raises(FileProblems) as caught:
        import_files([path], skip_invalid=True)  # header problems cannot be skipped
    message = str(caught.value)
    assert "bad.csv" in message and "row 1" in message and repr(column) in message and expected in message, message
    assert list(feedback_folder.iterdir()) == []


def test_the_template_layout_needs_its_date_column(tmp_path, feedback_folder):
    frame = export_frame(synthetic_responses({"Kent": 5}), "template").drop(columns=[D.question("date").text])
    with pytest.raises(FileProblems, match="Date completed.*missing"):
        import_files([write_export(frame, tmp_path / "t.csv")])


def test_a_blank_date_is_taken_from_the_timestamp_or_refused(tmp_path, feedback_folder):
    frame = export_frame(synthetic_responses({"Kent": 5}), "google_forms", ask_date=True).astype(object)
    frame.loc[1, D.question("date").text] = ""
    import_files([write_export(frame, tmp_path / "g.csv")])
    assert stored(feedback_folder)["date"].iloc[1] == frame.loc[1, "Timestamp"][6:10] + "-" + \
        frame.loc[1, "Timestamp"][3:5] + "-" + frame.loc[1, "Timestamp"][:2]
    typed = export_frame(synthetic_responses({"Kent": 5}, seed=2), "template").astype(object)
    typed.loc[2, D.question("date").text] = ""
    with pytest.raises(FileProblems, match="row 4, column 'Date completed': expected a date \\(required\\)"):
        import_files([write_export(typed, tmp_path / "t.csv")])


def test_a_month_first_file_is_read_with_the_option_and_refused_without(tmp_path, feedback_folder):
    frame = export_frame(synthetic_responses({"Kent": 5}), "template").astype(object)
    frame[D.question("date").text] = ["01/25/2025", "01/26/2025", "02/03/2025", "02/04/2025", "02/05/2025"]
    path = write_export(frame, tmp_path / "us.csv")
    with pytest.raises(FileProblems, match="--date-order mdy"):
        import_files([path])
    import_files([path], order="mdy")
    assert stored(feedback_folder)["date"].tolist()[:3] == ["2025-01-25", "2025-01-26", "2025-02-03"]


def test_dates_in_the_forms_people_write(tmp_path):
    today = dt.date(2025, 6, 1)
    for text, expected in [("2025-03-14", "2025-03-14"), ("14/03/2025", "2025-03-14"), ("14/3/25", "2025-03-14"),
                           ("2025/03/14 10:32:11 AM GMT", "2025-03-14"), ("14 March 2025", "2025-03-14"),
                           ("March 14, 2025", "2025-03-14"), (dt.datetime(2025, 3, 14, 9), "2025-03-14")]:
        found, problem = parse_date(text, "dmy", today)
        assert (found.isoformat() if found else problem) == expected, text
    assert parse_date("03/14/2025", "dmy", today)[1].endswith("--date-order mdy)")
    assert parse_date("2025-07-01", "dmy", today)[0] is None


def test_skip_invalid_stores_the_valid_rows_and_writes_the_rejected_ones_inside_the_folder(tmp_path, feedback_folder):
    path = _export(tmp_path, lambda f: _set(LA, 5, "Atlantis")(_set(ROLE, 1, "Headteacher")(f)))
    result = import_files([path], skip_invalid=True)
    assert (result.rows, result.added, result.rejected) == (7, 5, 2)
    assert len(stored(feedback_folder)) == 5
    rejected = feedback_folder / store.REJECTED / "bad-rejected.csv"
    assert result.rejected_files and rejected.is_file()
    frame = pd.read_csv(rejected, dtype=str, keep_default_na=False)
    assert frame["Row"].tolist() == ["3", "7"]
    assert "expected one of SENCO" in frame["Problems"].iloc[0] and "LA" in frame["Problems"].iloc[1]


def test_one_bad_file_stops_the_whole_import(tmp_path, feedback_folder):
    good = write_export(export_frame(synthetic_responses({"Kent": 5})), tmp_path / "good.xlsx")
    bad = _export(tmp_path, _set(ROLE, 0, "Headteacher"))
    with pytest.raises(FileProblems, match="bad.xlsx"):
        import_files([good, bad])
    assert list(feedback_folder.iterdir()) == []


@pytest.mark.parametrize("name, content, expected", [
    ("empty.csv", b"", "empty"), ("notes.txt", b"a,b\n", ".csv or .xlsx"), ("sheet.ods", b"x", ".csv or .xlsx"),
    ("broken.xlsx", b"not a workbook", "cannot be read"),
])
def test_unreadable_files_are_refused(name, content, expected, tmp_path, feedback_folder):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=re.escape(expected)) as caught:
        import_files([path])
    assert name in str(caught.value)
    with pytest.raises(InputFileError, match="file not found"):
        import_files([tmp_path / "absent.csv"])


def test_extra_cells_beyond_the_header_are_a_problem(tmp_path, feedback_folder):
    path = write_export(export_frame(synthetic_responses({"Kent": 5}), "template", workbook=False), tmp_path / "t.csv")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[2] += ",surplus"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FileProblems, match="row 3: expected at most"):
        import_files([path])


def test_synthetic_and_real_responses_are_never_mixed(tmp_path, feedback_folder):
    import_files([write_export(export_frame(synthetic_responses({"Kent": 5})), tmp_path / "s.xlsx")])
    real = export_frame(synthetic_responses({"Kent": 5}, seed=4), synthetic=False)
    with pytest.raises(SendlibError, match="mix synthetic test responses with real ones"):
        import_files([write_export(real, tmp_path / "r.xlsx")])


def test_a_cp1252_semicolon_csv_is_read(tmp_path, feedback_folder):
    frame = export_frame(synthetic_responses({"Kent": 5}, plant=False), "template", workbook=False)
    frame[D.question("plan_concern_text").text] = "Cost of £500 per pupil"
    path = tmp_path / "excel.csv"
    path.write_bytes(frame.to_csv(index=False, sep=";").encode("cp1252"))
    import_files([path])
    assert "£500" in stored(feedback_folder)["plan_concern_text"].iloc[0]


def test_the_threshold_is_at_least_three(feedback_folder):
    assert store.threshold() == 5
    for bad in (2, "1", "0", "-5", "4.5", "five", ""):
        with pytest.raises(ParameterError, match="at least 3"):
            store.check_threshold(bad)
    assert store.set_threshold("7") == 7 and store.threshold() == 7
    assert store.set_threshold(3) == 3
    (feedback_folder / store.SETTINGS).write_text('{"threshold": 2}', encoding="utf-8")
    with pytest.raises(InputFileError, match="threshold 2 is not allowed"):
        store.threshold()


def test_exports_inside_the_repository_but_outside_data_feedback_are_flagged(feedback_folder):
    assert outside_feedback([REPO_ROOT / "responses.csv", feedback_folder / "x.csv", REPO_ROOT / "outputs" / "x.csv"]) \
        == [REPO_ROOT / "responses.csv"]


def test_markers_are_planted_where_they_should_be_caught(tmp_path):
    frame = export_frame(synthetic_responses({"Kent": 8}))
    raw = write_export(frame, tmp_path / "raw.xlsx")
    found = " ".join(scan_for_markers([raw]))
    assert all(m in found for m in MARKERS), found  # the scan would see every kind of leak
