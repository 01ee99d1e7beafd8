"""Retention: `placecode purge` removes personal rows older than PLACECODE_RETENTION_DAYS and
audit rows older than PLACECODE_AUDIT_RETENTION_DAYS; the rollups (aggregates) stay.

What goes, and what deliberately stays:

- scans (whole daily partitions on PostgreSQL), tests, arrivals, hotel stays, expired volunteer
  passes, superseded health codes, delivered pushes and old SMS; alerts with their incidents,
  steps and pushes once the case is final; phones registered on the scan page and not used
  since; decided applications for a venue code (with the operator's contact; the venue stays).
- An open incident holds its day back: nothing from the day of the oldest open incident's alert
  on is purged from scans/alerts, so a case still being handled keeps its evidence. The report
  says so.
- Each person's latest health code and every vaccination dose stay: the verdict rules read them
  (dose counts never expire), and they come from the health system's feeds.
- persons (pseudonymous keys), person_status (the current verdict) and every rollup_* stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, and_, delete, exists, func, select
from sqlalchemy.orm import aliased

from placecode.auth import audit
from placecode.db import schema as t
from placecode.db.partitions import drop_scan_partitions_before
from placecode.dispatch.incidents import FINAL


@dataclass
class PurgeReport:
    keep_from: date  # the first day kept of personal rows
    audit_keep_from: date
    held_from: date | None = None  # an open incident holds scans and alerts from this day on
    removed: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"kept personal rows from {self.keep_from}, audit rows from "
               f"{self.audit_keep_from}"]
        if self.held_from:
            out.append(f"an open incident holds scans and alerts from {self.held_from} on "
                       "(close or cancel it to let them go)")
        out += [f"  {table}: {n:,} rows removed" for table, n in self.removed.items()]
        return out


def purge(engine: Engine, now: datetime, retention_days: int, audit_retention_days: int,
          username: str = "purge") -> PurgeReport:
    """Delete what is past retention in one transaction (all or nothing) and audit it."""
    keep_from = (now - timedelta(days=retention_days)).date()
    report = PurgeReport(keep_from, (now - timedelta(days=audit_retention_days)).date())
    cutoff = datetime.combine(keep_from, time())
    removed = report.removed
    with engine.begin() as conn:
        def rows(statement) -> int:
            return conn.execute(statement).rowcount

        oldest_open = conn.execute(
            select(func.min(t.alerts.c.ts)).select_from(
                t.incidents.join(t.alerts, t.alerts.c.id == t.incidents.c.alert_id))
            .where(t.incidents.c.state.not_in(FINAL))).scalar()
        held = cutoff
        if oldest_open is not None:
            oldest = datetime.fromisoformat(str(oldest_open))
            if oldest < cutoff:
                held = datetime.combine(oldest.date(), time())
                report.held_from = held.date()

        old_alerts = select(t.alerts.c.id).where(t.alerts.c.ts < held)
        old_incidents = select(t.incidents.c.id).where(t.incidents.c.alert_id.in_(old_alerts))
        removed["incident_events"] = rows(delete(t.incident_events).where(
            t.incident_events.c.incident_id.in_(old_incidents)))
        removed["incidents"] = rows(delete(t.incidents).where(
            t.incidents.c.alert_id.in_(old_alerts)))
        removed["outbox"] = rows(delete(t.outbox).where(
            t.outbox.c.alert_id.in_(old_alerts) | (
                ((t.outbox.c.state == "delivered") | t.outbox.c.alert_id.is_(None))
                & (t.outbox.c.created_at < cutoff))))
        removed["alerts"] = rows(delete(t.alerts).where(t.alerts.c.ts < held))
        removed["scans"] = drop_scan_partitions_before(conn, held.date())

        removed["tests"] = rows(delete(t.tests).where(t.tests.c.sampled_at < cutoff))
        removed["arrivals"] = rows(delete(t.arrivals).where(t.arrivals.c.arrived_at < cutoff))
        stays = t.hotel_stays.c
        removed["hotel_stays"] = rows(delete(t.hotel_stays).where(
            func.coalesce(stays.check_out, stays.check_in) < cutoff))
        removed["volunteer_passes"] = rows(delete(t.volunteer_passes).where(
            t.volunteer_passes.c.expires_on < keep_from))
        newer = aliased(t.health_codes)
        removed["health_codes"] = rows(delete(t.health_codes).where(
            t.health_codes.c.since < cutoff,
            exists(select(newer.c.id).where(and_(newer.c.person_id == t.health_codes.c.person_id,
                                                 newer.c.since > t.health_codes.c.since)))))
        removed["phone_registrations"] = rows(delete(t.phone_registrations).where(
            t.phone_registrations.c.last_used_at < cutoff))
        removed["venue_applications"] = rows(delete(t.venue_applications).where(
            t.venue_applications.c.decided_at < cutoff))
        removed["audit_log"] = rows(delete(t.audit_log).where(
            t.audit_log.c.ts < datetime.combine(report.audit_keep_from, time())))
        audit.record(conn, "purge", username=username,
                     subject=f"before {keep_from}" + (f" (held from {report.held_from})"
                                                      if report.held_from else ""),
                     detail=", ".join(f"{k} {v}" for k, v in removed.items()), now=now)
    if engine.dialect.name == "postgresql" and removed["scans"]:
        with engine.connect() as conn:  # autovacuum never analyzes a partitioned parent
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE scans")
    return report
