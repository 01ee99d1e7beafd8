"""The wall map's data routes: binary venue layer (positions once, numbers as they change) and
area outlines, with ETags and gzip. Behind the login like every page; a wall token reaches them.

GET /wall-data/venues.bin             positions + kind codes (X-Venue-Count, X-Venue-Kinds,
                                       X-Venue-Colours: the kinds' dot colours)
GET /wall-data/numbers.bin?day=&since= per-venue numbers of the day (default: the wall's day,
                                       X-Day) changed after `since` (X-Seq: pass it back;
                                       X-Full: 1 when `since` was absent)
GET /wall-data/areas.json?district=   district outlines, or one district's sub-districts
GET /wall-data/venue/<index>           the hover card of the venue at that layer index
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from flask import Blueprint, Response, abort, jsonify, request

from components.venue_layer import encode_numbers, encode_positions, kind_legend
from placecode.web import current_city_now, current_engine, current_scope
from queries import wall as q

wall_data = Blueprint("wall_data", __name__, url_prefix="/wall-data")
POSITIONS_TTL = 60.0  # seconds between checks that the venue registry is unchanged
SINCE_OVERLAP_MS = 10_000  # re-ask this far back: a slow transaction's rows are not missed


@dataclass
class _Positions:
    body: bytes
    gz: bytes
    etag: str
    ids: np.ndarray
    kinds: list[str]
    checked: float


_positions: dict[str, _Positions] = {}
_lock = threading.Lock()


def positions() -> _Positions:
    """This process's encoded venue positions, rebuilt when the registry changed."""
    engine = current_engine()
    key = str(engine.url)
    with _lock:
        cached = _positions.get(key)
        if cached and time.monotonic() - cached.checked < POSITIONS_TTL:
            return cached
        frame = q.venue_positions(engine)
        body, kinds = encode_positions(frame)
        etag = hashlib.sha1(body).hexdigest()[:20]
        if cached and cached.etag == etag:
            cached.checked = time.monotonic()
            return cached
        cached = _Positions(body, gzip.compress(body, 6), etag,
                            frame["venue_id"].to_numpy(np.int64), kinds, time.monotonic())
        _positions[key] = cached
        return cached


def _binary(body: bytes, gz: bytes | None = None, level: int = 6, **headers) -> Response:
    """A binary answer, gzipped (`gz` if already compressed, else now at `level`) when the
    browser accepts it."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        out = Response(gz if gz is not None else gzip.compress(body, level),
                       mimetype="application/octet-stream")
        out.headers["Content-Encoding"] = "gzip"
    else:
        out = Response(body, mimetype="application/octet-stream")
    out.headers["Vary"] = "Accept-Encoding"
    for name, value in headers.items():
        out.headers[name.replace("_", "-")] = str(value)
    return out


@wall_data.get("/venues.bin")
def venues_bin() -> Response:
    p = positions()
    if p.etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{p.etag}"'})
    colours = ",".join(k["colour"] for k in kind_legend(p.kinds, "en"))
    out = _binary(p.body, p.gz, X_Venue_Count=len(p.ids), X_Venue_Kinds=",".join(p.kinds),
                  X_Venue_Colours=colours)
    out.set_etag(p.etag)
    out.headers["Cache-Control"] = "no-cache"  # revalidate: 304 unless the registry changed
    return out


def _day_arg() -> date:
    """?day=YYYY-MM-DD, else the day the wall shows now (a stale demo's last day)."""
    raw = request.args.get("day")
    if not raw:
        engine = current_engine()
        return q.shown_moment(engine, current_city_now())[1].date()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(Response(f"day: expected YYYY-MM-DD, got {raw!r}", status=400))


@dataclass
class _DayNumbers:
    """One day's numbers for every venue, in layer order, kept up to date by deltas."""

    day: date
    ids: np.ndarray
    seq: int
    numbers: pd.DataFrame  # venue_id, scans, red, yellow; one row per venue with scans


_numbers: dict[tuple, _DayNumbers] = {}


def day_numbers(day: date) -> _DayNumbers:
    """The day's per-venue numbers for this viewer's scope: read whole once per process and
    day, then patched with the rows changed since (a full read is ~250 ms at 190k venues)."""
    engine, scope = current_engine(), current_scope()
    ids = positions().ids
    key = (str(engine.url), scope.aggregates_only)
    with _lock:
        cached = _numbers.get(key)
        if cached is None or cached.day != day or cached.ids is not ids:
            frame, newest = q.venue_numbers(engine, day, scope)
            cached = _DayNumbers(day, ids, newest, frame.set_index("venue_id"))
        else:
            frame, newest = q.venue_numbers(engine, day, scope, cached.seq - SINCE_OVERLAP_MS)
            if len(frame):
                changed = frame.set_index("venue_id")
                merged = cached.numbers.reindex(cached.numbers.index.union(changed.index))
                merged.loc[changed.index] = changed
                cached.numbers = merged.astype("int64")
                cached.seq = max(cached.seq, newest)
        _numbers[key] = cached
        return cached


@wall_data.get("/numbers.bin")
def numbers_bin() -> Response:
    day = _day_arg()
    raw = request.args.get("since")
    if raw:
        try:
            since = int(raw) - SINCE_OVERLAP_MS
        except ValueError:
            abort(Response(f"since: expected the X-Seq number of the last answer, got {raw!r}",
                           status=400))
        frame, newest = q.venue_numbers(current_engine(), day, current_scope(), since)
    else:
        current = day_numbers(day)
        frame, newest = current.numbers.reset_index(), current.seq
    body, unknown = encode_numbers(positions().ids, frame)
    return _binary(body, level=3, X_Day=day.isoformat(),
                   X_Count=len(frame) - unknown, X_Seq=newest, X_Full=int(not raw),
                   X_Positions_Stale=int(unknown > 0), Cache_Control="no-store")


@wall_data.get("/areas.json")
def areas_json() -> Response:
    """GeoJSON outlines: districts, or with ?district=ID that district's sub-districts."""
    engine = current_engine()
    raw = request.args.get("district")
    if raw:
        try:
            district = int(raw)
        except ValueError:
            abort(Response(f"district: expected a district id, got {raw!r}", status=400))
        shapes = q.subdistrict_shapes(engine, district)
    else:
        shapes = q.district_shapes(engine).rename(columns={"district_id": "area_id"})
    features = [
        {"type": "Feature", "id": int(r.area_id),
         "properties": {"id": int(r.area_id), "name_zh": r.name_zh, "name_en": r.name_en,
                        "label": [r.label_lon, r.label_lat],
                        "bounds": list(r.geometry.bounds)},
         "geometry": r.geometry.__geo_interface__}
        for r in shapes.itertuples()
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features},
                      separators=(",", ":")).encode()
    out = _binary(body)
    out.mimetype = "application/geo+json"
    out.set_etag(hashlib.sha1(body).hexdigest()[:20])
    out.headers["Cache-Control"] = "no-cache"
    return out.make_conditional(request)


@wall_data.get("/venue/<int:index>")
def venue_card(index: int) -> Response:
    ids = positions().ids
    card = q.venue_card(current_engine(), int(ids[index]), _day_arg(), current_scope()) \
        if index < len(ids) else None
    if card is None:
        abort(Response(f"no venue at index {index}: reload the map", status=404))
    return jsonify(card)
