"""`sendlib data download` against a local HTTP server serving hand-written fixtures in the official formats:
the whole download -> build path, and every failure leaving the destination as it was."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from sendlib import cli
from sendlib.build.funding_tables import build_deflators, build_high_needs_block, dsg_allocation_files
from sendlib.build.programme_tables import build_programmes
from sendlib.download import (
    ENV_BACKOFF,
    ENV_BASE,
    ENV_RETRIES,
    ENV_TIMEOUT,
    OfflineError,
    Settings,
    download_all,
    effective_url,
    select_sources,
)
from sendlib.errors import InputFileError, ParameterError
from sendlib.paths import REPO_ROOT, reference_dir
from sendlib.sources import DOWNLOADS_FILE, SOURCES, downloadable, sha256_of

FIXTURES = Path(__file__).parent / "fixtures" / "download"
AREAS = pd.read_csv(REPO_ROOT / "data" / "processed" / "areas.csv", dtype=str, keep_default_na=False)
AREAS["first_year"] = AREAS["first_year"].astype(int)
AREAS["last_year"] = AREAS["last_year"].astype(int)
HAS_REFERENCE = (reference_dir() / "dsg_high_needs_block").is_dir()

# ------------------------------------------------------------------------------------------ the local server


@dataclass
class Route:
    """What the server answers for one path: body, status, type, delay, a lying Content-Length, early 503s."""

    body: bytes
    status: int = 200
    content_type: str = "text/csv"
    delay: float = 0.0
    declared_length: int | None = None
    fail_first: int = 0


class _Handler(BaseHTTPRequestHandler):
    """Answers GETs from the server's routes; 404 for anything else."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        """Serve one route."""
        fixture: FixtureServer = self.server.fixture  # type: ignore[attr-defined]
        fixture.hits[self.path] += 1
        route = fixture.routes.get(self.path)
        if route is None:
            self._send(404, b"<!DOCTYPE html><html><body>Page not found</body></html>", "text/html")
            return
        if fixture.hits[self.path] <= route.fail_first:
            self._send(503, b"Service unavailable", "text/plain")
            return
        if route.delay:
            time.sleep(route.delay)
        self._send(route.status, route.body, route.content_type, route.declared_length)

    def _send(self, status: int, body: bytes, content_type: str, length: int | None = None) -> None:
        """Write status, headers and body; then close (HTTP/1.0)."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length if length is not None else len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        """Keep test output quiet."""


class FixtureServer:
    """A ThreadingHTTPServer on 127.0.0.1 (random port) serving official URLs as base/host/path?query."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.fixture = self  # type: ignore[attr-defined]
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base(self) -> str:
        """Return the base URL that stands in for every official host."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, official_url: str, route: Route) -> None:
        """Answer requests for `official_url` (as rewritten with the base) with `route`."""
        self.routes[_local_path(official_url)] = route

    def hits_for(self, official_url: str) -> int:
        """Return how many requests reached `official_url`."""
        return self.hits[_local_path(official_url)]


def _local_path(official_url: str) -> str:
    """Return the request path the downloader uses for an official URL under a base."""
    rewritten = effective_url(official_url, "http://base")
    parts = urlsplit(rewritten)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def server():
    """Yield a running fixture server; shut it down afterwards."""
    fixture = FixtureServer()
    fixture.thread.start()
    yield fixture
    fixture.httpd.shutdown()
    fixture.httpd.server_close()


def settings(server: FixtureServer, **overrides) -> Settings:
    """Return fast test settings pointing at the fixture server."""
    values = {"base": server.base, "timeout": 2.0, "retries": 1, "backoff": 0.01, "progress": False}
    values.update(overrides)
    return Settings(**values)


# ------------------------------------------------------------------------------------------ fixtures in the official formats


def dsg_ods_bytes(tmp: Path, start: int, published: str, las: list[tuple[str, str, str, int, int, int]]) -> bytes:
    """Return an ODS in the layout of an ESFA DSG allocations file: Information and Allocations_summary sheets.

    `las` rows are (code, name, region name, HNB before deductions, HNB after deductions, total DSG), in pounds.
    """
    years = f"{start} to {start + 1}"
    info = pd.DataFrame([[None, None, None],
                         [None, f"Dedicated schools grant (DSG): {years} financial year allocations", None],
                         [None, "Publication date: ", published]])
    blocks = ["Schools block (£s)", "Central school services block (£s)", "High needs block (£s)",
              "Early years block (£s)", "Total DSG allocation (£s)"]
    rows = [[f"Dedicated schools grant: {years} allocations", None, f"{years} DSG allocations, before deductions",
             None, None, None, None, f"{years} DSG allocations, after deductions", None, None, None, None],
            [None, None, *blocks, *blocks],
            [None, None, "[A]", "[B]", "[C]", "[D]", "[E]", "[F]", "[G]", "[H]", "[I]", "[J]"]]

    def money(before: int, after: int, total: int) -> list[int]:
        return [total - before - 1000, 1000, before, 0, total, total - after - 1000, 1000, after, 0, total - before + after]

    rows.append(["ENGLAND", None, *money(sum(r[3] for r in las), sum(r[4] for r in las), sum(r[5] for r in las))])
    rows += [[code, name, *money(before, after, total)] for code, name, _, before, after, total in las]
    rows.append([None] * 12)
    for region in sorted({r[2] for r in las}):
        members = [r for r in las if r[2] == region]
        rows.append([region, None, *money(sum(r[3] for r in members), sum(r[4] for r in members),
                                          sum(r[5] for r in members))])
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"dsg_{start}.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        info.to_excel(writer, sheet_name=f"Information_{start}_to_{start + 1}", header=False, index=False)
        pd.DataFrame(rows).to_excel(writer, sheet_name="Allocations_summary", header=False, index=False)
    return path.read_bytes()


LAS = [("886", "Kent", "South East", 260_000_000, 230_000_000, 1_500_000_000),
       ("351", "Bury", "North West", 40_000_000, 35_000_000, 250_000_000),
       ("205", "Hammersmith and Fulham", "London", 45_000_000, 38_000_000, 210_000_000)]
ODS = "application/vnd.oasis.opendocument.spreadsheet"


def serve_everything(server: FixtureServer, tmp: Path) -> None:
    """Serve the official URLs of the ONS, EES, gov.uk and DSG sources used by the download -> build tests."""
    read = lambda name: (FIXTURES / name).read_bytes()  # noqa: E731
    server.serve(SOURCES["ons_gdp_deflator"].download.url, Route(read("ons_ybgb.csv")))
    server.serve(SOURCES["ons_cpih"].download.url, Route(read("ons_l522.csv")))
    server.serve(SOURCES["govuk_safety_valve"].download.url,
                 Route(read("govuk_very_high_deficit_intervention.json"), content_type="application/json"))
    server.serve(SOURCES["govuk_dbv"].download.url,
                 Route(read("govuk_dbv_grant_determination_letter.json"), content_type="application/json"))
    release = json.loads(read("ees_release_education-health-and-care-plans_2025.json"))
    server.serve(SOURCES["sen2_2025_caseload"].download.url,
                 Route(read("ees_release_education-health-and-care-plans_2025.json"), content_type="application/json"))
    caseload = next(f for f in release["downloadFiles"] if f["fileName"] == "caseload.csv")
    server.serve(f"https://content.explore-education-statistics.service.gov.uk/api/releases/{release['id']}/files/"
                 f"{caseload['id']}", Route(read("ees_caseload.csv")))
    server.serve(SOURCES["dsg_allocations_2024_25"].download.url,
                 Route(read("skillsfunding_dsg_2024-to-2025.html"), content_type="text/html; charset=utf-8"))
    server.serve("https://skillsfunding.service.gov.uk/view-latest-funding/national-funding-allocations/DSG/"
                 "2024-to-2025/download/2025-03-14",
                 Route(dsg_ods_bytes(tmp, 2024, "Thursday, 13 Mar, 2025", LAS), content_type=ODS))
    server.serve(SOURCES["dsg_allocations_2018_19"].download.url,
                 Route(read("govuk_dsg_2018_to_2019.json"), content_type="application/json"))
    server.serve("https://assets.publishing.service.gov.uk/media/cc02/DSG_2018-19_allocations.ods",
                 Route(dsg_ods_bytes(tmp, 2018, "Thursday, 21 Mar, 2019", LAS), content_type=ODS))


SERVED = ["ons_gdp_deflator", "ons_cpih", "govuk_safety_valve", "govuk_dbv", "sen2_2025_caseload",
          "dsg_allocations_2024_25", "dsg_allocations_2018_19"]


def files_in(folder: Path) -> list[str]:
    """Return every file under `folder` (relative paths), hidden temporary files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def run_cli(argv: list[str], server: FixtureServer | None, monkeypatch, capsys, timeout: float = 2.0,
            retries: int = 1) -> tuple[int, str, str]:
    """Return (exit status, stdout, stderr) of `sendlib` with the download settings pointed at the server."""
    if server is not None:
        monkeypatch.setenv(ENV_BASE, server.base)
    monkeypatch.setenv(ENV_TIMEOUT, str(timeout))
    monkeypatch.setenv(ENV_RETRIES, str(retries))
    monkeypatch.setenv(ENV_BACKOFF, "0.01")
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


