"""Indicators and group comparisons (sendlib.compare). Needs sendlib.funding (money indicators)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sendlib.funding")

from sendlib.commands.compare import run as command_compare  # noqa: E402
from sendlib.compare import (  # noqa: E402
    SMALL_N,
    TIDY_COLUMNS,
    group_summary,
    group_trends,
    growth_before_after,
    growth_before_after_summary,
    indicator_catalogue,
    indicators,
    plans_index,
)
from sendlib.data import load  # noqa: E402
from sendlib.funding import latest_prices  # noqa: E402
from sendlib.programmes import groups  # noqa: E402

SHARES = ["placement_mainstream_pct", "placement_state_special_pct", "placement_independent_special_pct",
          "within_20_weeks_pct", "refusal_rate_decided_pct"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Return the indicators of LAs, regions and England."""
    return indicators(("la", "region", "england"))


def _values(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return the rows of one indicator."""
    return table[table["indicator"] == name]


def test_tidy_columns_and_catalogue_cover_every_indicator(table):
    assert list(table.columns) == TIDY_COLUMNS
    catalogue = indicator_catalogue().set_index("name")
    assert set(table["indicator"]) == set(catalogue.index)
    assert catalogue["year"].str.len().gt(0).all() and catalogue["caveat"].str.len().gt(0).all()
    units = table.groupby("indicator")["unit"].nunique()
    assert (units == 1).all()
    assert not table.duplicated(["area_code", "indicator", "year"]).any()


def test_per_1000_is_january_2024_only_and_plausible(table):
    rate = _values(table, "ehc_plans_per_1000_aged_0_25")
    assert set(rate["year"]) == {2024}
    england = rate[rate["area_code"] == "E92000001"]["value"].iloc[0]
    assert 30 <= england <= 40
    assert "mid-2023" in rate["unit"].iloc[0]
    las = rate[rate["area_code"].str.fullmatch(r"\d{3}")]
    assert las["value"].between(5, 80).all() and len(las) >= 150


def test_index_is_100_in_2015_and_growth_matches_counts(table):
    index = _values(table, "ehc_plans_index_2015")
    assert (index[index["year"] == 2015]["value"] == 100).all()
    counts = _values(table, "ehc_plans").pivot(index="area_code", columns="year", values="value")
    kent = index[index["area_code"] == "886"].set_index("year")["value"]
    assert kent[2025] == pytest.approx(100 * counts.loc["886", 2025] / counts.loc["886", 2015])
    growth = _values(table, "ehc_plans_growth_pct")
    kent_growth = growth[(growth["area_code"] == "886") & (growth["year"] == 2025)]["value"].iloc[0]
    assert kent_growth == pytest.approx(100 * (counts.loc["886", 2025] / counts.loc["886", 2024] - 1))


def test_reorganised_las_are_chain_linked():
    index = plans_index(("la",))
    dorset = index[index["area_code"] == "838"].set_index("january")
    assert dorset.loc[2015, "ehc_plans_index_2015"] == 100 and "combined area" in dorset.loc[2025, "basis"]
    ehcp = load("ehcp").set_index(["area_code", "january"])["ehc_plans"]
    ratio = dorset.loc[2025, "ehc_plans_index_2015"] / dorset.loc[2020, "ehc_plans_index_2015"]
    assert ratio == pytest.approx(ehcp[("838", 2025)] / ehcp[("838", 2020)])


def test_shares_are_percentages(table):
    for name in SHARES + ["refusals_per_100_requests"]:
        values = _values(table, name)["value"]
        assert len(values) and values.between(0, 100).all(), name


def test_refusal_rate_uses_decided_requests_only_where_published(table):
    decided = _values(table, "refusal_rate_decided_pct")
    assert set(decided["year"]) == {2023, 2024, 2025}  # calendar 2025 from the SEN2 2026 release
    ehcp = load("ehcp")
    row = ehcp[(ehcp["area_code"] == "886") & (ehcp["january"] == 2025)].iloc[0]
    kent = decided[(decided["area_code"] == "886") & (decided["year"] == 2024)]["value"].iloc[0]
    expected = 100 * row["requests_refused"] / (row["requests_refused"] + row["requests_agreed_to_assess"])
    assert kent == pytest.approx(expected)
    received = _values(table, "refusals_per_100_requests")
    assert received["year"].min() <= 2016 and received["year"].max() == 2025


def test_money_indicators_are_real_terms_and_consistent(table):
    from sendlib import funding

    prices = latest_prices()
    assert prices in _values(table, "hnb_per_plan_real_gbp")["unit"].iloc[0]
    model = funding.gap("la", area="314").set_index("financial_year")
    deflators = load("deflators").set_index("financial_year")["gdp_deflator"]
    hnb = _values(table, "hnb_per_plan_real_gbp")
    value = hnb[(hnb["area_code"] == "314") & (hnb["year"] == 2023)]["value"].iloc[0]
    expected = model.loc["2023-24", "actual_per_plan_gbp"] * deflators[prices] / deflators["2023-24"]
    assert value == pytest.approx(expected, rel=1e-3)
    gap = _values(table, "funding_gap_per_plan_real_gbp")
    assert gap[(gap["area_code"] == "314") & (gap["year"] == 2019)]["value"].iloc[0] == pytest.approx(0, abs=1e-6)
    # pounds for 2019-20..2021-22 (reconstructed) and 2023-24 (third party)
    assert set(_values(table, "dsg_deficit_pct_of_hnb")["year"]) == {2019, 2020, 2021, 2023}
    spend = _values(table, "hn_spend_pct_of_hnb")
    assert spend["value"].between(20, 250).all() and set(spend["year"]) <= set(range(2019, 2024))
    period = hnb[hnb["year"] == 2023]["period"].iloc[0]
    assert period == "2023-24"


def test_group_summary_n_adds_up_and_reports_medians_not_means():
    summary = group_summary("programme")
    assert {"n", "median", "q1", "q3", "small_n"} <= set(summary.columns) and "mean" not in summary.columns
    assert (summary["small_n"] == (summary["n"] < SMALL_N)).all()
    assert (summary["q1"] <= summary["median"]).all() and (summary["median"] <= summary["q3"]).all()
    members = groups()
    primary = set(members.loc[members["primary"], "area_code"])
    data = indicators()
    data = data[data["area_code"].isin(primary)]
    have = data.groupby(["indicator", "year"])["area_code"].nunique()
    totals = summary.groupby(["indicator", "year"])["n"].sum()
    pd.testing.assert_series_equal(totals.sort_index(), have.sort_index(), check_names=False)
    cohort = group_summary("cohort")
    latest = cohort[(cohort["indicator"] == "ehc_plans_index_2015") & (cohort["year"] == 2025)]
    assert latest.set_index("group").loc["SV 2023-24", "small_n"]


def test_group_trends_mark_each_cohort_entry():
    trends = group_trends("ehc_plans_index_2015")
    entries = trends[trends["entry"]]
    assert dict(zip(entries["group"], entries["year"], strict=True)) == {
        "SV 2020-21": 2021, "SV 2021-22": 2022, "SV 2022-23": 2023, "SV 2023-24": 2024}
    assert (trends[trends["year"] == 2015]["median"] == 100).all()
    money = group_trends("hnb_per_plan_real_gbp")
    assert set(money.loc[money["entry"], "year"]) == {2020, 2021, 2022, 2023}


def test_growth_before_and_after_entry():
    per_la = growth_before_after()
    assert len(per_la) == 36 and per_la["area_code"].is_unique
    kent = per_la[per_la["area_name"] == "Kent"].iloc[0]
    assert kent["entry_january"] == 2023 and kent["before_from_january"] == 2020
    index = plans_index(("la",))
    kent_index = index[index["area_code"] == "886"].set_index("january")["ehc_plans_index_2015"]
    expected = 100 * ((kent_index[2023] / kent_index[2020]) ** (1 / 3) - 1)
    assert kent["growth_before_pct_a_year"] == pytest.approx(expected)
    summary = growth_before_after_summary()
    assert list(summary["cohort"]) == ["2020-21", "2021-22", "2022-23", "2023-24"]
    assert summary["before_n"].sum() == 36 and summary.set_index("cohort").loc["2023-24", "small_n"]
    assert np.isfinite(summary["comparison_after_median"]).all()


def test_derived_group_summary_is_the_model_s_without_flagged_values():
    derived = load("group_summary")
    programme = derived[derived["grouping"] == "programme"].reset_index(drop=True)
    panel = load("indicators")
    unflagged = panel[panel["flag"].isna() & (panel["level"] == "la")].drop(columns=["flag", "level"])
    fresh = group_summary("programme", frame=unflagged)
    pd.testing.assert_frame_equal(programme[fresh.columns].reset_index(drop=True), fresh, check_dtype=False)
    everything = group_summary("programme").set_index(["group", "indicator", "year"])["n"]
    kept = programme.set_index(["group", "indicator", "year"])["n"]
    # Newham's January 2025 count (a count break) is in no group median
    assert kept.loc[("DBV", "ehc_plans_index_2015", 2025)] == everything.loc[("DBV", "ehc_plans_index_2015", 2025)] - 1


def test_command_compare_prints_and_writes_csv(capsys, tmp_path):
    assert command_compare(argparse.Namespace(csv=None)) == 0
    out = capsys.readouterr().out
    assert "Coverage: 36 of the 38" in out and "median" in out and "IQR" in out and "n < 5" in out
    path = tmp_path / "summary.csv"
    assert command_compare(argparse.Namespace(csv=str(path))) == 0
    written = pd.read_csv(path)
    assert set(written["grouping"]) == {"programme", "cohort"} and "mean" not in written.columns
