"""Draws a Grafana dashboard JSON with matplotlib from Prometheus range-query results.

Grafana itself cannot run where bench/dashboard.py runs, so this draws what it would show:
each panel at its gridPos (24 columns; Grafana's 30 px rows), in Grafana's dark theme, with
its title and unit. timeseries: lines with a light fill and a table legend (name, last,
max); stat: the last value, big, coloured by the thresholds, over a sparkline; gauge: the
last value on an arc; bargauge: one horizontal bar per series; table: last value per
series; row: a section header.
"""

from __future__ import annotations

import io
import logging
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Wedge  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402

BACKGROUND = "#111217"
PANEL = "#181b1f"
BORDER = "#2a2d33"
TEXT = "#ccccdc"
DIM = "#8e8e9a"
GRID_LINE = "#25282d"
PALETTE = ["#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9",
           "#705DA0", "#37872D", "#FADE2A", "#447EBC", "#C15C17", "#890F02", "#0A437C",
           "#6D1F62", "#584477", "#B7DBAB", "#F4D598", "#70DBED", "#F9BA8F"]
NAMED = {"green": "#73BF69", "red": "#F2495C", "yellow": "#FADE2A", "blue": "#5794F2",
         "orange": "#FF9830", "purple": "#B877D9", "text": TEXT}
# Grafana's defaults for a panel without thresholds: green, red from 80.
DEFAULT_STEPS: list[dict[str, Any]] = [{"color": "green", "value": None}, {"color": "red", "value": 80}]

WIDTH = 24.0  # inches: one inch per grid column
ROW = 0.48  # inches per grid row
GAP = 0.09  # inches between panels
HEADER = 0.55  # inches: the dashboard's top bar
DPI = 90
LEGEND_ROW = 0.155  # inches per legend line
FONTS = ["DejaVu Sans Condensed", "DejaVu Sans"]  # narrow, like Grafana's Inter, if installed


# --- values and units ---

def _number(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else math.nan


def _decimals(value: float) -> str:
    size = abs(value)
    if float(value).is_integer() or size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 0.01:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _scaled(value: float, base: float, names: list[str]) -> str:
    i = 0
    while abs(value) >= base and i < len(names) - 1:
        value /= base
        i += 1
    return _decimals(value) + names[i]


def fmt(value: float, unit: str) -> str:
    """A value as Grafana writes it for the common units."""
    if value is None or math.isnan(value):
        return "No data"
    if unit == "bytes":
        return _scaled(value, 1024, [" B", " KiB", " MiB", " GiB", " TiB"])
    if unit == "percentunit":
        return _decimals(value * 100) + "%"
    if unit == "percent":
        return _decimals(value) + "%"
    if unit == "s":
        for limit, scale, name in ((1e-6, 1e9, " ns"), (1e-3, 1e6, " µs"), (1, 1e3, " ms"),
                                   (60, 1, " s"), (3600, 1 / 60, " min")):
            if abs(value) < limit:
                return _decimals(value * scale) + name
        return _decimals(value / 3600) + " hour"
    if unit == "ops":
        return _scaled(value, 1000, ["", "K", "M", "B"]) + " ops/s"
    if unit == "short":
        return _scaled(value, 1000, ["", " K", " Mil", " Bil", " Tri"])
    if float(value).is_integer():
        return f"{value:.0f}"
    return _decimals(value)


def threshold_color(value: float, panel: dict[str, Any]) -> str:
    steps: list[dict[str, Any]] = (panel.get("fieldConfig", {}).get("defaults", {})
                                   .get("thresholds", {}).get("steps") or DEFAULT_STEPS)
    color = steps[0]["color"]
    for step in steps[1:]:
        if not math.isnan(value) and step["value"] is not None and value >= step["value"]:
            color = step["color"]
    return str(NAMED.get(color, color))


class Series:
    def __init__(self, name: str, times: list[float], values: list[float]) -> None:
        self.name = name
        self.times = times
        self.values = values

    def last(self) -> float:
        return next((v for v in reversed(self.values) if not math.isnan(v)), math.nan)

    def max(self) -> float:
        finite = [v for v in self.values if not math.isnan(v)]
        return max(finite) if finite else math.nan


def legend_name(fmt_text: str, labels: dict[str, str]) -> str:
    if not fmt_text or fmt_text == "__auto":
        name = labels.get("__name__", "")
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
        return f"{name}{{{inner}}}" if inner else name or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt_text)


