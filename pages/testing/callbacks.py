"""Testing page callbacks: district -> communities and headline numbers; community -> its
buildings, map and batch plans; each person list loads (and is audit-logged) when its tab is
opened. Viewer errors come from queries.testing and are shown, never raised."""

from __future__ import annotations

from datetime import datetime, timedelta

import dash_bootstrap_components as dbc
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    no_update,
)
from flask_login import current_user

from components import testing as view
from components.i18n import explain, t
from components.numbers import fmt_int
from pages.moment import moment_text, shown_now
from pages.testing import ids
from placecode.auth.policy import Refused
from placecode.web import current_city_now, current_engine, current_scope, current_settings
from queries import testing as q

TABS = ("progress", "plan", "passes", "arrivals", "sites")
EMPTY_MAP = {"theme": "dark", "points": []}


def _who() -> dict:
    return {"username": current_user.username, "user_id": current_user.id}


def _refused(exc: Exception, lang: str) -> dbc.Alert:
    return dbc.Alert(t("scope_refused", lang) + explain(exc, lang), color="warning",
                     className="testing-alert")


def _options(frame, id_col: str, lang: str) -> list[dict]:
    name = "name_en" if lang == "en" else "name_zh"
    return [{"label": getattr(r, name), "value": int(getattr(r, id_col))}
            for r in frame.itertuples()]


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.DISTRICT_LABEL, "children"),
    Output(ids.COMMUNITY_LABEL, "children"),
    Output(ids.COMMUNITY, "placeholder"),
    Output(ids.DISTRICT, "options"),
    Output(ids.DISTRICT, "value"),
    Output({"type": "testing-kpi-label", "index": ALL}, "children"),
    *[Output(f"testing-tab-{tab}", "label") for tab in TABS],
    Output(ids.COMMUNITIES_TITLE, "children"),
    Output(ids.COMMUNITIES, "columnDefs"),
    Output(ids.BUILDINGS, "columnDefs"),
    Output(ids.LEGEND, "children"),
    Output(ids.PLAN_TITLE, "children"),
    Output(ids.PLAN_START_LABEL, "children"),
    Output(ids.PLAN_SLOT_LABEL, "children"),
    Output(ids.PLAN_BATCHES_LABEL, "children"),
    Output(ids.PLAN_PREVIEW, "children"),
    Output(ids.PLAN_SAVE, "children"),
    Output(ids.PLAN_MESSAGES, "columnDefs"),
    Output(ids.BATCHES_TITLE, "children"),
    Output(ids.BATCHES, "columnDefs"),
    Output(ids.NOTIFY, "children"),
    Output(ids.PASSES_TITLE, "children"),
    Output(ids.PASSES, "columnDefs"),
    Output(ids.SHARED_TITLE, "children"),
    Output(ids.SHARED, "columnDefs"),
    Output(ids.HOTELS_TITLE, "children"),
    Output(ids.HOTELS, "columnDefs"),
    Output(ids.ARRIVALS_TITLE, "children"),
    Output(ids.ARRIVALS, "columnDefs"),
    Output(ids.SITES, "columnDefs"),
    Output(ids.PLAN_START, "value"),
    Input("shell-lang", "data"),
    State(ids.DISTRICT, "value"),
    State(ids.PLAN_START, "value"),
)
def label_page(lang, district, start):
    """Texts, the districts the viewer may pick (the first chosen) and the plan's default start
    (the next full hour after the page's now)."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    try:
        districts = _options(q.district_options(engine, scope), "district_id", lang)
    except Refused:
        districts = []
    if district is None and districts:
        district = districts[0]["value"]
    if not start:
        now, _ = shown_now(engine)
        start = (now.replace(minute=0, second=0, microsecond=0)
                 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return (t("tp_title", lang), t("col_district", lang), t("col_community", lang),
            t("tp_pick_community", lang), districts, district,
            [t(f"tp_kpi_{name}", lang) for name in ids.KPIS],
            *[t(f"tp_tab_{tab}", lang) for tab in TABS],
            t("tp_communities_title", lang), view.community_columns(lang),
            view.building_columns(lang), t("tp_legend", lang),
            t("tp_plan_title", lang), t("tp_plan_start", lang), t("tp_plan_slot", lang),
            t("tp_plan_batches", lang), t("tp_plan_preview", lang), t("tp_plan_save", lang),
            view.message_columns(lang), t("tp_batches_title", lang), view.batch_columns(lang),
            t("tp_notify", lang), t("tp_passes_title", lang), view.pass_columns(lang),
            t("tp_shared_title", lang), view.shared_columns(lang), t("tp_hotels_title", lang),
            view.hotel_columns(lang), t("tp_arrivals_title", lang), view.arrival_columns(lang),
            view.site_columns(lang), start)


@callback(
    Output(ids.COMMUNITY, "options"),
    Output(ids.COMMUNITY, "value"),
    Input(ids.DISTRICT, "value"),
    Input("shell-lang", "data"),
    State(ids.COMMUNITY, "value"),
)
def communities(district, lang, chosen):
    """The district's communities; a new district clears the choice."""
    try:
        frame = q.community_options(current_engine(), current_scope(), district)
    except Refused:
        return [], None
    value = None if ctx.triggered_id == ids.DISTRICT else chosen
    return _options(frame, "community_id", lang or "zh"), value


