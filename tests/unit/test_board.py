"""The incident loop in the database, on SQLite and PostgreSQL: an alert's incident from new to
closed with every event stored and pushed, the unit taken and given back, two officers racing
for one unit, a stale view refused, and who may act where."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.dispatch.board import (
    ConflictError,
    mark_notified,
    nearest_units,
    open_incident,
    transition,
)
from placecode.dispatch.incidents import Transition

NOW = datetime(2026, 11, 23, 9, 0)
SQUARE = '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}'
OFFICER = Viewer("duty_officer", 1)


@pytest.fixture
def board(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(insert(t.districts), [{
            "id": d, "name_zh": f"区{d}", "name_en": f"D{d}", "population": 1, "residents": 1,
            "label_lon": 0.5, "label_lat": 0.5, "geometry": SQUARE} for d in (1, 2)])
        conn.execute(insert(t.subdistricts), [{
            "id": 1001, "district_id": 1, "name_zh": "街道", "name_en": "S", "generated": True,
            "label_lon": 0.5, "label_lat": 0.5, "geometry": SQUARE}])
        conn.execute(insert(t.venues), [{
            "id": v, "code": f"V{v}", "name": f"venue {v}", "kind": "shop", "district_id": 1,
            "subdistrict_id": 1001, "lon": 122.0, "lat": 37.5, "mobile": False}
            for v in (1, 2)])
        conn.execute(insert(t.persons), [{"id": p, "person_key": f"key-{p}", "district_id": 1,
                                          "health_code": "red"} for p in (1, 2)])
        conn.execute(insert(t.scans), [{
            "scan_id": f"s{p}", "venue_id": p, "person_id": p, "ts": NOW, "verdict": "red",
            "reasons": "managed"} for p in (1, 2)])
        for p in (1, 2):
            conn.execute(insert(t.alerts).values(id=p, scan_id=p, person_id=p, venue_id=p,
                                                 district_id=1, rules="managed", ts=NOW))
            conn.execute(insert(t.outbox), [{
                "alert_id": p, "receiver": r, "url": "http://127.0.0.1:9/", "state": "delivered",
                "idempotency_key": f"alert-{p}-{r}", "payload": "{}", "attempts": 1,
                "next_attempt_at": NOW, "created_at": NOW, "delivered_at": NOW}
                for r in ("district:1", "community:7")])
            open_incident(conn, p, p, p, 1, NOW)
        conn.execute(insert(t.units), [{
            "id": u, "code": f"U{u}", "name": f"unit {u}", "kind": "pickup", "district_id": 1,
            "subdistrict_id": 1001, "status": "available", "lon": 122.0 + km / 88.0,
            "lat": 37.5, "status_since": NOW} for u, km in ((1, 3.0), (2, 1.0), (3, 8.0))])
    return engine


def state(engine, incident_id: int):
    with engine.connect() as conn:
        return conn.execute(select(t.incidents.c.state, t.incidents.c.unit_id)
                            .where(t.incidents.c.id == incident_id)).one()


def test_board_runs_an_incident_from_alert_to_closed(board):
    assert mark_notified(board, 1, NOW + timedelta(seconds=5))  # every push delivered
    with board.begin() as conn:
        suggested = nearest_units(conn, 1)
        assert suggested["code"].tolist() == ["U2", "U1", "U3"]  # nearest first
        assert suggested["km"].iloc[0] == pytest.approx(0.9, abs=0.2)
        transition(conn, Viewer("field_staff", 1), 1, Transition("held", note="在店内等候"),
                   "staff1", NOW + timedelta(minutes=4))
        transition(conn, OFFICER, 1, Transition("dispatched", unit_id=2), "officer",
                   NOW + timedelta(minutes=5))
        assert conn.execute(select(t.units.c.status).where(t.units.c.id == 2)).scalar() \
            == "committed"
        transition(conn, Viewer("field_staff", 1), 1, Transition("picked_up"), "staff1",
                   NOW + timedelta(minutes=30))
        transition(conn, OFFICER, 1, Transition("closed", outcome="hospital"), "officer",
                   NOW + timedelta(minutes=50))
    assert tuple(state(board, 1)) == ("closed", 2)
    with board.connect() as conn:
        events = conn.execute(select(t.incident_events.c.to_state, t.incident_events.c.username)
                              .where(t.incident_events.c.incident_id == 1)
                              .order_by(t.incident_events.c.id)).all()
        unit = conn.execute(select(t.units.c.status, t.units.c.incident_id)
                            .where(t.units.c.id == 2)).one()
        pushed = conn.execute(select(func.count()).select_from(t.outbox).where(
            t.outbox.c.idempotency_key.like("incident-1-%"))).scalar()
    assert [e[0] for e in events] == ["new", "notified", "held", "dispatched", "picked_up",
                                      "closed"]
    assert [e[1] for e in events][:3] == ["system", "system", "staff1"]
    assert tuple(unit) == ("available", None)  # given back when the incident closed
    assert pushed == 4 * 2  # held, dispatched, picked up, closed to HQ and community


def test_board_two_officers_one_unit_one_wins(board):
    for i in (1, 2):
        mark_notified(board, i, NOW)
        with board.begin() as conn:
            transition(conn, OFFICER, i, Transition("held"), "staff", NOW)
    with board.begin() as conn:
        transition(conn, OFFICER, 1, Transition("dispatched", unit_id=2), "a", NOW)
    with board.begin() as conn, pytest.raises(ConflictError, match="no longer available"):
        transition(conn, OFFICER, 2, Transition("dispatched", unit_id=2), "b", NOW)
    assert tuple(state(board, 2)) == ("held", None)  # nothing half-done for the loser


def test_board_refuses_a_stale_view_and_acts_only_in_scope(board):
    mark_notified(board, 1, NOW)
    with board.begin() as conn, pytest.raises(ConflictError, match="now notified"):
        transition(conn, OFFICER, 1, Transition("held"), "a", NOW, version=1)
    for scope, words in ((Viewer("duty_officer", 2), "district 1 is not yours"),
                         (Viewer("planner"), "may not act"),
                         (Viewer("field_staff", 1), "may not act")):
        with board.begin() as conn, pytest.raises(Refused, match=words):
            transition(conn, scope, 1, Transition("cancelled", note="x"), "u", NOW)
    assert state(board, 1)[0] == "notified"


def test_board_incident_pushes_leave_the_alerts_list_one_row_per_alert(board):
    """The outbox carries an incident's state changes next to its alert's pushes: the alerts
    list and its counts still show each alert once, with the alert's own delivery."""
    from queries.alerts import alert_counts, recent_alerts

    mark_notified(board, 1, NOW)
    with board.begin() as conn:
        transition(conn, OFFICER, 1, Transition("held"), "staff", NOW)
    frame = recent_alerts(board, Viewer("city_commander"))
    assert sorted(frame["alert_id"]) == [1, 2]
    assert set(frame["district_state"]) == {"delivered"}
    assert alert_counts(board, Viewer("city_commander"), NOW)["delivered"] == 4


