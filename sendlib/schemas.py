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

    @property
    def names(self) -> list[str]:
        """Return the column names in order."""
        return [c.name for c in self.columns]

    def dtypes(self) -> dict[str, str]:
        """Return the pandas dtypes used to read the CSV."""
        return {c.name: {"str": "string", "int": "Int64", "float": "float64"}[c.kind] for c in self.columns}


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
]}

TABLES = tuple(SCHEMAS)


def conform(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Return the frame with exactly the schema's columns, in order, converted to the schema's dtypes."""
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        raise DataValidationError(schema.name, f"missing column(s) {missing}")
    out = frame[schema.names].copy()
    for column in schema.columns:
        values = out[column.name]
        if column.kind == "str":
            out[column.name] = values.astype("string").replace({"": pd.NA, "nan": pd.NA})
        elif column.kind == "int":
            numeric = pd.to_numeric(values, errors="coerce")
            if ((numeric.dropna() % 1) != 0).any():
                raise DataValidationError(schema.name, f"column {column.name!r} holds non-whole numbers")
            out[column.name] = numeric.astype("Int64")
        else:
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
    return out


def validate(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Return the frame if it matches the schema; raise DataValidationError naming the column and row otherwise."""
    if list(frame.columns) != schema.names:
        raise DataValidationError(schema.name, f"columns are {list(frame.columns)}, expected {schema.names}")
    for column in schema.columns:
        values = frame[column.name]
        present = values.dropna()
        if not column.nullable and len(present) != len(values):
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise DataValidationError(schema.name, f"column {column.name!r} is missing at row {row + 2}")
        if column.allowed is not None:
            bad = present[~present.isin(column.allowed)]
            if not bad.empty:
                raise DataValidationError(schema.name, f"column {column.name!r} holds {bad.iloc[0]!r}, "
                                                       f"expected one of {list(column.allowed)}")
        if column.pattern is not None:
            regex = re.compile(column.pattern)
            bad = present[~present.astype(str).map(lambda v, r=regex: bool(r.match(v)))]
            if not bad.empty:
                raise DataValidationError(schema.name, f"column {column.name!r} holds {bad.iloc[0]!r}, "
                                                       f"expected the pattern {column.pattern}")
        if column.minimum is not None and (present < column.minimum).any():
            raise DataValidationError(schema.name, f"column {column.name!r} holds {present.min()}, "
                                                   f"below the minimum {column.minimum}")
        if column.maximum is not None and (present > column.maximum).any():
            raise DataValidationError(schema.name, f"column {column.name!r} holds {present.max()}, "
                                                   f"above the maximum {column.maximum}")
    repeated = frame[frame.duplicated(list(schema.key), keep=False)]
    if not repeated.empty:
        raise DataValidationError(schema.name, f"key {list(schema.key)} repeats: "
                                               f"{repeated[list(schema.key)].iloc[0].to_dict()}")
    return frame
