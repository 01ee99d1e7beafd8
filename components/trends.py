"""Charts of the wall: the KPI sparkline (plain SVG) and the plotly figures of the trends panel
of the kiosk rotation.

Dark, large type, no toolbars: read from across a room, never clicked.
"""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go

FONT = "'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"
TEXT = "#f2f5fa"
MUTED = "#9fb0c8"
GRID = "#243044"
TODAY = "#63b5de"
BEFORE = "#6b7a90"
RED = "#ff5a5f"


def _frame(fig: go.Figure, title: str, size: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": size + 6, "color": TEXT}, "x": 0.01},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": size, "color": MUTED},
        margin={"l": 70, "r": 20, "t": 60, "b": 50}, showlegend=True,
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom",
                "font": {"size": size}},
    )
    fig.update_xaxes(gridcolor=GRID, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, linecolor=GRID, rangemode="tozero", separatethousands=True)
    return fig


def sparkline_svg(hourly: pd.DataFrame, upto_hour: int, width: int = 240,
                  height: int = 48) -> str:
    """Scans per hour today (bright, whole hours before `upto_hour`) over yesterday's (grey), as
    an SVG data URI for an <img>: the first screen needs no plotly (4.7 MB of script)."""
    top = max(float(hourly["scans"].max()), float(hourly["scans_before"].max()), 1.0)

    def points(values) -> str:
        return " ".join(f"{h * width / 23:.1f},{height - 2 - v * (height - 4) / top:.1f}"
                        for h, v in zip(hourly["hour"], values, strict=False))

    today = hourly["scans"].iloc[:max(upto_hour, 0)]
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
           "preserveAspectRatio='none'>"
           f"<polyline fill='none' stroke='{BEFORE}' stroke-width='2' "
           f"points='{points(hourly['scans_before'])}'/>"
           + (f"<polyline fill='none' stroke='{TODAY}' stroke-width='3' "
              f"points='{points(today)}'/>" if len(today) > 1 else "")
           + "</svg>")
    return "data:image/svg+xml;utf8," + quote(svg)


def hourly_figure(hourly: pd.DataFrame, upto_hour: int, labels: dict, size: int = 20) -> go.Figure:
    """Scans per hour, today (whole hours before `upto_hour`) against yesterday."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=hourly["hour"], y=hourly["scans_before"], name=labels["before"],
                             mode="lines", line={"color": BEFORE, "width": 3, "dash": "dot"}))
    today = hourly[hourly["hour"] < upto_hour]
    fig.add_trace(go.Scatter(x=today["hour"], y=today["scans"], name=labels["today"],
                             mode="lines+markers", line={"color": TODAY, "width": 5}))
    fig.update_xaxes(dtick=3, range=[-0.3, 23.3], ticksuffix=":00")
    return _frame(fig, labels["title"], size)


def daily_figure(daily: pd.DataFrame, labels: dict, size: int = 20) -> go.Figure:
    """Scans per day (bars) and red verdicts per day (line, right axis) over two weeks."""
    days = [d.strftime("%m-%d") for d in daily["day"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=days, y=daily["scans"], name=labels["scans"], marker_color=TODAY))
    fig.add_trace(go.Scatter(x=days, y=daily["red"], name=labels["red"], yaxis="y2",
                             mode="lines+markers", line={"color": RED, "width": 4}))
    fig = _frame(fig, labels["title"], size)
    fig.update_xaxes(type="category")  # "11-09" is a label, not a date to parse
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False,
                              "rangemode": "tozero", "color": RED, "tickformat": ",d"})
    fig.update_layout(margin={"r": 70})
    return fig


def industry_figure(industry: pd.DataFrame, names: dict, colours: dict, title: str,
                    size: int = 20) -> go.Figure:
    """Scans today per venue kind, largest on top."""
    rows = industry.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=rows["scans"], y=[names.get(k, k) for k in rows["kind"]], orientation="h",
        marker_color=[colours.get(k, MUTED) for k in rows["kind"]],
        text=[f"{v:,}" for v in rows["scans"]], textposition="outside",
        textfont={"size": size, "color": TEXT}, cliponaxis=False))
    fig = _frame(fig, title, size)
    fig.update_layout(showlegend=False, margin={"l": 140, "r": 110})
    return fig
