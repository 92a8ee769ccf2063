"""One house style for every sendlib chart, on seaborn.

Rules the helpers enforce: a colour-blind-safe palette (Okabe-Ito); a title that states the finding
(the caller writes it); axis labels with units (£m, £ per plan, per 1,000); financial years on the time
axis; a source line at the bottom; alt text on every image. `finish(fig, title, source, alt)` renders
a figure to a small PNG (dpi 100) and displays it with its alt text, which the HTML export copies to
the <img alt>. Figures are matplotlib `Figure` objects not registered with pyplot, so the inline backend
never shows them a second time.

    fig, ax = plots.new_figure()
    ax.plot(...); ax.set_xlabel("Financial year"); ax.set_ylabel("£m (cash)")
    plots.finish(fig, "Funding fell £1.2bn short of need in 2024-25", source="DfE; sendlib", alt="...")
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sendlib import formatting

#: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "black": "#000000", "yellow": "#F0E442",
}
PALETTE: list[str] = list(OKABE_ITO.values())
#: Programme groups keep one colour in every chart.
GROUP_COLOURS: dict[str, str] = {"Safety Valve": OKABE_ITO["orange"], "DBV": OKABE_ITO["blue"]}
NEUTRAL = "#A6A6A6"  # bars and lines that are context, not the point
TEXT_GREY = "#4D4D4D"
DPI = 100
FIGSIZE = (7.5, 4.2)
MAX_PNG_BYTES = 120_000
SOURCE_WRAP = 120
TITLE_WRAP = 72
RC: dict[str, object] = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": FIGSIZE, "figure.facecolor": "white",
    "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelsize": 10, "axes.labelcolor": TEXT_GREY,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9, "legend.frameon": False,
    "grid.color": "#E6E6E6", "lines.linewidth": 2.2, "font.family": "sans-serif",
}


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes, alt text and labels (already displayed by `finish`; `show()` repeats)."""

    png: bytes = field(repr=False)
    alt: str
    title: str
    source: str
    width_px: int
    height_px: int
    axis_labels: tuple[tuple[str, str], ...] = ()

    def show(self) -> None:
        """Display the PNG with its alt text in the notebook."""
        from IPython.display import Image, display

        display(Image(data=self.png, format="png", alt=self.alt))

    def _ipython_display_(self) -> None:
        """Show nothing: the chart was displayed when it was made."""

    @property
    def size_kb(self) -> float:
        """Return the PNG size in kilobytes."""
        return len(self.png) / 1000


# --------------------------------------------------------------------------------------- style


def apply_house_style() -> None:
    """Set seaborn's theme to the house style (white grid, Okabe-Ito palette, dpi 100)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc=RC)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = FIGSIZE[0], height: float = FIGSIZE[1],
               sharex: bool = False, sharey: bool = False) -> tuple[Figure, Axes | np.ndarray]:
    """Return a house-style figure and its axes (not registered with pyplot; pass it to `finish`)."""
    apply_house_style()
    fig = Figure(figsize=(width, height), dpi=DPI)
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=True)
    return fig, axes


def thousands(axis: matplotlib.axis.Axis, prefix: str = "", suffix: str = "") -> None:
    """Format an axis's tick labels with thousands separators and an optional unit prefix/suffix."""
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{prefix}{value:,.0f}{suffix}"))


def financial_year_axis(ax: Axes, years: Sequence[str], label: str = "Financial year") -> np.ndarray:
    """Put financial years ('2015-16') on the x axis at positions 0..n-1; return the positions."""
    positions = np.arange(len(years))
    step = max(1, int(np.ceil(len(years) / 11)))
    ax.set_xticks(positions[::step], [str(y) for y in list(years)[::step]],
                  rotation=45 if len(years) > 7 else 0, ha="right" if len(years) > 7 else "center")
    ax.set_xlim(-0.4, len(years) - 0.6)
    ax.set_xlabel(label)
    return positions


# --------------------------------------------------------------------------------------- finishing


