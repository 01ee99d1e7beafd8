"""Generated places inside the real districts: sub-districts, communities, buildings, venues."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from placecode.demo.geography import (
    DensitySampler,
    label_point,
    to_geojson,
    uniform_in,
    voronoi_cells,
)
from placecode.demo.presets import Preset

# Share of all venues and relative popularity (scans per venue) per kind (seed 003's kinds).
VENUE_KINDS = {
    #             share   popularity  zh      code letter
    "shop":        (0.528, 1.0, "商户", "P"),
    "enterprise":  (0.15, 2.0, "企业", "E"),
    "restaurant":  (0.12, 3.0, "餐厅", "R"),
    "residential": (0.06, 6.0, "住宅小区", "H"),
    "government":  (0.04, 2.5, "机关事业单位", "G"),
    "supermarket": (0.04, 12.0, "超市", "S"),
    "hotel":       (0.025, 2.5, "宾馆", "T"),
    "mall":        (0.005, 45.0, "商场", "M"),
    "bus":         (0.012, 14.0, "公交车", "B"),
    "taxi":        (0.02, 2.0, "出租车", "X"),
}


def split_by_share(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `shares` (largest remainder)."""
    raw = total * shares / shares.sum()
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(raw - counts)[::-1][: total - counts.sum()]] += 1
    return counts


def make_samplers(districts: gpd.GeoDataFrame, rng: np.random.Generator) -> list[DensitySampler]:
    return [
        DensitySampler(geom, (row.seat_lon, row.seat_lat), rng)
        for geom, row in zip(districts.geometry, districts.itertuples(), strict=True)
    ]


def make_subdistricts(
    districts: gpd.GeoDataFrame, samplers: list[DensitySampler], preset: Preset
) -> gpd.GeoDataFrame:
    """Voronoi sub-districts per district, seeded by the density: small cells downtown."""
    rows = []
    for d, sampler in zip(districts.itertuples(), samplers, strict=True):
        seeds = sampler.sample(preset.subdistricts_per_district)
        for n, cell in enumerate(voronoi_cells(d.geometry, seeds), start=1):
            rows.append({
                "id": d.adcode * 1000 + n,
                "district_id": d.adcode,
                "name_zh": f"{d.name_zh.rstrip('区市新')}生成街道{n:02d}",
                "name_en": f"{d.name_en} Gen-SD {n:02d}",
                "geometry": cell,
            })
    return gpd.GeoDataFrame(rows, crs=districts.crs)


