"""The registry of input files: where each lives under the raw folder, who publishes it, its official
URL, release, format and provenance status, and, for the files `sendlib data download` fetches, how to
download and check them (`Download`). Builders look files up here by name, never by path.

A folder written by `sendlib data download` holds DOWNLOADS.json; any registered file it lacks is read from
the shared reference copies instead, so a partial download still builds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sendlib.errors import InputFileError
from sendlib.paths import reference_dir

EES = "https://explore-education-statistics.service.gov.uk/find-statistics"
EES_CONTENT_API = "https://content.explore-education-statistics.service.gov.uk/api"
DSG_SERVICE = "https://skillsfunding.service.gov.uk/view-latest-funding/national-funding-allocations/DSG"
ONS_GENERATOR = "https://www.ons.gov.uk/generator?format=csv&uri="
ONS_FILE = "https://www.ons.gov.uk/file?uri="
GOVUK = "https://www.gov.uk"
GOVUK_CONTENT_API = "https://www.gov.uk/api/content"

#: The record `sendlib data download` keeps in its destination folder (also what marks a download folder).
DOWNLOADS_FILE = "DOWNLOADS.json"

#: Download formats and what `sendlib.download` checks before a file is moved into place.
DOWNLOAD_FORMATS = {
    "csv": "CSV parses (no ragged or cut rows) and has the expected columns",
    "ees-csv": "EES tidy CSV: parses and has the expected columns",
    "ons-csv": "ONS time-series CSV: the 8 metadata rows, the expected CDID, a release date and observations",
    "ods": "OpenDocument spreadsheet: the zip is complete and its content.xml holds the expected sheets",
    "xlsx": "Excel workbook: the zip is complete and it holds the expected sheets",
    "json": "JSON object with the expected top-level keys",
}

#: How a download reaches its file from `Download.url`.
FIND_DIRECT = ""  # the URL is the file itself
FIND_HTML_LINK = "html-link"  # an HTML page: the link whose text contains `pattern`
FIND_GOVUK_ATTACHMENT = "govuk-attachment"  # a gov.uk Content API item: the attachment whose title matches `pattern`
FIND_EES_RELEASE_FILE = "ees-release-file"  # an EES content API release: the data file whose name matches `pattern`

#: Provenance grades carried into the tables' `status` columns.
STATUS_OFFICIAL = "official"
STATUS_DERIVED_OFFICIAL = "derived-official"  # derived by a DfE team from official files
STATUS_DERIVED_THIRD_PARTY = "derived-third-party"  # derived by a third party from official files
STATUS_DERIVED_RECONSTRUCTION = "derived-reconstruction"  # rebuilt from official figures by inverting a published
# formula (exact to a stated rounding bound), not published as such
STATUS_SECONDARY = "secondary"  # transcribed from official statements (written answers, press releases)
STATUS_COMPILED = "compiled"  # compiled by hand from several public sources, each row cited
STATUS_THIRD_PARTY_LAYOUT = "third-party-layout"  # a third party's map layout (no data values)


@dataclass(frozen=True)
class Download:
    """How `sendlib data download` fetches one source from its official home and checks it.

    `url` is fetched first: the file itself, or (see `find`) a page, gov.uk Content API item or EES release
    that names the file. `format` picks the check made before the file is moved into place; `columns`
    (CSV; default the source's own), `keys` (JSON), `sheets` (ODS/XLSX, name prefixes) and `series` (ONS
    CDID) are what that check expects. `pattern` is a regular expression (case-insensitive) for `find`.
    """

    url: str
    format: str
    find: str = FIND_DIRECT
    pattern: str = ""
    columns: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    sheets: tuple[str, ...] = ()
    series: str = ""
    url_status: str = "pattern"  # "documented": the URL the reference copy came from; "pattern": best-known, unchecked

    def __post_init__(self) -> None:
        """Refuse a format or finder the downloader does not know."""
        if self.format not in DOWNLOAD_FORMATS:
            raise ValueError(f"download format {self.format!r}: expected one of {sorted(DOWNLOAD_FORMATS)}")
        if self.find not in (FIND_DIRECT, FIND_HTML_LINK, FIND_GOVUK_ATTACHMENT, FIND_EES_RELEASE_FILE):
            raise ValueError(f"download finder {self.find!r} is not known")
        if self.find and not self.pattern:
            raise ValueError(f"download finder {self.find!r} needs a pattern")
        if self.url_status not in ("documented", "pattern"):
            raise ValueError(f"url_status {self.url_status!r}: expected 'documented' or 'pattern'")


@dataclass(frozen=True)
class SeriesCopy:
    """The metadata an ONS time-series download carries in its first rows, for a copy that dropped them.

    Stated from the copy's SOURCE.md, never guessed: `as_of` is the date the vintage is known to be current at
    (it orders the copy against dated ONS releases); `vintage` says in words which release it is.
    """

    cdid: str
    title: str
    index_base: str
    vintage: str
    as_of: date


@dataclass(frozen=True)
class Source:
    """One input file: its path under the raw folder and what it is (and how to download it, if it can be)."""

    name: str
    path: str
    publisher: str
    title: str
    url: str
    release: str
    format: str
    status: str = STATUS_OFFICIAL
    columns: tuple[str, ...] = field(default_factory=tuple)
    note: str = ""
    download: Download | None = None
    optional: bool = False  # builders skip an optional file that is absent
    series_copy: SeriesCopy | None = None  # an ONS series copied without its metadata rows: what they said

    def find(self, raw: Path) -> Path | None:
        """Return the file's path under `raw` (or its reference copy, for a download folder), or None if absent."""
        for folder in search_folders(raw):
            path = folder / self.path
            if path.is_file():
                return path
        return None

    def locate(self, raw: Path) -> Path:
        """Return the file's path under `raw`, or raise naming the file and the source."""
        path = self.find(raw)
        if path is None:
            raise InputFileError(Path(raw) / self.path, f"input '{self.name}' ({self.title}) not found",
                                 f"the file from {self.url}")
        return path

    def describe(self, raw: Path) -> dict[str, str]:
        """Return the manifest entry for this input: name, publisher, title, URL, release, status, sha256."""
        path = self.locate(raw)
        entry = {
            "name": self.name,
            "file": self.path,
            "publisher": self.publisher,
            "title": self.title,
            "url": self.url,
            "release": self.release,
            "status": self.status,
            "sha256": sha256_of(path),
        }
        if is_download_folder(raw):
            entry["copy"] = "downloaded" if path == Path(raw) / self.path else "shared reference"
        return entry

    def download_columns(self) -> tuple[str, ...]:
        """Return the columns a downloaded CSV must have: the download's own list, else the source's."""
        if self.download is None:
            return ()
        return self.download.columns or self.columns


