"""ehcp.csv: EHC plans each January 2015-2025 with the flows of the calendar year before, per LA,
region and England, from the SEN2 releases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sendlib.build.common import Built, as_int, check_sums, path_of, require
from sendlib.errors import InputFileError
from sendlib.geography import ENGLAND_CODE
from sendlib.readers.ees import ees_level, january_of_time_period, only_top_level, read_columns

FIRST_JANUARY, FIRST_JANUARY_2025_RELEASE = 2015, 2019
YORKSHIRE = "E12000003"
GEO = ["time_period", "time_identifier", "geographic_level", "region_code", "region_name", "old_la_code",
       "new_la_code", "la_name"]

COUNT_COLUMNS = [
    "ehc_plans", "new_plans", "requests", "requests_refused", "requests_agreed_to_assess", "plans_issued",
    "plans_issued_within_20_weeks", "placement_mainstream", "placement_state_special",
    "placement_independent_special", "placement_post16", "placement_other",
]
COLUMNS = ["area_code", "level", "january", "ehc_plans", "flows_calendar_year", "new_plans", "requests",
           "requests_refused", "requests_agreed_to_assess", "plans_issued", "plans_issued_within_20_weeks",
           "within_20_weeks_pct", "placement_mainstream", "placement_state_special",
           "placement_independent_special", "placement_post16", "placement_other", "caseload_source",
           "flows_source"]


def _area_code(frame: pd.DataFrame, path: Path) -> pd.Series:
    """Return the area code of each EES row: 3-digit LA code, E12 region code or England's code."""
    level = frame["geographic_level"].map(lambda v: ees_level(v, path))
    code = np.where(level == "la", frame["old_la_code"],
                    np.where(level == "region", frame["region_code"], ENGLAND_CODE))
    result = pd.Series(code, index=frame.index, dtype=object)
    bad = (level == "la") & ~result.str.fullmatch(r"\d{3}")
    if bad.any():
        raise InputFileError(path, f"old_la_code {result[bad].iloc[0]!r} is not a 3-digit LA code",
                             "3-digit DfE codes such as '886'")
    return result


