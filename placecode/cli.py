"""`placecode ...` commands. Errors print one line naming the problem and exit non-zero."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import date

from placecode.clock import city_now
from placecode.settings import Settings, SettingsError

EXIT_USAGE = 2


class CliError(RuntimeError):
    """A problem the user can fix; printed as one line."""


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(database_url=getattr(args, "db", None))


def _engine(settings: Settings):
    from placecode.db.engine import check_connection, get_engine

    engine = get_engine(settings.database_url)
    check_connection(engine)
    return engine


def cmd_init_db(args: argparse.Namespace) -> None:
    from placecode.auth.users import ensure_admin
    from placecode.db.engine import init_db, redact

    settings = _settings(args)
    engine = _engine(settings)
    created = init_db(engine)
    print(f"{redact(settings.database_url)}: "
          + (f"created {len(created)} tables" if created else "schema up to date"))
    message = ensure_admin(engine, settings.instance_path)
    if message:
        print(message)


def cmd_demo(args: argparse.Namespace) -> None:
    from placecode.demo.build import build_demo, demo_logins, parse_now
    from placecode.demo.presets import get_preset

    settings = _settings(args)
    if args.backfill:
        from placecode.demo.backfill import backfill
        print(backfill(_engine(settings), settings.instance_path, progress=not args.quiet).message)
        return
    preset = get_preset(args.preset)  # fail on a bad preset before touching the database
    engine = _engine(settings)
    report = build_demo(
        engine, preset=preset, city=args.city, days=args.days, seed=args.seed,
        now=parse_now(args.now, settings.timezone), secret=settings.secret_key,
        instance=settings.instance_path, replace=args.replace, if_missing=args.if_missing,
        progress=not args.quiet,
    )
    for line in report.messages:
        print(line)
    if not report.reused:
        rows = sum(report.counts.values())
        print(f"built the {args.city} demo ({preset.name}): {report.counts.get('venues', 0):,} "
              f"venues, {report.counts.get('persons', 0):,} persons, "
              f"{report.counts.get('scans', 0):,} scans, {rows:,} rows in "
              f"{report.total_seconds:.1f} s")
    logins = demo_logins(settings.instance_path)
    if logins:
        print(f"demo logins ({settings.instance_path / 'demo-logins.txt'}):")
        print(logins.rstrip())


def _background_workers(settings: Settings) -> list:
    """The outbox (alert pushes) and the foot-traffic recount, as started threads."""
    from placecode.db.engine import get_engine
    from placecode.dispatch.outbox import OutboxWorker
    from placecode.economy.rollups import PersonsWorker

    engine = get_engine(settings.database_url)
    clock = lambda: city_now(settings.timezone)  # noqa: E731
    workers = [OutboxWorker(engine, clock, max_backoff_s=settings.outbox_max_backoff_seconds,
                            secret=settings.secret_key),
               PersonsWorker(engine, clock, settings.economy_refresh_minutes * 60,
                             settings.retention_days)]
    for worker in workers:
        worker.start()
    return workers


def run_background() -> None:
    """The background process beside gunicorn (settings from the environment): the outbox and
    the recount threads, until SIGTERM."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    workers = _background_workers(Settings.load())
    stop.wait()
    for worker in workers:
        worker.stop()


def cmd_serve(args: argparse.Namespace) -> None:
    from app import create_app
    from placecode.auth.users import ensure_admin
    from placecode.db.engine import init_db

    settings = Settings.load(database_url=args.db, host=args.host, port=args.port)
    engine = _engine(settings)
    init_db(engine)
    message = ensure_admin(engine, settings.instance_path)
    if message:
        print(message)
    print(f"placecode serving http://{settings.host}:{settings.port}/  (Ctrl-C stops)", flush=True)
    if args.workers > 1:
        # gunicorn forks its workers from this process: no thread may hold a database lock (or
        # a pooled connection) at that moment, so the background work runs in its own process.
        import subprocess

        from placecode.serving import serve_gunicorn

        engine.dispose()
        background, parent = None, os.getpid()
        if not args.no_worker:
            background = subprocess.Popen(
                [sys.executable, "-c", "from placecode.cli import run_background; "
                 "run_background()"],
                env={**os.environ, "PLACECODE_DATABASE_URL": settings.database_url})
        try:
            serve_gunicorn(lambda: create_app(settings).server, settings.host, settings.port,
                           args.workers)
        finally:  # gunicorn's forked workers leave through here too: only the parent stops it
            if background is not None and os.getpid() == parent:
                background.terminate()
                background.wait(10)
        return
    workers = [] if args.no_worker else _background_workers(settings)
    try:
        create_app(settings).run(host=settings.host, port=settings.port, debug=False,
                                 threaded=True)
    finally:
        for worker in workers:
            worker.stop()


