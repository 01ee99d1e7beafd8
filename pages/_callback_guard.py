"""Callback requests are client input like any other: a body dash-renderer would never send, or
values a page never holds (a list where a filter's text belongs, startRow "abc", a date in year
9999) are a 400 naming the problem, never a 500.

Two layers: the body's shape is checked before Dash reads it, and an exception that bad values
cause inside a callback (TypeError, ValueError, ...) becomes a 400 with the traceback logged, so
a forged request is refused and a real bug stays visible in the log."""

from __future__ import annotations

import logging

import dash
import flask
from werkzeug.exceptions import BadRequest, Forbidden

CALLBACK_PATH = "/_dash-update-component"
INPUT_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
                RecursionError)
log = logging.getLogger(__name__)


def _refuse(problem: str) -> None:
    response = flask.jsonify(error=f"this request is not one the page sends ({problem}): "
                                   "reload the page")
    response.status_code = 400
    raise BadRequest(response=response)


def _props(items, name: str) -> None:
    if not isinstance(items, list):
        _refuse(f"{name} must be a list")
    for item in items:
        group = item if isinstance(item, list) else [item]
        if not all(isinstance(p, dict) and "id" in p and isinstance(p.get("property"), str)
                   for p in group):
            _refuse(f"every {name} item needs an id and a property")


def check_body(callbacks: dict) -> None:
    """Refuse a callback body of the wrong shape or naming no callback of this app."""
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        _refuse("the body must be a JSON object")
    if not isinstance(body.get("output"), str) or body["output"] not in callbacks:
        _refuse("output names no callback of this app")
    _props(body.get("inputs"), "inputs")
    _props(body.get("state", []), "state")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        _refuse("changedPropIds must be a list of strings")


def on_callback_error(exc: Exception):
    """Dash's app-wide on_error: values the page would never send are the client's error."""
    if isinstance(exc, PermissionError):  # a refusal no page shows: a replayed callback
        response = flask.jsonify(error=str(exc))
        response.status_code = 403
        raise Forbidden(response=response)
    if isinstance(exc, INPUT_ERRORS):
        log.warning("callback %s refused bad input", flask.request.path, exc_info=exc)
        _refuse(f"{type(exc).__name__} from its values")
    raise exc


def init_callback_guard(app: dash.Dash) -> None:
    """Check every callback request's body before Dash dispatches it."""

    @app.server.before_request
    def _check_callback_body():
        if flask.request.path == CALLBACK_PATH and flask.request.method == "POST":
            check_body(app.callback_map)
