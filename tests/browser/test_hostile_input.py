"""What an attacker sends to the pages' routes: forged callback bodies and values, oversized
requests, markup in a venue's name. Each is refused or shown as text, never a 500."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from placecode.db import schema as t
from tests.browser.conftest import dash_post, login
from tests.browser.test_wall import open_wall

MARKUP = '<img src=x onerror="window.__pwned=1">'


def captured(page, server, path: str, marker: str, ready: str) -> dict:
    """The body of the callback request whose text holds `marker`, as the page sent it."""
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(r.post_data) if r.method == "POST" and (
        "_dash-update-component" in r.url and marker in (r.post_data or "")) else None)
    page.goto(server.url + path)
    page.wait_for_selector(ready)
    assert bodies, f"{path} sent no callback with {marker}"
    return json.loads(bodies[-1])


def set_value(body: dict, component: str, prop: str, value) -> dict:
    """The body with the input or state `component.prop` set to `value`."""
    for item in [*body["inputs"], *body.get("state", [])]:
        for part in item if isinstance(item, list) else [item]:
            if part["id"] == component and part["property"] == prop:
                part["value"] = value
                return body
    raise AssertionError(f"{component}.{prop} is not in the body")


def test_wall_hover_card_shows_a_venue_name_as_text_not_markup(page, server):
    with server.db.engine.begin() as conn:
        first = conn.execute(select(t.venues.c.id, t.venues.c.name)
                             .order_by(t.venues.c.id).limit(1)).one()
        conn.execute(update(t.venues).where(t.venues.c.id == first.id)
                     .values(name=MARKUP + "便利店"))
    try:
        open_wall(page, server, "cmd")
        page.evaluate("window.placecodeWall.hover(0)")  # the card is fetched, then redrawn
        page.wait_for_function("document.querySelector('.wall-map-tip').innerText"
                               ".includes('便利店')")
        assert MARKUP in page.inner_text(".wall-map-tip")
        assert page.query_selector(".wall-map-tip img") is None
        assert page.evaluate("window.__pwned") is None
    finally:
        with server.db.engine.begin() as conn:
            conn.execute(update(t.venues).where(t.venues.c.id == first.id)
                         .values(name=first.name))


def test_forged_callback_bodies_and_values_are_400s_not_500s(page, server):
    login(page, server, "cmd")
    grid = captured(page, server, "/venues", "getRowsRequest", "#venues-grid .ag-row")
    shapes = [
        ("not an object", ["x"]),
        ("unknown output", grid | {"output": "nothing.children"}),
        ("inputs not a list", grid | {"inputs": {"id": "x"}}),
        ("state items without ids", grid | {"state": [{"value": 1}]}),
        ("changedPropIds of numbers", grid | {"changedPropIds": [1, 2]}),
    ]
    request = next(i["value"] for i in grid["inputs"] if i["property"] == "getRowsRequest")
    values = [
        ("startRow abc", set_value(json.loads(json.dumps(grid)), "venues-grid",
                                   "getRowsRequest", request | {"startRow": "abc"})),
        ("sortModel a string", set_value(json.loads(json.dumps(grid)), "venues-grid",
                                         "getRowsRequest", request | {"sortModel": "name"})),
    ]
    for what, body in shapes + values:
        response = dash_post(page, server, body)
        assert response.status == 400, (what, response.status, response.text()[:300])
        assert "reload the page" in response.text(), what
    # list-typed filters and an id past the database's integers mean "no filter", not a 500
    listed = set_value(json.loads(json.dumps(grid)), "venues-filters", "data",
                       {"name": ["超市"], "kind": {"a": 1}, "district_id": "9" * 30})
    response = dash_post(page, server, listed)
    assert response.status == 200, response.text()[:300]
    assert response.json()["response"]["venues-grid"]["getRowsResponse"]["rowCount"] > 0


def test_audit_until_year_9999_names_the_field(page, server):
    login(page, server, "adm")
    body = captured(page, server, "/audit", "audit-until", "#audit-grid .ag-row")
    response = dash_post(page, server, set_value(body, "audit-until", "value", "9999-12-31"))
    assert response.status == 200, response.text()[:300]
    said = response.json()["response"]["audit-message"]["children"]["props"]["children"]
    assert "截止日期" in said and "2000–2100" in said


def test_oversized_callback_and_login_bodies_are_413s_and_a_long_username_is_not_echoed(
        page, server):
    page.goto(server.url + "/login")
    token = page.input_value("input[name=csrf_token]")
    for size, status in ((5 * 1024 * 1024, 413), (100_000, 401)):
        response = page.request.post(server.url + "/login", form={
            "username": "u" * size, "password": "x", "csrf_token": token})
        assert response.status == status, (size, response.status)
        assert "u" * 65 not in response.text()
    login(page, server, "cmd")
    body = {"output": "x", "inputs": [], "padding": "x" * (6 * 1024 * 1024)}
    assert dash_post(page, server, body).status == 413
