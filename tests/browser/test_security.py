"""Viewer breaches through raw HTTP (replayed Dash callbacks, the API, data routes), not through
the layout: each is refused and lands in the audit log. Plus CSRF, lockout and clean logs."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select

from placecode.auth.tokens import issue_token
from placecode.db import schema as t
from queries.alerts import mask_key
from tests.browser.conftest import dash_post, login
from tests.browser.test_rules_alerts import red_scan
from tests.browser.test_venues import flagged_venue


def refusals(db, username: str) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        return [(r.subject, r.reason) for r in conn.execute(
            select(t.audit_log.c.subject, t.audit_log.c.reason)
            .where(t.audit_log.c.action == "scope_refused", t.audit_log.c.username == username)
            .order_by(t.audit_log.c.id))]


def venue_grid_body(page, server, district: int) -> tuple[str, str]:
    """A venue of `district` with a flagged scan on the day the pages show (a red scan is sent
    first: other tests' live scans may have moved that day to today), and the person list
    request of its page as a city commander's browser sends it."""
    red_scan(server, district)
    code = flagged_venue(server.db, district)
    bodies = []
    page.on("request", lambda r: bodies.append(r.post_data) if r.method == "POST" and (
        "_dash-update-component" in r.url and "venue-grid.rowData" in (r.post_data or ""))
        else None)
    login(page, server, "cmd")
    page.goto(server.url + f"/venue/{code}")
    page.wait_for_selector("#venue-grid .ag-row")
    assert bodies, "the commander's page asked for its person list"
    return code, bodies[-1]


def venue_keys(db, code: str) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(select(t.persons.c.person_key).join(
            t.scans, t.scans.c.person_id == t.persons.c.id).join(
            t.venues, t.venues.c.id == t.scans.c.venue_id).where(
            t.venues.c.code == code)).scalars())


def test_district_commander_replaying_another_districts_person_list_is_refused_and_logged(
        browser, page, server):
    code, body = venue_grid_body(page, server, 371003)  # outside huancui's 371002
    keys = venue_keys(server.db, code)
    before = len(refusals(server.db, "huancui"))
    other = browser.new_context()
    try:
        theirs = other.new_page()
        login(theirs, server, "huancui")
        response = dash_post(theirs, server, body)
        assert response.ok
        text = json.dumps(response.json(), ensure_ascii=False)
        # neither a key nor its masked form (a bare 4-character tail may be any number's digits)
        assert not any(k in text or mask_key(k) in text for k in keys)
        assert response.json()["response"]["venue-grid"]["rowData"] == []
    finally:
        other.close()
    logged = refusals(server.db, "huancui")[before:]
    assert logged and logged[-1][0] == "/_dash-update-component"
    assert "371003" in logged[-1][1] or "district" in logged[-1][1]


def test_planner_replaying_a_person_list_is_refused_and_logged(browser, page, server):
    code, body = venue_grid_body(page, server, 371002)
    before = len(refusals(server.db, "plan"))
    other = browser.new_context()
    try:
        theirs = other.new_page()
        login(theirs, server, "plan")
        response = dash_post(theirs, server, body)
        assert response.json()["response"]["venue-grid"]["rowData"] == []
        traced = theirs.request.get(server.url + "/trace-data/not-a-trace/map.json")
        assert traced.status == 403  # refused before any trace is looked up
    finally:
        other.close()
    logged = refusals(server.db, "plan")[before:]
    assert any("person-level data" in reason for _, reason in logged), logged


def test_wall_token_reaches_nothing_but_the_wall(browser, page, server):
    with server.db.engine.begin() as conn:
        token, secret = issue_token(conn, "wall", "security test", None, datetime.now())
    code, body = venue_grid_body(page, server, 371002)
    wall = browser.new_context()
    try:
        screen = wall.new_page()
        screen.goto(server.url + f"/wall?token={secret}")
        screen.wait_for_selector("#wall-map")
        for path in ("/trace", "/venues", f"/venue/{code}", "/alerts", "/dispatch", "/rules",
                     "/economy", "/testing"):
            screen.goto(server.url + path)
            assert screen.url.rstrip("/") == server.url, path  # sent back to the wall
        response = dash_post(screen, server, body)  # the callback route is the wall's too
        assert response.json()["response"]["venue-grid"]["rowData"] == []
    finally:
        wall.close()
    try:  # the token itself, without the wall's session, at the partners' API
        urllib.request.urlopen(urllib.request.Request(
            server.url + "/api/v1/denylist", headers={"Authorization": f"Bearer {secret}"}))
        raise AssertionError("a wall token read the deny list")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403 and "partner token" in exc.read().decode()
    logged = refusals(server.db, f"wall-{token.id}")
    assert len(logged) >= 9, logged  # every page above, the callback
    assert any(subject == "/trace" for subject, _ in logged)
    assert refusals(server.db, f"wall-token-{token.id}")  # and the API


