"""What every run shares: the :class:`Runtime` it runs in, the :class:`RunReport` it returns, and the
small lookups both :func:`~ingest.pipeline.run_feed` and :func:`~ingest.pipeline.replay_run` need
(a feed's domain and mapping spec, a new run id).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cityops.base.clock import Clock, SystemClock
from cityops.base.domains import BUILTIN_DOMAINS, Domain, custom_domain
from cityops.base.settings import FeedSettings, Settings
from cityops.base.warehouse import Warehouse
from ingest.landing import Landing
from ingest.mapping import MappingSpec


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
    sleep: Callable[[float], None] = time.sleep
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def landing(self) -> Landing:
        return Landing(self.settings.storage.raw_dir)

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
    )


def new_run_id(feed: str, at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{feed}-{uuid.uuid4().hex[:6]}"
