"""Necessary versus actual high needs funding: the base-year funding per EHC plan, held constant in real
terms, times the plans in each year, against the high needs block actually allocated.

For financial year t: F_t the high needs block (before deductions by default), E_t the EHC plans counted in
the January before the year starts (lag 0) or inside it (lag 1), P_t the financial-year deflator, b the base
year. Base rate r0 = F_b / E_b; necessary N_t = r0 * (P_t / P_b) * E_t; gap G_t = N_t - F_t; real per-plan
index I_t = 100 * (F_t / E_t) / (r0 * P_t / P_b).

Which r0 (the lens, see LA_BASES): an area's own first-year rate, England's 2015-16 rate, or the area's own
rate in its own first year without joining predecessors. Pure computation: no wording beyond error messages.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import ENGLAND_CODE, existed_in, resolve_area, stable_units, unit_names
from sendlib.periods import fy_label, fy_start, is_fy_label, january_for_financial_year

LEVELS = ("england", "region", "la")
DEFLATORS = {"gdp": "gdp_deflator", "cpih": "cpih", "none": None}
NUMERATORS = ("before", "after")
#: The base rate a "necessary" figure holds in real terms (CLI `--la-base` value -> lens):
#: own_base      an LA's own funding per plan in its first year (councils created by a reorganisation share
#:               their joined predecessors' rate); a region is the sum over its councils; England its 2015-16 rate
#: national_rate England's 2015-16 funding per plan, for every area
#: area_rate     the area's own rate in its own first year, never joined (a successor council's own first year;
#:               a region's own rate over all its councils; England's rate in the first year of council allocations)
LA_BASES = {"own": "own_base", "national": "national_rate", "area": "area_rate"}
LENSES = tuple(LA_BASES.values())
GAP_COLUMNS = ["level", "area_code", "area_name", "lens", "financial_year", "january", "ehc_plans", "actual_gbp",
               "necessary_gbp", "gap_gbp", "actual_per_plan_gbp", "necessary_per_plan_gbp", "real_per_plan_index",
               "base_year", "base_area_code", "base_rate_gbp", "deflator", "prices", "actual_real_gbp",
               "necessary_real_gbp", "gap_real_gbp"]


# ----------------------------------------------------------------------------------------- parameters


def _check_choice(parameter: str, value: object, choices: tuple) -> None:
    """Raise ParameterError unless value is one of choices."""
    if value not in choices:
        raise ParameterError(parameter, value, "one of " + ", ".join(repr(c) for c in choices))


def _check_year(parameter: str, value: object) -> None:
    """Raise ParameterError unless value is None or a financial year label like '2019-20'."""
    if value is not None and not is_fy_label(value):
        raise ParameterError(parameter, value, "a financial year such as '2015-16'")


# ----------------------------------------------------------------------------------------- inputs


def price_index(deflator: str) -> pd.Series:
    """Return the financial-year price index for a deflator (index points; 1.0 every year for 'none')."""
    _check_choice("deflator", deflator, tuple(DEFLATORS))
    table = load("deflators").set_index("financial_year")
    if DEFLATORS[deflator] is None:
        return pd.Series(1.0, index=table.index, name="none")
    return table[DEFLATORS[deflator]].dropna()


def latest_prices(deflator: str = "gdp") -> str:
    """Return the latest financial year with a published deflator: the price year of every real-terms figure."""
    index = price_index("gdp" if deflator == "none" else deflator)
    return max(index.index, key=fy_start)


def plans_for_years(level_rows: pd.DataFrame, lag: int) -> pd.DataFrame:
    """Return level_rows with `january` and `ehc_plans` (count) paired to each financial year explicitly."""
    ehcp = load("ehcp")[["area_code", "january", "ehc_plans"]]
    paired = level_rows.assign(january=[january_for_financial_year(fy, lag) for fy in level_rows["financial_year"]])
    return paired.merge(ehcp, on=["area_code", "january"], how="left")


def funding_and_plans(level: str, numerator: str = "before", lag: int = 0) -> pd.DataFrame:
    """Return area_code, financial_year, funding_gbp (HNB, GBP), january and ehc_plans for one level."""
    _check_choice("level", level, LEVELS)
    _check_choice("numerator", numerator, NUMERATORS)
    _check_choice("lag", lag, (0, 1))
    if level == "england" and numerator == "before":
        national = load("national_series")
        rows = pd.DataFrame({"area_code": ENGLAND_CODE, "financial_year": national["financial_year"],
                             "funding_gbp": national["hnb_gbp"].astype(float)})
    else:
        hnb = load("high_needs_block")
        column = f"hnb_{numerator}_deductions_gbp"
        hnb = hnb[hnb["level"] == ("england" if level == "england" else "la")]
        rows = pd.DataFrame({"area_code": hnb["area_code"], "financial_year": hnb["financial_year"],
                             "funding_gbp": hnb[column].astype(float)})
    paired = plans_for_years(rows, lag)
    paired["ehc_plans"] = paired["ehc_plans"].astype(float)
    return paired.reset_index(drop=True)


# ----------------------------------------------------------------------------------------- the model


def unit_funding_and_plans(la_rows: pd.DataFrame, lag: int) -> pd.DataFrame:
    """Return funding and plans per stable unit and year (GBP, count): members' sums, complete years only.

    A reorganisation can split a year's funding and its paired January count across old and new codes
    (Dorset and BCP were funded for 2019-20 but counted as Dorset, Bournemouth and Poole in January 2019);
    the joined unit pairs them correctly. A unit-year is kept only if every member LA that existed then has
    funding and every member LA counted in the paired January has plans.
    """
    areas = load("areas").set_index("area_code")
    mapping = stable_units()
    ehcp = load("ehcp")
    ehcp = ehcp[ehcp["level"] == "la"].assign(unit=lambda f: f["area_code"].map(mapping))
    plans = ehcp.groupby(["unit", "january"])["ehc_plans"].agg(lambda s: s.sum(min_count=len(s)))
    funded = la_rows.dropna(subset=["funding_gbp"]).assign(unit=lambda f: f["area_code"].map(mapping))
    rows = []
    for (unit, fy), group in funded.groupby(["unit", "financial_year"]):
        members = unit.split("+")
        alive = [m for m in members if existed_in(areas.loc[m], fy)]
        if sorted(group["area_code"]) != sorted(alive):
            continue
        january = january_for_financial_year(fy, lag)
        if (unit, january) not in plans.index or pd.isna(plans.loc[(unit, january)]):
            continue
        rows.append({"unit": unit, "financial_year": fy, "funding_gbp": group["funding_gbp"].sum(),
                     "january": january, "ehc_plans": float(plans.loc[(unit, january)])})
    return pd.DataFrame(rows, columns=["unit", "financial_year", "funding_gbp", "january", "ehc_plans"])


def _base_rates(units: pd.DataFrame, index: pd.Series, base_year: str | None) -> pd.DataFrame:
    """Return per unit: base_year, base rate r0 (GBP per plan) and the base-year price P_b.

    The base year is the earliest year in which the unit has funding, plans and a price index, unless given.
    """
    usable = units.dropna(subset=["funding_gbp", "ehc_plans"])
    usable = usable[usable["financial_year"].isin(index.index) & (usable["ehc_plans"] > 0)]
    if base_year is not None:
        chosen = usable[usable["financial_year"] == base_year]
        if chosen.empty:
            years = sorted(usable["financial_year"].unique())
            raise ParameterError("base_year", base_year, "a year with both funding and plans: " + ", ".join(years))
    else:
        chosen = usable.sort_values("financial_year").groupby("unit").head(1)
    chosen = chosen.set_index("unit")
    return pd.DataFrame({"base_year": chosen["financial_year"],
                         "base_rate_gbp": chosen["funding_gbp"] / chosen["ehc_plans"],
                         "base_price": chosen["financial_year"].map(index)})


def _compute(frame: pd.DataFrame, unit: pd.Series, rates: pd.DataFrame, index: pd.Series) -> pd.DataFrame:
    """Return frame with necessary funding, gap and per-plan figures from each row's unit base rate."""
    out = frame.copy()
    out["base_area_code"] = unit.to_numpy()
    out["base_year"] = unit.map(rates["base_year"])
    out["base_rate_gbp"] = unit.map(rates["base_rate_gbp"])
    out["base_price"] = unit.map(rates["base_price"])
    out["price"] = out["financial_year"].map(index)
    out = out[out["base_year"].notna()].copy()
    out = out[out["financial_year"].map(fy_start) >= out["base_year"].map(fy_start)].copy()
    out["necessary_gbp"] = out["base_rate_gbp"] * out["price"] / out["base_price"] * out["ehc_plans"]
    out["actual_gbp"] = out["funding_gbp"]
    return _derived(out)


