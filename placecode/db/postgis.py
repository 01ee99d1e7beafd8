"""PostGIS geometry beside the portable columns, on PostgreSQL only.

`districts` and `subdistricts` keep their GeoJSON text and `venues` their lon/lat (SQLite and every
query read those); PostgreSQL adds a `geom` column to each, with a GIST index, for spatial SQL.
`geom` is a stored generated column, so every writer (demo build, feed import, venue registration,
an UPDATE) keeps it filled without knowing it exists. Degrees, SRID 4326 (the shipped boundaries
are GCJ-02, as the GeoJSON is). The columns are not in the SQLAlchemy metadata (SQLite has no
such type): DDL events below add them when `create_all` makes the tables, revision 0002 when it
upgrades them.
"""

from __future__ import annotations

from sqlalchemy import DDL, Connection, MetaData, event
from sqlalchemy.exc import DBAPIError

GEOMETRY_COLUMN = "geom"
SRID = 4326
GEOMETRY = {"districts": "MultiPolygon", "subdistricts": "MultiPolygon", "venues": "Point"}

# Boundaries are GeoJSON text; a placeholder that is not GeoJSON (tests write "{}") gives no
# geometry rather than a failed write. IMMUTABLE, as a generated column requires.
MULTIPOLYGON_FUNCTION = f"""
CREATE OR REPLACE FUNCTION placecode_multipolygon(geojson text)
RETURNS geometry(MultiPolygon, {SRID}) LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN ST_Multi(ST_CollectionExtract(ST_SetSRID(ST_GeomFromGeoJSON(geojson), {SRID}), 3));
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$"""


def geometry_index(table: str) -> str:
    """The GIST index on `table.geom`."""
    return f"ix_{table}_{GEOMETRY_COLUMN}"


def ensure_extension(conn: Connection) -> None:
    """PostGIS in this database, and the GeoJSON helper. Creating the extension takes a
    superuser: without one, an administrator runs `CREATE EXTENSION postgis` once, first."""
    if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first() is None:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql("CREATE EXTENSION postgis")
        except DBAPIError as exc:
            from placecode.db.engine import DatabaseError

            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(
                f"PostGIS is not in database {conn.engine.url.database} and cannot be added "
                f"({reason}): run `CREATE EXTENSION postgis;` in it as a superuser (the "
                "postgresql-15-postgis-3 package provides it), then start again") from None
    conn.exec_driver_sql(MULTIPOLYGON_FUNCTION)


def geometry_ddl(table: str) -> list[str]:
    """The generated `geom` column of `table` and its GIST index."""
    kind = GEOMETRY[table]
    source = (f"ST_SetSRID(ST_MakePoint(lon, lat), {SRID})" if kind == "Point"
              else "placecode_multipolygon(geometry)")
    return [
        f"ALTER TABLE {table} ADD COLUMN {GEOMETRY_COLUMN} geometry({kind}, {SRID}) "
        f"GENERATED ALWAYS AS ({source}) STORED",
        f"CREATE INDEX {geometry_index(table)} ON {table} USING gist ({GEOMETRY_COLUMN})",
    ]


def _create_extension(target, connection, tables=(), **kw) -> None:
    if connection.dialect.name == "postgresql" and tables:
        ensure_extension(connection)


def register(metadata: MetaData) -> None:
    """Make `metadata.create_all` on PostgreSQL create the extension and the geometry columns."""
    event.listen(metadata, "before_create", _create_extension)
    for name in GEOMETRY:
        for statement in geometry_ddl(name):
            event.listen(metadata.tables[name], "after_create",
                         DDL(statement).execute_if(dialect="postgresql"))
