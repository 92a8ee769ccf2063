"""`sendlib data download`: fetch each registered source from its official home into data/raw, checked.

Each file is written to a temporary file in the destination folder, checked (not empty, not an HTML error
page, and complete in its format with the expected columns, keys or sheets: see sources.DOWNLOAD_FORMATS),
then moved into place with os.replace; its URL, sha256, size and time go into DOWNLOADS.json, itself written
atomically. A failed download leaves the destination exactly as it was. Connection errors, timeouts and 5xx
answers are retried with exponential backoff; 4xx answers (404...) are not. When no official host can be
reached the command says so, changes nothing and exits with status 1: the committed tables in
data/processed stay in use.

Every official host can be redirected, for tests or a mirror: with SENDLIB_DOWNLOAD_BASE=http://127.0.0.1:8000,
https://www.ons.gov.uk/generator?format=csv&uri=/x is fetched from http://127.0.0.1:8000/www.ons.gov.uk/generator?format=csv&uri=/x.
SENDLIB_DOWNLOAD_TIMEOUT (seconds per request), SENDLIB_DOWNLOAD_RETRIES and SENDLIB_DOWNLOAD_BACKOFF
(seconds before the first retry, doubled each time) tune the rest.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import errno
import fnmatch
import hashlib
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import urljoin, urlsplit

from sendlib import __version__
from sendlib.errors import InputFileError, ParameterError
from sendlib.io import check_output_folder, create_temp, write_bytes_atomic
from sendlib.paths import default_raw_dir, processed_dir, raw_dir
from sendlib.readers.govuk import attachments, html_links
from sendlib.readers.ons import read_ons_series
from sendlib.readers.text import looks_like_html, read_csv_rows
from sendlib.sources import (
    DOWNLOADS_FILE,
    FIND_EES_RELEASE_FILE,
    FIND_GOVUK_ATTACHMENT,
    FIND_HTML_LINK,
    SOURCES,
    Download,
    Source,
    downloadable,
    sha256_of,
)

ENV_BASE = "SENDLIB_DOWNLOAD_BASE"
ENV_TIMEOUT = "SENDLIB_DOWNLOAD_TIMEOUT"
ENV_RETRIES = "SENDLIB_DOWNLOAD_RETRIES"
ENV_BACKOFF = "SENDLIB_DOWNLOAD_BACKOFF"
USER_AGENT = f"sendlib/{__version__} (research; Python urllib)"
CHUNK = 1 << 16
MAX_PAGE_BYTES = 32 << 20  # a landing page or API answer larger than this is not what was asked for
ONS_METADATA = ("Title", "CDID", "Source dataset ID", "PreUnit", "Unit", "Release date", "Next release",
                "Important notes")
_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table"
_ODS_NAME = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}name"
_XLSX_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"
_EXPECTED = {"csv": "a CSV file", "ees-csv": "an EES tidy CSV file", "ons-csv": "an ONS time-series CSV file",
             "ods": "an ODS spreadsheet", "xlsx": "an XLSX workbook", "json": "a JSON document"}

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """How downloads are made: host override, timeout per request, retries and backoff, progress bars."""

    base: str | None = None
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    progress: bool = True


class OfflineError(InputFileError):
    """No official host could be reached (connection refused, DNS failure, network unreachable)."""


class _Retryable(Exception):
    """A failure worth another attempt (connection error, timeout, 5xx, cut transfer)."""

    def __init__(self, problem: str, offline: bool = False):
        super().__init__(problem)
        self.problem = problem
        self.offline = offline


@dataclass(frozen=True)
class Page:
    """A small answer held in memory: a landing page or an API item that names the file."""

    url: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Fetched:
    """A file fetched into a temporary path, not yet checked or moved into place."""

    temp: Path
    size: int
    sha256: str
    content_type: str
    last_modified: str


# ------------------------------------------------------------------------------------------ settings


def settings_from_env(progress: bool = True) -> Settings:
    """Return the download settings, read from SENDLIB_DOWNLOAD_* environment variables where set."""
    base = os.environ.get(ENV_BASE) or None
    if base and not re.match(r"^https?://[^/]+", base):
        raise ParameterError(ENV_BASE, base, "a base URL such as http://127.0.0.1:8000")
    return Settings(base=base.rstrip("/") if base else None,
                    timeout=_env_number(ENV_TIMEOUT, 60.0, float),
                    retries=int(_env_number(ENV_RETRIES, 3, int)),
                    backoff=_env_number(ENV_BACKOFF, 1.0, float),
                    progress=progress)


def _env_number(name: str, default: float, kind: type) -> float:
    """Return a non-negative number from the environment variable `name`, or `default` when unset."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ParameterError(name, text, f"a {'whole ' if kind is int else ''}number") from None
    if value < 0 or (name == ENV_TIMEOUT and value == 0):
        raise ParameterError(name, text, "a positive number")
    return value


