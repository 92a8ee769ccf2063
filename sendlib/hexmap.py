"""Hex maps of England's councils in the house style: one equal hexagon per current LA (so London's boroughs
show), from data/processed/hex_layout.csv (Open Innovations' layout, MIT licence, with sendlib's placements).

Every function takes a tidy frame with `area_code` (3-digit) and one category or value column, so the table a
report shows and its map come from the same derived table. A current LA missing from the frame, or with a
missing value, is drawn as "No data" (white, hatched) and listed in the alt text; a code that is not a current
LA is an error. Maps have a title stating the finding, a legend (with units for values), a source line that
always ends with the layout's credit, and alt text listing the councils in each class (or bin).

    hexmap.category_map(frame, "18 of the 20 councils ... ", source="DfE; sendlib", category="group",
                        family="programme_group")                                     # England, categories
    hexmap.value_map(frame, "...", source="...", value="index", legend_title="Index (2015-16 = 100)",
                     bins=[70, 80, 90, 100, 110], centre=100)                        # England, binned values
    hexmap.category_map(frame, ..., region="E12000007")    # the region's councils coloured and labelled
    hexmap.locator_map("886")                              # a small map that finds one LA

Geometry: odd-r layout, pointy-top hexagons one unit wide; a hex (q, r) is centred at x = q + 0.5 (odd r),
y = r * sqrt(3) / 2 (row 0 at the bottom).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sendlib import formatting, plots
from sendlib.sources import HEXMAP_CREDIT

NO_DATA = "No data"
NO_DATA_FILL, NO_DATA_EDGE = "#FFFFFF", "#8C8C8C"
OUTSIDE_FILL = "#F0F0F0"  # councils outside the highlighted region
REGION_FILL = "#BDBDBD"  # the locator's region
BORDER = "#4D4D4D"  # region boundaries and the coast
SEQUENTIAL, DIVERGING = "Blues", "RdBu"  # ColorBrewer, colour-blind safe
#: Families without a house colour are context: greys, darkest first (all lighter than the text, darker than
#: the other regions of a highlight map).
CONTEXT_GREYS = ["#6B6B6B", "#A3A3A3", "#CBCBCB", "#DCDCDC"]
ROOT3 = math.sqrt(3.0)
RADIUS = 1 / ROOT3  # centre to corner of a hexagon one unit wide
LEGEND_WIDTH = 2.35  # inches beside the map
Area = str


@dataclass(frozen=True)
class MapClasses:
    """What a map shows: each class (legend order) with its colour and councils, and the councils with no data."""

    labels: tuple[str, ...]
    colours: tuple[str, ...]
    members: tuple[tuple[str, ...], ...]  # area codes per class
    no_data: tuple[str, ...]


# --------------------------------------------------------------------------------------- layout


def layout() -> pd.DataFrame:
    """Return the hex of every current LA (area_code, area_name, region_code, region_name, q, r, x, y)."""
    from sendlib.data import load

    hexes = load("hex_layout")
    areas = load("areas")[["area_code", "region_code", "region_name"]]
    frame = hexes.merge(areas, on="area_code", how="left")
    frame["x"] = frame["q"].astype(float) + 0.5 * (frame["r"].astype(int) % 2)
    frame["y"] = frame["r"].astype(float) * ROOT3 / 2
    return frame[["area_code", "area_name", "region_code", "region_name", "q", "r", "x", "y"]]


def hexagon(x: float, y: float, radius: float = RADIUS) -> np.ndarray:
    """Return the 6 corners of a pointy-top hexagon centred at (x, y), counter-clockwise from 30 degrees."""
    angles = np.radians(30 + 60 * np.arange(6))
    return np.column_stack([x + radius * np.cos(angles), y + radius * np.sin(angles)])


def neighbours(q: int, r: int) -> list[tuple[int, int]]:
    """Return the 6 neighbouring hexes in the order of the edges of `hexagon` (E, NE, NW, W, SW, SE), odd-r."""
    shift = r % 2  # odd rows sit half a hex to the right
    return [(q + 1, r), (q + shift, r + 1), (q - 1 + shift, r + 1), (q - 1, r), (q - 1 + shift, r - 1),
            (q + shift, r - 1)]


def region_councils(region_code: str, hexes: pd.DataFrame | None = None) -> list[str]:
    """Return the area codes of a region's current LAs (ValueError naming the region code if it has none)."""
    hexes = layout() if hexes is None else hexes
    codes = hexes.loc[hexes["region_code"] == region_code, "area_code"].tolist()
    if not codes:
        known = ", ".join(sorted(hexes["region_code"].dropna().unique()))
        raise ValueError(f"region={region_code!r}: expected a region code with councils on the map, one of {known}")
    return codes


