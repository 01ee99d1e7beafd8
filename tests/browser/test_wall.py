"""The login and the command wall in headless Chromium, as a commander would check them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import func, select

from components.numbers import PALETTES
from placecode.auth.tokens import issue_token
from placecode.clock import city_now
from placecode.db import schema as t
from tests.browser.conftest import PASSWORDS, artifact, login
from tests.browser.test_rules_alerts import red_scan

KPI = '[id=\'{"index":"%s","type":"wall-kpi"}\']'


def open_wall(page, server, username: str, path: str = "/") -> None:
    """Log in and wait until the numbers and every venue are drawn."""
    login(page, server, username)
    if path != "/":
        page.goto(server.url + path)
    page.wait_for_selector(KPI % "scans_today")
    # "boot" is the frame drawn from the prefetched venues before Dash's first spec arrives
    page.wait_for_function("window.placecodeWall?.state().firstDrawMs > 0"
                           " && window.placecodeWall.state().ready"
                           " && window.placecodeWall.state().version !== 'boot'", timeout=30_000)


def state(page) -> dict:
    return page.evaluate("window.placecodeWall.state()")


def wait_state(page, condition: str, timeout: int = 30_000) -> None:
    """Wait until `condition` (JS over `s`, the map's state) holds; on timeout say what the
    map's state was, so a slow or failed load is told apart from a wrong one."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"(s => {condition})(window.placecodeWall.state())",
                               timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"map state never met {condition}: {state(page)}") from None


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def day_start(db) -> datetime:
    """Midnight of the day the wall shows: today once live scans arrived (other tests post some),
    else the demo city's last day."""
    today = datetime.combine(city_now(), datetime.min.time())
    with db.engine.connect() as conn:
        live = conn.execute(select(func.max(t.rollup_district_hour.c.hour))).scalar()
    if live is not None and datetime.fromisoformat(str(live)) >= today:
        return today
    return datetime.combine(db.now.astype("datetime64[D]").astype(object), datetime.min.time())


def snapshot(db) -> bool:
    return day_start(db) < datetime.combine(city_now(), datetime.min.time())


def db_counts(db) -> dict[str, int]:
    start = day_start(db)
    in_day = (t.scans.c.ts >= start) & (t.scans.c.ts < start + timedelta(days=1))
    with db.engine.connect() as conn:
        one = lambda q: conn.execute(q).scalar_one()  # noqa: E731
        return {
            "scans_today": one(select(func.count()).select_from(t.scans).where(in_day)),
            "red_today": one(select(func.count()).select_from(t.scans)
                             .where(in_day, t.scans.c.verdict == "red")),
            "venues": one(select(func.count()).select_from(t.venues)),
            "flagged": one(select(func.count()).select_from(t.person_status)
                           .where(t.person_status.c.verdict.in_(["yellow", "red"]))),
            "alerts_today": one(select(func.count()).select_from(t.alerts)
                                .where(t.alerts.c.ts >= start,
                                       t.alerts.c.ts < start + timedelta(days=1))),
        }


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def assert_nothing_overlaps(page) -> None:
    """KPI tiles, the map and the side panels each keep their own space on the screen (measured
    in one go in the page: a live refresh may replace the tiles between two separate reads)."""
    parts = page.evaluate("""() => [...document.querySelectorAll('.kpi-tile'),
        ...['#wall-map', '#wall-legend', '#wall-ranking', '#wall-ticker', '.wall-header']
          .map(s => document.querySelector(s))].map(e => {
            const r = e.getBoundingClientRect();
            return {x: r.x, y: r.y, width: r.width, height: r.height};
        })""")
    assert len(parts) >= 9, parts  # at least 4 tiles and the five parts
    viewport = page.viewport_size
    for i, a in enumerate(parts):
        assert a["x"] >= 0 and a["x"] + a["width"] <= viewport["width"] + 1, a
        assert a["y"] + a["height"] <= viewport["height"] + 1, a
        for b in parts[i + 1:]:
            assert not boxes_overlap(a, b), (a, b)


def test_login_wrong_password_is_refused_with_a_message(page, server):
    page.goto(server.url + "/")
    assert "/login" in page.url  # every page needs a login
    page.fill("#username", "cmd")
    page.fill("#password", "not-the-password-1")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("#login-error")
    assert "/login" in page.url
    page.goto(server.url + "/")
    assert "/login" in page.url  # still locked out
    with server.db.engine.connect() as conn:
        actions = conn.execute(select(t.audit_log.c.action)
                               .where(t.audit_log.c.username == "cmd")).scalars().all()
    assert "login_failed" in actions


