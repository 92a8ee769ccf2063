"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright (never a downloaded
browser), offline, every network request refused and recorded with console errors, page errors and failed loads.
Skipped when Chromium or playwright is absent, unless SENDLIB_REQUIRE_BROWSER=1 (CI), then it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_or_skip() -> object:
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


class Browser:
    """One offline Chromium context: `requests` records every network request refused, `problems` every console
    error, page error and failed load."""

    def __init__(self, playwright, javascript: bool = True) -> None:
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        self.context = self.browser.new_context(offline=True, java_script_enabled=javascript,
                                                viewport={"width": 1100, "height": 900})
        self.requests: list[str] = []
        self.problems: list[str] = []

        def block(route) -> None:
            self.requests.append(route.request.url)
            route.abort()

        self.context.route(lambda url: not url.startswith(("file:", "data:")), block)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed to load {r.url}"))

    def close(self) -> None:
        """Close the browser."""
        self.browser.close()
