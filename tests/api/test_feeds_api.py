"""POST /api/v1/feeds/<kind>: the streaming way in for feeds, same checks as the files."""

from __future__ import annotations

from sqlalchemy import func, select

from placecode.db import schema as t


def post(api, kind: str, body, token: str):
    return api.client.post(f"/api/v1/feeds/{kind}", json=body,
                           headers={"Authorization": f"Bearer {token}"})


def test_feed_rows_load_once_and_bad_rows_are_answered_by_item(api):
    token = api.token("feed")
    rows = [
        {"person": "110101199901010011", "kind": "antigen", "sampled_at": api.ts(30),
         "result": "negative"},
        {"person": "110101199901010012", "kind": "antigen", "sampled_at": "soon",
         "result": "negative"},
        {"person": "110101199901010013", "kind": "nucleic", "sampled_at": api.ts(40),
         "result": "pending", "site": "采样点001"},
    ]
    with api.db.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.tests)).scalar()
    first = post(api, "tests", rows, token)
    assert first.status_code == 200, first.json
    assert (first.json["valid"], first.json["new"], first.json["rejected_count"]) == (2, 2, 1)
    assert first.json["rejected"] == [
        {"line": 2, "column": "sampled_at", "reason": "sampled_at: 'soon' is not an ISO 8601 time "
                              "(e.g. 2026-11-23T09:30:00+08:00)"}]
    again = post(api, "tests", rows, token)
    assert again.json["new"] == 0
    with api.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.tests)).scalar() == before + 2


def test_feed_route_errors(api):
    token = api.token("feed")
    assert post(api, "labs", [], token).status_code == 404
    wrong = post(api, "tests", [{"person": "x" * 18}], token)
    assert wrong.status_code == 400 and "required column" in wrong.json["error"]["message"]
    assert post(api, "tests", {"person": "x"}, token).status_code == 400
    device = post(api, "tests", [], api.device)
    assert device.status_code == 403 and "feed token" in device.json["error"]["message"]
