"""outputs/index.html and the record behind it (outputs/.reports.json).

The record keeps every report any build wrote into this folder with its status (ok/failed), the failure
reason and the time; each build merges its results in under the folder lock, then rewrites index.html
atomically, so two builds into one folder both end up listed and the page is never half-written. If the
record is unreadable (or gone while reports remain), it is rebuilt from the report HTML files on disk and the
build says so once on stderr: a report whose file is there is never forgotten.

index.html lists every current council grouped by region with its programme status (`council_directory`),
linked to its own report when one is built, else to its region's; a search box (inline JavaScript, shown
only when JavaScript runs) filters the councils by name, alias or code as you type.
"""

from __future__ import annotations

import html
import json
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sendlib.periods import ENGLAND_CODE
from sendlib.reports.files import locked, write_atomic

STATE_NAME = ".reports.json"
PROGRAMME_CLASSES = ("sv", "dbv", "other")  # the tag colour of a council's status in the index
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
    modified: str = ""  # the tables that differed from MANIFEST.json when it was built ('' if none)


def _entries(raw: object) -> tuple[dict[str, Entry], bool]:
    """Return the entries of a parsed record and whether it was a valid record of valid entries."""
    if not isinstance(raw, dict) or not isinstance(raw.get("reports"), list):
        return {}, False
    entries, complete = {}, True
    for item in raw["reports"]:
        try:
            entry = Entry(**{k: item[k] for k in item if k in Entry.__dataclass_fields__})
        except TypeError:
            complete = False
            continue
        if not isinstance(entry.relpath, str) or not entry.relpath:
            complete = False
            continue
        entries[entry.relpath] = entry
    return entries, complete


def read_state(out: Path) -> dict[str, Entry]:
    """Return the recorded entries of a folder. If the record is unreadable (or holds invalid entries), rebuild
    it from the sendlib reports on disk and say so once on stderr; if it is missing, take in the reports on disk
    quietly. Either way a report whose file is there is never forgotten."""
    path = out / STATE_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return recover_entries(out)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raw, problem = None, f"is unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
    else:
        problem = "holds entries that are not valid"
    entries, complete = _entries(raw)
    if complete:
        return entries
    found = {relpath: entry for relpath, entry in recover_entries(out).items() if relpath not in entries}
    print(f"sendlib: {path} {problem}; rebuilt the record from the reports on disk ({len(entries)} kept, "
          f"{len(found)} recovered from their files)", file=sys.stderr)
    return {**entries, **found}


TITLE = re.compile(r"<title>(.*?)</title>", re.S)
PARAMETER = re.compile(r"<code>(la|region)</code> = ([A-Z0-9]{3,9})\b")
BUILT = re.compile(r"<dt>Built</dt><dd>([^<]*)</dd>")
PAGE_PREFIX = "SEND high needs funding: "
GENERATOR = re.compile(r'<meta\b(?=[^>]*\bname="generator")(?=[^>]*\bcontent="sendlib )[^>]*>')
MODIFIED = re.compile(r'<meta\b(?=[^>]*\bname="sendlib-modified-data")(?=[^>]*\bcontent="([^"]*)")[^>]*>')


def report_files(out: Path) -> list[str]:
    """Return the HTML files in `out` and its sub-folders (the reports' layout: england.html, regions/, las/),
    leaving out index.html and hidden folders."""
    found = []
    for path in sorted([*out.glob("*.html"), *out.glob("*/*.html")]):
        relpath = path.relative_to(out).as_posix()
        if relpath == "index.html" or any(part.startswith(".") for part in Path(relpath).parts):
            continue
        found.append(relpath)
    return found


