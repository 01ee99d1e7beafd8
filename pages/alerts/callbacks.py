"""Alerts page callbacks: scope -> queries -> rows and tiles."""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback

from components.i18n import explain, t
from components.numbers import fmt_int
from components.pushes import push_error
from components.wall import Kpi, build_kpi_row
from pages.alerts import ids
from placecode.auth.policy import Refused
from placecode.rules.definitions import RULES
from placecode.web import current_city_now, current_engine, current_scope
from queries import alerts as q


def rule_names(rules: str, lang: str) -> str:
    names = []
    for rule_id in filter(None, rules.split(",")):
        rule = RULES.get(rule_id)
        names.append((rule.title_en if lang == "en" else rule.title_zh) if rule else rule_id)
    return "、".join(names) if lang == "zh" else "; ".join(names)


def delivery(state: str, attempts: int, error: str, lang: str) -> str:
    if state == "pending" and attempts:
        return f"{t('state_pending', lang)} ×{attempts}: {push_error(error, lang)}"
    return t(f"state_{state}", lang)


def process_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    district = "district_en" if lang == "en" else "district_zh"
    return [{
        "time": f"{r.ts:%m-%d %H:%M:%S}", "venue": r.venue_name, "code": r.venue_code,
        "district": getattr(r, district), "reason": rule_names(r.rules, lang),
        "person": r.person,
        "hq": delivery(r.district_state, r.district_attempts, r.district_error, lang),
        "community": delivery(r.community_state, r.community_attempts, r.community_error, lang),
        "hq_state": r.district_state, "community_state": r.community_state,
        "trace": f"[{t('trace_go', lang)} →](/trace?alert={r.alert_id})",
    } for r in frame.itertuples()]


def columns(lang: str) -> list[dict]:
    state_style = {"styleConditions": [
        {"condition": "params.value && params.value.indexOf('×') >= 0",
         "style": {"color": "#ffc06b"}}]}
    return [
        {"field": "time", "headerName": t("col_time", lang), "width": 150},
        {"field": "venue", "headerName": t("col_venue", lang), "flex": 1.5},
        {"field": "code", "headerName": t("col_code", lang), "width": 170},
        {"field": "district", "headerName": t("col_district", lang), "width": 120},
        {"field": "reason", "headerName": t("col_reason", lang), "flex": 2},
        {"field": "person", "headerName": t("col_person", lang), "width": 150},
        {"field": "trace", "headerName": "", "width": 110, "cellRenderer": "markdown",
         "sortable": False, "filter": False},
        {"field": "hq", "headerName": t("col_hq", lang), "flex": 2, "cellStyle": state_style,
         "wrapText": True, "autoHeight": True},
        {"field": "community", "headerName": t("col_community", lang), "flex": 2,
         "cellStyle": state_style, "wrapText": True, "autoHeight": True},
    ]


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.GRID, "rowData"),
    Output(ids.GRID, "columnDefs"),
    Output(ids.MESSAGE, "children"),
    Input(ids.TICK, "n_intervals"),
    Input("shell-lang", "data"),
)
def refresh(_tick, lang):
    lang = lang or "zh"
    scope, engine = current_scope(), current_engine()
    now = current_city_now()
    try:
        counts = q.alert_counts(engine, scope, datetime.combine(now.date(), datetime.min.time()))
        frame = q.recent_alerts(engine, scope)
    except Refused as exc:
        return (t("alerts_title", lang), [], [], columns(lang),
                dbc.Alert(t("scope_refused", lang) + explain(exc, lang), color="warning"))
    kpis = [
        Kpi("today", t("alerts_today", lang), fmt_int(counts["today"]),
            t("alerts_today_note", lang), tone="alert"),
        Kpi("pending", t("push_pending", lang), fmt_int(counts["pending"]),
            t("push_pending_note", lang), tone="warn" if counts["pending"] else "neutral"),
        Kpi("delivered", t("push_delivered", lang), fmt_int(counts["delivered"]),
            t("push_delivered_note", lang)),
    ]
    message = None if len(frame) else dbc.Alert(t("no_alerts", lang), color="secondary")
    return (t("alerts_title", lang), build_kpi_row(kpis, ids.kpi_value),
            process_rows(frame, lang), columns(lang), message)
