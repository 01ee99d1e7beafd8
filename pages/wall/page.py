"""The command wall: every venue and the districts on one deck.gl map, KPI tiles, ranking,
incident ticker; live, and in kiosk mode rotating between the map, a trends panel and the
dispatch panel.

/wall?kiosk=1&rotate=30 hides the navigation and rotates every 30 s; &theme=light is the desk style.
"""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from pages.wall import callbacks, ids  # noqa: F401  (callbacks register on import)
from placecode.web import refresh_ms

dash.register_page(__name__, path="/", title="placecode · wall", name="wall", order=0)

PANELS = ("map", "trends", "dispatch")  # only when rotating
ROTATE_RANGE = (5, 3600)


def _radio(id_: str, value: str, values: list[str]) -> dbc.RadioItems:
    return dbc.RadioItems(
        id=id_, value=value, inline=True, options=[{"label": "", "value": v} for v in values],
        className="wall-switch", inputClassName="btn-check",
        labelClassName="btn btn-outline-info btn-lg", labelCheckedClassName="active")


def rotate_seconds(raw: str | None) -> tuple[int | None, str]:
    """`rotate` from the URL: seconds between panels, or (None, why it was ignored)."""
    if raw in (None, "", "0"):
        return None, ""
    try:
        seconds = int(raw)
    except ValueError:
        return None, f"rotate={raw!r} ignored: give whole seconds, e.g. rotate=30"
    low, high = ROTATE_RANGE
    if not low <= seconds <= high:
        return None, f"rotate={seconds} ignored: give {low} to {high} seconds"
    return seconds, ""


def layout(rotate: str | None = None, theme: str | None = None, **_query) -> html.Div:
    """Static skeleton; numbers arrive from the callbacks (no I/O here)."""
    seconds, rotate_error = rotate_seconds(rotate)
    theme = "light" if theme == "light" else "dark"
    # the graphs arrive from the trends callback once plotly.js is loaded (wall_map.js retries
    # it); a graph mounted before would leave it to Dash's loader, which gives up for good
    trends = html.Div([
        html.H2(id=ids.TRENDS_TITLE, className="trends-title"),
        html.Div(id=ids.TREND_GRID, className="trend-grid"),
        dcc.Store(id=ids.PLOTLY_READY, data=False),
    ], id=ids.PANEL_TRENDS, className="wall-panel")
    dispatch = html.Div(id=ids.PANEL_DISPATCH, className="wall-panel wall-dispatch")
    board = html.Div([
        html.Div([
            html.Div(id=ids.MAP, className=f"wall-map wall-map-{theme}"),
            html.Div(id=ids.KINDS),
        ], className="wall-map-col"),
        html.Div([html.Div(id=ids.LEGEND), html.Div(id=ids.RANKING), html.Div(id=ids.TICKER),
                  html.Div(id=ids.ATTRIBUTION, className="wall-attribution")],
                 className="wall-side"),
    ], id=ids.PANEL_MAP, className="wall-panel wall-board")
    return html.Div(
        [
            html.Div(
                [
                    html.H1(id=ids.TITLE, className="wall-title"),
                    _radio(ids.METRIC, "scans", ["scans", "flagged", "alerts"]),
                    _radio(ids.VENUE_MODE, "kind", ["kind", "flagged"]),
                    dbc.Button(id=ids.BACK, color="warning", outline=True, size="lg",
                               className="wall-back", style={"display": "none"}),
                    html.Div([html.Div(id=ids.LIVE, className="wall-live"),
                              html.Div(id=ids.UPDATED, className="wall-updated")],
                             className="wall-status"),
                ],
                className="wall-header",
            ),
            html.Div(rotate_error, className="wall-url-error") if rotate_error else None,
            dbc.Row(id=ids.KPIS, className="g-3 wall-kpis"),
            # without rotation only the map is reachable: the other panels (and plotly) stay out
            html.Div([board, trends, dispatch] if seconds else [board], id=ids.PANELS,
                     className="wall-panels show-map"),
            dcc.Store(id=ids.SETTINGS, data={"theme": theme, "rotate": seconds,
                                             "panels": list(PANELS if seconds else PANELS[:1])}),
            dcc.Store(id=ids.FOCUS, data=None),
            dcc.Store(id=ids.VERSION, data=None),
            dcc.Store(id=ids.MAP_SPEC),
            dcc.Store(id=ids.MAP_DRAWN),
            dcc.Interval(id=ids.TICK, interval=refresh_ms()),
            dcc.Interval(id=ids.ROTATE, interval=(seconds or 30) * 1000, disabled=seconds is None),
        ],
        className=f"wall wall-{theme}",
    )
