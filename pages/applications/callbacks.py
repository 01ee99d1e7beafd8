"""Applications page callbacks: the list, and approve / refuse on the selected row."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx
from flask_login import current_user

from components import applications as view
from components.i18n import explain, t
from pages.applications import ids
from placecode.auth.policy import Refused
from placecode.registry import applications as apps
from placecode.web import current_city_now, current_engine, current_scope
from queries import registry as q


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.SUB, "children"),
    Output(ids.FORM_LINK, "children"),
    Output(ids.APPROVE, "children"),
    Output(ids.REFUSE, "children"),
    Output(ids.REASON, "placeholder"),
    Output(ids.STATE, "options"),
    Input("shell-lang", "data"),
)
def labels(lang):
    lang = lang or "zh"
    states = [{"label": t("reg_all", lang), "value": "all"}] + [
        {"label": t(f"apply_state_{s}", lang), "value": s} for s in q.STATES]
    return (t("reg_title", lang), t("reg_sub", lang), t("reg_form_link", lang),
            t("reg_approve", lang), t("reg_refuse", lang), t("reg_reason", lang), states)


@callback(
    Output(ids.GRID, "rowData"),
    Output(ids.GRID, "columnDefs"),
    Output(ids.MESSAGE, "children"),
    Output(ids.REASON, "value"),
    Input(ids.STATE, "value"),
    Input(ids.APPROVE, "n_clicks"),
    Input(ids.REFUSE, "n_clicks"),
    Input("shell-lang", "data"),
    State(ids.GRID, "selectedRows"),
    State(ids.REASON, "value"),
)
def refresh(state, _approve, _refuse, lang, selected, reason):
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    message, keep_reason = None, reason
    if ctx.triggered_id in (ids.APPROVE, ids.REFUSE):
        message, keep_reason = _decide(ctx.triggered_id, selected, reason, lang)
    try:
        frame = q.applications(engine, scope, state if state != "all" else None)
    except Refused as exc:
        return [], [], dbc.Alert(explain(exc, lang), color="danger"), keep_reason
    if message is None and frame.empty:
        message = dbc.Alert(t("reg_none", lang), color="secondary")
    return view.rows(frame, lang), view.columns(lang), message, keep_reason


def _decide(button: str, selected, reason, lang):
    """Approve or refuse the selected application; the alert to show and the reason to keep."""
    if not selected:
        return dbc.Alert(t("reg_pick", lang), color="secondary"), reason
    number = int(selected[0]["id"])
    who = {"username": current_user.username, "user_id": current_user.id,
           "now": current_city_now()}
    try:
        if button == ids.APPROVE:
            code = apps.approve(current_engine(), current_scope(), number, **who)
            return dbc.Alert(t("reg_approved", lang, n=number, code=code), color="success",
                             className="reg-done"), reason
        apps.refuse(current_engine(), current_scope(), number, reason, **who)
        return dbc.Alert(t("reg_refused", lang, n=number), color="warning",
                         className="reg-done"), ""
    except (apps.ApplicationError, Refused) as exc:
        return dbc.Alert(explain(exc, lang), color="danger", className="reg-error"), reason
