"""Alerts and their pushes: what was refused where, and whether HQ and community have it."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.alerts import callbacks, ids  # noqa: F401  (callbacks register on import)
from placecode.web import refresh_ms

dash.register_page(__name__, path="/alerts", title="placecode · alerts", name="alerts", order=1)


def layout(**_query) -> html.Div:
    return html.Div([
        html.H1(id=ids.TITLE, className="page-title"),
        html.Div(id=ids.MESSAGE),
        dbc.Row(id=ids.KPIS, className="g-3 mb-3"),
        build_grid(ids.GRID, height="calc(100vh - 330px)"),
        dcc.Interval(id=ids.TICK, interval=refresh_ms()),
    ])
