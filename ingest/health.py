"""Feed health: is each feed's data fresh, late or stale against its expected cadence? Pure.

The age is measured from the newest observation the feed delivered (for observation domains: a
source that answers 200 but sends yesterday's readings is not healthy), or from the last successful
run for event feeds such as incidents, which may legitimately stay quiet for hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Freshness = Literal["fresh", "late", "stale", "never"]


def classify_freshness(
    last: datetime | None,
    cadence: timedelta,
    now: datetime,
    *,
    late_after: float = 2.0,
    stale_after: float = 6.0,
) -> Freshness:
    """``fresh`` within late_after × cadence, ``late`` within stale_after × cadence, then ``stale``.

    >>> from datetime import datetime, timedelta, UTC
    >>> now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    >>> classify_freshness(now - timedelta(minutes=7), timedelta(minutes=5), now)
    'fresh'
    >>> classify_freshness(now - timedelta(minutes=20), timedelta(minutes=5), now)
    'late'
    >>> classify_freshness(None, timedelta(minutes=5), now)
    'never'
    """
    if last is None:
        return "never"
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    age = now - last
    if age <= cadence * late_after:
        return "fresh"
    if age <= cadence * stale_after:
        return "late"
    return "stale"


@dataclass(frozen=True)
class FeedHealth:
    feed: str
    department: str
    domain: str
    freshness: Freshness
    cadence: timedelta
    last_success_at: datetime | None
    last_data_at: datetime | None
    last_run_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    age: timedelta | None
    # Runs skipped by the scheduler of this process because the previous run was still going (runs take
    # longer than the cadence), and when the last was; filled in by the serving process.
    skipped_runs: int = 0
    last_skipped_at: datetime | None = None


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        if value != value:  # NaT
            return None
    except TypeError:
        pass
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def compute_feed_health(
    feeds: dict[str, Any],
    states: dict[str, dict[str, Any]],
    event_domains: set[str],
    now: datetime,
    *,
    late_after: float,
    stale_after: float,
) -> list[FeedHealth]:
    """Health of every configured feed from its stored state (``Warehouse.feed_state`` rows by feed)."""
    out = []
    for name, feed in feeds.items():
        st = states.get(name, {})
        last_success = _aware(st.get("last_success_at"))
        last_data = _aware(st.get("last_data_at"))
        reference = last_success if feed.domain in event_domains else (last_data or None)
        fresh = classify_freshness(
            reference, feed.cadence, now, late_after=late_after, stale_after=stale_after
        )
        failures = int(st.get("consecutive_failures") or 0)
        out.append(
            FeedHealth(
                feed=name,
                department=feed.department,
                domain=feed.domain,
                freshness=fresh,
                cadence=feed.cadence,
                last_success_at=last_success,
                last_data_at=last_data,
                last_run_at=_aware(st.get("last_run_at")),
                last_error=st.get("last_error") if failures else None,
                consecutive_failures=failures,
                age=(now - reference) if reference else None,
            )
        )
    return out
