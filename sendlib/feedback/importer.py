"""`sendlib feedback import`: read Microsoft Forms, Google Forms or template exports, check every answer, split
contact details off, pseudonymise, redact free text and store the responses under data/feedback/.

Columns are matched to the survey definition by their question text. Any problem (an unknown or missing column,
an unknown LA, an answer outside its set, a bad date) names the file, row and column and what was expected, and
nothing is written; with `skip_invalid` the valid rows are stored and the others go to a rejected-rows file
inside data/feedback/. Submissions already imported are recognised (by a keyed hash of their content) and
skipped, so importing the same export twice adds nothing. A later submission from the same email address
replaces the earlier one, so a person is counted once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlib.errors import ParameterError, SendlibError
from sendlib.feedback import store
from sendlib.feedback.definition import Definition, Question, load_definition, normalise_header
from sendlib.feedback.redact import redactor
from sendlib.feedback.sheets import (
    DATE_ORDERS,
    FileProblems,
    Problem,
    Sheet,
    cell_text,
    parse_date,
    read_sheet,
)

SYNTHETIC_COLUMN = "sendlib synthetic test data"
SEEN = "seen.csv"

#: The columns each form tool adds before the questions, by what they hold.
LAYOUTS: dict[str, dict[str, str]] = {
    "microsoft_forms": {"ID": "id", "Start time": "start", "Completion time": "timestamp", "Email": "email",
                        "Name": "name", "Last modified time": "modified", "Total points": "score",
                        "Quiz feedback": "score"},
    "google_forms": {"Timestamp": "timestamp", "Email Address": "email", "Score": "score"},
    "template": {"Reference": "id"},
}
LAYOUT_NAMES = {"microsoft_forms": "Microsoft Forms", "google_forms": "Google Forms", "template": "sendlib template"}
_ANONYMOUS = {"", "anonymous", "anon"}


@dataclass
class ImportResult:
    """What an import did, in counts only (nothing personal)."""

    files: list[str] = field(default_factory=list)
    rows: int = 0
    added: int = 0
    duplicates: int = 0
    replaced: int = 0
    rejected: int = 0
    contacts: int = 0
    redactions: int = 0
    rejected_files: list[str] = field(default_factory=list)
    synthetic: bool = False


# --------------------------------------------------------------------------------------- layout


def detect_layout(header: Sequence[str]) -> str:
    """Return which tool wrote a header: microsoft_forms, google_forms or template."""
    keys = {normalise_header(h) for h in header}
    if {"id", "start time", "completion time"} <= keys:
        return "microsoft_forms"
    if "timestamp" in keys:
        return "google_forms"
    return "template"


def match_columns(header: Sequence[str], definition: Definition) -> tuple[str, dict[int, str], list[Problem]]:
    """Return (layout, column position -> question id or 'platform:<role>', problems with the header)."""
    layout = detect_layout(header)
    platform = {normalise_header(k): v for k, v in LAYOUTS[layout].items()}
    questions = {normalise_header(h): q.id for q in definition.questions for h in q.headers}
    mapping: dict[int, str] = {}
    problems: list[Problem] = []
    for position, text in enumerate(header):
        key = normalise_header(text)
        if not key:
            problems.append(Problem(1, f"(column {position + 1}, no header)", "a header naming a question"))
            continue
        target = (questions.get(key) or (f"platform:{platform[key]}" if key in platform else None)
                  or ("platform:synthetic" if key == normalise_header(SYNTHETIC_COLUMN) else None))
        if target is None:
            close = _close_questions(text, definition)
            problems.append(Problem(1, text, "a question of the survey definition or a "
                                    f"{LAYOUT_NAMES[layout]} column" + (f" (closest: {close!r})" if close else "")))
            continue
        if target in mapping.values():
            problems.append(Problem(1, text, "each question once (this column repeats an earlier one)"))
            continue
        mapping[position] = target
    present = set(mapping.values())
    has_timestamp = "platform:timestamp" in present
    for q in definition.questions:
        if q.id not in present and not (q.type == "date" and has_timestamp):
            problems.append(Problem(1, q.text, "this question's column (it is missing); "
                                    "`sendlib feedback template` writes the full layout"))
    return layout, mapping, problems


def _close_questions(text: str, definition: Definition) -> str:
    """Return the question text closest to an unknown header ('' if none is close)."""
    import difflib

    texts = [q.text for q in definition.questions]
    found = difflib.get_close_matches(text, texts, n=1, cutoff=0.6)
    return found[0] if found else ""


# --------------------------------------------------------------------------------------- values


def la_resolver(registry: pd.DataFrame) -> Callable[[str], tuple[str | None, str]]:
    """Return a function: LA text -> (3-digit code, '') or (None, what was expected), against current LAs."""
    from sendlib.geography import find_area_codes, suggest_areas

    las = registry[registry["level"] == "la"]
    latest = registry["last_year"].max()
    current = set(las.loc[las["last_year"] == latest, "area_code"])
    names = dict(zip(las["area_code"], las["area_name"], strict=True))
    cache: dict[str, tuple[str | None, str]] = {}

    def resolve(text: str) -> tuple[str | None, str]:
        if text in cache:
            return cache[text]
        codes = find_area_codes(text, ("la",), registry)
        now = [c for c in codes if c in current]
        if len(now) == 1:
            answer: tuple[str | None, str] = (now[0], "")
        elif len(now) > 1:
            answer = (None, "one current LA (it matches several: "
                      + ", ".join(f"{names[c]} ({c})" for c in sorted(now)) + ")")
        elif codes:
            answer = (None, "a current LA (it names a council that no longer exists: "
                      + ", ".join(f"{names[c]} ({c})" for c in codes) + ")")
        else:
            close = [s for s in suggest_areas(text, ("la",), registry) if s.rsplit("(", 1)[-1][:-1] in current]
            answer = (None, "an English upper-tier LA: name, 3-digit or ONS code"
                      + (f" (closest: {', '.join(close[:3])})" if close else ""))
        cache[text] = answer
        return answer

    return resolve


def _choice(options: Sequence[str]) -> Callable[[str], str | None]:
    """Return a function: answer text -> the option it names (any case or spacing), or None."""
    lookup = {normalise_header(o): o for o in options}
    return lambda text: lookup.get(normalise_header(text))


def _parse_value(q: Question, cell: object, context: dict) -> tuple[str, str]:
    """Return (stored value, '') or ('', what was expected) for one answer."""
    text = cell_text(cell)
    if q.type == "date":
        if not text and not isinstance(cell, dt.date):
            return "", ""  # a required date may come from the form's timestamp: checked for the whole row
        found, expected = parse_date(cell, context["order"], context["today"])
        return (found.isoformat(), "") if found else ("", expected)
    if not text:
        if q.required:
            return "", "an answer (the question is required)" + (
                f": one of {', '.join(q.options)}" if q.options else "")
        return ("No" if q.type == "consent" else ""), ""
    if q.type in ("choice", "consent"):
        found = context["choices"][q.id](text)
        return (found, "") if found else ("", "one of " + ", ".join(q.options))
    if q.type == "multi":
        picked = [p.strip() for p in re.split(r"[;,]", text) if p.strip()]
        found = [context["choices"][q.id](p) for p in picked]
        if not found or any(f is None for f in found):
            return "", "options from " + ", ".join(q.options) + " (separated by ';' or ',')"
        return ";".join(o for o in q.options if o in set(found)), ""
    if q.type == "la":
        code, expected = context["la"](text)
        return (code, "") if code else ("", expected)
    return text, ""  # text and contact: kept as given here; redacted or split off later


# --------------------------------------------------------------------------------------- rows


@dataclass
class ParsedRow:
    """One valid submission, before pseudonymisation."""

    number: int
    answers: dict[str, str]
    contact: dict[str, str]
    platform_id: str
    synthetic: bool


def parse_sheet(sheet: Sheet, definition: Definition, registry: pd.DataFrame, order: str = "dmy",
                today: dt.date | None = None) -> tuple[str, list[ParsedRow], list[tuple[int, list[Problem]]]]:
    """Return (layout, valid rows, [(row number, problems)]); raise FileProblems for problems with the header."""
    if order not in DATE_ORDERS:
        raise ParameterError("--date-order", order, f"one of {', '.join(DATE_ORDERS)}")
    layout, mapping, problems = match_columns(sheet.header, definition)
    if problems:
        raise FileProblems(sheet.path, problems, "nothing was imported (the header must be fixed first)")
    context = {"order": order, "today": today or dt.date.today(), "la": la_resolver(registry),
               "choices": {q.id: _choice(q.options) for q in definition.questions if q.options}}
    by_id = {q.id: q for q in definition.questions}
    valid, invalid = [], []
    for number, cells in sheet.rows:
        row_problems: list[Problem] = []
        if len(cells) > len(sheet.header) and any(str(c or "").strip() for c in cells[len(sheet.header):]):
            row_problems.append(Problem(number, None, f"at most {len(sheet.header)} cells (one per header column)"))
        answers: dict[str, str] = {}
        contact = {"name": "", "email": "", "phone": ""}
        platform_id, synthetic, timestamp = "", False, None
        for position, target in mapping.items():
            cell = cells[position] if position < len(cells) else None
            header = sheet.header[position]
            if target.startswith("platform:"):
                role = target.split(":", 1)[1]
                text = cell_text(cell)
                if role == "timestamp":
                    timestamp, expected = parse_date(cell, order, context["today"])
                    if timestamp is None:
                        row_problems.append(Problem(number, header, expected))
                elif role == "id":
                    platform_id = text
                elif role in ("email", "name") and text.lower() not in _ANONYMOUS:
                    contact[role] = text
                elif role == "synthetic":
                    if text.lower() != "yes":
                        row_problems.append(Problem(number, header, "'yes' (this column marks synthetic test data)"))
                    synthetic = True
                continue
            q = by_id[target]
            value, expected = _parse_value(q, cell, context)
            if expected:
                row_problems.append(Problem(number, header, expected))
            elif q.type == "contact":
                contact[q.field] = contact[q.field] or value
            else:
                answers[q.id] = value
        date_question = definition.of_type("date")[0]
        if not answers.get(date_question.id) and timestamp is not None:
            answers[date_question.id] = timestamp.isoformat()
        if date_question.required and not answers.get(date_question.id) and not row_problems:
            column = date_question.text if date_question.id in mapping.values() else "(timestamp)"
            row_problems.append(Problem(number, column, "a date (required)"))
        if row_problems:
            invalid.append((number, row_problems))
        else:
            valid.append(ParsedRow(number, answers, contact, platform_id, synthetic))
    return layout, valid, invalid


# --------------------------------------------------------------------------------------- import


def import_files(paths: Sequence[Path | str], *, skip_invalid: bool = False, order: str = "dmy",
                 names_files: Sequence[Path | str] = (), folder: Path | None = None,
                 definition: Definition | None = None, registry: pd.DataFrame | None = None,
                 today: dt.date | None = None, rebuild_summary: bool = True) -> ImportResult:
    """Import survey exports into the feedback folder; return counts. Writes nothing if any file has a problem
    (unless `skip_invalid`, which stores the valid rows and writes the rest to data/feedback/rejected/)."""
    from sendlib.geography import areas

    folder = folder or store.feedback_dir()
    definition = definition or load_definition()
    registry = areas() if registry is None else registry
    if not paths:
        raise ParameterError("FILE", "", "at least one CSV or XLSX export to import")
    names = store.read_names(folder, [Path(p) for p in names_files])
    parsed = []
    failures: list[FileProblems] = []
    for path in paths:
        sheet = read_sheet(path)
        layout, valid, invalid = parse_sheet(sheet, definition, registry, order, today)
        if invalid and not skip_invalid:
            failures.append(FileProblems(sheet.path, [p for _, problems in invalid for p in problems]))
        parsed.append((sheet, layout, valid, invalid))
    if failures:
        if len(failures) == 1:
            raise failures[0]
        raise SendlibError("\n".join(str(f) for f in failures))
    return _store(parsed, definition, folder, names, registry, rebuild_summary)


def _store(parsed: list, definition: Definition, folder: Path, names: list[str], registry: pd.DataFrame,
           rebuild_summary: bool) -> ImportResult:
    """Pseudonymise, redact and merge the parsed rows into the stored tables; return the counts."""
    result = ImportResult(files=[store.display_path(s.path) for s, _, _, _ in parsed])
    columns = store.response_columns(definition.stored_columns)
    responses = store.read_table(folder / store.RESPONSES, columns, "responses")
    contacts = store.read_table(folder / store.CONTACTS, store.CONTACT_COLUMNS, "contacts")
    seen = store.read_table(folder / SEEN, ("submission",), "submission keys")
    new_rows = [row for _, _, valid, _ in parsed for row in valid]
    flags = {row.synthetic for row in new_rows} | set(responses["synthetic"].eq("yes"))
    if len(flags) > 1:
        raise SendlibError(f"{store.display_path(folder)} would mix synthetic test responses with real ones; "
                           "keep them apart (delete the synthetic data from the feedback folder first, or set "
                           f"{store.FEEDBACK_ENV} to another folder for tests)")
    key = store.pseudonym_key(folder)
    contact_names = [r.contact["name"] for r in new_rows if r.contact["name"]] + [
        n for n in contacts["name"] if n]
    redact = redactor(names, contact_names)
    text_ids = [q.id for q in definition.of_type("text")]
    known = set(seen["submission"]) | set(responses["submission"])  # the stored ones too, if seen.csv lags behind
    added_rows, added_contacts = [], []
    for sheet, layout, valid, invalid in parsed:
        result.rows += len(valid) + len(invalid)
        for row in valid:
            canonical = json.dumps({"id": row.platform_id, "answers": row.answers, "contact": row.contact},
                                   sort_keys=True, ensure_ascii=False)
            submission = store.pseudonym(key, "S", canonical)
            if submission in known:
                result.duplicates += 1
                continue
            known.add(submission)
            email = row.contact["email"].strip().lower()
            respondent = store.pseudonym(key, "R", ("email:" + email) if "@" in email else ("submission:" + submission))
            answers = dict(row.answers)
            for qid in text_ids:
                answers[qid], found = redact(answers.get(qid, ""))
                result.redactions += found
            added_rows.append({"submission": submission, "respondent": respondent, "layout": layout,
                               "synthetic": "yes" if row.synthetic else "no", **answers})
            if any(row.contact.values()):
                added_contacts.append({"submission": submission, "respondent": respondent,
                                       "la": answers.get(definition.of_type("la")[0].id, ""), **row.contact})
        if invalid:
            result.rejected += len(invalid)
            result.rejected_files.append(store.display_path(_write_rejected(sheet, invalid, folder)))
    result.added = len(added_rows)
    result.synthetic = True in flags
    merged = pd.concat([responses, pd.DataFrame(added_rows, columns=columns)], ignore_index=True).fillna("")
    date_id = definition.of_type("date")[0].id
    merged["_order"] = range(len(merged))
    latest = merged.sort_values([date_id, "_order"]).drop_duplicates("respondent", keep="last")
    result.replaced = len(merged) - len(latest)
    merged = latest.sort_values("_order").drop(columns="_order")
    kept = set(merged["submission"])
    all_contacts = pd.concat([contacts, pd.DataFrame(added_contacts, columns=list(store.CONTACT_COLUMNS))],
                             ignore_index=True).fillna("")
    all_contacts = all_contacts[all_contacts["submission"].isin(kept)]
    result.contacts = len(added_contacts)
    changed = bool(added_rows or result.replaced)
    from sendlib.feedback.summary import save_summary, summarise, summary_state

    rebuild_summary = rebuild_summary and (changed or (len(merged) > 0 and summary_state(folder) != "ok"))
    if rebuild_summary:
        built = summarise(merged[columns], folder, definition, registry)  # before anything is written: it may fail
    if changed:
        store.write_table(all_contacts[list(store.CONTACT_COLUMNS)], folder / store.CONTACTS)
        store.write_table(merged[columns], folder / store.RESPONSES)
        store.write_table(pd.DataFrame({"submission": sorted(known)}), folder / SEEN)
    if rebuild_summary:
        save_summary(folder, definition, *built)
    return result


def _write_rejected(sheet: Sheet, invalid: list[tuple[int, list[Problem]]], folder: Path) -> Path:
    """Write the rejected rows (as given, with their problems) inside the feedback folder; return the path."""
    width = len(sheet.header)
    cells = {number: cells for number, cells in sheet.rows}
    rows = []
    for number, problems in invalid:
        values = [cell_text(c) if not isinstance(c, dt.date) else c.isoformat() for c in cells[number]][:width]
        rows.append([number] + values + [""] * (width - len(values)) + ["; ".join(p.describe() for p in problems)])
    frame = pd.DataFrame(rows, columns=["Row"] + sheet.header + ["Problems"])
    target = folder / store.REJECTED / f"{sheet.path.stem}-rejected.csv"
    return store.write_table(frame, target)


def outside_feedback(paths: Sequence[Path | str], folder: Path | None = None) -> list[Path]:
    """Return the paths inside the repository but outside data/feedback/ and outputs/ (where git could commit them)."""
    from sendlib.paths import REPO_ROOT

    safe = [(folder or store.feedback_dir()).resolve(), (REPO_ROOT / "outputs").resolve()]
    risky = []
    for path in paths:
        where = Path(path).resolve()
        if where.is_relative_to(REPO_ROOT) and not any(where.is_relative_to(s) for s in safe):
            risky.append(Path(path))
    return risky
