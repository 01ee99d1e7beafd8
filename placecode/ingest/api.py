"""The machine API under /api/v1 (a Flask blueprint): scans from devices, feeds from systems.

Every route here needs a bearer token of the right kind (checked before the route runs, so a
route cannot forget it); browsers' logins do not count. Errors are JSON naming what is wrong.
A database that is down, restarting or busy is a 503 with Retry-After, never a 500: nothing was
stored for that request, and sending it again (the same scan_ids) is safe.
"""

from __future__ import annotations

import functools
import hashlib

from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from placecode.auth.policy import Refused, Viewer, note_refusal
from placecode.auth.tokens import verify_token
from placecode.db import schema as t
from placecode.db.engine import get_engine
from placecode.dispatch import board
from placecode.dispatch import denylist as deny
from placecode.dispatch.board import FIELD_STEPS
from placecode.dispatch.incidents import Transition, TransitionError
from placecode.ingest.scans import MAX_BATCH, Busy, Ingestor
from placecode.ingest.validate import BIGINT_MAX, BodyError, parse_json, text_problem
from placecode.settings import Settings
from placecode.web import SETTINGS_KEY

RETRY_AFTER_S = 2  # a PostgreSQL restart takes seconds; a busy SQLite clears in less
MAX_BODY = 1024 * 1024  # 1,000 scans of ~300 bytes fit with room to spare
ROUTE_KINDS = {"api.scans": "device", "api.feed": "feed", "api.denylist": "partner",
               "api.incident_step": "device"}
OPEN_ROUTES = {"api.openapi", "api.docs", "api.unknown"}  # the contract itself is public
EXTENSION = "placecode_ingestor"
MAX_REQUEST = 4 * 1024 * 1024  # any request to any route (Dash callbacks, forms) of this server
DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>placecode machine API</title>
<link rel="stylesheet" href="/assets/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/assets/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/assets/api_docs.js"></script></body></html>"""

api = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, field: str | None = None, **extra):
    body = {"error": {"message": message} | ({"field": field} if field else {})} | extra
    return jsonify(body), status


def unavailable(exc: BaseException | None) -> tuple:
    """503 + Retry-After for a database that cannot take the request now, saying which case."""
    down = _disconnected(exc)
    message = ("the database is unavailable (down or restarting); nothing was stored: retry "
               f"later (after {RETRY_AFTER_S} s) with the same scan_ids" if down else
               "the database is busy; nothing was stored: retry shortly with the same scan_ids")
    body, status = error(503, message, retryable=True, retry_after_s=RETRY_AFTER_S)
    body.headers["Retry-After"] = str(RETRY_AFTER_S)
    return body, status


def _disconnected(exc: BaseException | None) -> bool:
    """Whether the database could not be reached at all (as opposed to locked or busy)."""
    while exc is not None:
        if isinstance(exc, DBAPIError):
            if exc.connection_invalidated:
                return True
            if not isinstance(exc, OperationalError | InterfaceError):
                return False  # e.g. a lost race on a unique key: busy, not down
            text = str(exc.orig).lower()
            return not any(word in text for word in ("locked", "busy", "deadlock", "serialize"))
        exc = exc.__cause__
    return False


@api.errorhandler(DBAPIError)
def _database_error(exc: DBAPIError):
    # Raised outside the ingestor's own retries (the token check, feeds, the deny list): a lost
    # or refused connection or a lock is the client's cue to retry; anything else is a bug.
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        current_app.logger.warning("database unavailable: %s", str(exc.orig)[:200])
        return unavailable(exc)
    raise exc


@api.before_request
def _require_token():
    if request.endpoint in OPEN_ROUTES:
        return None
    wanted = ROUTE_KINDS.get(request.endpoint or "")
    if wanted is None:
        return error(404, f"no API route {request.method} {request.path}")
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return error(401, f"send a {wanted} token: Authorization: Bearer <token> "
                          f"(placecode issue-token --kind {wanted})")
    engine = get_engine(current_app.config[SETTINGS_KEY].database_url)
    with engine.connect() as conn:
        token = verify_token(conn, header[7:].strip())
    if token is None:
        return error(401, "token unknown or revoked; ask the admin for a new one")
    if token.kind != wanted:
        g.token = token
        note_refusal(f"a {token.kind} token asked for {request.path}")
        return error(403, f"this is a {token.kind} token; this route needs a {wanted} token")
    g.token = token
    return None


def read_json():
    """The request body as JSON, or an error response naming the problem."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None, error(413, f"body is {request.content_length:,} bytes; the limit is "
                                f"{MAX_BODY:,} (send at most {MAX_BATCH} scans per request)")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return None, error(413, f"body is larger than {MAX_BODY:,} bytes")
    if not raw.strip():
        return None, error(400, "empty body: send a JSON object or a list of objects")
    try:
        return parse_json(raw), None
    except BodyError as exc:
        return None, error(400, str(exc))


def ingestor() -> Ingestor:
    return current_app.extensions[EXTENSION]


@api.post("/scans")
def scans():
    body, problem = read_json()
    if problem:
        return problem
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list):
        return error(400, "body must be a scan object or a list of scan objects")
    if not items:
        return error(400, "empty list: send at least one scan")
    if len(items) > MAX_BATCH:
        return error(413, f"{len(items):,} scans in one request; send at most {MAX_BATCH}")
    try:
        results = ingestor().ingest(items)
    except Busy as exc:
        return unavailable(exc.__cause__)
    if single:
        result = results[0]
        return jsonify(result), result.get("status", 200)
    rejected = sum("error" in r for r in results)
    return jsonify(results=results, accepted=len(results) - rejected, rejected=rejected), 200


