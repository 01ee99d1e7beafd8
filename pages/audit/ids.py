"""Component ids of the audit page (prefixed `audit-`)."""

TITLE = "audit-title"
KPIS = "audit-kpis"
SINCE = "audit-since"
UNTIL = "audit-until"
USER = "audit-user"
ACTION = "audit-action"
TEXT = "audit-text"
APPLY = "audit-apply"
EXPORT = "audit-export"
DOWNLOAD = "audit-download"
MESSAGE = "audit-message"
COUNT = "audit-count"
GRID = "audit-grid"
LABELS = "audit-labels"


def kpi_value(key: str) -> dict:
    return {"type": "audit-kpi", "index": key}


def label(key: str) -> dict:
    return {"type": "audit-label", "index": key}
