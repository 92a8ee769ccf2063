"""Headless Chromium opens the index and a region report over file:// with the network blocked: no console
errors, no failed loads, visible text, decoded images. Uses Debian's /usr/bin/chromium (never downloads
a browser); skipped when it is absent unless SENDLIB_REQUIRE_BROWSER=1 (CI), then it fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import Browser, browser_or_skip

from sendlib.reports.params import select_reports
from sendlib.reports.runner import build_reports

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

@pytest.fixture(scope="module")
def playwright_factory() -> object:
    return browser_or_skip()


@pytest.fixture(scope="module")
def outputs(playwright_factory, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-outputs")
    results = build_reports(select_reports(regions=["London"]), out, progress=False)
    assert all(r.ok for r in results), [r.reason for r in results]
    return out


def test_index_and_region_report_render_offline_without_errors(playwright_factory, outputs, tmp_path):
    with playwright_factory() as playwright:
        browser = Browser(playwright)
        try:
            page = browser.page
            for name, expected in [("index.html", "SEND high needs funding reports"),
                                   ("regions/london.html", "SEND high needs funding: London")]:
                page.goto((outputs / name).as_uri(), wait_until="load")
                shot = tmp_path / (name.replace("/", "-") + ".png")
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 5_000, f"{name}: the screenshot is empty"
                box = page.locator("body").bounding_box()
                assert box and box["width"] > 0 and box["height"] > 0, f"{name}: zero-size body"
                text = page.locator("body").inner_text().strip()
                assert expected in text, f"{name}: expected text not visible"
                broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                                       ".length")
                assert broken == 0, f"{name}: {broken} image(s) did not decode"
            page.goto((outputs / "index.html").as_uri())
            page.click("#region-london .region-report a")  # the region's report, above its councils
            page.wait_for_load_state("load")
            assert page.url.endswith("regions/london.html")
        finally:
            browser.close()
    assert not browser.requests and not browser.problems, (browser.requests, browser.problems)



# --------------------------------------------------------------------------------------- search, sort, maps, print

TEST_NOTEBOOK = [
    ("code", 'area = "E92000001"', ["parameters"]),
    ("code", "import pandas as pd\nfrom IPython.display import HTML, display\nfrom sendlib import hexmap\nfrom sendlib.data import load\n"
             "from sendlib.display import heading, table\nheading('Sorting and maps', 1)", []),
    ("markdown", "## Tables", []),
    ("code", "table(pd.DataFrame({'Council': ['Kent', 'Camden', 'Leeds', 'Barnet', 'Hull', 'York'],\n"
             "    'Gap': ['£1.2bn', '£950k', 'n/a', '-£3.1m', '£77.8m', '£400'],\n"
             "    'Share': ['46.4%', None, '5%', '12.5%', '0.5%', '100%']}))", []),
    ("code", "display(HTML('<table class=\"report-table\" id=\"by-sort-key\"><thead><tr><th>January</th><th>Plans</th>'\n"
             "    '</tr></thead><tbody><tr><td data-sort=\"2019\">Jan. 2019</td><td>1,000</td></tr>'\n"
             "    '<tr><td data-sort=\"2024\">Jan. 2024</td><td>10</td></tr><tr><td data-sort=\"2015\">Jan. 2015</td>'\n"
             "    '<td></td></tr></tbody></table>'))", []),
    ("markdown", "## Maps", []),
    ("code", "groups = load('groups')\n"
             "hexmap.category_map(groups, 'Programme membership', 'DfE; sendlib', category='group',\n"
             "                    family='programme_group', legend_title='Programme')\n"
             "hexmap.value_map(pd.DataFrame({'area_code': groups['area_code'], 'v': range(len(groups))}), 'Values',\n"
             "                 'sendlib test', value='v', legend_title='Value (count)', region='E12000007')\n"
             "hexmap.locator_map('886')", []),
]


def _write_notebook(path: Path) -> Path:
    import nbformat

    cells = []
    for kind, source, tags in TEST_NOTEBOOK:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.metadata["tags"] = tags
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "sendlib", "display_name": "Python (sendlib)", "language": "python"}
    nbformat.write(notebook, str(path))
    return path


@pytest.fixture(scope="module")
def test_page(playwright_factory, tmp_path_factory) -> Path:
    """A report built through the project's runner from a small notebook with tables and hex maps."""
    from sendlib.reports.params import Report

    folder = tmp_path_factory.mktemp("browser-page")
    notebook = _write_notebook(folder / "page.ipynb")
    out = folder / "out"
    report = Report("custom", notebook, "x.html", "Sorting and maps", "E92000001", (("area", "E92000001"),))
    results = build_reports([report], out, progress=False)
    assert all(r.ok for r in results), [r.reason for r in results]
    return out / "x.html"


