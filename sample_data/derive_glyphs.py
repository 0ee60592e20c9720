"""Render the map's label glyphs (MapLibre glyph-range PBFs) from a font file.

Run once from the repository root and commit the output (build-time only: needs ``freetype-py``
in the venv and the fonts on disk; nothing here is imported at run time):

    .venv/bin/pip install freetype-py
    apt-get install fonts-noto-core fonts-noto-cjk      # Noto Sans; Noto Sans CJK for full-width forms
    .venv/bin/python sample_data/derive_glyphs.py [--font PATH] [--name "Font Stack Name"]
                                                  [--cjk-font PATH] [--out DIR]

Writes ``dashboard/assets/glyphs/<name>/<start>-<end>.pbf`` for:

- 0-255 (Basic Latin, Latin-1) and 8192-8447 (General Punctuation: – — ‘ ’ “ ” … ‰) from ``--font``
  (default: Noto Sans Regular, else DejaVu Sans, found under /usr/share/fonts);
- 65280-65535 (Halfwidth and Fullwidth Forms: （ ） ： ， ％ …) from ``--cjk-font`` (default: the
  Simplified-Chinese face of Noto Sans CJK Regular), skipped with a message when no CJK font is found.

and copies the fonts' licences to ``dashboard/assets/glyphs/LICENSE-font``. The stack name defaults to
the font's own family and style ("Noto Sans Regular", "DejaVu Sans Book"), which is what a style's
``text-font`` names.

Each glyph is rendered unhinted at 24 px by FreeType (anti-aliased coverage), turned into a signed
distance field with a 3 px border by :func:`geo.glyphs.sdf_from_coverage`, and placed with
``top = bitmap_top - ceil(B)`` where ``B`` (``--baseline``, default 27.5) is the distance in px from
MapLibre's text origin down to the baseline; the outline is raised by ``ceil(B) - B`` before
rasterising so the baseline lands exactly at ``B``. 27.5 is what MapLibre itself uses for the glyphs it
draws with the browser's fonts (``top = glyphTop - 27.5`` in its glyph manager, where glyphTop is the
height of the glyph box above the baseline): our Chinese characters are drawn that way, so Latin
letters and digits from these files then share their baseline. (node-fontnik uses the font's own
rounded ascender instead — 26 px for Noto Sans — and ``--baseline 26`` reproduces that.)
"""

from __future__ import annotations

import argparse
import gzip
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import freetype
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # allow running as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from geo.glyphs import SIZE, Glyph, encode_glyphs, range_name, sdf_from_coverage

OUT = ROOT / "dashboard" / "assets" / "glyphs"

#: Latin text fonts, best first.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
CJK_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
#: Face of a CJK collection to use: the mainland-Chinese forms of punctuation.
CJK_FAMILY = "Noto Sans CJK SC"
#: Where a font package keeps its licence, by font directory.
LICENSE_CANDIDATES = {
    "noto": (Path("/usr/share/doc/fonts-noto-core/copyright"),),
    "dejavu": (Path("/usr/share/doc/fonts-dejavu-core/copyright"),),
    "noto-cjk": (Path("/usr/share/doc/fonts-noto-cjk/copyright"),),
}

LATIN_RANGES = (0, 8192)
CJK_RANGES = (65280,)


@dataclass(frozen=True)
class FontSource:
    path: Path
    index: int = 0


def open_face(src: FontSource) -> freetype.Face:
    face = freetype.Face(str(src.path), src.index)
    face.set_char_size(SIZE * 64)  # 24 px at the default 72 dpi: 1 pt = 1 px
    return face


def face_name(face: freetype.Face) -> str:
    family = face.family_name.decode("utf-8", "replace")
    style = (face.style_name or b"").decode("utf-8", "replace")
    return f"{family} {style}".strip()


def find_cjk_face(path: Path, family: str = CJK_FAMILY) -> FontSource:
    """The face of a collection (``.ttc``) whose family is ``family``, else its first face."""
    count = freetype.Face(str(path)).num_faces
    for i in range(count):
        if freetype.Face(str(path), i).family_name.decode("utf-8", "replace") == family:
            return FontSource(path, i)
    return FontSource(path, 0)


def render_glyph(face: freetype.Face, codepoint: int, baseline: float) -> Glyph | None:
    """The glyph for ``codepoint``, or None when the font has none."""
    index = face.get_char_index(codepoint)
    if not index:
        return None
    origin = math.ceil(baseline)
    raise_by = origin - baseline  # px, raise the outline so the baseline falls on `baseline`
    face.set_transform(freetype.Matrix(0x10000, 0, 0, 0x10000), freetype.Vector(0, round(raise_by * 64)))
    face.load_glyph(index, freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP | freetype.FT_LOAD_RENDER)
    slot = face.glyph
    bm = slot.bitmap
    advance = max(0, round(slot.linearHoriAdvance / 65536))
    if bm.width == 0 or bm.rows == 0:
        return Glyph(id=codepoint, width=0, height=0, left=0, top=0, advance=advance)
    rows = np.array(bm.buffer, dtype=np.uint8).reshape(bm.rows, bm.pitch)[:, : bm.width]
    if not rows.any():
        return Glyph(id=codepoint, width=0, height=0, left=0, top=0, advance=advance)
    sdf = sdf_from_coverage(rows)
    return Glyph(
        id=codepoint,
        width=bm.width,
        height=bm.rows,
        left=slot.bitmap_left,
        top=slot.bitmap_top - origin,
        advance=advance,
        bitmap=sdf.tobytes(),
    )


