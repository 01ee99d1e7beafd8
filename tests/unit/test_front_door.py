"""The front door (issue 17): the venue registry feed, applications for a code, posters whose QR
codes a real decoder reads, phones registered once, and SMS through the outbox with the gateway
down, then up."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta

import numpy as np
import pandas as pd
import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import func, select, update

from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from placecode.dispatch.outbox import backoff, deliver_due
from placecode.dispatch.receiver import Receiver
from placecode.front import phones
from placecode.ingest.feeds import import_rows
from placecode.ingest.scans import Ingestor
from placecode.pseudonym import id_check_char, person_key
from placecode.registry import applications as apps
from placecode.registry.posters import poster_pdf, scan_url, write_posters
from queries import testing as tq
from queries.venues import poster_venue, poster_venues
from tests.conftest import SECRET

TZ = "Asia/Shanghai"
HUANCUI, WENDENG = 371002, 371003
POINT = {"lon": 122.12, "lat": 37.50}  # in 环翠区
WHO = {"username": "reviewer", "user_id": None}


def clock(city_db):
    return Ingestor(city_db.engine, SECRET, TZ, 28).now


def new_id(n: int) -> str:
    first = f"3701021990{n:04d}{n % 1000:03d}"[:17]
    return first + id_check_char(first)


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


# -- the registry feed ---------------------------------------------------------------------------

def test_venue_feed_files_each_venue_in_the_district_its_point_lies_in(city_db):
    engine, now = city_db.engine, clock(city_db)()
    rows = [{"code": "371002P990001", "name": "新店一号", "kind": "shop", **POINT},
            {"code": "371002P990001", "name": "重复", "kind": "shop", **POINT},
            {"code": "371002R990002", "name": "字母不对", "kind": "shop", **POINT},
            {"code": "371003P990003", "name": "区不对", "kind": "shop", **POINT},
            {"code": "371002P990004", "name": "城外", "kind": "shop", "lon": 100, "lat": 30}]
    report = import_rows(engine, "venues", rows, secret=SECRET, now=now, timezone=TZ)
    assert (report.valid, report.new) == (1, 1)
    reasons = dict(report.rejected)  # by line, as in a CSV file: the first row is line 2
    assert "appears earlier" in reasons[3] and "letter R, but a shop has P" in reasons[4]
    assert "lies in district 371002, but the code says 371003" in reasons[5]
    assert "outside every district" in reasons[6]
    with engine.connect() as conn:
        venue = conn.execute(select(t.venues).where(t.venues.c.code == "371002P990001")).one()
        inside = conn.execute(select(t.subdistricts.c.district_id)
                              .where(t.subdistricts.c.id == venue.subdistrict_id)).scalar()
    assert (venue.district_id, inside, venue.name, venue.mobile) == (HUANCUI, HUANCUI,
                                                                     "新店一号", False)
    # again, renamed: the same venue, its name updated, nothing added
    again = import_rows(engine, "venues", [rows[0] | {"name": "新店一号（改名）"}], secret=SECRET,
                        now=now, timezone=TZ)
    assert again.new == 0 and count(engine, t.venues, t.venues.c.code == "371002P990001") == 1
    with engine.connect() as conn:
        assert conn.execute(select(t.venues.c.name).where(
            t.venues.c.code == "371002P990001")).scalar() == "新店一号（改名）"


# -- applications --------------------------------------------------------------------------------

def form(**changes) -> dict:
    return {"name": "幸福里便利店", "kind": "supermarket", "address": "环翠区文化中路 8 号",
            "lon": str(POINT["lon"]), "lat": str(POINT["lat"]), "contact_name": "王老板",
            "contact_phone": "0631-5201234"} | changes


@pytest.mark.parametrize(("changes", "key"), [
    ({"name": "  "}, "apply_missing_name"), ({"kind": "castle"}, "apply_bad_kind"),
    ({"lon": "east"}, "apply_no_point"), ({"lat": "nan"}, "apply_no_point"),
    ({"contact_phone": "call me"}, "apply_bad_phone"), ({"address": "x" * 201}, "apply_too_long"),
])
def test_an_application_form_names_what_is_wrong(changes, key):
    with pytest.raises(apps.ApplicationError) as caught:
        apps.read_form(form(**changes))
    assert caught.value.key == key and caught.value.field


def test_the_district_approves_once_and_the_code_follows_the_scheme(city_db):
    engine, now = city_db.engine, clock(city_db)()
    with pytest.raises(apps.ApplicationError, match="outside every district"):
        apps.submit(engine, apps.read_form(form(lon="100", lat="30")), now)
    number = apps.submit(engine, apps.read_form(form()), now)
    with engine.connect() as conn:
        top = conn.execute(select(func.max(t.venues.c.code))
                           .where(t.venues.c.code.like("371002S%"))).scalar()
    with pytest.raises(Refused):  # another district's officer
        apps.approve(engine, Viewer("duty_officer", WENDENG), number, now=now, **WHO)
    with pytest.raises(Refused):  # planners see aggregates, they do not issue codes
        apps.approve(engine, Viewer("planner"), number, now=now, **WHO)
    code = apps.approve(engine, Viewer("duty_officer", HUANCUI), number, now=now, **WHO)
    assert code == f"371002S{int(top[7:]) + 1:06d}"
    with pytest.raises(apps.ApplicationError, match="decided already"):
        apps.approve(engine, Viewer("city_commander"), number, now=now, **WHO)
    with engine.connect() as conn:
        venue = conn.execute(select(t.venues).where(t.venues.c.code == code)).one()
        audit = conn.execute(select(t.audit_log.c.action, t.audit_log.c.subject)
                             .where(t.audit_log.c.action == "venue_approved")).all()
    assert (venue.name, venue.kind, venue.district_id) == ("幸福里便利店", "supermarket", HUANCUI)
    assert ("venue_approved", f"application {number} venue {code}") in audit
    # refusing needs a reason the applicant sees
    other = apps.submit(engine, apps.read_form(form(name="无证小摊")), now)
    with pytest.raises(apps.ApplicationError, match="reason"):
        apps.refuse(engine, Viewer("admin"), other, " ", now=now, **WHO)
    apps.refuse(engine, Viewer("admin"), other, "营业执照与地址不符", now=now, **WHO)
    with engine.connect() as conn:
        row = conn.execute(select(t.venue_applications).where(
            t.venue_applications.c.id == other)).one()
    assert (row.state, row.reason, row.venue_id) == ("refused", "营业执照与地址不符", None)


# -- posters -------------------------------------------------------------------------------------

def read_poster(pdf: bytes) -> tuple[list[str], str]:
    """(what a QR decoder reads, the page's text) of a one-page poster, rendered at 150 dpi."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        assert len(doc) == 1
        page = doc[0]
        assert round(page.get_width() / 72 * 25.4) == 210  # A4
        image = page.render(scale=150 / 72).to_pil()
        return [r.text for r in zxingcpp.read_barcodes(image)], page.get_textpage() \
            .get_text_bounded()
    finally:
        doc.close()


def test_every_poster_of_a_district_opens_its_venues_scan_page(demo_db, tmp_path):
    venues = [v for v in poster_venues(demo_db.engine, Viewer("admin"), HUANCUI)
              if v.code[6] in "MTB"]  # malls, hotels and buses: a few dozen
    assert len(venues) > 10
    written = write_posters(venues, "https://scan.example.gov.cn/", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{v.code}.pdf" for v in venues)
    for venue, path in zip(venues, written, strict=True):
        codes, text = read_poster(path.read_bytes())
        assert codes == [f"https://scan.example.gov.cn/s/{venue.code}"]
        assert venue.name in text and venue.code in text and venue.district_zh in text


def test_a_poster_is_only_for_a_venue_the_viewer_may_see(demo_db):
    venue = poster_venue(demo_db.engine, Viewer("duty_officer", HUANCUI), "371002S000001")
    codes, _ = read_poster(poster_pdf(venue, "http://127.0.0.1:8050"))
    assert codes == [scan_url("http://127.0.0.1:8050", "371002S000001")]
    with pytest.raises(Refused):
        poster_venue(demo_db.engine, Viewer("duty_officer", WENDENG), "371002S000001")


# -- phones --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("id_number", "phone", "key"), [
    ("12345", "", "phone_id_format"), ("37010219900101123X", "", "phone_id_check"),
    (new_id(1), "12345", "phone_bad_mobile"),
])
def test_a_registration_names_what_is_wrong(city_db, id_number, phone, key):
    with city_db.engine.begin() as conn, pytest.raises(phones.RegistrationError) as caught:
        phones.register(conn, id_number, phone, SECRET, clock(city_db)())
    assert caught.value.key == key


