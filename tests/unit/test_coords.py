"""Tests for geo.coords: published vectors, an independent scalar reference, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import coords
from geo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# --------------------------------------------------------------------------------------------
# Independent reference: a literal scalar transcription of the canonical formulas
# (wandergis coordTransform_utils.py), including its *approximate* inverses.
# --------------------------------------------------------------------------------------------
_PI = 3.1415926535897932384626
_X_PI = 3.14159265358979324 * 3000.0 / 180.0
_A = 6378245.0
_EE = 0.00669342162296594323


def _ref_out_of_china(lng: float, lat: float) -> bool:
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _ref_transformlat(lng: float, lat: float) -> float:
    ret = -100.0 + 2.0 * lng + 3.0 * lat + 0.2 * lat * lat + 0.1 * lng * lat + 0.2 * math.sqrt(math.fabs(lng))
    ret += (20.0 * math.sin(6.0 * lng * _PI) + 20.0 * math.sin(2.0 * lng * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(lat * _PI) + 40.0 * math.sin(lat / 3.0 * _PI)) * 2.0 / 3.0
    ret += (160.0 * math.sin(lat / 12.0 * _PI) + 320 * math.sin(lat * _PI / 30.0)) * 2.0 / 3.0
    return ret


def _ref_transformlng(lng: float, lat: float) -> float:
    ret = 300.0 + lng + 2.0 * lat + 0.1 * lng * lng + 0.1 * lng * lat + 0.1 * math.sqrt(math.fabs(lng))
    ret += (20.0 * math.sin(6.0 * lng * _PI) + 20.0 * math.sin(2.0 * lng * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(lng * _PI) + 40.0 * math.sin(lng / 3.0 * _PI)) * 2.0 / 3.0
    ret += (150.0 * math.sin(lng / 12.0 * _PI) + 300.0 * math.sin(lng / 30.0 * _PI)) * 2.0 / 3.0
    return ret


def _ref_shift(lng: float, lat: float) -> tuple[float, float]:
    dlat = _ref_transformlat(lng - 105.0, lat - 35.0)
    dlng = _ref_transformlng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * _PI
    magic = math.sin(radlat)
    magic = 1 - _EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * _PI)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * _PI)
    return lng + dlng, lat + dlat


def ref_wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    if _ref_out_of_china(lng, lat):
        return lng, lat
    return _ref_shift(lng, lat)


def ref_gcj02_to_wgs84_onestep(lng: float, lat: float) -> tuple[float, float]:
    if _ref_out_of_china(lng, lat):
        return lng, lat
    mglng, mglat = _ref_shift(lng, lat)
    return lng * 2 - mglng, lat * 2 - mglat


def ref_gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def ref_bd09_to_gcj02_approx(bd_lng: float, bd_lat: float) -> tuple[float, float]:
    x = bd_lng - 0.0065
    y = bd_lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


# Forward transforms are the same floating-point formula; allow a couple of ulps
# (numpy's and libm's sin may differ in the last bit).
FWD_TOL_DEG = 1e-12

# --------------------------------------------------------------------------------------------
# Published vectors
# --------------------------------------------------------------------------------------------
KR = (128.543, 37.065)


def test_wandergis_py_readme_vectors_match_reference_and_module() -> None:
    # wandergis/coordTransform_py README.md @39e54c6, input (128.543, 37.065). Only the outputs
    # we are sure of are written out; the reference reproduces them to the last bit or two.
    published = {
        "wgs84_to_gcj02": (128.54820547949757, 37.065651049489816),
        "gcj02_to_wgs84": (128.53779452050243, 37.06434895051018),  # one-step approximation
        "wgs84_to_bd09": (128.55468192918485, 37.07168344938498),
    }
    ref = {
        "wgs84_to_gcj02": ref_wgs84_to_gcj02(*KR),
        "gcj02_to_wgs84": ref_gcj02_to_wgs84_onestep(*KR),
        "wgs84_to_bd09": ref_gcj02_to_bd09(*ref_wgs84_to_gcj02(*KR)),
    }
    for name, (lon, lat) in published.items():
        assert ref[name][0] == pytest.approx(lon, abs=FWD_TOL_DEG), name
        assert ref[name][1] == pytest.approx(lat, abs=FWD_TOL_DEG), name
    for name in ("wgs84_to_gcj02", "wgs84_to_bd09"):
        lon, lat = getattr(coords, name)(*KR)
        assert lon == pytest.approx(published[name][0], abs=FWD_TOL_DEG)
        assert lat == pytest.approx(published[name][1], abs=FWD_TOL_DEG)
    # The module's inverse is exact, so it differs from the one-step value by ~1-2 m.
    lon, lat = gcj02_to_wgs84(*KR)
    assert haversine_m(lon, lat, *published["gcj02_to_wgs84"]) < 3.0


def test_all_six_at_wandergis_point_against_reference() -> None:
    # Forward: bit-compatible with the reference.
    for fn, ref in (
        (wgs84_to_gcj02, ref_wgs84_to_gcj02(*KR)),
        (gcj02_to_bd09, ref_gcj02_to_bd09(*KR)),
        (wgs84_to_bd09, ref_gcj02_to_bd09(*ref_wgs84_to_gcj02(*KR))),
    ):
        lon, lat = fn(*KR)
        assert lon == pytest.approx(ref[0], abs=FWD_TOL_DEG)
        assert lat == pytest.approx(ref[1], abs=FWD_TOL_DEG)
    # Inverses: close to the published approximate inverses, and exact against the forward.
    for fn, approx, fwd, limit_m in (
        (gcj02_to_wgs84, ref_gcj02_to_wgs84_onestep(*KR), ref_wgs84_to_gcj02, 3.0),
        (bd09_to_gcj02, ref_bd09_to_gcj02_approx(*KR), ref_gcj02_to_bd09, 1.0),
        (
            bd09_to_wgs84,
            ref_gcj02_to_wgs84_onestep(*ref_bd09_to_gcj02_approx(*KR)),
            lambda x, y: ref_gcj02_to_bd09(*ref_wgs84_to_gcj02(x, y)),
            3.0,
        ),
    ):
        lon, lat = fn(*KR)
        assert haversine_m(lon, lat, *approx) < limit_m
        back = fwd(lon, lat)
        assert haversine_m(back[0], back[1], *KR) < 1e-6


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (gcj02_to_bd09, (116.41036949371029, 39.92133699351022)),
        (wgs84_to_gcj02, (116.41024449916938, 39.91640428150164)),
    ],
)
def test_wandergis_coordtransform_forward_vectors(fn, expected) -> None:  # type: ignore[no-untyped-def]
    # wandergis/coordtransform README.md @606c6f3 (JavaScript), input (116.404, 39.915).
    lon, lat = fn(116.404, 39.915)
    assert lon == pytest.approx(expected[0], abs=FWD_TOL_DEG)
    assert lat == pytest.approx(expected[1], abs=FWD_TOL_DEG)


@pytest.mark.parametrize(
    ("fn", "published"),
    [
        # Both published values come from approximate inverses; ours are exact.
        (bd09_to_gcj02, (116.39762729119315, 39.90865673957631)),
        (gcj02_to_wgs84, (116.39775550083061, 39.91359571849836)),
    ],
)
def test_wandergis_coordtransform_inverse_vectors(fn, published) -> None:  # type: ignore[no-untyped-def]
    lon, lat = fn(116.404, 39.915)
    assert haversine_m(lon, lat, *published) < 0.1


def test_published_inverses_match_reference() -> None:
    assert ref_bd09_to_gcj02_approx(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=FWD_TOL_DEG
    )
    assert ref_gcj02_to_wgs84_onestep(116.404, 39.915) == pytest.approx(
        (116.39775550083061, 39.91359571849836), abs=FWD_TOL_DEG
    )


@pytest.mark.parametrize(
    ("wgs", "gcj"),
    [
        # googollee/eviltransform @03ba58d python/test.py TESTS (wgsLat, wgsLng, gcjLat, gcjLng).
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
    ],
)
def test_eviltransform_vectors(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    lon, lat = wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=FWD_TOL_DEG)
    assert lat == pytest.approx(gcj[1], abs=FWD_TOL_DEG)
    assert ref_wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=FWD_TOL_DEG)
    # eviltransform's gcj2wgs_exact promises < 0.5 m; ours is far tighter.
    back = gcj02_to_wgs84(*gcj)
    assert haversine_m(back[0], back[1], *wgs) < 1e-6


def test_qingyuan_offset_magnitude() -> None:
    lon, lat = wgs84_to_gcj02(113.056, 23.682)
    assert 0.004 < lon - 113.056 < 0.007
    assert -0.004 < lat - 23.682 < -0.001


# --------------------------------------------------------------------------------------------
# Types, NaN, out-of-China, to_wgs84
# --------------------------------------------------------------------------------------------
ALL_FUNCS = [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84]


@pytest.mark.parametrize("fn", ALL_FUNCS)
def test_scalars_in_floats_out(fn) -> None:  # type: ignore[no-untyped-def]
    lon, lat = fn(113.05, 23.68)
    assert type(lon) is float and type(lat) is float


@pytest.mark.parametrize("fn", ALL_FUNCS)
def test_nan_in_nan_out(fn) -> None:  # type: ignore[no-untyped-def]
    lon, _lat = fn(float("nan"), 23.0)
    assert math.isnan(lon)
    lons, lats = fn(np.array([113.0, np.nan, 112.5]), np.array([23.5, 24.0, np.nan]))
    assert not math.isnan(lons[0]) and not math.isnan(lats[0])
    assert math.isnan(lons[1]) and math.isnan(lats[2])


@pytest.mark.parametrize("fn", ALL_FUNCS)
def test_list_input_gives_arrays(fn) -> None:  # type: ignore[no-untyped-def]
    lons, lats = fn([113.0, 113.1], [23.6, 23.7])
    assert isinstance(lons, np.ndarray) and lons.shape == (2,) and lats.shape == (2,)


def test_to_wgs84() -> None:
    g = wgs84_to_gcj02(113.2, 23.8)
    b = wgs84_to_bd09(113.2, 23.8)
    for datum, pt in (("GCJ02", g), ("bd09", b), ("wgs84", (113.2, 23.8)), ("CGCS2000", (113.2, 23.8))):
        lon, lat = to_wgs84(*pt, datum)
        assert haversine_m(lon, lat, 113.2, 23.8) < 1e-6
    with pytest.raises(ValueError, match="wgs84, gcj02, bd09"):
        to_wgs84(113.2, 23.8, "utm50n")


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
# Inside the China rectangle with a small margin: within ~0.01 deg of its edge a WGS point's
# GCJ image can fall outside the rectangle, where no library can invert it.
china_lon = st.floats(min_value=73.7, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=3.9, max_value=53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_gcj(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert haversine_m(back[0], back[1], lon, lat) < 0.01


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_bd(lon: float, lat: float) -> None:
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert haversine_m(back[0], back[1], lon, lat) < 0.01


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-90, max_value=90, allow_nan=False),
)
def test_out_of_china_unchanged(lon: float, lat: float) -> None:
    if 73.66 < lon < 135.05 and 3.86 < lat < 53.55:
        return
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=20))
def test_array_matches_scalar(points: list[tuple[float, float]]) -> None:
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    for fn in ALL_FUNCS:
        alon, alat = fn(lons, lats)
        for i, (lon, lat) in enumerate(points):
            slon, slat = fn(lon, lat)
            assert alon[i] == pytest.approx(slon, abs=1e-12)
            assert alat[i] == pytest.approx(slat, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_shape_preserved_2d(rows: int, cols: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lons = rng.uniform(74, 134, size=(rows, cols))
    lats = rng.uniform(4, 53, size=(rows, cols))
    for fn in ALL_FUNCS:
        olon, olat = fn(lons, lats)
        assert olon.shape == (rows, cols) and olat.shape == (rows, cols)
    # Broadcasting a scalar latitude against a 2-D array of longitudes.
    olon, olat = wgs84_to_gcj02(lons, 30.0)
    assert olon.shape == (rows, cols) and olat.shape == (rows, cols)