def panel_series(panel: dict[str, Any], results: list[dict[str, Any]]) -> list[Series]:
    by_ref = {target.get("refId", ""): target for target in panel.get("targets", [])}
    out = []
    for entry in results:
        target = by_ref.get(entry["refId"], {})
        for series in entry.get("series", []):
            times = [_date(float(t)) for t, _ in series["values"]]
            values = [_number(v) for _, v in series["values"]]
            out.append(Series(legend_name(target.get("legendFormat", ""), series["metric"]),
                              times, values))
    return out


# --- the page ---

def render(dashboard: dict[str, Any], data: dict[str, Any], out: Path) -> None:
    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    height = HEADER + rows * ROW + GAP
    plt.rcParams["font.family"] = FONTS
    # DejaVu Sans Condensed's regular face weighs 380, which findfont reports for every text
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    fig = plt.figure(figsize=(WIDTH, height), dpi=DPI, facecolor=BACKGROUND)
    page = Page(fig, height, (_date(data["start"]), _date(data["end"])))
    page.header(dashboard, data)
    for number, panel in enumerate(panels):
        results = data["panels"].get(str(panel["id"]), [])
        page.panel(panel, panel_series(panel, results), number)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, facecolor=BACKGROUND, format="png")
    plt.close(fig)
    # 256 colours are plenty for flat panels and thin lines, and a third of the bytes
    Image.open(buffer).convert("RGB").quantize(colors=256).save(out, optimize=True)


