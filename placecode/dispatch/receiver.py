"""A webhook receiver for the demo and the tests: it accepts alert pushes and SMS (standing in
for an SMS gateway: `{"to", "text", "id"}`), answers each `Idempotency-Key` once (a repeat is
acknowledged but not counted again), and lists what it got.

`placecode receiver --port 8061` runs it; a district HQ, a community or an SMS operator would run
their own system.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, echo: bool = False):
        super().__init__((host, port), _Handler)
        self.received: dict[str, dict] = {}  # idempotency key -> alert
        self.requests = 0
        self.echo = echo
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        key = self.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        except ValueError:
            return self._answer(400, {"error": "body is not JSON"})
        if not key:
            return self._answer(400, {"error": "Idempotency-Key header missing"})
        with self.server.lock:
            self.server.requests += 1
            duplicate = key in self.server.received
            if not duplicate:
                self.server.received[key] = body | {"path": self.path}
        if self.server.echo and not duplicate and "to" in body:
            to = str(body["to"])
            print(f"{self.path}  SMS to {to[:3]}****{to[-4:]}  {body.get('text', '')}",
                  flush=True)
        elif self.server.echo and not duplicate:
            venue = body.get("venue", {})
            print(f"{self.path}  alert {body.get('alert_id')}  {body.get('ts')}  "
                  f"{venue.get('name', '')} ({venue.get('code', '')})  "
                  f"{','.join(r['rule'] for r in body.get('reasons', []))}", flush=True)
        self._answer(200, {"status": "duplicate" if duplicate else "received"})

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            self._answer(200, {"requests": self.server.requests,
                               "received": list(self.server.received.values())})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args) -> None:  # quiet: the echo line says what matters
        pass
