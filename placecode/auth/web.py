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

OPEN_PATHS = ("/login", "/healthz")
OPEN_PREFIXES = ("/assets/",)  # css and fonts for the login page
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
<p class="mt-4 mb-0 small"><a href="?lang=zh">中文</a> · <a href="?lang=en">English</a></p>
</main></body></html>"""


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the wall."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _next_query() -> str:
    """The form posts back to /login with the same ?next= it was opened with."""
    target = request.args.get("next")
    return urlencode({"next": target}) if target else ""


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
        lang = request.args.get("lang", settings.lang)
        lang = lang if lang in TEXT else "zh"
        text, nxt = TEXT[lang], _safe_next(request.args.get("next"))
        if request.method == "GET":
            return render_template_string(LOGIN_PAGE, t=text, lang=lang, error=None,
                                          username="", next_query=_next_query())
        username = request.form.get("username", "")
        now = city_now(settings.timezone)
        with engine.begin() as conn:
            user = authenticate(conn, username, request.form.get("password", ""), now)
            audit.record(conn, "login" if user else "login_failed",
                         user_id=user.id if user else None, username=username[:64],
                         detail=request.remote_addr or "", now=now)
        if user is None:
            page = render_template_string(LOGIN_PAGE, t=text, lang=lang, error=text["wrong"],
                                          username=username, next_query=_next_query())
            return page, 401
        login_user(user)
        return redirect(nxt)

    @server.route("/logout")
    def logout():
        logout_user()
        return redirect("/login")

    @server.route("/healthz")
    def healthz():
        return jsonify(status="ok")
