"""Wall callbacks: parse inputs -> queries -> process_* -> build_*."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from dash import Input, Output, callback

from components.district_map import DistrictShape, build_district_map
from components.i18n import district_name, t
from components.numbers import PALETTES, SUPPRESSED_COLOUR, classify, fmt_int, fmt_rate
from components.wall import Kpi, RankRow, build_kpi_row, build_legend, build_ranking
from pages.wall import ids
from placecode.web import city_now, current_engine, current_scope
from queries import wall as q


def process_kpis(kpis: dict, lang: str, now: datetime) -> list[Kpi]:
    """KPI values -> labelled tiles, in the order a commander scans them."""
    return [
        Kpi("scans_today", t("kpi_scans_today", lang), fmt_int(kpis["scans_today"]),
            f"{t('kpi_scans_note', lang)} {now:%H:%M}"),
        Kpi("red_today", t("kpi_red_today", lang), fmt_int(kpis["red_today"]),
            t("kpi_red_note", lang), tone="alert"),
        Kpi("venues", t("kpi_venues", lang), fmt_int(kpis["venues"]), t("kpi_venues_note", lang)),
        Kpi("flagged", t("kpi_flagged", lang), fmt_int(kpis["flagged"]),
            t("kpi_flagged_note", lang), tone="warn"),
    ]


def process_districts(shapes, metrics: pd.DataFrame, metric: str, lang: str):
    """Join shapes and metrics; classify the chosen metric into colours and texts."""
    frame = shapes.merge(metrics, on="district_id", how="left")
    column = "scans" if metric == "scans" else "flagged_per_10k"
    fmt = fmt_int if metric == "scans" else fmt_rate
    values = frame[column].astype(float).to_numpy()
    breaks, classes = classify(values)
    palette = PALETTES[metric]
    colours = [palette[c] if c >= 0 else SUPPRESSED_COLOUR for c in classes]
    names = [district_name(r, lang) for _, r in frame.iterrows()]
    texts = [fmt(v) for v in values]
    return frame, breaks, colours, names, texts, fmt, palette


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
    lang = lang if lang in ("zh", "en") else "zh"
    metric = metric if metric in ("scans", "flagged") else "scans"
    engine, scope, now = current_engine(), current_scope(), city_now()
    info = q.city_meta(engine)
    city = info.get("city_name_en" if lang == "en" else "city_name_zh", "")
    shapes = q.district_shapes(engine)
    metrics = q.district_metrics(engine, now.date(), scope)
    kpis = q.kpis(engine, now.date(), scope)

    frame, breaks, colours, names, texts, fmt, palette = process_districts(
        shapes, metrics, metric, lang)
    figure = build_district_map([
        DistrictShape(int(r.district_id), n, txt, c, r.geometry, (r.label_lon, r.label_lat))
        for r, n, txt, c in zip(frame.itertuples(), names, texts, colours, strict=True)
    ], highlight=scope.home_district)
    metric_label = t("metric_scans" if metric == "scans" else "metric_flagged", lang)
    suppressed = np.isnan(frame["flagged_per_10k"].astype(float)).any() and metric == "flagged"
    legend = build_legend(f"{t('legend', lang)} · {metric_label}", breaks, palette, fmt,
                          t("suppressed", lang) if suppressed else None, SUPPRESSED_COLOUR)
    order = np.argsort(-np.nan_to_num(frame["scans" if metric == "scans" else "flagged_per_10k"]
                                      .astype(float).to_numpy(), nan=-1))
    ranking = build_ranking(t("ranking", lang), [
        RankRow(names[i], texts[i], colours[i],
                int(frame["district_id"].iloc[i]) == scope.home_district)
        for i in order
    ], t("your_district", lang))
    options = [{"label": t("metric_scans", lang), "value": "scans"},
               {"label": t("metric_flagged", lang), "value": "flagged"}]
    return (
        f"{city} · {t('wall_title', lang)}",
        options,
        f"{t('updated', lang)} {now:%Y-%m-%d %H:%M:%S}",
        build_kpi_row(process_kpis(kpis, lang, now), ids.kpi_value),
        figure,
        legend,
        ranking,
        t("attribution", lang),
    )