# --------------------------------------------------------------------------------------- frames and colours


def _values(data: pd.DataFrame, column: str, area: str, hexes: pd.DataFrame) -> pd.Series:
    """Return the column indexed by area code, checked: codes are current LAs, each once (rows without a code
    are dropped)."""
    for name in (area, column):
        if name not in data.columns:
            raise ValueError(f"the map's frame has no column {name!r} (columns: {list(data.columns)})")
    codes = data[area].astype("string").str.strip()
    unknown = sorted(set(codes.dropna()) - set(hexes["area_code"]))
    if unknown:
        raise ValueError(f"the map's frame has {len(unknown)} area code(s) that are not current LAs on the hex map: "
                         + ", ".join(unknown[:10]) + " (keep the LA rows of the latest year)")
    repeated = sorted(set(codes[codes.duplicated()].dropna()))
    if repeated:
        raise ValueError(f"the map's frame has more than one row for: {', '.join(repeated[:10])}")
    keep = codes.notna().to_numpy()
    return pd.Series(data[column].to_numpy()[keep], index=codes.to_numpy()[keep])


def _category_order(data: pd.DataFrame, category: str, order: Sequence[str] | None) -> list[str]:
    """Return the categories in legend order: `order`, else the column's categorical order, else first seen."""
    present = [str(v) for v in data[category].dropna().unique()]
    if order is not None:
        missing = [c for c in present if c not in order]
        if missing:
            raise ValueError(f"order does not list the {category!r} value(s) {missing}")
        return [str(c) for c in order]
    if isinstance(data[category].dtype, pd.CategoricalDtype):
        return [str(c) for c in data[category].cat.categories]
    return present


def shades(colour: str, count: int) -> list[str]:
    """Return `count` shades of one colour, darkest first (the base colour in the middle of the run)."""
    if count <= 1:
        return [to_hex(colour).upper()] * count
    base = np.array(to_rgb(colour))
    out = []
    for step in np.linspace(-0.3, 0.5, count):
        target = np.zeros(3) if step < 0 else np.ones(3)
        out.append(to_hex(base + (target - base) * abs(step)).upper())
    return out


