"""`placecode demo`: build a deterministic demo city into the database, fast.

Same seed and same `now` give the same rows. Large tables are loaded with their secondary indexes
dropped and rebuilt afterwards (executemany on SQLite, COPY on PostgreSQL).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, delete, insert, inspect, select, text
from tqdm import tqdm

from placecode.auth.users import create_user, ensure_admin, random_password, write_private
from placecode.clock import city_now
from placecode.db import schema as t
from placecode.db.bulk import (
    bulk_insert,
    restore_checks,
    sqlite_foreign_keys,
    suspend_checks,
    sync_id_sequence,
)
from placecode.db.engine import check_connection, init_db
from placecode.demo import activity, backfill, people, places, sharing
from placecode.demo.geography import load_districts
from placecode.demo.presets import Preset, get_preset
from placecode.demo.units import make_units
from placecode.rules.status import reevaluate_all
from placecode.testing.progress import last_tests

DEMO_USERS = (  # username, role, district (index into the city's districts, or None)
    ("commander", "city_commander", None),
    ("district", "district_commander", 0),
    ("officer", "duty_officer", 0),
    ("planner", "planner", None),
    ("field", "field_staff", 0),
)


class DemoError(RuntimeError):
    """The demo cannot be built as asked; the message says what to do."""


@dataclass
class BuildReport:
    city: str
    preset: str
    reused: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


# Everything the demo rebuilds; accounts, tokens, rules, receivers and the audit log outlive it.
KEPT_TABLES = ("users", "audit_log", "api_tokens", "rules", "rule_versions", "webhooks")
CITY_TABLES = [table for table in t.metadata.sorted_tables if table.name not in KEPT_TABLES]


def city_state(engine: Engine) -> tuple[str, dict[str, str]]:
    """('empty' | 'incomplete' | 'complete', meta): a city is complete once `built_at` is set,
    which the build writes last."""
    tables = set(inspect(engine).get_table_names())
    if "districts" not in tables:
        return "empty", {}
    with engine.connect() as conn:
        meta = dict(conn.execute(select(t.meta.c.key, t.meta.c.value)).all())
        has_rows = conn.execute(select(t.districts.c.id).limit(1)).first() is not None
    if "built_at" in meta:
        return "complete", meta
    return ("incomplete" if has_rows or meta else "empty"), meta


def parse_now(value: str | None, tz: str) -> np.datetime64:
    """The demo's 'now' as naive city-local time, to the second (default: the clock, in `tz`)."""
    if value is None:
        local = city_now(tz)
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise DemoError(f"--now {value!r}: use ISO 8601, e.g. 2026-11-23T15:00+08:00") from None
        local = parsed.astimezone(ZoneInfo(tz)).replace(tzinfo=None) if parsed.tzinfo else parsed
    return np.datetime64(local.replace(microsecond=0), "s")