def is_download_folder(raw: Path) -> bool:
    """Return True if `raw` was written by `sendlib data download` (it holds DOWNLOADS.json)."""
    return (Path(raw) / DOWNLOADS_FILE).is_file()


def search_folders(raw: Path) -> list[Path]:
    """Return the folders searched for input files: `raw`, then the reference copies if `raw` is a download folder."""
    raw = Path(raw)
    folders = [raw]
    if is_download_folder(raw):
        reference = reference_dir()
        if reference.is_dir() and reference.resolve() != raw.resolve():
            folders.append(reference)
    return folders


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_EHCP_2025 = f"{EES}/education-health-and-care-plans/2025"
_SEN2_COLUMNS = ("time_period", "time_identifier", "geographic_level", "region_code", "old_la_code", "la_name")
_EHCP_2026 = f"{EES}/education-health-and-care-plans/2026"


@dataclass(frozen=True)
class Sen2Dataset:
    """One dataset (caseload, new plans, requests, timeliness, ceased plans, annual reviews) of one SEN2 release.

    A new release in the same EES layout is one entry here, not new reading code: its files, its label, the
    rows that are the top-level ones (`keep`: column -> value, e.g. breakdown_topic -> "All EHC plans") and the
    published name of each column the build keeps (`columns`: table column -> the file's columns, summed when
    several, so `special_academy_free` in one release and `special_academy` + `special_free_school` in the next
    are the same table column). Names are matched in any letter case (`PC_plans_issued_20_weeks_ex` in 2025,
    `pc_plans_issued_20_weeks_ex` in 2026); each entry records the spelling of its own release.

    Every file listed and present is read; rows two files share must agree. For any period two releases cover,
    the later release (`order`) wins for the whole period; `release` names it in the tables.
    """

    dataset: str
    release: str
    order: int
    files: tuple[str, ...]
    keep: dict[str, str]
    columns: dict[str, tuple[str, ...]]
    period: str = "calendar"  # "january": a January count (academic-year labels); "calendar": a calendar year
    measure: str = "EHC plans"  # what a caseload counts, where releases differ

    def source_columns(self) -> tuple[str, ...]:
        """Return the file's columns this dataset reads: the row filters and every published value column."""
        return tuple(self.keep) + tuple(dict.fromkeys(c for parts in self.columns.values() for c in parts))


_CASELOAD_2025 = {"ehc_plans": ("ehcplans",), "placement_mainstream": ("mainstream_total",),
                  "placement_state_special": ("special_la_maintained", "special_academy_free"),
                  "placement_independent_special": ("special_independent", "special_non_maintained"),
                  "placement_post16": ("fe_total",)}
_REQUESTS = {"requests": ("requests_received_in_year",), "requests_agreed_to_assess": ("requests_decided_to_assess",),
             "requests_refused": ("requests_decided_not_to_assess",)}
_TIMELINESS_2025 = {"plans_issued": ("plans_issued_den",),
                    "plans_issued_within_20_weeks": ("plans_issued_within_20_weeks",),
                    "within_20_weeks_incl_exceptions_pct": ("pc_plans_issued_within_20_weeks",),
                    "plans_issued_excl_exceptions": ("plans_issued_den_ex",),
                    "plans_issued_within_20_weeks_excl_exceptions": ("plans_issued_20_weeks_ex",),
                    "within_20_weeks_pct": ("PC_plans_issued_20_weeks_ex",)}
_MI = "SEN2 2023 release, management information file"