def test_wall_draws_every_venue_and_shows_true_kpis(page, server):
    open_wall(page, server, "cmd")
    expected = db_counts(server.db)
    shown = {k: number(page.inner_text(KPI % k)) for k in expected}
    assert shown == expected
    assert shown["scans_today"] > 0
    drawn = state(page)
    assert drawn["venues"] == expected["venues"]  # the layer holds every registered venue
    assert drawn["scansShown"] == expected["scans_today"]  # and each venue's number of the day
    assert sorted(drawn["districtColours"]) == ["371002", "371003", "371082", "371083"]
    assert set(drawn["districtColours"].values()) <= set(PALETTES["scans"])
    assert any(label.startswith("环翠区") for label in drawn["labels"])
    assert drawn["error"] is None
    assert "环翠区" in page.inner_text("#wall-ranking")
    assert "威海市" in page.inner_text("#wall-title")
    assert "商户" in page.inner_text("#wall-kinds")  # what the dot colours mean
    if snapshot(server.db):  # the test city's scans end yesterday 15:00: the wall says so
        assert f"演示数据截至 {str(server.db.now)[:10]} 15:00" in page.inner_text("#wall-updated")
    assert "较昨日同期" in page.inner_text("#wall-kpis")
    with server.db.engine.connect() as conn:  # the units tile counts the registered units
        n_units = conn.execute(select(func.count()).select_from(t.units)).scalar()
    assert page.inner_text(KPI % "units").endswith(f"/{n_units}")
    assert_nothing_overlaps(page)
    page.wait_for_timeout(500)  # web font swap
    page.screenshot(path=artifact("wall-1920x1080-zh.png"))


def test_wall_metric_switch_recolours_by_flagged_density(page, server):
    open_wall(page, server, "cmd")
    before = state(page)["districtColours"]
    page.click("label:has-text('每万人重点人员')")
    page.wait_for_function("document.querySelector('#wall-legend')?.innerText.includes('每万人')")
    page.wait_for_function(
        "palette => Object.values(window.placecodeWall.state().districtColours)"
        ".every(c => palette.includes(c))", arg=PALETTES["flagged"])
    assert set(before.values()) <= set(PALETTES["scans"])
    with server.db.engine.connect() as conn:
        rows = conn.execute(select(t.districts.c.name_zh, t.districts.c.residents,
                                   func.count(t.persons.c.id))
                            .join(t.persons, t.persons.c.district_id == t.districts.c.id)
                            .join(t.person_status,
                                  (t.person_status.c.person_id == t.persons.c.id)
                                  & t.person_status.c.verdict.in_(["yellow", "red"]))
                            .group_by(t.districts.c.name_zh, t.districts.c.residents)).all()
    ranking = page.inner_text("#wall-ranking")
    for name, residents, flagged in rows:  # each rate as a person would compute it
        assert f"{flagged * 10_000 / residents:,.1f}" in ranking, name
    page.click("label:has-text('场所按红黄码')")  # venues by red/yellow instead of by kind
    page.wait_for_function("window.placecodeWall.state().venueMode === 'flagged'")
    assert "今日有红码" in page.inner_text("#wall-kinds")


def test_wall_language_switch_changes_labels(page, server):
    open_wall(page, server, "cmd")
    assert "今日扫码" in page.inner_text("#wall-kpis")
    page.click("#shell-lang-en")
    page.wait_for_function("document.querySelector('#wall-title')?.innerText.includes('Weihai')")
    assert "Scans today" in page.inner_text("#wall-kpis")
    assert "Huancui" in page.inner_text("#wall-ranking")
    page.wait_for_function("window.placecodeWall.state().labels.join(' ').includes('Huancui')")
    labels = " ".join(state(page)["labels"])
    assert "Rongcheng" in labels and "荣成" not in labels
    page.wait_for_timeout(500)
    page.screenshot(path=artifact("wall-1920x1080-en.png"))
    page.reload()  # the choice is remembered in the browser
    page.wait_for_function("document.querySelector('#wall-title')?.innerText.includes('Weihai')")


def test_wall_district_commander_sees_own_district_and_only_its_persons(page, server):
    red_scan(server)  # a red verdict in 环翠区 today, whatever the demo's dice gave it
    open_wall(page, server, "huancui")
    assert state(page)["home"] == 371002
    assert "本辖区" in page.inner_text("#wall-ranking")
    rows = page.locator(".tick-row")
    assert rows.count() > 0
    for i in range(rows.count()):
        text = rows.nth(i).inner_text()
        assert "环翠区" in text and "••••" in text, text


