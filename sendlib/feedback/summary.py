"""The disclosure-controlled summary of the survey: for each region, every table its report and its councils'
reports show, built once after each import (`sendlib feedback import|summary`) so that reports only read it.

Columns of a region's tables: each council with at least `threshold` respondents; then, when the councils
below the threshold have that many between them, those councils combined ("others"), else they are left out of
the region's tables (their number is said); then the region's total over the columns shown. A region is one
table family: an LA report shows exactly its column of the region's tables, so nothing differs between the
region report and its councils' reports that could be subtracted. Rows are the answers, with "No answer".
Every table goes through `disclosure.protect_grid`. Quotes: free text of respondents who consented, already
redacted at import, from councils with at least `threshold` respondents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sendlib import __version__
from sendlib.errors import DataValidationError
from sendlib.feedback import store
from sendlib.feedback.definition import NO_ANSWER, Definition, Question, load_definition
from sendlib.feedback.disclosure import (
    FEWER,
    SHOWN,
    WITHHELD,
    Grid,
    median_band,
    median_relations,
    protect_grid,
)

OTHERS = "others"
RESPONDENTS = "respondents"
SUMMARY_COLUMNS = ("region_code", "table", "row", "column", "value", "status", "text")
QUOTE_COLUMNS = ("region_code", "area_code", "question", "text")
NOT_PREFIX = "not:"


@dataclass(frozen=True)
class Columns:
    """Which councils of a region get a column, which are combined, and which are left out."""

    region_code: str
    counts: dict[str, int]
    shown: tuple[str, ...]
    others: tuple[str, ...]
    excluded: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the column codes: councils shown, then 'others' if combined, then the total if 2+ columns."""
        parts = self.shown + ((OTHERS,) if self.others else ())
        return parts + ((self.region_code,) if len(parts) > 1 else ())

    @property
    def total(self) -> str | None:
        """Return the total column's code (the region), or None when one column stands alone."""
        return self.region_code if len(self.columns) > len(self.shown) + bool(self.others) else None

    def column_of(self, la_code: str) -> str | None:
        """Return the column an LA's responses count in (its own, 'others'), or None when left out."""
        return la_code if la_code in self.shown else OTHERS if la_code in self.others else None


def others_can_be_combined(counts: Sequence[int], threshold: int) -> bool:
    """Return True if councils each below the threshold may be shown combined: at least `threshold` respondents in
    all and no council's count pinned down by 'fewer than threshold' labels and the combined total."""
    total, members = sum(counts), len(counts)
    if total < threshold or members < 2:
        return False
    least = max(1, total - (members - 1) * (threshold - 1))
    most = min(threshold - 1, total - (members - 1))
    return most - least >= 1


def plan_columns(counts: dict[str, int], threshold: int, region_code: str,
                 names: dict[str, str] | None = None) -> Columns:
    """Return the Columns of a region from its councils' respondents (count)."""
    names = names or {}
    ordered = sorted((c for c, n in counts.items() if n > 0), key=lambda c: (names.get(c, c), c))
    shown = tuple(c for c in ordered if counts[c] >= threshold)
    small = tuple(c for c in ordered if counts[c] < threshold)
    if others_can_be_combined([counts[c] for c in small], threshold):
        return Columns(region_code, dict(counts), shown, small, ())
    return Columns(region_code, dict(counts), shown, (), small)


def _cell_rows(region: str, table: str, grid: Grid, status: dict, shown_rows: Sequence[str]) -> list[dict]:
    """Return summary rows for the displayed cells of a protected grid."""
    rows = []
    for row in shown_rows:
        for column in grid.columns:
            state = status[(row, column)]
            rows.append({"region_code": region, "table": table, "row": row, "column": column,
                         "value": grid.counts[(row, column)] if state == SHOWN else None, "status": state,
                         "text": ""})
    return rows


def _grid(keys: pd.Series, answers: pd.Series, rows: Sequence[str], plan: Columns,
          hidden: Sequence[str] = ()) -> Grid:
    """Return the grid of counts of answers (rows) by column, with the total column when there is one."""
    table = pd.crosstab(answers, keys)
    counts = {}
    parts = [c for c in plan.columns if c != plan.total]
    for row in rows:
        for column in parts:
            counts[(row, column)] = int(table.at[row, column]) if row in table.index and column in table.columns else 0
        if plan.total:
            counts[(row, plan.total)] = sum(counts[(row, c)] for c in parts)
    return Grid(counts, tuple(rows), plan.columns, plan.total, tuple(hidden))


