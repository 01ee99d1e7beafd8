"""Scan ingest: validate, pseudonymise, answer with a verdict, store once, keep rollups and alerts
in the same transaction.

One `Ingestor` per process. SQLite has a single writer, so its batches go through one lock (DESIGN:
route all ingest through one writer); PostgreSQL runs them concurrently. A transaction that loses
a race (the same scan_id from two requests, a busy database) is retried from the start, so a
client never sees half a batch. The database's unique key is (scan_id, ts) (on PostgreSQL `scans`
is partitioned by day): a repeat with the same time hits it, one with another time is answered
as a conflict from what is stored; only two different scans under one scan_id racing each other
in the same instant could both be stored.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from placecode.clock import city_now
from placecode.db import schema as t
from placecode.db.partitions import ensure_scan_partitions
from placecode.dispatch.alerts import raise_alerts
from placecode.ingest.rollups import count_scans
from placecode.ingest.validate import BigNumber, DuplicateKeys, local_time, safe_echo, text_problem
from placecode.pseudonym import person_key
from placecode.rules.definitions import reason_objects
from placecode.rules.evaluate import NO_VENUE, Context, Facts, verdicts
from placecode.rules.store import RuleCache

MAX_BATCH = 1000
CREDENTIALS = ("app", "id_card", "social_security_card", "face")
FIELDS = {"scan_id", "venue_code", "person", "ts", "checkout_ts", "temperature_c", "mask",
          "credential"}
COMPARED = ("venue_id", "person_id", "ts", "checkout_ts", "temperature_c", "mask", "credential")
MAX_STAY = timedelta(days=1)  # a checkout later than this after entry is a device's wrong clock
ATTEMPTS = 4


class ItemError(ValueError):
    """One scan cannot be accepted: which field, what is wrong, and the HTTP status it means."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status = field, message, status


class Busy(RuntimeError):
    """The database stayed busy or unreachable through every retry: the client should retry."""


@dataclass
class ScanIn:
    scan_id: str
    venue_code: str
    person: str
    ts: datetime
    checkout_ts: datetime | None = None
    temperature_c: float | None = None
    mask: bool | None = None
    credential: str | None = None


def _text(obj: dict, name: str, max_len: int, required: bool = True, min_len: int = 1):
    value = obj.get(name)
    if value is None:
        if required:
            raise ItemError(name, "missing (required)")
        return None
    if not isinstance(value, str):
        raise ItemError(name, f"must be a string, not {type(value).__name__}")
    problem = text_problem(value)
    if problem:
        raise ItemError(name, problem)
    value = value.strip()
    if not min_len <= len(value) <= max_len:
        raise ItemError(name, f"must be {min_len}–{max_len} characters, not {len(value)}")
    return value


