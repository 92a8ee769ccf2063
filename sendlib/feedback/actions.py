"""The actions log: issues members raised and what the union did about them (date, LA, issue, action, status),
validated like the responses and stored redacted in data/feedback/actions.csv, so branches can report back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sendlib.errors import ParameterError
from sendlib.feedback import store
from sendlib.feedback.definition import Definition, load_definition, normalise_header
from sendlib.feedback.redact import redactor
from sendlib.feedback.sheets import FileProblems, Problem, cell_text, parse_date, read_sheet


def area_resolver(registry: pd.DataFrame):
    """Return a function: LA or region text -> (registry code, '') or (None, what was expected); current LAs only."""
    from sendlib.feedback.importer import la_resolver
    from sendlib.geography import find_area_codes

    resolve_la = la_resolver(registry)

    def resolve(text: str) -> tuple[str | None, str]:
        regions = find_area_codes(text, ("region",), registry)
        if len(regions) == 1:
            return regions[0], ""
        code, expected = resolve_la(text)
        return (code, "") if code else (None, expected + ", or a region")

    return resolve


def action_redactor(folder: Path, names_files: Sequence[Path] = ()):
    """Return the redactor for action text: the user's names list and the names respondents gave for a reply."""
    contacts = store.read_table(folder / store.CONTACTS, store.CONTACT_COLUMNS, "contacts")
    return redactor(store.read_names(folder, list(names_files)), [n for n in contacts["name"] if n])


def parse_action(values: dict[str, object], number: int | None, definition: Definition, resolve,
                 redact, order: str = "dmy", today: dt.date | None = None) -> tuple[dict[str, str], list[Problem]]:
    """Return (stored action, problems) from the five given fields (date, LA, issue, action, status)."""
    date_column, la_column, issue_column, action_column, status_column = definition.action_columns
    problems: list[Problem] = []
    date, expected = parse_date(values.get(date_column), order, today)
    if date is None:
        problems.append(Problem(number, date_column, expected))
    area, expected = resolve(cell_text(values.get(la_column))) if cell_text(values.get(la_column)) else (
        None, "an LA or region (required)")
    if area is None:
        problems.append(Problem(number, la_column, expected))
    statuses = {normalise_header(s): s for s in definition.action_statuses}
    status = statuses.get(normalise_header(cell_text(values.get(status_column))))
    if status is None:
        problems.append(Problem(number, status_column, "one of " + ", ".join(definition.action_statuses)))
    texts = {}
    for column in (issue_column, action_column):
        text = cell_text(values.get(column))
        if not text:
            problems.append(Problem(number, column, "some text (required)"))
        texts[column] = redact(text)[0]
    action = {"date": date.isoformat() if date else "", "area_code": area or "", "issue": texts[issue_column],
              "action": texts[action_column], "status": status or ""}
    return action, problems


def read_actions(folder: Path | None = None) -> pd.DataFrame:
    """Return the stored actions log (empty with its columns when there is none)."""
    return store.read_table((folder or store.feedback_dir()) / store.ACTIONS, store.ACTION_COLUMNS, "actions")


def _save(new: list[dict[str, str]], folder: Path) -> tuple[int, int]:
    """Add actions not already logged; return (added, already logged)."""
    current = read_actions(folder)
    rows = pd.DataFrame(new, columns=list(store.ACTION_COLUMNS))
    merged = pd.concat([current, rows], ignore_index=True)
    unique = merged.drop_duplicates(keep="first")
    added = len(unique) - len(current)
    if added:
        store.write_table(unique.sort_values(["date", "area_code"], kind="stable"), folder / store.ACTIONS)
    return added, len(new) - added


def add_action(date: str, area: str, issue: str, action: str, status: str, *, folder: Path | None = None,
               names_files: Sequence[Path] = (), registry: pd.DataFrame | None = None,
               today: dt.date | None = None) -> tuple[int, int]:
    """Log one action; return (added, already logged). ParameterError names the option at fault."""
    from sendlib.geography import areas

    folder = folder or store.feedback_dir()
    definition = load_definition()
    registry = areas() if registry is None else registry
    values = dict(zip(definition.action_columns, (date, area, issue, action, status), strict=True))
    redact = action_redactor(folder, names_files)
    row, problems = parse_action(values, None, definition, area_resolver(registry), redact, today=today)
    if problems:
        first = problems[0]
        raise ParameterError(f"--{first.column.lower()}", values[first.column], first.expected)
    return _save([row], folder)


def import_actions(path: Path | str, *, folder: Path | None = None, names_files: Sequence[Path] = (),
                   registry: pd.DataFrame | None = None, order: str = "dmy",
                   today: dt.date | None = None) -> tuple[int, int]:
    """Import an actions CSV/XLSX (columns Date, LA, Issue, Action, Status); return (added, already logged).
    Any problem is reported with row and column and nothing is written."""
    from sendlib.geography import areas

    folder = folder or store.feedback_dir()
    definition = load_definition()
    registry = areas() if registry is None else registry
    sheet = read_sheet(path)
    wanted = {normalise_header(c): c for c in definition.action_columns}
    positions, problems = {}, []
    for position, header in enumerate(sheet.header):
        key = normalise_header(header)
        if key not in wanted:
            problems.append(Problem(1, header, "one of the columns " + ", ".join(definition.action_columns)))
        elif wanted[key] in positions:
            problems.append(Problem(1, header, "each column once"))
        else:
            positions[wanted[key]] = position
    problems += [Problem(1, c, "this column (it is missing)") for c in definition.action_columns if c not in positions]
    if problems:
        raise FileProblems(sheet.path, problems)
    redact = action_redactor(folder, names_files)
    resolve = area_resolver(registry)
    rows = []
    for number, cells in sheet.rows:
        values = {c: cells[p] if p < len(cells) else None for c, p in positions.items()}
        row, found = parse_action(values, number, definition, resolve, redact, order, today)
        problems += found
        rows.append(row)
    if problems:
        raise FileProblems(sheet.path, problems)
    return _save(rows, folder)
