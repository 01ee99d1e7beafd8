"""Wall callbacks: a cheap version check every tick; the full refresh only when something changed
(or the viewer switched a control). parse inputs -> queries -> process_* -> builders."""

from __future__ import annotations

import html as html_text
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from components.dispatch import wall_panel
from components.i18n import district_name, t
from components.numbers import (
    PALETTES,
    SUPPRESSED_COLOUR,
    class_colours,
    classify,
    classify_counts,
    fmt_int,
    fmt_rate,
)
from components.trends import daily_figure, hourly_figure, industry_figure, sparkline_svg
from components.venue_layer import KIND_COLOURS, kind_legend
from components.wall import (
    Kpi,
    RankRow,
    TickerRow,
    build_kind_legend,
    build_kpi_row,
    build_legend,
    build_ranking,
    build_ticker,
)
from components.wall_map import AreaStyle, build_map_spec
from pages.wall import ids
from placecode.rules.definitions import RULE_DEFS
from placecode.settings import LANGS
from placecode.web import current_city_now, current_engine, current_scope, current_settings
from queries import dispatch as dq
from queries import wall as q

METRICS = {"scans": ("scans", fmt_int, "metric_scans"),
           "flagged": ("flagged_per_10k", fmt_rate, "metric_flagged"),
           "alerts": ("alerts", fmt_int, "metric_alerts")}
VENUE_MODES = {"kind": "venues_by_kind", "flagged": "venues_by_flagged"}
RULES = {r.rule_id: r for r in RULE_DEFS}
FULL_REFRESH_SECONDS = 60  # time-based numbers (the clock, expiring statuses) refresh anyway


@dataclass
class Areas:
    styles: list[AreaStyle]
    legend: html.Div
    ranking: list[RankRow]


def change_text(now: int, before: int) -> tuple[str, str]:
    """'▲ 4.2%' against the same time the day before, and its tone; '' when nothing to compare."""
    if before <= 0:
        return "", "neutral"
    pct = (now - before) * 100 / before
    arrow = "▲" if pct > 0.05 else "▼" if pct < -0.05 else "＝"
    return f"{arrow} {abs(pct):.1f}%", "up" if pct > 0.05 else "down" if pct < -0.05 else "neutral"


def process_kpis(kpis: dict, hourly: pd.DataFrame, lang: str, as_of: datetime,
                 forces: dict | None = None) -> list[Kpi]:
    """KPI values -> labelled tiles, in the order a commander scans them. The units tile (with
    today's roll-call) only when units are registered: an absent tile, not a made-up number."""
    before = q.same_time_before(hourly, as_of)
    change, tone = change_text(kpis["scans_today"], before)
    pushes = t("kpi_pushes_note", lang).format(delivered=fmt_int(kpis["push_delivered"]),
                                               pending=fmt_int(kpis["push_pending"]))
    return [
        Kpi("scans_today", t("kpi_scans_today", lang), fmt_int(kpis["scans_today"]),
            t("kpi_scans_change_note", lang).format(time=f"{as_of:%H:%M}", before=fmt_int(before)),
            change=change, change_tone=tone, spark=sparkline_svg(hourly, as_of.hour)),
        Kpi("red_today", t("kpi_red_today", lang), fmt_int(kpis["red_today"]),
            t("kpi_red_note", lang), tone="alert"),
        Kpi("flagged", t("kpi_flagged", lang), fmt_int(kpis["flagged"]),
            t("kpi_flagged_note", lang), tone="warn"),
        Kpi("alerts_today", t("alerts_today", lang), fmt_int(kpis["alerts_today"]), pushes,
            tone="alert"),
        Kpi("venues", t("kpi_venues", lang), fmt_int(kpis["venues"]), t("kpi_venues_note", lang)),
    ] + ([] if forces is None else [
        Kpi("units", t("kpi_units_available", lang),
            f"{fmt_int(forces['available'])}/{fmt_int(forces['units'])}",
            t("kpi_rollcall_note", lang).format(present=fmt_int(forces["present"]),
                                                expected=fmt_int(forces["expected"])))])


def area_tip(name: str, row, lang: str) -> str:
    """Hover text of an area (HTML: names are escaped)."""
    return (f"<b>{html_text.escape(name)}</b><br>{t('metric_scans', lang)} {fmt_int(row.scans)}"
            f" · {t('verdict_red', lang)} {fmt_int(row.red)}<br>{t('metric_flagged', lang)} "
            f"{fmt_rate(row.flagged_per_10k)}<br>{t('metric_alerts', lang)} {fmt_int(row.alerts)}")


