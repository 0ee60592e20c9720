"""Sources: the I/O half of ingest. Each fetches a feed's payload into the landing area and nothing
else; parsing and mapping happen afterwards on the landed bytes (so replay takes the same path).

Every source takes a :class:`FetchContext` and a :class:`~ingest.landing.LandingWriter`, raises only
:class:`~ingest.errors.IngestError` subclasses (transient or terminal), and returns a
:class:`FetchOutcome`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cityops.base.redact import redact_text, secret_values


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


def source_secrets(source: Any, environ: Mapping[str, str]) -> set[str]:
    """The secret values of one feed's source as configured and resolved against ``environ``: what
    ``${ENV}`` references stand for, credential-looking headers and parameters, a URL's or DSN's
    password and its credential-looking query values. Messages are scrubbed of them."""
    headers = getattr(source, "headers", None) or {}
    params = getattr(source, "params", None) or {}
    urls = [u for u in (getattr(source, "url", None), getattr(source, "dsn", None)) if isinstance(u, str)]
    return secret_values(
        references=[*headers.values(), *params.values(), *urls],
        named={**params, **headers},
        urls=urls,
        environ=environ,
    )


def feed_secrets(settings: Any, environ: Mapping[str, str]) -> set[str]:
    """The secret values of every configured feed (:func:`source_secrets`)."""
    found: set[str] = set()
    feeds: Iterable[Any] = getattr(settings, "feeds", {}).values()
    for feed in feeds:
        found |= source_secrets(feed.source, environ)
    return found


def scrub_error(exc: Exception, secrets: Iterable[str]) -> Exception:
    """``exc`` (a :class:`~cityops.base.errors.CityopsError`) with URLs and ``secrets`` masked in its
    message and hint, in place: what a source raises is recorded, logged and shown."""
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        exc.message = redact_text(message, secrets)  # type: ignore[attr-defined]
        exc.args = (exc.message,)  # type: ignore[attr-defined]
    hint = getattr(exc, "hint", None)
    if isinstance(hint, str):
        exc.hint = redact_text(hint, secrets)  # type: ignore[attr-defined]
    return exc
