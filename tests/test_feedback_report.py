"""The reports' "What members and SENCOs tell us" section: how-to only without data; councils side by side in the
region; a council below the threshold shows nothing; an LA report shows exactly its column of the region's
tables; synthetic data are flagged; quotes and actions are escaped; no planted personal detail is rendered;
and the section reads only the summary (no solver, no responses) so it stays cheap in every report kernel."""

from __future__ import annotations

import html
import os
import subprocess
import sys

import pandas as pd
import pytest
from feedback_synthetic import (
    LISTED_NAME,
    export_frame,
    files_under,
    scan_for_markers,
    synthetic_responses,
    use_feedback_folder,
    write_export,
)

from sendlib import display
from sendlib.errors import ParameterError
from sendlib.feedback import store
from sendlib.feedback.actions import add_action
from sendlib.feedback.importer import import_files
from sendlib.feedback.report import SECTION_TITLE, section_blocks, show_section
from sendlib.paths import REPO_ROOT


@pytest.fixture
def feedback_folder(tmp_path, monkeypatch):
    """An empty feedback folder for the test (SENDLIB_FEEDBACK_DIR), never data/feedback/."""
    return use_feedback_folder(tmp_path, monkeypatch)


YORKSHIRE = "E12000003"
MIX = {"Leeds": 14, "Bradford": 8, "Wakefield": 3}


def render(monkeypatch, kind, code) -> str:
    """Return the section's HTML exactly as the notebook would display it."""
    shown: list[str] = []
    monkeypatch.setattr(display, "_show", shown.append)
    show_section(kind, code)
    return "\n".join(shown)


def tables(blocks) -> list[pd.DataFrame]:
    return [b.args[0] for b in blocks if b.kind == "table"]


@pytest.fixture
def imported(tmp_path, feedback_folder):
    names = tmp_path / "names.txt"
    names.write_text(LISTED_NAME + "\n", encoding="utf-8")
    responses = synthetic_responses(MIX, seed=5)
    responses[0].answers["plan_concern_text"] = "<script>alert('x')</script> **bold** & more"
    for other in responses[1:]:
        other.answers["quote_consent"] = "No" if other.la == "Leeds" else other.answers["quote_consent"]
    responses[0].answers["quote_consent"] = "Yes"  # so the one Leeds quote is this one
    import_files([write_export(export_frame(responses), tmp_path / "f.xlsx")], names_files=[names])
    return feedback_folder


@pytest.mark.parametrize("kind, code", [("region", YORKSHIRE), ("la", "383")])
def test_without_data_the_section_says_how_to_collect_it_and_nothing_else(kind, code, feedback_folder, monkeypatch):
    blocks = section_blocks(kind, code)
    assert [b.kind for b in blocks] == ["heading", "say"]
    assert blocks[0].args == (SECTION_TITLE, 2)
    page = render(monkeypatch, kind, code)
    assert "sendlib feedback template" in page and "<table" not in page


def test_a_region_shows_its_councils_side_by_side(imported, monkeypatch):
    blocks = section_blocks("region", YORKSHIRE)
    frames = tables(blocks)
    who = frames[0]
    assert who["Council"].tolist() == ["Bradford", "Leeds", "Wakefield", "Yorkshire and The Humber (total)"]
    assert who["Respondents"].tolist() == ["8", "14", "fewer than 5", "22"]
    role = frames[1]
    assert role.columns.tolist() == ["Role", "Bradford", "Leeds", "Yorkshire and The Humber (total)"]
    text = " ".join(" ".join(b.args) for b in blocks if b.kind == "say")
    assert "1 council(s) had fewer than 5 respondents" in text and "22" in text
    assert any(b.kind == "callout" and "Synthetic test data" in str(b.kwargs) for b in blocks)
    for frame in frames:
        assert "Wakefield" not in frame.columns
        for value in frame.drop(columns=frame.columns[0]).to_numpy().ravel():
            number = str(value).split(" ")[0]
            if number.isdigit():
                assert int(number) == 0 or int(number) >= 5, (frame.columns[0], value)
    page = render(monkeypatch, "region", YORKSHIRE)
    assert "Waiting times for an assessment: typical wait (median)" in page


def test_an_la_report_shows_exactly_its_column_of_the_region_tables(imported):
    region = tables(section_blocks("region", YORKSHIRE))
    la = tables(section_blocks("la", "383"))
    region_role, la_role = region[1], la[0]
    assert la_role.columns.tolist() == ["Role", "Respondents"]
    merged = la_role.merge(region_role[["Role", "Leeds"]], on="Role")
    assert len(merged) == len(la_role) and (merged["Respondents"] == merged["Leeds"]).all()
    region_barriers = next(f for f in region if f.columns[0] == "Barriers to specialist support")
    la_barriers = next(f for f in la if f.columns[0] == "Barriers to specialist support")
    assert la_barriers["Respondents ticking it"].tolist() == region_barriers["Leeds"].tolist()


