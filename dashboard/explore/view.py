"""The explorer's view: one :class:`ExploreState` and its URL form.

:func:`encode_state` / :func:`decode_state` turn a state into a query string and back (``range start end
district domain metric entity lang``). Decoding never raises: a value that does not parse falls back to
its default, so a garbled or hostile link still opens a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

RANGES: tuple[str, ...] = ("24h", "7d", "30d", "1y", "custom")
LANGS = ("zh", "en")
DEFAULT_DOMAIN = "water"
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


@dataclass(frozen=True)
class ExploreState:
    """What the explorer shows. ``start``/``end`` (local calendar days, inclusive) only for ``custom``."""

    range: str = "24h"
    start: date | None = None
    end: date | None = None
    district: str | None = None
    domain: str = DEFAULT_DOMAIN
    metric: str | None = None
    entity: str | None = None
    lang: str = "zh"


def encode_state(state: ExploreState) -> str:
    """The query string (without ``?``) of a state; keys in a fixed order, empty values left out."""
    pairs: list[tuple[str, str]] = [("range", state.range)]
    if state.range == "custom" and state.start is not None and state.end is not None:
        pairs += [("start", state.start.isoformat()), ("end", state.end.isoformat())]
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
    start, end = parse_day(get["start"]), parse_day(get["end"])
    if rng == "custom":
        if start is None or end is None or end < start or (end - start).days > MAX_CUSTOM_DAYS:
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