def parse_time(value: Any, name: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 with a UTC offset → naive city-local time (how the database keeps time)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ItemError(name, "must be an ISO 8601 string such as 2026-11-23T09:30:00+08:00")
    problem = text_problem(value)
    if problem:
        raise ItemError(name, problem)
    try:
        return local_time(value, tz)
    except ValueError as exc:
        raise ItemError(name, str(exc)) from None


def parse_scan(obj: Any, now: datetime, retention_days: int, tz: ZoneInfo) -> ScanIn:
    """Check one scan object; raises ItemError naming the first field that is wrong."""
    if not isinstance(obj, dict):
        raise ItemError("scan", f"each scan must be a JSON object, not {type(obj).__name__}")
    if isinstance(obj, DuplicateKeys):
        raise ItemError(safe_echo(obj.duplicate) or "scan",
                        "sent twice in this scan; send each field once")
    unknown = sorted(set(obj) - FIELDS)
    if unknown:
        raise ItemError(safe_echo(unknown[0]) or "scan",
                        f"unknown field; allowed: {', '.join(sorted(FIELDS))}")
    scan = ScanIn(
        scan_id=_text(obj, "scan_id", 64),
        venue_code=_text(obj, "venue_code", 32),
        person=_text(obj, "person", 64, min_len=4),
        ts=parse_time(obj.get("ts"), "ts", tz) if obj.get("ts") is not None
        else _text(obj, "ts", 40),
    )
    if scan.ts > now + timedelta(days=1):
        raise ItemError("ts", f"{obj['ts']} is more than a day in the future; check the "
                        "device clock")
    if scan.ts < now - timedelta(days=retention_days):
        raise ItemError("ts", f"{obj['ts']} is older than the {retention_days}-day retention "
                        "window; such scans are not kept")
    if obj.get("checkout_ts") is not None:
        scan.checkout_ts = parse_time(obj["checkout_ts"], "checkout_ts", tz)
        if scan.checkout_ts < scan.ts:
            raise ItemError("checkout_ts", "is before ts")
        if scan.checkout_ts > scan.ts + MAX_STAY:
            raise ItemError("checkout_ts", "is more than a day after ts; send the checkout "
                            "the device recorded, in the same clock as ts")
    temp = obj.get("temperature_c")
    if temp is not None:
        if isinstance(temp, bool) or not isinstance(temp, int | float) or not math.isfinite(temp):
            raise ItemError("temperature_c", f"must be a number, not {_shown(temp)}")
        if not 30 <= temp <= 45:
            raise ItemError("temperature_c", f"{temp} °C is not a body temperature (30–45)")
        scan.temperature_c = round(float(temp), 1)
    mask = obj.get("mask")
    if mask is not None and not isinstance(mask, bool):
        raise ItemError("mask", f"must be true or false, not {_shown(mask)}")
    scan.mask = mask
    cred = obj.get("credential")
    if cred is not None and cred not in CREDENTIALS:
        raise ItemError("credential", f"{_shown(cred)} is not one of {', '.join(CREDENTIALS)}")
    scan.credential = cred
    return scan


def _shown(value: Any) -> str:
    """A sent value as an error message may quote it: short, and only if it is clean text."""
    if isinstance(value, BigNumber):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if safe_echo(value, 40) else "that text"
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__} value"


def _error(scan_id: Any, exc: ItemError) -> dict:
    return {"scan_id": safe_echo(scan_id), "status": exc.status,
            "error": {"field": exc.field, "message": exc.message}}


def _result(scan_id: str, verdict: str, reasons: str) -> dict:
    return {"scan_id": scan_id, "verdict": verdict, "reasons": reason_objects(reasons)}


