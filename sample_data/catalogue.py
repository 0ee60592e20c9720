"""The sample city's entities: stations, gauges and road segments read from a WGS-84 GeoJSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_CATALOGUE", "KINDS", "Catalogue", "load_catalogue"]

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "qingyuan" / "entities.geojson"
KINDS = ("air_station", "hydro_station", "rain_gauge", "road_segment")


@dataclass
class Catalogue:
    """The city's entities grouped by kind; each kind is a DataFrame with at least ``entity_id``,
    ``name``, ``district_code`` (str), ``lon``, ``lat`` (WGS-84; a road segment's point is the middle
    of its line) and the feature's other properties as columns."""

    by_kind: dict[str, pd.DataFrame]
    path: Path | None = None

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.by_kind[kind]

    @property
    def air_stations(self) -> pd.DataFrame:
        return self.by_kind["air_station"]

    @property
    def hydro_stations(self) -> pd.DataFrame:
        return self.by_kind["hydro_station"]

    @property
    def rain_gauges(self) -> pd.DataFrame:
        return self.by_kind["rain_gauge"]

    @property
    def road_segments(self) -> pd.DataFrame:
        return self.by_kind["road_segment"]

    def entity(self, entity_id: str) -> dict[str, Any]:
        for df in self.by_kind.values():
            hit = df[df["entity_id"] == entity_id]
            if len(hit):
                return hit.iloc[0].to_dict()
        raise KeyError(entity_id)


def _line_midpoint(coords: list[list[float]]) -> tuple[float, float]:
    pts = np.asarray(coords, dtype=np.float64)[:, :2]
    if len(pts) == 1:
        return float(pts[0, 0]), float(pts[0, 1])
    coslat = math.cos(math.radians(float(pts[:, 1].mean())))
    seg = np.hypot(np.diff(pts[:, 0]) * coslat, np.diff(pts[:, 1]))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    half = cum[-1] / 2
    i = int(min(np.searchsorted(cum, half, side="right") - 1, len(seg) - 1))
    f = 0.0 if seg[i] == 0 else (half - cum[i]) / seg[i]
    p = pts[i] + f * (pts[i + 1] - pts[i])
    return float(p[0]), float(p[1])


def _feature_point(geom: Mapping[str, Any]) -> tuple[float, float]:
    gtype = geom.get("type")
    coords: Any = geom.get("coordinates")
    if coords is None:
        raise ValueError("feature without coordinates")
    if gtype == "Point":
        return float(coords[0]), float(coords[1])
    if gtype == "LineString":
        return _line_midpoint(coords)
    if gtype == "MultiLineString":
        return _line_midpoint([p for part in coords for p in part])
    if gtype in ("Polygon", "MultiPolygon"):
        ring = coords[0] if gtype == "Polygon" else coords[0][0]
        arr = np.asarray(ring, dtype=np.float64)
        return float(arr[:, 0].mean()), float(arr[:, 1].mean())
    raise ValueError(f"unsupported geometry type {gtype!r}")


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the entity catalogue (a WGS-84 GeoJSON FeatureCollection) with plain ``json``.

    ``path`` defaults to ``sample_data/qingyuan/entities.geojson`` next to this module.
    """
    p = Path(path) if path is not None else DEFAULT_CATALOGUE
    with p.open(encoding="utf-8") as fh:
        doc = json.load(fh)
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for feat in doc.get("features", []):
        props = dict(feat.get("properties") or {})
        kind = props.get("kind")
        if "entity_id" not in props or kind is None:
            continue
        lon, lat = _feature_point(feat.get("geometry") or {})
        props["entity_id"] = str(props["entity_id"])
        props["district_code"] = str(props.get("district_code", ""))
        props.setdefault("name", props["entity_id"])
        props["lon"], props["lat"] = lon, lat
        if kind == "road_segment":
            props["geometry_coords"] = (feat.get("geometry") or {}).get("coordinates")
        rows.setdefault(str(kind), []).append(props)
    by_kind: dict[str, pd.DataFrame] = {}
    for kind, items in rows.items():
        df = pd.DataFrame(items)
        if df.empty:
            df = pd.DataFrame(columns=["entity_id", "kind", "name", "district_code", "lon", "lat"])
        by_kind[kind] = df.sort_values("entity_id", kind="stable").reset_index(drop=True)
    return Catalogue(by_kind=by_kind, path=p)
