"""Reading the values Chinese departments write: pure functions, one cell at a time.

Numbers arrive as full-width text (``１２．５``, ``－３``), with thousands separators (``1,234.5``) or with
their unit (``12.5mg/m³``, ``35 µg/m3``); timestamps as ``20260615083000``, epoch seconds or
milliseconds, ``2026/06/15 08:30``, ``2026年06月15日 08时``, ISO with or without an offset, or day first
where a feed says so. Each function returns the value or a :class:`CellError` (a stable code and an
English detail); the mapping step applies them to the cells Arrow's fast paths could not read.

>>> parse_number_text("１２．５")
12.5
>>> parse_number_text("1,234.5")
1234.5
>>> parse_number_text("35 µg/m3", unit="mg/m3")
0.035
>>> parse_number_text("NaN")
CellError(code='cell_invalid', detail="'NaN' is not a valid number (NaN/Infinity are invalid values)")
>>> parse_time_text("2026年06月15日 08时")
datetime.datetime(2026, 6, 15, 8, 0)
>>> parse_time_text("05/06/2026 08:00").code
'time_ambiguous'
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from cityops.base.domains import unit_factor
from ingest.reasons import clip


@dataclass(frozen=True)
class CellError:
    code: str
    detail: str


# NFKC folds full-width digits, letters and punctuation (１２．５ → 12.5, ｍ³ → m3, ，→ ,) but leaves
# these dashes and the ideographic full stop alone.
_EXTRA = str.maketrans({"−": "-", "‐": "-", "‒": "-", "–": "-", "﹣": "-", "。": "."})
# A unit suffix starts with a letter or a symbol such as µ, %, °: "31,5" is not 31 with a unit ",5".
_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*((?:[^\W\d_]|[%°‰]).*)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?=\D|$)")
_INVALID_WORDS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
# Unit spellings beyond the canonical table: micro signs, superscripts, case.
_UNIT_ALIASES = {"μg/m3": "ug/m3", "ug/m³": "ug/m3", "mg/m³": "mg/m3", "kmh": "km/h", "km/hr": "km/h"}


def fold_text(text: str) -> str:
    """Full-width and compatibility characters folded to ASCII where they have an ASCII twin."""
    return unicodedata.normalize("NFKC", text).translate(_EXTRA).strip()


def _unit(text: str) -> str:
    unit = text.strip().replace(" ", "")
    return _UNIT_ALIASES.get(unit, _UNIT_ALIASES.get(unit.lower(), unit))


def parse_number_text(text: str, *, unit: str = "") -> float | CellError:
    """A number written as departments write it, in ``unit`` (the unit the feed declares).

    A unit suffix is converted to ``unit``; one that cannot be is an error, as are NaN, Infinity and
    anything that is not a number.
    """
    folded = fold_text(text)
    if folded.lower() in _INVALID_WORDS:
        return CellError("cell_invalid", f"{text!r} is not a valid number (NaN/Infinity are invalid values)")
    thousands = _THOUSANDS.match(folded)
    if thousands:
        folded = thousands.group(0).replace(",", "") + folded[thousands.end() :]
    match = _NUMBER.match(folded)
    if not match:
        return CellError("cell_invalid", f"{text!r} is not a number")
    value = float(match.group(1))
    if not math.isfinite(value):  # "1e999", or hundreds of digits: beyond what a float holds
        return CellError("cell_invalid", f"{clip(text, 60)!r} is not a finite number (too large)")
    suffix = _unit(match.group(2) or "")
    if not suffix or suffix == _unit(unit):
        return value
    if not unit:
        return CellError("cell_unit", f"{text!r} carries a unit ({suffix!r}) where the column has none")
    try:
        return value * unit_factor(suffix, _unit(unit))
    except ValueError:
        return CellError("cell_unit", f"{text!r}: its unit {suffix!r} does not convert to {unit!r}")


_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$")
# Epoch seconds (9 or 10 digits: September 1973 to 2286) or milliseconds (13 digits); 12-digit text is
# read as YYYYMMDDHHMM above.
_EPOCH = re.compile(r"^(\d{9,10}|\d{13})(?:\.(\d+))?$")
# Ten digits that also read as YYYYMMDDHH in these years are ambiguous (as epoch seconds they would be
# 2030-2036): neither reading is guessed.
_HOURLY_YEARS = range(1900, 2100)
_HOURLY = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})$")
_FAR = timedelta(days=2)
_YMD = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DMY = re.compile(
    r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_CHINESE = re.compile(
    r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]"
    r"\s*(?:(\d{1,2})\s*[时点:]\s*(?:(\d{1,2})\s*[分:]?\s*(?:(\d{1,2})\s*秒?)?)?)?$"
)


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(parts: Sequence[str | None]) -> datetime:
    """A datetime from (year, month, day, hour, minute, second, fraction, offset); missing → zero."""
    y, mo, d, h, mi, sec, frac, tz = (*parts, None, None, None, None, None, None, None, None)[:8]
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return datetime(
        int(y or 0),
        int(mo or 0),
        int(d or 0),
        int(h or 0),
        int(mi or 0),
        int(sec or 0),
        micro,
        tzinfo=_offset(tz),
    )


def _as_hourly(text: str) -> datetime | None:
    """``text`` read as YYYYMMDDHH when it is a valid one in :data:`_HOURLY_YEARS`, else None."""
    m = _HOURLY.match(text)
    if m is None or int(m.group(1)) not in _HOURLY_YEARS:
        return None
    try:
        return _build(m.groups())
    except ValueError:
        return None


def parse_time_text(text: str, *, day_first: bool = False) -> datetime | CellError:
    """A timestamp in any shape seen in the field: naive (local) or aware (it carried an offset)."""
    folded = fold_text(text)
    try:
        if m := _COMPACT.match(folded):
            return _build(m.groups())
        if m := _EPOCH.match(folded):
            digits = m.group(1)
            value = float(folded)
            seconds = value / 1000 if len(digits) == 13 else value
            epoch = datetime.fromtimestamp(seconds, UTC)
            hourly = _as_hourly(folded)
            if hourly is not None and abs(epoch.replace(tzinfo=None) - hourly) > _FAR:
                return CellError(
                    "time_epoch_ambiguous",
                    f"{text!r} reads as {hourly:%Y-%m-%d %H:00} (YYYYMMDDHH) or as epoch seconds "
                    f"({epoch:%Y-%m-%d %H:%M} UTC); set the feed's time_format",
                )
            return epoch
        if m := _YMD.match(folded):
            return _build(m.groups())
        if m := _CHINESE.match(folded):
            return _build(m.groups())
        if m := _DMY.match(folded):
            first, second, year, *rest = m.groups()
            if not day_first:
                return CellError(
                    "time_ambiguous",
                    f"{text!r}: a date with the year last reads day-first or month-first; "
                    "set the feed's conventions.day_first or time_format",
                )
            return _build((year, second, first, *rest))
    except (ValueError, OverflowError, OSError) as exc:
        return CellError("time_invalid", f"{text!r} is not a valid timestamp ({exc})")
    return CellError("time_invalid", f"{text!r} is not a timestamp in a known shape")
