"""Map layers read from GeoJSON, Shapefile or GeoPackage, with their CRS and datum made explicit.

Pure apart from reading the file it is given (pyogrio through geopandas).

Two separate things describe where a layer's coordinates are:

* the **CRS** (coordinate reference system) of the file: EPSG:4326 lon/lat, CGCS2000 (EPSG:4490),
  Web Mercator (EPSG:3857), a UTM zone, ... Every layer is transformed to EPSG:4326 lon/lat on load.
* the **datum** in the Chinese sense: ``"wgs84"`` (true positions), ``"gcj02"`` (Amap/Tencent
  obfuscated) or ``"bd09"`` (Baidu). No CRS says this, so it is declared per layer and kept as
  metadata: a GCJ-02 layer is stored as given (still EPSG:4326 lon/lat, but obfuscated) and converted
  only when asked, with :func:`to_datum` (e.g. to draw it over a base map of another datum).

CRS rules of :func:`load_layer`:

1. the file's CRS when it has one (a ``.prj``, the GeoPackage's SRS, a GeoJSON ``crs`` member);
2. otherwise the CRS declared for the layer (``crs=...``);
3. otherwise EPSG:4326 for GeoJSON (RFC 7946 coordinates are WGS-84 lon/lat), and an error naming the
   fix for Shapefile and GeoPackage.

A declared CRS that contradicts the file's gives a :class:`LayerCrsWarning` and the file's CRS is used.
Coordinates that fall outside lon -180..180 / lat -90..90 after the transformation mean projected
coordinates read as degrees: :class:`LayerCrsError`.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo import coords

__all__ = [
    "DATUM_NAMES",
    "Datum",
    "Layer",
    "LayerCrsError",
    "LayerCrsWarning",
    "LayerError",
    "LayerFileError",
    "LayerKind",
    "layer_to_geojson",
    "load_layer",
    "normalise_datum",
    "to_datum",
]

LayerKind = Literal["polygon", "line", "point"]
Datum = Literal["wgs84", "gcj02", "bd09"]

#: Accepted spellings of each datum (compared after lower-casing and removing "-", "_" and spaces).
#: CGCS2000 differs from WGS-84 by centimetres: as a datum it is WGS-84.
DATUM_NAMES: dict[str, Datum] = {"wgs84": "wgs84", "cgcs2000": "wgs84", "gcj02": "gcj02", "bd09": "bd09"}

_KIND_OF_TYPE: dict[str, LayerKind] = {
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Point": "point",
    "MultiPoint": "point",
}
_FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "Shapefile", ".gpkg": "GeoPackage"}
_WGS84 = CRS.from_epsg(4326)


class LayerError(ValueError):
    """A layer cannot be loaded (the message names the file and the fix)."""


class LayerFileError(LayerError):
    """The layer file is missing, unreadable, of an unsupported format or of mixed geometry kinds."""


class LayerCrsError(LayerError):
    """The layer's CRS is missing, unknown or evidently wrong."""


class LayerCrsWarning(UserWarning):
    """The CRS declared for a layer contradicts the file's own CRS (the file's is used)."""


@dataclass(frozen=True, eq=False)
class Layer:
    """A named map layer.

    ``frame`` is a GeoDataFrame in EPSG:4326 lon/lat whose coordinates are in ``datum`` (for a
    ``"gcj02"`` layer they are obfuscated GCJ-02 positions, not WGS-84 ones). Columns other than
    ``geometry`` are the features' properties. ``label_field`` names the property used for labels.
    """

    name: str
    kind: LayerKind
    datum: Datum
    frame: gpd.GeoDataFrame
    label_field: str | None = None

    def __len__(self) -> int:
        return len(self.frame)


def normalise_datum(datum: str | None) -> Datum:
    """The canonical name of a datum.

    ``"GCJ-02"``, ``"gcj02"``, ``"BD09"``, ``"WGS84"``, ``"CGCS2000"``, None (= WGS-84) → canonical name.
    """
    if datum is None:
        return "wgs84"
    key = str(datum).lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in DATUM_NAMES:
        raise LayerCrsError(
            f"unknown datum {datum!r}: use one of 'wgs84', 'gcj02', 'bd09' (CGCS2000 counts as wgs84)"
        )
    return DATUM_NAMES[key]


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise LayerFileError(
            f"layer file {path}: unsupported format {path.suffix!r}; use GeoJSON (.geojson/.json), "
            "Shapefile (.shp) or GeoPackage (.gpkg)"
        )
    return fmt


