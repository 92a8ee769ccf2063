"""hex_layout.csv: one hexagon per current LA, from Open Innovations' hex map and sendlib's placements.

The HexJSON (odd-r layout, MIT licence) has the upper-tier councils of 2019-20. A council it names by its
current ONS code keeps its hex; one it names by a former ONS code (North Yorkshire, Somerset,
Buckinghamshire: areas.csv `former_ons_codes`) keeps that hex too. Councils created since (Cumberland,
Westmorland and Furness, North and West Northamptonshire), and any council moved to make room, are placed by
data/external/hexmap_placements.csv (area_code, q, r, reason). The HexJSON is never edited. The build refuses
two councils on one hex, a current LA without a hex, and any code either file has that areas.csv does not.
The licence notice travels with the table: MANIFEST.json's entry and hex_layout.LICENSE.txt beside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from sendlib.build.common import Built, path_of
from sendlib.errors import BuildCheckError, InputFileError
from sendlib.geography import split_list
from sendlib.paths import external_dir
from sendlib.readers.hexjson import read_hexjson
from sendlib.sources import HEXMAP_CREDIT, STATUS_COMPILED, sha256_of, source

TABLE = "hex_layout"
HEXJSON, LICENCE = "hexmap_upper_tier", "hexmap_licence"
PLACEMENTS_FILE = "hexmap_placements.csv"
PLACEMENT_COLUMNS = ("area_code", "q", "r", "reason")
LICENCE_FILE = f"{TABLE}.LICENSE.txt"
FROM_HEXJSON, FROM_FORMER_CODE, FROM_PLACEMENT = "hexjson", "hexjson-former-code", "placement"


def current_las(areas: pd.DataFrame) -> pd.DataFrame:
    """Return the areas rows of the LAs counted in the latest January of the registry (the current LAs)."""
    las = areas[areas["level"] == "la"]
    return las[las["last_year"] == las["last_year"].max()].reset_index(drop=True)


def read_placements(path: Path, areas: pd.DataFrame) -> pd.DataFrame:
    """Return the placements (area_code, q, r, reason), each a current LA; InputFileError names file and row."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", f"the hex placements, columns {', '.join(PLACEMENT_COLUMNS)}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(path, f"not a readable CSV ({exc})", "a CSV file") from None
    if tuple(frame.columns) != PLACEMENT_COLUMNS:
        raise InputFileError(path, f"columns {list(frame.columns)}", f"the columns {', '.join(PLACEMENT_COLUMNS)}")
    las = areas[areas["level"] == "la"].set_index("area_code")
    current = set(current_las(areas)["area_code"])
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        code = row.area_code.strip()
        if code not in las.index:
            raise InputFileError(path, f"row {number}: area_code {code!r} is not an LA in areas.csv",
                                 "the 3-digit code of a current LA")
        if code not in current:
            raise InputFileError(path, f"row {number}: {las.loc[code, 'area_name']} ({code}) is not a current LA",
                                 "the 3-digit code of a current LA")
        for axis in ("q", "r"):
            text = getattr(row, axis).strip()
            if not text.lstrip("-").isdigit():
                raise InputFileError(path, f"row {number}: {axis} = {text!r}", f"a whole number for {axis}")
        if not row.reason.strip():
            raise InputFileError(path, f"row {number}: no reason for {las.loc[code, 'area_name']} ({code})",
                                 "a reason for every placement")
    repeated = frame[frame["area_code"].str.strip().duplicated()]
    if not repeated.empty:
        raise InputFileError(path, f"area_code {repeated['area_code'].iloc[0].strip()!r} is placed twice",
                             "one row per council")
    return pd.DataFrame({"area_code": frame["area_code"].str.strip(), "q": frame["q"].astype(int),
                         "r": frame["r"].astype(int), "reason": frame["reason"].str.strip()})


