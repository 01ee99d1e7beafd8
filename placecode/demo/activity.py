"""Generated scans with the city's daily and weekly rhythm, their verdicts, and the rollups."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = np.timedelta64(1, "D")
MINUTES = np.arange(1440)
# Relative volume Monday..Sunday: Friday and the weekend are busier.
WEEKDAY_FACTOR = np.array([0.97, 0.96, 0.97, 0.99, 1.05, 1.12, 1.04])
HOME_DISTRICT_SHARE = 0.85
CREDENTIALS = (["app", "id_card", "social_security_card", "face"], [0.85, 0.07, 0.03, 0.05])


def minute_profile() -> np.ndarray:
    """Probability of a scan in each minute of the day: morning, noon and evening peaks."""
    def peak(centre_h: float, sd_min: float) -> np.ndarray:
        return np.exp(-0.5 * ((MINUTES - centre_h * 60) / sd_min) ** 2)
    daytime = ((MINUTES >= 6 * 60) & (MINUTES < 22 * 60)).astype(float)
    p = (0.26 * peak(8.0, 45) / 45 + 0.24 * peak(12.2, 55) / 55 + 0.34 * peak(18.5, 85) / 85
         + 0.14 * daytime / (16 * 60) * 2.5 + 0.02 / 1440 * 2.5)
    return p / p.sum()


def _pick(cumulative: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")


def make_scans(
    persons: pd.DataFrame,
    venues: pd.DataFrame,
    days: int,
    scans_per_day: int,
    now: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Scans for `days` whole days ending today, cut at `now` (nothing in the future).

    Returns columns scan_id, venue_id, person_id, ts (datetime64[s]), verdict, reasons,
    temperature_c, mask, credential, plus kind and district_id of the venue for the rollups.
    """
    today = now.astype("datetime64[D]")
    cdf_minute = np.cumsum(minute_profile())
    person_cdf = np.cumsum(persons["activity"].to_numpy())
    person_district = persons["district_id"].to_numpy()
    venue_ids = venues["id"].to_numpy()
    city_cdf = np.cumsum(venues["popularity"].to_numpy())
    by_district = {
        d: (grp["id"].to_numpy(), np.cumsum(grp["popularity"].to_numpy()))
        for d, grp in venues.groupby("district_id")
    }
    frames = []
    for back in range(days - 1, -1, -1):
        day = today - back * DAY
        weekday = int((day.astype("datetime64[D]").view("int64") - 4) % 7)  # 1970-01-01 was Thu
        n = int(scans_per_day * WEEKDAY_FACTOR[weekday])
        who = _pick(person_cdf, rng, n)
        venue = venue_ids[_pick(city_cdf, rng, n)]
        local = rng.random(n) < HOME_DISTRICT_SHARE
        for d, (ids, cdf) in by_district.items():
            sel = local & (person_district[who] == d)
            venue[sel] = ids[_pick(cdf, rng, int(sel.sum()))]
        minute = np.searchsorted(cdf_minute, rng.random(n), side="right").clip(0, 1439)
        ts = (day.astype("datetime64[s]") + (minute * 60 + rng.integers(0, 60, n))
              .astype("timedelta64[s]"))
        keep = ts <= now
        order = np.argsort(ts[keep], kind="stable")
        frames.append(pd.DataFrame({
            "person_idx": who[keep][order],
            "venue_id": venue[keep][order],
            "ts": ts[keep][order],
            "day": day,
        }))
    s = pd.concat(frames, ignore_index=True)
    s["scan_id"] = ("demo-" + s["day"].dt.strftime("%Y%m%d") + "-"
                    + s.groupby("day").cumcount().astype(str).str.zfill(7))
    p = persons.iloc[s["person_idx"].to_numpy()]
    s["person_id"] = p["id"].to_numpy()
    code, since = p["health_code"].to_numpy(), p["health_code_since"].to_numpy()
    flagged = (code != "green") & (s["ts"].to_numpy() >= since)
    s["verdict"] = np.where(flagged, code, "green")
    s["reasons"] = np.where(flagged, np.char.add("health_code_", code.astype(str)), "")
    s["temperature_c"] = rng.normal(36.5, 0.25, len(s)).round(1)
    s["mask"] = rng.random(len(s)) < 0.985
    s["credential"] = rng.choice(CREDENTIALS[0], size=len(s), p=CREDENTIALS[1])
    meta = venues.set_index("id").loc[s["venue_id"], ["kind", "district_id", "subdistrict_id"]]
    s["kind"] = meta["kind"].to_numpy()
    s["district_id"] = meta["district_id"].to_numpy()
    s["subdistrict_id"] = meta["subdistrict_id"].to_numpy()
    return s.drop(columns=["person_idx"])


def _counts(scans: pd.DataFrame, keys: list[str], flags: bool = True,
            persons: bool = False) -> pd.DataFrame:
    """Scans per cell of `keys`, with red/yellow and distinct persons when asked."""
    agg = {"scans": ("verdict", "size")}
    if flags:
        scans = scans.assign(red=scans.verdict == "red", yellow=scans.verdict == "yellow")
        agg |= {"red": ("red", "sum"), "yellow": ("yellow", "sum")}
    if persons:
        agg["persons"] = ("person_id", "nunique")
    return scans.groupby(keys).agg(**agg).reset_index()


def make_rollups(scans: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rollups the ingest maintains, computed here from the generated scans, with the
    distinct persons that placecode.economy.rollups counts for live days."""
    s = scans.assign(hour=scans["ts"].dt.floor("h"))
    return {
        "rollup_venue_day": _counts(s, ["venue_id", "day"]),
        "rollup_district_hour": _counts(s, ["district_id", "hour"]),
        "rollup_industry_district_day": _counts(s, ["kind", "district_id", "day"], persons=True),
        "rollup_industry_subdistrict_day": _counts(
            s, ["kind", "subdistrict_id", "district_id", "day"], flags=False, persons=True),
        "rollup_industry_district_hour": _counts(s, ["kind", "district_id", "hour"],
                                                 flags=False, persons=True),
    }