def _check_text(name: str, value: object) -> str:
    """Return a required chart text, stripped; raise ValueError if it is missing."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"every chart needs {name} (a non-empty string)")
    return value.strip()


def _supxlabel(fig: Figure, axis: str) -> str:
    """Return the figure-level x or y label text ('' if none)."""
    text = getattr(fig, f"_sup{axis}label", None)
    return text.get_text() if text is not None else ""


def check_labels(fig: Figure) -> tuple[tuple[str, str], ...]:
    """Return each visible axes' (x label, y label); raise ValueError if one is missing (figure labels count).

    Axes drawn without axes (`ax.set_axis_off()`: a map, a legend panel) have no scale to label and are skipped.
    """
    labels = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        pair = (ax.get_xlabel().strip() or _supxlabel(fig, "x").strip(),
                ax.get_ylabel().strip() or _supxlabel(fig, "y").strip())
        for axis, text in zip("xy", pair, strict=True):
            if not text:
                raise ValueError(f"every chart needs an {axis} axis label with units (axes {ax.get_title()!r})")
        labels.append(pair)
    return tuple(labels)


def render(fig: Figure, title: str, source: str, alt: str) -> Chart:
    """Add the title and source line, check labels and texts, and return the figure as a PNG Chart."""
    title, source, alt = _check_text("a title", title), _check_text("a source", source), _check_text("alt text", alt)
    labels = check_labels(fig)
    width, height = fig.get_size_inches()
    scale = min(1.0, width / FIGSIZE[0])  # a narrower figure (a small map) wraps its texts sooner
    title_lines = textwrap.wrap(title, max(24, int(TITLE_WRAP * scale))) or [title]
    source_lines = textwrap.wrap(f"Source: {source}", max(40, int(SOURCE_WRAP * scale)))
    fig.suptitle("\n".join(title_lines), x=0.012, y=0.985, ha="left", va="top", fontsize=12.5,
                 fontweight="bold", color="black")
    fig.text(0.012, 0.012, "\n".join(source_lines), ha="left", va="bottom", fontsize=7.5, color=TEXT_GREY)
    bottom = (0.14 * len(source_lines) + 0.08) / height
    fig.tight_layout(rect=(0, bottom, 1, 1))  # tight_layout makes room for the suptitle itself
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    png = buffer.getvalue()
    if len(png) > MAX_PNG_BYTES:
        png = _shrink_png(png)
    return Chart(png=png, alt=alt, title=title, source=source, width_px=int(round(width * DPI)),
                 height_px=int(round(height * DPI)), axis_labels=labels)


def _shrink_png(png: bytes) -> bytes:
    """Return the PNG re-encoded with a 256-colour palette (charts have few colours); warn if still large."""
    import warnings

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").quantize(colors=256).save(buffer, format="PNG", optimize=True)
    smaller = buffer.getvalue() if buffer.tell() < len(png) else png
    if len(smaller) > MAX_PNG_BYTES:
        warnings.warn(f"chart PNG is {len(smaller) // 1000} KB (house limit {MAX_PNG_BYTES // 1000} KB): "
                      "simplify it or make it smaller", stacklevel=3)
    return smaller


def finish(fig: Figure, title: str, source: str, alt: str) -> Chart:
    """Render the figure with its title, source line and alt text, display it, and return the Chart."""
    chart = render(fig, title, source, alt)
    chart.show()
    return chart


# --------------------------------------------------------------------------------------- helpers


def _money(value: float, unit: str) -> str:
    """Format a value in the chart's unit for alt text, through sendlib.formatting ('£11.9bn', '£21,846 per plan',
    '12.3 per 1,000')."""
    if unit.startswith("£"):
        rest = unit[1:].strip()
        scale = {"m": 1e6, "bn": 1e9, "k": 1e3}.get(rest)
        if scale is not None:
            return formatting.money(value * scale)
        return f"{formatting.pounds(value)} {rest}".rstrip()
    if unit.strip() == "%":
        return formatting.percent(value)
    return f"{formatting.number(value, 1)} {unit}".rstrip()


def gap_chart(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *,
              year: str = "financial_year", actual: str = "actual", necessary: str = "necessary",
              unit: str = "£m", ylabel: str | None = None, labels: tuple[str, str] = ("Actual funding",
              "Necessary funding"), show: bool = True) -> Chart:
    """Line chart of actual against necessary funding by financial year, the shortfall shaded."""
    frame = data[[year, actual, necessary]].dropna(subset=[actual, necessary], how="all").sort_values(year)
    fig, ax = new_figure()
    x = financial_year_axis(ax, frame[year].tolist())
    got, need = frame[actual].to_numpy(float), frame[necessary].to_numpy(float)
    ax.plot(x, need, color=OKABE_ITO["orange"], linestyle="--", marker="o", markersize=4, label=labels[1])
    ax.plot(x, got, color=OKABE_ITO["blue"], marker="o", markersize=4, label=labels[0])
    short = np.nan_to_num(need) > np.nan_to_num(got)
    ax.fill_between(x, got, need, where=short, interpolate=True, color=OKABE_ITO["vermillion"], alpha=0.18,
                    linewidth=0, label="Shortfall")
    ax.set_ylabel(ylabel or f"Funding ({unit})")
    thousands(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    if alt is None:
        last = frame.dropna(subset=[actual, necessary]).iloc[-1] if frame[[actual, necessary]].notna().all(axis=1).any() else None
        alt = (f"Line chart of {labels[0].lower()} and {labels[1].lower()} ({unit}) by financial year, "
               f"{frame[year].iloc[0]} to {frame[year].iloc[-1]}.")
        if last is not None:
            gap = last[necessary] - last[actual]
            alt += (f" In {last[year]} {labels[0].lower()} was {_money(last[actual], unit)} against "
                    f"{_money(last[necessary], unit)} necessary, a {'shortfall' if gap > 0 else 'surplus'} of "
                    f"{_money(abs(gap), unit)}.")
    return (finish if show else render)(fig, title, source, alt)


def index_chart(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *,
                columns: Mapping[str, str], year: str = "financial_year", base: str | None = None,
                xlabel: str = "Financial year", show: bool = True) -> Chart:
    """Line chart of several series rebased to 100 in a base financial year (default the first)."""
    frame = data.sort_values(year).reset_index(drop=True)
    base = base or str(frame[year].iloc[0])
    row = frame.index[frame[year].astype(str) == base]
    if len(row) != 1:
        raise ValueError(f"base year {base!r} is not in the {year} column")
    fig, ax = new_figure()
    x = financial_year_axis(ax, frame[year].tolist(), label=xlabel)
    finals = []
    for colour, (column, label) in zip(PALETTE, columns.items(), strict=False):
        series = frame[column].astype(float) / float(frame.loc[row[0], column]) * 100
        ax.plot(x, series, color=colour, marker="o", markersize=4, label=label)
        finals.append(f"{label} {series.iloc[-1]:,.0f}")
    ax.axhline(100, color=TEXT_GREY, linewidth=0.8)
    ax.set_ylabel(f"Index ({base} = 100)")
    ax.legend(loc="upper left")
    if alt is None:
        alt = (f"Line chart of {', '.join(columns.values())} as an index ({base} = 100), {frame[year].iloc[0]} "
               f"to {frame[year].iloc[-1]}. In {frame[year].iloc[-1]}: {'; '.join(finals)}.")
    return (finish if show else render)(fig, title, source, alt)


def ranked_bar_chart(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *, value: str,
                     label: str, xlabel: str, unit: str = "", highlight: Mapping[str, str] | None = None,
                     focus: str | None = None, top: int | None = None, ylabel: str = "Local authority",
                     show: bool = True) -> Chart:
    """Horizontal bars ranked largest first; `highlight` maps labels to a group (e.g. 'Safety Valve')."""
    frame = data[[label, value]].dropna().sort_values(value, ascending=False)
    if top is not None:
        keep = frame.head(top)
        if focus is not None and focus not in set(keep[label]):
            keep = pd.concat([keep, frame[frame[label] == focus]])
        frame = keep
    highlight = dict(highlight or {})
    groups = list(dict.fromkeys(highlight[v] for v in frame[label] if v in highlight))
    spare = [c for c in PALETTE if c not in GROUP_COLOURS.values()]
    colours = {group: GROUP_COLOURS.get(group, spare[i % len(spare)]) for i, group in enumerate(groups)}
    fig, ax = new_figure(height=min(max(2.2, 0.19 * len(frame) + 1.6), 16))
    y = np.arange(len(frame))[::-1]
    bar_colours = [colours.get(highlight.get(v), NEUTRAL) for v in frame[label]]
    ax.barh(y, frame[value], color=bar_colours, height=0.75)
    ax.set_yticks(y, frame[label].tolist(), fontsize=8 if len(frame) > 25 else 9)
    ax.set_ylim(-0.6, len(frame) - 0.4)
    if focus is not None and focus in set(frame[label]):
        for tick in ax.get_yticklabels():
            if tick.get_text() == focus:
                tick.set_fontweight("bold")
                tick.set_color("black")
        where = list(frame[label]).index(focus)
        ax.barh(y[where], frame[value].iloc[where], height=0.75, fill=False, edgecolor="black", linewidth=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    thousands(ax.xaxis)
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=colours[g], label=g) for g in groups] + ([Patch(color=NEUTRAL, label="Other")] if groups else [])
    if handles:
        ax.legend(handles=handles, loc="lower right")
    if alt is None:
        first, last = frame.iloc[0], frame.iloc[-1]
        alt = (f"Horizontal bar chart ranking {len(frame)} areas by {xlabel}: highest {first[label]} "
               f"({_money(first[value], unit)}), lowest {last[label]} ({_money(last[value], unit)}).")
        if focus is not None and focus in set(frame[label]):
            rank = list(frame[label]).index(focus) + 1
            alt += f" {focus} ranks {rank} of {len(frame)} ({_money(float(frame.iloc[rank - 1][value]), unit)})."
        if groups:
            alt += " Highlighted: " + "; ".join(
                f"{g}: {', '.join(v for v in frame[label] if highlight.get(v) == g)}" for g in groups) + "."
    return (finish if show else render)(fig, title, source, alt)


def grouped_line_chart(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *,
                       group: str, value: str, ylabel: str, year: str = "financial_year", unit: str = "",
                       highlight: str | None = None, xlabel: str = "Financial year", reference: float | None = None,
                       marks: Mapping[str, str] | None = None, mark_label: str = "", show: bool = True) -> Chart:
    """Lines for up to 8 groups on one axes by financial year; `highlight` draws one group bolder; `marks`
    (group -> year) puts a diamond on a group's line, explained in the legend by `mark_label`."""
    frame = data[[year, group, value]].dropna()
    years = sorted(frame[year].astype(str).unique())
    names = list(dict.fromkeys(frame[group]))
    if len(names) > len(PALETTE):
        raise ValueError(f"{len(names)} groups: use small_multiples for more than {len(PALETTE)}")
    fig, ax = new_figure()
    x = financial_year_axis(ax, years, label=xlabel)
    position = dict(zip(years, x, strict=True))
    if reference is not None:
        ax.axhline(reference, color=TEXT_GREY, linewidth=0.8)
    endings = []
    for colour, name in zip(PALETTE, names, strict=False):
        rows = frame[frame[group] == name].sort_values(year)
        faint = highlight is not None and name != highlight
        ax.plot([position[str(v)] for v in rows[year]], rows[value], color=NEUTRAL if faint else colour,
                linewidth=1.4 if faint else 2.4, marker="o", markersize=3, label=str(name), zorder=1 if faint else 3)
        endings.append(f"{name} {_money(float(rows[value].iloc[-1]), unit)} in {rows[year].iloc[-1]}")
        when = (marks or {}).get(name)
        at = rows[rows[year].astype(str) == str(when)]
        if when is not None and not at.empty:
            ax.plot([position[str(when)]], [float(at[value].iloc[0])], "D", color=colour, markersize=9,
                    markeredgecolor="black", zorder=4)
    ax.set_ylabel(ylabel)
    thousands(ax.yaxis)
    if len(names) > 1:
        handles, _labels = ax.get_legend_handles_labels()
        if marks and mark_label:
            handles.append(Line2D([0], [0], marker="D", color="white", markerfacecolor=NEUTRAL,
                                  markeredgecolor="black", markersize=8, label=mark_label))
        ax.legend(handles=handles, loc="best", ncols=2 if len(handles) > 4 else 1)
    if alt is None:
        alt = f"Line chart of {ylabel} by {xlabel.lower()} for {len(names)} groups: " + "; ".join(endings) + "."
        if marks and mark_label:
            alt += f" Diamonds mark the {mark_label.lower()}: " + "; ".join(f"{g} {y}" for g, y in marks.items()) + "."
    return (finish if show else render)(fig, title, source, alt)


