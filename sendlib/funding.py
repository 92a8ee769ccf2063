"""Necessary versus actual high needs funding: the base-year funding per EHC plan, held constant in real
terms, times the plans in each year, against the high needs block actually allocated.

For financial year t: F_t the high needs block (before deductions by default), E_t the EHC plans counted in
the January before the year starts (lag 0) or inside it (lag 1), P_t the financial-year deflator, b the base
year. Base rate r0 = F_b / E_b; necessary N_t = r0 * (P_t / P_b) * E_t; gap G_t = N_t - F_t; real per-plan
index I_t = 100 * (F_t / E_t) / (r0 * P_t / P_b).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import pandas as pd

from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import ENGLAND_CODE, existed_in, resolve_area, stable_units, unit_names
from sendlib.periods import fy_start, is_fy_label, january_for_financial_year

LEVELS = ("england", "region", "la")
DEFLATORS = {"gdp": "gdp_deflator", "cpih": "cpih", "none": None}
NUMERATORS = ("before", "after")
LA_BASES = ("own", "national")
GAP_COLUMNS = ["level", "area_code", "area_name", "financial_year", "ehc_plans", "actual_gbp", "necessary_gbp",
               "gap_gbp", "actual_per_plan_gbp", "necessary_per_plan_gbp", "real_per_plan_index", "base_year",
               "deflator", "prices", "actual_real_gbp", "necessary_real_gbp", "gap_real_gbp"]


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
    plans = ehcp.groupby(["unit", "january"])["ehc_plans"].sum()
    funded = la_rows.dropna(subset=["funding_gbp"]).assign(unit=lambda f: f["area_code"].map(mapping))
    rows = []
    for (unit, fy), group in funded.groupby(["unit", "financial_year"]):
        members = unit.split("+")
        alive = [m for m in members if existed_in(areas.loc[m], fy)]
        if sorted(group["area_code"]) != sorted(alive):
            continue
        january = january_for_financial_year(fy, lag)
        if (unit, january) not in plans.index:
            continue
        rows.append({"unit": unit, "financial_year": fy, "funding_gbp": group["funding_gbp"].sum(),
                     "january": january, "ehc_plans": float(plans.loc[(unit, january)])})
    return pd.DataFrame(rows, columns=["unit", "financial_year", "funding_gbp", "january", "ehc_plans"])


def _base_rates(units: pd.DataFrame, index: pd.Series, base_year: str | None) -> pd.DataFrame:
    """Return per unit: base_year, base rate r0 (GBP per plan) and the base-year price P_b.

    The base year is the earliest year in which the unit has funding, plans and a price index, unless given.
    """
    usable = units.dropna(subset=["funding_gbp", "ehc_plans"])
    usable = usable[usable["financial_year"].isin(index.index)]
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
    out["base_year"] = unit.map(rates["base_year"])
    out["base_rate_gbp"] = unit.map(rates["base_rate_gbp"])
    out["base_price"] = unit.map(rates["base_price"])
    out["price"] = out["financial_year"].map(index)
    out = out[out["base_year"].notna()].copy()
    out = out[out["financial_year"].map(fy_start) >= out["base_year"].map(fy_start)].copy()
    out["necessary_per_plan_gbp"] = out["base_rate_gbp"] * out["price"] / out["base_price"]
    out["necessary_gbp"] = out["necessary_per_plan_gbp"] * out["ehc_plans"]
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
        if prices is None:
            prices = max(out.dropna(subset=["price"])["financial_year"], key=fy_start)
        if prices not in index.index:
            raise ParameterError("prices", prices, "a year with a published deflator: " + ", ".join(index.index))
        out["prices"] = prices
        factor = index[prices] / out["price"]
    out["actual_real_gbp"] = out["actual_gbp"] * factor
    out["necessary_real_gbp"] = out["necessary_gbp"] * factor
    out["gap_real_gbp"] = out["gap_gbp"] * factor
    return out


def gap(level: str = "england", area: str | None = None, deflator: str = "gdp", lag: int = 0,
        base_year: str | None = None, prices: str | None = None, numerator: str = "before",
        la_base: str = "own") -> pd.DataFrame:
    """Return necessary vs actual high needs funding per area and financial year (GBP; index: base year = 100).

    England uses the national series from 2015-16; LAs and regions use the LA allocations in hand, with each
    LA's own base rate (or England's, la_base='national', a simplification) and a default base year that
    is the earliest year with data for the area. LAs joined by a reorganisation share one base rate (their
    stable unit's), and a region's actual and necessary funding are the sums over its LAs (over the joined
    unit in a year when a reorganisation splits funding and plans across old and new codes).
    """
    for name, value, choices in [("level", level, LEVELS), ("deflator", deflator, tuple(DEFLATORS)),
                                 ("lag", lag, (0, 1)), ("numerator", numerator, NUMERATORS),
                                 ("la_base", la_base, LA_BASES)]:
        _check_choice(name, value, choices)
    _check_year("base_year", base_year)
    _check_year("prices", prices)
    index = price_index(deflator)
    areas = load("areas").set_index("area_code")
    frame = funding_and_plans(level, numerator, lag)
    if level == "england":
        units = frame.dropna(subset=["ehc_plans"]).assign(unit=ENGLAND_CODE)  # a year without an HNB in hand: n/a
        rates = _base_rates(units, index, base_year)
        out = _compute(units, units["unit"], rates, index)
    else:
        units = unit_funding_and_plans(frame, lag)
        if la_base == "national":
            england = gap("england", deflator=deflator, lag=lag, base_year=base_year, numerator=numerator)
            first = england.iloc[0]
            rates = pd.DataFrame({"base_year": first["base_year"], "base_rate_gbp": first["actual_per_plan_gbp"],
                                  "base_price": index[first["base_year"]]}, index=sorted(set(units["unit"])))
        else:
            rates = _base_rates(units, index, base_year)
        if level == "la":
            la = frame.dropna(subset=["funding_gbp", "ehc_plans"])
            out = _compute(la, la["area_code"].map(stable_units()), rates, index)
        else:
            unit_rows = _compute(units, units["unit"], rates, index)
            out = _sum_to_regions(unit_rows, areas)
    out["level"] = level
    out["area_name"] = out["area_code"].map(areas["area_name"])
    out["deflator"] = deflator
    out = _add_real_terms(out, index, deflator, prices)
    if area is not None:
        row = resolve_area(area, levels=(level,), parameter="area")
        out = out[out["area_code"] == row["area_code"]]
        if out.empty:
            raise ParameterError("area", area, _no_data_reason(row, level, lag))
    if level != "england" and la_base == "national":
        out["base_year"] = out["base_year"] + " (England's rate)"
    out["ehc_plans"] = out["ehc_plans"].round().astype("Int64")
    return out.sort_values(["area_code", "financial_year"])[GAP_COLUMNS].reset_index(drop=True)


def _no_data_reason(row: pd.Series, level: str, lag: int) -> str:
    """Return why an area has no year with both funding and plans (for the error message)."""
    funded = sorted(load("high_needs_block").query("area_code == @row.area_code")["financial_year"])
    counted = sorted(load("ehcp").query("area_code == @row.area_code")["january"])
    if not funded:
        return (f"an area with a DSG allocation: {row['area_name']} has none in the files in hand "
                "(City of London and the Isles of Scilly are funded outside the DSG allocation files)")
    return (f"an area with funding and plans for the same year: {row['area_name']} has allocations for "
            f"{funded[0]}..{funded[-1]} but EHC plan counts for January {counted[0]}..{counted[-1]}, and lag {lag} "
            f"pairs a year with the January {'before it' if lag == 0 else 'inside it'}. Its predecessor's "
            f"history is in the harmonised unit (sendlib.funding.harmonised_gap) or try --lag 1")


def _sum_to_regions(units: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Return region rows whose funding, plans and necessary funding are the sums over their LAs' units."""
    region = units["unit"].map(lambda u: areas.loc[u.split("+")[0], "region_code"])
    sums = units.assign(area_code=region).groupby(["area_code", "financial_year"]).agg(
        funding_gbp=("funding_gbp", "sum"), ehc_plans=("ehc_plans", "sum"), necessary_gbp=("necessary_gbp", "sum"),
        price=("price", "first"), base_year=("base_year", "min")).reset_index()
    sums["actual_gbp"] = sums["funding_gbp"]
    return _derived(sums)


def harmonised_gap(deflator: str = "gdp", lag: int = 0, base_year: str | None = None, prices: str | None = None,
                   numerator: str = "before") -> pd.DataFrame:
    """Return the LA model on stable units (reorganised LAs joined, e.g. Cumbria with its successors), GBP."""
    index = price_index(deflator)
    units = unit_funding_and_plans(funding_and_plans("la", numerator, lag), lag)
    rates = _base_rates(units, index, base_year)
    out = _compute(units, units["unit"], rates, index).rename(columns={"unit": "area_code"})
    out["level"], out["area_name"], out["deflator"] = "la", out["area_code"].map(unit_names()), deflator
    out = _add_real_terms(out, index, deflator, prices)
    out["ehc_plans"] = out["ehc_plans"].round().astype("Int64")
    return out.sort_values(["area_code", "financial_year"])[GAP_COLUMNS].reset_index(drop=True)


def cumulative_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """Return per area the gap summed from its base year to its latest year (GBP, cash and real terms)."""
    usable = frame.dropna(subset=["gap_gbp"])
    grouped = usable.groupby(["level", "area_code", "area_name", "base_year", "deflator", "prices"], dropna=False)
    out = grouped.agg(first_year=("financial_year", "min"), last_year=("financial_year", "max"),
                      cumulative_gap_gbp=("gap_gbp", "sum"), cumulative_gap_real_gbp=("gap_real_gbp", "sum"))
    return out.reset_index()


# ----------------------------------------------------------------------------------------- sensitivity


SENSITIVITY_VARIANTS: list[tuple[str, dict]] = [
    ("Baseline: GDP deflator, January before the year, base 2015-16, HNB before deductions", {}),
    ("CPIH instead of the GDP deflator", {"deflator": "cpih"}),
    ("Cash terms (no deflator)", {"deflator": "none"}),
    ("Plans of the January inside the year (lag 1)", {"lag": 1}),
    ("Base year 2019-20", {"base_year": "2019-20"}),
    ("HNB after deductions (base 2019-20, the first year with the split)", {"numerator": "after"}),
]


def sensitivity(year: str) -> pd.DataFrame:
    """Return one row per model variant for England in one financial year: gap (GBP, cash and real) and index."""
    _check_year("year", year)
    rows = []
    for description, options in SENSITIVITY_VARIANTS:
        try:
            frame = gap("england", **options)
        except ParameterError:
            continue
        match = frame[frame["financial_year"] == year]
        if match.empty:
            rows.append({"variant": description, "financial_year": year, **{c: np.nan for c in (
                "actual_gbp", "necessary_gbp", "gap_gbp", "gap_real_gbp", "real_per_plan_index")},
                "base_year": frame["base_year"].iloc[0], "deflator": options.get("deflator", "gdp"),
                "lag": options.get("lag", 0), "numerator": options.get("numerator", "before"),
                "prices": frame["prices"].iloc[0]})
            continue
        row = match.iloc[0]
        rows.append({"variant": description, "financial_year": year, "actual_gbp": row["actual_gbp"],
                     "necessary_gbp": row["necessary_gbp"], "gap_gbp": row["gap_gbp"],
                     "gap_real_gbp": row["gap_real_gbp"], "real_per_plan_index": row["real_per_plan_index"],
                     "base_year": row["base_year"], "deflator": row["deflator"], "lag": options.get("lag", 0),
                     "numerator": options.get("numerator", "before"), "prices": row["prices"]})
    out = pd.DataFrame(rows)
    baseline = out["gap_gbp"].iloc[0]
    out["gap_difference_from_baseline_gbp"] = out["gap_gbp"] - baseline
    return out


# ----------------------------------------------------------------------------------------- projection


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
                         "financial_year": f"{january}-{(january + 1) % 100:02d}",
                         "ehc_plans_projected": plans, "ehc_plans_low": low, "ehc_plans_high": high,
                         "necessary_gbp": plans * rate_latest_prices, "necessary_low_gbp": low * rate_latest_prices,
                         "necessary_high_gbp": high * rate_latest_prices, "prices": last["prices"],
                         "annual_growth_pct": 100 * (math.exp(fit.params[1]) - 1),
                         "fitted_januaries": f"{history['january'].min()}-{history['january'].max()}",
                         "label": "projection"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- command line


def _format_table(frame: pd.DataFrame) -> str:
    """Return the gap table as text: money in £m to one decimal, per plan to the pound, index to one decimal."""
    def money(v: float) -> str:
        return "n/a" if pd.isna(v) else f"{v / 1e6:,.1f}"

    def pounds(v: float) -> str:
        return "n/a" if pd.isna(v) else f"{v:,.0f}"

    lines = []
    for (code, name), group in frame.groupby(["area_code", "area_name"], sort=False):
        first = group.iloc[0]
        lines.append(f"\n{name} ({code}): base year {first['base_year']}, deflator {first['deflator']}, "
                     f"real terms in {first['prices']} prices")
        header = (f"{'year':8} {'EHC plans':>10} {'actual £m':>10} {'necessary £m':>13} {'gap £m':>9} "
                  f"{'actual £/plan':>14} {'necessary £/plan':>17} {'index':>6} {'real gap £m':>12}")
        lines.append(header)
        for r in group.itertuples():
            index = "n/a" if pd.isna(r.real_per_plan_index) else f"{r.real_per_plan_index:.1f}"
            lines.append(f"{r.financial_year:8} {r.ehc_plans:>10,} {money(r.actual_gbp):>10} {money(r.necessary_gbp):>13} "
                         f"{money(r.gap_gbp):>9} {pounds(r.actual_per_plan_gbp):>14} "
                         f"{pounds(r.necessary_per_plan_gbp):>17} {index:>6} {money(r.gap_real_gbp):>12}")
    return "\n".join(lines)


def command_gap(args: argparse.Namespace) -> int:
    """Print the gap table (or write the CSV in pounds, unrounded) for `sendlib gap`; return 0."""
    frame = gap(level=args.level, area=args.area, deflator=args.deflator, lag=args.lag, base_year=args.base_year,
                prices=args.prices, numerator=args.numerator, la_base=args.la_base)
    if args.csv:
        from sendlib.io import write_csv_atomic

        write_csv_atomic(frame, args.csv)
        print(f"Wrote {len(frame)} rows to {args.csv}", file=sys.stderr)
        return 0
    print("Necessary versus actual high needs funding (necessary = base-year funding per EHC plan, held constant "
          "in real terms, times the plans counted in " + ("the January before" if args.lag == 0 else
                                                            "the January inside") + " each year)")
    print(_format_table(frame))
    missing = frame[frame["necessary_gbp"].isna()]
    if not missing.empty:
        print(f"\nn/a: no {args.deflator.upper()} deflator published yet for "
              + ", ".join(sorted(missing["financial_year"].unique())) + " (never estimated here)")
    if args.level == "england":
        national = load("national_series").set_index("financial_year")
        statuses = national.loc[frame["financial_year"].unique(), "hnb_status"]
        print("\nHigh needs block source by year: " + "; ".join(f"{fy} {s}" for fy, s in statuses.items()))
    if args.level == "la" and args.la_base == "national":
        print("\nLA base rate = England's (a simplification: LAs started from different funding per plan).")
    return 0
