"""What a role may see; `queries/` take a Scope and apply it (layouts never decide this)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

# Cells counting fewer distinct persons than this are suppressed for aggregate-only roles.
MIN_CELL_PERSONS = 10


# Refusals noted while one web request is answered; the web layer sets a fresh list per request
# and writes what it holds to the audit log (placecode.auth.guard). None outside requests.
_REFUSALS: ContextVar[list[str] | None] = ContextVar("placecode_refusals", default=None)


def note_refusal(message: str) -> None:
    """Record that the current viewer was refused something (for the audit log)."""
    seen = _REFUSALS.get()
    if seen is not None:
        seen.append(message)


def start_noting_refusals() -> list[str]:
    """A fresh list that collects this request's refusals."""
    seen: list[str] = []
    _REFUSALS.set(seen)
    return seen


class ScopeRefused(PermissionError):
    """The viewer's role or district may not see or do this; the message says why. Every one
    raised while a web request is answered is audit-logged, wherever it is caught."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        note_refusal(str(args[0]) if args else "")


@dataclass(frozen=True)
class Scope:
    role: str
    district_id: int | None = None

    @property
    def aggregates_only(self) -> bool:
        """Planners (and wall tokens later) never see person-level numbers."""
        return self.role == "planner"

    @property
    def home_district(self) -> int | None:
        """The district a district-bound role is responsible for (highlighted on the wall)."""
        return (self.district_id if self.role in ("district_commander", "duty_officer", "wall")
                else None)

    @property
    def may_edit_rules(self) -> bool:
        """Only the admin (DESIGN's data steward) changes the risk rules; others may read them."""
        return self.role == "admin"

    @classmethod
    def of(cls, user) -> Scope:
        return cls(role=user.role, district_id=user.district_id)


def small_cell_mask(counts, k: int = MIN_CELL_PERSONS) -> np.ndarray:
    """Which cells to hide from an aggregate-only viewer: every count of 1..k-1 persons, plus the
    next smallest cells until the hidden ones hold at least k persons together.

    The second rule stops subtraction: with a visible total, one hidden cell would equal the total
    minus the visible ones. Zero cells are shown (they reveal nobody).
    """
    c = np.asarray(counts, dtype=np.int64)
    hidden = (c > 0) & (c < k)
    if hidden.any():
        for i in np.argsort(c, kind="stable"):
            if c[hidden].sum() >= k and hidden.sum() >= 2:
                break
            if c[i] > 0:
                hidden[i] = True
    return hidden
