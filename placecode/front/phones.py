"""Phones registered on the scan page: a person registers once (ID number, phone optional) and the
phone keeps a random token; each later scan sends the token, which the server resolves to the
person. The ID number is hashed into the person_key at once and never stored; the phone number
is kept sealed (Fernet under a key derived from the instance secret) for SMS notices only.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, insert, select, update

from placecode.db import schema as t
from placecode.ingest.feeds import person_ids
from placecode.pseudonym import id_check_char, normalise_id, person_key

ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
MOBILE = re.compile(r"^1\d{10}$")  # a mainland mobile number, as SMS gateways take it


class RegistrationError(ValueError):
    """What is wrong with the registration form: a catalog key and the field."""

    def __init__(self, key: str, field: str):
        super().__init__(key)
        self.key, self.field = key, field


def id_problem(raw: str) -> str | None:
    """Catalog key of what is wrong with a resident ID number (GB 11643 check digit), or None."""
    number = normalise_id(raw)
    if not ID_NUMBER.match(number):
        return "phone_id_format"
    return None if id_check_char(number[:17]) == number[17] else "phone_id_check"


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"placecode-phone|" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal_phone(phone: str, secret: str) -> str:
    return _fernet(secret).encrypt(phone.encode()).decode()


def open_phone(sealed: str | None, secret: str) -> str | None:
    """The phone number of a registration, or None (none given, or sealed under another key)."""
    if not sealed:
        return None
    try:
        return _fernet(secret).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register(conn: Connection, id_number: str, phone: str, secret: str, now: datetime) -> str:
    """A new registration for this person; returns the token the phone keeps."""
    problem = id_problem(id_number)
    if problem:
        raise RegistrationError(problem, "id_number")
    phone = "".join(ch for ch in str(phone or "") if ch.isdigit())
    if phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if phone and not MOBILE.match(phone):
        raise RegistrationError("phone_bad_mobile", "phone")
    key = person_key(id_number, secret)
    person_id = int(person_ids(conn, [key])[0])
    token = secrets.token_urlsafe(24)
    conn.execute(insert(t.phone_registrations).values(
        token_hash=_digest(token), person_id=person_id,
        phone_sealed=seal_phone(phone, secret) if phone else None,
        created_at=now, last_used_at=now))
    return token


def person_for(conn: Connection, token: str, now: datetime) -> tuple[int, str] | None:
    """(registration id, person_key) of a phone's token, marking it used; None if unknown."""
    if not token or len(token) > 64:
        return None
    r, p = t.phone_registrations, t.persons
    row = conn.execute(select(r.c.id, p.c.person_key).join(p, p.c.id == r.c.person_id)
                       .where(r.c.token_hash == _digest(token))).first()
    if row is None:
        return None
    conn.execute(update(r).where(r.c.id == row.id).values(last_used_at=now))
    return row.id, row.person_key


def earlier_scan(conn: Connection, scan_id: str):
    """The stored (verdict, reasons, ts) of this visit's scan: a reloaded page shows the verdict
    it had, instead of scanning the person in twice."""
    sc = t.scans
    return conn.execute(select(sc.c.verdict, sc.c.reasons, sc.c.ts)
                        .where(sc.c.scan_id == scan_id)).first()
