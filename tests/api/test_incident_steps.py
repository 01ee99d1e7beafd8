"""POST /api/v1/incidents/<id>/steps with a device token: the venue's staff confirm the person
is held (or picked up) without a browser; other steps refused with what is allowed."""

from __future__ import annotations

from sqlalchemy import select, update

from placecode.db import schema as t


def test_venue_device_confirms_held_and_is_refused_what_it_may_not_do(api):
    """POST /api/v1/incidents/<id>/steps: the venue's device confirms the person is held."""
    from placecode.dispatch.board import mark_notified

    red = api.post({"scan_id": api.scan_id(), "venue_code": "371002S000001",
                    "person": managed_id(api), "ts": api.ts()})
    assert red.get_json()["verdict"] == "red", red.get_json()
    with api.db.engine.connect() as conn:
        incident, alert = conn.execute(select(t.incidents.c.id, t.incidents.c.alert_id)
                                       .order_by(t.incidents.c.id.desc())).first()
        conn.execute(update(t.outbox).where(t.outbox.c.alert_id == alert)
                     .values(state="delivered"))
        conn.commit()
    mark_notified(api.db.engine, alert, api.now)
    step = f"/api/v1/incidents/{incident}/steps"
    headers = {"Authorization": f"Bearer {api.device}"}
    refused = api.client.post(step, json={"to": "dispatched"}, headers=headers)
    assert refused.status_code == 400 and "held" in refused.get_json()["error"]["message"]
    done = api.client.post(step, json={"to": "held", "note": "店员已安排在门口等候"},
                           headers=headers)
    assert done.status_code == 200 and done.get_json()["state"] == "held"
    again = api.client.post(step, json={"to": "held"}, headers=headers)
    assert again.status_code == 409 and "allowed: dispatched" in again.get_json()["error"][
        "message"]
    assert api.client.post("/api/v1/incidents/999999/steps", json={"to": "held"},
                           headers=headers).status_code == 404


def managed_id(api) -> str:
    with api.db.engine.connect() as conn:
        pid = conn.execute(select(t.person_status.c.person_id)
                           .where(t.person_status.c.managed.is_(True))
                           .order_by(t.person_status.c.person_id)).scalars().first()
    return api.people.set_index("person_id").loc[pid, "id_number"]
