"""The machine API's published contract: an OpenAPI 3.1 document built from the same constants
the routes check (batch size, credentials, feed columns, field steps), so the two cannot drift.
Served at /api/v1/openapi.json and rendered offline at /api/v1/docs; fuzzed by schemathesis in
`make test` (tests/api/test_openapi_fuzz.py)."""

from __future__ import annotations

from typing import Any

from placecode.dispatch.board import FIELD_STEPS
from placecode.ingest.feeds import FEEDS, Col
from placecode.ingest.scans import CREDENTIALS, MAX_BATCH, MAX_STAY

REF = "#/components/schemas/"
TIME = {"type": "string", "maxLength": 40,
        "description": "ISO 8601 with a UTC offset, years 2000–2100",
        "examples": ["2026-11-20T08:01:12+08:00"]}
TEXT_RULE = ("Text is valid Unicode without control characters (C0/C1, bidi controls, lone "
             "surrogates); an item that breaks a rule is answered by itself, naming the field.")


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _json(schema: dict, description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}
            } | extra


ERROR = {
    "type": "object", "required": ["error"],
    "properties": {
        "error": {"type": "object", "required": ["message"], "properties": {
            "message": {"type": "string"}, "field": {"type": "string"}}},
        "retryable": {"type": "boolean"}, "retry_after_s": {"type": "integer"},
    },
}
SCAN = {
    "type": "object", "additionalProperties": False,
    "required": ["scan_id", "venue_code", "person", "ts"],
    "description": "One entry at a venue. " + TEXT_RULE,
    "properties": {
        "scan_id": {"type": "string", "minLength": 1, "maxLength": 64,
                    "description": "The device's own id for this scan: a repeat is answered "
                                   "with the first verdict and stored once."},
        "venue_code": {"type": "string", "minLength": 1, "maxLength": 32},
        "person": {"type": "string", "minLength": 4, "maxLength": 64,
                   "description": "ID number or app token; pseudonymised on arrival, never "
                                  "stored."},
        "ts": TIME | {"description": "Entry time; at most a day ahead, within the retention "
                                     "window."},
        "checkout_ts": {"type": ["string", "null"], "maxLength": 40,
                        "description": f"Not before ts, at most {MAX_STAY.days} day after it."},
        "temperature_c": {"type": ["number", "null"], "minimum": 30, "maximum": 45},
        "mask": {"type": ["boolean", "null"]},
        "credential": {"enum": [*CREDENTIALS, None]},
    },
    "examples": [{"scan_id": "dev17-20261120-000001", "venue_code": "371002S000001",
                  "person": "370102198806151239", "ts": "2026-11-20T08:01:12+08:00",
                  "temperature_c": 36.4, "mask": True, "credential": "app"}],
}
REASON = {"type": "object", "required": ["rule", "message_zh", "message_en"], "properties": {
    "rule": {"type": "string"}, "message_zh": {"type": "string"},
    "message_en": {"type": "string"}}}
VERDICT = {"type": "object", "required": ["scan_id", "verdict", "reasons"], "properties": {
    "scan_id": {"type": "string"}, "verdict": {"enum": ["green", "yellow", "red"]},
    "reasons": {"type": "array", "items": _ref("Reason")}}}
REJECTED = {"type": "object", "required": ["scan_id", "status", "error"], "properties": {
    "scan_id": {"type": ["string", "null"],
                "description": "null when the sent scan_id itself is not clean text"},
    "status": {"enum": [409, 422]},
    "error": {"type": "object", "required": ["field", "message"], "properties": {
        "field": {"type": "string"}, "message": {"type": "string"}}}}}
BATCH = {"type": "object", "required": ["results", "accepted", "rejected"], "properties": {
    "results": {"type": "array", "items": {"anyOf": [_ref("Verdict"), _ref("ScanRejected")]},
                "description": "One per sent scan, in order."},
    "accepted": {"type": "integer", "minimum": 0}, "rejected": {"type": "integer", "minimum": 0}}}
REPORT = {"type": "object", "required": ["kind", "rows", "valid", "new", "rejected",
                                         "rejected_count"], "properties": {
    "kind": {"type": "string"}, "rows": {"type": "integer"}, "valid": {"type": "integer"},
    "new": {"type": "integer"}, "rejected_count": {"type": "integer"},
    "rejected": {"type": "array", "description": "The first 1,000 rejected rows.",
                 "items": {"type": "object", "required": ["line", "column", "reason"],
                           "properties": {"line": {"type": "integer", "minimum": 1},
                                          "column": {"type": "string"},
                                          "reason": {"type": "string"}}}}}}
