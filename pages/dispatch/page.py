"""The dispatch board: incidents by state with their timers and next steps, the units on a map,
the day's timeline (Resgrid's "big board" for the seed's point-to-point pickup loop)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.dispatch import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/dispatch", title="placecode · dispatch", name="dispatch",
                   order=2)


def layout(**_query) -> html.Div:
    return html.Div([
        dcc.Store(id=ids.MAP_SPEC), dcc.Store(id=ids.MAP_SINK), dcc.Store(id=ids.ACTED),
        html.H1(id=ids.TITLE, className="page-title"),
        html.Div(id=ids.MESSAGE),
        dbc.Row(id=ids.KPIS, className="g-3 mb-3"),
        dbc.Row(id=ids.BOARD, className="g-2 mb-3 dispatch-board flex-nowrap"),
        dbc.Row([
            dbc.Col(html.Div(id=ids.MAP, className="pc-map"), lg=6),
            dbc.Col([html.H2(id=ids.TIMELINE_TITLE, className="panel-title"),
                     build_grid(ids.TIMELINE, height="420px")], lg=6),
        ], className="g-3"),
        html.H2(id=ids.ROLL_TITLE, className="panel-title mt-4"),
        html.Div([
            dcc.Dropdown(id=ids.ROLL_DISTRICT, clearable=False, className="roll-district"),
            dbc.Button(id=ids.ROLL_OPEN, color="primary", disabled=True),
            dbc.Button(id=ids.ROLL_EXPORT, color="secondary", outline=True),
        ], className="roll-bar"),
        html.Div(id=ids.ROLL_MESSAGE),
        dbc.Row([
            dbc.Col(build_grid(ids.ROLL_GRID, height="360px"), lg=9),
            dbc.Col(build_grid(ids.ROLL_HISTORY, height="360px"), lg=3),
        ], className="g-3 mb-4"),
        dcc.Store(id=ids.ROLL_OPENED), dcc.Download(id=ids.ROLL_DOWNLOAD),
        dcc.Interval(id=ids.TICK, interval=5000),
    ])