def effective_url(url: str, base: str | None) -> str:
    """Return the URL to request: the official URL, or with a base set, base/host/path?query."""
    if not base:
        return url
    parts = urlsplit(url)
    return f"{base.rstrip('/')}/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


# ------------------------------------------------------------------------------------------ HTTP


def _request(url: str, timeout: float) -> http.client.HTTPResponse:
    """Return the open response to a GET of `url`, or raise _Retryable / urllib.error.HTTPError."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http(s) URLs from the registry)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            exc.close()
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise
    except urllib.error.URLError as exc:
        raise _connection_problem(exc.reason, timeout) from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise _connection_problem(exc, timeout) from None


def _connection_problem(reason: object, timeout: float) -> _Retryable:
    """Return the retryable failure for a connection error, marking refusals and DNS failures as offline."""
    if isinstance(reason, TimeoutError):
        return _Retryable(f"no answer within {timeout:g} s (timeout)")
    if isinstance(reason, ConnectionRefusedError):
        return _Retryable("connection refused", offline=True)
    if isinstance(reason, socket.gaierror):
        return _Retryable(f"the host name could not be resolved ({reason.strerror or reason})", offline=True)
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return _Retryable(f"network unreachable ({reason.strerror})", offline=True)
    if isinstance(reason, http.client.IncompleteRead):
        return _Retryable(f"the connection closed after {len(reason.partial):,} bytes: the transfer is truncated")
    return _Retryable(f"connection error ({type(reason).__name__}: {reason})")


def _with_retries(attempt: Callable[[], T], where: str, expected: str, settings: Settings) -> T:
    """Return attempt()'s result, retrying retryable failures with exponential backoff; raise naming `where`."""
    tries = settings.retries + 1
    for number in range(1, tries + 1):
        try:
            return attempt()
        except _Retryable as exc:
            if number == tries:
                attempts = f" (after {tries} attempts)" if tries > 1 else ""
                if exc.offline:
                    raise OfflineError(where, f"{exc.problem}{attempts}", "a network connection to the official host") from None
                raise InputFileError(where, f"{exc.problem}{attempts}", expected) from None
            time.sleep(settings.backoff * 2 ** (number - 1))
    raise AssertionError("unreachable")


def _http_error(exc: urllib.error.HTTPError, where: str, expected: str) -> InputFileError:
    """Return the error for a 4xx answer (not retried)."""
    exc.close()
    return InputFileError(where, f"HTTP {exc.code} {exc.reason}", expected)


def fetch_page(url: str, where: str, expected: str, settings: Settings) -> Page:
    """Return a small answer (landing page, API item) read into memory, with retries."""

    def attempt() -> Page:
        with _request(url, settings.timeout) as response:
            length = _content_length(response)
            body = _read_all(response, settings.timeout, MAX_PAGE_BYTES)
            if length is not None and len(body) < length:
                raise _Retryable(f"received {len(body):,} of {length:,} bytes: the transfer is truncated")
            return Page(response.geturl(), body, response.headers.get("Content-Type", ""))

    try:
        return _with_retries(attempt, where, expected, settings)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, where, expected) from None


