"""Reads behind the venue search and a venue's page, and the one audited unmasking.

Viewer (enforced here, never in a layout):
- every logged-in role except a wall display searches venues and reads a venue's aggregates;
- district commanders, duty officers and field staff see their own district's venues only;
- planners see aggregates only: today's flagged scans (person-level) and unmasking are refused,
  and a venue's red/yellow counts are hidden from them, as on the wall's venue card;
- admin and city commanders see everything.

Search pages through 190k venues with LIMIT/OFFSET on indexed orders (the unique code index, or
the district index), one block of rows and one count per request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, and_, func, select

from placecode.auth.audit import record
from placecode.auth.policy import Viewer, district_for, require
from placecode.db.fast import raw_rows
from placecode.db.schema import districts, persons, rollup_venue_day, scans, subdistricts, venues
from placecode.i18n import UserError
from queries.alerts import mask_key
from queries.areas import districts_of

FLAGGED = ("red", "yellow")
REASON_MIN = 4  # characters: "核查密接" is a reason, "x" is not
MAX_BLOCK = 500
MAP_CAP = 5000
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # venue codes: digits sort before letters
ROW_COLUMNS = ["venue_id", "code", "name", "kind", "district_id", "subdistrict_id", "lon", "lat",
               "scans"]


class UnknownVenue(UserError, LookupError):
    """No venue has this code; the message says what to check."""


class ReasonError(UserError, ValueError):
    """Unmasking without a usable reason; the message names the field."""


@dataclass(frozen=True)
class VenueFilter:
    """What the search box asks: name substring, code prefix, and exact area and kind."""

    name: str = ""
    code: str = ""
    district_id: int | None = None
    subdistrict_id: int | None = None
    kind: str | None = None

    @classmethod
    def of(cls, data: dict | None) -> VenueFilter:
        """From the page's filter store (JSON); blanks mean "any"."""
        data = data or {}

        data = data if isinstance(data, dict) else {}

        def number(key):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | str):
                return None  # blank, a list, an object: no filter
            try:
                value = int(value)
            except ValueError:  # not a number: no filter
                return None
            return value if 0 < value < 2 ** 63 else None

        def text(key, limit):
            value = data.get(key)
            return value[:limit] if isinstance(value, str) else ""

        return cls(name=text("name", 64), code=text("code", 32),
                   district_id=number("district_id"), subdistrict_id=number("subdistrict_id"),
                   kind=text("kind", 32) or None)


# -- scope ---------------------------------------------------------------------------------------

def _check_viewer(scope: Viewer) -> int | None:
    """The one district this viewer is limited to (None: the whole city)."""
    return district_for(scope, "venues")


def _check_persons(scope: Viewer) -> None:
    _check_viewer(scope)
    require(scope, "persons")


def _check_venue(scope: Viewer, venue: dict) -> None:
    district_for(scope, "venues", venue["district_id"])


# -- search --------------------------------------------------------------------------------------

def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after_prefix(code: str) -> str | None:
    """The smallest letters-and-digits string above every code starting with `code`, so the
    range also holds under PostgreSQL's linguistic collations (which skip punctuation such as
    the ':' after '9'); None when there is none or `code` is not letters and digits."""
    if not code.isalnum() or not code.isascii():
        return None
    stripped = code.rstrip("Z")
    if not stripped:
        return None
    last = ALNUM.index(stripped[-1])
    return stripped[:-1] + ALNUM[last + 1]


def _where(flt: VenueFilter, scope: Viewer) -> list:
    v = venues.c
    district = district_for(scope, "venues", flt.district_id)
    conds = []
    if district is not None:
        conds.append(v.district_id == district)
    elif flt.subdistrict_id is not None:  # its district, so the district index serves
        conds.append(v.district_id == select(subdistricts.c.district_id).where(
            subdistricts.c.id == flt.subdistrict_id).scalar_subquery())
    if flt.subdistrict_id is not None:
        conds.append(v.subdistrict_id == flt.subdistrict_id)
    if flt.kind:
        conds.append(v.kind == flt.kind)
    code, name = flt.code.strip().upper(), flt.name.strip()
    if code:
        upper = _after_prefix(code)
        if upper is not None:  # a range the unique code index serves on both engines
            conds += [v.code >= code, v.code < upper]
        elif code.isalnum():  # ZZZ...: everything from the prefix on
            conds.append(v.code >= code)
        conds.append(v.code.like(_escape_like(code) + "%", escape="\\"))  # exact either way
    if name:
        conds.append(v.name.ilike("%" + _escape_like(name) + "%", escape="\\"))
    return conds


