"""Wall callbacks: parse inputs -> queries -> process_wall -> builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from dash import Input, Output, callback, html

from components.district_map import DistrictShape, build_district_map
from components.i18n import district_name, t
from components.numbers import PALETTES, SUPPRESSED_COLOUR, classify, fmt_int, fmt_rate
from components.wall import Kpi, RankRow, build_kpi_row, build_legend, build_ranking
from pages.wall import ids
from placecode.auth.scope import Scope
from placecode.settings import LANGS
from placecode.web import current_city_now, current_engine, current_scope
from queries import wall as q

METRICS = {"scans": ("scans", fmt_int, "metric_scans"),
           "flagged": ("flagged_per_10k", fmt_rate, "metric_flagged")}


@dataclass
class WallView:
    """Everything the wall shows, ready for the builders."""

    title: str
    updated: str
    kpis: list[Kpi]
    shapes: list[DistrictShape]
    legend: html.Div
    ranking: html.Div


def process_kpis(kpis: dict, lang: str, as_of: datetime) -> list[Kpi]:
    """KPI values -> labelled tiles, in the order a commander scans them."""
    return [
        Kpi("scans_today", t("kpi_scans_today", lang), fmt_int(kpis["scans_today"]),
            f"{t('kpi_scans_note', lang)} {as_of:%H:%M}"),
        Kpi("red_today", t("kpi_red_today", lang), fmt_int(kpis["red_today"]),
            t("kpi_red_note", lang), tone="alert"),
        Kpi("venues", t("kpi_venues", lang), fmt_int(kpis["venues"]), t("kpi_venues_note", lang)),
        Kpi("flagged", t("kpi_flagged", lang), fmt_int(kpis["flagged"]),
            t("kpi_flagged_note", lang), tone="warn"),
    ]


def process_wall(info: dict, shapes, metrics: pd.DataFrame, kpis: dict, metric: str, lang: str,
                 scope: Scope, clock: datetime, as_of: datetime, snapshot: bool) -> WallView:
    """Join shapes and metrics, classify the chosen metric into colours, label it all."""
    column, fmt, label_key = METRICS[metric]
    frame = shapes.merge(metrics, on="district_id", how="left")
    values = frame[column].astype(float).to_numpy()
    breaks, classes = classify(values)
    palette = PALETTES[metric]
    colours = [palette[c] if c >= 0 else SUPPRESSED_COLOUR for c in classes]
    names = [district_name(r, lang) for _, r in frame.iterrows()]
    texts = [fmt(v) for v in values]
    own = scope.home_district
    city = info.get("city_name_en" if lang == "en" else "city_name_zh", "")
    updated = f"{t('updated', lang)} {clock:%Y-%m-%d %H:%M:%S}"
    if snapshot:
        updated = f"{t('demo_snapshot', lang)} {as_of:%Y-%m-%d %H:%M} · " + updated
    legend = build_legend(f"{t('legend', lang)} · {t(label_key, lang)}", breaks, palette, fmt,
                          t("suppressed", lang) if np.isnan(values).any() else None,
                          SUPPRESSED_COLOUR)
    order = np.argsort(-np.nan_to_num(values, nan=-1.0), kind="stable")
    ranking = build_ranking(t("ranking", lang), [
        RankRow(names[i], texts[i], colours[i], int(frame["district_id"].iloc[i]) == own)
        for i in order
    ], t("your_district", lang))
    shapes_out = [
        DistrictShape(int(r.district_id), n, txt, c, r.geometry, (r.label_lon, r.label_lat))
        for r, n, txt, c in zip(frame.itertuples(), names, texts, colours, strict=True)
    ]
    return WallView(f"{city} · {t('wall_title', lang)}", updated,
                    process_kpis(kpis, lang, as_of), shapes_out, legend, ranking)


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.METRIC, "options"),
    Output(ids.UPDATED, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.MAP, "figure"),
    Output(ids.LEGEND, "children"),
    Output(ids.RANKING, "children"),
    Output(ids.ATTRIBUTION, "children"),
    Input(ids.TICK, "n_intervals"),
    Input(ids.METRIC, "value"),
    Input("shell-lang", "data"),
)
def refresh(_tick, metric, lang):
    """Everything on the wall, from rollups (cheap enough to run every tick)."""
    lang = lang if lang in LANGS else "zh"
    metric = metric if metric in METRICS else "scans"
    engine, scope, clock = current_engine(), current_scope(), current_city_now()
    options = [{"label": t(METRICS[m][2], lang), "value": m} for m in METRICS]
    info = q.city_meta(engine)
    shapes = q.district_shapes(engine)
    if shapes.empty:  # no city loaded yet: say what to do instead of an empty map
        empty = html.Div(t("no_data", lang), className="wall-empty")
        return (t("wall_title", lang), options, "", [], build_district_map([]), empty, None, None)
    as_of, snapshot = q.wall_time(info, clock)
    view = process_wall(info, shapes, q.district_metrics(engine, as_of.date(), scope),
                        q.kpis(engine, as_of.date(), scope), metric, lang, scope, clock, as_of,
                        snapshot)
    return (
        view.title,
        options,
        view.updated,
        build_kpi_row(view.kpis, ids.kpi_value),
        build_district_map(view.shapes, highlight=scope.home_district),
        view.legend,
        view.ranking,
        t("attribution", lang),
    )
