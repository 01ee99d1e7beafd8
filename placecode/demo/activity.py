"""Generated scans with the city's daily and weekly rhythm, their verdicts, and the rollups."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

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
    """n draws weighted by `cumulative`; the draws are looked up in sorted order, which is
    three times faster for millions of them (the lookups walk the table once)."""
    u = rng.random(n) * cumulative[-1]
    order = np.argsort(u)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.searchsorted(cumulative, u[order], side="right")
    return out


@dataclass
class Population:
    """What every day's generation reads, as arrays by row position (built once a build)."""

    person_cdf: np.ndarray
    person_district: np.ndarray
    person_id: np.ndarray
    codes: np.ndarray  # the distinct health codes; `code` indexes them
    code: np.ndarray
    kinds: np.ndarray  # the distinct venue kinds; `kind` indexes them
    kind: np.ndarray
    since: np.ndarray
    city_cdf: np.ndarray
    by_district: dict  # district -> (venue positions, their cumulative popularity)
    venue_cols: dict[str, np.ndarray]

    @classmethod
    def of(cls, persons: pd.DataFrame, venues: pd.DataFrame) -> Population:
        codes, code = np.unique(persons["health_code"].to_numpy().astype(str),
                                return_inverse=True)
        popularity = venues["popularity"].to_numpy()
        venue_district = venues["district_id"].to_numpy()
        kinds, kind = np.unique(venues["kind"].to_numpy().astype(str), return_inverse=True)
        by_district = {}
        for d in np.unique(venue_district):
            pos = np.flatnonzero(venue_district == d)
            by_district[d] = pos, np.cumsum(popularity[pos])
        return cls(
            person_cdf=np.cumsum(persons["activity"].to_numpy()),
            person_district=persons["district_id"].to_numpy(),
            person_id=persons["id"].to_numpy(), codes=codes, code=code, kinds=kinds, kind=kind,
            since=persons["health_code_since"].to_numpy("datetime64[s]"),
            city_cdf=np.cumsum(popularity), by_district=by_district,
            venue_cols={c: venues[c].to_numpy()
                        for c in ("id", "district_id", "subdistrict_id")})


def scan_days(days: int, now: np.datetime64) -> list[np.datetime64]:
    """The `days` whole days ending today, oldest first."""
    today = now.astype("datetime64[D]")
    return [today - back * DAY for back in range(days - 1, -1, -1)]


def scan_day(pop: Population, day: np.datetime64, scans_per_day: int, now: np.datetime64,
             rng: np.random.Generator) -> pd.DataFrame:
    """One day's scans, cut at `now` (nothing in the future).

    The frame has scan_id, venue_id, person_id, ts (datetime64[s]), day, verdict, reasons,
    temperature_c, mask, credential, plus kind, district_id and subdistrict_id of the venue
    (for the rollups).
    """
    weekday = int((day.astype("datetime64[D]").view("int64") - 4) % 7)  # 1970-01-01 was Thu
    n = int(scans_per_day * WEEKDAY_FACTOR[weekday])
    who = _pick(pop.person_cdf, rng, n)
    venue = _pick(pop.city_cdf, rng, n)
    local = rng.random(n) < HOME_DISTRICT_SHARE
    for d, (pos, cdf) in pop.by_district.items():
        sel = local & (pop.person_district[who] == d)
        venue[sel] = pos[_pick(cdf, rng, int(sel.sum()))]
    minute = np.searchsorted(np.cumsum(minute_profile()), rng.random(n), side="right")
    ts = (day.astype("datetime64[s]") + (minute.clip(0, 1439) * 60 + rng.integers(0, 60, n))
          .astype("timedelta64[s]"))
    keep = np.flatnonzero(ts <= now)
    keep = keep[np.argsort(ts[keep], kind="stable")]
    who, venue, ts = who[keep], venue[keep], ts[keep]
    m = len(keep)
    c = pop.code[who]
    green = int(np.flatnonzero(pop.codes == "green")[0])
    flagged = (c != green) & (ts >= pop.since[who])
    # text columns as categoricals: millions of short strings are the slow part of a frame
    category = pd.Categorical.from_codes
    s = pd.DataFrame({"scan_id": _scan_ids(day, m), "venue_id": pop.venue_cols["id"][venue],
                      "person_id": pop.person_id[who], "ts": ts})
    s["day"] = pd.Timestamp(day)
    s["verdict"] = category(np.where(flagged, c, green), pop.codes)
    s["reasons"] = category(np.where(flagged, c + 1, 0),
                            ["", *np.char.add("health_code_", pop.codes).tolist()])
    s["temperature_c"] = rng.normal(36.5, 0.25, m).round(1)
    s["mask"] = rng.random(m) < 0.985
    s["credential"] = category(rng.choice(len(CREDENTIALS[0]), size=m, p=CREDENTIALS[1]),
                               CREDENTIALS[0])
    s["kind"] = category(pop.kind[venue], pop.kinds)
    for col in ("district_id", "subdistrict_id"):
        s[col] = pop.venue_cols[col][venue]
    return s


