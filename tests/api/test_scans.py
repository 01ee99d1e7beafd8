"""POST /api/v1/scans: verdicts, idempotency, rollups and alerts in one transaction, and every
kind of bad input answered with the field that is wrong."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, text

from placecode.db import schema as t
from placecode.pseudonym import person_key
from tests.conftest import SECRET


def person(api, where: str) -> str:
    """The ID number of a demo person whose status matches `where` (SQL on person_status s
    joined with persons p)."""
    with api.db.engine.connect() as conn:
        pids = [r[0] for r in conn.execute(text(
            "SELECT p.id FROM persons p JOIN person_status s ON s.person_id = p.id "
            f"WHERE {where} ORDER BY p.id LIMIT 50"))]
    assert pids, f"the demo has no person with {where}"
    people = api.people.set_index("person_id")
    return people.loc[pids[len(pids) // 2], "id_number"]


def venue(api, kind: str = "shop") -> tuple[str, int, int]:
    with api.db.engine.connect() as conn:
        return tuple(conn.execute(select(t.venues.c.code, t.venues.c.id, t.venues.c.district_id)
                                  .where(t.venues.c.kind == kind).limit(1)).one())


def count(api, table, *where) -> int:
    with api.db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def rollup(api, venue_id: int) -> int:
    with api.db.engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(t.rollup_venue_day.c.scans), 0))
                            .where(t.rollup_venue_day.c.venue_id == venue_id)).scalar()


def scan(api, who: str, code: str, **extra) -> dict:
    return {"scan_id": api.scan_id(), "venue_code": code, "person": who, "ts": api.ts()} | extra


GREEN = "s.verdict = 'green' AND s.doses >= 2"


def test_green_scan_is_answered_stored_once_and_counted_in_the_rollups(api):
    code, vid, district = venue(api)
    body = scan(api, person(api, GREEN), code, temperature_c=36.6, mask=True, credential="app")
    before_scans, before_rollup = count(api, t.scans), rollup(api, vid)
    first = api.post(body)
    assert first.status_code == 200, first.json
    assert first.json == {"scan_id": body["scan_id"], "verdict": "green", "reasons": []}
    again = api.post(body)  # the device retries: same answer, nothing stored twice
    assert again.status_code == 200 and again.json == first.json
    assert count(api, t.scans) == before_scans + 1
    assert rollup(api, vid) == before_rollup + 1


def test_same_scan_id_with_other_content_is_a_conflict(api):
    code, _, _ = venue(api)
    body = scan(api, person(api, GREEN), code)
    assert api.post(body).status_code == 200
    clash = api.post(body | {"ts": api.ts(minutes_ago=30)})
    assert clash.status_code == 409
    assert clash.json["error"]["field"] == "scan_id"
    assert "different scan" in clash.json["error"]["message"]


def test_red_code_holder_is_refused_and_an_alert_goes_to_hq_and_community(api):
    code, _, district = venue(api)
    who = person(api, "p.health_code = 'red' AND s.managed = false AND p.community_id IS NOT NULL")
    alerts_before = count(api, t.alerts)
    r = api.post(scan(api, who, code))
    assert r.json["verdict"] == "red"
    rules = [x["rule"] for x in r.json["reasons"]]
    assert "health_code_red" in rules
    assert "禁止进入公共场所" in r.json["reasons"][0]["message_zh"]
    assert count(api, t.alerts) == alerts_before + 1
    with api.db.engine.connect() as conn:
        receivers = sorted(conn.execute(
            select(t.outbox.c.receiver).join(t.alerts, t.alerts.c.id == t.outbox.c.alert_id)
            .order_by(t.alerts.c.id.desc()).limit(2)).scalars())
    assert receivers[0] == f"community:{receivers[0].split(':')[1]}"
    assert receivers[1] == f"district:{district}"


def test_managed_person_is_red_with_the_management_reason(api):
    code, _, _ = venue(api)
    r = api.post(scan(api, person(api, "s.managed = true"), code))
    assert r.json["verdict"] == "red"
    assert r.json["reasons"][0]["rule"] == "managed"


def test_door_checks_fever_is_red_without_alert_and_no_mask_is_yellow(api):
    code, _, _ = venue(api)
    who = person(api, GREEN)
    alerts_before = count(api, t.alerts)
    fever = api.post(scan(api, who, code, temperature_c=38.2))
    assert fever.json["verdict"] == "red"
    assert [x["rule"] for x in fever.json["reasons"]] == ["temperature"]
    assert count(api, t.alerts) == alerts_before  # staff handle a fever at the door
    no_mask = api.post(scan(api, who, code, mask=False))
    assert no_mask.json["verdict"] == "yellow"
    assert no_mask.json["reasons"][0]["message_en"] == "Please wear a mask"


def test_unknown_person_is_pseudonymised_and_the_raw_id_never_stored(api):
    code, _, _ = venue(api)
    raw = "370100199001011234"
    r = api.post(scan(api, raw, code))
    assert r.status_code == 200 and r.json["verdict"] == "green"
    assert count(api, t.persons, t.persons.c.person_key == person_key(raw, SECRET)) == 1
    with api.db.engine.connect() as conn:
        for table in (t.persons, t.scans):
            for column in table.c:
                if str(column.type).startswith(("VARCHAR", "TEXT")):
                    assert conn.execute(select(func.count()).select_from(table)
                                        .where(column == raw)).scalar() == 0


def test_batch_stores_the_good_items_and_answers_the_bad_ones_by_field(api):
    code, vid, _ = venue(api)
    who = person(api, GREEN)
    good = [scan(api, who, code) for _ in range(3)]
    bad_venue = scan(api, who, "NOPE-404")
    bad_ts = scan(api, who, code, ts="yesterday")
    before_scans, before_rollup = count(api, t.scans), rollup(api, vid)
    r = api.post([good[0], bad_venue, good[1], bad_ts, good[2], good[0]])
    assert r.status_code == 200
    assert (r.json["accepted"], r.json["rejected"]) == (4, 2)
    results = r.json["results"]
    assert [x.get("verdict") for x in results] == ["green", None, "green", None, "green", "green"]
    assert results[1]["error"]["field"] == "venue_code" and "NOPE-404" in \
        results[1]["error"]["message"]
    assert results[3]["error"]["field"] == "ts"
    assert count(api, t.scans) == before_scans + 3  # the repeated item is the same scan
    assert rollup(api, vid) == before_rollup + 3


def test_bad_input_gets_a_clear_error_naming_the_field(api):
    code, _, _ = venue(api)
    who = person(api, GREEN)
    cases = [
        (scan(api, who, code) | {"scan_id": None}, 422, "scan_id", "missing"),
        (scan(api, who, code) | {"ts": 1700000000}, 422, "ts", "ISO 8601"),
        (scan(api, who, code) | {"ts": "2026-11-23T09:30:00"}, 422, "ts", "UTC offset"),
        (scan(api, who, code, ts=(api.now + timedelta(days=2)).isoformat() + "+08:00"), 422,
         "ts", "future"),
        (scan(api, who, code, ts=(api.now - timedelta(days=40)).isoformat() + "+08:00"), 422,
         "ts", "retention"),
        (scan(api, who, code, temperature_c="hot"), 422, "temperature_c", "number"),
        (scan(api, who, code, temperature_c=52), 422, "temperature_c", "body temperature"),
        (scan(api, who, code, mask="yes"), 422, "mask", "true or false"),
        (scan(api, who, code, credential="passport"), 422, "credential", "passport"),
        (scan(api, who, code, colour="red"), 422, "colour", "unknown field"),
        (scan(api, who, "X-NOT-A-VENUE"), 422, "venue_code", "not a registered venue"),
        (scan(api, 12345, code), 422, "person", "string"),
    ]
    before = count(api, t.scans)
    for body, status, field, words in cases:
        r = api.post(body)
        assert r.status_code == status, (body, r.json)
        assert r.json["error"]["field"] == field, r.json
        assert words in r.json["error"]["message"], r.json
    assert count(api, t.scans) == before


def test_malformed_and_oversized_requests_are_refused_whole(api):
    code, _, _ = venue(api)
    who = person(api, GREEN)
    malformed = api.post('{"scan_id": "x", ', content_type="application/json")
    assert malformed.status_code == 400 and "malformed JSON" in malformed.json["error"]["message"]
    assert api.post("[]", content_type="application/json").status_code == 400
    assert api.post('"scan"', content_type="application/json").status_code == 400
    too_many = api.post([scan(api, who, code) for _ in range(1001)])
    assert too_many.status_code == 413 and "at most 1000" in too_many.json["error"]["message"]
    huge = json.dumps([scan(api, who, code, scan_id="x" * 60) | {"person": "y" * 2000}] * 600)
    too_big = api.post(huge, content_type="application/json")
    assert too_big.status_code == 413 and "limit" in too_big.json["error"]["message"]


def test_tokens_bad_revoked_and_wrong_kind_are_refused(api):
    from placecode.auth.tokens import revoke_token, verify_token

    code, _, _ = venue(api)
    body = scan(api, person(api, GREEN), code)
    none = api.client.post("/api/v1/scans", json=body)
    assert none.status_code == 401 and "Bearer" in none.json["error"]["message"]
    assert api.post(body, token="pc_device_guessed").status_code == 401
    partner = api.post(body, token=api.token("partner"))
    assert partner.status_code == 403 and "device token" in partner.json["error"]["message"]
    device = api.token("device")
    assert api.post(body, token=device).status_code == 200
    with api.db.engine.begin() as conn:
        revoke_token(conn, verify_token(conn, device).id, api.now)
    revoked = api.post(body, token=device)
    assert revoked.status_code == 401 and "revoked" in revoked.json["error"]["message"]


def test_the_same_batch_sent_at_once_by_two_devices_is_stored_once(api):
    """Two requests race with the same scan_ids: the loser's transaction is retried and answered
    from what the winner stored; nothing is stored twice and the rollups count each scan once."""
    import threading

    from placecode.ingest.scans import Ingestor

    code, vid, _ = venue(api)
    who = person(api, GREEN)
    batch = [scan(api, who, code) for _ in range(50)]
    before_scans, before_rollup = count(api, t.scans), rollup(api, vid)
    results: list = [None] * 4
    ingestors = [Ingestor(api.db.engine, SECRET, "Asia/Shanghai", 28) for _ in results]
    start = threading.Barrier(len(results))

    def send(i: int) -> None:
        start.wait()
        results[i] = ingestors[i].ingest(batch)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(results))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r == results[0] for r in results)
    assert [r["verdict"] for r in results[0]] == ["green"] * 50
    assert count(api, t.scans) == before_scans + 50
    assert rollup(api, vid) == before_rollup + 50
