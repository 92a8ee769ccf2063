"""`sendlib feedback template`: the printable question sheet (HTML), the response layouts (CSV and XLSX), the
data dictionary and the actions-log layout, all generated from the one survey definition."""

from __future__ import annotations

import html
import io
from pathlib import Path

import pandas as pd

from sendlib.feedback import store
from sendlib.feedback.definition import Definition, Question, load_definition
from sendlib.feedback.importer import LAYOUTS
from sendlib.feedback.store import DEFAULT_THRESHOLD
from sendlib.io import write_bytes_atomic
from sendlib.paths import PACKAGE_DIR

CSS_FILE = PACKAGE_DIR / "reports" / "templates" / "report.css"
SHEET_CSS = """
.sheet h1 { font-size: 1.6rem; }
.question { margin: 0.9em 0 1.1em; break-inside: avoid; page-break-inside: avoid; }
.question .text { font-weight: 700; margin: 0 0 0.3em; }
.question .help { color: var(--muted); font-size: 0.85rem; margin: 0 0 0.3em; }
.options { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 0.3em 1.6em; }
.box { display: inline-block; width: 0.95em; height: 0.95em; border: 1.5px solid #000; margin-right: 0.45em;
  vertical-align: -0.12em; }
.line { border-bottom: 1px solid #000; height: 1.8em; max-width: 30rem; }
.lines { border: 1px solid #000; height: 7em; }
table.grid th, table.grid td { text-align: center; font-size: 0.8rem; padding: 0.25em 0.4em; }
table.grid th:first-child, table.grid td:first-child { text-align: left; }
.privacy { border: 2px solid var(--accent); border-radius: 6px; padding: 0.4em 1em; background: #f5f8fb; }
"""


def dictionary(definition: Definition) -> pd.DataFrame:
    """Return the data dictionary: one row per column of the response layout, in order."""
    rows = [{"column": "Reference", "id": "", "section": "", "type": "text", "required": "no",
             "allowed values": "anything (e.g. the paper sheet's number); optional",
             "notes": "Template layout only. Microsoft Forms adds " + ", ".join(LAYOUTS["microsoft_forms"])
                      + "; Google Forms adds " + ", ".join(LAYOUTS["google_forms"]) + "."}]
    for q in definition.questions:
        rows.append({"column": q.text, "id": q.id, "section": q.section, "type": q.type,
                     "required": "yes" if q.required else "no", "allowed values": _allowed(q), "notes": _notes(q)})
    return pd.DataFrame(rows)


def _allowed(q: Question) -> str:
    """Return the allowed values of a question, in words."""
    if q.type in ("choice", "consent"):
        return " | ".join(q.options)
    if q.type == "multi":
        return "any of: " + " | ".join(q.options) + " (separate with ';')"
    return {"la": "an English local authority: name, 3-digit or ONS code",
            "date": "a date, e.g. 2025-03-14 or 14/03/2025",
            "text": "free text", "contact": f"the respondent's {q.field}, if they want a reply"}[q.type]


def _notes(q: Question) -> str:
    """Return how a question's answers are stored and used."""
    return {"text": "Redacted (emails, phone numbers, postcodes, names) before storing; quoted only with consent "
                    "and only for a council with enough responses.",
            "contact": "Split off into contacts.csv, which no report reads.",
            "date": "Forms and Google Forms timestamps fill it when the form does not ask it.",
            "consent": "Blank means No.",
            "la": "Checked against the areas registry (current councils)."}.get(q.type, "")


def sheet_html(definition: Definition, threshold: int = DEFAULT_THRESHOLD) -> str:
    """Return the printable question sheet as one self-contained HTML page (no scripts, fonts or links)."""
    css = CSS_FILE.read_text(encoding="utf-8") + SHEET_CSS
    intro = definition.intro.replace("{threshold}", str(threshold))
    parts = [f"<h1>{html.escape(definition.title)}</h1>",
             f'<div class="privacy"><p>{html.escape(intro)}</p></div>']
    number = 0
    for section in definition.sections():
        parts.append(f"<h2>{html.escape(section)}</h2>")
        for group in definition.groups():
            questions = definition.group(group)
            if questions[0].section != section:
                continue
            number += 1
            parts.append(_question_html(number, questions))
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(definition.title)}</title>\n<style>\n{css}\n</style>\n</head>\n"
            f"<body>\n<main class=\"page sheet\">\n{body}\n</main>\n</body>\n</html>\n")


def _boxes(options: tuple[str, ...]) -> str:
    """Return a list of tick boxes."""
    return '<ul class="options">' + "".join(f'<li><span class="box"></span>{html.escape(o)}</li>'
                                            for o in options) + "</ul>"


