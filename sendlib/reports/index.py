"""outputs/index.html and the record behind it (outputs/.reports.json).

The record keeps every report any build wrote into this folder with its status (ok/failed), the failure
reason and the time; each build merges its results in under the folder lock, then rewrites index.html
atomically, so two builds into one folder both end up listed and the page is never half-written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sendlib.reports.files import locked, write_atomic

STATE_NAME = ".reports.json"
SECTIONS = (("england", "England", "england"), ("region", "Regions", "regions"),
            ("la", "Local authorities", "local-authorities"), ("custom", "Other reports", "other"))


@dataclass
class Entry:
    """One report's line in the index."""

    relpath: str
    kind: str
    title: str
    area_code: str
    status: str
    reason: str = ""
    built_at: str = ""
    seconds: float = 0.0
    executed: str = ""
    last_ok_at: str = ""


def read_state(out: Path) -> dict[str, Entry]:
    """Return the recorded entries of a folder (empty if none or unreadable)."""
    try:
        raw = json.loads((out / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = {}
    for item in raw.get("reports", []) if isinstance(raw, dict) else []:
        try:
            entry = Entry(**{k: item[k] for k in item if k in Entry.__dataclass_fields__})
        except TypeError:
            continue
        entries[entry.relpath] = entry
    return entries


def merge(state: dict[str, Entry], entry: Entry) -> dict[str, Entry]:
    """Return the state with one new result merged in (a failure remembers the last good build)."""
    old = state.get(entry.relpath)
    if entry.status == "ok":
        entry.last_ok_at = entry.built_at
    elif old is not None:
        entry.last_ok_at = old.last_ok_at
    return {**state, entry.relpath: entry}


def _label(entry: Entry) -> str:
    """Return the link text of an entry."""
    return f"{entry.title} ({entry.area_code})" if entry.kind == "la" else entry.title


def _link(relpath: str) -> str:
    """Return a relative URL for a path under outputs/."""
    return quote(relpath, safe="/")


def index_sections(out: Path, state: dict[str, Entry]) -> list[dict]:
    """Return the index sections (England, Regions, LAs, other) with their rows."""
    sections = []
    for kind, heading, anchor in SECTIONS:
        rows = []
        for entry in sorted((e for e in state.values() if e.kind == kind), key=lambda e: (e.title, e.relpath)):
            exists = (out / entry.relpath).is_file()
            kept = bool(entry.executed) and (out / entry.executed).is_file()
            if not exists and (entry.status == "ok" or not kept):  # removed since (e.g. `make clean`)
                continue
            rows.append({"label": _label(entry), "status": entry.status, "reason": entry.reason,
                         "built_at": entry.built_at, "link": _link(entry.relpath) if exists else "",
                         "executed": _link(entry.executed) if entry.executed else "",
                         "previous": entry.last_ok_at if entry.status != "ok" and exists else ""})
        if rows:
            sections.append({"id": anchor, "heading": heading, "entries": rows})
    return sections


@lru_cache(maxsize=1)
def _environment() -> Any:
    """Return the Jinja environment for index.html (autoescape on)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from sendlib.reports.export import TEMPLATES

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))


def render_index(out: Path, state: dict[str, Entry], shared: dict, updated: str) -> str:
    """Return index.html for the recorded reports (Jinja with autoescape: names appear as text)."""
    env = _environment()
    sections = index_sections(out, state)
    counts = {"ok": sum(r["status"] == "ok" for s in sections for r in s["entries"]),
              "failed": sum(r["status"] != "ok" for s in sections for r in s["entries"])}
    return env.get_template("index.html.j2").render(
        sections=sections, counts=counts, updated=updated, version=shared["version"], commit=shared["commit"],
        css=shared["css"])


def record(out: Path, entries: list[Entry], shared: dict, updated: str) -> dict[str, Entry]:
    """Merge results into the folder's record and rewrite index.html, both atomically under the lock."""
    with locked(out):
        state = read_state(out)
        for entry in entries:
            state = merge(state, entry)
        payload = {"reports": [asdict(e) for e in sorted(state.values(), key=lambda e: e.relpath)]}
        write_atomic(out / STATE_NAME, json.dumps(payload, indent=1, ensure_ascii=False))
        write_atomic(out / "index.html", render_index(out, state, shared, updated))
    return state
