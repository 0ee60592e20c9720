"""Glyph PBFs for MapLibre / Mapbox GL text labels: the protobuf format and the signed-distance field.

MapLibre draws a label's characters from *glyph ranges*: one protobuf file per block of 256 code
points, fetched from the style's ``glyphs`` URL (``.../{fontstack}/{range}.pbf``, range
``"<start>-<start+255>"``). The schema (``glyphs.proto`` of mapbox/node-fontnik)::

    message glyph     { required uint32 id = 1; optional bytes bitmap = 2;
                        required uint32 width = 3; required uint32 height = 4;
                        required sint32 left = 5; required sint32 top = 6;
                        required uint32 advance = 7; }
    message fontstack { required string name = 1; required string range = 2; repeated glyph glyphs = 3; }
    message glyphs    { repeated fontstack stacks = 1; }

Glyphs are drawn at 24 px with a 3 px border (:data:`BUFFER`): ``bitmap`` holds
``(width + 6) * (height + 6)`` bytes, row-major from the top row, and is omitted when the glyph has
no ink (``width == height == 0``, e.g. a space). Each byte is a signed-distance value
``clamp(255 - 255 * (d / 8 + 0.25))`` with ``d`` the distance in pixels from the pixel centre to the
glyph outline, positive outside: the outline sits at about 191, full ink (>= 2 px inside) is 255, and
6 px outside is 0. ``left`` / ``top`` place the bitmap's inner (unbuffered) box relative to the pen;
MapLibre draws the box's top edge ``top`` px *above* its text origin, so the choice of origin fixes
where the baseline lands (see ``sample_data/derive_glyphs.py`` and the glyph README).

This module is pure (stdlib and numpy): a tiny protobuf writer/reader for just this schema, and
:func:`sdf_from_coverage` to turn an anti-aliased coverage bitmap into the distance field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Glyph size in px that MapLibre assumes for server glyphs ("ONE_EM").
SIZE = 24
#: Border of SDF pixels around each glyph's box.
BUFFER = 3
#: Distance in px that spans the 8-bit range (255 / RADIUS levels per px).
RADIUS = 8
#: Share of the range kept for the inside of the glyph: the outline is at 255 * (1 - CUTOFF).
CUTOFF = 0.25

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


@dataclass(frozen=True)
class Glyph:
    """One glyph of a range. ``bitmap`` is empty exactly when the glyph has no ink."""

    id: int
    width: int
    height: int
    left: int
    top: int
    advance: int
    bitmap: bytes = b""

    def __post_init__(self) -> None:
        if self.id < 0 or self.width < 0 or self.height < 0 or self.advance < 0:
            raise ValueError(f"glyph {self.id}: id, width, height and advance must be >= 0")
        if self.width and self.height:
            expected = (self.width + 2 * BUFFER) * (self.height + 2 * BUFFER)
            if len(self.bitmap) != expected:
                raise ValueError(f"glyph {self.id}: bitmap has {len(self.bitmap)} bytes, expected {expected}")
        elif self.bitmap:
            raise ValueError(f"glyph {self.id}: a {self.width}x{self.height} glyph has no bitmap")

    def sdf(self) -> np.ndarray:
        """The bitmap as a ``(height + 6, width + 6)`` uint8 array (empty for a glyph with no ink)."""
        if not self.bitmap:
            return np.zeros((0, 0), dtype=np.uint8)
        return np.frombuffer(self.bitmap, dtype=np.uint8).reshape(
            self.height + 2 * BUFFER, self.width + 2 * BUFFER
        )


def range_name(start: int) -> str:
    """``"<start>-<start+255>"``; ``start`` must be a multiple of 256 in 0..65280."""
    if start % 256 or not 0 <= start <= 65280:
        raise ValueError(f"a glyph range starts at a multiple of 256 in 0..65280, not {start}")
    return f"{start}-{start + 255}"


# -- protobuf writer ------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"varint of a negative number: {value}")
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _zigzag32(value: int) -> int:
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"sint32 out of range: {value}")
    return (value << 1) ^ (value >> 31) if value >= 0 else ((-value) << 1) - 1


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _uint_field(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(value)


def _sint_field(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(_zigzag32(value))


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, _LEN) + _varint(len(payload)) + payload


def _encode_glyph(g: Glyph) -> bytes:
    parts = [_uint_field(1, g.id)]
    if g.bitmap:
        parts.append(_bytes_field(2, g.bitmap))
    parts += [
        _uint_field(3, g.width),
        _uint_field(4, g.height),
        _sint_field(5, g.left),
        _sint_field(6, g.top),
        _uint_field(7, g.advance),
    ]
    return b"".join(parts)


def encode_glyphs(stack_name: str, range_start: int, glyphs: list[Glyph]) -> bytes:
    """One glyph-range PBF: a single font stack holding ``glyphs`` (written in ascending ``id``)."""
    rng = range_name(range_start)
    stack = [_bytes_field(1, stack_name.encode("utf-8")), _bytes_field(2, rng.encode("ascii"))]
    seen: set[int] = set()
    for g in sorted(glyphs, key=lambda g: g.id):
        if not range_start <= g.id <= range_start + 255:
            raise ValueError(f"glyph {g.id} is outside range {rng}")
        if g.id in seen:
            raise ValueError(f"glyph {g.id} appears twice")
        seen.add(g.id)
        stack.append(_bytes_field(3, _encode_glyph(g)))
    return _bytes_field(1, b"".join(stack))


def empty_range(stack_name: str, start: int) -> bytes:
    """A valid range PBF with no glyphs: MapLibre then draws nothing for those code points, without
    retrying or reaching for another server."""
    return encode_glyphs(stack_name, start, [])


# -- protobuf reader ------------------------------------------------------------------------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """``(field, wire type, value)`` of every field of one message; LEN values as bytes."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, pos = _read_varint(data, pos)
        elif wire == _LEN:
            n, pos = _read_varint(data, pos)
            if pos + n > len(data):
                raise ValueError("truncated length-delimited field")
            value, pos = bytes(data[pos : pos + n]), pos + n
        elif wire in (_I64, _I32):
            n = 8 if wire == _I64 else 4
            if pos + n > len(data):
                raise ValueError("truncated fixed-width field")
            value, pos = int.from_bytes(data[pos : pos + n], "little"), pos + n
        else:
            raise ValueError(f"unsupported wire type {wire} (field {field})")
        out.append((field, wire, value))
    return out


