"""Derive the demo city's approximate main-river lines (WGS-84) from the hydrological station positions.

Run from the repository root and commit the output (deterministic: no randomness, rounded output):

    .venv/bin/python sample_data/derive_rivers.py

The lines are NOT surveyed river courses. Each river is a list of hand-placed waypoints: the
hydrological stations on it in ``entities.geojson`` (by ``entity_id``, in downstream order) plus a few
shaping points from general geography (where the river enters the city, bends, junctions). A tributary
ends where it meets its parent river (the point of the parent line nearest to a hand-placed junction
hint). The waypoints are joined with a centripetal Catmull-Rom curve, which passes exactly through every
waypoint, so every listed station lies on its river line. Expect the courses to be off by a few
kilometres between stations, and more at the ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parent.parent
ENTITIES = ROOT / "sample_data" / "qingyuan" / "entities.geojson"
OUTPUT = ROOT / "sample_data" / "qingyuan" / "rivers.geojson"

NOTE = (
    "APPROXIMATE river lines for the demo (WGS-84 lon/lat), hand-placed through the positions of the "
    "hydrological stations in entities.geojson (listed in 'stations', in downstream order) and a few "
    "shaping points from general geography, smoothed with a curve that passes through every waypoint. "
    "Not surveyed courses: expect errors of a few kilometres. Regenerate with sample_data/derive_rivers.py."
)

Waypoint = str | tuple[float, float]  # an entity_id or a (lon, lat) shaping point

#: name, name_en, basin (as in entities.geojson), waypoints downstream, (parent river, junction hint) or None.
RIVERS: tuple[tuple[str, str, str, tuple[Waypoint, ...], tuple[str, tuple[float, float]] | None], ...] = (
    (
        "北江",
        "Bei River",
        "北江干流",
        (
            (113.56, 24.60),  # from Shaoguan (曲江), entering 英德 from the north
            (113.51, 24.47),
            (113.46, 24.33),
            (113.42, 24.24),
            "HYD-BJ-YINGDE",
            (113.36, 24.11),
            (113.33, 24.06),  # 连江口
            "HYD-BJ-DAZHAN",
            (113.27, 23.88),
            "HYD-BJ-FEILAIXIA",
            (113.20, 23.76),  # 江口 (潖江 joins)
            (113.12, 23.73),
            "HYD-BJ-QINGYUAN",
            (113.04, 23.62),
            "HYD-BJ-SHIJIAO",
            (113.02, 23.50),
            (112.95, 23.40),  # leaving the city toward 三水
        ),
        None,
    ),
    (
        "连江",
        "Lian River",
        "连江",
        (
            (112.43, 25.08),  # upper reaches north of 连州
            (112.40, 24.90),
            "HYD-LJ-LIANZHOU",
            "HYD-LJ-XIJIANG",
            "HYD-LJ-LIBU",
            (112.56, 24.52),
            "HYD-LJ-YANGSHAN",
            (112.74, 24.44),
            "HYD-LJ-QINGLIAN",
            "HYD-LJ-DAWAN",
            "HYD-LJ-HANGUANG",
            "HYD-LJ-GAODAO",
            (113.20, 24.14),
        ),
        ("北江", (113.33, 24.06)),  # 连江口
    ),
    (
        "滨江",
        "Binjiang River",
        "滨江",
        ((112.80, 24.10), "HYD-BIN-SHITAN", "HYD-BIN-SANKENG", "HYD-BIN-TAIHE"),
        ("北江", (113.01, 23.70)),
    ),
    (
        "潖江",
        "Pajiang River",
        "潖江",
        ((113.70, 24.08), "HYD-PJ-SHUITOU", "HYD-PJ-FOGANG", "HYD-PJ-TANGTANG", "HYD-PJ-JIANGKOUXU"),
        ("北江", (113.21, 23.765)),  # 江口
    ),
    (
        "大燕河",
        "Dayan River",
        "大燕河",
        ((113.37, 23.75), "HYD-DY-CHANGBU", "HYD-DY-YUANTAN", "HYD-DY-LONGLI"),
        ("北江", (113.07, 23.58)),
    ),
    (
        "滃江",
        "Wengjiang River",
        "滃江",
        ((113.80, 24.50), "HYD-WJ-QINGTANG", "HYD-WJ-HENGSHITANG"),
        ("北江", (113.44, 24.26)),
    ),
)

SAMPLES_PER_SEGMENT = 6
DECIMALS = 5


def station_positions(path: Path = ENTITIES) -> dict[str, tuple[float, float]]:
    data = json.loads(path.read_text("utf-8"))
    out = {}
    for feat in data["features"]:
        props = feat["properties"]
        if props.get("kind") == "hydro_station" and feat["geometry"]["type"] == "Point":
            lon, lat = feat["geometry"]["coordinates"][:2]
            out[props["entity_id"]] = (float(lon), float(lat))
    return out


def catmull_rom(points: np.ndarray, samples: int = SAMPLES_PER_SEGMENT) -> np.ndarray:
    """Centripetal Catmull-Rom curve through ``points`` (n x 2 lon/lat), ``samples`` steps per segment.

    Computed with longitudes scaled by cos(mean latitude) so the curve is shaped in a roughly
    isotropic plane. Every input point is on the output.
    """
    if len(points) < 3:
        return points.copy()
    k = np.cos(np.radians(points[:, 1].mean()))
    p = points * np.array([k, 1.0])
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[0]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        t0 = 0.0
        t1 = t0 + np.linalg.norm(p1 - p0) ** 0.5
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5
        for t in np.linspace(t1, t2, samples + 1)[1:]:
            a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
            a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
            a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
            b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
            b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
            out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return np.array(out) / np.array([k, 1.0])


def build() -> dict[str, Any]:
    stations = station_positions()
    lines: dict[str, LineString] = {}
    features = []
    for name, name_en, basin, waypoints, mouth in RIVERS:
        pts = [stations[w] if isinstance(w, str) else w for w in waypoints]
        if mouth is not None:
            parent = lines[mouth[0]]
            junction = parent.interpolate(parent.project(Point(mouth[1])))
            pts.append((junction.x, junction.y))
        curve = np.round(catmull_rom(np.array(pts, dtype=np.float64)), DECIMALS)
        line = LineString(curve)
        if not line.is_valid:
            raise SystemExit(f"{name}: the smoothed line is not valid")
        lines[name] = line
        props: dict[str, Any] = {
            "name": name,
            "name_en": name_en,
            "basin": basin,
            "approximate": True,
            "joins": mouth[0] if mouth else None,
            "stations": [w for w in waypoints if isinstance(w, str)],
        }
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "LineString", "coordinates": curve.tolist()},
            }
        )
    return {"type": "FeatureCollection", "crs_note": "WGS-84", "note": NOTE, "features": features}


def main() -> None:
    data = build()
    # One feature per line keeps the diff of a regeneration readable.
    parts = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in data["features"]]
    head = json.dumps({k: v for k, v in data.items() if k != "features"}, ensure_ascii=False)[:-1]
    OUTPUT.write_text(head + ',"features":[\n' + ",\n".join(parts) + "\n]}\n", encoding="utf-8")
    stations = station_positions()
    for feat in data["features"]:
        line = shapely.geometry.shape(feat["geometry"])
        worst = max(line.distance(Point(stations[s])) for s in feat["properties"]["stations"])
        print(
            f"{feat['properties']['name']}: {len(line.coords)} vertices, max station offset {worst:.2e} deg"
        )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
