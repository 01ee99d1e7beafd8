"""Demo geography: real district polygons; generated sub-districts, communities, buildings.

Everything spatial is sampled from one density per district (a dense urban core at the
district seat, a few towns, a thin rural background), so venues, buildings and small cells
crowd where a city does.
Points are drawn by rejection inside the land polygon, hence always on land.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import polylabel

from placecode.settings import PROJECT_ROOT

BOUNDARIES = PROJECT_ROOT / "data" / "boundaries"
CITIES = ("weihai", "shanghai")


class CityError(ValueError):
    """Unknown demo city."""


def load_districts(city: str, folder: Path = BOUNDARIES) -> gpd.GeoDataFrame:
    """District polygons of a demo city.

    Returns columns adcode, name_zh, name_en, population, seat_lon, seat_lat, city_name_zh,
    city_name_en, geometry (degrees, GCJ-02 labelled EPSG:4326).
    """
    if city not in CITIES:
        raise CityError(f"unknown city {city!r}: choose one of {', '.join(CITIES)}")
    frame = gpd.read_file(folder / f"{city}.geojson")
    return frame.sort_values("adcode").reset_index(drop=True)


@dataclass
class DensitySampler:
    """Samples points inside one district: core at the seat, towns, uniform background."""

    geometry: shapely.Geometry
    seat: tuple[float, float]
    rng: np.random.Generator
    core_share: float = 0.6
    town_share: float = 0.25

    def __post_init__(self) -> None:
        shapely.prepare(self.geometry)
        self.bounds = self.geometry.bounds
        scale = float(np.sqrt(self.geometry.area))
        self.sigma = float(np.clip(0.08 * scale, 0.008, 0.035))
        self.towns = self.uniform(3)

    def uniform(self, n: int) -> np.ndarray:
        return uniform_in(self.geometry, n, self.rng)

    def sample(self, n: int) -> np.ndarray:
        """n points (lon, lat) inside the district, following the city density."""
        def draw(k: int) -> np.ndarray:
            which = self.rng.choice(3, size=k, p=[self.core_share, self.town_share,
                                                  1 - self.core_share - self.town_share])
            out = np.column_stack([
                self.rng.uniform(self.bounds[0], self.bounds[2], k),
                self.rng.uniform(self.bounds[1], self.bounds[3], k),
            ])
            core = which == 0
            out[core] = self.seat + self.rng.normal(0, self.sigma, (core.sum(), 2))
            town = which == 1
            centres = self.towns[self.rng.integers(0, len(self.towns), town.sum())]
            out[town] = centres + self.rng.normal(0, self.sigma / 2, (town.sum(), 2))
            return out
        return rejection_sample(self.geometry, n, draw)


def rejection_sample(
    geometry: shapely.Geometry, n: int, draw: Callable[[int], np.ndarray]
) -> np.ndarray:
    """Keep drawing candidate points until n fall inside `geometry`."""
    chunks, have = [], 0
    while have < n:
        pts = draw(max(64, int((n - have) * 1.6)))
        pts = pts[shapely.contains_xy(geometry, pts[:, 0], pts[:, 1])]
        chunks.append(pts)
        have += len(pts)
    return np.concatenate(chunks)[:n]


def uniform_in(geometry: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniformly inside a polygon."""
    x0, y0, x1, y1 = geometry.bounds
    return rejection_sample(geometry, n, lambda k: np.column_stack(
        [rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)]))


def voronoi_cells(area: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """Partition `area` into one cell per seed (cells in seed order)."""
    if len(seeds) == 1:
        return [area]
    regions = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=area, ordered=True)
    cells = shapely.intersection(shapely.get_parts(regions), area)
    return [shapely.make_valid(c) for c in cells]


def label_point(geometry: shapely.Geometry) -> tuple[float, float]:
    """Where a label sits best: the pole of inaccessibility of the largest part."""
    parts = shapely.get_parts(geometry)
    biggest = parts[int(np.argmax(shapely.area(parts)))]
    p = polylabel(biggest, tolerance=0.001)
    return round(p.x, 6), round(p.y, 6)


def to_geojson(geometry: shapely.Geometry) -> str:
    return json.dumps(shapely.geometry.mapping(shapely.set_precision(geometry, 1e-5)))
