"""Presenting text and tables in a report: every value is HTML-escaped, so an area name or a source can
never inject markup or script into the exported page."""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd


def _show(markup: str) -> None:
    """Display HTML in the notebook (and so in the exported report)."""
    from IPython.display import HTML, display

    display(HTML(markup))


def _inline(text: str) -> str:
    """Return escaped text with **bold** turned into <strong> (the only markup the report text uses)."""
    parts = html.escape(str(text)).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def heading(text: str, level: int = 1) -> None:
    """Display a heading (escaped); the export's table of contents picks it up."""
    _show(f"<h{level}>{html.escape(str(text))}</h{level}>")


def say(*paragraphs: str) -> None:
    """Display paragraphs of text (escaped; **bold** kept)."""
    _show("".join(f"<p>{_inline(p)}</p>" for p in paragraphs))


def bullets(items: Iterable[str], css_class: str = "findings") -> None:
    """Display a bulleted list (escaped; **bold** kept)."""
    _show(f'<ul class="{css_class}">' + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")


def callout(lines: Iterable[str], title: str | None = None) -> None:
    """Display a boxed answer (the "Is your LA included?" box)."""
    head = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    _show('<div class="callout">' + head + "".join(f"<p>{_inline(line)}</p>" for line in lines) + "</div>")


def table(frame: pd.DataFrame, notes: str | None = None, max_rows: int | None = None, text: bool = False) -> None:
    """Display a table (values escaped, no index) with optional notes under it; `text` left-aligns every column."""
    shown = frame if max_rows is None else frame.head(max_rows)
    classes = ["report-table"] + (["text-table"] if text else [])
    markup = shown.to_html(index=False, border=0, escape=True, na_rep="n/a", classes=classes)
    if notes:
        markup += f'<p class="table-notes">{_inline(notes)}</p>'
    _show(markup)


def questions(pairs: Iterable[tuple[str, str]]) -> None:
    """Display the briefing: each question as a sub-heading, its answer below (escaped)."""
    _show("".join(f"<h3>{html.escape(q)}</h3><p>{_inline(a)}</p>" for q, a in pairs))
