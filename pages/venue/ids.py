"""Component ids of a venue's page (prefixed `venue-`)."""

CODE = "venue-code"
MESSAGE = "venue-message"
BODY = "venue-body"
BACK = "venue-back"
POSTER = "venue-poster"
NAME = "venue-name"
FACTS = "venue-facts"
AS_OF = "venue-as-of"
MAP = "venue-map"
MAP_SPEC = "venue-map-spec"
MAP_DRAWN = "venue-map-drawn"
KPIS = "venue-kpis"
HOURLY = "venue-hourly"
DAILY = "venue-daily"
FLAGGED_TITLE = "venue-flagged-title"
FLAGGED_NOTE = "venue-flagged-note"
PERSONS = "venue-persons"
PERSONS_BODY = "venue-persons-body"
GRID = "venue-grid"
REASON = "venue-reason"
UNMASK = "venue-unmask"
UNMASK_MESSAGE = "venue-unmask-message"
UNMASKED = "venue-unmasked"


def kpi_value(key: str) -> dict:
    return {"type": "venue-kpi", "index": key}
