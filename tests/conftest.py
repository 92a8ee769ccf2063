"""Shared fixtures for the data-foundation tests.

* `reference_dir` is the folder of official files (../shared/reference); tests that need it skip without it.
* `raw_copy` copies the reference into tmp_path so one file can be corrupted; copies live only in tmp.
* `make_tiny_raw` writes a tiny raw folder (three LAs in two regions) in the official SEN2 and dfeR formats,
  enough for the areas registry and ehcp.csv to be built in a fraction of a second without the reference.
* `make_dsg_ods` writes a small DSG allocations workbook in the real Allocations_summary layout.
* `reference_build` builds every table from the reference once per session, and starts an independent second
  build in a child process (another hash seed) so determinism is checked without a second wait.
* `cached_workbooks` lets a test build everything in seconds: spreadsheets whose bytes were already parsed
  in this session are not parsed again (a changed file has other bytes and is read for real).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from sendlib.paths import REPO_ROOT
from sendlib.paths import reference_dir as _reference_dir

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROCESSED = REPO_ROOT / "data" / "processed"


# --------------------------------------------------------------------------------------- small helpers


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Return every file (bytes) and folder (None) under `folder`, hidden ones included, by relative path."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def read_rows(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    """Return the rows of a CSV file as lists of text."""
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[object]], encoding: str = "utf-8", bom: bool = False) -> Path:
    """Write rows as CSV (LF line ends); optionally with a UTF-8 byte-order mark."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return Path(path)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """Return one processed table of `folder`, read and validated with its schema (as sendlib.data.load does)."""
    from sendlib.schemas import SCHEMAS, conform, validate

    schema = SCHEMAS[name]
    frame = pd.read_csv(Path(folder) / f"{name}.csv", dtype=schema.dtypes(), keep_default_na=False, na_values=[""])
    return validate(conform(frame, schema), schema)


def copy_reference(reference: Path, dest: Path) -> Path:
    """Copy the reference folder to `dest` with writable files (the originals are read-only)."""
    shutil.copytree(reference, dest, copy_function=shutil.copyfile)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """Return the helper functions of this module (tests cannot import conftest reliably)."""
    return SimpleNamespace(snapshot=snapshot, read_rows=read_rows, write_rows=write_rows, read_table=read_table,
                           copy_reference=copy_reference, fixtures=FIXTURES, processed=PROCESSED,
                           tiny_plans=tiny_plans, tiny_new_plans=tiny_new_plans,
                           tiny_timeliness=tiny_timeliness, tiny_suppressed=TINY_SUPPRESSED,
                           tiny_placements_2026=tiny_placements_2026,
                           install_workbook_cache=install_workbook_cache)


# --------------------------------------------------------------------------------------- reference


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Return ../shared/reference, or skip the test when it is absent."""
    path = _reference_dir()
    if not path.is_dir():
        pytest.skip(f"reference folder {path} is absent")
    return path


@pytest.fixture
def raw_copy(reference_dir: Path, tmp_path: Path) -> Path:
    """Return a writable copy of the reference folder under tmp_path."""
    return copy_reference(reference_dir, tmp_path / "raw")