def _read_all(response: http.client.HTTPResponse, timeout: float, limit: int) -> bytes:
    """Return the whole body of a response (at most `limit` bytes), turning cut transfers into _Retryable."""
    try:
        body = response.read(limit + 1)
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise _connection_problem(exc, timeout) from None
    if len(body) > limit:
        raise _Retryable(f"the answer is larger than {limit:,} bytes")
    return body


def _content_length(response: http.client.HTTPResponse) -> int | None:
    """Return the Content-Length the server announced, or None."""
    text = response.headers.get("Content-Length")
    return int(text) if text and text.strip().isdigit() else None


def fetch_to_temp(url: str, where: str, expected: str, folder: Path, label: str, settings: Settings) -> Fetched:
    """Return the file at `url` streamed into a temporary file in `folder` (removed again on any failure)."""

    def attempt() -> Fetched:
        descriptor, temp = create_temp(folder, f".{label}.", ".part")  # permissions from the umask
        try:
            with os.fdopen(descriptor, "wb") as handle, _request(url, settings.timeout) as response:
                size, digest = _stream(response, handle, label, settings)
                handle.flush()
                os.fsync(handle.fileno())
                return Fetched(temp, size, digest, response.headers.get("Content-Type", ""),
                               response.headers.get("Last-Modified", ""))
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    try:
        return _with_retries(attempt, where, expected, settings)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, where, expected) from None


def _stream(response: http.client.HTTPResponse, handle: BinaryIO, label: str, settings: Settings) -> tuple[int, str]:
    """Return (bytes, sha256) after copying a response into `handle`, with a progress bar."""
    from tqdm import tqdm

    length = _content_length(response)
    digest, size = hashlib.sha256(), 0
    show = settings.progress and sys.stderr.isatty()
    with tqdm(total=length, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False,
              disable=not show, file=sys.stderr) as bar:
        while True:
            try:
                block = response.read(CHUNK)
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                raise _connection_problem(exc, settings.timeout) from None
            if not block:
                break
            handle.write(block)
            digest.update(block)
            size += len(block)
            bar.update(len(block))
    if length is not None and size < length:
        raise _Retryable(f"received {size:,} of {length:,} bytes: the transfer is truncated")
    return size, digest.hexdigest()


# ------------------------------------------------------------------------------------------ finding the file


def resolve(src: Source, settings: Settings) -> tuple[str, str | None]:
    """Return (official URL of the file, official URL of the page that named it or None) for one source."""
    spec = _spec(src)
    if not spec.find:
        return spec.url, None
    where = f"{src.name} <{effective_url(spec.url, settings.base)}>"
    expected = {FIND_HTML_LINK: "an HTML page linking to the file",
                FIND_GOVUK_ATTACHMENT: "a gov.uk Content API JSON item listing attachments",
                FIND_EES_RELEASE_FILE: "an EES content API release listing its data files"}[spec.find]
    page = fetch_page(effective_url(spec.url, settings.base), where, expected, settings)
    finder = {FIND_HTML_LINK: _find_html_link, FIND_GOVUK_ATTACHMENT: _find_govuk_attachment,
              FIND_EES_RELEASE_FILE: _find_ees_release_file}[spec.find]
    return finder(page, spec, where), spec.url


def _find_html_link(page: Page, spec: Download, where: str) -> str:
    """Return the official URL of the link on an HTML page whose text matches the pattern."""
    text = page.body.decode("utf-8", errors="replace")
    links = html_links(text)
    for label, href in links:
        if re.search(spec.pattern, label, flags=re.IGNORECASE) and href:
            return urljoin(spec.url, href)
    shown = [label for label, _ in links if label][:15]
    raise InputFileError(where, f"no link whose text matches /{spec.pattern}/; the page's links include {shown}",
                         "the page's link to the allocations file")


