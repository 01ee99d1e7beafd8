"""Trace page callbacks: person -> queries.trace -> numbers, visits, graph; the contact list is
paged and the map fetched (pages/trace/data.py) from the shared cache of the result
(pages/trace/cache.py): a heavy case has 500k contacts, which never go to the browser at once.
The trace and the exports run as jobs (pages/jobs.py), off the request thread."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc
from flask_login import current_user

from components.grid import build_grid
from components.i18n import explain, t
from components.numbers import fmt_int
from components.trace import contact_graph, contact_rows, visit_rows
from components.wall import Kpi, build_kpi_row
from pages import jobs
from pages.grid_request import grid_block
from pages.trace import cache, ids
from pages.trace.data import SHOWN_MAX
from placecode.auth.policy import Refused
from placecode.tracing.contacts import TraceParams
from placecode.web import current_city_now, current_engine, current_scope, current_settings
from queries import trace as q
from queries.wall import shown_moment


def contact_columns(lang: str) -> list[dict]:
    return [
        {"field": "tier", "headerName": t("col_tier", lang), "width": 110},
        {"field": "person", "headerName": t("col_person", lang), "width": 150, "sortable": False},
        {"field": "venue", "headerName": t("col_venue", lang), "flex": 2, "sortable": False},
        {"field": "code", "headerName": t("col_code", lang), "width": 170, "sortable": False},
        {"field": "contact_at", "headerName": t("col_contact_at", lang), "width": 150},
        {"field": "via", "headerName": t("col_via", lang), "width": 140, "sortable": False},
    ]


def visit_columns(lang: str) -> list[dict]:
    return [
        {"field": "arrived", "headerName": t("col_arrived", lang), "width": 120},
        {"field": "left", "headerName": t("col_left", lang), "width": 80},
        {"field": "venue", "headerName": t("col_venue", lang), "flex": 2},
        {"field": "kind", "headerName": t("col_kind", lang), "width": 110},
    ]


def _grid(lang: str, total: int):
    grid = build_grid(ids.CONTACTS, height="480px", infinite=True, cacheBlockSize=200,
                      infiniteInitialRowCount=min(total, 200),
                      rowSelection={"mode": "multiRow", "headerCheckbox": False,
                                    "enableClickSelection": False})
    grid.columnDefs = contact_columns(lang)
    return grid


@callback(
    Output(ids.TITLE, "children"), Output(ids.ID_LABEL, "children"),
    Output(ids.ID_INPUT, "placeholder"), Output(ids.DAYS_LABEL, "children"),
    Output(ids.GO, "children"), Output(ids.VISITS_TITLE, "children"),
    Output(ids.CONTACTS_TITLE, "children"), Output(ids.SHOW, "children"),
    Output(ids.EXPORT_CSV, "children"), Output(ids.EXPORT_PARQUET, "children"),
    Output(ids.TIERS, "options"), Output(ids.REASON, "placeholder"),
    Output(ids.MANAGE, "children"), Output(ids.GRAPH_TITLE, "children"),
    Output(ids.VISITS, "columnDefs"),
    Input("shell-lang", "data"),
)
def labels(lang):
    lang = lang or "zh"
    return (t("trace_title", lang), t("trace_id", lang), t("trace_id_hint", lang),
            t("trace_days", lang), t("trace_go", lang), t("trace_visits", lang),
            t("trace_contacts", lang), t("trace_show", lang), t("export_csv", lang),
            t("export_parquet", lang),
            [{"label": t("manage_close", lang), "value": "close"},
             {"label": t("manage_both", lang), "value": "both"}],
            t("manage_reason", lang), t("manage_go", lang), t("trace_graph", lang),
            visit_columns(lang))


@callback(Output(ids.DAYS, "value"), Output(ids.DAYS, "max"), Input(ids.QUERY, "data"))
def default_days(query):
    retention = current_settings().retention_days
    try:
        days = int((query or {}).get("days") or TraceParams().days)
    except ValueError:
        days = TraceParams().days
    return min(max(days, 1), retention), retention


def _kpis(result: q.TraceResult, lang: str) -> list:
    c = result.contacts
    kpis = [
        Kpi("visits", t("kpi_visits", lang), fmt_int(len(result.visits)),
            f"{result.visits['venue_id'].nunique()} {t('venues_unit', lang)}"),
        Kpi("close", t("tier_close", lang), fmt_int(int((c["tier"] == 1).sum())),
            t("kpi_close_note", lang), tone="alert"),
        Kpi("secondary", t("tier_secondary", lang), fmt_int(int((c["tier"] == 2).sum())),
            t("kpi_secondary_note", lang), tone="warn"),
        Kpi("exposure", t("kpi_exposure", lang), fmt_int(c["venue_id"].nunique()),
            t("kpi_exposure_note", lang)),
        Kpi("took", t("kpi_took", lang), f"{result.seconds:.1f} s",
            f"{result.start:%m-%d} – {result.until:%m-%d %H:%M}"),
    ]
    return build_kpi_row(kpis, ids.kpi_value)


TRACE_OUT = (Output(ids.STATE, "data"), Output(ids.MESSAGE, "children"),
             Output(ids.KPIS, "children"), Output(ids.MAP_SPEC, "data"),
             Output(ids.VISITS, "rowData"), Output(ids.CONTACTS_BOX, "children"),
             Output(ids.GRAPH, "figure"), Output(ids.GRAPH_NOTE, "children"),
             Output(ids.MANAGE_MSG, "children"))
NOTHING = (None, None, [], None, [], None, {}, "", None)  # what TRACE_OUT shows before a trace
IDLE = (None, True, False)  # no job, no polling, the trace button enabled


@callback(
    *TRACE_OUT, Output(ids.JOB, "data"), Output(ids.POLL, "disabled"),
    Output(ids.GO, "disabled"),
    Input(ids.GO, "n_clicks"), Input(ids.ID_INPUT, "n_submit"), Input(ids.QUERY, "data"),
    State(ids.ID_INPUT, "value"), State(ids.DAYS, "value"), State("shell-lang", "data"),
)
def run_trace(_go, _submit, query, raw_id, days, lang):
    """Checks what was asked and finds the person here (refusals come at once); the trace itself
    runs as a job (pages/jobs.py) and `trace_done` draws it."""
    lang = lang or "zh"
    query = query or {}
    typed = dash.ctx.triggered_id in (ids.GO, ids.ID_INPUT)
    if not typed and not (query.get("person") or query.get("alert")):
        return (None, dbc.Alert(t("trace_start", lang), color="secondary"), *NOTHING[2:], *IDLE)
    engine, scope, settings = current_engine(), current_scope(), current_settings()
    retention = settings.retention_days
    try:
        days = int(days or query.get("days") or TraceParams().days)
    except ValueError:
        days = 0
    if not 1 <= days <= retention:
        return (*_refused(t("trace_days_bad", lang).format(n=retention)), *IDLE)
    try:
        if typed:
            person = q.find_person(engine, scope, raw_id=raw_id or "",
                                   secret=settings.secret_key)
        elif query.get("person"):
            person = q.find_person(engine, scope, key=query["person"])
        else:
            person = q.find_person(engine, scope, alert_id=int(query["alert"]))
    except (q.UnknownPerson, Refused, ValueError) as exc:
        return (*_refused(explain(exc, lang)), *IDLE)
    _, until, _ = shown_moment(engine, current_city_now())
    user, traces = current_user.username, cache.store_for(settings.instance_path)

    def work() -> dict:
        result = q.trace(engine, scope, person, until, user, TraceParams(days=days),
                         max_days=retention)
        return {"token": cache.remember(traces, user, result), "days": days}

    job = jobs.submit(jobs.store_for(settings.instance_path), user, work)
    tracing = dbc.Alert([dbc.Spinner(size="sm"), " ", t("trace_running", lang)],
                        color="light", className="trace-running")
    return (None, tracing, *NOTHING[2:], {"id": job, "autoplay": query.get("autoplay") or "",
                                          "controls": query.get("controls") or ""},
            False, True)


@callback(
    *[Output(o.component_id, o.component_property, allow_duplicate=True) for o in TRACE_OUT],
    Output(ids.JOB, "data", allow_duplicate=True), Output(ids.POLL, "disabled",
                                                          allow_duplicate=True),
    Output(ids.GO, "disabled", allow_duplicate=True),
    Input(ids.POLL, "n_intervals"),
    State(ids.JOB, "data"), State("shell-lang", "data"),
    prevent_initial_call=True,
)
def trace_done(_n, job, lang):
    """The trace's numbers, visits, graph and map once its job has ended."""
    lang = lang or "zh"
    settings = current_settings()
    if not job:
        return (*(dash.no_update,) * len(TRACE_OUT), *IDLE)
    outcome = jobs.poll(jobs.store_for(settings.instance_path), job["id"],
                        current_user.username)
    if outcome is None:
        return (*(dash.no_update,) * (len(TRACE_OUT) + 3),)
    if outcome.error is not None or outcome.failed:
        text = explain(outcome.error, lang) if outcome.error else t("trace_failed", lang)
        return (*_refused(text), *IDLE)
    token = outcome.value["token"]
    result = cache.cached(token)
    if result is None:
        return (*_refused(t("trace_failed", lang)), *IDLE)
    state = {"token": token, "person_key": result.person.key,
             "until": result.until.isoformat(), "days": outcome.value["days"]}
    spec = map_url(token, lang, autoplay=job.get("autoplay") or "",
                   controls=job.get("controls") or "")
    figure, folded = contact_graph(result.contacts, lang)
    note = t("graph_folded", lang) if folded else t("graph_full", lang)
    message = (dbc.Alert(t("trace_no_visits", lang), color="secondary")
               if result.visits.empty else None)
    return (state, message, _kpis(result, lang), spec, visit_rows(result.visits, lang),
            _grid(lang, len(result.contacts)), figure, note, None, *IDLE)


