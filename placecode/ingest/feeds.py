"""Health feeds (`placecode import KIND PATH`, `POST /api/v1/feeds/<kind>`): CSV or Parquet in,
validated column by column, pseudonymised, upserted on each feed's natural key.

Re-importing a file changes nothing (every feed has a natural key); a bad row is rejected with
its line number and a reason naming the column, and the good rows load. Column contracts are in
docs/feeds.md. Work is vectorised (pandas) and written in chunks through the driver's
executemany, so a million-row file loads in seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)

from placecode.db import schema as t
from placecode.db.bulk import bulk_insert
from placecode.db.fast import raw_rows, temp_values
from placecode.db.upsert import upsert_columns
from placecode.ingest.rollups import count_scans
from placecode.ingest.validate import (
    CONTROL_TEXT,
    FIRST_YEAR,
    LAST_YEAR,
    DuplicateKeys,
    safe_echo,
    text_problem,
)
from placecode.pseudonym import person_keys
from placecode.registry.codes import (
    LETTERS,
    MOBILE,
    code_district,
    code_problem,
    locate,
    subdistricts,
)
from placecode.rules.evaluate import NO_VENUE, Context, Facts, verdicts
from placecode.rules.status import needing_evaluation, reevaluate_persons
from placecode.rules.store import load_rules
from placecode.settings import DEFAULT_RETENTION_DAYS
from placecode.testing.progress import raise_last_tests

CHUNK = 100_000
OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


class FeedError(ValueError):
    """The file as a whole cannot be read (not a single row's problem)."""


@dataclass(frozen=True)
class Col:
    name: str
    kind: str  # text | person | time | date | int | float | bool | choice | venue | building
    required: bool = True
    choices: tuple[str, ...] = ()
    max_len: int = 64
    low: float | None = None
    high: float | None = None
    future: bool = False  # a date that may lie ahead (an expiry), unlike the time of an event
    min_len: int = 1
    after: str | None = None  # the column this time may not come before (checkout after ts)
    within: pd.Timedelta | None = None  # ... and at most this long after it
    recent: bool = False  # within the retention window, as the scan API demands of a scan


@dataclass(frozen=True)
class Feed:
    kind: str
    table: Table
    columns: tuple[Col, ...]
    keys: tuple[str, ...]  # natural key in the table
    update: tuple[str, ...] = ()  # what a newer row for the same key may change
    check: Callable | None = None  # (conn, checker, values): rules across columns and tables


PERSON = Col("person", "person", max_len=64, min_len=4)  # as the scan API: an ID or app token
FEEDS: dict[str, Feed] = {f.kind: f for f in (
    Feed("scans", t.scans, (
        Col("scan_id", "text"), Col("venue_code", "venue"), PERSON,
        Col("ts", "time", recent=True),
        Col("checkout_ts", "time", required=False, after="ts", within=pd.Timedelta(days=1)),
        Col("temperature_c", "float", required=False, low=30, high=45),
        Col("mask", "bool", required=False),
        Col("credential", "choice", required=False,
            choices=("app", "id_card", "social_security_card", "face"))),
        keys=("scan_id", "ts")),
    Feed("health_codes", t.health_codes, (
        PERSON, Col("colour", "choice", choices=("green", "yellow", "red")),
        Col("since", "time"), Col("reason", "text", required=False)),
        keys=("person_id", "since", "colour"), update=("reason",)),
    Feed("tests", t.tests, (
        PERSON, Col("kind", "choice", choices=("nucleic", "antigen")), Col("sampled_at", "time"),
        Col("result", "choice", choices=("negative", "positive", "pending")),
        Col("site", "text", required=False), Col("lab", "text", required=False)),
        keys=("person_id", "sampled_at", "kind"), update=("result", "site", "lab")),
    Feed("vaccinations", t.vaccinations, (
        PERSON, Col("dose", "int", low=1, high=4), Col("vaccinated_on", "date")),
        keys=("person_id", "dose"), update=("vaccinated_on",)),
    Feed("arrivals", t.arrivals, (
        PERSON, Col("arrived_at", "time"), Col("origin", "text"), Col("key_area", "bool"),
        Col("stay_kind", "choice", choices=("hotel", "home")),
        Col("address", "text", required=False, max_len=128),
        Col("monitoring_days", "int", required=False, low=0, high=60)),
        keys=("person_id", "arrived_at"),
        update=("origin", "key_area", "stay_kind", "address", "monitoring_days")),
    Feed("hotel_stays", t.hotel_stays, (
        PERSON, Col("hotel_code", "venue"), Col("check_in", "time"),
        Col("check_out", "time", required=False, after="check_in")),
        keys=("person_id", "venue_id", "check_in"), update=("check_out",)),
    Feed("rosters", t.persons, (PERSON, Col("building_id", "building")), keys=("person_key",)),
    Feed("volunteer_passes", t.volunteer_passes, (
        Col("pass_id", "text", max_len=32), PERSON, Col("organisation", "text", required=False),
        Col("issued_on", "date"), Col("expires_on", "date", future=True, after="issued_on")),
        keys=("pass_id",), update=("person_id", "organisation", "issued_on", "expires_on")),
    Feed("venues", t.venues, (
        Col("code", "text", max_len=13), Col("name", "text", max_len=128),
        Col("kind", "choice", choices=tuple(LETTERS)),
        Col("lon", "float", low=-180, high=180), Col("lat", "float", low=-90, high=90)),
        keys=("code",), update=("name", "subdistrict_id", "lon", "lat"),
        check=lambda conn, chk, values: _check_venues(conn, chk, values)),
)}


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    valid: int = 0
    new: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict:
        return {"kind": self.kind, "rows": self.rows, "valid": self.valid, "new": self.new,
                "rejected": [{"line": n, "column": reject_column(r), "reason": r}
                             for n, r in self.rejected[:1000]],
                "rejected_count": len(self.rejected)}


def reject_column(reason: str) -> str:
    """The column a reject's reason names ("sampled_at: ... is not ..." → "sampled_at")."""
    return reason.split(":", 1)[0]


def read_file(path: Path) -> pd.DataFrame:
    """All columns as text ('' for empty), whatever the format."""
    if not path.exists():
        raise FeedError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
            for c in frame.columns:
                col = frame[c]
                if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
                        col):
                    frame[c] = col.map(lambda v: "" if pd.isna(v) else v.isoformat())
            return frame.astype(object).where(frame.notna(), "").astype(str)
        if path.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"{path}: cannot read it ({str(exc).splitlines()[0][:200]})") from None
    raise FeedError(f"{path}: use a .csv or .parquet file")


