"""The incident state machine: every allowed step, every refused one with a message that names
what is allowed, what a step must carry, and the SLA timers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from placecode.dispatch.incidents import (
    NEXT,
    STATES,
    Transition,
    TransitionError,
    check,
    due_at,
    overdue,
)

T0 = datetime(2026, 11, 23, 9, 0)


def carrying(to: str) -> Transition:
    return Transition(to, note="人员已离开" if to == "cancelled" else "",
                      outcome="hospital" if to == "closed" else None,
                      unit_id=7 if to == "dispatched" else None)


@pytest.mark.parametrize(("state", "to"), [(s, to) for s in STATES for to in NEXT[s]])
def test_incident_allowed_steps_pass(state, to):
    check(state, carrying(to))


@pytest.mark.parametrize(("state", "to"), [(s, to) for s in STATES for to in STATES
                                           if to not in NEXT[s]])
def test_incident_refused_steps_say_what_is_allowed(state, to):
    with pytest.raises(TransitionError, match="allowed: ") as refused:
        check(state, carrying(to))
    for option in NEXT[state]:
        assert option in str(refused.value)


def test_incident_steps_must_carry_what_they_need():
    with pytest.raises(TransitionError, match="reason"):
        check("held", Transition("cancelled", note="  "))
    with pytest.raises(TransitionError, match="outcome"):
        check("picked_up", Transition("closed", outcome="gone"))
    with pytest.raises(TransitionError, match="unit"):
        check("held", Transition("dispatched"))
    with pytest.raises(TransitionError, match="unknown"):
        check("lost", Transition("closed"))


def test_incident_sla_timers():
    assert due_at("notified", T0) == T0 + timedelta(minutes=10)
    assert not overdue("notified", T0, T0 + timedelta(minutes=10))
    assert overdue("notified", T0, T0 + timedelta(minutes=10, seconds=1))
    assert overdue("dispatched", T0, T0 + timedelta(minutes=61))
    assert not overdue("dispatched", T0, T0 + timedelta(minutes=59))
    assert not overdue("held", T0, T0 + timedelta(days=1))  # no timer while held
    assert overdue("notified", T0, T0 + timedelta(minutes=6), {"notified": 5})
