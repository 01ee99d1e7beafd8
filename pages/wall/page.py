"""The command wall: districts coloured by today's scans or flagged density, KPI tiles, legend."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from pages.wall import callbacks, ids  # noqa: F401  (callbacks register on import)
from placecode.web import refresh_ms

dash.register_page(__name__, path="/", title="placecode · wall", name="wall", order=0)


def layout(**_query) -> html.Div:
    """Static skeleton; numbers arrive from the refresh callback (no I/O here)."""
    return html.Div(
        [
            html.Div(
                [
                    html.H1(id=ids.TITLE, className="wall-title"),
                    dbc.RadioItems(
                        id=ids.METRIC, value="scans", inline=True,
                        options=[{"label": "", "value": "scans"},
                                 {"label": "", "value": "flagged"}],
                        className="wall-metric", inputClassName="btn-check",
                        labelClassName="btn btn-outline-info btn-lg",
                        labelCheckedClassName="active",
                    ),
                    html.Div(id=ids.UPDATED, className="wall-updated"),
                ],
                className="wall-header",
            ),
            dbc.Row(id=ids.KPIS, className="g-3 wall-kpis"),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Graph(id=ids.MAP, className="wall-map", style={"height": None},
                                  config={"displayModeBar": False, "responsive": True}),
                        md=8,
                    ),
                    dbc.Col(
                        [html.Div(id=ids.LEGEND), html.Div(id=ids.RANKING),
                         html.Div(id=ids.ATTRIBUTION, className="wall-attribution")],
                        md=4, className="wall-side",
                    ),
                ],
                className="g-3",
            ),
            dcc.Interval(id=ids.TICK, interval=refresh_ms()),
        ],
        className="wall",
    )
