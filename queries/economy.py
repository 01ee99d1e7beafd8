"""Foot traffic by industry for economic planners, read from the rollups only (never scans).

Every viewer, and every export, gets the same numbers: a cell counting fewer than k distinct
persons (PLACECODE_MIN_CELL_PERSONS) shows no number. A cell that aggregates stored cells (a
week, a district, the hours of several days) knows only a lower bound of its persons, the
largest of its parts: suppression may hide a cell that had k persons, never show one that had
fewer. Within a group that differs only by industry a lone hidden cell is joined by the next
smallest (`small_cell_mask`), so a visible total minus the visible industries reveals no cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, func, select

from placecode.auth.audit import record
from placecode.auth.policy import Viewer, district_for, small_cell_mask
from placecode.db import schema as t
from placecode.db.fast import raw_rows

DIMS = ("industry", "district", "subdistrict", "day", "daytype", "hour")
COLUMN = {"industry": "kind", "district": "district_id", "subdistrict": "subdistrict_id"}


class EconomyError(ValueError):
    """A request the foot-traffic data cannot answer; the message says what to change."""


@dataclass(frozen=True)
class Cube:
    """One view's cells: the dimensions asked for, `scans` (NaN when suppressed), `hidden`."""
    frame: pd.DataFrame
    by: tuple[str, ...]
    start: date
    end: date
    district: int | None
    k: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def viewer_district(scope: Viewer, district: int | None) -> int | None:
    """The district a view is limited to: the viewer's own for district-bound roles."""
    return district_for(scope, "economy", district)


def parse_by(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'industry,district,day' → a tuple of known dimensions, in the given order."""
    parts = [p.strip() for p in (text.split(",") if isinstance(text, str) else text)]
    parts = [p for p in parts if p]
    unknown = [p for p in parts if p not in DIMS]
    if unknown or not parts:
        raise EconomyError(f"--by: {', '.join(unknown) or 'nothing given'} is not a dimension; "
                           f"use a comma-separated list of {', '.join(DIMS)}")
    if len(set(parts)) != len(parts):
        raise EconomyError(f"--by: {text!r} names a dimension twice")
    if "subdistrict" in parts and "hour" in parts:
        raise EconomyError("--by: hours are kept per district, not per sub-district; drop "
                           "'hour' or use 'district'")
    return tuple(parts)


def data_days(engine: Engine) -> tuple[date, date] | None:
    """First and last day the rollups hold (they outlive the scans' retention)."""
    r = t.rollup_industry_district_day
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(r.c.day), func.max(r.c.day))).one()
    return (first, last) if first else None


@dataclass(frozen=True)
class Cells:
    """Stored rollup rows under a view (one read), which several cubes can aggregate."""
    frame: pd.DataFrame
    grain: str  # day | subdistrict | hour
    start: date
    end: date
    district: int | None


def grain_for(by: tuple[str, ...]) -> str:
    return "subdistrict" if "subdistrict" in by else "hour" if "hour" in by else "day"


def read_cells(engine: Engine, scope: Viewer, grain: str, start: date, end: date, *,
               district: int | None = None, kinds=None) -> Cells:
    """The stored cells of a grain over [start, end] (scope applied): kind, district_id,
    [subdistrict_id], day, [hour], daytype, scans, persons (0 when not counted yet)."""
    if end < start:
        raise EconomyError(f"the period ends ({end}) before it starts ({start})")
    district = viewer_district(scope, district)
    table, extra = {"subdistrict": (t.rollup_industry_subdistrict_day, ["subdistrict_id"]),
                    "hour": (t.rollup_industry_district_hour, []),
                    "day": (t.rollup_industry_district_day, [])}[grain]
    hourly = grain == "hour"
    when = table.c.hour if hourly else table.c.day
    lo = datetime.combine(start, datetime.min.time()) if hourly else start
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time()) if hourly \
        else end + timedelta(days=1)
    where = [when >= lo, when < hi]
    if district is not None:
        where.append(table.c.district_id == district)
    if kinds:
        where.append(table.c.kind.in_(tuple(kinds)))
    cols = ["kind", "district_id", *extra, when.name, "scans", "persons"]
    with engine.connect() as conn:
        frame = pd.DataFrame(raw_rows(conn, select(*(table.c[c] for c in cols))
                                      .where(and_(*where))), columns=cols)
    stamp = pd.to_datetime(frame[when.name])
    if hourly:
        frame["hour"] = stamp.dt.hour
    frame["day"] = stamp.dt.date
    frame["daytype"] = np.where(stamp.dt.day_of_week >= 5, "weekend", "weekday")
    frame["persons"] = pd.to_numeric(frame["persons"]).fillna(0).astype(np.int64)
    return Cells(frame, grain, start, end, district)


