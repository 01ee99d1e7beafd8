"""The rollups every stored scan adds to, in the ingest's own transaction (scans API and feeds).

Counting here costs nothing measurable and is what makes the wall and the economy page fast
(DESIGN's storage facts). Distinct persons are not additive, so they are counted elsewhere
(placecode.economy.rollups); red and yellow only where the wall reads them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from placecode.clock import change_stamp
from placecode.db import schema as t
from placecode.db.upsert import increment

# table, key columns, carried columns (take the row's value), counts red/yellow
SPECS = (
    (t.rollup_venue_day, ("venue_id", "day"), (), True),
    (t.rollup_district_hour, ("district_id", "hour"), (), True),
    (t.rollup_industry_district_day, ("kind", "district_id", "day"), (), True),
    (t.rollup_industry_subdistrict_day, ("kind", "subdistrict_id", "day"), ("district_id",),
     False),
    (t.rollup_industry_district_hour, ("kind", "district_id", "hour"), (), False),
)


def count_scans(conn, scans: Iterable[dict]) -> None:
    """Add stored scans to every rollup. Each scan: venue_id, kind, district_id, subdistrict_id,
    ts (datetime) and verdict. Keys are written in sorted order: the same lock order everywhere."""
    counters = [Counter() for _ in SPECS]
    carried: list[dict] = [{} for _ in SPECS]
    for s in scans:
        ts = s["ts"]  # datetime or pandas Timestamp: plain values for the drivers
        cell = s | {"day": date(ts.year, ts.month, ts.day),
                    "hour": datetime(ts.year, ts.month, ts.day, ts.hour)}
        red, yellow = s["verdict"] == "red", s["verdict"] == "yellow"
        for (_, keys, carry, flags), counter, extra in zip(SPECS, counters, carried, strict=True):
            key = tuple(cell[k] for k in keys)
            counter[key + ("scans",)] += 1
            if flags:
                counter[key + ("red",)] += red
                counter[key + ("yellow",)] += yellow
            if carry:
                extra[key] = {c: cell[c] for c in carry}
    for (table, keys, carry, flags), counter, extra in zip(SPECS, counters, carried, strict=True):
        columns = ("scans", "red", "yellow") if flags else ("scans",)
        stamp = {"seq": change_stamp()} if table is t.rollup_venue_day else {}
        cells = sorted({k[:-1] for k in counter})
        increment(conn, table, keys, [
            dict(zip(keys, k, strict=True)) | extra.get(k, {})
            | {c: int(counter[k + (c,)]) for c in columns} | stamp
            for k in cells], latest=tuple(stamp) + carry)
