"""The testing page in headless Chromium: communities furthest behind first, a community's
buildings on the map, a batch plan's messages and the notified mark, a pass used in two places,
and a planner without person lists."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from placecode.auth.tokens import issue_token
from placecode.clock import city_now
from placecode.db import schema as t
from placecode.testing.checks import distance_km
from queries.wall import shown_moment
from tests.browser.conftest import artifact, login
from tests.browser.test_venues import map_points

HUANCUI = 371002


def shown_now(db):
    return shown_moment(db.engine, city_now())[1]


def percents(page, grid: str) -> list[float]:
    cells = page.locator(f"#{grid} .ag-center-cols-container .ag-row [col-id='pct_48h']")
    rows = sorted((int(c.locator("xpath=..").get_attribute("row-index")), c.inner_text())
                   for c in cells.all())
    return [float(text.rstrip("%")) for _, text in rows if text.strip() not in ("", "–")]


def grid_rows(page, grid: str) -> int:
    """Rows the grid holds (it draws only those in view)."""
    return page.evaluate("(id) => window.dash_ag_grid.getApiAsync(id)"
                         ".then(api => api.getDisplayedRowCount())", grid)


def grid_values(page, grid: str, field: str) -> list:
    return page.evaluate("([id, field]) => window.dash_ag_grid.getApiAsync(id).then(api => {"
                         " const out = []; api.forEachNode(n => out.push(n.data[field]));"
                         " return out; })", [grid, field])


def wait_rows(page, grid: str, n: int, timeout_s: float = 20) -> None:
    deadline = time.time() + timeout_s
    while grid_rows(page, grid) != n:
        assert time.time() < deadline, f"{grid} holds {grid_rows(page, grid)} rows, not {n}"
        page.wait_for_timeout(200)


def test_testing_progress_plan_and_notify(page, server):
    login(page, server, "huancui")
    page.goto(server.url + "/testing")
    page.wait_for_selector("#testing-communities .ag-row")
    shown = percents(page, "testing-communities")
    assert shown and shown == sorted(shown)  # furthest behind first
    first = page.locator("#testing-communities .ag-row[row-index='0']")
    community = int(first.get_attribute("row-id"))
    with server.db.engine.connect() as conn:
        buildings = conn.execute(select(func.count()).select_from(t.buildings)
                                 .where(t.buildings.c.community_id == community)).scalar()
    first.locator("[col-id='community']").click()
    page.wait_for_selector("#testing-buildings .ag-row")
    assert map_points(page, "testing-map", buildings) == buildings
    assert grid_rows(page, "testing-buildings") == buildings
    residents = page.inner_text("""[id='{"index":"residents","type":"testing-kpi"}']""")
    assert int(residents.replace(",", "")) > 0
    page.screenshot(path=artifact("testing-progress-1920x1080-zh.png"))

    page.click("#testing-tabs a:has-text('分批通知')")
    page.fill("#testing-plan-start", shown_now(server.db).strftime("%Y-%m-%dT08:00"))
    page.fill("#testing-plan-batches", "2")
    page.click("#testing-plan-preview")
    page.wait_for_selector("#testing-plan-messages .ag-row")
    message = page.inner_text("#testing-plan-messages .ag-row[row-index='0'] [col-id='message']")
    assert "居村微平台" in message and "分批下楼做核酸" in message and "08:00–" in message
    page.click("#testing-plan-save")
    page.wait_for_selector(".testing-plan-done")
    # two batches, unless the community is too small to split (rows out of view aren't drawn)
    planned = set(grid_values(page, "testing-plan-messages", "batch"))
    assert len(planned) == min(2, buildings)
    wait_rows(page, "testing-batches", len(planned))
    page.click("#testing-plan-save")  # the same round again: refused
    page.wait_for_selector(".testing-plan-error")
    assert "已有" in page.inner_text(".testing-plan-error")  # the round, said in Chinese
    page.locator("#testing-batches .ag-row[row-index='0'] [col-id='round']").click()
    page.click("#testing-notify")
    page.wait_for_selector(".testing-notify-done")
    notified = page.locator("#testing-batches .ag-row[row-index='0'] [col-id='notified']")
    page.wait_for_function("() => document.querySelector(\"#testing-batches .ag-row[row-index='0']"
                           " [col-id='notified']\").innerText.includes('huancui')")
    assert "huancui" in notified.inner_text()
    page.locator("#testing-batches .ag-row[row-index='0'] [col-id='round']").click()
    page.click("#testing-notify")
    page.wait_for_selector(".testing-notify-error")
    assert "已于" in page.inner_text(".testing-notify-error")  # when and by whom
    page.screenshot(path=artifact("testing-plan-1920x1080-zh.png"))


def share_a_pass_now(server) -> tuple[int, str]:
    """Scan one pass holder's code now at two fixed venues 20+ km apart, 5 minutes apart (what a
    lent pass looks like). The demo's own shared scans are on its last day, outside the 24 h the
    check looks back once other tests' live scans bring the page to today. Returns the holder's
    district and pass_id."""
    with server.db.engine.begin() as conn:
        token = issue_token(conn, "device", "shared pass test", None, datetime.now())[1]
        pid, district, pass_id = conn.execute(
            select(t.persons.c.id, t.persons.c.district_id, t.volunteer_passes.c.pass_id)
            .join(t.volunteer_passes, t.volunteer_passes.c.person_id == t.persons.c.id)
            .order_by(t.volunteer_passes.c.pass_id.desc()).limit(1)).one()
        fixed = pd.DataFrame(conn.execute(
            select(t.venues.c.code, t.venues.c.lon, t.venues.c.lat)
            .where(t.venues.c.mobile.is_(False))).all(), columns=["code", "lon", "lat"])
    km = distance_km(fixed["lon"].iloc[0], fixed["lat"].iloc[0], fixed["lon"], fixed["lat"])
    codes = [fixed["code"].iloc[0], fixed["code"].iloc[int(np.argmax(km))]]
    assert km.max() >= 20
    person = pd.read_parquet(server.db.instance / "demo-people.parquet").set_index(
        "person_id").loc[pid, "id_number"]
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    for i, (code, ago) in enumerate(zip(codes, (8, 3), strict=True)):
        ts = now - timedelta(minutes=ago)
        scan = {"scan_id": f"shared-pass-{now:%H%M%S%f}-{i}", "venue_code": code,
                "person": person, "ts": ts.isoformat(timespec="seconds")}
        request = urllib.request.Request(server.url + "/api/v1/scans", json.dumps(scan).encode(),
                                         {"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
    return district, pass_id


def test_testing_passes_list_a_pass_used_in_two_places(page, server):
    with server.db.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.audit_log)
                              .where(t.audit_log.c.action == "view_pass_checks")).scalar()
    district, pass_id = share_a_pass_now(server)
    login(page, server, "cmd", lang="en")
    page.goto(server.url + "/testing")
    page.wait_for_selector("#testing-communities .ag-row")
    page.click("#testing-district")
    name = {371002: "Huancui", 371003: "Wendeng", 371082: "Rongcheng", 371083: "Rushan"}
    page.get_by_role("option", name=name[district]).click()
    page.click("#testing-tabs a:has-text('Volunteer passes')")
    page.wait_for_selector(f"#testing-shared .ag-row:has-text('{pass_id}')")
    row = page.locator(f"#testing-shared .ag-center-cols-container .ag-row:has-text('{pass_id}')")
    assert "••••" in row.locator("[col-id='person']").inner_text()
    assert page.locator("#testing-passes .ag-row").count() >= 1
    page.screenshot(path=artifact("testing-passes-1920x1080-en.png"))
    with server.db.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(t.audit_log)
                             .where(t.audit_log.c.action == "view_pass_checks")).scalar()
    assert after > before  # a look at persons, logged
    page.click("#testing-tabs a:has-text('Sampling sites')")
    page.wait_for_selector("#testing-sites .ag-row")
    # the heat is the shown day's samples: the demo's last day, or a new day once other tests
    # scanned live (then nothing sampled yet)
    now = shown_now(server.db)
    with server.db.engine.connect() as conn:
        sampled = conn.execute(
            select(func.count(func.distinct(t.tests.c.site))).join(
                t.sampling_sites, t.sampling_sites.c.name == t.tests.c.site)
            .where(t.sampling_sites.c.district_id == district,
                   t.tests.c.sampled_at >= now.replace(hour=0, minute=0, second=0),
                   t.tests.c.sampled_at <= now)).scalar()
    page.wait_for_function(f"""() => {{ const s = window.placecodeMaps &&
        window.placecodeMaps.state('testing-sites-map');
        return s && s.frames > 0 && s.points > 0 && s.heat === {sampled}; }}""")
    page.screenshot(path=artifact("testing-sites-1920x1080-en.png"))


def test_testing_planner_sees_no_person_lists(page, server):
    login(page, server, "plan", lang="en")
    page.goto(server.url + "/testing")
    page.wait_for_selector("#testing-communities .ag-row")
    assert page.inner_text("""[id='{"index":"passes","type":"testing-kpi"}']""") == "–"
    page.click("#testing-tabs a:has-text('Volunteer passes')")
    page.wait_for_selector("#testing-passes-note .testing-refused")
    assert "person-level data" in page.inner_text("#testing-passes-note")
    assert page.locator("#testing-passes .ag-row").count() == 0
    page.click("#testing-tabs a:has-text('Arrivals')")
    page.wait_for_selector("#testing-arrivals-note .testing-refused")
    assert page.locator("#testing-arrivals .ag-row").count() == 0
    page.screenshot(path=artifact("testing-planner-1920x1080-en.png"))
