"""The app shell built in-process: WSGI entry, login guard, locally served assets only."""

from __future__ import annotations

import re

import dash
import pytest


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACECODE_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("PLACECODE_DATABASE_URL", raising=False)
    import app

    yield app.wsgi().test_client()
    dash._pages.PAGE_REGISTRY.clear()  # the next app-building test starts clean


def test_app_wsgi_serves_health_and_guards_pages(client):
    assert client.get("/healthz").json == {"status": "ok"}
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_app_login_page_links_only_local_files(client):
    html = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert urls and all(u.startswith(("/", "?")) for u in urls), urls
    for css in (u for u in urls if u.endswith(".css")):
        assert client.get(css).status_code == 200, css  # vendored at install, served here


def test_access_log_leaves_out_answered_scans_and_keeps_the_rest():
    import logging

    from placecode.auth.guard import RoutineRequests

    def kept(line: str, code) -> bool:
        record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s %s',
                                   (line, code, "-"), None)
        return RoutineRequests().filter(record)

    assert not kept("POST /api/v1/scans HTTP/1.1", "200")
    assert not kept("POST /s/371002S000001/scan?lang=zh HTTP/1.1", 200)
    assert kept("POST /api/v1/scans HTTP/1.1", "503")  # trouble stays visible
    assert kept("POST /api/v1/feeds/tests HTTP/1.1", "200")
    assert kept("GET /s/371002S000001 HTTP/1.1", "200")


def test_app_compresses_static_files_once_and_every_answer_by_itself(client):
    import brotli

    css = "/assets/vendor/bootstrap/bootstrap.min.css"
    plain = client.get(css).get_data()
    packed = client.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.get_data()) == plain
    assert len(packed.get_data()) < len(plain) / 4  # what a browser downloads
    again = client.get(css, headers={"Accept-Encoding": "br"})
    assert again.get_data() == packed.get_data()  # from the cache, the same bytes
    # dynamic answers are compressed one by one, never served from that cache
    pages = {lang: client.get(f"/login?lang={lang}", headers={"Accept-Encoding": "br"})
             for lang in ("zh", "en")}
    assert all(r.headers.get("Content-Encoding") == "br" for r in pages.values())
    text = {k: brotli.decompress(r.get_data()).decode() for k, r in pages.items()}
    assert "用户名" in text["zh"] and "Username" in text["en"] and "用户名" not in text["en"]
