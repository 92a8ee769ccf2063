"""Executed notebook -> one self-contained HTML report.

nbconvert's HTMLExporter with our template (templates/sendlib_report, extending nbconvert's classic base):
no input cells or prompts, no stderr, tracebacks or scripts, figures embedded as base64 PNG with their alt
text, inline CSS (print-friendly), a table of contents built from the headings, and a footer with the
parameters, the data vintages from MANIFEST.json, the sendlib version, the git commit and the build time. A
report built from tables that differ from MANIFEST.json (allowed with --allow-modified-data) says so in its
masthead and its footer.
"""

from __future__ import annotations

import html
import re
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sendlib import __version__
from sendlib.paths import REPO_ROOT
from sendlib.reports.params import Report

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "sendlib_report"
TOC_MARK = "<!--sendlib:toc-->"
CONTENT = re.compile(r"<!--sendlib:content-start-->(.*)<!--sendlib:content-end-->", re.S)
HEADING = re.compile(r"<h([1-3])\b([^>]*)>(.*?)</h\1>", re.S)
ID_ATTR = re.compile(r'\bid="([^"]+)"')
TAG = re.compile(r"<[^>]+>")
ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)
PAGE_TITLE = "SEND high needs funding"
EXTERNAL = [
    re.compile(r"<(?:script|img|link|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*"
               r"[\"']?\s*((?:https?:)?//[^\"'\s>]*)", re.I),
    re.compile(r"url\(\s*[\"']?\s*((?:https?:)?//[^)\"'\s]*)", re.I),
    re.compile(r"@import\s+(?:url\()?\s*[\"']?\s*([^\"');\s]+)", re.I),
]


def read_css() -> str:
    """Return the shared stylesheet (inlined in every page)."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    if "</" in css or "url(" in css or "@import" in css:
        raise ValueError("report.css must not reference other resources or close the <style> element")
    return css


def git_commit(root: Path = REPO_ROOT) -> str:
    """Return the short git commit of the working tree ('+ uncommitted changes' if dirty), or 'unknown'."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not re.fullmatch(r"[0-9a-f]{4,40}", head):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head


def manifest_vintages(manifest: dict) -> list[dict[str, Any]]:
    """Return, per processed table, its input releases (title and release) from MANIFEST.json."""
    tables = []
    for name, entry in manifest.get("tables", {}).items():
        inputs = []
        for item in entry.get("inputs", []):
            pair = {"title": str(item.get("title") or item.get("name") or "input"),
                    "release": str(item.get("release") or "release not recorded")}
            if pair not in inputs:
                inputs.append(pair)
        tables.append({"table": str(name), "inputs": inputs})
    return tables


def provenance() -> dict[str, Any]:
    """Return what every footer shares in one build: version, commit, vintages, licence, the CSS, and which
    tables differ from their MANIFEST.json ('modified', '' if none: the masthead and footer then say so).

    Every table is checked here, once, before any report runs: a changed table stops the build with a named
    error unless modified data are allowed (--allow-modified-data), and must still pass its plausibility rules."""
    from sendlib.data import describe_modified, read_manifest, verify_all
    from sendlib.feedback.report import uses_synthetic_data

    verify_all()
    manifest = read_manifest()
    return {"version": __version__, "commit": git_commit(), "vintages": manifest_vintages(manifest),
            "licence": f"Data: {manifest.get('licence', 'see MANIFEST.json')}. Built with sendlib.",
            "css": read_css(), "modified": describe_modified() or "", "synthetic": uses_synthetic_data()}


def now_text() -> str:
    """Return the current time as '2026-05-01 14:03 UTC'."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def build_exporter() -> Any:
    """Return the HTMLExporter for reports (our template, no input, no prompts, cells tagged remove-* removed)."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TemplateExporter.exclude_input = True
    config.TemplateExporter.exclude_input_prompt = True
    config.TemplateExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = ("remove-cell", "remove_cell")
    config.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output", "remove_output")
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.TagRemovePreprocessor"]
    return HTMLExporter(config=config, template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES)])


def table_of_contents(page: str) -> str:
    """Return the page with a contents list (h2/h3 of the report body, or h1 if there are none) inserted."""
    body = CONTENT.search(page)
    found = []
    for level, attrs, inner in HEADING.findall(body.group(1) if body else ""):
        anchor = ID_ATTR.search(attrs)
        text = html.unescape(TAG.sub("", ANCHOR.sub("", inner))).strip()
        if anchor and text:
            found.append((int(level), anchor.group(1), text))
    entries = [h for h in found if h[0] > 1] or [h for h in found if h[0] == 1]
    if len(entries) < 2:
        return page.replace(TOC_MARK, "", 1)
    items = "\n".join(f'<li class="level-{level}"><a href="#{anchor}">{html.escape(text)}</a></li>'
                      for level, anchor, text in entries)
    nav = f'<nav class="toc" aria-label="Contents">\n<h2>Contents</h2>\n<ol>\n{items}\n</ol>\n</nav>'
    return page.replace(TOC_MARK, nav, 1)


def external_references(page: str) -> list[str]:
    """Return the external resources a page would load (scripts, styles, images, fonts, imports)."""
    return [match.group(1) for pattern in EXTERNAL for match in pattern.finditer(page)]


def report_resources(report: Report, shared: dict[str, Any], area_names: dict[str, str],
                     built_at: str | None = None) -> dict[str, Any]:
    """Return the nbconvert resources for one report (footer and page metadata under 'sendlib')."""
    parameters = [(k, f"{v} ({area_names[v]})" if v in area_names else v) for k, v in report.parameters]
    meta = {**shared, "title": report.title, "page_title": f"{PAGE_TITLE}: {report.title}", "parameters": parameters,
            "built_at": built_at or now_text()}
    return {"sendlib": meta, "metadata": {"name": report.title}}


def export_html(nb: Any, report: Report, shared: dict[str, Any], area_names: dict[str, str],
                exporter: Any = None, built_at: str | None = None) -> str:
    """Return the report HTML for an executed notebook."""
    exporter = exporter or _default_exporter()
    for position, cell in enumerate(nb.cells):  # papermill gives its injected cell a random id: number them all
        cell["id"] = f"cell-{position}"
    body, _resources = exporter.from_notebook_node(nb, resources=report_resources(report, shared, area_names,
                                                                                  built_at))
    external = external_references(body)
    if external:
        raise ValueError(f"the report would load {len(external)} external resource(s) and not open offline: "
                         + ", ".join(sorted(set(external))[:5]))
    return table_of_contents(body)


@lru_cache(maxsize=1)
def _default_exporter() -> Any:
    """Return a cached exporter for callers that do not pass one."""
    return build_exporter()
