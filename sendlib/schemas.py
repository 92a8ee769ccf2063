"""One schema per processed table: columns in order, types, missing-value rules, ranges and the key, and the
plausibility rules the model relies on (checked wherever sendlib.data reads a table, once per process).

Column rules: a `positive` column holds numbers strictly above zero (the model divides by it: a zero plan count
would give an infinite rate per plan); no float column holds an infinite value.

Table rules (`Schema.checks`, each `check(frame, schema, context)` raising DataValidationError):
* every year the model needs is present: periods contiguous (national_series from 2015-16, deflators, ehcp,
  high_needs_block), England and every region in each period, and national_series not ending before the
  latest GDP deflator year (else the price year would move without a word);
* a region's and England's rows are the sum of their councils where the source guarantees it (ehcp counts,
  high_needs_block), with the stated exceptions reused from the build (suppressions.csv: a council value
  suppressed or absent; MANIFEST.json corrections); every council counted in a period has its row.

A table that differs from its manifest is used only when the researcher allows it (--allow-modified-data); an
edited value is then taken as the experiment it is (the sums are not compared, every output says the data are
modified), but deleted or added rows are still an error: the councils of a region must all be there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sendlib.errors import DataValidationError
from sendlib.periods import ENGLAND_CODE, existed_in_financial_year, fy_label, fy_start

LEVELS = ("la", "region", "england")
FY_PATTERN = r"^\d{4}-\d{2}$"
AREA_PATTERN = r"^(\d{3}|E\d{8})$"
STATUSES = ("official", "derived-official", "derived-third-party", "derived-reconstruction", "secondary", "compiled")
SUPPRESSION_SYMBOLS = ("x", "z", "c", ":", "..", "-", "u", "low", "~", "(blank)", "row absent")


@dataclass(frozen=True)
class Column:
    """One column: kind is str | int | float; `nullable` allows missing values."""

    name: str
    kind: str
    nullable: bool = True
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    description: str = ""
    positive: bool = False  # strictly above zero: the model divides by it


@dataclass(frozen=True)
class Schema:
    """A table's columns (in order), its key, and what one row is."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    row: str
    checks: tuple = field(default_factory=tuple)
    layer: str = "processed"
    description: str = ""

    @property
    def names(self) -> list[str]:
        """Return the column names in order."""
        return [c.name for c in self.columns]

    def dtypes(self) -> dict[str, str]:
        """Return the pandas dtypes used to read the CSV."""
        return {c.name: {"str": "string", "int": "Int64", "float": "float64", "bool": "boolean"}[c.kind]
                for c in self.columns}


def _area(extra: tuple[Column, ...] = ()) -> tuple[Column, ...]:
    """Return the area_code and level columns every area table starts with."""
    return (Column("area_code", "str", False, pattern=AREA_PATTERN, description="3-digit DfE LA code, E12 region or E92000001"),
            Column("level", "str", False, allowed=LEVELS)) + extra


def _count(name: str, description: str = "", nullable: bool = True, positive: bool = False) -> Column:
    """Return a non-negative integer column (strictly positive with `positive`: the model divides by it)."""
    return Column(name, "int", nullable, minimum=0, description=description, positive=positive)


def _gbp(name: str, description: str = "", nullable: bool = True, minimum: float | None = 0,
         positive: bool = False) -> Column:
    """Return a money column in pounds (strictly positive with `positive`: the model divides by it)."""
    return Column(name, "int", nullable, minimum=minimum, description=description + " (GBP)", positive=positive)


def _fy(name: str = "financial_year") -> Column:
    """Return a financial-year label column like '2019-20'."""
    return Column(name, "str", False, pattern=FY_PATTERN)


