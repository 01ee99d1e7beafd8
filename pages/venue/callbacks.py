"""A venue's page callbacks: the code -> overview; flagged scans; unmask with a reason."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, html
from flask_login import current_user

from components.i18n import explain, t
from components.numbers import fmt_int
from components.venues import (
    daily_bars,
    flagged_columns,
    flagged_rows,
    hourly_bars,
    kind_text,
    venue_spec,
)
from components.wall import Kpi, build_kpi_row
from pages.moment import moment_text, shown_now
from pages.venue import ids
from placecode.auth.policy import Refused
from placecode.web import current_city_now, current_engine, current_scope
from queries import venues as q

SHOWN, HIDDEN = {"visibility": "visible"}, {"display": "none"}


def refusal(exc: Exception, lang: str) -> dbc.Alert:
    """What went wrong, in the viewer's language, with what to do."""
    if isinstance(exc, q.UnknownVenue):
        return dbc.Alert([html.Div(t("vp_unknown", lang), className="venue-error-title"),
                          html.Div(explain(exc, lang)), html.A(t("vp_back", lang), href="/venues")],
                         color="warning", className="venue-error")
    if isinstance(exc, Refused) and exc.key == "refused_other_district":
        return dbc.Alert(t("vp_other_district", lang), color="warning", className="venue-error")
    return dbc.Alert(t("scope_refused", lang) + explain(exc, lang), color="warning",
                     className="venue-error")


def kpis(mix: dict, lang: str) -> list:
    hidden_note = t("vp_hidden", lang) if mix["red"] is None else ""
    tiles = [Kpi("scans", t("vp_scans", lang), fmt_int(mix["scans"]), t("vp_scans_note", lang))]
    for key, tone in (("green", "neutral"), ("yellow", "warn"), ("red", "alert")):
        value = mix[key]
        share = (f"{value * 100 / mix['scans']:.1f}%" if value is not None and mix["scans"]
                 else "")
        tiles.append(Kpi(key, t(f"vp_{key}", lang), fmt_int(value), hidden_note or share,
                         tone=tone if value else "neutral"))
    return build_kpi_row(tiles, ids.kpi_value)


@callback(Output(ids.POSTER, "children"), Input("shell-lang", "data"))
def poster_label(lang):
    return t("venue_poster", lang or "zh")


@callback(
    Output(ids.MESSAGE, "children"),
    Output(ids.BODY, "style"),
    Output(ids.NAME, "children"),
    Output(ids.FACTS, "children"),
    Output(ids.BACK, "children"),
    Output(ids.AS_OF, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.HOURLY, "figure"),
    Output(ids.DAILY, "figure"),
    Output(ids.MAP_SPEC, "data"),
    Input(ids.CODE, "data"),
    Input("shell-lang", "data"),
)
def overview(code, lang):
    """Where the venue is and its numbers for the wall's day."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    as_of, snapshot = shown_now(engine)
    try:
        data = q.venue_overview(engine, scope, code, as_of.date())
    except (q.UnknownVenue, Refused) as exc:
        return (refusal(exc, lang), HIDDEN, "", "", "", "", [], {}, {}, None)
    v = data.venue
    suffix = "en" if lang == "en" else "zh"
    facts = [html.Span(v["code"], className="venue-code"),
             html.Span(kind_text(v["kind"], lang), className="venue-kind"),
             html.Span(f"{v[f'district_{suffix}']} · {v[f'subdistrict_{suffix}'] or ''}")]
    if v["mobile"]:
        facts.append(html.Span(t("vp_mobile", lang), className="venue-kind"))
    as_of_text = moment_text(as_of, snapshot, "vp_as_of", lang)
    labels = {"title": t("vp_daily", lang), "scans": t("vp_scans", lang),
              "green": t("vp_green", lang), "yellow": t("vp_yellow", lang),
              "red": t("vp_red", lang)}
    return (None, SHOWN, v["name"], facts, t("vp_back", lang), as_of_text, kpis(data.mix, lang),
            hourly_bars(data.hourly, as_of.hour, t("vp_hourly", lang)),
            daily_bars(data.daily, labels), venue_spec(v, ids.MAP, lang))


clientside_callback(
    ClientsideFunction(namespace="maps", function_name="draw"),
    Output(ids.MAP_DRAWN, "data"),
    Input(ids.MAP_SPEC, "data"),
)


@callback(
    Output(ids.FLAGGED_TITLE, "children"),
    Output(ids.FLAGGED_NOTE, "children"),
    Output(ids.GRID, "rowData"),
    Output(ids.GRID, "columnDefs"),
    Output(ids.REASON, "placeholder"),
    Output(ids.UNMASK, "children"),
    Output(ids.UNMASK, "disabled"),
    Output(ids.REASON, "disabled"),
    Output(ids.PERSONS_BODY, "style"),
    Input(ids.CODE, "data"),
    Input(ids.UNMASKED, "data"),
    Input("shell-lang", "data"),
)
def flagged(code, unmasked, lang):
    """Today's red and yellow scans, masked except where this viewer gave a reason."""
    lang = lang or "zh"
    engine, scope = current_engine(), current_scope()
    as_of, _ = shown_now(engine)
    texts = (t("vp_flagged", lang), t("vp_flagged_note", lang))
    controls = (t("vp_reason_ph", lang), t("vp_unmask", lang))
    try:
        frame = q.flagged_scans(engine, scope, code, as_of.date())
    except q.UnknownVenue:
        return (*texts, [], flagged_columns(lang), *controls, True, True, HIDDEN)
    except Refused:  # planners: the section says why it is empty, without an empty grid
        return (texts[0], t("vp_persons_refused", lang), [], flagged_columns(lang), *controls,
                True, True, HIDDEN)
    note = texts[1] if len(frame) else t("vp_no_flagged", lang)
    return (texts[0], note, flagged_rows(frame, unmasked or {}, lang), flagged_columns(lang),
            *controls, not len(frame), not len(frame), {})


@callback(
    Output(ids.UNMASKED, "data"),
    Output(ids.UNMASK_MESSAGE, "children"),
    Input(ids.UNMASK, "n_clicks"),
    State(ids.GRID, "selectedRows"),
    State(ids.REASON, "value"),
    State(ids.CODE, "data"),
    State(ids.UNMASKED, "data"),
    State("shell-lang", "data"),
    prevent_initial_call=True,
)
def unmask(_n, selected, reason, code, unmasked, lang):
    """The full person key for the selected row, read and audit-logged with the reason."""
    lang = lang or "zh"
    unmasked = dict(unmasked or {})

    def error(key: str, extra: str = ""):
        return unmasked, dbc.Alert(t(key, lang) + extra, color="danger", id="venue-unmask-error")

    if not selected:
        return error("vp_need_row")
    if len((reason or "").strip()) < q.REASON_MIN:
        return error("vp_need_reason")
    row = selected[0]
    engine, scope = current_engine(), current_scope()
    try:
        key = q.unmask(engine, scope, code, int(row["scan_row"]), reason,
                       username=current_user.username, user_id=current_user.id,
                       now=current_city_now())
    except q.ReasonError:
        return error("vp_need_reason")
    except (Refused, LookupError) as exc:
        return error("scope_refused", explain(exc, lang))
    unmasked[str(row["scan_row"])] = key
    return unmasked, dbc.Alert([t("vp_unmasked", lang), html.Code(key, className="ms-1")],
                               color="info", id="venue-unmask-done")
