"""`placecode purge` on both databases: personal rows past retention go (whole partitions on
PostgreSQL), aggregates stay, an open incident holds its day, the audit log keeps its own
retention, and a second run removes nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, insert, select, update

from placecode.auth import audit
from placecode.db import schema as t
from placecode.db.partitions import is_partitioned, scan_partitions
from placecode.retention import purge
from tests.cli.test_cli import placecode
from tests.conftest import SECRET


def count(conn, table, *where) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def rollup_totals(conn) -> tuple:
    return tuple(conn.execute(select(func.sum(r.c.scans))).scalar() for r in (
        t.rollup_venue_day, t.rollup_district_hour, t.rollup_industry_district_day))


def test_purge_removes_personal_rows_keeps_aggregates_and_held_cases(city_db):
    engine = city_db.engine
    with engine.begin() as conn:
        last = datetime.fromisoformat(str(conn.execute(select(func.max(t.scans.c.ts))).scalar()))
        first = datetime.fromisoformat(str(conn.execute(select(func.min(t.scans.c.ts))).scalar()))
        assert last.date() > first.date(), "the test city needs scans on two days at least"
        cutoff = datetime.combine(last.date(), time())
        old_scan = conn.execute(select(t.scans).where(t.scans.c.ts < cutoff).limit(1)).one()
        # a case still open from before the cutoff, and a closed one
        open_alert = conn.execute(insert(t.alerts).values(
            scan_id=old_scan.id, person_id=old_scan.person_id, venue_id=old_scan.venue_id,
            district_id=371002, rules="managed", ts=old_scan.ts)).inserted_primary_key[0]
        incident = conn.execute(insert(t.incidents).values(
            alert_id=open_alert, venue_id=old_scan.venue_id, person_id=old_scan.person_id,
            district_id=371002, state="notified", state_since=old_scan.ts,
            opened_at=old_scan.ts, version=1)).inserted_primary_key[0]
        # a superseded and a current health code of one person, both old
        person = old_scan.person_id
        for days, colour in ((40, "yellow"), (35, "green")):
            conn.execute(insert(t.health_codes).values(
                person_id=person, colour=colour, since=cutoff - timedelta(days=days),
                reason="test"))
        audit.record(conn, "test_old", username="t", now=cutoff - timedelta(days=400))
        audit.record(conn, "test_recent", username="t", now=cutoff - timedelta(days=30))
        kept_scans = count(conn, t.scans, t.scans.c.ts >= cutoff)
        old_scans = count(conn, t.scans, t.scans.c.ts < cutoff)
        old_day = datetime.fromisoformat(str(old_scan.ts)).date()
        held_day = count(conn, t.scans, t.scans.c.ts >= datetime.combine(old_day, time()))
        totals = rollup_totals(conn)
    now = cutoff + timedelta(days=28, hours=9)  # keep_from = the last day

    report = purge(engine, now, 28, 365)

    assert report.keep_from == cutoff.date()
    assert report.held_from == old_day
    with engine.connect() as conn:  # the open case keeps its day of scans and its alert
        assert count(conn, t.alerts, t.alerts.c.id == open_alert) == 1
        assert count(conn, t.scans, t.scans.c.id == old_scan.id) == 1
        assert count(conn, t.scans) == held_day
        assert rollup_totals(conn) == totals  # aggregates stay

    with engine.begin() as conn:
        conn.execute(update(t.incidents).where(t.incidents.c.id == incident)
                     .values(state="closed", outcome="test"))
    report = purge(engine, now, 28, 365)

    assert report.held_from is None
    assert report.removed["scans"] == held_day - kept_scans
    assert report.removed["alerts"] == 1 and report.removed["incidents"] == 1
    with engine.connect() as conn:
        assert count(conn, t.scans, t.scans.c.ts < cutoff) == 0
        assert count(conn, t.scans) == kept_scans  # nothing of the kept day lost
        assert old_scans > 0
        assert rollup_totals(conn) == totals
        codes = conn.execute(select(t.health_codes.c.colour).where(
            t.health_codes.c.person_id == person, t.health_codes.c.reason == "test")).scalars()
        assert list(codes) == ["green"]  # the latest code stays: the rules read it
        actions = set(conn.execute(select(t.audit_log.c.action)).scalars())
        assert "test_old" not in actions and "test_recent" in actions and "purge" in actions
        if is_partitioned(conn):  # whole days dropped, not deleted row by row
            assert min(scan_partitions(conn)) >= cutoff.date()
    again = purge(engine, now, 28, 365)
    assert sum(again.removed.values()) == 0


def test_purge_command_reports_what_it_removed(city_db, tmp_path):
    result = placecode("purge", "--db", city_db.url, tmp_path=tmp_path, env={
        "PLACECODE_RETENTION_DAYS": "10000", "PLACECODE_AUDIT_RETENTION_DAYS": "10000",
        "PLACECODE_SECRET_KEY": SECRET})
    assert result.returncode == 0, result.stderr
    assert "kept personal rows from" in result.stdout and "scans: 0 rows removed" in result.stdout


def test_purge_forgets_idle_phones_and_decided_applications(city_db):
    """The front door's personal rows: a phone not used within the window and a decided
    application (with the operator's contact) go; a phone in use, a pending application and
    the venue an approved one made stay."""
    from placecode.auth.policy import Viewer
    from placecode.front import phones
    from placecode.pseudonym import id_check_char
    from placecode.registry import applications as apps

    engine = city_db.engine
    now = datetime.now().replace(microsecond=0)
    old = now - timedelta(days=40)
    ids = [f"37010219800101{n:03d}" for n in (801, 802)]
    with engine.begin() as conn:
        idle = phones.register(conn, ids[0] + id_check_char(ids[0]), "13800000001", SECRET, old)
        used = phones.register(conn, ids[1] + id_check_char(ids[1]), "", SECRET, old)
        phones.person_for(conn, used, now)  # scanned today
    form = {"name": "老店", "kind": "shop", "address": "环翠区某路 1 号", "lon": "122.12",
            "lat": "37.50", "contact_name": "张", "contact_phone": "13800000002"}
    decided = apps.submit(engine, apps.read_form(form), old)
    code = apps.approve(engine, Viewer("admin"), decided, username="adm", user_id=None, now=old)
    pending = apps.submit(engine, apps.read_form(form | {"name": "新店"}), now)
    purge(engine, now, 28, 365)
    with engine.connect() as conn:
        assert phones.person_for(conn, idle, now) is None
        assert phones.person_for(conn, used, now) is not None
        left = conn.execute(select(t.venue_applications.c.id)).scalars().all()
        assert decided not in left and pending in left
        assert count(conn, t.venues, t.venues.c.code == code) == 1