def choice_table(q: Question, frame: pd.DataFrame, keys: pd.Series, plan: Columns, threshold: int) -> list[dict]:
    """Return the summary rows of a one-answer question: counts by answer and column, and medians if ordered."""
    answers = frame[q.id].replace("", NO_ANSWER)
    grid = _grid(keys, answers, list(q.options) + [NO_ANSWER], plan)
    extra, medians = [], {}
    if q.ordered:
        for column in grid.columns:
            cells = [(o, column) for o in q.ordered]
            values = [grid.counts[c] for c in cells]
            extra += median_relations(cells, values, threshold, ("median", column))
            medians[column] = q.ordered[median_band(values)] if sum(values) >= threshold else ""
        grid = Grid(grid.counts, grid.rows, grid.columns, grid.total, (), tuple(extra))
    status = protect_grid(grid, threshold)
    rows = _cell_rows(plan.region_code, q.id, grid, status, grid.rows)
    for column, band in medians.items():
        state = status[("median", column)]
        rows.append({"region_code": plan.region_code, "table": q.id, "row": "median", "column": column,
                     "value": None, "status": WITHHELD if state != SHOWN else SHOWN if band else FEWER,
                     "text": band if state == SHOWN else ""})
    return rows


def multi_table(q: Question, frame: pd.DataFrame, keys: pd.Series, plan: Columns, threshold: int) -> list[dict]:
    """Return the summary rows of a tick-all-that-apply question: respondents ticking each option, by column."""
    rows = []
    ticked = frame[q.id].str.split(";")
    for option in q.options:
        answers = ticked.apply(lambda picked, o=option: o if o in picked else NOT_PREFIX + o)
        grid = _grid(keys, answers, [option, NOT_PREFIX + option], plan, hidden=[NOT_PREFIX + option])
        rows += _cell_rows(plan.region_code, q.id, grid, protect_grid(grid, threshold), [option])
    return rows


def respondents_table(frame: pd.DataFrame, keys: pd.Series, plan: Columns, date_id: str) -> list[dict]:
    """Return the respondents by council (each council with any; 'fewer' below the threshold), the combined
    column, the region's total, the number of councils left out, and the months the responses span."""
    region = plan.region_code
    rows = [{"region_code": region, "table": RESPONDENTS, "row": RESPONDENTS, "column": code,
             "value": n if code in plan.shown else None, "status": SHOWN if code in plan.shown else FEWER, "text": ""}
            for code, n in sorted(plan.counts.items()) if n > 0]
    in_columns = keys.notna()
    if plan.others:
        rows.append({"region_code": region, "table": RESPONDENTS, "row": RESPONDENTS, "column": OTHERS,
                     "value": int((keys == OTHERS).sum()), "status": SHOWN, "text": ""})
    rows.append({"region_code": region, "table": RESPONDENTS, "row": RESPONDENTS, "column": region,
                 "value": int(in_columns.sum()) if plan.columns else None,
                 "status": SHOWN if plan.columns else WITHHELD, "text": ""})  # small councils only: not shown
    rows.append({"region_code": region, "table": RESPONDENTS, "row": "councils_left_out", "column": region,
                 "value": len(plan.excluded), "status": SHOWN, "text": ""})
    months = frame[date_id].str[:7]
    for column in plan.columns:
        mask = in_columns if column == plan.total else keys == column
        for label, value in (("first_month", months[mask].min()), ("last_month", months[mask].max())):
            rows.append({"region_code": region, "table": RESPONDENTS, "row": label, "column": column,
                         "value": None, "status": SHOWN, "text": value})
    return rows


