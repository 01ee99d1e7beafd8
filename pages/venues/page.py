"""Venue search: every venue by name, code, area and kind, paged from the server, on a map."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.venues import build_infinite_grid
from pages.venues import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/venues", title="placecode · venues", name="venues", order=3)


def _field(label_id: str, control, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(id=label_id, html_for=control.id, className="venues-label"),
                    control], lg=width)


def _dropdown(id_: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, options=[], value=None, clearable=True, searchable=True,
                        className="venues-dropdown")


def layout(**_query) -> html.Div:
    """Filters, the match count, the grid and the map; everything arrives through callbacks."""
    filters = dbc.Row([
        _field(ids.NAME_LABEL, dbc.Input(id=ids.NAME, type="search", debounce=True,
                                         autocomplete="off", size="lg"), 3),
        _field(ids.CODE_LABEL, dbc.Input(id=ids.CODE, type="search", debounce=True,
                                         autocomplete="off", size="lg"), 2),
        _field(ids.DISTRICT_LABEL, _dropdown(ids.DISTRICT), 2),
        _field(ids.SUBDISTRICT_LABEL, _dropdown(ids.SUBDISTRICT), 2),
        _field(ids.KIND_LABEL, _dropdown(ids.KIND), 2),
        dbc.Col(dbc.Button(id=ids.CLEAR, color="secondary", outline=True, size="lg",
                           className="w-100"), lg=1, className="d-flex align-items-end"),
    ], className="g-3 mb-3 venues-filters")
    return html.Div([
        html.Div([html.H1(id=ids.TITLE, className="page-title"),
                  html.Div(id=ids.DAY, className="page-sub")], className="page-header"),
        filters,
        html.Div(id=ids.MESSAGE),
        html.Div([
            html.Span(id=ids.COUNT, className="venues-count"),
            html.Span(id=ids.COUNT_LABEL, className="venues-count-label"),
            html.Span(id=ids.HINT, className="venues-hint"),
        ], className="venues-count-row"),
        dbc.Row([
            dbc.Col(build_infinite_grid(ids.GRID, "calc(100vh - 290px)"), lg=7),
            dbc.Col([html.Div(id=ids.MAP, className="pc-map venues-map"),
                     html.Div(id=ids.MAP_NOTE, className="venues-map-note")], lg=5),
        ], className="g-3"),
        dcc.Store(id=ids.FILTERS, data={}),
        dcc.Store(id=ids.MAP_SPEC),
        dcc.Store(id=ids.MAP_DRAWN),
        dcc.Store(id=ids.PURGED),
        dcc.Location(id=ids.GO, refresh="callback-nav"),
    ])