def _question_html(number: int, questions: list[Question]) -> str:
    """Return the HTML of one question (or one grid of questions) on the sheet."""
    first = questions[0]
    text = first.text.rsplit(" [", 1)[0] if first.group else first.text
    head = f'<p class="text">{number}. {html.escape(text)}</p>'
    if first.help:
        head += f'<p class="help">{html.escape(first.help)}</p>'
    if first.group:
        cells = "".join(f"<th>{html.escape(o)}</th>" for o in first.options)
        body = "".join(f"<tr><td>{html.escape(q.row_label)}</td>"
                       + '<td><span class="box"></span></td>' * len(q.options) + "</tr>" for q in questions)
        answer = f'<table class="grid"><thead><tr><th></th>{cells}</tr></thead><tbody>{body}</tbody></table>'
        answer += '<p class="help">Tick one box in each row.</p>'
    elif first.type in ("choice", "consent"):
        answer = _boxes(first.options) + '<p class="help">Tick one.</p>'
    elif first.type == "multi":
        answer = _boxes(first.options)
    elif first.type == "text":
        answer = '<div class="lines"></div>'
    else:
        answer = '<div class="line"></div>'
    required = "" if first.required else ' <span class="help">(optional)</span>'
    return f'<div class="question">{head.replace("</p>", required + "</p>", 1)}{answer}</div>'


def layout_header(definition: Definition) -> list[str]:
    """Return the header of the template's own response layout: Reference, then every question's text."""
    return ["Reference"] + [q.text for q in definition.questions]


def response_xlsx(definition: Definition) -> bytes:
    """Return the XLSX response layout: a Responses sheet with drop-down lists, and the data dictionary."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "Responses"
    sheet.append(layout_header(definition))
    sheet.freeze_panes = "B2"
    for position, q in enumerate([None] + list(definition.questions), start=1):
        letter = get_column_letter(position)
        cell = sheet[f"{letter}1"]
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[letter].width = 24
        if q is not None and q.type in ("choice", "consent"):
            rule = DataValidation(type="list", formula1='"' + ",".join(q.options) + '"', allow_blank=True,
                                  showErrorMessage=True, errorTitle="Not one of the answers",
                                  error="Choose one of: " + ", ".join(q.options))
            sheet.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}2000")
    sheet.row_dimensions[1].height = 90
    notes = book.create_sheet("Dictionary")
    frame = dictionary(definition)
    notes.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        notes.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


README = """{title}

Files (all generated from the survey definition, sendlib/feedback/questions.toml):
  survey-questions.html    the question sheet: print it, or copy its questions into Microsoft Forms or Google Forms
  survey-responses.csv     the response layout for typing in paper answers (one row per sheet)
  survey-responses.xlsx    the same with drop-down lists, and the data dictionary on a second sheet
  data-dictionary.csv      every column: question, type, whether required, allowed values, how it is used
  actions-log.csv          the layout of the actions log (sendlib feedback actions import)

Building the form online: use each question's text exactly as written (it is how `sendlib feedback import` matches
columns) and its answers exactly as listed. Grid questions can be a Google Forms grid or a Microsoft Forms Likert
question, or one question per row headed "question text [row]". Do not add an "Other (please say)" answer box to
choice questions: free text belongs in the free-text questions.

Importing: export the responses (Microsoft Forms: Open in Excel; Google Forms: Download responses (.csv)) straight
into data/feedback/ (git-ignored), then run `sendlib feedback import data/feedback/<file>`. Names, emails and phone
numbers are split off into data/feedback/contacts.csv; nothing personal leaves data/feedback/.
"""


def write_template(out: Path | str, definition: Definition | None = None, threshold: int | None = None) -> list[Path]:
    """Write the question sheet, response layouts, data dictionary and actions layout into `out`; return the paths.

    The sheet promises respondents the threshold in force (data/feedback/settings.json, default 5)."""
    definition = definition or load_definition()
    threshold = store.threshold() if threshold is None else store.check_threshold(threshold)
    out = Path(out)
    header = pd.DataFrame(columns=layout_header(definition))
    actions = pd.DataFrame(columns=list(definition.action_columns))
    files = {
        "survey-questions.html": sheet_html(definition, threshold).encode("utf-8"),
        "survey-responses.csv": b"\xef\xbb\xbf" + header.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "survey-responses.xlsx": response_xlsx(definition),
        "data-dictionary.csv": dictionary(definition).to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "actions-log.csv": actions.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        "README.txt": README.format(title=definition.title).encode("utf-8"),
    }
    return [write_bytes_atomic(content, out / name) for name, content in files.items()]
