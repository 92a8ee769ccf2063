"""The reports' "What members and SENCOs tell us" section, for a region (its councils side by side) or an LA.

It reads only the disclosure-controlled summary (summary.csv, quotes.csv, summary.json) and the actions log,
never the responses or the contacts, and shows them through sendlib.display (every value escaped). Without
survey data it says how to collect it and shows nothing else; with synthetic test data it says so in a box
that cannot be missed. Call `show_section("region", code)` or `show_section("la", code)` from a notebook.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlib import display
from sendlib.errors import ParameterError
from sendlib.feedback import store
from sendlib.feedback.definition import NO_ANSWER, Definition, load_definition
from sendlib.feedback.disclosure import FEWER, SHOWN
from sendlib.feedback.summary import OTHERS, QUOTE_COLUMNS, RESPONDENTS, SUMMARY_COLUMNS, summary_state
from sendlib.formatting import count, percent

SECTION_TITLE = "What members and SENCOs tell us"
KINDS = ("region", "la")
QUOTES_PER_QUESTION = 5
QUOTES_PER_COUNCIL = 3
HOW_TO = ("To collect it: `sendlib feedback template --out DIR` writes the question sheet (to print or to copy "
          "into Microsoft Forms or Google Forms) and the response layouts; save the export in data/feedback/, run "
          "`sendlib feedback import FILE`, then rebuild this report. Names, emails and phone numbers stay in "
          "data/feedback/; reports show only totals of at least 5 respondents.")


@dataclass
class Block:
    """One thing the section displays: a display function's name and its arguments."""

    kind: str
    args: tuple
    kwargs: dict = field(default_factory=dict)

    def show(self) -> None:
        """Display the block through sendlib.display."""
        function: Callable = getattr(display, self.kind)
        function(*self.args, **self.kwargs)


@dataclass
class Published:
    """The disclosure-controlled summary of one region, its quotes and the threshold it was built with."""

    cells: pd.DataFrame
    quotes: pd.DataFrame
    threshold: int
    synthetic: bool

    def __post_init__(self) -> None:
        """Index the cells by (table, row, column)."""
        self._index = {(t, r, c): (None if pd.isna(v) else int(v), str(s), str(x)) for t, r, c, v, s, x in zip(
            self.cells["table"], self.cells["row"], self.cells["column"], self.cells["value"], self.cells["status"],
            self.cells["text"], strict=True)}

    def value(self, table: str, row: str, column: str) -> tuple[object, str, str]:
        """Return (count or None, status, text) of one cell; status '' when the cell is not in the summary."""
        return self._index.get((table, row, column), (None, "", ""))


# --------------------------------------------------------------------------------------- reading


def _area(kind: str, code: str) -> pd.Series:
    """Return the registry row of the report's area; ParameterError unless kind is region or la and code is one."""
    from sendlib.geography import areas

    if kind not in KINDS:
        raise ParameterError("kind", kind, "'region' or 'la'")
    registry = areas()
    found = registry[(registry["area_code"] == str(code)) & (registry["level"] == kind)]
    if found.empty:
        raise ParameterError("code", code, f"the code of {'a region' if kind == 'region' else 'an LA'} in areas.csv")
    return found.iloc[0]


def read_published(region_code: str, folder: Path | None = None) -> Published:
    """Return the region's part of the summary (call only when summary_state() is 'ok')."""
    folder = folder or store.feedback_dir()
    info = json.loads((folder / store.SUMMARY_INFO).read_text(encoding="utf-8"))
    cells = pd.read_csv(folder / store.SUMMARY, dtype={c: str for c in SUMMARY_COLUMNS if c != "value"},
                        keep_default_na=False)
    cells["value"] = pd.to_numeric(cells["value"], errors="coerce").astype("Int64")
    quotes = pd.read_csv(folder / store.QUOTES, dtype=str, keep_default_na=False)
    if list(quotes.columns) != list(QUOTE_COLUMNS):
        quotes = pd.DataFrame(columns=list(QUOTE_COLUMNS))
    return Published(cells[cells["region_code"] == region_code].reset_index(drop=True),
                     quotes[quotes["region_code"] == region_code].reset_index(drop=True),
                     int(info["threshold"]), bool(info.get("synthetic")))


def uses_synthetic_data(folder: Path | None = None) -> bool:
    """Return True if the survey summary the reports would show was made from synthetic test responses."""
    folder = folder or store.feedback_dir()
    if summary_state(folder) != "ok":
        return False
    info = json.loads((folder / store.SUMMARY_INFO).read_text(encoding="utf-8"))
    return bool(info.get("synthetic"))


def _actions(codes: list[str], folder: Path) -> pd.DataFrame:
    """Return the logged actions for these area codes, newest first."""
    from sendlib.feedback.actions import read_actions

    actions = read_actions(folder)
    return actions[actions["area_code"].isin(codes)].sort_values("date", ascending=False, kind="stable")


