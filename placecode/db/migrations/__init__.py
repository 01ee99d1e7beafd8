"""Alembic migrations, configured in code: `init_db` upgrades every database it opens.

Revision 0001 is the schema placecode made before migrations (frozen in `baseline.py`); a
database without `alembic_version` is such a one, brought to 0001 and upgraded from there. A new
revision: `alembic.command.revision(config(conn), message, autogenerate=True)` against a
database at head, then review what it wrote (PostgreSQL-only objects are left out of the
comparison by `include_object`).
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from placecode.db.partitions import DEFAULT_PARTITION, NAME
from placecode.db.postgis import GEOMETRY_COLUMN, geometry_index

HERE = Path(__file__).parent


def config(conn: Connection) -> Config:
    """An Alembic config that runs on `conn`, inside its transaction."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def head() -> str:
    """The newest revision."""
    return ScriptDirectory(str(HERE)).get_current_head()


def current(conn: Connection) -> str | None:
    """The database's revision; None before migrations (or on an empty database)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection, target: str = "head") -> bool:
    """Upgrade to `target`; from no revision, 0001 first completes an older placecode schema.
    Returns whether any revision ran."""
    before = current(conn)
    if target == "head" and before == head():
        return False  # the common case, without loading the revision scripts
    command.upgrade(config(conn), target)
    return current(conn) != before


def forward_only(revision: str) -> None:
    """Every revision's `downgrade`: placecode migrations go forward only (0002 moves scans into
    partitions and drops a foreign key; undoing that in place would risk the rows). The way back
    is the backup taken before upgrading."""
    from placecode.db.engine import DatabaseError

    raise DatabaseError(f"revision {revision} cannot be undone in place: restore the backup "
                        "taken before upgrading (placecode restore FILE --force)")


def stamp(conn: Connection, target: str = "head") -> None:
    """Record `target` as the database's revision without running anything."""
    command.stamp(config(conn), target, purge=True)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """What autogenerate compares: not the PostgreSQL-only objects the metadata leaves out
    (PostGIS's own table, daily scan partitions, geometry columns and their indexes), nor a
    constraint the metadata creates on some databases only (`ddl_if`) where the database
    lacks it."""
    if type_ == "table" and reflected and (
            NAME.match(name) or name in (DEFAULT_PARTITION, "spatial_ref_sys")):
        return False
    if reflected and type_ == "column" and name == GEOMETRY_COLUMN:
        return False
    if reflected and type_ == "index" and name == geometry_index(obj.table.name):
        return False
    return not (compare_to is None and getattr(obj, "_ddl_if", None) is not None)
