"""What every run shares: the :class:`Runtime` it runs in, the :class:`RunReport` it returns, and the
small lookups both :func:`~ingest.pipeline.run_feed` and :func:`~ingest.pipeline.replay_run` need
(a feed's domain and mapping spec, a new run id).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cityops.base.clock import Clock, SystemClock
from cityops.base.domains import BUILTIN_DOMAINS, Domain, custom_domain
from cityops.base.settings import FeedSettings, Settings
from cityops.base.times import utc_naive
from cityops.base.warehouse import Warehouse
from ingest.landing import Landing
from ingest.mapping import MappingSpec
from ingest.plausibility import Grid, Plausibility, extent_of


@dataclass
class RunReport:
    run_id: str
    feed: str
    status: str  # ok | partial | failed | skipped
    trigger: str
    rows_fetched: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    duration_s: float = 0.0
    attempts: int = 1
    error: str | None = None
    error_kind: str | None = None
    notes: list[str] = field(default_factory=list)
    raw_path: str | None = None

    @property
    def rows_loaded(self) -> int:
        return self.rows_inserted + self.rows_updated

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "partial")


@dataclass
class Runtime:
    """What a run needs: settings, the warehouse, the clock, the environment (for secrets)."""

    settings: Settings
    warehouse: Warehouse
    clock: Clock = field(default_factory=SystemClock)
    environ: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] | None = None  # a retry's backoff; None: wait on ``stopping``
    stopping: threading.Event = field(default_factory=threading.Event)  # set when the process stops
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def landing(self) -> Landing:
        return Landing(self.settings.storage.raw_dir)

    def backoff(self, seconds: float) -> None:
        """Wait before a retry: with the default ``sleep``, on ``stopping``, so a stop cuts it short."""
        if self.sleep is None:
            self.stopping.wait(seconds)
        elif not self.stopping.is_set():
            self.sleep(seconds)

    def feed_lock(self, feed: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(feed, threading.Lock())


def resolve_domain(settings: Settings, name: str) -> Domain:
    if name in BUILTIN_DOMAINS:
        return BUILTIN_DOMAINS[name]
    spec = settings.domains[name]
    return custom_domain(name, spec.label, spec.entity_kind, [m.model_dump() for m in spec.metrics])


def mapping_spec(settings: Settings, feed: FeedSettings) -> MappingSpec:
    return MappingSpec(
        fields=feed.fields,
        units=feed.units,
        values=feed.values,
        timezone=feed.timezone or settings.city.timezone,
        datum=feed.datum,
        time_format=feed.time_format,
        entity_prefix=feed.entity_prefix,
        missing=feed.conventions.markers,
        day_first=feed.conventions.day_first,
        max_text_chars=settings.ingest.plausibility.max_text_chars,
    )


def plausibility(rt: Runtime, feed: FeedSettings, domain: Domain, now: datetime) -> Plausibility:
    """The plausibility checks of one run of ``feed``: city-wide settings, the feed's backfill window
    and the districts' extent as the warehouse holds them."""
    rules = rt.settings.ingest.plausibility
    extent = None
    if rules.extent_margin_km is not None:
        districts = rt.warehouse.districts()
        if len(districts) and "geometry" in districts:
            extent = extent_of(districts["geometry"], rules.extent_margin_km)
    grid = rules.time_grid.get(domain.name)
    backfill = feed.conventions.backfill
    return Plausibility(
        earliest=datetime.combine(rules.earliest, datetime.min.time()),
        backfill_from=None if backfill is None else utc_naive(now) - backfill,
        extent=extent,
        grid=None if grid is None else Grid(grid.step, grid.tolerance, grid.direction),
        timezone=rt.settings.city.timezone,
    )


def new_run_id(feed: str, at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{feed}-{uuid.uuid4().hex[:6]}"
