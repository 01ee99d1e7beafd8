"""Testing progress and cross-checks: residents × tests per community and building, batch
plans for the next round, volunteer passes, key-area arrivals × hotels, sampling sites."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid import build_grid
from pages.testing import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/testing", title="placecode · testing", name="testing",
                   order=5)

ROW = {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}


def _kpi(name: str) -> dbc.Col:
    return dbc.Col(html.Div([html.Div(id=ids.kpi_label(name), className="kpi-label"),
                             html.Div("–", id=ids.kpi(name), className="kpi-value")],
                            className=f"kpi-tile testing-kpi testing-kpi-{name}"))


def _field(label_id: str, control, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(id=label_id, className="venues-label"), control], lg=width)


def _title(id_: str) -> html.H2:
    return html.H2(id=id_, className="panel-title testing-panel-title")


def _progress() -> html.Div:
    return dbc.Row([
        dbc.Col([_title(ids.COMMUNITIES_TITLE),
                 build_grid(ids.COMMUNITIES, "calc(100vh - 420px)", rowSelection=ROW,
                            getRowId="params.data.community_id")], lg=5),
        dbc.Col([_title(ids.BUILDINGS_TITLE),
                 build_grid(ids.BUILDINGS, "calc(100vh - 420px)",
                            getRowId="params.data.building_id")], lg=4),
        dbc.Col([html.Div(id=ids.MAP, className="pc-map testing-map"),
                 html.Div(id=ids.LEGEND, className="testing-legend")], lg=3),
    ], className="g-3 mt-1")


def _plan() -> html.Div:
    controls = dbc.Row([
        _field(ids.PLAN_START_LABEL, dbc.Input(id=ids.PLAN_START, type="datetime-local",
                                               size="lg"), 3),
        _field(ids.PLAN_SLOT_LABEL, dbc.Input(id=ids.PLAN_SLOT, type="number", min=5, max=240,
                                              step=5, value=30, size="lg"), 2),
        _field(ids.PLAN_BATCHES_LABEL, dbc.Input(id=ids.PLAN_BATCHES, type="number", min=1,
                                                 max=40, step=1, value=4, size="lg"), 2),
        dbc.Col(dbc.Button(id=ids.PLAN_PREVIEW, color="primary", size="lg", className="w-100"),
                lg=2, className="d-flex align-items-end"),
        dbc.Col(dbc.Button(id=ids.PLAN_SAVE, color="success", size="lg", className="w-100",
                           disabled=True), lg=2, className="d-flex align-items-end"),
    ], className="g-3 mb-2")
    return html.Div([
        _title(ids.PLAN_TITLE), controls, html.Div(id=ids.PLAN_FEEDBACK),
        dbc.Row([
            dbc.Col(build_grid(ids.PLAN_MESSAGES, "calc(100vh - 500px)"), lg=6),
            dbc.Col([
                html.Div([_title(ids.BATCHES_TITLE),
                          dbc.Button(id=ids.NOTIFY, color="warning", size="lg",
                                     className="testing-notify")],
                         className="d-flex justify-content-between align-items-center"),
                html.Div(id=ids.NOTIFY_FEEDBACK),
                build_grid(ids.BATCHES, "calc(100vh - 560px)", rowSelection=ROW,
                           getRowId="params.data.batch_id"),
            ], lg=6),
        ], className="g-3"),
        dcc.Store(id=ids.PLAN_SAVED),
    ], className="mt-2")


def _passes() -> html.Div:
    return html.Div([
        html.Div(id=ids.PASSES_NOTE, className="page-sub mb-2"),
        dbc.Row([
            dbc.Col([_title(ids.PASSES_TITLE),
                     build_grid(ids.PASSES, "calc(100vh - 470px)")], lg=6),
            dbc.Col([_title(ids.SHARED_TITLE),
                     build_grid(ids.SHARED, "calc(100vh - 470px)")], lg=6),
        ], className="g-3"),
    ], className="mt-2")


def _arrivals() -> html.Div:
    return html.Div([
        html.Div(id=ids.ARRIVALS_NOTE, className="page-sub mb-2"),
        dbc.Row([
            dbc.Col([_title(ids.HOTELS_TITLE),
                     build_grid(ids.HOTELS, "calc(100vh - 470px)")], lg=4),
            dbc.Col([_title(ids.ARRIVALS_TITLE),
                     build_grid(ids.ARRIVALS, "calc(100vh - 470px)")], lg=8),
        ], className="g-3"),
    ], className="mt-2")


def _sites() -> html.Div:
    return html.Div([
        html.Div(id=ids.SITES_NOTE, className="page-sub mb-2"),
        dbc.Row([
            dbc.Col(html.Div(id=ids.SITES_MAP, className="pc-map testing-sites-map"), lg=7),
            dbc.Col(build_grid(ids.SITES, "calc(100vh - 460px)"), lg=5),
        ], className="g-3"),
    ], className="mt-2")


def layout(**_query) -> html.Div:
    """Filters, headline numbers and five tabs; everything arrives through callbacks."""
    filters = dbc.Row([
        _field(ids.DISTRICT_LABEL, dcc.Dropdown(id=ids.DISTRICT, options=[], clearable=False,
                                                className="venues-dropdown"), 2),
        _field(ids.COMMUNITY_LABEL, dcc.Dropdown(id=ids.COMMUNITY, options=[], clearable=True,
                                                 searchable=True,
                                                 className="venues-dropdown"), 3),
        dbc.Col(dbc.Row([_kpi(name) for name in ids.KPIS], className="g-2"), lg=7),
    ], className="g-3 mb-2 align-items-end")
    tabs = dbc.Tabs([
        dbc.Tab(_progress(), tab_id="progress", id="testing-tab-progress"),
        dbc.Tab(_plan(), tab_id="plan", id="testing-tab-plan"),
        dbc.Tab(_passes(), tab_id="passes", id="testing-tab-passes"),
        dbc.Tab(_arrivals(), tab_id="arrivals", id="testing-tab-arrivals"),
        dbc.Tab(_sites(), tab_id="sites", id="testing-tab-sites"),
    ], id=ids.TABS, active_tab="progress", className="testing-tabs")
    return html.Div([
        html.Div([html.H1(id=ids.TITLE, className="page-title"),
                  html.Div(id=ids.DAY, className="page-sub")], className="page-header"),
        filters,
        html.Div(id=ids.MESSAGE),
        tabs,
        dcc.Store(id=ids.MAP_SPEC),
        dcc.Store(id=ids.MAP_DRAWN),
        dcc.Store(id=ids.SITES_SPEC),
        dcc.Store(id=ids.SITES_DRAWN),
    ], className="testing-page")
