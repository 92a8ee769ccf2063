"""The house style: a colour-blind-safe palette, and every chart with a title, unit-bearing axis labels,
financial years, a source line and alt text that reaches the exported <img alt>."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pandas as pd
import pytest

from sendlib import plots

# Machado, Oliveira & Fernandes (2009), full severity, applied in linear RGB.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
YEARS = ["2015-16", "2016-17", "2017-18", "2018-19", "2019-20"]
UNIT_MARKERS = ("£", "%", "per ", "Index (", "(number")


def _linear(colour: str) -> np.ndarray:
    """Return a hex colour in linear RGB."""
    rgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _srgb(linear: np.ndarray) -> np.ndarray:
    """Return linear RGB as sRGB in 0..1."""
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _png_size(png: bytes) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.fixture
def funding() -> pd.DataFrame:
    return pd.DataFrame({"financial_year": YEARS, "actual": [5247.0, 5300, 5827, 6115, 6279],
                         "necessary": [5247.0, 5600, 6277, 6987, 7734]})


@pytest.fixture
def charts(funding) -> dict[str, plots.Chart]:
    ranked = pd.DataFrame({"la": ["Kent", "Surrey", "Medway", "Slough"], "per_plan": [16480.0, 17200, 19100, 15000]})
    panel = pd.DataFrame({"financial_year": YEARS * 3, "area": ["A"] * 5 + ["B"] * 5 + ["C"] * 5,
                          "plans": np.arange(15, dtype=float) * 10 + 100})
    return {
        "gap": plots.gap_chart(funding, "Funding fell £1,455m short by 2019-20", "DfE; sendlib", show=False),
        "index": plots.index_chart(funding, "Need grew faster than funding", "DfE; sendlib",
                                   columns={"actual": "Actual", "necessary": "Necessary"}, show=False),
        "ranked": plots.ranked_bar_chart(ranked, "Kent ranks 3 of 4", "DfE; sendlib", value="per_plan", label="la",
                                         xlabel="High needs block per plan (£ per plan)", unit="£ per plan",
                                         focus="Kent", highlight={"Surrey": "Safety Valve"}, show=False),
        "grouped": plots.grouped_line_chart(panel, "B grew fastest", "SEN2; sendlib", group="area", value="plans",
                                            ylabel="EHC plans per 1,000 pupils", unit="per 1,000", highlight="B",
                                            show=False),
        "multiples": plots.small_multiples(panel, "Plans rose everywhere", "SEN2; sendlib", group="area",
                                           value="plans", ylabel="EHC plans (number)", show=False),
    }


@pytest.mark.parametrize("condition", sorted(CVD))
def test_palette_stays_distinguishable_with_colour_vision_deficiency(condition):
    matrix = np.array(CVD[condition])
    simulated = [_srgb(matrix @ _linear(colour)) for colour in plots.PALETTE[:6]]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(simulated, 2))
    assert closest > 0.1, f"two of the first six palette colours look alike under {condition}"


def test_palette_is_okabe_ito_and_is_the_seaborn_default_after_styling():
    assert plots.PALETTE[:7] == ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    plots.apply_house_style()
    import matplotlib as mpl
    from matplotlib.colors import to_hex

    cycle = [to_hex(c["color"]).upper() for c in mpl.rcParams["axes.prop_cycle"]]
    assert cycle[:3] == ["#0072B2", "#E69F00", "#009E73"]


def test_every_chart_has_title_units_source_and_alt(charts):
    for name, chart in charts.items():
        assert chart.title and chart.source and chart.alt, name
        assert len(chart.alt) > 40, f"{name}: alt text should describe the chart"
        assert chart.axis_labels, name
        for xlabel, ylabel in chart.axis_labels:
            assert xlabel and ylabel, name
            value_label = xlabel if name == "ranked" else ylabel
            assert any(marker in value_label for marker in UNIT_MARKERS), f"{name}: no unit in {value_label!r}"


def test_time_axis_shows_financial_years():
    fig, ax = plots.new_figure()
    plots.financial_year_axis(ax, YEARS)
    assert [t.get_text() for t in ax.get_xticklabels()] == YEARS
    assert ax.get_xlabel() == "Financial year"


def test_charts_are_small_pngs_at_100_dpi(charts):
    for name, chart in charts.items():
        width, height = _png_size(chart.png)
        assert (width, height) == (chart.width_px, chart.height_px), name
        assert width == 750, name
        assert len(chart.png) <= plots.MAX_PNG_BYTES, f"{name}: {chart.size_kb:.0f} KB"


def test_alt_text_describes_the_data(charts):
    assert "a shortfall of £1.5bn" in charts["gap"].alt and "2019-20" in charts["gap"].alt  # one money format
    assert "Kent ranks 3 of 4" in charts["ranked"].alt and "Safety Valve: Surrey" in charts["ranked"].alt


def test_finish_displays_png_with_alt_metadata(monkeypatch, funding):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig, ax = plots.new_figure()
    ax.plot([0, 1], [1, 2])
    ax.set_xlabel("Financial year")
    ax.set_ylabel("£m (cash)")
    chart = plots.finish(fig, "A finding", "A source", "A line rising from 1 to 2")
    assert len(shown) == 1
    data, metadata = shown[0]._repr_png_()
    assert metadata["alt"] == "A line rising from 1 to 2"
    assert chart._ipython_display_() is None  # evaluating the returned chart shows nothing more


@pytest.mark.parametrize("missing", ["title", "source", "alt"])
def test_render_refuses_a_chart_without_title_source_or_alt(missing):
    fig, ax = plots.new_figure()
    ax.set_xlabel("Financial year")
    ax.set_ylabel("£m")
    texts = {"title": "T", "source": "S", "alt": "A"} | {missing: " "}
    with pytest.raises(ValueError, match=missing if missing != "alt" else "alt text"):
        plots.render(fig, **texts)


def test_render_refuses_unlabelled_axes():
    fig, ax = plots.new_figure()
    ax.plot([0, 1], [1, 2])
    ax.set_xlabel("Financial year")
    with pytest.raises(ValueError, match="y axis label"):
        plots.render(fig, "T", "S", "A")


def test_source_line_and_title_are_drawn_on_the_figure(funding):
    fig, ax = plots.new_figure()
    ax.set_xlabel("Financial year")
    ax.set_ylabel("£m")
    plots.render(fig, "Funding fell short", "DfE high needs block", "alt")
    texts = [t.get_text() for t in fig.texts]
    assert any(t.startswith("Source: DfE high needs block") for t in texts)
    assert fig.get_suptitle() == "Funding fell short"


def test_a_busy_chart_is_shrunk_and_a_still_large_one_warns():
    rng = np.random.default_rng(1)
    fig, ax = plots.new_figure()
    for colour in plots.PALETTE:
        ax.scatter(rng.random(3000), rng.random(3000), s=4, color=colour, alpha=0.6)
    ax.set_xlabel("Share of pupils (%)")
    ax.set_ylabel("£ per plan")
    with pytest.warns(UserWarning, match="house limit"):
        chart = plots.render(fig, "A busy chart", "random", "Random points")
    assert len(chart.png) < 200_000  # about 490 KB before the palette re-encoding
    assert _png_size(chart.png) == (750, 420)
