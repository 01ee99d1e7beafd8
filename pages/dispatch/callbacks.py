"""Dispatch board callbacks: scope -> queries.dispatch -> columns, map, timeline; a step button
-> queries.dispatch.act (refused steps, stale views and taken units come back as a message)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, clientside_callback, dcc
from flask_login import current_user

from components.dispatch import board_columns, map_spec
from components.i18n import explain, system_note, t
from components.numbers import fmt_int
from components.wall import Kpi, build_kpi_row
from pages.dispatch import ids
from placecode.auth.policy import Refused
from placecode.dispatch.board import ConflictError
from placecode.dispatch.incidents import Transition, TransitionError
from placecode.web import current_city_now, current_engine, current_scope, current_settings
from queries import dispatch as q


def timeline_columns(lang: str) -> list[dict]:
    return [{"field": "time", "headerName": t("col_time", lang), "width": 100},
            {"field": "venue", "headerName": t("col_venue", lang), "flex": 2},
            {"field": "step", "headerName": t("col_step", lang), "flex": 1},
            {"field": "by", "headerName": t("col_by", lang), "width": 110},
            {"field": "note", "headerName": t("col_why", lang), "flex": 2}]


@callback(
    Output(ids.TITLE, "children"), Output(ids.KPIS, "children"), Output(ids.BOARD, "children"),
    Output(ids.MAP_SPEC, "data"), Output(ids.TIMELINE, "rowData"),
    Output(ids.TIMELINE, "columnDefs"), Output(ids.TIMELINE_TITLE, "children"),
    Input(ids.TICK, "n_intervals"), Input(ids.ACTED, "data"), Input("shell-lang", "data"),
)
def refresh(_tick, _acted, lang):
    lang = lang or "zh"
    engine, scope, now = current_engine(), current_scope(), current_city_now()
    try:
        incidents = q.open_incidents(engine, scope, now, current_settings().sla_minutes)
        units = q.units(engine, scope)
        events = q.timeline(engine, scope, now.date())
        suggested = {int(i): q.suggestions(engine, scope, int(i))
                     for i in incidents.loc[incidents["state"] == "held", "incident_id"]}
    except Refused as exc:
        refused = dbc.Alert(t("scope_refused", lang) + explain(exc, lang), color="warning")
        return t("dispatch_title", lang), [], [refused], None, [], [], ""
    live = incidents[~incidents["state"].isin(("closed", "cancelled"))]
    kpis = [
        Kpi("open", t("kpi_open_incidents", lang), fmt_int(len(live)),
            t("kpi_open_note", lang), tone="alert" if len(live) else "neutral"),
        Kpi("overdue", t("kpi_overdue", lang), fmt_int(int(live["overdue"].sum())),
            t("kpi_overdue_note", lang), tone="warn" if live["overdue"].any() else "neutral"),
        Kpi("available", t("kpi_units_available", lang),
            fmt_int(int((units["status"] == "available").sum())),
            f"{t('of', lang)} {fmt_int(len(units))}"),
        Kpi("committed", t("kpi_units_busy", lang),
            fmt_int(int(units["status"].isin(("committed", "responding", "on_scene")).sum())),
            t("kpi_units_busy_note", lang)),
    ]
    rows = [{"time": f"{e.ts:%H:%M:%S}", "venue": e.venue_name,
             "step": t(f"col_state_{e.to_state}", lang), "by": e.username,
             "note": system_note(e.note, lang)}
            for e in events.itertuples()]
    return (t("dispatch_title", lang), build_kpi_row(kpis, ids.kpi_value),
            board_columns(incidents, lang, suggested), map_spec(ids.MAP, incidents, units, lang),
            rows, timeline_columns(lang), t("dispatch_timeline", lang))


@callback(
    Output(ids.MESSAGE, "children"), Output(ids.ACTED, "data"),
    Input({"type": "dispatch-act", "incident": ALL, "to": ALL, "version": ALL}, "n_clicks"),
    State({"type": "dispatch-unit", "incident": ALL}, "value"),
    State({"type": "dispatch-unit", "incident": ALL}, "id"),
    State({"type": "dispatch-outcome", "incident": ALL}, "value"),
    State({"type": "dispatch-outcome", "incident": ALL}, "id"),
    State({"type": "dispatch-note", "incident": ALL}, "value"),
    State({"type": "dispatch-note", "incident": ALL}, "id"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def step(clicks, unit_values, unit_ids, outcomes, outcome_ids, notes, note_ids, lang):
    """The clicked step on its incident, at the version the card showed."""
    lang = lang or "zh"
    pressed = dash.ctx.triggered_id
    if not pressed or not any(clicks):
        return dash.no_update, dash.no_update
    incident = pressed["incident"]

    def of(values, idents):
        return next((v for v, i in zip(values, idents, strict=True)
                     if i["incident"] == incident), None)

    move = Transition(pressed["to"], note=of(notes, note_ids) or "",
                      outcome=of(outcomes, outcome_ids), unit_id=of(unit_values, unit_ids))
    try:
        q.act(current_engine(), current_scope(), incident, move, current_user.username,
              current_city_now(), pressed["version"])
    except (TransitionError, ConflictError, Refused) as exc:
        return dbc.Alert(explain(exc, lang), color="warning", className="dispatch-refused",
                         dismissable=True), dash.ctx.triggered_id["version"]
    return None, f"{incident}-{pressed['to']}"


clientside_callback(
    dash.ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.MAP_SINK, "data"),
    Input(ids.MAP_SPEC, "data"),
)


def roll_columns(lang: str) -> list[dict]:
    wrap = {"wrapText": True, "autoHeight": True}
    return [{"field": "subdistrict", "headerName": t("col_subdistrict", lang), "width": 190},
            {"field": "expected", "headerName": t("roll_expected", lang), "width": 90},
            {"field": "present", "headerName": t("roll_present", lang), "width": 90},
            {"field": "absent", "headerName": t("roll_absent", lang), "width": 90},
            {"field": "waiting", "headerName": t("roll_waiting", lang), "width": 100,
             "cellStyle": {"styleConditions": [{"condition": "params.value > 0",
                                                "style": {"color": "#ffc06b"}}]}},
            {"field": "absent_names", "headerName": t("roll_absent_names", lang), "flex": 2}
            | wrap,
            {"field": "waiting_names", "headerName": t("roll_waiting_names", lang), "flex": 2}
            | wrap]


@callback(
    Output(ids.ROLL_DISTRICT, "options"), Output(ids.ROLL_DISTRICT, "value"),
    Output(ids.ROLL_TITLE, "children"), Output(ids.ROLL_OPEN, "children"),
    Output(ids.ROLL_EXPORT, "children"), Output(ids.ROLL_OPEN, "disabled"),
    Input("shell-lang", "data"), State(ids.ROLL_DISTRICT, "value"),
)
def roll_labels(lang, chosen):
    lang = lang or "zh"
    try:
        frame = q.districts(current_engine(), current_scope())
    except Refused:
        frame = pd.DataFrame(columns=["id", "name_zh", "name_en"])
    options = [{"label": r.name_en if lang == "en" else r.name_zh, "value": int(r.id)}
               for r in frame.itertuples()]
    value = chosen if chosen in [o["value"] for o in options] else (
        options[0]["value"] if options else None)
    return (options, value, t("roll_title", lang), t("roll_open", lang),
            t("export_csv", lang), value is None)  # no district to open it for


@callback(
    Output(ids.ROLL_OPENED, "data"), Output(ids.ROLL_MESSAGE, "children"),
    Input(ids.ROLL_OPEN, "n_clicks"), State(ids.ROLL_DISTRICT, "value"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def roll_open(_n, district, lang):
    now = current_city_now()
    try:
        call = q.open_roll_call(current_engine(), current_scope(), int(district), now.date(),
                                current_user.username, now)
    except (Refused, TypeError) as exc:
        return dash.no_update, dbc.Alert(explain(exc, lang), color="warning")
    return call, None


@callback(
    Output(ids.ROLL_GRID, "rowData"), Output(ids.ROLL_GRID, "columnDefs"),
    Output(ids.ROLL_HISTORY, "rowData"), Output(ids.ROLL_HISTORY, "columnDefs"),
    Input(ids.ROLL_DISTRICT, "value"), Input(ids.ROLL_OPENED, "data"),
    Input(ids.TICK, "n_intervals"), Input("shell-lang", "data"),
)
def roll_board(district, _opened, _tick, lang):
    lang = lang or "zh"
    if district is None:
        return [], roll_columns(lang), [], []
    try:
        today, past = q.roll_call_board(current_engine(), current_scope(), int(district),
                                        current_city_now().date())
    except Refused:
        return [], roll_columns(lang), [], []
    history_cols = [{"field": "day", "headerName": t("roll_day", lang), "width": 120},
                    {"field": "present", "headerName": t("roll_present", lang), "width": 80},
                    {"field": "expected", "headerName": t("roll_expected", lang), "width": 80}]
    rows = past.assign(day=past["day"].astype(str)).to_dict("records")
    return today.to_dict("records"), roll_columns(lang), rows, history_cols


@callback(
    Output(ids.ROLL_DOWNLOAD, "data"),
    Input(ids.ROLL_EXPORT, "n_clicks"), State(ids.ROLL_DISTRICT, "value"),
    prevent_initial_call=True,
)
def roll_export(_n, district):
    now = current_city_now()
    day = now.date()
    today = q.export_roll_call(current_engine(), current_scope(), int(district), day,
                               current_user.username, now)
    return dcc.send_data_frame(today.drop(columns=["subdistrict_id"]).to_csv,
                               f"roll-call-{district}-{day:%Y%m%d}.csv", index=False)