def test_wall_click_on_a_district_shows_its_subdistricts(page, server):
    open_wall(page, server, "cmd")
    with server.db.engine.connect() as conn:
        lon, lat = conn.execute(select(t.districts.c.label_lon, t.districts.c.label_lat)
                                .where(t.districts.c.id == 371082)).one()
        n_sub = conn.execute(select(func.count()).select_from(t.subdistricts)
                             .where(t.subdistricts.c.district_id == 371082)).scalar_one()
    x, y = page.evaluate("([lon, lat]) => window.placecodeWall.project(lon, lat)", [lon, lat])
    page.mouse.click(x, y)
    wait_state(page, "s.focus === 371082")
    wait_state(page, f"s.subAreas === {n_sub}")
    assert "荣成市 · 各街道排名" in page.inner_text("#wall-ranking")
    assert page.locator("#wall-back").is_visible()
    page.wait_for_timeout(1500)  # the fly-to animation
    page.screenshot(path=artifact("wall-subdistricts-1920x1080.png"))
    page.click("#wall-back")
    wait_state(page, "s.focus === null")
    assert "各区排名" in page.inner_text("#wall-ranking")


def test_wall_updates_live_when_a_scan_arrives(page, server):
    open_wall(page, server, "cmd")
    before = state(page)
    shown = number(page.inner_text(KPI % "scans_today"))
    with server.db.engine.begin() as conn:
        _, secret = issue_token(conn, "device", "wall test", None, datetime.now())
    people = pd.read_parquet(server.db.instance / "demo-people.parquet")
    when = (day_start(server.db) + timedelta(hours=14, minutes=59) if snapshot(server.db)
            else city_now())  # inside the day the wall shows
    response = page.request.post(server.url + "/api/v1/scans", headers={
        "Authorization": f"Bearer {secret}"}, data={
        "scan_id": "wall-live-1", "venue_code": "371002S000001",
        "person": people["id_number"].iloc[0], "ts": when.isoformat() + "+08:00"})
    assert response.status == 200, response.text()
    page.wait_for_function(  # the next tick sees a new version; only the change is fetched
        f"window.placecodeWall.state().scansShown === {before['scansShown'] + 1}",
        timeout=15_000)
    after = state(page)  # other writers may bump the version too; none may reload the layer
    assert after["updates"] > before["updates"]
    assert (after["fullUpdates"], after["positionLoads"]) == (
        before["fullUpdates"], before["positionLoads"]), after
    page.wait_for_function(
        f"document.querySelector('[id*=scans_today]').innerText.replace(/,/g, '') == {shown + 1}")


def test_wall_kiosk_hides_chrome_and_rotates_to_trends_and_dispatch(page, server):
    open_wall(page, server, "cmd", "/wall?kiosk=1&rotate=5")
    assert page.locator(".shell-nav").is_hidden()
    page.wait_for_function("document.querySelector('#wall-panels').className"
                           ".includes('show-trends')", timeout=12_000)
    assert page.locator("#wall-panel-trends").is_visible()
    assert page.locator("#wall-map").is_hidden()
    page.wait_for_function("document.querySelector('#wall-panel-trends').innerText"
                           ".includes('每小时扫码')")
    page.wait_for_selector("#wall-trend-daily .main-svg")  # drawn, not just laid out
    page.wait_for_timeout(800)
    page.screenshot(path=artifact("wall-trends-1920x1080.png"))
    page.wait_for_function("document.querySelector('#wall-panels').className"
                           ".includes('show-dispatch')", timeout=12_000)  # then dispatch
    page.wait_for_function("document.querySelector('#wall-panel-dispatch').innerText"
                           ".includes('可用力量')")
    assert page.locator("#wall-panel-trends").is_hidden()
    with server.db.engine.connect() as conn:  # the units it counts are the registered ones
        n_units = conn.execute(select(func.count()).select_from(t.units)).scalar()
    assert f"/{n_units}" in page.inner_text("#wall-panel-dispatch")
    page.screenshot(path=artifact("wall-dispatch-1920x1080.png"))
    page.wait_for_function("document.querySelector('#wall-panels').className"
                           ".includes('show-map')", timeout=12_000)  # and back
    assert page.locator("#wall-panel-dispatch").is_hidden()
    assert page.locator("#wall-map").is_visible()