def _scans_today(day: date):
    rv = rollup_venue_day.c
    return venues.outerjoin(rollup_venue_day, and_(rv.venue_id == venues.c.id, rv.day == day))


def _order(sort_model: list[dict] | None, scans_col) -> list:
    v = venues.c
    columns = {"code": v.code, "name": v.name, "kind": v.kind, "district": v.district_id,
               "subdistrict": v.subdistrict_id, "scans": scans_col}
    out, has_code = [], False
    for item in sort_model or []:
        col = columns.get(item.get("colId"))
        if col is None:
            continue
        out.append(col.desc() if item.get("sort") == "desc" else col.asc())
        has_code |= item.get("colId") == "code"
    if not has_code:
        out.append(v.code.asc())  # unique: pages never overlap or skip
    return out


def _area_names(conn: Connection, district_ids, subdistrict_ids) -> tuple[dict, dict]:
    d, s = districts.c, subdistricts.c
    dn = {r[0]: (r[1], r[2]) for r in conn.execute(
        select(d.id, d.name_zh, d.name_en).where(d.id.in_(sorted(set(district_ids)))))}
    sn = {r[0]: (r[1], r[2]) for r in conn.execute(
        select(s.id, s.name_zh, s.name_en).where(s.id.in_(sorted(set(subdistrict_ids)))))}
    return dn, sn


def _with_names(conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    dn, sn = _area_names(conn, frame["district_id"].tolist(), frame["subdistrict_id"].tolist())
    for lang, i in (("zh", 0), ("en", 1)):
        frame[f"district_{lang}"] = frame["district_id"].map(lambda x, i=i: dn.get(x, ("", ""))[i])
        frame[f"subdistrict_{lang}"] = frame["subdistrict_id"].map(
            lambda x, i=i: sn.get(x, ("", ""))[i])
    return frame


def search_venues(engine: Engine, scope: Viewer, flt: VenueFilter, day: date, start: int = 0,
                  end: int = 100, sort_model: list[dict] | None = None
                  ) -> tuple[pd.DataFrame, int]:
    """One block of venues matching `flt` in the viewer's scope, and how many match in all.

    Parameters
    ----------
    day : the day whose scans are shown (the wall's day).
    start, end : rows [start, end) of the sorted result (ag-grid's infinite row model);
        at most MAX_BLOCK rows per call.
    sort_model : ag-grid's sortModel, [{"colId": code|name|kind|district|subdistrict|scans,
        "sort": "asc"|"desc"}]; ties and the default order are by code.

    Returns
    -------
    (frame, total). Columns: venue_id, code, name, kind, district_id, subdistrict_id, lon, lat
    (degrees, as stored), scans (that day, 0 when none), district_zh, district_en,
    subdistrict_zh, subdistrict_en.
    """
    start = max(0, int(start))
    end = min(max(start, int(end)), start + MAX_BLOCK)
    conds = _where(flt, scope)
    v, rv = venues.c, rollup_venue_day.c
    scans_col = func.coalesce(rv.scans, 0)
    query = (select(v.id, v.code, v.name, v.kind, v.district_id, v.subdistrict_id, v.lon, v.lat,
                    scans_col).select_from(_scans_today(day)).where(*conds)
             .order_by(*_order(sort_model, scans_col)).limit(end - start).offset(start))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(venues).where(*conds)).scalar_one()
        frame = pd.DataFrame(raw_rows(conn, query), columns=ROW_COLUMNS)
        frame = _with_names(conn, frame)
    frame["scans"] = frame["scans"].astype("int64")
    return frame, int(total)


def venue_points(engine: Engine, scope: Viewer, flt: VenueFilter, day: date,
                 cap: int = MAP_CAP) -> tuple[pd.DataFrame, int]:
    """The busiest `cap` venues of the search (by that day's scans, then code) for the map, and
    how many match in all. Columns as `search_venues` without the area names."""
    frame, total = pd.DataFrame(columns=ROW_COLUMNS), 0
    conds = _where(flt, scope)
    v, rv = venues.c, rollup_venue_day.c
    scans_col = func.coalesce(rv.scans, 0)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(venues).where(*conds)).scalar_one()
        if total:
            frame = pd.DataFrame(raw_rows(conn, select(
                v.id, v.code, v.name, v.kind, v.district_id, v.subdistrict_id, v.lon, v.lat,
                scans_col).select_from(_scans_today(day)).where(*conds)
                .order_by(scans_col.desc(), v.code).limit(cap)), columns=ROW_COLUMNS)
    frame["scans"] = frame["scans"].astype("int64")
    return frame, int(total)