def aggregate(cells: Cells, by, k: int, start: date | None = None,
              end: date | None = None) -> Cube:
    """Scans per cell of `by` over [start, end] (default: the cells' period), suppressed."""
    by = parse_by(by)
    if grain_for(by) != cells.grain and not (cells.grain == "subdistrict"
                                             and "subdistrict" not in by and "hour" not in by):
        raise EconomyError(f"cells of grain {cells.grain} cannot give {','.join(by)}")
    start, end = start or cells.start, end or cells.end
    stored = cells.frame
    if (start, end) != (cells.start, cells.end):
        stored = stored[(stored["day"] >= start) & (stored["day"] <= end)]
    keys = [COLUMN.get(d, d) for d in by]
    frame = (stored.groupby(keys, sort=True)
             .agg(scans=("scans", "sum"), persons=("persons", "max")).reset_index()
             if len(stored) else pd.DataFrame(columns=[*keys, "scans", "persons"]))
    frame = frame.rename(columns={v: k_ for k_, v in COLUMN.items() if v in frame})
    frame["hidden"] = _suppress(frame, by, k)
    frame["scans"] = frame["scans"].astype(float).mask(frame["hidden"])
    return Cube(frame.drop(columns="persons"), by, start, end, cells.district, k)


def foot_traffic(engine: Engine, scope: Viewer, by, start: date, end: date, *,
                 district: int | None = None, kinds=None, k: int = 10) -> Cube:
    """Scans per cell of `by` over [start, end], suppressed below k persons."""
    by = parse_by(by)
    cells = read_cells(engine, scope, grain_for(by), start, end, district=district,
                       kinds=kinds)
    return aggregate(cells, by, k)


def _suppress(frame: pd.DataFrame, by: tuple[str, ...], k: int) -> np.ndarray:
    """Primary (persons < k) and, across industries, complementary suppression. A cell whose
    persons are not counted yet (0) has at least one: it is hidden like any small cell."""
    persons = np.maximum(frame["persons"].to_numpy(np.int64), 1)
    if "industry" not in by:
        return persons < k
    hidden = np.zeros(len(frame), bool)
    rest = [d for d in by if d != "industry"]
    groups = frame.groupby(rest, sort=False).indices.values() if rest else [np.arange(len(frame))]
    for idx in groups:
        hidden[idx] = small_cell_mask(persons[idx], k)
    return hidden


def kinds_present(engine: Engine) -> list[str]:
    """Venue kinds (industries) that have venues, in a stable order."""
    with engine.connect() as conn:
        return list(conn.execute(select(t.venues.c.kind).distinct().order_by(t.venues.c.kind))
                    .scalars())


def areas(engine: Engine, scope: Viewer, district: int | None) -> pd.DataFrame:
    """The map's areas: districts, or one district's sub-districts. Columns: id, name_zh,
    name_en."""
    district = viewer_district(scope, district)
    table = t.districts if district is None else t.subdistricts
    query = select(table.c.id, table.c.name_zh, table.c.name_en).order_by(table.c.id)
    if district is not None:
        query = query.where(table.c.district_id == district)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=["id", "name_zh", "name_en"])


def venues_per_area(engine: Engine, scope: Viewer, district: int | None,
                    kind: str | None) -> pd.DataFrame:
    """How many venues of a kind each area has (a registry count, no persons): area id, venues."""
    district = viewer_district(scope, district)
    v = t.venues
    area = v.c.district_id if district is None else v.c.subdistrict_id
    query = select(area.label("id"), func.count().label("venues")).group_by(area)
    if district is not None:
        query = query.where(v.c.district_id == district)
    if kind:
        query = query.where(v.c.kind == kind)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=["id", "venues"])


def export_frame(cube: Cube) -> pd.DataFrame:
    """The cube as a file: its dimensions, `scans` (empty when suppressed) and `suppressed`."""
    out = cube.frame[list(cube.by)].copy()
    out["scans"] = cube.frame["scans"].round().astype("Int64")
    out["suppressed"] = cube.frame["hidden"].astype(bool)
    return out.reset_index(drop=True)


def export(engine: Engine, scope: Viewer, who: str, by, start: date, end: date, *,
           district: int | None = None, kinds=None, k: int = 10,
           now: datetime | None = None) -> tuple[Cube, pd.DataFrame]:
    """The cube as a file's rows, audit-logged as an export (who, what, which period)."""
    cube = foot_traffic(engine, scope, by, start, end, district=district, kinds=kinds, k=k)
    frame = export_frame(cube)
    with engine.begin() as conn:
        record(conn, "export_foot_traffic", username=who, subject=",".join(cube.by), now=now,
               detail=f"{start}..{end} district={cube.district} rows={len(frame)} "
                      f"suppressed={int(frame['suppressed'].sum())} k={k}")
    return cube, frame
