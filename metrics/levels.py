"""The four early-warning levels as data, shared by every metric and by the warning engine.

Source: 《中华人民共和国突发事件应对法》 (2024 revision, Art. 63; 2007 text Art. 42): warnings
"分为一级、二级、三级和四级，分别用红色、橙色、黄色和蓝色标示，一级为最高级别". The Roman numerals
and the usual wording (特别严重 / 严重 / 较重 / 一般) follow the 2006 national general emergency plan; the CAP
severities are QWeather's mapping (standards §2.2).

Representation
--------------
* A level is a :class:`Level` (an ``IntEnum``) whose value is the level *number*: ``RED = 1`` …
  ``BLUE = 4``. A **smaller number is more severe**, as in the law.
* "No warning" is ``None`` in scalar code and ``NaN`` / ``<NA>`` in arrays and frames (frames use the
  nullable ``Int64`` dtype). Every helper here accepts ``None``, ``NaN`` and ``pd.NA`` as "no level"
  and treats it as less severe than blue.
* :func:`severity_rank` turns a level into an ascending severity (0 none, 1 blue … 4 red) for sorting
  and for "worst of" aggregation.

Colours (convention, no RGB values are fixed by law)
----------------------------------------------------
Chosen for a dark wall display (background around ``#0b1220``; see :data:`WALL_BACKGROUND`): each
colour is saturated enough to read as its name from 3–5 m, and each has a contrast ratio of at least
4.5:1 (WCAG AA for text) against that background, so the colour works both as a fill and as text.
Blue is deliberately lighter than QWeather's (30, 50, 205), which is too dark on a dark screen (about
2:1). ``text_on`` gives the text colour to use *on* a filled badge of that colour.

>>> Level.RED.zh_color, Level.RED.zh_level, Level.RED.en
('红色', '一级', 'red')
>>> more_severe(Level.BLUE, Level.ORANGE)
<Level.ORANGE: 2>
>>> more_severe(None, Level.BLUE)
<Level.BLUE: 4>
>>> parse_level("橙色"), parse_level("二级"), parse_level(2), parse_level(None)
(<Level.ORANGE: 2>, <Level.ORANGE: 2>, <Level.ORANGE: 2>, None)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "LEVELS_BY_SEVERITY",
    "LEVEL_INFO",
    "WALL_BACKGROUND",
    "Level",
    "LevelInfo",
    "contrast_ratio",
    "is_more_severe",
    "level_array",
    "level_label",
    "level_series",
    "more_severe",
    "most_severe",
    "parse_level",
    "severity_rank",
    "shape_like",
]


class Level(IntEnum):
    """A warning level; the value is the level number (1 = 一级 = red, the most severe)."""

    RED = 1
    ORANGE = 2
    YELLOW = 3
    BLUE = 4

    @property
    def info(self) -> LevelInfo:
        """The descriptive data for this level."""
        return LEVEL_INFO[self]

    @property
    def zh_level(self) -> str:
        """一级 / 二级 / 三级 / 四级."""
        return LEVEL_INFO[self].zh_level

    @property
    def zh_color(self) -> str:
        """红色 / 橙色 / 黄色 / 蓝色."""
        return LEVEL_INFO[self].zh_color

    @property
    def en(self) -> str:
        """red / orange / yellow / blue."""
        return LEVEL_INFO[self].en

    @property
    def color(self) -> str:
        """Hex colour for a dark display."""
        return LEVEL_INFO[self].color


@dataclass(frozen=True)
class LevelInfo:
    """Names and display attributes of one level."""

    level: Level
    zh_level: str  # 一级 …
    zh_color: str  # 红色 …
    en: str  # red …
    en_level: str  # "Level I" …
    roman: str  # Ⅰ …
    zh_wording: str  # 特别严重 … (2006 national general plan)
    cap_severity: str  # Extreme … (QWeather's CAP mapping)
    color: str  # fill / text colour on a dark background
    text_on: str  # text colour to put on a badge filled with ``color``


#: Reference background of the wall display the colours were checked against (convention).
WALL_BACKGROUND = "#0b1220"

LEVEL_INFO: dict[Level, LevelInfo] = {
    Level.RED: LevelInfo(
        Level.RED, "一级", "红色", "red", "Level I", "Ⅰ", "特别严重", "Extreme", "#ff4d4f", "#ffffff"
    ),
    Level.ORANGE: LevelInfo(
        Level.ORANGE, "二级", "橙色", "orange", "Level II", "Ⅱ", "严重", "Severe", "#ff9a2e", "#111111"
    ),
    Level.YELLOW: LevelInfo(
        Level.YELLOW, "三级", "黄色", "yellow", "Level III", "Ⅲ", "较重", "Moderate", "#ffd60a", "#111111"
    ),
    Level.BLUE: LevelInfo(
        Level.BLUE, "四级", "蓝色", "blue", "Level IV", "Ⅳ", "一般", "Minor", "#4da3ff", "#111111"
    ),
}

#: Levels from the most to the least severe.
LEVELS_BY_SEVERITY: tuple[Level, ...] = (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)

_ALIASES: dict[str, Level] = {}
for _lv, _inf in LEVEL_INFO.items():
    for _name in (
        _inf.zh_level,
        _inf.zh_color,
        _inf.zh_color[0],
        _inf.en,
        _inf.roman,
        _inf.en_level,
        _lv.name,
    ):
        _ALIASES[_name.lower()] = _lv
for _lv, _roman in zip(LEVELS_BY_SEVERITY, ("i", "ii", "iii", "iv"), strict=True):
    _ALIASES[_roman] = _lv


def _is_missing(value: object) -> bool:
    """Whether a scalar means "no level" (None, NaN, pd.NA)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    return False


