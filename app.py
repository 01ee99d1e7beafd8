"""placecode web app: `create_app(settings)` builds the Dash shell; `python app.py` serves it."""

from __future__ import annotations

import os
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, dcc, html
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from components.i18n import t
from pages._callback_guard import init_callback_guard, on_callback_error
from pages._page_guard import guard_pages
from pages.trace.data import trace_data
from pages.wall.data import wall_data
from placecode.auth.guard import CSRF_FIELD, csrf_token, init_guard
from placecode.auth.policy import may_open
from placecode.auth.web import init_auth
from placecode.compression import init_compression
from placecode.front.web import init_front
from placecode.ingest.api import init_api
from placecode.settings import Settings
from placecode.web import SETTINGS_KEY, preferred_lang

ROOT = Path(__file__).resolve().parent
STYLESHEETS = [  # vendored at install by scripts/vendor_assets.sh, served by this app
    "/assets/vendor/bootstrap/bootstrap.min.css",
    "/assets/vendor/noto-sans-sc/400.css",
    "/assets/vendor/noto-sans-sc/700.css",
]


def shell(settings: Settings) -> html.Div:
    """Navigation bar, shared stores and the page container."""
    role = current_user.role if flask.has_request_context() and \
        current_user.is_authenticated else ""
    links = [
        dbc.NavLink(id={"type": "shell-nav", "index": page["name"]}, href=page["relative_path"],
                    active="exact")
        for page in dash.page_registry.values()
        # /venue/<code> etc. are reached by links, not the nav; a role sees the pages it may open
        if not page.get("path_template") and may_open(role, page["path"])
    ]
    return html.Div([
        dcc.Store(id="shell-lang", data=preferred_lang(settings)),
        dcc.Store(id="shell-lang-cookie"),
        dbc.Navbar(
            dbc.Container([
                dbc.NavbarBrand(["placecode", html.Span(id="shell-app-title",
                                                        className="ms-3 brand-sub")]),
                dbc.Nav(links, className="me-auto ms-4", navbar=True),
                dbc.ButtonGroup([
                    dbc.Button("中文", id="shell-lang-zh", color="secondary", outline=True),
                    dbc.Button("EN", id="shell-lang-en", color="secondary", outline=True),
                ], className="me-3"),
                html.Form([
                    dcc.Input(type="hidden", name=CSRF_FIELD,
                              value=csrf_token() if flask.has_request_context() else ""),
                    html.Button(id="shell-logout", type="submit",
                                className="btn btn-outline-light"),
                ], method="post", action="/logout", className="m-0"),
            ], fluid=True),
            color="dark", dark=True, className="shell-nav py-1",
        ),
        html.Main(dash.page_container, className="container-fluid shell-main"),
    ])


def create_app(settings: Settings | None = None) -> dash.Dash:
    """The Dash app with login, pages and locally served assets; `app.server` is the WSGI app."""
    settings = settings or Settings.load()
    os.environ.setdefault("DASH_DISABLE_VERSION_CHECK", "1")  # dev tools never phone home
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        # Dash auto-includes every asset whose *file name* this does not match: only our own
        # four; vendored files are loaded where needed (deck.gl only with a map, lazily).
        assets_ignore=r"^(?!(placecode\.css|shell\.js|wall_map\.js|spec_map\.js)$)",
        external_stylesheets=STYLESHEETS,
        serve_locally=True,
        title="placecode",
        update_title=None,
        suppress_callback_exceptions=True,
        on_error=on_callback_error,
    )
    app.server.config[SETTINGS_KEY] = settings
    guard_pages()
    if settings.trusted_proxies:  # the documented nginx in front: believe its X-Forwarded-*
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=settings.trusted_proxies,
                                       x_proto=settings.trusted_proxies,
                                       x_host=settings.trusted_proxies)
    init_guard(app.server, settings, app.csp_hashes)
    init_auth(app.server, settings)
    init_callback_guard(app)  # after the login guard: an anonymous request stays a 401
    init_api(app.server, settings)
    app.server.register_blueprint(wall_data)
    app.server.register_blueprint(trace_data)
    init_front(app.server)
    init_compression(app.server)
    app.index_string = app.index_string.replace("<html>", '<html data-bs-theme="dark">')
    app.layout = lambda: shell(settings)
    return app


def wsgi() -> flask.Flask:
    """The WSGI app for a production server: `gunicorn 'app:wsgi()'` (settings from PLACECODE_*)."""
    return create_app().server


@dash.callback(
    Output("shell-lang", "data"),
    Input("shell-lang-zh", "n_clicks"),
    Input("shell-lang-en", "n_clicks"),
    prevent_initial_call=True,
)
def switch_language(_zh, _en):
    """The language buttons write the shared store (kept in the browser between visits)."""
    return "en" if dash.ctx.triggered_id == "shell-lang-en" else "zh"


dash.clientside_callback(
    dash.ClientsideFunction(namespace="shell", function_name="rememberLang"),
    Output("shell-lang-cookie", "data"),
    Input("shell-lang", "data"),
)


@dash.callback(
    Output("shell-app-title", "children"),
    Output("shell-logout", "children"),
    Output({"type": "shell-nav", "index": dash.ALL}, "children"),
    Output("shell-lang-zh", "active"),
    Output("shell-lang-en", "active"),
    Input("shell-lang", "data"),
    dash.State({"type": "shell-nav", "index": dash.ALL}, "id"),
)
def label_shell(lang, nav_ids):
    """Shell labels in the chosen language."""
    return (t("app_title", lang), t("logout", lang),
            [t(f"nav_{i['index']}", lang) for i in nav_ids], lang == "zh", lang == "en")


if __name__ == "__main__":
    _settings = Settings.load()
    create_app(_settings).run(host=_settings.host, port=_settings.port, debug=False)