def small_multiples(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *, group: str,
                    value: str, ylabel: str, year: str = "financial_year", unit: str = "", ncols: int = 3,
                    show: bool = True) -> Chart:
    """One small line chart per group (shared axes), financial years along the bottom."""
    frame = data[[year, group, value]].dropna()
    years = sorted(frame[year].astype(str).unique())
    names = list(dict.fromkeys(frame[group]))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = new_figure(nrows, ncols, height=min(1.7 * nrows + 1.2, 14), sharex=True, sharey=True)
    flat = np.atleast_1d(axes).ravel()
    position = {y: i for i, y in enumerate(years)}
    endings = []
    for ax, name in zip(flat, names, strict=False):
        rows = frame[frame[group] == name].sort_values(year)
        ax.plot([position[str(v)] for v in rows[year]], rows[value], color=OKABE_ITO["blue"], linewidth=1.8)
        ax.set_title(str(name), fontsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(3))
        thousands(ax.yaxis)
        endings.append(f"{name} {_money(float(rows[value].iloc[-1]), unit)}")
    for ax in flat[len(names):]:
        ax.set_visible(False)
    step = max(1, int(np.ceil(len(years) / 4)))
    for ax in flat:
        ax.set_xticks(range(0, len(years), step), years[::step], fontsize=7)
    fig.supxlabel("Financial year", fontsize=9, color=TEXT_GREY)
    fig.supylabel(ylabel, fontsize=9, color=TEXT_GREY)
    if alt is None:
        alt = (f"Small multiple line charts of {ylabel} by financial year, {years[0]} to {years[-1]}, one per "
               f"area. Latest values: " + "; ".join(endings) + ".")
    return (finish if show else render)(fig, title, source, alt)


