"""Each resident's latest test, kept on `persons.last_test_at` so that testing progress per
community and building is one walk of a covering index (no join to the tests table).

Kept current by the tests feed (`raise_last_tests`) and the demo build; `refresh_last_tests`
recomputes it from `tests` for a database whose tests were loaded some other way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, func, select, update

from placecode.db.schema import persons, tests


def raise_last_tests(conn: Connection, person_ids: np.ndarray, sampled_at: np.ndarray) -> int:
    """persons.last_test_at = the later of the stored and the given sampling time, per person.

    Parameters
    ----------
    person_ids : persons.id of each test.
    sampled_at : its sampling time (naive city time), aligned with `person_ids`.

    Returns the number of persons touched.
    """
    frame = pd.DataFrame({"pid": np.asarray(person_ids),
                          "at": pd.to_datetime(np.asarray(sampled_at))}).dropna()
    if frame.empty:
        return 0
    latest = frame.groupby("pid")["at"].max()
    p = persons.c
    stmt = (update(persons).where(p.id == bindparam("pid"),
                                  p.last_test_at.is_(None) | (p.last_test_at < bindparam("at")))
            .values(last_test_at=bindparam("at")))
    conn.execute(stmt, [{"pid": int(pid), "at": at.to_pydatetime()}
                        for pid, at in latest.items()])
    return len(latest)


def refresh_last_tests(conn: Connection) -> None:
    """Recompute persons.last_test_at for everyone from the tests table (set-based)."""
    latest = (select(func.max(tests.c.sampled_at)).where(tests.c.person_id == persons.c.id)
              .scalar_subquery())
    conn.execute(update(persons).values(last_test_at=latest))


def last_tests(person_ids: np.ndarray, test_person_ids: np.ndarray,
               sampled_at: np.ndarray) -> np.ndarray:
    """For bulk builds: each person's latest sampling time (NaT when never tested)."""
    latest = (pd.Series(np.asarray(sampled_at, dtype="datetime64[s]"),
                        index=np.asarray(test_person_ids)).groupby(level=0).max())
    return latest.reindex(np.asarray(person_ids)).to_numpy("datetime64[s]")
