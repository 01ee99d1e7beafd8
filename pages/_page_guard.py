"""Every page's layout asks the policy first. Dash pages draw a layout through a callback when
the address changes in the browser, which the login guard (full page loads) never sees; so the
layouts themselves are wrapped: a role that may not open a page gets the refusal, in its
language, with a link to its own first page, and the refusal is audit-logged."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html
from flask_login import current_user

from components.i18n import t
from placecode.auth.policy import home, may_open, note_refusal, page_capability
from placecode.web import current_settings, preferred_lang


def refused_layout(capability: str, role: str, lang: str) -> html.Div:
    return html.Div(dbc.Alert([
        html.H2(t("page_refused_title", lang), className="h4"),
        html.P(t(f"refused_{capability}", lang), className="mb-2"),
        dbc.Button(t("page_refused_home", lang), href=home(role), color="primary"),
    ], color="warning", className="mt-4"), id="page-refused")


def guard_pages() -> None:
    """Wrap every registered page's layout (once, however many apps are made: the wrapper
    reads the app it runs in, at request time)."""
    for page in dash.page_registry.values():
        layout = page["layout"]
        if getattr(layout, "guarded", False):
            continue
        page["layout"] = _guarded(layout, page["path"])


def _guarded(layout, path: str):
    def guarded(**kwargs):
        role = current_user.role if current_user.is_authenticated else ""
        if not may_open(role, path):
            note_refusal(f"a {role or 'visitor'} may not open {path}")
            return refused_layout(page_capability(path), role,
                                  preferred_lang(current_settings()))
        return layout(**kwargs) if callable(layout) else layout

    guarded.guarded = True
    return guarded
