"""The explorer's view: one :class:`ExploreState` and its URL form.

:func:`encode_state` / :func:`decode_state` turn a state into a query string and back (``range start end
district domain metric entity lang``). Decoding never raises: a value that does not parse falls back to
its default, so a garbled or hostile link still opens a page.

A custom range's ``start`` and ``end`` are local calendar days (``2026-06-15``: the whole day, the end
day included) or local times of day (``2026-06-15T14:00``: from that minute, up to that minute).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

RANGES: tuple[str, ...] = ("24h", "7d", "30d", "1y", "custom")
LANGS = ("zh", "en")
#: The view a link without state opens: the city's air quality index over the last day (the comparison
#: below it shows the day's rainfall, river levels against their warning levels, traffic and incidents).
DEFAULT_DOMAIN = "air"
#: A custom range spans at most this many days (daily rollups; still under MAX_POINTS).
MAX_CUSTOM_DAYS = 1830

_QUERY_KEYS = ("range", "start", "end", "district", "domain", "metric", "entity", "lang")


def is_safe_id(value: str, *, max_len: int = 80, extra: str = "-_.:") -> bool:
    """Whether ``value`` is a short ASCII identifier (letters, digits and the ``extra`` characters)."""
    return 0 < len(value) <= max_len and all(c.isascii() and (c.isalnum() or c in extra) for c in value)


def parse_day(raw: str | None) -> date | None:
    """A ``YYYY-MM-DD`` day between 2000 and 2100, or ``None``."""
    if raw is None or len(raw) != 10:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def parse_moment(raw: str | None) -> date | datetime | None:
    """A day (``YYYY-MM-DD``) or a local minute (``YYYY-MM-DDTHH:MM``) between 2000 and 2100, or ``None``."""
    if raw is None:
        return None
    if len(raw) == 10:
        return parse_day(raw)
    if len(raw) != 16 or raw[10] not in "T ":
        return None
    day = parse_day(raw[:10])
    clock = parse_clock(raw[11:])
    return None if day is None or clock is None else datetime.combine(day, clock)


def parse_clock(raw: str | None) -> time | None:
    """A time of day ``HH:MM`` (a time input's value; seconds are dropped), or ``None``."""
    if not raw or len(raw) < 5 or raw[2] != ":":
        return None
    try:
        hour, minute = int(raw[:2]), int(raw[3:5])
    except ValueError:
        return None
    return time(hour, minute) if 0 <= hour < 24 and 0 <= minute < 60 else None


def moment_text(value: date | datetime) -> str:
    """The URL form of a custom range's bound: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``."""
    return value.strftime("%Y-%m-%dT%H:%M") if isinstance(value, datetime) else value.isoformat()


def local_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """[start, end) as naive local datetimes: a start day from its midnight, an end day to the next one."""
    lo = start if isinstance(start, datetime) else datetime.combine(start, time())
    hi = end if isinstance(end, datetime) else datetime.combine(end + timedelta(days=1), time())
    return lo, hi


@dataclass(frozen=True)
class ExploreState:
    """What the explorer shows. ``start``/``end`` only for ``custom``: local days (the end day included)
    or local minutes (the end minute excluded)."""

    range: str = "24h"
    start: date | datetime | None = None
    end: date | datetime | None = None
    district: str | None = None
    domain: str = DEFAULT_DOMAIN
    metric: str | None = None
    entity: str | None = None
    lang: str = "zh"


def encode_state(state: ExploreState) -> str:
    """The query string (without ``?``) of a state; keys in a fixed order, empty values left out."""
    pairs: list[tuple[str, str]] = [("range", state.range)]
    if state.range == "custom" and state.start is not None and state.end is not None:
        pairs += [("start", moment_text(state.start)), ("end", moment_text(state.end))]
    for key in ("district", "domain", "metric", "entity"):
        value = getattr(state, key)
        if value:
            pairs.append((key, value))
    pairs.append(("lang", state.lang))
    return urlencode(pairs)


def _first(raw: Any) -> str | None:
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def decode_state(query: str | Mapping[str, Any] | None) -> ExploreState:
    """The state a query string (``?a=b&…``, or already parsed) describes; anything invalid → default."""
    params: Mapping[str, Any]
    if query is None:
        params = {}
    elif isinstance(query, str):
        try:
            params = parse_qs(query[1:] if query.startswith("?") else query, max_num_fields=50)
        except ValueError:  # too many fields, or undecodable: a link nobody made on purpose
            params = {}
    else:
        params = query
    get = {k: _first(params.get(k)) for k in _QUERY_KEYS}
    default = ExploreState()
    rng = get["range"] if get["range"] in RANGES else default.range
    start, end = parse_moment(get["start"]), parse_moment(get["end"])
    if rng == "custom":
        lo_hi = local_bounds(start, end) if start is not None and end is not None else None
        if lo_hi is None or lo_hi[1] <= lo_hi[0] or (lo_hi[1] - lo_hi[0]).days > MAX_CUSTOM_DAYS:
            rng, start, end = default.range, None, None
    else:
        start = end = None
    district = (
        get["district"] if get["district"] and is_safe_id(get["district"], max_len=20, extra="-_") else None
    )
    domain = (
        get["domain"]
        if get["domain"] and is_safe_id(get["domain"], max_len=40, extra="_")
        else default.domain
    )
    metric = get["metric"] if get["metric"] and is_safe_id(get["metric"], max_len=40, extra="_") else None
    entity = get["entity"] if get["entity"] and is_safe_id(get["entity"]) else None
    lang = get["lang"] if get["lang"] in LANGS else default.lang
    return ExploreState(rng, start, end, district, domain, metric, entity, lang)
