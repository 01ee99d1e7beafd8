"""Reads behind the alerts page: recent alerts in the viewer's scope with their push delivery.

Viewer: city-wide roles see every district; district roles see alerts at venues of their district;
planners see none (aggregates only). Persons appear only as a masked key.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, func, select

from placecode.auth.policy import Viewer, district_for
from placecode.db.schema import alerts, districts, outbox, persons, venues

# The alert's own pushes; the outbox also carries its incident's state changes (issue 7).
ALERT_PUSH = outbox.c.idempotency_key.like("alert-%")


def _scoped(query, scope: Viewer):
    district = district_for(scope, "persons")  # alerts name persons
    return query if district is None else query.where(alerts.c.district_id == district)


def mask_key(person_key: str) -> str:
    return "••••" + person_key[-4:]


def recent_alerts(engine: Engine, scope: Viewer, limit: int = 200) -> pd.DataFrame:
    """Newest alerts first. Columns: alert_id, ts, venue_code, venue_name, district_id,
    district_zh, district_en, rules, person, hq_state, community_state, attempts, last_error."""
    q = _scoped(
        select(alerts.c.id.label("alert_id"), alerts.c.ts, venues.c.code.label("venue_code"),
               venues.c.name.label("venue_name"), alerts.c.district_id,
               districts.c.name_zh.label("district_zh"), districts.c.name_en.label("district_en"),
               alerts.c.rules, persons.c.person_key)
        .join(venues, venues.c.id == alerts.c.venue_id)
        .join(districts, districts.c.id == alerts.c.district_id)
        .join(persons, persons.c.id == alerts.c.person_id)
        .order_by(alerts.c.id.desc()).limit(limit), scope)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(q).mappings().all(), columns=[
            "alert_id", "ts", "venue_code", "venue_name", "district_id", "district_zh",
            "district_en", "rules", "person_key"])
        ids = frame["alert_id"].tolist()
        deliveries = pd.DataFrame(conn.execute(
            select(outbox.c.alert_id, outbox.c.receiver, outbox.c.state, outbox.c.attempts,
                   outbox.c.last_error, outbox.c.delivered_at)
            .where(outbox.c.alert_id.in_(ids), ALERT_PUSH)).mappings().all(),
            columns=["alert_id", "receiver", "state", "attempts", "last_error", "delivered_at"])
    frame["person"] = frame.pop("person_key").map(mask_key)
    deliveries["level"] = deliveries["receiver"].str.split(":").str[0]
    for level in ("district", "community"):
        mine = deliveries[deliveries.level == level].set_index("alert_id")
        frame[f"{level}_state"] = frame["alert_id"].map(mine["state"]).fillna("none")
        frame[f"{level}_attempts"] = frame["alert_id"].map(mine["attempts"]).fillna(0) \
            .astype(int)
        frame[f"{level}_error"] = frame["alert_id"].map(mine["last_error"]).fillna("")
    return frame


def alert_counts(engine: Engine, scope: Viewer, since: datetime) -> dict[str, int]:
    """alerts since `since`, and push rows pending / delivered among all alerts in scope."""
    with engine.connect() as conn:
        today = conn.execute(_scoped(select(func.count()).select_from(alerts)
                                     .where(alerts.c.ts >= since), scope)).scalar()
        states = dict(conn.execute(_scoped(
            select(outbox.c.state, func.count()).join(alerts, alerts.c.id == outbox.c.alert_id)
            .where(ALERT_PUSH).group_by(outbox.c.state), scope)).all())
    return {"today": today, "pending": states.get("pending", 0),
            "delivered": states.get("delivered", 0)}
