"""Component ids of the alerts page (prefixed `alerts-`)."""

TITLE = "alerts-title"
KPIS = "alerts-kpis"
GRID = "alerts-grid"
MESSAGE = "alerts-message"
TICK = "alerts-tick"


def kpi_value(key: str) -> dict:
    return {"type": "alerts-kpi", "index": key}