def category_colours(categories: Sequence[str], families: Mapping[str, str] | None = None,
                     colours: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a colour per category: `colours` first; with `families` (category -> family), the categories of a
    family with a house colour (plots.GROUP_COLOURS: 'Safety Valve', 'DBV') share graded shades of it, darkest
    first, and every other family is context and takes a grey, darkest first; without, Okabe-Ito in order."""
    chosen = dict(colours or {})
    rest = [c for c in categories if c not in chosen]
    if families:
        groups: dict[str, list[str]] = {}
        for category in rest:
            groups.setdefault(str(families.get(category, category)), []).append(category)
        context = [f for f in groups if f not in plots.GROUP_COLOURS]
        if len(context) > len(CONTEXT_GREYS):
            raise ValueError(f"{len(context)} families without a house colour ({', '.join(context)}): at most "
                             f"{len(CONTEXT_GREYS)} greys; pass colours=")
        greys = dict(zip(context, CONTEXT_GREYS, strict=False))
        for family, members in groups.items():
            if family in plots.GROUP_COLOURS:
                chosen.update(zip(members, shades(plots.GROUP_COLOURS[family], len(members)), strict=True))
            else:
                chosen.update({member: greys[family] for member in members})
        return chosen
    spare = [c for c in plots.PALETTE if c not in chosen.values()]
    if len(rest) > len(spare):
        raise ValueError(f"{len(categories)} categories is more than the palette's {len(plots.PALETTE)} colours: "
                         "pass colours= or family=")
    chosen.update(zip(rest, spare, strict=False))
    return chosen


def nice_edges(values: pd.Series, count: int) -> list[float]:
    """Return about `count - 1` round inner bin edges spanning the values."""
    present = values.dropna().astype(float)
    if present.empty:
        return []
    low, high = float(present.min()), float(present.max())
    if low == high:
        return [low]
    ticks = MaxNLocator(nbins=count, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return [float(t) for t in ticks if low < t <= high]


def bin_labels(edges: Sequence[float], fmt: Callable[[float], str]) -> list[str]:
    """Return the class labels of bins cut at `edges`: 'below 80', '80 to under 90', ..., '110 and over'."""
    if not edges:
        return ["all values"]
    labels = [f"below {fmt(edges[0])}"]
    labels += [f"{fmt(a)} to under {fmt(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return labels + [f"{fmt(edges[-1])} and over"]


def bin_colours(edges: Sequence[float], palette: str, centre: float | None) -> list[str]:
    """Return one colour per bin: a sequential ramp, or a diverging one split at `centre` (one of the edges)."""
    count = len(edges) + 1
    cmap = colormaps[SEQUENTIAL if palette == "sequential" else DIVERGING if palette == "diverging" else palette]
    if centre is None:
        if palette == "diverging":
            raise ValueError("a diverging palette needs centre= (one of the bin edges)")
        return [to_hex(cmap(p)).upper() for p in np.linspace(0.25, 0.95, count)]
    if centre not in list(edges):
        raise ValueError(f"centre={centre} must be one of the bin edges {list(edges)}")
    below = list(edges).index(centre) + 1
    above = count - below
    reach = max(below, above)
    low = [cmap(0.5 - 0.45 * (below - i) / reach) for i in range(below)]
    high = [cmap(0.5 + 0.45 * (i + 1) / reach) for i in range(above)]
    return [to_hex(c).upper() for c in low + high]


def _format_for(edges: Sequence[float]) -> Callable[[float], str]:
    """Return the default number format for bin edges: whole numbers when every edge is whole."""
    digits = 0 if all(float(e).is_integer() for e in edges) else 1
    return lambda value: formatting.number(value, digits)


def _ink(fill: str) -> str:
    """Return black or white, whichever reads better on the fill colour."""
    red, green, blue = to_rgb(fill)
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


# --------------------------------------------------------------------------------------- drawing


def _figure(hexes: pd.DataFrame, focus: Sequence[str] | None, zoom: bool, entries: int | None,
            width: float) -> tuple[Figure, Axes, Axes | None, pd.DataFrame]:
    """Return a house-style figure with a map axes, a legend panel for `entries` legend rows (left of an England
    map, under a zoomed region; none if None) and the hexes in view."""
    zoomed = focus is not None and zoom
    shown = hexes[hexes["area_code"].isin(focus)] if zoomed else hexes
    margin = 0.9 if zoomed else 0.7
    x0, x1 = shown["x"].min() - margin, shown["x"].max() + margin
    y0, y1 = shown["y"].min() - margin, shown["y"].max() + margin
    aspect = (y1 - y0) / (x1 - x0)
    texts = 1.2  # inches for the title and the source line
    plots.apply_house_style()
    if entries is None:
        fig = Figure(figsize=(width, width * aspect + texts), dpi=plots.DPI)
        key, ax = None, fig.subplots()
    elif zoomed:
        map_height = min((width - 0.2) * aspect, 6.0)
        key_height = 0.45 + 0.21 * math.ceil(entries / 2)
        fig = Figure(figsize=(width, map_height + key_height + texts), dpi=plots.DPI)
        ax, key = fig.subplots(2, 1, gridspec_kw={"height_ratios": [map_height, key_height]})
    else:
        map_width = width - LEGEND_WIDTH
        fig = Figure(figsize=(width, max(0.92 * map_width * aspect, 0.24 * entries + 0.6) + texts - 0.2),
                     dpi=plots.DPI)
        key, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [LEGEND_WIDTH, map_width]})
    if key is not None:
        key.set_axis_off()
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    in_view = hexes[hexes["x"].between(x0 - 1, x1 + 1) & hexes["y"].between(y0 - 1, y1 + 1)]
    return fig, ax, key, in_view


def _draw_hexes(ax: Axes, hexes: pd.DataFrame, fills: Mapping[str, str], hatched: Iterable[str]) -> None:
    """Draw each hex in its fill (white edges), the hatched ones as 'No data', and the region boundaries."""
    hatched = set(hatched)
    plain = hexes[~hexes["area_code"].isin(hatched)]
    ax.add_collection(PolyCollection([hexagon(x, y) for x, y in zip(plain["x"], plain["y"], strict=True)],
                                     facecolors=[fills[c] for c in plain["area_code"]], edgecolors="white",
                                     linewidths=0.6))
    empty = hexes[hexes["area_code"].isin(hatched)]
    if not empty.empty:
        ax.add_collection(PolyCollection([hexagon(x, y, RADIUS * 0.93) for x, y in zip(empty["x"], empty["y"],
                                                                                          strict=True)],
                                         facecolors=NO_DATA_FILL, edgecolors=NO_DATA_EDGE, linewidths=0.6,
                                         hatch="/////"))
    ax.add_collection(LineCollection(_boundaries(hexes), colors=BORDER, linewidths=0.9))


def _boundaries(hexes: pd.DataFrame) -> list[np.ndarray]:
    """Return the hex edges between two regions or facing no council (the coast), as line segments."""
    region = {(int(q), int(r)): g for q, r, g in zip(hexes["q"], hexes["r"], hexes["region_code"], strict=True)}
    segments = []
    for (q, r), own in region.items():
        corners = hexagon(q + 0.5 * (r % 2), r * ROOT3 / 2)
        for side, neighbour in enumerate(neighbours(q, r)):
            if region.get(neighbour) != own:
                segments.append(np.array([corners[side - 1], corners[side]]))
    return segments


def _outline(ax: Axes, hexes: pd.DataFrame, codes: Iterable[str], colour: str = "black", width: float = 1.8) -> None:
    """Draw the outer boundary of a set of hexes (a highlighted region or one council)."""
    inside = hexes[hexes["area_code"].isin(set(codes))]
    cells = {(int(q), int(r)) for q, r in zip(inside["q"], inside["r"], strict=True)}
    segments = []
    for q, r in cells:
        corners = hexagon(q + 0.5 * (r % 2), r * ROOT3 / 2)
        segments += [np.array([corners[side - 1], corners[side]])
                     for side, neighbour in enumerate(neighbours(q, r)) if neighbour not in cells]
    ax.add_collection(LineCollection(segments, colors=colour, linewidths=width, capstyle="round", zorder=4))


def _label(ax: Axes, hexes: pd.DataFrame, codes: Iterable[str], fills: Mapping[str, str]) -> None:
    """Write each council's name inside its hex, wrapped and sized to the hex."""
    x0, x1 = ax.get_xlim()
    fig_width = ax.figure.get_size_inches()[0] * ax.get_position().width
    hex_points = fig_width * 72 / (x1 - x0)  # one hex's width in points
    size = float(np.clip(hex_points / 6.5, 4.5, 8.0))
    per_line = max(5, int(hex_points * 0.92 / (0.55 * size)))
    for row in hexes[hexes["area_code"].isin(set(codes))].itertuples():
        lines = textwrap.wrap(str(row.area_name), per_line, break_long_words=False)[:4]
        longest = max(len(line) for line in lines)  # a long word ('Buckinghamshire') gets a smaller font
        fitted = max(3.8, min(size, hex_points * 0.92 / (0.55 * longest)))
        ax.text(row.x, row.y, "\n".join(lines), ha="center", va="center", fontsize=fitted, linespacing=0.95,
                color=_ink(fills.get(row.area_code, NO_DATA_FILL)), zorder=5)


def _legend(key: Axes, classes: MapClasses, title: str | None, extra: Sequence[Patch] = (), columns: int = 1) -> None:
    """Draw the legend (each class with its count, then No data) in the legend panel."""
    handles = [Patch(facecolor=c, edgecolor="white", label=f"{label} ({len(m)})")
               for label, c, m in zip(classes.labels, classes.colours, classes.members, strict=True)]
    if classes.no_data:
        handles.append(Patch(facecolor=NO_DATA_FILL, edgecolor=NO_DATA_EDGE, hatch="/////",
                             label=f"{NO_DATA} ({len(classes.no_data)})"))
    handles += list(extra)
    wrapped = title and "\n".join(textwrap.wrap(title, 34 * columns))
    legend = key.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 1), title=wrapped, fontsize=8.5,
                        title_fontsize=9, alignment="left", handlelength=1.4, borderaxespad=0, ncols=columns)
    legend.get_title().set_color(plots.TEXT_GREY)


