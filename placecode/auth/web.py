"""flask-login wiring: the login form, logout, and a guard that makes every page need a login."""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

from flask import Flask, jsonify, redirect, render_template_string, request, session
from flask_login import LoginManager, current_user, login_user, logout_user

from placecode.auth import audit, sessions
from placecode.auth.guard import cookie_secure, csrf_token
from placecode.auth.lockout import locked_until
from placecode.auth.policy import home, may_open, note_refusal
from placecode.auth.tokens import load_token, verify_token
from placecode.auth.users import WallUser, authenticate, load_user, normalise_username
from placecode.clock import city_now
from placecode.db.engine import get_engine
from placecode.settings import Settings

LANG_COOKIE = "placecode_lang"
OPEN_PATHS = ("/login", "/healthz", "/apply")
# css and fonts for the login page; /api/v1 checks its own bearer tokens (placecode.ingest.api);
# the front door (phones scanning, the attended gate, applying for a code) needs no login
OPEN_PREFIXES = ("/assets/", "/api/v1/", "/s/", "/sentinel/", "/apply/")
TEXT = {
    "zh": {"title": "登录", "user": "用户名", "password": "密码", "submit": "登录",
           "wrong": "用户名或密码错误，请重试。", "app": "场所码指挥中心",
           "locked": "失败次数过多，此登录已锁定，请于 {until} 后再试，或联系管理员。",
           "logout": "退出登录"},
    "en": {"title": "Log in", "user": "Username", "password": "Password", "submit": "Log in",
           "wrong": "Wrong username or password. Try again.", "app": "Venue-code command center",
           "locked": "Too many failed attempts: this login is locked until {until}. Try again "
                     "then, or ask the admin.",
           "logout": "Log out"},
}

LOGIN_PAGE = """<!doctype html>
<html lang="{{ lang }}" data-bs-theme="dark"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>placecode · {{ t.title }}</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap/bootstrap.min.css">
<link rel="stylesheet" href="/assets/vendor/noto-sans-sc/400.css">
<link rel="stylesheet" href="/assets/placecode.css"></head>
<body class="login-body"><main class="login-card card p-4">
<h1 class="h3 mb-1">placecode</h1><p class="text-secondary mb-4">{{ t.app }}</p>
{% if error %}<div class="alert alert-danger" role="alert" id="login-error">{{ error }}</div>
{% endif %}
<form method="post" action="/login{{ '?' + next_query if next_query else '' }}">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<div class="mb-3"><label class="form-label" for="username">{{ t.user }}</label>
<input class="form-control form-control-lg" id="username" name="username" value="{{ username }}"
 autocomplete="username" required autofocus></div>
<div class="mb-4"><label class="form-label" for="password">{{ t.password }}</label>
<input class="form-control form-control-lg" id="password" name="password" type="password"
 autocomplete="current-password" required></div>
<button class="btn btn-primary btn-lg w-100" type="submit">{{ t.submit }}</button>
</form>
<p class="mt-4 mb-0 small"><a href="?{{ zh_query }}">中文</a> ·
<a href="?{{ en_query }}">English</a></p>
</main></body></html>"""


WALL_REFUSED = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>placecode</title><link rel="stylesheet" href="/assets/placecode.css"></head>
<body class="login-body"><main class="login-card" id="wall-refused">
<h1>指挥墙令牌无效或已撤销</h1><p>This wall token is unknown or revoked:
ask the admin for a new one (placecode issue-token --kind wall).</p></main></body></html>"""
LOGOUT_PAGE = """<!doctype html>
<html lang="zh" data-bs-theme="dark"><head><meta charset="utf-8"><title>placecode</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap/bootstrap.min.css">
<link rel="stylesheet" href="/assets/placecode.css"></head>
<body class="login-body"><main class="login-card card p-4">
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<button class="btn btn-primary btn-lg w-100" type="submit" id="logout-confirm">
退出登录 · Log out</button></form></main></body></html>"""
WALL_PATHS = ("/", "/logout", "/_favicon.ico", "/_reload-hash")
DATA_PREFIXES = ("/wall-data/", "/trace-data/", "/api/")


def _wall_may(path: str) -> bool:
    """A wall session reaches the wall page, its assets, its map data and Dash's own routes,
    nothing else."""
    return path in WALL_PATHS or path.startswith(("/assets/", "/_dash-", "/wall-data/"))


def wall_user(token) -> WallUser:
    return WallUser(token.id, f"wall-{token.id}", "wall", token.district_id)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the wall."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _query(**changes: str) -> str:
    """This page's ?next=&lang= with some changed: the form and the language links keep both."""
    args = {k: request.args[k] for k in ("next", "lang") if request.args.get(k)}
    return urlencode(args | changes)