def test_a_council_below_the_threshold_shows_no_figures(imported):
    blocks = section_blocks("la", "384")
    assert not tables(blocks)
    assert "Fewer than 5 members and SENCOs in Wakefield" in blocks[-1].args[0]
    none_yet = section_blocks("la", "381")
    assert "No survey responses from members and SENCOs in Calderdale" in none_yet[-1].args[0]


def test_a_region_of_small_councils_only_shows_no_figures(tmp_path, feedback_folder):
    import_files([write_export(export_frame(synthetic_responses({"Leeds": 4, "Wakefield": 4})), tmp_path / "f.xlsx")])
    blocks = section_blocks("region", YORKSHIRE)
    who = tables(blocks)
    assert len(who) == 1 and who[0]["Respondents"].tolist() == ["fewer than 5", "fewer than 5", "withheld"]
    assert any("No council has enough respondents" in " ".join(b.args) for b in blocks if b.kind == "say")


def test_a_stale_summary_shows_nothing_but_the_fix(imported):
    store.set_threshold(6)
    blocks = section_blocks("region", YORKSHIRE)
    assert [b.kind for b in blocks] == ["heading", "say"] and "sendlib feedback summary" in blocks[1].args[0]


def test_quotes_and_actions_are_escaped_and_no_personal_detail_is_rendered(imported, monkeypatch, tmp_path):
    add_action("2025-02-03", "Leeds", "EP waits <b>over a year</b> (raised by Qzxvmarker1)",
               "Wrote to the director of children's services", "Raised with the council")
    add_action("2025-02-10", "Yorkshire and the Humber", "Region-wide CAMHS waits", "Motion to regional council",
               "Open")
    pages = {code: render(monkeypatch, kind, code) for kind, code in
             [("region", YORKSHIRE), ("la", "383"), ("la", "380"), ("la", "384")]}
    leeds = pages["383"]
    assert "<script>" not in leeds and "&lt;script&gt;" in leeds
    assert "<b>over a year</b>" not in leeds and "&lt;b&gt;over a year&lt;/b&gt;" in leeds
    assert "Wrote to the director" in leeds and "Region-wide CAMHS" not in leeds
    assert "(raised by [name])" in leeds  # a respondent's name in the actions log is redacted too
    assert "Region-wide CAMHS" in pages[YORKSHIRE] and "Wrote to the director" in pages[YORKSHIRE]
    assert "In their own words" in leeds
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    for code, page in pages.items():
        (rendered / f"{code}.html").write_text(page, encoding="utf-8")
    leaks = scan_for_markers(files_under(rendered))
    assert not leaks, leaks
    leaks = scan_for_markers(files_under(imported, skip=(store.CONTACTS,)))
    assert not leaks, leaks
    assert "fewer than 5" in html.unescape(pages[YORKSHIRE])


def test_bad_kind_or_code_is_refused(feedback_folder):
    with pytest.raises(ParameterError, match="'region' or 'la'"):
        section_blocks("england", "E92000001")
    with pytest.raises(ParameterError, match="a region"):
        section_blocks("region", "383")
    with pytest.raises(ParameterError, match="an LA"):
        section_blocks("la", "999")


def test_the_section_reads_only_the_summary(imported):
    probe = ("import sys\nfrom sendlib.feedback.report import section_blocks\n"
             "section_blocks('region', 'E12000003'); section_blocks('la', '383')\n"
             "print(sorted(m for m in ('scipy', 'sendlib.feedback.importer', 'openpyxl')"
             " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "SENDLIB_FEEDBACK_DIR": str(imported)})
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_a_build_with_synthetic_survey_data_says_so_in_every_report_and_the_index(tmp_path, monkeypatch, capsys):
    from sendlib.cli import main
    from sendlib.feedback.report import uses_synthetic_data
    from sendlib.feedback.store import feedback_dir

    use_feedback_folder(tmp_path, monkeypatch)
    export = write_export(export_frame(synthetic_responses({"Leeds": 6})), tmp_path / "export.csv")
    assert main(["feedback", "import", str(export)]) == 0
    assert uses_synthetic_data(feedback_dir())
    out = tmp_path / "out"
    assert main(["reports", "--la", "Leeds", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC TEST DATA" in printed
    page = next((out / "las").glob("*.html")).read_text(encoding="utf-8")
    assert "Synthetic test data:" in page.split("</header>")[0]
    assert "synthetic test data" in (out / "index.html").read_text(encoding="utf-8")
