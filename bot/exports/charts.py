"""PNG charts that read well on a phone: horizontal bars against a target, 1080 px wide.

One drawing function for every export kind: a chart is a title, one or more panels of
labelled bars (a share with its interval, or a count), a target line or band, and a
note at the bottom. matplotlib is used through its object API with the Agg canvas (no
pyplot, no global figure), so charts can be drawn in a worker thread. DejaVu Sans, the
default font, has every Vietnamese glyph.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

WIDTH_PX = 1080
DPI = 150
TONES = {
    "sure": "#2e7d32",
    "met": "#2e7d32",
    "estimate": "#f2a900",
    "short": "#c62828",
    "neutral": "#1565c0",
    "empty": "#9e9e9e",
}
TARGET_COLOUR = "#b71c1c"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value (None: no data), interval, note at its end, and tone."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    tone: str = "neutral"


@dataclass(frozen=True)
class Panel:
    """A set of bars with a target line (`target`) or a target range (`band`)."""

    title: str
    bars: tuple[Bar, ...]
    target: float | None = None
    band: tuple[float, float] | None = None
    target_label: str = ""
    percent: bool = False
    total_last: bool = False


@dataclass(frozen=True)
class Chart:
    """A whole chart: title, panels top to bottom, legend entries and a note."""

    title: str
    panels: tuple[Panel, ...]
    legend: tuple[tuple[str, str], ...] = ()
    note: str = ""


def height_px(chart: Chart) -> int:
    """The image height: room for the title, each bar, and the legend and note."""
    bars = sum(max(len(panel.bars), 1) for panel in chart.panels)
    return 300 + 110 * len(chart.panels) + 58 * bars + (60 if chart.legend else 0)


def chart_png(chart: Chart) -> bytes:
    """Draw the chart as a PNG, WIDTH_PX wide."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    height = height_px(chart)
    figure = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ratios = [max(len(panel.bars), 1) + 1.5 for panel in chart.panels]
    axes = figure.subplots(len(chart.panels), 1, squeeze=False,
                           gridspec_kw={"height_ratios": ratios})[:, 0]
    for ax, panel in zip(axes, chart.panels, strict=True):
        _draw_panel(ax, panel)
    figure.suptitle(chart.title, fontsize=15, fontweight="bold")
    handles = [Patch(color=TONES[tone], label=label) for tone, label in chart.legend]
    targets = {panel.target_label for panel in chart.panels if panel.target is not None}
    handles += [Line2D([], [], color=TARGET_COLOUR, linestyle="--", linewidth=2, label=label)
                for label in sorted(targets) if label]
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=10,
                      frameon=False)
    if chart.note:
        axes[-1].set_xlabel(chart.note, fontsize=9.5, color="#424242", labelpad=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _draw_panel(ax, panel: Panel) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import FuncFormatter

    bars = panel.bars
    positions = list(range(len(bars)))
    values = [bar.value or 0.0 for bar in bars]
    colours = [TONES.get(bar.tone, TONES["neutral"]) for bar in bars]
    ax.barh(positions, values, color=colours, height=0.62)
    for position, bar in enumerate(bars):
        if bar.value is not None and bar.low is not None and bar.high is not None:
            ax.errorbar(bar.value, position, xerr=[[bar.value - bar.low], [bar.high - bar.value]],
                        fmt="none", ecolor="#212121", elinewidth=1.6, capsize=4)
    top = max([bar.high or bar.value or 0.0 for bar in bars] + [panel.target or 0.0,
                                                                 *(panel.band or ())])
    limit = 1.0 if panel.percent else max(top, 1.0)
    span = limit * (1.42 if panel.percent else 1.5)
    for position, bar in enumerate(bars):
        end = max(bar.high or 0.0, bar.value or 0.0)
        ax.text(end + span * 0.015, position, bar.note, va="center", fontsize=10)
    if panel.band is not None:
        ax.axvspan(*panel.band, color=TONES["met"], alpha=0.13, linewidth=0)
        for edge in panel.band:
            ax.axvline(edge, color=TONES["met"], linestyle=":", linewidth=1.5)
    if panel.target is not None:
        ax.axvline(panel.target, color=TARGET_COLOUR, linestyle="--", linewidth=2)
    ax.set_xlim(0, span)
    ax.set_yticks(positions, [bar.label for bar in bars], fontsize=11)
    ax.set_ylim(len(bars) - 0.4, -0.6)
    ax.set_title(panel.title, fontsize=12.5, loc="left")
    if panel.total_last and len(bars) > 1:
        ax.axhline(len(bars) - 1.5, color="#616161", linewidth=1)
        ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.tick_params(axis="x", labelsize=10)
    if panel.percent:
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x * 100:.0f}%"))
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
