"""Datum transforms between WGS-84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu).

GCJ-02 is WGS-84 plus a non-linear offset of a few hundred metres, applied only
inside a rectangle around China; BD-09 is GCJ-02 plus a small rotation and
scale. The forward formulas are the canonical ones (Krasovsky ellipsoid,
``x_pi = pi * 3000 / 180``), bit-compatible with wandergis ``coordTransform``.
The inverses are *exact*: they solve the forward transform by fixed-point
iteration (residual far below a millimetre) instead of the published one-step
approximations, which are off by up to a couple of metres.

Every function takes longitude and latitude in degrees and returns ``(lon, lat)``.
Python floats in give floats out; arrays (or array-likes) in give arrays of the
broadcast shape out. NaN in gives NaN out. Points outside the rectangle
73.66 < lon < 135.05, 3.86 < lat < 53.55 pass through the GCJ-02 steps unchanged.

>>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
>>> round(lon, 9), round(lat, 9)
(116.410244499, 39.916404282)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(back[0], 9), round(back[1], 9)
(116.404, 39.915)
>>> [round(v, 9) for v in gcj02_to_bd09(116.404, 39.915)]
[116.410369494, 39.921336994]
>>> wgs84_to_gcj02(2.35, 48.85)  # Paris: outside China, unchanged
(2.35, 48.85)
>>> import numpy as np
>>> lons, lats = wgs84_to_bd09(np.array([113.056, 113.415]), np.array([23.682, 24.186]))
>>> lons.shape
(2,)
>>> to_wgs84(113.0, 23.7, "WGS84")
(113.0, 23.7)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DATUMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Krasovsky 1940 semi-major axis and first eccentricity squared, as in the canonical code.
A = 6378245.0
EE = 0.00669342162296594323
#: BD-09 constant (Baidu-compatible).
X_PI = math.pi * 3000.0 / 180.0

#: Datum names accepted by :func:`to_wgs84` (CGCS2000 is treated as WGS-84: they differ by cm).
DATUMS = ("wgs84", "gcj02", "bd09", "cgcs2000")

_MAX_ITER = 50
# Stop once the forward residual is below ~1e-13 degrees (~10 nm).
_TOL_DEG = 1e-13

Coord: TypeAlias = Any  # float or array-like of floats
FloatArray: TypeAlias = NDArray[np.float64]
Pair: TypeAlias = tuple[Any, Any]


def _prepare(lon: Coord, lat: Coord) -> tuple[FloatArray, FloatArray, tuple[int, ...] | None]:
    """Broadcast to flat float arrays; the shape is None for scalar input."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    shape = None if (x.ndim == 0 and y.ndim == 0) else np.broadcast_shapes(x.shape, y.shape)
    bx, by = np.broadcast_arrays(x, y)
    return bx.ravel().astype(np.float64), by.ravel().astype(np.float64), shape


def _finish(x: FloatArray, y: FloatArray, shape: tuple[int, ...] | None) -> Pair:
    if shape is None:
        return float(x[0]), float(y[0])
    return x.reshape(shape), y.reshape(shape)


def _in_china(x: FloatArray, y: FloatArray) -> NDArray[np.bool_]:
    # NaN compares False, so NaN points count as "outside" and pass through unchanged.
    return (x > 73.66) & (x < 135.05) & (y > 3.86) & (y < 53.55)


