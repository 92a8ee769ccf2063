"""gov.uk Content API items (https://www.gov.uk/api/content/<path>): the JSON behind a gov.uk page.

A publication's attachments are listed in `details.attachments` (title, url, content_type, filename); older
items render them as HTML in `details.documents`. The Safety Valve page ("Dedicated schools grant: very high
deficit intervention") has one attachment per agreement, titled like
"Kent: dedicated schools grant safety valve agreement 2022 to 2023".
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sendlib.errors import InputFileError
from sendlib.periods import fy_label

CONTENT_ITEM_KEYS = ("base_path", "title", "details")

_YEARS = re.compile(r"\b(20\d{2})\s*(?:to|-|–|/)\s*(20\d{2}|\d{2})\b", flags=re.IGNORECASE)
_SAFETY_VALVE = re.compile(r"safety[\s-]+valve", flags=re.IGNORECASE)
_NAME_PREFIXES = re.compile(r"^(?:the\s+)?(?:london\s+borough\s+of|royal\s+borough\s+of|council\s+of\s+the)\s+",
                            flags=re.IGNORECASE)
_NAME_SUFFIXES = re.compile(r"\s+(?:metropolitan\s+borough|city|county|borough|district)?\s*council$",
                            flags=re.IGNORECASE)


@dataclass(frozen=True)
class Attachment:
    """One attachment of a gov.uk publication: its title and URL."""

    title: str
    url: str


@dataclass(frozen=True)
class SafetyValveListing:
    """One attachment that names an LA's Safety Valve agreement: the LA as written, the agreement's year, the title."""

    la_name: str
    financial_year: str | None
    title: str
    url: str


def read_content_item(path: Path, keys: tuple[str, ...] = CONTENT_ITEM_KEYS) -> dict:
    """Return a gov.uk Content API item read from `path`, checking it is a JSON object with `keys`."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", "a gov.uk Content API JSON item")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                             "a complete gov.uk Content API JSON item") from None
    if not isinstance(item, dict):
        raise InputFileError(path, f"the JSON is a {type(item).__name__}", "a JSON object")
    missing = [k for k in keys if k not in item]
    if missing:
        raise InputFileError(path, f"missing key(s) {missing}; the item has {sorted(item)}",
                             f"the keys {list(keys)}")
    if "details" in keys and not isinstance(item["details"], dict):
        raise InputFileError(path, "'details' is not an object", "details with the page's attachments")
    return item


def attachments(item: dict) -> list[Attachment]:
    """Return the attachments of a content item: `details.attachments`, else those rendered in `details.documents`."""
    details = item.get("details") or {}
    listed = details.get("attachments") or []
    found = [Attachment(_clean(a.get("title", "")), str(a.get("url", "")))
             for a in listed if isinstance(a, dict) and a.get("title")]
    if found:
        return found
    for document in details.get("documents") or []:
        found.extend(_links_in_html(str(document)))
    return found


def parse_safety_valve_title(title: str) -> tuple[str, str | None] | None:
    """Return (LA name, agreement financial year or None) from an attachment title, or None if it names no agreement.

    'Kent: dedicated schools grant safety valve agreement 2022 to 2023' -> ('Kent', '2022-23').
    """
    text = _clean(title)
    if not _SAFETY_VALVE.search(text) or ":" not in text:
        return None
    head, _, tail = text.partition(":")
    if _SAFETY_VALVE.search(head) or not _SAFETY_VALVE.search(tail):
        return None  # "Safety valve agreements: guidance" names no LA
    name = clean_la_name(head)
    if not re.search(r"[a-z]", name, flags=re.IGNORECASE):
        return None
    return name, _financial_year(tail)


def clean_la_name(text: str) -> str:
    """Return an LA name without 'London Borough of' / 'Council' wrappers or trailing punctuation."""
    name = _clean(text).strip(" -–(),.;")
    name = _NAME_PREFIXES.sub("", name)
    name = _NAME_SUFFIXES.sub("", name)
    return name.strip(" -–(),.;")


def safety_valve_listings(path: Path) -> list[SafetyValveListing]:
    """Return every attachment of the Safety Valve page's Content API item that names an LA's agreement."""
    item = read_content_item(path)
    found = []
    for attachment in attachments(item):
        parsed = parse_safety_valve_title(attachment.title)
        if parsed is not None:
            found.append(SafetyValveListing(parsed[0], parsed[1], attachment.title, attachment.url))
    return found


def _financial_year(text: str) -> str | None:
    """Return '2022-23' for the first 'YYYY to YYYY' (or 'YYYY-YY') in the text, or None."""
    for match in _YEARS.finditer(text):
        start, end = int(match.group(1)), match.group(2)
        if int(end) % 100 == (start + 1) % 100 and (len(end) == 2 or int(end) == start + 1):
            return fy_label(start)
    return None


def _clean(text: str) -> str:
    """Return text with HTML entities decoded and runs of white space collapsed."""
    return " ".join(html.unescape(str(text)).split())


class _LinkCollector(HTMLParser):
    """Collects (text, href) of every <a> element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Start collecting the text of a link."""
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        """Keep text inside a link."""
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Finish a link."""
        if tag == "a" and self._href is not None:
            self.links.append((_clean(" ".join(self._text)), self._href))
            self._href = None


def html_links(page: str) -> list[tuple[str, str]]:
    """Return (link text, href) for every link in an HTML page, in order."""
    collector = _LinkCollector()
    collector.feed(page)
    collector.close()
    return collector.links


def _links_in_html(document: str) -> list[Attachment]:
    """Return the titled links of one rendered attachment block."""
    return [Attachment(text, href) for text, href in html_links(document) if text]