class _Checker:
    """Validates a chunk column by column; the first problem of each row is kept."""

    def __init__(self, frame: pd.DataFrame, first_line: int):
        self.frame = frame
        self.lines = np.arange(len(frame)) + first_line
        self.reason = np.full(len(frame), "", dtype=object)

    def fail(self, bad: np.ndarray, message: Callable[[str], str], col: str) -> None:
        bad = bad & (self.reason == "")
        if bad.any():
            values = self.frame[col].to_numpy()[bad]
            self.reason[bad] = [f"{col}: {message(v)}" for v in values]

    @property
    def ok(self) -> np.ndarray:
        return self.reason == ""


def _times(text: pd.Series, tz: ZoneInfo) -> pd.Series:
    """ISO 8601 text → naive city-local times (NaT when unreadable); no offset means city time."""
    aware = text.str.contains(OFFSET)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    if aware.any():
        parsed = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
        out[aware] = parsed.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[s]")
    if (~aware).any():
        out[~aware] = pd.to_datetime(text[~aware], format="ISO8601", errors="coerce")
    return out.dt.floor("s")


def _check(conn: Connection, feed: Feed, frame: pd.DataFrame, first_line: int, tz: ZoneInfo,
           now: pd.Timestamp, retention_days: int,
           pre: np.ndarray | None = None) -> tuple[_Checker, dict[str, pd.Series]]:
    chk = _Checker(frame, first_line)
    if pre is not None:  # problems found in the rows as sent (a key twice, an object as value)
        chk.reason[:] = pre
    values: dict[str, pd.Series] = {}
    for col in feed.columns:
        raw = frame[col.name] if col.name in frame else pd.Series("", index=frame.index)
        chk.fail(raw.str.contains(CONTROL_TEXT, regex=True).to_numpy(),
                 lambda v: text_problem(v) or "", col.name)  # before anything reads the text
        s = raw.str.strip()
        empty = s == ""
        if col.required:  # check_columns made sure the column itself is there
            chk.fail(empty.to_numpy(), lambda _v: "missing (required)", col.name)
        present = ~empty
        if col.kind in ("text", "person"):
            long = present & (s.str.len() > col.max_len)
            chk.fail(long.to_numpy(), lambda _v, n=col.max_len: f"longer than {n} characters",
                     col.name)
            short = present & (s.str.len() < col.min_len)
            chk.fail(short.to_numpy(), lambda _v, n=col.min_len: f"shorter than {n} characters",
                     col.name)
            values[col.name] = s
        elif col.kind == "choice":
            chk.fail((present & ~s.isin(col.choices)).to_numpy(),
                     lambda v, c=col.choices: f"{v!r} is not one of {', '.join(c)}", col.name)
            values[col.name] = s
        elif col.kind in ("int", "float"):
            num = pd.to_numeric(s.where(present), errors="coerce")
            bad = present & num.isna()
            if col.kind == "int":
                bad |= present & num.notna() & (num != num.round())
            chk.fail(bad.to_numpy(), lambda v, k=col.kind: f"{v!r} is not "
                     + ("a whole number" if k == "int" else "a number"), col.name)
            out_of = present & num.notna() & ((num < col.low) | (num > col.high))
            chk.fail(out_of.to_numpy(), lambda v, c=col: f"{v} is outside {c.low:g}..{c.high:g}",
                     col.name)
            values[col.name] = num
        elif col.kind == "bool":
            low = s.str.lower()
            truth = low.isin(("true", "1", "yes", "y", "t"))
            chk.fail((present & ~truth & ~low.isin(("false", "0", "no", "n", "f"))).to_numpy(),
                     lambda v: f"{v!r} is not true/false", col.name)
            values[col.name] = truth.where(present, None)
        elif col.kind in ("time", "date"):
            years = pd.to_numeric(s.str.extract(r"^(\d{4})-", expand=False), errors="coerce")
            chk.fail((present & ((years < FIRST_YEAR) | (years > LAST_YEAR))).to_numpy(),
                     lambda v: f"{_shown(v)}: the year is outside {FIRST_YEAR}–{LAST_YEAR}",
                     col.name)  # before parsing: year 9999 would overflow, not be named
            parsed = _times(s.where(present, ""), tz) if col.kind == "time" else \
                pd.to_datetime(s.where(present), format="ISO8601", errors="coerce")
            chk.fail((present & parsed.isna()).to_numpy(),
                     lambda v, k=col.kind: f"{_shown(v)} is not an ISO 8601 "
                     + ("time (e.g. 2026-11-23T09:30:00+08:00)" if k == "time"
                        else "date (e.g. 2026-11-23)"), col.name)
            future = present & parsed.notna() & (parsed > now + pd.Timedelta(days=1)) \
                & (not col.future)
            chk.fail(future.to_numpy(), lambda v: f"{v} is in the future", col.name)
            if col.recent:
                old = present & (parsed < now - pd.Timedelta(days=retention_days))
                chk.fail(old.to_numpy(), lambda v, d=retention_days: f"{v} is older than the "
                         f"{d}-day retention window; such rows are not kept", col.name)
            if col.after:
                first = values[col.after]
                before = present & parsed.notna() & first.notna() & (parsed < first)
                chk.fail(before.to_numpy(), lambda v, a=col.after: f"{v} is before {a}",
                         col.name)
                if col.within is not None:
                    late = present & (parsed > first + col.within)
                    chk.fail(late.to_numpy(), lambda v, a=col.after, w=col.within:
                             f"{v} is more than {w.days} day(s) after {a}", col.name)
            values[col.name] = parsed
        elif col.kind == "venue":
            codes = sorted(set(s[present]))
            found = _lookup(conn, t.venues.c.code, t.venues.c.id, codes)
            ids = s.map(found)
            chk.fail((present & ids.isna()).to_numpy(),
                     lambda v: f"{v!r} is not a registered venue code", col.name)
            values[col.name] = ids
        elif col.kind == "building":
            whole = s.str.fullmatch(r"\d{1,18}")  # an id the database's integers can hold
            chk.fail((present & ~whole).to_numpy(),
                     lambda v: f"{_shown(v)} is not a building id (a whole number)", col.name)
            num = pd.to_numeric(s.where(present & whole), errors="coerce")
            found = _lookup(conn, t.buildings.c.id, t.buildings.c.id,
                            sorted({int(x) for x in num.dropna()}))
            chk.fail((present & num.map(found).isna()).to_numpy(),
                     lambda v: f"{_shown(v)} is not a known building id", col.name)
            values[col.name] = num
    if feed.check is not None:
        feed.check(conn, chk, values)
    return chk, values