# ------------------------------------------------------------------------------------------ the happy path


def test_download_then_build_uses_the_downloaded_files(server, tmp_path, monkeypatch, capsys):
    serve_everything(server, tmp_path)
    raw = tmp_path / "raw"
    argv = ["data", "download", "--dest", str(raw)] + [x for name in SERVED for x in ("--only", name)]
    status, out, err = run_cli(argv, server, monkeypatch, capsys)
    assert status == 0, err
    record = json.loads((raw / DOWNLOADS_FILE).read_text())
    assert sorted(record["files"]) == sorted(SERVED)
    for name, entry in record["files"].items():
        path = raw / SOURCES[name].path
        assert entry["sha256"] == sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["file"] == SOURCES[name].path and entry["bytes"] == path.stat().st_size
        assert entry["url"].startswith("https://") and entry["fetched_from"].startswith(server.base)
        assert entry["downloaded_at"].endswith("+00:00")
    assert record["files"]["dsg_allocations_2024_25"]["found_on"] == SOURCES["dsg_allocations_2024_25"].download.url
    assert record["files"]["dsg_allocations_2018_19"]["url"].endswith("/DSG_2018-19_allocations.ods")
    assert not [f for f in files_in(raw) if f.endswith(".part")]

    built = build_deflators(raw)
    deflators = built.frame.set_index("financial_year")
    # the download (released 18 December 2026) is later than the autumn-2026 copy in the reference: it is the series
    assert list(deflators.dropna(subset=["gdp_deflator"]).index) == ["2021-22", "2022-23", "2023-24", "2024-25"]
    assert deflators["vintage"].iloc[0] == "2026-12-18" and deflators["cpih_vintage"].iloc[0] == "2025-10-15"
    assert deflators.loc["2022-23", "cpih"] == pytest.approx(sum(117.0 + 0.5 * i for i in range(3, 15)) / 12)
    assert built.inputs[0] == "ons_gdp_deflator"
    if reference_dir().is_dir():  # the autumn-2026 copy comes from the reference folder when it is there
        assert any("ons_gdp_deflator_2026_copy" in note and "not used" in note for note in built.notes)

    (raw / "programme_membership_compiled.csv").write_bytes((FIXTURES / "programme_membership_compiled.csv").read_bytes())
    programmes = build_programmes(raw, AREAS)
    assert programmes.inputs == ["programme_membership", "govuk_safety_valve"]
    added = programmes.frame[programmes.frame["area_code"] == "882"].iloc[0]
    assert (added["programme"], added["cohort"], added["confidence"]) == ("safety_valve", "2022-23", "high")
    assert added["source"] == SOURCES["govuk_safety_valve"].url