class Page:
    """Positions in inches from the top-left corner, turned into figure fractions."""

    def __init__(self, fig: Figure, height: float, span: tuple[float, float]) -> None:
        self.fig = fig
        self.height = height
        self.span = span

    def rect(self, left: float, top: float, width: float,
             height: float) -> tuple[float, float, float, float]:
        return (left / WIDTH, 1 - (top + height) / self.height, width / WIDTH,
                height / self.height)

    def text(self, left: float, top: float, text: str, **kw: Any) -> None:
        kw.setdefault("color", TEXT)
        kw.setdefault("va", "top")
        self.fig.text(left / WIDTH, 1 - top / self.height, text, **kw)

    def header(self, dashboard: dict[str, Any], data: dict[str, Any]) -> None:
        start, end = (mdates.num2date(t) for t in self.span)
        self.text(0.15, 0.16, "Dashboards  ›  ", fontsize=13, color=DIM)
        self.text(1.55, 0.16, dashboard["title"], fontsize=13, weight="bold")
        variables = f"cluster  {data['cluster']}      instance  All"
        self.text(4.0, 0.19, variables, fontsize=10, color=DIM)
        span = (f"{start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} UTC   "
                f"step {data['step']:g}s   refresh {dashboard.get('refresh', '')}")
        self.text(WIDTH - 0.15, 0.19, span, fontsize=10, color=DIM, ha="right")

    def panel(self, panel: dict[str, Any], series: list[Series], number: int) -> None:
        pos = panel["gridPos"]
        left, top = pos["x"] + GAP / 2, HEADER + pos["y"] * ROW + GAP / 2
        width, height = pos["w"] - GAP, pos["h"] * ROW - GAP
        kind = panel["type"]
        if kind == "row":
            self.text(left + 0.05, top + 0.12, "⌄  " + panel.get("title", ""), fontsize=12,
                      weight="bold")
            return
        box = FancyBboxPatch((left / WIDTH, 1 - (top + height) / self.height),
                             width / WIDTH, height / self.height,
                             boxstyle="round,pad=0,rounding_size=0.002",
                             transform=self.fig.transFigure, facecolor=PANEL, edgecolor=BORDER,
                             linewidth=0.8, zorder=-1)
        self.fig.patches.append(box)
        self.text(left + 0.1, top + 0.08, panel.get("title", ""), fontsize=10.5, weight="bold")
        body = (left + 0.08, top + 0.36, width - 0.16, height - 0.44)
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        if not series or all(math.isnan(s.last()) for s in series) and kind != "timeseries":
            self.text(left + width / 2, top + height / 2 - 0.1, "No data", fontsize=13,
                      color=DIM, ha="center")
            return
        draw = {"timeseries": self.timeseries, "stat": self.stat, "gauge": self.gauge,
                "bargauge": self.bargauge, "table": self.table}.get(kind)
        if draw is None:
            self.text(left + 0.1, top + 0.5, f"(panel type {kind} not drawn)", color=DIM)
            return
        draw(panel, series, unit, body)

    # --- panel types ---

    def timeseries(self, panel: dict[str, Any], series: list[Series], unit: str,
                   body: tuple[float, float, float, float]) -> None:
        left, top, width, height = body
        legend = panel.get("options", {}).get("legend", {})
        show_legend = bool(series) and legend.get("showLegend", True) \
            and legend.get("displayMode") != "hidden"
        room = min(height * 0.45, (len(series) + 1) * LEGEND_ROW) if show_legend else 0.0
        axes_h = height - room - 0.1
        fields = [field_config(panel, s.name) for s in series]
        right = [f for f in fields if f.get("custom.axisPlacement") == "right"]
        ax = self.fig.add_axes(self.rect(left + 0.75, top, width - (1.5 if right else 0.8),
                                         axes_h - 0.25))
        _style(ax)
        twin = ax.twinx() if right else None
        for i, (s, field) in enumerate(zip(series, fields, strict=True)):
            on = twin if twin is not None and field.get("custom.axisPlacement") == "right" else ax
            color = PALETTE[i % len(PALETTE)]
            on.plot(s.times, s.values, color=color, linewidth=1.1)
            on.fill_between(s.times, s.values, 0, color=color, alpha=0.08, linewidth=0)
        left_fields = [f for f in fields if f not in right] or [{"unit": unit}]
        _value_axis(ax, ax.yaxis, [s for s, f in zip(series, fields, strict=True)
                                   if f not in right], left_fields[0])
        if twin is not None:
            _style(twin)
            twin.grid(False)
            _value_axis(twin, twin.yaxis, [s for s, f in zip(series, fields, strict=True)
                                           if f in right], right[0])
        locator = mdates.AutoDateLocator(minticks=3, maxticks=max(4, int(width / 1.1)))
        ax.set_xlim(*self.span)
        start, end = self.span
        # no time label under the value axis' labels, nor hanging over the right edge
        ax.set_xticks([t for t in locator.tick_values(mdates.num2date(start), mdates.num2date(end))
                       if start + 0.05 * (end - start) <= t <= end - 0.03 * (end - start)])
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        ax.set_xlim(*self.span)
        if not series:
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center",
                    color=DIM, fontsize=13)
        if show_legend:
            self.legend(series, [f.get("unit", unit) for f in fields], left,
                        top + axes_h + 0.05, width, room,
                        legend.get("calcs", ["lastNotNull", "max"]))

    def legend(self, series: list[Series], units: list[str], left: float, top: float,
               width: float, room: float, calcs: list[str]) -> None:
        """Grafana's table legend. What does not fit in two columns is left out, smallest
        maximum first, and counted in a last line (Grafana would scroll)."""
        rows = max(1, int(room / LEGEND_ROW) - 1)
        entries = list(enumerate(series))
        columns = 1 if len(entries) <= rows else 2
        hidden = 0
        if len(entries) > columns * rows:
            keep = columns * rows - 1
            ranked = sorted(entries, key=lambda e: -e[1].max() if not math.isnan(e[1].max())
                            else math.inf)
            kept = {i for i, _ in ranked[:keep]}
            hidden = len(entries) - keep
            entries = [e for e in entries if e[0] in kept]
        per_column = math.ceil((len(entries) + (1 if hidden else 0)) / columns)
        col_w = width / columns
        names = {"lastNotNull": "Last *", "last": "Last", "max": "Max", "min": "Min",
                 "mean": "Mean"}
        shown = [c for c in calcs if c in names]
        value_w = 0.72 if col_w > 2.6 else 0.62
        size = 8
        for c in range(columns):
            x = left + c * col_w
            ends = [x + col_w - 0.1 - (len(shown) - 1 - k) * value_w for k in range(len(shown))]
            self.text(x + 0.02, top, "Name", fontsize=size, color=DIM)
            for calc, end in zip(shown, ends, strict=True):
                self.text(end, top, names[calc], fontsize=size, color="#5794F2", ha="right")
            for r, (i, s) in enumerate(entries[c * per_column:(c + 1) * per_column]):
                y = top + (r + 1) * LEGEND_ROW
                self.fig.add_artist(plt.Line2D(
                    [(x + 0.03) / WIDTH, (x + 0.2) / WIDTH],
                    [1 - (y + 0.07) / self.height] * 2, color=PALETTE[i % len(PALETTE)],
                    linewidth=2.5))
                self.text(x + 0.26, y, _fit(s.name, col_w - 0.4 - len(shown) * value_w, size),
                          fontsize=size)
                for calc, end in zip(shown, ends, strict=True):
                    value = s.last() if calc in ("lastNotNull", "last") else s.max()
                    self.text(end, y, fmt(value, units[i]), fontsize=size, ha="right")
        if hidden:
            y = top + (len(entries) - (columns - 1) * per_column + 1) * LEGEND_ROW
            self.text(left + (columns - 1) * col_w + 0.26, y,
                      f"+ {hidden} more, with smaller maxima", fontsize=size, color=DIM)

    def stat(self, panel: dict[str, Any], series: list[Series], unit: str,
             body: tuple[float, float, float, float]) -> None:
        left, top, width, height = body
        cell = width / len(series)
        graph = panel.get("options", {}).get("graphMode", "area") == "area"
        for i, s in enumerate(series):
            value = s.last()
            color = threshold_color(value, panel)
            x = left + i * cell
            if graph:
                ax = self.fig.add_axes(self.rect(x, top + height * 0.6, cell, height * 0.4 + 0.06))
                ax.set_axis_off()
                ax.plot(s.times, s.values, color=color, linewidth=1.2)
                finite = [v for v in s.values if not math.isnan(v)]
                floor = min(finite) if finite else 0.0
                ax.fill_between(s.times, s.values, floor, color=color, alpha=0.18, linewidth=0)
                ax.set_ylim(bottom=floor)
                ax.set_xlim(*self.span)
            if len(series) > 1:
                self.text(x + cell / 2, top + 0.02, s.name, fontsize=10, color=TEXT,
                          ha="center")
            size = 30 if len(series) == 1 else 22
            self.text(x + cell / 2, top + height * 0.36, fmt(value, unit), fontsize=size,
                      color=color, weight="bold", ha="center", va="center")

    def gauge(self, panel: dict[str, Any], series: list[Series], unit: str,
              body: tuple[float, float, float, float]) -> None:
        left, top, width, height = body
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        cell = width / len(series)
        for i, s in enumerate(series):
            value = s.last()
            low, high = defaults.get("min", 0), defaults.get("max", 100)
            share = 0.0 if math.isnan(value) else min(1.0, max(0.0, (value - low) / (high - low)))
            ax = self.fig.add_axes(self.rect(left + i * cell, top, cell, height))
            ax.set_axis_off()
            ax.set_aspect("equal")
            ax.set_xlim(-1.1, 1.1)
            ax.set_ylim(-0.3, 1.1)
            color = threshold_color(value, panel)
            ax.add_patch(Wedge((0, 0), 1, 0, 180, width=0.22, color=BORDER))
            ax.add_patch(Wedge((0, 0), 1, 180 - 180 * share, 180, width=0.22, color=color))
            ax.text(0, 0.15, fmt(value, unit), color=color, fontsize=20, weight="bold",
                    ha="center")
            ax.text(0, -0.2, s.name, color=TEXT, fontsize=9, ha="center")

    def bargauge(self, panel: dict[str, Any], series: list[Series], unit: str,
                 body: tuple[float, float, float, float]) -> None:
        left, top, width, height = body
        series = sorted(series, key=_natural)
        ax = self.fig.add_axes(self.rect(left + 1.0, top, width - 1.8, height))
        ax.set_axis_off()
        values = [0.0 if math.isnan(s.last()) else s.last() for s in series]
        top_value = max(values + [panel.get("fieldConfig", {}).get("defaults", {})
                                  .get("max", 0) or 0]) or 1.0
        n = len(series)
        for i, (s, value) in enumerate(zip(series, values, strict=True)):
            y = n - 1 - i
            color = threshold_color(value, panel)
            ax.barh(y, top_value, height=0.72, color="#22252b")
            ax.barh(y, value, height=0.72, color=color, alpha=0.85)
            row_top = top + height * i / n
            self.text(left + 0.95, row_top + height / n / 2, s.name, fontsize=8, ha="right",
                      va="center")
            self.text(left + width, row_top + height / n / 2, fmt(value, unit), fontsize=8.5,
                      color=color, ha="right", va="center", weight="bold")
        ax.set_xlim(0, top_value)
        ax.set_ylim(-0.5, n - 0.5)

    def table(self, panel: dict[str, Any], series: list[Series], unit: str,
              body: tuple[float, float, float, float]) -> None:
        left, top, width, _height = body
        self.text(left, top, "Name", fontsize=9, color=DIM)
        self.text(left + width, top, "Value", fontsize=9, color=DIM, ha="right")
        for r, s in enumerate(series):
            y = top + (r + 1) * 0.2
            self.text(left, y, s.name, fontsize=9)
            self.text(left + width, y, fmt(s.last(), unit), fontsize=9, ha="right")