def _check_venues(conn: Connection, chk: _Checker, values: dict[str, pd.Series]) -> None:
    """A code follows the scheme and its kind, is given once, and its district holds the point."""
    def reject(bad: np.ndarray, reasons) -> None:
        bad = bad & chk.ok
        chk.reason[bad] = np.asarray(reasons, dtype=object)[bad]

    codes, kinds = values["code"], values["kind"]
    problems = [code_problem(c, k) if ok else None
                for c, k, ok in zip(codes, kinds, chk.ok, strict=True)]
    reject(np.array([p is not None for p in problems]), [f"code: {p}" for p in problems])
    reject(codes.duplicated(keep="first").to_numpy(),
           [f"code: {c!r} appears earlier in this file" for c in codes])
    ok = chk.ok
    district, subdistrict = np.full(len(codes), -1), np.full(len(codes), -1)
    if ok.any():
        district[ok], subdistrict[ok] = locate(subdistricts(conn), values["lon"][ok].to_numpy(),
                                               values["lat"][ok].to_numpy())
    stated = np.array([code_district(c) if ok_ else -1 for c, ok_ in zip(codes, ok, strict=True)])
    reject(ok & (district == -1), ["lon/lat: the point lies outside every district of the city"]
           * len(codes))
    reject(ok & (district != stated), [f"lon/lat: the point lies in district {d}, but the code "
                                       f"says {s_}" for d, s_ in zip(district, stated,
                                                                    strict=True)])
    values["district_id"] = pd.Series(district)
    values["subdistrict_id"] = pd.Series(subdistrict)