# --------------------------------------------------------------------------------------- cells


def cell_text(value: object, status: str, base: object, threshold: int, share: bool = True) -> str:
    """Return a table cell: '12 (40%)' (share of `base` respondents), 'fewer than 5' or 'withheld'."""
    if status == FEWER:
        return f"fewer than {threshold}"
    if status != SHOWN or value is None:
        return "withheld"
    if not share or not base:
        return count(value)
    return f"{count(value)} ({percent(100 * int(value) / int(base), 0)})"


def _month(text: str) -> str:
    """Return 'March 2025' from '2025-03'."""
    import calendar

    year, month = text.split("-")
    return f"{calendar.month_name[int(month)]} {year}"


def _months(first: str, last: str) -> str:
    """Return 'January 2025' or 'January 2025 to March 2025' for the months responses span."""
    return _month(first) if first == last else f"{_month(first)} to {_month(last)}"


# --------------------------------------------------------------------------------------- section


def section_blocks(kind: str, code: str, folder: Path | None = None) -> list[Block]:
    """Return the blocks of the section for a region or an LA report, in order."""
    area = _area(kind, code)
    folder = folder or store.feedback_dir()
    name = str(area["area_name"])
    region_code = str(area["area_code"] if kind == "region" else area["region_code"])
    blocks = [Block("heading", (SECTION_TITLE, 2))]
    state = summary_state(folder)
    if state == "stale":
        return blocks + [Block("say", ("The survey summary is out of date: the responses or the settings changed "
                                       "after it was built. Run `sendlib feedback summary`, then rebuild this "
                                       "report.",))]
    action_codes = [str(area["area_code"])]
    if kind == "region":
        from sendlib.geography import region_las

        action_codes += list(region_las(region_code)["area_code"])
    if state == "none":
        return blocks + [Block("say", (f"No survey responses from members and SENCOs in {name} have been "
                                       f"imported yet. {HOW_TO}",))] + _action_blocks(kind, action_codes, folder)
    published = read_published(region_code, folder)
    definition = load_definition()
    if published.synthetic:
        blocks.append(Block("callout", (["These figures come from **synthetic test responses** made up by the test "
                                         "suite, not from members. Do not share this report."],),
                            {"title": "Synthetic test data"}))
    if kind == "la":
        blocks += _la_blocks(area, published, definition)
    else:
        blocks += _region_blocks(area, published, definition)
    return blocks + _action_blocks(kind, action_codes, folder)


def show_section(kind: str, code: str) -> None:
    """Display "What members and SENCOs tell us" for a region ('region', E12 code) or an LA ('la', 3-digit code)."""
    for block in section_blocks(kind, code):
        block.show()


def _about(threshold: int) -> str:
    """Return the sentence explaining the survey and the suppression labels."""
    return (f"From the union's survey of members and SENCOs. The survey is self-selected: it reports what those who "
            f"answered say, not a measure for every school. Counts are of respondents; **fewer than {threshold}** "
            f"marks a count from 1 to {threshold - 1}, and **withheld** a count hidden so that no such count can be "
            f"worked out from the totals (it may be small itself). No name, school or contact detail is ever shown.")


def _la_blocks(area: pd.Series, published: Published, definition: Definition) -> list[Block]:
    """Return the blocks of the LA section: its column of the region's tables."""
    code, name, k = str(area["area_code"]), str(area["area_name"]), published.threshold
    n, status, _ = published.value(RESPONDENTS, RESPONDENTS, code)
    if not status:
        return [Block("say", (f"No survey responses from members and SENCOs in {name} have been imported yet. "
                              f"{HOW_TO}",))]
    if status != SHOWN:
        return [Block("say", (f"Fewer than {k} members and SENCOs in {name} have answered the survey so far: too "
                              f"few to report without risking identifying them. Their answers count in the region's "
                              f"figures only where that is safe.",))]
    first = published.value(RESPONDENTS, "first_month", code)[2]
    last = published.value(RESPONDENTS, "last_month", code)[2]
    blocks = [Block("say", (f"**{count(n)}** members and SENCOs in {name} answered the survey "
                            f"({_months(first, last)}).", _about(k)))]
    for group in definition.groups():
        questions = definition.group(group)
        q = questions[0]
        if q.group:
            blocks += _grid_blocks_la(published, questions, code, n)
        elif q.type == "choice":
            blocks.append(Block("heading", (q.report, 3)))
            blocks.append(Block("table", (_one_column(published, q.id, list(q.options) + [NO_ANSWER], code, n,
                                                      q.label),)))
        elif q.type == "multi":
            blocks.append(Block("heading", (q.report, 3)))
            blocks.append(Block("table", (_one_column(published, q.id, list(q.options), code, n, q.label,
                                                      "Respondents ticking it"),),
                                {"notes": "Respondents could tick more than one."}))
    blocks += _quote_blocks(published, definition, [code], {code: name}, QUOTES_PER_QUESTION)
    return blocks


