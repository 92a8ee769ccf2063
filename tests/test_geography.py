"""The areas registry: lookups by code and name, reorganisations, and harmonised panels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendlib.data import load
from sendlib.errors import InputFileError, ParameterError
from sendlib.geography import (
    codes_from_names,
    find_area_codes,
    harmonise,
    normalise_name,
    region_las,
    resolve_area,
    stable_units,
    unit_names,
)
from sendlib.schemas import SCHEMAS

SMALL_REGISTRY = Path(__file__).parent / "fixtures" / "geography" / "areas_reorganisations.csv"
DORSET_UNIT = "835+836+837+838+839"
NORTHANTS_UNIT = "928+940+941"
CUMBRIA_UNIT = "909+942+943"


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    """Return the committed areas.csv."""
    return load("areas")


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """Return the hand-made registry of the three reorganisations (plus Devon, unchanged)."""
    return pd.read_csv(SMALL_REGISTRY, dtype=SCHEMAS["areas"].dtypes(), keep_default_na=False, na_values=[""])


# --------------------------------------------------------------------------------------- lookups


@pytest.mark.parametrize("query, code, name", [
    ("kingston", "314", "Kingston upon Thames"),
    ("Kingston", "314", "Kingston upon Thames"),
    ("hull", "810", "Kingston upon Hull"),
    ("886", "886", "Kent"),
    ("KENT", "886", "Kent"),
    ("E10000016", "886", "Kent"),
    ("e10000016", "886", "Kent"),
    ("E10000023", "815", "North Yorkshire"),  # former ONS code
    ("yorkshire and the humber", "E12000003", "Yorkshire and The Humber"),
    ("Yorkshire & Humber", "E12000003", "Yorkshire and The Humber"),
    ("E12000003", "E12000003", "Yorkshire and The Humber"),
    ("england", "E92000001", "England"),
    ("BCP", "839", "Bournemouth, Christchurch and Poole"),
    ("Bristol, City of", "801", "Bristol"),
])
def test_resolve_area(registry, query, code, name):
    row = resolve_area(query, registry=registry)
    assert row["area_code"] == code
    assert row["area_name"] == name


def test_unknown_name_raises_with_close_matches(registry):
    with pytest.raises(ParameterError) as caught:
        resolve_area("Manchestr", registry=registry)
    assert caught.value.parameter == "area"
    assert "Manchester (352)" in caught.value.suggestions
    assert "Did you mean" in str(caught.value) and "Manchester (352)" in str(caught.value)


def test_unknown_code_raises(registry):
    with pytest.raises(ParameterError):
        resolve_area("999", registry=registry)


def test_ambiguous_query_lists_the_candidates(registry):
    with pytest.raises(ParameterError, match="several areas") as caught:
        resolve_area("North", levels=("la",), registry=registry)
    assert "North Yorkshire (815)" in caught.value.suggestions


def test_level_restricts_the_search(registry):
    assert find_area_codes("886", levels=("region",), registry=registry) == []
    with pytest.raises(ParameterError):
        resolve_area("Kent", levels=("region",), registry=registry)


def test_registry_counts(registry):
    las = registry[registry["level"] == "la"]
    assert len(las) == 158
    assert int(las["first_year"].min()) == 2015
    assert int((las["last_year"] == 2026).sum()) == 153  # January 2026: the SEN2 2026 release
    assert sorted(registry.loc[registry["level"] == "region", "area_code"]) == [f"E1200000{i}" for i in range(1, 10)]
    assert registry.loc[registry["level"] == "england", "area_code"].tolist() == ["E92000001"]
    assert las["area_code"].str.fullmatch(r"\d{3}").all()


def test_region_las(registry):
    current = region_las("E12000002", registry=registry, current_only=True)["area_code"].tolist()
    assert "942" in current and "909" not in current
    assert "909" in region_las("E12000002", registry=registry)["area_code"].tolist()


def test_normalise_name():
    assert normalise_name("Bristol, City of") == "bristol"
    assert normalise_name("Brighton & Hove") == "brighton and hove"
    assert normalise_name("St. Helens") == "st helens"
    assert normalise_name("Dorset (Pre LG)") == "dorset"


# --------------------------------------------------------------------------------------- reorganisations


def test_stable_units_join_predecessors_and_successors(small, registry):
    for units in (stable_units(small), stable_units(registry)):
        assert {units[c] for c in ["835", "836", "837", "838", "839"]} == {DORSET_UNIT}
        assert {units[c] for c in ["928", "940", "941"]} == {NORTHANTS_UNIT}
        assert {units[c] for c in ["909", "942", "943"]} == {CUMBRIA_UNIT}
        assert units["878"] == "878"


def test_unit_names_show_before_and_after(small):
    names = unit_names(small)
    assert names[NORTHANTS_UNIT] == "Northamptonshire / North Northamptonshire + West Northamptonshire"
    assert names[CUMBRIA_UNIT] == "Cumbria / Cumberland + Westmorland and Furness"
    assert names["878"] == "Devon"


def panel(rows: dict[str, dict[int, float]]) -> pd.DataFrame:
    """Return a long panel (area_code, level, january, plans, plans_pct) from {code: {january: plans}}."""
    records = [{"area_code": code, "level": "la", "january": january, "plans": value, "plans_pct": 1.0}
               for code, series in rows.items() for january, value in series.items()]
    records.append({"area_code": "E92000001", "level": "england", "january": 2021, "plans": 1.0, "plans_pct": 1.0})
    return pd.DataFrame(records)


def test_harmonise_sums_members_and_has_no_jump(small):
    data = panel({
        "928": {2020: 4000, 2021: 4200},
        "940": {2022: 2100, 2023: 2310},
        "941": {2022: 2310, 2023: 2541},
        "909": {2022: 3000, 2023: 3300},
        "942": {2024: 1800},
        "943": {2024: 1830},
        "878": {2021: 5000, 2022: 5500},
    })
    out = harmonise(data, "january", ["plans"], registry=small)
    units = out[out["level"] == "la"].set_index(["area_code", "january"])["plans"]
    assert units[(NORTHANTS_UNIT, 2021)] == 4200
    assert units[(NORTHANTS_UNIT, 2022)] == 2100 + 2310
    growth = units[NORTHANTS_UNIT].pct_change().dropna()
    assert growth.round(6).tolist() == [0.05, 0.05, 0.1]  # 4000 → 4200 → 4410 → 4851: no step at 2022
    assert units[(CUMBRIA_UNIT, 2024)] == 3630 and units[(CUMBRIA_UNIT, 2023)] == 3300
    assert units[("878", 2022)] == 5500
    assert out.loc[out["level"] == "england", "plans"].tolist() == [1.0]  # England passes through


def test_harmonise_by_default_sums_counts_but_not_percentages(small):
    data = panel({"928": {2021: 4200}, "940": {2022: 2100}, "941": {2022: 2310}})
    out = harmonise(data, registry=small)
    assert "plans_pct" not in out.columns
    assert out.set_index(["area_code", "january"]).loc[(NORTHANTS_UNIT, 2022), "plans"] == 4410


def test_harmonise_is_missing_when_a_member_lacks_a_value(small):
    data = panel({"928": {2021: 4200}, "940": {2022: 2100, 2023: np.nan}, "941": {2022: 2310, 2023: 2541}})
    units = harmonise(data, "january", ["plans"], registry=small).set_index(["area_code", "january"])["plans"]
    assert np.isnan(units[(NORTHANTS_UNIT, 2023)])  # West alone would look like a halving
    assert units[(NORTHANTS_UNIT, 2022)] == 4410


def test_harmonise_is_missing_when_a_member_row_is_absent(small):
    data = panel({"838": {2020: 1500}, "839": {2021: 2500}})
    units = harmonise(data, "january", ["plans"], registry=small).set_index(["area_code", "january"])["plans"]
    assert np.isnan(units[(DORSET_UNIT, 2020)])  # BCP has no 2020 row
    assert np.isnan(units[(DORSET_UNIT, 2021)])  # Dorset has no 2021 row


def test_harmonise_dorset_bcp_before_and_after(small):
    data = panel({"835": {2019: 2000}, "836": {2019: 800}, "837": {2019: 900},
                  "838": {2020: 1600}, "839": {2020: 2200}})
    units = harmonise(data, "january", ["plans"], registry=small).set_index(["area_code", "january"])["plans"]
    assert units[(DORSET_UNIT, 2019)] == 3700
    assert units[(DORSET_UNIT, 2020)] == 3800


def test_harmonise_financial_years(small):
    data = pd.DataFrame([
        {"area_code": "928", "level": "la", "financial_year": "2020-21", "gbp": 100.0},
        {"area_code": "940", "level": "la", "financial_year": "2021-22", "gbp": 45.0},
        {"area_code": "941", "level": "la", "financial_year": "2021-22", "gbp": 60.0},
    ])
    units = harmonise(data, "financial_year", registry=small).set_index(["area_code", "financial_year"])["gbp"]
    assert units[(NORTHANTS_UNIT, "2020-21")] == 100 and units[(NORTHANTS_UNIT, "2021-22")] == 105


def test_harmonise_unknown_code_is_an_error(small):
    with pytest.raises(ParameterError, match="'999'"):
        harmonise(panel({"999": {2020: 1}}), "january", ["plans"], registry=small)


# --------------------------------------------------------------------------------------- names in files


def test_codes_from_names_picks_dorset_by_year(small, registry):
    names = pd.Series(["Dorset", "Dorset", "Dorset", "Poole", "BCP"])
    januaries = pd.Series([2018, 2019, 2020, 2019, 2021])
    expected = ["835", "835", "838", "836", "839"]
    assert codes_from_names(names, "f.csv", small, januaries).tolist() == expected
    assert codes_from_names(names, "f.csv", registry, januaries).tolist() == expected
    years = pd.Series(["2018-19", "2019-20"])
    assert codes_from_names(pd.Series(["Dorset", "Dorset"]), "f.csv", registry, years).tolist() == ["835", "838"]


def test_codes_from_names_without_a_period_refuses_an_ambiguous_name(registry):
    with pytest.raises(InputFileError, match="matches several LAs"):
        codes_from_names(pd.Series(["Dorset"]), "balances.csv", registry)


def test_codes_from_names_accepts_official_and_everyday_forms(registry):
    names = pd.Series(["Bristol, City of", "Kingston upon Hull, City of", "Brighton & Hove", "St. Helens"])
    assert codes_from_names(names, "f.csv", registry).tolist() == ["801", "810", "846", "342"]


def test_unknown_la_name_is_an_error_naming_the_file(registry):
    with pytest.raises(InputFileError) as caught:
        codes_from_names(pd.Series(["Leeds", "Atlantis"]), Path("raw/balances.csv"), registry)
    assert "raw/balances.csv" in str(caught.value)
    assert "'Atlantis'" in str(caught.value) and "not in the areas registry" in str(caught.value)