SCHEMAS: dict[str, Schema] = {s.name: s for s in [
    Schema("areas", (
        Column("area_code", "str", False, pattern=AREA_PATTERN),
        Column("ons_code", "str", False, pattern=r"^E\d{8}$"),
        Column("area_name", "str", False),
        Column("level", "str", False, allowed=LEVELS),
        Column("region_code", "str", True, pattern=r"^E12\d{6}$"),
        Column("region_name", "str", True),
        Column("first_year", "int", False, 2010, 2100, description="first January the area was counted"),
        Column("last_year", "int", False, 2010, 2100, description="last January the area was counted"),
        Column("successor_codes", "str", True, pattern=r"^\d{3}(;\d{3})*$"),
        Column("former_ons_codes", "str", True, pattern=r"^E\d{8}(;E\d{8})*$"),
        Column("aliases", "str", True),
    ), ("area_code",), "one area (LA since 2015, region or England)"),
    Schema("ehcp", _area((
        Column("january", "int", False, 2010, 2100, description="year of the January count"),
        _count("ehc_plans", "statements + EHC plans to 2018, EHC plans from 2019; missing where suppressed "
                            "(suppressions.csv says why)", positive=True),
        Column("flows_calendar_year", "int", False, 2009, 2100),
        _count("new_plans"), _count("ceased_plans", "EHC plans ceased in flows_calendar_year"),
        _count("requests"), _count("requests_refused"), _count("requests_agreed_to_assess"),
        _count("plans_issued", "EHC plans issued, timeliness denominator, including exceptions"),
        _count("plans_issued_within_20_weeks", "including exceptions"),
        Column("within_20_weeks_incl_exceptions_pct", "float", True, 0, 100,
               description="% issued within 20 weeks, including exceptions"),
        _count("plans_issued_excl_exceptions", "timeliness denominator excluding exceptions"),
        _count("plans_issued_within_20_weeks_excl_exceptions", "excluding exceptions"),
        Column("within_20_weeks_pct", "float", True, 0, 100,
               description="% issued within 20 weeks excluding exceptions (DfE's headline)"),
        _count("placement_mainstream"), _count("placement_state_special"), _count("placement_independent_special"),
        _count("placement_post16"), _count("placement_other"),
        Column("caseload_source", "str", False), Column("flows_source", "str", True),
    )), ("area_code", "january"), "one area and January"),
    Schema("high_needs_block", _area((
        _fy(), _gbp("hnb_before_deductions_gbp", nullable=False, positive=True),
        _gbp("hnb_after_deductions_gbp", nullable=False, positive=True),
        Column("source_release", "str", False),
    )), ("area_code", "financial_year"), "one area and financial year"),
    Schema("national_series", (
        _fy(), _gbp("hnb_gbp", "England high needs block; missing where not in hand", positive=True),
        Column("hnb_status", "str", False,
               allowed=("allocation", "parliamentary-answer", "statement", "not in hand")),
        Column("hnb_source", "str", False), Column("hnb_source_url", "str", False),
        Column("january", "int", False, 2010, 2100), _count("ehc_plans_january", positive=True),
        Column("gdp_deflator", "float", True, 1, 1000, positive=True),
    ), ("financial_year",), "one financial year, England"),
    Schema("deflators", (
        _fy(), Column("gdp_deflator", "float", True, 1, 1000, description="ONS YBGB, mean of Q2..Q1, outturn",
                      positive=True),
        Column("cpih", "float", True, 1, 1000, positive=True),
        Column("vintage", "str", False), Column("cpih_vintage", "str", False),
        Column("hmt_gdp_deflator", "float", True, 1, 1000,
               description="HM Treasury financial-year GDP deflator (not used by the model)"),
        Column("hmt_gdp_deflator_status", "str", True, allowed=("outturn", "forecast")),
        Column("hmt_vintage", "str", False),
    ), ("financial_year",), "one financial year"),
    Schema("programmes", (
        Column("area_code", "str", False, pattern=r"^\d{3}$"), Column("area_name", "str", False),
        Column("programme", "str", False, allowed=("safety_valve", "dbv")),
        Column("cohort", "str", False, pattern=r"^(\d{4}-\d{2}|tranche [1-3])$"),
        _gbp("dfe_amount_gbp"), Column("confidence", "str", False, allowed=("high", "medium", "low")),
        Column("source", "str", False), Column("amount_source", "str", True), Column("amount_note", "str", True),
        Column("confidence_note", "str", True), Column("notes", "str", True),
    ), ("area_code", "programme"), "one LA and programme"),
    Schema("dsg_balance", _area((
        _fy(), _gbp("cumulative_deficit_gbp", "positive = deficit", minimum=None),
        Column("gbp_status", "str", True, allowed=STATUSES), Column("gbp_source", "str", True),
        _gbp("gbp_rounding_bound_gbp", "the pounds figure is exact to +/- this"),
        Column("cumulative_deficit_pct_of_income", "float", True, -100, 100),
        Column("pct_status", "str", True, allowed=STATUSES), Column("pct_source", "str", True),
    )), ("area_code", "financial_year"), "one area and financial year"),
    Schema("high_needs_spend", _area((
        _fy(), _gbp("hn_net_spend_gbp", "s251 net high-needs spend, lines 1.2.x", minimum=None),
        Column("status", "str", False, allowed=STATUSES), Column("source", "str", False),
    )), ("area_code", "financial_year"), "one area and financial year"),
    Schema("population", _area((
        Column("mid_year", "int", False, 2000, 2100), _count("population_all_ages", nullable=False, positive=True),
        _count("population_0_25", positive=True), _count("population_2_18", positive=True),
        Column("source", "str", False),
    )), ("area_code", "mid_year"), "one area and mid-year"),
    Schema("context", _area((
        Column("indicator", "str", False), Column("period", "str", False), Column("value", "float", True),
        Column("unit", "str", False), Column("description", "str", True),
        Column("status", "str", False, allowed=STATUSES),
    )), ("area_code", "indicator", "period"), "one area, indicator and period"),
    Schema("suppressions", (
        Column("table", "str", False), Column("area_code", "str", False, pattern=AREA_PATTERN),
        Column("level", "str", False, allowed=LEVELS),
        Column("period", "str", False, description="the table's period key (ehcp: the January)"),
        Column("period_label", "str", False, description="what the value covers: 'January 2026', 'calendar year 2025'"),
        Column("column", "str", False), Column("symbol", "str", False, allowed=SUPPRESSION_SYMBOLS),
        Column("meaning", "str", False), Column("source", "str", False, description="registered input(s)"),
        Column("source_column", "str", True, description="the official column(s) holding the symbol"),
        Column("release", "str", False),
    ), ("table", "area_code", "period", "column"), "one value of a processed table that an input suppressed or left out"),
    Schema("statistical_neighbours", (
        Column("area_code", "str", False, pattern=r"^\d{3}$"), Column("rank", "int", False, 1, 10),
        Column("neighbour_code", "str", False, pattern=r"^\d{3}$"), Column("closeness", "str", True),
    ), ("area_code", "rank"), "one LA and neighbour rank"),
    Schema("hex_layout", (
        Column("area_code", "str", False, pattern=r"^\d{3}$"), Column("ons_code", "str", False, pattern=r"^E\d{8}$"),
        Column("area_name", "str", False),
        Column("q", "int", False, -1000, 1000, description="hex column (odd-r layout: odd rows sit half a hex right)"),
        Column("r", "int", False, -1000, 1000, description="hex row, 0 at the bottom"),
        Column("position_source", "str", False, allowed=("hexjson", "hexjson-former-code", "placement")),
        Column("position_note", "str", True, description="the former ONS code matched, or the placement's reason"),
    ), ("area_code",), "one current LA and its hex on the map"),
]}

