"""/economy in headless Chromium as a planner: the numbers equal raw scan counts where shown,
the download holds the page's numbers, the map colours every area, and a planner replaying a
commander's person-level callbacks gets no person."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import func, select, text

from placecode.db import schema as t
from placecode.economy.rollups import recount_day
from tests.browser.conftest import artifact, dash_post, login
from tests.browser.test_venues import flagged_venue

K = 10  # PLACECODE_MIN_CELL_PERSONS's default, which the test server uses


def raw_cells(db) -> pd.DataFrame:
    """Scans and distinct persons per industry × district × day, straight from `scans`."""
    day = "date(s.ts)" if db.backend == "sqlite" else "s.ts::date"
    with db.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(text(
            f"SELECT v.kind, v.district_id, {day}, count(*), count(DISTINCT s.person_id) "
            "FROM scans s JOIN venues v ON v.id = s.venue_id GROUP BY 1, 2, 3")).all(),
            columns=["industry", "district", "day", "raw", "persons"])
    frame["day"] = frame["day"].astype(str)
    return frame


def recount_all(db) -> None:
    """Count persons now (serve does it every few minutes): other tests scanned live."""
    with db.engine.connect() as conn:
        days = conn.execute(select(t.rollup_industry_district_day.c.day).distinct()).scalars()
    for day in list(days):
        recount_day(db.engine, day)


def number(text_: str) -> int:
    return int(text_.replace(",", ""))


def open_economy(page, server, user="plan", lang=None):
    login(page, server, user, lang=lang)
    page.goto(server.url + "/economy")
    page.wait_for_selector("#economy-kpi-total")
    page.wait_for_function("window.placecodeMaps?.state('economy-map')?.areas > 0",
                           timeout=30_000)


def test_economy_totals_equal_raw_counts_of_the_days_shown(page, server):
    recount_all(server.db)
    open_economy(page, server)
    raw = raw_cells(server.db)
    # a day shows when one of its industry × district cells has k persons (a lower bound)
    days = raw.groupby("day").agg(raw=("raw", "sum"), persons=("persons", "max"))
    expected = int(days.loc[days["persons"] >= K, "raw"].sum())
    assert number(page.inner_text("#economy-kpi-total")) == expected
    assert page.locator("#economy-trend .main-svg").count() > 0
    share = page.inner_text("#economy-share")
    assert "商户" in share and "%" in share
    page.wait_for_timeout(800)
    page.screenshot(path=artifact("economy-1920x1080-zh.png"), full_page=True)


def test_economy_download_holds_the_page_numbers(page, server):
    recount_all(server.db)
    open_economy(page, server)
    with page.expect_download() as info:
        page.click("#economy-csv")
    got = pd.read_csv(info.value.path(), dtype={"day": str})
    assert list(got.columns) == ["industry", "district", "day", "scans", "suppressed"]
    both = got.merge(raw_cells(server.db), on=["industry", "district", "day"])
    assert len(both) == len(got) > 0
    shown = both[~both["suppressed"]]
    assert (shown["scans"] == shown["raw"]).all()
    assert both.loc[both["persons"] < K, "suppressed"].all()
    assert both.loc[both["suppressed"], "scans"].isna().all()
    with server.db.engine.connect() as conn:
        audit = conn.execute(select(t.audit_log.c.username, t.audit_log.c.action)
                             .order_by(t.audit_log.c.id.desc()).limit(1)).one()
    assert tuple(audit) == ("plan", "export_foot_traffic")


def test_economy_map_colours_every_district_then_its_subdistricts(page, server):
    open_economy(page, server, lang="en")
    with server.db.engine.connect() as conn:
        n_districts = conn.execute(select(func.count()).select_from(t.districts)).scalar()
        n_sub = conn.execute(select(func.count()).select_from(t.subdistricts)
                             .where(t.subdistricts.c.district_id == 371002)).scalar()
    state = page.evaluate("window.placecodeMaps.state('economy-map')")
    assert (state["areas"], state["filled"], state["areasOf"]) == (
        n_districts, n_districts, "city")
    assert "Foot traffic by industry" in page.inner_text("#economy-title")
    page.click("#economy-district")
    page.get_by_role("option", name="Huancui").click()
    page.wait_for_function("window.placecodeMaps.state('economy-map').areasOf === 371002",
                           timeout=20_000)
    state = page.evaluate("window.placecodeMaps.state('economy-map')")
    assert (state["areas"], state["filled"]) == (n_sub, n_sub)
    page.wait_for_function("document.querySelector('#economy-areas').innerText"
                           ".includes('Sub-district')")
    page.wait_for_timeout(800)
    page.screenshot(path=artifact("economy-district-1920x1080-en.png"), full_page=True)


def test_field_staff_is_refused_the_economy(page, server):
    login(page, server, "field", lang="en")
    page.goto(server.url + "/economy")
    page.wait_for_selector("#page-refused")
    assert "no access" in page.inner_text("#page-refused")
    assert page.locator("#economy-kpi-total").count() == 0


def test_a_planner_replaying_person_callbacks_gets_no_person(browser, page, server):
    """Through the callbacks, not the layout: the venue page's person list as a commander
    sees it, then the same request sent with a planner's session."""
    code = flagged_venue(server.db, 371002)
    bodies = []
    page.on("request", lambda r: bodies.append(r.post_data) if r.method == "POST" and (
        "_dash-update-component" in r.url and "venue-grid.rowData" in (r.post_data or ""))
        else None)
    login(page, server, "cmd")
    page.goto(server.url + f"/venue/{code}")
    page.wait_for_selector("#venue-grid .ag-row")
    assert bodies, "the commander's page asked for its person list"
    with server.db.engine.connect() as conn:
        keys = set(conn.execute(select(t.persons.c.person_key).join(
            t.scans, t.scans.c.person_id == t.persons.c.id).join(
            t.venues, t.venues.c.id == t.scans.c.venue_id).where(
            t.venues.c.code == code)).scalars())
    commander = dash_post(page, server, bodies[-1])
    assert any(k[-4:] in commander.text() for k in keys)  # masked keys end like the real ones

    planner = browser.new_context()
    try:
        other = planner.new_page()
        login(other, server, "plan")
        response = dash_post(other, server, bodies[-1])
        assert response.ok
        body = json.dumps(response.json())
        rows = response.json()["response"]["venue-grid"]["rowData"]
        assert rows == [] and not any(k[-4:] in body for k in keys)
    finally:
        planner.close()