@pytest.fixture(scope="module")
def index_page(playwright_factory, tmp_path_factory) -> Path:
    """outputs/index.html as a build writes it (England, London and Kent recorded; every council listed)."""
    from sendlib.reports.export import provenance
    from sendlib.reports.index import Entry, record

    out = tmp_path_factory.mktemp("browser-index")
    for relpath in ("england.html", "regions/london.html", "las/886-kent.html"):
        (out / relpath).parent.mkdir(parents=True, exist_ok=True)
        (out / relpath).write_text("<!DOCTYPE html><title>report</title>", encoding="utf-8")
    record(out, [Entry("england.html", "england", "England", "E92000001", "ok", built_at="now"),
                 Entry("regions/london.html", "region", "London", "E12000007", "ok", built_at="now"),
                 Entry("las/886-kent.html", "la", "Kent", "886", "ok", built_at="now")], provenance(), "now")
    return out / "index.html"


def _visible_councils(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('tr[data-search]')).filter(r => r.offsetParent)"
                         ".map(r => r.cells[0].textContent.trim())")


def test_index_search_finds_councils_as_you_type(playwright_factory, index_page):
    with playwright_factory() as playwright:
        browser = Browser(playwright)
        try:
            page = browser.page
            page.goto(index_page.as_uri(), wait_until="load")
            assert len(_visible_councils(page)) == 153
            search = page.locator("#find-council")
            assert search.is_visible()
            search.press_sequentially("kings")  # as you type: each key filters
            assert "Kingston upon Thames" in _visible_councils(page)
            search.press_sequentially("ton")
            assert sorted(_visible_councils(page)) == ["Kingston upon Hull", "Kingston upon Thames"]
            assert page.locator("#find-count").inner_text() == "2 councils match."
            regions = page.evaluate("Array.from(document.querySelectorAll('section[data-region]'))"
                                    ".filter(s => !s.hidden).map(s => s.querySelector('h3').textContent)")
            assert sorted(regions) == ["London", "Yorkshire and The Humber"]
            for query, expected in [("KÍNGSTON upon hull", ["Kingston upon Hull"]), ("hull", ["Kingston upon Hull"]),
                                    ("886", ["Kent"]), ("e09000021", ["Kingston upon Thames"]),
                                    ("brighton & hove", ["Brighton and Hove"])]:
                search.fill(query)
                assert sorted(_visible_councils(page)) == expected, query
            search.fill("zzzz")
            assert _visible_councils(page) == [] and page.locator("#find-count").inner_text() == "No council matches."
            search.fill("")
            assert len(_visible_councils(page)) == 153
        finally:
            browser.close()
        assert not browser.requests and not browser.problems, (browser.requests, browser.problems)


def test_index_without_javascript_shows_the_full_list(playwright_factory, index_page):
    with playwright_factory() as playwright:
        browser = Browser(playwright, javascript=False)
        try:
            browser.page.goto(index_page.as_uri(), wait_until="load")
            assert browser.page.locator("tr[data-search]").count() == 153
            assert all(browser.page.locator("tr[data-search]").nth(i).is_visible() for i in (0, 76, 152))
            assert not browser.page.locator("form.find").is_visible()
        finally:
            browser.close()


def _column(page, table: str, index: int) -> list[str]:
    return page.evaluate(f"Array.from(document.querySelectorAll('{table} tbody tr'))"
                         f".map(r => r.cells[{index}].textContent.trim())")