TABLES = tuple(SCHEMAS)  # the processed tables (data/processed)

# ----------------------------------------------------------------------------------------- derived tables

UNIT_PATTERN = r"^(\d{3}(\+\d{3})*|E\d{8})$"
LENS_VALUES = ("own_base", "national_rate", "area_rate")


def _s(name: str, nullable: bool = True, **kw) -> Column:
    """Return a text column."""
    return Column(name, "str", nullable, **kw)


def _f(name: str, nullable: bool = True, **kw) -> Column:
    """Return a float column."""
    return Column(name, "float", nullable, **kw)


def _i(name: str, nullable: bool = True, **kw) -> Column:
    """Return a whole-number column."""
    return Column(name, "int", nullable, **kw)


def _b(name: str, nullable: bool = False) -> Column:
    """Return a True/False column."""
    return Column(name, "bool", nullable)


def _money(name: str, nullable: bool = True) -> Column:
    """Return a GBP column (pounds, to the penny; may be negative)."""
    return Column(name, "float", nullable, description="GBP")


def _d(name: str, columns: tuple[Column, ...], key: tuple[str, ...], row: str, description: str) -> Schema:
    """Return a derived table's schema."""
    return Schema(name, columns, key, row, layer="derived", description=description)


_GAP_VALUES = (
    _s("base_year", pattern=FY_PATTERN), _s("base_area_code", pattern=UNIT_PATTERN), _money("base_rate_gbp"),
)
DERIVED_SCHEMAS: dict[str, Schema] = {s.name: s for s in [
    _d("gap", (
        _s("level", False, allowed=LEVELS), _s("area_code", False, pattern=UNIT_PATTERN), _s("area_name", False),
        _s("lens", False, allowed=LENS_VALUES), _s("financial_year", False, pattern=FY_PATTERN),
        _i("january", minimum=2010, maximum=2100), _i("ehc_plans", minimum=0, positive=True), _money("actual_gbp"),
        _money("necessary_gbp"), _money("gap_gbp"), _money("actual_per_plan_gbp"), _money("necessary_per_plan_gbp"),
        _f("real_per_plan_index"), *_GAP_VALUES, _s("deflator", False), _s("prices", False),
        _money("actual_real_gbp"), _money("necessary_real_gbp"), _money("gap_real_gbp"),
    ), ("level", "area_code", "lens", "financial_year"), "one area, lens and financial year",
        "necessary versus actual high needs funding (sendlib.funding.gap) for England, every region and every LA "
        "under each lens; real terms in the latest deflator year's prices"),
    _d("gap_summary", (
        _s("level", False, allowed=LEVELS), _s("area_code", False, pattern=UNIT_PATTERN), _s("area_name", False),
        _s("lens", False, allowed=LENS_VALUES), *_GAP_VALUES, _s("first_year", False, pattern=FY_PATTERN),
        _s("latest_year", False, pattern=FY_PATTERN), _money("latest_actual_gbp"), _money("latest_necessary_gbp"),
        _money("latest_gap_gbp"), _money("latest_gap_real_gbp"), _money("latest_actual_per_plan_gbp"),
        _money("latest_necessary_per_plan_gbp"), _f("latest_real_per_plan_index"), _i("latest_ehc_plans", minimum=0),
        _money("cumulative_gap_gbp"), _money("cumulative_gap_real_gbp"), _s("prices", False), _s("deflator", False),
    ), ("level", "area_code", "lens"), "one area and lens",
        "each area's base, latest year with necessary funding, and the gap summed from its base year"),
    _d("sensitivity", (
        _s("variant_id", False), _s("variant", False), _s("financial_year", False, pattern=FY_PATTERN),
        _money("actual_gbp"), _money("necessary_gbp"), _money("gap_gbp"), _money("gap_real_gbp"),
        _f("real_per_plan_index"), _s("base_year", False, pattern=FY_PATTERN), _s("deflator", False),
        _i("lag", False, minimum=0, maximum=1), _s("numerator", False), _s("prices", False),
        _money("gap_difference_from_baseline_gbp"),
    ), ("variant_id", "financial_year"), "one model variant and financial year (England)",
        "the England model with each choice changed in turn"),
    _d("projection", (
        _s("level", False, allowed=LEVELS), _s("area_code", False, pattern=UNIT_PATTERN), _s("area_name", False),
        _i("january", False), _s("financial_year", False, pattern=FY_PATTERN), _f("ehc_plans_projected", False),
        _f("ehc_plans_low", False), _f("ehc_plans_high", False), _money("necessary_gbp", False),
        _money("necessary_low_gbp", False), _money("necessary_high_gbp", False), _s("prices", False),
        _f("annual_growth_pct", False), _s("fitted_januaries", False), _s("label", False, allowed=("projection",)),
    ), ("area_code", "january"), "one area and future January",
        "a labelled PROJECTION (not a forecast) of EHC plans and necessary funding at constant prices"),
    _d("indicators", (
        _s("area_code", False, pattern=AREA_PATTERN), _i("year", False), _s("period", False),
        _s("indicator", False), _f("value", False), _s("unit", False), _s("level", False, allowed=LEVELS),
        _s("flag", allowed=("count_break", "unusual_base")),
    ), ("area_code", "indicator", "year"), "one area, indicator and year",
        "the indicator panel of every LA, region and England (see indicator_catalogue for units and years); `flag` "
        "names the data flag that leaves a value out of the group medians and comparisons"),
    _d("indicator_catalogue", (
        _s("name", False), _s("label", False), _s("unit", False), _s("year", False), _s("source", False),
        _s("caveat", False),
    ), ("name",), "one indicator", "what each indicator measures, its unit, what its year means, source, caveat"),
    _d("groups", (
        _s("area_code", False, pattern=r"^\d{3}$"), _s("area_name", False), _s("region_code", False),
        _s("region_name", False), _s("group", False), _s("programme_group", False), _s("cohort"),
        _s("confidence"), _b("primary"), _s("sv_cohort"), _s("deficit_financial_year"), _s("deficit_measure"),
    ), ("area_code",), "one current LA", "programme status and comparison group of every current LA"),
    _d("programme_status", (
        _s("area_code", False, pattern=r"^\d{3}$"), _s("area_name", False),
        _s("programme", False, allowed=("safety_valve", "dbv")), _s("cohort", False),
        _i("dfe_amount_gbp", minimum=0, description="GBP"),
        _s("confidence", False, allowed=("high", "medium", "low")), _b("primary"), _s("counted_from"),
        _s("counted_until"), _s("source", False), _s("amount_source"), _s("amount_note"), _s("confidence_note"),
        _s("notes"),
    ), ("area_code", "programme"), "one LA and programme", "every Safety Valve and DBV entry with its source"),
    _d("programme_overview", (
        _s("region_code", False), _s("region_name", False), _i("sv_las", False),
        _i("sv_dfe_amount_gbp", False, minimum=0, description="GBP"),
        _i("sv_amounts_known", False), _i("sv_amounts_unknown", False), _s("sv_names"), _i("dbv_las", False),
        _i("dbv_dfe_amount_gbp", False, minimum=0, description="GBP"), _i("dbv_amounts_known", False),
        _i("dbv_amounts_unknown", False),
        _s("dbv_names"), _s("low_confidence_las"),
    ), ("region_code",), "one region (and England)", "Safety Valve and DBV councils and DfE money per region"),
    _d("programme_coverage", (
        _s("programme", False), _s("cohort", False), _i("identified", False), _i("announced", False),
        _i("medium_confidence", False), _i("low_confidence", False), _s("low_confidence_names"),
    ), ("programme", "cohort"), "one programme and cohort",
        "how many of the announced agreements and DBV councils the programme table identifies"),
    _d("group_summary", (
        _s("grouping", False, allowed=("programme", "cohort")), _s("group", False), _s("indicator", False),
        _s("unit", False), _i("year", False), _s("period", False), _i("n", False), _f("median"), _f("q1"),
        _f("q3"), _b("small_n"), _i("group_rank"), _s("entry_financial_year"), _b("entry"),
    ), ("grouping", "group", "indicator", "year"), "one grouping, group, indicator and year",
        "medians and interquartile ranges of current LAs in primary groups (n < 5 marked small_n)"),
    _d("growth_before_after", (
        _s("area_code", False, pattern=r"^\d{3}$"), _s("area_name", False), _s("cohort", False),
        _i("entry_january", False), _i("before_from_january", False), _f("growth_before_pct_a_year"),
        _i("after_to_january", False), _f("growth_after_pct_a_year"), _f("change_pp"),
    ), ("area_code",), "one Safety Valve LA",
        "EHC plan growth (% a year) before and after the last January count before the agreement"),
    _d("growth_before_after_summary", (
        _s("cohort", False), _i("entry_january", False), _s("before", False), _s("after", False),
        _i("before_n", False), _f("before_median"), _f("before_q1"), _f("before_q3"), _i("after_n", False),
        _f("after_median"), _f("after_q1"), _f("after_q3"), _i("change_n", False), _f("change_median"),
        _f("change_q1"), _f("change_q3"), _i("comparison_n", False), _f("comparison_before_median"),
        _f("comparison_after_median"), _b("small_n"),
    ), ("cohort",), "one Safety Valve cohort", "growth before and after by cohort against councils in neither"),
    _d("la_summary", (
        _s("area_code", False, pattern=r"^\d{3}$"), _s("area_name", False), _s("region_code"), _s("region_name"),
        _b("current"), _i("last_january", False), _s("successor_codes"), _s("group"), _s("programme_group"),
        _b("primary", True), _i("ehc_plans_latest", minimum=0), _i("ehc_plans_january"), _i("ehc_plans_2015"),
        _f("growth_since_2015_pct"), _i("growth_to_january"), _s("growth_basis"),
        _f("ehc_plans_per_1000_aged_0_25"), _i("per_1000_january"), _f("england_ehc_plans_per_1000_aged_0_25"),
        _money("hnb_gbp"), _s("hnb_financial_year"), _s("model_note"), _money("deficit_gbp"),
        _s("deficit_financial_year"), _s("deficit_status"), _f("deficit_pct_of_hnb"),
        _f("dsg_balance_pct_of_dsg_income"), _s("dsg_balance_pct_financial_year"), _s("dsg_balance_pct_status"),
    ), ("area_code",), "one LA since 2015", "each LA's headline numbers (the funding model's are in gap_summary)"),
    _d("la_comparison", (
        _s("area_code", False, pattern=r"^\d{3}$"), _s("indicator", False), _i("year", False), _s("period", False),
        _s("unit", False), _f("value"), _s("flag"), _f("region_value"), _f("england_value"), _s("group"),
        _f("group_median"),
        _i("group_n", False), _f("neighbours_median"), _i("neighbours_n", False),
    ), ("area_code", "indicator"), "one current LA and indicator",
        "each LA's latest value against its region, England, its group and its statistical neighbours"),
    _d("flags", (
        _s("area_code", False, pattern=AREA_PATTERN), _s("level", False, allowed=LEVELS),
        _s("code", False, allowed=("count_break", "unusual_base", "joined_base")),
        _s("period_kind", False, allowed=("january", "financial_year")), _i("year", False), _s("period", False),
        _f("value"), _f("expected"), _s("message", False), _s("rule", False), _s("excludes", False),
    ), ("area_code", "code", "year"), "one flagged area, rule and year",
        "data flags by rule (sendlib.flags): count breaks, unusual bases, joined bases"),
    _d("event_study", (
        _s("outcome", False), _s("comparison", False), _s("sample", False), _i("event_time", False),
        _f("estimate", False), _f("se", False), _f("ci_low", False), _f("ci_high", False), _i("n_treated", False),
    ), ("outcome", "comparison", "sample", "event_time"), "one outcome, comparison, sample and event time",
        "Sun-Abraham event-study estimates of Safety Valve agreements (outcome units)"),
    _d("event_study_tests", (
        _s("outcome", False), _s("comparison", False), _s("sample", False), _s("outcome_description", False),
        _s("unit", False), _s("timing", False), _i("n_units", False), _i("n_treated_units", False),
        _i("n_observations", False), _i("first_january", False), _i("last_january", False),
        _s("pretrend_event_times"), _f("pretrend_f"), _i("pretrend_df_num"), _i("pretrend_df_denom"),
        _f("pretrend_p"), _s("excluded_observations"),
    ), ("outcome", "comparison", "sample"), "one outcome, comparison and sample",
        "what each event study rests on and its pre-trend F test"),
    _d("event_study_units", (
        _s("outcome", False), _s("comparison", False), _s("sample", False),
        _s("role", False, allowed=("treated", "comparison", "dropped")), _s("reason"), _s("reason_description"),
        _s("unit", False, pattern=UNIT_PATTERN), _s("unit_name", False), _s("cohort"), _i("first_treated"),
    ), ("outcome", "comparison", "sample", "unit"), "one outcome, comparison, sample and unit",
        "the treated, comparison and dropped units of each event study"),
]}
DERIVED = tuple(DERIVED_SCHEMAS)  # the derived tables (data/derived)
SCHEMAS.update(DERIVED_SCHEMAS)