DENYLIST = {"type": "object", "required": ["as_of", "full", "next_since", "entries"],
            "properties": {
    "as_of": {"type": "string", "description": "City time of the answer"},
    "full": {"type": "boolean", "description": "true without since: every active entry"},
    "next_since": {"type": "integer", "minimum": 0,
                   "description": "Send it as since next time to get only what changed"},
    "entries": {"type": "array", "items": {
        "type": "object", "required": ["person_key", "reasons", "since", "active"],
        "properties": {"person_key": {"type": "string"},
                       "reasons": {"type": "array", "items": {"type": "string"}},
                       "since": {"type": "string"}, "active": {"type": "boolean"}}}}}}
STEP_IN = {"type": "object", "required": ["to"], "additionalProperties": False, "properties": {
    "to": {"enum": list(FIELD_STEPS)}, "note": {"type": ["string", "null"], "maxLength": 300}},
    "examples": [{"to": "held", "note": "在前台等候"}]}
STEP_OUT = {"type": "object", "required": ["incident_id", "state", "version"], "properties": {
    "incident_id": {"type": "integer"}, "state": {"type": "string"},
    "version": {"type": "integer"}}}

COLUMN_TYPES = {
    "int": {"type": ["integer", "string"]}, "float": {"type": ["number", "string"]},
    "bool": {"type": ["boolean", "string"]}, "building": {"type": ["integer", "string"]},
}


def _column(col: Col) -> dict:
    schema = dict(COLUMN_TYPES.get(col.kind, {"type": "string"}))
    if col.choices:
        schema = {"enum": list(col.choices)}
    notes = {"time": "ISO 8601 time (an offset, or city time without one)",
             "date": "YYYY-MM-DD", "person": "ID number or app token (pseudonymised)",
             "venue": "a registered venue code", "building": "a known building id"}
    if col.kind in notes:
        schema["description"] = notes[col.kind]
    if col.low is not None:
        schema["description"] = f"{col.low:g}–{col.high:g}"
    if col.after:
        schema["description"] = schema.get("description", "") + f"; not before {col.after}"
    return schema


PERSON_EXAMPLE = "370102198806151239"
FEED_EXAMPLES = {  # the first row of each sample in tests/data/feeds (docs/feeds.md)
    "scans": {"scan_id": "dev17-20261120-000001", "venue_code": "371002S000001",
              "person": PERSON_EXAMPLE, "ts": "2026-11-20T08:01:12+08:00",
              "temperature_c": 36.4, "mask": True, "credential": "app"},
    "health_codes": {"person": PERSON_EXAMPLE, "colour": "yellow",
                     "since": "2026-11-20T09:00:00+08:00", "reason": "key_area_arrival"},
    "tests": {"person": PERSON_EXAMPLE, "kind": "nucleic",
              "sampled_at": "2026-11-21T08:20:00+08:00", "result": "negative",
              "site": "采样点012", "lab": "市疾控中心实验室"},
    "vaccinations": {"person": PERSON_EXAMPLE, "dose": 1, "vaccinated_on": "2021-05-10"},
    "arrivals": {"person": "370102199507070018", "arrived_at": "2026-11-19T21:40:00+08:00",
                 "origin": "上海", "key_area": True, "stay_kind": "hotel",
                 "address": "环翠区宾馆0001号", "monitoring_days": 7},
    "hotel_stays": {"person": "370102199507070018", "hotel_code": "371002T000001",
                    "check_in": "2026-11-19T22:10:00+08:00"},
    "rosters": {"person": PERSON_EXAMPLE, "building_id": 1},
    "volunteer_passes": {"pass_id": "VP9000001", "person": PERSON_EXAMPLE,
                         "organisation": "社区志愿者", "issued_on": "2026-11-15",
                         "expires_on": "2026-12-15"},
    "venues": {"code": "371002P900001", "name": "环翠区幸福便利店", "kind": "shop",
               "lon": 122.12, "lat": 37.5},
}


def _feed_row(kind: str) -> dict:
    feed = FEEDS[kind]
    return {"type": "object", "additionalProperties": False, "examples": [FEED_EXAMPLES[kind]],
            "required": [c.name for c in feed.columns if c.required],
            "properties": {c.name: _column(c) for c in feed.columns}}


def _errors(*codes: int) -> dict:
    words = {400: "The request as a whole cannot be read (the message says why)",
             401: "No token, or an unknown or revoked one", 403: "A token of another kind",
             404: "No such route or resource", 409: "The step cannot be taken now",
             413: "Body or batch too large", 503: "Database unavailable: retry after "
                                                  "Retry-After seconds with the same content"}
    return {str(c): _json(_ref("Error"), words[c]) for c in codes}


TAGS = {"deviceToken": "devices", "feedToken": "feeds", "partnerToken": "partners",
        None: "service"}


