"""The report notebooks run through the real runner (papermill, forked kernels, nbconvert) on the committed
data for England, one region and one LA; the HTML is what a councillor or journalist opens."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sendlib.data import read_manifest
from sendlib.reports.params import select_reports
from sendlib.reports.runner import build_reports

pytestmark = pytest.mark.notebooks

EXPECTED = {"england.html": "England", "regions/london.html": "London", "las/886-kent.html": "Kent"}
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)


class Page(HTMLParser):
    """Collect what the checks need: resource references, images, style text, headings and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.references.append(found["src"] or "")
        if tag == "link" and found.get("href"):
            self.references.append(found["href"] or "")
        if tag == "img":
            self.images.append(found)
            self.references.append(found.get("src") or "")
        if found.get("style"):
            self.styles.append(found["style"] or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("reports")
    reports = select_reports(england=True, regions=["London"], las=["886"])
    results = build_reports(reports, out, jobs=2, progress=False)
    return out, results


@pytest.fixture(scope="module")
def pages(built) -> dict[str, str]:
    out, _ = built
    return {name: (out / name).read_text(encoding="utf-8") for name in EXPECTED}


def test_every_report_is_built_where_expected(built):
    out, results = built
    assert [r.status for r in results] == ["ok"] * 3, [r.reason for r in results]
    assert {r.report.relpath for r in results} == set(EXPECTED)
    for name in EXPECTED:
        assert (out / name).stat().st_size <= 2_000_000
    assert not (out / "executed").exists()


def test_no_code_cells_or_prompts(pages):
    for name, text in pages.items():
        assert 'class="input"' not in text and "input_area" not in text, name
        assert "In&nbsp;[" not in text and "Out[" not in text and "input_prompt" not in text, name
        assert "import html" not in text and "plots." not in text and "load(" not in text, name


def test_no_traceback_error_or_stderr(pages):
    for name, text in pages.items():
        assert "Traceback" not in text and "output_error" not in text and "output_stderr" not in text, name
        assert "Error" not in " ".join(parse(text).text), name


def test_area_name_is_in_the_title_and_heading(pages):
    for name, area in EXPECTED.items():
        page = parse(pages[name])
        assert f"<title>SEND high needs funding: {area}</title>" in pages[name]
        assert f"SEND high needs funding: {area}" in " ".join(page.text)


def test_figures_are_embedded_pngs_with_alt_text(pages):
    for name, text in pages.items():
        images = parse(text).images
        assert images, name
        assert any((img.get("src") or "").startswith("data:image/png;base64,") for img in images), name
        for img in images:
            assert (img.get("src") or "").startswith("data:"), name
            assert (img.get("alt") or "").strip(), f"{name}: an image without alt text"
            assert "No description has been provided" not in (img.get("alt") or ""), name


def test_no_external_resources(pages):
    for name, text in pages.items():
        page = parse(text)
        assert not [r for r in page.references if EXTERNAL.match(r)], name
        assert text.count("<script") == 1 and "<script>" in text, f"{name}: only the template's inline script"
        css = " ".join(page.styles)
        assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", css, re.I), name
        assert not re.search(r"@import", css, re.I), name
        assert "mathjax" not in text.lower() and "require.js" not in text.lower(), name
        assert "fonts.googleapis" not in text, name


def test_table_of_contents_links_to_headings(pages):
    for name, text in pages.items():
        toc = re.search(r'<nav class="toc".*?</nav>', text, re.S)
        assert toc, name
        for anchor in re.findall(r'href="#([^"]+)"', toc.group(0)):
            assert f'id="{anchor}"' in text, f"{name}: contents entry #{anchor} has no heading"


def test_print_styles_are_inline(pages):
    for text in pages.values():
        assert "@media print" in text


def test_footer_has_parameters_versions_and_data_vintages(pages):
    manifest = read_manifest()
    for name, text in pages.items():
        footer = re.search(r'<footer class="provenance".*?</footer>', text, re.S)
        assert footer, name
        block = html.unescape(footer.group(0))
        assert "sendlib 0.1.0" in block and "git commit" in block and "Built" in block, name
        for table, entry in manifest["tables"].items():
            assert table in block, f"{name}: no vintage for {table}"
            for item in entry["inputs"]:
                assert item["release"] in block, f"{name}: {table} release {item['release']!r} missing"
    assert "none (national report)" in pages["england.html"]
    assert "region</code> = E12000007 (London)" in pages["regions/london.html"]
    assert "la</code> = 886 (Kent)" in pages["las/886-kent.html"]


def test_index_lists_each_report_with_its_status(built):
    out, _ = built
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert f'href="{name}"' in index
    assert index.count('<span class="status-ok">ok</span>') == 3
    assert '<span class="status-failed">' not in index
    assert not [r for r in parse(index).references if EXTERNAL.match(r)]


BUILT_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC")
COMMIT = re.compile(r"git commit <code>[^<]*</code>")


def _without_time_and_commit(text: str) -> str:
    """Return the HTML with the build time and git commit (the only things allowed to differ) blanked."""
    return COMMIT.sub("git commit <code>-</code>", BUILT_AT.sub("<time>", text))


def test_two_builds_differ_only_in_build_time_and_commit(built, pages, tmp_path):
    results = build_reports(select_reports(regions=["London"]), tmp_path, jobs=1, progress=False)
    assert all(r.ok for r in results)
    again = (tmp_path / "regions/london.html").read_text(encoding="utf-8")
    first = pages["regions/london.html"]
    assert again != "" and BUILT_AT.search(first)
    assert _without_time_and_commit(again) == _without_time_and_commit(first)


def test_england_report_tells_the_whole_national_story(pages):
    text = " ".join(parse(pages["england.html"]).text)
    for section in ["Key findings", "Actual and necessary funding", "Funding per plan in real terms",
                    "How much do the model's choices matter?", "a projection", "Who is in Safety Valve",
                    "Safety Valve and DBV councils against all others", "Did Safety Valve agreements change",
                    "Every council", "Methods and caveats", "Sources"]:
        assert section in text, section
    assert "£21,846" in text and "240,183" in text  # the 2015-16 base, from the data
    assert "36 of the 38 Safety Valve agreements" in text and "47 of the 55 DBV LAs" in text
    assert "Pre-trend test" in text and "regression to the mean" in text


def test_la_report_answers_is_your_la_included_first_and_the_six_questions(pages):
    page = pages["las/886-kent.html"]
    text = " ".join(parse(page).text)
    assert text.index("Is your LA included?") < text.index("Funding against need")
    assert "Safety Valve, agreement 2022-23" in text and "£142.0m" in text
    for number in range(1, 7):
        assert f"{number}. " in text
    assert "NHS contributions to EHC plans" in text and "Statistical neighbours" in text


def test_region_report_ranks_its_councils_and_marks_programmes(pages):
    page = parse(pages["regions/london.html"])
    text = " ".join(page.text)
    assert "The region's councils, ranked" in text and "Kingston upon Thames" in text
    alts = " ".join(img.get("alt") or "" for img in page.images)
    assert "Highlighted: " in alts and "Kingston upon Thames" in alts  # SV councils named in the ranking's alt text