def _first(mask: pd.Series) -> int:
    """Return the position of the first True in a boolean series."""
    return int(np.flatnonzero(mask.to_numpy(dtype=bool))[0])


def _where(frame: pd.DataFrame, schema: Schema, position: int) -> str:
    """Return ' (area_code '202', financial_year '2023-24')': the key of the row at a position."""
    row = frame.iloc[position]
    return " (" + ", ".join(f"{k} {row[k]!r}" if isinstance(row[k], str) else f"{k} {row[k]}" for k in schema.key
                            if k in frame.columns) + ")"


def _error(schema: Schema, problem: str) -> DataValidationError:
    """Return the error naming the table (and its folder) for a problem."""
    return DataValidationError(schema.name, problem, schema.layer)


def conform(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Return the frame with exactly the schema's columns, in order, converted to the schema's dtypes."""
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        raise _error(schema, f"missing column(s) {missing}")
    out = frame[schema.names].copy()
    for column in schema.columns:
        values = out[column.name]
        if column.kind == "str":
            out[column.name] = values.astype("string").replace({"": pd.NA, "nan": pd.NA})
        elif column.kind == "bool":
            text = values.astype("string").str.strip().str.lower()
            mapped = text.map({"true": True, "false": False, "1": True, "0": False}, na_action="ignore")
            if mapped.isna().sum() > text.isna().sum():
                raise _error(schema, f"column {column.name!r} holds values other than True/False")
            out[column.name] = mapped.astype("boolean")
        elif column.kind == "int":
            numeric = pd.to_numeric(values, errors="coerce")
            if ((numeric.dropna() % 1) != 0).any():
                raise _error(schema, f"column {column.name!r} holds non-whole numbers")
            out[column.name] = numeric.astype("Int64")
        else:
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
    return out


def validate(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Return the frame if it matches the schema; raise DataValidationError naming the column and row otherwise."""
    if list(frame.columns) != schema.names:
        raise _error(schema, f"columns are {list(frame.columns)}, expected {schema.names}")
    for column in schema.columns:
        values = frame[column.name]
        present = values.dropna()
        if not column.nullable and len(present) != len(values):
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise _error(schema, f"column {column.name!r} is missing at row {row + 2}")
        if column.allowed is not None:
            bad = present[~present.isin(column.allowed)]
            if not bad.empty:
                raise _error(schema, f"column {column.name!r} holds {bad.iloc[0]!r}, "
                                                       f"expected one of {list(column.allowed)}")
        if column.pattern is not None:
            regex = re.compile(column.pattern)
            bad = present[~present.astype(str).map(lambda v, r=regex: bool(r.match(v)))]
            if not bad.empty:
                raise _error(schema, f"column {column.name!r} holds {bad.iloc[0]!r}, "
                                                       f"expected the pattern {column.pattern}")
        if column.minimum is not None and (present < column.minimum).any():
            raise _error(schema, f"column {column.name!r} holds {present.min()}, "
                                                   f"below the minimum {column.minimum}")
        if column.maximum is not None and (present > column.maximum).any():
            raise _error(schema, f"column {column.name!r} holds {present.max()}, "
                                                   f"above the maximum {column.maximum}")
        if column.kind == "float" and np.isinf(present.to_numpy(dtype="float64")).any():
            row = _first(values.map(lambda v: bool(np.isinf(v)) if pd.notna(v) else False))
            raise _error(schema, f"column {column.name!r} holds {values.iloc[row]} at row {row + 2}"
                                 f"{_where(frame, schema, row)}, expected a finite number")
        if column.positive and (present <= 0).any():
            row = _first(values.fillna(1) <= 0)
            raise _error(schema, f"column {column.name!r} holds {values.iloc[row]} at row {row + 2}"
                                 f"{_where(frame, schema, row)}, expected a number above zero (the model divides by "
                                 "it; a value not known is left empty)")
    repeated = frame[frame.duplicated(list(schema.key), keep=False)]
    if not repeated.empty:
        raise _error(schema, f"key {list(schema.key)} repeats: "
                                               f"{repeated[list(schema.key)].iloc[0].to_dict()}")
    return frame


# ----------------------------------------------------------------------------------------- table rules

#: The first financial year of the England model (its base year): national_series must start there.
MODEL_FIRST_YEAR = "2015-16"
#: How to put a damaged table right (named in every table-rule error).
RESTORE = ("restore it (`git checkout -- data/processed`) or rebuild it (`sendlib data build`); "
           "`sendlib data check` lists what differs")


@dataclass(frozen=True)
class TableContext:
    """What a table rule may use besides the table: other tables of its folder (validated), the table's
    MANIFEST.json entry, and whether the table differs from it (allowed by the researcher)."""

    related: Callable[[str], pd.DataFrame]
    manifest: Mapping = field(default_factory=dict)
    modified: bool = False


def check_table(frame: pd.DataFrame, schema: Schema, context: TableContext) -> pd.DataFrame:
    """Return the frame if it passes its table rules (schema.checks); raise DataValidationError otherwise."""
    for rule in schema.checks:
        rule(frame, schema, context)
    return frame


def _period_start(value: object) -> int:
    """Return the year a period starts: 2019 for '2019-20', 2019 for the January 2019."""
    return fy_start(str(value)) if isinstance(value, str) else int(value)


def _period_label(start: int, like: object) -> str:
    """Return a period in the form of `like`: '2019-20' for a financial year, '2019' for a January."""
    return fy_label(start) if isinstance(like, str) else str(start)


def contiguous_periods(column: str, first: str | None = None) -> Callable:
    """Return a rule: the periods of `column` run without a gap (and start at `first` when given)."""

    def rule(frame: pd.DataFrame, schema: Schema, context: TableContext) -> None:
        values = sorted(set(frame[column].dropna().tolist()), key=_period_start)
        if not values:
            raise _error(schema, f"no rows: every year the model needs must be present; {RESTORE}")
        if first is not None and values[0] != first:
            raise _error(schema, f"{column} starts at {values[0]}, expected {first} (the model's first year); "
                                 f"{RESTORE}")
        starts = {_period_start(v) for v in values}
        lacking = [_period_label(y, values[0]) for y in range(min(starts), max(starts) + 1) if y not in starts]
        if lacking:
            raise _error(schema, f"{column} has no row for {', '.join(lacking)} (between {values[0]} and "
                                 f"{values[-1]}): every year the model needs must be present; {RESTORE}")

    return rule


def contiguous_values(period: str, columns: tuple[str, ...]) -> Callable:
    """Return a rule: each column has values in one unbroken run of periods (no year missing in the middle)."""

    def rule(frame: pd.DataFrame, schema: Schema, context: TableContext) -> None:
        for column in columns:
            have = sorted(_period_start(v) for v in frame.loc[frame[column].notna(), period])
            lacking = [y for y in range(have[0], have[-1] + 1) if y not in set(have)] if have else []
            if lacking:
                like = frame[period].iloc[0]
                raise _error(schema, f"{column} is missing for {', '.join(_period_label(y, like) for y in lacking)}, "
                                     f"inside the years it covers ({_period_label(have[0], like)} to "
                                     f"{_period_label(have[-1], like)}); {RESTORE}")

    return rule


def national_series_pairing(frame: pd.DataFrame, schema: Schema, context: TableContext) -> None:
    """Rule: each year's January is the one before it starts, and the series reaches the latest GDP deflator year
    (else the model's price year would move to the series' last year without a word)."""
    starts = frame["financial_year"].map(fy_start)
    moved = frame[frame["january"] != starts]
    if not moved.empty:
        row = moved.iloc[0]
        raise _error(schema, f"financial year {row['financial_year']} is paired with January {row['january']}, "
                             f"expected January {fy_start(row['financial_year'])} (the January before the year "
                             f"starts); {RESTORE}")
    deflators = context.related("deflators")
    published = deflators.dropna(subset=["gdp_deflator"])["financial_year"]
    if published.empty:
        return
    latest = max(published, key=fy_start)
    last = max(frame["financial_year"], key=fy_start)
    if fy_start(last) < fy_start(latest):
        raise _error(schema, f"the series ends at {last}, but the GDP deflator (deflators.csv) runs to {latest}: "
                             f"the years after {last} are missing, and the model's price year would move; {RESTORE}")


def areas_every_period(period: str, value: str | None = None) -> Callable:
    """Return a rule: England and every region have a row in each period that has council rows (and, with
    `value`, England's row has that value: the model divides by it)."""

    def rule(frame: pd.DataFrame, schema: Schema, context: TableContext) -> None:
        areas = context.related("areas")
        wanted = [ENGLAND_CODE] + sorted(areas.loc[areas["level"] == "region", "area_code"])
        periods = sorted(set(frame.loc[frame["level"] == "la", period]), key=_period_start)
        have = set(zip(frame["area_code"].tolist(), frame[period].tolist(), strict=True))
        for when in periods:
            lacking = [code for code in wanted if (code, when) not in have]
            if lacking:
                raise _error(schema, f"{period} {when} has no row for {', '.join(lacking)}: every region and England "
                                     f"must be present in each year; {RESTORE}")
        if value is not None:
            england = frame[(frame["level"] == "england") & frame[period].isin(periods)]
            empty = england.loc[england[value].isna(), period]
            if not empty.empty:
                raise _error(schema, f"England's {value} is missing for {period} {empty.iloc[0]}: the model needs it; "
                                     f"{RESTORE}")

    return rule


def _amount(column: str, value: float) -> str:
    """Return a value of a column as an error message says it: pounds with '£', counts with commas."""
    return f"£{value:,.0f}" if column.endswith("_gbp") else f"{value:,.0f}"


def _alive(las: pd.DataFrame, periods: list, kind: str) -> pd.DataFrame:
    """Return (area_code, period) for every LA of the registry that existed in each period."""
    pairs = las[["area_code", "first_year", "last_year"]].merge(pd.DataFrame({"period": periods}), how="cross")
    if kind == "financial_year":
        alive = [existed_in_financial_year(int(f), int(t), str(p))
                 for f, t, p in zip(pairs["first_year"], pairs["last_year"], pairs["period"], strict=True)]
    else:
        alive = (pairs["first_year"] <= pairs["period"]) & (pairs["period"] <= pairs["last_year"])
    return pairs.loc[list(alive) if kind == "financial_year" else alive, ["area_code", "period"]]


def _exceptions(schema: Schema, context: TableContext, areas: pd.DataFrame) -> set[tuple[str, str, str]]:
    """Return (column, region or England code, period) whose sums the build states differ (MANIFEST.json
    corrections that name a region and a period)."""
    codes = dict(zip(areas["area_name"], areas["area_code"], strict=True))
    found = set()
    for item in context.manifest.get("corrections", []) or []:
        if not isinstance(item, Mapping):
            continue
        region = codes.get(str(item.get("region")), str(item.get("region")))
        when = item.get("january", item.get("financial_year"))
        if item.get("column") and when is not None:
            found.add((str(item["column"]), region, str(when)))
    return found


def council_sums(period: str, columns: tuple[str, ...]) -> Callable:
    """Return the sum rule: every council counted in a period has its row, and each region's and England's
    value is the sum of its councils' (a council's value recorded as suppressed or absent in suppressions.csv:
    at least the sum of the others; a correction the manifest states: not compared).

    On a table the researcher changed (allowed), values are not compared (the edit is the experiment), but its
    rows must be the rows MANIFEST.json records."""

    def rule(frame: pd.DataFrame, schema: Schema, context: TableContext) -> None:
        areas = context.related("areas")
        las = areas[areas["level"] == "la"]
        names = dict(zip(areas["area_code"], areas["area_name"], strict=True))
        council = frame[frame["level"] == "la"]
        unknown = sorted(set(council["area_code"].unique()) - set(las["area_code"].unique()))
        if unknown:
            raise _error(schema, f"LA code {unknown[0]!r} is not in areas.csv; {RESTORE}")
        _councils_present(frame, council, las, names, schema)
        if context.modified:
            _rows_as_built(frame, council, las, names, schema, context, columns[0])
            return
        suppressed = _recorded(schema, context)
        exceptions = _exceptions(schema, context, areas)
        for problem in _sum_problems(frame, council, las, suppressed, exceptions, names):
            raise _error(schema, problem + f"; a region's and England's rows are the sums of their councils in the "
                                           f"source, so a value was changed or a row lost; {RESTORE}")

    def _recorded(schema: Schema, context: TableContext) -> pd.DataFrame:
        """Return area_code, column, period of the values suppressions.csv says an input left out."""
        table = context.related("suppressions")
        return table.loc[table["table"] == schema.name, ["area_code", "column", "period"]]

    def _sum_problems(frame, council, las, suppressed, exceptions, names):
        """Yield a sentence for each region or England value that is not the sum of its councils (numpy over
        every column at once, so the rule stays cheap)."""
        region_of = dict(zip(las["area_code"].tolist(), las["region_code"].tolist(), strict=True))
        codes, whens = council["area_code"].tolist(), council[period].tolist()
        values = council[list(columns)].to_numpy(dtype="float64", na_value=np.nan)
        rows = {(c, str(w)): i for i, (c, w) in enumerate(zip(codes, whens, strict=True))}
        where = {column: j for j, column in enumerate(columns)}
        recorded = np.zeros(values.shape, dtype=bool)
        for code, column, when in zip(suppressed["area_code"].tolist(), suppressed["column"].tolist(),
                                      suppressed["period"].astype(str).tolist(), strict=True):
            if (code, when) in rows and column in where:
                recorded[rows[(code, when)], where[column]] = True
        missing = np.isnan(values)
        groups = [(region_of[c], w) for c, w in zip(codes, whens, strict=True)]
        index = {g: i for i, g in enumerate(dict.fromkeys(groups))}
        ids = np.array([index[g] for g in groups], dtype=np.int64)
        size = len(index)

        def per_group(matrix: np.ndarray) -> np.ndarray:
            return np.column_stack([np.bincount(ids, weights=matrix[:, j], minlength=size)
                                    for j in range(matrix.shape[1])])

        totals = per_group(np.nan_to_num(values))
        with_recorded = per_group((missing & recorded).astype(float)) > 0
        with_unknown = per_group((missing & ~recorded).astype(float)) > 0
        councils = np.bincount(ids, minlength=size).astype(float)[:, None]
        regions = frame[frame["level"] == "region"]
        region_rows = {(c, w): i for i, (c, w) in enumerate(zip(regions["area_code"].tolist(),
                                                                 regions[period].tolist(), strict=True))}
        region_values = regions[list(columns)].to_numpy(dtype="float64", na_value=np.nan)
        published = np.full(totals.shape, np.nan)
        for group, i in index.items():
            if group in region_rows:
                published[i] = region_values[region_rows[group]]
        pounds = np.array([c.endswith("_gbp") for c in columns])
        slack = np.where(pounds, 0.5 * councils, 0.5)
        checked = ~np.isnan(published) & ~with_unknown
        unequal = checked & ~with_recorded & (np.abs(totals - published) > slack)
        exceeding = checked & with_recorded & (published - totals < -slack)
        keys = list(index)
        for i, j in zip(*np.nonzero(unequal | exceeding), strict=True):
            (region, when), column = keys[i], columns[j]
            if (column, region, str(when)) in exceptions:
                continue
            if exceeding[i, j]:
                yield (f"{column} for {when}: the councils of {names.get(region, region)} with a value sum to "
                       f"{_amount(column, totals[i, j])}, more than its row's {_amount(column, published[i, j])}")
            else:
                yield (f"{column} for {when}: the councils of {names.get(region, region)} sum to "
                       f"{_amount(column, totals[i, j])}, but its row says {_amount(column, published[i, j])}")
        england = frame[frame["level"] == "england"]
        england_rows = dict(zip(england[period].tolist(), england[list(columns)].to_numpy(dtype="float64",
                                                                                         na_value=np.nan),
                                strict=True))
        region_whens = regions[period].tolist()
        counts = Counter(whens)
        for when in sorted(set(region_whens)):
            if when not in england_rows:
                continue
            block = region_values[[i for i, w in enumerate(region_whens) if w == when]]
            whole = ~np.isnan(block).any(axis=0)
            total, value = block.sum(axis=0), england_rows[when]
            off = whole & ~np.isnan(value) & (np.abs(total - value) > np.where(pounds, 0.5 * counts[when], 0.5))
            for j in np.nonzero(off)[0]:
                if (columns[j], ENGLAND_CODE, str(when)) not in exceptions:
                    yield (f"{columns[j]} for {when}: the regions sum to {_amount(columns[j], total[j])}, but "
                           f"England's row says {_amount(columns[j], value[j])}")

    return rule


def _councils_present(frame: pd.DataFrame, council: pd.DataFrame, las: pd.DataFrame, names: dict, schema: Schema
                      ) -> None:
    """Raise if a council that existed in a period, and has rows for other periods, has no row for it."""
    period = next(c for c in ("january", "financial_year") if c in frame.columns)
    periods = sorted(set(council[period]), key=_period_start)
    if not periods:
        return
    covered = las[las["area_code"].isin(council["area_code"].unique())]
    alive = _alive(covered, periods, period)
    have = set(zip(council["area_code"].tolist(), council[period].tolist(), strict=True))
    lost = alive[[(c, p) not in have for c, p in zip(alive["area_code"].tolist(), alive["period"].tolist(),
                                                       strict=True)]]
    if not lost.empty:
        when = lost["period"].iloc[0]
        who = lost.loc[lost["period"] == when, "area_code"]
        region = las.set_index("area_code").loc[who.iloc[0], "region_code"]
        raise _error(schema, f"{period} {when}: {', '.join(f'{names.get(c, c)} ({c})' for c in who)} "
                             f"{'has' if len(who) == 1 else 'have'} no row, though counted that year and listed in "
                             f"other years: {names.get(region, region)}'s row is the sum of its councils, so every "
                             f"one must be there; {RESTORE}")


def _rows_as_built(frame: pd.DataFrame, council: pd.DataFrame, las: pd.DataFrame, names: dict, schema: Schema,
                   context: TableContext, column: str) -> None:
    """Raise if a changed table has other rows than MANIFEST.json records (rows deleted or added), naming the
    region whose row is no longer the sum of its councils."""
    expected = context.manifest.get("rows")
    if not isinstance(expected, int) or expected == len(frame):
        return
    period = next(c for c in ("january", "financial_year") if c in frame.columns)
    region_of = las.set_index("area_code")["region_code"]
    totals = council.assign(region=council["area_code"].map(region_of)).groupby(["region", period])[column].sum()
    regions = frame[frame["level"] == "region"].set_index(["area_code", period])[column]
    short = [(r, p, regions[(r, p)] - totals.get((r, p), 0)) for r, p in regions.index
             if pd.notna(regions[(r, p)]) and regions[(r, p)] - totals.get((r, p), 0) > 0.5]
    hint = ""
    if short:
        region, when, gap = short[0]
        hint = (f" ({names.get(region, region)}'s {column} for {when} is {_amount(column, gap)} more than the sum "
                f"of its councils: councils' rows are missing)")
    raise _error(schema, f"{len(frame)} rows, but MANIFEST.json records {expected}{hint}: a region's and England's "
                         f"rows are the sums of their councils, so a changed table may change values, not delete or "
                         f"add rows; {RESTORE}")


EHCP_SUMMED = ("ehc_plans", "new_plans", "ceased_plans", "requests", "requests_refused", "requests_agreed_to_assess",
               "plans_issued", "plans_issued_within_20_weeks", "plans_issued_excl_exceptions",
               "plans_issued_within_20_weeks_excl_exceptions", "placement_mainstream", "placement_state_special",
               "placement_independent_special", "placement_post16", "placement_other")
SCHEMAS.update({
    "ehcp": replace(SCHEMAS["ehcp"], checks=(
        contiguous_periods("january"), areas_every_period("january", "ehc_plans"),
        council_sums("january", EHCP_SUMMED))),
    "high_needs_block": replace(SCHEMAS["high_needs_block"], checks=(
        contiguous_periods("financial_year"), areas_every_period("financial_year", "hnb_before_deductions_gbp"),
        council_sums("financial_year", ("hnb_before_deductions_gbp", "hnb_after_deductions_gbp")))),
    "national_series": replace(SCHEMAS["national_series"], checks=(
        contiguous_periods("financial_year", MODEL_FIRST_YEAR), contiguous_values("financial_year", ("hnb_gbp",)),
        national_series_pairing)),
    "deflators": replace(SCHEMAS["deflators"], checks=(
        contiguous_periods("financial_year"), contiguous_values("financial_year", ("gdp_deflator", "cpih")))),
})
