"""One Settings object from PLACECODE_* environment variables.

Precedence: explicit argument > environment > default. Each setting is declared once (name, default,
help) so the CLI, the README and a test can all walk the same list.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from placecode.clock import DEFAULT_TIMEZONE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RETENTION_DAYS = 28


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    cast: Callable[[Any], Any] = str


def _flag(value) -> bool:
    """flag (1/0, true/false, yes/no, on/off)"""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(value)


SETTINGS: tuple[Setting, ...] = (
    Setting("PLACECODE_INSTANCE_DIR", str(PROJECT_ROOT / "instance"),
            "Folder for the SQLite database, the generated secret key and login files."),
    Setting("PLACECODE_DATABASE_URL", "",
            "SQLAlchemy URL; empty means SQLite at <instance>/placecode.db. "
            "Production: postgresql+psycopg://user:pass@host/db."),
    Setting("PLACECODE_SECRET_KEY", "",
            "Key for sessions and for pseudonymising person IDs; generated into "
            "<instance>/secret_key on first use if empty. Never change it on a live database."),
    Setting("PLACECODE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS,
            "Days personal rows are kept before purge.", int),
    Setting("PLACECODE_LANG", "zh", "Default UI language: zh or en.", str),
    Setting("PLACECODE_HOST", "127.0.0.1", "Address the web server listens on."),
    Setting("PLACECODE_PORT", 8050, "Port the web server listens on.", int),
    Setting("PLACECODE_TIMEZONE", DEFAULT_TIMEZONE,
            "The city's time zone: timestamps are stored as naive local time in it."),
    Setting("PLACECODE_WALL_REFRESH_SECONDS", 15, "How often the command wall refreshes.", int),
    Setting("PLACECODE_SLA_NOTIFIED_MINUTES", 10,
            "Minutes from notice until the venue must hold the person (then overdue).", int),
    Setting("PLACECODE_SLA_DISPATCHED_MINUTES", 60,
            "Minutes from dispatch until the unit must have picked the person up.", int),
    Setting("PLACECODE_MIN_CELL_PERSONS", 10,
            "k: aggregate cells counting fewer distinct persons are suppressed (economy, export).",
            int),
    Setting("PLACECODE_ECONOMY_REFRESH_MINUTES", 10,
            "How often today's distinct-person counts of the foot-traffic rollups are refreshed.",
            int),
    Setting("PLACECODE_PASS_TEST_HOURS", 48,
            "A volunteer pass is valid only with a negative test within this many hours.", int),
    Setting("PLACECODE_OUTBOX_MAX_BACKOFF_SECONDS", 60,
            "Longest wait between two delivery attempts of an alert push (the wait doubles from "
            "1 s): a receiver back after an outage gets its alerts within this long.", int),
    Setting("PLACECODE_AUDIT_RETENTION_DAYS", 365,
            "Days the audit log is kept (purge deletes older rows); at least the retention.", int),
    Setting("PLACECODE_LOGIN_MAX_FAILURES", 5,
            "Failed logins for one username within the lockout window that lock it.", int),
    Setting("PLACECODE_LOGIN_LOCKOUT_MINUTES", 15,
            "The lockout window: a locked username (or address, after 4x the failures) opens "
            "again when its failures fall out of it.", int),
    Setting("PLACECODE_SESSION_HOURS", 12,
            "A login ends after this many hours (a shift); logout or a password change ends it "
            "at once, on every device.", int),
    Setting("PLACECODE_SECURE_COOKIES", False,
            "1: session and CSRF cookies are always Secure (else Secure whenever the request "
            "came over https, directly or via a trusted proxy).", _flag),
    Setting("PLACECODE_TRUSTED_PROXIES", 0,
            "Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto are believed.",
            int),
    Setting("PLACECODE_PUBLIC_URL", "",
            "Address phones reach the scan page at, printed in the posters' QR codes "
            "(https://scan.example.gov.cn); empty: the address the request came to."),
    Setting("PLACECODE_SMS_URL", "",
            "SMS gateway: testing-batch and alert notices are POSTed there as JSON "
            "{to, text, id} through the outbox; empty: no SMS is sent."),
)


_BY_FIELD = {s.name.removeprefix("PLACECODE_").lower(): s for s in SETTINGS}
LANGS = ("zh", "en")


def setting_default(name: str):
    """The declared default of a setting (for code that runs before settings exist)."""
    return next(s.default for s in SETTINGS if s.name == name)


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    instance_dir: str
    database_url: str
    secret_key: str
    retention_days: int
    lang: str
    host: str
    port: int
    timezone: str
    wall_refresh_seconds: int
    sla_notified_minutes: int
    sla_dispatched_minutes: int
    min_cell_persons: int
    economy_refresh_minutes: int
    pass_test_hours: int
    outbox_max_backoff_seconds: int
    audit_retention_days: int
    login_max_failures: int
    login_lockout_minutes: int
    session_hours: int
    secure_cookies: bool
    trusted_proxies: int
    public_url: str
    sms_url: str

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings: keyword overrides win over the environment, which wins over defaults."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            spec = _BY_FIELD[f.name]
            raw = overrides.get(f.name)
            if raw is None:
                raw = env.get(spec.name, spec.default)
            try:
                values[f.name] = spec.cast(raw)
            except (TypeError, ValueError):
                raise SettingsError(
                    f"{spec.name}={raw!r} is not a valid "
                    f"{'flag (1 or 0)' if spec.cast is _flag else spec.cast.__name__}"
                ) from None
        if values["lang"] not in LANGS:
            raise SettingsError(f"PLACECODE_LANG={values['lang']!r}: use one of {', '.join(LANGS)}")
        for name in ("sla_notified_minutes", "sla_dispatched_minutes", "min_cell_persons",
                     "economy_refresh_minutes", "pass_test_hours", "outbox_max_backoff_seconds",
                     "login_max_failures", "login_lockout_minutes", "session_hours"):
            if values[name] < 1:
                raise SettingsError(f"PLACECODE_{name.upper()} must be at least 1")
        if values["retention_days"] < 1:
            raise SettingsError("PLACECODE_RETENTION_DAYS must be at least 1")
        if values["audit_retention_days"] < values["retention_days"]:
            raise SettingsError("PLACECODE_AUDIT_RETENTION_DAYS must be at least "
                                "PLACECODE_RETENTION_DAYS (the log must outlive what it covers)")
        instance = Path(values["instance_dir"])
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{instance / 'placecode.db'}"
        if not values["secret_key"]:
            values["secret_key"] = _instance_secret(instance)
        return cls(**values)

    @property
    def sla_minutes(self) -> dict[str, int]:
        """How long an incident may stay in a state before it is overdue."""
        return {"notified": self.sla_notified_minutes,
                "dispatched": self.sla_dispatched_minutes}

    @property
    def instance_path(self) -> Path:
        return Path(self.instance_dir)


def _instance_secret(instance: Path) -> str:
    """Read, or create once with mode 0600, the instance's secret key."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
