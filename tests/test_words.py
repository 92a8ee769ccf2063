"""Words match numbers: every figure a key-findings sentence states is the figure of the table it summarises,
under the definition (lens) the sentence names."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sendlib import formatting as fmt
from sendlib import story
from sendlib.data import load
from sendlib.geography import ENGLAND_CODE

MONEY = re.compile(r"-?£[\d,]+(?:\.\d+)?(?:bn|m|k)?")
REGIONS = sorted(load("areas").query("level == 'region'")["area_code"])


def money_in(sentence: str) -> set[str]:
    """Return every amount of money written in a sentence."""
    return set(MONEY.findall(sentence))


def rows(level: str, code: str, lens: str) -> pd.DataFrame:
    """Return the derived gap rows of one area under one lens, by financial year."""
    gap = load("gap")
    return gap[(gap["level"] == level) & (gap["area_code"] == code) & (gap["lens"] == lens)].set_index(
        "financial_year")


@pytest.mark.parametrize("region", REGIONS)
def test_region_key_findings_state_the_figures_of_the_lens_they_name(region):
    findings = story.region_findings(region)
    own, rate = rows("region", region, "own_base"), rows("region", region, "area_rate")
    national, england = rows("region", region, "national_rate"), rows("england", ENGLAND_CODE, "area_rate")
    fy = own.dropna(subset=["necessary_gbp"]).index.max()
    base = rate["base_year"].iloc[0]

    sum_of_councils = findings[0]
    assert "each council's own" in sum_of_councils and "the sum of its councils' gaps" in sum_of_councils
    assert money_in(sum_of_councils) == {fmt.money(own.loc[fy, c]) for c in ("actual_gbp", "necessary_gbp", "gap_gbp")}
    # the figures are really a sum over the councils' own-base rows (the table the sentence summarises)
    las = load("gap").query("level == 'la' and lens == 'own_base' and financial_year == @fy")
    regions = load("areas").set_index("area_code")["region_code"]
    mine = las[las["area_code"].str.split("+").str[0].map(regions) == region]
    assert mine["gap_gbp"].sum() == pytest.approx(own.loc[fy, "gap_gbp"])

    regional = findings[1]
    assert "region's own" in regional
    assert money_in(regional) == {fmt.pounds(rate.loc[base, "actual_per_plan_gbp"]), fmt.money(rate.loc[fy, "gap_gbp"])}
    assert f"{rate.loc[fy, 'real_per_plan_index']:.1f}%" in regional
    assert f"{england.loc[fy, 'real_per_plan_index']:.1f}%" in regional
    assert rate.loc[fy, "actual_per_plan_gbp"] == pytest.approx(rate.loc[fy, "actual_gbp"] / rate.loc[fy, "ehc_plans"])

    at_national = findings[2]
    assert "England's 2015-16" in at_national
    assert money_in(at_national) == {fmt.pounds(national.loc[fy, "base_rate_gbp"]),
                                     fmt.money(national.loc[fy, "necessary_gbp"]), fmt.money(national.loc[fy, "gap_gbp"])}


def test_london_regional_rate_is_not_the_sum_of_councils():
    """The defect the issue found: £278m was the sum of councils, not the gap at the stated regional rate."""
    findings = story.region_findings("E12000007")
    assert money_in(findings[0]) & money_in(findings[1]) == set()


def test_england_key_findings_match_the_england_table():
    findings = story.england_findings()
    model = rows("england", ENGLAND_CODE, "own_base").dropna(subset=["necessary_gbp"])
    last, base = model.iloc[-1], model.iloc[0]
    assert money_in(findings[0]) == {fmt.money(last["actual_gbp"]), fmt.pounds(base["actual_per_plan_gbp"]),
                                     fmt.money(last["necessary_gbp"]), fmt.money(last["gap_gbp"])}
    assert fmt.count(last["ehc_plans"]) in findings[0]
    summary = story.gap_summary_for(ENGLAND_CODE, "england")
    assert money_in(findings[3]) == {fmt.money(summary["cumulative_gap_real_gbp"])}
    assert summary["cumulative_gap_real_gbp"] == pytest.approx(model["gap_real_gbp"].sum())


@pytest.mark.parametrize("code", ["886", "316", "838"])
def test_la_lens_lines_state_the_figures_of_their_lens(code):
    lines = story.la_headline_lines(code)
    for lens, r in story.lens_rows(code, "la").set_index("lens").iterrows():
        line = next(x for x in lines if x.startswith(story.LENS_NAMES[lens]))
        assert fmt.pounds(r["base_rate_gbp"]) in line and f"{r['latest_real_per_plan_index']:.1f}" in line
        assert fmt.money(abs(r["latest_gap_gbp"])) in line and fmt.money(abs(r["cumulative_gap_gbp"])) in line
