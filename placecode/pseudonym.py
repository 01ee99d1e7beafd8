"""Pseudonymisation at ingest: a person's ID number becomes a keyed hash, the raw value is dropped.

BLAKE2b in keyed mode is a MAC: without the instance secret nobody can recompute a key from a
guessed ID number (18-digit IDs are guessable; an unkeyed hash would not protect them).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

KEY_CHARS = 32  # 128 bits as hex
# GB 11643: the 18th character of a resident ID number checks the first 17
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """The check character a resident ID number with these first 17 digits ends with."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalise_id(raw: str) -> str:
    """Canonical form of an ID number or app token: no spaces, upper case (the 'x' check digit)."""
    return "".join(str(raw).split()).upper()


@functools.lru_cache(maxsize=4)
def _keyed(secret: str):
    """The keyed hash state for one secret, built once (copying it is cheaper than rebuilding:
    a feed hashes a million IDs)."""
    return hashlib.blake2b(digest_size=KEY_CHARS // 2,
                           key=hashlib.sha256(secret.encode()).digest(), person=b"placecode-pk")


def person_key(raw_id: str, secret: str) -> str:
    """The `person_key` for an ID number or app token under this instance's secret."""
    mac = _keyed(secret).copy()
    mac.update(normalise_id(raw_id).encode())
    return mac.hexdigest()


def person_keys(raw_ids: Iterable[str], secret: str) -> list[str]:
    """`person_key` of many IDs (a feed, the demo's 2.9M residents): one keyed state, and IDs of
    digits only, nine in ten, need no normalising; 2.9M in 5 s here against 8 s one by one."""
    copy = _keyed(secret).copy
    out = []
    for raw in raw_ids:
        mac = copy()
        mac.update((raw if type(raw) is str and raw.isdigit() else normalise_id(raw)).encode())
        out.append(mac.hexdigest())
    return out