def _one_column(published: Published, table: str, rows: list[str], code: str, n: object, label: str,
                heading: str = "Respondents") -> pd.DataFrame:
    """Return an LA's table: answer, respondents ('12 (40%)', 'fewer than 5' or 'withheld')."""
    out = []
    for row in rows:
        value, status, _ = published.value(table, row, code)
        if not status or (row == NO_ANSWER and status == SHOWN and not value):
            continue
        out.append({label: row, heading: cell_text(value, status, n, published.threshold)})
    return pd.DataFrame(out, columns=[label, heading])


def _grid_blocks_la(published: Published, questions: list, code: str, n: object) -> list[Block]:
    """Return a grid question's table for an LA (waiting times): rows by band, with the median band."""
    bands = list(questions[0].options) + [NO_ANSWER]
    rows = []
    for q in questions:
        row = {"Service": q.row_label}
        for band in bands:
            value, status, _ = published.value(q.id, band, code)
            row[band] = cell_text(value, status, n, published.threshold, share=False)
        if q.ordered:
            _, status, text = published.value(q.id, "median", code)
            row["Typical wait (median)"] = text if status == SHOWN else f"fewer than {published.threshold} answers"
        rows.append(row)
    frame = pd.DataFrame(rows)
    if (frame[NO_ANSWER] == "0").all():
        frame = frame.drop(columns=NO_ANSWER)
    return [Block("heading", (questions[0].report, 3)),
            Block("table", (frame,), {"notes": "Respondents by the wait they reported for each service; the median "
                                               "is taken over the answers that give a wait."})]


def _region_blocks(area: pd.Series, published: Published, definition: Definition) -> list[Block]:
    """Return the blocks of the region section: its councils side by side, the combined others and the total."""
    from sendlib.geography import areas, region_las

    region, name, k = str(area["area_code"]), str(area["area_name"]), published.threshold
    registry = areas()
    names = dict(zip(registry["area_code"], registry["area_name"], strict=True))
    respondents = published.cells[(published.cells["table"] == RESPONDENTS) & (published.cells["row"] == RESPONDENTS)]
    if respondents.empty:
        return [Block("say", (f"No survey responses from members and SENCOs in {name} have been imported yet. "
                              f"{HOW_TO}",))]
    columns = _region_columns(published, region)
    total, total_status, _ = published.value(RESPONDENTS, RESPONDENTS, region)
    left_out = published.value(RESPONDENTS, "councils_left_out", region)[0] or 0
    councils = [c for c in respondents["column"] if c not in (OTHERS, region)]
    current = region_las(region, current_only=True)
    silent = len(current) - len(councils)
    lines = [f"Members and SENCOs in {len(councils)} of the region's {len(current)} councils answered the survey"
             + (f"; none yet in the other {silent}." if silent else ".")]
    if left_out:
        lines.append(f"{count(left_out)} council(s) had fewer than {k} respondents each and too few between them "
                     f"to show combined: their answers are left out of the region's tables.")
    if not columns:
        lines.append("No council has enough respondents to report without risking identifying them yet.")
    if columns:
        first = published.value(RESPONDENTS, "first_month", columns[-1])[2]
        last = published.value(RESPONDENTS, "last_month", columns[-1])[2]
        lines.append(f"The tables cover **{count(total) if total_status == SHOWN else 'withheld'}** respondents "
                     f"({_months(first, last)}).")
    blocks = [Block("say", (*lines, _about(k)))]
    order = sorted(zip(respondents["column"], respondents["value"], respondents["status"], strict=True),
                   key=lambda t: (t[0] == OTHERS, t[0] == region, names.get(t[0], t[0])))
    table = [{"Council": _column_name(c, region, name, names), "Respondents": cell_text(v, s, None, k, share=False)}
             for c, v, s in order]
    blocks.append(Block("heading", ("Who answered, by council", 3)))
    blocks.append(Block("table", (pd.DataFrame(table),)))
    if not columns:
        return blocks
    bases = {c: published.value(RESPONDENTS, RESPONDENTS, c)[0] for c in columns}
    headers = [_column_name(c, region, name, names) for c in columns]
    for group in definition.groups():
        questions = definition.group(group)
        q = questions[0]
        if q.group:
            blocks += _grid_blocks_region(published, questions, columns, headers)
        elif q.type in ("choice", "multi"):
            rows = list(q.options) + ([NO_ANSWER] if q.type == "choice" else [])
            note = ("Respondents, and their share of each column's respondents." if q.type == "choice" else
                    "Respondents ticking each answer (they could tick more than one), and their share of each "
                    "column's respondents.")
            blocks.append(Block("heading", (q.report, 3)))
            blocks.append(Block("table", (_side_by_side(published, q.id, rows, columns, headers, bases, q.label),),
                                {"notes": note}))
    shown = [c for c in columns if c not in (OTHERS, region)]
    blocks += _quote_blocks(published, definition, shown, names, QUOTES_PER_COUNCIL, per_council=True)
    return blocks