def hexjson_positions(hexes: pd.DataFrame, areas: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Return the HexJSON's hexes matched to current LAs (by ONS code, then former ONS code), and the hexes of
    councils that no longer exist ('Cumbria (E10000006) at 6,14'); an ONS code no LA has is an error."""
    las = areas[areas["level"] == "la"]
    current = set(current_las(areas)["area_code"])
    by_ons = {r.ons_code: (r.area_code, FROM_HEXJSON) for r in las.itertuples()}
    by_former = {ons: (r.area_code, FROM_FORMER_CODE) for r in las.itertuples() for ons in split_list(r.former_ons_codes)}
    names = dict(zip(las["area_code"], las["area_name"], strict=True))
    rows, superseded = [], []
    for hexagon in hexes.itertuples(index=False):
        match = by_ons.get(hexagon.code) or by_former.get(hexagon.code)
        if match is None:
            raise InputFileError(path, f"hex {hexagon.code!r} ({hexagon.name}) is not the ONS code of any LA in "
                                       "areas.csv (current or former)", "ONS codes of England's upper-tier LAs")
        code, how = match
        if code not in current:
            superseded.append(f"{names[code]} ({hexagon.code}) at {hexagon.q},{hexagon.r}")
            continue
        note = f"HexJSON hex {hexagon.code}, the council's former ONS code" if how == FROM_FORMER_CODE else pd.NA
        rows.append({"area_code": code, "q": hexagon.q, "r": hexagon.r, "position_source": how,
                     "position_note": note})
    frame = pd.DataFrame(rows, columns=["area_code", "q", "r", "position_source", "position_note"])
    twice = frame[frame["area_code"].duplicated()]
    if not twice.empty:
        raise InputFileError(path, f"two hexes for {names[twice['area_code'].iloc[0]]} "
                                   f"({twice['area_code'].iloc[0]})", "one hex per council")
    return frame, superseded


def place(hexjson: pd.DataFrame, placements: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Return one row per current LA with its hex: the placements over the HexJSON's positions.

    Raises BuildCheckError naming the councils when a current LA has no hex or two councils share one.
    """
    las = current_las(areas)
    moved = placements.assign(position_source=FROM_PLACEMENT, position_note=placements["reason"])
    kept = hexjson[~hexjson["area_code"].isin(placements["area_code"])]
    frame = pd.concat([kept, moved[list(kept.columns)]], ignore_index=True)
    frame = las[["area_code", "ons_code", "area_name"]].merge(frame, on="area_code", how="left")
    missing = frame[frame["q"].isna()]
    if not missing.empty:
        raise BuildCheckError(TABLE, "no hex for " + ", ".join(
            f"{r.area_name} ({r.area_code})" for r in missing.itertuples()) + f": add a row to {PLACEMENTS_FILE}")
    frame["q"], frame["r"] = frame["q"].astype(int), frame["r"].astype(int)
    shared = frame[frame.duplicated(["q", "r"], keep=False)].sort_values(["q", "r", "area_code"])
    if not shared.empty:
        first = shared.iloc[0]
        both = shared[(shared["q"] == first["q"]) & (shared["r"] == first["r"])]
        raise BuildCheckError(TABLE, f"hex {first['q']},{first['r']} holds " + " and ".join(
            f"{r.area_name} ({r.area_code}, {r.position_source})" for r in both.itertuples()))
    return frame.sort_values("area_code").reset_index(drop=True)


def licence_text(notice: str) -> str:
    """Return hex_layout.LICENSE.txt: what the table derives from, then the licence notice as published."""
    hexjson = source(HEXJSON)
    return (f"data/processed/{TABLE}.csv places England's upper-tier local authorities on a hex map derived from\n"
            f"Open Innovations' {Path(hexjson.path).name}\n({hexjson.url}).\n"
            f"Councils the map predates are placed by sendlib (data/external/{PLACEMENTS_FILE}).\n"
            "The hex map is used under the licence below, kept with every copy and derived map.\n\n"
            + notice.strip() + "\n")


def copyright_line(notice: str, path: Path) -> str:
    """Return the licence's copyright line ('Copyright (c) 2017- Open Innovations'); error if it has none."""
    lines = [line.strip() for line in notice.splitlines() if line.strip().lower().startswith("copyright")]
    if not lines:
        raise InputFileError(path, "no copyright line", "the MIT licence with its copyright notice")
    return lines[0]


def build_hex_layout(raw: Path, areas: pd.DataFrame, placements_path: Path | None = None) -> Built:
    """Return hex_layout.csv (one row per current LA: area_code, ons_code, area_name, q, r, position_source,
    position_note) with its licence notice and the placements file as inputs."""
    hexjson_path, licence_path = path_of(raw, HEXJSON), path_of(raw, LICENCE)
    placements_path = Path(placements_path or external_dir() / PLACEMENTS_FILE)
    hexjson, superseded = hexjson_positions(read_hexjson(hexjson_path, layout="odd-r"), areas, hexjson_path)
    placements = read_placements(placements_path, areas)
    frame = place(hexjson, placements, areas)
    notice = licence_path.read_bytes().decode("utf-8")
    text = licence_text(notice)
    counts = frame["position_source"].value_counts()
    latest = int(current_las(areas)["last_year"].max())
    moved = placements[placements["area_code"].isin(hexjson["area_code"])]
    checks = [f"{len(frame)} current LAs (January {latest}), each on its own hex: {counts.get(FROM_HEXJSON, 0)} by "
              f"ONS code, {counts.get(FROM_FORMER_CODE, 0)} by former ONS code, {counts.get(FROM_PLACEMENT, 0)} from "
              f"{PLACEMENTS_FILE} ({len(moved)} of them moved from their HexJSON hex)",
              "every HexJSON hex and every placement names an LA in areas.csv"]
    notes = ["q is the hex's column, r its row (row 0 at the bottom); layout odd-r: odd rows sit half a hex right",
             "HexJSON hexes of councils that no longer exist, not drawn: " + ("; ".join(superseded) or "none"),
             f"{copyright_line(notice, licence_path)}; MIT licence, kept in {LICENCE_FILE} and credited on every "
             f"map as '{HEXMAP_CREDIT}'"]
    placements_input = {"name": "hexmap_placements", "file": f"data/external/{PLACEMENTS_FILE}",
                        "publisher": "sendlib", "title": "Hex positions of councils the HexJSON does not place, "
                        "each with its reason", "url": "see each row's reason", "release": "see each row",
                        "status": STATUS_COMPILED, "sha256": sha256_of(placements_path)}
    licence = {"name": "MIT", "copyright": copyright_line(notice, licence_path), "file": LICENCE_FILE,
               "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "text": notice.strip()}
    return Built(TABLE, frame, [HEXJSON, LICENCE], checks=checks, notes=notes, extra_inputs=[placements_input],
                 licence=licence, companions={LICENCE_FILE: text.encode("utf-8")})
