"""How many persons a rule change would flag, before it is saved (the rules page's preview).

Only persons who could be flagged by a person-level rule are evaluated (a non-green code, a key
person, a recent key-area arrival): a few percent of the city, so the preview answers in about a
second at the `city` preset (0.9 s on SQLite here). Door checks (fever, mask) depend on the scan
and are not counted; the vaccine rule counts residents below the dose threshold when it applies
to some venue kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import BigInteger, Engine, func, or_, select, union

from placecode.db import schema as t
from placecode.db.fast import raw_rows, temp_values
from placecode.rules.definitions import RULES, RuleSet
from placecode.rules.evaluate import Context, hits, verdicts
from placecode.rules.status import load_facts, py_datetime

MAX_WINDOW_DAYS = 60  # the largest arrival window a rule may have


@dataclass
class Preview:
    per_rule: dict[str, int]  # persons hit, by rule (door-check rules absent)
    red: int
    yellow: int


def _candidates(now: np.datetime64):
    window = py_datetime(now - np.timedelta64(MAX_WINDOW_DAYS, "D"))
    a, k, p = t.arrivals, t.key_persons, t.persons
    return union(
        select(p.c.id).where(p.c.health_code.in_(("yellow", "red"))),  # the index, not a scan
        select(k.c.person_id).where(or_(k.c.until.is_(None), k.c.until > py_datetime(now))),
        select(a.c.person_id).where(a.c.key_area.is_(True), a.c.arrived_at > window),
    )


def below_doses(engine: Engine, min_doses: int) -> int:
    """Residents with fewer than `min_doses` doses (person_status keeps each one's highest)."""
    s = t.person_status
    with engine.connect() as conn:
        everyone = conn.execute(select(func.count()).select_from(t.persons)).scalar()
        enough = conn.execute(select(func.count()).select_from(s)
                              .where(s.c.doses >= min_doses)).scalar()
    return everyone - enough


def preview(engine: Engine, rules: RuleSet, now: np.datetime64) -> Preview:
    """Persons flagged now, per rule and overall, if `rules` were in force."""
    with engine.begin() as conn:
        candidates = [r[0] for r in raw_rows(conn, _candidates(now))]
        with temp_values(conn, "tmp_preview_ids", candidates, BigInteger()) as tmp:
            ids, facts = load_facts(conn, lambda col: col.in_(select(tmp.c.v)), now, rules)
    ctx = Context.plain(len(ids), now)
    per_rule = {r: int(h.sum()) for r, h in hits(facts, ctx, rules).items()
                if r not in ("temperature", "mask", "vaccine_doses")}
    verdict, _, _ = verdicts(facts, ctx, rules)
    if rules.on("vaccine_doses") and rules.p("vaccine_doses", "venue_kinds"):
        per_rule["vaccine_doses"] = below_doses(engine, rules.p("vaccine_doses", "min_doses"))
    ordered = {r: per_rule[r] for r in RULES if r in per_rule}
    return Preview(ordered, int((verdict == "red").sum()), int((verdict == "yellow").sum()))