def test_board_overdue_follows_the_sla_settings(board):
    from placecode.settings import Settings
    from queries.dispatch import open_incidents

    mark_notified(board, 1, NOW)
    later = NOW + timedelta(minutes=6)
    frame = open_incidents(board, OFFICER, later).set_index("incident_id")
    assert not frame.loc[1, "overdue"] and frame.loc[1, "minutes"] == 6  # default: 10 min
    sla = Settings.load(env={"PLACECODE_SLA_NOTIFIED_MINUTES": "5"}, secret_key="k").sla_minutes
    assert open_incidents(board, OFFICER, later, sla).set_index("incident_id").loc[1, "overdue"]
    with pytest.raises(Refused, match="may not see person-level data"):
        open_incidents(board, Viewer("planner"), later)


def test_board_a_district_cannot_send_another_districts_unit(board):
    """Replaying the dispatch callback with a unit id of district 2 (found in the page's
    options of another session) once committed that unit to district 1's incident."""
    with board.begin() as conn:
        conn.execute(insert(t.units).values(
            id=9, code="U9", name="unit 9", kind="pickup", district_id=2, subdistrict_id=1001,
            status="available", lon=122.0, lat=37.5, status_since=NOW))
    mark_notified(board, 1, NOW)
    with board.begin() as conn:
        transition(conn, OFFICER, 1, Transition("held"), "officer", NOW)
    with board.begin() as conn, pytest.raises(Refused, match="district 2 is not yours"):
        transition(conn, OFFICER, 1, Transition("dispatched", unit_id=9), "officer", NOW)
    with board.begin() as conn, pytest.raises(Refused, match="no unit 99"):
        transition(conn, OFFICER, 1, Transition("dispatched", unit_id=99), "officer", NOW)
    with board.connect() as conn:
        assert conn.execute(select(t.units.c.status).where(t.units.c.id == 9)).scalar() \
            == "available"
    assert tuple(state(board, 1)) == ("held", None)
    with board.begin() as conn:  # the city may lend a unit across districts
        transition(conn, Viewer("city_commander"), 1, Transition("dispatched", unit_id=9),
                   "cmd", NOW)
    assert tuple(state(board, 1)) == ("dispatched", 9)


def test_board_field_staff_see_their_tasks_but_not_the_board_or_alerts(board):
    from queries.alerts import recent_alerts
    from queries.dispatch import field_tasks, open_incidents

    field = Viewer("field_staff", 1)
    mark_notified(board, 1, NOW)
    assert field_tasks(board, field, NOW)["incident_id"].tolist() == [1]  # 2 is not notified
    for look in (lambda: open_incidents(board, field, NOW), lambda: recent_alerts(board, field)):
        with pytest.raises(Refused, match="may not see person-level data"):
            look()