def _derived(out: pd.DataFrame) -> pd.DataFrame:
    """Return out with gap, actual and necessary per plan and the real per-plan index (base year = 100)."""
    out["gap_gbp"] = out["necessary_gbp"] - out["actual_gbp"]
    out["actual_per_plan_gbp"] = out["actual_gbp"] / out["ehc_plans"]
    out["necessary_per_plan_gbp"] = out["necessary_gbp"] / out["ehc_plans"]
    out["real_per_plan_index"] = 100 * out["actual_per_plan_gbp"] / out["necessary_per_plan_gbp"]
    return out


def _add_real_terms(out: pd.DataFrame, index: pd.Series, deflator: str, prices: str | None) -> pd.DataFrame:
    """Return out with actual, necessary and gap in the prices of one year (GBP) and the `prices` label."""
    if deflator == "none":
        out["prices"] = "cash"
        factor = pd.Series(1.0, index=out.index)
    else:
        prices = prices or latest_prices(deflator)
        if prices not in index.index:
            raise ParameterError("prices", prices, "a year with a published deflator: " + ", ".join(index.index))
        out["prices"] = prices
        factor = index[prices] / out["price"]
    out["actual_real_gbp"] = out["actual_gbp"] * factor
    out["necessary_real_gbp"] = out["necessary_gbp"] * factor
    out["gap_real_gbp"] = out["gap_gbp"] * factor
    return out


