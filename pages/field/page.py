"""The field page, sized for a phone: answer the morning roll-call, confirm a person held at the
venue or picked up, and set one's unit's status (Resgrid's personnel and unit status)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from pages.field import callbacks, ids  # noqa: F401  (callbacks register on import)

dash.register_page(__name__, path="/field", title="placecode · field", name="field", order=8)


def layout(**_query) -> html.Div:
    return html.Div([
        dcc.Store(id=ids.PRESENT_AT), dcc.Store(id=ids.DONE),
        html.H1(id=ids.TITLE, className="page-title"),
        html.Div(id=ids.WHO, className="field-who"),
        html.Div(id=ids.MESSAGE),
        dbc.Card(dbc.CardBody([
            html.H2(id=ids.ROLL_TITLE, className="panel-title"),
            html.Div(id=ids.ROLL_STATE, className="field-roll-state"),
            dbc.Button(id=ids.PRESENT, color="success", size="lg", className="w-100 mb-2"),
            dbc.Input(id=ids.REASON, size="lg", className="mb-2"),
            dbc.Button(id=ids.ABSENT, color="secondary", size="lg", outline=True,
                       className="w-100"),
        ]), className="field-card"),
        dbc.Card(dbc.CardBody([html.H2(id=ids.TASKS_TITLE, className="panel-title"),
                               html.Div(id=ids.TASKS)]), className="field-card"),
        dbc.Card(dbc.CardBody([html.H2(id=ids.UNIT_TITLE, className="panel-title"),
                               html.Div(id=ids.UNIT)]), className="field-card"),
        dcc.Interval(id=ids.TICK, interval=10_000),
    ], className="field-page")