def _region_columns(published: Published, region: str) -> list[str]:
    """Return the region's table columns in order (councils, 'others', the total) from its first table."""
    tables = published.cells[published.cells["table"] != RESPONDENTS]
    if tables.empty:
        return []
    first = tables[tables["table"] == tables["table"].iloc[0]]
    return list(dict.fromkeys(first["column"]))


def _column_name(code: str, region: str, region_name: str, names: dict[str, str]) -> str:
    """Return a column's heading: the council's name, 'Other councils (combined)' or '<region> (total)'."""
    if code == OTHERS:
        return "Other councils (combined)"
    if code == region:
        return f"{region_name} (total)"
    return names.get(code, code)


def _side_by_side(published: Published, table: str, rows: list[str], columns: list[str], headers: list[str],
                  bases: dict[str, object], label: str) -> pd.DataFrame:
    """Return a region table: one row per answer, one column per council, the combined others and the total."""
    out = []
    for row in rows:
        cells = [published.value(table, row, c) for c in columns]
        if row == NO_ANSWER and all(s == SHOWN and not v for v, s, _ in cells):
            continue
        line = {label: row}
        for header, column, (value, status, _) in zip(headers, columns, cells, strict=True):
            line[header] = cell_text(value, status, bases[column], published.threshold)
        out.append(line)
    return pd.DataFrame(out, columns=[label] + headers)


def _grid_blocks_region(published: Published, questions: list, columns: list[str],
                        headers: list[str]) -> list[Block]:
    """Return a grid question's region table (waiting times): the median band by service and column."""
    rows = []
    for q in questions:
        line = {"Service": q.row_label}
        for header, column in zip(headers, columns, strict=True):
            _, status, text = published.value(q.id, "median", column)
            line[header] = text if status == SHOWN else f"fewer than {published.threshold} answers"
        rows.append(line)
    return [Block("heading", (questions[0].report + ": typical wait (median)", 3)),
            Block("table", (pd.DataFrame(rows),),
                  {"notes": "The median of the waits respondents reported; 'Don't know', 'Not used' and no answer "
                            "are left out. Each council's report shows the full distribution."})]


def _quote_blocks(published: Published, definition: Definition, councils: list[str], names: dict[str, str],
                  limit: int, per_council: bool = False) -> list[Block]:
    """Return quotes (consented, redacted, councils above the threshold only) with their council."""
    quotes = published.quotes[published.quotes["area_code"].isin(councils)]
    if quotes.empty:
        return []
    items = []
    labels = {q.id: q.label for q in definition.of_type("text")}
    if per_council:
        for code in councils:
            for _, quote in quotes[quotes["area_code"] == code].head(limit).iterrows():
                items.append(f"{names.get(code, code)} ({labels.get(quote['question'], '')}): "
                             f"“{_plain(quote['text'])}”")
    else:
        for question, label in labels.items():
            for _, quote in quotes[quotes["question"] == question].head(limit).iterrows():
                items.append(f"{label}: “{_plain(quote['text'])}”")
    return [Block("heading", ("In their own words", 3)),
            Block("say", ("Quoted with the respondent's consent; names, emails, phone numbers and postcodes removed.",)),
            Block("bullets", (items,), {"css_class": "quotes"})]


def _plain(text: str) -> str:
    """Return quote text with '**' (the report's bold marker) made harmless."""
    return " ".join(str(text).replace("**", "*").split())


def _action_blocks(kind: str, codes: list[str], folder: Path) -> list[Block]:
    """Return the actions the union logged for the area (and, for a region, its councils), if any."""
    from sendlib.geography import areas

    actions = _actions(codes, folder)
    if actions.empty:
        return []
    names = dict(zip(areas()["area_code"], areas()["area_name"], strict=True))
    frame = pd.DataFrame({"Date": actions["date"], "Issue": actions["issue"], "Action": actions["action"],
                          "Status": actions["status"]})
    if kind == "region":
        frame.insert(1, "Area", [names.get(c, c) for c in actions["area_code"]])
    counts = actions["status"].value_counts()
    summary = ", ".join(f"{count(v)} {k.lower()}" for k, v in counts.items())
    return [Block("heading", ("What the union has done", 3)),
            Block("say", (f"Issues raised and the union's action: {summary}.",)),
            Block("table", (frame,), {"text": True})]
