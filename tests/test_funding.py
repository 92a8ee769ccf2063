"""The funding model: published figures, identities, pairing of years with Januaries, and properties."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendlib import funding
from sendlib.cli import main
from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.periods import january_for_financial_year
from sendlib.readers.ees import january_of_time_period


@pytest.fixture(scope="module")
def england() -> pd.DataFrame:
    return funding.gap("england").set_index("financial_year")


def test_base_rate_and_2018_19_per_plan_match_published_figures(england):
    assert england.loc["2015-16", "ehc_plans"] == 240_183
    assert round(england.loc["2015-16", "actual_per_plan_gbp"]) == 21_846  # £5,247m / 240,183
    assert round(england.loc["2018-19", "actual_per_plan_gbp"]) == 19_120  # £6,115m / 319,819


def test_reproduces_ippr_north_within_100_pounds(england):
    # IPPR North: £23,111 per plan in 2015 expressed in 2018-19 prices; £19,120 actual in 2018-19
    frame = funding.gap("england", prices="2018-19").set_index("financial_year")
    assert abs(frame.loc["2018-19", "necessary_per_plan_gbp"] - 23_111) < 100
    assert abs(frame.loc["2018-19", "actual_per_plan_gbp"] - 19_120) < 100
    assert frame.loc["2018-19", "prices"] == "2018-19"


def test_england_runs_from_2015_16_with_the_latest_year(england):
    assert england.index[0] == "2015-16"
    assert england.index[-1] == load("national_series")["financial_year"].max()
    # 2025-26 is outturn in the autumn-2026 GDP deflator; 2026-27 has plans (January 2026) but neither a published
    # deflator nor an England high needs block in hand: shown as missing, never estimated
    assert england.loc["2025-26", "necessary_gbp"] > 0 and england.loc["2025-26", "actual_gbp"] > 0
    assert england.loc["2026-27", "ehc_plans"] == 718_838
    assert pd.isna(england.loc["2026-27", "necessary_gbp"]) and pd.isna(england.loc["2026-27", "actual_gbp"])


@pytest.mark.parametrize("level", ["england", "region", "la"])
@pytest.mark.parametrize("deflator", ["gdp", "cpih", "none"])
def test_gap_is_zero_in_the_base_year_and_necessary_minus_actual(level, deflator):
    frame = funding.gap(level, deflator=deflator)
    assert not frame.empty
    base = frame[frame["financial_year"] == frame["base_year"]]
    assert base["gap_gbp"].abs().max() < 1e-6
    assert (base["real_per_plan_index"] - 100).abs().max() < 1e-9
    usable = frame.dropna(subset=["gap_gbp"])
    assert ((usable["necessary_gbp"] - usable["actual_gbp"]) - usable["gap_gbp"]).abs().max() < 1e-6
    assert ((usable["necessary_real_gbp"] - usable["actual_real_gbp"]) - usable["gap_real_gbp"]).abs().max() < 1e-4


def test_region_actual_and_necessary_are_sums_over_its_las():
    regions = funding.gap("region").set_index(["area_code", "financial_year"])
    la = funding.gap("la")
    areas = load("areas").set_index("area_code")
    la["region"] = la["area_code"].map(areas["region_code"])
    sums = la.groupby(["region", "financial_year"])[["actual_gbp", "necessary_gbp", "ehc_plans"]].sum()
    # London has had no reorganisation: region = sum of its LAs in every year
    for fy in regions.loc["E12000007"].index:
        for column in ["actual_gbp", "necessary_gbp"]:
            assert regions.loc[("E12000007", fy), column] == pytest.approx(sums.loc[("E12000007", fy), column])
    # every region, every year: equal to the sum over stable units (reorganised LAs joined)
    units = funding.harmonised_gap()
    units["region"] = units["area_code"].str.split("+").str[0].map(areas["region_code"])
    unit_sums = units.groupby(["region", "financial_year"])[["actual_gbp", "necessary_gbp"]].sum()
    unit_sums.index = unit_sums.index.set_names(["area_code", "financial_year"])
    joined = regions.join(unit_sums.add_suffix("_units"), how="inner")
    assert len(joined) == len(regions)
    assert (joined["actual_gbp"] - joined["actual_gbp_units"]).abs().max() < 1
    assert (joined["necessary_gbp"] - joined["necessary_gbp_units"]).abs().max() < 1
    # and the regions add up to England's allocation in every year the LA files cover
    hnb = load("high_needs_block").query("level == 'england'").set_index("financial_year")
    totals = regions.groupby(level="financial_year")["actual_gbp"].sum()
    # (2019-20 is published in £m to six decimals: each LA rounds to the pound, so allow £1 per LA)
    assert (totals - hnb["hnb_before_deductions_gbp"].astype(float)).abs().max() <= 151


def test_lag_moves_each_pairing_by_exactly_one_january():
    ehcp = load("ehcp").set_index(["area_code", "january"])["ehc_plans"]
    for lag in (0, 1):
        frame = funding.gap("england", lag=lag)
        for row in frame.itertuples():
            start = int(row.financial_year[:4])
            assert row.ehc_plans == ehcp[("E92000001", start + lag)]
    assert january_for_financial_year("2019-20", lag=0) == 2019
    assert january_for_financial_year("2019-20", lag=1) == 2020


def test_the_january_2025_count_labelled_2024_25_pairs_with_2025_26():
    # DfE labels the January 2025 count "2024/25" (time_period 202425); it is paired by January, never by label
    january = january_of_time_period("202425", "Academic year")
    assert january == 2025
    assert january_for_financial_year("2025-26", lag=0) == january
    frame = funding.gap("england", deflator="none").set_index("financial_year")
    assert frame.loc["2025-26", "ehc_plans"] == 638_745
    assert frame.loc["2024-25", "ehc_plans"] == 576_474  # January 2024, not the "2024/25" January 2025 count


def test_cash_variant_has_cash_prices_and_real_equals_cash():
    frame = funding.gap("england", deflator="none")
    assert set(frame["prices"]) == {"cash"}
    # equal, missing where the other is missing (2026-27: no England high needs block in hand)
    pd.testing.assert_series_equal(frame["actual_real_gbp"], frame["actual_gbp"], check_names=False)


def test_numerator_after_deductions_starts_where_the_split_is_published():
    frame = funding.gap("england", numerator="after")
    assert frame["base_year"].iloc[0] == "2019-20"
    hnb = load("high_needs_block").query("level == 'england'").set_index("financial_year")
    first = frame.iloc[0]
    assert first["actual_gbp"] == hnb.loc["2019-20", "hnb_after_deductions_gbp"]


def test_la_default_base_is_earliest_year_and_is_stated():
    frame = funding.gap("la", area="Kent")
    assert frame["base_year"].unique().tolist() == ["2019-20"]
    national = funding.gap("la", area="Kent", la_base="national")
    assert national["base_year"].unique().tolist() == ["2015-16"]  # England's 2015-16 rate, held in real terms
    assert set(national["lens"]) == {"national_rate"} and set(national["base_area_code"]) == {"E92000001"}


def test_successor_las_inherit_their_predecessors_base_rate():
    cumberland = funding.gap("la", area="Cumberland", lag=1)
    assert cumberland["base_year"].iloc[0] == "2019-20"  # Cumbria's first year, not Cumberland's


@pytest.mark.parametrize("kwargs, parameter", [
    ({"level": "ward"}, "level"), ({"deflator": "rpi"}, "deflator"), ({"lag": 2}, "lag"),
    ({"base_year": "2015"}, "base_year"), ({"prices": "2030-31"}, "prices"),
    ({"level": "la", "base_year": "2015-16"}, "base_year"), ({"numerator": "net"}, "numerator"),
    ({"level": "la", "area": "Atlantis"}, "area"), ({"level": "la", "area": "City of London"}, "area"),
])
def test_impossible_parameters_are_refused_by_name(kwargs, parameter):
    with pytest.raises(ParameterError) as error:
        funding.gap(**kwargs)
    assert error.value.parameter == parameter


def _synthetic(funding_values, plans, prices):
    """One unit's years as the model's internal frame (never shown as data)."""
    years = [f"{2015 + i}-{(16 + i) % 100:02d}" for i in range(len(plans))]
    frame = pd.DataFrame({"financial_year": years, "funding_gbp": funding_values, "ehc_plans": plans, "unit": "U"})
    index = pd.Series(prices, index=years)
    rates = funding._base_rates(frame, index, None)
    return funding._compute(frame, frame["unit"], rates, index)


money = st.floats(min_value=1e6, max_value=1e10, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=100, max_value=1_000_000)
price = st.floats(min_value=50, max_value=200, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(money, counts, price), min_size=2, max_size=8),
       st.floats(min_value=0.1, max_value=10))
def test_scaling_funding_scales_per_plan_and_gap(rows, k):
    f, e, p = (list(x) for x in zip(*rows, strict=True))
    base = _synthetic(f, e, p)
    scaled = _synthetic([v * k for v in f], e, p)
    assert (scaled["actual_per_plan_gbp"] / base["actual_per_plan_gbp"]).sub(k).abs().max() < 1e-9 * k
    assert (scaled["gap_gbp"] - k * base["gap_gbp"]).abs().max() <= 1e-6 * k * base["necessary_gbp"].abs().max()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(money, counts, price), min_size=2, max_size=8), st.integers(0, 7),
       st.integers(1, 100_000))
def test_more_plans_never_lower_necessary_funding(rows, position, extra):
    f, e, p = (list(x) for x in zip(*rows, strict=True))
    position = 1 + position % (len(e) - 1)  # a year after the base year
    more = list(e)
    more[position] += extra
    assert _synthetic(f, more, p)["necessary_gbp"].iloc[position] >= _synthetic(f, e, p)["necessary_gbp"].iloc[position]


def test_sensitivity_gives_one_row_per_variant_with_baseline_difference_zero():
    table = funding.sensitivity("2023-24")
    assert len(table) == len(funding.SENSITIVITY_VARIANTS)
    assert table["gap_difference_from_baseline_gbp"].iloc[0] == 0
    assert table["variant"].is_unique
    baseline = funding.gap("england").set_index("financial_year").loc["2023-24", "gap_gbp"]
    assert table["gap_gbp"].iloc[0] == pytest.approx(baseline)


def test_projection_is_labelled_and_its_interval_brackets_the_estimate():
    table = funding.projection("england")
    assert (table["label"] == "projection").all()
    assert len(table) == 2
    assert (table["ehc_plans_low"] <= table["ehc_plans_projected"]).all()
    assert (table["ehc_plans_projected"] <= table["ehc_plans_high"]).all()
    assert table["january"].min() == load("ehcp")["january"].max() + 1


def test_cli_prints_every_year_from_2015_16(capsys):
    assert main(["gap", "--level", "england"]) == 0
    out = capsys.readouterr().out
    for fy in load("national_series")["financial_year"]:
        assert fy in out
    assert "5,247.0" in out and "21,846" in out


def test_cli_csv_has_exactly_the_columns_in_pounds(tmp_path):
    path = tmp_path / "gap.csv"
    assert main(["gap", "--level", "region", "--csv", str(path)]) == 0
    written = pd.read_csv(path, dtype={"area_code": str})
    assert list(written.columns) == funding.GAP_COLUMNS
    assert written["actual_gbp"].max() > 1e8  # pounds, not millions


def test_cli_bad_area_exits_2_with_suggestions(capsys):
    assert main(["gap", "--level", "la", "--area", "kingstn"]) == 2
    assert "Kingston upon Thames (314)" in capsys.readouterr().err


def test_la_national_rate_sums_to_england_but_for_the_councils_without_an_allocation(tmp_path, capsys):
    path = tmp_path / "national.csv"
    assert main(["gap", "--level", "la", "--la-base", "national", "--csv", str(path)]) == 0
    las = pd.read_csv(path, dtype={"area_code": str})
    table = load("gap")
    england = table[(table["level"] == "england") & (table["lens"] == "national_rate")].set_index("financial_year")
    ehcp = load("ehcp").set_index(["area_code", "january"])["ehc_plans"]
    years = sorted(load("high_needs_block").query("level == 'la'")["financial_year"].unique())
    assert years[0] == "2019-20" and len(years) >= 5
    for fy, group in las.groupby("financial_year"):
        row = england.loc[fy]
        january = int(row["january"])
        unfunded = float(ehcp[("201", january)] + ehcp[("420", january)])  # City of London, Isles of Scilly
        expected = row["necessary_gbp"] - unfunded * row["necessary_per_plan_gbp"]
        assert group["necessary_gbp"].sum() == pytest.approx(expected, rel=1e-9), fy
    capsys.readouterr()
    assert main(["gap", "--level", "la", "--la-base", "national"]) == 0
    text = capsys.readouterr().out
    assert "City of London" in text and "Isles of Scilly" in text and "against England" in text


def test_one_price_year_everywhere():
    table = load("gap")
    assert table["prices"].nunique() == 1 and table["prices"].iloc[0] == funding.latest_prices()
    kent = funding.gap("la", area="kent")
    assert (kent["prices"] == funding.latest_prices()).all()


def test_timeliness_is_the_dfe_headline_excluding_exceptions():
    indicators = load("indicators")
    england = indicators[(indicators["area_code"] == "E92000001") & (indicators["indicator"] == "within_20_weeks_pct")]
    assert england.set_index("year").loc[2024, "value"] == pytest.approx(46.4)
    catalogue = load("indicator_catalogue").set_index("name")
    assert "excluding exceptions" in catalogue.loc["within_20_weeks_pct", "caveat"]