def _shown(value: str) -> str:
    """A rejected value quoted in its reason, if short (a reject names it, never floods)."""
    return repr(value) if len(value) <= 40 else f"a {len(value):,}-character value"


def row_problems(rows: list[dict]) -> tuple[np.ndarray, list[dict]]:
    """Per row of an API request, what JSON can say that a file cannot: a column sent twice,
    an object or a list where a value belongs, text that is not valid Unicode ("" where the row
    is fine); and the rows with such values blanked, since a table cannot even hold them."""
    out = np.full(len(rows), "", dtype=object)
    clean = list(rows)
    for i, row in enumerate(rows):
        if isinstance(row, DuplicateKeys):
            out[i] = f"{safe_echo(row.duplicate) or 'a column'}: sent twice in this row"
        for key, value in row.items():
            if isinstance(value, dict | list):
                problem = "must be text, a number or true/false"
            elif isinstance(value, str) and text_problem(value):
                problem = text_problem(value)
            else:
                continue
            out[i] = out[i] or f"{safe_echo(key) or 'a column'}: {problem}"
            clean[i] = {k: ("" if k == key else v) for k, v in clean[i].items()}
    return out, clean


def _lookup(conn: Connection, key, value, wanted: list) -> dict:
    out = {}
    for i in range(0, len(wanted), 900):
        out.update(conn.execute(select(key, value).where(key.in_(wanted[i:i + 900]))).all())
    return out


