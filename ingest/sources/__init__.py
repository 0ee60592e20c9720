"""Sources: the I/O half of ingest. Each fetches a feed's payload into the landing area and nothing
else; parsing and mapping happen afterwards on the landed bytes (so replay takes the same path).

Every source takes a :class:`FetchContext` and a :class:`~ingest.landing.LandingWriter`, raises only
:class:`~ingest.errors.IngestError` subclasses (transient or terminal), and returns a
:class:`FetchOutcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FetchContext:
    feed: str
    now: datetime  # aware UTC, by the platform's clock
    since: datetime | None  # aware UTC; None when the feed is not incremental
    watermark: str | None  # the stored watermark as the source wrote it
    timezone: str
    connect_timeout: timedelta
    read_timeout: timedelta
    deadline: float  # time.monotonic() value after which the fetch gives up
    environ: dict[str, str] = field(default_factory=dict)
    on_progress: Callable[[str, int, int | None], None] | None = None  # (what, done, total)


@dataclass
class FetchOutcome:
    watermark: str | None = None  # a source-native watermark (database sources)
    files: list[Path] = field(default_factory=list)  # file sources: what to move aside after commit
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
