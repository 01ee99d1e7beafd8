"""Field page callbacks: the viewer's staff row -> roll-call answer, tasks, unit status."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, html
from flask_login import current_user

from components.dispatch import incident_card
from components.i18n import explain, t
from pages.field import ids
from placecode.auth.policy import FIELD_STEPS, Refused
from placecode.dispatch.board import ConflictError
from placecode.dispatch.incidents import Transition, TransitionError
from placecode.dispatch.rollcall import RollCallError
from placecode.web import current_city_now, current_engine, current_scope, current_settings
from queries import dispatch as q

STATUS_COLOURS = {"available": "success", "committed": "warning", "responding": "info",
                  "on_scene": "primary", "out_of_service": "secondary"}


@callback(
    Output(ids.TITLE, "children"), Output(ids.WHO, "children"),
    Output(ids.ROLL_TITLE, "children"), Output(ids.ROLL_STATE, "children"),
    Output(ids.PRESENT, "children"), Output(ids.ABSENT, "children"),
    Output(ids.REASON, "placeholder"), Output(ids.TASKS_TITLE, "children"),
    Output(ids.TASKS, "children"), Output(ids.UNIT_TITLE, "children"),
    Output(ids.UNIT, "children"),
    Input(ids.TICK, "n_intervals"), Input(ids.DONE, "data"), Input("shell-lang", "data"),
)
def refresh(_tick, _done, lang):
    lang = lang or "zh"
    engine, now = current_engine(), current_city_now()
    me = q.my_day(engine, current_user.username, now)
    labels = (t("field_title", lang),)
    if me is None:
        return (*labels, dbc.Alert(t("field_no_staff", lang), color="warning"), "", "", "",
                "", "", "", [], "", [])
    if not me["open"]:
        roll = t("field_roll_closed", lang)
    elif me["answered"] is None:
        roll = t("field_roll_waiting", lang)
    elif me["answered"].present:
        roll = t("field_roll_present", lang)
    else:
        roll = f"{t('field_roll_absent', lang)}（{me['answered'].reason}）"
    try:
        frame = q.field_tasks(engine, current_scope(), now, current_settings().sla_minutes)
        tasks = [incident_card(r, lang, None, page="field", only=FIELD_STEPS)
                 for r in frame.itertuples()] or [html.Div(t("field_no_tasks", lang))]
    except Refused as exc:
        tasks = [dbc.Alert(explain(exc, lang), color="warning")]
    unit = me["unit"]
    unit_part = [] if unit is None else [
        html.Div(f"{unit.name} · {unit.code}", className="field-unit-name"),
        html.Div([dbc.Button(t(f"unit_{s}", lang), id={"type": "field-status", "status": s},
                             color=STATUS_COLOURS[s], outline=unit.status != s, size="lg",
                             className="field-status" + (" active" if unit.status == s
                                                          else ""))
                  for s in q.UNIT_STATUSES], className="field-statuses")]
    return (*labels, me["name"], t("roll_title", lang), roll, t("field_present", lang),
            t("field_absent", lang), t("field_reason", lang), t("field_tasks", lang), tasks,
            t("field_unit", lang), unit_part)


# the phone's position with "present" (none if the phone will not tell)
clientside_callback(
    ClientsideFunction(namespace="field", function_name="position"),
    Output(ids.PRESENT_AT, "data"),
    Input(ids.PRESENT, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.MESSAGE, "children"), Output(ids.DONE, "data"),
    Input(ids.PRESENT_AT, "data"), Input(ids.ABSENT, "n_clicks"),
    Input({"type": "field-status", "status": ALL}, "n_clicks"),
    Input({"type": "field-act", "incident": ALL, "to": ALL, "version": ALL}, "n_clicks"),
    State(ids.REASON, "value"), State("shell-lang", "data"),
    prevent_initial_call=True,
)
def act(present_at, _absent, status_clicks, step_clicks, reason, lang):
    lang = lang or "zh"
    pressed = dash.ctx.triggered_id
    engine, now, who = current_engine(), current_city_now(), current_user.username
    if isinstance(pressed, dict) and not dash.ctx.triggered[0]["value"]:
        return dash.no_update, dash.no_update  # a button drawn anew, not pressed
    try:
        if pressed == ids.PRESENT_AT:
            q.answer_roll_call(engine, who, True, now, lon=present_at.get("lon"),
                               lat=present_at.get("lat"))
            done = t("field_roll_present", lang)
        elif pressed == ids.ABSENT:
            q.answer_roll_call(engine, who, False, now, reason=reason or "")
            done = t("field_roll_absent", lang)
        elif pressed["type"] == "field-status":
            q.set_unit_status(engine, current_scope(), who, pressed["status"], now)
            done = t(f"unit_{pressed['status']}", lang)
        else:
            q.act(engine, current_scope(), pressed["incident"], Transition(pressed["to"]), who,
                  now, pressed["version"])
            done = t(f"col_state_{pressed['to']}", lang)
    except (RollCallError, Refused, ConflictError, TransitionError) as exc:
        return (dbc.Alert(explain(exc, lang), color="warning", className="field-refused"),
                now.isoformat())
    return (dbc.Alert(f"✓ {done}", color="success", className="field-done", duration=4000),
            now.isoformat())
