"""The incident's closed loop as a state machine (seed 003: venue staff hold the person, the
district dispatches a unit, "point to point" pickup): which transitions are allowed, what each
needs, and when a state is overdue. Pure, so every rule is tested without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from placecode.i18n import Term, UserError

STATES = ("new", "notified", "held", "dispatched", "picked_up", "closed", "cancelled")
FINAL = ("closed", "cancelled")
NEXT: dict[str, tuple[str, ...]] = {
    "new": ("notified", "cancelled"),
    "notified": ("held", "cancelled"),
    "held": ("dispatched", "cancelled"),
    "dispatched": ("picked_up", "cancelled"),
    "picked_up": ("closed",),
    "closed": (),
    "cancelled": (),
}
OUTCOMES = ("isolated_at_hotel", "hospital", "home_quarantine", "released", "other")
# Minutes a state may last before the incident is overdue (settings may override).
DEFAULT_SLA_MINUTES = {"notified": 10, "dispatched": 60}


class TransitionError(UserError, ValueError):
    """A refused transition; the message names the ones that are allowed."""


@dataclass(frozen=True)
class Transition:
    to: str
    note: str = ""
    outcome: str | None = None  # closing
    unit_id: int | None = None  # dispatching


def _state(state: str) -> Term:
    return Term.keyed(state, f"col_state_{state}")


def check(state: str, step: Transition) -> None:
    """Raise TransitionError unless `step` may leave `state`, with what it must carry."""
    if state not in NEXT:
        raise TransitionError("inc_state_unknown", state=str(state)[:32])
    allowed = NEXT[state]
    if step.to not in allowed:
        raise TransitionError("inc_cannot_become", state=_state(state), to=_state(step.to),
                              options=tuple(_state(s) for s in allowed) if allowed
                              else Term("none (the incident is finished)", "无（事件已结束）"))
    if step.to == "cancelled" and not step.note.strip():
        raise TransitionError("inc_cancel_reason")
    if step.to == "closed" and step.outcome not in OUTCOMES:
        raise TransitionError("inc_close_outcome",
                              options=tuple(Term.keyed(o, f"outcome_{o}") for o in OUTCOMES))
    if step.to == "dispatched" and step.unit_id is None:
        raise TransitionError("inc_dispatch_unit")


def due_at(state: str, entered_at: datetime,
           sla_minutes: dict[str, int] | None = None) -> datetime | None:
    """When an incident in `state` since `entered_at` becomes overdue (None: no timer)."""
    minutes = (sla_minutes or DEFAULT_SLA_MINUTES).get(state)
    return None if minutes is None else entered_at + timedelta(minutes=minutes)


def overdue(state: str, entered_at: datetime, now: datetime,
            sla_minutes: dict[str, int] | None = None) -> bool:
    due = due_at(state, entered_at, sla_minutes)
    return due is not None and now > due