def _unzigzag(value: int) -> int:
    value &= 0xFFFFFFFF
    return (value >> 1) ^ -(value & 1)


def _decode_glyph(data: bytes) -> Glyph:
    vals: dict[int, int | bytes] = {}
    for field, _wire, value in _fields(data):
        vals[field] = value
    missing = [
        name
        for f, name in ((1, "id"), (3, "width"), (4, "height"), (5, "left"), (6, "top"), (7, "advance"))
        if f not in vals
    ]
    if missing:
        raise ValueError(f"glyph lacks required fields: {', '.join(missing)}")
    ints = {f: v for f, v in vals.items() if isinstance(v, int)}
    bitmap = vals.get(2, b"")
    return Glyph(
        id=ints[1],
        width=ints[3],
        height=ints[4],
        left=_unzigzag(ints[5]),
        top=_unzigzag(ints[6]),
        advance=ints[7],
        bitmap=bitmap if isinstance(bitmap, bytes) else b"",
    )


def decode_glyphs(data: bytes) -> tuple[str, str, list[Glyph]]:
    """``(stack name, range, glyphs)`` of a glyph-range PBF. Stacks after the first are merged in,
    as MapLibre does; unknown fields are skipped."""
    name: str | None = None
    rng: str | None = None
    glyphs: list[Glyph] = []
    for field, wire, stack in _fields(data):
        if field != 1 or wire != _LEN:
            continue
        assert isinstance(stack, bytes)
        for f, w, value in _fields(stack):
            if w != _LEN:
                continue
            assert isinstance(value, bytes)
            if f == 1 and name is None:
                name = value.decode("utf-8")
            elif f == 2 and rng is None:
                rng = value.decode("ascii")
            elif f == 3:
                glyphs.append(_decode_glyph(value))
    if name is None or rng is None:
        raise ValueError("not a glyph PBF: no font stack with a name and a range")
    return name, rng, glyphs


# -- signed-distance field ------------------------------------------------------------------------------


