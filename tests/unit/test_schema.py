"""`placecode init-db` creates the contract tables and access-path indexes on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from placecode.db.engine import get_engine, init_db

CONTRACT_TABLES = {
    "districts", "subdistricts", "communities", "buildings", "venues", "persons", "scans",
    "health_codes", "tests", "vaccinations", "arrivals", "users", "audit_log",
    "rollup_venue_day", "rollup_district_hour", "rollup_industry_district_day",
}


def test_schema_init_db_creates_contract_tables_and_indexes(db_url):
    engine = get_engine(db_url)
    created = init_db(engine)
    assert CONTRACT_TABLES <= set(created)
    inspector = inspect(engine)
    scan_indexes = {tuple(i["column_names"]): i["unique"] for i in inspector.get_indexes("scans")}
    assert ("venue_id", "ts") in scan_indexes
    assert ("person_id", "ts") in scan_indexes
    assert bool(scan_indexes[("scan_id",)])
    assert init_db(engine) == []  # running it again changes nothing
