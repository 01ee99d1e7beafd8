"""flask-login wiring: the login form, logout, and a guard that makes every page need a login."""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

from flask import Flask, jsonify, redirect, render_template_string, request
from flask_login import LoginManager, current_user, login_user, logout_user

from placecode.auth import audit
from placecode.auth.users import authenticate, load_user
from placecode.clock import city_now
from placecode.db.engine import get_engine
from placecode.settings import Settings

LANG_COOKIE = "placecode_lang"
OPEN_PATHS = ("/login", "/healthz")
# css and fonts for the login page; /api/v1 checks its own bearer tokens (placecode.ingest.api)
OPEN_PREFIXES = ("/assets/", "/api/v1/")
TEXT = {
    "zh": {"title": "登录", "user": "用户名", "password": "密码", "submit": "登录",
           "wrong": "用户名或密码错误，请重试。", "app": "场所码指挥中心"},
    "en": {"title": "Log in", "user": "Username", "password": "Password", "submit": "Log in",
           "wrong": "Wrong username or password. Try again.", "app": "Venue-code command center"},
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
        next_query=_query(), zh_query=_query(lang="zh"), en_query=_query(lang="en"))


def init_auth(server: Flask, settings: Settings) -> None:
    """Install the login manager, /login, /logout and the login guard on `server`."""
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
    )
    manager = LoginManager(server)
    engine = get_engine(settings.database_url)

    @manager.user_loader
    def _load(user_id: str):
        with engine.connect() as conn:
            return load_user(conn, int(user_id))

    @server.before_request
    def _require_login():
        path = request.path
        if current_user.is_authenticated or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        if path.startswith("/_dash-") or path.startswith("/api/"):
            return jsonify(error="login required: open /login"), 401
        return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))

    @server.route("/login", methods=["GET", "POST"])
    def login():
        lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or settings.lang
        lang = lang if lang in TEXT else settings.lang
        if request.method == "GET":
            return _render(lang)
        username = request.form.get("username", "")
        now = city_now(settings.timezone)
        with engine.begin() as conn:
            user = authenticate(conn, username, request.form.get("password", ""), now)
            audit.record(conn, "login" if user else "login_failed",
                         user_id=user.id if user else None, username=username[:64],
                         detail=request.remote_addr or "", now=now)
        if user is None:
            return _render(lang, TEXT[lang]["wrong"], username), 401
        login_user(user)
        response = redirect(_safe_next(request.args.get("next")))
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax")
        return response

    @server.route("/logout")
    def logout():
        logout_user()
        return redirect("/login")

    @server.route("/healthz")
    def healthz():
        return jsonify(status="ok")
