"""Component ids of the dispatch board (prefixed `dispatch-`)."""

TITLE = "dispatch-title"
KPIS = "dispatch-kpis"
MESSAGE = "dispatch-message"
BOARD = "dispatch-board"
MAP = "dispatch-map"
MAP_SPEC = "dispatch-map-spec"
MAP_SINK = "dispatch-map-sink"
TIMELINE_TITLE = "dispatch-timeline-title"
TIMELINE = "dispatch-timeline"
TICK = "dispatch-tick"
ACTED = "dispatch-acted"  # bumped after a step, so the board redraws at once
ROLL_TITLE = "dispatch-roll-title"
ROLL_DISTRICT = "dispatch-roll-district"
ROLL_OPEN = "dispatch-roll-open"
ROLL_EXPORT = "dispatch-roll-export"
ROLL_DOWNLOAD = "dispatch-roll-download"
ROLL_MESSAGE = "dispatch-roll-message"
ROLL_GRID = "dispatch-roll-grid"
ROLL_HISTORY = "dispatch-roll-history"
ROLL_OPENED = "dispatch-roll-opened"


def kpi_value(key: str) -> dict:
    return {"type": "dispatch-kpi", "index": key}