def _names(codes: Iterable[str], hexes: pd.DataFrame) -> str:
    """Return 'Barnet; Bournemouth, Christchurch and Poole; Camden' for area codes (by name; semicolons, as
    names hold commas and 'and')."""
    names = dict(zip(hexes["area_code"], hexes["area_name"], strict=True))
    return "; ".join(sorted(names[c] for c in codes)) or "none"


def _alt(kind: str, what: str, classes: MapClasses, hexes: pd.DataFrame, region: str | None, extra: str = "") -> str:
    """Return the alt text: what the map shows, then every class with its councils, then No data."""
    if region is not None:
        name = hexes.loc[hexes["region_code"] == region, "region_name"].iloc[0]
        count = int((hexes["region_code"] == region).sum())
        head = (f"{kind} of the {count} councils of {name}, one hexagon each and labelled, coloured by {what}, "
                f"among England's other councils in grey.")
    else:
        head = f"{kind} of England's {len(hexes)} councils, one hexagon each, coloured by {what}."
    parts = [f"{label} ({len(m)}): {_names(m, hexes)}." for label, m in zip(classes.labels, classes.members,
                                                                             strict=True) if m]
    if classes.no_data:
        parts.append(f"{NO_DATA} ({len(classes.no_data)}): {_names(classes.no_data, hexes)}.")
    return " ".join([head, extra, *parts]).replace("  ", " ").strip()


