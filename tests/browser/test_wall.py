"""The login and the command wall in headless Chromium, as a commander would check them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import func, select

from components.numbers import PALETTES
from placecode.db import schema as t
from tests.browser.conftest import PASSWORDS, artifact, login

KPI = '[id=\'{"index":"%s","type":"wall-kpi"}\']'


def open_wall(page, server, username: str) -> None:
    """Log in and wait until the numbers and the drawn map are both there."""
    login(page, server, username)
    page.wait_for_selector(KPI % "scans_today")
    page.wait_for_function("document.querySelectorAll('#wall-map path.js-fill').length >= 4")


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def db_counts(db) -> dict[str, int]:
    start = datetime.combine(db.now.astype("datetime64[D]").astype(object), datetime.min.time())
    in_day = (t.scans.c.ts >= start) & (t.scans.c.ts < start + timedelta(days=1))
    with db.engine.connect() as conn:
        one = lambda q: conn.execute(q).scalar_one()  # noqa: E731
        return {
            "scans_today": one(select(func.count()).select_from(t.scans).where(in_day)),
            "red_today": one(select(func.count()).select_from(t.scans)
                             .where(in_day, t.scans.c.verdict == "red")),
            "venues": one(select(func.count()).select_from(t.venues)),
            "flagged": one(select(func.count()).select_from(t.persons)
                           .where(t.persons.c.health_code.in_(["yellow", "red"]))),
        }


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


def test_wall_shows_one_shape_per_district_and_true_kpis(page, server):
    open_wall(page, server, "cmd")
    expected = db_counts(server.db)
    shown = {k: number(page.inner_text(KPI % k)) for k in expected}
    assert shown == expected
    assert shown["scans_today"] > 0
    traces = page.evaluate(
        "Array.from(document.querySelector('#wall-map .js-plotly-plot').data)"
        ".filter(t => t.fill === 'toself').map(t => t.meta.district_id)")
    assert traces == [371002, 371003, 371082, 371083]
    assert page.locator("#wall-map path.js-fill").count() == 4
    assert "环翠区" in page.inner_text("#wall-ranking")
    assert "威海市" in page.inner_text("#wall-title")
    # the test city's scans end yesterday 15:00: the wall shows that day and says so
    assert f"演示数据截至 {str(server.db.now)[:10]} 15:00" in page.inner_text("#wall-updated")
    page.wait_for_timeout(500)  # web font swap
    page.screenshot(path=artifact("wall-1920x1080-zh.png"))


def test_wall_metric_switch_recolours_by_flagged_density(page, server):
    open_wall(page, server, "cmd")
    before = page.evaluate("document.querySelector('#wall-map .js-plotly-plot').data"
                           ".filter(t => t.fill === 'toself').map(t => t.fillcolor)")
    page.click("label:has-text('每万人重点人员')")
    page.wait_for_function("document.querySelector('#wall-legend')?.innerText.includes('每万人')")
    page.wait_for_function(  # the map redraws a moment after the legend
        "palette => document.querySelector('#wall-map .js-plotly-plot').data"
        ".filter(t => t.fill === 'toself').every(t => palette.includes(t.fillcolor))",
        arg=PALETTES["flagged"])
    after = page.evaluate("document.querySelector('#wall-map .js-plotly-plot').data"
                          ".filter(t => t.fill === 'toself').map(t => t.fillcolor)")
    assert set(before) <= set(PALETTES["scans"]) and set(after) <= set(PALETTES["flagged"])
    with server.db.engine.connect() as conn:
        rows = conn.execute(select(t.districts.c.name_zh, t.districts.c.residents,
                                   func.count(t.persons.c.id))
                            .join(t.persons, (t.persons.c.district_id == t.districts.c.id)
                                  & t.persons.c.health_code.in_(["yellow", "red"]))
                            .group_by(t.districts.c.name_zh, t.districts.c.residents)).all()
    ranking = page.inner_text("#wall-ranking")
    for name, residents, flagged in rows:  # each rate as a person would compute it
        assert f"{flagged * 10_000 / residents:,.1f}" in ranking, name


def test_wall_language_switch_changes_labels(page, server):
    open_wall(page, server, "cmd")
    assert "今日扫码" in page.inner_text("#wall-kpis")
    page.click("#shell-lang-en")
    page.wait_for_function("document.querySelector('#wall-title')?.innerText.includes('Weihai')")
    assert "Scans today" in page.inner_text("#wall-kpis")
    assert "Huancui" in page.inner_text("#wall-ranking")
    page.wait_for_function("document.querySelector('#wall-map .js-plotly-plot').data"
                           ".filter(t => t.mode === 'text')[0].text.join(' ').includes('Huancui')")
    labels = page.evaluate("document.querySelector('#wall-map .js-plotly-plot').data"
                           ".filter(t => t.mode === 'text')[0].text.join(' ')")
    assert "Rongcheng" in labels and "荣成" not in labels
    page.wait_for_timeout(500)
    page.screenshot(path=artifact("wall-1920x1080-en.png"))
    page.reload()  # the choice is remembered in the browser
    page.wait_for_function("document.querySelector('#wall-title')?.innerText.includes('Weihai')")


def test_wall_district_commander_sees_own_district_highlighted(page, server):
    open_wall(page, server, "huancui")
    widths = page.evaluate("document.querySelector('#wall-map .js-plotly-plot').data"
                           ".filter(t => t.fill === 'toself')"
                           ".map(t => [t.meta.district_id, t.line.width])")
    own = dict(widths)
    assert own[371002] > max(w for d, w in own.items() if d != 371002)
    assert "本辖区" in page.inner_text("#wall-ranking")


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
    page.goto(server.url + "/logout")
    assert "登录" in page.inner_text("button[type=submit]")