def test_field_staff_cannot_dispatch_an_incident_through_the_callback(page, server):
    red_scan(server)  # a red scan in 环翠区 opens an incident there, field's district
    with server.db.engine.connect() as conn:
        incident = conn.execute(
            select(t.incidents.c.id, t.incidents.c.state, t.incidents.c.version)
            .where(t.incidents.c.district_id == 371002,
                   t.incidents.c.state.in_(("new", "notified")))
            .order_by(t.incidents.c.id.desc()).limit(1)).one()
    before = len(refusals(server.db, "field"))
    login(page, server, "field")
    pressed = {"incident": incident.id, "to": "cancelled", "type": "dispatch-act",
               "version": incident.version}
    body = {
        "output": "..dispatch-message.children...dispatch-acted.data..",
        "outputs": [{"id": "dispatch-message", "property": "children"},
                    {"id": "dispatch-acted", "property": "data"}],
        "inputs": [[{"id": pressed, "property": "n_clicks", "value": 1}]],
        "state": [[], [], [], [], [{"id": {"incident": incident.id, "type": "dispatch-note"},
                                    "property": "value", "value": "not mine to cancel"}],
                  [{"id": {"incident": incident.id, "type": "dispatch-note"},
                    "property": "id",
                    "value": {"incident": incident.id, "type": "dispatch-note"}}],
                  {"id": "shell-lang", "property": "data", "value": "en"}],
        "changedPropIds": [json.dumps(pressed, sort_keys=True, separators=(",", ":"))
                           + ".n_clicks"],
    }
    response = dash_post(page, server, body)
    assert response.ok, response.text()
    assert "may not act" in response.text()
    with server.db.engine.connect() as conn:
        state = conn.execute(select(t.incidents.c.state)
                             .where(t.incidents.c.id == incident.id)).scalar()
        by_field = conn.execute(select(t.incident_events.c.to_state).where(
            t.incident_events.c.incident_id == incident.id,
            t.incident_events.c.username == "field")).scalars().all()
    # the outbox may mark it notified meanwhile (new → notified); the field step moved nothing
    assert state in ("new", "notified") and by_field == []
    assert len(refusals(server.db, "field")) > before


def test_a_callback_without_the_sessions_csrf_token_is_refused(page, server):
    login(page, server, "cmd")
    body = {"output": "shell-lang.data", "outputs": {"id": "shell-lang", "property": "data"},
            "inputs": [{"id": "shell-lang-zh", "property": "n_clicks", "value": 1},
                       {"id": "shell-lang-en", "property": "n_clicks", "value": None}],
            "changedPropIds": ["shell-lang-zh.n_clicks"]}
    forged = page.request.post(server.url + "/_dash-update-component", data=body,
                               headers={"Content-Type": "application/json"})
    assert forged.status == 403 and "CSRF" in forged.text()
    wrong = page.request.post(server.url + "/_dash-update-component", data=body,
                              headers={"Content-Type": "application/json",
                                       "X-CSRFToken": "guessed"})
    assert wrong.status == 403
    real = dash_post(page, server, body)
    assert real.status == 200 and real.json()["response"]["shell-lang"]["data"] == "zh"
    with server.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.audit_log).where(
            t.audit_log.c.action == "csrf_refused", t.audit_log.c.username == "cmd")
        ).scalar_one() >= 2


def test_pages_carry_a_policy_without_external_sources_and_strict_cookies(page, server):
    response = page.request.get(server.url + "/login")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert not re.search(r"https?://|\*", policy), policy  # no other origin, no wildcard
    login(page, server, "cmd")
    cookies = {c["name"]: c for c in page.context.cookies(server.url)}
    assert cookies["session"]["httpOnly"] and cookies["session"]["sameSite"] == "Lax"
    assert cookies["_csrf_token"]["sameSite"] == "Strict"
    errors = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text
            else None)
    page.goto(server.url + "/")  # the wall: deck.gl, fonts, workers all within the policy
    page.wait_for_function("window.placecodeWall?.state().ready", timeout=30_000)
    page.goto(server.url + "/trace")  # plotly's WebGL graph page
    page.wait_for_selector("#trace-id")
    assert errors == []


def test_logs_hold_no_tokens_keys_or_id_numbers(server):
    with server.db.engine.begin() as conn:
        _, wall = issue_token(conn, "wall", "log test", None, datetime.now())
        _, device = issue_token(conn, "device", "log test", None, datetime.now())
        key = conn.execute(select(t.persons.c.person_key).limit(1)).scalar_one()
    people = pd.read_parquet(server.db.instance / "demo-people.parquet")
    id_number = str(people["id_number"].iloc[3])
    for path in (f"/?token={wall}", f"/trace?person={key}", f"/login?next=/trace?person={key}"):
        try:
            urllib.request.urlopen(server.url + path, timeout=10)
        except urllib.error.HTTPError:
            pass
    with server.db.engine.connect() as conn:
        code = conn.execute(select(func.min(t.venues.c.code))).scalar_one()
    request = urllib.request.Request(server.url + "/api/v1/scans", json.dumps({
        "scan_id": "log-test-1", "venue_code": code, "person": id_number,
        "ts": "not-a-time"}).encode(), {"Authorization": f"Bearer {device}",
                                        "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code in (400, 422)  # a bad scan, answered and logged as a request line
    time.sleep(0.5)
    log = (server.db.instance / "server.log").read_text()
    assert "GET /?… HTTP" in log  # the request was logged, without its query
    for secret in (wall, device, key, id_number):
        assert secret not in log
    keys = set(people["id_number"].astype(str))
    assert not keys & set(re.findall(r"\d{17}[\dX]", log))  # no ID number at all