def _find_govuk_attachment(page: Page, spec: Download, where: str) -> str:
    """Return the URL of the gov.uk attachment whose title matches the pattern and whose file is in the format."""
    item = _json_object(page, where, ("details",))
    found = attachments(item)
    suffix = f".{spec.format}"
    for attachment in found:
        if re.search(spec.pattern, attachment.title, flags=re.IGNORECASE) and \
                urlsplit(attachment.url).path.lower().endswith(suffix):
            return urljoin(spec.url, attachment.url)
    titles = [f"{a.title} ({Path(urlsplit(a.url).path).suffix or 'no extension'})" for a in found][:15]
    raise InputFileError(where, f"no attachment titled /{spec.pattern}/ with a {suffix} file; attachments: {titles}",
                         f"a {suffix} attachment of the allocations")


def _find_ees_release_file(page: Page, spec: Download, where: str) -> str:
    """Return the URL of the data file of an EES release whose file name matches the pattern."""
    release = _json_object(page, where, ("id", "downloadFiles"))
    files = [f for f in release["downloadFiles"] if isinstance(f, dict)]
    for entry in files:
        name = str(entry.get("fileName") or entry.get("filename") or "")
        if re.search(spec.pattern, name, flags=re.IGNORECASE) and entry.get("id"):
            return urljoin(spec.url, f"/api/releases/{release['id']}/files/{entry['id']}")
    names = [str(f.get("fileName") or f.get("filename")) for f in files]
    raise InputFileError(where, f"no data file named /{spec.pattern}/ in the release; its files are {names}",
                         "the data file in the release's downloadFiles")


