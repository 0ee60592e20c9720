"""Spatial operations on frames: point-in-polygon, nearest target, radius and buffer queries, aggregates.

Pure functions, frames in and frames out. Everything works on WGS-84 longitude/latitude:

* points are a GeoDataFrame with a CRS (transformed to EPSG:4326 if needed; a GeoDataFrame without a
  CRS is refused) or a plain DataFrame with ``lon`` and ``lat`` columns (taken as EPSG:4326);
* polygons and targets are a GeoDataFrame with a CRS, a :class:`~geo.layers.Layer` (converted to the
  WGS-84 datum first), or a plain DataFrame whose ``geometry`` column holds GeoJSON text or shapely
  geometries in lon/lat (the shape of :func:`geo.boundaries.load_districts`).

Distances: between two points they are geodesic on the WGS-84 ellipsoid (pyproj ``Geod``). Distances
to lines and polygons, and buffers, are computed in an azimuthal equidistant projection centred on the
data (ellipsoidal, so distances from the centre are exact and others are off by less than 0.02 % within
200 km of it), which is a "local equal-distance projection" for a city of any place on Earth. Segments
are straight in lon/lat (as in GeoJSON and on the map): they are densified to 0.01° before projecting.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Geod, Transformer

from geo.layers import Layer, to_datum

__all__ = [
    "aggregate_by_polygon",
    "assign_to_polygons",
    "buffer_km",
    "geodesic_km",
    "local_projection",
    "nearest",
    "point_coordinates",
    "within_buffer",
    "within_radius",
]

_WGS84 = CRS.from_epsg(4326)
_GEOD = Geod(ellps="WGS84")
Frame = pd.DataFrame | gpd.GeoDataFrame
Aggregation = Literal["mean", "max", "min", "count", "sum"]


class SpatialInputError(ValueError):
    """A frame or geometry given to a spatial function cannot be used (the message says why)."""


# ------------------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------------------


def _to_wgs84_frame(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise SpatialInputError(
            f"{what}: the GeoDataFrame has no CRS; set one (e.g. frame.set_crs('EPSG:4326'))"
        )
    if CRS.from_user_input(frame.crs).equals(_WGS84, ignore_axis_order=True):
        return frame
    return frame.to_crs(_WGS84)


def point_coordinates(points: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitude and latitude arrays (WGS-84) of a points frame.

    The frame is a GeoDataFrame of points, or has ``lon``/``lat`` columns.
    """
    if isinstance(points, gpd.GeoDataFrame):
        frame = _to_wgs84_frame(points, "points")
        geoms = frame.geometry.to_numpy()
        types = shapely.get_type_id(geoms)
        bad = (types != 0) & ~shapely.is_missing(geoms)
        if bad.any():
            raise SpatialInputError(
                "points: the GeoDataFrame holds non-point geometries; pass points "
                "(e.g. frame.geometry.representative_point())"
            )
        return shapely.get_x(geoms).astype(np.float64), shapely.get_y(geoms).astype(np.float64)
    if isinstance(points, pd.DataFrame):
        if "lon" not in points.columns or "lat" not in points.columns:
            raise SpatialInputError("points: a plain frame needs 'lon' and 'lat' columns (WGS-84 degrees)")
        lon = pd.to_numeric(points["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        lat = pd.to_numeric(points["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return lon, lat
    raise SpatialInputError(f"points: expected a DataFrame or GeoDataFrame, not {type(points).__name__}")


def _geometry_frame(shapes: Any, what: str) -> tuple[pd.DataFrame, NDArray[np.object_]]:
    """(attribute frame, lon/lat geometries) of a GeoDataFrame, a Layer or a frame of GeoJSON text."""
    if isinstance(shapes, Layer):
        shapes = to_datum(shapes, "wgs84").frame
    if isinstance(shapes, gpd.GeoDataFrame):
        frame = _to_wgs84_frame(shapes, what)
        return pd.DataFrame(frame.drop(columns=frame.geometry.name)), frame.geometry.to_numpy()
    if isinstance(shapes, pd.DataFrame):
        if "geometry" not in shapes.columns:
            if "lon" in shapes.columns and "lat" in shapes.columns:
                lon, lat = point_coordinates(shapes)
                geoms = shapely.points(lon, lat)
                geoms[~(np.isfinite(lon) & np.isfinite(lat))] = None
                return shapes.drop(columns=["lon", "lat"]), geoms
            raise SpatialInputError(
                f"{what}: a plain frame needs a 'geometry' column (GeoJSON text or shapely) "
                "or 'lon' and 'lat' columns"
            )
        raw = shapes["geometry"].to_numpy(dtype=object)
        geoms = np.empty(len(raw), dtype=object)
        for i, g in enumerate(raw):
            if g is None or (isinstance(g, float) and np.isnan(g)):
                geoms[i] = None
            elif isinstance(g, str):
                geoms[i] = shapely.from_geojson(g)
            elif isinstance(g, dict):
                geoms[i] = shapely.from_geojson(json.dumps(g))
            elif isinstance(g, shapely.Geometry):
                geoms[i] = g
            else:
                raise SpatialInputError(
                    f"{what}: geometry {i} is a {type(g).__name__}, not GeoJSON or shapely"
                )
        return shapes.drop(columns="geometry"), geoms
    raise SpatialInputError(f"{what}: expected a GeoDataFrame, a Layer or a frame with a 'geometry' column")


def _single_geometry(geometry: Any) -> shapely.Geometry:
    if isinstance(geometry, shapely.Geometry):
        return geometry
    if isinstance(geometry, gpd.GeoSeries):
        geometry = gpd.GeoDataFrame(geometry=geometry)
    _, geoms = _geometry_frame(geometry, "geometry")
    return shapely.union_all(geoms[~shapely.is_missing(geoms)])


# ------------------------------------------------------------------------------------------------------------
# Distances and projections
# ------------------------------------------------------------------------------------------------------------


def geodesic_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> NDArray[np.float64]:
    """Geodesic distance in km on the WGS-84 ellipsoid (broadcasting; NaN in gives NaN out)."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2)))
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(d)
    if ok.any():
        _, _, dist = _GEOD.inv(a[ok], b[ok], c[ok], d[ok])
        out[ok] = np.asarray(dist, dtype=np.float64) / 1000.0
    return out


def local_projection(lon: float, lat: float) -> CRS:
    """An azimuthal equidistant projection (metres, WGS-84 ellipsoid) centred on ``lon``, ``lat``."""
    return CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


def _centre_of(*geoms: NDArray[np.object_] | shapely.Geometry) -> tuple[float, float]:
    boxes = []
    for g in geoms:
        arr = np.atleast_1d(np.asarray(g, dtype=object))
        arr = arr[~shapely.is_missing(arr)]
        if arr.size:
            boxes.append(shapely.total_bounds(arr))
    if not boxes:
        return 0.0, 0.0
    b = np.array(boxes)
    x0, y0 = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
    x1, y1 = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    if not np.isfinite([x0, y0, x1, y1]).all():
        return 0.0, 0.0
    return float((x0 + x1) / 2.0), float((y0 + y1) / 2.0)


#: Segments longer than this (degrees, about 1 km) are split before projecting, so that a line drawn straight
#: in lon/lat (as GeoJSON and the map draw it) stays that line in the local projection to within centimetres.
_DENSIFY_DEG = 0.01


def _project(geoms: Any, transformer: Transformer, *, densify: bool = True) -> Any:
    if densify:  # only lon/lat input: densifying metres by 0.01 would be absurd
        geoms = shapely.segmentize(geoms, _DENSIFY_DEG)

    def fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def _transformers(centre: tuple[float, float]) -> tuple[Transformer, Transformer]:
    local = local_projection(*centre)
    return (
        Transformer.from_crs(_WGS84, local, always_xy=True),
        Transformer.from_crs(local, _WGS84, always_xy=True),
    )


def buffer_km(geometry: Any, distance_km: float, *, quad_segs: int = 16) -> shapely.Geometry:
    """The area within ``distance_km`` of a lon/lat geometry, as a lon/lat polygon (buffered in metres)."""
    geom = _single_geometry(geometry)
    if geom.is_empty:
        return geom
    fwd, back = _transformers(_centre_of(geom))
    buffered = shapely.buffer(_project(geom, fwd), float(distance_km) * 1000.0, quad_segs=quad_segs)
    return _project(buffered, back, densify=False)


# ------------------------------------------------------------------------------------------------------------
# Operations
# ------------------------------------------------------------------------------------------------------------


def assign_to_polygons(points_lon: Any, points_lat: Any, polygons: Any, key: str) -> NDArray[np.object_]:
    """The ``key`` value (district or basin code) of the polygon containing each point; None outside all.

    A point on a shared border goes to the first polygon in frame order. NaN coordinates give None.
    Vectorised with an STRtree.
    """
    lon = np.asarray(points_lon, dtype=np.float64).ravel()
    lat = np.asarray(points_lat, dtype=np.float64).ravel()
    if lon.shape != lat.shape:
        raise SpatialInputError("points_lon and points_lat differ in length")
    attrs, geoms = _geometry_frame(polygons, "polygons")
    if key not in attrs.columns:
        raise SpatialInputError(
            f"polygons: no column {key!r} (columns: {', '.join(map(str, attrs.columns))})"
        )
    out = np.full(lon.shape, None, dtype=object)
    if lon.size == 0 or len(geoms) == 0:
        return out
    keys = attrs[key].to_numpy(dtype=object)
    tree = shapely.STRtree(geoms)  # missing geometries are skipped by the tree
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    pt_idx, poly_idx = tree.query(shapely.points(lon[ok], lat[ok]), predicate="intersects")
    if pt_idx.size:
        order = np.lexsort((poly_idx, pt_idx))
        pt_idx, poly_idx = pt_idx[order], poly_idx[order]
        first = np.r_[True, pt_idx[1:] != pt_idx[:-1]]
        out[ok[pt_idx[first]]] = keys[poly_idx[first]]
    return out


def nearest(
    points: Any, targets: Any, *, max_km: float | None = None, key: str | None = "entity_id"
) -> pd.DataFrame:
    """For each point, the nearest target and its distance in km.

    Returns a frame on the points' index with ``nearest_id`` (the target's ``key`` column, or its index
    label when ``key`` is None) and ``distance_km``; both are missing (None / NaN) for points without a
    target within ``max_km`` and for points with NaN coordinates. Point targets (e.g. hydrological
    stations) give geodesic distances; line and polygon targets (e.g. rivers) give distances in a local
    equidistant projection (0 inside a polygon).
    """
    lon, lat = point_coordinates(points)
    attrs, geoms = _geometry_frame(targets, "targets")
    if key is not None and key not in attrs.columns:
        raise SpatialInputError(f"targets: no column {key!r}; pass key=None to use the index")
    ids = attrs.index.to_numpy(dtype=object) if key is None else attrs[key].to_numpy(dtype=object)
    index = points.index
    result = pd.DataFrame(
        {
            "nearest_id": pd.Series([None] * len(lon), index=index, dtype=object),
            "distance_km": pd.Series(np.full(len(lon), np.nan), index=index),
        }
    )
    present = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if present.size == 0 or ok.size == 0:
        return result
    tgeoms = geoms[present]
    pts = shapely.points(lon[ok], lat[ok])
    fwd, _ = _transformers(_centre_of(tgeoms, pts))
    tree = shapely.STRtree(_project(tgeoms, fwd))
    proj_pts = _project(pts, fwd)
    # A little slack on the projected cut-off: the exact distance decides below.
    max_m = None if max_km is None else float(max_km) * 1000.0 * 1.01 + 1.0
    pt_idx, t_idx = tree.query_nearest(proj_pts, max_distance=max_m, all_matches=False, return_distance=False)
    chosen = tgeoms[t_idx]
    dist = shapely.distance(proj_pts[pt_idx], tree.geometries[t_idx]) / 1000.0
    is_point = shapely.get_type_id(chosen) == 0
    if is_point.any():
        dist[is_point] = geodesic_km(
            lon[ok][pt_idx][is_point],
            lat[ok][pt_idx][is_point],
            shapely.get_x(chosen[is_point]),
            shapely.get_y(chosen[is_point]),
        )
    keep = np.ones(len(pt_idx), dtype=bool) if max_km is None else dist <= float(max_km)
    rows = ok[pt_idx[keep]]
    result.iloc[rows, 0] = ids[present[t_idx[keep]]]
    result.iloc[rows, 1] = dist[keep]
    return result


def _with_distance(points: Any, mask: NDArray[np.bool_], dist: NDArray[np.float64]) -> Any:
    out = points.loc[mask].copy()
    out["distance_km"] = dist[mask]
    return out


def within_radius(points: Any, center_lon: float, center_lat: float, radius_km: float) -> Any:
    """The rows of ``points`` within ``radius_km`` (geodesic) of the centre, with a ``distance_km`` column."""
    lon, lat = point_coordinates(points)
    dist = geodesic_km(lon, lat, float(center_lon), float(center_lat))
    with np.errstate(invalid="ignore"):
        mask = dist <= float(radius_km)
    return _with_distance(points, mask, dist)


def within_buffer(points: Any, geometry: Any, distance_km: float) -> Any:
    """The rows of ``points`` within ``distance_km`` of a lon/lat geometry (a river line, a set of stations).

    ``geometry`` is a shapely geometry in WGS-84 lon/lat, or a GeoDataFrame / GeoSeries / Layer (all
    its geometries together). The distance is measured in a local equidistant projection centred on
    the geometry (the same as buffering the geometry there); ``distance_km`` is added as a column.
    """
    lon, lat = point_coordinates(points)
    geom = _single_geometry(geometry)
    dist = np.full(lon.shape, np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not geom.is_empty and ok.any():
        fwd, _ = _transformers(_centre_of(geom))
        dist[ok] = (
            shapely.distance(_project(shapely.points(lon[ok], lat[ok]), fwd), _project(geom, fwd)) / 1000.0
        )
    with np.errstate(invalid="ignore"):
        mask = dist <= float(distance_km)
    return _with_distance(points, mask, dist)


def aggregate_by_polygon(
    points: Any, polygons: Any, key: str, value: str | None = None, how: Aggregation = "mean"
) -> pd.DataFrame:
    """Per-polygon aggregate of the points inside (for choropleths), one row per polygon in frame order.

    Columns: ``key``, ``count`` (points inside) and, when ``value`` is given, ``value`` aggregated with
    ``how``: "mean"/"max"/"min" give NaN for polygons without values, "sum"/"count" give 0 ("count"
    counts non-missing values). Points outside every polygon are ignored.
    """
    if how not in ("mean", "max", "min", "count", "sum"):
        raise SpatialInputError(f"how must be 'mean', 'max', 'min', 'count' or 'sum', not {how!r}")
    if value is not None and value not in points.columns:
        raise SpatialInputError(f"points: no column {value!r}")
    lon, lat = point_coordinates(points)
    attrs, _ = _geometry_frame(polygons, "polygons")
    codes = assign_to_polygons(lon, lat, polygons, key)
    keys = pd.Index(attrs[key].to_numpy(dtype=object), dtype=object)
    work = pd.DataFrame({"_key": codes})
    counts = work.groupby("_key", sort=False).size().reindex(keys, fill_value=0)
    out = pd.DataFrame({key: keys.to_numpy(), "count": counts.to_numpy(dtype=np.int64)})
    if value is not None:
        work["_value"] = pd.to_numeric(points[value], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        agg = work.dropna(subset=["_key"]).groupby("_key", sort=False)["_value"].agg(how)
        if how == "count":
            out[value] = agg.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
        elif how == "sum":
            out[value] = agg.reindex(keys, fill_value=0.0).to_numpy(dtype=np.float64)
        else:
            out[value] = agg.reindex(keys).to_numpy(dtype=np.float64, na_value=np.nan)
    return out