@pytest.mark.skipif(not HAS_REFERENCE, reason="needs ../shared/reference (the autumn-2026 YBGB copy)")
def test_an_older_downloaded_deflator_release_is_not_spliced_in(server, tmp_path):
    older = (FIXTURES / "ons_ybgb.csv").read_bytes().replace(b'"Release date","18-12-2026"', b'"Release date","30-09-2025"')
    server.serve(SOURCES["ons_gdp_deflator"].download.url, Route(older))
    raw = tmp_path / "raw"
    done, failures = download_all(select_sources(["ons_gdp_deflator"]), raw, settings(server), report=lambda line: None)
    assert not failures and "ons_gdp_deflator" in done
    built = build_deflators(raw)
    assert built.inputs[0] == "ons_gdp_deflator_2026_copy"  # the later vintage, for every year
    assert set(built.frame["vintage"]) == {SOURCES["ons_gdp_deflator_2026_copy"].series_copy.vintage}
    assert built.frame.set_index("financial_year").loc["2025-26", "gdp_deflator"] == pytest.approx(104.35)
    assert any("ons_gdp_deflator (2025-09-30)" in note for note in built.notes)


RELEASE_2026 = "ees_release_education-health-and-care-plans_2026.json"
FILES_2026 = {"sen2_2026_caseload": "caseload.csv", "sen2_2026_newplans": "newplans.csv",
              "sen2_2026_requests": "requests.csv", "sen2_2026_timeliness": "timeliness_20_week.csv",
              "sen2_2026_annual_reviews": "annual_reviews.csv"}


