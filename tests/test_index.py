"""outputs/index.html: every council by region with its programme status and the right report link, a search
that works on names, aliases and codes, and a record (.reports.json) that is rebuilt from the reports on disk
when it is unreadable, so a report whose file is there is never forgotten."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from sendlib.reports.export import export_html, provenance
from sendlib.reports.index import (
    STATE_NAME,
    Entry,
    council_directory,
    read_state,
    record,
    render_index,
    search_text,
    status_text,
)
from sendlib.reports.params import Report

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "_floor.ipynb"


@pytest.fixture(scope="module")
def shared() -> dict:
    return provenance()


def write_report(out: Path, report: Report, shared: dict, names: dict[str, str]) -> None:
    """Write a real exported report page (the template's title, parameters and footer) into `out`."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {report.title}")])
    page = export_html(nb, report, shared, names, built_at="2026-05-01 10:00 UTC")
    (out / report.relpath).parent.mkdir(parents=True, exist_ok=True)
    (out / report.relpath).write_text(page, encoding="utf-8")


LONDON = Report("region", NOTEBOOK, "regions/london.html", "London", "E12000007", (("region", "E12000007"),))
KENT = Report("la", NOTEBOOK, "las/886-kent.html", "Kent", "886", (("la", "886"),))
ENGLAND = Report("england", NOTEBOOK, "england.html", "England", "E92000001")
NAMES = {"E12000007": "London", "886": "Kent"}


def entry(report: Report, status: str = "ok", **extra) -> Entry:
    return Entry(report.relpath, report.kind, report.title, report.area_code, status, built_at="2026-05-01", **extra)


@pytest.fixture
def built(tmp_path, shared) -> Path:
    """An outputs folder with England, London and Kent built and recorded."""
    for report in (ENGLAND, LONDON, KENT):
        write_report(tmp_path, report, shared, NAMES)
    record(tmp_path, [entry(ENGLAND), entry(LONDON), entry(KENT)], shared, "now")
    return tmp_path


def rows(page: str) -> dict[str, str]:
    """Return council code -> its table row markup."""
    return {re.search(r"<td>(\w{3})</td>", row).group(1): row
            for row in re.findall(r'<tr data-search="[^"]*">.*?</tr>', page, re.S)}


# --------------------------------------------------------------------------------------- the page


def test_every_council_is_listed_by_region_with_status_and_the_right_link(built):
    page = (built / "index.html").read_text(encoding="utf-8")
    directory = council_directory()
    councils = rows(page)
    assert set(councils) == set(directory)
    assert len(re.findall(r'<section class="region" id="region-[a-z-]+" data-region>', page)) == 9
    assert 'href="las/886-kent.html">Kent report</a>' in councils["886"]
    assert directory["886"]["status"] in councils["886"]
    assert 'href="regions/london.html">in the London report</a>' in councils["202"]  # Camden: no report of its own
    assert "not built yet" in councils["383"]  # Leeds: neither its own nor Yorkshire's report is built
    london = page.index('id="region-london"')
    assert page.index("<td>Camden</td>", london) < page.index('id="region-south-east"')
    assert 'Region report: <a href="regions/london.html">London</a>' in page
    assert '<h2 id="england">England</h2>' in page and 'href="england.html"' in page
    assert "<script" in page and "src=" not in page.split("<script")[1].split(">")[0]  # inline only
    assert re.search(r'<form class="find" role="search" hidden>', page)  # shown only when the script runs


def test_a_council_is_found_by_name_alias_or_code():
    directory = council_directory()
    hull = search_text(directory["810"]["name"], directory["810"]["aliases"].replace(";", " "), "810",
                       directory["810"]["ons_code"])
    assert "kingston upon hull" in hull and "hull" in hull and "810" in hull and "e06000010" in hull
    assert search_text("Brighton & Hove", "Bédford") == "brighton and hove bedford"


def test_status_reads_as_words():
    assert status_text("SV 2022-23") == "Safety Valve 2022-23"
    assert status_text("Other: DSG deficit") == "Neither programme: DSG deficit"
    assert status_text("DBV tranche 2") == "DBV tranche 2"


def test_render_index_takes_any_council_mapping_and_escapes_it(tmp_path, shared):
    evil = "<script>alert(1)</script>"
    councils = {"001": {"name": f"Alpha {evil}", "region": "North", "status": "Safety Valve 2020-21",
                        "programme": "sv"},
                "002": {"name": "Beta", "region": "North", "status": evil, "programme": '" onclick="x'},
                "003": {"region": "South", "status": "Neither programme"}}
    page = render_index(tmp_path, {}, shared, "now", councils)
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'programme-other">' in page and "onclick" not in page  # an unknown class becomes 'other'
    assert page.index('id="region-north"') < page.index('id="region-south"')
    assert "<td>003</td>" in page  # no name given: the code stands in


def test_without_a_council_list_the_reports_are_listed_by_kind(built, shared):
    state = read_state(built)
    page = render_index(built, state, shared, "now", None)
    assert '<h2 id="local-authorities">Local authorities</h2>' in page and "Kent (886)" in page
    assert "<form" not in page and "<script" not in page


# --------------------------------------------------------------------------------------- the record


def test_a_corrupt_record_is_rebuilt_from_the_reports_on_disk(built, shared, capsys):
    (built / STATE_NAME).write_text('{"reports": [{"relpath": "las/886-ke', encoding="utf-8")
    (built / "notes.html").write_text("<html><title>My own notes</title></html>", encoding="utf-8")
    capsys.readouterr()
    other = Report("la", NOTEBOOK, "las/383-leeds.html", "Leeds", "383", (("la", "383"),))
    write_report(built, other, shared, {"383": "Leeds"})
    record(built, [entry(other)], shared, "later")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(built / STATE_NAME) in err and "unreadable" in err
    assert "0 kept, 4 recovered" in err  # Leeds too: its file was written before the record
    state = json.loads((built / STATE_NAME).read_text(encoding="utf-8"))["reports"]
    recovered = {e["relpath"]: e for e in state}
    assert set(recovered) == {"england.html", "regions/london.html", "las/886-kent.html", "las/383-leeds.html"}
    assert recovered["las/886-kent.html"]["area_code"] == "886" and recovered["las/886-kent.html"]["kind"] == "la"
    assert recovered["regions/london.html"]["area_code"] == "E12000007"
    assert recovered["regions/london.html"]["title"] == "London"
    assert recovered["england.html"]["built_at"] == "2026-05-01 10:00 UTC"
    page = (built / "index.html").read_text(encoding="utf-8")
    assert 'href="las/886-kent.html">Kent report</a>' in page and 'href="las/383-leeds.html">Leeds report</a>' in page
    assert "My own notes" not in page  # a page sendlib did not write is left out
    record(built, [entry(other)], shared, "later still")
    assert capsys.readouterr().err == ""  # said once: the record is good again


@pytest.mark.parametrize("content", ["[]", '{"reports": "none"}', '{"reports": [{"relpath": "x"}, 7]}', "\udcff"])
def test_any_unreadable_record_keeps_the_reports_on_disk(built, capsys, content):
    (built / STATE_NAME).write_bytes(content.encode("utf-8", errors="surrogateescape"))
    state = read_state(built)
    assert {"england.html", "regions/london.html", "las/886-kent.html"} <= set(state)
    assert "rebuilt the record" in capsys.readouterr().err


def test_a_missing_record_quietly_takes_in_the_reports_on_disk(built, capsys):
    (built / STATE_NAME).unlink()
    capsys.readouterr()
    assert set(read_state(built)) == {"england.html", "regions/london.html", "las/886-kent.html"}
    assert capsys.readouterr().err == ""
    assert read_state(built.parent / "empty-folder-that-does-not-exist") == {}


def test_a_failed_build_still_links_the_previous_good_report(built, shared):
    record(built, [entry(KENT, "failed", reason="cell 3 raised ValueError: boom")], shared, "later")
    councils = rows((built / "index.html").read_text(encoding="utf-8"))
    assert 'class="status-failed">failed</span>' in councils["886"] and "boom" in councils["886"]
    assert "the link opens the previous report, built 2026-05-01" in councils["886"]
