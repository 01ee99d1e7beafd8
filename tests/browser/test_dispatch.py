"""The closed loop in a real browser: a red scan through the API -> alert -> incident, notified
once the pushes land -> held -> dispatched to the suggested unit -> picked up -> closed, checking
the board, the timeline and the pushes at each step; and a step from a stale card refused."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import select, update

from placecode.db import schema as t
from placecode.dispatch.receiver import Receiver
from tests.browser.conftest import artifact, login
from tests.browser.test_language import english_in
from tests.browser.test_rules_alerts import red_scan


def card(incident_id: int) -> str:
    return f"""[id='{{"incident":{incident_id},"type":"dispatch-card"}}']"""


def column(state: str) -> str:
    return f"""[id='{{"state":"{state}","type":"dispatch-col"}}']"""


@pytest.fixture
def receiver(server):
    """A webhook receiver the server's outbox worker delivers to, for this test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = Receiver("127.0.0.1", port)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    w = t.webhooks
    with server.db.engine.begin() as conn:
        before = conn.execute(select(w.c.id, w.c.url)).all()
        for hook_id, url in before:
            conn.execute(update(w).where(w.c.id == hook_id).values(
                url=url.replace("http://127.0.0.1:8061", f"http://127.0.0.1:{port}")))
    yield hub
    with server.db.engine.begin() as conn:
        for hook_id, url in before:
            conn.execute(update(w).where(w.c.id == hook_id).values(url=url))
    hub.shutdown()


def test_dispatch_runs_a_red_scan_to_a_closed_pickup(page, server, receiver):
    red_scan(server)
    with server.db.engine.connect() as conn:
        incident = conn.execute(select(t.incidents.c.id)
                                .order_by(t.incidents.c.id.desc())).scalars().first()
    login(page, server, "huancui")  # the district commander of the venue's district
    page.goto(server.url + "/dispatch")
    page.wait_for_selector(f"{column('notified')} {card(incident)}", timeout=30_000)
    assert any(k.startswith("alert-") for k in receiver.received)  # the alert landed first
    page.click(f"{card(incident)} button:has-text('确认已控制')")
    page.wait_for_selector(f"{column('held')} {card(incident)} .dispatch-unit")
    suggested = page.inner_text(f"{card(incident)} .dispatch-unit")
    page.screenshot(path=artifact("dispatch-1920x1080.png"), full_page=True)
    page.click(f"{card(incident)} button:has-text('派车')")
    page.wait_for_selector(f"{column('dispatched')} {card(incident)}")
    unit_code = suggested.split()[0]
    assert unit_code in page.inner_text(card(incident))
    page.click(f"{card(incident)} button:has-text('确认接走')")
    page.wait_for_selector(f"{column('picked_up')} {card(incident)}")
    page.click(f"{card(incident)} button:has-text('结案')")
    page.wait_for_selector(f"{column('closed')} {card(incident)}")
    timeline = page.inner_text("#dispatch-timeline")
    for step in ("已控制", "已派车", "已接走", "已结案"):
        assert step in timeline
    with server.db.engine.connect() as conn:
        steps = conn.execute(select(t.incident_events.c.to_state, t.incident_events.c.username)
                             .where(t.incident_events.c.incident_id == incident)
                             .order_by(t.incident_events.c.id)).all()
        unit = conn.execute(select(t.units.c.status).where(t.units.c.code == unit_code)).scalar()
    assert [s for s, _ in steps] == ["new", "notified", "held", "dispatched", "picked_up",
                                     "closed"]
    assert {u for _, u in steps[2:]} == {"huancui"}
    assert unit == "available"
    page.wait_for_timeout(3000)  # the worker delivers every second
    pushed = {k for k in receiver.received if k.startswith(f"incident-{incident}-")}
    assert {k.split("-")[2] for k in pushed} >= {"held", "dispatched", "closed"}


def test_dispatch_refuses_a_step_from_a_stale_card_and_says_so(page, server):
    red_scan(server)
    with server.db.engine.connect() as conn:
        incident = conn.execute(select(t.incidents.c.id)
                                .order_by(t.incidents.c.id.desc())).scalars().first()
    login(page, server, "huancui")
    page.goto(server.url + "/dispatch")
    page.wait_for_selector(card(incident))
    with server.db.engine.begin() as conn:  # another officer cancels it a moment earlier
        conn.execute(update(t.incidents).where(t.incidents.c.id == incident).values(
            state="cancelled", version=t.incidents.c.version + 1))
    page.click(f"{card(incident)} button:has-text('撤销')")
    page.wait_for_selector(".dispatch-refused")
    said = page.inner_text(".dispatch-refused")
    assert "请刷新" in said and "已撤销" in said and english_in(said) == []  # in Chinese


def test_roll_call_from_the_board_answered_on_a_phone(browser, page, server):
    login(page, server, "huancui")
    page.goto(server.url + "/dispatch")
    page.click("#dispatch-roll-open")
    page.wait_for_selector("#dispatch-roll-grid .ag-row")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                geolocation={"longitude": 122.12, "latitude": 37.51},
                                permissions=["geolocation"])
    field = phone.new_page()
    try:
        login(field, server, "field")
        field.goto(server.url + "/field")
        field.wait_for_selector("#field-roll-state:has-text('请应答')")
        field.click("#field-absent")  # absent without a reason: told what is missing
        field.wait_for_selector(".field-refused:has-text('缺勤需要写明原因')")
        field.click("#field-present")
        field.wait_for_selector("#field-roll-state:has-text('到岗')")
        field.click(".field-status:has-text('停用')")
        field.wait_for_selector(".field-status.active:has-text('停用')")
        field.screenshot(path=artifact("field-390x844.png"), full_page=True)
    finally:
        phone.close()
    with server.db.engine.begin() as conn:
        me = conn.execute(select(t.staff.c.id, t.staff.c.unit_id)
                          .where(t.staff.c.username == "field")).one()
        where = conn.execute(select(t.roll_call_answers.c.present, t.roll_call_answers.c.lon)
                             .where(t.roll_call_answers.c.staff_id == me.id)).one()
        status, unit_lon = conn.execute(select(t.units.c.status, t.units.c.lon)
                                        .where(t.units.c.id == me.unit_id)).one()
        conn.execute(update(t.units).where(t.units.c.id == me.unit_id)
                     .values(status="available"))  # leave the unit as other tests expect
    assert where.present and where.lon == pytest.approx(122.12)
    assert status == "out_of_service"
    assert unit_lon == pytest.approx(122.12)  # the unit moved to where its member reported
    page.wait_for_function(  # the board counts the answer on its next tick
        "[...document.querySelectorAll('#dispatch-roll-grid .ag-row')]"
        ".some(r => r.innerText.includes('\\n1\\n'))", timeout=15_000)
    page.screenshot(path=artifact("dispatch-rollcall-1920x1080.png"), full_page=True)


def test_dispatch_board_reads_on_a_phone(browser, server):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    try:
        login(page, server, "huancui")
        page.goto(server.url + "/dispatch")
        page.wait_for_selector(column("held"))
        page.wait_for_selector("[id*='dispatch-kpi'][id*='available']")
        # the page itself does not scroll sideways: only the board's columns do
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.screenshot(path=artifact("dispatch-390x844.png"), full_page=True)
    finally:
        phone.close()
