"""Event study of Safety Valve (SV) agreements: Sun–Abraham interaction-weighted estimates by event time.

For stable unit i (LAs joined across reorganisations) and January t, with G_i the first treated January of
i's SV cohort (never-treated units have none), the regression is

    Y_it = a_i + l_t + sum_{g, e != -1} d_{g,e} 1{G_i = g} 1{t - g = e} + u_it

fully saturated in cohort x event time, with LA and year fixed effects, estimated by OLS (statsmodels) with
standard errors clustered by unit. The comparison units (never in SV, or DBV-only) identify the year effects;
each d_{g,e} is then cohort g's change from its reference January g - 1 net of the comparison units' change,
valid under staggered timing and effects that differ across cohorts and event times (Sun and Abraham 2021).
The estimate at event time e averages d_{g,e} over cohorts, weighted by each cohort's treated units observed
at e. Event time 0 is the first treated January; -1 is the reference, fixed at 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm

from sendlib.data import load
from sendlib.errors import ParameterError
from sendlib.geography import harmonise, stable_units, unit_names
from sendlib.periods import first_flow_year_after_agreement, first_january_after_agreement
from sendlib.programmes import SV_AGREEMENTS_ANNOUNCED

ESTIMATOR = "sun_abraham"
COLUMNS = ["outcome", "event_time", "estimate", "se", "ci_low", "ci_high", "n_treated", "estimator", "comparison"]
COMPARISONS = ("never", "dbv")
REFERENCE = -1
DEFAULT_WINDOW = (-5, 3)
CONFIDENCE = 0.95
POPULATION_YEAR = 2023
MIN_PLANS = 100
COUNTS = ["ehc_plans", "new_plans", "requests", "requests_refused", "plans_issued_excl_exceptions",
          "plans_issued_within_20_weeks_excl_exceptions", "placement_state_special", "placement_independent_special"]


@dataclass(frozen=True)
class Outcome:
    """One outcome: what it measures, its unit, and whether it is a January stock or a calendar-year flow."""

    description: str
    unit: str
    timing: str


OUTCOMES: dict[str, Outcome] = {
    "log_ehc_plans": Outcome(
        "natural log of the EHC plans counted in January (statements + EHC plans to 2018)",
        "log points (x100 ~ per cent)", "stock"),
    "new_plans_per_1000": Outcome(
        "new EHC plans made in the calendar year per 1,000 residents aged 0-25; the denominator is the "
        f"mid-{POPULATION_YEAR} population of every year (ages 0-25 are published for mid-{POPULATION_YEAR} only)",
        "plans per 1,000 aged 0-25", "flow"),
    "refusal_rate": Outcome(
        "requests for an EHC needs assessment refused / requests received in the calendar year; decided "
        "requests are only published from 2023, so requests received are the denominator",
        "percentage points", "flow"),
    "within_20_weeks_pct": Outcome(
        "EHC plans issued within 20 weeks / plans issued in the calendar year, both excluding exceptions "
        "(DfE's headline measure)",
        "percentage points", "flow"),
    "special_or_independent_share": Outcome(
        "EHC plans placed in state-funded or independent special schools / all EHC plans in January "
        "(January 2019 onward)", "percentage points", "stock"),
}



@dataclass(frozen=True)
class PreTrend:
    """Joint Wald (F) test that the event-time estimates before the reference period are all zero."""

    event_times: tuple[int, ...]
    statistic: float
    df_num: int
    df_denom: int
    p_value: float


@dataclass
class EventStudyFit:
    """Aggregated estimates (event_time, estimate, se, ci_low, ci_high, n_treated), cohort-level coefficients and
    the pre-trend test of one Sun–Abraham regression."""

    estimates: pd.DataFrame
    cohort_effects: pd.DataFrame
    pretrend: PreTrend
    n_units: int
    n_observations: int


@dataclass
class EventStudySummary:
    """Everything reported for one outcome, comparison and sample: the tidy table and what it rests on.

    `units` has one row per unit the study met: role 'treated' (with cohort and first treated January),
    'comparison' or 'dropped' (with a reason code of DROP_REASONS); `excluded` lists the unit-Januaries left
    out because a data flag marks their count (sample 'unflagged').
    """

    outcome: str
    comparison: str
    sample: str
    table: pd.DataFrame
    pretrend: PreTrend
    units: pd.DataFrame
    n_units: int
    n_observations: int
    first_january: int
    last_january: int
    excluded: list[tuple[str, int]] = field(default_factory=list)


# ----------------------------------------------------------------------------------------- timing


def january_reporting_flow_year(calendar_year: int) -> int:
    """Return the January whose SEN2 row reports the flows of `calendar_year` (the following January)."""
    return calendar_year + 1


def first_treated_row(cohort: str, timing: str) -> int:
    """Return the January row that is event time 0 for an outcome timed 'stock' or 'flow' (both start + 2)."""
    if timing == "stock":
        return first_january_after_agreement(cohort)
    if timing == "flow":
        return january_reporting_flow_year(first_flow_year_after_agreement(cohort))
    raise ValueError(f"timing must be 'stock' or 'flow', not {timing!r}")


# ----------------------------------------------------------------------------------------- groups


def la_programme_status(programmes: pd.DataFrame) -> pd.DataFrame:
    """Return one row per programme LA: area_code, status ('sv', 'dbv' or 'uncertain') and SV cohort.

    Low-confidence rows never make a treated or DBV LA: an LA whose only SV evidence is low-confidence is
    'uncertain' (kept out of every group); a low-confidence DBV row is ignored. An LA in DBV and SV is 'sv'.
    """
    rows = []
    for code, group in programmes.groupby("area_code", sort=True):
        firm = group[group["confidence"] != "low"]
        sv = firm[firm["programme"] == "safety_valve"]
        if not sv.empty:
            rows.append({"area_code": code, "status": "sv", "cohort": str(sv["cohort"].iloc[0])})
        elif (group["programme"] == "safety_valve").any():
            rows.append({"area_code": code, "status": "uncertain", "cohort": None})
        elif (firm["programme"] == "dbv").any():
            rows.append({"area_code": code, "status": "dbv", "cohort": None})
    return pd.DataFrame(rows, columns=["area_code", "status", "cohort"])


def unit_programme_status(programmes: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Return one row per stable unit: unit, status ('sv', 'dbv', 'never', 'uncertain' or 'mixed') and cohort.

    A unit takes the status of its member LAs that have programme rows; members of one unit with different
    statuses or SV cohorts make it 'mixed'.
    """
    mapping = stable_units(registry)
    status = la_programme_status(programmes).set_index("area_code")
    members: dict[str, list[str]] = {}
    for code, unit in mapping.items():
        members.setdefault(unit, []).append(code)
    rows = []
    for unit, codes in sorted(members.items()):
        found = status.reindex([c for c in codes if c in status.index])
        kinds = set(zip(found["status"], found["cohort"].fillna(""), strict=True))
        if not kinds:
            rows.append({"unit": unit, "status": "never", "cohort": None})
        elif len(kinds) == 1:
            kind, cohort = kinds.pop()
            rows.append({"unit": unit, "status": kind, "cohort": cohort or None})
        else:
            rows.append({"unit": unit, "status": "mixed", "cohort": None})
    return pd.DataFrame(rows, columns=["unit", "status", "cohort"])