def map_url(token: str, lang: str, **args: str) -> dict:
    """The map's spec is fetched by the map itself (pages/trace/data.py)."""
    query = urlencode({"lang": lang} | {k: v for k, v in args.items() if v})
    return {"target": ids.MAP, "url": f"/trace-data/{token}/map.json?{query}"}


def _refused(text: str):
    return (None, dbc.Alert(text, color="warning", className="trace-error"), [], None, [],
            None, {}, "", None)


@callback(
    Output(ids.CONTACTS, "getRowsResponse"),
    Input(ids.CONTACTS, "getRowsRequest"),
    State(ids.STATE, "data"), State("shell-lang", "data"),
    prevent_initial_call=True,
)
def contact_block(request, state, lang):
    """One block of the contact list, sorted as the grid asks (tier, then time by default)."""
    result = cache.result(state)
    if result is None or not request:
        return dash.no_update
    frame, asked = result.contacts, grid_block(request)
    for sort in asked.sort[:1]:
        column = {"tier": "tier", "contact_at": "contact_at"}.get(sort["colId"])
        if column:
            frame = frame.sort_values([column, "person_id"], ascending=sort["sort"] == "asc",
                                      kind="stable")
    block = q.with_keys(current_engine(), frame.iloc[asked.start:asked.end])
    return {"rowData": contact_rows(block, lang or "zh"), "rowCount": len(frame)}


