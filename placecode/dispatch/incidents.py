"""The incident's closed loop as a state machine (seed 003: venue staff hold the person, the
district dispatches a unit, "point to point" pickup): which transitions are allowed, what each
needs, and when a state is overdue. Pure, so every rule is tested without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


class TransitionError(ValueError):
    """A refused transition; the message names the ones that are allowed."""


@dataclass(frozen=True)
class Transition:
    to: str
    note: str = ""
    outcome: str | None = None  # closing
    unit_id: int | None = None  # dispatching


def check(state: str, step: Transition) -> None:
    """Raise TransitionError unless `step` may leave `state`, with what it must carry."""
    if state not in NEXT:
        raise TransitionError(f"unknown incident state {state!r}")
    allowed = NEXT[state]
    if step.to not in allowed:
        options = ", ".join(allowed) if allowed else "none (the incident is finished)"
        raise TransitionError(f"an incident that is {state} cannot become {step.to}; "
                              f"allowed: {options}")
    if step.to == "cancelled" and not step.note.strip():
        raise TransitionError("cancelling needs a reason in the note")
    if step.to == "closed" and step.outcome not in OUTCOMES:
        raise TransitionError(f"closing needs an outcome: one of {', '.join(OUTCOMES)}")
    if step.to == "dispatched" and step.unit_id is None:
        raise TransitionError("dispatching needs a unit")


def due_at(state: str, entered_at: datetime,
           sla_minutes: dict[str, int] | None = None) -> datetime | None:
    """When an incident in `state` since `entered_at` becomes overdue (None: no timer)."""
    minutes = (sla_minutes or DEFAULT_SLA_MINUTES).get(state)
    return None if minutes is None else entered_at + timedelta(minutes=minutes)


def overdue(state: str, entered_at: datetime, now: datetime,
            sla_minutes: dict[str, int] | None = None) -> bool:
    due = due_at(state, entered_at, sla_minutes)
    return due is not None and now > due
