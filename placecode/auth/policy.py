"""Who may do what, in one place: a Viewer (who is asking), one table of what each role may do,
and one refusal. `queries/` and the dispatch board call `district_for`/`require` before they
look anything up, the login guard calls `may_open` for every page, and the shell shows only the
pages a role may open.

Roles and capabilities (✓ the whole city, D own district only, A aggregates only):

    capability        admin city_commander district_commander duty_officer planner field_staff wall
    wall                ✓        ✓               D                D          A          –        ✓/D
    persons             ✓        ✓               D                D          –          –         –
    trace               ✓        ✓               D                D          –          –         –
    act                 ✓        ✓               D                D          –          –         –
    field_step          ✓        ✓               D                D          –          D         –
    roll_call           ✓        ✓               D                D          –          –         –
    field               ✓        –               –                –          –          D         –
    venues              ✓        ✓               D                D          A          –         –
    register_venues     ✓        ✓               D                D          –          –         –
    testing             ✓        ✓               D                D          A          –         –
    plan_tests          ✓        ✓               D                D          –          –         –
    economy             ✓        ✓               D                D          ✓          –         –
    rules               ✓        ✓               ✓                ✓          ✓          –         –
    edit_rules          ✓        –               –                –          –          –         –
    audit               ✓        –               –                –          –          –         –

"persons" covers every person-level row: the alerts list, the dispatch board, a venue's flagged
scans and their unmasking, the testing lists. A wall token without a district sees the city.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from placecode.i18n import UserError

CITY_WIDE = frozenset({"admin", "city_commander", "planner"})
DESK = frozenset({"admin", "city_commander", "district_commander", "duty_officer"})
CAN: dict[str, frozenset[str]] = {
    "wall": DESK | {"planner", "wall"},
    "persons": DESK,
    "trace": DESK,
    "act": DESK,
    "field_step": DESK | {"field_staff"},
    "roll_call": DESK,
    "field": frozenset({"admin", "field_staff"}),
    "venues": DESK | {"planner"},
    "register_venues": DESK,  # approve or refuse applications for a venue code
    "testing": DESK | {"planner"},
    "plan_tests": DESK,
    "economy": DESK | {"planner"},
    "rules": DESK | {"planner"},
    "edit_rules": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
}
FIELD_STEPS = ("held", "picked_up")  # what field staff confirm from a phone

# The page each capability opens; a path not listed here is open to every logged-in role.
PAGES = {"/": "wall", "/alerts": "persons", "/trace": "trace", "/dispatch": "persons",
         "/venues": "venues", "/venue/": "venues", "/testing": "testing",
         "/applications": "register_venues",
         "/economy": "economy", "/rules": "rules", "/audit": "audit", "/field": "field",
         "/wall-data/": "wall", "/trace-data/": "trace"}
MIN_CELL_PERSONS = 10  # cells counting fewer distinct persons are hidden from aggregate roles

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


class Refused(UserError, PermissionError):
    """The viewer's role or district may not see or do this. A catalog key and parameters, shown
    in the reader's language; every one raised while a web request is answered is audit-logged,
    wherever it is caught."""

    def __init__(self, key: str, /, **params):
        super().__init__(key, **params)
        note_refusal(str(self))


@dataclass(frozen=True)
class Viewer:
    role: str
    district_id: int | None = None
    user_id: int | None = None

    @classmethod
    def of(cls, user) -> Viewer:
        return cls(role=user.role, district_id=user.district_id,
                   user_id=None if user.role == "wall" else user.id)

    @property
    def city_wide(self) -> bool:
        return self.role in CITY_WIDE or (self.role == "wall" and self.district_id is None)

    @property
    def aggregates_only(self) -> bool:
        """Planners never see person-level numbers."""
        return self.role == "planner"

    @property
    def home_district(self) -> int | None:
        """The district a district-bound role is responsible for (highlighted on the wall)."""
        return None if self.city_wide else self.district_id

    @property
    def may_edit_rules(self) -> bool:
        return self.may("edit_rules")

    def may(self, capability: str) -> bool:
        return self.role in CAN[capability]


def require(viewer: Viewer, capability: str) -> None:
    """Refuse unless the viewer's role has `capability`."""
    if not viewer.may(capability):
        raise Refused(f"refused_{capability}")


def district_for(viewer: Viewer, capability: str, asked: int | None = None) -> int | None:
    """The district a look is limited to (None: the whole city), after the role check.

    `asked`: a district the request names; another than the viewer's own is refused."""
    require(viewer, capability)
    if viewer.city_wide:
        return None if asked is None else int(asked)
    if viewer.district_id is None:
        raise Refused("refused_no_district")
    if asked is not None and int(asked) != viewer.district_id:
        raise Refused("refused_other_district", district=asked, own=viewer.district_id)
    return viewer.district_id


def require_district(viewer: Viewer, capability: str, district_id: int) -> None:
    """Refuse unless the viewer may do `capability` in `district_id`."""
    district_for(viewer, capability, district_id)


def page_capability(path: str) -> str | None:
    """The capability a page or data route needs; None: any logged-in role may open it."""
    for page, capability in PAGES.items():
        if path == page or (page != "/" and page.endswith("/") and path.startswith(page)):
            return capability
    return None


def may_open(role: str, path: str) -> bool:
    """Whether a role may open this page or data route (the login guard, the page guard and
    the navigation bar ask)."""
    capability = page_capability(path)
    return capability is None or role in CAN[capability]


def home(role: str) -> str:
    """The first page of a role: field staff work from the phone page."""
    return "/field" if role == "field_staff" else "/"


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