def with_credit(source: str) -> str:
    """Return the source line with the hex layout's credit at the end (once)."""
    text = str(source).strip().rstrip(";.")
    return text if HEXMAP_CREDIT in text else f"{text}; {HEXMAP_CREDIT}"


def _focus(region: str | None, hexes: pd.DataFrame) -> list[str] | None:
    """Return the highlighted councils (a region's) or None for the whole of England."""
    return None if region is None else region_councils(region, hexes)


def _draw_classes(hexes: pd.DataFrame, classes: MapClasses, focus: Sequence[str] | None, zoom: bool,
                  legend_title: str | None, width: float) -> Figure:
    """Return the figure of a map whose councils are coloured by class (the others grey when focused)."""
    entries = len(classes.labels) + bool(classes.no_data) + (focus is not None)
    fig, ax, key, in_view = _figure(hexes, focus, zoom, entries, width)
    fills = {code: colour for colour, members in zip(classes.colours, classes.members, strict=True)
             for code in members}
    fills.update({code: NO_DATA_FILL for code in classes.no_data})
    extra: list[Patch] = []
    hatched = set(classes.no_data)
    if focus is not None:
        outside = set(hexes["area_code"]) - set(focus)
        fills.update({code: OUTSIDE_FILL for code in outside})
        hatched -= outside
        extra.append(Patch(facecolor=OUTSIDE_FILL, edgecolor="white", label="Other regions"))
    _draw_hexes(ax, in_view, fills, hatched)
    if focus is not None:
        _outline(ax, hexes, focus)
        _label(ax, in_view, focus, fills)
    assert key is not None
    _legend(key, classes, legend_title, extra, columns=2 if (focus is not None and zoom) else 1)
    return fig


