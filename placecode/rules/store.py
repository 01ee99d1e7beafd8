"""Rules in force, stored in `rules`; every change is a new version in `rule_versions`."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from placecode.auth import audit
from placecode.db.schema import rule_versions, rules
from placecode.rules.definitions import RULES, RuleError, RuleSet, dumps, rule_term, validate_params


def load_rules(conn: Connection) -> RuleSet:
    """The rules in force; the defaults (version 0) until an admin first saves a change."""
    rows = conn.execute(select(rules)).all()
    if not rows:
        return RuleSet.defaults()
    base = RuleSet.defaults()
    enabled, params = dict(base.enabled), dict(base.params)
    for row in rows:
        if row.rule_id in RULES:  # a rule removed from the code is simply not applied
            enabled[row.rule_id] = bool(row.enabled)
            params[row.rule_id] = RULES[row.rule_id].defaults() | json.loads(row.params)
    return RuleSet(max(r.version for r in rows), enabled, params)


def proposed(current: RuleSet, changes: dict[str, dict[str, Any]]) -> RuleSet:
    """`current` with `changes` ({rule_id: {"enabled": bool, "params": {...}}}) applied and
    validated; raises RuleError naming the rule and parameter that is wrong."""
    enabled, params = dict(current.enabled), dict(current.params)
    for rule_id, change in changes.items():
        if rule_id not in RULES:
            raise RuleError("rule_unknown", rule=repr(rule_id)[:40], known=tuple(RULES))
        if "enabled" in change:
            if not isinstance(change["enabled"], bool):
                raise RuleError("rule_enabled_bool", rule=rule_term(rule_id))
            enabled[rule_id] = change["enabled"]
        if "params" in change:
            params[rule_id] = validate_params(rule_id, current.params[rule_id]
                                              | change["params"])
    return RuleSet(current.version + 1, enabled, params)


def save_rules(conn: Connection, changes: dict[str, dict[str, Any]], *, username: str,
               user_id: int | None, reason: str, now: datetime) -> RuleSet:
    """Validate and store a change as a new version, audit-logged; returns the new rule set.

    Only rules that actually change get a `rule_versions` row; nothing changed is an error (a
    version that changes nothing would confuse the history)."""
    if not reason.strip():
        raise RuleError("rule_say_why")
    current = load_rules(conn)
    new = proposed(current, changes)
    changed = [r for r in RULES if (new.enabled[r], new.params[r])
               != (current.enabled[r], current.params[r])]
    if not changed:
        raise RuleError("rule_nothing_changed")
    conn.execute(delete(rules))
    conn.execute(insert(rules), [
        {"rule_id": r, "enabled": new.enabled[r], "params": dumps(new.params[r]),
         "version": new.version} for r in RULES])
    conn.execute(insert(rule_versions), [
        {"version": new.version, "rule_id": r, "enabled": new.enabled[r],
         "params": dumps(new.params[r]), "changed_by": username, "changed_at": now,
         "reason": reason.strip()} for r in changed])
    audit.record(conn, "rules_change", user_id=user_id, username=username,
                 subject=f"rules v{new.version}", reason=reason.strip(),
                 detail=", ".join(changed), now=now)
    return new


class RuleCache:
    """The rules in force for the scan path: reloaded only when the stored version changes
    (one tiny query per request instead of reading every rule)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._rules: RuleSet | None = None
        self._lock = threading.Lock()

    def get(self, conn: Connection) -> RuleSet:
        version = conn.execute(select(func.max(rules.c.version))).scalar() or 0
        cached = self._rules
        if cached is not None and cached.version == version:
            return cached
        with self._lock:
            self._rules = load_rules(conn)
            return self._rules


def rule_history(conn: Connection, limit: int = 30) -> list[dict]:
    """The latest rule changes, newest first."""
    rv = rule_versions
    return [dict(r) for r in conn.execute(
        select(rv.c.version, rv.c.rule_id, rv.c.enabled, rv.c.params, rv.c.changed_by,
               rv.c.changed_at, rv.c.reason).order_by(rv.c.id.desc()).limit(limit)).mappings()]