def process_areas(shapes: pd.DataFrame, metrics: pd.DataFrame, metric: str, lang: str,
                  home: int | None, key: str) -> Areas:
    """Join outlines and numbers, classify the chosen metric into colours, label it all."""
    column, fmt, label_key = METRICS[metric]
    frame = shapes.merge(metrics, on=key, how="left")
    values = frame[column].astype(float).to_numpy()
    whole = fmt is fmt_int  # counts: classes of whole numbers
    breaks, classes = classify_counts(values) if whole else classify(values)
    palette = class_colours(PALETTES[metric], len(breaks) - 1)
    colours = [palette[c] if c >= 0 else SUPPRESSED_COLOUR for c in classes]
    styles, ranking = [], []
    for row, colour, value in zip(frame.itertuples(), colours, values, strict=True):
        name = district_name({"name_zh": row.name_zh, "name_en": row.name_en}, lang)
        area_id = int(getattr(row, key))
        styles.append(AreaStyle(area_id, name, fmt(value), colour, area_tip(name, row, lang),
                                row.geometry))
        ranking.append(RankRow(name, fmt(value), colour, area_id == home))
    order = np.argsort(-np.nan_to_num(values, nan=-1.0), kind="stable")
    legend = build_legend(f"{t('legend', lang)} · {t(label_key, lang)}", breaks, palette, fmt,
                          t("suppressed", lang) if np.isnan(values).any() else None,
                          SUPPRESSED_COLOUR, whole=whole)
    return Areas(styles, legend, [ranking[i] for i in order])


def process_ticker(frame: pd.DataFrame, lang: str) -> list[TickerRow]:
    """Red verdicts -> ticker rows: the first rule's message names why."""
    rows = []
    for r in frame.itertuples():
        first = (r.reasons or "").split(",")[0]
        rule = RULES.get(first)
        reason = (rule.title_en if lang == "en" else rule.title_zh) if rule else first
        rows.append(TickerRow(f"{r.ts:%H:%M:%S}", r.venue_name,
                              r.district_en if lang == "en" else r.district_zh, reason,
                              r.person, not pd.isna(r.alert_id)))
    return rows


@callback(
    Output(ids.VERSION, "data"),
    Output(ids.LIVE, "children"),
    Input(ids.TICK, "n_intervals"),
    Input("shell-lang", "data"),
    State(ids.VERSION, "data"),
)
def check(_tick, lang, known):
    """Every tick: has anything the wall shows changed? A few index lookups, no refresh."""
    lang = lang if lang in LANGS else "zh"
    engine, clock = current_engine(), current_city_now()
    _, as_of, _ = q.shown_moment(engine, clock)
    bucket = int(clock.timestamp()) // FULL_REFRESH_SECONDS
    version = f"{q.wall_version(engine, as_of.date())}:{bucket}"
    live = f"● {t('live', lang)} {clock:%H:%M:%S}"
    return (no_update if version == known else version), live


@callback(
    Output(ids.FOCUS, "data"),
    Input(ids.BACK, "n_clicks"),
    prevent_initial_call=True,
)
def back_to_city(_clicks):
    return None


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.METRIC, "options"),
    Output(ids.VENUE_MODE, "options"),
    Output(ids.BACK, "children"),
    Output(ids.BACK, "style"),
    Output(ids.UPDATED, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.MAP_SPEC, "data"),
    Output(ids.KINDS, "children"),
    Output(ids.LEGEND, "children"),
    Output(ids.RANKING, "children"),
    Output(ids.TICKER, "children"),
    Output(ids.ATTRIBUTION, "children"),
    Input(ids.VERSION, "data"),
    Input(ids.METRIC, "value"),
    Input(ids.VENUE_MODE, "value"),
    Input(ids.FOCUS, "data"),
    Input("shell-lang", "data"),
    State(ids.SETTINGS, "data"),
    prevent_initial_call=True,
)
def refresh(version, metric, venue_mode, focus, lang, settings):
    """Everything on the wall, from rollups and indexes (milliseconds at city scale)."""
    lang = lang if lang in LANGS else "zh"
    metric = metric if metric in METRICS else "scans"
    venue_mode = venue_mode if venue_mode in VENUE_MODES else "kind"
    settings = settings or {}
    engine, scope, clock = current_engine(), current_scope(), current_city_now()
    metric_options = [{"label": t(METRICS[m][2], lang), "value": m} for m in METRICS]
    mode_options = [{"label": t(VENUE_MODES[m], lang), "value": m} for m in VENUE_MODES
                    if m == "kind" or not scope.aggregates_only]
    shapes = q.district_shapes(engine)
    if shapes.empty:  # no city loaded yet: say what to do instead of an empty map
        empty = html.Div(t("no_data", lang), className="wall-empty")
        return (t("wall_title", lang), metric_options, mode_options, "", {"display": "none"},
                "", [], None, None, empty, None, None, None)
    info, as_of, snapshot = q.shown_moment(engine, clock)
    day = as_of.date()
    home = scope.home_district
    districts = process_areas(shapes, q.district_metrics(engine, day, scope), metric, lang,
                              home, "district_id")
    focus = focus if focus in set(shapes["district_id"].astype(int)) else None
    sub = None
    if focus is not None:
        sub_shapes = q.subdistrict_shapes(engine, focus)
        sub = process_areas(sub_shapes, q.subdistrict_metrics(engine, day, focus, scope),
                            metric, lang, None, "area_id")
    hourly = q.hourly_scans(engine, day)
    kinds = kind_legend(list(KIND_COLOURS), lang)
    spec = build_map_spec(
        target=ids.MAP, day=day.isoformat(), version=version or "", metric=metric,
        venue_mode=venue_mode, lang=lang, areas=districts.styles,
        sub=sub.styles if sub else None, focus=focus, home=home, kinds=kinds,
        text={"scans": t("metric_scans_short", lang), "red": t("verdict_red", lang),
              "yellow": t("verdict_yellow", lang), "error": t("map_error", lang)},
        theme=settings.get("theme", "dark"))
    city = info.get("city_name_en" if lang == "en" else "city_name_zh", "")
    updated = f"{t('updated', lang)} {clock:%H:%M:%S}"
    if snapshot:
        updated = f"{t('demo_snapshot', lang)} {as_of:%Y-%m-%d %H:%M} · " + updated
    shown = sub or districts
    focus_name = next((s.name for s in districts.styles if s.area_id == focus), "")
    ranking_title = (f"{focus_name} · {t('ranking_sub', lang)}" if focus is not None
                     else t("ranking", lang))
    ticker_frame = q.ticker(engine, day, scope, limit=4)
    ticker = build_ticker(
        t("ticker", lang), process_ticker(ticker_frame, lang),
        t("ticker_aggregates" if scope.aggregates_only else "ticker_empty", lang),
        t("ticker_alerted", lang))
    return (
        f"{city} · {t('wall_title', lang)}",
        metric_options,
        mode_options,
        f"◀ {t('back_to_city', lang)}",
        {"display": "inline-block"} if focus is not None else {"display": "none"},
        updated,
        build_kpi_row(process_kpis(q.kpis(engine, day, scope), hourly, lang, as_of,
                                   q.forces(engine, day, scope)),
                      ids.kpi_value),
        spec,
        build_kind_legend(kinds) if venue_mode == "kind" else build_kind_legend([
            {"label": t("venue_red", lang), "colour": "#ff4650"},
            {"label": t("venue_yellow", lang), "colour": "#ffc06b"},
            {"label": t("venue_green", lang), "colour": "#788caa"}]),
        shown.legend,
        build_ranking(ranking_title, shown.ranking, t("your_district", lang)),
        ticker,
        t("attribution", lang),
    )