def _gcj_offset(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84 in degrees at WGS-84 point (x, y), no rectangle test."""
    u = x - 105.0
    v = y - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * u * pi) + 20.0 * np.sin(2.0 * u * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * u + 3.0 * v + 0.2 * v * v + 0.1 * u * v + 0.2 * np.sqrt(np.abs(u))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(v * pi) + 40.0 * np.sin(v / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(v / 12.0 * pi) + 320 * np.sin(v * pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + u + 2.0 * v + 0.1 * u * u + 0.1 * u * v + 0.1 * np.sqrt(np.abs(u))
    dlng = dlng + common
    dlng = dlng + (20.0 * np.sin(u * pi) + 40.0 * np.sin(u / 3.0 * pi)) * 2.0 / 3.0
    dlng = dlng + (150.0 * np.sin(u / 12.0 * pi) + 300.0 * np.sin(u / 30.0 * pi)) * 2.0 / 3.0
    radlat = y / 180.0 * pi
    magic = np.sin(radlat)
    magic = 1 - EE * magic * magic
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sqrtmagic) * pi)
    dlng = (dlng * 180.0) / (A / sqrtmagic * np.cos(radlat) * pi)
    return dlng, dlat


def _wgs_to_gcj(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    inside = _in_china(x, y)
    dlng, dlat = _gcj_offset(x, y)
    return np.where(inside, x + dlng, x), np.where(inside, y + dlat, y)


def _gcj_to_wgs(gx: FloatArray, gy: FloatArray) -> tuple[FloatArray, FloatArray]:
    inside = _in_china(gx, gy)
    wx = gx.copy()
    wy = gy.copy()
    if not inside.any():
        return wx, wy
    sx, sy = gx[inside], gy[inside]
    ux, uy = sx.copy(), sy.copy()
    for _ in range(_MAX_ITER):
        dlng, dlat = _gcj_offset(ux, uy)
        rx = ux + dlng - sx
        ry = uy + dlat - sy
        ux = ux - rx
        uy = uy - ry
        if not (np.abs(rx) > _TOL_DEG).any() and not (np.abs(ry) > _TOL_DEG).any():
            break
    wx[inside] = ux
    wy[inside] = uy
    return wx, wy


def _gcj_to_bd(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj(bx: FloatArray, by: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Start from the published approximate inverse, then refine by fixed-point iteration.
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    gx = z * np.cos(theta)
    gy = z * np.sin(theta)
    for _ in range(_MAX_ITER):
        fx, fy = _gcj_to_bd(gx, gy)
        rx = fx - bx
        ry = fy - by
        gx = gx - rx
        gy = gy - ry
        if not (np.abs(rx) > _TOL_DEG).any() and not (np.abs(ry) > _TOL_DEG).any():
            break
    return gx, gy


def _apply(
    fn: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]], lon: Coord, lat: Coord
) -> Pair:
    x, y, shape = _prepare(lon, lat)
    with np.errstate(invalid="ignore", over="ignore"):
        rx, ry = fn(x, y)
    return _finish(np.asarray(rx, dtype=np.float64), np.asarray(ry, dtype=np.float64), shape)


def wgs84_to_gcj02(lon: Coord, lat: Coord) -> Pair:
    """WGS-84 → GCJ-02 (canonical formula; unchanged outside the China rectangle).

    >>> wgs84_to_gcj02(116.404, 39.915)
    (116.41024449916938, 39.91640428150164)
    """
    return _apply(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon: Coord, lat: Coord) -> Pair:
    """GCJ-02 → WGS-84, exact inverse of :func:`wgs84_to_gcj02` (fixed-point iteration).

    >>> lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(113.056, 23.682))
    >>> abs(lon - 113.056) < 1e-12 and abs(lat - 23.682) < 1e-12
    True
    """
    return _apply(_gcj_to_wgs, lon, lat)


def gcj02_to_bd09(lon: Coord, lat: Coord) -> Pair:
    """GCJ-02 → BD-09 (canonical ``x_pi`` formula).

    >>> [round(v, 9) for v in gcj02_to_bd09(116.404, 39.915)]
    [116.410369494, 39.921336994]
    """
    return _apply(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon: Coord, lat: Coord) -> Pair:
    """BD-09 → GCJ-02, exact inverse of :func:`gcj02_to_bd09` (fixed-point iteration).

    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(113.06, 23.68))
    >>> abs(lon - 113.06) < 1e-12 and abs(lat - 23.68) < 1e-12
    True
    """
    return _apply(_bd_to_gcj, lon, lat)


def wgs84_to_bd09(lon: Coord, lat: Coord) -> Pair:
    """WGS-84 → BD-09 (via GCJ-02)."""

    def fn(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _gcj_to_bd(*_wgs_to_gcj(x, y))

    return _apply(fn, lon, lat)


def bd09_to_wgs84(lon: Coord, lat: Coord) -> Pair:
    """BD-09 → WGS-84, exact inverse of :func:`wgs84_to_bd09`."""

    def fn(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _gcj_to_wgs(*_bd_to_gcj(x, y))

    return _apply(fn, lon, lat)


def to_wgs84(lon: Coord, lat: Coord, datum: str) -> Pair:
    """Convert coordinates given in ``datum`` ("wgs84", "gcj02", "bd09" or "cgcs2000") to WGS-84.

    >>> to_wgs84(113.0, 23.7, "cgcs2000")
    (113.0, 23.7)
    >>> to_wgs84(1.0, 2.0, "utm")
    Traceback (most recent call last):
    ...
    ValueError: unknown coordinate datum 'utm'; allowed: wgs84, gcj02, bd09, cgcs2000
    """
    key = str(datum).strip().lower()
    if key in ("wgs84", "cgcs2000"):
        x, y, shape = _prepare(lon, lat)
        return _finish(x, y, shape)
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coordinate datum {datum!r}; allowed: {', '.join(DATUMS)}")
