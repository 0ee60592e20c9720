"""Glyph PBFs: the protobuf round trip, the shipped ranges, and the signed-distance field."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from geo.glyphs import (
    BUFFER,
    Glyph,
    decode_glyphs,
    empty_range,
    encode_glyphs,
    sdf_from_coverage,
    signed_distance,
)

GLYPHS = Path(__file__).resolve().parents[2] / "dashboard" / "assets" / "glyphs"
STACK = "Noto Sans Regular"


def _glyph(id_: int, w: int, h: int, left: int = 1, top: int = -10, advance: int = 14) -> Glyph:
    rng = np.random.default_rng(id_)
    bitmap = rng.integers(0, 256, (w + 2 * BUFFER) * (h + 2 * BUFFER), dtype=np.uint8).tobytes() if w else b""
    return Glyph(id=id_, width=w, height=h, left=left, top=top, advance=advance, bitmap=bitmap)


def test_round_trip() -> None:
    glyphs = [
        _glyph(65, 16, 18),
        _glyph(32, 0, 0, left=0, top=0, advance=6),
        _glyph(103, 12, 20, left=-3, top=-2_000_000, advance=300),
        _glyph(255, 1, 1, left=2**31 - 1, top=-(2**31)),
    ]
    data = encode_glyphs("Noto Sans Regular", 0, glyphs)
    name, rng, back = decode_glyphs(data)
    assert (name, rng) == ("Noto Sans Regular", "0-255")
    assert back == sorted(glyphs, key=lambda g: g.id)


def test_round_trip_non_ascii_stack_and_high_range() -> None:
    data = encode_glyphs("思源黑体 Regular", 65280, [_glyph(65281, 5, 9)])
    assert decode_glyphs(data) == ("思源黑体 Regular", "65280-65535", [_glyph(65281, 5, 9)])


def test_wire_format_by_hand() -> None:
    """Bytes checked against the protobuf encoding rules (field keys, varints, zigzag)."""
    data = encode_glyphs("A", 256, [Glyph(id=300, width=0, height=0, left=-1, top=-10, advance=6)])
    glyph = bytes([0x08, 0xAC, 0x02, 0x18, 0, 0x20, 0, 0x28, 0x01, 0x30, 0x13, 0x38, 6])
    stack = b"\x0a\x01A" + b"\x12\x07256-511" + bytes([0x1A, len(glyph)]) + glyph
    assert data == bytes([0x0A, len(stack)]) + stack


def test_decoder_skips_unknown_fields() -> None:
    data = bytearray(encode_glyphs("X", 0, [_glyph(48, 2, 3)]))
    extra = bytes([0x20, 0x05, 0x2D, 1, 2, 3, 4])  # fontstack field 4 (varint), field 5 (fixed32)
    body = bytes(data[2:]) + extra
    name, rng, glyphs = decode_glyphs(bytes([0x0A]) + bytes([len(body)]) + body)
    assert (name, rng, glyphs) == ("X", "0-255", [_glyph(48, 2, 3)])


@pytest.mark.parametrize("start", [0, 256, 12288, 65280])
def test_empty_range(start: int) -> None:
    assert decode_glyphs(empty_range("Noto Sans Regular", start)) == (
        "Noto Sans Regular",
        f"{start}-{start + 255}",
        [],
    )


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        empty_range("X", 100)
    with pytest.raises(ValueError):
        Glyph(id=65, width=2, height=2, left=0, top=0, advance=5, bitmap=b"\0" * 10)
    with pytest.raises(ValueError):
        encode_glyphs("X", 256, [_glyph(65, 2, 2)])
    with pytest.raises(ValueError):
        decode_glyphs(b"\x0a\x05\x0a\x01")


def _shipped(start: int) -> dict[int, Glyph]:
    path = GLYPHS / STACK / f"{start}-{start + 255}.pbf"
    name, rng, glyphs = decode_glyphs(path.read_bytes())
    assert (name, rng) == (STACK, f"{start}-{start + 255}")
    return {g.id: g for g in glyphs}


def test_shipped_latin_range() -> None:
    glyphs = _shipped(0)
    for ch in "A0(":
        g = glyphs[ord(ch)]
        assert g.advance > 0
        assert 3 <= g.width <= 24 and 10 <= g.height <= 28
        assert len(g.bitmap) == (g.width + 6) * (g.height + 6)
        sdf = g.sdf()
        assert sdf.max() > 191  # ink
        assert sdf[0, 0] < 100 and sdf[-1, -1] < 100  # the far corners of the border are outside
    space = glyphs[ord(" ")]
    assert (space.width, space.height, space.bitmap) == (0, 0, b"") and space.advance > 0
    # One baseline: glyphs resting on it have the same bottom (top - height); descenders go lower.
    bottoms = {ch: glyphs[ord(ch)].top - glyphs[ord(ch)].height for ch in "AHxz01"}
    assert max(bottoms.values()) - min(bottoms.values()) <= 1
    assert glyphs[ord("g")].top - glyphs[ord("g")].height < min(bottoms.values()) - 3
    # Taller glyphs reach higher: 'A' above 'x'.
    assert glyphs[ord("A")].top > glyphs[ord("x")].top + 3


def test_shipped_punctuation_and_full_width_ranges() -> None:
    punct = _shipped(8192)
    for ch in "–—‘’“”…‰":
        assert punct[ord(ch)].advance > 0
    path = GLYPHS / STACK / "65280-65535.pbf"
    if path.exists():
        wide = _shipped(65280)
        for ch in "（）：，％":
            g = wide[ord(ch)]
            assert g.advance == 24 and len(g.bitmap) == (g.width + 6) * (g.height + 6)


def test_shipped_files_are_small() -> None:
    for path in (GLYPHS / STACK).glob("*.pbf"):
        assert path.stat().st_size < 150_000, path
    assert (GLYPHS / "LICENSE-font").read_text(encoding="utf-8").count("Open Font License") >= 1


def test_sdf_of_filled_square() -> None:
    cov = np.zeros((12, 12))
    cov[2:10, 2:10] = 1.0
    sdf = sdf_from_coverage(cov).astype(int)
    assert sdf.shape == (18, 18)
    row = sdf[9]  # through the middle; the square spans columns 5..12 of the buffered bitmap
    # The edge lies between the last inside pixel and the first outside one: ±0.5 px from each.
    assert abs((row[12] + row[13]) / 2 - 191) <= 1
    assert abs(row[12] - 207) <= 1 and abs(row[13] - 175) <= 1
    outward = row[12:]
    assert all(a > b for a, b in itertools.pairwise(outward) if b > 0)
    assert np.all(np.diff(outward) <= 0)
    assert row[9] == 255 and row[0] < 100  # deep inside, far outside


def test_sdf_uses_subpixel_edges() -> None:
    """A half-covered column puts the edge through its centre: value ≈ 191 there."""
    cov = np.zeros((6, 10))
    cov[:, :4] = 1.0
    cov[:, 4] = 0.5
    sdf = sdf_from_coverage(cov, buffer=0).astype(int)
    assert np.all(np.abs(sdf[:, 4] - 191) <= 1)
    assert np.all(np.abs(sdf[:, 5] - (191 - 32)) <= 1)


def test_signed_distance_of_a_disc_is_close_to_exact() -> None:
    ss, n, cx, cy, r = 16, 30, 14.3, 15.1, 6.7
    xs = (np.arange(n * ss) + 0.5) / ss - 0.5
    x, y = np.meshgrid(xs, xs)
    cov = ((x - cx) ** 2 + (y - cy) ** 2 <= r * r).reshape(n, ss, n, ss).mean(axis=(1, 3))
    d = signed_distance(cov)
    gy, gx = np.mgrid[0:n, 0:n]
    exact = np.hypot(gx - cx, gy - cy) - r
    near = np.abs(exact) < 6
    assert np.abs(d - exact)[near].max() < 0.1