def _parse_crs(value: Any, what: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise LayerCrsError(f"{what}: cannot understand CRS {value!r} ({exc})") from None


def _geojson_declares_crs(path: Path) -> bool:
    """Whether a GeoJSON file carries a (pre-RFC 7946) ``crs`` member; GDAL reports EPSG:4326 either way."""
    try:
        obj = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LayerFileError(f"layer file {path} is not valid GeoJSON: {exc}") from None
    return isinstance(obj, dict) and obj.get("crs") is not None


def _same_crs(a: CRS, b: CRS) -> bool:
    if a.equals(b, ignore_axis_order=True):
        return True
    epsg_a, epsg_b = a.to_epsg(), b.to_epsg()
    return epsg_a is not None and epsg_a == epsg_b


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg is not None else crs.name


def _read(path: Path, fmt: str, layer: str | int | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise LayerFileError(f"layer file {path} does not exist")
    if fmt != "GeoPackage" and layer is not None:
        raise LayerFileError(f"layer file {path}: layer={layer!r} applies to GeoPackage files only")
    try:
        if fmt == "GeoPackage" and layer is None:
            names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            if len(names) > 1:
                raise LayerFileError(
                    f"GeoPackage {path} holds {len(names)} layers ({', '.join(names)}): "
                    "set layer = '<name>' for this layer"
                )
        return gpd.read_file(path, engine="pyogrio", layer=layer)
    except LayerFileError:
        raise
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FeatureError,
        ValueError,
        OSError,
    ) as exc:
        raise LayerFileError(f"cannot read {fmt} layer file {path}: {exc}") from None


def _resolve_crs(path: Path, fmt: str, frame: gpd.GeoDataFrame, declared: CRS | None) -> CRS:
    file_crs: CRS | None = None if frame.crs is None else CRS.from_user_input(frame.crs)
    if fmt == "GeoJSON" and not _geojson_declares_crs(path):
        file_crs = None  # GDAL assumes EPSG:4326 for every GeoJSON; only an explicit member counts
    if file_crs is not None:
        if declared is not None and not _same_crs(file_crs, declared):
            warnings.warn(
                LayerCrsWarning(
                    f"layer file {path}: the declared CRS {_crs_name(declared)} contradicts "
                    f"the file's CRS {_crs_name(file_crs)}; using the file's CRS "
                    f"{_crs_name(file_crs)}. Remove or correct crs for this layer"
                ),
                stacklevel=3,
            )
        return file_crs
    if declared is not None:
        return declared
    if fmt == "GeoJSON":
        return _WGS84  # RFC 7946: GeoJSON coordinates are WGS-84 longitude, latitude
    raise LayerCrsError(
        f"{fmt} layer file {path} has no CRS (no .prj / SRS) and none is declared: set "
        "crs = 'EPSG:4326' (or the file's CRS) for this layer"
    )


def _check_degrees(path: Path, frame: gpd.GeoDataFrame, crs: CRS) -> None:
    if len(frame) == 0:
        return
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    if xy.size == 0:
        return
    bad = ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180.0) | (np.abs(xy[:, 1]) > 90.0)
    if bad.any():
        x, y = xy[np.flatnonzero(bad)[0]]
        raise LayerCrsError(
            f"layer file {path}: coordinate ({x:.6g}, {y:.6g}) read as {_crs_name(crs)} is outside "
            "lon -180..180 / lat -90..90: the data looks projected; declare its CRS (e.g. "
            "crs = 'EPSG:3857' or its UTM zone) for this layer"
        )


def _kind_of(
    path: Path, frame: gpd.GeoDataFrame, kind: LayerKind | None
) -> tuple[gpd.GeoDataFrame, LayerKind]:
    types = frame.geometry.geom_type
    kinds = types.map(_KIND_OF_TYPE)
    if kinds.isna().any():
        other = sorted(set(types[kinds.isna()]))
        raise LayerFileError(f"layer file {path}: unsupported geometry type(s) {', '.join(other)}")
    if kind is not None:
        if kind not in ("polygon", "line", "point"):
            raise LayerFileError(
                f"layer file {path}: kind must be 'polygon', 'line' or 'point', not {kind!r}"
            )
        return frame.loc[(kinds == kind).to_numpy()].reset_index(drop=True), kind
    found = sorted(set(kinds))
    if len(found) > 1:
        raise LayerFileError(
            f"layer file {path} mixes {', '.join(found)} geometries: set kind = "
            f"{found[0]!r} (or another) for this layer to keep one kind"
        )
    return frame, cast(LayerKind, found[0]) if found else "point"