def _json_object(page: Page, where: str, keys: tuple[str, ...]) -> dict:
    """Return an API answer parsed as a JSON object with `keys`, or raise naming the URL."""
    if _is_html(page.body, page.content_type):
        raise InputFileError(where, "the server sent an HTML page", "a JSON answer")
    try:
        item = json.loads(page.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(where, f"the answer is not valid JSON ({exc})", "a JSON answer") from None
    if not isinstance(item, dict) or any(k not in item for k in keys):
        have = sorted(item) if isinstance(item, dict) else type(item).__name__
        raise InputFileError(where, f"the JSON has {have}", f"an object with the keys {list(keys)}")
    return item


def _spec(src: Source) -> Download:
    """Return a source's download spec, or raise if it has none."""
    if src.download is None:
        raise ParameterError("source", src.name, "a source with an official download")
    return src.download


# ------------------------------------------------------------------------------------------ checks


def check_file(path: Path, src: Source, content_type: str, where: str) -> None:
    """Raise InputFileError naming `where` unless the fetched file is complete and in the source's format."""
    spec = _spec(src)
    expected = _EXPECTED[spec.format]
    if path.stat().st_size == 0:
        raise InputFileError(where, "the server sent an empty file", expected)
    with open(path, "rb") as handle:
        head = handle.read(2048)
    if _is_html(head, content_type):
        raise InputFileError(where, f"the server sent an HTML page (Content-Type {content_type or 'not given'}), "
                                    "not the data file: probably an error or sign-in page", expected)
    {"csv": _check_csv, "ees-csv": _check_csv, "ons-csv": _check_ons, "ods": _check_ods, "xlsx": _check_xlsx,
     "json": _check_json}[spec.format](path, src, where)


def _is_html(head: bytes, content_type: str) -> bool:
    """Return True if an answer is an HTML page (by its Content-Type or its first bytes)."""
    if content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        return True
    return looks_like_html(head[:2048].decode("utf-8", errors="replace"))


def _reader_error(exc: InputFileError, where: str) -> InputFileError:
    """Return a reader's error re-addressed to the source and URL (the temporary path means nothing to a user)."""
    return InputFileError(where, exc.problem, exc.expected)


def _check_csv(path: Path, src: Source, where: str) -> None:
    """Check a CSV parses with no ragged or cut rows and has the expected columns (any order, any case)."""
    header = _csv_header(path, where)
    have = {h.lower() for h in header}
    missing = [c for c in src.download_columns() if c.lower() not in have]
    if missing:
        raise InputFileError(where, f"missing column(s) {missing}; the file has {header}",
                             f"the columns {list(src.download_columns())} (renamed columns need the registry updated)")


def _csv_header(path: Path, where: str) -> list[str]:
    """Return the header of a CSV read as a stream (large files stay out of memory), refusing ragged or cut rows."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return _scan_csv(path, encoding, where)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def _scan_csv(path: Path, encoding: str, where: str) -> list[str]:
    """Return the header after checking every row of a CSV has as many fields as the header."""
    header: list[str] | None = None
    rows, ragged = 0, None
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if header is None:
                    header = [h.strip() for h in row]
                    continue
                rows += 1
                if len(row) != len(header) and ragged is None:
                    ragged = (rows, len(row))
        except csv.Error as exc:
            raise InputFileError(where, f"not valid CSV (line {reader.line_num}: {exc}): the file is truncated or "
                                        "malformed", "comma-separated data with every quoted field closed") from None
    if header is None or rows == 0:
        raise InputFileError(where, "the file has no data rows", "a header row and data rows")
    if ragged is not None:
        number, fields = ragged
        which = "the last row" if number == rows else f"data row {number}"
        raise InputFileError(where, f"{which} has {fields} fields but the header has {len(header)}: the file is "
                                    "truncated or malformed", f"{len(header)} fields in every row")
    return header


def _check_ons(path: Path, src: Source, where: str) -> None:
    """Check an ONS CSV has its 8 metadata rows, the expected CDID, a release date and observations."""
    try:
        header, rows = read_csv_rows(path)
        labels = [header[0]] + [r[0].strip() for r in rows[: len(ONS_METADATA) + 2]]
        missing = [m for m in ONS_METADATA if m not in labels]
        if missing:
            raise InputFileError(path, f"metadata row(s) {missing} are missing; the first labels are {labels}",
                                 f"the ONS metadata rows {list(ONS_METADATA)}")
        read_ons_series(path, _spec(src).series)
    except InputFileError as exc:
        raise _reader_error(exc, where) from None


def _zip_names(path: Path, where: str, expected: str) -> list[str]:
    """Return the member names of a complete zip archive (ODS and XLSX are zip archives)."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputFileError(where, f"not a complete zip archive ({exc}): the file is truncated or not a "
                                    "spreadsheet", expected) from None
    if broken:
        raise InputFileError(where, f"zip member {broken} is corrupt: the file is truncated", expected)
    return names


def _sheet_names(path: Path, member: str, tag: str, attribute: str, where: str, expected: str) -> list[str]:
    """Return the sheet names declared in one XML member of a spreadsheet archive."""
    names = []
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as xml:
            for _, element in ET.iterparse(xml, events=("start",)):
                if element.tag == tag:
                    names.append(element.get(attribute, ""))
    except ET.ParseError as exc:
        raise InputFileError(where, f"{member} is not complete XML ({exc})", expected) from None
    return names


def _require_sheets(names: list[str], src: Source, where: str, expected: str) -> None:
    """Raise unless every expected sheet (by name prefix, any case) is present."""
    missing = [s for s in _spec(src).sheets if not any(n.lower().startswith(s.lower()) for n in names)]
    if missing:
        raise InputFileError(where, f"no sheet named {missing}; the sheets are {names}",
                             f"{expected} with the sheets {list(_spec(src).sheets)}")


def _check_ods(path: Path, src: Source, where: str) -> None:
    """Check an ODS is a complete archive whose content.xml parses and holds the expected sheets."""
    expected = _EXPECTED["ods"]
    members = _zip_names(path, where, expected)
    if "content.xml" not in members:
        kind = "an XLSX workbook" if "xl/workbook.xml" in members else "not an ODS spreadsheet"
        raise InputFileError(where, f"the archive has no content.xml ({kind})", expected)
    _require_sheets(_sheet_names(path, "content.xml", _ODS_TABLE, _ODS_NAME, where, expected), src, where, expected)