def test_a_phone_keeps_a_token_and_the_server_keeps_neither_number(city_db):
    engine, now = city_db.engine, clock(city_db)()
    id_number = new_id(2)
    with engine.begin() as conn:
        token = phones.register(conn, id_number.lower(), "+86 138 0013 8000", SECRET, now)
        found = phones.person_for(conn, token, now)
        assert phones.person_for(conn, token + "x", now) is None
    assert found[1] == person_key(id_number, SECRET)
    with engine.connect() as conn:
        row = conn.execute(select(t.phone_registrations)
                           .where(t.phone_registrations.c.id == found[0])).one()
    stored = json.dumps([str(v) for v in row])
    assert id_number not in stored and "13800138000" not in stored and token not in stored
    assert phones.open_phone(row.phone_sealed, SECRET) == "13800138000"
    assert phones.open_phone(row.phone_sealed, "another secret") is None


# -- SMS -----------------------------------------------------------------------------------------

def residents_with_phones(city_db, n: int):
    """A community with a plan of one batch, and n of its residents registered with phones."""
    engine, now = city_db.engine, clock(city_db)()
    people = pd.read_parquet(city_db.instance / "demo-people.parquet")
    with engine.connect() as conn:
        community = conn.execute(select(t.persons.c.community_id).where(
            t.persons.c.district_id == HUANCUI, t.persons.c.community_id.is_not(None))
            .group_by(t.persons.c.community_id).order_by(func.count().desc())).scalars().first()
        members = conn.execute(select(t.persons.c.id).where(
            t.persons.c.community_id == community)).scalars().all()
    chosen = people[people.person_id.isin(members)].head(n)
    with engine.begin() as conn:
        for i, id_number in enumerate(chosen["id_number"]):
            phones.register(conn, id_number, f"1390000{i:04d}", SECRET, now)
    viewer = Viewer("duty_officer", HUANCUI)
    plan = tq.propose_plan(engine, viewer, community, now + timedelta(hours=1), 30, 1, now)
    batch = tq.save_plan(engine, viewer, plan, username="duty", now=now)[0]
    return batch, len(members), viewer