@callback(
    Output(ids.TRENDS_TITLE, "children"),
    Output(ids.TREND_GRID, "children"),
    Input(ids.ROTATE, "n_intervals"),
    Input(ids.PLOTLY_READY, "data"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def trends(_turn, plotly_ready, lang):
    """The trends panel's graphs, once plotly.js is there, again at every turn of the rotation
    (so a turn that failed on the server is retried by the next)."""
    if not plotly_ready:
        raise PreventUpdate
    lang = lang if lang in LANGS else "zh"
    engine, clock = current_engine(), current_city_now()
    info, as_of, _ = q.shown_moment(engine, clock)
    day = as_of.date()
    kinds = kind_legend(list(KIND_COLOURS), lang)
    city = info.get("city_name_en" if lang == "en" else "city_name_zh", "")
    figures = (
        (ids.TREND_HOURLY, "trend-graph", hourly_figure(
            q.hourly_scans(engine, day), as_of.hour,
            {"title": t("trend_hourly", lang), "today": t("today", lang),
             "before": t("yesterday", lang)})),
        (ids.TREND_DAILY, "trend-graph", daily_figure(
            q.daily_totals(engine, day), {"title": t("trend_daily", lang),
                                          "scans": t("metric_scans_short", lang),
                                          "red": t("red_verdicts", lang)})),
        (ids.TREND_INDUSTRY, "trend-graph trend-wide", industry_figure(
            q.industry_today(engine, day), {k["kind"]: k["label"] for k in kinds},
            {k["kind"]: k["colour"] for k in kinds}, t("trend_industry", lang))),
    )
    return f"{city} · {t('trends_title', lang)}", [
        dcc.Graph(id=graph_id, className=css, figure=figure,
                  config={"displayModeBar": False, "staticPlot": True})
        for graph_id, css, figure in figures]


clientside_callback(
    ClientsideFunction(namespace="wall", function_name="plotlyReady"),
    Output(ids.PLOTLY_READY, "data"),
    Input(ids.SETTINGS, "data"),
)


clientside_callback(
    ClientsideFunction(namespace="wall", function_name="drawMap"),
    Output(ids.MAP_DRAWN, "data"),
    Input(ids.MAP_SPEC, "data"),
)

clientside_callback(
    ClientsideFunction(namespace="wall", function_name="rotate"),
    Output(ids.PANELS, "className"),
    Input(ids.ROTATE, "n_intervals"),
    State(ids.SETTINGS, "data"),
    prevent_initial_call=True,
)



@callback(
    Output(ids.PANEL_DISPATCH, "children"),
    Input(ids.ROTATE, "n_intervals"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def dispatch_panel(_turn, lang):
    """The dispatch panel, drawn as the rotation comes to it (no persons: venues and counts)."""
    summary = dq.wall_summary(current_engine(), current_scope(), current_city_now(),
                              current_settings().sla_minutes)
    return wall_panel(summary, lang or "zh")
