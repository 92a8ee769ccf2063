"""gov.uk Content API items: Safety Valve attachment titles -> LA and agreement year, and the programmes
builder's cross-check against the compiled membership file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sendlib.build.pipeline import _csv_bytes
from sendlib.build.programme_tables import build_programmes
from sendlib.errors import InputFileError
from sendlib.paths import REPO_ROOT, reference_dir
from sendlib.readers.govuk import (
    attachments,
    clean_la_name,
    parse_safety_valve_title,
    read_content_item,
    safety_valve_listings,
)
from sendlib.schemas import SCHEMAS, conform, validate
from sendlib.sources import SOURCES

FIXTURES = Path(__file__).parent / "fixtures" / "download"
SV_JSON = FIXTURES / "govuk_very_high_deficit_intervention.json"
AREAS = pd.read_csv(REPO_ROOT / "data" / "processed" / "areas.csv", dtype=str, keep_default_na=False)
AREAS["first_year"] = AREAS["first_year"].astype(int)
AREAS["last_year"] = AREAS["last_year"].astype(int)


@pytest.mark.parametrize(("title", "expected"), [
    ("Kent: dedicated schools grant safety valve agreement 2022 to 2023", ("Kent", "2022-23")),
    ("London Borough of Hillingdon: dedicated schools grant safety valve agreement 2021 to 2022",
     ("Hillingdon", "2021-22")),
    ("Bristol City Council: DSG safety-valve agreement 2023-24 (revised)", ("Bristol", "2023-24")),
    ("Royal Borough of Kingston upon Thames: safety valve agreement 2020 to 21", ("Kingston upon Thames", "2020-21")),
    ("Bury:  dedicated schools grant  safety valve agreement", ("Bury", None)),
    ("Stoke-on-Trent: safety valve agreement 2020 to 2022", ("Stoke-on-Trent", None)),
    ("Safety valve agreements: funding profiles", None),
    ("Kent: high needs provision capital allocation 2022 to 2023", None),
    ("Dedicated schools grant safety valve agreements 2022 to 2023", None),
])
def test_safety_valve_titles(title, expected):
    assert parse_safety_valve_title(title) == expected


def test_clean_la_name_keeps_names_that_are_not_wrappers():
    assert clean_la_name(" Kent County Council ") == "Kent"
    assert clean_la_name("City of York Council") == "City of York"
    assert clean_la_name("County Durham") == "County Durham"
    assert clean_la_name("Council of the Isles of Scilly") == "Isles of Scilly"


def test_listings_from_the_fixture_item():
    listings = safety_valve_listings(SV_JSON)
    assert [(x.la_name, x.financial_year) for x in listings] == [
        ("Bury", "2020-21"), ("Hammersmith and Fulham", "2021-22"), ("Kent", "2022-23"), ("Kent", "2023-24"),
        ("Southend-on-Sea", "2022-23")]
    assert listings[0].url.startswith("https://assets.publishing.service.gov.uk/")


def test_attachments_rendered_as_html_documents_are_read():
    item = {"base_path": "/x", "title": "x", "details": {"documents": [
        '<section class="attachment embedded"><div class="attachment-details"><h3 class="title">'
        '<a href="https://assets.publishing.service.gov.uk/media/1/Kent.pdf">Kent: dedicated schools grant safety '
        'valve agreement 2022 to 2023</a></h3><p class="metadata">PDF, 300KB</p></div></section>']}}
    found = attachments(item)
    assert [a.title for a in found] == ["Kent: dedicated schools grant safety valve agreement 2022 to 2023"]
    assert found[0].url.endswith("/Kent.pdf")


@pytest.mark.parametrize(("text", "problem"), [
    ('{"base_path": "/x", "title": "x", "details": {"attachments": [', "not valid JSON"),
    ('{"base_path": "/x", "title": "x"}', "missing key(s) ['details']"),
    ('[1, 2]', "the JSON is a list"),
])
def test_bad_content_items_name_the_file(tmp_path, text, problem):
    path = tmp_path / "item.json"
    path.write_text(text)
    with pytest.raises(InputFileError, match=r"item\.json") as caught:
        read_content_item(path)
    assert problem in str(caught.value)


def _raw(tmp_path: Path, item: dict | None) -> Path:
    """Return a raw folder with the compiled fixture and, if given, the gov.uk Safety Valve item."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / SOURCES["programme_membership"].path).write_bytes((FIXTURES / "programme_membership_compiled.csv").read_bytes())
    if item is not None:
        target = raw / SOURCES["govuk_safety_valve"].path
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(item))
    return raw


def test_programmes_without_the_govuk_item_are_the_compiled_rows(tmp_path):
    built = build_programmes(_raw(tmp_path, None), AREAS)
    assert built.inputs == ["programme_membership"]
    assert len(built.frame) == 5 and not any("gov.uk" in c for c in built.checks)


def test_govuk_item_cross_checks_and_adds_only_named_las(tmp_path):
    item = json.loads(SV_JSON.read_text())
    built = build_programmes(_raw(tmp_path, item), AREAS)
    frame = built.frame.set_index(["area_code", "programme"])
    assert built.inputs == ["programme_membership", "govuk_safety_valve"]
    assert len(frame) == 6
    hf = frame.loc[("205", "safety_valve")]
    assert (hf["cohort"], hf["confidence"], hf["source"]) == ("2020-21", "high", "gov.uk page update note (fixture)")
    assert frame.loc[("802", "safety_valve"), "confidence"] == "low"  # the compiled candidate is kept as it is
    southend = frame.loc[("882", "safety_valve")]
    assert (southend["cohort"], southend["confidence"]) == ("2022-23", "high")
    assert southend["source"] == SOURCES["govuk_safety_valve"].url
    assert "Southend-on-Sea: dedicated schools grant safety valve agreement 2022 to 2023" in southend["confidence_note"]
    assert pd.isna(southend["dfe_amount_gbp"])
    check = next(c for c in built.checks if c.startswith("gov.uk Safety Valve page"))
    assert "5 agreement attachment(s) name 4 LA(s); 2 agree" in check and "1 differ in year" in check
    assert "1 added" in check
    assert any("Hammersmith and Fulham (gov.uk 2021-22; compiled 2020-21, kept)" in n for n in built.notes)


def test_govuk_item_never_invents_rows(tmp_path):
    item = json.loads(SV_JSON.read_text())
    item["details"]["attachments"] = [
        {"title": "Torbay: dedicated schools grant safety valve agreement", "url": "https://assets/x.pdf"},
        {"title": "Nowhere Borough Council: dedicated schools grant safety valve agreement 2022 to 2023",
         "url": "https://assets/y.pdf"},
    ]
    built = build_programmes(_raw(tmp_path, item), AREAS)
    assert len(built.frame) == 5
    assert any("without a year, not added: Torbay" in n for n in built.notes)
    assert any("matching no LA" in n and "Nowhere Borough Council" in n for n in built.notes)
    assert any("not named on the gov.uk page: Bury, Hammersmith and Fulham, Kent" in n for n in built.notes)


@pytest.mark.skipif(not (reference_dir() / "programme_membership_compiled.csv").is_file(),
                    reason="needs ../shared/reference")
def test_reference_build_is_unchanged():
    built = build_programmes(reference_dir(), AREAS)
    frame = validate(conform(built.frame, SCHEMAS["programmes"]), SCHEMAS["programmes"])
    assert _csv_bytes(frame) == (REPO_ROOT / "data" / "processed" / "programmes.csv").read_bytes()