def _classes(labels: Sequence[str], colours: Sequence[str], assigned: Mapping[str, str | None],
             hexes: pd.DataFrame, focus: Sequence[str] | None) -> MapClasses:
    """Return the map's classes with their councils (only the focused ones), empty classes dropped."""
    codes = list(hexes["area_code"]) if focus is None else [c for c in hexes["area_code"] if c in set(focus)]
    members = [tuple(c for c in codes if assigned.get(c) == label) for label in labels]
    keep = [i for i, m in enumerate(members) if m]
    no_data = tuple(c for c in codes if assigned.get(c) is None)
    return MapClasses(tuple(labels[i] for i in keep), tuple(colours[i] for i in keep),
                      tuple(members[i] for i in keep), no_data)


# --------------------------------------------------------------------------------------- public maps


def category_map(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *, category: str,
                 area: str = "area_code", order: Sequence[str] | None = None, family: str | None = None,
                 colours: Mapping[str, str] | None = None, legend_title: str | None = None,
                 region: str | None = None, zoom: bool = True, width: float = plots.FIGSIZE[0],
                 show: bool = True) -> plots.Chart:
    """Hex map of councils coloured by a category column (legend order: `order`, the column's categorical
    order, else first seen); `family` (a column) gives categories of one family graded shades of one colour;
    `region` (E12 code) colours and labels that region's councils, the rest grey (zoomed to it if `zoom`)."""
    hexes = layout()
    assigned = {code: None if pd.isna(v) else str(v) for code, v in _values(data, category, area, hexes).items()}
    labels = _category_order(data, category, order)
    families = None
    if family is not None:
        families = dict(zip(data[category].astype(str), data[family].astype(str), strict=True))
    palette = category_colours(labels, families, colours)
    focus = _focus(region, hexes)
    classes = _classes(labels, [palette[c] for c in labels], assigned, hexes, focus)
    fig = _draw_classes(hexes, classes, focus, zoom, legend_title, width)
    if alt is None:
        alt = _alt("Hex map", legend_title or category.replace("_", " "), classes, hexes, region)
    return (plots.finish if show else plots.render)(fig, title, with_credit(source), alt)


