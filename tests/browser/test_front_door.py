"""The front door in a real Chromium: a phone (390×844) follows a poster's QR code, registers
once and is checked green, yellow, then red; an attended gate checks cards with temperature and
mask; a venue operator applies on a phone and the district approves on the desk."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import func, select

from placecode.auth.tokens import issue_token
from placecode.db import schema as t
from placecode.pseudonym import id_check_char, person_key
from tests.browser.conftest import LOCAL, artifact, login
from tests.conftest import SECRET

pytestmark = pytest.mark.browser
VENUE = "371002S000001"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}


@pytest.fixture
def phone(browser):
    """A phone's browser; any request leaving localhost fails the test."""
    context = browser.new_context(**PHONE)
    external: list[str] = []
    context.route("**/*", lambda route: route.continue_() if LOCAL.match(route.request.url)
                  else (external.append(route.request.url), route.abort()))
    yield context
    context.close()
    assert external == [], f"requests left localhost: {external}"


def fresh_id() -> str:
    first = f"37010219{uuid.uuid4().int % 10**9:09d}"
    return first + id_check_char(first)


def qr_of(pdf: bytes, save_as: str | None = None) -> list[str]:
    """What a QR decoder reads on the poster, rendered at 144 dpi (saved as an artifact)."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=2).to_pil()
        if save_as:
            image.save(artifact(save_as))
        return [r.text for r in zxingcpp.read_barcodes(image)]
    finally:
        doc.close()


def feed(page, server, kind: str, rows: list[dict]) -> None:
    with server.db.engine.begin() as conn:
        token = issue_token(conn, "feed", "browser test", None, datetime.now())[1]
    answer = page.request.post(f"{server.url}/api/v1/feeds/{kind}", data=rows,
                               headers={"Authorization": f"Bearer {token}"})
    assert answer.ok and answer.json()["valid"] == len(rows), answer.text()


def verdict(tab, colour: str, words: str, name: str) -> str:
    tab.wait_for_selector(f"#verdict.verdict-{colour}", timeout=15000)
    text = tab.inner_text("#verdict")
    assert words in text
    tab.screenshot(path=str(artifact(name)))
    return text


def test_a_phone_follows_the_poster_registers_once_and_is_stopped_when_managed(
        server, page, phone):
    login(page, server, "duty")
    poster = page.request.get(f"{server.url}/posters/{VENUE}.pdf")
    assert poster.ok and poster.headers["content-type"] == "application/pdf"
    assert qr_of(poster.body(), "poster.png") == [f"{server.url}/s/{VENUE}"]
    url = qr_of(poster.body())[0]

    tab = phone.new_page()
    tab.goto(url)
    tab.wait_for_selector("#register:not([hidden])")
    assert "环翠超市0001号" in tab.inner_text("#venue-name")
    tab.screenshot(path=str(artifact("phone-register.png")))
    who = fresh_id()
    tab.fill("#id-number", who[:17] + ("1" if who[17] != "1" else "2"))  # a wrong check digit
    tab.click("#register-submit")
    tab.wait_for_selector("#register-error:not([hidden])")
    assert "校验位" in tab.inner_text("#register-error")
    tab.fill("#id-number", who)
    tab.fill("#phone", "13912345678")
    tab.click("#register-submit")
    verdict(tab, "green", "核验通过", "phone-green.png")
    assert tab.evaluate("localStorage.getItem('placecode.phone.token')")
    tab.reload()  # a reload shows this visit's verdict again: it is not a second scan
    verdict(tab, "green", "绿码", "phone-green.png")

    now = datetime.now().astimezone().isoformat(timespec="seconds")
    feed(page, server, "health_codes", [{"person": who, "colour": "yellow", "since": now}])
    second = phone.new_page()  # the next scan: the poster opened again, no form this time
    second.goto(url)
    text = verdict(second, "yellow", "黄码", "phone-yellow.png")
    assert "健康码黄码" in text
    assert second.is_hidden("#register")

    before = alerts(server)
    feed(page, server, "arrivals", [{"person": who, "arrived_at": now, "origin": "上海",
                                     "key_area": "true", "stay_kind": "home",
                                     "monitoring_days": "7"}])
    third = phone.new_page()
    third.goto(url)
    text = verdict(third, "red", "禁止进入公共场所", "phone-red.png")
    assert "居家健康监测期内" in text
    assert alerts(server) == before + 1  # the red scan raised its alert like any device's
    with server.db.engine.connect() as conn:
        scans = conn.execute(select(t.scans.c.verdict, t.scans.c.credential).join(
            t.persons, t.persons.c.id == t.scans.c.person_id).where(
            t.persons.c.person_key == person_key(who, SECRET)).order_by(t.scans.c.ts)).all()
    assert [tuple(s) for s in scans] == [("green", "app"), ("yellow", "app"), ("red", "app")]

    third.goto(f"{server.url}/s/NOSUCHCODE1")
    assert "未登记" in third.inner_text("#unknown-venue")


def alerts(server) -> int:
    with server.db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.alerts)).scalar()


def test_the_sentinel_checks_card_temperature_and_mask(server, browser):
    with server.db.engine.begin() as conn:
        token = issue_token(conn, "device", "gate 1", 371002, datetime.now())[1]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    try:
        gate = context.new_page()
        gate.goto(f"{server.url}/sentinel/{VENUE}")
        gate.wait_for_selector("#device:not([hidden])")
        gate.fill("#device-token", "pc_device_wrong")
        gate.click("#device-save")
        gate.fill("#person", fresh_id())
        gate.click("#check-submit")
        gate.wait_for_selector("#device-error:not([hidden])")  # refused: asked again
        assert "无效或已撤销" in gate.inner_text("#device-error")
        gate.fill("#device-token", token)
        gate.click("#device-save")
        feverish = fresh_id()
        gate.fill("#person", feverish)
        gate.fill("#temperature", "38.6")
        gate.click("#check-submit")
        assert "体温异常" in verdict(gate, "red", "红码", "sentinel-red.png")
        gate.click("#next")
        gate.check("input[value=social_security_card]")
        gate.fill("#person", fresh_id())
        gate.fill("#temperature", "36.4")
        gate.uncheck("#mask")
        gate.click("#check-submit")
        assert "请佩戴口罩" in verdict(gate, "yellow", "黄码", "sentinel-yellow.png")
        gate.click("#next")
        gate.fill("#person", fresh_id())
        gate.fill("#temperature", "hot")
        gate.click("#check-submit")
        assert "30–45" in gate.inner_text("#check-error")
        gate.screenshot(path=str(artifact("sentinel-form.png")))
    finally:
        context.close()
    with server.db.engine.connect() as conn:
        row = conn.execute(select(t.scans.c.credential, t.scans.c.temperature_c, t.scans.c.mask)
                           .join(t.persons, t.persons.c.id == t.scans.c.person_id)
                           .where(t.persons.c.person_key == person_key(feverish, SECRET))).one()
    assert tuple(row) == ("id_card", 38.6, True)


def test_an_operator_applies_on_a_phone_and_the_district_issues_the_code(server, page, phone):
    tab = phone.new_page()
    tab.goto(f"{server.url}/apply")
    tab.click("#apply-submit")
    assert "请填写场所名称" in tab.inner_text("#apply-error")
    name = f"海鲜小馆{uuid.uuid4().int % 10000:04d}号"  # no Latin letters: the zh sweep reads it
    tab.fill("#name", name)
    tab.select_option("#kind", "restaurant")
    tab.fill("#address", "环翠区海滨北路 66 号")
    # a click on the map inside 环翠区 (at its label, far from any coast or border) fills the
    # position, and the district it lies in is the one that reviews it and issues the code
    with server.db.engine.connect() as conn:
        lon, lat = conn.execute(select(t.districts.c.label_lon, t.districts.c.label_lat)
                                .where(t.districts.c.id == 371002)).one()
    tab.evaluate("document.fonts.ready")
    spot = tab.evaluate("""([lon, lat]) => { const m = document.getElementById('apply-map');
        const d = m.dataset, box = m.viewBox.baseVal, r = m.getBoundingClientRect();
        return {x: (lon - d.x0) * d.squash * d.scale / box.width * r.width,
                y: (d.y1 - lat) * d.scale / box.height * r.height}; }""", [lon, lat])
    tab.locator("#apply-map").click(position=spot)
    assert abs(float(tab.input_value("#lon")) - lon) < 0.3  # within a few pixels' worth
    assert abs(float(tab.input_value("#lat")) - lat) < 0.3
    tab.fill("#contact_name", "李女士")
    tab.fill("#contact_phone", "0631 5201234")
    tab.screenshot(path=str(artifact("apply-form.png")), full_page=True)
    tab.click("#apply-submit")
    tab.wait_for_selector("#application-state")
    assert "审核中" in tab.inner_text("#application-state")
    receipt = tab.url

    login(page, server, "duty")
    page.goto(f"{server.url}/applications")
    row = page.locator("#reg-grid .ag-row", has_text=name)
    row.wait_for()
    page.screenshot(path=str(artifact("applications.png")))
    row.click()
    page.click("#reg-approve")
    page.wait_for_selector(".reg-done")
    code = re.search(r"371002R\d{6}", page.inner_text(".reg-done")).group(0)
    page.select_option("#reg-state", "approved")
    page.locator("#reg-grid .ag-row", has_text=code).wait_for()  # listed with its code

    tab.goto(receipt)
    assert code in tab.inner_text("#application-code")
    tab.screenshot(path=str(artifact("apply-approved.png")))
    pdf = tab.request.get(tab.url.split("?")[0] + "/poster.pdf")
    assert qr_of(pdf.body()) == [f"{server.url}/s/{code}"]
    tab.goto(f"{server.url}/apply/1-000000000000")  # a guessed receipt shows nothing
    assert tab.title() != name and name not in tab.content()
