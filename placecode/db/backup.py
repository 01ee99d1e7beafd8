"""Backups that are consistent while the server runs: SQLite through its online backup API,
PostgreSQL through pg_dump's custom format (one snapshot; partitions and PostGIS included)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from placecode.db.engine import DatabaseError, redact

PG_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), *sorted(Path("/usr/lib/postgresql").glob(
    "*/bin"), reverse=True)]


EXTENSION_OWNED = ("COMMENT - EXTENSION", "TABLE DATA public spatial_ref_sys")


def _pg_tool(name: str) -> str:
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if not found:
        raise DatabaseError(f"{name} not found: install postgresql-client-15")
    return found


def _libpq(url: str) -> str:
    """postgresql+psycopg://... as the plain URI pg_dump and pg_restore read."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseError(f"{redact(url)}: an in-memory database cannot be backed up")
    return Path(database)


def backup(url: str, out: Path) -> int:
    """Write a backup of `url` to `out`; returns its size in bytes."""
    out = Path(out)
    if out.exists():
        raise DatabaseError(f"{out} exists: choose a new file name (backups are never overwritten)")
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise DatabaseError(f"{source} does not exist")
        with sqlite3.connect(source) as src, sqlite3.connect(out) as dst:
            src.backup(dst, pages=4096)  # in steps: writers are not locked out for long
    elif backend == "postgresql":
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={out}",
              _libpq(url)], url)
    else:
        raise DatabaseError(f"no backup for {backend} databases")
    return out.stat().st_size


def restore(url: str, source: Path, force: bool = False) -> None:
    """Load a backup made by `backup` into `url` (an empty database unless `force`)."""
    source = Path(source)
    if not source.exists():
        raise DatabaseError(f"{source} does not exist")
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size and not force:
            raise DatabaseError(f"{target} is not empty: stop the server and pass --force to "
                                "replace it")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    elif backend == "postgresql":
        tool = _pg_tool("pg_restore")
        # Everything but what belongs to the PostGIS extension (its comment, its spatial_ref_sys
        # rows): only a superuser may write those, and CREATE EXTENSION already made them.
        listing = subprocess.run([tool, "--list", str(source)], capture_output=True, text=True)
        if listing.returncode != 0:
            raise DatabaseError(f"{source} is not a placecode PostgreSQL backup: "
                                f"{(listing.stderr.strip().splitlines() or ['unreadable'])[-1]}")
        wanted = source.with_name(source.name + ".list")
        wanted.write_text("\n".join(line for line in listing.stdout.splitlines()
                                     if not any(own in line for own in EXTENSION_OWNED)))
        args = [tool, "--no-owner", "--exit-on-error", f"--use-list={wanted}",
                f"--dbname={_libpq(url)}"]
        if force:
            args[1:1] = ["--clean", "--if-exists"]
        try:
            _run([*args, str(source)], url)
        finally:
            wanted.unlink(missing_ok=True)
    else:
        raise DatabaseError(f"no restore for {backend} databases")


def _run(args: list[str], url: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise DatabaseError(f"{Path(args[0]).name} on {redact(url)}: {message}")
