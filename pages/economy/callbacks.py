"""Economy callbacks: one callback reads the cubes for the chosen period, area and industry and
fills the page; the download sends the same cube the CLI exports. Refusals are shown."""

from __future__ import annotations

import math
from datetime import date, timedelta

import dash_bootstrap_components as dbc
import numpy as np
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
)
from flask_login import current_user

from components import economy as view
from components.i18n import explain, t
from components.numbers import SUPPRESSED_COLOUR, fmt_int
from components.venues import kind_text
from components.wall import Kpi, build_kpi_row, build_legend
from pages.economy import ids
from placecode.auth.policy import Refused, Viewer
from placecode.web import current_city_now, current_engine, current_scope, current_settings
from queries import economy as q
from queries.areas import districts_of

PERIODS = ("7", "14", "28", "all")
AREA_CITY = "city"


def _period(span: tuple[date, date], choice: str | None) -> tuple[date, date]:
    first, last = span
    if choice == "all":
        return first, last
    n = int(choice) if choice in PERIODS else 28
    return max(first, last - timedelta(days=n - 1)), last


def _area(scope: Viewer, choice: str | None) -> int | None:
    """The chosen area as the viewer may see it (their own district when bound to one)."""
    return q.viewer_district(scope, None if choice in (None, AREA_CITY) else int(choice))


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.PERIOD_LABEL, "children"),
    Output(ids.PERIOD, "options"),
    Output(ids.DISTRICT_LABEL, "children"),
    Output(ids.DISTRICT, "options"),
    Output(ids.DISTRICT, "value"),
    Output(ids.KIND_LABEL, "children"),
    Output(ids.KIND, "options"),
    Output(ids.KIND, "placeholder"),
    Output(ids.CSV, "children"),
    Output(ids.PARQUET, "children"),
    Output(ids.DOWNLOAD_NOTE, "children"),
    Output(ids.MAP_TITLE, "children"),
    Output(ids.COMPARE_TITLE, "children"),
    Output(ids.AREAS_TITLE, "children"),
    Input("shell-lang", "data"),
    State(ids.DISTRICT, "value"),
)
def label_page(lang, district):
    """Texts and the areas the viewer may choose: the city and its districts, or their own."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    periods = [{"label": t("ec_last_n", lang).format(n=n), "value": n} for n in PERIODS[:-1]]
    periods.append({"label": t("ec_all_kept", lang), "value": "all"})
    try:
        own = q.viewer_district(scope, None)
        districts = districts_of(engine, own)
    except Refused:
        districts = None  # the page says why
    name = "name_en" if lang == "en" else "name_zh"
    if districts is None:
        areas, value = [], None
    elif own is None:
        areas = [{"label": t("ec_city", lang), "value": AREA_CITY}] + [
            {"label": getattr(r, name), "value": str(r.district_id)}
            for r in districts.itertuples()]
        value = district or AREA_CITY
    else:
        areas = [{"label": getattr(r, name), "value": str(r.district_id)}
                 for r in districts.itertuples()]
        value = str(own)
    kinds = [{"label": kind_text(k, lang), "value": k} for k in q.kinds_present(engine)]
    return (t("ec_title", lang), t("ec_period", lang), periods, t("ec_district", lang), areas,
            value, t("ec_map_kind", lang), kinds, t("ec_all_industries", lang),
            t("ec_download_csv", lang), t("ec_download_parquet", lang),
            t("ec_download_note", lang), t("ec_map_title", lang), t("ec_compare_title", lang),
            t("ec_areas_title", lang))


@callback(
    Output(ids.SUB, "children"),
    Output(ids.MESSAGE, "children"),
    Output(ids.TILES, "children"),
    Output(ids.TREND, "figure"),
    Output(ids.SHARE, "figure"),
    Output(ids.HOURS, "figure"),
    Output(ids.MAP_SPEC, "data"),
    Output(ids.LEGEND, "children"),
    Output(ids.COMPARE, "columnDefs"),
    Output(ids.COMPARE, "rowData"),
    Output(ids.AREAS, "columnDefs"),
    Output(ids.AREAS, "rowData"),
    Input("shell-lang", "data"),
    Input(ids.PERIOD, "value"),
    Input(ids.DISTRICT, "value"),
    Input(ids.KIND, "value"),
)
def fill_page(lang, period, area, kind):
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    k = current_settings().min_cell_persons
    empty = ({}, {}, {}, None, None, [], [], [], [])
    try:
        district = _area(scope, area)
    except Refused as exc:
        return "", _refused(exc, lang), [], *empty
    span = q.data_days(engine)
    if span is None:
        return "", dbc.Alert(t("ec_no_data", lang), color="info"), [], *empty
    start, end = _period(span, period)
    try:
        cube = _Cubes(engine, scope, start, end, district, k)
        sub = t("ec_sub", lang).format(k=k, last=span[1].isoformat())
        level = "district" if district is None else "subdistrict"
        area_cube = cube.area(kind)
        frame = view.area_frame(area_cube.frame, q.areas(engine, scope, district),
                                q.venues_per_area(engine, scope, district, kind), level,
                                area_cube.days)
    except Refused as exc:
        return "", _refused(exc, lang), [], *empty
    spec, breaks, colours = view.map_spec(frame, district, kind, ids.MAP, lang, k)
    legend = build_legend(t("ec_col_per_day", lang), breaks, colours, fmt_int,
                          t("ec_hidden", lang).format(k=k), SUPPRESSED_COLOUR)
    this_week, last_week, daytype = cube.weeks()
    wd, we = _daytypes(start, end)
    return (sub, None, _tiles(cube, lang), view.trend_figure(cube.get(("industry", "day")).frame,
                                                              lang),
            view.share_figure(cube.get(("industry",)).frame, lang),
            view.hour_figure(cube.get(("industry", "hour")).frame, cube.days, lang), spec, legend,
            view.compare_columns(lang),
            view.compare_rows(this_week.frame, last_week.frame, daytype.frame, wd, we, lang),
            view.area_columns(lang, level), view.area_rows(frame, lang, k))


def _refused(exc: Refused, lang: str) -> dbc.Alert:
    return dbc.Alert(f"{t('scope_refused', lang)}{explain(exc, lang)}", color="danger")


class _Cubes:
    """The page's reads for one period and area: one read per grain (the weeks reach back
    14 days), every view aggregated from it in memory."""

    def __init__(self, engine, scope, start, end, district, k):
        self.engine, self.scope, self.start, self.end = engine, scope, start, end
        self.district, self.k = district, k
        self.days = (end - start).days + 1
        first = min(start, end - timedelta(days=13))
        self.daily = q.read_cells(engine, scope, "day", first, end, district=district)
        self._hourly = None

    def get(self, by, start=None, end=None) -> q.Cube:
        if "hour" in by:
            if self._hourly is None:
                self._hourly = q.read_cells(self.engine, self.scope, "hour", self.start,
                                            self.end, district=self.district)
            return q.aggregate(self._hourly, by, self.k)
        return q.aggregate(self.daily, by, self.k, start or self.start, end or self.end)

    def area(self, kind: str | None) -> q.Cube:
        """The map's areas: districts, or the chosen district's sub-districts."""
        level = "district" if self.district is None else "subdistrict"
        cells = q.read_cells(self.engine, self.scope, "day" if level == "district"
                             else "subdistrict", self.start, self.end, district=self.district,
                             kinds=[kind] if kind else None)
        return q.aggregate(cells, (level,), self.k)

    def weeks(self):
        e = self.end
        return (self.get(("industry",), e - timedelta(days=6), e),
                self.get(("industry",), e - timedelta(days=13), e - timedelta(days=7)),
                self.get(("industry", "daytype")))


def _daytypes(start: date, end: date) -> tuple[int, int]:
    days = np.arange(np.datetime64(start), np.datetime64(end) + 1)
    weekend = int(np.is_busday(days, weekmask="0000011").sum())
    return len(days) - weekend, weekend


def _tiles(cube: _Cubes, lang: str) -> list:
    daily = cube.get(("day",)).frame
    total = float(np.nansum(daily["scans"]))
    hidden = int(daily["hidden"].sum())
    note = t("ec_total_note", lang).format(start=cube.start.isoformat(),
                                           end=cube.end.isoformat(), days=cube.days)
    if hidden:
        note += " · " + t("ec_hidden_days", lang).format(n=hidden)
    fortnight = cube.get(("day",), cube.end - timedelta(days=13), cube.end).frame
    fortnight = fortnight.set_index("day")["scans"]
    recent = [cube.end - timedelta(days=i) for i in range(7)]
    before = [cube.end - timedelta(days=7 + i) for i in range(7)]
    a = fortnight.reindex(recent).sum(min_count=7)
    b = fortnight.reindex(before).sum(min_count=7)
    change = (a - b) / b * 100 if b and not math.isnan(b) and not math.isnan(a) else None
    per = cube.get(("daytype",)).frame.set_index("daytype")["scans"]
    wd_n, we_n = _daytypes(cube.start, cube.end)
    wd = per.get("weekday", np.nan) / wd_n if wd_n else np.nan
    we = per.get("weekend", np.nan) / we_n if we_n else np.nan
    ratio = we / wd if wd and not math.isnan(wd) and not math.isnan(we) else None
    share = cube.get(("industry",)).frame.dropna(subset=["scans"])
    top = share.loc[share["scans"].idxmax()] if len(share) else None
    kpis = [
        Kpi("total", t("ec_total", lang), fmt_int(total), note),
        Kpi("wow", t("ec_wow", lang), "–" if change is None else f"{change:+.1f}%",
            f"{fmt_int(a)} / {fmt_int(b)}",
            tone="neutral" if change is None or change >= 0 else "warn"),
        Kpi("weekend", t("ec_weekend", lang), "–" if ratio is None else f"{ratio:.2f}",
            t("ec_weekend_note", lang).format(we=fmt_int(we), wd=fmt_int(wd))),
        Kpi("top", t("ec_top", lang), kind_text(top["industry"], lang) if top is not None
            else "–", t("ec_top_note", lang).format(
                share=f"{top['scans'] / share['scans'].sum() * 100:.1f}%"
                if top is not None else "–")),
    ]
    return build_kpi_row(kpis, ids.tile)


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.CSV, "n_clicks"),
    Input(ids.PARQUET, "n_clicks"),
    State(ids.PERIOD, "value"),
    State(ids.DISTRICT, "value"),
    prevent_initial_call=True,
)
def download(csv_clicks, parquet_clicks, period, area):
    """Industry × district × day for the chosen period and area, as the CLI writes it."""
    engine, scope = current_engine(), current_scope()
    span = q.data_days(engine)
    if span is None:
        return None
    start, end = _period(span, period)
    try:
        _, frame = q.export(engine, scope, current_user.username,
                            ("industry", "district", "day"), start, end,
                            district=_area(scope, area), k=current_settings().min_cell_persons,
                            now=current_city_now())
    except Refused:
        return None  # the page already says why
    name = f"foot-traffic-{start}-{end}"
    if ctx.triggered_id == ids.PARQUET:
        return dcc.send_data_frame(frame.to_parquet, f"{name}.parquet", index=False)
    return dcc.send_data_frame(frame.to_csv, f"{name}.csv", index=False)


clientside_callback(
    ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.MAP_DRAWN, "data"),
    Input(ids.MAP_SPEC, "data"),
)