def render_range(face: freetype.Face, start: int, baseline: float) -> list[Glyph]:
    glyphs = [render_glyph(face, cp, baseline) for cp in range(start, start + 256)]
    return [g for g in glyphs if g is not None]


def licence_for(src: FontSource) -> Path | None:
    parts = str(src.path).lower()
    key = (
        "noto-cjk"
        if "cjk" in parts
        else "noto"
        if "noto" in parts
        else "dejavu"
        if "dejavu" in parts
        else None
    )
    for candidate in LICENSE_CANDIDATES.get(key or "", ()):
        if candidate.is_file():
            return candidate
    # A licence file shipped next to the font.
    for name in ("LICENSE", "LICENSE.txt", "OFL.txt", "COPYING"):
        if (src.path.parent / name).is_file():
            return src.path.parent / name
    return None


LICENCE_INTRO = (
    "Licences of the fonts the glyph PBFs in this folder were rendered from, one section per font stack.\n"
    "The PBFs are derived from these fonts and are distributed under the same terms.\n"
)
STACK_MARK = "#### font stack: "


def write_licence(path: Path, stack: str, entries: list[tuple[str, FontSource]]) -> None:
    """Put ``stack``'s section into the licence file at ``path``, keeping other stacks' sections."""
    sections: dict[str, str] = {}
    if path.is_file():
        for chunk in path.read_text(encoding="utf-8").split(STACK_MARK)[1:]:
            head, _, text = chunk.partition("\n")
            sections[head.strip()] = text
    body: list[str] = []
    for what, src in entries:
        lic = licence_for(src)
        face = f" (face {src.index})" if src.index else ""
        body.append(f"\n{'=' * 78}\n{what}: {src.path.name}{face}\n")
        if lic is None:
            body.append("Licence file not found on the build machine; see the font's vendor.\n")
            continue
        raw = lic.read_bytes()
        text = gzip.decompress(raw).decode("utf-8") if lic.suffix == ".gz" else raw.decode("utf-8")
        body.append(f"(from {lic})\n{'=' * 78}\n\n{text.rstrip()}\n\n")
    sections[stack] = "".join(body)
    out = [LICENCE_INTRO] + [f"\n{STACK_MARK}{name}\n{sections[name]}" for name in sorted(sections)]
    path.write_text("".join(out), encoding="utf-8")


def first_existing(paths: tuple[Path, ...]) -> Path | None:
    return next((p for p in paths if p.is_file()), None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--font", type=Path, help="Latin text font (TTF/OTF); default Noto Sans Regular or DejaVu Sans"
    )
    ap.add_argument("--name", help="font stack name (default: the font's family and style)")
    ap.add_argument("--cjk-font", type=Path, help="font for full-width forms (default Noto Sans CJK SC)")
    ap.add_argument("--no-cjk", action="store_true", help="do not write the full-width forms range")
    ap.add_argument(
        "--baseline",
        type=float,
        default=27.5,
        help="px from MapLibre's text origin down to the baseline (default 27.5: as its local glyphs)",
    )
    ap.add_argument("--out", type=Path, default=OUT, help=f"output root (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)

    font_path = args.font or first_existing(FONT_CANDIDATES)
    if font_path is None:
        print(
            "no font found: install fonts-noto-core (or fonts-dejavu-core), or pass --font", file=sys.stderr
        )
        return 2
    latin = FontSource(font_path)
    face = open_face(latin)
    name = args.name or face_name(face)
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    licences = [("Latin, digits, punctuation", latin)]

    def write(start: int, glyphs: list[Glyph], source: str) -> None:
        data = encode_glyphs(name, start, glyphs)
        path = out / f"{range_name(start)}.pbf"
        path.write_bytes(data)
        print(f"{path.relative_to(args.out)}: {len(glyphs)} glyphs, {len(data):,} bytes ({source})")

    for start in LATIN_RANGES:
        write(start, render_range(face, start, args.baseline), face_name(face))

    if not args.no_cjk:
        cjk_path = args.cjk_font or first_existing(CJK_CANDIDATES)
        if cjk_path is None:
            print(
                "no CJK font found (install fonts-noto-cjk or pass --cjk-font): "
                f"skipping range{'s' if len(CJK_RANGES) > 1 else ''} "
                + ", ".join(range_name(s) for s in CJK_RANGES),
                file=sys.stderr,
            )
        else:
            cjk = find_cjk_face(cjk_path)
            cjk_face = open_face(cjk)
            licences.append(("Full-width forms", cjk))
            for start in CJK_RANGES:
                write(start, render_range(cjk_face, start, args.baseline), face_name(cjk_face))

    write_licence(args.out / "LICENSE-font", name, licences)
    print(f"{args.out / 'LICENSE-font'}: section for {name!r} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
