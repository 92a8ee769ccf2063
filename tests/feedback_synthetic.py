"""Synthetic survey responses for the tests (and for trying the feature out): made up, marked as synthetic, and
laced with personal-data markers (names, emails, phone numbers, postcodes in free text) that must never reach an
output. Lives in the tests only; nothing in sendlib imports it.

    python tests/feedback_synthetic.py --out data/feedback/synthetic.xlsx --la Leeds=12 --la Wakefield=3

writes a Microsoft Forms-style export (CSV or XLSX by the file's suffix) with a "sendlib synthetic test data"
column, so that `sendlib feedback import` stores the responses as synthetic and reports say so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from sendlib.feedback.definition import Definition, load_definition
from sendlib.feedback.importer import SYNTHETIC_COLUMN

#: Every planted personal detail contains one of these, so a scan for them finds any leak.
MARKERS = ("Qzxvmarker", "Plumtreevich", "qzxv.leak", "7700 900", "SW1A 1AA", "Bertildaqz", "Quorncastle")
LISTED_NAME = "Bertildaqz Quorncastle"  # a colleague named in free text: redacted only through the names list
START = dt.datetime(2025, 1, 6, 9, 0, 0)


@dataclass
class Response:
    """One synthetic submission: answers by question id (lists for multi-select) and the respondent's contact."""

    la: str
    answers: dict[str, object]
    name: str = ""
    email: str = ""
    phone: str = ""
    when: dt.datetime = START
    extra: dict[str, str] = field(default_factory=dict)


def synthetic_responses(las: dict[str, int], seed: int = 1, definition: Definition | None = None,
                        plant: bool = True) -> list[Response]:
    """Return made-up responses: `las` maps an LA's name or code (as a respondent would write it) to how many."""
    definition = definition or load_definition()
    rng = random.Random(seed)
    responses = []
    number = 0
    for la, how_many in las.items():
        for _ in range(how_many):
            number += 1
            answers: dict[str, object] = {}
            for q in definition.questions:
                if q.type in ("choice", "consent"):
                    answers[q.id] = rng.choice(q.options) if q.required or rng.random() > 0.1 else ""
                elif q.type == "multi":
                    answers[q.id] = rng.sample(list(q.options), rng.randint(0, 3))
                elif q.type == "text":
                    answers[q.id] = _free_text(rng, number, plant) if rng.random() > 0.3 else ""
            answers["quote_consent"] = "Yes" if number % 3 else "No"
            person = f"Qzxvmarker{number} Plumtreevich" if plant else ""
            responses.append(Response(
                la=la, answers=answers, name=person,
                email=f"qzxv.leak{number}@example.org" if plant and number % 4 else "",
                phone=f"07700 900{number:03d}" if plant and number % 2 else "",
                when=START + dt.timedelta(days=number % 40, hours=number % 7, minutes=number)))
    return responses


def _free_text(rng: random.Random, number: int, plant: bool) -> str:
    """Return a made-up comment, with personal details planted in most of them."""
    text = rng.choice(["Waiting lists are far too long for our pupils.",
                       "The plan cuts top-up funding; parents are worried.",
                       "We cannot get an educational psychologist to visit this term."])
    if plant:
        text += rng.choice([f" Ring me on 07700 900{number:03d}.", f" Email qzxv.leak{number}@example.org please.",
                            f" Our school is at SW1A 1AA, ask for Qzxvmarker{number}.",
                            f" {LISTED_NAME} raised it with the council.",
                            f" Mrs Plumtreevich says the same (+44 7700 900{number:03d})."])
    return text


# --------------------------------------------------------------------------------------- layouts


def _multi(values: object, separator: str, trailing: str = "") -> str:
    """Return a multi-select answer joined as the form tool joins it."""
    picked = list(values or [])
    return separator.join(picked) + (trailing if picked else "")


