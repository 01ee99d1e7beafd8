"""SQLAlchemy Core metadata: the tables named in DESIGN.md that exist so far.

Conventions, chosen once:
- timestamps are naive local time of the city (PLACECODE_TIMEZONE), stored on SQLite as
  'YYYY-MM-DDTHH:MM:SS' text so ISO strings from numpy/CSV load as they are and sort as time;
- geometry is GeoJSON text in degrees; PostgreSQL adds PostGIS `geom` columns beside it
  (placecode.db.postgis);
- on PostgreSQL `scans` is partitioned by day of `ts` (placecode.db.partitions), so its unique
  keys include `ts`;
- persons carry an integer `id` for joins and the contract `person_key` (keyed hash of the
  ID number);
  raw ID numbers are never stored;
- indexes that bulk loads drop and rebuild are plain `Index` objects (not constraints).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import DDL

from placecode.db import postgis
from placecode.db.partitions import DEFAULT_PARTITION

# Named constraints, so that bulk loads can drop and re-add foreign keys by name.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

Timestamp = DateTime().with_variant(
    sqlite.DATETIME(
        storage_format="%(year)04d-%(month)02d-%(day)02dT%(hour)02d:%(minute)02d:%(second)02d",
        regexp=r"(\d+)-(\d+)-(\d+)[T ](\d+):(\d+):(\d+)",
    ),
    "sqlite",
)
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables.
RowId = BigInteger().with_variant(Integer, "sqlite")

ROLES = ("admin", "city_commander", "district_commander", "duty_officer", "planner", "field_staff")

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def area_columns() -> list[Column]:
    """Columns every generated area (sub-district, community) has: names, label point, GeoJSON."""
    return [
        Column("name_zh", String(64), nullable=False),
        Column("name_en", String(64), nullable=False),
        Column("generated", Boolean, nullable=False, default=True),
        Column("label_lon", Float, nullable=False),
        Column("label_lat", Float, nullable=False),
        Column("geometry", Text, nullable=False, comment="GeoJSON"),
    ]


districts = Table(
    "districts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, comment="adcode"),
    Column("name_zh", String(64), nullable=False),
    Column("name_en", String(64), nullable=False),
    Column("population", Integer, nullable=False, comment="official census residents"),
    Column("residents", Integer, nullable=False, default=0, comment="persons registered here"),
    Column("label_lon", Float, nullable=False),
    Column("label_lat", Float, nullable=False),
    Column("geometry", Text, nullable=False, comment="GeoJSON"),
)

subdistricts = Table(
    "subdistricts", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False, comment="adcode*1000+n"),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False, index=True),
    *area_columns(),
)

communities = Table(
    "communities", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False,
           comment="subdistrict*1000+n"),
    Column("subdistrict_id", BigInteger, ForeignKey("subdistricts.id"), nullable=False, index=True),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    *area_columns(),
)

buildings = Table(
    "buildings", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("community_id", BigInteger, ForeignKey("communities.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
)

venues = Table(
    "venues", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    Column("subdistrict_id", BigInteger, ForeignKey("subdistricts.id"), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("mobile", Boolean, nullable=False, default=False, comment="bus or taxi"),
    Index("ix_venues_district_kind", "district_id", "kind"),
)

# A venue operator's application for a code (issue 17): the district approves it (a venue and its
# code are made) or refuses it with a reason; the contact is purged with the retention window.
venue_applications = Table(
    "venue_applications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("address", String(200), nullable=False),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    Column("subdistrict_id", BigInteger, ForeignKey("subdistricts.id"), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("contact_name", String(32), nullable=False),
    Column("contact_phone", String(20), nullable=False),
    Column("state", String(12), nullable=False, default="pending",
           comment="pending | approved | refused"),
    Column("reason", Text, nullable=False, default="", comment="why refused"),
    Column("submitted_at", Timestamp, nullable=False),
    Column("decided_at", Timestamp),
    Column("decided_by", String(64)),
    Column("venue_id", BigInteger, ForeignKey("venues.id"), comment="the venue it made"),
    Index("ix_venue_applications_district_state", "district_id", "state"),
)

persons = Table(
    "persons", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_key", String(32), nullable=False),
    Column("district_id", Integer, ForeignKey("districts.id")),
    Column("community_id", BigInteger, ForeignKey("communities.id")),
    Column("building_id", BigInteger, ForeignKey("buildings.id")),
    Column("birth_year", SmallInteger),
    Column("health_code", String(8), nullable=False, default="green"),
    Column("health_code_since", Timestamp),
    Column("last_test_at", Timestamp,
           comment="latest tests.sampled_at of any kind and result (testing progress, issue 8)"),
    Index("ux_persons_person_key", "person_key", unique=True),
    Index("ix_persons_health_district", "health_code", "district_id"),
    # covering: testing progress counts a district's residents per community and building, and
    # how recently each was tested, from this index alone (no tests, no table rows)
    Index("ix_persons_district_community_building_test", "district_id", "community_id",
          "building_id", "last_test_at"),
)

scans = Table(
    "scans", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("scan_id", String(64), nullable=False),
    Column("venue_id", BigInteger, ForeignKey("venues.id"), nullable=False),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("ts", Timestamp, nullable=False),
    Column("checkout_ts", Timestamp),
    Column("verdict", String(8), nullable=False),
    Column("reasons", String(128), nullable=False, default="", comment="comma-separated rule ids"),
    Column("temperature_c", Float),
    Column("mask", Boolean),
    Column("credential", String(24)),
    # (scan_id, ts), not scan_id alone: every unique index of a partitioned table holds the
    # partition key, and ON CONFLICT names this one on both databases. The ingest answers a
    # scan_id sent again with another time as a conflict, so scan_id stays unique in practice.
    Index("ux_scans_scan_id_ts", "scan_id", "ts", unique=True),
    # covering: contact tracing reads who was at a venue when, and where a person went,
    # without touching the table
    Index("ix_scans_venue_ts_person", "venue_id", "ts", "person_id", "checkout_ts"),
    Index("ix_scans_person_ts_venue", "person_id", "ts", "venue_id", "checkout_ts"),
    Index("ix_scans_red_ts", "ts", sqlite_where=text("verdict = 'red'"),
          postgresql_where=text("verdict = 'red'")),  # the wall's ticker; red rows only
    # contact tracing: the few scans with a check-out, whose stay may be longer than the dwell
    Index("ix_scans_checkout_venue_ts", "venue_id", "ts", "person_id", "checkout_ts",
          sqlite_where=text("checkout_ts IS NOT NULL"),
          postgresql_where=text("checkout_ts IS NOT NULL")),
    postgresql_partition_by="RANGE (ts)",
    info={"postgresql_primary_key": ("id", "ts")},
)
event.listen(scans, "after_create", DDL(
    f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF scans DEFAULT").execute_if(
    dialect="postgresql"))


@compiles(PrimaryKeyConstraint, "postgresql")
def _primary_key(constraint: PrimaryKeyConstraint, compiler, **kw) -> str:
    """A partitioned table's primary key must hold its partition key: `info` names the columns
    (the metadata keeps `id` alone, which SQLite needs for its autoincrementing rowid)."""
    columns = constraint.table.info.get("postgresql_primary_key")
    if not columns:
        return compiler.visit_primary_key_constraint(constraint, **kw)
    return (compiler.define_constraint_preamble(constraint, **kw)
            + f"PRIMARY KEY ({', '.join(columns)})")

# A phone that registered once on the scan page (/s/<code>): the phone keeps a random token, the
# server its hash and the person; the ID number itself is never stored, the phone number only
# sealed (Fernet, for SMS notices).
phone_registrations = Table(
    "phone_registrations", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True, comment="SHA-256 hex"),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False, index=True),
    Column("phone_sealed", Text, comment="Fernet token of the phone number; NULL if not given"),
    Column("created_at", Timestamp, nullable=False),
    Column("last_used_at", Timestamp, nullable=False),
)

health_codes = Table(
    "health_codes", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("colour", String(8), nullable=False),
    Column("since", Timestamp, nullable=False),
    Column("reason", String(64), nullable=False, default=""),
    Index("ux_health_codes_person_since", "person_id", "since", "colour", unique=True),
)

tests = Table(
    "tests", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("kind", String(12), nullable=False, comment="nucleic | antigen"),
    Column("sampled_at", Timestamp, nullable=False),
    Column("result", String(12), nullable=False, comment="negative | positive | pending"),
    Column("site", String(64)),
    Column("lab", String(64)),
    Index("ux_tests_person_kind_sampled", "person_id", "sampled_at", "kind", unique=True),
    # covering: today's throughput per sampling site reads one day's range of this index
    Index("ix_tests_sampled_site", "sampled_at", "site"),
)

vaccinations = Table(
    "vaccinations", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("dose", SmallInteger, nullable=False),
    Column("vaccinated_on", Date, nullable=False),
    Index("ux_vaccinations_person_dose", "person_id", "dose", unique=True),
)

arrivals = Table(
    "arrivals", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("arrived_at", Timestamp, nullable=False),
    Column("origin", String(64), nullable=False),
    Column("key_area", Boolean, nullable=False, default=False),
    Column("stay_kind", String(8), nullable=False, comment="hotel | home"),
    Column("monitoring_days", SmallInteger, nullable=False, default=0),
    Column("address", String(128), nullable=False, default="", comment="hotel or home address"),
    Index("ux_arrivals_person_arrived", "person_id", "arrived_at", unique=True),
)

hotel_stays = Table(
    "hotel_stays", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("venue_id", BigInteger, ForeignKey("venues.id"), nullable=False, comment="the hotel"),
    Column("check_in", Timestamp, nullable=False),
    Column("check_out", Timestamp),
    Index("ux_hotel_stays_person_venue_in", "person_id", "venue_id", "check_in", unique=True),
)

volunteer_passes = Table(
    "volunteer_passes", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("pass_id", String(32), nullable=False, unique=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False, index=True),
    Column("organisation", String(64), nullable=False, default=""),
    Column("issued_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
)

sampling_sites = Table(
    "sampling_sites", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True, comment="tests.site names it"),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    Column("subdistrict_id", BigInteger, ForeignKey("subdistricts.id"), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("capacity_per_day", Integer, nullable=False, comment="samples a day"),
)

# A community's batch plan for a testing round: buildings go down in batches by time slot,
# each batch told by SMS (seed 000, Xuhui's 居村微平台).
test_batches = Table(
    "test_batches", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("community_id", BigInteger, ForeignKey("communities.id"), nullable=False),
    Column("round_start", Timestamp, nullable=False, comment="tests from here on count"),
    Column("batch_no", SmallInteger, nullable=False),
    Column("slot_start", Timestamp, nullable=False),
    Column("slot_end", Timestamp, nullable=False),
    Column("building_ids", Text, nullable=False, comment="comma-separated buildings.id"),
    Column("message", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("notified_at", Timestamp),
    Column("notified_by", String(64)),
    Index("ux_test_batches_community_round_batch", "community_id", "round_start", "batch_no",
          unique=True),
)

key_persons = Table(
    "key_persons", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("category", String(20), nullable=False,
           comment="close_contact | secondary_contact | managed (the management list)"),
    Column("since", Timestamp, nullable=False),
    Column("until", Timestamp, comment="open-ended when NULL"),
    Column("reason", String(200), nullable=False, default=""),
    Column("added_by", String(64), nullable=False, default=""),
    Index("ux_key_persons_person_category_since", "person_id", "category", "since", unique=True),
)

person_status = Table(
    "person_status", metadata,
    Column("person_id", BigInteger, ForeignKey("persons.id"), primary_key=True,
           autoincrement=False),
    Column("verdict", String(8), nullable=False, comment="as of evaluated_at, at a plain venue"),
    Column("reasons", String(128), nullable=False, default=""),
    Column("doses", SmallInteger, nullable=False, default=0),
    Column("negative_test_at", Timestamp),
    Column("key_until", Timestamp, comment="key person (test rule applies) until"),
    Column("monitoring_until", Timestamp, comment="home monitoring after a key-area arrival"),
    Column("hotel_venue_id", BigInteger, comment="where a monitored arrival may be"),
    Column("managed", Boolean, nullable=False, default=False),
    Column("evaluated_at", Timestamp, nullable=False),
    Column("rule_version", Integer, nullable=False),
    Index("ix_person_status_verdict", "verdict"),
)

rules = Table(
    "rules", metadata,
    Column("rule_id", String(32), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("params", Text, nullable=False, comment="JSON"),
    Column("version", Integer, nullable=False),
)

rule_versions = Table(
    "rule_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False),
    Column("rule_id", String(32), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("params", Text, nullable=False, comment="JSON"),
    Column("changed_by", String(64), nullable=False),
    Column("changed_at", Timestamp, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_rule_versions_version", "version"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("scan_id", BigInteger, nullable=False, unique=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("venue_id", BigInteger, ForeignKey("venues.id"), nullable=False),
    Column("district_id", Integer, nullable=False, comment="the venue's"),
    Column("community_id", BigInteger, comment="the person's home, if known"),
    Column("rules", String(128), nullable=False, comment="comma-separated rule ids"),
    Column("ts", Timestamp, nullable=False),
    Index("ix_alerts_district_ts", "district_id", "ts"),
    # SQLite only: on PostgreSQL scans.id is unique by its sequence but not by an index of its
    # own (partitioned), and a foreign key needs one (revision 0002)
    ForeignKeyConstraint(["scan_id"], ["scans.id"]).ddl_if(dialect="sqlite"),
)

webhooks = Table(
    "webhooks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("level", String(12), nullable=False, comment="district | community"),
    Column("area_id", BigInteger, comment="NULL: the default for every area of this level"),
    Column("url", String(300), nullable=False,
           comment="may contain {district_id} / {community_id}"),
    Column("active", Boolean, nullable=False, default=True),
)

outbox = Table(
    "outbox", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id"), index=True,
           comment="NULL for an SMS of a testing batch"),
    Column("receiver", String(40), nullable=False, comment="district:ID | community:ID | sms"),
    Column("url", String(300), nullable=False),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("payload", Text, nullable=False, comment="JSON"),
    Column("state", String(12), nullable=False, default="pending",
           comment="pending | delivered"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("last_error", String(200), nullable=False, default=""),
    Column("created_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(12), nullable=False, comment="device | feed | partner | wall"),
    Column("name", String(64), nullable=False, default=""),
    Column("district_id", Integer, comment="scope; NULL is the whole city"),
    Column("token_hash", String(64), nullable=False, unique=True, comment="SHA-256 hex"),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(24), nullable=False),
    # no foreign key: users outlive a rebuilt city (checked against districts on create)
    Column("district_id", Integer),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Timestamp, nullable=False),
    Column("last_login_at", Timestamp),
)

login_sessions = Table(
    "login_sessions", metadata,
    # A login lives here, not only in its signed cookie: logout, a password change or a
    # deactivated user delete the row; a replayed cookie finds nothing (placecode.auth.sessions).
    Column("sid_hash", String(64), primary_key=True, comment="SHA-256 hex of the session id"),
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ts", Timestamp, nullable=False),
    Column("user_id", Integer),
    Column("username", String(64), nullable=False),
    Column("action", String(48), nullable=False),
    Column("subject", String(128), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_audit_log_ts", "ts"),
)

PERSONS_COMMENT = ("distinct persons in the cell; NULL until counted, a lower bound while the "
                   "day is live")

rollup_venue_day = Table(
    "rollup_venue_day", metadata,
    Column("venue_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("scans", Integer, nullable=False, default=0),
    Column("red", Integer, nullable=False, default=0),
    Column("yellow", Integer, nullable=False, default=0),
    Column("seq", BigInteger, comment="epoch ms of the last write: the wall asks what changed"),
    Index("ix_rollup_venue_day_day_seq", "day", "seq"),
)

rollup_district_hour = Table(
    "rollup_district_hour", metadata,
    Column("district_id", Integer, primary_key=True),
    Column("hour", Timestamp, primary_key=True),
    Column("scans", Integer, nullable=False, default=0),
    Column("red", Integer, nullable=False, default=0),
    Column("yellow", Integer, nullable=False, default=0),
    Index("ix_rollup_district_hour_hour", "hour"),
)

rollup_industry_district_day = Table(
    "rollup_industry_district_day", metadata,
    Column("kind", String(16), primary_key=True),
    Column("district_id", Integer, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("scans", Integer, nullable=False, default=0),
    Column("red", Integer, nullable=False, default=0),
    Column("yellow", Integer, nullable=False, default=0),
    Column("persons", Integer, comment=PERSONS_COMMENT),
)

# Foot traffic for planners (issue 8): scans are counted by the ingest, distinct persons by
# placecode.economy.rollups, so that small cells can be suppressed without reading scans.
rollup_industry_subdistrict_day = Table(
    "rollup_industry_subdistrict_day", metadata,
    Column("kind", String(16), primary_key=True),
    Column("subdistrict_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("district_id", Integer, nullable=False),
    Column("scans", Integer, nullable=False, default=0),
    Column("persons", Integer, comment=PERSONS_COMMENT),
    Index("ix_rollup_industry_subdistrict_day_day", "day"),
)

rollup_industry_district_hour = Table(
    "rollup_industry_district_hour", metadata,
    Column("kind", String(16), primary_key=True),
    Column("district_id", Integer, primary_key=True),
    Column("hour", Timestamp, primary_key=True),
    Column("scans", Integer, nullable=False, default=0),
    Column("persons", Integer, comment=PERSONS_COMMENT),
    Index("ix_rollup_industry_district_hour_hour", "hour"),
)

ROLLUPS = (rollup_venue_day, rollup_district_hour, rollup_industry_district_day,
           rollup_industry_subdistrict_day, rollup_industry_district_hour)

# -- dispatch: incidents, units, staff and the morning roll-call (issue 7) ----------------------

incidents = Table(
    "incidents", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id"), nullable=False, unique=True),
    Column("venue_id", BigInteger, ForeignKey("venues.id"), nullable=False),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("district_id", Integer, nullable=False, comment="the venue's"),
    Column("state", String(12), nullable=False, comment="placecode.dispatch.incidents.STATES"),
    Column("state_since", Timestamp, nullable=False),
    Column("opened_at", Timestamp, nullable=False),
    Column("unit_id", Integer, comment="while dispatched / picked up"),
    Column("outcome", String(24)),
    Column("version", Integer, nullable=False, default=1, comment="optimistic lock"),
    Index("ix_incidents_district_state", "district_id", "state"),
)

incident_events = Table(
    "incident_events", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False),
    Column("ts", Timestamp, nullable=False),
    Column("username", String(64), nullable=False),
    Column("from_state", String(12)),
    Column("to_state", String(12), nullable=False),
    Column("unit_id", Integer),
    Column("note", String(300), nullable=False, default=""),
    Index("ix_incident_events_incident", "incident_id", "ts"),
    Index("ix_incident_events_ts", "ts"),
)

units = Table(
    "units", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(24), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False,
           comment="pickup | medical | police | community"),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    Column("subdistrict_id", Integer, ForeignKey("subdistricts.id"), nullable=False),
    Column("status", String(16), nullable=False, default="available",
           comment="available | committed | responding | on_scene | out_of_service"),
    Column("incident_id", BigInteger, comment="the incident it is committed to"),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("status_since", Timestamp, nullable=False),
    Index("ix_units_district_status", "district_id", "status"),
)

staff = Table(
    "staff", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    Column("subdistrict_id", Integer, ForeignKey("subdistricts.id"), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id")),
    Column("username", String(64), comment="the login a field staff member answers with"),
    Column("active", Boolean, nullable=False, default=True),
    Index("ix_staff_district", "district_id"),
)

roll_calls = Table(
    "roll_calls", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("district_id", Integer, ForeignKey("districts.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("opened_at", Timestamp, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Index("ux_roll_calls_district_day", "district_id", "day", unique=True),
)

roll_call_answers = Table(
    "roll_call_answers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("roll_call_id", Integer, ForeignKey("roll_calls.id"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("present", Boolean, nullable=False),
    Column("reason", String(120), nullable=False, default=""),
    Column("lon", Float),
    Column("lat", Float),
    Column("answered_at", Timestamp, nullable=False),
    Index("ux_roll_call_answers_call_staff", "roll_call_id", "staff_id", unique=True),
)

denylist = Table(
    "denylist", metadata,
    Column("person_id", BigInteger, ForeignKey("persons.id"), primary_key=True,
           autoincrement=False),
    Column("reasons", String(128), nullable=False, default="", comment="rule ids"),
    Column("since", Timestamp, nullable=False, comment="on the list since"),
    Column("active", Boolean, nullable=False),
    Column("seq", BigInteger, nullable=False,
           comment="epoch ms of the last change: partners pull ?since= this"),
    Index("ix_denylist_seq", "seq"),
)

postgis.register(metadata)
