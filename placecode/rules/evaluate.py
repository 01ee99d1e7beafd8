"""Rule evaluation, vectorised: one implementation for a scan, a batch and the whole population.

The inputs are a person's precomputed facts (`person_status`, see status.py) and the scan's
context. Parameters that only compare times or values at the door (test hours, doses, fever,
mask) apply here; parameters that shape the facts (arrival window, monitoring days) apply when
the status is computed, which is why a rule change re-evaluates the population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from placecode.rules.definitions import RULE_DEFS, RuleSet

NO_VENUE = -1


@dataclass
class Facts:
    """Per-person facts, one array element per scan (or per person for the population)."""
    health_code: np.ndarray  # str
    managed: np.ndarray  # bool
    key_until: np.ndarray  # datetime64[s], NaT when not a key person
    monitoring_until: np.ndarray  # datetime64[s], NaT
    hotel_venue_id: np.ndarray  # int, NO_VENUE
    negative_test_at: np.ndarray  # datetime64[s], NaT
    doses: np.ndarray  # int


@dataclass
class Context:
    """Where and when: the scan's venue and the door's checks (NaN when not reported)."""
    ts: np.ndarray  # datetime64[s]
    venue_id: np.ndarray  # int, NO_VENUE for "a plain public venue"
    venue_kind: np.ndarray  # str, "" for a plain venue
    temperature_c: np.ndarray  # float
    mask: np.ndarray  # float: 1 on, 0 off, NaN unknown

    @classmethod
    def plain(cls, n: int, ts: np.datetime64) -> Context:
        """Any public venue at time `ts`, no door checks: the status 'as of now'."""
        return cls(np.full(n, ts, "datetime64[s]"), np.full(n, NO_VENUE), np.full(n, ""),
                   np.full(n, np.nan), np.full(n, np.nan))


def hits(f: Facts, c: Context, rules: RuleSet) -> dict[str, np.ndarray]:
    """Which enabled rules each element hits, in severity order."""
    def before(limit: np.ndarray) -> np.ndarray:
        return ~np.isnat(limit) & (c.ts < limit)

    out: dict[str, np.ndarray] = {}
    if rules.on("managed"):
        out["managed"] = f.managed.astype(bool)
    if rules.on("health_code_red"):
        out["health_code_red"] = f.health_code == "red"
    if rules.on("arrival_monitoring"):
        out["arrival_monitoring"] = before(f.monitoring_until) & (c.venue_id != f.hotel_venue_id)
    if rules.on("key_person_test"):
        valid = np.timedelta64(int(rules.p("key_person_test", "test_hours")) * 3600, "s")
        tested = ~np.isnat(f.negative_test_at) & (f.negative_test_at >= c.ts - valid)
        out["key_person_test"] = before(f.key_until) & ~tested
    if rules.on("temperature"):
        with np.errstate(invalid="ignore"):
            out["temperature"] = c.temperature_c >= rules.p("temperature", "max_c")
    if rules.on("health_code_yellow"):
        out["health_code_yellow"] = f.health_code == "yellow"
    if rules.on("vaccine_doses"):
        kinds = rules.p("vaccine_doses", "venue_kinds")
        out["vaccine_doses"] = np.isin(c.venue_kind, kinds) & (
            f.doses < rules.p("vaccine_doses", "min_doses"))
    if rules.on("mask"):
        out["mask"] = c.mask == 0
    return out


def verdicts(f: Facts, c: Context, rules: RuleSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(verdict, reasons, alert) arrays: the worst verdict of the rules hit, their ids joined by
    commas, and whether any hit rule raises an alert."""
    n = len(c.ts)
    verdict = np.full(n, "green", dtype="<U6")
    reasons = np.full(n, "", dtype=object)
    alert = np.zeros(n, dtype=bool)
    found = hits(f, c, rules)
    for rule in RULE_DEFS[::-1]:  # least severe first, so red overwrites yellow
        hit = found.get(rule.rule_id)
        if hit is None or not hit.any():
            continue
        verdict[hit & (verdict != "red")] = rule.verdict
        alert |= hit & bool(rules.params[rule.rule_id]["alert"])
    for rule in RULE_DEFS:
        hit = found.get(rule.rule_id)
        if hit is not None and hit.any():
            reasons[hit] = np.where(reasons[hit] == "", rule.rule_id,
                                    reasons[hit] + "," + rule.rule_id)
    return verdict, reasons.astype(str), alert
