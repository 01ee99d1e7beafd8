"""HTTP hardening for the browser side: CSRF on every state-changing request of a cookie
session, security headers with a Content-Security-Policy that names no other origin, Secure
cookies whenever the request came over TLS, and access logs without query strings.

The machine API (/api/v1) authenticates by bearer token, never by cookie, so a forged
cross-site request carries nothing it would accept; it is exempt from the CSRF check.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import secrets
from collections.abc import Callable

from flask import Flask, g, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from placecode.auth import audit
from placecode.auth.policy import start_noting_refusals
from placecode.clock import city_now
from placecode.db.engine import get_engine
from placecode.settings import Settings

CSRF_COOKIE = "_csrf_token"  # the cookie dash-renderer reads and echoes as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"  # the same token in a plain HTML form (login, logout)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# bearer tokens (the machine API) and phone tokens in the body (the scan page) are not cookies
EXEMPT_PREFIXES = ("/api/v1/", "/s/")


def content_security_policy(script_hashes: list[str]) -> str:
    """Only this origin, plus the few inline scripts Dash writes itself, by their hashes.

    'unsafe-eval' is there for plotly's WebGL traces (regl compiles its shaders with Function)
    and ag-grid's formatter expressions; 'unsafe-inline' for styles only, because Dash
    components set style attributes.
    """
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self' 'unsafe-eval'", *script_hashes]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class TlsAwareSessions(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over https (directly or through
    the documented TLS proxy), and always if PLACECODE_SECURE_COOKIES is set."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def cookie_secure(settings: Settings) -> bool:
    """The same rule for the cookies set by hand (CSRF, language)."""
    return settings.secure_cookies or request.is_secure


def csrf_token() -> str:
    """This session's token (created on first use); forms and Dash send it back."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


class QueryStringFilter(logging.Filter):
    """Access log lines keep the path and drop the query: /?token=..., /trace?person=... would
    otherwise write secrets and person keys into the log."""

    QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self.QUERY.sub("?…", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


class RoutineRequests(logging.Filter):
    """No access-log line for a scan answered 2xx (devices, the simulator and phones send
    hundreds a second; a console full of them hides the errors, which are still logged)."""

    ROUTINE = re.compile(r"^POST (/api/v1/scans|/s/[^ /]+/scan)[ ?]")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) >= 2 and isinstance(args[0], str) and self.ROUTINE.match(args[0])
                    and str(args[1]).startswith("2"))


def init_guard(server: Flask, settings: Settings,
               script_hashes: Callable[[], list[str]]) -> None:
    """Install the CSRF check, the security headers and the cookie rules on `server`.

    `script_hashes` (Dash's `app.csp_hashes`) is asked at the first response, once every page
    has registered its callbacks."""
    server.session_interface = TlsAwareSessions()
    server.config.update(SESSION_COOKIE_SECURE=settings.secure_cookies,
                         SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    policy = functools.cache(lambda: content_security_policy(script_hashes()))
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QueryStringFilter) for f in access_log.filters):
        access_log.addFilter(RoutineRequests())  # once per process, not per app built
        access_log.addFilter(QueryStringFilter())
    engine = get_engine(settings.database_url)

    @server.before_request
    def _check_csrf():
        g.refusals = start_noting_refusals()
        if request.method in SAFE_METHODS or request.path.startswith(EXEMPT_PREFIXES):
            return None
        if not current_user.is_authenticated and request.path not in ("/login", "/logout"):
            return None  # the login guard answers these (401, or to /login)
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
        expected = session.get(CSRF_FIELD, "")
        if expected and sent and hmac.compare_digest(sent, expected):
            return None
        with engine.begin() as conn:
            audit.record(conn, "csrf_refused", username=_who(), subject=request.path[:128],
                         detail=request.remote_addr or "", now=city_now(settings.timezone))
        return jsonify(error="this request lacks this session's CSRF token: reload the page "
                             "and try again"), 403

    @server.after_request
    def _log_refusals(response):
        """One audit row per request that was refused something (raw HTTP or page alike)."""
        refused = g.get("refusals")
        if refused:
            with engine.begin() as conn:
                audit.record(conn, "scope_refused", user_id=_user_id(), username=_who(),
                             subject=request.path[:128], reason=" | ".join(refused)[:500],
                             detail=request.remote_addr or "",
                             now=city_now(settings.timezone))
        return response

    @server.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.path.startswith(EXEMPT_PREFIXES):
            token = csrf_token()
            if request.cookies.get(CSRF_COOKIE) != token:
                response.set_cookie(CSRF_COOKIE, token, secure=cookie_secure(settings),
                                    httponly=False, samesite="Strict")
        return response


def _who() -> str:
    if getattr(g, "token", None) is not None:  # the machine API's bearer token
        return f"{g.token.kind}-token-{g.token.id}"
    return current_user.username if current_user.is_authenticated else "-"


def _user_id() -> int | None:
    if current_user.is_authenticated and current_user.role != "wall":
        return current_user.id
    return None