def _render(lang: str, error: str | None = None, username: str = ""):
    return render_template_string(
        LOGIN_PAGE, t=TEXT[lang], lang=lang, error=error, username=username,
        next_query=_query(), zh_query=_query(lang="zh"), en_query=_query(lang="en"),
        csrf=csrf_token())


def init_auth(server: Flask, settings: Settings) -> None:
    """Install the login manager, /login, /logout and the login guard on `server`."""
    server.config.update(SECRET_KEY=settings.secret_key, REMEMBER_COOKIE_HTTPONLY=True)
    manager = LoginManager(server)
    engine = get_engine(settings.database_url)

    @manager.user_loader
    def _load(user_id: str):
        with engine.connect() as conn:
            if user_id.startswith("wall:"):
                token = load_token(conn, int(user_id[5:]))
                return wall_user(token) if token and token.kind == "wall" else None
            user = load_user(conn, int(user_id))
            if user is None or not sessions.alive(conn, session.get("sid"), user.id,
                                                  city_now(settings.timezone)):
                return None  # logged out, password changed, expired or deactivated
            return user

    @server.before_request
    def _require_login():
        path = request.path
        if path == "/wall":  # the wall's documented address; the page itself lives at /
            return redirect("/" + ("?" + request.query_string.decode()
                                   if request.query_string else ""))
        if path == "/" and request.args.get("token") and not current_user.is_authenticated:
            return _wall_login()
        if current_user.is_authenticated:
            role = current_user.role
            if role == "wall" and not _wall_may(path):
                note_refusal(f"a wall display shows the wall only, not {path}")
                return (jsonify(error="a wall display shows the wall only"), 403) \
                    if path.startswith("/api/") else redirect("/")
            if path == "/" and home(role) != "/":
                return redirect(home(role))  # field staff start on their phone page
            if not may_open(role, path) and path.startswith(DATA_PREFIXES):
                note_refusal(f"a {role} may not open {path}")
                return jsonify(error=f"a {role} may not open {path}"), 403
            return None  # a page a role may not open shows the refusal (pages/_page_guard.py)
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        if path.startswith("/_dash-") or path.startswith("/api/"):
            return jsonify(error="login required: open /login"), 401
        return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))

    def _wall_login():
        """A wall display opens /wall?token=... once (no keyboard needed); the token logs it in
        read-only and the token leaves the address bar."""
        now = city_now(settings.timezone)
        with engine.begin() as conn:
            token = verify_token(conn, request.args["token"])
            ok = token is not None and token.kind == "wall"
            audit.record(conn, "wall_login" if ok else "wall_login_failed",
                         username=f"wall-{token.id}" if ok else "-",
                         subject=f"district {token.district_id}" if ok and token.district_id
                         else "city", detail=request.remote_addr or "", now=now)
        if not ok:
            return render_template_string(WALL_REFUSED), 401
        login_user(wall_user(token))
        rest = {k: v for k, v in request.args.items() if k != "token"}
        return redirect("/" + ("?" + urlencode(rest) if rest else ""))

    @server.route("/login", methods=["GET", "POST"])
    def login():
        lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or settings.lang
        lang = lang if lang in TEXT else settings.lang
        if request.method == "GET":
            return _render(lang)
        typed = request.form.get("username", "")
        shown = typed[:64]  # no real username is longer; never echo a flood back
        username = normalise_username(typed)  # what is looked up, counted and locked
        address = request.remote_addr or ""
        now = city_now(settings.timezone)
        with engine.begin() as conn:
            until = locked_until(conn, username, address, now, settings.login_max_failures,
                                 settings.login_lockout_minutes)
            user = None if until else authenticate(conn, username,
                                                   request.form.get("password", ""), now)
            audit.record(conn, "login" if user else "login_locked" if until else "login_failed",
                         user_id=user.id if user else None, username=username[:64],
                         detail=address, now=now)
        if until:
            return _render(lang, TEXT[lang]["locked"].format(until=f"{until:%H:%M}"),
                           shown), 429
        if user is None:
            return _render(lang, TEXT[lang]["wrong"], shown), 401
        session.clear()  # a fresh session (and CSRF token) for the logged-in user
        with engine.begin() as conn:
            session["sid"] = sessions.start(conn, user.id, now, settings.session_hours)
        login_user(user)
        response = redirect(_safe_next(request.args.get("next")))
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                            secure=cookie_secure(settings))
        return response

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        """POST (with the CSRF token) logs out; GET asks, so a link elsewhere cannot."""
        if request.method == "GET":
            return render_template_string(LOGOUT_PAGE, csrf=csrf_token())
        with engine.begin() as conn:
            sessions.end(conn, session.get("sid"))
        logout_user()
        session.clear()
        return redirect("/login")

    @server.route("/healthz")
    def healthz():
        return jsonify(status="ok")
