"""Foot traffic by industry for economic planners: aggregates only, small cells suppressed."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.economy import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/economy", title="placecode · economy", name="economy",
                   order=6)

GRAPH = {"displayModeBar": False}


def _field(label_id: str, control, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(id=label_id, html_for=control.id, className="venues-label"),
                    control], lg=width)


def _panel(title_id: str | None, body) -> html.Div:
    head = [html.Div(id=title_id, className="panel-title")] if title_id else []
    return html.Div([*head, body], className="economy-panel")


def layout(**_query) -> html.Div:
    """Filters, four big numbers, then charts, map and tables; all filled by one callback."""
    filters = dbc.Row([
        # values present in the options from the start: Dash drops a value it cannot show
        _field(ids.PERIOD_LABEL, dcc.Dropdown(
            id=ids.PERIOD, value="28", clearable=False, searchable=False,
            options=[{"label": p, "value": p} for p in callbacks.PERIODS]), 2),
        _field(ids.DISTRICT_LABEL, dcc.Dropdown(
            id=ids.DISTRICT, value=callbacks.AREA_CITY, clearable=False, searchable=False,
            options=[{"label": "", "value": callbacks.AREA_CITY}]), 2),
        _field(ids.KIND_LABEL, dcc.Dropdown(id=ids.KIND, value=None, clearable=True,
                                            searchable=False), 2),
        dbc.Col([
            dbc.ButtonGroup([
                dbc.Button(id=ids.CSV, color="primary", size="lg"),
                dbc.Button(id=ids.PARQUET, color="secondary", outline=True, size="lg"),
            ]),
            html.Div(id=ids.DOWNLOAD_NOTE, className="economy-note"),
        ], lg=6, className="d-flex flex-column align-items-end justify-content-end"),
    ], className="g-3 mb-3 venues-filters")
    return html.Div([
        html.Div([html.H1(id=ids.TITLE, className="page-title"),
                  html.Div(id=ids.SUB, className="page-sub")], className="page-header"),
        filters,
        html.Div(id=ids.MESSAGE),
        dbc.Row(id=ids.TILES, className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(_panel(None, dcc.Graph(id=ids.TREND, config=GRAPH,
                                           className="economy-graph")), lg=8),
            dbc.Col(_panel(None, dcc.Graph(id=ids.SHARE, config=GRAPH,
                                           className="economy-graph")), lg=4),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(_panel(ids.MAP_TITLE, html.Div([
                html.Div(id=ids.MAP, className="pc-map economy-map"),
                html.Div(id=ids.LEGEND, className="economy-legend")],
                className="economy-map-wrap")), lg=6),
            dbc.Col(_panel(None, dcc.Graph(id=ids.HOURS, config=GRAPH,
                                           className="economy-graph economy-hours")), lg=6),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(_panel(ids.COMPARE_TITLE, build_grid(ids.COMPARE, "430px")), lg=7),
            dbc.Col(_panel(ids.AREAS_TITLE, build_grid(ids.AREAS, "430px")), lg=5),
        ], className="g-3 mb-4"),
        dcc.Store(id=ids.MAP_SPEC),
        dcc.Store(id=ids.MAP_DRAWN),
        dcc.Download(id=ids.DOWNLOAD),
    ])