def check_keys(day: pd.DataFrame, persons: pd.DataFrame, venues: pd.DataFrame) -> None:
    """Every generated scan names a generated person and venue (the foreign keys, checked here in
    a fraction of the time the database takes to check millions of loaded rows)."""
    for col, ids in (("person_id", persons["id"]), ("venue_id", venues["id"])):
        stray = ~np.isin(day[col].to_numpy(), ids.to_numpy())
        if stray.any():
            raise ValueError(f"generated scans with an unknown {col}: "
                             f"{day[col].to_numpy()[stray][:5].tolist()}")


def _scan_ids(day: np.datetime64, n: int) -> pd.Series:
    """'demo-YYYYMMDD-0000000' .. for rows 0..n-1 of a day, built as one buffer of bytes that
    becomes an Arrow string column as it is (no string object per row)."""
    prefix = np.frombuffer(f"demo-{str(day).replace('-', '')}-".encode(), dtype=np.uint8)
    digits = (np.arange(n)[:, None] // 10 ** np.arange(6, -1, -1)) % 10 + 48
    raw = np.ascontiguousarray(
        np.hstack([np.broadcast_to(prefix, (n, len(prefix))), digits.astype(np.uint8)]))
    width = raw.shape[1]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    ids = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw)])
    return pd.Series(pd.arrays.ArrowStringArray(ids))


def _counts(scans: pd.DataFrame, keys: list[str], flags: bool = True,
            persons: bool = False) -> pd.DataFrame:
    """Scans per cell of `keys`, with red/yellow and distinct persons when asked."""
    agg = {"scans": ("verdict", "size")}
    if flags:
        scans = scans.assign(red=scans.verdict == "red", yellow=scans.verdict == "yellow")
        agg |= {"red": ("red", "sum"), "yellow": ("yellow", "sum")}
    if persons:
        agg["persons"] = ("person_id", "nunique")
    return scans.groupby(keys, observed=True).agg(**agg).reset_index()


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

    def fill(self, days: list[np.datetime64],
             make: Callable[[np.datetime64], pd.DataFrame]) -> None:
        """Each day's frame from `make(day)`, oldest first (the days share one random
        stream), written out, rolled up, then let go."""
        folder = Path(self._dir.name)
        for day in days:
            frame = make(day)
            path = folder / f"{day}.parquet"
            frame[list(self.COLUMNS)].to_parquet(path, index=False)
            self.files.append(path)
            self.day_rows.append(len(frame))
            self._rollups.append(make_rollups(frame))

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
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        kept = [Path(shutil.move(path, folder / path.name)) for path in self.files[:first_days]]
        for path in kept:  # who was where when, if pseudonymous: the instance owner's only
            path.chmod(0o600)
        return kept

    def close(self) -> None:
        self._dir.cleanup()


def read_day(path: Path) -> dict[str, np.ndarray]:
    """One spooled day as the columns bulk_insert takes."""
    frame = pd.read_parquet(path)
    cols = {c: frame[c].to_numpy() for c in ScanSpool.COLUMNS}
    cols["ts"] = frame["ts"].to_numpy("datetime64[s]")
    return cols
