"""`sendlib la QUERY [--json]` and the headline numbers behind it. Needs sendlib.funding (the gap)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sendlib.funding")

from sendlib.cli import main  # noqa: E402
from sendlib.commands.la import headline as la_headline  # noqa: E402

TOP_KEYS = {"area_code", "area_name", "region_name", "programmes", "headline", "lenses", "flags"}
PROGRAMME_KEYS = {"programme", "cohort", "dfe_amount_gbp", "confidence", "source"}


def _json(capsys, query: str) -> dict:
    """Return the parsed `sendlib la QUERY --json` output (exit status 0 checked)."""
    assert main(["la", query, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_exactly_the_required_keys(capsys):
    record = _json(capsys, "kingston")
    assert set(record) == TOP_KEYS
    assert record["area_code"] == "314" and record["area_name"] == "Kingston upon Thames"
    assert record["region_name"] == "London"
    assert [set(p) for p in record["programmes"]] == [PROGRAMME_KEYS]
    sv = record["programmes"][0]
    assert (sv["programme"], sv["cohort"], sv["dfe_amount_gbp"]) == ("safety_valve", "2020-21", 27_000_000)
    headline = record["headline"]
    for key in ["ehc_plans_latest", "ehc_plans_january", "growth_since_2015_pct", "hnb_per_plan_gbp", "gap_gbp",
                "gap_cumulative_gbp", "deficit_gbp", "ehc_plans_per_1000_aged_0_25"]:
        assert isinstance(headline[key], int | float) and not isinstance(headline[key], bool), key
    assert headline["ehc_plans_january"] == 2026 and headline["gap_base_year"] == "2019-20"
    assert headline["deficit_financial_year"] == "2023-24" and headline["deficit_status"] == "derived-third-party"


@pytest.mark.parametrize("query", ["kent", "KENT", "886", "E10000016"])
def test_queries_resolve_to_kent(capsys, query):
    assert _json(capsys, query)["area_code"] == "886"


def test_text_output_names_status_and_headline(capsys):
    assert main(["la", "Kent"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Kent\n") and "886" in out and "E10000016" in out and "South East" in out
    assert "Safety Valve, agreement 2022-23" in out and "£142.0m" in out and "confidence high" in out
    assert "Own base" in out and "National rate" in out and "2023-24: a gap of" in out and "base 2019-20" in out
    assert "Coverage:" in out


def test_unknown_query_exits_2_with_suggestions(capsys):
    assert main(["la", "Knet"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean" in err and "Kent (886)" in err


def test_missing_numbers_are_null(capsys):
    record = _json(capsys, "City of London")
    headline = record["headline"]
    assert record["programmes"] == []
    assert headline["hnb_per_plan_gbp"] is None and headline["gap_gbp"] is None and headline["deficit_gbp"] is None
    assert headline["comparison_group"] == "Other: deficit unknown"


def test_headline_gap_matches_the_funding_model():
    from sendlib import funding

    model = funding.gap("la", area="886")
    latest = model.iloc[-1]
    headline = la_headline("886")
    assert headline["gap_financial_year"] == latest["financial_year"]
    assert headline["gap_gbp"] == round(latest["gap_gbp"])
    assert headline["gap_cumulative_gbp"] == round(model["gap_gbp"].sum())
    assert headline["gap_prices"] == funding.latest_prices()  # one price year everywhere
    assert headline["hnb_per_plan_gbp"] == round(latest["actual_per_plan_gbp"])


def test_reorganised_la_growth_says_it_is_harmonised():
    headline = la_headline("838")
    assert "combined area" in headline["growth_since_2015_basis"]
    assert headline["growth_since_2015_pct"] > 0 and headline["ehc_plans_2015"] is None


def test_low_confidence_la_is_apart(capsys):
    record = _json(capsys, "north somerset")
    assert record["programmes"][0]["confidence"] == "low"
    assert record["headline"]["comparison_group_primary"] is False


def test_newham_carries_its_flags_and_both_lenses(capsys):
    record = _json(capsys, "newham")
    flags = {(f["code"], f["year"]) for f in record["flags"]}
    assert ("count_break", 2025) in flags and ("unusual_base", 2019) in flags
    assert all(f["message"] and f["rule"] for f in record["flags"])
    assert set(record["lenses"]) == {"own_base", "national_rate"}
    assert record["lenses"]["national_rate"]["base_rate_gbp"] == 21_846
    # growth is not computed across the break: it ends on a count no flag marks
    assert record["headline"]["growth_since_2015_to_january"] != 2025


def test_a_successor_council_names_its_joined_base_and_has_its_own_first_year_lens(capsys):
    record = _json(capsys, "dorset")
    assert "area_rate" in record["lenses"] and record["lenses"]["area_rate"]["base_year"] == "2020-21"
    assert "+" in record["lenses"]["own_base"]["base_area_code"]
    assert any(f["code"] == "joined_base" and "Bournemouth" in f["message"] for f in record["flags"])


def test_a_suppressed_count_is_missing_and_says_why(capsys):
    record = _json(capsys, "isle of wight")
    headline = record["headline"]
    assert headline["ehc_plans_january"] == 2025  # no January 2026 count: suppressed
    assert "January 2026" in headline["ehc_plans_note"] and "'x'" in headline["ehc_plans_note"]
    assert "South East and England totals include it" in headline["ehc_plans_note"]
