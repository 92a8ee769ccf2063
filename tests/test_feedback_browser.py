"""The feedback section in a real report: a tiny notebook calls `show_section` through the project's runner
(papermill, the sendlib kernel, nbconvert) for a region and two of its councils, and headless Chromium opens
the HTML offline: no console errors, no failed loads, the section visible, the small council suppressed, and
no planted personal detail anywhere in the page. Skipped without Chromium unless SENDLIB_REQUIRE_BROWSER=1."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from browser_support import Browser, browser_or_skip
from feedback_synthetic import (
    LISTED_NAME,
    MARKERS,
    export_frame,
    scan_for_markers,
    synthetic_responses,
    write_export,
)

from sendlib.feedback.importer import import_files
from sendlib.reports.params import Report
from sendlib.reports.runner import build_reports

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

YORKSHIRE = "E12000003"


def section_notebook(path: Path) -> Path:
    """Write a notebook whose only work is the feedback section for the region `area` and two of its councils."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "sendlib", "display_name": "Python (sendlib)", "language": "python"}
    parameters = nbformat.v4.new_code_cell(f'area = "{YORKSHIRE}"')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        parameters,
        nbformat.v4.new_code_cell('from sendlib.display import heading\n'
                                  'from sendlib.feedback.report import show_section\n'
                                  'heading("Feedback section check", 1)\n'
                                  'show_section("region", area)\n'
                                  'show_section("la", "383")\n'
                                  'show_section("la", "384")'),
    ]
    nbformat.write(notebook, path)
    return path


def test_the_section_renders_in_a_report_offline_without_personal_data(tmp_path, monkeypatch):
    sync_playwright = browser_or_skip()
    folder = tmp_path / "feedback"
    folder.mkdir()
    monkeypatch.setenv("SENDLIB_FEEDBACK_DIR", str(folder))
    (folder / "names.txt").write_text(LISTED_NAME + "\n", encoding="utf-8")
    responses = synthetic_responses({"Leeds": 12, "Bradford": 9, "Wakefield": 3}, seed=8)
    import_files([write_export(export_frame(responses), tmp_path / "exports" / "forms.xlsx")])
    notebook = section_notebook(tmp_path / "feedback_section.ipynb")
    out = tmp_path / "outputs"
    report = Report("custom", notebook, "feedback.html", "Feedback section", YORKSHIRE, (("area", YORKSHIRE),))
    results = build_reports([report], out, jobs=1, progress=False)
    assert all(r.ok for r in results), [r.reason for r in results]
    page_path = out / "feedback.html"
    leaks = scan_for_markers([p for p in out.rglob("*") if p.is_file()])
    assert not leaks, leaks
    with sync_playwright() as playwright:
        browser = Browser(playwright)
        try:
            page = browser.page
            page.goto(page_path.as_uri(), wait_until="load")
            shot = tmp_path / "feedback.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000
            text = page.locator("body").inner_text()
            assert text.count("What members and SENCOs tell us") == 3
            assert "Synthetic test data" in text and "fewer than 5" in text
            assert "Fewer than 5 members and SENCOs in Wakefield" in text
            headers = [h.strip().rstrip("↕▲▼").strip() for h in page.locator("table th").all_inner_texts()]
            assert "Leeds" in headers and "Bradford" in headers and "Wakefield" not in headers
            assert page.locator("h3", has_text="Who answered, by council").count() == 1
            assert not any(m.lower() in text.lower() for m in MARKERS)
            box = page.locator("h2", has_text="What members and SENCOs tell us").first.bounding_box()
            assert box and box["height"] > 0
        finally:
            browser.close()
    assert not browser.requests and not browser.problems, (browser.requests, browser.problems)
