"""Presenting text and tables in a report: every value is HTML-escaped, so an area name or a source can
never inject markup or script into the exported page.

A report table is a `ReportTable`: columns of raw values, each with the `sendlib.formatting` function that
writes it, the rows of the derived table behind it (offered as a "Download (CSV)" link embedded in the page, so
the single HTML file keeps working offline and by email) and notes. Each cell carries its raw number in
`data-sort`, so the page's sortable tables order numbers as numbers.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sendlib import formatting


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
    _show("".join(f"<p>{_inline(p)}</p>" for p in paragraphs if p))


def bullets(items: Iterable[str], css_class: str = "findings") -> None:
    """Display a bulleted list (escaped; **bold** kept)."""
    _show(f'<ul class="{html.escape(css_class)}">' + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")


def callout(lines: Iterable[str], title: str | None = None) -> None:
    """Display a boxed answer (the "Is your LA included?" box)."""
    head = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    _show('<div class="callout">' + head + "".join(f"<p>{_inline(line)}</p>" for line in lines) + "</div>")


def questions(pairs: Iterable[tuple[str, str]]) -> None:
    """Display the briefing: each question as a sub-heading, its answer below (escaped)."""
    _show("".join(f"<h3>{html.escape(q)}</h3><p>{_inline(a)}</p>" for q, a in pairs))


# --------------------------------------------------------------------------------------- tables


@dataclass
class Column:
    """One column of a report table: its header, raw values and the formatting function that writes them."""

    header: str
    values: Sequence
    write: Callable[[object], str] | None = None

    def text(self) -> list[str]:
        """Return the cells as text ('n/a' where missing)."""
        write = self.write or _plain_text
        return [write(v) for v in self.values]


@dataclass
class ReportTable:
    """A table as shown in a report, with the derived-table rows behind it (for the CSV download)."""

    columns: list[Column]
    rows: pd.DataFrame | None = None
    name: str = "table"
    notes: str | None = None
    text_only: bool = False
    sortable: bool = True
    attrs: dict = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Return the table as shown: one text column per header."""
        return pd.DataFrame({c.header: c.text() for c in self.columns})

    def __len__(self) -> int:
        """Return the number of rows shown."""
        return len(self.columns[0].values) if self.columns else 0

    @property
    def empty(self) -> bool:
        """Return True if the table has no rows."""
        return len(self) == 0


def _plain_text(value: object) -> str:
    """Return a cell value as text: numbers with separators, missing as 'n/a'."""
    if isinstance(value, str):
        return value
    if formatting.is_missing(value):
        return formatting.MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = float(value)  # type: ignore[arg-type]
    return formatting.count(number) if number.is_integer() else formatting.number(number, 1)


def _sort_value(value: object) -> str | None:
    """Return a cell's raw number for data-sort (None for text and missing values)."""
    if isinstance(value, bool | str) or value is None or value is pd.NA:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else repr(number)


def csv_link(rows: pd.DataFrame, name: str) -> str:
    """Return an <a download> link embedding the rows as CSV (UTF-8, data URI: no file, no network)."""
    data = rows.to_csv(index=False, lineterminator="\n").encode("utf-8")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "table"
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode("ascii")
    return (f'<p class="download"><a download="{html.escape(safe)}.csv" href="{href}">Download (CSV)</a> '
            f"the {len(rows):,} row{'s' if len(rows) != 1 else ''} behind this table</p>")


def table_html(report_table: ReportTable) -> str:
    """Return the HTML of a report table: escaped cells with data-sort numbers, notes, and the CSV link."""
    t = report_table
    classes = ["report-table"] + (["text-table"] if t.text_only else [])
    sortable = ' data-sortable="true"' if t.sortable and len(t) > 1 else ""
    head = "".join(f'<th scope="col">{html.escape(c.header)}</th>' for c in t.columns)
    texts = [c.text() for c in t.columns]
    body = []
    for i in range(len(t)):
        cells = []
        for column, shown in zip(t.columns, texts, strict=True):
            number = _sort_value(column.values[i])
            attribute = f' data-sort="{number}"' if number is not None else ""
            cells.append(f"<td{attribute}>{html.escape(shown[i])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    markup = (f'<table class="{" ".join(classes)}"{sortable}><thead><tr>{head}</tr></thead>'
              f"<tbody>{''.join(body)}</tbody></table>")
    if t.notes:
        markup += f'<p class="table-notes">{_inline(t.notes)}</p>'
    if t.rows is not None and not t.rows.empty:
        markup += csv_link(t.rows, t.name)
    return markup


def table(frame: ReportTable | pd.DataFrame, notes: str | None = None, text: bool = False) -> None:
    """Display a report table (or a plain DataFrame of text) with its notes and its CSV download link."""
    if isinstance(frame, pd.DataFrame):
        frame = ReportTable([Column(str(c), list(frame[c])) for c in frame.columns], rows=frame,
                            notes=notes, text_only=text)
    elif notes:
        frame.notes = f"{frame.notes} {notes}" if frame.notes else notes
    _show(table_html(frame))
