"""Contact tracing on hand-built visits, on SQLite and PostgreSQL: the edges of the tolerance,
check-out present and absent, a bus, the index person's own scans, repeated visits, close before
secondary, contacts only from the moment of contact, and the window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, insert

from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.tracing.contacts import trace_contacts

DAY = datetime(2026, 11, 20)
SQUARE = '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}'
VENUES = {1: "shop", 2: "bus", 3: "restaurant", 4: "shop", 5: "shop"}
PEOPLE = "I A B C D E F G H K L".split()


def at(hour: int, minute: int = 0, days_back: int = 0) -> datetime:
    return DAY - timedelta(days=days_back) + timedelta(hours=hour, minutes=minute)


# (person, venue, scan time, check-out)
VISITS = [
    ("I", 1, at(10), None),           # shop: 10:00-10:20, ±30 min -> 09:30-10:50
    ("I", 1, at(10), None),           # the same scan twice (a repeat)
    ("I", 1, at(20, days_back=1), None),  # a repeated visit the evening before: nobody there
    ("A", 1, at(10, 50), None),       # starts at the widened end: close
    ("B", 1, at(10, 51), None),       # a minute later: not close, but meets A: secondary
    ("C", 1, at(9, 10), None),        # ends 09:30, the widened start: close
    ("D", 1, at(9, 9), None),         # ends 09:29: not
    ("E", 1, at(8), at(9, 40)),       # long stay with a check-out: close
    ("F", 1, at(8), None),            # same start, no check-out (ends 08:20): not
    ("I", 2, at(14), None),           # bus ride 14:00-14:30
    ("G", 2, at(14, 40), None),       # on the same bus: close
    ("A", 3, at(12), None),           # A after the contact: restaurant 12:00-13:00
    ("H", 3, at(12, 30), None),       # meets A there: secondary
    ("G", 3, at(12, 40), None),       # meets A too, but G is close already
    ("A", 4, at(7), None),            # A before the contact (07:00-07:20)
    ("K", 4, at(7, 10), None),        # meets A before A met the index: not
    ("I", 5, at(10, days_back=20), None),  # outside the 14-day window
    ("L", 5, at(10, days_back=20), None),
]


@pytest.fixture
def city(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(insert(t.districts), [{
            "id": 1, "name_zh": "区", "name_en": "D", "population": 1, "residents": 1,
            "label_lon": 0.5, "label_lat": 0.5, "geometry": SQUARE}])
        conn.execute(insert(t.subdistricts), [{
            "id": 1001, "district_id": 1, "name_zh": "街道", "name_en": "S", "generated": True,
            "label_lon": 0.5, "label_lat": 0.5, "geometry": SQUARE}])
        conn.execute(insert(t.venues), [{
            "id": v, "code": f"V{v}", "name": f"venue {v}", "kind": kind, "district_id": 1,
            "subdistrict_id": 1001, "lon": 0.5, "lat": 0.5, "mobile": kind == "bus"}
            for v, kind in VENUES.items()])
        conn.execute(insert(t.persons), [{
            "id": i + 1, "person_key": f"key-{name}", "district_id": 1, "health_code": "green"}
            for i, name in enumerate(PEOPLE)])
        conn.execute(insert(t.scans), [{
            "scan_id": f"s{n}", "venue_id": venue, "person_id": PEOPLE.index(who) + 1,
            "ts": ts, "checkout_ts": out, "verdict": "green", "reasons": ""}
            for n, (who, venue, ts, out) in enumerate(VISITS)])
    return engine


def names(frame, tier: int) -> set[str]:
    return {PEOPLE[p - 1] for p in frame[frame["tier"] == tier]["person_id"]}


def test_tracing_finds_close_and_secondary_contacts(city):
    with city.connect() as conn:
        found = trace_contacts(conn, PEOPLE.index("I") + 1, DAY + timedelta(days=1))
    assert names(found, 1) == {"A", "C", "E", "G"}
    assert names(found, 2) == {"B", "H"}
    assert found["person_id"].is_unique  # G met A as well, and stays close
    rows = found.set_index("person_id")
    a, h, g = (PEOPLE.index(x) + 1 for x in "AHG")
    assert rows.loc[a, "venue_id"] == 1 and rows.loc[a, "contact_at"] == at(10, 50)
    assert rows.loc[g, "venue_id"] == 2  # the bus counts as a venue
    assert rows.loc[h, "via_person_id"] == a and rows.loc[h, "venue_id"] == 3


def test_tracing_window_ends_at_until(city):
    with city.connect() as conn:  # the day before: none of the index person's visits yet
        assert trace_contacts(conn, 1, DAY).empty


def test_tracing_after_a_retention_purge_finds_nothing_from_the_purged_days(city):
    """A purge deletes the personal rows before its cutoff: the contacts made then are gone and
    the trace of what is left still works."""
    with city.begin() as conn:
        conn.execute(delete(t.scans).where(t.scans.c.ts < at(11)))  # purge up to 11:00
        found = trace_contacts(conn, PEOPLE.index("I") + 1, DAY + timedelta(days=1))
    assert names(found, 1) == {"G"}  # the shop visits went with the purge; the bus stays
    assert names(found, 2) == set()


def test_tracing_a_long_checkout_is_capped_at_max_stay(city):
    """A check-out days after the scan (forgotten) counts for max_stay (24 h), not for days."""
    with city.begin() as conn:
        conn.execute(insert(t.scans), [
            {"scan_id": "long", "venue_id": 2, "person_id": PEOPLE.index("K") + 1,
             "ts": at(8, days_back=3), "checkout_ts": at(23), "verdict": "green",
             "reasons": ""}])
        found = trace_contacts(conn, PEOPLE.index("I") + 1, DAY + timedelta(days=1))
    assert "K" not in names(found, 1)


def test_tracing_key_lookup_takes_more_ids_than_an_in_list_may_hold(city):
    """A heavy trace names 300k persons: past SQLite's bind-variable limit for an IN list."""
    from placecode.tracing.contacts import person_keys, venue_codes

    with city.begin() as conn:
        keys = person_keys(conn, range(1, 40_001))
        codes = venue_codes(conn, range(1, 40_001))
    assert keys.to_dict() == {i + 1: f"key-{n}" for i, n in enumerate(PEOPLE)}
    assert codes.to_dict() == {v: f"V{v}" for v in VENUES}