def _read_sen2(path: Path, values: list[str], topic: str | None = None, counts: list[str] | None = None,
               calendar: bool = False, age: str | None = None) -> pd.DataFrame:
    """Return an SEN2 file as area_code, level, period (January or calendar year) and parsed values.

    `topic` keeps one breakdown_topic; `age` keeps one characteristic_age (the full 2022 caseload file has a
    row per age group as well as the Total rows).
    """
    required = GEO + values + (["breakdown_topic"] if topic else []) + (["characteristic_age"] if age else [])
    frame = read_columns(path, required, numeric=values, counts=counts if counts is not None else values)
    if topic:
        frame = only_top_level(frame, "breakdown_topic", topic)
    if age:
        frame = frame[frame["characteristic_age"] == age]
    frame = frame.assign(level=frame["geographic_level"].map(lambda v: ees_level(v, path)),
                         area_code=_area_code(frame, path))
    if calendar:
        frame["period"] = frame["time_period"].astype(int)
    else:
        frame["period"] = [january_of_time_period(p, i) for p, i in zip(frame["time_period"], frame["time_identifier"], strict=True)]
    repeated = frame[frame.duplicated(["area_code", "period"], keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        times = int(((repeated["area_code"] == first["area_code"]) & (repeated["period"] == first["period"])).sum())
        raise InputFileError(path, f"area {first['area_code']} period {first['period']} appears {times} times",
                             "one row per area and period")
    return frame


def sen2_presence(raw: Path) -> pd.DataFrame:
    """Return one row per LA and January counted in the SEN2 caseload files (which LAs existed when)."""
    frames = []
    for name, value, topic, age in [("sen2_2022_caseload", "Total_all", None, "Total"),
                                    ("sen2_2025_caseload", "ehcplans", "All EHC plans", None)]:
        path = path_of(raw, name)
        frame = _read_sen2(path, [value], topic, age=age)
        frames.append(frame.loc[frame["level"] == "la",
                                ["old_la_code", "new_la_code", "la_name", "region_code", "region_name", "period"]])
    presence = pd.concat(frames).rename(columns={"period": "january"})
    # the 2025 release comes second: keep its names and codes for the Januaries both cover
    return presence.drop_duplicates(["old_la_code", "january"], keep="last").reset_index(drop=True)


def build_ehcp(raw: Path, areas: pd.DataFrame) -> Built:
    """Return ehcp.csv: January caseloads 2015-2025, placements, and the previous calendar year's flows."""
    table = "ehcp"
    corrections, checks = [], []

    # ----- caseload: 2022 release for January 2015-2018, 2025 release for January 2019-2025
    old = _read_sen2(path_of(raw, "sen2_2022_caseload"), ["Total_all"], age="Total")
    new = _read_sen2(path_of(raw, "sen2_2025_caseload"),
                     ["ehcplans", "mainstream_total", "special_la_maintained", "special_academy_free",
                      "special_independent", "special_non_maintained", "fe_total"], "All EHC plans")
    overlap = old.merge(new, on=["area_code", "period"])
    differs = overlap[(overlap["Total_all"] - overlap["ehcplans"]).abs() > 0]
    require(differs.empty, table, "the 2022 and 2025 SEN2 releases disagree on EHC plans for "
            + ", ".join(f"{r.area_code} January {r.period}" for r in differs.head(3).itertuples()))
    checks.append(f"2022 and 2025 SEN2 releases agree exactly on {len(overlap)} area-Januaries they share")
    caseload_old = old[(old["period"] >= FIRST_JANUARY) & (old["period"] < FIRST_JANUARY_2025_RELEASE)]
    caseload = pd.concat([
        pd.DataFrame({"area_code": caseload_old["area_code"], "level": caseload_old["level"],
                      "january": caseload_old["period"], "ehc_plans": caseload_old["Total_all"],
                      "caseload_source": "SEN2 2022 release (statements + EHC plans)"}),
        pd.DataFrame({
            "area_code": new["area_code"], "level": new["level"], "january": new["period"],
            "ehc_plans": new["ehcplans"],
            "placement_mainstream": new["mainstream_total"],
            "placement_state_special": new["special_la_maintained"] + new["special_academy_free"],
            "placement_independent_special": new["special_independent"] + new["special_non_maintained"],
            "placement_post16": new["fe_total"],
            "caseload_source": "SEN2 2025 release (EHC plans)",
        }),
    ], ignore_index=True)
    placed = caseload[["placement_mainstream", "placement_state_special", "placement_independent_special",
                       "placement_post16"]].sum(axis=1, min_count=4)
    caseload["placement_other"] = caseload["ehc_plans"] - placed
    require(not (caseload["placement_other"] < 0).any(), table,
            "placements add up to more than the EHC plans for "
            + str(caseload.loc[caseload["placement_other"] < 0, ["area_code", "january"]].head(2).to_dict("records")))

    # ----- flows: MI file (2023 release) for 2014-2018, 2025 release for 2019-2024
    mi = _read_sen2(path_of(raw, "sen2_mi_2023"),
                    ["new_all_ehc", "inreq_ehc", "ass_refused_ehc", "tot_inc_exc_ehc", "inc_exc_20week_ehc",
                     "inc_exc_20week_rate"], calendar=True)
    newplans = _read_sen2(path_of(raw, "sen2_2025_newplans"), ["new_ehc_plans"], "New EHC plans", calendar=True)
    requests = _read_sen2(path_of(raw, "sen2_2025_requests"),
                          ["requests_received_in_year", "requests_decided_to_assess", "requests_decided_not_to_assess"],
                          "All requests for EHC needs assessments", calendar=True)
    timely = _read_sen2(path_of(raw, "sen2_2025_timeliness"),
                        ["plans_issued_den", "plans_issued_within_20_weeks", "pc_plans_issued_within_20_weeks"],
                        "All EHC plans issued", counts=["plans_issued_den", "plans_issued_within_20_weeks"],
                        calendar=True)
    first_new = int(newplans["period"].min())
    newplans, correction = _correct_yorkshire_new_plans(newplans, mi, raw)
    if correction:
        corrections.append(correction)
    mi_part = mi[mi["period"] < first_new]
    keys = ["area_code", "level", "period"]
    flows_new = (newplans[keys + ["new_ehc_plans"]]
                 .merge(requests[keys + ["requests_received_in_year", "requests_decided_to_assess",
                                         "requests_decided_not_to_assess"]], on=keys, how="outer")
                 .merge(timely[keys + ["plans_issued_den", "plans_issued_within_20_weeks",
                                       "pc_plans_issued_within_20_weeks"]], on=keys, how="outer"))
    flows = pd.concat([
        pd.DataFrame({"area_code": mi_part["area_code"], "level": mi_part["level"], "period": mi_part["period"],
                      "new_plans": mi_part["new_all_ehc"], "requests": mi_part["inreq_ehc"],
                      "requests_refused": mi_part["ass_refused_ehc"], "plans_issued": mi_part["tot_inc_exc_ehc"],
                      "plans_issued_within_20_weeks": mi_part["inc_exc_20week_ehc"],
                      "within_20_weeks_pct": mi_part["inc_exc_20week_rate"],
                      "flows_source": "SEN2 2023 release, management information file"}),
        pd.DataFrame({"area_code": flows_new["area_code"], "level": flows_new["level"], "period": flows_new["period"],
                      "new_plans": flows_new["new_ehc_plans"], "requests": flows_new["requests_received_in_year"],
                      "requests_refused": flows_new["requests_decided_not_to_assess"],
                      "requests_agreed_to_assess": flows_new["requests_decided_to_assess"],
                      "plans_issued": flows_new["plans_issued_den"],
                      "plans_issued_within_20_weeks": flows_new["plans_issued_within_20_weeks"],
                      "within_20_weeks_pct": flows_new["pc_plans_issued_within_20_weeks"],
                      "flows_source": "SEN2 2025 release"}),
    ], ignore_index=True)
    flows["january"] = flows["period"] + 1
    flows = flows.rename(columns={"period": "flows_calendar_year"})

    frame = caseload[caseload["january"] >= FIRST_JANUARY].merge(
        flows, on=["area_code", "level", "january"], how="left")
    orphans = flows.merge(caseload[["area_code", "january"]], on=["area_code", "january"], how="left", indicator=True)
    orphans = orphans[(orphans["_merge"] == "left_only") & (orphans["january"] >= FIRST_JANUARY)
                      & (orphans["january"] <= caseload["january"].max())]
    require(orphans.empty, table, "flows for an area with no January count: "
            + str(orphans[["area_code", "flows_calendar_year"]].head(3).to_dict("records")))
    frame["flows_calendar_year"] = frame["january"] - 1
    frame["flows_source"] = frame["flows_source"].fillna("")

    unknown = sorted(set(frame.loc[frame["level"] == "la", "area_code"]) - set(areas["area_code"]))
    require(not unknown, table, f"LA codes not in areas.csv: {unknown}")
    for column in COUNT_COLUMNS:
        frame[column] = as_int(frame[column])
    frame = frame[COLUMNS].sort_values(["level", "area_code", "january"], key=_level_order).reset_index(drop=True)

    exceptions = {}
    if correction:
        exceptions[("new_plans", YORKSHIRE, correction["january"])] = correction["reason"]
    checks += check_sums(frame, table, "january", COUNT_COLUMNS, areas, exceptions)
    england = frame[frame["level"] == "england"].set_index("january")["ehc_plans"]
    for january, expected in [(2015, 240_183), (2025, 638_745)]:
        require(england.get(january) == expected, table,
                f"England EHC plans in January {january} are {england.get(january)}, expected {expected:,}")
    checks.append("England EHC plans: 240,183 in January 2015 and 638,745 in January 2025, as published")
    return Built(table, frame, ["sen2_2022_caseload", "sen2_2025_caseload", "sen2_2025_newplans", "sen2_2025_requests",
                                "sen2_2025_timeliness", "sen2_mi_2023"], corrections, checks,
                 ["january = the January of the count; flows (new plans, requests, refusals, 20-week timeliness) "
                  "are for flows_calendar_year = january - 1, as reported in that January's SEN2 collection",
                  "placement_other = ehc_plans minus the four named placement groups (AP/PRU, home education, "
                  "NEET, other arrangements, awaiting provision, unknown)",
                  "requests_refused = requests where the LA decided not to assess"])


def _correct_yorkshire_new_plans(newplans: pd.DataFrame, mi: pd.DataFrame, raw: Path) -> tuple[pd.DataFrame, dict | None]:
    """Replace Yorkshire and the Humber LA new plans that repeat the regional total with the MI file's values.

    The 2025 release gives every Yorkshire and the Humber LA the regional total (6,078) as its 2022 new plans.
    The defect is detected, not assumed: a year is corrected only if every LA in the region repeats the total.
    """
    la = newplans[newplans["level"] == "la"]
    region = newplans[(newplans["level"] == "region") & (newplans["area_code"] == YORKSHIRE)].set_index("period")
    yorkshire = la[la["region_code"] == YORKSHIRE]
    for year, group in yorkshire.groupby("period"):
        total = region.loc[year, "new_ehc_plans"] if year in region.index else np.nan
        if len(group) > 1 and (group["new_ehc_plans"] == total).all():
            replacement = mi[(mi["period"] == year) & (mi["level"] == "la")].set_index("area_code")["new_all_ehc"]
            missing = sorted(set(group["area_code"]) - set(replacement.dropna().index))
            if missing:
                raise InputFileError(path_of(raw, "sen2_mi_2023"),
                                     f"no {year} new plans for Yorkshire and the Humber LAs {missing}",
                                     "new_all_ehc for every LA in the region")
            fixed = newplans.copy()
            rows = fixed["area_code"].isin(group["area_code"]) & (fixed["period"] == year)
            fixed.loc[rows, "new_ehc_plans"] = fixed.loc[rows, "area_code"].map(replacement)
            values = {c: int(v) for c, v in replacement[group["area_code"]].sort_index().items()}
            reason = (f"SEN2 2025 release gives every Yorkshire and the Humber LA the regional total "
                      f"{int(total):,} as its {year} new EHC plans; replaced with new_all_ehc from the 2023 "
                      f"management-information file (LA sum {sum(values.values()):,}; the region row keeps "
                      f"the published {int(total):,})")
            return fixed, {"table": "ehcp", "column": "new_plans", "region": "Yorkshire and The Humber",
                           "calendar_year": int(year), "january": int(year) + 1, "source": "sen2_mi_2023",
                           "reason": reason, "published_value": int(total), "replacement_values": values}
    return newplans, None


def _level_order(column: pd.Series) -> pd.Series:
    """Sort key: England first, then regions, then LAs."""
    if column.name == "level":
        return column.map({"england": 0, "region": 1, "la": 2})
    return column
