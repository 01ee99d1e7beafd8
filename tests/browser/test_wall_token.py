"""A wall display logs in with a wall token (no keyboard), shows the wall in kiosk mode, reaches
nothing else, and is logged out when its token is revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from placecode.auth.tokens import issue_token, revoke_token
from placecode.db import schema as t

KPI = '[id=\'{"index":"scans_today","type":"wall-kpi"}\']'


def test_wall_token_opens_a_kiosk_wall_and_revoking_it_ends_the_session(page, server):
    with server.db.engine.begin() as conn:
        token, secret = issue_token(conn, "wall", "HQ wall 1", 371002, datetime.now())
    page.goto(f"{server.url}/wall?kiosk=1&token={secret}")
    page.wait_for_selector(KPI)
    assert "token=" not in page.url and "kiosk=1" in page.url
    assert page.locator(".shell-nav").is_hidden()
    assert page.locator(".rank-row.rank-highlight").count() == 1  # its district is marked
    with server.db.engine.connect() as conn:
        logged = conn.execute(select(t.audit_log.c.action, t.audit_log.c.subject)
                              .where(t.audit_log.c.username == f"wall-{token.id}")).all()
    assert ("wall_login", "district 371002") in logged

    page.goto(server.url + "/alerts")  # anything but the wall sends it back to the wall
    page.wait_for_selector(KPI)
    assert page.url.rstrip("/") == server.url
    assert page.request.post(server.url + "/api/v1/scans", data={}).status == 403

    assert page.request.get(server.url + "/wall-data/venues.bin").status == 200  # its map data

    with server.db.engine.begin() as conn:
        revoke_token(conn, token.id, datetime.now())
    page.goto(server.url + "/")
    page.wait_for_selector("#username")  # back at the login page
    assert page.request.get(server.url + "/wall-data/venues.bin",
                            max_redirects=0).status in (302, 401)


def test_unknown_wall_token_is_refused_with_what_to_do(page, server):
    response = page.goto(f"{server.url}/wall?token=pc_wall_not-a-token")
    assert response.status == 401
    assert "issue-token --kind wall" in page.inner_text("#wall-refused")
