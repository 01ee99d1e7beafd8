"""Batch plans for a community's testing round: buildings go down in batches by time slot, each
building told by an SMS-style message (seed 000: Xuhui's 居村微平台 notices), and each batch
marked notified once, by whom and when. Pure planning plus the two audited writes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from placecode.auth.audit import record
from placecode.db.schema import test_batches
from placecode.dispatch.sms import queue_batch_notices
from placecode.i18n import UserError

MAX_BATCHES = 40
SLOT_MINUTES = (5, 240)
PLATFORM = "居村微平台"


class PlanError(UserError, ValueError):
    """A plan that cannot be made or saved; the message names the field or the conflict."""


@dataclass
class Batch:
    batch_no: int
    slot_start: datetime
    slot_end: datetime
    building_ids: list[int]
    building_names: list[str]
    residents: int
    messages: list[str] = field(default_factory=list)


@dataclass
class Plan:
    community_id: int
    round_start: datetime  # the first slot's start: tests from then on count for the round
    batches: list[Batch]


def natural_key(name: str) -> tuple:
    """'3号楼' before '12号楼': digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def split_buildings(buildings: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """Buildings in name order cut into at most `n` runs of about even residents.

    `buildings` columns: building_id, name, residents. A building goes to the batch in which the
    middle of its residents falls, so runs are contiguous and none is empty; a community with
    fewer buildings than `n` gets one batch per building.
    """
    if buildings.empty:
        return []
    order = sorted(range(len(buildings)), key=lambda i: (natural_key(buildings["name"].iloc[i]),
                                                         int(buildings["building_id"].iloc[i])))
    frame = buildings.iloc[order].reset_index(drop=True)
    n = max(1, min(int(n), len(frame)))
    residents = frame["residents"].clip(lower=0).astype(float)
    if residents.sum() == 0:
        residents = pd.Series(1.0, index=frame.index)  # nobody registered: split by count
    middle = residents.cumsum() - residents / 2
    batch = (middle / residents.sum() * n).astype(int).clip(0, n - 1)
    runs = [frame[batch == b] for b in sorted(batch.unique())]
    return [r.reset_index(drop=True) for r in runs]


def sms_text(district: str, community: str, building: str, start: datetime,
             end: datetime) -> str:
    """One building's notice, e.g.
    【徐汇区居村微平台】XX社区3号楼居民：请于11月24日08:00–08:30分批下楼做核酸，携带身份证，保持间距。
    """
    return (f"【{district}{PLATFORM}】{community}{building}居民：请于{start.month}月{start.day}日"
            f"{start:%H:%M}–{end:%H:%M}分批下楼做核酸，携带身份证，保持间距。")


def make_plan(community_id: int, district: str, community: str, buildings: pd.DataFrame,
              start: datetime, slot_minutes: int, batches: int) -> Plan:
    """Split the community's buildings into `batches` consecutive slots from `start`.

    Raises PlanError naming the field when the numbers are out of range or there are no
    buildings.
    """
    if not 1 <= int(batches) <= MAX_BATCHES:
        raise PlanError("plan_batches", n=MAX_BATCHES)
    lo, hi = SLOT_MINUTES
    if not lo <= int(slot_minutes) <= hi:
        raise PlanError("plan_slot", lo=lo, hi=hi)
    if start is None:
        raise PlanError("plan_start")
    if buildings.empty:
        raise PlanError("plan_no_buildings", community=community_id)
    slot = timedelta(minutes=int(slot_minutes))
    out = []
    for i, run in enumerate(split_buildings(buildings, batches)):
        s, e = start + i * slot, start + (i + 1) * slot
        names = run["name"].tolist()
        out.append(Batch(i + 1, s, e, [int(b) for b in run["building_id"]], names,
                         int(run["residents"].sum()),
                         [sms_text(district, community, name, s, e) for name in names]))
    return Plan(int(community_id), start, out)


def existing_round(conn: Connection, community_id: int, round_start: datetime) -> bool:
    b = test_batches.c
    return conn.execute(select(b.id).where(b.community_id == community_id,
                                           b.round_start == round_start).limit(1)).first() \
        is not None


def save_plan(conn: Connection, plan: Plan, *, username: str, user_id: int | None = None,
              now: datetime) -> list[int]:
    """Store the plan's batches (one row each) and audit it, in the caller's transaction.

    Raises PlanError when the community already has a plan for this round (same first slot).
    Returns the new test_batches ids in batch order.
    """
    if existing_round(conn, plan.community_id, plan.round_start):
        raise PlanError("plan_exists", community=plan.community_id,
                        start=f"{plan.round_start:%Y-%m-%d %H:%M}")
    ids = []
    for batch in plan.batches:
        ids.append(conn.execute(insert(test_batches).values(
            community_id=plan.community_id, round_start=plan.round_start,
            batch_no=batch.batch_no, slot_start=batch.slot_start, slot_end=batch.slot_end,
            building_ids=",".join(str(b) for b in batch.building_ids),
            message="\n".join(batch.messages), created_at=now, created_by=username,
        )).inserted_primary_key[0])
    record(conn, "test_plan_create", user_id=user_id, username=username,
           subject=f"community {plan.community_id} round {plan.round_start:%Y-%m-%d %H:%M}",
           detail=json.dumps({"batches": len(plan.batches),
                              "buildings": sum(len(b.building_ids) for b in plan.batches)}),
           now=now)
    return [int(i) for i in ids]


def mark_notified(conn: Connection, batch_id: int, *, username: str,
                  user_id: int | None = None, now: datetime, sms_url: str = ""
                  ) -> tuple[int, int]:
    """Record that a batch's residents were told (who, when), queue their SMS notices and audit
    it; returns (SMS queued, residents without a registered phone).

    Raises PlanError when the batch does not exist or was notified already (naming who and when).
    """
    b = test_batches.c
    row = conn.execute(select(b.community_id, b.batch_no, b.round_start, b.notified_at,
                              b.notified_by).where(b.id == batch_id)).first()
    if row is None:
        raise PlanError("plan_no_batch", batch=batch_id)
    if row.notified_at is not None:
        raise PlanError("plan_notified_by", batch=row.batch_no,
                        at=f"{row.notified_at:%m-%d %H:%M}", by=row.notified_by)
    done = conn.execute(update(test_batches).where(b.id == batch_id, b.notified_at.is_(None))
                        .values(notified_at=now, notified_by=username)).rowcount
    if done != 1:  # another user got there between the read and the write
        raise PlanError("plan_notified", batch=row.batch_no)
    sent = queue_batch_notices(conn, batch_id, now, sms_url)
    record(conn, "test_batch_notify", user_id=user_id, username=username,
           subject=f"community {row.community_id} round {row.round_start:%Y-%m-%d %H:%M} "
                   f"batch {row.batch_no}", detail=json.dumps({"sms": sent[0],
                                                                "no_phone": sent[1]}), now=now)
    return sent
