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
        assert "<script" not in text, f"{name}: reports carry no scripts"
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