def cmd_issue_token(args: argparse.Namespace) -> None:
    from placecode.auth.tokens import TokenError, issue_token

    settings = _settings(args)
    engine = _engine(settings)
    try:
        with engine.begin() as conn:
            token, secret = issue_token(conn, args.kind, args.name or "", args.district,
                                        city_now(settings.timezone))
    except TokenError as exc:
        raise CliError(str(exc)) from None
    scope = f"district {token.district_id}" if token.district_id else "the whole city"
    print(f"{token.kind} token {token.id} for {scope} (shown once; revoke with "
          f"`placecode revoke-token {token.id}`):", file=sys.stderr)
    print(secret)


def cmd_revoke_token(args: argparse.Namespace) -> None:
    from placecode.auth.tokens import TokenError, revoke_token

    settings = _settings(args)
    try:
        with _engine(settings).begin() as conn:
            revoke_token(conn, args.id, city_now(settings.timezone))
    except TokenError as exc:
        raise CliError(str(exc)) from None
    print(f"revoked token {args.id}")


def cmd_import(args: argparse.Namespace) -> None:
    from pathlib import Path

    from tqdm import tqdm

    from placecode.ingest.feeds import FEEDS, FeedError, check_columns, import_file, read_file

    if args.kind not in FEEDS:
        raise CliError(f"unknown feed {args.kind!r}; feeds: {', '.join(FEEDS)}")
    settings = _settings(args)
    engine = _engine(settings)
    path = Path(args.path)
    try:
        frame = read_file(path)
        check_columns(args.kind, frame)
        with tqdm(total=len(frame), unit=" rows", unit_scale=True, desc=args.kind,
                  disable=args.quiet, file=sys.stderr) as bar:
            report = import_file(engine, args.kind, path, frame, secret=settings.secret_key,
                                 now=city_now(settings.timezone), timezone=settings.timezone,
                                 retention_days=settings.retention_days, progress=bar.update)
    except FeedError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.kind}: {report.rows:,} rows read, {report.valid:,} valid, {report.new:,} new, "
          f"{len(report.rejected):,} rejected in {report.seconds:.2f} s "
          f"({report.rows_per_s:,.0f} rows/s)")
    if report.rejected:
        print(f"rejected rows with line numbers and reasons: {path}.rejects.csv")
        for line, reason in report.rejected[:5]:
            print(f"  line {line}: {reason}")


def cmd_reevaluate(args: argparse.Namespace) -> None:
    import numpy as np

    from placecode.rules.status import reevaluate_all

    settings = _settings(args)
    engine = _engine(settings)
    result = reevaluate_all(engine, np.datetime64(city_now(settings.timezone), "s"),
                            progress=not args.quiet)
    print(f"re-evaluated {result.persons:,} persons in {result.seconds:.1f} s; flagged now: "
          + (", ".join(f"{v} {n:,}" for v, n in sorted(result.flagged.items())) or "none"))


def cmd_purge(args: argparse.Namespace) -> None:
    from placecode.retention import purge

    settings = _settings(args)
    report = purge(_engine(settings), city_now(settings.timezone), settings.retention_days,
                   settings.audit_retention_days)
    print("\n".join(report.lines()))


def cmd_backup(args: argparse.Namespace) -> None:
    from placecode.db.backup import backup
    from placecode.db.engine import redact

    settings = _settings(args)
    size = backup(settings.database_url, args.out)
    print(f"backed up {redact(settings.database_url)} to {args.out} ({size / 1e6:,.1f} MB)")


def cmd_restore(args: argparse.Namespace) -> None:
    from placecode.db.backup import restore
    from placecode.db.engine import redact

    settings = _settings(args)
    restore(settings.database_url, args.file, force=args.force)
    print(f"restored {args.file} into {redact(settings.database_url)}")


def cmd_copy_db(args: argparse.Namespace) -> None:
    import time

    from placecode.db.copy import copy_database
    from placecode.db.engine import redact

    settings = _settings(args)
    started = time.monotonic()
    counts = copy_database(args.source, settings.database_url,
                           progress=None if args.quiet else print)
    print(f"copied {sum(counts.values()):,} rows ({counts.get('scans', 0):,} scans) from "
          f"{args.source} into {redact(settings.database_url)} in "
          f"{time.monotonic() - started:,.0f} s")