def value_map(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *, value: str,
              legend_title: str, bins: Sequence[float] | int = 5, centre: float | None = None,
              palette: str = "sequential", fmt: Callable[[float], str] | None = None, area: str = "area_code",
              region: str | None = None, zoom: bool = True, width: float = plots.FIGSIZE[0],
              show: bool = True) -> plots.Chart:
    """Hex map of councils coloured by a number in bins: `bins` inner edges (or a count of round bins),
    `legend_title` names the value and its unit; with `centre` (an edge, e.g. 100 for an index) the palette
    diverges from it (palette='diverging'); `region` highlights and labels that region's councils."""
    hexes = layout()
    numbers = pd.to_numeric(_values(data, value, area, hexes), errors="coerce").astype(float)
    if centre is not None and palette == "sequential":
        palette = "diverging"
    edges = nice_edges(numbers, bins) if isinstance(bins, int) else sorted(float(b) for b in bins)
    if isinstance(bins, int) and centre is not None and centre not in edges:
        edges = sorted({*edges, float(centre)})  # round bins split at the centre too
    fmt = fmt or _format_for(edges)
    labels = bin_labels(edges, fmt)
    colours = bin_colours(edges, palette, centre)
    positions = np.searchsorted(np.array(edges, dtype=float), numbers.to_numpy(), side="right")
    assigned = {code: None if math.isnan(v) else labels[p]
                for code, p, v in zip(numbers.index, positions, numbers, strict=True)}
    focus = _focus(region, hexes)
    classes = _classes(labels, colours, assigned, hexes, focus)
    fig = _draw_classes(hexes, classes, focus, zoom, legend_title, width)
    if alt is None:
        shown = numbers[numbers.index.isin(focus if focus is not None else hexes["area_code"])].dropna()
        extra = ""
        if not shown.empty:
            names = dict(zip(hexes["area_code"], hexes["area_name"], strict=True))
            top, bottom = shown.idxmax(), shown.idxmin()
            extra = (f"Highest: {names[top]} ({fmt(shown[top])}); lowest: {names[bottom]} ({fmt(shown[bottom])}). "
                     "By bin:")
        alt = _alt("Hex map", legend_title, classes, hexes, region, extra)
    return (plots.finish if show else plots.render)(fig, title, with_credit(source), alt)


def _in_region(name: str) -> str:
    """Return how a sentence names a region: 'London', 'the South East', 'Yorkshire and the Humber'."""
    name = name.replace("The Humber", "the Humber")
    return name if name.startswith(("London", "Yorkshire")) else f"the {name}"


def locator_map(area_code: str, title: str | None = None, source: str = "DfE local authority codes; sendlib",
                alt: str | None = None, *, width: float = 3.6, show: bool = True) -> plots.Chart:
    """Small map of England's councils that finds one LA: it in black, the rest of its region darker grey."""
    hexes = layout()
    row = hexes[hexes["area_code"] == str(area_code)]
    if row.empty:
        raise ValueError(f"area_code={area_code!r}: expected the 3-digit code of a current LA on the hex map")
    la = row.iloc[0]
    region = _in_region(str(la["region_name"]))
    fig, ax, _key, in_view = _figure(hexes, None, False, None, width)
    fills = {c: (REGION_FILL if g == la["region_code"] else OUTSIDE_FILL)
             for c, g in zip(hexes["area_code"], hexes["region_code"], strict=True)}
    fills[la["area_code"]] = plots.OKABE_ITO["black"]
    _draw_hexes(ax, in_view, fills, ())
    _outline(ax, hexes, [la["area_code"]], colour=plots.OKABE_ITO["black"], width=1.2)
    count = int((hexes["region_code"] == la["region_code"]).sum())
    handles = [Patch(facecolor=plots.OKABE_ITO["black"], label="\n".join(textwrap.wrap(str(la["area_name"]), 22))),
               Patch(facecolor=REGION_FILL, edgecolor="white", label=f"Rest of {region}"),
               Patch(facecolor=OUTSIDE_FILL, edgecolor="white", label="Other regions")]
    ax.legend(handles=handles, loc="upper left", fontsize=8, handlelength=1.2, borderaxespad=0.1)
    title = title or f"{la['area_name']} is one of {count} councils in {region}"
    if alt is None:
        alt = (f"Locator map: {la['area_name']} ({la['area_code']}) in black on a hex map of England's "
               f"{len(hexes)} councils, one hexagon each; the other {count - 1} councils of {region} are in "
               "darker grey.")
    return (plots.finish if show else plots.render)(fig, title, with_credit(source), alt)