def entry_from_file(out: Path, relpath: str) -> Entry | None:
    """Return the index entry of a sendlib report on disk, read from its title, parameters and build time
    (None for an HTML file that is not a sendlib report)."""
    content = (out / relpath).read_bytes()
    start, head = (content[:4_000].decode("utf-8", errors="replace"),
                   content[-20_000:].decode("utf-8", errors="replace"))
    title_match = TITLE.search(start)
    if not GENERATOR.search(start) or title_match is None:
        return None
    title = html.unescape(title_match.group(1)).strip().removeprefix(PAGE_PREFIX)
    kind = ("england" if relpath == "england.html" else "region" if relpath.startswith("regions/")
            else "la" if relpath.startswith("las/") else "custom")
    parameter = PARAMETER.search(head)
    code = ENGLAND_CODE if kind == "england" else parameter.group(2) if parameter else ""
    built = BUILT.search(head)
    modified = MODIFIED.search(start)
    return Entry(relpath=relpath, kind=kind, title=title, area_code=code, status="ok",
                 built_at=html.unescape(built.group(1)) if built else "", last_ok_at="",
                 reason="" if built else "recovered from the file on disk",
                 modified=html.unescape(modified.group(1)) if modified else "")


def recover_entries(out: Path) -> dict[str, Entry]:
    """Return an entry for every sendlib report file on disk (the record rebuilt from the files)."""
    entries = {}
    for relpath in report_files(out):
        try:
            entry = entry_from_file(out, relpath)
        except OSError:
            continue
        if entry is None:  # an HTML file sendlib did not write
            continue
        entry.last_ok_at = entry.built_at
        entries[relpath] = entry
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


def _row(out: Path, entry: Entry) -> dict | None:
    """Return the index row of an entry, or None if its report has gone (e.g. `make clean`)."""
    exists = (out / entry.relpath).is_file()
    kept = bool(entry.executed) and (out / entry.executed).is_file()
    if not exists and (entry.status == "ok" or not kept):
        return None
    return {"label": _label(entry), "status": entry.status, "reason": entry.reason, "built_at": entry.built_at,
            "link": _link(entry.relpath) if exists else "", "executed": _link(entry.executed) if entry.executed else "",
            "previous": entry.last_ok_at if entry.status != "ok" and exists else "", "modified": entry.modified}


def index_sections(out: Path, state: dict[str, Entry]) -> list[dict]:
    """Return the index sections (England, Regions, LAs, other) with their rows."""
    sections = []
    for kind, heading, anchor in SECTIONS:
        rows = [row for entry in sorted((e for e in state.values() if e.kind == kind), key=lambda e: (e.title, e.relpath))
                if (row := _row(out, entry)) is not None]
        if rows:
            sections.append({"id": anchor, "heading": heading, "entries": rows})
    return sections


def search_text(*values: object) -> str:
    """Return the text a council is found by: names and codes, accents dropped, lower case, '&' as 'and'."""
    text = " ".join(str(v) for v in values if v)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _slug(text: str) -> str:
    """Return an id-safe form of a region name."""
    return "region-" + "-".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def council_sections(out: Path, state: dict[str, Entry], councils: Mapping[str, Mapping[str, str]]) -> dict:
    """Return the index grouped by region: England, then per region its report and every council (status,
    own report or the region's), then other reports. `councils` maps area_code -> {region, status} (and
    optionally name, region_code, aliases, ons_code, programme)."""
    rows = {relpath: row for relpath, entry in state.items() if (row := _row(out, entry)) is not None}
    by_code: dict[tuple[str, str], list[tuple[Entry, dict]]] = {}
    for relpath, row in rows.items():
        entry = state[relpath]
        by_code.setdefault((entry.kind, entry.area_code), []).append((entry, row))
    used: set[str] = set()

    def take(kind: str, code: str) -> dict | None:
        found = sorted(by_code.get((kind, code), []), key=lambda pair: pair[0].relpath)
        used.update(entry.relpath for entry, _ in found)
        return found[0][1] if found else None

    regions: dict[str, dict] = {}
    for code, info in sorted(councils.items(), key=lambda item: (str(item[1].get("region_code") or item[1]["region"]),
                                                                  str(item[1].get("name") or item[0]))):
        name = str(info.get("name") or code)
        region = str(info["region"])
        block = regions.get(region)
        if block is None:
            region_code = str(info.get("region_code") or "")
            report = take("region", region_code) if region_code else None
            if report is None:
                matches = [e for e in state.values() if e.kind == "region" and e.title == region and e.relpath in rows]
                report = take("region", matches[0].area_code) if matches else None
            block = regions[region] = {"id": _slug(region), "name": region, "report": report, "councils": []}
        block["councils"].append({
            "code": code, "name": name, "status": str(info.get("status") or "n/a"),
            "programme": programme if (programme := str(info.get("programme"))) in PROGRAMME_CLASSES else "other",
            "report": take("la", code),
            "search": search_text(name, str(info.get("aliases") or "").replace(";", " "), code, info.get("ons_code"))})
    england = [relpath for relpath in sorted(rows) if state[relpath].kind == "england"]
    used.update(england)
    others = [rows[r] for r in sorted(rows, key=lambda r: (state[r].title, r)) if r not in used]
    return {"england": [rows[r] for r in england], "regions": list(regions.values()), "others": others}