def _operation(summary: str, token: str | None, body: dict | None, responses: dict,
               description: str = "", **extra) -> dict:
    op: dict[str, Any] = {"summary": summary, "responses": responses,
                          "tags": [TAGS[token]]} | extra
    if description:
        op["description"] = description
    if token:
        op["security"] = [{token: []}]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": body}}}
    return op


def document() -> dict:
    """The OpenAPI 3.1 document of every /api/v1 route and /healthz."""
    feeds = {
        f"/api/v1/feeds/{kind}": {"post": _operation(
            f"Load {kind} rows", "feedToken",
            {"type": "array", "items": _ref(f"Feed_{kind}"), "maxItems": 100_000},
            {"200": _json(_ref("ImportReport"), "Rows loaded; bad rows by line and column"),
             **_errors(400, 401, 403, 413, 503)},
            "Same columns and checks as `placecode import " + kind + "` (docs/feeds.md). "
            "Re-sending rows changes nothing. " + TEXT_RULE, operationId=f"feed_{kind}")}
        for kind in FEEDS}
    return {
        "openapi": "3.1.0",
        "info": {"title": "placecode machine API", "version": "1",
                 "description": "Scans from venue devices, feeds from health systems, the deny "
                                "list for partners, incident steps from venue devices. Every "
                                "route needs a bearer token of its kind (`placecode "
                                "issue-token --kind device|feed|partner`). Bad input is "
                                "answered with JSON naming the field; never a 500."},
        "servers": [{"url": "/"}],
        "tags": [{"name": "devices", "description": "Venue scanners and sentinel gates"},
                 {"name": "feeds", "description": "Health systems (docs/feeds.md)"},
                 {"name": "partners", "description": "Bus company, communities"},
                 {"name": "service", "description": "For monitoring"}],
        "paths": {
            "/api/v1/scans": {"post": _operation(
                "Send one scan or a batch, get each verdict", "deviceToken",
                {"anyOf": [_ref("Scan"), {"type": "array", "items": _ref("Scan"),
                                          "minItems": 1, "maxItems": MAX_BATCH}]},
                {"200": _json({"anyOf": [_ref("Verdict"), _ref("Batch")]},
                              "A verdict (one scan) or one result per scan (a batch): "
                              "bad items are answered by themselves, the good ones stored"),
                 "409": _json(_ref("ScanRejected"), "One scan: scan_id used for another scan"),
                 "422": _json(_ref("ScanRejected"), "One scan: a field is wrong"),
                 **_errors(400, 401, 403, 413, 503)},
                f"At most {MAX_BATCH} scans and 1 MiB a request. A repeated scan_id gets the "
                "first verdict back and is stored once.", operationId="post_scans")},
            **feeds,
            "/api/v1/denylist": {"get": _operation(
                "Persons not allowed into public places", "partnerToken", None,
                {"200": _json(_ref("DenyList"), "Entries, or what changed after since"),
                 "304": {"description": "Nothing changed (If-None-Match)"},
                 **_errors(400, 401, 403, 503)},
                parameters=[{"name": "since", "in": "query", "required": False,
                             "schema": {"type": "integer", "minimum": 0,
                                        "maximum": 2 ** 63 - 1},
                             "description": "next_since of the last pull"}],
                operationId="get_denylist")},
            "/api/v1/incidents/{incident_id}/steps": {"post": _operation(
                "A venue device confirms a step of an incident", "deviceToken", STEP_IN,
                {"200": _json(_ref("StepDone"), "The incident's new state"),
                 **_errors(400, 401, 403, 404, 409, 413, 503)},
                parameters=[{"name": "incident_id", "in": "path", "required": True,
                             "schema": {"type": "integer", "minimum": 0}}],
                operationId="post_incident_step")},
            "/healthz": {"get": _operation(
                "The server answers", None, None,
                {"200": _json({"type": "object", "required": ["status"],
                               "properties": {"status": {"const": "ok"}}}, "Up")},
                operationId="healthz")},
        },
        "components": {
            "securitySchemes": {
                name: {"type": "http", "scheme": "bearer",
                       "description": f"placecode issue-token --kind {kind}"}
                for name, kind in (("deviceToken", "device"), ("feedToken", "feed"),
                                   ("partnerToken", "partner"))},
            "schemas": {"Scan": SCAN, "Reason": REASON, "Verdict": VERDICT,
                        "ScanRejected": REJECTED, "Batch": BATCH, "Error": ERROR,
                        "ImportReport": REPORT, "DenyList": DENYLIST, "StepDone": STEP_OUT,
                        **{f"Feed_{k}": _feed_row(k) for k in FEEDS}},
        },
    }