@api.post("/feeds/<kind>")
def feed(kind: str):
    from placecode.ingest.feeds import FEEDS, FeedError, import_rows

    if kind not in FEEDS:
        return error(404, f"unknown feed {kind!r}; feeds: {', '.join(FEEDS)}")
    body, problem = read_json()
    if problem:
        return problem
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        return error(400, "body must be a list of row objects (columns as in docs/feeds.md)")
    settings: Settings = current_app.config[SETTINGS_KEY]
    try:
        report = import_rows(get_engine(settings.database_url), kind, body,
                             secret=settings.secret_key, now=ingestor().now(),
                             timezone=settings.timezone, first_line=1,
                             retention_days=settings.retention_days)
    except FeedError as exc:
        return error(400, str(exc))
    return jsonify(report.as_json()), 200


@api.get("/denylist")
def denylist():
    """Persons not allowed into public places: all active entries, or with ?since= (the
    `next_since` number of the last pull) what changed after it, removals as active: false."""
    since = None
    if request.args.get("since"):
        text = request.args["since"]
        if not (text.isascii() and text.isdigit() and len(text) <= 19
                and int(text) <= BIGINT_MAX):
            return error(400, "since: give the next_since number of your last pull (a whole "
                              "number from 0), or leave it out for the whole list",
                         field="since")
        since = int(text)
    engine = get_engine(current_app.config[SETTINGS_KEY].database_url)
    now = ingestor().now()
    with engine.begin() as conn:
        deny.sync(conn, now)
        frame = deny.changes(conn, since)
    stamp = int(frame["seq"].max()) if len(frame) else since
    etag = hashlib.sha1(f"{since}|{stamp}|{len(frame)}".encode()).hexdigest()[:20]
    if request.if_none_match.contains(etag):
        return "", 304, {"ETag": f'"{etag}"'}
    body = {
        "as_of": now.isoformat(timespec="seconds"), "full": since is None,
        "next_since": stamp if stamp is not None else 0,
        "entries": [{"person_key": r.person_key, "reasons": [x for x in r.reasons.split(",")
                                                              if x],
                     "since": r.since.isoformat(timespec="seconds"), "active": bool(r.active)}
                    for r in frame.itertuples()],
    }
    response = jsonify(body)
    response.headers["ETag"] = f'"{etag}"'
    return response


@api.post("/incidents/<int:incident_id>/steps")
def incident_step(incident_id: int):
    """The venue's device confirms a step it may take: {"to": "held" | "picked_up", "note"}.
    A district-bound token acts in its district only; refusals name what is allowed."""
    body, problem = read_json()
    if problem:
        return problem
    if incident_id > BIGINT_MAX:
        return error(404, f"no incident {incident_id}")
    if not isinstance(body, dict) or body.get("to") not in FIELD_STEPS:
        return error(400, f"give {{\"to\": one of {', '.join(FIELD_STEPS)}}}", field="to")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        return error(400, "note: must be text", field="note")
    if note and text_problem(note):
        return error(400, f"note: {text_problem(note)}", field="note")
    engine = get_engine(current_app.config[SETTINGS_KEY].database_url)
    with engine.begin() as conn:
        district = conn.execute(select(t.incidents.c.district_id)
                                .where(t.incidents.c.id == incident_id)).scalar()
        if district is None:
            return error(404, f"no incident {incident_id}")
        scope = Viewer("field_staff", g.token.district_id or district)
        try:
            step = board.transition(conn, scope, incident_id, Transition(
                body["to"], note=(note or "").strip()[:300]),
                f"device:{g.token.name}", ingestor().now())
        except (TransitionError, Refused) as exc:
            return error(409 if isinstance(exc, TransitionError) else 403, str(exc))
        except board.ConflictError as exc:
            return error(409, str(exc))
    return jsonify({"incident_id": incident_id, "state": step.state, "version": step.version})


@api.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (built once per process)."""
    return jsonify(_document())


@functools.cache
def _document() -> dict:
    from placecode.ingest.openapi import document

    return document()


@api.get("/docs")
def docs():
    """The document rendered by Swagger UI, served from this app (no CDN, no validator)."""
    return DOCS_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@api.route("/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def unknown(rest: str):
    """Any other path under /api/v1 (the app's page route would answer it with a 405)."""
    return error(404, f"no API route {request.method} {request.path}")


def _http_error(exc: HTTPException):
    """Under /api/v1 every refusal is JSON, also those Flask raises itself (404, 405, 413)."""
    if not request.path.startswith(api.url_prefix + "/"):
        return exc
    response, status = error(exc.code or 500, _HTTP_WORDS.get(exc.code, exc.description or ""))
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response, status


_HTTP_WORDS = {404: "no such API route (see /api/v1/openapi.json)",
               405: "this route does not take that method (see /api/v1/openapi.json)",
               413: f"request larger than {MAX_BODY:,} bytes"}


def init_api(server: Flask, settings: Settings) -> None:
    """Register /api/v1 and the process's one scan ingestor."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    server.register_error_handler(HTTPException, _http_error)
    server.extensions[EXTENSION] = Ingestor(
        get_engine(settings.database_url), settings.secret_key, settings.timezone,
        settings.retention_days, settings.sms_url)
    server.register_blueprint(api)