def _national_rate(index: pd.Series, deflator: str, lag: int, base_year: str | None, numerator: str) -> pd.Series:
    """Return England's base_year, base_rate_gbp (GBP per plan) and base_price: the national-rate lens's r0."""
    england = funding_and_plans("england", numerator, lag).dropna(subset=["funding_gbp", "ehc_plans"])
    rates = _base_rates(england.assign(unit=ENGLAND_CODE), index, base_year)
    return rates.loc[ENGLAND_CODE]


def _rates_for(units: pd.DataFrame, index: pd.Series, lens: str, national: pd.Series | None,
               base_year: str | None) -> pd.DataFrame:
    """Return one base rate per unit under a lens (the same national rate for every unit, or each its own)."""
    if lens == "national_rate" and national is not None:
        codes = sorted(set(units["unit"]))
        return pd.DataFrame({"base_year": national["base_year"], "base_rate_gbp": national["base_rate_gbp"],
                             "base_price": national["base_price"]}, index=codes)
    return _base_rates(units, index, base_year)


def _transition_rows(frame: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Return the unit-years of reorganised councils in which no member LA pairs its own funding with its
    own plans (the year of a reorganisation): they appear as one joined row so that LAs add up."""
    paired = frame.dropna(subset=["funding_gbp", "ehc_plans"]).assign(unit=lambda f: f["area_code"].map(stable_units()))
    covered = set(zip(paired["unit"], paired["financial_year"], strict=True))
    joined = units[units["unit"].str.contains("+", regex=False)]
    keep = [(u, fy) not in covered for u, fy in zip(joined["unit"], joined["financial_year"], strict=True)]
    return joined[keep].rename(columns={"unit": "area_code"}).assign(unit=lambda f: f["area_code"])


def _la_level(frame: pd.DataFrame, units: pd.DataFrame, index: pd.Series, lens: str, national: pd.Series | None,
              base_year: str | None) -> pd.DataFrame:
    """Return LA rows (and joined rows for reorganisation years) under a lens."""
    la = frame.dropna(subset=["funding_gbp", "ehc_plans"]).copy()
    transition = _transition_rows(frame, units)
    if lens == "area_rate":  # each LA its own first year; a joined row its unit's first year
        own = la.assign(unit=la["area_code"])
        rates = pd.concat([_base_rates(own, index, base_year), _base_rates(units, index, base_year)])
        rates = rates[~rates.index.duplicated()]
        la["unit"] = la["area_code"]
    else:
        rates = _rates_for(units, index, lens, national, base_year)
        la["unit"] = la["area_code"].map(stable_units())
    rows = pd.concat([la, transition], ignore_index=True)
    return _compute(rows, rows["unit"], rates, index)


def _region_level(units: pd.DataFrame, index: pd.Series, lens: str, national: pd.Series | None,
                  base_year: str | None) -> pd.DataFrame:
    """Return region rows: sums over their councils' units (own_base, national_rate) or the region's own rate."""
    areas = load("areas").set_index("area_code")
    region = units["unit"].map(lambda u: areas.loc[u.split("+")[0], "region_code"])
    if lens == "area_rate":
        sums = units.assign(unit=region).groupby(["unit", "financial_year"], as_index=False).agg(
            funding_gbp=("funding_gbp", "sum"), ehc_plans=("ehc_plans", "sum"), january=("january", "first"))
        rates = _base_rates(sums, index, base_year)
        out = _compute(sums, sums["unit"], rates, index)
        return out.rename(columns={"unit": "area_code"})
    rates = _rates_for(units, index, lens, national, base_year)
    unit_rows = _compute(units, units["unit"], rates, index).assign(area_code=region.reindex(units.index))
    sums = unit_rows.groupby(["area_code", "financial_year"]).agg(
        funding_gbp=("funding_gbp", "sum"), ehc_plans=("ehc_plans", "sum"), necessary_gbp=("necessary_gbp", "sum"),
        price=("price", "first"), base_year=("base_year", "min"), january=("january", "first"),
        base_rates=("base_rate_gbp", "nunique"), base_rate_gbp=("base_rate_gbp", "first")).reset_index()
    sums["actual_gbp"] = sums["funding_gbp"]
    sums["base_area_code"] = sums["area_code"] if lens == "own_base" else ENGLAND_CODE
    sums.loc[sums["base_rates"] > 1, "base_rate_gbp"] = np.nan  # a sum of councils has no single rate
    return _derived(sums)


def gap(level: str = "england", area: str | None = None, deflator: str = "gdp", lag: int = 0,
        base_year: str | None = None, prices: str | None = None, numerator: str = "before",
        la_base: str = "own") -> pd.DataFrame:
    """Return necessary vs actual high needs funding per area and financial year (GBP; index: base year = 100).

    England uses the national series from 2015-16; LAs and regions use the LA allocations in hand. `la_base`
    picks the lens (LA_BASES): 'own' (default; a region is then the sum over its councils, and LAs joined by
    a reorganisation share their stable unit's rate, with one joined row in the year of the reorganisation),
    'national' (England's 2015-16 rate) or 'area' (the area's own rate in its own first year). Real terms are
    in the prices of `prices` (default: the latest year with a published deflator).
    """
    for name, value, choices in [("level", level, LEVELS), ("deflator", deflator, tuple(DEFLATORS)),
                                 ("lag", lag, (0, 1)), ("numerator", numerator, NUMERATORS),
                                 ("la_base", la_base, tuple(LA_BASES))]:
        _check_choice(name, value, choices)
    _check_year("base_year", base_year)
    _check_year("prices", prices)
    lens = LA_BASES[la_base]
    index = price_index(deflator)
    areas = load("areas").set_index("area_code")
    frame = funding_and_plans(level, numerator, lag)
    if level == "england":
        units = frame.dropna(subset=["ehc_plans"]).assign(unit=ENGLAND_CODE)  # a year without an HNB in hand: n/a
        chosen = base_year
        if lens == "area_rate" and base_year is None:
            chosen = first_council_year()
        rates = _base_rates(units, index, chosen)
        out = _compute(units, units["unit"], rates, index)
    else:
        units = unit_funding_and_plans(frame, lag)
        national = _national_rate(index, deflator, lag, base_year, numerator) if lens == "national_rate" else None
        if level == "la":
            out = _la_level(frame, units, index, lens, national, base_year)
        else:
            out = _region_level(units, index, lens, national, base_year)
        if lens == "national_rate":
            out["base_area_code"] = ENGLAND_CODE
    out["level"] = level
    out["lens"] = lens
    out["area_name"] = out["area_code"].map(area_names(out["area_code"], areas))
    out["deflator"] = deflator
    out = _add_real_terms(out, index, deflator, prices)
    if area is not None:
        row = resolve_area(area, levels=(level,), parameter="area")
        out = out[out["area_code"] == row["area_code"]]
        if out.empty:
            raise ParameterError("area", area, no_data_reason(row, lag))
    out["ehc_plans"] = out["ehc_plans"].round().astype("Int64")
    out["january"] = out["january"].astype("Int64")
    return out.sort_values(["area_code", "financial_year"])[GAP_COLUMNS].reset_index(drop=True)


def area_names(codes: pd.Series, areas: pd.DataFrame) -> dict[str, str]:
    """Return code -> name for area codes and joined units ('Cumbria / Cumberland + Westmorland and Furness')."""
    names = areas["area_name"].to_dict()
    if any(code not in names for code in codes.unique()):
        names.update(unit_names())
    return names


def first_council_year() -> str:
    """Return the first financial year of the LA allocations in hand (the base year of the council lenses)."""
    hnb = load("high_needs_block")
    return min(hnb.loc[hnb["level"] == "la", "financial_year"], key=fy_start)


def no_data_reason(row: pd.Series, lag: int) -> str:
    """Return why an area has no year with both funding and plans (for the error message)."""
    hnb, ehcp = load("high_needs_block"), load("ehcp")
    funded = sorted(hnb.loc[hnb["area_code"] == row["area_code"], "financial_year"])
    counted = sorted(ehcp.loc[ehcp["area_code"] == row["area_code"], "january"])
    years = sorted(set(hnb.loc[hnb["level"] == "la", "financial_year"]), key=fy_start)
    if not funded and row.get("level") == "la" and years and not any(existed_in(row, fy) for fy in years):
        expected = f"an LA that existed in the years of the DSG allocations in hand ({years[0]} to {years[-1]})"
        if int(row["first_year"]) > fy_start(years[-1]) + 1:
            return (f"{expected}: {row['area_name']} was first counted in January {int(row['first_year'])}, after "
                    f"{years[-1]}")
        names = load("areas").set_index("area_code")["area_name"]
        value = row.get("successor_codes")
        codes = [] if value is None or pd.isna(value) else [c for c in str(value).split(";") if c]
        successors = [f"{names.get(code, code)} ({code})" for code in codes]
        return (f"{expected}: {row['area_name']} was last counted in January {int(row['last_year'])} and abolished "
                f"before {years[0]}" + (f"; its area is now in {' and '.join(successors)}: ask for one of those"
                                        if successors else ""))
    if not funded:
        return (f"an area with a DSG high needs block allocation: {row['area_name']} has none in the DSG "
                "allocation files in hand")
    return (f"an area with funding and plans for the same year: {row['area_name']} has allocations for "
            f"{funded[0]}..{funded[-1]} but EHC plan counts for January {counted[0]}..{counted[-1]}, and lag {lag} "
            f"pairs a year with the January {'before it' if lag == 0 else 'inside it'}. Its predecessor's "
            f"history is in the harmonised unit (sendlib.funding.harmonised_gap) or try --lag 1")


def harmonised_gap(deflator: str = "gdp", lag: int = 0, base_year: str | None = None, prices: str | None = None,
                   numerator: str = "before") -> pd.DataFrame:
    """Return the LA model on stable units (reorganised LAs joined, e.g. Cumbria with its successors), GBP."""
    index = price_index(deflator)
    units = unit_funding_and_plans(funding_and_plans("la", numerator, lag), lag)
    rates = _base_rates(units, index, base_year)
    out = _compute(units, units["unit"], rates, index).rename(columns={"unit": "area_code"})
    out["level"], out["lens"], out["deflator"] = "la", "own_base", deflator
    out["area_name"] = out["area_code"].map(unit_names())
    out = _add_real_terms(out, index, deflator, prices)
    out["ehc_plans"] = out["ehc_plans"].round().astype("Int64")
    out["january"] = out["january"].astype("Int64")
    return out.sort_values(["area_code", "financial_year"])[GAP_COLUMNS].reset_index(drop=True)


def cumulative_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Return per area and lens the gap summed from its base year to its latest year (GBP, cash and real terms)."""
    usable = frame.dropna(subset=["gap_gbp"])
    grouped = usable.groupby(["level", "area_code", "area_name", "lens", "base_year", "deflator", "prices"],
                             dropna=False)
    out = grouped.agg(first_year=("financial_year", "min"), last_year=("financial_year", "max"),
                      cumulative_gap_gbp=("gap_gbp", "sum"), cumulative_gap_real_gbp=("gap_real_gbp", "sum"))
    return out.reset_index()


# ----------------------------------------------------------------------------------------- sensitivity


#: (variant id, description, gap() options): the England model with each choice changed in turn.
SENSITIVITY_VARIANTS: list[tuple[str, str, dict]] = [
    ("baseline", "Baseline: GDP deflator, January before the year, base 2015-16, HNB before deductions", {}),
    ("cpih", "CPIH instead of the GDP deflator", {"deflator": "cpih"}),
    ("cash", "Cash terms (no deflator)", {"deflator": "none"}),
    ("lag1", "Plans of the January inside the year (lag 1)", {"lag": 1}),
    ("base_2019_20", "Base year 2019-20", {"base_year": "2019-20"}),
    ("after_deductions", "HNB after deductions (base 2019-20, the first year with the split)", {"numerator": "after"}),
]
SENSITIVITY_COLUMNS = ["variant_id", "variant", "financial_year", "actual_gbp", "necessary_gbp", "gap_gbp",
                       "gap_real_gbp", "real_per_plan_index", "base_year", "deflator", "lag", "numerator", "prices",
                       "gap_difference_from_baseline_gbp"]


def sensitivity(year: str | None = None) -> pd.DataFrame:
    """Return one row per model variant (and financial year, or one year) for England: gap (GBP) and index."""
    _check_year("year", year)
    rows = []
    for variant_id, description, options in SENSITIVITY_VARIANTS:
        try:
            frame = gap("england", **options)
        except ParameterError:
            continue
        years = [year] if year is not None else list(gap("england")["financial_year"])
        for fy in years:
            match = frame[frame["financial_year"] == fy]
            row = match.iloc[0] if not match.empty else None
            rows.append({"variant_id": variant_id, "variant": description, "financial_year": fy,
                         **{c: (row[c] if row is not None else np.nan) for c in (
                             "actual_gbp", "necessary_gbp", "gap_gbp", "gap_real_gbp", "real_per_plan_index")},
                         "base_year": frame["base_year"].iloc[0], "deflator": options.get("deflator", "gdp"),
                         "lag": options.get("lag", 0), "numerator": options.get("numerator", "before"),
                         "prices": frame["prices"].iloc[0]})
    out = pd.DataFrame(rows)
    baseline = out[out["variant_id"] == "baseline"].set_index("financial_year")["gap_gbp"]
    out["gap_difference_from_baseline_gbp"] = out["gap_gbp"] - out["financial_year"].map(baseline)
    return out[SENSITIVITY_COLUMNS]


# ----------------------------------------------------------------------------------------- projection

PROJECTION_COLUMNS = ["level", "area_code", "area_name", "january", "financial_year", "ehc_plans_projected",
                      "ehc_plans_low", "ehc_plans_high", "necessary_gbp", "necessary_low_gbp", "necessary_high_gbp",
                      "prices", "annual_growth_pct", "fitted_januaries", "label"]


def projection(level: str = "england", area: str | None = None, years_ahead: int = 2, fit_januaries: int = 6,
               deflator: str = "gdp", alpha: float = 0.05) -> pd.DataFrame:
    """Return a PROJECTION of EHC plans and necessary funding 1..years_ahead Januaries beyond the latest count.

    Fits log(plans) on the January with OLS and heteroskedasticity-robust (HC1) errors over the last
    `fit_januaries` counts per area; intervals are (1 - alpha) prediction intervals. Necessary funding is
    in the prices of the latest year with a deflator (future inflation is not forecast).
    """
    import statsmodels.api as sm

    _check_choice("level", level, LEVELS)
    if not 1 <= years_ahead <= 5:
        raise ParameterError("years_ahead", years_ahead, "1 to 5")
    model = gap(level, area=area, deflator=deflator)
    ehcp = load("ehcp")
    ehcp = ehcp[ehcp["area_code"].isin(model["area_code"].unique())]
    latest = model.dropna(subset=["necessary_real_gbp"]).sort_values("financial_year").groupby("area_code").tail(1)
    rows = []
    for code, group in ehcp.groupby("area_code"):
        history = group.dropna(subset=["ehc_plans"]).sort_values("january").tail(fit_januaries)
        if len(history) < 4 or code not in set(latest["area_code"]):
            continue
        x = sm.add_constant(history["january"].astype(float).to_numpy())
        fit = sm.OLS(np.log(history["ehc_plans"].astype(float).to_numpy()), x).fit(cov_type="HC1")
        last = latest[latest["area_code"] == code].iloc[0]
        rate_latest_prices = last["necessary_real_gbp"] / last["ehc_plans"]
        future = np.arange(history["january"].max() + 1, history["january"].max() + 1 + years_ahead, dtype=float)
        predicted = fit.get_prediction(sm.add_constant(future, has_constant="add")).summary_frame(alpha=alpha)
        for january, (_, p) in zip(future.astype(int), predicted.iterrows(), strict=True):
            plans, low, high = math.exp(p["mean"]), math.exp(p["obs_ci_lower"]), math.exp(p["obs_ci_upper"])
            rows.append({"level": level, "area_code": code, "area_name": last["area_name"], "january": january,
                         "financial_year": fy_label(int(january)),
                         "ehc_plans_projected": plans, "ehc_plans_low": low, "ehc_plans_high": high,
                         "necessary_gbp": plans * rate_latest_prices, "necessary_low_gbp": low * rate_latest_prices,
                         "necessary_high_gbp": high * rate_latest_prices, "prices": last["prices"],
                         "annual_growth_pct": 100 * (math.exp(fit.params[1]) - 1),
                         "fitted_januaries": f"{history['january'].min()}-{history['january'].max()}",
                         "label": "projection"})
    return pd.DataFrame(rows, columns=PROJECTION_COLUMNS)