#: Every SEN2 dataset of every release in hand, oldest release first.
SEN2_DATASETS: tuple[Sen2Dataset, ...] = (
    Sen2Dataset("caseload", "SEN2 2022 release", 2022, ("sen2_2022_caseload",), {"characteristic_age": "Total"},
                {"ehc_plans": ("Total_all",)}, "january", "statements + EHC plans"),
    Sen2Dataset("newplans", _MI, 2023, ("sen2_mi_2023",), {}, {"new_plans": ("new_all_ehc",)}),
    Sen2Dataset("requests", _MI, 2023, ("sen2_mi_2023",), {},
                {"requests": ("inreq_ehc",), "requests_refused": ("ass_refused_ehc",)}),
    Sen2Dataset("timeliness", _MI, 2023, ("sen2_mi_2023",), {},
                {"plans_issued": ("tot_inc_exc_ehc",), "plans_issued_within_20_weeks": ("inc_exc_20week_ehc",),
                 "within_20_weeks_incl_exceptions_pct": ("inc_exc_20week_rate",),
                 "plans_issued_excl_exceptions": ("tot_no_exc_ehc",),
                 "plans_issued_within_20_weeks_excl_exceptions": ("no_exc_20week_ehc",),
                 "within_20_weeks_pct": ("no_exc_20week_rate",)}),
    Sen2Dataset("caseload", "SEN2 2025 release", 2025, ("sen2_2025_caseload",), {"breakdown_topic": "All EHC plans"},
                _CASELOAD_2025, "january"),
    Sen2Dataset("newplans", "SEN2 2025 release", 2025, ("sen2_2025_newplans",), {"breakdown_topic": "New EHC plans"},
                {"new_plans": ("new_ehc_plans",)}),
    Sen2Dataset("requests", "SEN2 2025 release", 2025, ("sen2_2025_requests",),
                {"breakdown_topic": "All requests for EHC needs assessments"}, _REQUESTS),
    Sen2Dataset("timeliness", "SEN2 2025 release", 2025, ("sen2_2025_timeliness",),
                {"breakdown_topic": "All EHC plans issued"}, _TIMELINESS_2025),
    Sen2Dataset("ceased", "SEN2 2025 release", 2025, ("sen2_2025_ceased",), {"breakdown_topic": "All ceased EHC plans"},
                {"ceased_plans": ("total_ceased",)}),
    # 2026: special_academy_free split in two; new top-level labels; timeliness column names lower-cased
    Sen2Dataset("caseload", "SEN2 2026 release", 2026, ("sen2_2026_caseload_national", "sen2_2026_caseload"),
                {"breakdown_topic": "All EHC plans"},
                {**_CASELOAD_2025,
                 "placement_state_special": ("special_la_maintained", "special_academy", "special_free_school")},
                "january"),
    Sen2Dataset("newplans", "SEN2 2026 release", 2026, ("sen2_2026_newplans",),
                {"breakdown_topic": "All new EHC plans"}, {"new_plans": ("new_ehc_plans",)}),
    Sen2Dataset("requests", "SEN2 2026 release", 2026, ("sen2_2026_requests",),
                {"breakdown_topic": "All requests for an EHC needs assessment"}, _REQUESTS),
    Sen2Dataset("timeliness", "SEN2 2026 release", 2026, ("sen2_2026_timeliness",), {"breakdown_topic": "All EHC plans"},
                {**_TIMELINESS_2025, "within_20_weeks_pct": ("pc_plans_issued_20_weeks_ex",)}),
    Sen2Dataset("annual_reviews", "SEN2 2026 release", 2026, ("sen2_2026_annual_reviews",),
                {"breakdown_topic": "All reviews of EHC plans"}, {"total_ehc_plans": ("total_ehc_plans",)}),
    # no 2026 ceased-plans file is in the reference folder: its top-level label is the 2025 one, unverified (the
    # build stops naming the labels the file has if DfE changed it)
    Sen2Dataset("ceased", "SEN2 2026 release", 2026, ("sen2_2026_ceased",), {"breakdown_topic": "All ceased EHC plans"},
                {"ceased_plans": ("total_ceased",)}),
)


def sen2_datasets(dataset: str) -> list[Sen2Dataset]:
    """Return the registered releases of one SEN2 dataset, oldest first."""
    found = sorted((d for d in SEN2_DATASETS if d.dataset == dataset), key=lambda d: d.order)
    if not found:
        raise KeyError(f"no SEN2 dataset {dataset!r}; registered: {sorted({d.dataset for d in SEN2_DATASETS})}")
    return found


def _sen2_columns(dataset: str, year: str) -> tuple[str, ...]:
    """Return the columns a file of one dataset of one release must have (geography, filters, values)."""
    spec = next(d for d in SEN2_DATASETS if d.dataset == dataset and d.release == f"SEN2 {year} release")
    return _SEN2_COLUMNS + spec.source_columns()


def _sen2_source(name: str, dataset: str, year: str, path: str, what: str, file_pattern: str,
                 optional: bool = False) -> Source:
    """Return a registered SEN2 file of the `year` release, downloadable from its EES release by file name."""
    return Source(name, path, "DfE", f"Education, health and care plans, reporting year {year}: {what}",
                  f"{EES}/education-health-and-care-plans/{year}",
                  {"2025": "2025 release (26 June 2025)", "2026": "2026 release (June 2026)"}[year], "ees-csv",
                  columns=_sen2_columns(dataset, year), optional=optional,
                  download=_ees_release_file("education-health-and-care-plans", year, file_pattern))


