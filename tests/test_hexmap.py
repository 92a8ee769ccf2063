"""The hex layout (HexJSON + placements -> hex_layout.csv, with its licence) and the hex maps drawn on it:
classes and councils in the alt text, no data shown and listed, the layout's credit in every source line,
highlighted regions labelled, colours that survive colour-vision deficiency."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendlib import hexmap, plots
from sendlib.build.hex_layout import LICENCE_FILE, build_hex_layout
from sendlib.errors import BuildCheckError, InputFileError
from sendlib.readers.hexjson import read_hexjson
from sendlib.sources import HEXMAP_CREDIT, source

MIT = """MIT License

Copyright (c) 2017- Example Maps

Permission is hereby granted, free of charge, to any person obtaining a copy of this software.
"""
REGION = ("E12000001", "North East")


def _area(code, ons, name, first=2015, last=2026, successors="", former="", level="la"):
    return {"area_code": code, "ons_code": ons, "area_name": name, "level": level, "region_code": REGION[0],
            "region_name": REGION[1], "first_year": first, "last_year": last, "successor_codes": successors,
            "former_ons_codes": former, "aliases": ""}


@pytest.fixture
def areas() -> pd.DataFrame:
    """Five LAs: one abolished in 2022 and split in two, one that changed ONS code; latest January 2026."""
    return pd.DataFrame([
        _area("901", "E06000901", "Alpha"),
        _area("902", "E06000902", "Beta", former="E10000902"),
        _area("903", "E10000903", "Gamma", last=2022, successors="904;905"),
        _area("904", "E06000904", "Gamma North", first=2023),
        _area("905", "E06000905", "Gamma South", first=2023),
        {**_area(REGION[0], "E12000001", REGION[1], level="region"), "region_code": pd.NA, "region_name": pd.NA},
    ])


def write_raw(folder: Path, hexes: dict, layout: str = "odd-r", licence: str = MIT) -> Path:
    """Write a raw folder holding a HexJSON (official format) and the licence beside it."""
    path = folder / source("hexmap_upper_tier").path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"layout": layout, "hexes": {
        code: {"n": name, "q": q, "r": r} for code, (name, q, r) in hexes.items()}}), encoding="utf-8")
    (folder / source("hexmap_licence").path).write_text(licence, encoding="utf-8")
    return folder


def write_placements(path: Path, rows: list[tuple]) -> Path:
    pd.DataFrame(rows, columns=["area_code", "q", "r", "reason"]).to_csv(path, index=False)
    return path


HEXES = {"E06000901": ("Alpha", 0, 0), "E10000902": ("Beta", 1, 0), "E10000903": ("Gamma", 0, 1)}
PLACED = [("904", 0, 1, "takes Gamma's hex"), ("905", 1, 1, "free hex east of Gamma's")]


@pytest.fixture
def raw(tmp_path) -> Path:
    return write_raw(tmp_path / "raw", HEXES)


@pytest.fixture
def placements(tmp_path) -> Path:
    return write_placements(tmp_path / "placements.csv", PLACED)


# --------------------------------------------------------------------------------------- the layout


def test_every_current_la_gets_one_hex_and_says_where_it_came_from(raw, placements, areas):
    built = build_hex_layout(raw, areas, placements)
    frame = built.frame.set_index("area_code")
    assert list(frame.index) == ["901", "902", "904", "905"]  # the latest January is read, not assumed
    assert frame.loc["901", ["q", "r", "position_source"]].tolist() == [0, 0, "hexjson"]
    assert frame.loc["902", ["q", "r", "position_source"]].tolist() == [1, 0, "hexjson-former-code"]
    assert "E10000902" in frame.loc["902", "position_note"]
    assert frame.loc["904", ["q", "r", "position_source", "position_note"]].tolist() == [
        0, 1, "placement", "takes Gamma's hex"]
    assert frame.loc["905", ["q", "r"]].tolist() == [1, 1]
    assert any("Gamma (E10000903) at 0,1" in note for note in built.notes)
    assert built.inputs == ["hexmap_upper_tier", "hexmap_licence"]
    assert built.extra_inputs[0]["file"] == "data/external/hexmap_placements.csv"


def test_the_licence_notice_travels_with_the_table(raw, placements, areas):
    built = build_hex_layout(raw, areas, placements)
    assert built.licence["copyright"] == "Copyright (c) 2017- Example Maps"
    assert built.licence["name"] == "MIT" and built.licence["file"] == LICENCE_FILE
    text = built.companions[LICENCE_FILE].decode("utf-8")
    assert "Copyright (c) 2017- Example Maps" in text and "Permission is hereby granted" in text
    assert "hexmap_placements.csv" in text


def test_a_placement_may_move_a_council_the_hexjson_places(raw, tmp_path, areas):
    moved = write_placements(tmp_path / "moved.csv", PLACED + [("901", 5, 0, "moved to make room")])
    frame = build_hex_layout(raw, areas, moved).frame.set_index("area_code")
    assert frame.loc["901", ["q", "r", "position_source"]].tolist() == [5, 0, "placement"]


def test_an_unknown_code_in_the_hexjson_is_a_named_error(tmp_path, placements, areas):
    raw = write_raw(tmp_path / "raw", {**HEXES, "E06000999": ("Nowhere", 4, 4)})
    with pytest.raises(InputFileError, match=r"hex 'E06000999' \(Nowhere\) is not the ONS code of any LA") as caught:
        build_hex_layout(raw, areas, placements)
    assert caught.value.path.endswith(".hexjson")


def test_an_unknown_code_in_the_placements_is_a_named_error(raw, tmp_path, areas):
    bad = write_placements(tmp_path / "bad.csv", PLACED + [("999", 3, 3, "typo")])
    with pytest.raises(InputFileError, match=r"row 4: area_code '999' is not an LA in areas.csv") as caught:
        build_hex_layout(raw, areas, bad)
    assert caught.value.path.endswith("bad.csv")


def test_a_placement_for_a_council_that_no_longer_exists_is_refused(raw, tmp_path, areas):
    bad = write_placements(tmp_path / "bad.csv", PLACED + [("903", 3, 3, "old county")])
    with pytest.raises(InputFileError, match=r"Gamma \(903\) is not a current LA"):
        build_hex_layout(raw, areas, bad)


@pytest.mark.parametrize("row, problem", [(("904", "x", 1, "why"), "q = 'x'"), (("904", 0, 1, " "), "no reason"),
                                          (("905", 2, 2, "again"), "placed twice")])
def test_a_bad_placement_row_is_named(raw, tmp_path, areas, row, problem):
    bad = write_placements(tmp_path / "bad.csv", [PLACED[0], PLACED[1], row] if problem == "placed twice"
                           else [row, PLACED[1]])
    with pytest.raises(InputFileError, match=problem):
        build_hex_layout(raw, areas, bad)


def test_two_councils_on_one_hex_are_refused(raw, tmp_path, areas):
    clash = write_placements(tmp_path / "clash.csv", [("904", 0, 0, "onto Alpha"), PLACED[1]])
    with pytest.raises(BuildCheckError, match=r"hex 0,0 holds Alpha \(901, hexjson\) and Gamma North \(904, "
                                              r"placement\)"):
        build_hex_layout(raw, areas, clash)


def test_a_current_council_without_a_hex_is_refused(raw, tmp_path, areas):
    partial = write_placements(tmp_path / "partial.csv", [PLACED[0]])
    with pytest.raises(BuildCheckError, match=r"no hex for Gamma South \(905\): add a row to hexmap_placements.csv"):
        build_hex_layout(raw, areas, partial)


def test_the_reader_refuses_broken_files(tmp_path):
    path = tmp_path / "map.hexjson"
    path.write_text('{"layout": "odd-r", "hexes": {"E1": {"q": 1', encoding="utf-8")
    with pytest.raises(InputFileError, match="not valid JSON"):
        read_hexjson(path)
    path.write_text('{"layout": "even-q", "hexes": {"E1": {"q": 1, "r": 2}}}', encoding="utf-8")
    with pytest.raises(InputFileError, match="layout 'even-q'.*expected layout 'odd-r'"):
        read_hexjson(path, layout="odd-r")
    path.write_text('{"layout": "odd-r", "hexes": {"E1": {"q": 1.5, "r": 2}}}', encoding="utf-8")
    with pytest.raises(InputFileError, match="hex 'E1' has q = 1.5"):
        read_hexjson(path)


@pytest.mark.reference
def test_the_reference_build_matches_the_committed_layout_and_licence(reference_dir, helpers):
    from sendlib.data import load, read_manifest

    areas = load("areas")
    built = build_hex_layout(reference_dir, areas)
    committed = load("hex_layout")
    pd.testing.assert_frame_equal(built.frame.reset_index(drop=True), committed, check_dtype=False)
    assert (helpers.processed / LICENCE_FILE).read_bytes() == built.companions[LICENCE_FILE]
    las = areas[areas["level"] == "la"]
    current = las[las["last_year"] == las["last_year"].max()]
    assert sorted(committed["area_code"]) == sorted(current["area_code"])
    assert not committed.duplicated(["q", "r"]).any()
    entry = read_manifest()["tables"]["hex_layout"]
    assert entry["licence"]["copyright"] == "Copyright (c) 2017- Open Innovations"
    assert "Permission is hereby granted" in entry["licence"]["text"]
    assert {"hexmap_upper_tier", "hexmap_licence", "hexmap_placements"} <= {i["name"] for i in entry["inputs"]}
    sources = committed.set_index("area_code")["position_source"]
    assert sources[["815", "933", "825"]].tolist() == ["hexjson-former-code"] * 3  # N Yorks, Somerset, Bucks
    assert sources[["940", "941", "942", "943"]].tolist() == ["placement"] * 4


# --------------------------------------------------------------------------------------- maps


@pytest.fixture(scope="module")
def hexes() -> pd.DataFrame:
    return hexmap.layout()


@pytest.fixture
def captured(monkeypatch) -> list:
    """Collect the figures the maps render (so a test can read the labels drawn)."""
    figures: list = []
    real = plots.render

    def spy(fig, *args, **kwargs):
        figures.append(fig)
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(plots, "render", spy)
    return figures


def test_geometry_odd_rows_sit_half_a_hex_right_and_neighbours_touch():
    assert hexmap.neighbours(4, 2) == [(5, 2), (4, 3), (3, 3), (3, 2), (3, 1), (4, 1)]
    assert hexmap.neighbours(4, 3) == [(5, 3), (5, 4), (4, 4), (3, 3), (4, 2), (5, 2)]
    for q, r in [(4, 2), (4, 3)]:
        centre = np.array([q + 0.5 * (r % 2), r * np.sqrt(3) / 2])
        for nq, nr in hexmap.neighbours(q, r):
            other = np.array([nq + 0.5 * (nr % 2), nr * np.sqrt(3) / 2])
            assert np.isclose(np.linalg.norm(other - centre), 1.0)  # one hex width apart: they share an edge


def test_category_map_lists_the_councils_of_each_class_and_the_rest_as_no_data(hexes):
    frame = pd.DataFrame({"area_code": ["886", "202", "314", "810"],
                          "status": pd.Categorical(["SV", "DBV", "SV", "Neither"], categories=["SV", "DBV", "Neither"])})
    chart = hexmap.category_map(frame, "Two of these four councils are in Safety Valve", "DfE; sendlib",
                                category="status", legend_title="Programme", show=False)
    assert chart.alt.startswith(f"Hex map of England's {len(hexes)} councils")
    assert "SV (2): Kent; Kingston upon Thames." in chart.alt
    assert "DBV (1): Camden." in chart.alt and "Neither (1): Kingston upon Hull." in chart.alt
    assert chart.alt.index("SV (2)") < chart.alt.index("DBV (1)") < chart.alt.index("Neither (1)")
    assert f"No data ({len(hexes) - 4}):" in chart.alt and "Westmorland and Furness" in chart.alt
    assert chart.source == f"DfE; sendlib; {HEXMAP_CREDIT}"
    assert chart.axis_labels == ()  # a map has no axes to label
    assert chart.png.startswith(b"\x89PNG") and len(chart.png) < plots.MAX_PNG_BYTES


def test_value_map_bins_values_with_units_and_lists_each_bin(hexes):
    frame = pd.DataFrame({"area_code": ["886", "202", "314", "810", "201"], "index": [72.0, 95.0, 101.0, 130.0, None]})
    chart = hexmap.value_map(frame, "Kent's funding per plan fell furthest", "DfE; sendlib model", value="index",
                             legend_title="Real funding per plan (2015-16 = 100)", bins=[80, 100, 120], centre=100,
                             show=False)
    assert "coloured by Real funding per plan (2015-16 = 100)" in chart.alt
    assert "Highest: Kingston upon Hull (130); lowest: Kent (72)." in chart.alt
    for text in ["below 80 (1): Kent.", "80 to under 100 (1): Camden.", "100 to under 120 (1): Kingston upon Thames.",
                 "120 and over (1): Kingston upon Hull."]:
        assert text in chart.alt
    assert f"No data ({len(hexes) - 4}): " in chart.alt and "City of London" in chart.alt.split("No data")[1]


def test_bins_and_colours():
    assert hexmap.bin_labels([80.0, 100.0], lambda v: f"{v:.0f}") == ["below 80", "80 to under 100", "100 and over"]
    diverging = hexmap.bin_colours([80, 90, 100, 110], "diverging", 100)
    assert len(diverging) == 5 and len(set(diverging)) == 5
    with pytest.raises(ValueError, match="centre=95 must be one of the bin edges"):
        hexmap.bin_colours([80, 90, 100], "diverging", 95)
    assert hexmap.nice_edges(pd.Series([12.0, 47.0, 88.0]), 4) == [20.0, 40.0, 60.0, 80.0]


def test_region_highlight_labels_its_councils_and_greys_the_rest(hexes, captured):
    london = hexes[hexes["region_code"] == "E12000007"]
    frame = pd.DataFrame({"area_code": hexes["area_code"], "growth": np.linspace(10, 90, len(hexes))})
    chart = hexmap.value_map(frame, "Plans grew fastest in outer London", "DfE SEN2; sendlib", value="growth",
                             legend_title="Growth in EHC plans since January 2015 (%)", bins=4, region="E12000007",
                             show=False)
    assert chart.alt.startswith("Hex map of the 33 councils of London, one hexagon each and labelled")
    listed = sum(int(part.split("(")[1].split(")")[0]) for part in chart.alt.split(". ") if " (" in part
                 and "):" in part)
    assert listed == len(london) == 33  # the classes count the region's councils only
    texts = {t.get_text().replace("\n", " ") for ax in captured[0].axes for t in ax.texts}
    assert set(london["area_name"]) <= texts
    assert "Kent" not in texts and "Kent" not in chart.alt


def test_locator_map_finds_one_council(hexes):
    chart = hexmap.locator_map("886", show=False)
    assert chart.title == "Kent is one of 19 councils in the South East"
    assert chart.alt.startswith("Locator map: Kent (886) in black") and "South East" in chart.alt
    assert chart.source.endswith(HEXMAP_CREDIT) and chart.width_px < 400
    with pytest.raises(ValueError, match="area_code='909'"):  # Cumbria no longer exists
        hexmap.locator_map("909", show=False)


def test_frames_with_codes_off_the_map_or_repeated_are_refused():
    with pytest.raises(ValueError, match="not current LAs on the hex map: 909, E12000007"):
        hexmap.category_map(pd.DataFrame({"area_code": ["886", "909", "E12000007"], "g": ["a", "b", "c"]}),
                            "t", "s", category="g", show=False)
    with pytest.raises(ValueError, match="more than one row for: 886"):
        hexmap.value_map(pd.DataFrame({"area_code": ["886", "886"], "v": [1.0, 2.0]}), "t", "s", value="v",
                         legend_title="v (count)", show=False)
    with pytest.raises(ValueError, match="no column 'missing'"):
        hexmap.value_map(pd.DataFrame({"area_code": ["886"]}), "t", "s", value="missing", legend_title="x",
                         show=False)
    with pytest.raises(ValueError, match="region='E12000099'"):
        hexmap.category_map(pd.DataFrame({"area_code": ["886"], "g": ["a"]}), "t", "s", category="g",
                            region="E12000099", show=False)


def test_credit_is_added_once():
    assert hexmap.with_credit("DfE; sendlib.") == f"DfE; sendlib; {HEXMAP_CREDIT}"
    assert hexmap.with_credit(f"DfE; {HEXMAP_CREDIT}") == f"DfE; {HEXMAP_CREDIT}"


# Machado, Oliveira & Fernandes (2009), full severity, applied in linear RGB (as tests/test_plots.py).
CVD = {
    "normal": np.eye(3).tolist(),
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _seen(colour: str, matrix) -> np.ndarray:
    rgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    shown = np.clip(np.array(matrix) @ linear, 0, 1)
    return np.where(shown <= 0.0031308, 12.92 * shown, 1.055 * shown ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("condition", sorted(CVD))
def test_programme_map_colours_stay_apart_with_colour_vision_deficiency(condition):
    order = ["SV 2020-21", "SV 2021-22", "SV 2022-23", "SV 2023-24", "DBV tranche 1", "DBV tranche 2",
             "DBV tranche 3", "Other: DSG deficit", "Other: no DSG deficit"]
    families = {c: "Safety Valve" if c.startswith("SV") else "DBV" if c.startswith("DBV") else c for c in order}
    colours = hexmap.category_colours(order, families)
    assert colours["SV 2022-23"] != colours["SV 2020-21"] and colours["DBV tranche 1"] != colours["DBV tranche 2"]
    seen = {c: _seen(colours[c], CVD[condition]) for c in order}
    seen["no data / other regions"] = _seen(hexmap.OUTSIDE_FILL, CVD[condition])
    closest = min((np.linalg.norm(seen[a] - seen[b]), a, b) for a, b in itertools.combinations(seen, 2))
    assert closest[0] > 0.1, f"{closest[1]} and {closest[2]} look alike under {condition}"


def test_round_bins_are_split_at_the_centre():
    frame = pd.DataFrame({"area_code": ["886", "202", "314"], "index": [61.0, 97.0, 133.0]})
    assert hexmap.nice_edges(frame["index"], 3) == [75.0, 100.0, 125.0]
    chart = hexmap.value_map(frame, "t", "s", value="index", legend_title="Index (2015-16 = 100)", bins=3,
                             centre=90, show=False)
    assert "90 to under 100 (1): Camden." in chart.alt and "below 75 (1): Kent." in chart.alt
