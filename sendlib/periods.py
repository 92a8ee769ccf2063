"""Financial years, Januaries and the explicit pairing between them."""

from __future__ import annotations

import re

#: England's code in every table (ONS code for the country).
ENGLAND_CODE = "E92000001"

_FY = re.compile(r"^(\d{4})-(\d{2})$")


def fy_label(start_year: int) -> str:
    """Return "2019-20" for the financial year starting in April 2019."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def fy_start(label: str) -> int:
    """Return 2019 for "2019-20"; raise ValueError for anything that is not a financial year."""
    match = _FY.match(str(label).strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"{label!r} is not a financial year like '2019-20'")
    return int(match.group(1))


def is_fy_label(label: object) -> bool:
    """Return True if the value is a financial year label like '2019-20'."""
    try:
        fy_start(str(label))
    except ValueError:
        return False
    return True


def january_for_financial_year(label: str, lag: int = 0) -> int:
    """Return the January whose EHC plan count is paired with a financial year.

    lag 0: the January before the year starts (January 2019 for 2019-20);
    lag 1: the January inside the year (January 2020 for 2019-20).
    """
    if lag not in (0, 1):
        raise ValueError(f"lag must be 0 or 1, not {lag!r}")
    return fy_start(label) + lag


def financial_years(first: str, last: str) -> list[str]:
    """Return every financial year label from first to last inclusive."""
    return [fy_label(y) for y in range(fy_start(first), fy_start(last) + 1)]


def existed_in_financial_year(first_january: int, last_january: int, label: str) -> bool:
    """Return True if an LA counted in Januaries first..last existed for the financial year.

    An LA created in April Y has its first January count in Y+1 and its first financial year Y-(Y+1).
    """
    start = fy_start(label)
    return first_january <= start + 1 <= last_january


# ----------------------------------------------------------------------------- Safety Valve timing (one definition)
# An agreement "of financial year 2022-23" was announced at the end of that year (February or March 2023). So the
# January 2023 count is the last one taken before it, January 2024 the first one after it, and calendar-year
# flows count as treated from 2023 (at least nine of its twelve months follow the agreement).


def agreement_signed_year(cohort: str) -> int:
    """Return the calendar year an SV agreement of financial year `cohort` was signed by (2023 for '2022-23')."""
    return fy_start(cohort) + 1


def last_january_before_agreement(cohort: str) -> int:
    """Return the last January count taken before an agreement of financial year `cohort` (2023 for '2022-23')."""
    return agreement_signed_year(cohort)


def first_january_after_agreement(cohort: str) -> int:
    """Return the first January count taken after an agreement of financial year `cohort` (2024 for '2022-23')."""
    return agreement_signed_year(cohort) + 1


def first_flow_year_after_agreement(cohort: str) -> int:
    """Return the first calendar year of flows counted as after an agreement of `cohort` (2023 for '2022-23')."""
    return agreement_signed_year(cohort)
