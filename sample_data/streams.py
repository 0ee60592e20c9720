"""Counter-based random numbers: the same (seed, entity, stream, time bucket) always gives the same draw.

No generator state is kept: a draw is a hash of its coordinates, so any time window can be computed in
any order and two overlapping windows agree on their overlap. :func:`hash_key` turns a seed and labels
into a 64-bit key; the ``draw_*`` functions broadcast over arrays of keys and integer time buckets, and
``stream`` separates independent quantities drawn for the same entity and bucket.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["draw_normal", "draw_smooth_noise", "draw_uniform", "hash_key", "hash_keys"]

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_STREAM = _U64(0xD1B54A32D192ED03)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (array arithmetic wraps silently)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def hash_key(seed: int, *parts: object) -> np.uint64:
    """A 64-bit key for ``(seed, *parts)``; stable across runs and platforms (not Python's ``hash``)."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode("utf-8"), digest_size=8).digest()
    return _U64(int.from_bytes(digest, "little"))


def hash_keys(seed: int, ids: Any, *parts: object) -> np.ndarray:
    """One key per entity id, as a uint64 array."""
    return np.array([hash_key(seed, str(i), *parts) for i in ids], dtype=np.uint64)


def draw_uniform(key: np.ndarray, bucket: np.ndarray, stream: int) -> np.ndarray:
    """Uniform (0, 1] from (entity key, integer time bucket, stream); broadcasts."""
    k = np.atleast_1d(np.asarray(key, dtype=np.uint64))
    b = np.atleast_1d(np.asarray(bucket, dtype=np.int64)).view(np.uint64)
    s = np.full(1, stream, dtype=np.uint64)
    x = _mix64(k ^ _mix64(b * _GOLDEN + s * _STREAM))
    return ((x >> _U64(11)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)


def draw_normal(key: np.ndarray, bucket: np.ndarray, stream: int) -> np.ndarray:
    """Standard normal (Box–Muller over two uniform streams derived from ``stream``)."""
    u1 = draw_uniform(key, bucket, 2 * stream + 1001)
    u2 = draw_uniform(key, bucket, 2 * stream + 1002)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def draw_smooth_noise(key: np.ndarray, t: np.ndarray, period_s: int, stream: int) -> np.ndarray:
    """Standard-normal-ish value noise, smooth over ``period_s`` (interpolated knots)."""
    b = np.floor_divide(t, period_s)
    f = (t - b * period_s) / period_s
    f = f * f * (3 - 2 * f)
    n0 = draw_normal(key, b, stream)
    n1 = draw_normal(key, b + 1, stream)
    return (n0 + (n1 - n0) * f) * 1.35  # variance of the blend is lower than 1; roughly restore
