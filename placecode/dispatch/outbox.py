"""Outbox delivery: POST each pending alert to its receiver, retrying with backoff until it lands.

At-least-once on the wire, exactly once for the receiver: every request carries an
`Idempotency-Key` the receiver deduplicates on. A row is claimed before sending (its next attempt
pushed past the request timeout), so two workers never send the same row at the same moment.
A failed row waits 1, 2, 4 ... seconds, up to PLACECODE_OUTBOX_MAX_BACKOFF_SECONDS, so a receiver
back after an outage gets everything within that long. A receiver that cannot be reached (refused,
timed out) is tried once per pass: its other due rows wait with that attempt, so a hung receiver
costs one timeout, not one per row, and does not hold up the others' pushes.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, select, update

from placecode.db import schema as t
from placecode.dispatch.board import mark_notified
from placecode.dispatch.sms import wire_payload
from placecode.settings import Settings, setting_default

TIMEOUT_S = 5
MAX_BACKOFF_S = setting_default("PLACECODE_OUTBOX_MAX_BACKOFF_SECONDS")


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0  # including rows not tried because their receiver had just failed
    more: bool = False  # the pass stopped at its limit: more rows are due


def backoff(attempts: int, cap_s: float = MAX_BACKOFF_S) -> timedelta:
    return timedelta(seconds=min(cap_s, 2 ** max(0, attempts - 1)))


def configured_max_backoff() -> int:
    """PLACECODE_OUTBOX_MAX_BACKOFF_SECONDS from the environment, else its default (`serve` and
    `deliver` start delivery without passing it; no secret is needed to read it)."""
    return Settings.load(secret_key="unused").outbox_max_backoff_seconds


def post(url: str, payload: str, key: str, timeout: float = TIMEOUT_S) -> None:
    """One delivery attempt; raises with a short reason unless the receiver answers 2xx."""
    request = urllib.request.Request(url, data=payload.encode(), method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key})
    with _OPENER.open(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: a wrong URL that lands on some login page must stay pending."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl}", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirect)


def _reason(exc: Exception) -> str:
    """A short reason a duty officer can act on ('connection refused', 'HTTP 500', 'timed out')."""
    inner = getattr(exc, "reason", None) or exc
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused (receiver down?)"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(inner, TimeoutError) or "timed out" in str(inner):
        return "timed out"
    return str(getattr(inner, "strerror", None) or inner)


def deliver_due(engine: Engine, now: Callable[[], datetime], limit: int = 200,
                max_backoff_s: float | None = None, secret: str | None = None) -> Delivery:
    """Try every outbox row that is due, once; returns how many were sent and failed.

    `secret` opens the sealed phone numbers of SMS rows (default: the instance's key)."""
    o = t.outbox
    cap = configured_max_backoff() if max_backoff_s is None else max_backoff_s
    report = Delivery()
    with engine.connect() as conn:
        due = conn.execute(select(o.c.id, o.c.alert_id, o.c.url, o.c.payload,
                                  o.c.idempotency_key, o.c.attempts, o.c.next_attempt_at)
                           .where(o.c.state == "pending", o.c.next_attempt_at <= now())
                           .order_by(o.c.id).limit(limit)).all()
    report.more = len(due) == limit
    unreachable: dict[str, tuple[str, datetime]] = {}  # receiver -> (reason, next attempt)
    waiting: dict[str, list] = {}  # receiver -> its rows not tried in this pass
    for row in due:
        receiver = urllib.parse.urlsplit(row.url).netloc
        if receiver in unreachable:
            waiting.setdefault(receiver, []).append(row)
            continue
        with engine.begin() as conn:
            claimed = conn.execute(
                update(o).where(o.c.id == row.id, o.c.state == "pending",
                                o.c.next_attempt_at == row.next_attempt_at)
                .values(next_attempt_at=now() + timedelta(seconds=TIMEOUT_S * 3))).rowcount
        if not claimed:
            continue
        attempts = row.attempts + 1
        try:
            payload = row.payload
            if row.idempotency_key.startswith("sms-"):
                secret = secret or Settings.load().secret_key
                payload = wire_payload(payload, secret)
            post(row.url, payload, row.idempotency_key)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            reason = _reason(exc)
            retry_at = now() + backoff(attempts, cap)
            with engine.begin() as conn:
                conn.execute(update(o).where(o.c.id == row.id).values(
                    attempts=attempts, next_attempt_at=retry_at, last_error=str(reason)[:200]))
            report.failed += 1
            if not isinstance(exc, urllib.error.HTTPError):  # an answer is about this row only
                unreachable[receiver] = (reason, retry_at)
            continue
        with engine.begin() as conn:
            conn.execute(update(o).where(o.c.id == row.id).values(
                state="delivered", attempts=attempts, delivered_at=now(), last_error=""))
        report.sent += 1
        if row.idempotency_key.startswith("alert-"):
            mark_notified(engine, row.alert_id, now())
    for receiver, rows in waiting.items():
        reason, retry_at = unreachable[receiver]
        with engine.begin() as conn:  # unless another worker has claimed one meanwhile
            conn.execute(
                update(o).where(o.c.id == bindparam("row_id"), o.c.state == "pending",
                                o.c.next_attempt_at == bindparam("was"))
                .values(attempts=o.c.attempts + 1, next_attempt_at=retry_at,
                        last_error=f"{reason}; not tried: {receiver} just failed"[:200]),
                [{"row_id": r.id, "was": r.next_attempt_at} for r in rows])
        report.failed += len(rows)
    return report


class OutboxWorker(threading.Thread):
    """Background delivery inside `placecode serve` (or `placecode deliver`)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime], every_s: float = 1.0,
                 max_backoff_s: float | None = None, secret: str | None = None):
        super().__init__(name="outbox", daemon=True)
        self.engine, self.now, self.every_s, self.secret = engine, now, every_s, secret
        self.max_backoff_s = configured_max_backoff() if max_backoff_s is None else max_backoff_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            more = False
            try:
                more = deliver_due(self.engine, self.now, max_backoff_s=self.max_backoff_s,
                                   secret=self.secret).more
            except Exception as exc:  # keep delivering after a database hiccup
                print(f"outbox: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
            if not more:  # a backlog (a receiver back after an outage) goes out without pauses
                self.stopped.wait(self.every_s)

    def stop(self) -> None:
        self.stopped.set()
