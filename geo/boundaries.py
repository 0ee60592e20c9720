"""Reading the city's reference layers: district outlines and entity catalogues (GeoJSON, WGS-84).

Pure apart from reading the file it is given. Frames out: geometries travel as GeoJSON text so that
the warehouse can store them without a spatial extension and the map builders can use them as is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape


class BoundaryFileError(ValueError):
    """A reference layer file is missing or malformed (the message names the file and the problem)."""


def _read_collection(path: Path, what: str) -> dict[str, Any]:
    if not path.exists():
        raise BoundaryFileError(f"{what} file {path} does not exist")
    try:
        obj = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BoundaryFileError(f"{what} file {path} is not valid GeoJSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        raise BoundaryFileError(f"{what} file {path} is not a GeoJSON FeatureCollection")
    return obj


def load_districts(path: Path) -> pd.DataFrame:
    """Districts: code, name, name_en, geometry (GeoJSON text), lon/lat of a point inside."""
    rows = []
    for i, feat in enumerate(_read_collection(path, "districts")["features"]):
        props = feat.get("properties") or {}
        if "code" not in props or "name" not in props:
            raise BoundaryFileError(f"{path}: feature {i} lacks the 'code' or 'name' property")
        geom = shape(feat["geometry"])
        inside = geom.representative_point()
        rows.append(
            {
                "code": str(props["code"]),
                "name": props["name"],
                "name_en": props.get("name_en"),
                "geometry": json.dumps(feat["geometry"], separators=(",", ":")),
                "lon": inside.x,
                "lat": inside.y,
            }
        )
    return pd.DataFrame(rows)


def load_entity_catalogue(path: Path, *, fields: Sequence[str], source: str = "catalogue") -> pd.DataFrame:
    """Entities (stations, gauges, segments) from a GeoJSON catalogue: the properties named in
    ``fields`` become columns (None where absent), the others stay together as JSON in ``props``."""
    rows = []
    for i, feat in enumerate(_read_collection(path, "entity catalogue")["features"]):
        props = dict(feat.get("properties") or {})
        if not props.get("entity_id") or not props.get("kind"):
            raise BoundaryFileError(f"{path}: feature {i} lacks 'entity_id' or 'kind'")
        geom = feat.get("geometry")
        row = {k: props.pop(k, None) for k in fields}
        row["entity_id"] = str(row["entity_id"])
        if geom:
            g = shape(geom)
            point = (
                g
                if g.geom_type == "Point"
                else g.interpolate(0.5, normalized=True)
                if g.geom_type == "LineString"
                else g.representative_point()
            )
            row["lon"], row["lat"] = point.x, point.y
            row["geometry"] = json.dumps(geom, separators=(",", ":"))
        row["props"] = json.dumps(props, ensure_ascii=False) if props else None
        row["source"] = source
        rows.append(row)
    return pd.DataFrame(rows)


def assign_districts(lon: np.ndarray, lat: np.ndarray, districts: pd.DataFrame) -> np.ndarray:
    """District code containing each point (None outside every district). Vectorised with an STRtree."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    out = np.full(lon.shape, None, dtype=object)
    if len(districts) == 0 or lon.size == 0:
        return out
    polys = [shape(json.loads(g)) for g in districts["geometry"]]
    codes = districts["code"].to_numpy()
    tree = shapely.STRtree(polys)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    points = shapely.points(lon[ok], lat[ok])
    point_idx, poly_idx = tree.query(points, predicate="within")
    hits = np.flatnonzero(ok)
    out[hits[point_idx]] = codes[poly_idx]
    return out