def test_wall_bad_rotate_says_what_to_give(page, server):
    open_wall(page, server, "cmd", "/wall?kiosk=1&rotate=abc")
    assert "rotate=30" in page.inner_text(".wall-url-error")
    assert "show-map" in page.get_attribute("#wall-panels", "class")


def test_wall_is_readable_on_a_4k_display(browser, server):
    context = browser.new_context(viewport={"width": 3840, "height": 2160})
    page = context.new_page()
    try:
        open_wall(page, server, "cmd", "/wall?kiosk=1")
        assert state(page)["venues"] == db_counts(server.db)["venues"]
        size = page.evaluate("parseFloat(getComputedStyle("
                             "document.querySelector('.kpi-value')).fontSize)")
        assert size >= 90  # about 2.5 cm tall on a 65-inch 4K panel
        assert_nothing_overlaps(page)
        page.wait_for_timeout(800)
        page.screenshot(path=artifact("wall-3840x2160-zh.png"))
    finally:
        context.close()


def test_wall_venue_layer_is_binary_cached_and_checked(page, server):
    login(page, server, "cmd")
    page.wait_for_selector(KPI % "scans_today")
    first = page.request.get(server.url + "/wall-data/venues.bin")
    assert first.status == 200 and first.headers["x-venue-count"] == str(
        db_counts(server.db)["venues"])
    assert len(first.body()) >= 9 * db_counts(server.db)["venues"]
    again = page.request.get(server.url + "/wall-data/venues.bin",
                             headers={"If-None-Match": first.headers["etag"]})
    assert again.status == 304  # positions are sent once
    bad = page.request.get(server.url + "/wall-data/numbers.bin?since=yesterday")
    assert bad.status == 400 and "since" in bad.text()
    bad = page.request.get(server.url + "/wall-data/numbers.bin?day=23.11.2026")
    assert bad.status == 400 and "YYYY-MM-DD" in bad.text()


def test_wall_data_routes_need_a_login(server):

    body = json.dumps({"output": "x", "inputs": []}).encode()
    request = urllib.request.Request(server.url + "/_dash-update-component", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("an anonymous callback request was answered")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
        assert "login" in exc.read().decode()


def test_wall_planner_sees_aggregates(page, server):
    open_wall(page, server, "plan")
    assert number(page.inner_text(KPI % "flagged")) == db_counts(server.db)["flagged"]
    page.click("label:has-text('每万人重点人员')")
    page.wait_for_function("document.querySelector('#wall-legend')?.innerText.includes('每万人')")
    assert "本辖区" not in page.inner_text("#wall-ranking")  # no home district for a planner
    assert "仅可查看汇总" in page.inner_text("#wall-ticker")  # no person-level rows
    assert page.locator("label:has-text('场所按红黄码')").count() == 0
    card = page.request.get(server.url + "/wall-data/venue/0").json()
    assert card["red"] is None and card["scans"] >= 0


def test_login_guard_has_no_lookalike_holes(server):

    for path in ("/loginx", "/healthzz", "/assets-x", "/"):
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(server.url + path, timeout=5)
            raise AssertionError(f"{path} answered without a login")
        except urllib.error.HTTPError as exc:
            assert exc.code == 302 and "/login?next=" in exc.headers["Location"], path


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_wall_without_a_city_says_what_to_do(page, empty_server):
    page.goto(empty_server + "/login")
    page.fill("#username", "cmd")
    page.fill("#password", PASSWORDS["cmd"])
    page.click("button[type=submit]")
    page.wait_for_selector(".wall-empty")
    assert "placecode demo" in page.inner_text(".wall-empty")
    assert page.locator(KPI % "scans_today").count() == 0  # no made-up zeros


def test_login_language_choice_carries_to_the_wall(page, server):
    page.goto(server.url + "/")  # -> /login?next=/
    page.click("text=English")
    assert "Log in" in page.inner_text("button[type=submit]")
    assert "next=" in page.url  # the language link keeps where the user was going
    page.fill("#username", "cmd")
    page.fill("#password", PASSWORDS["cmd"])
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelector('#wall-title')?.innerText.includes('Weihai')")
    page.click("#shell-lang-zh")  # and the switch on the wall is remembered the same way
    page.wait_for_function("document.querySelector('#wall-title')?.innerText.includes('威海')")
    page.goto(server.url + "/logout")  # a link asks first; the button logs out (POST, CSRF)
    page.click("#logout-confirm")
    page.wait_for_url("**/login")
    assert "登录" in page.inner_text("button[type=submit]")