def _check_xlsx(path: Path, src: Source, where: str) -> None:
    """Check an XLSX is a complete archive whose workbook.xml parses and names the expected sheets."""
    expected = _EXPECTED["xlsx"]
    members = _zip_names(path, where, expected)
    if "xl/workbook.xml" not in members:
        raise InputFileError(where, "the archive has no xl/workbook.xml (not an XLSX workbook)", expected)
    _require_sheets(_sheet_names(path, "xl/workbook.xml", _XLSX_SHEET, "name", where, expected), src, where, expected)


def _check_json(path: Path, src: Source, where: str) -> None:
    """Check a JSON file parses to an object with the expected keys."""
    page = Page(where, path.read_bytes(), "application/json")
    _json_object(page, where, _spec(src).keys)


# ------------------------------------------------------------------------------------------ one source


def download_source(src: Source, dest: Path, settings: Settings) -> dict:
    """Return the DOWNLOADS.json entry after fetching, checking and moving one source into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    file_url, page_url = resolve(src, settings)
    fetch_from = effective_url(file_url, settings.base)
    where = f"{src.name} <{fetch_from}>"
    fetched = fetch_to_temp(fetch_from, where, _EXPECTED[_spec(src).format], dest, src.name, settings)
    target = dest / src.path
    try:
        check_file(fetched.temp, src, fetched.content_type, where)
        unchanged = target.is_file() and sha256_of(target) == fetched.sha256
        if not unchanged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(fetched.temp, target)
    finally:
        fetched.temp.unlink(missing_ok=True)
    entry = {"file": src.path, "url": file_url, "format": _spec(src).format, "bytes": fetched.size,
             "sha256": fetched.sha256, "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
             "unchanged": unchanged}
    if page_url:
        entry["found_on"] = page_url
    if fetch_from != file_url:
        entry["fetched_from"] = fetch_from
    if fetched.last_modified:
        entry["last_modified"] = fetched.last_modified
    return entry


# ------------------------------------------------------------------------------------------ the record


def read_record(dest: Path) -> dict:
    """Return DOWNLOADS.json of a destination folder (an empty record if there is none)."""
    path = dest / DOWNLOADS_FILE
    if not path.is_file():
        return {"about": "Files fetched by `sendlib data download`: official URL, sha256, size and time of each",
                "files": {}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON ({exc})", "the record written by `sendlib data download`") from None
    if not isinstance(record.get("files"), dict):
        raise InputFileError(path, "no 'files' object", "the record written by `sendlib data download`")
    return record


def write_record(dest: Path, record: dict) -> None:
    """Write DOWNLOADS.json atomically (temporary file, then os.replace)."""
    text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    write_bytes_atomic(text.encode("utf-8"), dest / DOWNLOADS_FILE, flag="--dest")


# ------------------------------------------------------------------------------------------ many sources


def select_sources(only: list[str] | None) -> list[Source]:
    """Return the downloadable sources named by --only (names or shell patterns), or all of them."""
    available = downloadable()
    if not only:
        return available
    names = [s.name for s in available]
    chosen: list[str] = []
    for wanted in only:
        matches = fnmatch.filter(names, wanted) if any(c in wanted for c in "*?[") else \
            [wanted] if wanted in names else []
        if not matches:
            raise ParameterError("--only", wanted, _only_expected(wanted, names),
                                 difflib.get_close_matches(wanted, names, n=3, cutoff=0.5))
        chosen.extend(m for m in matches if m not in chosen)
    return [SOURCES[name] for name in chosen]


def _only_expected(wanted: str, names: list[str]) -> str:
    """Return what --only accepts (noting a registered source that has no download)."""
    note = (f" ({wanted!r} is registered but has no official download: it comes from the shared reference "
            "copies)") if wanted in SOURCES else ""
    return "the name of a downloadable source" + note + ", one of: " + ", ".join(names)


def download_all(sources: list[Source], dest: Path, settings: Settings,
                 report: Callable[[str], None] = print) -> tuple[dict[str, dict], list[InputFileError]]:
    """Return (entries downloaded, failures) for `sources`; stop at once (OfflineError) when offline.

    DOWNLOADS.json is rewritten after every file moved into place, so it always describes the files on disk.
    """
    dest = Path(dest)
    record = read_record(dest)
    created = not dest.exists()
    done: dict[str, dict] = {}
    failures: list[InputFileError] = []
    try:
        for number, src in enumerate(sources, start=1):
            try:
                entry = download_source(src, dest, settings)
            except OfflineError:
                raise
            except InputFileError as exc:
                failures.append(exc)
                report(f"  [{number}/{len(sources)}] {src.name:32s} FAILED: {exc.problem}")
                continue
            record["files"][src.name] = entry
            write_record(dest, record)
            done[src.name] = entry
            state = "unchanged" if entry["unchanged"] else "updated"
            report(f"  [{number}/{len(sources)}] {src.name:32s} {entry['bytes']:>12,} bytes  {state:9s} "
                   f"sha256 {entry['sha256'][:12]}  {src.path}")
    finally:
        _remove_if_empty(dest, created)
    return done, failures


def _remove_if_empty(dest: Path, created: bool) -> None:
    """Remove the destination folder again if this run created it and nothing was downloaded into it."""
    if created and dest.is_dir() and not any(dest.iterdir()):
        dest.rmdir()


def describe_sources(sources: list[Source], settings: Settings) -> list[str]:
    """Return the lines of `--list`: each source's name, format, local path and URL."""
    lines = []
    for src in sources:
        spec = _spec(src)
        how = {FIND_HTML_LINK: "link on page", FIND_GOVUK_ATTACHMENT: "gov.uk attachment",
               FIND_EES_RELEASE_FILE: "EES release file"}.get(spec.find, "direct")
        optional = ", optional" if src.optional else ""
        lines.append(f"{src.name}  [{spec.format}, {how}{optional}; URL {spec.url_status}]")
        lines.append(f"    -> {src.path}")
        lines.append(f"    {spec.url}" + (f"  (file matching /{spec.pattern}/)" if spec.find else ""))
        if settings.base:
            lines.append(f"    fetched from {effective_url(spec.url, settings.base)}")
    return lines


