"""Logins in-process on both databases: lockout after repeated failures, Secure cookies over TLS,
the CSRF token on the login form and logout."""

from __future__ import annotations

import re
from datetime import timedelta

import dash
import pytest
from sqlalchemy import select

from placecode.auth.lockout import locked_until
from placecode.auth.users import create_user
from placecode.clock import city_now
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.settings import Settings
from tests.conftest import SECRET

PASSWORD = "good-password-1"


def make_client(db_url, tmp_path, **settings):
    import app

    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        create_user(conn, "alice", "city_commander", PASSWORD)
        create_user(conn, "bob", "planner", PASSWORD)
    values = Settings.load(env={}, database_url=db_url, secret_key=SECRET,
                           instance_dir=str(tmp_path), **settings)
    return app.create_app(values).server, engine


@pytest.fixture
def site(db_url, tmp_path):
    server, engine = make_client(db_url, tmp_path, login_max_failures=3)
    yield server, engine
    dash._pages.PAGE_REGISTRY.clear()


def log_in(client, username, password, base="http://localhost"):
    form = client.get("/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post("/login", base_url=base, data={
        "username": username, "password": password, "csrf_token": token})


def test_login_locks_after_repeated_failures_even_for_the_right_password(site):
    server, engine = site
    client = server.test_client()
    for _ in range(3):
        assert log_in(client, "alice", "wrong-password-1").status_code == 401
    locked = log_in(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert "锁定" in locked.get_data(as_text=True)  # says it is locked and until when
    assert log_in(server.test_client(), "bob", PASSWORD).status_code == 302  # others may
    with engine.connect() as conn:
        actions = conn.execute(select(t.audit_log.c.action).where(
            t.audit_log.c.username == "alice").order_by(t.audit_log.c.id)).scalars().all()
        assert actions == ["login_failed"] * 3 + ["login_locked"]
        now = city_now()  # audit rows are in city time
        until = locked_until(conn, "alice", "", now, 3, 15)
        assert until is not None and until > now
        assert locked_until(conn, "alice", "", now + timedelta(minutes=16), 3, 15) is None


def test_a_good_login_clears_earlier_failures(site):
    server, _ = site
    client = server.test_client()
    for _ in range(2):
        log_in(client, "alice", "wrong-password-1")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client = server.test_client()
    log_in(client, "alice", "wrong-password-1")
    assert log_in(client, "alice", PASSWORD).status_code == 302  # 3 failures, not in a row


def test_login_form_without_its_csrf_token_is_refused(site):
    server, _ = site
    client = server.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403 and "CSRF" in response.get_data(as_text=True)


def test_logout_needs_a_post_with_the_token(site):
    server, _ = site
    client = server.test_client()
    assert log_in(client, "alice", PASSWORD).status_code == 302
    page = client.get("/logout").get_data(as_text=True)  # a GET only asks
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 403  # a forged cross-site POST
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302  # logged out


def secure_flags(response) -> dict[str, bool]:
    return {c.split("=", 1)[0]: "; Secure" in c for c in response.headers.getlist("Set-Cookie")}


def test_cookies_are_secure_over_tls_and_http_only(site):
    server, _ = site
    response = log_in(server.test_client(), "alice", PASSWORD, base="https://localhost")
    flags = secure_flags(response)
    assert flags["session"] and flags["_csrf_token"]
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session"))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    plain = log_in(server.test_client(), "bob", PASSWORD)
    assert not secure_flags(plain)["session"]  # plain http on the demo machine still works


def test_forwarded_https_counts_only_behind_a_trusted_proxy(db_url, tmp_path):
    for proxies, secure in ((0, False), (1, True)):
        server, engine = make_client(db_url, tmp_path, trusted_proxies=proxies)
        form = server.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        assert secure_flags(form)["session"] is secure, proxies
        dash._pages.PAGE_REGISTRY.clear()
        with engine.begin() as conn:
            conn.execute(t.users.delete())


@pytest.mark.parametrize("variant", ["alice ", "\talice", "ALICE", "ａｌｉｃｅ", "alice\u00a0",
                                     "\u3000Alice"])
def test_lockout_holds_for_every_spelling_of_a_locked_username(site, variant):
    server, _ = site
    client = server.test_client()
    for _ in range(3):
        assert log_in(client, "alice", "wrong-password-1").status_code == 401
    again = log_in(client, variant, PASSWORD)
    assert again.status_code == 429, variant  # not a fresh guess on the locked account


def test_login_accepts_the_username_as_typed_with_spaces_or_capitals(site):
    server, _ = site
    assert log_in(server.test_client(), " Alice\u00a0", PASSWORD).status_code == 302


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(server, cookie: str) -> int:
    """A fresh browser holding only a saved session cookie asks for a logged-in page."""
    other = server.test_client()
    other.set_cookie("session", cookie)
    return other.get("/alerts").status_code


def _logout(client) -> None:
    page = client.get("/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_a_cookie_saved_before_logout_no_longer_logs_in(site):
    server, engine = site
    client = server.test_client()
    assert log_in(client, "alice", PASSWORD).status_code == 302
    saved = _session_cookie(client)
    assert _replay(server, saved) == 200  # the copy works while the login lives
    _logout(client)
    assert _replay(server, saved) == 302  # logout ended it on the server, not only here
    with engine.connect() as conn:
        assert conn.execute(select(t.login_sessions)).all() == []


def test_a_password_change_ends_every_session_of_that_user(site):
    from placecode.auth.users import set_password

    server, engine = site
    phone, desk, other = (server.test_client() for _ in range(3))
    for client, name in ((phone, "alice"), (desk, "alice"), (other, "bob")):
        assert log_in(client, name, PASSWORD).status_code == 302
    with engine.begin() as conn:
        assert set_password(conn, " Alice ", "a-new-long-passphrase-7") == 2
    assert phone.get("/alerts").status_code == desk.get("/alerts").status_code == 302
    assert other.get("/rules").status_code == 200  # bob is still logged in
    assert log_in(server.test_client(), "alice", PASSWORD).status_code == 401
    assert log_in(server.test_client(), "alice", "a-new-long-passphrase-7").status_code == 302


def test_a_login_ends_after_the_session_hours(db_url, tmp_path):
    server, engine = make_client(db_url, tmp_path, session_hours=1)
    try:
        client = server.test_client()
        assert log_in(client, "alice", PASSWORD).status_code == 302
        assert client.get("/alerts").status_code == 200
        with engine.begin() as conn:  # as if the hour had passed
            conn.execute(t.login_sessions.update().values(
                expires_at=city_now() - timedelta(minutes=1)))
        assert client.get("/alerts").status_code == 302
    finally:
        dash._pages.PAGE_REGISTRY.clear()
