"""SMS notices through the outbox: a testing batch's residents are told their slot, and a person
whose scan raised an alert is told to stay out of public places.

Each message is one outbox row (receiver "sms", key `sms-batch-<batch>-<person>` or
`sms-alert-<alert>`), so it is retried until the gateway answers and sent once: the gateway gets
the key as `Idempotency-Key` and as `id`. The row holds the phone number sealed (as the
registration stored it); delivery opens it just before the POST, so no phone number is ever
stored in the clear. The adapter is a generic JSON webhook: `{"to", "text", "id"}` to
PLACECODE_SMS_URL; `placecode receiver` stands in for a gateway locally.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, func, select

from placecode.db import schema as t
from placecode.db.upsert import insert_new
from placecode.front.phones import open_phone

RECEIVER = "sms"
ALERT_TEXT = ("【场所码】您的健康状态需核实（{reasons}），请勿进入公共场所，所在社区工作人员将与您"
              "联系。")


def _rows(messages: list[tuple[str, str, str]], url: str, now: datetime,
          alert_id: int | None = None) -> list[dict]:
    return [{"alert_id": alert_id, "receiver": RECEIVER, "url": url, "idempotency_key": key,
             "payload": json.dumps({"to_sealed": sealed, "text": text, "id": key},
                                   ensure_ascii=False),
             "state": "pending", "attempts": 0, "next_attempt_at": now, "last_error": "",
             "created_at": now} for key, sealed, text in messages]


def latest_phones(conn: Connection, person_ids: list[int]) -> dict[int, str]:
    """person id → the sealed phone of their latest registration that gave one."""
    r = t.phone_registrations
    out: dict[int, str] = {}
    for i in range(0, len(person_ids), 900):
        newest = (select(r.c.person_id, func.max(r.c.id).label("id"))
                  .where(r.c.person_id.in_(person_ids[i:i + 900]), r.c.phone_sealed.is_not(None))
                  .group_by(r.c.person_id).subquery())
        out.update(conn.execute(select(r.c.person_id, r.c.phone_sealed)
                                .join(newest, newest.c.id == r.c.id)).all())
    return out


def queue_batch_notices(conn: Connection, batch_id: int, now: datetime, url: str
                        ) -> tuple[int, int]:
    """One SMS per resident of the batch's buildings with a registered phone, each with their
    building's line; returns (queued, residents without a phone). Nothing is queued without a
    gateway `url` (queued 0)."""
    b, p = t.test_batches.c, t.persons.c
    batch = conn.execute(select(b.building_ids, b.message).where(b.id == batch_id)).first()
    buildings = [int(x) for x in batch.building_ids.split(",") if x]
    lines = dict(zip(buildings, batch.message.split("\n"), strict=False))
    residents = conn.execute(select(p.id, p.building_id)
                             .where(p.building_id.in_(buildings))).all()
    phones = latest_phones(conn, [r.id for r in residents])
    if not url:
        return 0, len(residents) - len(phones)
    messages = [(f"sms-batch-{batch_id}-{r.id}", phones[r.id], lines.get(r.building_id, ""))
                for r in residents if r.id in phones]
    if messages:
        insert_new(conn, t.outbox, ["idempotency_key"], _rows(messages, url, now))
    return len(messages), len(residents) - len(phones)


def queue_alert_notice(conn: Connection, alert_id: int, person_id: int, reasons: list[dict],
                       now: datetime, url: str) -> bool:
    """Tell the flagged person, if they registered a phone; True if an SMS was queued."""
    sealed = latest_phones(conn, [person_id]).get(person_id)
    if not url or not sealed:
        return False
    text = ALERT_TEXT.format(reasons="；".join(r["message_zh"] for r in reasons) or "红码")
    insert_new(conn, t.outbox, ["idempotency_key"],
               _rows([(f"sms-alert-{alert_id}", sealed, text)], url, now, alert_id))
    return True


def wire_payload(payload: str, secret: str) -> str:
    """The JSON the gateway gets: the sealed phone opened; raises ValueError if it cannot be."""
    body = json.loads(payload)
    phone = open_phone(body.pop("to_sealed", None), secret)
    if not phone:
        raise ValueError("the phone number cannot be opened (another secret key?)")
    return json.dumps({"to": phone, **body}, ensure_ascii=False)
