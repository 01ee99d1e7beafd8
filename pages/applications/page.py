"""Applications for venue codes: the district reviews each (approve issues the code, refuse
tells the operator why)."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.grid import build_grid
from pages.applications import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/applications", title="placecode · applications",
                   name="applications", order=4)


def layout(**_query) -> html.Div:
    return html.Div([
        html.Div([
            html.Div([html.H1(id=ids.TITLE, className="page-title mb-0"),
                      html.Div(id=ids.SUB, className="page-sub")]),
            html.A(id=ids.FORM_LINK, href="/apply", target="_blank",
                   className="btn btn-outline-info"),
        ], className="venue-head"),
        dbc.Row([
            dbc.Col(dbc.Select(id=ids.STATE, value="pending", size="lg"), md=3),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(build_grid(ids.GRID, height="calc(100vh - 330px)", rowSelection={
                "mode": "singleRow", "checkboxes": False, "enableClickSelection": True}),
                lg=9),
            dbc.Col([
                dbc.Button(id=ids.APPROVE, color="success", size="lg", className="mb-3 w-100"),
                dbc.Input(id=ids.REASON, type="text", size="lg", autocomplete="off",
                          className="mb-2", maxLength=300),
                dbc.Button(id=ids.REFUSE, color="danger", size="lg", outline=True,
                           className="mb-3 w-100"),
                html.Div(id=ids.MESSAGE),
            ], lg=3),
        ], className="g-3"),
    ])