def _lock_scan_ids(conn: Connection, scan_ids: set[str]) -> None:
    """Hold these scan_ids until the transaction ends, across every process: the repeat check
    and the insert are then one step, and a scan_id sent at once to several workers is stored
    once. PostgreSQL: a transaction advisory lock per scan_id (in a fixed order, so two batches
    cannot deadlock); SQLite: the database's write lock, taken before the check."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif scan_ids:
        conn.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT "
                          "hashtextextended(x, 0) AS k FROM unnest(CAST(:ids AS text[])) AS x "
                          "ORDER BY 1) AS keys"), {"ids": sorted(scan_ids)})


class Ingestor:
    """Turns scan objects into stored scans and verdicts (see the module docstring)."""

    def __init__(self, engine: Engine, secret: str, timezone: str, retention_days: int,
                 sms_url: str = ""):
        self.engine, self.secret, self.sms_url = engine, secret, sms_url
        self.timezone, self.tz = timezone, ZoneInfo(timezone)
        self.retention_days = retention_days
        self.rules = RuleCache(engine)
        self._venues: dict[str, tuple[int, str, int]] = {}
        self._venues_lock = threading.Lock()
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        # days known to have their scans partition (PostgreSQL); others are made before storing
        self._partition_days: set[date] = set()

    def now(self) -> datetime:
        return city_now(self.timezone)

    def ingest(self, items: list[Any], now: datetime | None = None, keyed: bool = False
               ) -> list[dict]:
        """One result per item, in order: a verdict, or an error naming the field.

        `keyed`: each item's person is a person_key already (the phone scan page, whose
        registration resolved it), not an ID number or app token to pseudonymise."""
        now = now or self.now()
        results: list[dict | None] = [None] * len(items)
        parsed: list[tuple[int, ScanIn]] = []
        for i, obj in enumerate(items):
            try:
                parsed.append((i, parse_scan(obj, now, self.retention_days, self.tz)))
            except ItemError as exc:
                results[i] = _error(obj.get("scan_id") if isinstance(obj, dict) else None, exc)
        for attempt in range(ATTEMPTS):
            try:
                self._ensure_partitions({scan.ts.date() for _, scan in parsed})
                if self._write_lock:
                    with self._write_lock:
                        stored = self._store(parsed, now, keyed)
                else:
                    stored = self._store(parsed, now, keyed)
                break
            except (IntegrityError, OperationalError) as exc:
                if attempt == ATTEMPTS - 1 or not _retryable(exc):
                    raise Busy("the database is busy or unreachable; retry shortly") from exc
                time.sleep(0.05 * 2 ** attempt)
        for i, result in stored.items():
            results[i] = result
        return results  # type: ignore[return-value]

    def _ensure_partitions(self, days: set[date]) -> None:
        """The daily scans partitions for `days`, in a transaction of their own (the default
        partition would take the rows anyway, but retention drops whole days)."""
        missing = days - self._partition_days
        if not missing or self.engine.dialect.name != "postgresql":
            return
        first, last = min(missing), max(missing)
        with self.engine.begin() as conn:
            ensure_scan_partitions(conn, first, last)
        self._partition_days.update(first + timedelta(days=n)
                                    for n in range((last - first).days + 1))

    def _venue_rows(self, conn: Connection, codes: set[str]) -> dict[str, tuple[int, str, int]]:
        """Venue code → (id, kind, district, sub-district); cached, since venues rarely change."""
        missing = codes - self._venues.keys()
        if missing:
            v = t.venues
            rows = conn.execute(select(v.c.code, v.c.id, v.c.kind, v.c.district_id,
                                       v.c.subdistrict_id)
                                .where(v.c.code.in_(sorted(missing)))).all()
            with self._venues_lock:
                for code, *info in rows:
                    self._venues[code] = tuple(info)
        return {c: self._venues[c] for c in codes if c in self._venues}

    def _persons(self, conn: Connection, keys: set[str]) -> dict[str, Any]:
        """person_key → (persons row joined with person_status); unknown persons are added
        (a visitor from elsewhere still gets a pseudonymous record)."""
        p, s = t.persons, t.person_status
        query = (select(p.c.person_key, p.c.id, p.c.community_id, p.c.health_code, s.c.managed,
                        s.c.key_until, s.c.monitoring_until, s.c.hotel_venue_id,
                        s.c.negative_test_at, s.c.doses)
                 .select_from(p.outerjoin(s, s.c.person_id == p.c.id)))
        found = {r.person_key: r for r in conn.execute(
            query.where(p.c.person_key.in_(sorted(keys))))}
        new = sorted(keys - found.keys())
        if new:
            conn.execute(insert(p), [{"person_key": k, "health_code": "green"} for k in new])
            found |= {r.person_key: r for r in conn.execute(query.where(p.c.person_key.in_(new)))}
        return found

    def _store(self, parsed: list[tuple[int, ScanIn]], now: datetime, keyed: bool = False
               ) -> dict[int, dict]:
        out: dict[int, dict] = {}
        with self.engine.begin() as conn:
            _lock_scan_ids(conn, {s.scan_id for _, s in parsed})
            venues = self._venue_rows(conn, {s.venue_code for _, s in parsed})
            todo = []
            for i, scan in parsed:
                if scan.venue_code not in venues:
                    out[i] = _error(scan.scan_id, ItemError(
                        "venue_code", f"{scan.venue_code!r} is not a registered venue code"))
                else:
                    todo.append((i, scan))
            if not todo:
                return out
            keys = {s.scan_id: s.person if keyed else person_key(s.person, self.secret)
                    for _, s in todo}
            persons = self._persons(conn, set(keys.values()))
            rows = {}
            for i, s in todo:
                rows[i] = {
                    "scan_id": s.scan_id, "venue_id": venues[s.venue_code][0],
                    "person_id": persons[keys[s.scan_id]].id, "ts": s.ts,
                    "checkout_ts": s.checkout_ts, "temperature_c": s.temperature_c,
                    "mask": s.mask, "credential": s.credential,
                }
            fresh = self._repeats(conn, rows, out)
            if fresh:
                self._insert(conn, fresh, rows, venues, persons, keys, now, out)
        return out

    def _repeats(self, conn: Connection, rows: dict[int, dict], out: dict[int, dict]
                 ) -> list[int]:
        """Answer repeated scan_ids from what is stored (or 409 if the content differs);
        returns the items that are new. A repeat inside one batch counts as a repeat too."""
        sc = t.scans
        stored = {r.scan_id: r for r in conn.execute(
            select(sc.c.scan_id, sc.c.verdict, sc.c.reasons, *(sc.c[c] for c in COMPARED))
            .where(sc.c.scan_id.in_(sorted({r["scan_id"] for r in rows.values()}))))}
        fresh, first_in_batch = [], {}
        for i, row in rows.items():
            earlier = stored.get(row["scan_id"])
            if earlier is None and row["scan_id"] in first_in_batch:
                earlier = rows[first_in_batch[row["scan_id"]]]
                same = all(earlier[c] == row[c] for c in COMPARED)
                if not same:
                    out[i] = _conflict(row["scan_id"])
                else:
                    out[i] = {"repeat_of": first_in_batch[row["scan_id"]]}
                continue
            if earlier is None:
                first_in_batch[row["scan_id"]] = i
                fresh.append(i)
            elif all(_same(getattr(earlier, c), row[c]) for c in COMPARED):
                out[i] = _result(row["scan_id"], earlier.verdict, earlier.reasons)
            else:
                out[i] = _conflict(row["scan_id"])
        return fresh

    def _insert(self, conn, fresh, rows, venues, persons, keys, now, out) -> None:
        rules = self.rules.get(conn)
        batch = [rows[i] for i in fresh]
        people = [persons[keys[r["scan_id"]]] for r in batch]
        vinfo = {vid: tuple(info) for vid, *info in venues.values()}

        def ts(values):
            return np.array([v or np.datetime64("NaT") for v in values], "datetime64[s]")

        facts = Facts(
            health_code=np.array([p.health_code for p in people]),
            managed=np.array([bool(p.managed) for p in people]),
            key_until=ts([p.key_until for p in people]),
            monitoring_until=ts([p.monitoring_until for p in people]),
            hotel_venue_id=np.array([p.hotel_venue_id or NO_VENUE for p in people]),
            negative_test_at=ts([p.negative_test_at for p in people]),
            doses=np.array([p.doses or 0 for p in people]),
        )
        ctx = Context(
            ts=ts([r["ts"] for r in batch]),
            venue_id=np.array([r["venue_id"] for r in batch]),
            venue_kind=np.array([vinfo[r["venue_id"]][0] for r in batch]),
            temperature_c=np.array([np.nan if r["temperature_c"] is None else r["temperature_c"]
                                    for r in batch]),
            mask=np.array([np.nan if r["mask"] is None else float(r["mask"]) for r in batch]),
        )
        verdict, reasons, alert = verdicts(facts, ctx, rules)
        for r, v, why in zip(batch, verdict.tolist(), reasons.tolist(), strict=True):
            r["verdict"], r["reasons"] = v, why
        conn.execute(insert(t.scans), batch)
        count_scans(conn, ({"venue_id": r["venue_id"], "ts": r["ts"], "verdict": r["verdict"],
                            "kind": vinfo[r["venue_id"]][0], "district_id": vinfo[r["venue_id"]][1],
                            "subdistrict_id": vinfo[r["venue_id"]][2]} for r in batch))
        alerting = [(r, p) for r, p, a in zip(batch, people, alert.tolist(), strict=True) if a]
        if alerting:
            raise_alerts(conn, alerting, vinfo, now, self.sms_url)
        for i, r in zip(fresh, batch, strict=True):
            out[i] = _result(r["scan_id"], r["verdict"], r["reasons"])
        for i, result in list(out.items()):
            if "repeat_of" in result:
                out[i] = out[result["repeat_of"]]


def _same(stored: Any, sent: Any) -> bool:
    if isinstance(stored, float) or isinstance(sent, float):
        return stored is not None and sent is not None and abs(stored - sent) < 0.05
    return stored == sent


def _conflict(scan_id: str) -> dict:
    return _error(scan_id, ItemError(
        "scan_id", f"{scan_id!r} was already used for a different scan; a repeat must send "
        "exactly the same content, a new scan needs a new scan_id", status=409))


def _retryable(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig else str(exc).lower()
    return isinstance(exc, IntegrityError) or any(
        word in text for word in ("locked", "busy", "deadlock", "could not serialize",
                                  "connection", "terminating", "server closed"))