def parse_level(value: object) -> Level | None:
    """A :class:`Level` from a level, an int 1–4, or a name (一级, 红色, 红, red, Ⅰ, I, RED).

    ``None`` for none.

    ``None``, ``NaN``, ``pd.NA`` and the empty string mean "no level". Anything else raises ``ValueError``.
    """
    if _is_missing(value) or value == "":
        return None
    if isinstance(value, Level):
        return value
    whole = isinstance(value, float | np.floating) and float(value).is_integer()
    if (isinstance(value, int | np.integer) and not isinstance(value, bool)) or whole:
        number = int(value)  # type: ignore[call-overload]
        if 1 <= number <= 4:
            return Level(number)
        raise ValueError(f"warning level numbers are 1 (red) to 4 (blue), got {value!r}")
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _ALIASES:
            return _ALIASES[key]
    raise ValueError(f"not a warning level: {value!r}")


def severity_rank(level: object) -> int:
    """Ascending severity: 0 for no level, 1 blue, 2 yellow, 3 orange, 4 red."""
    parsed = parse_level(level)
    return 0 if parsed is None else 5 - int(parsed)


def is_more_severe(a: object, b: object) -> bool:
    """Whether level ``a`` is strictly more severe than ``b`` (any level is more severe than none)."""
    return severity_rank(a) > severity_rank(b)


def more_severe(a: object, b: object) -> Level | None:
    """The more severe of two levels (``None`` when both are none)."""
    pa, pb = parse_level(a), parse_level(b)
    return pa if severity_rank(pa) >= severity_rank(pb) else pb


def most_severe(levels: Iterable[object]) -> Level | None:
    """The most severe level of an iterable (``None`` when empty or all none)."""
    best: Level | None = None
    for level in levels:
        best = more_severe(best, level)
    return best


def level_label(level: object, lang: str = "zh") -> str:
    """A display label: ``红色（一级）`` in Chinese, ``red (Level I)`` in English; ``""`` for none."""
    parsed = parse_level(level)
    if parsed is None:
        return ""
    info = parsed.info
    if lang == "zh":
        return f"{info.zh_color}（{info.zh_level}）"
    return f"{info.en} ({info.en_level})"


def level_array(values: Iterable[object]) -> NDArray[np.float64]:
    """Level numbers as a float array with ``NaN`` for none (the array form used by vectorised code)."""
    out = [np.nan if (p := parse_level(v)) is None else float(p) for v in values]
    return np.asarray(out, dtype=np.float64)


def level_series(values: Any, index: Any = None) -> pd.Series:
    """Level numbers as a nullable ``Int64`` series (``<NA>`` for none) — the frame form of levels."""
    arr = level_array(values)
    return pd.Series(pd.array([pd.NA if np.isnan(v) else int(v) for v in arr], dtype="Int64"), index=index)


def shape_like(values: NDArray[np.float64], like: Any, *, integer: bool = True) -> Any:
    """Return integer-coded (or float) results computed as a float array in the shape of the input ``like``.

    A scalar input gives a scalar (``int`` or ``None`` when ``integer``, else ``float``); a
    :class:`pandas.Series` gives a series on the same index (``Int64`` when ``integer``); anything else
    gives the numpy array (``NaN`` for missing). Shared by the vectorised metric functions.
    """
    if isinstance(like, pd.Series):
        if integer:
            return pd.Series(
                pd.array([pd.NA if np.isnan(v) else int(v) for v in values], dtype="Int64"), index=like.index
            )
        return pd.Series(values, index=like.index, dtype="float64")
    if np.ndim(like) == 0 and not isinstance(like, list | tuple):
        value = float(np.asarray(values).reshape(-1)[0])
        if integer:
            return None if math.isnan(value) else int(value)
        return value
    return values


def _relative_luminance(hex_color: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    rgb = [int(hex_color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.x contrast ratio between two hex colours (1–21)."""
    la, lb = sorted((_relative_luminance(fg), _relative_luminance(bg)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
