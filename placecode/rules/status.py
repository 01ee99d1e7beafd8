"""Per-person status (`person_status`): the facts the verdict at the door reads, precomputed.

A scan then costs one indexed lookup. The status is recomputed for the persons a feed touched,
and for everyone after a rule change (in id-range chunks, each its own short transaction, so
scans keep flowing meanwhile; a person's row is always either the old or the new version).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Connection, Engine, and_, delete, func, select
from tqdm import tqdm

from placecode.db import schema as t
from placecode.db.bulk import bulk_insert
from placecode.db.fast import raw_rows, temp_values
from placecode.rules.definitions import RuleSet
from placecode.rules.evaluate import NO_VENUE, Context, Facts, verdicts
from placecode.rules.store import load_rules

CHUNK = 250_000
FOREVER = np.datetime64("2999-12-31T00:00:00", "s")


@dataclass
class Reevaluation:
    persons: int
    flagged: dict[str, int]
    seconds: float


def _frame(conn: Connection, query, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(raw_rows(conn, query), columns=columns)


def _ts(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series).to_numpy("datetime64[s]")


def load_facts(conn: Connection, where: Callable, now: np.datetime64,
               rules: RuleSet) -> tuple[np.ndarray, Facts]:
    """(person ids, facts) for the persons selected by `where(person_id_column)`."""
    p = _frame(conn, select(t.persons.c.id, t.persons.c.health_code)
               .where(where(t.persons.c.id)).order_by(t.persons.c.id), ["id", "health_code"])
    ids = p["id"].to_numpy()
    index = pd.Index(ids)

    def per_person(query, columns) -> pd.DataFrame:
        return _frame(conn, query, ["person_id", *columns]).set_index("person_id").reindex(index)

    v, tst = t.vaccinations, t.tests
    doses = per_person(select(v.c.person_id, func.max(v.c.dose)).where(where(v.c.person_id))
                       .group_by(v.c.person_id), ["doses"])["doses"].fillna(0).astype(int)
    negative = per_person(
        select(tst.c.person_id, func.max(tst.c.sampled_at))
        .where(where(tst.c.person_id), tst.c.result == "negative").group_by(tst.c.person_id),
        ["at"])["at"]

    window = np.timedelta64(int(rules.p("arrival_monitoring", "window_days")) * 86400, "s")
    monitor = np.timedelta64(int(rules.p("arrival_monitoring", "monitoring_days")) * 86400, "s")
    a = t.arrivals
    arrived = _ts(per_person(
        select(a.c.person_id, func.max(a.c.arrived_at))
        .where(where(a.c.person_id), a.c.key_area.is_(True),
               a.c.arrived_at > py_datetime(now - window))
        .group_by(a.c.person_id), ["at"])["at"])
    k = t.key_persons
    active = (k.c.until.is_(None)) | (k.c.until > py_datetime(now))
    keys = _frame(conn, select(k.c.person_id, k.c.category, k.c.until)
                  .where(where(k.c.person_id), active), ["person_id", "category", "until"])
    keys["until"] = _ts(keys["until"]).astype("datetime64[s]")
    keys.loc[keys["until"].isna(), "until"] = FOREVER
    managed = keys[keys.category == "managed"]["person_id"].unique()
    contact_until = keys[keys.category != "managed"].groupby("person_id")["until"].max() \
        .reindex(index)
    h = t.hotel_stays
    stays = per_person(
        select(h.c.person_id, func.max(h.c.venue_id))
        .where(where(h.c.person_id), h.c.check_out.is_(None) | (h.c.check_out > py_datetime(now)))
        .group_by(h.c.person_id), ["venue_id"])["venue_id"]

    key_until = np.fmax(arrived + window, _ts(contact_until))  # NaT only when both are
    return ids, Facts(
        health_code=p["health_code"].to_numpy().astype(str),
        managed=np.isin(ids, managed),
        key_until=key_until,
        monitoring_until=arrived + monitor,
        hotel_venue_id=stays.fillna(NO_VENUE).astype(np.int64).to_numpy(),
        negative_test_at=_ts(negative),
        doses=doses.to_numpy(),
    )


def py_datetime(ts: np.datetime64) -> datetime:
    return pd.Timestamp(ts).to_pydatetime()


def write_status(conn: Connection, where: Callable, now: np.datetime64, rules: RuleSet
                 ) -> dict[str, int]:
    """Recompute and replace the status rows selected by `where`; returns verdict counts."""
    ids, f = load_facts(conn, where, now, rules)
    verdict, reasons, _ = verdicts(f, Context.plain(len(ids), now), rules)
    conn.execute(delete(t.person_status).where(where(t.person_status.c.person_id)))
    bulk_insert(conn, t.person_status, {
        "person_id": ids, "verdict": verdict, "reasons": reasons, "doses": f.doses,
        "negative_test_at": f.negative_test_at, "key_until": f.key_until,
        "monitoring_until": f.monitoring_until,
        "hotel_venue_id": np.where(f.hotel_venue_id == NO_VENUE, None, f.hotel_venue_id),
        "managed": f.managed, "evaluated_at": np.full(len(ids), now),
        "rule_version": np.full(len(ids), rules.version),
    })
    values, counts = np.unique(verdict, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def reevaluate_all(engine: Engine, now: np.datetime64, *, progress: bool = False,
                   on_progress: Callable[[int, int], None] | None = None) -> Reevaluation:
    """Recompute every person's status under the rules in force, chunk by chunk."""
    start = time.perf_counter()
    with engine.connect() as conn:
        rules = load_rules(conn)
        low, high = conn.execute(select(func.min(t.persons.c.id), func.max(t.persons.c.id))).one()
    flagged: dict[str, int] = {}
    total = 0
    if low is not None:
        bounds = range(int(low), int(high) + 1, CHUNK)
        with tqdm(total=int(high) - int(low) + 1, unit=" persons", unit_scale=True,
                  desc="re-evaluating", disable=not progress, file=sys.stderr) as bar:
            for first in bounds:
                last = min(first + CHUNK - 1, int(high))
                with engine.begin() as conn:
                    counts = write_status(
                        conn, lambda col, a=first, b=last: and_(col >= a, col <= b), now, rules)
                for verdict, n in counts.items():
                    flagged[verdict] = flagged.get(verdict, 0) + n
                total += sum(counts.values())
                bar.update(last - first + 1)
                if on_progress:
                    on_progress(last - int(low) + 1, int(high) - int(low) + 1)
    flagged.pop("green", None)
    return Reevaluation(total, flagged, round(time.perf_counter() - start, 2))


def reevaluate_persons(conn: Connection, person_ids: Iterable[int], now: np.datetime64,
                       rules: RuleSet | None = None) -> None:
    """Recompute the status of the persons a feed just touched (in the feed's transaction)."""
    ids = np.unique(np.fromiter(person_ids, dtype=np.int64))
    if len(ids) == 0:
        return
    rules = rules or load_rules(conn)
    with temp_values(conn, "tmp_eval_ids", ids, BigInteger()) as tmp:
        write_status(conn, lambda col: col.in_(select(tmp.c.v)), now, rules)


def needing_evaluation(conn: Connection, person_ids: np.ndarray, now: np.datetime64
                       ) -> np.ndarray:
    """Of these persons, those whose stored verdict a new test or dose can change: persons with
    no status row yet, and key persons (for whom a negative test decides)."""
    s = t.person_status
    with temp_values(conn, "tmp_touched_ids", person_ids, BigInteger()) as tmp:
        rows = raw_rows(conn, select(tmp.c.v).select_from(
            tmp.outerjoin(s, s.c.person_id == tmp.c.v))
            .where(s.c.person_id.is_(None) | (s.c.key_until > py_datetime(now))))
    return np.array([r[0] for r in rows], dtype=np.int64)
