"""GET /api/v1/denylist with a partner token: the red persons as pseudonymous keys with reasons
and since-when, incremental pulls that report removals, ETag, and the wrong token refused."""

from __future__ import annotations

from sqlalchemy import func, select, update

from placecode.db import schema as t


def pull(api, token, since=None, etag=None):
    headers = {"Authorization": f"Bearer {token}"} | ({"If-None-Match": etag} if etag else {})
    return api.client.get("/api/v1/denylist", query_string={"since": since} if since else {},
                          headers=headers)


def test_denylist_lists_red_persons_and_reports_changes_incrementally(api):
    partner = api.token("partner")
    with api.db.engine.connect() as conn:
        red = dict(conn.execute(select(t.persons.c.id, t.persons.c.person_key)
                                .join(t.person_status,
                                      t.person_status.c.person_id == t.persons.c.id)
                                .where(t.person_status.c.verdict == "red")).all())
    first = pull(api, partner)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["full"] and {e["person_key"] for e in body["entries"]} == set(red.values())
    assert all(e["reasons"] and e["active"] for e in body["entries"])
    assert "id_number" not in first.get_data(as_text=True)
    # nothing changed: the same ETag, and an empty incremental pull
    assert pull(api, partner, etag=first.headers["ETag"]).status_code == 304
    assert pull(api, partner, since=body["next_since"]).get_json()["entries"] == []
    # one person is no longer red: the next pull says so, and only that
    gone = next(iter(red))
    with api.db.engine.begin() as conn:
        conn.execute(update(t.person_status).where(t.person_status.c.person_id == gone)
                     .values(verdict="green", reasons=""))
    later = pull(api, partner, since=body["next_since"]).get_json()
    assert [(e["person_key"], e["active"]) for e in later["entries"]] == [(red[gone], False)]
    with api.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.denylist)).scalar() == len(red)


def test_denylist_refuses_other_tokens_and_bad_since(api):
    assert pull(api, api.device).status_code == 403
    assert "partner" in pull(api, api.device).get_json()["error"]["message"]
    assert api.client.get("/api/v1/denylist").status_code == 401
    bad = pull(api, api.token("partner"), since="yesterday")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "since"