def serve_release_2026(server: FixtureServer, bodies: dict[str, bytes]) -> None:
    """Serve the 2026 EHC plans release (content API entry) and, for each file name, the body given."""
    release = json.loads((FIXTURES / RELEASE_2026).read_text())
    server.serve(SOURCES["sen2_2026_caseload"].download.url,
                 Route((FIXTURES / RELEASE_2026).read_bytes(), content_type="application/json"))
    for entry in release["downloadFiles"]:
        if entry["fileName"] in bodies:
            server.serve(f"https://content.explore-education-statistics.service.gov.uk/api/releases/{release['id']}/"
                         f"files/{entry['id']}", Route(bodies[entry["fileName"]]))


def test_2026_release_files_are_registered_for_download():
    for name in [*FILES_2026, "sen2_2026_ceased"]:
        spec = SOURCES[name].download
        assert spec is not None and spec.format == "ees-csv" and spec.find == "ees-release-file", name
        assert spec.url.endswith("/publications/education-health-and-care-plans/releases/2026"), name
    assert SOURCES["sen2_2026_ceased"].optional and SOURCES["sen2_2026_caseload_national"].download is None
    assert {s.name for s in select_sources(["sen2_2026_*"])} == {*FILES_2026, "sen2_2026_ceased"}


@pytest.mark.skipif(not HAS_REFERENCE, reason="needs ../shared/reference (served as the release's files)")
def test_2026_release_downloaded_rebuilds_to_the_same_tables(server, tmp_path, monkeypatch, capsys):
    from sendlib.build.ehcp import build_ehcp
    from sendlib.build.pipeline import _build_areas, _csv_bytes
    from sendlib.schemas import SCHEMAS, conform, validate

    reference = reference_dir()
    bodies = {file: (reference / SOURCES[name].path).read_bytes() for name, file in FILES_2026.items()}
    # the full caseload file holds England and the North East too: serve them with the regions and LAs
    national = (reference / SOURCES["sen2_2026_caseload_national"].path).read_bytes().splitlines(keepends=True)
    bodies["caseload.csv"] = national[0] + national[1] + bodies["caseload.csv"].split(b"\n", 1)[1]
    serve_release_2026(server, bodies)
    raw = tmp_path / "raw"
    argv = ["data", "download", "--dest", str(raw)] + [x for name in FILES_2026 for x in ("--only", name)]
    status, _, err = run_cli(argv, server, monkeypatch, capsys)
    assert status == 0, err
    record = json.loads((raw / DOWNLOADS_FILE).read_text())
    assert sorted(record["files"]) == sorted(FILES_2026)
    assert record["files"]["sen2_2026_caseload"]["url"].endswith("/files/c2026a01-0001-4b1e-9c55-7d7d3a7b2601")
    areas = _build_areas(raw)
    ehcp = build_ehcp(raw, areas.frame)
    for built in (areas, ehcp):
        schema = SCHEMAS[built.name]
        written = _csv_bytes(validate(conform(built.frame, schema), schema))
        assert written == (REPO_ROOT / "data" / "processed" / f"{built.name}.csv").read_bytes(), built.name
    assert "sen2_2026_caseload" in ehcp.inputs and "sen2_2026_caseload_national" in ehcp.inputs


