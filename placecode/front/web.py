"""The public front door (no login): the phone scan page /s/<code>, the attended gate
/sentinel/<code>, and /apply, where a venue operator applies for a code. Also the poster download
/posters/<code>.pdf for logged-in staff.

A phone registers once (/s/register) and keeps the token it gets; each visit of /s/<code> then
posts the token (/s/<code>/scan) and the scan goes through the scan API's own ingestor, so its
verdict, rollups and alerts are those of any device's scan. The sentinel page posts to
/api/v1/scans itself with its device token. Requests are rate-limited per device and address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from placecode.auth.guard import csrf_token
from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from placecode.db.engine import get_engine
from placecode.front import limits, phones
from placecode.front.svgmap import city_svg
from placecode.i18n import TEXT, UserError
from placecode.i18n import t as text
from placecode.ingest.scans import Busy
from placecode.registry import applications as apps
from placecode.registry.codes import LETTERS
from placecode.registry.posters import PosterError, poster_pdf
from placecode.rules.definitions import reason_objects
from placecode.settings import LANGS, Settings
from placecode.web import SETTINGS_KEY

front = Blueprint("front", __name__, template_folder="templates")
SCANS_PER_10_MIN = 30  # per phone: more than anyone enters in ten minutes
REGISTRATIONS_PER_HOUR = 10  # per address (a family registers a few phones)
APPLICATIONS_PER_HOUR = 5


def _settings() -> Settings:
    return current_app.config[SETTINGS_KEY]


def _engine():
    return get_engine(_settings().database_url)


def _lang() -> str:
    asked = request.args.get("lang")
    if asked in LANGS:
        return asked
    return request.accept_languages.best_match(LANGS) or _settings().lang


def _texts(prefix: str, lang: str) -> dict[str, str]:
    """The catalog's texts of one page (keys starting with `prefix`), in `lang`."""
    return {k: text(k, lang) for k in TEXT if k.startswith(prefix)}


def _limited(key: str, limit: int, window_s: int) -> bool:
    return not limits.allow(_settings().instance_path, key, limit, window_s)


def _venue(code: str):
    v, d = t.venues, t.districts
    code = (code or "").strip().upper()
    if not code.isalnum() or len(code) > 32:
        return None
    with _engine().connect() as conn:
        return conn.execute(select(v.c.id, v.c.code, v.c.name, v.c.kind, d.c.name_zh,
                                   d.c.name_en).join(d, d.c.id == v.c.district_id)
                            .where(v.c.code == code)).first()


def _unknown_venue(code: str, lang: str):
    return render_template("unknown.html", lang=lang, t=_texts("front_", lang),
                           code=code[:32]), 404


def _error(key: str, status: int, lang: str, field: str = "", **params):
    return jsonify(error={"message": text(key, lang, **params), "key": key,
                          "field": field}), status


# -- the phone scan page -------------------------------------------------------------------------

@front.get("/s/<code>")
def scan_page(code: str):
    lang = _lang()
    venue = _venue(code)
    if venue is None:
        return _unknown_venue(code, lang)
    return render_template("scan.html", lang=lang, venue=venue, t=_texts("phone_", lang),
                           kind=text(f"vkind_{venue.kind}", lang),
                           district=venue[4] if lang == "zh" else venue[5])


@front.post("/s/register")
def register():
    lang = _lang()
    if _limited(f"register|{request.remote_addr}", REGISTRATIONS_PER_HOUR, 3600):
        return _error("phone_too_many", 429, lang)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("id_number"), str) \
            or not isinstance(body.get("phone", ""), str):
        return _error("phone_id_format", 400, lang, "id_number")
    settings = _settings()
    try:
        with _engine().begin() as conn:
            token = phones.register(conn, body["id_number"][:40], body.get("phone", "")[:20],
                                    settings.secret_key, _ingestor().now())
    except phones.RegistrationError as exc:
        return _error(exc.key, 422, lang, exc.field)
    return jsonify(token=token)


def _ingestor():
    from placecode.ingest.api import ingestor

    return ingestor()


@front.post("/s/<code>/scan")
def scan(code: str):
    """The phone's scan: its token says who, the server says when."""
    lang = _lang()
    body = request.get_json(silent=True)
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return _error("phone_not_registered", 401, lang)
    if _limited(f"scan|{hashlib.sha256(token.encode()).hexdigest()[:24]}", SCANS_PER_10_MIN,
                600):
        return _error("phone_too_many", 429, lang)
    venue = _venue(code)
    if venue is None:
        return _error("front_unknown_venue", 404, lang, code=code[:32])
    ingest = _ingestor()
    now = ingest.now()
    with _engine().begin() as conn:
        found = phones.person_for(conn, token, now)
    if found is None:
        return _error("phone_not_registered", 401, lang)
    registration, key = found
    visit = body.get("visit") if isinstance(body.get("visit"), str) else ""
    visit = "".join(ch for ch in visit if ch.isalnum())[:20] or secrets.token_hex(6)
    scan_id = f"phone-{registration}-{visit}"
    with _engine().connect() as conn:
        earlier = phones.earlier_scan(conn, scan_id)
    if earlier is not None:
        return _verdict(venue, earlier.verdict, reason_objects(earlier.reasons), earlier.ts)
    item = {"scan_id": scan_id, "venue_code": venue.code,
            "person": key, "credential": "app",
            "ts": now.replace(tzinfo=ZoneInfo(_settings().timezone)).isoformat(timespec="seconds")}
    try:
        result = ingest.ingest([item], now=now, keyed=True)[0]
    except Busy:
        return _error("phone_busy", 503, lang)
    if "error" in result:  # nothing the phone sent can cause this: say so in the log
        current_app.logger.error("phone scan refused by the ingestor: %s", result["error"])
        return _error("phone_busy", 503, lang)
    return _verdict(venue, result["verdict"], result["reasons"], now)


