"""Volunteer passes used by someone else, for the demo: a few holders' codes are scanned again
far away within minutes of one of their real scans on the last day (what the testing page's
pass check finds; thresholds in placecode.testing.checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from placecode.testing.checks import distance_km

SHARE = 0.01  # of pass holders who scanned at a fixed venue on the last day
AT_LEAST = 3
FAR_KM = 20.0
MINUTES = (2, 10)


def add_shared_pass_scans(scans: pd.DataFrame, passes: dict[str, np.ndarray],
                          venues: pd.DataFrame, now: np.datetime64,
                          rng: np.random.Generator) -> pd.DataFrame:
    """`scans` (activity.make_scans' frame) with the extra scans appended (same columns).

    Each chosen holder gets one scan at a fixed venue at least FAR_KM from one of their
    last-day fixed-venue scans, 2–10 minutes after it (never after `now`)."""
    today = now.astype("datetime64[D]")
    fixed = venues[~venues["mobile"]].set_index("id")
    last_day = scans[(scans["day"] == pd.Timestamp(today))
                     & scans["person_id"].isin(passes["person_id"])
                     & scans["venue_id"].isin(fixed.index)
                     & (scans["ts"] <= pd.Timestamp(now) - pd.Timedelta(minutes=MINUTES[1]))]
    candidates = last_day.drop_duplicates("person_id", keep="first")
    if candidates.empty:
        return scans
    n = min(len(candidates), max(AT_LEAST, int(round(len(candidates) * SHARE))))
    chosen = candidates.iloc[np.sort(rng.choice(len(candidates), n, replace=False))]
    lon, lat = fixed["lon"].to_numpy(), fixed["lat"].to_numpy()
    extra = chosen.copy()
    venue_ids = []
    for vid in chosen["venue_id"]:
        far = np.flatnonzero(distance_km(fixed.at[vid, "lon"], fixed.at[vid, "lat"], lon, lat)
                             >= FAR_KM)
        venue_ids.append(int(fixed.index[far[rng.integers(0, len(far))]]) if len(far)
                         else int(fixed.index[np.argmax(distance_km(
                             fixed.at[vid, "lon"], fixed.at[vid, "lat"], lon, lat))]))
    extra["venue_id"] = venue_ids
    extra["ts"] = chosen["ts"] + pd.to_timedelta(rng.integers(*MINUTES, n) * 60
                                                 + rng.integers(0, 60, n), unit="s")
    extra["scan_id"] = [f"demo-shared-{pd.Timestamp(today):%Y%m%d}-{i:04d}" for i in range(n)]
    meta = venues.set_index("id").loc[extra["venue_id"], ["kind", "district_id",
                                                          "subdistrict_id"]]
    for col in ("kind", "district_id", "subdistrict_id"):
        extra[col] = meta[col].to_numpy()
    return pd.concat([scans, extra], ignore_index=True)
