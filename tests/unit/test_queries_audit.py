"""queries.audit on both databases: filters, kinds, the audited export, admin only."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from placecode.auth import audit
from placecode.auth.policy import Refused, Viewer
from placecode.db.engine import get_engine, init_db
from queries import audit as q

ADMIN = Viewer("admin")


@pytest.fixture
def engine(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        for day, user, action, subject in (
                (1, "ann", "login", ""), (2, "ann", "trace", "person ••••a1b2"),
                (2, "bob", "export_contacts", "412 rows"), (3, "bob", "scope_refused", "/trace"),
                (3, "ann", "rules_change", "version 4"), (4, "cat", "unmask", "person ••••ff00")):
            audit.record(conn, action, username=user, subject=subject,
                         now=datetime(2026, 11, day, 10))
    return engine


def test_filters_by_day_user_action_and_text(engine):
    frame, total = q.entries(engine, ADMIN, q.AuditFilter(since=date(2026, 11, 2),
                                                          until=date(2026, 11, 3)))
    assert total == 4 and list(frame["action"]) == [
        "rules_change", "scope_refused", "export_contacts", "trace"]  # newest first
    assert q.entries(engine, ADMIN, q.AuditFilter(username="ann"))[1] == 3
    assert q.entries(engine, ADMIN, q.AuditFilter(action="unmask"))[1] == 1
    assert q.entries(engine, ADMIN, q.AuditFilter(text="••••"))[1] == 2
    assert q.counts(engine, ADMIN, q.AuditFilter()) == {
        "persons": 2, "exports": 1, "changes": 1, "refused": 1}


def test_export_holds_every_match_and_is_audited(engine):
    frame = q.export(engine, ADMIN, q.AuditFilter(username="bob"), "root", None,
                     datetime(2026, 11, 5, 9))
    assert list(frame["action"]) == ["export_contacts", "scope_refused"]  # oldest first
    last, _ = q.entries(engine, ADMIN, q.AuditFilter(action="export_audit"))
    assert last.iloc[0]["subject"] == "2 rows" and "username=bob" in last.iloc[0]["detail"]


@pytest.mark.parametrize("role", ["city_commander", "district_commander", "planner", "wall"])
def test_only_the_admin_reads_it(engine, role):
    with pytest.raises(Refused, match="for the admin only"):
        q.entries(engine, Viewer(role, 371002), q.AuditFilter())


def test_an_end_before_the_start_names_the_field(engine):
    with pytest.raises(q.AuditFilterError, match="until"):
        q.entries(engine, ADMIN, q.AuditFilter(since=date(2026, 11, 3), until=date(2026, 11, 1)))