def person_ids(conn: Connection, keys: np.ndarray) -> np.ndarray:
    """persons.id for each person_key, adding the persons not known yet (pseudonymous)."""
    p = t.persons
    unique = np.unique(np.asarray(keys, dtype=str))
    with temp_values(conn, "tmp_person_keys", unique, String(32)) as tmp:
        found = dict(raw_rows(conn, select(p.c.person_key, p.c.id)
                              .join(tmp, tmp.c.v == p.c.person_key)))
        new = [k for k in unique.tolist() if k not in found]
        if new:
            bulk_insert(conn, p, {"person_key": np.array(new),
                                  "health_code": np.full(len(new), "green")})
            found = dict(raw_rows(conn, select(p.c.person_key, p.c.id)
                                  .join(tmp, tmp.c.v == p.c.person_key)))
    return pd.Series(keys).map(found).to_numpy(np.int64)


def check_columns(kind: str, frame: pd.DataFrame) -> Feed:
    """The feed for `kind`, if the frame's header fits it; else why not, naming the columns."""
    feed = FEEDS.get(kind)
    if feed is None:
        raise FeedError(f"unknown feed {kind!r}; feeds: {', '.join(FEEDS)}")
    missing = [c.name for c in feed.columns if c.required and c.name not in frame.columns]
    if missing and len(frame):
        raise FeedError(f"{kind}: required column(s) missing: {', '.join(missing)} "
                        f"(see docs/feeds.md)")
    unknown = sorted(set(frame.columns) - {c.name for c in feed.columns})
    if unknown:
        named = [safe_echo(str(c)) or "(a name with control characters)" for c in unknown]
        raise FeedError(f"{kind}: unknown column(s) {', '.join(named)}; expected "
                        f"{', '.join(c.name for c in feed.columns)}")
    return feed


def import_rows(engine: Engine, kind: str, rows: list[dict] | pd.DataFrame, *, secret: str,
                now, timezone: str = "Asia/Shanghai", first_line: int = 2,
                retention_days: int = DEFAULT_RETENTION_DAYS,
                progress: Callable[[int], None] | None = None) -> ImportReport:
    """Validate and load rows of one feed; `first_line` numbers the first row in messages (2 in a
    CSV file with a header line, 1 for the items of an API request)."""
    pre = None
    if not isinstance(rows, pd.DataFrame):
        pre, rows = row_problems(rows)
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    frame = frame.fillna("").astype(str) if not frame.empty else frame
    feed = check_columns(kind, frame)
    start = time.perf_counter()
    report = ImportReport(kind, rows=len(frame))
    tz, now_ts = ZoneInfo(timezone), pd.Timestamp(now)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(feed.table)).scalar()
    for lo in range(0, len(frame), CHUNK):
        chunk = frame.iloc[lo:lo + CHUNK].reset_index(drop=True)
        with engine.begin() as conn:
            chk, values = _check(conn, feed, chunk, first_line + lo, tz, now_ts, retention_days,
                                 None if pre is None else pre[lo:lo + CHUNK])
            ok = chk.ok
            if feed.kind == "scans":
                _dedupe_scans(conn, chk, values, ok)
                ok = chk.ok
            bad = ~ok & (chk.reason != "skip")
            report.rejected += list(zip(chk.lines[bad].tolist(), chk.reason[bad].tolist(),
                                        strict=True))
            good = {k: v[ok].reset_index(drop=True) for k, v in values.items()}
            report.valid += int(ok.sum() + (chk.reason == "skip").sum())  # stored already
            if ok.any():
                keys = np.array(person_keys(good["person"], secret)) \
                    if "person" in good else None
                LOADERS[feed.kind](conn, feed, good, keys, now_ts)
        if progress:
            progress(len(chunk))
    with engine.connect() as conn:
        report.new = conn.execute(select(func.count()).select_from(feed.table)).scalar() - before
    report.seconds = round(time.perf_counter() - start, 3)
    return report


def import_file(engine: Engine, kind: str, path: Path, frame: pd.DataFrame | None = None,
                **kwargs) -> ImportReport:
    """Import one file (or its `frame`, already read); rejects go to `<file>.rejects.csv`
    beside it (line, reason, the row)."""
    frame = read_file(path) if frame is None else frame
    report = import_rows(engine, kind, frame, **kwargs)
    rejects = path.with_name(path.name + ".rejects.csv")
    if report.rejected:
        lines = [n for n, _ in report.rejected]
        out = frame.iloc[[n - 2 for n in lines]].copy()
        out.insert(0, "reason", [r for _, r in report.rejected])
        out.insert(0, "column", [reject_column(r) for _, r in report.rejected])
        out.insert(0, "line", lines)
        out.to_csv(rejects, index=False)
    elif rejects.exists():
        rejects.unlink()  # an old rejects file would describe a previous attempt
    return report


