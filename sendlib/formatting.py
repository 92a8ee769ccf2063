"""The one way numbers become text, used by the CLI, the reports, the charts and the index: money, counts,
percentages, indices and years. Every function returns 'n/a' for a missing value (None, NaN, pd.NA).

Money follows one rule everywhere (`money`): £1bn and over in billions to one decimal, £1m and over in
millions to one decimal, £1k and over in thousands, otherwise to the pound; the unit is chosen after
rounding, so £999.96m reads '£1.0bn', never '£1,000.0m'. Negative amounts read '-£3.1m'.
"""

from __future__ import annotations

import math
from numbers import Number

import pandas as pd

from sendlib.periods import fy_label

MISSING = "n/a"
_UNITS = ((1e9, "bn", 1), (1e6, "m", 1), (1e3, "k", 0))


def is_missing(value: object) -> bool:
    """Return True for None, NaN, pd.NA and anything that is not a finite number."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return not math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _sign(value: float) -> str:
    """Return '-' for a negative value that does not round to zero, else ''."""
    return "-" if value < 0 else ""


def money(value: object, digits: int = 1) -> str:
    """Return GBP as '£2.3bn', '£77.8m', '£950k' or '£400' (one rule everywhere; 'n/a' if missing)."""
    if is_missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    size = abs(amount)
    for threshold, suffix, places in _UNITS:
        places = digits if suffix in ("bn", "m") else places
        shown = round(size / threshold, places)
        if shown >= 1 and (suffix != "k" or size >= threshold):  # the unit is chosen after rounding
            return f"{_sign(amount)}£{shown:,.{places}f}{suffix}"
    pounds_shown = round(size)
    return f"{_sign(amount) if pounds_shown else ''}£{pounds_shown:,.0f}"


def pounds(value: object) -> str:
    """Return GBP to the pound with separators: '£21,846' (per-plan amounts; 'n/a' if missing)."""
    if is_missing(value):
        return MISSING
    amount = round(float(value))  # type: ignore[arg-type]
    return f"{'-' if amount < 0 else ''}£{abs(amount):,.0f}"


def count(value: object) -> str:
    """Return a count with thousands separators: '718,838' ('n/a' if missing)."""
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,.0f}"  # type: ignore[arg-type]


def number(value: object, digits: int = 1, suffix: str = "") -> str:
    """Return a number to `digits` decimals with separators and an optional suffix ('n/a' if missing)."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{digits}f}{suffix}"  # type: ignore[arg-type]


def percent(value: object, digits: int = 1) -> str:
    """Return a percentage (the value is already in per cent): '46.4%' ('n/a' if missing)."""
    return number(value, digits, "%")


def signed_percent(value: object, digits: int = 0) -> str:
    """Return a change in per cent with its sign: '+12.5%', '-3%' ('n/a' if missing)."""
    if is_missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    shown = round(amount, digits)
    sign = "+" if shown > 0 else "-" if shown < 0 else ""
    return f"{sign}{abs(shown):,.{digits}f}%"


def points(value: object, digits: int = 1) -> str:
    """Return a change in percentage points with its sign: '+1.2 points' ('n/a' if missing)."""
    if is_missing(value):
        return MISSING
    shown = round(float(value), digits)  # type: ignore[arg-type]
    sign = "+" if shown > 0 else "-" if shown < 0 else ""
    return f"{sign}{abs(shown):,.{digits}f} points"


def index(value: object, digits: int = 1) -> str:
    """Return an index value (base = 100) to one decimal: '87.4' ('n/a' if missing)."""
    return number(value, digits)


def times(value: object, digits: int = 1) -> str:
    """Return a ratio as '2.5 times' ('n/a' if missing)."""
    return number(value, digits, " times")


def change_between(new: object, old: object) -> float:
    """Return the percentage change from old to new (%; NaN if either is missing or old is 0)."""
    if is_missing(new) or is_missing(old) or float(old) == 0:  # type: ignore[arg-type]
        return math.nan
    return (float(new) / float(old) - 1) * 100  # type: ignore[arg-type]


def january(year: object) -> str:
    """Return 'January 2026' for a January count's year ('n/a' if missing)."""
    if is_missing(year):
        return MISSING
    return f"January {int(float(year))}"  # type: ignore[arg-type]


def financial_year(start: object) -> str:
    """Return '2019-20' for a financial year given by its start year (or a label already like '2019-20')."""
    if isinstance(start, str) and len(start) == 7 and start[4] == "-":
        return start
    if is_missing(start):
        return MISSING
    return fy_label(int(float(start)))  # type: ignore[arg-type]


def by_unit(value: object, unit: str) -> str:
    """Return a value formatted for an indicator's unit: GBP to the pound, counts whole, others to one decimal."""
    if is_missing(value):
        return MISSING
    text = unit.lower()
    if text.startswith("gbp") or text.startswith("£"):
        return pounds(value)
    if text.startswith("count"):
        return count(value)
    if text.startswith("%") or "per cent" in text:
        return percent(value)
    return number(value, 1)


def plain(value: object) -> object:
    """Return a number as a plain Python int or float (for JSON), None where missing; other values unchanged."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA:
        return None
    if isinstance(value, Number) or hasattr(value, "item"):
        if is_missing(value):
            return None
        item = value.item() if hasattr(value, "item") else value
        return item
    return value


def millions(value: object, digits: int = 1) -> str:
    """Return GBP in millions for a column headed '£m': '5,247.0' ('n/a' if missing)."""
    if is_missing(value):
        return MISSING
    return f"{float(value) / 1e6:,.{digits}f}"  # type: ignore[arg-type]