def cmd_trace(args: argparse.Namespace) -> None:
    from placecode.tracing.contacts import TraceParams, UnknownPerson, trace_report

    settings = _settings(args)
    engine = _engine(settings)
    if not 1 <= args.days <= settings.retention_days:
        raise CliError(f"--days: give 1 to {settings.retention_days} (the retention window)")
    who = os.environ.get("USER", "cli")
    try:
        found = trace_report(engine, args.person, settings.secret_key,
                             city_now(settings.timezone), f"cli:{who}", TraceParams(days=args.days))
    except UnknownPerson as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        print(found.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(found.to_csv(index=False), end="")


def cmd_export(args: argparse.Namespace) -> None:
    """Aggregates for planners, suppressed exactly as the economy page shows them."""
    from placecode.auth.policy import Refused, Viewer
    from queries import economy as q

    settings = _settings(args)
    engine = _engine(settings)
    span = q.data_days(engine)
    if span is None:
        raise CliError("no scan rollups yet: import scans or build the demo city first")
    try:
        start = date.fromisoformat(args.start) if args.start else span[0]
        end = date.fromisoformat(args.end) if args.end else span[1]
    except ValueError as exc:
        raise CliError(f"--from/--to: {exc}; use YYYY-MM-DD") from None
    if args.format == "parquet" and not args.out:
        raise CliError("--format parquet needs --out FILE (it is binary)")
    kinds = [k for k in (args.industry or "").split(",") if k]
    try:
        cube, frame = q.export(engine, Viewer("admin"), f"cli:{os.environ.get('USER', 'cli')}",
                               args.by, start, end, district=args.district, kinds=kinds,
                               k=settings.min_cell_persons, now=city_now(settings.timezone))
    except (q.EconomyError, Refused) as exc:
        raise CliError(str(exc)) from None
    if args.format == "parquet":
        frame.to_parquet(args.out, index=False)
    else:
        frame.to_csv(args.out or sys.stdout, index=False)
    if args.out:
        print(f"wrote {len(frame)} rows to {args.out} ({int(frame['suppressed'].sum())} "
              f"suppressed: fewer than {cube.k} persons)", file=sys.stderr)


def cmd_posters(args: argparse.Namespace) -> None:
    """One A4 PDF per venue of a district, the QR code holding its scan page's address."""
    import time
    from pathlib import Path

    from placecode.auth.policy import Refused, Viewer
    from placecode.registry.posters import PosterError, write_posters
    from queries.venues import poster_venues

    settings = _settings(args)
    url = args.url or settings.public_url or f"http://{settings.host}:{settings.port}"
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--url {url!r}: give the address phones reach, e.g. https://scan.example.cn")
    started = time.monotonic()
    try:
        venues = poster_venues(_engine(settings), Viewer("admin"), args.district)
        if args.kind:
            venues = [v for v in venues if v.code[6] == args.kind or args.kind in v.kind_zh]
        if not venues:
            raise CliError(f"district {args.district} has no venues (is the id an adcode such as "
                           f"371002, and is the city built?)")
        written = write_posters(venues, url, Path(args.out))
    except (PosterError, Refused) as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {len(written):,} posters to {args.out} in {time.monotonic() - started:.1f} s; "
          f"their QR codes open {url.rstrip('/')}/s/<code>")


def cmd_receiver(args: argparse.Namespace) -> None:
    from placecode.dispatch.receiver import Receiver

    server = Receiver(args.host, args.port, echo=True)
    print(f"receiving alert pushes on http://{args.host}:{args.port}/ (GET lists them)",
          flush=True)
    server.serve_forever()


def cmd_deliver(args: argparse.Namespace) -> None:
    import time

    from placecode.dispatch.outbox import deliver_due

    settings = _settings(args)
    engine = _engine(settings)
    while True:
        report = deliver_due(engine, lambda: city_now(settings.timezone),
                             secret=settings.secret_key)
        if report.sent or report.failed:
            print(f"delivered {report.sent}, failed {report.failed} (will retry)", flush=True)
        if args.once:
            return
        time.sleep(1)


