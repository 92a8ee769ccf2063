"""The survey's one definition (questions.toml in this package), read and checked: questions, choice lists,
grid rows, header matching, and the actions log's columns and statuses."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sendlib.errors import InputFileError

DEFINITION_FILE = Path(__file__).resolve().parent / "questions.toml"
TYPES = ("choice", "multi", "la", "date", "text", "consent", "contact")
CONTACT_FIELDS = ("name", "email", "phone")
NO_ANSWER = "No answer"


@dataclass(frozen=True)
class Question:
    """One column of the response layout: a question, or one row of a grid question."""

    id: str
    text: str
    type: str
    section: str
    label: str
    required: bool = False
    options: tuple[str, ...] = ()
    ordered: tuple[str, ...] = ()
    field: str = ""
    help: str = ""
    report: str = ""
    group: str = ""
    row: str = ""
    row_label: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def headers(self) -> tuple[str, ...]:
        """Return every header this question is recognised by (its text first)."""
        return (self.text,) + self.aliases


@dataclass(frozen=True)
class Definition:
    """The whole survey: its title, its questions in order and the actions log's layout."""

    version: int
    title: str
    intro: str
    questions: tuple[Question, ...]
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    action_columns: tuple[str, ...] = ()
    action_statuses: tuple[str, ...] = ()
    source: str = ""

    def question(self, question_id: str) -> Question:
        """Return the question with this id (KeyError if there is none)."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def of_type(self, *types: str) -> list[Question]:
        """Return the questions of the given types, in order."""
        return [q for q in self.questions if q.type in types]

    def group(self, group_id: str) -> list[Question]:
        """Return the questions of a grid (or the single question with that id), in order."""
        return [q for q in self.questions if (q.group or q.id) == group_id]

    def groups(self) -> list[str]:
        """Return the question and grid ids in the order they are asked."""
        return list(dict.fromkeys(q.group or q.id for q in self.questions))

    def sections(self) -> list[str]:
        """Return the section titles in order."""
        return list(dict.fromkeys(q.section for q in self.questions))

    @property
    def stored_columns(self) -> list[str]:
        """Return the question columns kept in the pseudonymised responses (contacts excluded)."""
        return [q.id for q in self.questions if q.type != "contact"]


def normalise_header(text: object) -> str:
    """Return a comparable form of a column header: case, spaces, quotes, numbering and trailing marks ignored."""
    value = unicodedata.normalize("NFKC", str(text)).replace("\u2019", "'").replace("\u2018", "'")
    value = value.replace("\u201c", '"').replace("\u201d", '"').lower()
    value = re.sub(r"\s+", " ", value).strip()
    value = re.sub(r"^\d{1,2}[.)]\s+", "", value)
    return re.sub(r"[\s?:.*]+$", "", value)


def _problem(path: Path, problem: str, expected: str) -> InputFileError:
    """Return the error for a defect in the definition file."""
    return InputFileError(path, problem, expected)


def _options(raw: dict, name: object, path: Path, where: str) -> tuple[str, ...]:
    """Return a named choice list, checked: non-empty, unique, no separators in a label."""
    choices = raw.get("choices", {})
    if not isinstance(name, str) or name not in choices:
        raise _problem(path, f"{where}: choice list {name!r} is not defined", f"one of {sorted(choices)}")
    options = tuple(str(o) for o in choices[name])
    if not options or len(set(options)) != len(options):
        raise _problem(path, f"choice list {name!r} is empty or repeats an option", "distinct options")
    for option in options:
        if "," in option or ";" in option or not option.strip() or option == NO_ANSWER:
            raise _problem(path, f"choice list {name!r}: option {option!r} is empty, reserved or contains ',' or ';'",
                           "labels without separators")
    return options


def parse_definition(raw: dict, path: Path) -> Definition:
    """Return the Definition from the parsed TOML; InputFileError names the question and what was expected."""
    questions: list[Question] = []
    rows = {name: {str(k): str(v) for k, v in table.items()} for name, table in raw.get("rows", {}).items()}
    for position, item in enumerate(raw.get("question", []), start=1):
        where = f"question {position} ({item.get('id', '?')})"
        for key in ("id", "text", "type", "section", "label"):
            if not str(item.get(key, "")).strip():
                raise _problem(path, f"{where} has no {key}", "id, text, type, section and label for every question")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", item["id"]) or "__" in item["id"]:
            raise _problem(path, f"{where}: id {item['id']!r}", "lower-case letters, digits and single '_'")
        kind = item["type"]
        if kind not in TYPES:
            raise _problem(path, f"{where}: type {kind!r}", f"one of {TYPES}")
        options: tuple[str, ...] = ()
        ordered: tuple[str, ...] = ()
        if kind in ("choice", "multi", "consent"):
            options = _options(raw, item.get("choices"), path, where)
            ordered = tuple(raw.get("ordered", {}).get(item["choices"], ()))
            if any(o not in options for o in ordered):
                raise _problem(path, f"ordered list {item['choices']!r} names an option not in its choice list",
                               "ordered options drawn from the choice list")
        if kind == "consent" and set(options) != {"Yes", "No"}:
            raise _problem(path, f"{where}: a consent question", "the choices Yes and No")
        if kind == "contact" and item.get("field") not in CONTACT_FIELDS:
            raise _problem(path, f"{where}: contact field {item.get('field')!r}", f"one of {CONTACT_FIELDS}")
        common = dict(type=kind, section=str(item["section"]), required=bool(item.get("required", False)),
                      options=options, ordered=ordered, field=str(item.get("field", "")),
                      help=str(item.get("help", "")), report=str(item.get("report", item["label"])))
        if "rows" in item:
            if item["rows"] not in rows or kind != "choice":
                raise _problem(path, f"{where}: rows {item['rows']!r}", f"a choice question with rows from {sorted(rows)}")
            for row_id, row_label in rows[item["rows"]].items():
                text = f"{item['text']} [{row_label}]"
                aliases = (f"{item['text']}.{row_label}", f"{item['text']} - {row_label}",
                           f"{row_label}: {item['text']}")
                questions.append(Question(id=f"{item['id']}__{row_id}", text=text, label=f"{item['label']}: {row_label}",
                                          group=item["id"], row=row_id, row_label=row_label, aliases=aliases, **common))
        else:
            questions.append(Question(id=item["id"], text=str(item["text"]), label=str(item["label"]), **common))
    _check_questions(questions, path)
    actions = raw.get("actions", {})
    return Definition(version=int(raw.get("version", 0)), title=str(raw.get("title", "")),
                      intro=" ".join(str(raw.get("intro", "")).split()), questions=tuple(questions), rows=rows,
                      action_columns=tuple(actions.get("columns", ())),
                      action_statuses=tuple(actions.get("statuses", ())), source=str(path))


def _check_questions(questions: list[Question], path: Path) -> None:
    """Raise InputFileError unless ids and headers are unique and exactly one LA and one date question exist."""
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise _problem(path, "two questions share an id", "unique ids")
    seen: dict[str, str] = {}
    for q in questions:
        for header in q.headers:
            key = normalise_header(header)
            if seen.setdefault(key, q.id) != q.id:
                raise _problem(path, f"questions {seen[key]} and {q.id} have the same header {header!r}",
                               "distinct question texts")
    for kind in ("la", "date"):
        if sum(q.type == kind for q in questions) != 1:
            raise _problem(path, f"{sum(q.type == kind for q in questions)} questions of type {kind!r}", "exactly one")
    if sum(q.type == "consent" for q in questions) > 1:
        raise _problem(path, "more than one consent question", "at most one")


def load_definition(path: Path | None = None) -> Definition:
    """Return the survey definition (the package's questions.toml unless a path is given)."""
    return _load(str(Path(path) if path else DEFINITION_FILE))


@lru_cache(maxsize=4)
def _load(path: str) -> Definition:
    """Read and check one definition file (cached per path)."""
    location = Path(path)
    try:
        raw = tomllib.loads(location.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(location, f"cannot read the survey definition ({exc})", "a TOML file") from exc
    return parse_definition(raw, location)