@callback(
    Output(ids.MAP_SPEC, "data", allow_duplicate=True),
    Output(ids.MANAGE_MSG, "children", allow_duplicate=True),
    Input(ids.SHOW, "n_clicks"),
    State(ids.CONTACTS, "selectedRows"), State(ids.STATE, "data"), State("shell-lang", "data"),
    prevent_initial_call=True,
)
def show_selected(_n, rows, state, lang):
    """The chosen contacts' trails with the case's, in their own colours."""
    lang = lang or "zh"
    result = cache.result(state)
    if result is None:
        return dash.no_update, dash.no_update
    chosen = [str(r["person_id"]) for r in (rows or [])][:SHOWN_MAX]
    if not chosen:
        return dash.no_update, dbc.Alert(t("trace_pick", lang), color="secondary")
    return map_url(state["token"], lang, show=",".join(chosen)), None


@callback(
    Output(ids.EXPORT_JOB, "data"), Output(ids.EXPORT_POLL, "disabled"),
    Input(ids.EXPORT_CSV, "n_clicks"), Input(ids.EXPORT_PARQUET, "n_clicks"),
    State(ids.STATE, "data"),
    prevent_initial_call=True,
)
def export(_csv, _parquet, state):
    """The contact list as a file, built in a job (a heavy case has 500k rows) and sent by
    `export_done`."""
    result = cache.result(state)
    if result is None:
        return dash.no_update, dash.no_update
    fmt = "parquet" if dash.ctx.triggered_id == ids.EXPORT_PARQUET else "csv"
    engine, scope, user = current_engine(), current_scope(), current_user.username

    def work() -> dict:
        frame = q.export_frame(engine, scope, result, fmt, user)
        buffer = io.BytesIO()
        if fmt == "csv":
            frame.to_csv(buffer, index=False)
        else:
            frame.to_parquet(buffer, index=False)
        name = f"contacts-{result.person.key[:8]}-{result.until:%Y%m%d}.{fmt}"
        return {"name": name, "bytes": buffer.getvalue()}

    return jobs.submit(jobs.store_for(current_settings().instance_path), user, work), False


