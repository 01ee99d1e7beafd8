"""Demo field forces: per sub-district a few pickup vehicles, a medical team, a police patrol and a
community work group, near the sub-district's centre, each with its staff (seed 000: the district
operations center rolls up the field forces of its sub-districts every morning)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Connection, insert, select

from placecode.db import schema as t

# kind, name, how many per sub-district, code letter
UNITS_PER_SUBDISTRICT = [("pickup", "转运车", 2, "T"), ("medical", "医疗队", 1, "M"),
                         ("police", "巡逻警组", 1, "P"), ("community", "社区工作组", 1, "C")]
STAFF_PER_UNIT = 4
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"


def make_units(conn: Connection, now: datetime, rng: np.random.Generator) -> tuple[int, int]:
    """Insert units and staff for every sub-district; returns (units, staff)."""
    s = t.subdistricts.c
    areas = conn.execute(select(s.id, s.district_id, s.name_zh, s.label_lon, s.label_lat)
                         .order_by(s.id)).all()
    units, staff = [], []
    for area in areas:
        for kind, label, count, letter in UNITS_PER_SUBDISTRICT:
            for n in range(1, count + 1):
                unit_id = len(units) + 1
                units.append({
                    "id": unit_id, "code": f"U{area.id}{letter}{n}",
                    "name": f"{area.name_zh}{label}{n}号", "kind": kind,
                    "district_id": area.district_id, "subdistrict_id": area.id,
                    "status": "available", "incident_id": None,
                    "lon": area.label_lon + rng.normal(0, 0.01),
                    "lat": area.label_lat + rng.normal(0, 0.008), "status_since": now})
                for _ in range(STAFF_PER_UNIT):
                    # the first one is the demo's `field` login (district 0 of DEMO_USERS)
                    staff.append({
                        "name": rng.choice(list(SURNAMES)) + "".join(
                            rng.choice(list(GIVEN), size=rng.integers(1, 3))),
                        "district_id": area.district_id, "subdistrict_id": area.id,
                        "unit_id": unit_id, "username": None if staff else "field",
                        "active": True})
    if units:
        conn.execute(insert(t.units), units)
        conn.execute(insert(t.staff), staff)
    return len(units), len(staff)
