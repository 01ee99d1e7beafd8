"""Production PostgreSQL: PostGIS geometry, `scans` partitioned by day (issue 9).

Both databases: the unique index on `scans.scan_id` becomes (scan_id, ts), because every unique
index of a partitioned table must hold its partition key and the feed import's ON CONFLICT must
name the same index on both. The ingest still answers a scan_id sent again with another time as
a conflict (409), so a scan_id names one scan.

PostgreSQL only:
- PostGIS (created here if the user may; else an administrator runs `CREATE EXTENSION postgis`
  first): `districts.geom`, `subdistricts.geom` (MultiPolygon) and `venues.geom` (Point), SRID
  4326, stored generated columns from the GeoJSON text / lon, lat, each with a GIST index
  (placecode.db.postgis).
- `scans` is partitioned by RANGE (ts), one partition per city-local day (`scans_pYYYYMMDD`) and
  `scans_default` for a day without one, so that retention drops whole days. The primary key
  becomes (id, ts); `id` keeps its sequence. The existing rows are copied once into the daily
  partitions, then the indexes and foreign keys are built (faster than maintaining them row by
  row).
- The foreign key alerts.scan_id → scans.id is dropped: a foreign key must reference a unique
  index, and on partitioned `scans` no index holds `id` alone (only (id, ts)). `alerts.scan_id`
  still holds the scan's id and joins as before; nothing checks it, and when retention drops a
  day of scans the alerts of those scans are retention's to remove. SQLite keeps the key.

Not reversible (the downgrade raises): take a backup first.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from placecode.db.migrations import forward_only
from placecode.db.partitions import DEFAULT_PARTITION, ensure_scan_partitions
from placecode.db.postgis import GEOMETRY, ensure_extension, geometry_ddl

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("id, scan_id, venue_id, person_id, ts, checkout_ts, verdict, reasons, temperature_c, "
           "mask, credential")
PARTITIONED_SCANS = f"""
CREATE TABLE scans (
    id BIGINT NOT NULL DEFAULT nextval('scans_id_seq'),
    scan_id VARCHAR(64) NOT NULL,
    venue_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    ts TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    checkout_ts TIMESTAMP WITHOUT TIME ZONE,
    verdict VARCHAR(8) NOT NULL,
    reasons VARCHAR(128) NOT NULL,
    temperature_c FLOAT,
    mask BOOLEAN,
    credential VARCHAR(24)
) PARTITION BY RANGE (ts);
COMMENT ON COLUMN scans.reasons IS 'comma-separated rule ids';
ALTER SEQUENCE scans_id_seq OWNED BY scans.id;
CREATE TABLE {DEFAULT_PARTITION} PARTITION OF scans DEFAULT
"""
SCAN_KEYS = """
ALTER TABLE scans ADD CONSTRAINT pk_scans PRIMARY KEY (id, ts);
CREATE UNIQUE INDEX ux_scans_scan_id_ts ON scans (scan_id, ts);
CREATE INDEX ix_scans_venue_ts_person ON scans (venue_id, ts, person_id, checkout_ts);
CREATE INDEX ix_scans_person_ts_venue ON scans (person_id, ts, venue_id, checkout_ts);
CREATE INDEX ix_scans_red_ts ON scans (ts) WHERE verdict = 'red';
CREATE INDEX ix_scans_checkout_venue_ts ON scans (venue_id, ts, person_id, checkout_ts)
    WHERE checkout_ts IS NOT NULL;
ALTER TABLE scans ADD CONSTRAINT fk_scans_venue_id FOREIGN KEY (venue_id) REFERENCES venues (id);
ALTER TABLE scans ADD CONSTRAINT fk_scans_person_id FOREIGN KEY (person_id)
    REFERENCES persons (id);
ANALYZE scans
"""


def _run(script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index("ux_scans_scan_id", table_name="scans")
        op.create_index("ux_scans_scan_id_ts", "scans", ["scan_id", "ts"], unique=True)
        return
    ensure_extension(op.get_bind())
    for table in GEOMETRY:
        for statement in geometry_ddl(table):
            op.execute(statement)
    op.drop_constraint("fk_alerts_scan_id", "alerts", type_="foreignkey")
    _partition_scans()


def _partition_scans() -> None:
    conn = op.get_bind()
    _run("""
        ALTER TABLE scans RENAME TO scans_unpartitioned;
        ALTER TABLE scans_unpartitioned DROP CONSTRAINT pk_scans;
        DROP INDEX ux_scans_scan_id, ix_scans_venue_ts_person, ix_scans_person_ts_venue,
            ix_scans_red_ts, ix_scans_checkout_venue_ts""")
    _run(PARTITIONED_SCANS)
    first, last = conn.exec_driver_sql(
        "SELECT min(ts)::date, max(ts)::date FROM scans_unpartitioned").one()
    if first is not None:
        ensure_scan_partitions(conn, first, last)
    _run(f"""
        INSERT INTO scans ({COLUMNS}) SELECT {COLUMNS} FROM scans_unpartitioned;
        DROP TABLE scans_unpartitioned""")
    _run(SCAN_KEYS)


def downgrade() -> None:
    forward_only("0002")