def cmd_simulate(args: argparse.Namespace) -> None:
    import pandas as pd

    from placecode.auth.tokens import issue_token
    from placecode.demo.build import DEMO_PEOPLE
    from placecode.demo.simulate import CityModel, run

    settings = _settings(args)
    engine = _engine(settings)
    people_file = settings.instance_path / DEMO_PEOPLE
    if not people_file.exists():
        raise CliError(f"{people_file} is missing: build the demo first (placecode demo)")
    if args.rate <= 0:
        raise CliError(f"--rate {args.rate}: give scans per second, more than 0")
    token = args.token
    if not token:
        with engine.begin() as conn:
            token = issue_token(conn, "device", "simulator", None,
                                city_now(settings.timezone))[1]
    url = args.url or f"http://{settings.host}:{settings.port}/api/v1/scans"
    print(f"simulating about {args.rate:g} scans/s"
          + ("" if args.flat else " (times the time-of-day rhythm)") + f" to {url}",
          flush=True)
    model = CityModel(engine, pd.read_parquet(people_file))
    totals = run(model, url, token, args.rate, settings.timezone, args.duration,
                 follow_rhythm=not args.flat, quiet=args.quiet)
    print(f"sent {totals.sent:,} scans: {totals.verdicts}, errors {totals.errors}")


def _new_password(name: str) -> tuple[str, bool]:
    """From PLACECODE_NEW_PASSWORD, a prompt, or generated; and whether it was generated."""
    from placecode.auth.users import random_password

    password = os.environ.get("PLACECODE_NEW_PASSWORD")
    if password is None and sys.stdin.isatty():
        password = getpass.getpass(f"password for {name}: ")
    return (password, False) if password else (random_password(), True)


def cmd_create_user(args: argparse.Namespace) -> None:
    from placecode.auth.users import UserError, create_user

    settings = _settings(args)
    engine = _engine(settings)
    password, generated = _new_password(args.name)
    try:
        with engine.begin() as conn:
            user = create_user(conn, args.name, args.role, password, args.district)
    except UserError as exc:
        raise CliError(str(exc)) from None
    print(f"created {user.username} ({user.role}"
          + (f", district {user.district_id}" if user.district_id else "") + ")"
          + (f" with password {password}" if generated else ""))


def cmd_set_password(args: argparse.Namespace) -> None:
    from placecode.auth import audit
    from placecode.auth.users import UserError, set_password

    settings = _settings(args)
    engine = _engine(settings)
    password, generated = _new_password(args.name)
    try:
        with engine.begin() as conn:
            ended = set_password(conn, args.name, password)
            audit.record(conn, "set_password", username="cli", subject=f"user {args.name}",
                         detail=f"{ended} sessions ended", now=city_now(settings.timezone))
    except UserError as exc:
        raise CliError(str(exc)) from None
    print(f"new password for {args.name}" + (f": {password}" if generated else "")
          + f"; {ended} logged-in session(s) ended")