def test_2026_release_file_with_2025_names_is_refused_naming_the_columns(server, tmp_path):
    old_names = (b"time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
                 b"new_la_code,old_la_code,la_name,breakdown_topic,breakdown,plans_issued_den,plans_issued_den_ex,"
                 b"plans_issued_within_20_weeks,plans_issued_20_weeks_ex,pc_plans_issued_within_20_weeks\n"
                 b"2025,Calendar year,National,E92000001,England,,,,,,All EHC plans,All EHC plans,10,9,5,5,50.0\n")
    serve_release_2026(server, {"timeliness_20_week.csv": old_names})
    error = _fails(server, tmp_path / "raw", "sen2_2026_timeliness")
    assert "missing column(s) ['pc_plans_issued_20_weeks_ex']" in str(error)
    assert "sen2_2026_timeliness" in str(error)


def write_required_dsg_files(raw: Path, tmp: Path) -> None:
    """Write small stand-ins for the DSG files the high-needs builder always reads (dated files, summaries, March)."""
    for start, published in [(2020, "Thursday, 18 Nov, 2021"), (2021, "Monday, 18 Jul, 2022"),
                             (2022, "Thursday, 20 Jul, 2023"), (2023, "Thursday, 20 Jul, 2023")]:
        path = raw / SOURCES[f"dsg_{start}_{start - 1999:02d}"].path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dsg_ods_bytes(tmp, start, published, LAS))
    summaries = tmp / "summaries.ods"
    with pd.ExcelWriter(summaries, engine="odf") as writer:
        pd.DataFrame([["Information"]]).to_excel(writer, sheet_name="Information", header=False, index=False)
    (raw / SOURCES["dsg_summaries"].path).write_bytes(summaries.read_bytes())
    march = tmp / "march.xlsx"
    with pd.ExcelWriter(march, engine="openpyxl") as writer:
        pd.DataFrame([["notes"]]).to_excel(writer, sheet_name="Notes", header=False, index=False)
    (raw / SOURCES["dsg_march_vintages"].path).write_bytes(march.read_bytes())


def test_downloaded_dsg_years_extend_the_high_needs_block(server, tmp_path, monkeypatch, capsys):
    serve_everything(server, tmp_path / "ods")
    later = [(c, n, r, b + 1_000_000, a + 1_000_000, t + 1_000_000) for c, n, r, b, a, t in LAS]
    server.serve(SOURCES["dsg_allocations_2023_24"].download.url,
                 Route(b"<html><body><a href='/files/dsg-2023-to-2024-march-2024.ods'>Download DSG allocations "
                       b"for all local authorities and regions</a></body></html>", content_type="text/html"))
    server.serve("https://skillsfunding.service.gov.uk/files/dsg-2023-to-2024-march-2024.ods",
                 Route(dsg_ods_bytes(tmp_path / "ods", 2023, "Thursday, 14 Mar, 2024", later), content_type=ODS))
    raw = tmp_path / "raw"
    names = ["dsg_allocations_2018_19", "dsg_allocations_2023_24", "dsg_allocations_2024_25"]
    status, _, err = run_cli(["data", "download", "--dest", str(raw)] + [x for n in names for x in ("--only", n)],
                             server, monkeypatch, capsys)
    assert status == 0, err
    write_required_dsg_files(raw, tmp_path / "ods")
    assert dsg_allocation_files(raw)[4:] == names
    built = build_high_needs_block(raw, AREAS)
    frame = built.frame
    assert sorted(set(frame["financial_year"])) == ["2018-19", "2020-21", "2021-22", "2022-23", "2023-24", "2024-25"]
    kent = frame[(frame["area_code"] == "886")].set_index("financial_year")["hnb_before_deductions_gbp"]
    assert kent["2018-19"] == kent["2024-25"] == 260_000_000
    assert kent["2023-24"] == 261_000_000  # the downloaded March 2024 update supersedes the July 2023 file
    assert set(built.inputs) >= {"dsg_allocations_2018_19", "dsg_allocations_2023_24", "dsg_allocations_2024_25"}
    assert "dsg_2023_24" not in built.inputs
    assert any("2023-24: Dedicated schools grant (DSG): 2023 to 2024 allocations (published 20 July 2023)" in note
               for note in built.notes)
    london = frame[(frame["area_code"] == "E12000007") & (frame["financial_year"] == "2024-25")]
    assert london["hnb_before_deductions_gbp"].iloc[0] == 45_000_000