@callback(
    Output(ids.COMMUNITY, "value", allow_duplicate=True),
    Input(ids.COMMUNITIES, "cellClicked"),
    prevent_initial_call=True,
)
def pick_community(cell):
    """A click on a community's row opens its buildings."""
    row = (cell or {}).get("rowId")
    return int(row) if row else no_update


@callback(
    Output(ids.COMMUNITIES, "rowData"),
    Output({"type": "testing-kpi", "index": ALL}, "children"),
    Output(ids.MESSAGE, "children"),
    Output(ids.DAY, "children"),
    Input(ids.DISTRICT, "value"),
    Input("shell-lang", "data"),
)
def district_view(district, lang):
    """The district's communities, furthest behind first, and the headline numbers."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    now, snapshot = shown_now(engine)
    day = moment_text(now, snapshot, "tp_as_of", lang)
    blank = ["–"] * len(ids.KPIS)
    if district is None:
        try:
            q.check_viewer(scope)
        except Refused as exc:
            return [], blank, _refused(exc, lang), day
        return [], blank, None, day
    try:
        frame = q.district_progress(engine, scope, district, now)
    except (Refused, q.UnknownArea) as exc:
        return [], blank, _refused(exc, lang), day
    kpis = view.kpi_values(frame)
    hours = current_settings().pass_test_hours
    try:
        check = q.check_passes(engine, scope, district, now, hours, audit=False, **_who())
        _, arrivals = q.arrivals_hotels(engine, scope, district, now, audit=False, **_who())
        kpis |= {"passes": fmt_int(len(check.passes)),
                 "arrivals": fmt_int(int(arrivals["flagged"].sum()))}
    except Refused:  # planners: the person checks are not theirs, not even as counts
        kpis |= {"passes": "–", "arrivals": "–"}
    return view.community_rows(frame, lang), [kpis[name] for name in ids.KPIS], None, day


@callback(
    Output(ids.BUILDINGS, "rowData"),
    Output(ids.BUILDINGS_TITLE, "children"),
    Output(ids.MAP_SPEC, "data"),
    Input(ids.COMMUNITY, "value"),
    Input("shell-lang", "data"),
)
def community_view(community, lang):
    """One community's buildings, furthest behind first, and on the map by percent tested."""
    lang = lang or "zh"
    if community is None:
        return [], t("tp_buildings_title", lang), EMPTY_MAP | {"target": ids.MAP}
    engine, scope = current_engine(), current_scope()
    now, _ = shown_now(engine)
    try:
        info, frame = q.community_buildings(engine, scope, community, now)
    except (Refused, q.UnknownArea) as exc:
        return [], explain(exc, lang), EMPTY_MAP | {"target": ids.MAP}
    title = f"{info['name_en' if lang == 'en' else 'name_zh']} · {t('tp_buildings_title', lang)}"
    spec = view.buildings_spec(frame, ids.MAP, lang, f"community-{community}")
    return view.building_rows(frame), title, spec


