"""The audit log for the admin: who looked at whom, what was exported, changed or refused."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.audit import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/audit", title="placecode · audit", name="audit", order=9)

FILTERS = ("since", "until", "user", "action", "text")


def _field(key: str, control) -> dbc.Col:
    return dbc.Col([dbc.Label(id=ids.label(key), html_for=f"audit-{key}"), control], md=2)


def layout(**_query) -> html.Div:
    return html.Div([
        html.H1(id=ids.TITLE, className="page-title"),
        dbc.Row(id=ids.KPIS, className="g-3 mb-3"),
        dbc.Row([
            _field("since", dbc.Input(id=ids.SINCE, type="date")),
            _field("until", dbc.Input(id=ids.UNTIL, type="date")),
            _field("user", dbc.Input(id=ids.USER, type="text", maxLength=64)),
            _field("action", dbc.Select(id=ids.ACTION)),
            _field("text", dbc.Input(id=ids.TEXT, type="text", maxLength=100)),
            dbc.Col([dbc.Button(id=ids.APPLY, color="primary", size="lg", className="me-2"),
                     dbc.Button(id=ids.EXPORT, color="secondary", size="lg", outline=True)],
                    md=2, className="d-flex align-items-end"),
        ], className="g-3 mb-3"),
        html.Div(id=ids.MESSAGE),
        html.Div(id=ids.COUNT, className="text-secondary mb-2"),
        build_grid(ids.GRID, height="calc(100vh - 420px)"),
        dcc.Download(id=ids.DOWNLOAD),
    ])
