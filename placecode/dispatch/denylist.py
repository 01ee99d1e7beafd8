"""The deny list partners pull (seed 003: the bus company's card-swipe voice prompt): persons whose
status is red, as pseudonymous keys with reason codes and since-when.

The list is kept in its own table in step with person_status (set-based, the red set is small)
so that a person who leaves it is reported too: each change stamps `seq` (epoch ms), and a pull
with `?since=SEQ` gets only what changed after it, removals included (active: false). Entries
are states, not events: applying one twice is harmless.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import BigInteger, Connection, and_, exists, insert, literal, select, update

from placecode.clock import change_stamp
from placecode.db import schema as t


def sync(conn: Connection, now: datetime) -> None:
    """Bring the deny list in step with person_status: add new reds, drop those no longer red,
    follow changed reasons."""
    d, s = t.denylist, t.person_status
    seq = change_stamp()
    red = select(s.c.person_id).where(s.c.verdict == "red")
    conn.execute(insert(d).from_select(
        ["person_id", "reasons", "since", "active", "seq"],
        select(s.c.person_id, s.c.reasons, literal(now, t.Timestamp), literal(True),
               literal(seq, BigInteger()))
        .where(s.c.verdict == "red",
               ~exists().where(d.c.person_id == s.c.person_id))))
    conn.execute(update(d).where(d.c.active.is_(True), d.c.person_id.not_in(red))
                 .values(active=False, seq=seq))
    current = (select(s.c.reasons).where(s.c.person_id == d.c.person_id)
               .scalar_subquery())
    back = d.c.active.is_(False) & d.c.person_id.in_(red)
    conn.execute(update(d).where(back).values(active=True, since=now, seq=seq,
                                              reasons=current))
    conn.execute(update(d).where(and_(d.c.active.is_(True), d.c.person_id.in_(red),
                                      d.c.reasons != current))
                 .values(reasons=current, seq=seq))


def changes(conn: Connection, since: int | None) -> pd.DataFrame:
    """Entries changed after the stamp `since` (all active ones without it). Columns:
    person_key, reasons, since, active, seq."""
    d, p = t.denylist, t.persons
    query = select(p.c.person_key, d.c.reasons, d.c.since, d.c.active, d.c.seq).join(
        p, p.c.id == d.c.person_id)
    query = (query.where(d.c.seq > since) if since is not None
             else query.where(d.c.active.is_(True)))
    rows = conn.execute(query.order_by(d.c.seq, d.c.person_id)).all()
    return pd.DataFrame(rows, columns=["person_key", "reasons", "since", "active", "seq"])