def make_communities(
    subdistricts: gpd.GeoDataFrame, preset: Preset, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    rows = []
    for sd in subdistricts.itertuples():
        seeds = uniform_in(sd.geometry, preset.communities_per_subdistrict, rng)
        for n, cell in enumerate(voronoi_cells(sd.geometry, seeds), start=1):
            if cell.is_empty:
                continue
            rows.append({
                "id": sd.id * 1000 + n,
                "subdistrict_id": sd.id,
                "district_id": sd.district_id,
                "name_zh": f"生成社区{n:03d}",
                "name_en": f"Gen-Community {n:03d}",
                "geometry": cell,
            })
    return gpd.GeoDataFrame(rows, crs=subdistricts.crs)


def assign_cells(points: np.ndarray, cells: gpd.GeoDataFrame) -> np.ndarray:
    """Id of the cell each point falls in (nearest cell for the odd point on a shared edge)."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(points[:, 0], points[:, 1]), crs=cells.crs)
    hit = gpd.sjoin(pts, cells[["id", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]["id"]
    missing = hit.isna()
    if missing.any():
        with warnings.catch_warnings():  # degrees are fine for "which cell is nearest"
            warnings.simplefilter("ignore", UserWarning)
            near = gpd.sjoin_nearest(pts[missing.to_numpy()], cells[["id", "geometry"]])
        hit[missing] = near[~near.index.duplicated(keep="first")]["id"]
    return hit.to_numpy(dtype=np.int64)


def make_buildings(
    districts: gpd.GeoDataFrame,
    samplers: list[DensitySampler],
    communities: gpd.GeoDataFrame,
    preset: Preset,
    residents_per_district: np.ndarray,
) -> pd.DataFrame:
    frames = []
    for d, sampler, residents in zip(
        districts.itertuples(), samplers, residents_per_district, strict=True
    ):
        n = max(1, int(np.ceil(residents / preset.residents_per_building)))
        pts = sampler.sample(n)
        cells = communities[communities.district_id == d.adcode]
        frames.append(pd.DataFrame({
            "community_id": assign_cells(pts, cells),
            "district_id": d.adcode,
            "lon": pts[:, 0].round(6),
            "lat": pts[:, 1].round(6),
        }))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "id", np.arange(1, len(out) + 1, dtype=np.int64))
    out["name"] = "生成楼栋" + out.groupby("community_id").cumcount().add(1).astype(str) + "号楼"
    return out


def make_venues(
    districts: gpd.GeoDataFrame,
    samplers: list[DensitySampler],
    subdistricts: gpd.GeoDataFrame,
    preset: Preset,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Venues of the seed's kinds, placed by the density; columns match the `venues` table
    plus `popularity` (relative expected scans) used by the scan generator."""
    kinds = np.array(list(VENUE_KINDS))
    shares = np.array([v[0] for v in VENUE_KINDS.values()])
    per_district = split_by_share(preset.venues, districts["population"].to_numpy(float))
    frames = []
    for d, sampler, n in zip(districts.itertuples(), samplers, per_district, strict=True):
        pts = sampler.sample(int(n))
        kind = np.repeat(kinds, split_by_share(int(n), shares))
        rng.shuffle(kind)
        frames.append(pd.DataFrame({
            "district_id": d.adcode,
            "subdistrict_id": assign_cells(pts, subdistricts[subdistricts.district_id == d.adcode]),
            "kind": kind,
            "lon": pts[:, 0].round(6),
            "lat": pts[:, 1].round(6),
            "district_zh": d.name_zh.rstrip("区市新"),
        }))
    v = pd.concat(frames, ignore_index=True)
    v.insert(0, "id", np.arange(1, len(v) + 1, dtype=np.int64))
    seq = v.groupby(["district_id", "kind"]).cumcount().add(1)
    letter = v["kind"].map({k: spec[3] for k, spec in VENUE_KINDS.items()})
    v["code"] = v["district_id"].astype(str) + letter + seq.astype(str).str.zfill(6)
    kind_zh = v["kind"].map({k: spec[2] for k, spec in VENUE_KINDS.items()})
    v["name"] = v["district_zh"] + kind_zh + seq.astype(str).str.zfill(4) + "号"
    bus = v["kind"] == "bus"
    v.loc[bus, "name"] = v["district_zh"] + "公交" + (seq[bus] % 120 + 1).astype(str) + "路 " \
        + seq[bus].astype(str).str.zfill(4) + "号车"
    v["mobile"] = v["kind"].isin(["bus", "taxi"])
    popularity = v["kind"].map({k: spec[1] for k, spec in VENUE_KINDS.items()}).to_numpy(float)
    v["popularity"] = popularity * rng.lognormal(0.0, 0.9, len(v))
    return v.drop(columns="district_zh")


def make_sampling_sites(communities: gpd.GeoDataFrame, persons: pd.DataFrame,
                        rng: np.random.Generator) -> pd.DataFrame:
    """One nucleic-acid sampling site per two or three communities of a sub-district, at one of
    them; `communities` gains nothing, the frame maps every community to its site.

    Columns match `sampling_sites` plus `community_ids` (the communities it serves). Capacity is
    about a fifth of the served residents a day, so a full-round day overruns it (as it did)."""
    residents = persons.groupby("community_id").size()
    rows = []
    for sd_id, group in communities.groupby("subdistrict_id", sort=True):
        ids = group["id"].to_numpy()
        for n, chunk in enumerate(np.array_split(ids, max(1, len(ids) // 3)), start=1):
            at = label_point(group.set_index("id").geometry[chunk[0]])
            served = int(residents.reindex(chunk).fillna(0).sum())
            rows.append({
                "name": f"采样点{sd_id % 10**6:06d}-{n:02d}",
                "district_id": int(group["district_id"].iloc[0]),
                "subdistrict_id": int(sd_id),
                "lon": round(at[0] + rng.normal(0, 0.0008), 6),
                "lat": round(at[1] + rng.normal(0, 0.0008), 6),
                "capacity_per_day": max(100, int(round(served * 0.2, -1))),
                "community_ids": chunk.tolist(),
            })
    out = pd.DataFrame(rows)
    out.insert(0, "id", np.arange(1, len(out) + 1, dtype=np.int64))
    return out


def cell_rows(cells: gpd.GeoDataFrame, columns: list[str]) -> dict[str, list]:
    """Columns for loading a polygon frame: the given columns, label point, GeoJSON text."""
    labels = [label_point(g) for g in cells.geometry]
    out = {c: cells[c].tolist() for c in columns}
    out["label_lon"] = [p[0] for p in labels]
    out["label_lat"] = [p[1] for p in labels]
    out["geometry"] = [to_geojson(g) for g in cells.geometry]
    return out
