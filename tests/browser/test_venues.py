"""The venue search and a venue's page in headless Chromium: search narrows grid, count and map;
a row opens the venue; unmasking needs a reason and writes the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from placecode.clock import city_now
from placecode.db import schema as t
from queries.wall import shown_moment
from tests.browser.conftest import artifact, login

MAP_STATE = "(id) => window.placecodeMaps && window.placecodeMaps.state(id)"


def number(page, selector: str) -> int:
    return int(page.inner_text(selector).replace(",", "").strip())


def map_points(page, target: str, expected: int | None = None, timeout: int = 30_000) -> int:
    """Wait until the desk map drew (and, when given, holds `expected` points)."""
    page.wait_for_function(
        "([id, n]) => { const s = window.placecodeMaps && window.placecodeMaps.state(id);"
        " return s && s.frames > 0 && !s.error && (n === null || s.points === n); }",
        arg=[target, expected], timeout=timeout)
    return page.evaluate(MAP_STATE, target)["points"]


def venue_count(db, *where) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.venues).where(*where)).scalar()


def shown_day(db):
    return shown_moment(db.engine, city_now())[1].date()


def flagged_venue(db, district: int) -> str:
    """A venue of `district` with red or yellow scans on the day the pages show (the demo's
    last day, or today once another test scanned live)."""
    start = datetime.combine(shown_day(db), datetime.min.time())
    with db.engine.connect() as conn:
        return conn.execute(
            select(t.venues.c.code).join(t.scans, t.scans.c.venue_id == t.venues.c.id)
            .where(t.scans.c.ts >= start, t.scans.c.ts < start + timedelta(days=1),
                   t.scans.c.verdict.in_(("red", "yellow")), t.venues.c.district_id == district)
            .group_by(t.venues.c.code).order_by(func.count().desc(), t.venues.c.code)
            .limit(1)).scalar()


def test_venues_search_narrows_grid_count_and_map(page, server):
    login(page, server, "cmd")
    page.goto(server.url + "/venues")
    page.wait_for_selector("#venues-grid .ag-row")
    total = venue_count(server.db)
    page.wait_for_function(f"document.querySelector('#venues-count').innerText.replace(/,/g, '')"
                           f" === '{total}'")
    assert map_points(page, "venues-map") == min(total, 5000)
    page.fill("#venues-name", "超市")
    page.press("#venues-name", "Enter")
    markets = venue_count(server.db, t.venues.c.name.like("%超市%"))
    assert 0 < markets < total
    page.wait_for_function(f"document.querySelector('#venues-count').innerText.replace(/,/g, '')"
                           f" === '{markets}'")
    assert map_points(page, "venues-map", markets) == markets
    page.wait_for_function("() => [...document.querySelectorAll('#venues-grid .ag-row')]"
                           ".every(r => r.innerText.includes('超市'))")
    assert str(markets) in page.inner_text("#venues-map-note")
    page.screenshot(path=artifact("venues-1920x1080-zh.png"))
    first = page.locator("#venues-grid .ag-row[row-index='0']")
    code = first.get_attribute("row-id")
    first.locator("[col-id='name']").click()
    page.wait_for_url(f"**/venue/{code}")
    page.wait_for_selector("#venue-name:not(:empty)")
    assert "超市" in page.inner_text("#venue-name")


def test_venues_district_commander_sees_own_district_only(page, server):
    login(page, server, "huancui", lang="en")
    page.goto(server.url + "/venues")
    page.wait_for_selector("#venues-grid .ag-row")
    own = venue_count(server.db, t.venues.c.district_id == 371002)
    page.wait_for_function(f"document.querySelector('#venues-count').innerText.replace(/,/g, '')"
                           f" === '{own}'")
    page.click("#venues-kind")
    page.get_by_role("option", name="Mall").click()
    malls = venue_count(server.db, t.venues.c.district_id == 371002, t.venues.c.kind == "mall")
    page.wait_for_function(f"document.querySelector('#venues-count').innerText.replace(/,/g, '')"
                           f" === '{malls}'")
    assert map_points(page, "venues-map", malls) == malls
    page.screenshot(path=artifact("venues-1920x1080-en.png"))
    page.click("#shell-lang-zh")  # the grid asks again, in Chinese
    page.wait_for_selector("#venues-grid .ag-row:has-text('商场')")
    with server.db.engine.connect() as conn:
        other = conn.execute(select(func.min(t.venues.c.code))
                             .where(t.venues.c.district_id == 371003)).scalar()
    page.wait_for_function("document.cookie.includes('placecode_lang=zh')")  # remembered
    page.goto(server.url + f"/venue/{other}")
    page.wait_for_selector(".venue-error")
    assert "不在本辖区" in page.inner_text(".venue-error")  # the language chosen above


def test_venue_unmask_needs_a_reason_and_is_audited(page, server):
    code = flagged_venue(server.db, 371002)
    login(page, server, "cmd")
    page.goto(server.url + f"/venue/{code}")
    page.wait_for_selector("#venue-grid .ag-row")
    assert map_points(page, "venue-map") >= 1
    scans = number(page, """[id='{"index":"scans","type":"venue-kpi"}']""")
    assert scans > 0
    page.locator("#venue-grid .ag-row[row-index='0'] [col-id='reason']").click()
    masked = page.inner_text("#venue-grid .ag-row[row-index='0'] [col-id='person']")
    assert masked.startswith("••••")
    page.click("#venue-unmask")  # no reason
    page.wait_for_selector("#venue-unmask-error")
    assert "至少4个字" in page.inner_text("#venue-unmask-error")

    def audits():
        with server.db.engine.connect() as conn:
            return conn.execute(select(t.audit_log.c.username, t.audit_log.c.subject,
                                       t.audit_log.c.reason)
                                .where(t.audit_log.c.action == "unmask")).all()

    before = audits()
    page.fill("#venue-reason", "核查密切接触者")
    page.click("#venue-unmask")
    page.wait_for_selector("#venue-unmask-done")
    key = page.inner_text("#venue-unmask-done code")
    assert len(key) == 32 and key.endswith(masked[-4:])
    link = page.locator(f"#venue-grid a[href='/trace?person={key}']")
    link.wait_for()
    assert link.inner_text() == "追踪"
    assert audits() == [*before, ("cmd", f"venue {code} person {key}", "核查密切接触者")]
    page.screenshot(path=artifact("venue-1920x1080-zh.png"))


def test_venue_planner_sees_aggregates_without_persons(page, server):
    code = flagged_venue(server.db, 371002)
    login(page, server, "plan", lang="en")
    page.goto(server.url + f"/venue/{code}")
    page.wait_for_selector("#venue-name:not(:empty)")
    assert "aggregates only" in page.inner_text("#venue-flagged-note")
    assert page.locator("#venue-unmask").is_disabled()
    assert page.locator("#venue-grid .ag-row").count() == 0
    red = page.inner_text("""[id='{"index":"red","type":"venue-kpi"}']""")
    assert red == "–"
    page.screenshot(path=artifact("venue-planner-1920x1080-en.png"))


def test_venue_unknown_code_says_so(page, server):
    login(page, server, "cmd", lang="en")
    page.goto(server.url + "/venue/371002P999999")
    page.wait_for_selector(".venue-error")
    text = page.inner_text(".venue-error")
    assert "Venue not found" in text and "371002P999999" in text
    assert "Traceback" not in page.content()
