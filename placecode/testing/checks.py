"""Cross-checks on persons: volunteer passes used by someone else, and key-area arrivals who are
not in home monitoring. The thresholds live here, once; the reads are in queries/testing.py.

Pure functions over frames, no database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

# -- a pass used by someone else -------------------------------------------------------------------
#: Two scans with the pass holder's person key count as "the same time in two places" when they
#: are at most SHARED_MAX_MINUTES apart, at fixed venues (buses and taxis move, so their points
#: say nothing) at least SHARED_MIN_KM apart in a straight line, and the straight-line speed
#: between them exceeds SHARED_MIN_KMH. No trip between two city venues averages 60 km/h door to
#: door once parking, walking in and scanning are counted, so one person cannot have made both
#: scans: the pass (or the person's code) was in two hands. The 3 km floor keeps neighbouring
#: venues and venue positions that are off by a street from ever counting.
SHARED_MAX_MINUTES = 30
SHARED_MIN_KM = 3.0
SHARED_MIN_KMH = 60.0
EARTH_KM = 6371.0088


def distance_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (arrays or scalars)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(x, dtype=float))
                              for x in (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def shared_scan_pairs(scans: pd.DataFrame) -> pd.DataFrame:
    """Pairs of one person's consecutive fixed-venue scans that one person cannot have made.

    Parameters
    ----------
    scans : columns person_id, scan_row, ts, venue_id, lon, lat (degrees) and mobile (bool);
        any other columns (venue names, ...) are carried into the pair with suffixes _1 / _2.

    Returns
    -------
    One row per pair: person_id, then every input column suffixed _1 (the earlier scan) and
    _2 (the later one), minutes (between them) and km (straight line). Consecutive means next in
    time among the person's fixed-venue scans.
    """
    fixed = scans[~scans["mobile"].astype(bool)].sort_values(["person_id", "ts", "scan_row"])
    fixed = fixed.reset_index(drop=True)
    if len(fixed) < 2:
        return pd.DataFrame(columns=["person_id", "minutes", "km"])
    first, second = fixed.iloc[:-1].reset_index(drop=True), fixed.iloc[1:].reset_index(drop=True)
    same = first["person_id"].to_numpy() == second["person_id"].to_numpy()
    minutes = ((pd.to_datetime(second["ts"]) - pd.to_datetime(first["ts"]))
               .dt.total_seconds().to_numpy() / 60)
    km = distance_km(first["lon"], first["lat"], second["lon"], second["lat"])
    speed = km / np.maximum(minutes, 1 / 60) * 60
    hit = (same & (minutes <= SHARED_MAX_MINUTES) & (km >= SHARED_MIN_KM)
           & (speed > SHARED_MIN_KMH))
    pairs = first[hit].drop(columns="person_id").add_suffix("_1").reset_index(drop=True)
    pairs = pairs.join(second[hit].drop(columns="person_id").add_suffix("_2")
                       .reset_index(drop=True))
    pairs.insert(0, "person_id", first["person_id"].to_numpy()[hit])
    pairs["minutes"] = minutes[hit].round(1)
    pairs["km"] = km[hit].round(1)
    return pairs


# -- key-area arrivals not in home monitoring ------------------------------------------------------
#: How far back an arrival counts (the seed's 14 days).
ARRIVAL_DAYS = 14
#: Why an arrival is flagged: the home-monitoring period is still running and the person
#: - "hotel_stay": has a hotel stay that overlaps the period up to now;
#: - "hotel_scan": scanned in at a hotel venue since arriving (stays not reported to us);
#: - "no_monitoring": has no home monitoring on record (person_status.monitoring_until is
#:   missing or ends before the arrival's period does), so nobody is watching.
FLAG_REASONS = ("hotel_stay", "hotel_scan", "no_monitoring")


def monitoring_ends(arrived_at: pd.Series, monitoring_days: pd.Series) -> pd.Series:
    """When each arrival's home-monitoring period ends."""
    return pd.to_datetime(arrived_at) + pd.to_timedelta(monitoring_days.astype(int), unit="D")


def arrival_flags(frame: pd.DataFrame, now: datetime) -> pd.Series:
    """The reasons (comma-separated FLAG_REASONS, "" when none) each arrival is flagged.

    `frame` columns: arrived_at, monitoring_days, stay_venue_id (NaN: no hotel stay overlapping
    the period), hotel_scans (count since arrival), monitoring_until (NaT: none on record).
    """
    ends = monitoring_ends(frame["arrived_at"], frame["monitoring_days"])
    running = (ends > pd.Timestamp(now)).to_numpy()
    until = pd.to_datetime(frame["monitoring_until"])
    reasons = [
        ("hotel_stay", frame["stay_venue_id"].notna().to_numpy()),
        ("hotel_scan", frame["hotel_scans"].fillna(0).to_numpy() > 0),
        ("no_monitoring", (until.isna() | (until < ends)).to_numpy()),
    ]
    out = [[] for _ in range(len(frame))]
    for name, hit in reasons:
        for i in np.flatnonzero(hit & running):
            out[i].append(name)
    return pd.Series([",".join(r) for r in out], index=frame.index, dtype=object)


def since_days(now: datetime, days: int = ARRIVAL_DAYS) -> datetime:
    return now - timedelta(days=days)
