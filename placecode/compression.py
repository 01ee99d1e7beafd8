"""Responses compressed on the way out (flask-compress): Brotli or gzip, whichever the browser
takes. A cold load of the trace page was 13.9 MB over the wire, most of it plotly, deck.gl and
AG Grid as plain JavaScript.

Static files (Dash's component suites, our assets) are compressed once per process and kept:
their URLs carry a version, and they do not change while the server runs. Everything else
(callback answers, pages) is compressed per response and never cached: its body differs per
request. Responses that come compressed already (the wall's binary venue layer) pass as they are.
"""

from __future__ import annotations

import threading

from flask import Flask, Request, request
from flask_compress import Compress

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
             "application/json", "image/svg+xml", "text/plain", "text/csv"]
CACHE_LIMIT = 64 * 2**20  # compressed static files of one process (~10 MB in practice)


def cache_key(request: Request) -> str:
    """A key only for a static file; every other response shares one key the cache ignores."""
    if request.method == "GET" and request.path.startswith(STATIC_PREFIXES):
        return "static:" + request.full_path
    return "dynamic"


class StaticCache:
    """The compressed bodies of static files, in memory, up to CACHE_LIMIT bytes."""

    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return self._bodies.get(key) if ";static:" in key else None

    def set(self, key: str, value: bytes) -> None:
        if ";static:" not in key or self._size + len(value) > CACHE_LIMIT:
            return
        with self._lock:
            if key not in self._bodies:
                self._bodies[key] = value
                self._size += len(value)


def init_compression(server: Flask) -> None:
    server.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=5, COMPRESS_LEVEL=6,
        COMPRESS_MIMETYPES=MIMETYPES, COMPRESS_MIN_SIZE=1024, COMPRESS_STREAMS=False,
        COMPRESS_CACHE_KEY=cache_key, COMPRESS_CACHE_BACKEND=StaticCache)
    Compress(server)

    @server.after_request  # runs before Compress's hook (Flask runs them last-registered first)
    def _buffer_static(response):
        """Our assets come as a file stream (send_from_directory), which flask-compress would
        pass uncompressed: read them into memory so they are compressed, and cached, too."""
        if (cache_key(request) != "dynamic" and response.status_code == 200
                and response.is_streamed and response.mimetype in MIMETYPES):
            response.direct_passthrough = False
            response.set_data(response.get_data())
        return response
