"""Generated scans with the city's daily and weekly rhythm, their verdicts, and the rollups."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


def scan_days(
    persons: pd.DataFrame,
    venues: pd.DataFrame,
    days: int,
    scans_per_day: int,
    now: np.datetime64,
    rng: np.random.Generator,
) -> Iterator[pd.DataFrame]:
    """Scans for `days` whole days ending today, cut at `now` (nothing in the future), one day
    at a time: 23 days of a 3M-a-day city do not fit in memory at once.

    Each frame has scan_id, venue_id, person_id, ts (datetime64[s]), day, verdict, reasons,
    temperature_c, mask, credential, plus kind, district_id and subdistrict_id of the venue
    (for the rollups).
    """
    today = now.astype("datetime64[D]")
    cdf_minute = np.cumsum(minute_profile())
    person_cdf = np.cumsum(persons["activity"].to_numpy())
    person_district = persons["district_id"].to_numpy()
    person_id = persons["id"].to_numpy()
    codes, code = np.unique(persons["health_code"].to_numpy().astype(str), return_inverse=True)
    since = persons["health_code_since"].to_numpy("datetime64[s]")
    flag_reasons = np.char.add("health_code_", codes)
    green = codes == "green"
    # venues are picked by row position; ids and the rollup columns are read by position too
    popularity = venues["popularity"].to_numpy()
    city_cdf = np.cumsum(popularity)
    venue_district = venues["district_id"].to_numpy()
    by_district = {}
    for d in np.unique(venue_district):
        pos = np.flatnonzero(venue_district == d)
        by_district[d] = pos, np.cumsum(popularity[pos])
    venue_cols = {c: venues[c].to_numpy() for c in ("id", "kind", "district_id", "subdistrict_id")}
    for back in range(days - 1, -1, -1):
        day = today - back * DAY
        weekday = int((day.astype("datetime64[D]").view("int64") - 4) % 7)  # 1970-01-01 was Thu
        n = int(scans_per_day * WEEKDAY_FACTOR[weekday])
        who = _pick(person_cdf, rng, n)
        venue = _pick(city_cdf, rng, n)
        local = rng.random(n) < HOME_DISTRICT_SHARE
        for d, (pos, cdf) in by_district.items():
            sel = local & (person_district[who] == d)
            venue[sel] = pos[_pick(cdf, rng, int(sel.sum()))]
        minute = np.searchsorted(cdf_minute, rng.random(n), side="right").clip(0, 1439)
        ts = (day.astype("datetime64[s]") + (minute * 60 + rng.integers(0, 60, n))
              .astype("timedelta64[s]"))
        keep = np.flatnonzero(ts <= now)
        keep = keep[np.argsort(ts[keep], kind="stable")]
        who, venue, ts = who[keep], venue[keep], ts[keep]
        m = len(keep)
        c = code[who]
        flagged = ~green[c] & (ts >= since[who])
        s = pd.DataFrame({"scan_id": _scan_ids(day, m), "venue_id": venue_cols["id"][venue],
                          "person_id": person_id[who], "ts": ts})
        s["day"] = pd.Timestamp(day)
        s["verdict"] = np.where(flagged, codes[c], "green")
        s["reasons"] = np.where(flagged, flag_reasons[c], "")
        s["temperature_c"] = rng.normal(36.5, 0.25, m).round(1)
        s["mask"] = rng.random(m) < 0.985
        s["credential"] = rng.choice(CREDENTIALS[0], size=m, p=CREDENTIALS[1])
        for col in ("kind", "district_id", "subdistrict_id"):
            s[col] = venue_cols[col][venue]
        yield s


def _scan_ids(day: np.datetime64, n: int) -> np.ndarray:
    """'demo-YYYYMMDD-0000001' for rows 0..n-1 of a day, built as bytes (no per-row formatting)."""
    prefix = np.frombuffer(f"demo-{str(day).replace('-', '')}-".encode(), dtype=np.uint8)
    digits = (np.arange(n)[:, None] // 10 ** np.arange(6, -1, -1)) % 10 + 48
    raw = np.hstack([np.broadcast_to(prefix, (n, len(prefix))), digits.astype(np.uint8)])
    return np.ascontiguousarray(raw).view(f"S{raw.shape[1]}").ravel().astype(str)


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


class ScanSpool:
    """Generated scans on disk, one Parquet file a day, with their rollups in memory: the build
    generates every day before it touches the database (a failure leaves the old city), and
    23 days of a 3M-a-day city would not fit in memory as one frame. The folder is removed by
    `close()`, or when the spool is garbage-collected after a failure."""

    COLUMNS = ("scan_id", "venue_id", "person_id", "ts", "verdict", "reasons",
               "temperature_c", "mask", "credential")

    def __init__(self, parent: Path):
        parent.mkdir(parents=True, exist_ok=True)
        self._dir = tempfile.TemporaryDirectory(prefix=".demo-scans-", dir=parent)
        self.files: list[Path] = []
        self.day_rows: list[int] = []
        self._rollups: list[dict[str, pd.DataFrame]] = []

    def add(self, day: pd.DataFrame) -> None:
        """One day's scans (scan_days' frame): written out, rolled up, then let go."""
        name = f"{day['day'].iloc[0]:%Y-%m-%d}" if len(day) else f"empty-{len(self.files)}"
        path = Path(self._dir.name) / f"{name}.parquet"
        day[list(self.COLUMNS)].to_parquet(path, index=False)
        self.files.append(path)
        self.day_rows.append(len(day))
        self._rollups.append(make_rollups(day))

    def rollups(self) -> dict[str, pd.DataFrame]:
        """Days never share a rollup cell, so the days' rollups simply stack."""
        return {name: pd.concat([r[name] for r in self._rollups], ignore_index=True)
                for name in self._rollups[0]}

    def rows(self, last_days: int) -> int:
        return sum(self.day_rows[-last_days:])

    def chunks(self, last_days: int) -> Iterator[dict[str, np.ndarray]]:
        """The newest `last_days` days, one day a chunk."""
        for path in self.files[-last_days:]:
            yield read_day(path)

    def keep(self, first_days: int, folder: Path) -> list[Path]:
        """Move the oldest `first_days` days out of the spool into `folder` (for the backfill)."""
        folder.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.move(path, folder / path.name)) for path in self.files[:first_days]]

    def close(self) -> None:
        self._dir.cleanup()


def read_day(path: Path) -> dict[str, np.ndarray]:
    """One spooled day as the columns bulk_insert takes."""
    frame = pd.read_parquet(path)
    cols = {c: frame[c].to_numpy() for c in ScanSpool.COLUMNS}
    cols["ts"] = frame["ts"].to_numpy("datetime64[s]")
    return cols