def district_options(engine: Engine, scope: Viewer) -> pd.DataFrame:
    """Districts the viewer may search. Columns: district_id, name_zh, name_en."""
    return districts_of(engine, _check_viewer(scope))


def subdistrict_options(engine: Engine, scope: Viewer, district_id: int | None) -> pd.DataFrame:
    """Sub-districts of `district_id` (of the viewer's district when limited to one; none when no
    district is chosen). Columns: subdistrict_id, name_zh, name_en."""
    own = _check_viewer(scope)
    district = own if own is not None else district_id
    columns = ["subdistrict_id", "name_zh", "name_en"]
    if district is None:
        return pd.DataFrame(columns=columns)
    s = subdistricts.c
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(s.id, s.name_zh, s.name_en)
                                         .where(s.district_id == district).order_by(s.id)).all(),
                            columns=columns)


def kind_options(engine: Engine, scope: Viewer) -> list[str]:
    """The venue kinds present in the data, sorted (a walk of the district-kind index)."""
    _check_viewer(scope)
    with engine.connect() as conn:
        return sorted(conn.execute(select(venues.c.kind).group_by(venues.c.kind)).scalars())


# -- one venue -------------------------------------------------------------------------------------

def _day_bounds(day: date) -> tuple[datetime, datetime]:
    first = datetime.combine(day, time())
    return first, first + timedelta(days=1)


def _find(conn: Connection, scope: Viewer, code: str) -> dict:
    code = (code or "").strip().upper()
    if not code or len(code) > 32 or not code.isalnum():
        raise UnknownVenue("venue_code_bad")
    v, d, s = venues.c, districts.c, subdistricts.c
    row = conn.execute(
        select(v.id, v.code, v.name, v.kind, v.district_id, v.subdistrict_id, v.lon, v.lat,
               v.mobile, d.name_zh, d.name_en, d.geometry, s.name_zh, s.name_en)
        .select_from(venues.join(districts, d.id == v.district_id)
                     .outerjoin(subdistricts, s.id == v.subdistrict_id))
        .where(v.code == code)).first()
    if row is None:
        raise UnknownVenue("venue_code_unknown", code=code)
    keys = ("venue_id", "code", "name", "kind", "district_id", "subdistrict_id", "lon", "lat",
            "mobile", "district_zh", "district_en", "district_geometry", "subdistrict_zh",
            "subdistrict_en")
    venue = dict(zip(keys, row, strict=True))
    _check_venue(scope, venue)
    geometry = venue.pop("district_geometry")
    venue["district_bounds"] = tuple(float(x) for x in shapely.bounds(
        shapely.from_geojson(geometry))) if geometry else None
    return venue


@dataclass
class VenueOverview:
    """What a venue's page shows to every role that may see the venue."""

    venue: dict
    hourly: pd.DataFrame  # hour 0..23, scans (from scans, the day asked)
    daily: pd.DataFrame  # day, scans, red, yellow (from rollup_venue_day; red/yellow NaN for
    #                      aggregate-only roles)
    mix: dict = field(default_factory=dict)  # scans, green, yellow, red of the day (None hidden)


def venue_overview(engine: Engine, scope: Viewer, code: str, day: date,
                   days: int = 14) -> VenueOverview:
    """A venue's facts and numbers: scans per hour of `day` (raw scans through the
    (venue_id, ts) covering index), per day for `days` days ending `day` (the venue-day rollup),
    and the verdict mix of `day` (rollup). Raises UnknownVenue or Refused.

    `venue` keys: venue_id, code, name, kind, district_id, subdistrict_id, lon, lat (degrees),
    mobile, district_zh/en, subdistrict_zh/en, district_bounds (lon0, lat0, lon1, lat1).
    """
    start, end = _day_bounds(day)
    first = day - timedelta(days=days - 1)
    rv = rollup_venue_day.c
    with engine.connect() as conn:
        venue = _find(conn, scope, code)
        stamps = conn.execute(select(scans.c.ts).where(
            scans.c.venue_id == venue["venue_id"], scans.c.ts >= start, scans.c.ts < end)
        ).scalars().all()
        rows = conn.execute(select(rv.day, rv.scans, rv.red, rv.yellow).where(
            rv.venue_id == venue["venue_id"], rv.day >= first, rv.day <= day)).all()
    hours = pd.Series([s.hour for s in stamps], dtype="int64").value_counts()
    hourly = pd.DataFrame({"hour": range(24)})
    hourly["scans"] = hourly["hour"].map(hours).fillna(0).astype("int64")
    got = {(r[0] if isinstance(r[0], date) else date.fromisoformat(str(r[0]))): r[1:]
           for r in rows}
    daily = pd.DataFrame({"day": [first + timedelta(days=i) for i in range(days)]})
    for i, col in enumerate(("scans", "red", "yellow")):
        daily[col] = [int(got.get(d, (0, 0, 0))[i] or 0) for d in daily["day"]]
    today = got.get(day, (0, 0, 0))
    mix = {"scans": int(today[0] or 0), "red": int(today[1] or 0),
           "yellow": int(today[2] or 0)}
    mix["green"] = mix["scans"] - mix["red"] - mix["yellow"]
    if scope.aggregates_only:
        daily[["red", "yellow"]] = float("nan")
        mix.update(red=None, yellow=None, green=None)
    return VenueOverview(venue, hourly, daily, mix)