def _verdict(venue, verdict: str, reasons: list[dict], ts):
    return jsonify(verdict=verdict, reasons=reasons, ts=ts.isoformat(timespec="seconds"),
                   venue={"code": venue.code, "name": venue.name})


# -- the attended gate ---------------------------------------------------------------------------

@front.get("/sentinel/<code>")
def sentinel_page(code: str):
    lang = _lang()
    venue = _venue(code)
    if venue is None:
        return _unknown_venue(code, lang)
    return render_template("sentinel.html", lang=lang, venue=venue,
                           t=_texts("sentinel_", lang) | _texts("phone_verdict", lang),
                           district=venue[4] if lang == "zh" else venue[5])


# -- applying for a code -------------------------------------------------------------------------

def _receipt(application_id: int) -> str:
    """The operator's link to their application: its number and a MAC, so numbers can't be
    walked through."""
    mac = hmac.new(_settings().secret_key.encode(), f"application|{application_id}".encode(),
                   hashlib.sha256).hexdigest()[:12]
    return f"{application_id}-{mac}"


def _application(receipt: str):
    number, _, _mac = receipt.partition("-")
    if not number.isdigit() or len(number) > 9 or not hmac.compare_digest(
            _receipt(int(number)), receipt):
        abort(404)
    a, v = t.venue_applications, t.venues
    with _engine().connect() as conn:
        row = conn.execute(select(a.c.id, a.c.name, a.c.state, a.c.reason, a.c.submitted_at,
                                  a.c.decided_at, v.c.code).outerjoin(v, v.c.id == a.c.venue_id)
                           .where(a.c.id == int(number))).first()
    if row is None:
        abort(404)
    return row


def _apply_form(lang: str, form: dict, problem: UserError | None = None, status: int = 200):
    with _engine().connect() as conn:
        svg = city_svg(conn, lang)
    kinds = [(k, text(f"vkind_{k}", lang)) for k in LETTERS]
    return render_template("apply.html", lang=lang, t=_texts("apply_", lang), form=form,
                           kinds=kinds, svg=svg, csrf=csrf_token(),
                           problem=problem.text(lang) if problem else "",
                           field=getattr(problem, "field", "")), status


@front.get("/apply")
def apply_page():
    return _apply_form(_lang(), {})


@front.post("/apply")
def apply_submit():
    lang = request.form.get("lang") if request.form.get("lang") in LANGS else _lang()
    form = request.form.to_dict()
    if _limited(f"apply|{request.remote_addr}", APPLICATIONS_PER_HOUR, 3600):
        return _apply_form(lang, form, apps.ApplicationError("apply_too_many"), 429)
    try:
        application = apps.read_form(form)
        number = apps.submit(_engine(), application, _ingestor().now())
    except apps.ApplicationError as exc:
        return _apply_form(lang, form, exc, 422)
    return Response(status=303, headers={"Location": f"/apply/{_receipt(number)}?lang={lang}"})


@front.get("/apply/<receipt>")
def application_status(receipt: str):
    lang = _lang()
    row = _application(receipt)
    return render_template("applied.html", lang=lang, t=_texts("apply_", lang), row=row,
                           receipt=receipt, state=text(f"apply_state_{row.state}", lang))


@front.get("/apply/<receipt>/poster.pdf")
def application_poster(receipt: str):
    row = _application(receipt)
    if row.code is None:
        abort(404)
    return _poster(row.code, Viewer("admin"))


# -- posters for staff ---------------------------------------------------------------------------

def _poster(code: str, viewer: Viewer):
    from queries.venues import poster_venue

    settings = _settings()
    try:
        venue = poster_venue(_engine(), viewer, code)
        pdf = poster_pdf(venue, settings.public_url or request.host_url)
    except Refused as exc:
        return jsonify(error=str(exc)), 403
    except UserError:
        abort(404)
    except PosterError as exc:
        return jsonify(error=str(exc)), 503
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{venue.code}.pdf"'})


@front.get("/posters/<code>.pdf")
def poster(code: str):
    if not current_user.is_authenticated:
        return jsonify(error="login required: open /login"), 401
    return _poster(code, Viewer.of(current_user))


def init_front(server) -> None:
    server.register_blueprint(front)
