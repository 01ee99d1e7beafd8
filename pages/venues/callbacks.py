"""Venue search callbacks: filters -> a store; the grid asks for blocks; the map and count follow
the store. Viewer errors come from queries.venues and are shown, never raised."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    no_update,
)

from components.i18n import explain, t
from components.numbers import fmt_int
from components.venues import (
    kind_text,
    points_spec,
    search_columns,
    search_rows,
    venue_href,
)
from pages.grid_request import grid_block
from pages.moment import moment_text, shown_now
from pages.venues import ids
from placecode.auth.policy import Refused
from placecode.web import current_engine, current_scope
from queries import venues as q


def _area_options(frame, id_col: str, lang: str) -> list[dict]:
    name = "name_en" if lang == "en" else "name_zh"
    return [{"label": getattr(r, name), "value": int(getattr(r, id_col))}
            for r in frame.itertuples()]


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.NAME_LABEL, "children"),
    Output(ids.NAME, "placeholder"),
    Output(ids.CODE_LABEL, "children"),
    Output(ids.CODE, "placeholder"),
    Output(ids.DISTRICT_LABEL, "children"),
    Output(ids.DISTRICT, "placeholder"),
    Output(ids.DISTRICT, "options"),
    Output(ids.SUBDISTRICT_LABEL, "children"),
    Output(ids.KIND_LABEL, "children"),
    Output(ids.KIND, "placeholder"),
    Output(ids.KIND, "options"),
    Output(ids.CLEAR, "children"),
    Output(ids.HINT, "children"),
    Output(ids.GRID, "columnDefs"),
    Input("shell-lang", "data"),
)
def label_page(lang):
    """Texts and the choices the viewer may pick (their own district only, when bound to one)."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    try:
        districts = _area_options(q.district_options(engine, scope), "district_id", lang)
        kinds = [{"label": kind_text(k, lang), "value": k}
                 for k in q.kind_options(engine, scope)]
    except Refused:
        districts, kinds = [], []
    return (t("vs_title", lang), t("vs_name", lang), t("vs_name_ph", lang), t("vs_code", lang),
            t("vs_code_ph", lang), t("col_district", lang), t("vs_any", lang), districts,
            t("vs_subdistrict", lang), t("vs_kind", lang), t("vs_any", lang), kinds,
            t("vs_clear", lang), t("vs_hint", lang), search_columns(lang))


@callback(
    Output(ids.SUBDISTRICT, "options"),
    Output(ids.SUBDISTRICT, "value"),
    Output(ids.SUBDISTRICT, "placeholder"),
    Input(ids.DISTRICT, "value"),
    Input("shell-lang", "data"),
)
def subdistricts(district_id, lang):
    """The chosen district's sub-districts; a new district clears the sub-district."""
    lang = lang or "zh"
    try:
        frame = q.subdistrict_options(current_engine(), current_scope(), district_id)
    except Refused:
        return [], None, ""
    placeholder = t("vs_any", lang) if len(frame) else t("vs_pick_district", lang)
    value = None if ctx.triggered_id == ids.DISTRICT else no_update
    return _area_options(frame, "subdistrict_id", lang), value, placeholder


@callback(
    Output(ids.NAME, "value"),
    Output(ids.CODE, "value"),
    Output(ids.DISTRICT, "value"),
    Output(ids.SUBDISTRICT, "value", allow_duplicate=True),
    Output(ids.KIND, "value"),
    Input(ids.CLEAR, "n_clicks"),
    prevent_initial_call=True,
)
def clear(_n):
    """Back to every venue in scope."""
    return "", "", None, None, None


@callback(
    Output(ids.FILTERS, "data"),
    Input(ids.NAME, "value"),
    Input(ids.CODE, "value"),
    Input(ids.DISTRICT, "value"),
    Input(ids.SUBDISTRICT, "value"),
    Input(ids.KIND, "value"),
    prevent_initial_call=True,
)
def collect(name, code, district_id, subdistrict_id, kind):
    """One JSON store of the filters: the grid, map and count all read it."""
    return {"name": name or "", "code": code or "", "district_id": district_id,
            "subdistrict_id": subdistrict_id, "kind": kind}


# A new search (or language) drops the grid's cached blocks; the grid then asks again.
clientside_callback(
    ClientsideFunction(namespace="venues", function_name="purge"),
    Output(ids.PURGED, "data"),
    Input(ids.FILTERS, "data"),
    Input("shell-lang", "data"),
    State(ids.GRID, "id"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.GRID, "getRowsResponse"),
    Input(ids.GRID, "getRowsRequest"),
    State(ids.FILTERS, "data"),
    State("shell-lang", "data"),
)
def rows(request, filters, lang):
    """One block of rows, sorted by the grid's sort model, with the total for the scrollbar."""
    if not request:
        return no_update
    asked = grid_block(request)
    engine, scope = current_engine(), current_scope()
    as_of, _ = shown_now(engine)
    try:
        frame, total = q.search_venues(engine, scope, q.VenueFilter.of(filters), as_of.date(),
                                       asked.start, asked.end, asked.sort)
    except Refused:
        return {"rowData": [], "rowCount": 0}
    return {"rowData": search_rows(frame, lang or "zh"), "rowCount": total}


@callback(
    Output(ids.COUNT, "children"),
    Output(ids.COUNT_LABEL, "children"),
    Output(ids.MAP_NOTE, "children"),
    Output(ids.MAP_SPEC, "data"),
    Output(ids.MESSAGE, "children"),
    Output(ids.DAY, "children"),
    Input(ids.FILTERS, "data"),
    Input("shell-lang", "data"),
)
def summary(filters, lang):
    """How many venues match, and the busiest of them on the map."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    as_of, snapshot = shown_now(engine)
    day_text = moment_text(as_of, snapshot, "vs_scans_on", lang, "%Y-%m-%d")
    try:
        frame, total = q.venue_points(engine, scope, q.VenueFilter.of(filters), as_of.date())
    except Refused as exc:
        return ("0", t("vs_count", lang), "", {"target": ids.MAP, "theme": "dark", "points": []},
                dbc.Alert(t("scope_refused", lang) + explain(exc, lang), color="warning"), day_text)
    if total == 0:
        note, message = "", dbc.Alert(t("vs_none", lang), color="secondary")
    elif len(frame) < total:
        note = t("vs_map_some", lang).format(shown=fmt_int(len(frame)), total=fmt_int(total))
        message = None
    else:
        note, message = t("vs_map_all", lang).format(total=fmt_int(total)), None
    return (fmt_int(total), t("vs_count", lang), note, points_spec(frame, ids.MAP, lang),
            message, day_text)


clientside_callback(
    ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.MAP_DRAWN, "data"),
    Input(ids.MAP_SPEC, "data"),
)


@callback(
    Output(ids.GO, "href"),
    Input(ids.GRID, "cellClicked"),
    prevent_initial_call=True,
)
def open_venue(cell):
    """A click anywhere on a row opens that venue's page."""
    code = (cell or {}).get("rowId")
    return venue_href(code) if code else no_update
