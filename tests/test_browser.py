"""Headless Chromium opens the index and a region report over file:// with the network blocked: no console
errors, no failed loads, visible text, decoded images. Uses Debian's /usr/bin/chromium (never downloads
a browser); skipped when it is absent unless SENDLIB_REQUIRE_BROWSER=1 (CI), then it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sendlib.reports.params import select_reports
from sendlib.reports.runner import build_reports

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_or_skip() -> object:
    """Return the sync_playwright factory, or skip (fail when SENDLIB_REQUIRE_BROWSER=1) with the reason."""
    problem = None
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        problem = (f"{CHROMIUM} not found: install Debian's chromium (scripts/ensure-chromium.sh or "
                   "`apt-get install chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "the playwright Python package is not installed (pip install playwright)"
        sync_playwright = None
    if problem:
        if os.environ.get("SENDLIB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SENDLIB_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture(scope="module")
def playwright_factory() -> object:
    return _browser_or_skip()


@pytest.fixture(scope="module")
def outputs(playwright_factory, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-outputs")
    results = build_reports(select_reports(regions=["London"]), out, progress=False)
    assert all(r.ok for r in results), [r.reason for r in results]
    return out


def test_index_and_region_report_render_offline_without_errors(playwright_factory, outputs, tmp_path):
    sync_playwright = playwright_factory
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})

            def block(route) -> None:
                problems.append(f"blocked network request {route.request.url}")
                route.abort()

            context.route("http://**/*", block)
            context.route("https://**/*", block)
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}"))
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
            page.click("text=London")
            page.wait_for_load_state("load")
            assert page.url.endswith("regions/london.html")
        finally:
            browser.close()
    assert not problems, problems