def _np(series: pd.Series, kind: str = "") -> np.ndarray:
    if kind == "time":
        return series.to_numpy("datetime64[s]")
    if kind == "date":
        return series.to_numpy("datetime64[D]")
    return series.to_numpy()


def _opt(series: pd.Series) -> np.ndarray:
    """Optional text/number columns: None for empty (stored as NULL)."""
    arr = series.to_numpy(object)
    return np.where(pd.isna(arr) | (arr == ""), None, arr)


def _dedupe_scans(conn: Connection, chk: _Checker, values: dict, ok: np.ndarray) -> None:
    """Scans already stored (an earlier import) or repeated in the file are skipped, not
    re-counted; a stored scan_id with another venue or time is rejected."""
    ids = values["scan_id"]
    repeat = ids.duplicated(keep="first").to_numpy()
    chk.fail(repeat & ok, lambda v: f"{v!r} appears earlier in this file", "scan_id")
    wanted = sorted(set(ids[chk.ok]))
    stored = {}
    sc = t.scans
    for i in range(0, len(wanted), 900):
        for r in conn.execute(select(sc.c.scan_id, sc.c.venue_id, sc.c.ts)
                              .where(sc.c.scan_id.in_(wanted[i:i + 900]))):
            stored[r.scan_id] = (r.venue_id, pd.Timestamp(r.ts))
    if stored:
        hit = ids.isin(stored.keys()).to_numpy() & chk.ok
        same = np.array([stored.get(s, (None, None)) == (v, ts) for s, v, ts in
                         zip(ids, values["venue_code"], values["ts"], strict=True)])
        chk.fail(hit & ~same, lambda v: f"{v!r} is stored already with another venue or time",
                 "scan_id")
        chk.reason[hit & same] = "skip"  # stored already: neither loaded nor reported


def _load_scans(conn, feed, v, keys, now) -> None:
    pids = person_ids(conn, keys)
    venue_ids = v["venue_code"].astype(np.int64).to_numpy()
    with temp_values(conn, "tmp_scan_venues", venue_ids, BigInteger()) as tmp:
        vinfo = pd.DataFrame(raw_rows(conn, select(t.venues.c.id, t.venues.c.kind,
                                                   t.venues.c.district_id,
                                                   t.venues.c.subdistrict_id)
                                      .join(tmp, tmp.c.v == t.venues.c.id)),
                             columns=["id", "kind", "district_id", "subdistrict_id"]
                             ).set_index("id")
    ps = t.person_status
    with temp_values(conn, "tmp_scan_persons", pids, BigInteger()) as tmp:
        status = pd.DataFrame(raw_rows(conn, select(
            t.persons.c.id, t.persons.c.health_code, ps.c.managed, ps.c.key_until,
            ps.c.monitoring_until, ps.c.hotel_venue_id, ps.c.negative_test_at, ps.c.doses)
            .select_from(tmp.join(t.persons, t.persons.c.id == tmp.c.v)
                         .outerjoin(ps, ps.c.person_id == t.persons.c.id))),
            columns=["id", "health_code", "managed", "key_until", "monitoring_until", "hotel",
                     "negative", "doses"]).set_index("id").reindex(pids)
    ts = v["ts"].to_numpy("datetime64[s]")
    facts = Facts(
        health_code=status["health_code"].to_numpy().astype(str),
        managed=status["managed"].fillna(False).astype(bool).to_numpy(),
        key_until=pd.to_datetime(status["key_until"]).to_numpy("datetime64[s]"),
        monitoring_until=pd.to_datetime(status["monitoring_until"]).to_numpy("datetime64[s]"),
        hotel_venue_id=status["hotel"].fillna(NO_VENUE).astype(np.int64).to_numpy(),
        negative_test_at=pd.to_datetime(status["negative"]).to_numpy("datetime64[s]"),
        doses=status["doses"].fillna(0).astype(int).to_numpy(),
    )
    kinds = vinfo["kind"].reindex(venue_ids).to_numpy().astype(str)
    temp = v["temperature_c"].to_numpy(float)
    mask = v["mask"].map({True: 1.0, False: 0.0}).to_numpy(float)
    verdict, reasons, _ = verdicts(facts, Context(ts, venue_ids, kinds, temp, mask),
                                   load_rules(conn))
    upsert_columns(conn, t.scans, {
        "scan_id": v["scan_id"].to_numpy(), "venue_id": venue_ids, "person_id": pids, "ts": ts,
        "checkout_ts": v["checkout_ts"].to_numpy("datetime64[s]"),
        "verdict": verdict, "reasons": reasons,
        "temperature_c": np.where(np.isnan(temp), None, temp),
        "mask": np.where(np.isnan(mask), None, mask == 1.0),
        "credential": _opt(v["credential"]),
    }, keys=feed.keys)
    count_scans(conn, pd.DataFrame({
        "venue_id": venue_ids, "ts": pd.to_datetime(ts).to_pydatetime(), "verdict": verdict,
        "kind": kinds, "district_id": vinfo["district_id"].reindex(venue_ids).to_numpy(),
        "subdistrict_id": vinfo["subdistrict_id"].reindex(venue_ids).to_numpy(),
    }).to_dict("records"))


