"""The audit page as the admin uses it: filter, read, export; nobody else gets in."""

from __future__ import annotations

import io
import json

import pandas as pd
from sqlalchemy import func, select

from placecode.db import schema as t
from tests.browser.conftest import artifact, login

KPI = '[id=\'{"index":"%s","type":"audit-kpi"}\']'


def test_admin_filters_the_audit_log_and_exports_what_matches(page, server):
    login(page, server, "adm")
    page.goto(server.url + "/audit")
    page.wait_for_selector("#audit-grid .ag-row")
    with server.db.engine.connect() as conn:
        logins = conn.execute(select(func.count()).select_from(t.audit_log).where(
            t.audit_log.c.action == "login", t.audit_log.c.username == "adm")).scalar_one()
    page.select_option("#audit-action", "login")
    page.fill("#audit-user", "adm")
    page.click("#audit-apply")
    page.wait_for_function(f"document.querySelector({json.dumps(KPI % 'rows')})"
                           f"?.innerText.trim() === '{logins}'")
    rows = page.locator("#audit-grid .ag-center-cols-container .ag-row")
    assert rows.count() == logins
    assert all("adm" in rows.nth(i).inner_text() for i in range(rows.count()))
    page.screenshot(path=artifact("audit-1920x1080-zh.png"))
    with page.expect_download() as got:
        page.click("#audit-export")
    frame = pd.read_csv(io.BytesIO(open(got.value.path(), "rb").read()))
    assert len(frame) == logins and set(frame["action"]) == {"login"}
    with server.db.engine.connect() as conn:  # the export is itself on the record
        assert conn.execute(select(t.audit_log.c.subject).where(
            t.audit_log.c.action == "export_audit").order_by(t.audit_log.c.id.desc())
        ).scalars().first() == f"{logins} rows"


def test_a_bad_date_names_the_field(page, server):
    login(page, server, "adm")
    page.goto(server.url + "/audit")
    page.wait_for_selector("#audit-grid .ag-row")
    page.fill("#audit-since", "2026-11-20")
    page.fill("#audit-until", "2026-11-01")
    page.click("#audit-apply")
    page.wait_for_selector("#audit-error")
    assert "截止日期早于起始日期" in page.inner_text("#audit-error")


def test_a_commander_cannot_read_the_audit_log(page, server):
    login(page, server, "cmd")
    page.goto(server.url + "/audit")
    page.wait_for_selector("#page-refused")
    assert "仅供管理员" in page.inner_text("#page-refused")
    assert page.locator("a.nav-link[href='/audit']").count() == 0  # not offered in the nav
    page.screenshot(path=artifact("refused-1920x1080-zh.png"))
    assert page.locator("#audit-grid .ag-row").count() == 0