def _offline_message(exc: OfflineError, dest: Path) -> str:
    """Return the message shown when no official host can be reached."""
    return (f"sendlib: {exc}\n"
            f"You appear to be offline: nothing was downloaded and nothing in {dest} was changed.\n"
            f"The committed tables in {processed_dir()} are in use; `sendlib data build` rebuilds them from "
            f"{default_raw_dir()}.")


def command_download(args: argparse.Namespace) -> int:
    """Run `sendlib data download [--dest DIR] [--only NAME] [--list]`; return the exit status."""
    settings = settings_from_env(progress=True)
    sources = select_sources(getattr(args, "only", None))
    if getattr(args, "list", False):
        print("\n".join(describe_sources(sources, settings)))
        return 0
    dest = args.dest if getattr(args, "dest", None) is not None else raw_dir()
    dest = check_output_folder(dest, "--dest")  # empty, read-only, a file, under a file: one line, no download
    print(f"Downloading {len(sources)} file(s) into {dest}" + (f" from {settings.base}" if settings.base else ""),
          file=sys.stderr)
    try:
        done, failures = download_all(sources, dest, settings)
    except OfflineError as exc:
        print(_offline_message(exc, dest), file=sys.stderr)
        return 1
    for failure in failures:
        print(f"sendlib: {failure}", file=sys.stderr)
    print(f"{len(done)} of {len(sources)} file(s) downloaded and checked; record in {dest / DOWNLOADS_FILE}"
          + (f"; {len(failures)} failed, left as they were" if failures else ""))
    return 1 if failures else 0