def _fact_loader(columns: Callable[[dict], dict], refresh: Callable | None = None,
                 reevaluate: str = "all"):
    """A loader that upserts the feed's rows, runs `refresh(conn, values, person_ids)` if given,
    then re-evaluates the touched persons: "all" of them, only those a test or dose can change
    ("needed": after an incremental refresh), or "none" (facts no rule reads)."""
    def load(conn, feed, v, keys, now) -> None:
        pids = person_ids(conn, keys)
        upsert_columns(conn, feed.table, {"person_id": pids} | columns(v), feed.keys,
                       feed.update)
        if refresh is not None:
            refresh(conn, v, pids)
        when = now.to_datetime64().astype("datetime64[s]")
        if reevaluate == "all":
            reevaluate_persons(conn, pids, when)
        elif reevaluate == "needed":
            reevaluate_persons(conn, needing_evaluation(conn, pids, when), when)
    return load


def _raise_status(conn: Connection, column: str, pids: np.ndarray, values: np.ndarray) -> None:
    """person_status.<column> = the larger of the stored and the new value, per person."""
    frame = pd.DataFrame({"pid": pids, "value": values}).dropna()
    if frame.empty:
        return
    best = frame.groupby("pid")["value"].max()
    ps = t.person_status
    stmt = update(ps).where(ps.c.person_id == bindparam("pid"),
                            ps.c[column].is_(None) | (ps.c[column] < bindparam("value"))) \
        .values({column: bindparam("value")})
    values_out = best.to_numpy()
    if np.issubdtype(values_out.dtype, np.datetime64):
        values_out = pd.to_datetime(values_out).to_pydatetime()
    conn.execute(stmt, [{"pid": int(p), "value": v.item() if hasattr(v, "item") else v}
                        for p, v in zip(best.index.to_numpy(), values_out, strict=True)])


def _refresh_tests(conn, v, pids) -> None:
    negative = v["result"].to_numpy() == "negative"
    times = v["sampled_at"].to_numpy("datetime64[s]").copy()
    times[~negative] = np.datetime64("NaT")
    _raise_status(conn, "negative_test_at", pids, times)
    raise_last_tests(conn, pids, v["sampled_at"].to_numpy("datetime64[s]"))


def _refresh_doses(conn, v, pids) -> None:
    _raise_status(conn, "doses", pids, v["dose"].astype(int).to_numpy())


