"""Programme membership: which LAs are in Safety Valve (by agreement year) or DBV (by tranche), with the
source and confidence of every entry, and the comparison groups built from it."""

from __future__ import annotations

import pandas as pd

from sendlib.data import load

SV_AGREEMENTS_ANNOUNCED = 38
DBV_LAS_ANNOUNCED = 55


def coverage_statement() -> str:
    """Return the sentence that states how many of the announced SV agreements and DBV LAs are identified."""
    programmes = load("programmes")
    sv = programmes[(programmes["programme"] == "safety_valve") & (programmes["confidence"] != "low")]
    low = programmes[(programmes["programme"] == "safety_valve") & (programmes["confidence"] == "low")]
    dbv_las = _dbv_las_identified(programmes)
    text = (f"{len(sv)} of the {SV_AGREEMENTS_ANNOUNCED} Safety Valve agreements and {dbv_las} of the "
            f"{DBV_LAS_ANNOUNCED} DBV LAs are identified")
    if len(low):
        text += f"; {len(low)} further Safety Valve candidate(s) of low confidence are shown apart"
    return text


def _dbv_las_identified(programmes: pd.DataFrame) -> int:
    """Return the number of DBV participants identified, counting Cumbria's successors as one original LA."""
    dbv = programmes[programmes["programme"] == "dbv"]
    return int(len(dbv))
