"""`placecode trace PERSON` as a duty officer runs it: one row per contact with tier, venue code
and contact time, audited; one clear line for a wrong ID or a window beyond retention."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pandas as pd
from sqlalchemy import func, select

from placecode.clock import city_now
from placecode.db import schema as t
from placecode.db.engine import get_engine
from placecode.tracing.contacts import trace_contacts
from tests.cli.conftest import run
from tests.cli.test_cli import assert_one_line_error


def busiest_person(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(t.scans.c.person_id).group_by(t.scans.c.person_id)
                            .order_by(func.count().desc()).limit(1)).scalar_one()


def test_cli_trace_lists_contacts_and_audits_the_look(city):
    engine = get_engine(f"sqlite:///{city / 'placecode.db'}")
    person = busiest_person(engine)
    people = pd.read_parquet(city / "demo-people.parquet")
    id_number = people.set_index("person_id").loc[person, "id_number"]
    result = run(city, "trace", id_number, "--days", "14")
    assert result.returncode == 0, result.stderr
    shown = pd.read_csv(io.StringIO(result.stdout))
    assert list(shown.columns) == ["tier", "person_key", "venue_code", "contact_at", "via"]
    with engine.connect() as conn:
        expected = trace_contacts(conn, person, city_now())
        codes = set(conn.execute(select(t.venues.c.code)).scalars())
        audit = conn.execute(select(t.audit_log.c.action, t.audit_log.c.subject)
                             .order_by(t.audit_log.c.id.desc()).limit(1)).one()
    assert len(shown) == len(expected) > 0
    assert set(shown["tier"]) <= {"close", "secondary"} and shown["person_key"].is_unique
    assert set(shown["venue_code"]) <= codes
    assert id_number not in result.stdout  # pseudonymous keys only
    assert audit.action == "trace" and audit.subject.startswith("person ")
    as_json = json.loads(run(city, "trace", id_number, "--format", "json").stdout)
    assert len(as_json) == len(shown)
    cutoff = city_now() - timedelta(days=14)
    assert (pd.to_datetime(shown["contact_at"]) >= cutoff - timedelta(hours=12)).all()


def test_cli_trace_unknown_person_and_bad_window_are_one_clear_line(city):
    assert_one_line_error(run(city, "trace", "000000000000000000"), "no person", "ID number")
    assert_one_line_error(run(city, "trace", "000000000000000000", "--days", "400"),
                          "--days", "retention")
