"""The survey definition and everything generated from it: the question sheet, the response layouts (CSV, XLSX)
and the data dictionary; a bad definition is refused with the file and what was expected."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from feedback_synthetic import export_frame, synthetic_responses, use_feedback_folder
from openpyxl import load_workbook

from sendlib.cli import main
from sendlib.errors import InputFileError
from sendlib.feedback.definition import DEFINITION_FILE, load_definition, parse_definition
from sendlib.feedback.importer import import_files
from sendlib.feedback.template import dictionary, layout_header, write_template


@pytest.fixture
def feedback_folder(tmp_path, monkeypatch):
    """An empty feedback folder for the test (SENDLIB_FEEDBACK_DIR), never data/feedback/."""
    return use_feedback_folder(tmp_path, monkeypatch)



def test_the_definition_asks_what_the_issue_asks():
    d = load_definition()
    assert set(d.question("role").options) == {"SENCO", "Teacher", "Teaching assistant", "School leader", "Other"}
    assert set(d.question("setting").options) == {"Mainstream primary", "Mainstream secondary", "Special school",
                                                  "Alternative provision", "Other"}
    assert [q.type for q in d.questions if q.id in ("la", "date")] == ["la", "date"]
    services = {q.row_label for q in d.group("wait_assessment")}
    assert services == {q.row_label for q in d.group("wait_support")}
    assert {"Educational psychology", "Speech and language therapy", "Occupational therapy",
            "Specialist teaching service", "Other specialist service"} <= services
    assert any(s.startswith("CAMHS") for s in services)
    assert set(d.question("barriers").options) == {"Eligibility thresholds", "Application or referral process",
                                                   "Refusal to assess", "Staff shortages", "Funding", "Other"}
    assert d.question("health_care_costs").options == ("Yes", "Partly", "No", "Don't know")
    assert d.question("quote_consent").type == "consent"
    assert {q.field for q in d.of_type("contact")} == {"name", "email", "phone"}
    assert d.of_type("text") and d.question("plan_concern").type == "choice"
    assert d.action_columns == ("Date", "LA", "Issue", "Action", "Status")


def _raw() -> dict:
    return tomllib.loads(DEFINITION_FILE.read_text(encoding="utf-8"))


def _break_type(raw):
    raw["question"][0]["type"] = "slider"


def _break_choices(raw):
    raw["question"][0]["choices"] = "colours"


def _break_separator(raw):
    raw["choices"]["role"] = ["SENCO", "Teacher, or TA"]


def _break_header(raw):
    raw["question"][1]["text"] = raw["question"][0]["text"] + " "


def _break_la(raw):
    raw["question"].append(dict(raw["question"][2], id="la_again", text="Another LA?"))


def _break_consent(raw):
    raw["choices"]["yes_no"] = ["Yes", "No", "Maybe"]


def _break_id(raw):
    raw["question"][0]["id"] = "Role Question"


@pytest.mark.parametrize("damage, expected", [
    (_break_type, "one of"), (_break_choices, "choice list 'colours'"), (_break_separator, "contains ','"),
    (_break_header, "same header"), (_break_la, "exactly one"), (_break_consent, "Yes and No"),
    (_break_id, "lower-case"),
])
def test_a_bad_definition_is_refused_naming_the_file_and_the_fault(damage, expected):
    raw = _raw()
    damage(raw)
    with pytest.raises(InputFileError, match=re.escape(expected)) as caught:
        parse_definition(raw, Path("questions.toml"))
    assert "questions.toml" in str(caught.value)


def test_an_unreadable_definition_file_is_refused(tmp_path):
    broken = tmp_path / "questions.toml"
    broken.write_text("[[question]\nid = ", encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot read the survey definition"):
        load_definition(broken)


def test_template_writes_sheet_layouts_and_dictionary_from_the_one_definition(tmp_path):
    d = load_definition()
    paths = {p.name: p for p in write_template(tmp_path / "template")}
    assert set(paths) == {"survey-questions.html", "survey-responses.csv", "survey-responses.xlsx",
                          "data-dictionary.csv", "actions-log.csv", "README.txt"}
    page = paths["survey-questions.html"].read_text(encoding="utf-8")
    for forbidden in ("http:", "https:", "<script", "<link", " src=", "@import", "url("):
        assert forbidden not in page, forbidden
    text = html.unescape(page)
    for q in d.questions:
        assert (q.text.rsplit(" [", 1)[0] if q.group else q.text) in text
        assert all(o in text for o in q.options)
        if q.group:
            assert q.row_label in text
    csv_header = pd.read_csv(paths["survey-responses.csv"], encoding="utf-8-sig").columns.tolist()
    assert csv_header == layout_header(d) == ["Reference"] + [q.text for q in d.questions]
    book = load_workbook(paths["survey-responses.xlsx"])
    assert [c.value for c in book["Responses"][1]] == layout_header(d)
    lists = book["Responses"].data_validations.dataValidation
    assert len(lists) == len(d.of_type("choice", "consent"))
    assert all(v.formula1.count(",") >= 1 for v in lists)
    dictionary_rows = pd.read_csv(paths["data-dictionary.csv"], keep_default_na=False)
    assert dictionary_rows["column"].tolist() == layout_header(d)
    assert dictionary_rows["id"].tolist()[1:] == [q.id for q in d.questions]
    assert dictionary_rows.equals(dictionary(d).astype(str))
    assert pd.read_csv(paths["actions-log.csv"]).columns.tolist() == list(d.action_columns)


def test_the_template_layout_imports_back(tmp_path, feedback_folder):
    paths = {p.name: p for p in write_template(tmp_path / "template")}
    header = pd.read_csv(paths["survey-responses.csv"], encoding="utf-8-sig").columns.tolist()
    filled = export_frame(synthetic_responses({"Leeds": 6}, plant=False), "template", synthetic=True)
    assert filled.columns.tolist() == header + ["sendlib synthetic test data"]
    export = tmp_path / "typed-in.xlsx"
    filled.to_excel(export, index=False)
    result = import_files([export])
    assert (result.added, result.rejected) == (6, 0)


def test_template_command_writes_the_files(tmp_path, capsys):
    assert main(["feedback", "template", "--out", str(tmp_path / "t")]) == 0
    assert (tmp_path / "t" / "survey-questions.html").is_file()
    assert "survey-responses.xlsx" in capsys.readouterr().out
