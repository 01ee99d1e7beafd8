"""The one lazy engine factory, and database creation.

SQLite runs in WAL mode with a bounded journal (a reading wall otherwise starves the checkpoint, see
DESIGN.md); PostgreSQL through psycopg 3.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from placecode.clock import city_now
from placecode.db import migrations
from placecode.db.partitions import ensure_scan_partitions
from placecode.db.schema import metadata


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says which one and why, in one line."""


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@functools.cache
def get_engine(url: str) -> Engine:
    """Engine for `url`, created once per process (safe under several gunicorn workers).

    hide_parameters: a database error printed to a log must not carry the person keys, ID
    numbers or names that were its bound values."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the SQLite file {parsed.database}: {exc.strerror}"
                ) from None
        engine = create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkout", _sqlite_foreign_keys_on)
        return engine
    connect_args: dict = {"connect_timeout": 5}
    if "options" not in parsed.query:
        # No JIT: placecode's queries are index-driven and short, and compiling a plan over the
        # daily scan partitions took 0.25 s (83 functions), more than the query (bench/RESULTS)
        connect_args["options"] = "-c jit=off"
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args,
                             hide_parameters=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DatabaseError(f"database URL {redact(url)}: unsupported driver ({exc})") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA journal_size_limit=67108864")
    cur.execute("PRAGMA cache_size=-262144")
    cur.close()


def _sqlite_foreign_keys_on(dbapi_conn, _record, _proxy) -> None:
    """On every checkout: a bulk load may have switched checking off on this pooled connection."""
    dbapi_conn.execute("PRAGMA foreign_keys=ON")


def check_connection(engine: Engine) -> None:
    """Connect once; raise DatabaseError with the server's reason on its first line."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"cannot connect to {redact(str(engine.url))}: {reason}") from None


def init_db(engine: Engine) -> list[str]:
    """Bring the database to the current schema; returns the names of the tables created.

    An empty database gets the schema as it is and is stamped at the newest revision; any other
    is upgraded by the migrations (one made before migrations first completed to revision 0001),
    then the tables a rebuild dropped are made again. Daily scan partitions are made ahead.
    """
    check_connection(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes starting at once: one migrates
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INIT_LOCK_KEY})
        before = set(inspect(conn).get_table_names())
        fresh = not before & set(metadata.tables)
        migrated = not fresh and migrations.upgrade(conn)
        metadata.create_all(conn)
        if fresh:
            migrations.stamp(conn)
        today = city_now().date()
        ensure_scan_partitions(conn, today - timedelta(days=1), today + timedelta(days=DAYS_AHEAD))
    if migrated and engine.dialect.name == "postgresql":
        _vacuum(engine)
    return sorted(set(metadata.tables) - before)


def _vacuum(engine: Engine) -> None:
    """After migrations: tables they rewrote have no statistics and no visibility map, and a
    rewrite does not wake autovacuum (the wall's venue count read the heap: 27 ms, not 11)."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(sorted(metadata.tables)))


INIT_LOCK_KEY = 0x7C0DE1DB
# Daily scan partitions made ahead at every start; ingest makes any other day it meets.
DAYS_AHEAD = 7
