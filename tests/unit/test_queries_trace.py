"""queries.trace on the hand-built city of test_tracing, on SQLite and PostgreSQL: who may trace
whom, the audit of every look, and putting contacts under management once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from placecode.tracing.contacts import TraceParams
from queries import trace as q
from tests.unit.test_tracing import DAY, PEOPLE, city  # noqa: F401  (the fixture)

UNTIL = DAY + timedelta(days=1)
NOW = datetime(2026, 11, 21, 9, 0)


def index_person(engine) -> q.Person:
    return q.find_person(engine, Viewer("city_commander"), key="key-I")


@pytest.mark.parametrize("role", ["planner", "wall", "field_staff"])
def test_trace_refuses_roles_that_may_not_name_persons(city, role):  # noqa: F811
    with pytest.raises(Refused, match="may not trace persons"):
        q.trace(city, Viewer(role, 1), index_person(city), UNTIL, "x")


def test_trace_a_district_role_traces_only_persons_of_its_district(city):  # noqa: F811
    assert len(q.trace(city, Viewer("duty_officer", 1), index_person(city), UNTIL, "d")
               .contacts) == 6
    with pytest.raises(Refused, match="not in your district"):
        q.trace(city, Viewer("duty_officer", 2), index_person(city), UNTIL, "d")


def test_trace_is_audited_and_names_the_person(city):  # noqa: F811
    q.trace(city, Viewer("city_commander"), index_person(city), UNTIL, "cmd")
    with city.connect() as conn:
        row = conn.execute(select(t.audit_log.c.username, t.audit_log.c.subject, t.audit_log.c
                                  .detail).where(t.audit_log.c.action == "trace")).one()
    assert row[0] == "cmd" and row[1] == "person key-I" and "6 contacts" in row[2]


def test_find_person_says_what_is_wrong(city):  # noqa: F811
    cmd = Viewer("city_commander")
    with pytest.raises(q.UnknownPerson, match="enter an ID number"):
        q.find_person(city, cmd, raw_id="  ")
    with pytest.raises(q.UnknownPerson, match="no person has this key"):
        q.find_person(city, cmd, key="nobody")


@pytest.mark.parametrize("role", ["planner", "wall", "field_staff"])
def test_find_person_refuses_before_it_looks(city, role):  # noqa: F811
    """Who may not trace learns nothing: a known and an unknown person are refused alike."""
    for key in ("key-I", "nobody"):
        with pytest.raises(Refused, match="may not trace persons"):
            q.find_person(city, Viewer(role, 1), key=key)


@pytest.mark.parametrize("days", [0, 367, 3650, 1e9, "7", 2.5, True])
def test_trace_days_beyond_the_window_are_refused(city, days):  # noqa: F811
    with pytest.raises(q.TraceWindowError, match="1 to 366"):
        q.trace(city, Viewer("city_commander"), index_person(city), UNTIL, "cmd",
                params=TraceParams(days=days))


def test_put_under_management_adds_each_person_once_and_audits_every_name(city):  # noqa: F811
    result = q.trace(city, Viewer("city_commander"), index_person(city), UNTIL, "cmd")
    with pytest.raises(ValueError, match="reason"):
        q.put_under_management(city, Viewer("city_commander"), result, {1}, " ", "cmd", NOW)
    assert q.put_under_management(city, Viewer("city_commander"), result, {1}, "密接隔离",
                                  "cmd", NOW) == 4
    assert q.put_under_management(city, Viewer("city_commander"), result, {1, 2}, "次密接管控",
                                  "cmd", NOW) == 2  # the close ones are already there
    with city.connect() as conn:
        managed = conn.execute(select(func.count()).select_from(t.key_persons)
                               .where(t.key_persons.c.category == "managed")).scalar()
        details = conn.execute(select(t.audit_log.c.detail).where(
            t.audit_log.c.action == "put_under_management").order_by(t.audit_log.c.id)
        ).scalars().all()
        status = dict(conn.execute(select(t.person_status.c.person_id,
                                          t.person_status.c.verdict)).all())
    assert managed == 6
    assert all(f"key-{n}" in details[0] for n in "ACEG")
    assert all(f"key-{n}" in details[1] for n in "BH") and "key-A" not in details[1]
    assert all(status[PEOPLE.index(n) + 1] == "red" for n in "ACEGBH")
