"""Pure builders for the dispatch board: one column per incident state, a card per incident with
its timer and the next steps it allows, and the board map's spec (incidents and units)."""

from __future__ import annotations

from html import escape

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.i18n import t
from placecode.dispatch.incidents import NEXT, OUTCOMES

COLUMNS = ("new", "notified", "held", "dispatched", "picked_up", "closed")
UNIT_COLOURS = {"available": [80, 200, 150, 255], "committed": [255, 192, 107, 255],
                "responding": [77, 171, 247, 255], "on_scene": [200, 150, 255, 255],
                "out_of_service": [120, 130, 145, 200]}
STEP_COLOURS = {"notified": "secondary", "held": "warning", "dispatched": "danger",
                "picked_up": "info", "closed": "success", "cancelled": "secondary"}


def act_id(incident_id: int, to: str, version: int, page: str = "dispatch") -> dict:
    """A step button's id carries the version the officer saw: a stale click is refused."""
    return {"type": f"{page}-act", "incident": incident_id, "to": to, "version": version}


def _field(kind: str, incident_id: int) -> dict:
    return {"type": f"dispatch-{kind}", "incident": incident_id}


def incident_card(row, lang: str, suggested: pd.DataFrame | None, page: str = "dispatch",
                  only: tuple[str, ...] | None = None) -> dbc.Card:
    """The card: venue, person (masked), minutes in this state (red when overdue), and the
    steps this state allows (`only`: those this viewer may take, e.g. field staff)."""
    timer = f"{row.minutes} {t('minutes', lang)}"
    body = [
        html.Div(row.venue_name, className="dispatch-venue"),
        html.Div([html.Span(row.venue_code), " · ", html.Span(row.person)],
                 className="dispatch-sub"),
        html.Div([html.Span(timer, className="dispatch-timer"),
                  html.Span(f" · {row.unit_code}" if isinstance(row.unit_code, str) else "")],
                 className="dispatch-time"),
    ]
    allowed = [s for s in NEXT.get(row.state, ()) if only is None or s in only]
    steps = [s for s in allowed if s != "cancelled"]
    if "dispatched" in steps and suggested is not None:
        options = [{"label": f"{u.code} {u.name} · {u.km:.1f} km", "value": int(u.unit_id)}
                   for u in suggested.itertuples()]
        body.append(dcc.Dropdown(id=_field("unit", row.incident_id), options=options,
                                 value=options[0]["value"] if options else None,
                                 clearable=False, className="dispatch-unit",
                                 placeholder=t("no_unit", lang)))
    if "closed" in steps:
        body.append(dcc.Dropdown(id=_field("outcome", row.incident_id), clearable=False,
                                 options=[{"label": t(f"outcome_{o}", lang), "value": o}
                                          for o in OUTCOMES],
                                 value=OUTCOMES[0], className="dispatch-outcome"))
    buttons = [dbc.Button(t(f"step_{s}", lang), id=act_id(row.incident_id, s, row.version, page),
                          color=STEP_COLOURS[s], size="sm", className="me-1")
               for s in steps if s != "notified"]  # the pushes do that one
    if "cancelled" in allowed:
        body.append(dbc.Input(id=_field("note", row.incident_id), size="sm",
                              placeholder=t("cancel_reason", lang), className="mt-1"))
        buttons.append(dbc.Button(t("step_cancelled", lang), outline=True, color="secondary",
                                  size="sm", id=act_id(row.incident_id, "cancelled",
                                                       row.version, page)))
    if buttons:
        body.append(html.Div(buttons, className="dispatch-buttons"))
    tone = " dispatch-overdue" if row.overdue else ""
    return dbc.Card(dbc.CardBody(body), className=f"dispatch-card{tone}",
                    id={"type": "dispatch-card", "incident": int(row.incident_id)})


def board_columns(frame: pd.DataFrame, lang: str,
                  suggested: dict[int, pd.DataFrame]) -> list[dbc.Col]:
    """Kanban columns with their counts; finished incidents of today under 'closed'."""
    cols = []
    for state in COLUMNS:
        mine = frame[frame["state"].isin(("closed", "cancelled"))] if state == "closed" \
            else frame[frame["state"] == state]
        cards = [incident_card(r, lang, suggested.get(int(r.incident_id)))
                 for r in mine.itertuples()]
        cols.append(dbc.Col([
            html.Div([html.Span(t(f"col_state_{state}", lang)),
                      html.Span(str(len(mine)), className="dispatch-count")],
                     className="dispatch-col-head"),
            html.Div(cards, className="dispatch-col-body"),
        ], className="dispatch-col", id={"type": "dispatch-col", "state": state}))
    return cols


def map_spec(target: str, incidents: pd.DataFrame, units: pd.DataFrame, lang: str) -> dict:
    points = [{"lon": u.lon, "lat": u.lat, "r": 6,
               "colour": UNIT_COLOURS.get(u.status, [160, 160, 160, 255]),
               "tip": f"<b>{escape(u.name)}</b><br>{escape(u.code)} · "
                      f"{t('unit_' + u.status, lang)}"}
              for u in units.itertuples()]
    live = incidents[~incidents["state"].isin(("closed", "cancelled"))]
    points += [{"lon": r.lon, "lat": r.lat, "r": 11,
                "colour": [255, 77, 79, 255] if not r.overdue else [255, 20, 20, 255],
                "tip": f"<b>{escape(r.venue_name)}</b><br>{t('col_state_' + r.state, lang)} · "
                       f"{r.minutes} {t('minutes', lang)}"} for r in live.itertuples()]
    return {"target": target, "theme": "dark", "points": points}


def wall_panel(summary: dict, lang: str) -> list:
    """The wall's dispatch panel: big counts per state, the overdue incidents, units, and the
    roll-call, readable across the room."""
    states = [html.Div([html.Div(t(f"col_state_{s}", lang), className="wd-label"),
                        html.Div(str(summary["states"].get(s, 0)), className="wd-value")],
                       className="wd-state") for s in COLUMNS[:-1]]
    overdue = [html.Div([html.Span(f"{r['minutes']} {t('minutes', lang)}",
                                   className="wd-late"),
                         html.Span(f" {r['venue']} · {t('col_state_' + r['state'], lang)}")],
                        className="wd-row") for r in summary["overdue"]]
    units = summary["units"]
    roll = [html.Div([html.Span(name, className="wd-area"),
                      html.Span(t("wd_roll_closed", lang) if present is None
                                else f"{present}/{expected}", className="wd-count")],
                     className="wd-row") for name, present, expected in summary["roll_call"]]
    return [
        html.H2(t("dispatch_title", lang), className="trends-title"),
        html.Div(states, className="wd-states"),
        html.Div([
            html.Div([html.H3(t("kpi_overdue", lang), className="wd-head"),
                      *(overdue or [html.Div(t("wd_none_overdue", lang), className="wd-row")])],
                     className="wd-box"),
            html.Div([html.H3(t("kpi_units_available", lang), className="wd-head"),
                      html.Div(f"{units.get('available', 0)}/{sum(units.values())}",
                               className="wd-value"),
                      html.Div(t("kpi_units_busy_note", lang) + " " + str(sum(
                          units.get(k, 0) for k in ("committed", "responding", "on_scene"))),
                               className="wd-row")], className="wd-box"),
            html.Div([html.H3(t("roll_title", lang), className="wd-head"), *roll],
                     className="wd-box"),
        ], className="wd-grid"),
    ]
