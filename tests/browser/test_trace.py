"""The trace page in a real browser: from an ID number to the playback, the contacts (the same
numbers as the engine), the export, and the management list that turns the next scan red."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from placecode.auth.tokens import issue_token
from placecode.clock import city_now
from placecode.db import schema as t
from placecode.pseudonym import person_key
from placecode.tracing.contacts import trace_contacts
from queries.wall import shown_moment
from tests.browser.conftest import artifact, login
from tests.conftest import SECRET

KPI = "[id*='trace-kpi'][id*='{}']"


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


@pytest.fixture(scope="module")
def case(server):
    """The demo person with the most scans in the last week, their ID number and the engine's
    own answer for their contacts."""
    engine = server.db.engine
    _, until, _ = shown_moment(engine, pd.Timestamp(server.db.now).to_pydatetime())
    with engine.connect() as conn:
        pid, key = conn.execute(
            select(t.scans.c.person_id, t.persons.c.person_key)
            .join(t.persons, t.persons.c.id == t.scans.c.person_id)
            .where(t.scans.c.ts >= until - timedelta(days=7))
            .group_by(t.scans.c.person_id, t.persons.c.person_key)
            .order_by(func.count().desc(), t.scans.c.person_id).limit(1)).one()
        contacts = trace_contacts(conn, pid, until)
    people = pd.read_parquet(server.db.instance / "demo-people.parquet", columns=["id_number"])
    raw = next(i for i in people["id_number"] if person_key(i, SECRET) == key)
    return {"id": pid, "key": key, "raw": raw, "contacts": contacts,
            "close": int((contacts["tier"] == 1).sum()),
            "secondary": int((contacts["tier"] == 2).sum())}


def map_state(page):
    return page.evaluate("window.placecodeMaps.state('trace-map')")


def trace_by_id(page, server, raw: str, user: str = "cmd") -> None:
    login(page, server, user)
    page.goto(server.url + "/trace")
    page.fill("#trace-id", raw)
    page.press("#trace-id", "Enter")


def test_trace_shows_the_engines_contacts_and_plays_back(page, server, case):
    assert case["close"] > 0, "the demo person should have close contacts"
    trace_by_id(page, server, case["raw"])
    page.wait_for_selector(KPI.format("close"))
    assert number(page.inner_text(KPI.format("close"))) == case["close"]
    assert number(page.inner_text(KPI.format("secondary"))) == case["secondary"]
    page.wait_for_function("window.placecodeMaps.state('trace-map')?.trips === 1")
    s = map_state(page)
    assert s["points"] > 0 and s["controls"] and not s["playing"]
    # the list pages from the server: its row count is every contact
    page.wait_for_selector("#trace-contacts .ag-row")
    assert page.locator("#trace-contacts .ag-row").count() <= 200
    start = s["t"]
    page.click(".pc-play")
    page.wait_for_function(f"window.placecodeMaps.state('trace-map').t > {start} + 3600")
    page.click(".pc-play")  # pause
    page.select_option(".pc-trail", "21600")
    assert map_state(page)["trail"] == 21600 and not map_state(page)["playing"]
    page.screenshot(path=artifact("trace-1920x1080.png"), full_page=True)
    # two contacts with the case, each in their own colour
    page.locator("#trace-contacts .ag-row .ag-selection-checkbox input").nth(0).check()
    page.locator("#trace-contacts .ag-row .ag-selection-checkbox input").nth(1).check()
    page.click("#trace-show-selected")
    page.wait_for_function("window.placecodeMaps.state('trace-map').trips === 3")
    with server.db.engine.connect() as conn:
        actions = [r[0] for r in conn.execute(select(t.audit_log.c.action).where(
            t.audit_log.c.subject.contains(case["key"])))]
    assert "trace" in actions and "trace_contacts_shown" in actions


def test_trace_export_lists_every_contact_and_is_audited(page, server, case):
    trace_by_id(page, server, case["raw"])
    page.wait_for_selector(KPI.format("close"))
    with page.expect_download() as got:
        page.click("#trace-export-csv")
    rows = list(csv.DictReader(io.StringIO(got.value.path().read_text())))
    assert len(rows) == case["close"] + case["secondary"]
    assert {r["tier"] for r in rows} <= {"close", "secondary"}
    assert all(r["person_key"] and r["venue_code"] for r in rows)
    with server.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.audit_log).where(
            t.audit_log.c.action == "export_contacts",
            t.audit_log.c.subject.contains(case["key"]))).scalar() >= 1


def test_trace_puts_contacts_under_management_and_their_next_scan_is_red(page, server, case):
    trace_by_id(page, server, case["raw"])
    page.wait_for_selector(KPI.format("close"))
    page.click("#trace-manage")
    page.wait_for_selector(".manage-error")
    assert "请写明理由" in page.inner_text(".manage-error")
    page.fill("#trace-manage-reason", "密接，居家隔离 14 天")
    page.click("#trace-manage")
    page.wait_for_selector(".manage-done")
    close_ids = case["contacts"].loc[case["contacts"]["tier"] == 1, "person_id"].tolist()
    with server.db.engine.begin() as conn:
        managed = {r[0] for r in conn.execute(select(t.key_persons.c.person_id).where(
            t.key_persons.c.category == "managed"))}
        audit = conn.execute(select(t.audit_log.c.detail).where(
            t.audit_log.c.action == "put_under_management")).scalars().all()
        _, secret = issue_token(conn, "device", "trace test", None, pd.Timestamp.now()
                                .to_pydatetime())
        keys = dict(conn.execute(select(t.persons.c.id, t.persons.c.person_key)
                                 .where(t.persons.c.id.in_(close_ids))).all())
    assert set(close_ids) <= managed
    assert all(keys[p] in audit[-1] for p in close_ids)  # one action naming every person
    people = pd.read_parquet(server.db.instance / "demo-people.parquet", columns=["id_number"])
    raw = next(i for i in people["id_number"] if person_key(i, SECRET) == keys[close_ids[0]])
    response = page.request.post(server.url + "/api/v1/scans", headers={
        "Authorization": f"Bearer {secret}"}, data={
        "scan_id": "trace-managed-1", "venue_code": "371002S000001", "person": raw,
        "ts": city_now().isoformat() + "+08:00"})
    assert response.status == 200, response.text()
    assert response.json()["verdict"] == "red"


def test_trace_autoplays_and_loops_without_controls_for_the_wall(page, server, case):
    login(page, server, "cmd")
    page.goto(server.url + f"/trace?person={case['key']}&autoplay=1&controls=0")
    page.wait_for_function("window.placecodeMaps.state('trace-map')?.playing === true")
    assert not map_state(page)["controls"]
    assert page.locator("#trace-id").is_hidden()
    page.wait_for_timeout(1500)
    page.screenshot(path=artifact("trace-wall-1920x1080.png"))


def test_trace_refuses_a_planner_and_says_an_id_is_unknown(page, server, case):
    login(page, server, "plan")
    page.goto(server.url + f"/trace?person={case['key']}")
    page.wait_for_selector("#page-refused")
    assert "无权追踪" in page.inner_text("#page-refused")
    assert page.locator("#trace-id").count() == 0
    trace_by_id(page, server, "110101199001011234")  # a commander, an ID nobody has
    page.wait_for_function(
        "document.querySelector('.trace-error')?.innerText.includes('没有该身份证号')")


def test_a_red_alert_leads_to_its_persons_trace(page, server):
    from tests.browser.test_rules_alerts import red_scan

    code = red_scan(server)
    login(page, server, "huancui")  # a district commander: the alert is in their district
    page.goto(server.url + "/alerts")
    page.click(f".ag-row:has-text('{code}') a[href^='/trace?alert=']")
    page.wait_for_selector(KPI.format("visits"))
    assert number(page.inner_text(KPI.format("visits"))) >= 1
    assert page.locator(".trace-error").count() == 0
