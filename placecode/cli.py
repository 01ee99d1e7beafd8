"""`placecode ...` commands. Errors print one line naming the problem and exit non-zero."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

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
    create_app(settings).run(host=settings.host, port=settings.port, debug=False)


def cmd_create_user(args: argparse.Namespace) -> None:
    from placecode.auth.users import UserError, create_user, random_password

    settings = _settings(args)
    engine = _engine(settings)
    password = os.environ.get("PLACECODE_NEW_PASSWORD")
    generated = False
    if password is None and sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
    if not password:
        password, generated = random_password(), True
    try:
        with engine.begin() as conn:
            user = create_user(conn, args.name, args.role, password, args.district)
    except UserError as exc:
        raise CliError(str(exc)) from None
    print(f"created {user.username} ({user.role}"
          + (f", district {user.district_id}" if user.district_id else "") + ")"
          + (f" with password {password}" if generated else ""))


def build_parser() -> argparse.ArgumentParser:
    from placecode.db.schema import ROLES
    from placecode.demo.geography import CITIES

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
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = add("serve", cmd_serve, "serve the web app")
    p.add_argument("--host")
    p.add_argument("--port", type=int)

    p = add("create-user", cmd_create_user,
            "create a user; password from PLACECODE_NEW_PASSWORD, a prompt, or generated")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--district", type=int, help="district id (adcode) for district roles")
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
