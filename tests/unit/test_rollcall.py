"""The morning roll-call on SQLite and PostgreSQL: opened once per district and day, answers
counted per sub-district (present, absent with reason, not yet), re-answering replaces, and
what is refused says what to do."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import insert, select

from placecode.db import schema as t
from placecode.dispatch.rollcall import (
    RollCallError,
    answer,
    history,
    open_roll_call,
    staff_of,
    summary,
)
from tests.unit.test_board import board  # noqa: F401  (the fixture: two districts, units)

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 7, 30)


@pytest.fixture
def staffed(board):  # noqa: F811
    with board.begin() as conn:
        conn.execute(insert(t.staff), [
            {"id": i, "name": name, "district_id": 1, "subdistrict_id": 1001, "unit_id": 1,
             "username": f"s{i}", "active": i != 5}
            for i, name in enumerate(["王伟", "李娜", "张强", "刘洋", "陈杰"], start=1)])
    return board


def test_rollcall_counts_present_absent_and_waiting(staffed):
    with staffed.begin() as conn:
        with pytest.raises(RollCallError, match="not open"):
            answer(conn, 1, DAY, True, NOW)
        call = open_roll_call(conn, 1, DAY, "officer", NOW)
        assert open_roll_call(conn, 1, DAY, "officer", NOW) == call  # once a day
        answer(conn, staff_of(conn, "s1").id, DAY, True, NOW, lon=122.1, lat=37.5)
        answer(conn, 2, DAY, False, NOW, reason="病假")
        with pytest.raises(RollCallError, match="reason"):
            answer(conn, 3, DAY, False, NOW, reason=" ")
        answer(conn, 3, DAY, False, NOW, reason="轮休")
        answer(conn, 3, DAY, True, NOW)  # came in after all: replaces the answer
        rows = summary(conn, 1, DAY)
        past = history(conn, 1)
    row = rows.iloc[0]
    assert (row.expected, row.present, row.absent, row.waiting) == (4, 2, 1, 1)  # 5 inactive
    assert row.absent_names == "李娜（病假）" and row.waiting_names == "刘洋"
    assert past.iloc[0][["expected", "present", "absent", "waiting"]].tolist() == [4, 2, 1, 1]


def test_rollcall_not_open_shows_nothing(staffed):
    with staffed.connect() as conn:
        assert summary(conn, 1, DAY).empty and history(conn, 1).empty


def test_rollcall_export_names_staff_so_it_is_audited_and_scoped(staffed):
    from placecode.auth.policy import Refused, Viewer
    from queries import dispatch as q

    with staffed.begin() as conn:
        open_roll_call(conn, 1, DAY, "officer", NOW)
        answer(conn, 2, DAY, False, NOW, reason="病假")
    frame = q.export_roll_call(staffed, Viewer("duty_officer", 1), 1, DAY, "officer", NOW)
    assert frame.iloc[0].absent_names == "李娜（病假）"
    with staffed.connect() as conn:
        logged = conn.execute(select(t.audit_log.c.action, t.audit_log.c.username,
                                     t.audit_log.c.subject)).all()
    assert [tuple(r) for r in logged] == [("export_roll_call", "officer", "district 1")]
    with pytest.raises(Refused, match="district 1 is not yours"):
        q.export_roll_call(staffed, Viewer("duty_officer", 2), 1, DAY, "other", NOW)