def test_downloaded_dsg_file_for_the_wrong_year_is_refused(tmp_path):
    raw = tmp_path / "raw"
    write_required_dsg_files(raw, tmp_path / "ods")
    (raw / SOURCES["dsg_allocations_2024_25"].path).write_bytes(dsg_ods_bytes(tmp_path / "ods", 2022, "Thursday, 20 Jul, 2023", LAS))
    with pytest.raises(InputFileError, match=r"titled for 2022-23 \(expected the 2024-25 allocations"):
        build_high_needs_block(raw, AREAS)


def test_second_download_of_unchanged_file_is_reproducible(server, tmp_path):
    serve_everything(server, tmp_path)
    raw = tmp_path / "raw"
    sources = select_sources(["ons_gdp_deflator", "govuk_safety_valve"])
    first, failures = download_all(sources, raw, settings(server), report=lambda line: None)
    before = {p: (raw / p).read_bytes() for p in files_in(raw) if p != DOWNLOADS_FILE}
    second, failures2 = download_all(sources, raw, settings(server), report=lambda line: None)
    assert not failures and not failures2
    assert {n: e["sha256"] for n, e in first.items()} == {n: e["sha256"] for n, e in second.items()}
    assert all(not e["unchanged"] for e in first.values()) and all(e["unchanged"] for e in second.values())
    assert {p: (raw / p).read_bytes() for p in files_in(raw) if p != DOWNLOADS_FILE} == before
    record = json.loads((raw / DOWNLOADS_FILE).read_text())
    assert record["files"]["ons_gdp_deflator"]["sha256"] == hashlib.sha256(before[SOURCES["ons_gdp_deflator"].path]).hexdigest()


def test_5xx_is_retried_with_backoff(server, tmp_path):
    server.serve(SOURCES["ons_cpih"].download.url, Route((FIXTURES / "ons_l522.csv").read_bytes(), fail_first=2))
    done, failures = download_all(select_sources(["ons_cpih"]), tmp_path, settings(server, retries=2),
                                  report=lambda line: None)
    assert not failures and "ons_cpih" in done
    assert server.hits_for(SOURCES["ons_cpih"].download.url) == 3


# ------------------------------------------------------------------------------------------ failures


def _fails(server: FixtureServer, dest: Path, name: str, **overrides) -> InputFileError:
    """Return the one failure of downloading `name` into `dest`, checking nothing was written there."""
    before = files_in(dest)
    done, failures = download_all(select_sources([name]), dest, settings(server, **overrides), report=lambda line: None)
    assert not done and len(failures) == 1
    assert files_in(dest) == before, "a failed download changed the destination"
    return failures[0]


def test_404_names_source_and_url_and_is_not_retried(server, tmp_path):
    error = _fails(server, tmp_path, "ons_gdp_deflator", retries=3)
    assert "ons_gdp_deflator" in str(error) and server.base + "/www.ons.gov.uk/generator" in str(error)
    assert "HTTP 404" in str(error)
    assert server.hits_for(SOURCES["ons_gdp_deflator"].download.url) == 1


