"""The rules page and the alerts page in headless Chromium, as an admin and a duty desk use them."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from placecode.auth.tokens import issue_token
from placecode.db import schema as t
from tests.browser.conftest import artifact, dash_post, login

PARAM = """[id='{"param":"%s","rule":"%s","type":"rules-param"}']"""
ENABLED = """[id='{"rule":"%s","type":"rules-enabled"}']"""


def versions(db, **where) -> list:
    with db.engine.connect() as conn:
        return conn.execute(select(t.rule_versions.c.rule_id, t.rule_versions.c.changed_by)
                            .filter_by(**where)).all()


def test_admin_previews_and_saves_a_rule_change(page, server):
    login(page, server, "adm", lang="en")
    page.goto(server.url + "/rules")
    page.wait_for_selector(".rule-card")
    assert page.locator(".rule-card").count() == 8
    page.fill(PARAM % ("max_c", "temperature"), "41")  # outside 36.5..39
    page.click("#rules-preview")
    page.wait_for_selector("#rules-error")
    assert "max_c: enter a number from 36.5 to 39" in page.inner_text("#rules-error")
    page.fill(PARAM % ("max_c", "temperature"), "37.5")
    page.click(ENABLED % "mask")
    page.click("#rules-save")  # no reason given
    page.wait_for_selector("#rules-error:has-text('say why')")
    assert versions(server.db) == []
    page.fill("#rules-reason", "Entrances report no masks reliably; fever from 37.5")
    page.click("#rules-preview")
    page.wait_for_selector("#rules-preview-table")
    table = page.inner_text("#rules-preview-table")
    assert "On the management list" in table and "Persons red" in table
    page.click("#rules-save")
    page.wait_for_selector("#rules-saved-message")
    page.wait_for_selector("#rules-progress-label:has-text('done')", timeout=30_000)
    page.wait_for_selector("#rules-version:has-text('v1')")
    page.screenshot(path=artifact("rules-1920x1080-en.png"))
    assert sorted(versions(server.db)) == [("mask", "adm"), ("temperature", "adm")]
    with server.db.engine.connect() as conn:
        audit = conn.execute(select(t.audit_log.c.username, t.audit_log.c.reason)
                             .where(t.audit_log.c.action == "rules_change")).all()
        stale = conn.execute(select(func.count()).select_from(t.person_status)
                             .where(t.person_status.c.rule_version != 1)).scalar()
    assert audit == [("adm", "Entrances report no masks reliably; fever from 37.5")]
    assert stale == 0  # everyone re-evaluated under version 1


def test_commander_reads_the_rules_but_cannot_change_them(page, server):
    login(page, server, "cmd")
    page.goto(server.url + "/rules")
    page.wait_for_selector(".rule-card")
    assert "仅管理员可修改规则" in page.inner_text("#rules-readonly")
    assert page.locator("#rules-save").is_disabled()
    before = len(versions(server.db))
    # past the layout: the save callback itself refuses a non-admin
    body = {
        "output": "..rules-message.children...rules-saved.data..",
        "outputs": [{"id": "rules-message", "property": "children"},
                    {"id": "rules-saved", "property": "data"}],
        "inputs": [{"id": "rules-save", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "shell-lang", "property": "data", "value": "en"},
            {"id": "rules-reason", "property": "value", "value": "sneaky"},
            [{"id": {"rule": "managed", "type": "rules-enabled"}, "property": "value",
              "value": False}],
            [{"id": {"rule": "managed", "type": "rules-enabled"}, "property": "id",
              "value": {"rule": "managed", "type": "rules-enabled"}}],
            [], [], [], [],
        ],
        "changedPropIds": ["rules-save.n_clicks"],
    }
    response = dash_post(page, server, body)
    assert response.ok
    assert "Only an admin" in json.dumps(response.json())
    assert len(versions(server.db)) == before


def red_scan(server, district: int = 371002) -> str:
    """A managed resident scans a venue of `district` through the scan API; returns its code."""
    import pandas as pd

    db = server.db
    with db.engine.begin() as conn:
        token = issue_token(conn, "device", "browser test", None, datetime.now())[1]
        pid = conn.execute(select(t.person_status.c.person_id)
                           .where(t.person_status.c.managed.is_(True))
                           .order_by(t.person_status.c.person_id).limit(1)).scalar()
        code = conn.execute(select(t.venues.c.code).where(t.venues.c.district_id == district)
                            .limit(1)).scalar()
    people = pd.read_parquet(db.instance / "demo-people.parquet").set_index("person_id")
    now = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=1)
    scan = {"scan_id": f"browser-{now:%H%M%S%f}", "venue_code": code,
            "person": people.loc[pid, "id_number"], "ts": now.isoformat(timespec="seconds")}
    request = urllib.request.Request(server.url + "/api/v1/scans", json.dumps(scan).encode(),
                                     {"Authorization": f"Bearer {token}",
                                      "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["verdict"] == "red"
    return code


def test_alert_appears_for_the_district_with_the_person_masked(page, server):
    code = red_scan(server)
    login(page, server, "huancui")
    page.goto(server.url + "/alerts")
    page.wait_for_selector(f".ag-row:has-text('{code}')")
    row = page.inner_text(f".ag-row:has-text('{code}')")
    assert "管控名单人员" in row and "••••" in row
    with server.db.engine.connect() as conn:
        keys = conn.execute(select(t.persons.c.person_key)
                            .join(t.alerts, t.alerts.c.person_id == t.persons.c.id)).scalars()
        assert all(k not in page.content() for k in keys)  # never the full key
    today = page.inner_text("""[id='{"index":"today","type":"alerts-kpi"}']""")
    assert int(today.replace(",", "")) >= 1
    page.screenshot(path=artifact("alerts-1920x1080-zh.png"))


def test_planner_is_refused_alerts(page, server):
    login(page, server, "plan", lang="en")
    page.goto(server.url + "/alerts")
    page.wait_for_selector("#page-refused")
    assert "may not see person-level data" in page.inner_text("#page-refused")
    assert page.locator(".ag-row").count() == 0
