"""Component ids of the wall page (prefixed `wall-`)."""

TITLE = "wall-title"
UPDATED = "wall-updated"
METRIC = "wall-metric"
KPIS = "wall-kpis"
MAP = "wall-map"
LEGEND = "wall-legend"
RANKING = "wall-ranking"
TICK = "wall-tick"
ATTRIBUTION = "wall-attribution"


def kpi_value(key: str) -> dict:
    return {"type": "wall-kpi", "index": key}