clientside_callback(
    ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.MAP_DRAWN, "data"),
    Input(ids.MAP_SPEC, "data"),
)


# -- batch plans -------------------------------------------------------------------------------

def _start(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@callback(
    Output(ids.PLAN_MESSAGES, "rowData"),
    Output(ids.PLAN_FEEDBACK, "children"),
    Output(ids.PLAN_SAVE, "disabled"),
    Output(ids.PLAN_SAVED, "data"),
    Input(ids.PLAN_PREVIEW, "n_clicks"),
    Input(ids.PLAN_SAVE, "n_clicks"),
    Input(ids.COMMUNITY, "value"),
    State(ids.PLAN_START, "value"),
    State(ids.PLAN_SLOT, "value"),
    State(ids.PLAN_BATCHES, "value"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def plan(_preview, _save, community, start, slot, batches, lang):
    """Preview a plan's messages, or save it (refused when the round exists)."""
    lang = lang or "zh"
    if ctx.triggered_id == ids.COMMUNITY or community is None:
        note = None if community is not None else dbc.Alert(t("tp_pick_community", lang),
                                                             color="secondary")
        return [], note, True, no_update
    engine, scope = current_engine(), current_scope()
    now, _ = shown_now(engine)
    try:
        proposal = q.propose_plan(engine, scope, community, _start(start), _int(slot, 30),
                                  _int(batches, 4), now)
        rows = view.plan_preview(proposal, lang)
        if ctx.triggered_id != ids.PLAN_SAVE:
            return rows, None, False, no_update
        saved = q.save_plan(engine, scope, proposal, now=current_city_now(), **_who())
    except q.PlanError as exc:
        return (no_update, dbc.Alert(explain(exc, lang), color="danger",
                                     className="testing-plan-error"), no_update, no_update)
    except (Refused, q.UnknownArea) as exc:
        return [], _refused(exc, lang), True, no_update
    done = t("tp_plan_saved", lang).format(n=len(saved))
    # Save stays enabled: a second save of the round is refused with the reason, not hidden
    return rows, dbc.Alert(done, color="success", className="testing-plan-done"), False, saved


@callback(
    Output(ids.BATCHES, "rowData"),
    Output(ids.NOTIFY_FEEDBACK, "children"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.PLAN_SAVED, "data"),
    Input(ids.NOTIFY, "n_clicks"),
    Input("shell-lang", "data"),
    State(ids.BATCHES, "selectedRows"),
    prevent_initial_call=True,
)
def batches(community, _saved, _notify, lang, selected):
    """The community's saved batches with progress; the button marks the selected one
    notified (twice is refused, naming who did it and when)."""
    lang = lang or "zh"
    if community is None:
        return [], None
    engine, scope = current_engine(), current_scope()
    feedback = None
    if ctx.triggered_id == ids.NOTIFY:
        if not selected:
            feedback = dbc.Alert(t("tp_pick_batch", lang), color="secondary")
        else:
            try:
                sms_url = current_settings().sms_url
                sms, no_phone = q.notify_batch(engine, scope, selected[0]["batch_id"],
                                               now=current_city_now(), sms_url=sms_url,
                                               **_who())
                key = "tp_notified_sms" if sms_url else "tp_notified_ok"
                feedback = dbc.Alert(t(key, lang, n=selected[0]["batch_no"], sms=sms,
                                       none=no_phone), color="success",
                                     className="testing-notify-done")
            except (q.PlanError, Refused) as exc:
                feedback = dbc.Alert(explain(exc, lang), color="danger",
                                     className="testing-notify-error")
    try:
        frame = q.batch_progress(engine, scope, community)
    except (Refused, q.UnknownArea) as exc:
        return [], _refused(exc, lang)
    return view.batch_rows(frame, lang), feedback


# -- person lists (audit-logged views) ---------------------------------------------------------

@callback(
    Output(ids.PASSES, "rowData"),
    Output(ids.SHARED, "rowData"),
    Output(ids.PASSES_NOTE, "children"),
    Input(ids.TABS, "active_tab"),
    Input(ids.DISTRICT, "value"),
    Input("shell-lang", "data"),
)
def passes(tab, district, lang):
    """Expired, invalid and shared passes, when the tab is open (each view is audit-logged)."""
    lang = lang or "zh"
    if tab != "passes" or district is None:
        return no_update, no_update, no_update
    engine, scope = current_engine(), current_scope()
    now, _ = shown_now(engine)
    hours = current_settings().pass_test_hours
    try:
        check = q.check_passes(engine, scope, district, now, hours, **_who())
    except Refused as exc:
        return [], [], view.refusal(t("scope_refused", lang) + explain(exc, lang))
    note = t("tp_passes_note", lang).format(hours=hours, n=fmt_int(check.holders),
                                            bad=fmt_int(len(check.passes)))
    return (view.pass_rows(check.passes, lang), view.shared_rows(check.shared, lang), note)


@callback(
    Output(ids.HOTELS, "rowData"),
    Output(ids.ARRIVALS, "rowData"),
    Output(ids.ARRIVALS_NOTE, "children"),
    Input(ids.TABS, "active_tab"),
    Input(ids.DISTRICT, "value"),
    Input("shell-lang", "data"),
)
def arrivals(tab, district, lang):
    """Key-area arrivals × hotels, when the tab is open (each view is audit-logged)."""
    lang = lang or "zh"
    if tab != "arrivals" or district is None:
        return no_update, no_update, no_update
    engine, scope = current_engine(), current_scope()
    now, _ = shown_now(engine)
    try:
        by_hotel, rows = q.arrivals_hotels(engine, scope, district, now, **_who())
        names = {int(r.district_id): (r.name_en if lang == "en" else r.name_zh)
                 for r in q.district_options(engine, scope).itertuples()}
    except Refused as exc:
        return [], [], view.refusal(t("scope_refused", lang) + explain(exc, lang))
    note = t("tp_arrivals_note", lang).format(n=fmt_int(len(rows)),
                                              flagged=fmt_int(int(rows["flagged"].sum())))
    return view.hotel_rows(by_hotel, names, lang), view.arrival_rows(rows, lang), note


# -- sampling sites ----------------------------------------------------------------------------

@callback(
    Output(ids.SITES, "rowData"),
    Output(ids.SITES_SPEC, "data"),
    Output(ids.SITES_NOTE, "children"),
    Input(ids.TABS, "active_tab"),
    Input(ids.DISTRICT, "value"),
    Input("shell-lang", "data"),
)
def sites(tab, district, lang):
    """Sampling sites with capacity and today's samples; drawn when the tab is open (a map in a
    hidden tab has no size)."""
    lang = lang or "zh"
    if tab != "sites" or district is None:
        return no_update, no_update, no_update
    engine, scope = current_engine(), current_scope()
    now, _ = shown_now(engine)
    try:
        frame = q.site_throughput(engine, scope, district, now)
    except Refused as exc:
        return [], EMPTY_MAP | {"target": ids.SITES_MAP}, explain(exc, lang)
    note = (t("tp_sites_note", lang).format(n=fmt_int(len(frame)),
                                            today=fmt_int(int(frame["today"].sum())))
            if len(frame) else t("tp_no_sites", lang))
    spec = view.sites_spec(frame, ids.SITES_MAP, lang, f"sites-{district}")
    return view.site_rows(frame), spec, note


clientside_callback(
    ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.SITES_DRAWN, "data"),
    Input(ids.SITES_SPEC, "data"),
)