def status_text(group: str) -> str:
    """Return a programme group as the index says it: 'Safety Valve 2022-23', 'DBV tranche 1', 'Neither
    programme: DSG deficit'."""
    group = str(group)
    if group.startswith("SV "):
        return "Safety Valve " + group[3:]
    if group.startswith("Other: "):
        return "Neither programme: " + group[7:]
    return group


def council_directory() -> dict[str, dict[str, str]]:
    """Return area_code -> {name, region, region_code, status, programme, aliases, ons_code} for every current
    LA: the one place the index learns councils and their programme status (the derived groups table)."""
    from sendlib.data import load
    from sendlib.geography import areas, split_list

    registry = areas().set_index("area_code")
    directory = {}
    for row in load("groups").itertuples(index=False):
        family = str(row.programme_group)
        directory[str(row.area_code)] = {
            "name": str(row.area_name), "region": str(row.region_name), "region_code": str(row.region_code),
            "status": status_text(row.group),
            "programme": "sv" if family == "Safety Valve" else "dbv" if family == "DBV" else "other",
            "aliases": ";".join(split_list(registry.loc[row.area_code, "aliases"])),
            "ons_code": str(registry.loc[row.area_code, "ons_code"])}
    return directory


@lru_cache(maxsize=1)
def _environment() -> Any:
    """Return the Jinja environment for index.html (autoescape on)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from sendlib.reports.export import TEMPLATES

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))


def render_index(out: Path, state: dict[str, Entry], shared: dict, updated: str,
                 councils: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Return index.html for the recorded reports: grouped by region with every council's status when
    `councils` (area_code -> {region, status, ...}) is given, else by kind (Jinja autoescape: names are text)."""
    env = _environment()
    grouped = council_sections(out, state, councils) if councils else None
    flat = [r for s in index_sections(out, state) for r in s["entries"]]
    counts = {"ok": sum(r["status"] == "ok" for r in flat), "failed": sum(r["status"] != "ok" for r in flat)}
    return env.get_template("index.html.j2").render(
        sections=[] if grouped else index_sections(out, state), grouped=grouped, counts=counts, updated=updated,
        version=shared["version"], commit=shared["commit"], css=shared["css"],
        councils=sum(len(r["councils"]) for r in grouped["regions"]) if grouped else 0)


_SAID: set[str] = set()


def _directory_or_none() -> dict[str, dict[str, str]] | None:
    """Return the council directory, or None (saying why on stderr, once) when the data behind it cannot be read."""
    from sendlib.errors import SendlibError

    try:
        return council_directory()
    except (SendlibError, OSError, ValueError, KeyError) as exc:
        message = f"sendlib: index.html lists the reports without the council list: {exc}"
        if message not in _SAID:
            _SAID.add(message)
            print(message, file=sys.stderr)
        return None


def record(out: Path, entries: list[Entry], shared: dict, updated: str) -> dict[str, Entry]:
    """Merge results into the folder's record and rewrite index.html, both atomically under the lock."""
    with locked(out):
        state = read_state(out)
        for entry in entries:
            state = merge(state, entry)
        payload = {"reports": [asdict(e) for e in sorted(state.values(), key=lambda e: e.relpath)]}
        write_atomic(out / STATE_NAME, json.dumps(payload, indent=1, ensure_ascii=False))
        write_atomic(out / "index.html", render_index(out, state, shared, updated, _directory_or_none()))
    return state