def test_timeout_is_retried_then_reported(server, tmp_path):
    server.serve(SOURCES["ons_cpih"].download.url, Route((FIXTURES / "ons_l522.csv").read_bytes(), delay=1.0))
    started = time.monotonic()
    error = _fails(server, tmp_path, "ons_cpih", timeout=0.3, retries=1)
    assert time.monotonic() - started < 3
    assert "ons_cpih" in str(error) and "timeout" in str(error) and "after 2 attempts" in str(error)
    assert server.hits_for(SOURCES["ons_cpih"].download.url) == 2


def test_content_length_larger_than_body_is_truncated(server, tmp_path):
    body = (FIXTURES / "ons_ybgb.csv").read_bytes()
    server.serve(SOURCES["ons_gdp_deflator"].download.url, Route(body, declared_length=len(body) + 500))
    error = _fails(server, tmp_path, "ons_gdp_deflator")
    assert "truncated" in str(error) and "ons_gdp_deflator" in str(error)


def test_csv_whose_last_row_is_cut_is_refused(server, tmp_path):
    serve_everything(server, tmp_path / "ods")
    cut = (FIXTURES / "ees_caseload.csv").read_bytes().rstrip(b"\n").rsplit(b",", 6)[0] + b"\n"
    release = json.loads((FIXTURES / "ees_release_education-health-and-care-plans_2025.json").read_text())
    server.serve(f"https://content.explore-education-statistics.service.gov.uk/api/releases/{release['id']}/files/"
                 f"{release['downloadFiles'][0]['id']}", Route(cut))
    error = _fails(server, tmp_path / "raw", "sen2_2025_caseload")
    assert "last row" in str(error) and "truncated" in str(error)
    assert "sen2_2025_caseload" in str(error) and "/api/releases/" in str(error)


def test_html_error_page_instead_of_csv_is_refused(server, tmp_path):
    page = b"<!DOCTYPE html><html><head><title>Sorry</title></head><body>We're experiencing problems</body></html>"
    server.serve(SOURCES["ons_gdp_deflator"].download.url, Route(page, content_type="text/html"))
    error = _fails(server, tmp_path, "ons_gdp_deflator")
    assert "HTML page" in str(error) and "ons_gdp_deflator" in str(error)


def test_renamed_columns_are_refused_naming_them(server, tmp_path):
    serve_everything(server, tmp_path / "ods")
    renamed = (FIXTURES / "ees_caseload.csv").read_bytes().replace(b",ehcplans,", b",ehc_plans_total,")
    release = json.loads((FIXTURES / "ees_release_education-health-and-care-plans_2025.json").read_text())
    server.serve(f"https://content.explore-education-statistics.service.gov.uk/api/releases/{release['id']}/files/"
                 f"{release['downloadFiles'][0]['id']}", Route(renamed))
    error = _fails(server, tmp_path / "raw", "sen2_2025_caseload")
    assert "missing column(s) ['ehcplans']" in str(error) and "ehc_plans_total" in str(error)


