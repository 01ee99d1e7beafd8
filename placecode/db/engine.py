"""The one lazy engine factory, and database creation.

SQLite runs in WAL mode with a bounded journal (a reading wall otherwise starves the checkpoint, see
DESIGN.md); PostgreSQL through psycopg 3.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

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
    """Engine for `url`, created once per process (safe under several gunicorn workers)."""
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
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkout", _sqlite_foreign_keys_on)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})
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
    """Create every missing table, column and index; returns the names of tables created."""
    check_connection(engine)
    before = set(inspect(engine).get_table_names())
    metadata.create_all(engine)
    added = add_missing_columns(engine, before)
    for column in sorted(set(added) & set(DERIVED_COLUMNS)):
        module, name = DERIVED_COLUMNS[column].split(":")
        with engine.begin() as conn:  # a column derived from other rows: fill it once, now
            getattr(importlib.import_module(module), name)(conn)
    return sorted(set(metadata.tables) - before)


# Columns kept in step with other tables by the code that writes those; an older database gets
# them filled when they are added.
DERIVED_COLUMNS = {"persons.last_test_at": "placecode.testing.progress:refresh_last_tests"}


# Indexes an earlier schema had and this one replaced (by wider covering indexes).
RETIRED_INDEXES = {"scans": ("ix_scans_venue_ts", "ix_scans_person_ts")}


def add_missing_columns(engine: Engine, existing: set[str]) -> list[str]:
    """Bring tables made by an earlier placecode up to the schema: add the nullable columns and
    the indexes it lacks, drop the ones it retired (a stop-gap until migrations; a NOT NULL
    column would need a default)."""
    added = []
    inspector = inspect(engine)
    with engine.begin() as conn:
        for name in sorted(existing & set(metadata.tables)):
            table = metadata.tables[name]
            have = {c["name"] for c in inspector.get_columns(name)}
            for column in table.columns:
                if column.name in have:
                    continue
                if not column.nullable:
                    raise DatabaseError(f"table {name} lacks the NOT NULL column {column.name}: "
                                        "rebuild it (placecode demo --replace)")
                kind = column.type.compile(dialect=engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {column.name} {kind}")
                added.append(f"{name}.{column.name}")
            indexes = {i["name"] for i in inspector.get_indexes(name)}
            for index in table.indexes:
                if index.name not in indexes:
                    index.create(conn, checkfirst=True)
                    added.append(index.name)
            for retired in RETIRED_INDEXES.get(name, ()):
                if retired in indexes:
                    conn.exec_driver_sql(f"DROP INDEX {retired}")
                    added.append(f"-{retired}")
    return added