@pytest.fixture
def existing_output(tmp_path: Path) -> Path:
    """Return an output folder holding an earlier build's files (and a file of the user's own)."""
    from sendlib.schemas import TABLES

    out = tmp_path / "out"
    out.mkdir()
    for name in TABLES:
        (out / f"{name}.csv").write_text(f"an earlier {name} table\n", encoding="utf-8")
    (out / "MANIFEST.json").write_text('{"tables": {}}\n', encoding="utf-8")
    (out / "notes.txt").write_text("kept\n", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def workbook_cache() -> dict:
    """Return the session's store of parsed spreadsheets, keyed by file suffix and sha256 of the bytes."""
    return {}


def install_workbook_cache(monkeypatch: pytest.MonkeyPatch, cache: dict) -> None:
    """Make the table builders parse each distinct spreadsheet once per session (results are copied out)."""
    from sendlib.readers import dsg_ods

    real = dsg_ods.read_workbook

    def cached(path):
        path = Path(path)
        try:
            key = (path.suffix.lower(), hashlib.sha256(path.read_bytes()).hexdigest())
        except OSError:
            return real(path)
        if key not in cache:
            cache[key] = real(path)
        return {name: cells.copy() for name, cells in cache[key].items()}

    for name, module in list(sys.modules.items()):
        if name.startswith("sendlib.build.") and getattr(module, "read_workbook", None) is real:
            monkeypatch.setattr(module, "read_workbook", cached)


@pytest.fixture
def cached_workbooks(monkeypatch: pytest.MonkeyPatch, workbook_cache: dict, reference_build) -> dict:
    """Parse each distinct spreadsheet once per session during this test.

    The reference build comes first, so the reference spreadsheets are parsed for real there, and only there.
    """
    install_workbook_cache(monkeypatch, workbook_cache)
    return workbook_cache


@dataclass
class ReferenceBuild:
    """The tables built from the reference in this process, and the independent build in a child process."""

    out: Path
    manifest: dict
    second_out: Path
    second: subprocess.Popen

    def wait_for_second(self) -> Path:
        """Return the child build's folder once it has finished; fail with its stderr if it failed."""
        _, stderr = self.second.communicate(timeout=600)
        assert self.second.returncode == 0, f"second build failed:\n{stderr.decode(errors='replace')}"
        return self.second_out


@pytest.fixture(scope="session")
def reference_build(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory, workbook_cache: dict):
    """Build every table from the reference once (in this process), with a second build running alongside."""
    from sendlib.build import build_all

    out = tmp_path_factory.mktemp("reference-build")
    second_out = tmp_path_factory.mktemp("reference-build-2")
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    child = subprocess.Popen(
        [sys.executable, "-m", "sendlib.cli", "data", "build", "--raw", str(reference_dir), "--out",
         str(second_out), "--quiet"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with pytest.MonkeyPatch.context() as patch:
            install_workbook_cache(patch, workbook_cache)  # every read here is a real one; it is only remembered
            manifest = build_all(reference_dir, out)
        yield ReferenceBuild(out, manifest, second_out, child)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


@pytest.fixture(scope="session")
def reference_tables(reference_build: ReferenceBuild) -> dict[str, pd.DataFrame]:
    """Return the reference build's tables, read with their schemas."""
    from sendlib.schemas import TABLES

    return {name: read_table(reference_build.out, name) for name in TABLES}


# --------------------------------------------------------------------------------------- tiny raw folder

#: code, ONS code, name, region code, region name: three LAs in two regions.
TINY_LAS = [
    ("390", "E08000037", "Gateshead", "E12000001", "North East"),
    ("383", "E08000035", "Leeds", "E12000003", "Yorkshire and The Humber"),
    ("384", "E08000036", "Wakefield", "E12000003", "Yorkshire and The Humber"),
]
TINY_REGIONS = {"E12000001": "North East", "E12000003": "Yorkshire and The Humber"}
ENGLAND_2015, ENGLAND_2025, ENGLAND_2026 = 240_183, 638_745, 718_838
#: The tiny LA whose January 2026 row (and 2025 flows) the 2026 release suppresses, as it does the Isle of Wight.
TINY_SUPPRESSED = "384"


def tiny_plans(code: str, january: int) -> int:
    """Return the invented EHC plans of a tiny LA in a January (England totals are the published ones)."""
    total = ENGLAND_2026 if january == 2026 else \
        ENGLAND_2015 + round((january - 2015) * (ENGLAND_2025 - ENGLAND_2015) / 10)
    gateshead, leeds = total * 3 // 10, total * 4 // 10
    return {"390": gateshead, "383": leeds, "384": total - gateshead - leeds}[code]


def tiny_new_plans(code: str, year: int) -> int:
    """Return the invented new EHC plans of a tiny LA in a calendar year."""
    return tiny_plans(code, year + 1) // 10 + int(code) % 7


def _geo(time_period: str, identifier: str, level: str, la=None, region: str | None = None) -> list[str]:
    """Return the EES geography columns of one row (England, a region or an LA)."""
    if level == "National":
        return [time_period, identifier, level, "E92000001", "England", "", "", "", "", ""]
    if level == "Regional":
        return [time_period, identifier, level, "E92000001", "England", region, TINY_REGIONS[region], "", "", ""]
    code, ons, name, region_code, region_name = la
    return [time_period, identifier, level, "E92000001", "England", region_code, region_name, ons, code, name]


def _ees_rows(periods, identifier, values, label=lambda p: str(p)) -> list[list[str]]:
    """Return England, region and LA rows; `values(code, period)` gives an LA's list of numbers (summed above)."""
    rows = []
    for period in periods:
        per_la = {la[0]: values(la[0], period) for la in TINY_LAS}

        def total(codes, per_la=per_la):
            return [str(sum(int(per_la[c][i]) for c in codes)) for i in range(len(next(iter(per_la.values()))))]

        rows.append(_geo(label(period), identifier, "National") + total([la[0] for la in TINY_LAS]))
        for region in TINY_REGIONS:
            codes = [la[0] for la in TINY_LAS if la[3] == region]
            rows.append(_geo(label(period), identifier, "Regional", region=region) + total(codes))
        for la in TINY_LAS:
            rows.append(_geo(label(period), identifier, "Local authority", la=la) + [str(v) for v in per_la[la[0]]])
    return rows


GEO_2022 = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name", "old_la_code", "new_la_code", "la_name"]
GEO_2025 = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name", "new_la_code", "old_la_code", "la_name"]


def _suppress(rows: list[list[str]], period: str, code: str = TINY_SUPPRESSED, first: int = 10) -> list[list[str]]:
    """Return rows with every value of one LA in one period replaced by 'x' (regions and England keep their totals)."""
    return [r[:first] + ["x"] * (len(r) - first) if r[0] == period and r[8] == code and r[2] == "Local authority"
            else r for r in rows]


def _swap_codes(rows: list[list[str]]) -> list[list[str]]:
    """Return rows with new_la_code and old_la_code swapped (the 2022 release has old before new)."""
    return [r[:7] + [r[8], r[7]] + r[9:] for r in rows]


TIMELINESS_2025 = ["plans_issued_den", "plans_issued_den_ex", "plans_issued_within_20_weeks",
                   "plans_issued_20_weeks_ex", "pc_plans_issued_within_20_weeks", "PC_plans_issued_20_weeks_ex"]
CASELOAD_2026 = ["ehcplans", "mainstream_total", "special_la_maintained", "special_academy", "special_free_school",
                 "special_independent", "special_non_maintained", "fe_total"]


def tiny_placements_2026(code: str, january: int) -> list[int]:
    """Return an LA's 2026-release caseload values: plans, mainstream, the three state special parts, ... FE."""
    plans = tiny_plans(code, january)
    return [plans, plans * 4 // 10, plans * 2 // 10, plans // 20, plans // 10 - plans // 20, plans // 20,
            plans // 100, plans // 10]


def tiny_timeliness(code: str, year: int) -> list[int]:
    """Return an LA's issued plans (incl., excl. exceptions) and those within 20 weeks (incl., excl.)."""
    issued = tiny_new_plans(code, year)
    excluding = issued - issued // 20
    return [issued, excluding, issued // 2, excluding // 2 + 1]


def _with_rates(rows: list[list[str]]) -> list[list[str]]:
    """Return timeliness rows with the two published percentages appended (incl., excl. exceptions), 'x' kept."""
    out = []
    for r in rows:
        counts = r[-4:]
        if "x" in counts:
            out.append(r + ["x", "x"])
        else:
            den, den_ex, within, within_ex = map(int, counts)
            out.append(r + [f"{100 * within / den:.1f}", f"{100 * within_ex / den_ex:.1f}"])
    return out


def write_tiny_raw(folder: Path, yorkshire_defect: bool = True, age_breakdown: bool = False,
                   full_2026: bool = False) -> Path:
    """Write a tiny raw folder: dfeR lookups, boundary changes and the SEN2 files ehcp.csv is built from.

    Three LAs (Gateshead; Leeds and Wakefield in Yorkshire and the Humber); England's EHC plans are the
    published 240,183 (January 2015), 638,745 (January 2025) and 718,838 (January 2026). With `yorkshire_defect`,
    the 2025 release's 2022 new plans repeat the regional total for both Yorkshire LAs, as in the real file. With
    `age_breakdown`, the 2022 caseload is the full file (rows for each age group besides the Total rows).

    The 2026 release is written as the reference holds it: row extracts of January 2026 (England and the North
    East in one file, regions and LAs in another) and of calendar 2025, with the 2026 labels and column names;
    Wakefield's January 2026 row and 2025 flows are suppressed ('x') while its region and England keep their
    totals. With `full_2026`, the caseload and new plans are the full files a download gives instead (January
    2019-2026 and calendar 2019-2025, several breakdown topics), and the 2026 release revises Gateshead's January
    2024 count (+5, with its region and England) and calendar-2023 new plans (+3).
    """
    from sendlib.sources import source

    folder = Path(folder)

    def path(name: str) -> Path:
        target = folder / source(name).path
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    write_rows(path("dfer_geo_hierarchy"), [
        ["old_la_code", "new_la_code", "la_name", "region_code", "region_name", "first_year", "last_year", "ons_prefix"],
        *[[c, ons, n, rc, rn, "2017", "2025", "E08"] for c, ons, n, rc, rn in TINY_LAS]])
    write_rows(path("dfer_old_la_codes"), [["la_name", "old_la_code", "new_la_code"],
                                           *[[n, c, ons] for c, ons, n, _, _ in TINY_LAS]])
    write_rows(path("boundary_changes"), [
        ["change", "effective_date_unverified", "predecessor_old_la_code", "predecessor_new_la_code",
         "predecessor_la_name", "successor_old_la_code", "successor_new_la_code", "successor_la_name",
         "first_sen2_jan_count_on_new_basis", "evidence_in_files"],
        ["Northamptonshire reorganisation", "2021-04-01", "928", "E10000021", "Northamptonshire", "940",
         "E06000061", "North Northamptonshire", "Jan 2022 (time_period 202122)", "SEN2 2025 release caseload.csv"]])

    # caseload, 2022 release: statements + EHC plans each January 2010-2022 (Total rows only)
    old = _swap_codes(_ees_rows(range(2010, 2023), "Calendar year", lambda c, y: [tiny_plans(c, y)]))
    ages = ["Total"] + (["Age under 5", "Age 5 to 10", "Age 11 to 15", "Age 16 to 19", "Age 20 to 25"]
                        if age_breakdown else [])
    write_rows(path("sen2_2022_caseload"), [GEO_2022 + ["characteristic_age", "Total_st", "Total_ehc", "Total_all"]]
               + [r[:10] + [age, "z", n, n] for r in old for age in ages
                  for n in [r[10] if age == "Total" else str(int(r[10]) // 5)]])

    # caseload, 2025 release: January 2019-2025 labelled by academic year ("201819" = January 2019)
    def placements(code, january):
        plans = tiny_plans(code, january)
        return [plans, plans * 4 // 10, plans * 2 // 10, plans // 10, plans // 20, plans // 100, plans // 10]

    academic = lambda j: f"{j - 1}{j % 100:02d}"  # noqa: E731
    new = _ees_rows(range(2019, 2026), "Academic year", placements, label=academic)
    write_rows(path("sen2_2025_caseload"), [
        GEO_2025 + ["breakdown_topic", "breakdown", "ehcplans", "mainstream_total", "special_la_maintained",
                    "special_academy_free", "special_independent", "special_non_maintained", "fe_total"]]
        + [r[:10] + ["All EHC plans", "All EHC plans"] + r[10:] for r in new])

    # flows, 2025 release: calendar years 2019-2024
    flows = _ees_rows(range(2019, 2025), "Calendar year", lambda c, y: [tiny_new_plans(c, y)])
    if yorkshire_defect:
        region_total = next(r[10] for r in flows if r[0] == "2022" and r[5] == "E12000003" and r[2] == "Regional")
        for r in flows:
            if r[0] == "2022" and r[2] == "Local authority" and r[5] == "E12000003":
                r[10] = region_total
    write_rows(path("sen2_2025_newplans"), [GEO_2025 + ["breakdown_topic", "breakdown", "new_ehc_plans"]]
               + [r[:10] + ["New EHC plans", "New EHC plans"] + r[10:] for r in flows])

    def requests(code, year):
        new_plans = tiny_new_plans(code, year)
        return [new_plans * 2, new_plans * 3 // 2, new_plans * 2 - new_plans * 3 // 2]

    request_columns = ["requests_received_in_year", "requests_decided_to_assess", "requests_decided_not_to_assess"]
    topic = "All requests for EHC needs assessments"
    write_rows(path("sen2_2025_requests"), [GEO_2025 + ["breakdown_topic", "breakdown"] + request_columns]
               + [r[:10] + [topic, topic] + r[10:] for r in _ees_rows(range(2019, 2025), "Calendar year", requests)])

    timely_rows = _with_rates(_ees_rows(range(2019, 2025), "Calendar year", tiny_timeliness))
    write_rows(path("sen2_2025_timeliness"), [GEO_2025 + ["breakdown_topic", "breakdown"] + TIMELINESS_2025]
               + [r[:10] + ["All EHC plans issued", "All EHC plans issued"] + r[10:] for r in timely_rows])

    ceased = _ees_rows(range(2022, 2025), "Calendar year", lambda c, y: [tiny_new_plans(c, y) // 3])
    write_rows(path("sen2_2025_ceased"), [GEO_2025 + ["breakdown_topic", "breakdown", "total_ceased"]]
               + [r[:10] + ["All ceased EHC plans", "All ceased EHC plans"] + r[10:] for r in ceased])

    # management information file (2023 release): calendar years 2014-2022, correct 2022 LA values
    def mi(code, year):
        new_plans = tiny_new_plans(code, year)
        issued, excluding, within, within_ex = tiny_timeliness(code, year)
        return [new_plans * 2, new_plans // 5, new_plans, issued, within, excluding, within_ex]

    mi_rows = _ees_rows(range(2014, 2023), "Calendar year", mi)
    write_rows(path("sen2_mi_2023"), [
        GEO_2025 + ["inreq_ehc", "ass_refused_ehc", "new_all_ehc", "tot_inc_exc_ehc", "inc_exc_20week_ehc",
                    "tot_no_exc_ehc", "no_exc_20week_ehc", "inc_exc_20week_rate", "no_exc_20week_rate"]]
        + [r + [f"{100 * int(r[14]) / int(r[13]):.1f}", f"{100 * int(r[16]) / int(r[15]):.1f}"] for r in mi_rows])

    # ----- the 2026 release
    caseload_2026 = GEO_2025 + ["breakdown_topic", "breakdown"] + CASELOAD_2026
    january = [r[:10] + ["All EHC plans", "All EHC plans"] + r[10:]
               for r in _suppress(_ees_rows([2026], "Academic year", tiny_placements_2026, label=academic), "202526")]
    national = [r for r in january if r[2] == "National" or (r[2] == "Regional" and r[5] == "E12000001")]
    write_rows(path("sen2_2026_caseload_national"), [caseload_2026] + national)
    if full_2026:
        def revised(code, j):
            values = tiny_placements_2026(code, j)
            return [values[0] + 5, values[1] + 5, *values[2:]] if (code, j) == ("390", 2024) else values

        every = _suppress(_ees_rows(range(2019, 2027), "Academic year", revised, label=academic), "202526")
        full = [r[:10] + [topic, label] + (r[10:] if topic == "All EHC plans" else [str(int(v) // 2) if v != "x"
                                                                                   else v for v in r[10:]])
                for r in every for topic, label in [("Age", "Age 5 to 10"), ("All EHC plans", "All EHC plans")]]
        write_rows(path("sen2_2026_caseload"), [caseload_2026] + full)
    else:
        write_rows(path("sen2_2026_caseload"), [caseload_2026] + [r for r in january if r[2] != "National"])

    years = range(2019, 2026) if full_2026 else [2025]

    def new_plans_2026(code, year):
        return [tiny_new_plans(code, year) + (3 if (code, year) == ("390", 2023) else 0)]

    newplans_rows = _suppress(_ees_rows(years, "Calendar year", new_plans_2026), "2025")
    write_rows(path("sen2_2026_newplans"), [GEO_2025 + ["breakdown_topic", "breakdown", "new_ehc_plans"]]
               + [r[:10] + [topic, topic] + r[10:] for r in newplans_rows
                  for topic in (["Sex", "All new EHC plans"] if full_2026 else ["All new EHC plans"])])
    topic = "All requests for an EHC needs assessment"
    write_rows(path("sen2_2026_requests"), [GEO_2025 + ["breakdown_topic", "breakdown"] + request_columns]
               + [r[:10] + [topic, topic] + r[10:] for r in
                  _suppress(_ees_rows([2025], "Calendar year", requests), "2025")])
    timely_2026 = _with_rates(_suppress(_ees_rows([2025], "Calendar year", tiny_timeliness), "2025"))
    write_rows(path("sen2_2026_timeliness"), [
        GEO_2025 + ["breakdown_topic", "breakdown"] + TIMELINESS_2025[:5] + ["pc_plans_issued_20_weeks_ex"]]
        + [r[:10] + ["All EHC plans", "All EHC plans"] + r[10:] for r in timely_2026])
    reviews = [r for r in _ees_rows([2025], "Calendar year", lambda c, y: [tiny_plans(c, y + 1)])
               if r[2] != "Local authority"]
    write_rows(path("sen2_2026_annual_reviews"), [GEO_2025 + ["breakdown_topic", "breakdown", "total_ehc_plans"]]
               + [r[:10] + ["All reviews of EHC plans"] * 2 + r[10:] for r in reviews])
    return folder


@pytest.fixture
def make_tiny_raw(tmp_path: Path):
    """Return a function that writes a tiny raw folder under tmp_path (see write_tiny_raw)."""
    count = iter(range(1000))

    def make(**options) -> Path:
        return write_tiny_raw(tmp_path / f"tiny-raw-{next(count)}", **options)

    return make


# --------------------------------------------------------------------------------------- DSG allocations ODS

#: LA code, name, schools, CSSB, HNB before, early years, HNB after (pounds): invented, in the real layout.
DSG_LAS = [
    (202, "Camden", 124_000_000, 1_270_000, 50_300_000, 15_200_000, 47_600_000),
    (203, "Greenwich", 253_000_000, 4_210_000, 64_200_000, 26_800_000, 57_100_000),
    (383, "Leeds", 610_000_000, 5_900_000, 120_500_000, 51_000_000, 105_250_000),
    (384, "Wakefield", 250_000_000, 2_500_000, 48_750_000, 20_100_000, 42_000_000),
    (940, "North Northamptonshire", 254_800_000, 3_560_000, 52_370_000, 22_050_000, 41_900_000),
]
DSG_REGIONS = {"LONDON": [202, 203], "East Midlands": [940], "Yorkshire and the Humber": [383, 384]}


def dsg_summary_rows(fy_words: str = "2022 to 2023", offset: int = 0, million: bool = False,
                     hnb_after_heading: str | None = None, title_with_groups: bool = False) -> list[list[object]]:
    """Return the cells of an Allocations_summary sheet in the real layout.

    offset: blank rows above the title (header rows moved down); million: headings and values in £ million;
    hnb_after_heading: replace the 'High needs block allocation (£s)' heading (e.g. to drop the HNB column);
    title_with_groups: the title shares its row with the group headings (as in the 2022-23 file).
    """
    unit = "(£ million)" if million else "(£s)"
    scale = 1e6 if million else 1

    def money(value):
        return value / scale if million else value

    width = 12
    title = [f"Dedicated schools grant: {fy_words} allocations local authority summary"] + [None] * (width - 1)
    groups = [None] * width
    groups[2] = (f"{fy_words} DSG allocations, before recoupment and deductions for national non-domestic rates, "
                 "and for direct funding of high needs places by Education and Skills Funding Agency (ESFA)")
    groups[7] = (f"{fy_words} DSG allocations, after deductions for academies recoupment, national non-domestic "
                 "rates and direct funding of high needs places by ESFA")
    blocks = [None, None, f"Schools block {unit}", f"Central school services block {unit}", f"High needs block {unit}",
              f"Early years block {unit}", f"Total DSG allocation {unit}", f"Schools block {unit}",
              f"Central school services block allocation {unit}",
              hnb_after_heading if hnb_after_heading is not None else f"High needs block allocation {unit}",
              f"Early years block {unit}", f"Total DSG allocation {unit}"]
    markers = [" ", " "] + [f"[{letter}]" for letter in "ABCDEFGHIJ"]
    formula = [" "] * 6 + [" = [A] + [B] + [C] + [D]"] + [" "] * 4 + [" = [F] + [G] + [H] + [I]"]

    def values(schools, cssb, hnb, early, hnb_after):
        schools_after = schools // 2
        return [money(v) for v in (schools, cssb, hnb, early, schools + cssb + hnb + early,
                                   schools_after, cssb, hnb_after, early, schools_after + cssb + hnb_after + early)]

    def total(codes):
        members = [la for la in DSG_LAS if la[0] in codes]
        return values(*[sum(la[i] for la in members) for i in range(2, 7)])

    if title_with_groups:
        head = [[title[0]] + groups[1:], blocks, markers, formula]
    else:
        head = [title, groups, blocks, markers, formula]
    rows = [[None] * width for _ in range(offset)] + head
    rows.append(["ENGLAND", None] + total([la[0] for la in DSG_LAS]))
    rows += [[la[0], la[1]] + values(*la[2:]) for la in DSG_LAS]
    rows.append([None] * width)
    rows += [["LONDON", None] + total(DSG_REGIONS["LONDON"]),
             ["METROPOLITAN AUTHORITIES", None] + total([383, 384]),
             ["UNITARY AUTHORITIES", None] + total([940])]
    rows.append([None] * width)
    rows += [[name, None] + total(codes) for name, codes in DSG_REGIONS.items()]
    return rows


def write_dsg_ods(path: Path, information: bool = True, publication: str = "Thursday, 20 Jul, 2023",
                  **layout) -> Path:
    """Write a small DSG allocations workbook (Information sheet + Allocations_summary) as ODS."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="odf") as writer:
        if information:
            info = [[None, None, None], [None, "Dedicated schools grant (DSG): 2022 to 2023 financial year allocations",
                                         None],
                    [None, "Publication date: ", publication],
                    [None, "Changes from previous version: ", "Early years pupil numbers finalised"]]
            pd.DataFrame(info).to_excel(writer, sheet_name="Information_2022_to_2023", header=False, index=False)
        pd.DataFrame(dsg_summary_rows(**layout)).to_excel(writer, sheet_name="Allocations_summary", header=False,
                                                         index=False)
    return path


@pytest.fixture
def make_dsg_ods(tmp_path: Path):
    """Return a function writing a small DSG allocations ODS under tmp_path (see write_dsg_ods)."""
    count = iter(range(1000))

    def make(name: str | None = None, **options) -> Path:
        return write_dsg_ods(tmp_path / (name or f"dsg-{next(count)}.ods"), **options)

    return make


# --------------------------------------------------------------------------------------- report builds


@pytest.fixture
def fake_papermill(monkeypatch):
    """Replace papermill's execution by a quick fake that writes a whole executed notebook (no kernel).

    Report builds use the fork-started worker pool, so the workers inherit the fake.
    """
    import nbformat
    import papermill

    def execute_notebook(input_path, output_path, parameters=None, **_options):
        nb = nbformat.read(input_path, as_version=4)
        nb.cells = [nbformat.v4.new_markdown_cell(f"## Fake report\n\nParameters: {parameters}")]
        nbformat.write(nb, output_path)
        return nb

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    monkeypatch.setenv("SENDLIB_KERNELS", "plain")
    return execute_notebook
