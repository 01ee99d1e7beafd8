"""Audit page callbacks: filters -> queries.audit -> tiles, rows and the export."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, no_update
from flask_login import current_user

from components.audit import columns, process_rows
from components.i18n import explain, t
from components.numbers import fmt_int
from components.wall import Kpi, build_kpi_row
from pages.audit import ids
from placecode.auth.policy import Refused
from placecode.i18n import Term
from placecode.ingest.validate import FIRST_YEAR, LAST_YEAR
from placecode.web import current_city_now, current_engine, current_scope
from queries import audit as q

SHOWN = 2000
FILTER_STATES = (State(ids.SINCE, "value"), State(ids.UNTIL, "value"), State(ids.USER, "value"),
                 State(ids.ACTION, "value"), State(ids.TEXT, "value"))


def parse_filter(since, until, user, action, text) -> q.AuditFilter:
    """The form's values as a filter; a date that is not YYYY-MM-DD names its field."""
    days = {}
    for name, value in (("since", since), ("until", until)):
        field = Term.keyed(name, f"audit_{name}")
        try:
            days[name] = date.fromisoformat(value) if value else None
        except (TypeError, ValueError):
            raise q.AuditFilterError("audit_not_date", field=field,
                                     value=repr(value)[:40]) from None
        if days[name] and not FIRST_YEAR <= days[name].year <= LAST_YEAR:
            raise q.AuditFilterError("audit_date_years", field=field, first=FIRST_YEAR,
                                     last=LAST_YEAR)
    texts = [v if isinstance(v, str) else "" for v in (user, action, text)]
    return q.AuditFilter(days["since"], days["until"], *texts)


@callback(
    Output(ids.TITLE, "children"),
    Output({"type": "audit-label", "index": ALL}, "children"),
    Output(ids.APPLY, "children"),
    Output(ids.EXPORT, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.GRID, "rowData"),
    Output(ids.GRID, "columnDefs"),
    Output(ids.COUNT, "children"),
    Output(ids.MESSAGE, "children"),
    Output(ids.ACTION, "options"),
    Input(ids.APPLY, "n_clicks"),
    Input("shell-lang", "data"),
    State({"type": "audit-label", "index": ALL}, "id"),
    *FILTER_STATES,
)
def refresh(_clicks, lang, label_ids, *form):
    lang = lang or "zh"
    labels = [t(f"audit_{i['index']}", lang) for i in label_ids]
    head = (t("audit_title", lang), labels, t("audit_apply", lang), t("audit_export", lang))
    engine, scope = current_engine(), current_scope()
    try:
        chosen = parse_filter(*form)
        frame, total = q.entries(engine, scope, chosen, limit=SHOWN)
        kinds = q.counts(engine, scope, chosen)
        options = [{"label": t("audit_all_actions", lang), "value": ""}] + [
            {"label": a, "value": a} for a in q.actions(engine, scope)]
    except Refused as exc:
        return (*head, [], [], columns(lang), "",
                dbc.Alert(t("scope_refused", lang) + explain(exc, lang), color="danger"), [])
    except q.AuditFilterError as exc:
        return (*head, no_update, no_update, columns(lang), "",
                dbc.Alert(explain(exc, lang), color="warning", id="audit-error"), no_update)
    kpis = [Kpi("rows", t("audit_rows", lang), fmt_int(total), t("audit_rows_note", lang))]
    kpis += [Kpi(k, t(f"audit_kind_{k}", lang), fmt_int(v), t(f"audit_kind_{k}_note", lang),
                 tone="alert" if k == "refused" and v else "neutral") for k, v in kinds.items()]
    count = t("audit_shown", lang).format(shown=fmt_int(len(frame)), total=fmt_int(total))
    return (*head, build_kpi_row(kpis, ids.kpi_value), process_rows(frame), columns(lang),
            count, None, options)


@callback(
    Output(ids.DOWNLOAD, "data"),
    Output(ids.MESSAGE, "children", allow_duplicate=True),
    Input(ids.EXPORT, "n_clicks"),
    *FILTER_STATES,
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def download(_clicks, *form_and_lang):
    *form, lang = form_and_lang
    now = current_city_now()
    try:
        frame = q.export(current_engine(), current_scope(), parse_filter(*form),
                         current_user.username, current_user.id, now)
    except (Refused, q.AuditFilterError) as exc:
        return no_update, dbc.Alert(explain(exc, lang), color="warning")
    return dcc.send_data_frame(frame.to_csv, f"placecode-audit-{now:%Y%m%d-%H%M}.csv",
                               index=False), None