def comparison_statuses(comparison: str) -> tuple[str, ...]:
    """Return the unit statuses that form the comparison group: never in SV (never, dbv) or DBV-only (dbv)."""
    check_comparison(comparison)
    return ("never", "dbv") if comparison == "never" else ("dbv",)


# ----------------------------------------------------------------------------------------- outcomes


def check_outcome(outcome: object) -> None:
    """Raise ParameterError naming the valid outcomes unless `outcome` is one of them."""
    if outcome not in OUTCOMES:
        raise ParameterError("outcome", outcome, "one of " + ", ".join(OUTCOMES))


def check_comparison(comparison: object) -> None:
    """Raise ParameterError unless `comparison` is 'never' or 'dbv'."""
    if comparison not in COMPARISONS:
        raise ParameterError("comparison", comparison, "one of " + ", ".join(COMPARISONS))


def unit_counts(ehcp: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Return LA counts on stable units: unit, january and COUNTS (plans, as floats; NaN where not published).

    Reorganised LAs go through geography.harmonise (a unit's count is missing unless every member LA that
    existed that January has one); every other LA is its own unit, unchanged.
    """
    las = ehcp.loc[ehcp["level"] == "la", ["area_code", "level", "january", *COUNTS]]
    out = harmonise(las, "january", COUNTS, registry).rename(columns={"area_code": "unit"})
    out = out[["unit", "january", *COUNTS]]
    out["unit"] = out["unit"].astype(str)
    out["january"] = out["january"].astype(int)
    for column in COUNTS:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out.sort_values(["unit", "january"], ignore_index=True)


def unit_population_0_25(population: pd.DataFrame, registry: pd.DataFrame) -> pd.Series:
    """Return residents aged 0-25 at mid-POPULATION_YEAR per stable unit (persons; NaN if a member is missing).

    The figures are on April 2023 boundaries, so a unit's population is the sum of its members that still
    existed after April 2023; every such member must have a figure.
    """
    mapping = stable_units(registry)
    last = registry.set_index("area_code")["last_year"].astype(int)
    year = population[(population["level"] == "la") & (population["mid_year"] == POPULATION_YEAR)]
    values = year.set_index("area_code")["population_0_25"].astype("float64")
    result = {}
    for unit in sorted(set(mapping.values())):
        current = [m for m in unit.split("+") if last[m] > POPULATION_YEAR]
        got = values.reindex(current)
        result[unit] = float(got.sum()) if current and got.notna().all() else math.nan
    return pd.Series(result, name="population_0_25", dtype="float64")


def outcome_values(counts: pd.DataFrame, outcome: str, population: pd.Series) -> pd.Series:
    """Return the outcome per row of `counts` in OUTCOMES[outcome].unit (NaN where undefined)."""
    check_outcome(outcome)
    c = counts
    if outcome == "log_ehc_plans":
        plans = c["ehc_plans"].where(c["ehc_plans"] > 0)
        return np.log(plans)
    if outcome == "new_plans_per_1000":
        return 1000 * c["new_plans"] / c["unit"].map(population)
    if outcome == "refusal_rate":
        return 100 * c["requests_refused"] / c["requests"].where(c["requests"] > 0)
    if outcome == "within_20_weeks_pct":
        issued = c["plans_issued_excl_exceptions"]
        return 100 * c["plans_issued_within_20_weeks_excl_exceptions"] / issued.where(issued > 0)
    special = c["placement_state_special"] + c["placement_independent_special"]
    return 100 * special / c["ehc_plans"].where(c["ehc_plans"] > 0)


# ----------------------------------------------------------------------------------------- estimator


def cohort_dummies(panel: pd.DataFrame) -> pd.DataFrame:
    """Return 0/1 columns 'g{G}:e{e}', one per cohort (first treated period G) and event time e other than -1."""
    treated = panel["first_treated"].notna()
    relative = panel["period"] - panel["first_treated"]
    keys = sorted({(int(g), int(e)) for g, e in zip(panel.loc[treated, "first_treated"], relative[treated],
                                                    strict=True) if e != REFERENCE})
    columns = {f"g{g}:e{e}": ((panel["first_treated"] == g) & (relative == e)).astype("float64").to_numpy()
               for g, e in keys}
    return pd.DataFrame(columns, index=panel.index)


def within(frame: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Return each column minus its mean within groups (the unit fixed effects swept out; same units)."""
    return frame - frame.groupby(groups.to_numpy()).transform("mean")


def estimable_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Return the rows that identify the regression: outcome present, units with 2+ periods, treated units
    observed at the reference period."""
    panel = panel.dropna(subset=["y"])
    panel = panel[np.isfinite(panel["y"])]
    at_reference = panel.loc[panel["period"] - panel["first_treated"] == REFERENCE, "unit"]
    keep = panel["first_treated"].isna() | panel["unit"].isin(at_reference)
    panel = panel[keep]
    sizes = panel.groupby("unit")["period"].transform("size")
    return panel[sizes >= 2].reset_index(drop=True)


def aggregation_weights(dummies: pd.DataFrame, event_time: int) -> pd.Series:
    """Return the weight of each cohort coefficient at `event_time`: cohort's treated observations there / all."""
    names = [c for c in dummies.columns if c.endswith(f":e{event_time}")]
    counts = dummies[names].sum()
    return counts / counts.sum() if counts.sum() > 0 else counts


def sun_abraham(panel: pd.DataFrame, window: tuple[int, int] = DEFAULT_WINDOW,
                confidence: float = CONFIDENCE) -> EventStudyFit:
    """Return Sun–Abraham event-time estimates (outcome units) from a panel of unit, period (int), y and
    first_treated (the first treated period; NaN for comparison units)."""
    panel = estimable_panel(panel[["unit", "period", "y", "first_treated"]])
    if panel["first_treated"].notna().sum() == 0 or panel["first_treated"].isna().sum() == 0:
        raise ValueError("the panel needs treated and comparison units with outcomes")
    dummies = cohort_dummies(panel)
    years = pd.get_dummies(panel["period"], prefix="t", drop_first=True, dtype="float64")
    design = within(pd.concat([dummies, years], axis=1), panel["unit"])
    response = within(panel[["y"]], panel["unit"])["y"]
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        raise ValueError("the event-study design is rank deficient (a period without comparison units?)")
    groups = pd.factorize(panel["unit"])[0]
    result = sm.OLS(response, design).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    treated_units = panel.loc[panel["first_treated"].notna(), ["unit", "first_treated"]].drop_duplicates()
    rows, leads = [], []
    for e in range(window[0], window[1] + 1):
        if e == REFERENCE:
            rows.append({"event_time": e, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                         "n_treated": int(len(treated_units))})
            continue
        weights = aggregation_weights(dummies, e)
        if weights.empty:
            continue
        contrast = pd.Series(0.0, index=design.columns)
        contrast[weights.index] = weights
        test = result.t_test(contrast.to_numpy()[None, :])
        low, high = test.conf_int(alpha=1 - confidence)[0]
        n_treated = int(panel.loc[panel["period"] - panel["first_treated"] == e, "unit"].nunique())
        rows.append({"event_time": e, "estimate": float(test.effect[0]), "se": float(test.sd[0, 0]),
                     "ci_low": float(low), "ci_high": float(high), "n_treated": n_treated})
        if e < REFERENCE:
            leads.append((e, contrast.to_numpy()))
    return EventStudyFit(
        estimates=pd.DataFrame(rows, columns=["event_time", "estimate", "se", "ci_low", "ci_high", "n_treated"]),
        cohort_effects=_cohort_table(result, dummies),
        pretrend=_pretrend(result, leads),
        n_units=int(panel["unit"].nunique()),
        n_observations=int(len(panel)),
    )


def _cohort_table(result: sm.regression.linear_model.RegressionResultsWrapper,
                  dummies: pd.DataFrame) -> pd.DataFrame:
    """Return cohort, event_time, coefficient, se and treated observations of every cohort x event-time term."""
    rows = []
    for name in dummies.columns:
        cohort, event = name.split(":")
        rows.append({"first_treated": int(cohort[1:]), "event_time": int(event[1:]),
                     "coefficient": float(result.params[name]), "se": float(result.bse[name]),
                     "n_treated": int(dummies[name].sum())})
    return pd.DataFrame(rows, columns=["first_treated", "event_time", "coefficient", "se", "n_treated"])


def _pretrend(result: sm.regression.linear_model.RegressionResultsWrapper,
              leads: list[tuple[int, np.ndarray]]) -> PreTrend:
    """Return the joint F test that the aggregated leads are zero (p-value NaN when there are no leads)."""
    if not leads:
        return PreTrend((), math.nan, 0, 0, math.nan)
    matrix = np.vstack([row for _, row in leads])
    test = result.wald_test(matrix, use_f=True, scalar=True)
    return PreTrend(tuple(e for e, _ in leads), float(test.statistic), int(test.df_num), int(test.df_denom),
                    float(test.pvalue))


# ----------------------------------------------------------------------------------------- real data

SAMPLES = ("unflagged", "all")
#: Why a unit is left out (code -> description); the derived tables carry both.
DROP_REASONS = {
    "mixed_status": "programme status differs between LAs joined in a reorganisation",
    "low_confidence": "only low-confidence evidence of a Safety Valve agreement",
    "few_plans": f"fewer than {MIN_PLANS} EHC plans in every January (rates of a handful of cases)",
    "no_population": f"no mid-{POPULATION_YEAR} population aged 0-25",
    "no_reference": "treated unit without an outcome at event time -1",
}
UNIT_COLUMNS = ["role", "reason", "unit", "unit_name", "cohort", "first_treated"]


@dataclass
class Inputs:
    """What every event study reads: unit counts, unit populations aged 0-25, unit statuses, unit names, and
    the (unit, January) observations a data flag excludes."""

    counts: pd.DataFrame
    population: pd.Series
    status: pd.DataFrame
    names: dict[str, str]
    flagged: frozenset[tuple[str, int]] = frozenset()


def read_inputs(flagged_las: pd.DataFrame | None = None) -> Inputs:
    """Return the event study's inputs from the processed tables; `flagged_las` (area_code, january) names LA
    counts a data flag excludes (mapped to their stable units)."""
    registry = load("areas")
    counts = unit_counts(load("ehcp"), registry)
    population = unit_population_0_25(load("population"), registry)
    status = unit_programme_status(load("programmes"), registry)
    mapping = stable_units(registry)
    flagged = frozenset() if flagged_las is None else frozenset(
        (mapping.get(c, c), int(j)) for c, j in zip(flagged_las["area_code"], flagged_las["january"], strict=True))
    return Inputs(counts, population, status, unit_names(registry), flagged)


def unidentified_agreements(programmes: pd.DataFrame) -> int:
    """Return how many announced SV agreements have no programme row at all (agreements)."""
    return max(SV_AGREEMENTS_ANNOUNCED - int((programmes["programme"] == "safety_valve").sum()), 0)


def outcome_panel(outcome: str, comparison: str = "never", inputs: Inputs | None = None,
                  sample: str = "all") -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Return the estimation panel (unit, period = January, y, first_treated, cohort) of one outcome and
    comparison, and the units dropped (reason code -> unit codes). Sample 'unflagged' sets a January-count
    outcome (timing 'stock') of the unit-Januaries a data flag marks to missing."""
    check_outcome(outcome)
    if sample not in SAMPLES:
        raise ParameterError("sample", sample, "one of " + ", ".join(SAMPLES))
    allowed = comparison_statuses(comparison)
    inputs = inputs or read_inputs()
    counts = inputs.counts.copy()
    counts["y"] = outcome_values(counts, outcome, inputs.population)
    if sample == "unflagged" and inputs.flagged and OUTCOMES[outcome].timing == "stock":  # a count, not a flow
        hit = [(u, int(j)) in inputs.flagged for u, j in zip(counts["unit"], counts["january"], strict=True)]
        counts.loc[hit, "y"] = np.nan
    status = inputs.status.set_index("unit")
    dropped: dict[str, list[str]] = {}
    present = set(counts["unit"])
    for reason, units in [("mixed_status", [u for u in status.index[status["status"] == "mixed"] if u in present]),
                          ("low_confidence", [u for u in status.index[status["status"] == "uncertain"] if u in present])]:
        if units:
            dropped[reason] = sorted(units)
    largest = counts.groupby("unit")["ehc_plans"].max()
    small = sorted(largest.index[largest < MIN_PLANS])
    if small:
        dropped["few_plans"] = small
    if outcome == "new_plans_per_1000":
        missing = sorted(u for u in present if math.isnan(inputs.population.get(u, math.nan)))
        if missing:
            dropped["no_population"] = missing
    counts["status"] = counts["unit"].map(status["status"])
    keep = counts["status"].isin(("sv", *allowed)) & ~counts["unit"].isin(small)
    panel = counts[keep].copy()
    panel["cohort"] = panel["unit"].map(status["cohort"])
    timing = OUTCOMES[outcome].timing
    panel["first_treated"] = panel["cohort"].map(
        lambda c: first_treated_row(c, timing) if isinstance(c, str) else math.nan).astype("float64")
    panel = panel.rename(columns={"january": "period"})
    return panel[["unit", "period", "y", "first_treated", "cohort"]].reset_index(drop=True), dropped


def event_study_summary(outcome: str, comparison: str = "never", window: tuple[int, int] = DEFAULT_WINDOW,
                        inputs: Inputs | None = None, sample: str = "all") -> EventStudySummary:
    """Return the event study of SV agreements on one outcome (OUTCOMES[outcome].unit) against one comparison."""
    check_outcome(outcome)
    check_comparison(comparison)
    inputs = inputs or read_inputs()
    panel, dropped = outcome_panel(outcome, comparison, inputs, sample)
    fit = sun_abraham(panel, window)
    used = estimable_panel(panel)
    names = inputs.names
    missing_reference = sorted(set(panel.loc[panel["first_treated"].notna() & panel["y"].notna(), "unit"])
                               - set(used["unit"]))
    if missing_reference:
        dropped["no_reference"] = missing_reference
    rows = []
    treated = used.dropna(subset=["first_treated"]).drop_duplicates("unit")
    for r in treated.sort_values(["cohort", "unit"]).itertuples(index=False):
        rows.append({"role": "treated", "reason": None, "unit": r.unit, "unit_name": names.get(r.unit, r.unit),
                     "cohort": r.cohort, "first_treated": int(r.first_treated)})
    for unit in sorted(used.loc[used["first_treated"].isna(), "unit"].unique()):
        rows.append({"role": "comparison", "reason": None, "unit": unit, "unit_name": names.get(unit, unit),
                     "cohort": None, "first_treated": None})
    for reason, units in dropped.items():
        rows.extend({"role": "dropped", "reason": reason, "unit": u, "unit_name": names.get(u, u), "cohort": None,
                     "first_treated": None} for u in units)
    stock = OUTCOMES[outcome].timing == "stock"
    excluded = sorted((u, int(j)) for u, j in inputs.flagged
                      if u in set(panel["unit"])) if sample == "unflagged" and stock else []
    table = fit.estimates.assign(outcome=outcome, estimator=ESTIMATOR, comparison=comparison)[COLUMNS]
    return EventStudySummary(outcome, comparison, sample, table, fit.pretrend,
                             pd.DataFrame(rows, columns=UNIT_COLUMNS), fit.n_units, fit.n_observations,
                             int(used["period"].min()), int(used["period"].max()), excluded)


def event_study(outcome: str, comparison: str = "never", window: tuple[int, int] = DEFAULT_WINDOW) -> pd.DataFrame:
    """Return the tidy event-study table (COLUMNS; estimates in OUTCOMES[outcome].unit); the pre-trend test is
    in `.attrs['pretrend']`."""
    summary = event_study_summary(outcome, comparison, window)
    table = summary.table.copy()
    table.attrs = {"pretrend": vars(summary.pretrend).copy(), "unit": OUTCOMES[outcome].unit}
    return table