def test_report_tables_sort_numbers_as_numbers_with_missing_last(playwright_factory, test_page):
    with playwright_factory() as playwright:
        browser = Browser(playwright)
        try:
            page = browser.page
            page.goto(test_page.as_uri(), wait_until="load")
            table = "table.report-table[data-sortable]"
            gap = page.locator(f"{table} th").nth(1)
            assert gap.get_attribute("aria-sort") == "none" and gap.locator("button").get_attribute("title") == "Sort by Gap"
            gap.locator("button").click()
            assert _column(page, table, 1) == ["-£3.1m", "£400", "£950k", "£77.8m", "£1.2bn", "n/a"]
            assert gap.get_attribute("aria-sort") == "ascending"
            gap.locator("button").click()
            assert _column(page, table, 1) == ["£1.2bn", "£77.8m", "£950k", "£400", "-£3.1m", "n/a"]
            assert gap.get_attribute("aria-sort") == "descending"
            page.locator(f"{table} th").nth(2).locator("button").click()
            assert _column(page, table, 2) == ["0.5%", "5%", "12.5%", "46.4%", "100%", "n/a"]
            assert gap.get_attribute("aria-sort") == "none"
            page.locator(f"{table} th").nth(0).locator("button").click()
            assert _column(page, table, 0) == ["Barnet", "Camden", "Hull", "Kent", "Leeds", "York"]
            page.locator("#by-sort-key th").nth(0).locator("button").click()  # data-sort, not the text
            assert _column(page, "#by-sort-key", 0) == ["Jan. 2015", "Jan. 2019", "Jan. 2024"]
            page.locator("#by-sort-key th").nth(1).locator("button").click()
            page.locator("#by-sort-key th").nth(1).locator("button").click()
            assert _column(page, "#by-sort-key", 1) == ["1,000", "10", ""]  # descending, empty still last
        finally:
            browser.close()
        assert not browser.requests and not browser.problems, (browser.requests, browser.problems)


def test_without_javascript_report_tables_read_as_built(playwright_factory, test_page):
    with playwright_factory() as playwright:
        browser = Browser(playwright, javascript=False)
        try:
            browser.page.goto(test_page.as_uri(), wait_until="load")
            assert _column(browser.page, "table.report-table[data-sortable]", 0) == ["Kent", "Camden", "Leeds", "Barnet",
                                                                               "Hull", "York"]
            assert browser.page.locator("button.sort").count() == 0
        finally:
            browser.close()


def test_every_map_has_alt_text_and_nothing_is_fetched(playwright_factory, test_page):
    with playwright_factory() as playwright:
        browser = Browser(playwright)
        try:
            page = browser.page
            page.goto(test_page.as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && "
                                   "i.naturalWidth > 0, src: i.src.slice(0, 22)}))")
            assert len(images) == 3
            for image in images:
                assert image["ok"] and image["src"] == "data:image/png;base64,"
                assert image["alt"].startswith(("Hex map of", "Locator map:")), image["alt"][:80]
            assert "Kingston upon Thames" in images[1]["alt"] and "Kent (886)" in images[2]["alt"]
            assert page.locator("text=Hex layout: Open Innovations (MIT licence)").count() == 0  # drawn in the PNG
        finally:
            browser.close()
        assert not browser.requests and not browser.problems, (browser.requests, browser.problems)


def test_report_prints_on_a4_with_nothing_cut_and_no_contents_list(playwright_factory, test_page, tmp_path):
    import re

    with playwright_factory() as playwright:
        browser = Browser(playwright)
        try:
            page = browser.page
            page.goto(test_page.as_uri(), wait_until="load")
            page.emulate_media(media="print")
            styles = page.evaluate("""() => ({
                toc: getComputedStyle(document.querySelector('nav.toc')).display,
                img: getComputedStyle(document.querySelector('img')).breakInside,
                row: getComputedStyle(document.querySelector('table.report-table tr')).breakInside,
                head: getComputedStyle(document.querySelector('table.report-table thead')).display,
                hint: getComputedStyle(document.querySelector('.sort-hint')).display})""")
            assert styles == {"toc": "none", "img": "avoid", "row": "avoid", "head": "table-header-group",
                              "hint": "none"}
            pdf = page.pdf(prefer_css_page_size=True)
            sizes = {tuple(round(float(v)) for v in box.split()[2:4])
                     for box in re.findall(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", pdf) for box in [box.decode()]}
            assert sizes == {(595, 842)}, sizes  # A4 in points
        finally:
            browser.close()