def _ees_release_file(publication: str, release: str, file_name: str) -> Download:
    """Return the download of one data file of an EES release, found by name in the release's content API entry."""
    return Download(f"{EES_CONTENT_API}/publications/{publication}/releases/{release}", "ees-csv",
                    FIND_EES_RELEASE_FILE, file_name)


_YBGB = "/economy/grossdomesticproductgdp/timeseries/ybgb/ukea"


def _ons_series(uri: str, cdid: str) -> Download:
    """Return the download of an ONS time series as CSV from the ONS generator."""
    return Download(f"{ONS_GENERATOR}{uri}", "ons-csv", series=cdid, url_status="documented")


def _govuk_item(path: str, keys: tuple[str, ...] = ("base_path", "title", "details")) -> Download:
    """Return the download of a gov.uk page's Content API JSON."""
    return Download(f"{GOVUK_CONTENT_API}{path}", "json", keys=keys)


_DSG_LINK = r"download\s+dsg\s+allocations\s+for\s+all\s+local\s+authorities"
_DSG_FIRST_SERVICE_YEAR = 2020  # allocations from 2020-21 are on the ESFA service; before, on gov.uk


def _dsg_allocations(start: int) -> Source:
    """Return the optional source of one financial year's DSG allocations, latest update, as downloaded."""
    fy = f"{start}-{(start + 1) % 100:02d}"
    words = f"{start}-to-{start + 1}"
    if start >= _DSG_FIRST_SERVICE_YEAR:
        page = f"{DSG_SERVICE}/{words}"
        download = Download(page, "ods", FIND_HTML_LINK, _DSG_LINK, sheets=("Allocations_summary",))
    else:
        page = f"{GOVUK}/government/publications/dedicated-schools-grant-dsg-{words}"
        download = Download(f"{GOVUK_CONTENT_API}/government/publications/dedicated-schools-grant-dsg-{words}",
                            "ods", FIND_GOVUK_ATTACHMENT, r"allocations", sheets=("Allocations_summary",))
    return Source(f"dsg_allocations_{fy.replace('-', '_')}",
                  f"dsg_high_needs_block/dsg_{fy}_allocations_latest.ods", "ESFA/DfE",
                  f"Dedicated schools grant (DSG): {start} to {start + 1} allocations, latest update (downloaded)",
                  page, "read from the file's Information sheet", "dsg-ods", download=download, optional=True)


_SV_PAGE = f"{GOVUK}/government/publications/dedicated-schools-grant-very-high-deficit-intervention"
_DBV_PAGE = f"{GOVUK}/government/publications/delivering-better-value-in-send-implementation-plans-grant-determination-letter"
_ONS_POPULATION_PATH = "/peoplepopulationandcommunity/populationandmigration/populationestimates"
_ONS_POPULATION = f"https://www.ons.gov.uk{_ONS_POPULATION_PATH}"

_HEXMAPS = "https://github.com/odileeds/hexmaps"
_HEXMAPS_COMMIT = "04e413a8b26d9e46f80c59611413ad58b75a87ba"
#: The credit every map drawn on the hex layout carries in its source line (the MIT notice itself travels in
#: data/processed/hex_layout.LICENSE.txt and the table's MANIFEST.json entry).
HEXMAP_CREDIT = "Hex layout: Open Innovations (MIT licence)"

#: Financial years whose DSG allocations `sendlib data download` fetches (latest update of each).
DSG_ALLOCATION_YEARS = tuple(range(2015, 2027))

SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("sen2_2022_caseload", "ehcp_sen2/sen2_2022release_age_caseload_total_2010-2022.csv", "DfE",
           "Education, health and care plans, reporting year 2022: statements and EHC plans by age (Total)",
           f"{EES}/education-health-and-care-plans/2022", "2022 release (23 June 2022)", "ees-csv",
           columns=_SEN2_COLUMNS + ("characteristic_age", "Total_all")),
    _sen2_source("sen2_2025_caseload", "caseload", "2025", "ehcp_sen2/sen2_2025release_caseload_toplevel.csv",
                 "EHC plans by placement (All EHC plans)", r"^(sen2_)?caseload\.csv$"),
    _sen2_source("sen2_2025_newplans", "newplans", "2025", "ehcp_sen2/sen2_2025release_newplans_toplevel.csv",
                 "new EHC plans by calendar year", r"^(sen2_)?newplans\.csv$"),
    _sen2_source("sen2_2025_requests", "requests", "2025", "ehcp_sen2/sen2_2025release_requests_toplevel.csv",
                 "requests for EHC needs assessment", r"^(sen2_)?requests\.csv$"),
    _sen2_source("sen2_2025_timeliness", "timeliness", "2025",
                 "ehcp_sen2/sen2_2025release_timeliness_20_week_toplevel.csv",
                 "EHC plans issued within 20 weeks", r"^(sen2_)?timeliness_20_week\.csv$"),
    _sen2_source("sen2_2025_ceased", "ceased", "2025", "ehcp_sen2/sen2_2025release_ceased_plans_toplevel.csv",
                 "EHC plans ceased by calendar year", r"^(sen2_)?ceased_plans\.csv$"),
    Source("sen2_mi_2023", "ehcp_sen2/sen2_mi_2023release_2014-2022.csv", "DfE",
           "Education, health and care plans, reporting year 2023: management information file, 2014-2022",
           f"{EES}/education-health-and-care-plans/2023", "2023 release (15 June 2023)", "ees-csv",
           columns=_SEN2_COLUMNS + ("new_all_ehc", "inreq_ehc", "ass_refused_ehc", "inc_exc_20week_ehc",
                                    "tot_inc_exc_ehc", "inc_exc_20week_rate", "no_exc_20week_ehc",
                                    "tot_no_exc_ehc", "no_exc_20week_rate")),
    # the 2026 release (reporting year 2026): January 2026 caseload and calendar-2025 flows. The reference holds
    # row extracts (see its SOURCE.md); `sendlib data download` fetches the full files to the same paths.
    Source("sen2_2026_caseload_national",
           "ehcp_sen2_2026release/sen2_2026release_caseload_allEHCplans_202526_england_and_north_east.csv", "DfE",
           "Education, health and care plans, reporting year 2026: EHC plans by placement (All EHC plans), "
           "England and the North East, January 2026 (row extract)", _EHCP_2026, "2026 release (June 2026)",
           "ees-csv", columns=_sen2_columns("caseload", "2026")),
    _sen2_source("sen2_2026_caseload", "caseload", "2026",
                 "ehcp_sen2_2026release/sen2_2026release_caseload_allEHCplans_202526_la.csv",
                 "EHC plans by placement (All EHC plans); the reference copy holds the January 2026 rows of the "
                 "9 regions and 153 LAs", r"^(sen2_)?caseload\.csv$"),
    _sen2_source("sen2_2026_newplans", "newplans", "2026",
                 "ehcp_sen2_2026release/sen2_2026release_newplans_2025_toplevel.csv",
                 "new EHC plans by calendar year", r"^(sen2_)?newplans\.csv$"),
    _sen2_source("sen2_2026_requests", "requests", "2026",
                 "ehcp_sen2_2026release/sen2_2026release_requests_2025_toplevel.csv",
                 "requests for an EHC needs assessment", r"^(sen2_)?requests\.csv$"),
    _sen2_source("sen2_2026_timeliness", "timeliness", "2026",
                 "ehcp_sen2_2026release/sen2_2026release_timeliness_2025_toplevel.csv",
                 "EHC plans issued within 20 weeks", r"^(sen2_)?timeliness_20_week\.csv$"),
    _sen2_source("sen2_2026_annual_reviews", "annual_reviews", "2026",
                 "ehcp_sen2_2026release/sen2_2026release_annual_reviews_2025_allreviews_england_regions.csv",
                 "annual reviews of EHC plans (total_ehc_plans = the January 2026 caseload)",
                 r"^(sen2_)?annual_reviews\.csv$"),
    _sen2_source("sen2_2026_ceased", "ceased", "2026", "ehcp_sen2_2026release/sen2_2026release_ceased_plans.csv",
                 "EHC plans ceased by calendar year (not in the reference folder: downloaded only)",
                 r"^(sen2_)?ceased_plans\.csv$", optional=True),
    Source("dsg_2020_21", "dsg_high_needs_block/dsg_2020-21_allocations_file_dated_2021_11_18.ods", "ESFA/DfE",
           "Dedicated schools grant (DSG): 2020 to 2021 allocations", f"{DSG_SERVICE}/2020-to-2021",
           "read from the file's Information sheet", "dsg-ods"),
    Source("dsg_2021_22", "dsg_high_needs_block/dsg_2021-22_allocations_file_dated_2022_07_18.ods", "ESFA/DfE",
           "Dedicated schools grant (DSG): 2021 to 2022 allocations", f"{DSG_SERVICE}/2021-to-2022",
           "read from the file's Information sheet", "dsg-ods"),
    Source("dsg_2022_23", "dsg_high_needs_block/dsg_2022-23_allocations_file_dated_2023_07_20.ods", "ESFA/DfE",
           "Dedicated schools grant (DSG): 2022 to 2023 allocations", f"{DSG_SERVICE}/2022-to-2023",
           "read from the file's Information sheet", "dsg-ods"),
    Source("dsg_2023_24", "dsg_high_needs_block/dsg_2023-24_allocations_file_dated_2024_07_20.ods", "ESFA/DfE",
           "Dedicated schools grant (DSG): 2023 to 2024 allocations", f"{DSG_SERVICE}/2023-to-2024",
           "read from the file's Information sheet", "dsg-ods"),
    Source("dsg_summaries", "dsg_high_needs_block/dsg_summaries_2019-20_to_2023-24_amalgamated.ods", "ESFA/DfE",
           "DSG allocations summary sheets 2019-20 to 2023-24, amalgamated by DfE's SEND-AP Inclusion Dashboard",
           "https://www.gov.uk/government/publications/dedicated-schools-grant-dsg-2019-to-2020",
           "vintage of each sheet identified by its total DSG", "dsg-ods", STATUS_OFFICIAL,
           note="Summary sheets copied unchanged from the ESFA files by a DfE team"),
    Source("dsg_march_vintages", "dsg_high_needs_block/DSG_total_by_year_march_vintages_2019-20_to_2023-24.xlsx",
           "ESFA/DfE", "Total DSG allocation by LA, March updates 2019-20 to 2023-24 (SEND-AP dashboard)",
           DSG_SERVICE, "March updates, dates in the sheet names", "xlsx"),
    Source("hnb_parliamentary_answers", "dsg_high_needs_block/hnb_secondary_values_from_parliamentary_answers.csv",
           "DfE (written parliamentary answers)", "High needs block totals stated in DfE written answers",
           "https://www.parallelparliament.co.uk/question/129210/special-educational-needs-finance",
           "UIN 129210 (answered 7 March 2022) and others", "csv", STATUS_SECONDARY,
           columns=("geography", "financial_year", "hnb_gbp_m", "source_pq", "source_url")),
    # GDP deflator: every YBGB file in hand is a candidate; the build uses the latest vintage for the whole
    # series (never two spliced). The reference holds the autumn-2026 copy; a download is dated by its release row.
    Source("ons_gdp_deflator", "deflators/ons_ybgb_gdp_deflator_downloaded.csv", "ONS",
           "GDP at market prices: implied deflator, SA (YBGB), as downloaded from ONS",
           f"{ONS_GENERATOR}{_YBGB}", "read from the file's Release date row", "ons-csv", optional=True,
           download=_ons_series(_YBGB, "YBGB")),
    Source("ons_gdp_deflator_2026_copy", "deflators/ons_ybgb_gdp_deflator_2024eq100_fetched_2026-10-03.csv", "ONS",
           "GDP at market prices: implied deflator, SA (YBGB), 2024 = 100, outturn to 2026 Q2 (a two-column "
           "period,value copy without ONS's metadata rows)", f"{ONS_GENERATOR}{_YBGB}",
           "ONS Quarterly National Accounts of late September 2026 (Q2 2026, Blue Book 2026 basis; the exact release "
           "date is not in the copy), fetched 2026-10-03", "ons-csv",
           note="copied byte-exact from jmgillespie2011-creator/Urgent-GP data/funding/gdp_deflator_ybgb.csv at "
                "6bd56fc0806772537e9f8fd3283ea4074ec5352c; its fetch script dropped ONS's eight metadata rows",
           series_copy=SeriesCopy("YBGB", "Gross domestic product at market prices:Implied deflator:SA", "2024 = 100",
                                  "ONS QNA of late September 2026 (Q2 2026), as fetched 2026-10-03",
                                  date(2026, 10, 3))),
    Source("hmt_gdp_deflator_march_2026", "deflators/hmt_gdp_deflator_fy_march2026_qna_seed.csv", "HM Treasury",
           "GDP deflators at market prices, and money GDP, March 2026 (Quarterly National Accounts): financial-"
           "year GDP deflator, 2024-25 = 100, OBR forecasts (Spring Statement 2026) from 2025-26",
           "https://www.gov.uk/government/collections/gdp-deflators-at-market-prices-and-money-gdp",
           "March 2026 (QNA); forecast rows chained by a third party from OBR year-on-year changes", "csv",
           STATUS_DERIVED_THIRD_PARTY,
           columns=("fiscal_year", "gdp_deflator", "is_forecast"),
           note="copied from ncl-icb-analytics/dbt-ncl-analytics seeds/uk_cost_indices.csv at "
                "b2a106112364edbd036c78f125855456252b3d1f; outturn rows are HM Treasury's published levels, "
                "forecast rows were chain-computed by the repository's build_seed.py"),
    Source("ons_cpih", "deflators/ons_cpih_release.csv", "ONS", "CPIH index 00: all items, 2015 = 100 (L522)",
           f"{ONS_GENERATOR}/economy/inflationandpriceindices/timeseries/l522/mm23",
           "read from the file's Release date row", "ons-csv",
           download=_ons_series("/economy/inflationandpriceindices/timeseries/l522/mm23", "L522")),
    Source("dfer_geo_hierarchy", "la_lookup/dfeR_geo_hierarchy_la_level_england_2017-2025.csv",
           "DfE (dfeR package)", "LA codes, names and regions with years in use (dfeR geo_hierarchy)",
           "https://github.com/dfe-analytical-services/dfeR", "dfeR at bc940bf (2026-02-19)", "csv",
           STATUS_DERIVED_OFFICIAL,
           columns=("old_la_code", "new_la_code", "la_name", "region_code", "region_name", "first_year", "last_year")),
    Source("dfer_old_la_codes", "la_lookup/dfeR_old_la_codes_all.csv", "DfE (dfeR package)",
           "Old (3-digit) and new (ONS) LA codes", "https://github.com/dfe-analytical-services/dfeR",
           "dfeR at bc940bf (2026-02-19)", "csv", STATUS_DERIVED_OFFICIAL,
           columns=("la_name", "old_la_code", "new_la_code")),
    Source("boundary_changes", "la_lookup/boundary_changes_since_2015.csv", "compiled from DfE files",
           "LA boundary changes since 2015 (predecessor and successor codes)",
           "https://github.com/dfe-analytical-services/dfeR", "checked against SEN2 January counts", "csv",
           STATUS_COMPILED,
           columns=("change", "predecessor_old_la_code", "successor_old_la_code", "successor_la_name")),
    Source("programme_membership", "programme_membership_compiled.csv", "compiled from gov.uk and council sources",
           "Safety Valve agreements and Delivering Better Value LAs, each row with its source and confidence",
           "https://www.gov.uk/government/publications/dedicated-schools-grant-very-high-deficit-intervention",
           "compiled 2026 (36 of 38 SV agreements, 47 of 55 DBV LAs)", "csv", STATUS_COMPILED,
           columns=("la_name", "old_la_code", "programme", "cohort", "dfe_amount_gbp_m", "amount_source",
                    "membership_confidence", "membership_source", "notes")),
    Source("dsg_balance_pct_sendap", "dsg_high_needs_block/sendap_dsg_cumulative_balance_pct_by_la_2019-20_to_2021-22.csv",
           "DfE SEND-AP Inclusion Dashboard", "DSG cumulative balance as a % of total DSG income, from s251 outturn",
           "https://github.com/dfe-analytical-services/SEND-AP-Inclusion-Dashboard", "dashboard data of 2024-01-09",
           "csv", STATUS_DERIVED_OFFICIAL,
           columns=("geographic_level", "region_name", "la_name", "deficit", "financial_year")),
    Source("dsg_balance_reconstructed_2019_22",
           "dsg_balances/dsg_balance_1_9_3_reconstructed_by_la_2019-20_to_2021-22.csv",
           "derived from DfE figures (SEND-AP Inclusion Dashboard % of DSG x the DSG total it used)",
           "DSG cumulative balance (s251 line 1.9.3) in pounds per LA and region, 2019-20 to 2021-22, "
           "reconstructed from DfE's own % of DSG and its DSG denominator; positive = deficit",
           "https://github.com/dfe-analytical-services/SEND-AP-Inclusion-Dashboard",
           "reconstruction of the dashboard data of 2024-01-09 (exact to +/- 0.005% of DSG)", "csv",
           STATUS_DERIVED_RECONSTRUCTION,
           columns=("financial_year", "geographic_level", "region_name", "la_name", "old_la_code", "deficit",
                    "dsg_balance_1_9_3_reconstructed_gbp", "rounding_bound_gbp")),
    Source("dsg_balance_2023_24_kali89", "la_dsg_balance_2023_24_from_kali89_s251.csv", "third party (Kali89/la-send-analysis)",
           "DSG cumulative balance carried forward at end 2023-24 (s251 line 1.9.3), positive = deficit",
           f"{EES}/la-and-school-expenditure", "derived from the s251 outturn 2023-24", "csv",
           STATUS_DERIVED_THIRD_PARTY, columns=("new_la_code", "la_name", "dsg_balance_carried_forward_2023_24_gbp")),
    Source("s251_high_needs_net", "s251_high_needs/s251_outturn_net_buckets_by_la_2017-18_to_2024-25_from_budget_galaxy.csv",
           "third party (JuanBlanco9/German-Budget-Galaxy)",
           "s251 outturn: net high-needs expenditure (lines 1.2.x) by LA, 2017-18 to 2024-25",
           f"{EES}/la-and-school-expenditure", "derived from the s251 outturn file (2024-25 release)", "csv",
           STATUS_DERIVED_THIRD_PARTY, columns=("fy", "new_la_code", "la_name", "hn_1_2_x_net")),
    Source("specialist_topups_sendap", "s251_high_needs/sendap_specialist_topup_spend_by_la_2018-19_to_2021-22.csv",
           "DfE SEND-AP Inclusion Dashboard",
           "Top-up spend on special schools and AP: state vs independent or non-maintained, 2018-19 to 2021-22",
           "https://github.com/dfe-analytical-services/SEND-AP-Inclusion-Dashboard", "dashboard data of 2024-01-09",
           "csv", STATUS_DERIVED_OFFICIAL, columns=("la_name", "category", "year", "total_spend")),
    Source("ons_mye2023_single_age", "population/ons_mye2023_utla_single_age_0_25.csv", "ONS",
           "Mid-year population estimates, mid-2023, single year of age 0-25 by upper-tier LA (MYE2)",
           "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates",
           "15 July 2024 (mid-2023, April 2023 boundaries)", "csv",
           columns=("area_code", "area_name", "all_ages", "pop_0_25", "pop_2_18")),
    Source("ons_mye4_totals", "population/ons_mye4_total_pop_utla_mid2011_mid2023.csv", "ONS",
           "Mid-year population estimates, all ages, mid-2011 to mid-2023 by upper-tier LA (MYE4)",
           "https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates",
           "15 July 2024 (April 2023 boundaries)", "csv", columns=("area_code", "area_name")),
    Source("lait_indicators", "lait/lait_sen_context_indicators_2016-2025.csv", "DfE",
           "Local Authority Interactive Tool (LAIT): SEN, FSM, EAL and child poverty indicators",
           "https://www.gov.uk/government/publications/local-authority-interactive-tool-lait",
           "LAIT at 2e30e39 (2026-04-08)", "csv",
           columns=("measure_short", "years", "la_or_region", "value", "la_number")),
    Source("lait_dictionary", "lait/lait_data_dictionary_subset.csv", "DfE", "LAIT data dictionary",
           "https://www.gov.uk/government/publications/local-authority-interactive-tool-lait",
           "LAIT at 2e30e39 (2026-04-08)", "csv", columns=("Measure_short", "Measure")),
    Source("statistical_neighbours", "lait/lait_statistical_neighbours_sn_may_2025.xlsx", "DfE",
           "Children's services statistical neighbours (10 per LA), May 2025",
           "https://www.gov.uk/government/publications/local-authority-interactive-tool-lait", "May 2025", "xlsx"),
    Source("hexmap_upper_tier", "hexmap/uk-upper-tier-local-authorities.hexjson", "Open Innovations",
           "Hex map of the UK's upper-tier local authorities (HexJSON, odd-r), 2019-20 geography",
           f"{_HEXMAPS}/blob/{_HEXMAPS_COMMIT}/maps/uk-upper-tier-local-authorities.hexjson",
           f"commit {_HEXMAPS_COMMIT[:7]} (2020-10-30)", "hexjson", STATUS_THIRD_PARTY_LAYOUT,
           note="MIT licence (hexmap_licence): keep the copyright notice with any copy or derived map"),
    Source("hexmap_licence", "hexmap/LICENSE", "Open Innovations", "MIT licence of the hex maps repository",
           f"{_HEXMAPS}/blob/{_HEXMAPS_COMMIT}/LICENSE", f"commit {_HEXMAPS_COMMIT[:7]}", "text",
           STATUS_THIRD_PARTY_LAYOUT),
    # ----- downloaded only (optional: builders use them when present)
    *[_dsg_allocations(start) for start in DSG_ALLOCATION_YEARS],
    Source("govuk_safety_valve", "programmes/govuk_content_dedicated_schools_grant_very_high_deficit_intervention.json",
           "DfE (gov.uk)", "Dedicated schools grant: very high deficit intervention (gov.uk Content API item; its "
           "attachments name each LA with a Safety Valve agreement and the agreement's year)", _SV_PAGE,
           "the page as downloaded (see its public_updated_at)", "govuk-json", optional=True,
           download=_govuk_item(_SV_PAGE.removeprefix(GOVUK))),
    Source("govuk_dbv", "programmes/govuk_content_delivering_better_value_grant_determination_letter.json",
           "DfE (gov.uk)", "Delivering better value in SEND: implementation plans grant determination letter "
           "(gov.uk Content API item)", _DBV_PAGE, "the page as downloaded (see its public_updated_at)",
           "govuk-json", optional=True, download=_govuk_item(_DBV_PAGE.removeprefix(GOVUK))),
    Source("s251_outturn_all_education", "s251_high_needs/s251_alleducation_la_regional_national.csv", "DfE",
           "LA and school expenditure (s251 outturn): all education lines by LA, region and England",
           f"{EES}/la-and-school-expenditure/2024-25", "2024-25 release", "ees-csv", optional=True,
           columns=("time_period", "time_identifier", "geographic_level", "old_la_code", "new_la_code", "la_name",
                    "category_of_expenditure", "net_expenditure"),
           download=_ees_release_file("la-and-school-expenditure", "2024-25",
                                      r"^s251_alleducation_la_regional_national\.csv$")),
    Source("ons_mye2023_workbook", "population/mye23tablesew.xlsx", "ONS",
           "Estimates of the population for England and Wales, mid-2023 (2023 LA boundaries), workbook",
           f"{_ONS_POPULATION}/datasets/estimatesofthepopulationforenglandandwales", "15 July 2024", "xlsx",
           optional=True,
           download=Download(f"{ONS_FILE}{_ONS_POPULATION_PATH}/datasets/estimatesofthepopulationforenglandandwales/"
                             "mid20232023localauthorityboundarieseditionofthisdataset/mye23tablesew.xlsx", "xlsx",
                             sheets=("MYE2 - Persons", "MYE4"))),
    Source("ons_mye2024_workbook", "population/mye24tablesew.xlsx", "ONS",
           "Estimates of the population for England and Wales, mid-2024 (2023 LA boundaries), workbook",
           f"{_ONS_POPULATION}/datasets/estimatesofthepopulationforenglandandwales", "mid-2024 release", "xlsx",
           optional=True,
           download=Download(f"{ONS_FILE}{_ONS_POPULATION_PATH}/datasets/estimatesofthepopulationforenglandandwales/"
                             "mid20242023localauthorityboundaries/mye24tablesew.xlsx", "xlsx",
                             sheets=("MYE2 - Persons", "MYE4"))),
]}


def downloadable() -> list[Source]:
    """Return the sources `sendlib data download` can fetch, in registry order."""
    return [s for s in SOURCES.values() if s.download is not None]


def dsg_allocation_sources() -> list[Source]:
    """Return the optional per-year DSG allocation sources (2015-16 onwards), oldest first."""
    return [SOURCES[f"dsg_allocations_{y}_{(y + 1) % 100:02d}"] for y in DSG_ALLOCATION_YEARS]


def source(name: str) -> Source:
    """Return the registered source called `name`."""
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"no source named {name!r}; registered: {sorted(SOURCES)}") from None