def _set_current_colour(conn, v, pids) -> None:
    """The person's current health code is the latest colour reported."""
    latest = pd.DataFrame({"pid": pids, "colour": v["colour"], "since": v["since"]}) \
        .sort_values("since").groupby("pid").tail(1)
    p = t.persons
    stmt = update(p).where(p.c.id == bindparam("pid"), p.c.health_code_since.is_(None)
                           | (p.c.health_code_since <= bindparam("since"))) \
        .values(health_code=bindparam("colour"), health_code_since=bindparam("since"))
    conn.execute(stmt, [{"pid": int(r.pid), "colour": r.colour,
                         "since": r.since.to_pydatetime()} for r in latest.itertuples()])


def _load_rosters(conn, feed, v, keys, now) -> None:
    pids = person_ids(conn, keys)
    b = t.buildings
    with temp_values(conn, "tmp_roster_buildings", v["building_id"].astype(np.int64),
                     BigInteger()) as tmp:
        homes = pd.DataFrame(raw_rows(conn, select(b.c.id, b.c.community_id,
                                                   t.communities.c.district_id)
                                      .join(t.communities, t.communities.c.id == b.c.community_id)
                                      .join(tmp, tmp.c.v == b.c.id)),
                             columns=["id", "community_id", "district_id"]).set_index("id")
    p = t.persons
    stmt = update(p).where(p.c.id == bindparam("pid")).values(
        building_id=bindparam("building"), community_id=bindparam("community"),
        district_id=bindparam("district"))
    buildings = v["building_id"].astype(int).tolist()
    conn.execute(stmt, [{"pid": pid, "building": b, "community": int(homes.at[b, "community_id"]),
                         "district": int(homes.at[b, "district_id"])}
                        for pid, b in zip(pids.tolist(), buildings, strict=True)])


def _load_venues(conn, feed, v, keys, now) -> None:
    upsert_columns(conn, t.venues, {
        "code": v["code"].to_numpy(), "name": v["name"].to_numpy(), "kind": v["kind"].to_numpy(),
        "district_id": v["district_id"].to_numpy(),
        "subdistrict_id": v["subdistrict_id"].to_numpy(),
        "lon": v["lon"].round(6).to_numpy(), "lat": v["lat"].round(6).to_numpy(),
        "mobile": v["kind"].isin(MOBILE).to_numpy()}, feed.keys, feed.update)


# Every column is present in the checked values (an absent optional column is empty: "" text,
# NaN numbers, NaT times), so the loaders need no "if the column was sent" branches.
LOADERS: dict[str, Callable] = {
    "scans": _load_scans,
    "health_codes": _fact_loader(lambda v: {
        "colour": v["colour"].to_numpy(), "since": _np(v["since"], "time"),
        "reason": v["reason"].to_numpy()}, refresh=_set_current_colour),
    "tests": _fact_loader(lambda v: {
        "kind": v["kind"].to_numpy(), "sampled_at": _np(v["sampled_at"], "time"),
        "result": v["result"].to_numpy(), "site": _opt(v["site"]), "lab": _opt(v["lab"])},
        refresh=_refresh_tests, reevaluate="needed"),
    "vaccinations": _fact_loader(lambda v: {
        "dose": v["dose"].astype(int).to_numpy(),
        "vaccinated_on": _np(v["vaccinated_on"], "date")},
        refresh=_refresh_doses, reevaluate="needed"),
    "arrivals": _fact_loader(lambda v: {
        "arrived_at": _np(v["arrived_at"], "time"), "origin": v["origin"].to_numpy(),
        "key_area": v["key_area"].astype(bool).to_numpy(), "stay_kind": v["stay_kind"].to_numpy(),
        "address": v["address"].to_numpy(),
        "monitoring_days": v["monitoring_days"].fillna(0).astype(int).to_numpy()}),
    "hotel_stays": _fact_loader(lambda v: {
        "venue_id": v["hotel_code"].astype(np.int64).to_numpy(),
        "check_in": _np(v["check_in"], "time"), "check_out": _np(v["check_out"], "time")}),
    "rosters": _load_rosters,
    "venues": _load_venues,
    "volunteer_passes": _fact_loader(lambda v: {
        "pass_id": v["pass_id"].to_numpy(), "organisation": v["organisation"].to_numpy(),
        "issued_on": _np(v["issued_on"], "date"), "expires_on": _np(v["expires_on"], "date")},
        reevaluate="none"),
}
