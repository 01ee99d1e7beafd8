"""One venue: where it is, its scans by hour and by day, today's verdict mix, and today's
flagged scans with persons masked until someone gives a reason (audit-logged)."""

from urllib.parse import quote

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.venue import callbacks, ids  # noqa: F401  (callbacks register on import)

# Not in the navigation: reached from the search, the wall and alerts (app.py skips templates).
dash.register_page(__name__, path_template="/venue/<code>", title="placecode · venue",
                   name="venue", order=90)

GRAPH_CONFIG = {"displayModeBar": False}


def layout(code: str | None = None, **_query) -> html.Div:
    """The skeleton; the venue's numbers arrive through callbacks keyed on `code`."""
    persons = html.Div([
        html.Div([html.H2(id=ids.FLAGGED_TITLE, className="panel-title mb-0"),
                  html.Span(id=ids.FLAGGED_NOTE, className="page-sub")],
                 className="page-header mb-2"),
        dbc.Row([
            dbc.Col(build_grid(ids.GRID, height="320px", rowSelection={
                "mode": "singleRow", "checkboxes": False, "enableClickSelection": True}),
                lg=8),
            dbc.Col([
                dbc.Input(id=ids.REASON, type="text", size="lg", autocomplete="off",
                          className="mb-2", maxLength=200),
                dbc.Button(id=ids.UNMASK, color="warning", size="lg", className="mb-2 w-100"),
                html.Div(id=ids.UNMASK_MESSAGE),
            ], lg=4),
        ], id=ids.PERSONS_BODY, className="g-3"),
    ], id=ids.PERSONS, className="venue-persons")
    body = html.Div([
        html.Div([
            html.Div([html.H1(id=ids.NAME, className="page-title mb-0"),
                      html.Div(id=ids.FACTS, className="venue-facts")]),
            html.Div([dcc.Link(id=ids.BACK, href="/venues", className="btn btn-outline-info"),
                      html.A(id=ids.POSTER, href=f"/posters/{quote(code)}.pdf" if code else "#",
                             className="btn btn-outline-light ms-2", download=True),
                      html.Div(id=ids.AS_OF, className="page-sub mt-1")],
                     className="venue-head-side"),
        ], className="venue-head"),
        dbc.Row([
            dbc.Col(html.Div(id=ids.MAP, className="pc-map venue-map"), lg=3),
            dbc.Col([
                dbc.Row(id=ids.KPIS, className="g-3 mb-3"),
                dbc.Row([
                    dbc.Col(dcc.Graph(id=ids.HOURLY, className="venue-graph",
                                      config=GRAPH_CONFIG), lg=6),
                    dbc.Col(dcc.Graph(id=ids.DAILY, className="venue-graph",
                                      config=GRAPH_CONFIG), lg=6),
                ], className="g-3"),
            ], lg=9),
        ], className="g-3 mb-3"),
        persons,
    ], id=ids.BODY, style={"visibility": "hidden"})  # laid out, so the map knows its size
    return html.Div([
        html.Div(id=ids.MESSAGE),
        body,
        dcc.Store(id=ids.CODE, data=code or ""),
        dcc.Store(id=ids.UNMASKED, data={}),
        dcc.Store(id=ids.MAP_SPEC),
        dcc.Store(id=ids.MAP_DRAWN),
    ])