def test_wrong_cdid_and_truncated_ods_are_refused(server, tmp_path):
    serve_everything(server, tmp_path / "ods")
    wrong = (FIXTURES / "ons_ybgb.csv").read_bytes().replace(b'"CDID","YBGB"', b'"CDID","ABMI"')
    server.serve(SOURCES["ons_gdp_deflator"].download.url, Route(wrong))
    assert "CDID is 'ABMI'" in str(_fails(server, tmp_path / "raw", "ons_gdp_deflator"))
    ods = dsg_ods_bytes(tmp_path / "ods", 2018, "Thursday, 21 Mar, 2019", LAS)
    server.serve("https://assets.publishing.service.gov.uk/media/cc02/DSG_2018-19_allocations.ods",
                 Route(ods[: len(ods) // 2], content_type=ODS))
    error = _fails(server, tmp_path / "raw", "dsg_allocations_2018_19")
    assert "zip" in str(error) and "dsg_allocations_2018_19" in str(error)


def test_failed_download_keeps_the_previous_file_and_record(server, tmp_path):
    serve_everything(server, tmp_path / "ods")
    raw = tmp_path / "raw"
    download_all(select_sources(["ons_cpih"]), raw, settings(server), report=lambda line: None)
    before = {p: (raw / p).read_bytes() for p in files_in(raw)}
    server.serve(SOURCES["ons_cpih"].download.url, Route(b"<html><body>Maintenance</body></html>",
                                                         content_type="text/html"))
    _fails(server, raw, "ons_cpih")
    assert {p: (raw / p).read_bytes() for p in files_in(raw)} == before


def test_link_missing_from_page_names_the_page(server, tmp_path):
    server.serve(SOURCES["dsg_allocations_2024_25"].download.url,
                 Route(b"<!DOCTYPE html><html><body><a href='/x'>Other file</a></body></html>",
                       content_type="text/html"))
    error = _fails(server, tmp_path, "dsg_allocations_2024_25")
    assert "no link whose text matches" in str(error) and "Other file" in str(error)
    assert "DSG/2024-to-2025" in str(error)


def test_connection_refused_is_offline_and_changes_nothing(tmp_path, monkeypatch, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(ENV_BASE, f"http://127.0.0.1:{port}")
    dest = tmp_path / "raw"
    status, _, err = run_cli(["data", "download", "--dest", str(dest)], None, monkeypatch, capsys)
    assert status == 1
    assert "connection refused" in err and "offline" in err and "data/processed" in err
    assert "nothing in" in err and not dest.exists()
    with pytest.raises(OfflineError):
        download_all(select_sources(["ons_cpih"]), dest, Settings(base=f"http://127.0.0.1:{port}", retries=0),
                     report=lambda line: None)


# ------------------------------------------------------------------------------------------ command line and registry


def test_only_unknown_name_exits_2_listing_valid_names(tmp_path, monkeypatch, capsys):
    status, _, err = run_cli(["data", "download", "--dest", str(tmp_path / "raw"), "--only", "ons_gdp"], None,
                             monkeypatch, capsys)
    assert status == 2
    assert "--only='ons_gdp'" in err and "ons_gdp_deflator" in err and "dsg_allocations_2015_16" in err
    assert not (tmp_path / "raw").exists()
    with pytest.raises(ParameterError, match="registered but has no official download"):
        select_sources(["dfer_geo_hierarchy"])


def test_only_accepts_patterns_and_list_downloads_nothing(tmp_path, monkeypatch, capsys):
    assert [s.name for s in select_sources(["dsg_allocations_201*"])] == [
        f"dsg_allocations_{y}_{y - 1999:02d}" for y in range(2015, 2020)]
    status, out, _ = run_cli(["data", "download", "--list", "--dest", str(tmp_path)], None, monkeypatch, capsys)
    assert status == 0 and files_in(tmp_path) == []
    for src in downloadable():
        assert src.name in out and src.download.url in out


def test_registry_downloads_are_complete():
    names = {s.name for s in downloadable()}
    assert {"sen2_2025_caseload", "ons_gdp_deflator", "ons_cpih", "govuk_safety_valve", "govuk_dbv",
            "s251_outturn_all_education", "ons_mye2023_workbook"} <= names
    assert {f"dsg_allocations_{y}_{y - 1999:02d}" for y in range(2015, 2026)} <= names
    for src in downloadable():
        assert src.download.url.startswith("https://")
        if src.download.format in ("csv", "ees-csv"):
            assert src.download_columns(), src.name
        if src.download.format in ("ods", "xlsx"):
            assert src.download.sheets, src.name


@pytest.mark.skipif(not HAS_REFERENCE, reason="needs ../shared/reference")
def test_reference_folder_has_no_optional_files_and_no_fallback(tmp_path):
    assert dsg_allocation_files(reference_dir()) == ["dsg_2020_21", "dsg_2021_22", "dsg_2022_23", "dsg_2023_24"]
    assert SOURCES["govuk_safety_valve"].find(reference_dir()) is None
    assert SOURCES["ons_cpih"].find(tmp_path) is None  # a plain folder does not fall back
    (tmp_path / DOWNLOADS_FILE).write_text('{"files": {}}')
    assert SOURCES["ons_cpih"].find(tmp_path) == reference_dir() / SOURCES["ons_cpih"].path
    with pytest.raises(InputFileError, match="not found"):
        SOURCES["dsg_allocations_2024_25"].locate(tmp_path)