def held_port():
    """A port that refuses connections (bound, not listening) and no one else can take."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    return held, held.getsockname()[1]


def test_batch_sms_wait_out_a_gateway_outage_and_arrive_once(city_db):
    engine, now_fn = city_db.engine, clock(city_db)
    batch, residents, viewer = residents_with_phones(city_db, 3)
    held, port = held_port()
    url = f"http://127.0.0.1:{port}/sms"
    sent, without = tq.notify_batch(engine, viewer, batch, username="duty", now=now_fn(),
                                    sms_url=url)
    assert (sent, without) == (3, residents - 3)
    sms = t.outbox.c.receiver == "sms"
    with engine.connect() as conn:
        payloads = conn.execute(select(t.outbox.c.payload).where(sms)).scalars().all()
    assert len(payloads) == 3 and not any("1390000" in p for p in payloads)  # sealed
    base = now_fn()
    for minute in range(3):  # the gateway is down: kept and retried
        deliver_due(engine, lambda m=minute: base + timedelta(minutes=m), secret=SECRET)
    assert count(engine, t.outbox, sms, t.outbox.c.state == "pending") == 3
    held.close()
    gateway = Receiver("127.0.0.1", port)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        later = base + timedelta(minutes=3, seconds=backoff(99).seconds)
        assert deliver_due(engine, lambda: later, secret=SECRET).sent == 3
        assert deliver_due(engine, lambda: later, secret=SECRET).sent == 0
        got = sorted(gateway.received.values(), key=lambda m: m["to"])
        assert [m["to"] for m in got] == ["13900000000", "13900000001", "13900000002"]
        assert all("分批下楼做核酸" in m["text"] and m["id"].startswith(f"sms-batch-{batch}-")
                   for m in got)
        assert gateway.requests == 3
    finally:
        gateway.shutdown()
        gateway.server_close()
    with pytest.raises(tq.PlanError):  # notifying again is refused: nobody is told twice
        tq.notify_batch(engine, viewer, batch, username="duty", now=now_fn(), sms_url=url)
    assert count(engine, t.outbox, sms) == 3


def test_a_flagged_person_with_a_phone_gets_one_alert_sms(city_db):
    engine, now = city_db.engine, clock(city_db)()
    people = pd.read_parquet(city_db.instance / "demo-people.parquet")
    with engine.connect() as conn:
        managed = conn.execute(select(t.person_status.c.person_id).where(
            t.person_status.c.managed.is_(True))).scalars().all()
    id_number = people[people.person_id.isin(managed)]["id_number"].iloc[-1]
    with engine.begin() as conn:
        phones.register(conn, id_number, "13700000009", SECRET, now)
    ingest = Ingestor(engine, SECRET, TZ, 28, sms_url="http://127.0.0.1:9/sms")
    scan = {"scan_id": f"sms-alert-test-{np.random.randint(1e9)}", "venue_code": "371002S000001",
            "person": id_number, "ts": now.isoformat() + "+08:00"}
    assert ingest.ingest([scan])[0]["verdict"] == "red"
    assert ingest.ingest([scan])[0]["verdict"] == "red"  # a repeat: no second alert, no SMS
    with engine.connect() as conn:
        rows = conn.execute(select(t.outbox.c.payload, t.outbox.c.alert_id).where(
            t.outbox.c.receiver == "sms", t.outbox.c.alert_id.is_not(None))).all()
        conn.execute(update(t.outbox).where(t.outbox.c.receiver == "sms")
                     .values(state="delivered"))  # out of the other tests' way
    mine = [r for r in rows if "禁止进入公共场所" in json.loads(r.payload)["text"]]
    assert len(mine) == 1 and "13700000009" not in mine[0].payload