def event_study_chart(data: pd.DataFrame, title: str, source: str, alt: str | None = None, *,
                      ylabel: str, xlabel: str = "Years from the first count after the agreement (0)",
                      scale: float = 1.0, unit: str = "", show: bool = True) -> Chart:
    """Point estimates with 95% intervals by event time (the reference period -1 marked), zero line drawn."""
    frame = data.sort_values("event_time")
    fig, ax = new_figure()
    x = frame["event_time"].to_numpy(int)
    estimate = frame["estimate"].to_numpy(float) * scale
    low, high = frame["ci_low"].to_numpy(float) * scale, frame["ci_high"].to_numpy(float) * scale
    ax.axhline(0, color=TEXT_GREY, linewidth=0.8)
    ax.axvline(-0.5, color=NEUTRAL, linewidth=1, linestyle=":")
    ax.vlines(x, low, high, color=OKABE_ITO["blue"], linewidth=2)
    ax.plot(x, estimate, "o", color=OKABE_ITO["blue"], markersize=6, label="Estimate with 95% interval")
    ax.set_xticks(x)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower left")
    if alt is None:
        after = frame[frame["event_time"] >= 0]
        alt = (f"Event-study chart of {ylabel} from {x.min()} to {x.max()} years around the first count after "
               "the agreement, with 95% intervals; year -1 is the reference. After the agreement: " + "; ".join(
                   f"year {int(r.event_time)}: {r.estimate * scale:,.3f}{unit} ({r.ci_low * scale:,.3f} to "
                   f"{r.ci_high * scale:,.3f})" for r in after.itertuples()) + ".")
    return (finish if show else render)(fig, title, source, alt)


def warm_up() -> None:
    """Render one small chart without displaying it (the fork server pays first-use costs once)."""
    frame = pd.DataFrame({"financial_year": ["2015-16", "2016-17", "2017-18"], "actual": [1.0, 2.0, 2.5],
                          "necessary": [1.0, 2.2, 3.0]})
    gap_chart(frame, "Warm-up", "sendlib", "Warm-up chart", show=False)
