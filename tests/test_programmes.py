"""Programme membership, comparison groups, coverage and the regional overview (sendlib.programmes)."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlib import story
from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import current_las
from sendlib.programmes import (
    DEFICIT_UNKNOWN,
    LOW_CONFIDENCE,
    OTHER_DEFICIT,
    OTHER_NO_DEFICIT,
    coverage,
    groups,
    latest_balance,
    overview,
    status,
)


def _group_of(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return the groups() row of the LA with this name."""
    return frame[frame["area_name"] == name].iloc[0]


def _programmes(area: str) -> set[tuple[str, str]]:
    """Return the (programme, cohort) pairs of an LA's status."""
    return {(e["programme"], e["cohort"]) for e in status(area)}


def test_known_statuses():
    assert _programmes("Kingston upon Thames") == {("safety_valve", "2020-21")}
    assert _programmes("Kent") == {("safety_valve", "2022-23")}
    assert _programmes("Hampshire") == {("dbv", "tranche 1")}
    assert _programmes("Leeds") == set()
    for name in ("Bristol", "Bracknell Forest"):
        assert _programmes(name) == {("safety_valve", "2023-24"), ("dbv", "tranche 1")}


def test_status_resolves_codes_and_names_and_carries_money_and_source():
    by_name, by_code, by_ons = status("KENT"), status("886"), status("E10000016")
    assert by_name == by_code == by_ons
    kingston = status("kingston")[0]
    assert kingston["dfe_amount_gbp"] == 27_000_000 and kingston["confidence"] == "high"
    assert kingston["source"] and kingston["primary"]
    with pytest.raises(ParameterError, match=r"Did you mean: .*Hampshire \(850\)"):
        status("Hamshire")


def test_groups_known_members():
    frame = groups()
    assert _group_of(frame, "Kingston upon Thames")["group"] == "SV 2020-21"
    assert _group_of(frame, "Kent")["group"] == "SV 2022-23"
    assert _group_of(frame, "Hampshire")["group"] == "DBV tranche 1"
    assert _group_of(frame, "Leeds")["group"] in (OTHER_DEFICIT, OTHER_NO_DEFICIT)
    for name in ("Bristol", "Bracknell Forest"):
        assert _group_of(frame, name)["group"] == "SV 2023-24"
        assert _group_of(groups(as_of="2023-24"), name)["group"] == "SV 2023-24"
        assert _group_of(groups(as_of="2022-23"), name)["group"] == "DBV tranche 1"
    # before its agreement year Kent is not SV; its agreement year is still carried
    early = _group_of(groups(as_of="2021-22"), "Kent")
    assert not early["group"].startswith("SV") and early["sv_cohort"] == "2022-23"


def test_low_confidence_is_shown_apart():
    frame = groups()
    somerset = _group_of(frame, "North Somerset")
    assert somerset["group"] == LOW_CONFIDENCE and not somerset["primary"] and somerset["confidence"] == "low"
    assert set(frame.loc[~frame["primary"], "area_name"]) == {"North Somerset"}
    primary_sv = frame[frame["primary"] & frame["group"].str.startswith("SV")]
    assert "North Somerset" not in set(primary_sv["area_name"])


def test_groups_one_row_per_current_la_and_counts_match_the_programme_table():
    frame = groups()
    assert len(frame) == len(current_las()) == frame["area_code"].nunique() == 153
    programmes = load("programmes")
    sv = programmes[(programmes["programme"] == "safety_valve") & (programmes["confidence"] != "low")]
    assert (frame["programme_group"] == "Safety Valve").sum() == len(sv) == 36
    by_cohort = frame[frame["programme_group"] == "Safety Valve"]["cohort"].value_counts().to_dict()
    assert by_cohort == {"2020-21": 5, "2021-22": 9, "2022-23": 18, "2023-24": 4}
    dbv_only = set(programmes.loc[programmes["programme"] == "dbv", "area_code"]) - set(sv["area_code"])
    assert set(frame.loc[frame["programme_group"] == "DBV", "area_code"]) == dbv_only


def test_deficit_groups_rest_on_the_latest_balance_and_unknown_is_explicit():
    frame = groups()
    balance = latest_balance().set_index("area_code")
    others = frame[frame["group"].isin([OTHER_DEFICIT, OTHER_NO_DEFICIT])]
    assert others["deficit_financial_year"].notna().all() and others["deficit_measure"].notna().all()
    for row in others.itertuples():
        assert (balance.loc[row.area_code, "value"] > 0) == (row.group == OTHER_DEFICIT)
        assert balance.loc[row.area_code, "financial_year"] == row.deficit_financial_year
    unknown = frame[frame["group"] == DEFICIT_UNKNOWN]
    assert set(unknown["area_name"]) == {"City of London", "Isles of Scilly"}
    assert not set(unknown["area_code"]) & set(balance.index)
    # Buckinghamshire has no 2023-24 GBP balance, so its latest is the 2021-22 % of income
    assert _group_of(frame, "Buckinghamshire")["deficit_financial_year"] == "2021-22"


def test_as_of_must_be_a_financial_year():
    with pytest.raises(ParameterError):
        groups(as_of="2022")


def test_coverage_counts_identified_entries_against_those_announced():
    table = coverage().set_index(["programme", "cohort"])
    assert table.loc[("safety_valve", "all"), ["identified", "announced"]].tolist() == [36, 38]
    assert table.loc[("dbv", "all"), ["identified", "announced"]].tolist() == [47, 55]
    assert table.loc[("safety_valve", "2022-23"), "identified"] == 18
    assert table.loc[("dbv", "tranche 3"), ["identified", "announced"]].tolist() == [4, 12]
    assert table.loc[("safety_valve", "all"), "low_confidence_names"] == "North Somerset"


def test_coverage_statement_states_identified_counts():
    text = story.coverage()
    assert "36 of the 38 Safety Valve agreements" in text and "47 of the 55 DBV LAs" in text
    assert "2022-23: 18 of 20" in text and "tranche 3: 4 of 12" in text and "North Somerset" in text
    with_groups = story.coverage(with_groups=True)
    assert with_groups.startswith(text[:-1]) and "Of 153 current LAs" in with_groups
    assert "City of London" in with_groups and "2023-24 balance carried forward (GBP)" in with_groups


def test_overview_sums_and_money():
    table = overview().set_index("region_code")
    england, regions = table.loc["E92000001"], table.drop(index="E92000001")
    assert len(regions) == 9
    for column in ["sv_las", "sv_dfe_amount_gbp", "sv_amounts_unknown", "dbv_las", "dbv_amounts_unknown"]:
        assert regions[column].sum() == england[column]
    assert england["sv_las"] == 36 and england["dbv_las"] == 47
    assert (table["sv_amounts_known"] + table["sv_amounts_unknown"] == table["sv_las"]).all()
    programmes = load("programmes")
    known = programmes[(programmes["programme"] == "safety_valve") & (programmes["confidence"] != "low")]
    assert england["sv_dfe_amount_gbp"] == int(known["dfe_amount_gbp"].dropna().sum())
    assert "Kent (2022-23)" in table.loc["E12000008", "sv_names"]
    assert "North Somerset" in table.loc["E12000009", "low_confidence_las"]
    assert "North Somerset" not in england["sv_names"]
