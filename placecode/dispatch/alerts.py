"""Alerts: a red verdict from an alerting rule becomes an alert, its incident, and one outbox row
per receiver (the venue's district HQ and the person's home community), and an SMS to the person
if they registered a phone, in the scan's transaction, so an acknowledged scan never loses its
alert."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from placecode.db import schema as t
from placecode.dispatch.board import open_incident
from placecode.dispatch.sms import queue_alert_notice
from placecode.rules.definitions import reason_objects


def receivers(hooks: list, district_id: int, community_id: int | None
              ) -> list[tuple[str, str]]:
    """[(receiver, url)] for one alert: the area's own webhook, else the level's default."""
    out = []
    for level, area in (("district", district_id), ("community", community_id)):
        if area is None:
            continue
        rows = [h for h in hooks if h.level == level and h.area_id in (area, None)]
        rows.sort(key=lambda h: h.area_id is None)  # the area's own hook first
        if rows:
            url = rows[0].url.format(district_id=district_id, community_id=community_id or "")
            out.append((f"{level}:{area}", url))
    return out


def raise_alerts(conn: Connection, alerting: list[tuple[dict, Any]], vinfo: dict,
                 now: datetime, sms_url: str = "") -> list[int]:
    """Store alerts and their outbox rows for (scan row, person row) pairs; returns alert ids.
    `sms_url`: the SMS gateway (PLACECODE_SMS_URL), '' for none."""
    sc, v = t.scans, t.venues
    ids = dict(conn.execute(select(sc.c.scan_id, sc.c.id)
                            .where(sc.c.scan_id.in_([r["scan_id"] for r, _ in alerting]))).all())
    venues = {row.id: row for row in conn.execute(
        select(v.c.id, v.c.code, v.c.name, v.c.kind, v.c.district_id)
        .where(v.c.id.in_({r["venue_id"] for r, _ in alerting})))}
    hooks = conn.execute(select(t.webhooks).where(t.webhooks.c.active.is_(True))).all()
    alert_ids = []
    for scan, person in alerting:
        district = vinfo[scan["venue_id"]][1]
        alert_id = conn.execute(insert(t.alerts).values(
            scan_id=ids[scan["scan_id"]], person_id=person.id, venue_id=scan["venue_id"],
            district_id=district, community_id=person.community_id, rules=scan["reasons"],
            ts=scan["ts"])).inserted_primary_key[0]
        alert_ids.append(alert_id)
        open_incident(conn, alert_id, scan["venue_id"], person.id, district, now)
        venue = venues[scan["venue_id"]]
        body = {
            "alert_id": alert_id, "verdict": scan["verdict"], "ts": scan["ts"].isoformat(),
            "reasons": reason_objects(scan["reasons"]),
            "venue": {"code": venue.code, "name": venue.name, "kind": venue.kind,
                      "district_id": venue.district_id},
            "person_key": person.person_key, "home_community_id": person.community_id,
        }
        rows = []
        for receiver, url in receivers(hooks, district, person.community_id):
            key = f"alert-{alert_id}-{receiver}"
            rows.append({"alert_id": alert_id, "receiver": receiver, "url": url,
                         "idempotency_key": key,
                         "payload": json.dumps(body | {"receiver": receiver,
                                                       "idempotency_key": key},
                                               ensure_ascii=False),
                         "state": "pending", "attempts": 0, "next_attempt_at": now,
                         "last_error": "", "created_at": now})
        if rows:
            conn.execute(insert(t.outbox), rows)
        queue_alert_notice(conn, alert_id, person.id, body["reasons"], now, sms_url)
    return alert_ids
