"""Trajectory playback and contact tracing: from a person (ID number, an alert, a venue's list)
to their visits, close and secondary contacts, exports and the management list."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.trace import callbacks, ids  # noqa: F401  (callbacks register on import)

POLL_MS = 250  # how often the page asks whether its trace or export is ready

dash.register_page(__name__, path="/trace", title="placecode · trace", name="trace", order=2)


def layout(**query) -> html.Div:
    """URL parameters: person (a pseudonymous key), alert (an alert id), days; autoplay=1 and
    controls=0 for the wall (playback starts by itself, loops, no control bar)."""
    wall = query.get("controls") == "0"
    return html.Div([
        dcc.Store(id=ids.QUERY, data={k: query.get(k) for k in
                                      ("person", "alert", "days", "autoplay", "controls")}),
        dcc.Store(id=ids.STATE),
        dcc.Store(id=ids.JOB),
        dcc.Interval(id=ids.POLL, interval=POLL_MS, disabled=True),
        dcc.Store(id=ids.EXPORT_JOB),
        dcc.Interval(id=ids.EXPORT_POLL, interval=POLL_MS, disabled=True),
        dcc.Store(id=ids.MAP_SPEC),
        dcc.Store(id=ids.MAP_SINK),
        dcc.Download(id=ids.DOWNLOAD),
        html.Div([
            html.H1(id=ids.TITLE, className="page-title"),
            dbc.InputGroup([
                dbc.InputGroupText(id=ids.ID_LABEL),
                dbc.Input(id=ids.ID_INPUT, type="text", autocomplete="off", size="lg",
                          debounce=False, className="trace-id"),
                dbc.InputGroupText(id=ids.DAYS_LABEL),
                dbc.Input(id=ids.DAYS, type="number", min=1, step=1, size="lg",
                          className="trace-days"),
                dbc.Button(id=ids.GO, color="danger", size="lg"),
            ], className="trace-form"),
        ], className="page-header trace-header", hidden=wall),
        html.Div(id=ids.MESSAGE),
        dbc.Row(id=ids.KPIS, className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(html.Div(id=ids.MAP, className="pc-map trace-map"), lg=8),
            dbc.Col([html.H2(id=ids.VISITS_TITLE, className="panel-title"),
                     build_grid(ids.VISITS, height="420px")], lg=4),
        ], className="g-3 mb-4"),
        html.Div([
            html.H2(id=ids.CONTACTS_TITLE, className="panel-title"),
            dbc.Row([
                dbc.Col(html.Div(id=ids.CONTACTS_BOX), lg=7),
                dbc.Col([
                    html.Div([
                        dbc.Button(id=ids.SHOW, color="info", outline=True, className="me-2"),
                        dbc.Button(id=ids.EXPORT_CSV, color="secondary", outline=True,
                                   className="me-2"),
                        dbc.Button(id=ids.EXPORT_PARQUET, color="secondary", outline=True),
                    ], className="mb-3"),
                    dbc.Card(dbc.CardBody([
                        dbc.RadioItems(id=ids.TIERS, value="close", inline=True,
                                       className="mb-2 trace-tiers"),
                        dbc.Input(id=ids.REASON, type="text", className="mb-2"),
                        dbc.Button(id=ids.MANAGE, color="danger"),
                        html.Div(id=ids.MANAGE_MSG, className="mt-2"),
                    ]), className="trace-manage"),
                ], lg=5),
            ], className="g-3 mb-4"),
            html.H2(id=ids.GRAPH_TITLE, className="panel-title"),
            html.Div(id=ids.GRAPH_NOTE, className="page-sub"),
            dcc.Graph(id=ids.GRAPH, className="trace-graph", config={"displaylogo": False},
                      style={"height": "640px"}),
        ], hidden=wall),
    ], className="trace-page trace-wall" if wall else "trace-page")
