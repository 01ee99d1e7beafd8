"""Risk-identification rules: switch strategies and parameters at run time, preview, save."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.rules import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/rules", title="placecode · rules", name="rules", order=5)


def layout(**_query) -> html.Div:
    return html.Div([
        html.Div([html.H1(id=ids.TITLE, className="page-title"),
                  html.Div(id=ids.VERSION, className="page-sub")], className="page-header"),
        html.Div(id=ids.READONLY),
        dbc.Row([
            dbc.Col(html.Div(id=ids.CARDS, className="rule-cards"), lg=7),
            dbc.Col([
                dbc.Textarea(id=ids.REASON, rows=2, className="mb-2 rules-reason"),
                html.Div([
                    dbc.Button(id=ids.PREVIEW, color="info", outline=True, size="lg",
                               className="me-2"),
                    dbc.Button(id=ids.SAVE, color="danger", size="lg"),
                ], className="mb-3"),
                html.Div(id=ids.MESSAGE),
                html.Div(id=ids.PROGRESS, className="mb-3"),
                html.Div(id=ids.PREVIEW_OUT, className="mb-3"),
                html.H2(id=ids.HISTORY_TITLE, className="panel-title"),
                build_grid(ids.HISTORY, height="320px"),
            ], lg=5),
        ], className="g-4"),
        dcc.Store(id=ids.SAVED),
        dcc.Interval(id=ids.TICK, interval=1000),
    ])
