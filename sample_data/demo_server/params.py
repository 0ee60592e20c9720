"""Reading a request's query parameters; anything missing or malformed raises :class:`BadRequest`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sample_data.demo_server.localtime import LOCAL_OFFSET
from sample_data.demo_server.replies import BadRequest

__all__ = ["Query", "parse_epoch_ms", "parse_int", "parse_iso", "parse_local", "read_param"]

# Parsed query string: each name with every value it was given.
Query = dict[str, list[str]]

_LOCAL_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_MS_RE = re.compile(r"\d{1,15}")
_INT_RE = re.compile(r"\d{1,9}")


def read_param(query: Query, name: str, *, required: bool = True) -> str | None:
    """The single value of ``name``; ``None`` when it is optional and absent."""
    values = query.get(name)
    if not values:
        if required:
            raise BadRequest(f"missing query parameter {name!r}")
        return None
    if len(values) > 1:
        raise BadRequest(f"query parameter {name!r} given more than once")
    return values[0]


def parse_iso(name: str, value: str) -> datetime:
    """An ISO-8601 instant with a UTC offset, as UTC."""
    v = value.strip()
    # An unencoded "+" in a query string arrives as a space: "…T08:00:00 08:00".
    v = re.sub(r" (\d{2}:?\d{2})$", r"+\1", v)
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not an ISO-8601 time such as 2026-06-15T00:00:00Z") from None
    if dt.tzinfo is None:
        raise BadRequest(f"{name}={value!r} has no UTC offset; send e.g. 2026-06-15T00:00:00Z or …+08:00")
    return dt.astimezone(UTC)


def parse_local(name: str, value: str) -> datetime:
    """A local naive ``YYYY-MM-DD HH:MM:SS``, as UTC."""
    if not _LOCAL_RE.fullmatch(value):
        raise BadRequest(f"{name}={value!r} must be local time 'YYYY-MM-DD HH:MM:SS'")
    try:
        naive = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not a valid date and time") from None
    return (naive - LOCAL_OFFSET).replace(tzinfo=UTC)


def parse_epoch_ms(name: str, value: str) -> datetime:
    """Unix epoch milliseconds (a non-negative integer), as UTC."""
    if not _MS_RE.fullmatch(value):
        raise BadRequest(f"{name}={value!r} must be Unix epoch milliseconds (a non-negative integer)")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(value))


def parse_int(name: str, value: str | None, default: int, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``; ``default`` when absent."""
    if value is None:
        return default
    if not _INT_RE.fullmatch(value) or not lo <= int(value) <= hi:
        raise BadRequest(f"{name}={value!r} must be an integer from {lo} to {hi}")
    return int(value)