def build_demo(
    engine: Engine,
    *,
    preset: str | Preset = "small",
    city: str = "weihai",
    days: int | None = None,
    seed: int = 7,
    now: np.datetime64,
    secret: str,
    instance: Path,
    replace: bool = False,
    if_missing: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Build the demo city; see the module docstring. Returns counts and timings per step."""
    spec = get_preset(preset) if isinstance(preset, str) else preset
    days = spec.default_days if days is None else days
    if days < 1 or days > 60:
        raise DemoError(f"--days {days}: choose between 1 and 60")
    report = BuildReport(city=city, preset=spec.name)
    check_connection(engine)
    state, existing = city_state(engine)
    if state == "complete":
        if if_missing:
            report.reused = True
            report.messages.append(
                f"reusing the {existing.get('city', '?')} city "
                f"(preset {existing.get('preset', '?')}, scans up to {existing.get('now', '?')});"
                " `placecode demo --replace` rebuilds it"
            )
            return report
        if not replace:
            raise DemoError("the database already holds a city: add --replace to rebuild it "
                            "(this deletes its data) or --if-missing to keep it")
    elif state == "incomplete":
        if not (replace or if_missing):
            raise DemoError("the database holds a half-built city (a build was interrupted): "
                            "add --replace to rebuild it")
        report.messages.append("rebuilding a half-built city (an earlier build was interrupted)")
        replace = True

    rng = np.random.default_rng(seed)
    step = _stepper(report, progress)
    with step("geography"):
        districts = load_districts(city)
        samplers = places.make_samplers(districts, rng)
        subdistricts = places.make_subdistricts(districts, samplers, spec)
        communities = places.make_communities(subdistricts, spec, rng)
        residents = places.split_by_share(spec.residents, districts["population"].to_numpy(float))
        buildings = places.make_buildings(districts, samplers, communities, spec, residents)
        venues = places.make_venues(districts, samplers, subdistricts, spec, rng)
    with step("persons"):
        persons = people.make_persons(buildings, residents, districts["adcode"].to_numpy(),
                                      now, secret, rng)
    with step("scans"):
        passes = people.make_volunteer_passes(persons, now, np.random.default_rng(seed + 2))
        spool = activity.ScanSpool(instance)
        population = activity.Population.of(persons, venues)
        today = now.astype("datetime64[D]")

        def make_day(day: np.datetime64):
            scans = activity.scan_day(population, day, spec.scans_per_day, now, rng)
            if day == today:
                scans = sharing.add_shared_pass_scans(scans, passes, venues, now,
                                                      np.random.default_rng(seed + 3))
            activity.check_keys(scans, persons, venues)
            return scans

        spool.fill(activity.scan_days(days, now), make_day)
        rollups = spool.rollups()
        served = min(days, spec.served_days)  # the rest waits for `placecode demo --backfill`
    with step("health facts"):
        first_day = now.astype("datetime64[D]") - max(days, 3) + 1
        facts = {
            t.health_codes: people.make_health_codes(persons),
            t.sampling_sites: _cols(sites := places.make_sampling_sites(
                communities, persons, rng), list(t.sampling_sites.c.keys())),
            t.tests: people.make_tests(persons, sites, first_day.astype("datetime64[s]"), now,
                                       rng, daily=passes["person_id"]),
            t.vaccinations: people.make_vaccinations(persons, now, rng),
            t.arrivals: (arrivals := people.make_arrivals(persons, now, rng)),
            t.hotel_stays: people.make_hotel_stays(arrivals, persons, venues, rng),
            t.key_persons: people.make_key_persons(persons, now, rng),
            t.volunteer_passes: passes,
        }

    if replace:  # only now: a failure while generating leaves the old city in place
        t.metadata.drop_all(engine, tables=CITY_TABLES)
        backfill.discard(instance)
    init_db(engine)
    with engine.connect() as conn, step("load"):
        sqlite_foreign_keys(conn, on=False)
        d_rows = places.cell_rows(districts.rename(columns={"adcode": "id"}),
                                  ["id", "name_zh", "name_en", "population"])
        d_rows["residents"] = residents.tolist()
        loads = [
            (t.districts, d_rows),
            (t.subdistricts, places.cell_rows(
                subdistricts, ["id", "district_id", "name_zh", "name_en"])
             | {"generated": [True] * len(subdistricts)}),
            (t.communities, places.cell_rows(
                communities, ["id", "subdistrict_id", "district_id", "name_zh", "name_en"])
             | {"generated": [True] * len(communities)}),
            (t.buildings, _cols(buildings, ["id", "community_id", "name", "lon", "lat"])),
            (t.venues, _cols(venues, ["id", "code", "name", "kind", "district_id",
                                      "subdistrict_id", "lon", "lat", "mobile"])),
            (t.persons, _cols(persons, ["id", "person_key", "district_id", "community_id",
                                        "building_id", "birth_year", "health_code"])
             | {"health_code_since": persons["health_code_since"].to_numpy("datetime64[s]"),
                "last_test_at": last_tests(persons["id"], facts[t.tests]["person_id"],
                                           facts[t.tests]["sampled_at"])}),
            (t.scans, spool),
            *facts.items(),
            *((getattr(t, name), _cols(frame, list(frame.columns), dates=("day",)))
              for name, frame in rollups.items()),
        ]
        total = sum(spool.rows(served) if cols is spool else len(next(iter(cols.values())))
                    for _, cols in loads)
        with tqdm(total=total, unit=" rows", unit_scale=True, desc="loading",
                  disable=not progress, file=sys.stderr) as bar:
            for table, cols in loads:
                suspend_checks(conn, table)
                report.counts[table.name] = sum(
                    bulk_insert(conn, table, chunk, bar.update)
                    for chunk in (cols.chunks(served) if cols is spool else [cols]))
        conn.commit()
        waiting = spool.keep(days - served, backfill.backlog(instance))
        spool.close()
    with engine.connect() as conn, step("indexes"):
        for table, _ in loads:
            restore_checks(conn, table)
            sync_id_sequence(conn, table)
        conn.commit()
        # the scans' keys were checked as they were generated (activity.check_keys)
        sqlite_foreign_keys(conn, on=True, verify=[tb for tb, _ in loads if tb is not t.scans])
        conn.execute(text("ANALYZE"))
        _demo_webhooks(conn)
        report.counts["units"], report.counts["staff"] = make_units(
            conn, now.astype("datetime64[s]").item(), np.random.default_rng(seed + 1))
        conn.commit()
    with step("status"):
        reevaluate_all(engine, now, progress=progress)
    _write_demo_people(instance, persons)
    built_at = datetime.now().astimezone().isoformat(timespec="seconds")
    if waiting:
        backfill.stamp(instance, built_at)
        report.messages.append(
            f"the scans of the {len(waiting)} oldest days wait for `placecode demo --backfill` "
            "(`make run` starts it beside the server); their rollups are loaded")
    with engine.begin() as conn:  # `built_at` in meta, written last, marks the city complete
        conn.execute(insert(t.meta), [
            {"key": k, "value": str(v)} for k, v in {
                "city": city, "city_name_zh": districts["city_name_zh"].iloc[0],
                "city_name_en": districts["city_name_en"].iloc[0], "preset": spec.name,
                "seed": seed, "days": days, "now": str(now),
                "built_at": built_at,
            }.items()
        ])
    with step("users"):
        _demo_users(engine, instance, districts["adcode"].tolist(), report)
    return report


def _cols(frame, names: list[str], dates: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    out = {}
    for n in names:
        col = frame[n]
        out[n] = col.to_numpy("datetime64[D]") if n in dates else col.to_numpy()
    return out


def _stepper(report: BuildReport, progress: bool) -> Callable:
    @contextmanager
    def step(name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        report.seconds[name] = round(time.perf_counter() - start, 2)
        if progress:
            print(f"  {name:<13} {report.seconds[name]:7.1f} s", file=sys.stderr)
    return step


def _demo_users(engine: Engine, instance: Path, district_ids: list[int], report: BuildReport):
    """Admin (first run) plus one user per role, random passwords in a 0600 file."""
    message = ensure_admin(engine, instance)
    if message:
        report.messages.append(message)
    lines = []
    with engine.begin() as conn:
        for username, role, district in DEMO_USERS:
            password = random_password()
            did = None if district is None else district_ids[district]
            conn.execute(delete(t.users).where(t.users.c.username == username))
            create_user(conn, username, role, password, did)
            lines.append(f"{username}\t{role}\t{password}")
    admin_file = instance / "admin-password.txt"
    if admin_file.exists():  # the first admin, created on this or an earlier first run
        name, password = admin_file.read_text().split()[:2]
        lines.insert(0, f"{name}\tadmin\t{password}")
    write_private(instance / "demo-logins.txt",
                  "username\trole\tpassword\n" + "\n".join(lines) + "\n")


DEMO_RECEIVER = "http://127.0.0.1:8061"  # `placecode receiver`, started by `make run`
DEMO_PEOPLE = "demo-people.parquet"


def _demo_webhooks(conn) -> None:
    """Point alerts at the local demo receiver, unless receivers are configured already."""
    if conn.execute(select(t.webhooks.c.id).limit(1)).first() is None:
        conn.execute(insert(t.webhooks), [
            {"level": "district", "area_id": None, "active": True,
             "url": DEMO_RECEIVER + "/district/{district_id}"},
            {"level": "community", "area_id": None, "active": True,
             "url": DEMO_RECEIVER + "/community/{community_id}"},
        ])


def _write_demo_people(instance: Path, persons) -> None:
    """The synthetic ID numbers, so that the simulator and a tester can name demo persons (the
    database holds only their keyed hashes). Demo data only, private to the instance owner."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / DEMO_PEOPLE
    persons[["id", "id_number", "district_id", "health_code"]].rename(
        columns={"id": "person_id"}).to_parquet(path, index=False)
    path.chmod(0o600)


def demo_logins(instance: Path) -> str | None:
    """The demo logins file's text, if the demo wrote one."""
    path = instance / "demo-logins.txt"
    return path.read_text() if path.exists() else None