def region_summary(frame: pd.DataFrame, definition: Definition, region_code: str, threshold: int,
                   names: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Return (summary rows, quote rows) for one region's responses."""
    la_id = definition.of_type("la")[0].id
    counts = frame[la_id].value_counts().to_dict()
    plan = plan_columns({str(k): int(v) for k, v in counts.items()}, threshold, region_code, names)
    keys = frame[la_id].map(plan.column_of)
    rows = respondents_table(frame, keys, plan, definition.of_type("date")[0].id)
    if plan.columns:
        included, included_keys = frame[keys.notna()], keys[keys.notna()]
        for q in definition.questions:
            if q.type == "choice":
                rows += choice_table(q, included, included_keys, plan, threshold)
            elif q.type == "multi":
                rows += multi_table(q, included, included_keys, plan, threshold)
    consent = definition.of_type("consent")
    quotes = []
    if consent:
        quotable = frame[frame[la_id].isin(plan.shown) & frame[consent[0].id].eq("Yes")].sort_values("submission")
        for q in definition.of_type("text"):
            for _, response in quotable[quotable[q.id].str.strip().ne("")].iterrows():
                quotes.append({"region_code": region_code, "area_code": response[la_id], "question": q.id,
                               "text": response[q.id]})
    return rows, quotes


def build_summary(responses: pd.DataFrame, definition: Definition, registry: pd.DataFrame,
                  threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (summary, quotes) for every region with responses: only disclosure-controlled cells and quotes."""
    la_id = definition.of_type("la")[0].id
    las = registry[registry["level"] == "la"]
    region_of = dict(zip(las["area_code"], las["region_code"], strict=True))
    names = dict(zip(las["area_code"], las["area_name"], strict=True))
    unknown = sorted(set(responses[la_id]) - set(region_of))
    if unknown:
        raise DataValidationError("feedback responses", f"LA code(s) {unknown} are not in the areas registry")
    regions = responses[la_id].map(region_of)
    rows, quotes = [], []
    for region in sorted(regions.unique()):
        got_rows, got_quotes = region_summary(responses[regions == region], definition, region, threshold, names)
        rows += got_rows
        quotes += got_quotes
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    summary["value"] = summary["value"].astype("Int64")
    return summary, pd.DataFrame(quotes, columns=list(QUOTE_COLUMNS))


def write_summary(folder: Path | None = None, definition: Definition | None = None,
                  registry: pd.DataFrame | None = None) -> dict:
    """Rebuild summary.csv, quotes.csv and summary.json (what the reports read) from the stored responses."""
    folder = folder or store.feedback_dir()
    definition = definition or load_definition()
    responses = store.read_table(folder / store.RESPONSES, store.response_columns(definition.stored_columns),
                                 "responses")
    return save_summary(folder, definition, *summarise(responses, folder, definition, registry))


def summarise(responses: pd.DataFrame, folder: Path, definition: Definition,
              registry: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Return (summary, quotes, synthetic?) for responses under the folder's threshold (nothing is written)."""
    from sendlib.geography import areas

    registry = areas() if registry is None else registry
    summary, quotes = build_summary(responses, definition, registry, store.threshold(folder))
    return summary, quotes, bool(responses["synthetic"].eq("yes").any())


def save_summary(folder: Path, definition: Definition, summary: pd.DataFrame, quotes: pd.DataFrame,
                 synthetic: bool) -> dict:
    """Write summary.csv, quotes.csv, then summary.json (their checksums, with the responses'); return the info."""
    from sendlib.io import write_bytes_atomic

    store.write_table(summary, folder / store.SUMMARY)
    store.write_table(quotes, folder / store.QUOTES)
    info = {"threshold": store.threshold(folder), "definition_version": definition.version,
            "sendlib_version": __version__, "synthetic": synthetic,
            "responses_sha256": store.sha256_file(folder / store.RESPONSES),
            "summary_sha256": store.sha256_file(folder / store.SUMMARY),
            "quotes_sha256": store.sha256_file(folder / store.QUOTES)}
    write_bytes_atomic((json.dumps(info, indent=1, sort_keys=True) + "\n").encode("utf-8"), folder / store.SUMMARY_INFO)
    return info


def summary_state(folder: Path | None = None) -> str:
    """Return 'none' (no responses imported), 'stale' (summary missing or out of date) or 'ok'."""
    folder = folder or store.feedback_dir()
    if not (folder / store.RESPONSES).is_file():
        return "none"
    info_path = folder / store.SUMMARY_INFO
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "stale"
    checks = [(store.RESPONSES, "responses_sha256"), (store.SUMMARY, "summary_sha256"), (store.QUOTES, "quotes_sha256")]
    if any(store.sha256_file(folder / name) != info.get(key) for name, key in checks):
        return "stale"
    if info.get("threshold") != store.threshold(folder) or info.get("definition_version") != load_definition().version:
        return "stale"
    return "ok"