def field_config(panel: dict[str, Any], name: str) -> dict[str, Any]:
    """fieldConfig.defaults with the byName overrides of this series applied (flat keys:
    "unit", "min", "max", "custom.axisPlacement")."""
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    field = {k: v for k, v in defaults.items() if k != "custom"}
    field.update({f"custom.{k}": v for k, v in defaults.get("custom", {}).items()})
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") == "byName" and matcher.get("options") == name:
            field.update({p["id"]: p.get("value") for p in override.get("properties", [])})
    return field


def _value_axis(ax: Axes, axis: Any, series: list[Series], field: dict[str, Any]) -> None:
    unit = field.get("unit", "")
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v, unit)))
    axis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=3))
    finite = [v for s in series for v in s.values if not math.isnan(v)]
    low = field.get("min", min([0.0, *finite]))
    high = field.get("max")
    if high is None and not any(finite):
        high = 1.0
    ax.set_ylim(bottom=low, top=high)


def _fit(text: str, room: float, size: float) -> str:
    """``text`` cut with an ellipsis to about ``room`` inches at ``size`` points."""
    chars = int(room / (size * 0.0062))
    return text if len(text) <= chars else text[:max(4, chars - 1)] + "…"


def _date(timestamp: float) -> float:
    """A Unix time as matplotlib's date number (days), UTC."""
    return float(mdates.date2num(datetime.fromtimestamp(timestamp, UTC)))


def _natural(series: Series) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", series.name)]


def _style(ax: Axes) -> None:
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(True, color=GRID_LINE, linewidth=0.8)
    ax.tick_params(colors=DIM, labelsize=8, length=0, pad=3)
    ax.margins(x=0)
