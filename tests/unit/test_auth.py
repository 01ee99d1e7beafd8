"""Users: argon2 hashes, password policy, roles, clear errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from placecode.auth.users import UserError, authenticate, create_user, ensure_admin
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db


@pytest.fixture
def engine(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    return engine


def test_auth_password_is_stored_as_argon2_and_verifies(engine):
    with engine.begin() as conn:
        create_user(conn, "duty1", "duty_officer", "correct-horse-9")
        stored = conn.execute(select(t.users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and "correct-horse-9" not in stored
        assert authenticate(conn, "duty1", "correct-horse-9").role == "duty_officer"
        assert authenticate(conn, "duty1", "wrong-password-1") is None
        assert authenticate(conn, "nobody", "correct-horse-9") is None


@pytest.mark.parametrize("kwargs,field", [
    ({"password": "short1"}, "password"),
    ({"password": "onlyletterslong"}, "password"),
    ({"password": "password12"}, "too easy to guess"),
    ({"password": " " * 10 + "1"}, "too easy to guess"),
    ({"password": "qwertyuiop1"}, "too easy to guess"),
    ({"password": "Passw0rd!!"}, "too easy to guess"),
    ({"role": "king"}, "role"),
    ({"role": "district_commander"}, "district"),
    ({"role": "district_commander", "district_id": 999}, "district 999"),
    ({"username": "has space"}, "username"),
])
def test_auth_bad_user_names_the_field(engine, kwargs, field):
    args = {"username": "u1", "role": "planner", "password": "long-enough-1"} | kwargs
    with engine.begin() as conn, pytest.raises(UserError, match=field):
        create_user(conn, args.pop("username"), args.pop("role"), args.pop("password"), **args)


def test_auth_duplicate_username_refused_and_first_kept(engine):
    with engine.begin() as conn:
        create_user(conn, "same", "planner", "long-enough-1")
    with engine.begin() as conn, pytest.raises(UserError, match="exists"):
        create_user(conn, "same", "admin", "long-enough-2")
    with engine.connect() as conn:
        assert conn.execute(select(t.users.c.role)).scalars().all() == ["planner"]


def test_auth_first_run_admin_password_file_is_private(engine, tmp_path):
    message = ensure_admin(engine, tmp_path)
    path = tmp_path / "admin-password.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    password = path.read_text().split()[1]
    assert password in message
    with engine.begin() as conn:
        assert authenticate(conn, "admin", password).role == "admin"
    assert ensure_admin(engine, tmp_path) is None  # only on the first run


def test_auth_usernames_differing_only_in_case_or_width_are_one_user(engine):
    with engine.begin() as conn:
        first = create_user(conn, "admin2", "admin", "long-enough-1")
    assert first.username == "admin2"
    for twin in ("Admin2", "ＡＤＭＩＮ２", " admin2\u3000"):
        with engine.begin() as conn, pytest.raises(UserError, match="exists"):
            create_user(conn, twin, "planner", "long-enough-2")
