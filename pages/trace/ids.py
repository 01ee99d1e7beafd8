"""Component ids of the trace page (prefixed `trace-`)."""

TITLE = "trace-title"
ID_LABEL = "trace-id-label"
ID_INPUT = "trace-id"
DAYS_LABEL = "trace-days-label"
DAYS = "trace-days"
GO = "trace-go"
QUERY = "trace-query"  # the page's URL parameters (person, alert, days, autoplay, controls)
STATE = "trace-state"  # the shown trace: token, person key, until, days
JOB = "trace-job"      # the trace being computed (pages/jobs.py): job id, and what to draw
POLL = "trace-poll"    # asks for the job's end
EXPORT_JOB = "trace-export-job"
EXPORT_POLL = "trace-export-poll"
MESSAGE = "trace-message"
KPIS = "trace-kpis"
MAP = "trace-map"
MAP_SPEC = "trace-map-spec"
MAP_SINK = "trace-map-sink"
VISITS_TITLE = "trace-visits-title"
VISITS = "trace-visits"
CONTACTS_TITLE = "trace-contacts-title"
CONTACTS_BOX = "trace-contacts-box"
CONTACTS = "trace-contacts"
SHOW = "trace-show-selected"
EXPORT_CSV = "trace-export-csv"
EXPORT_PARQUET = "trace-export-parquet"
DOWNLOAD = "trace-download"
TIERS = "trace-manage-tiers"
REASON = "trace-manage-reason"
MANAGE = "trace-manage"
MANAGE_MSG = "trace-manage-message"
GRAPH_TITLE = "trace-graph-title"
GRAPH = "trace-graph"
GRAPH_NOTE = "trace-graph-note"


def kpi_value(key: str) -> dict:
    return {"type": "trace-kpi", "index": key}