def load_layer(
    path: str | Path,
    *,
    name: str,
    datum: str | None = None,
    crs: Any = None,
    label_field: str | None = None,
    layer: str | int | None = None,
    kind: LayerKind | None = None,
) -> Layer:
    """Read a GeoJSON, Shapefile or GeoPackage layer into a :class:`Layer` in EPSG:4326 lon/lat.

    ``crs`` is the CRS to assume when the file has none (anything pyproj understands: "EPSG:4490",
    3857, a WKT string); ``datum`` is "wgs84" (default), "gcj02" or "bd09" and is kept as metadata;
    ``layer`` picks a GeoPackage layer; ``kind`` keeps only the features of that geometry kind
    (needed for files mixing points and lines). Features without geometry are dropped.
    """
    path = Path(path)
    fmt = _format_of(path)
    the_datum = normalise_datum(datum)
    declared = None if crs is None else _parse_crs(crs, f"layer {name!r} ({path})")
    frame = _read(path, fmt, layer)
    source_crs = _resolve_crs(path, fmt, frame, declared)
    frame = frame.loc[~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()].reset_index(drop=True)
    if source_crs.is_geographic and _same_crs(source_crs, _WGS84):
        frame = frame.set_crs(_WGS84, allow_override=True)
    else:
        frame = frame.set_crs(source_crs, allow_override=True)
        with np.errstate(invalid="ignore", over="ignore"):
            frame = frame.to_crs(_WGS84)
    _check_degrees(path, frame, source_crs)
    frame, the_kind = _kind_of(path, frame, kind)
    if label_field is not None and label_field not in frame.columns:
        raise LayerFileError(
            f"layer file {path}: label_field {label_field!r} is not a property "
            f"(properties: {', '.join(c for c in frame.columns if c != 'geometry')})"
        )
    return Layer(name=name, kind=the_kind, datum=the_datum, frame=frame, label_field=label_field)


_CONVERSIONS = {
    ("wgs84", "gcj02"): coords.wgs84_to_gcj02,
    ("gcj02", "wgs84"): coords.gcj02_to_wgs84,
    ("wgs84", "bd09"): coords.wgs84_to_bd09,
    ("bd09", "wgs84"): coords.bd09_to_wgs84,
    ("gcj02", "bd09"): coords.gcj02_to_bd09,
    ("bd09", "gcj02"): coords.bd09_to_gcj02,
}


def convert_geometries(geoms: Any, source: str, target: str) -> NDArray[np.object_]:
    """Every vertex of an array of lon/lat geometries converted between datums (Z kept)."""
    src, dst = normalise_datum(source), normalise_datum(target)
    arr = np.asarray(geoms, dtype=object)
    if src == dst:
        return arr.copy()
    fn = _CONVERSIONS[(src, dst)]

    def move(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.array(xy, dtype=np.float64, copy=True)
        lon, lat = fn(out[:, 0], out[:, 1])
        out[:, 0], out[:, 1] = lon, lat
        return out

    return cast(NDArray[np.object_], shapely.transform(arr, move, include_z=None))


def to_datum(layer: Layer, target_datum: str) -> Layer:
    """The layer with every vertex converted to ``target_datum`` (the same layer if already there)."""
    target = normalise_datum(target_datum)
    if target == layer.datum:
        return layer
    frame = layer.frame.copy()
    moved = convert_geometries(frame.geometry.to_numpy(), layer.datum, target)
    frame = frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs=frame.crs))
    return Layer(name=layer.name, kind=layer.kind, datum=target, frame=frame, label_field=layer.label_field)


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.generic):
        return _json_value(value.item())
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "isoformat"):  # datetime.date / datetime.datetime / time
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def layer_to_geojson(layer: Layer) -> dict[str, Any]:
    """A GeoJSON FeatureCollection dict of the layer.

    Properties are kept, NaN/NA → null, coordinates in the layer's datum.
    """
    frame = layer.frame
    geo_col = frame.geometry.name
    props = [c for c in frame.columns if c != geo_col]
    geoms = frame.geometry.to_numpy()
    texts = shapely.to_geojson(geoms)
    columns = {c: frame[c].astype(object).tolist() for c in props}
    features = []
    for i in range(len(frame)):
        text = texts[i]
        features.append(
            {
                "type": "Feature",
                "properties": {str(c): _json_value(columns[c][i]) for c in props},
                "geometry": None if text is None else json.loads(text),
            }
        )
    return {"type": "FeatureCollection", "name": layer.name, "features": features}
