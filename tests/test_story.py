"""What the reports say: formatting, escaping, data-quality warnings and the wording of findings."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlib import display, formatting, story


@pytest.fixture
def shown(monkeypatch) -> list[str]:
    captured: list[str] = []
    monkeypatch.setattr(display, "_show", captured.append)
    return captured


def test_text_and_tables_are_escaped_but_bold_kept(shown):
    display.say("**Kent** <script>alert(1)</script> & co")
    display.table(pd.DataFrame({"Local authority": ["<img src=x onerror=alert(1)>"]}))
    display.heading("<b>London</b>")
    page = "".join(shown)
    assert "<script>" not in page and "<img src=x" not in page and "<b>London</b>" not in page
    assert "&lt;script&gt;" in page and "<strong>Kent</strong>" in page and "&amp; co" in page


@pytest.mark.parametrize("value, text", [(6.36e9, "£6.4bn"), (77.8e6, "£77.8m"), (-11.5e6, "-£11.5m"),
                                         (950e3, "£950k"), (None, "n/a"), (float("nan"), "n/a"),
                                         (2.345e9, "£2.3bn"), (999.96e6, "£1.0bn"), (400, "£400"), (999_600, "£1.0m")])
def test_money_is_written_the_way_a_reader_expects(value, text):
    assert formatting.money(value) == text


def test_data_flags_are_worded_for_the_areas_they_touch():
    assert story.data_warnings(["886"]) == []
    newham = " ".join(story.data_warnings(["316"]))
    assert "£53,074" in newham and "1,199 EHC plans in January 2025" in newham and "Left out:" in newham


def test_a_report_table_offers_the_rows_behind_it_as_csv(shown):
    rows = story.gap_for("E12000007", "region")
    display.table(story.gap_table(rows, "gap-london"))
    page = "".join(shown)
    assert 'download="gap-london.csv"' in page and "data:text/csv;charset=utf-8;base64," in page
    assert 'data-sort="' in page and 'data-sortable="true"' in page


def _effects(estimate: float, low: float, high: float) -> pd.DataFrame:
    return pd.DataFrame({"event_time": [-1, 0, 1], "estimate": [0, estimate, estimate],
                         "ci_low": [0, low, low], "ci_high": [0, high, high], "n_treated": [30, 30, 30]})


def test_effects_title_says_no_clear_difference_when_the_interval_covers_zero():
    assert story.effects_title(_effects(-0.03, -0.08, 0.02)).startswith("No clear difference")
    title = story.effects_title(_effects(-0.05, -0.08, -0.02))
    assert "fewer" in title and "excludes zero" in title


def test_region_findings_state_years_and_bases():
    findings = story.region_findings("E12000007")
    assert any("2019-20" in f for f in findings) and any("England" in f for f in findings)
    assert "London" in findings[0]


def test_la_briefing_has_the_six_questions_in_order():
    answers = story.la_briefing("886")
    assert [q.split(".")[0] for q, _ in answers] == ["1", "2", "3", "4", "5", "6"]
    assert "Safety Valve" in answers[0][1] and "£142.0m" in answers[0][1]
    assert "NHS" in answers[5][1]


def test_comparison_table_places_the_la_against_its_region_england_group_and_neighbours():
    table = story.comparison_table("886").frame()
    assert {"This LA", "Region", "England", "Statistical neighbours (median)"} <= set(table.columns)
    assert (table["Statistical neighbours (median)"].str.contains("n=10")).any()
