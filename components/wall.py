"""Building blocks of the command wall: KPI tiles, legend, district ranking, incident ticker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import html


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value_text: str
    note: str = ""
    tone: str = "neutral"  # neutral | alert | warn
    change: str = ""  # e.g. "▲ 4.2%": against the same time yesterday
    change_tone: str = "neutral"  # up | down | neutral
    spark: str | None = None  # image URI (components.trends.sparkline_svg)


def build_kpi_tile(kpi: Kpi, value_id: dict | str) -> dbc.Col:
    """A big-number tile readable across a room; the number carries `value_id` for tests."""
    value = [html.Span(kpi.value_text, id=value_id, className="kpi-value")]
    if kpi.change:
        value.append(html.Span(kpi.change, className=f"kpi-change kpi-change-{kpi.change_tone}"))
    body = [html.Div(kpi.label, className="kpi-label"),
            html.Div(value, className="kpi-value-row"),
            html.Div(kpi.note, className="kpi-note")]
    if kpi.spark is not None:
        body.append(html.Img(src=kpi.spark, className="kpi-spark", alt=""))
    return dbc.Col(html.Div(body, className=f"kpi-tile kpi-{kpi.tone}"))


def build_kpi_row(kpis: Sequence[Kpi], id_factory) -> list[dbc.Col]:
    return [build_kpi_tile(k, id_factory(k.key)) for k in kpis]


def _class_range(lo: float, hi: float, fmt, whole: bool) -> str:
    if not whole:
        return f"{fmt(lo)} – {fmt(hi)}"
    last = hi - 1  # whole-number classes hold lo .. hi - 1
    return fmt(lo) if last <= lo else f"{fmt(lo)} – {fmt(last)}"


def build_legend(title: str, breaks: Sequence[float], colours: Sequence[str], fmt,
                 suppressed_note: str | None = None, suppressed_colour: str = "",
                 whole: bool = False) -> html.Div:
    """Colour classes with their ranges in large type; `whole`: classes of whole numbers
    (components.numbers.classify_counts), shown as their first and last value."""
    rows = [
        html.Div([
            html.Span(className="legend-swatch", style={"background": colour}),
            html.Span(_class_range(lo, hi, fmt, whole), className="legend-range"),
        ], className="legend-row")
        for lo, hi, colour in zip(breaks[:-1], breaks[1:], colours, strict=True)
    ][::-1]
    if suppressed_note:
        rows.append(html.Div([
            html.Span(className="legend-swatch", style={"background": suppressed_colour}),
            html.Span(suppressed_note, className="legend-range legend-muted"),
        ], className="legend-row"))
    return html.Div([html.Div(title, className="panel-title"), *rows], className="legend")


@dataclass(frozen=True)
class RankRow:
    name: str
    value_text: str
    colour: str
    highlighted: bool = False


def build_ranking(title: str, rows: Sequence[RankRow], highlight_note: str = "") -> html.Div:
    """Districts from highest to lowest with their values: the numbers a commander reads at 4 m."""
    items = [
        html.Div([
            html.Span(className="legend-swatch", style={"background": r.colour}),
            html.Span(r.name, className="rank-name"),
            html.Span(f" · {highlight_note}" if r.highlighted and highlight_note else "",
                      className="rank-own"),
            html.Span(r.value_text, className="rank-value"),
        ], className="rank-row rank-highlight" if r.highlighted else "rank-row")
        for r in rows
    ]
    if len(rows) > 8:  # two columns, read top to bottom: no scrolling on a wall without a mouse
        body = html.Div(items, className="rank-list rank-columns",
                        style={"gridTemplateRows": f"repeat({(len(rows) + 1) // 2}, auto)"})
    else:
        body = html.Div(items, className="rank-list")
    return html.Div([html.Div(title, className="panel-title"), body], className="ranking")


@dataclass(frozen=True)
class TickerRow:
    time_text: str
    venue: str
    district: str
    reason: str
    person: str
    alerted: bool


def build_ticker(title: str, rows: Sequence[TickerRow], empty_text: str,
                 alert_text: str) -> html.Div:
    """The latest red verdicts, newest first: time, venue, district, why, masked person."""
    items = [
        html.Div([
            html.Span(r.time_text, className="tick-time"),
            html.Span([html.Span(r.venue, className="tick-venue"),
                       html.Span(f" · {r.district}", className="tick-district")],
                      className="tick-where"),
            html.Span([r.reason, html.Span(f" {r.person}", className="tick-person"),
                       html.Span(alert_text, className="tick-alert") if r.alerted else None],
                      className="tick-why"),
        ], className="tick-row")
        for r in rows
    ] or [html.Div(empty_text, className="tick-empty")]
    return html.Div([html.Div(title, className="panel-title"), *items], className="ticker")


def build_kind_legend(kinds: Sequence[dict]) -> html.Div:
    """Venue kinds and their dot colours, in one wrapped line under the map."""
    return html.Div([
        html.Span([html.Span(className="kind-dot", style={"background": k["colour"]}),
                   k["label"]], className="kind-item")
        for k in kinds
    ], className="kind-legend")