@callback(
    Output(ids.DOWNLOAD, "data"), Output(ids.EXPORT_POLL, "disabled", allow_duplicate=True),
    Output(ids.MANAGE_MSG, "children", allow_duplicate=True),
    Input(ids.EXPORT_POLL, "n_intervals"),
    State(ids.EXPORT_JOB, "data"), State("shell-lang", "data"),
    prevent_initial_call=True,
)
def export_done(_n, job, lang):
    lang = lang or "zh"
    if not job:
        return dash.no_update, True, dash.no_update
    outcome = jobs.poll(jobs.store_for(current_settings().instance_path), job,
                        current_user.username)
    if outcome is None:
        return dash.no_update, dash.no_update, dash.no_update
    if outcome.error is not None or outcome.failed:
        text = explain(outcome.error, lang) if outcome.error else t("trace_failed", lang)
        return dash.no_update, True, dbc.Alert(text, color="warning", className="manage-error")
    return dcc.send_bytes(outcome.value["bytes"], outcome.value["name"]), True, None


@callback(
    Output(ids.MANAGE_MSG, "children", allow_duplicate=True),
    Input(ids.MANAGE, "n_clicks"),
    State(ids.TIERS, "value"), State(ids.REASON, "value"), State(ids.STATE, "data"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
    running=[(Output(ids.MANAGE, "disabled"), True, False)],
)
def manage(_n, tiers, reason, state, lang):
    lang = lang or "zh"
    result = cache.result(state)
    if result is None:
        return dbc.Alert(t("trace_start", lang), color="secondary")
    chosen = {1} if tiers == "close" else {1, 2}
    try:
        added = q.put_under_management(current_engine(), current_scope(), result, chosen,
                                       reason, current_user.username, current_city_now())
    except (ValueError, Refused) as exc:
        return dbc.Alert(explain(exc, lang), color="warning", className="manage-error")
    return dbc.Alert(t("manage_done", lang).format(n=fmt_int(added)), color="success",
                     className="manage-done")


clientside_callback(
    dash.ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.MAP_SINK, "data"),
    Input(ids.MAP_SPEC, "data"),
)