def export_frame(responses: list[Response], layout: str = "microsoft_forms", definition: Definition | None = None,
                 workbook: bool = True, synthetic: bool = True, ask_date: bool | None = None) -> pd.DataFrame:
    """Return responses laid out as Microsoft Forms, Google Forms or the sendlib template export them."""
    definition = definition or load_definition()
    ask_date = (layout == "template") if ask_date is None else ask_date
    rows = []
    for number, r in enumerate(responses, start=1):
        row: dict[str, object] = {}
        if layout == "microsoft_forms":
            stamp = r.when if workbook else f"{r.when.day}/{r.when.month}/{r.when:%Y} {r.when:%H:%M}"  # UK Excel
            row.update({"ID": number, "Start time": stamp, "Completion time": stamp,
                        "Email": r.email or "anonymous", "Name": r.name})
        elif layout == "google_forms":
            row.update({"Timestamp": f"{r.when:%d/%m/%Y %H:%M:%S}", "Email Address": r.email})
        else:
            row["Reference"] = f"sheet-{number}"
        for q in definition.questions:
            if q.type == "date":
                if ask_date:
                    row[q.text] = r.when.date().isoformat() if workbook or layout != "template" else f"{r.when:%d/%m/%Y}"
                continue
            if q.type == "la":
                row[q.text] = r.la
            elif q.type == "multi":
                row[q.text] = (_multi(r.answers.get(q.id), ";", ";") if layout == "microsoft_forms"
                               else _multi(r.answers.get(q.id), ", ") if layout == "google_forms"
                               else _multi(r.answers.get(q.id), ";"))
            elif q.type == "contact":
                row[q.text] = {"name": r.name, "email": r.email, "phone": r.phone}[q.field]
            else:
                row[q.text] = r.answers.get(q.id, "")
        row.update(r.extra)
        if synthetic:
            row[SYNTHETIC_COLUMN] = "yes"
        rows.append(row)
    return pd.DataFrame(rows)


def write_export(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write an export as CSV (UTF-8 with BOM, as Excel saves it) or XLSX, by the file's suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        frame.to_excel(path, index=False, sheet_name="Sheet1")
    else:
        path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    return path


def scan_for_markers(paths: list[Path], also: tuple[str, ...] = ()) -> list[str]:
    """Return 'file: marker' for every planted personal detail found in the files (bytes of XLSX unzipped, and
    the CSV downloads a report embeds as base64 data URIs decoded)."""
    import base64
    import re
    import zipfile

    found = []
    for path in paths:
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                data = b"".join(archive.read(name) for name in archive.namelist())
        text = data.decode("utf-8", errors="replace")
        for blob in re.findall(r"data:[^;,\"']+(?:;charset=[^;,\"']+)?;base64,([A-Za-z0-9+/=]+)", text):
            text += "\n" + base64.b64decode(blob).decode("utf-8", errors="replace")
        found += [f"{path}: {m}" for m in MARKERS + also if m.lower() in text.lower()]
    return found


def files_under(folder: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """Return every file under a folder, hidden ones included, except those whose name is in `skip`."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name not in skip)


def use_feedback_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return an empty feedback folder under tmp_path, set as SENDLIB_FEEDBACK_DIR for the test."""
    folder = tmp_path / "feedback"
    folder.mkdir()
    monkeypatch.setenv("SENDLIB_FEEDBACK_DIR", str(folder))
    return folder


def main(argv: list[str] | None = None) -> int:
    """Write a synthetic Microsoft Forms-style export (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="file to write (.xlsx or .csv)")
    parser.add_argument("--la", action="append", required=True, metavar="NAME=COUNT",
                        help="an LA and how many responses from it (repeatable)")
    parser.add_argument("--layout", choices=["microsoft_forms", "google_forms", "template"],
                        default="microsoft_forms")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    las = {}
    for item in args.la:
        name, _, how_many = item.rpartition("=")
        las[name] = int(how_many)
    path = write_export(export_frame(synthetic_responses(las, args.seed), args.layout,
                                     workbook=args.out.lower().endswith(".xlsx")), args.out)
    print(f"Wrote {sum(las.values())} synthetic responses to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