def _edge_offset(gx: np.ndarray, gy: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Signed distance (px, positive outside) from a pixel centre to a straight edge crossing the pixel,
    given the pixel's area coverage ``a`` and the edge normal ``(gx, gy)`` (any length). Exact for a
    straight edge through a unit box (Gustavson & Strand, "Anti-aliased Euclidean distance transform",
    2011); ``0.5 - a`` when the edge is axis-aligned."""
    length = np.hypot(gx, gy)
    with np.errstate(invalid="ignore", divide="ignore"):
        nx = np.abs(np.where(length > 0, gx / length, 1.0))
        ny = np.abs(np.where(length > 0, gy / length, 0.0))
    big, small = np.maximum(nx, ny), np.minimum(nx, ny)
    out = 0.5 - a
    diag = small > 1e-6
    b, s, aa = big[diag], small[diag], a[diag]
    a1 = 0.5 * s / b
    d = np.where(
        aa < a1,
        0.5 * (b + s) - np.sqrt(2.0 * b * s * aa),
        np.where(aa < 1.0 - a1, (0.5 - aa) * b, -0.5 * (b + s) + np.sqrt(2.0 * b * s * (1.0 - aa))),
    )
    out[diag] = d
    return out


def signed_distance(coverage: np.ndarray) -> np.ndarray:
    """Signed distance in px from each pixel centre to the outline implied by ``coverage`` (floats
    0..1, same shape; negative inside). Inside is ``coverage >= 0.5``. The outline is sampled from the
    anti-aliasing: every partly covered pixel contributes the piece of straight edge that explains
    its coverage (its normal from the coverage gradient, its offset from :func:`_edge_offset`), and
    every inside/outside pair of 4-neighbours with no partial pixel between them contributes the
    pixel boundary they share. Distances are exact Euclidean distances to those edge pieces,
    computed by brute force (a glyph has ~1000 pixels and ~100 edge pieces)."""
    a = np.clip(np.asarray(coverage, dtype=np.float64), 0.0, 1.0)
    h, w = a.shape
    inside = a >= 0.5
    if not inside.any():
        return np.full((h, w), np.inf)
    if inside.all():
        return np.full((h, w), -np.inf)

    # Coverage gradient (pointing into the ink), with the isotropic 3x3 weights of Gustavson & Strand.
    p = np.pad(a, 1, mode="edge")  # the image border is not an edge of the shape
    r2 = np.sqrt(2.0)
    gx = (p[:-2, 2:] + r2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + r2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + r2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + r2 * p[:-2, 1:-1] + p[:-2, 2:])

    # Pieces of edge: centre (ex, ey), unit tangent (tx, ty), half-length.
    cx: list[np.ndarray] = []
    cy: list[np.ndarray] = []
    tx: list[np.ndarray] = []
    ty: list[np.ndarray] = []
    half: list[np.ndarray] = []

    partial = (a > 0.0) & (a < 1.0)
    yy, xx = np.nonzero(partial)
    if len(yy):
        pgx, pgy, pa = gx[yy, xx], gy[yy, xx], a[yy, xx]
        norm = np.hypot(pgx, pgy)
        ok = norm > 1e-9
        ux = np.where(ok, pgx / np.where(ok, norm, 1.0), 0.0)
        uy = np.where(ok, pgy / np.where(ok, norm, 1.0), 0.0)
        off = _edge_offset(pgx, pgy, pa)  # > 0: the centre is outside, the edge lies along +u
        cx.append(xx + off * ux)
        cy.append(yy + off * uy)
        tx.append(-uy)
        ty.append(ux)
        half.append(np.where(ok, 0.5, 0.0))

    # Hard edges: an inside pixel next to an outside one, both unambiguous (coverage 1 and 0).
    full, empty = a >= 1.0, a <= 0.0
    for dy, dx in ((0, 1), (1, 0)):
        first, second = (full[:, :-1], empty[:, 1:]) if dx else (full[:-1, :], empty[1:, :])
        rev_first, rev_second = (empty[:, :-1], full[:, 1:]) if dx else (empty[:-1, :], full[1:, :])
        ys, xs = np.nonzero((first & second) | (rev_first & rev_second))
        if len(ys):
            cx.append(xs + 0.5 * dx)
            cy.append(ys + 0.5 * dy)
            tx.append(np.full(len(ys), float(dy)))
            ty.append(np.full(len(ys), float(dx)))
            half.append(np.full(len(ys), 0.5))

    ex, ey = np.concatenate(cx), np.concatenate(cy)
    etx, ety, eh = np.concatenate(tx), np.concatenate(ty), np.concatenate(half)

    py, px = np.mgrid[0:h, 0:w]
    dx_ = px.reshape(-1, 1) - ex.reshape(1, -1)
    dy_ = py.reshape(-1, 1) - ey.reshape(1, -1)
    along = np.clip(dx_ * etx + dy_ * ety, -eh, eh)
    dist = np.hypot(dx_ - along * etx, dy_ - along * ety).min(axis=1).reshape(h, w)
    signed: np.ndarray = np.where(inside, -dist, dist)  # numpy's stubs type where() as Any
    return signed


def sdf_from_coverage(
    coverage: np.ndarray, buffer: int = BUFFER, radius: float = RADIUS, cutoff: float = CUTOFF
) -> np.ndarray:
    """The glyph bitmap for a coverage image: ``(h + 2*buffer, w + 2*buffer)`` uint8,
    ``clamp(round(255 - 255 * (d / radius + cutoff)))`` with ``d`` from :func:`signed_distance`.

    ``coverage`` is the glyph's anti-aliased rendering, ``(h, w)``: floats 0..1, or uint8 0..255
    (as FreeType renders it)."""
    cov = np.asarray(coverage)
    if cov.ndim != 2:
        raise ValueError(f"coverage must be 2-D, not {cov.shape}")
    cov = cov / 255.0 if cov.dtype == np.uint8 else cov.astype(np.float64)
    d = signed_distance(np.pad(cov, buffer))
    with np.errstate(invalid="ignore"):
        value = 255.0 - 255.0 * (d / radius + cutoff)
    return np.clip(np.round(value), 0, 255).astype(np.uint8)
