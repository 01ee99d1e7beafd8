"""Request-time access to settings, engine, user scope and the city's clock (Flask only)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import Engine

from placecode.auth.policy import Viewer
from placecode.auth.web import LANG_COOKIE
from placecode.clock import DEFAULT_TIMEZONE, city_now
from placecode.db.engine import get_engine
from placecode.settings import LANGS, Settings, setting_default

SETTINGS_KEY = "PLACECODE_SETTINGS"


def current_settings() -> Settings:
    return current_app.config[SETTINGS_KEY]


def preferred_lang(settings: Settings) -> str:
    """The language cookie (set by the switch or the login page), else PLACECODE_LANG."""
    chosen = request.cookies.get(LANG_COOKIE) if has_request_context() else None
    return chosen if chosen in LANGS else settings.lang


def current_engine() -> Engine:
    return get_engine(current_settings().database_url)


def current_scope() -> Viewer:
    """Viewer of the logged-in user; the login guard means there always is one here."""
    return Viewer.of(current_user)


def current_city_now() -> datetime:
    """Naive local time in the city's time zone (how timestamps are stored)."""
    return city_now(current_settings().timezone if has_app_context() else DEFAULT_TIMEZONE)


def refresh_ms() -> int:
    """Wall refresh period; the default when called outside a request (layout validation)."""
    seconds = (current_settings().wall_refresh_seconds if has_app_context()
               else setting_default("PLACECODE_WALL_REFRESH_SECONDS"))
    return max(1, seconds) * 1000