def build_parser() -> argparse.ArgumentParser:
    from placecode.auth.tokens import KINDS
    from placecode.db.schema import ROLES
    from placecode.demo.geography import CITIES
    from placecode.ingest.feeds import FEEDS

    parser = argparse.ArgumentParser(prog="placecode", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--db", help="database URL (default: PLACECODE_DATABASE_URL or SQLite "
                                    "in the instance folder)")
        p.set_defaults(func=func)
        return p

    add("init-db", cmd_init_db, "create the tables (and the first admin) if missing")

    p = add("demo", cmd_demo, "build the demo city")
    p.add_argument("--preset", default="small", help="small (tests, seconds) or city "
                                                     "(Weihai scale: 190k venues)")
    p.add_argument("--days", type=int, help="days of scans ending today (preset default)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--city", default="weihai", choices=CITIES)
    p.add_argument("--now", help="the demo's 'now', ISO 8601 (default: the clock)")
    p.add_argument("--replace", action="store_true", help="delete the existing city and rebuild")
    p.add_argument("--if-missing", action="store_true", help="keep an existing city as it is")
    p.add_argument("--backfill", action="store_true",
                   help="load the older scan days a big build left waiting (nothing else)")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = add("serve", cmd_serve, "serve the web app (and deliver alert pushes)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1,
                   help="server processes: 1 = Flask's threaded server; more = gunicorn (one per "
                        "core is a good start)")
    p.add_argument("--no-worker", action="store_true",
                   help="do not deliver the outbox here (another process runs `deliver`)")

    p = add("issue-token", cmd_issue_token, "issue an API token (printed once)")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--name", help="what the token is for, e.g. the device's place")
    p.add_argument("--district", type=int, help="scope to one district (wall, partner)")

    p = add("revoke-token", cmd_revoke_token, "revoke an API token")
    p.add_argument("id", type=int)

    p = add("import", cmd_import, "import a health feed from CSV or Parquet (docs/feeds.md)")
    p.add_argument("kind", help=", ".join(FEEDS))
    p.add_argument("path")
    p.add_argument("--quiet", action="store_true")

    p = add("reevaluate", cmd_reevaluate, "recompute every person's status under the rules")
    p.add_argument("--quiet", action="store_true")

    add("purge", cmd_purge, "delete personal rows past PLACECODE_RETENTION_DAYS and audit rows "
        "past PLACECODE_AUDIT_RETENTION_DAYS (rollups stay)")

    p = add("backup", cmd_backup, "write a consistent backup while the server runs (SQLite: "
            "its backup API; PostgreSQL: pg_dump custom format)")
    p.add_argument("out", help="the backup file to write (never overwritten)")
    p = add("restore", cmd_restore, "load a backup made by `placecode backup`")
    p.add_argument("file")
    p.add_argument("--force", action="store_true",
                   help="replace a database that is not empty (stop the server first)")
    p = add("copy-db", cmd_copy_db, "copy a SQLite pilot's database into an empty PostgreSQL "
            "database (--db); run the server there with the pilot's secret key")
    p.add_argument("source", help="the SQLite database: sqlite:///path/placecode.db or the path")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = add("deliver", cmd_deliver, "deliver pending alert pushes (loops; --once for one pass)")
    p.add_argument("--once", action="store_true")

    p = add("simulate", cmd_simulate, "stream demo scans through the scan API")
    p.add_argument("--rate", type=float, default=20, help="scans per second (default 20)")
    p.add_argument("--url", help="scan API URL (default: this instance's host and port)")
    p.add_argument("--token", help="device token (default: issue one)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--flat", action="store_true", help="constant rate, no time-of-day rhythm")
    p.add_argument("--quiet", action="store_true")

    p = add("create-user", cmd_create_user,
            "create a user; password from PLACECODE_NEW_PASSWORD, a prompt, or generated")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--district", type=int, help="district id (adcode) for district roles")
    p = add("set-password", cmd_set_password,
            "give a user a new password (PLACECODE_NEW_PASSWORD, a prompt, or generated) and "
            "end every session of theirs")
    p.add_argument("name")
    p = add("trace", cmd_trace, "close and secondary contacts of a person (audited)")
    p.add_argument("person", help="the person's ID number or app token")
    p.add_argument("--days", type=int, default=14, help="days back from now (default 14)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")

    p = add("export", cmd_export, "export aggregates (foot traffic by industry, suppressed "
                                  "below PLACECODE_MIN_CELL_PERSONS persons)")
    p.add_argument("kind", choices=("foot-traffic",))
    p.add_argument("--by", default="industry,district,day",
                   help="comma-separated: industry, district, subdistrict, day, daytype, hour "
                        "(default industry,district,day)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: the first kept)")
    p.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: the last)")
    p.add_argument("--district", type=int, help="one district's id (default: the whole city)")
    p.add_argument("--industry", help="comma-separated venue kinds (default: all)")
    p.add_argument("--out", help="file to write (default: CSV to standard output)")

    p = add("posters", cmd_posters, "write an A4 PDF poster (QR code, name, code) for each venue "
            "of a district")
    p.add_argument("--district", type=int, required=True, help="district id (adcode)")
    p.add_argument("--out", required=True, help="folder to write <code>.pdf into")
    p.add_argument("--url", help="the address phones reach (default PLACECODE_PUBLIC_URL, else "
                                 "this instance's host and port)")
    p.add_argument("--kind", help="only venues with this code letter (e.g. S for supermarkets)")

    p = sub.add_parser("receiver", help="run a local webhook receiver for alert pushes and a "
                                        "stand-in SMS gateway (demo)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8061)
    p.set_defaults(func=cmd_receiver)
    return parser


def main(argv: list[str] | None = None) -> int:
    from placecode.db.engine import DatabaseError
    from placecode.demo.build import DemoError
    from placecode.demo.geography import CityError
    from placecode.demo.presets import PresetError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CliError, DatabaseError, DemoError, PresetError, CityError, SettingsError) as exc:
        print(f"placecode {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