def flagged_scans(engine: Engine, scope: Viewer, code: str, day: date) -> pd.DataFrame:
    """Today's red and yellow scans at the venue, newest first, persons masked.

    Columns: scan_row (scans.id: what `unmask` takes), ts, verdict, reasons (comma-separated
    rule ids), person (masked key). Refused for planners and wall displays.
    """
    _check_persons(scope)
    start, end = _day_bounds(day)
    s = scans.c
    with engine.connect() as conn:
        venue = _find(conn, scope, code)
        rows = conn.execute(
            select(s.id, s.ts, s.verdict, s.reasons, persons.c.person_key)
            .select_from(scans.join(persons, persons.c.id == s.person_id))
            .where(s.venue_id == venue["venue_id"], s.ts >= start, s.ts < end,
                   s.verdict.in_(FLAGGED))
            .order_by(s.ts.desc(), s.id.desc())).all()
    frame = pd.DataFrame(rows, columns=["scan_row", "ts", "verdict", "reasons", "person"])
    frame["person"] = frame["person"].map(mask_key)
    return frame


def unmask(engine: Engine, scope: Viewer, code: str, scan_row: int, reason: str, *,
           username: str, user_id: int | None = None, now: datetime | None = None) -> str:
    """The pseudonymous person key behind one flagged scan at the venue, read and audit-logged
    ("unmask": who, when, the venue and person key, why) in one transaction.

    Raises ReasonError (reason shorter than REASON_MIN characters), Refused (planners, wall
    displays, another district's venue) or UnknownVenue / LookupError (no such scan here).
    """
    _check_persons(scope)
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ReasonError("reason_short", n=REASON_MIN)
    s = scans.c
    with engine.begin() as conn:
        venue = _find(conn, scope, code)
        key = conn.execute(
            select(persons.c.person_key).select_from(scans.join(persons,
                                                                persons.c.id == s.person_id))
            .where(s.id == int(scan_row), s.venue_id == venue["venue_id"],
                   s.verdict.in_(FLAGGED))).scalar()
        if key is None:
            raise UnknownVenue("venue_scan_not_flagged", row=int(scan_row), code=venue["code"])
        record(conn, "unmask", user_id=user_id, username=username,
               subject=f"venue {venue['code']} person {key}", reason=reason,
               detail=json.dumps({"scan": int(scan_row)}), now=now)
    return key


def poster_venue(engine: Engine, scope: Viewer, code: str):
    """What a venue's poster prints (a venue the viewer may see; UnknownVenue otherwise)."""
    from placecode.registry.codes import KINDS_ZH
    from placecode.registry.posters import PosterVenue

    with engine.connect() as conn:
        venue = _find(conn, scope, code)
    return PosterVenue(venue["code"], venue["name"], KINDS_ZH.get(venue["kind"], venue["kind"]),
                       venue["district_zh"], venue["subdistrict_zh"] or "")


def poster_venues(engine: Engine, scope: Viewer, district_id: int) -> list:
    """Every venue of a district, by code, as its posters print them."""
    from placecode.registry.codes import KINDS_ZH
    from placecode.registry.posters import PosterVenue

    district = district_for(scope, "venues", district_id)
    v, d, s = venues.c, districts.c, subdistricts.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(v.code, v.name, v.kind, d.name_zh, s.name_zh)
            .select_from(venues.join(districts, d.id == v.district_id)
                         .outerjoin(subdistricts, s.id == v.subdistrict_id))
            .where(v.district_id == district).order_by(v.code)).all()
    return [PosterVenue(r[0], r[1], KINDS_ZH.get(r[2], r[2]), r[3], r[4] or "") for r in rows]
