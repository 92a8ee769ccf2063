"""One schema per processed table: columns in order, types, missing-value rules, ranges and the key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from sendlib.errors import DataValidationError

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


def _count(name: str, description: str = "", nullable: bool = True) -> Column:
    """Return a non-negative integer column."""
    return Column(name, "int", nullable, minimum=0, description=description)


def _gbp(name: str, description: str = "", nullable: bool = True, minimum: float | None = 0) -> Column:
    """Return a money column in pounds."""
    return Column(name, "int", nullable, minimum=minimum, description=description + " (GBP)")


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
                            "(suppressions.csv says why)"),
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
        _fy(), _gbp("hnb_before_deductions_gbp", nullable=False), _gbp("hnb_after_deductions_gbp", nullable=False),
        Column("source_release", "str", False),
    )), ("area_code", "financial_year"), "one area and financial year"),
    Schema("national_series", (
        _fy(), _gbp("hnb_gbp", "England high needs block; missing where not in hand"),
        Column("hnb_status", "str", False,
               allowed=("allocation", "parliamentary-answer", "statement", "not in hand")),
        Column("hnb_source", "str", False), Column("hnb_source_url", "str", False),
        Column("january", "int", False, 2010, 2100), _count("ehc_plans_january"),
        Column("gdp_deflator", "float", True, 1, 1000),
    ), ("financial_year",), "one financial year, England"),
    Schema("deflators", (
        _fy(), Column("gdp_deflator", "float", True, 1, 1000, description="ONS YBGB, mean of Q2..Q1, outturn"),
        Column("cpih", "float", True, 1, 1000),
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
        Column("mid_year", "int", False, 2000, 2100), _count("population_all_ages", nullable=False),
        _count("population_0_25"), _count("population_2_18"), Column("source", "str", False),
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
        _i("january", minimum=2010, maximum=2100), _i("ehc_plans", minimum=0), _money("actual_gbp"),
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
    repeated = frame[frame.duplicated(list(schema.key), keep=False)]
    if not repeated.empty:
        raise _error(schema, f"key {list(schema.key)} repeats: "
                                               f"{repeated[list(schema.key)].iloc[0].to_dict()}")
    return frame
