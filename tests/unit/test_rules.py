"""Risk rules: evaluation by hand-made facts, validation, versioned and audited changes, the
preview, and the bulk re-evaluation that applies a change to everyone."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from placecode.db import schema as t
from placecode.rules import jobs
from placecode.rules.definitions import RuleError, RuleSet
from placecode.rules.evaluate import NO_VENUE, Context, Facts, verdicts
from placecode.rules.preview import preview
from placecode.rules.status import reevaluate_all
from placecode.rules.store import load_rules, proposed, save_rules

NOW = np.datetime64("2026-11-23T12:00:00", "s")
NAT = np.datetime64("NaT", "s")
H = np.timedelta64(3600, "s")


def facts(**kw) -> Facts:
    base = dict(health_code="green", managed=False, key_until=NAT, monitoring_until=NAT,
                hotel_venue_id=NO_VENUE, negative_test_at=NAT, doses=3)
    base |= kw
    return Facts(**{k: np.array([v]) for k, v in base.items()})


def ctx(venue_id=7, kind="shop", temperature=np.nan, mask=np.nan) -> Context:
    return Context(np.array([NOW]), np.array([venue_id]), np.array([kind]),
                   np.array([temperature]), np.array([mask]))


def judge(f: Facts, c: Context | None = None, rules: RuleSet | None = None):
    v, r, a = verdicts(f, c or ctx(), rules or RuleSet.defaults())
    return v[0], r[0], bool(a[0])


def test_verdicts_follow_the_rules_by_hand():
    assert judge(facts()) == ("green", "", False)
    assert judge(facts(health_code="yellow")) == ("yellow", "health_code_yellow", False)
    assert judge(facts(health_code="red")) == ("red", "health_code_red", True)
    assert judge(facts(managed=True, health_code="yellow")) == \
        ("red", "managed,health_code_yellow", True)
    monitored = facts(monitoring_until=NOW + 48 * H, key_until=NOW + 200 * H,
                      negative_test_at=NOW - 2 * H, hotel_venue_id=7)
    assert judge(monitored, ctx(venue_id=7)) == ("green", "", False)  # in their own hotel
    assert judge(monitored, ctx(venue_id=8)) == ("red", "arrival_monitoring", True)
    key = facts(key_until=NOW + H, negative_test_at=NOW - 47 * H)
    assert judge(key) == ("green", "", False)
    assert judge(facts(key_until=NOW + H, negative_test_at=NOW - 49 * H)) == \
        ("red", "key_person_test", True)
    assert judge(facts(key_until=NOW - H)) == ("green", "", False)  # no longer a key person
    assert judge(facts(), ctx(temperature=37.3)) == ("red", "temperature", False)
    assert judge(facts(), ctx(temperature=37.2, mask=0)) == ("yellow", "mask", False)


def test_parameters_change_the_verdict():
    rules = proposed(RuleSet.defaults(), {
        "vaccine_doses": {"params": {"min_doses": 3, "venue_kinds": ["mall"]}},
        "key_person_test": {"params": {"test_hours": 24}},
        "temperature": {"enabled": False}})
    assert judge(facts(doses=2), ctx(kind="mall"), rules) == ("yellow", "vaccine_doses", False)
    assert judge(facts(doses=2), ctx(kind="shop"), rules) == ("green", "", False)
    assert judge(facts(key_until=NOW + H, negative_test_at=NOW - 30 * H), rules=rules)[0] == "red"
    assert judge(facts(), ctx(temperature=39.0), rules) == ("green", "", False)


@pytest.mark.parametrize("change, words", [
    ({"nope": {"enabled": False}}, "unknown rule 'nope'"),
    ({"temperature": {"params": {"max_c": 50}}}, "max_c: 50.0 is outside 36.5..39"),
    ({"temperature": {"params": {"max_c": "hot"}}}, "max_c: give a number"),
    ({"key_person_test": {"params": {"test_hours": 1.5}}}, "test_hours: give a whole number"),
    ({"vaccine_doses": {"params": {"venue_kinds": ["spa"]}}}, "unknown venue kind spa"),
    ({"mask": {"params": {"strict": True}}}, "unknown parameter strict"),
    ({"mask": {"enabled": "yes"}}, "enabled must be true or false"),
])
def test_bad_rule_changes_name_the_rule_and_parameter(change, words):
    with pytest.raises(RuleError, match=words):
        proposed(RuleSet.defaults(), change)


def test_a_change_is_a_new_audited_version_and_is_applied_to_everyone(city_db):
    engine = city_db.engine
    now = city_db.now
    with engine.connect() as conn:
        assert load_rules(conn).version == 0
    before = preview(engine, RuleSet.defaults(), now)
    assert before.per_rule["managed"] > 0 and before.red > 0
    with engine.begin() as conn, pytest.raises(RuleError, match="say why"):
        save_rules(conn, {"health_code_yellow": {"enabled": False}}, username="admin",
                   user_id=None, reason=" ", now=now.astype(object))
    with engine.begin() as conn, pytest.raises(RuleError, match="nothing changed"):
        save_rules(conn, {"mask": {"enabled": True}}, username="admin", user_id=None,
                   reason="no-op", now=now.astype(object))
    change = {"health_code_yellow": {"enabled": False},
              "arrival_monitoring": {"params": {"monitoring_days": 10}}}
    with engine.connect() as conn:
        proposal = proposed(load_rules(conn), change)
    after = preview(engine, proposal, now)
    assert after.yellow < before.yellow and "health_code_yellow" not in after.per_rule
    assert after.per_rule["arrival_monitoring"] >= before.per_rule["arrival_monitoring"]
    with engine.begin() as conn:
        new = save_rules(conn, change, username="admin", user_id=None,
                         reason="yellow codes are handled by the community now",
                         now=now.astype(object))
    assert new.version == 1
    with engine.connect() as conn:
        versions = conn.execute(select(t.rule_versions.c.rule_id, t.rule_versions.c.changed_by,
                                       t.rule_versions.c.reason)
                                .where(t.rule_versions.c.version == 1)).all()
        audit = conn.execute(select(t.audit_log.c.action, t.audit_log.c.detail)
                             .where(t.audit_log.c.action == "rules_change")).all()
        assert load_rules(conn).params["arrival_monitoring"]["monitoring_days"] == 10
    assert sorted(v.rule_id for v in versions) == ["arrival_monitoring", "health_code_yellow"]
    assert versions[0].changed_by == "admin" and "community" in versions[0].reason
    assert audit and "health_code_yellow" in audit[-1].detail

    result = reevaluate_all(engine, now)
    assert result.flagged.get("yellow", 0) == after.yellow
    assert result.flagged.get("red", 0) == after.red
    with engine.connect() as conn:
        stale = conn.execute(select(t.person_status.c.person_id)
                             .where(t.person_status.c.rule_version != 1).limit(1)).first()
        yellow_reason = conn.execute(select(t.person_status.c.person_id).where(
            t.person_status.c.reasons.like("%health_code_yellow%")).limit(1)).first()
    assert stale is None and yellow_reason is None


def test_preview_counts_residents_below_the_dose_threshold(demo_db):
    """By hand: persons whose highest recorded dose (or none) is under 3."""
    v = t.vaccinations
    with demo_db.engine.connect() as conn:
        doses = dict(conn.execute(select(v.c.person_id, func.max(v.c.dose))
                                  .group_by(v.c.person_id)).all())
        everyone = conn.execute(select(t.persons.c.id)).scalars().all()
    expected = sum(1 for pid in everyone if doses.get(pid, 0) < 3)
    rules = proposed(RuleSet.defaults(), {
        "vaccine_doses": {"params": {"min_doses": 3, "venue_kinds": ["mall"]}}})
    assert preview(demo_db.engine, rules, demo_db.now).per_rule["vaccine_doses"] == expected
    assert "vaccine_doses" not in preview(demo_db.engine, RuleSet.defaults(), demo_db.now).per_rule


def test_a_change_saved_while_a_pass_runs_is_applied_when_it_ends(city_db, monkeypatch):
    """The second save finds the job lock held; its change must still reach everyone."""
    engine, now = city_db.engine, city_db.now
    release, passes = threading.Event(), []

    def slow(engine, now, on_progress=None):
        result = reevaluate_all(engine, now, on_progress=on_progress)
        passes.append(result)
        if len(passes) == 1:
            release.wait(30)  # the first pass is done computing but still holds the lock
        return result

    monkeypatch.setattr(jobs, "reevaluate_all", slow)
    clock = lambda: now.astype(object)  # noqa: E731
    with engine.connect() as conn:
        version = load_rules(conn).version

    def save(change: dict):
        with engine.begin() as conn:
            return save_rules(conn, change, username="admin", user_id=None,
                              reason="test", now=now.astype(object)).version

    first = save({"mask": {"enabled": False}})
    assert first == version + 1 and jobs.start_reevaluation(engine, first, clock)
    deadline = time.time() + 60
    while not passes:
        assert time.time() < deadline
        time.sleep(0.05)
    second = save({"mask": {"enabled": True}})
    assert not jobs.start_reevaluation(engine, second, clock)  # one pass at a time
    release.set()
    while not ((state := jobs.reevaluation_state(engine)) and state["version"] == second
               and state["finished"]):
        assert time.time() < deadline, state
        time.sleep(0.05)
    assert "error" not in state and len(passes) == 2
    with engine.connect() as conn:
        stale = conn.execute(select(func.count()).select_from(t.person_status)
                             .where(t.person_status.c.rule_version != second)).scalar()
    assert stale == 0
