"""Component ids of the wall page (prefixed `wall-`)."""

TITLE = "wall-title"
UPDATED = "wall-updated"
LIVE = "wall-live"
METRIC = "wall-metric"
VENUE_MODE = "wall-venue-mode"
BACK = "wall-back"
KPIS = "wall-kpis"
MAP = "wall-map"
MAP_SPEC = "wall-map-spec"
MAP_DRAWN = "wall-map-drawn"
KINDS = "wall-kinds"
FOCUS = "wall-focus"  # also set from the browser when a district is clicked (wall_map.js)
VERSION = "wall-version"
LEGEND = "wall-legend"
RANKING = "wall-ranking"
TICKER = "wall-ticker"
TICK = "wall-tick"
ROTATE = "wall-rotate"
PANELS = "wall-panels"
PANEL_MAP = "wall-panel-map"
PANEL_TRENDS = "wall-panel-trends"
PANEL_DISPATCH = "wall-panel-dispatch"
TREND_HOURLY = "wall-trend-hourly"
TREND_DAILY = "wall-trend-daily"
TREND_INDUSTRY = "wall-trend-industry"
TRENDS_TITLE = "wall-trends-title"
ATTRIBUTION = "wall-attribution"
SETTINGS = "wall-settings"


def kpi_value(key: str) -> dict:
    return {"type": "wall-kpi", "index": key}
