"""The input rules every machine route shares (scan API, feeds API and files, deny list, incident
steps): one rule for text, one for times, one JSON reader that cannot be made to fail with a 500.

Text is valid Unicode without control characters: a lone surrogate cannot be stored or hashed, a
NUL or an ANSI escape stored in a scan_id or a name would reach logs, terminals and CSV exports,
and a bidirectional override would make a name read differently on screen than it is stored.
Times are ISO 8601 with an offset, within years the city's clock can mean (2000–2100); anything
outside is named as the field's problem, never an overflow.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# C0 and C1 controls, DEL, lone surrogates, bidi embeddings/overrides/isolates and marks,
# the byte-order mark used inside text, and the two non-characters U+FFFE/U+FFFF.
CONTROLS = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff"
CONTROL_TEXT = f"[{CONTROLS}]"  # for pandas/Arrow columns, which cannot hold surrogates at all
BAD_TEXT = re.compile(f"[{CONTROLS}\ud800-\udfff]")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_INT_DIGITS = 19  # a signed 64-bit integer; longer numbers are named, never converted
MAX_DEPTH_HINT = "nest objects at most a few levels deep (a scan is one flat object)"
BIGINT_MAX = 2 ** 63 - 1


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None if it can."""
    hit = BAD_TEXT.search(value)
    if hit is None:
        return None
    char = hit.group()
    kind = ("a lone surrogate (not valid Unicode)" if "\ud800" <= char <= "\udfff"
            else "a control character")
    return (f"contains {kind} U+{ord(char):04X} at character {hit.start() + 1}: send printable "
            "text only")


def safe_echo(value: Any, limit: int = 64) -> str | None:
    """`value` if it is short, clean text that may be repeated back to the client, else None."""
    if isinstance(value, str) and len(value) <= limit and text_problem(value) is None:
        return value
    return None


class BigNumber(str):
    """A JSON number too long to convert (Python refuses 4,300+ digits; no field needs 20):
    kept as its text so the field it was sent in can be named."""

    def __repr__(self) -> str:
        return f"a {len(self):,}-digit number"


class DuplicateKeys(dict):
    """A JSON object that named a key twice (plain json keeps the last silently)."""

    duplicate: str = ""


def _int(text: str) -> int | BigNumber:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else BigNumber(text)


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    marked = DuplicateKeys(obj)
    marked.duplicate = dup
    return marked


class BodyError(ValueError):
    """The request body as a whole cannot be read as JSON: the message says why and where."""


def parse_json(raw: bytes) -> Any:
    """JSON text → Python values, with long numbers kept as `BigNumber` and objects with a
    repeated key marked `DuplicateKeys`, so that each becomes one item's error, not a 500."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8 text (byte {exc.start + 1})") from None
    try:
        return json.loads(text, parse_int=_int, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        raise BodyError(f"malformed JSON at line {exc.lineno} column {exc.colno}: "
                        f"{exc.msg}") from None
    except RecursionError:
        raise BodyError(f"JSON nested too deeply to read: {MAX_DEPTH_HINT}") from None


def year_problem(when: datetime) -> str | None:
    """Why a parsed time lies outside the years a city clock can mean, or None."""
    if FIRST_YEAR <= when.year <= LAST_YEAR:
        return None
    return f"year {when.year} is outside {FIRST_YEAR}–{LAST_YEAR}"


def local_time(value: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 text with a UTC offset → naive city-local time, or ValueError saying why not."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not ISO 8601 (e.g. 2026-11-23T09:30:00+08:00)") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset: add one, e.g. +08:00")
    problem = year_problem(parsed)
    if problem:
        raise ValueError(f"{value!r}: {problem}")
    return parsed.astimezone(tz).replace(tzinfo=None, microsecond=0)
