"""One feed run, end to end: fetch → land raw → parse → map → validate → upsert → record.

:func:`run_feed` is the function the scheduler and the CLI call; :func:`replay_run` parses a landed
payload again. Both return a :class:`RunReport`. A run never raises for a feed's problems: the error
is recorded on the run (and the feed's state) and returned in the report, so one failing feed never
stops the others.

The shared types live in :mod:`ingest.runtime` and the processing of a landed payload in
:mod:`ingest.process`; their names are re-exported here because callers import them from this module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.stop import stop_base

from cityops.base.domains import Domain
from cityops.base.settings import (
    DatabaseSource,
    FeedSettings,
    FileSource,
    HttpSource,
)
from cityops.base.times import aware_utc
from geo.boundaries import assign_districts
from ingest.errors import (
    IngestError,
    SourceError,
    TerminalError,
    TimeLimitError,
    TransientError,
)
from ingest.landing import Landing, LandingWriter

# run_feed looks process_payload up in this module, so patching ingest.pipeline.process_payload works.
from ingest.process import Processed, process_payload
from ingest.runtime import RunReport, Runtime, mapping_spec, new_run_id, plausibility, resolve_domain
from ingest.sources import FetchContext, FetchOutcome
from ingest.sources.database import fetch_database
from ingest.sources.file import fetch_files, move_aside
from ingest.sources.http import fetch_http

__all__ = [
    "Processed",
    "RunReport",
    "Runtime",
    "mapping_spec",
    "new_run_id",
    "process_payload",
    "replay_run",
    "resolve_domain",
    "run_feed",
]

log = logging.getLogger("cityops.ingest")

# -- running a feed ------------------------------------------------------------------------------


def _since(feed: FeedSettings, state: dict[str, Any] | None, now: datetime) -> datetime | None:
    src = feed.source
    if isinstance(src, HttpSource):
        if src.since is None:
            return None
        wm = state.get("watermark") if state else None
        if wm:
            try:
                return datetime.fromisoformat(wm).astimezone(UTC) - src.since.overlap
            except ValueError:
                pass
        return now - src.since.initial
    return None


def _fetch(src: Any, ctx: FetchContext, writer: LandingWriter) -> FetchOutcome:
    if isinstance(src, HttpSource):
        return fetch_http(src, ctx, writer)
    if isinstance(src, FileSource):
        return fetch_files(src, ctx, writer)
    if isinstance(src, DatabaseSource):
        return fetch_database(src, ctx, writer)
    raise SourceError(f"unknown source type {type(src).__name__}")


def run_feed(
    rt: Runtime,
    name: str,
    *,
    trigger: str = "schedule",
    since: datetime | None = None,
    on_progress: Callable[[str, int, int | None], None] | None = None,
) -> RunReport:
    """Pull one feed now. ``since`` overrides the watermark (a backfill)."""
    settings = rt.settings
    feed = settings.feeds[name]
    domain = resolve_domain(settings, feed.domain)
    lock = rt.feed_lock(name)
    now = rt.clock.now()
    run_id = new_run_id(name, now)
    if not lock.acquire(blocking=False):
        return RunReport(
            run_id, name, "skipped", trigger, notes=["a run of this feed is already in progress"]
        )
    t0 = time.monotonic()
    try:
        state = rt.warehouse.feed_state(name)
        watermark_before = state.get("watermark") if state else None
        rt.warehouse.start_run(run_id, name, trigger, now, watermark_before=watermark_before)
        ing = settings.ingest
        tz = feed.timezone or settings.city.timezone
        ctx = FetchContext(
            feed=name,
            now=now,
            since=since if since is not None else _since(feed, state, now),
            watermark=None if since is not None else watermark_before,
            timezone=tz,
            connect_timeout=ing.connect_timeout,
            read_timeout=ing.read_timeout,
            deadline=t0 + ing.run_timeout.total_seconds(),
            environ=rt.environ,
            on_progress=on_progress,
        )
        report = RunReport(run_id, name, "failed", trigger)
        try:
            writer = rt.landing.writer(
                name,
                run_id,
                now,
                {"source": feed.source.type, "since": ctx.since},
                int(ing.max_payload_mb * 1e6),
            )
        except OSError as exc:  # the landing area cannot be written (full disk, permissions)
            problem = IngestError(
                f"{name}: cannot write the raw landing area: {exc}",
                hint=f"check {rt.settings.storage.raw_dir} (space, permissions)",
            )
            return _fail(rt, report, feed, domain, problem, 0, t0, now)
        rt.warehouse.set_run_raw_path(run_id, str(writer.directory))
        attempts = 0
        causes: list[IngestError] = []  # each failed attempt's error: the real cause is recorded

        def attempt() -> FetchOutcome:
            nonlocal attempts
            if causes and rt.stopping.is_set():  # the backoff was cut short by a stop: no new attempt
                raise causes[-1]
            attempts += 1
            writer.reset()
            try:
                return _fetch(feed.source, ctx, writer)
            except IngestError as exc:
                causes.append(exc)
                raise

        report.raw_path = str(writer.directory)
        try:
            retrying = Retrying(
                retry=retry_if_exception(_retryable),
                # A retry never starts (nor waits) past the run's time limit.
                stop=stop_after_attempt(ing.retry_attempts)
                | _PastDeadline(ctx.deadline)
                | _Stopping(rt.stopping),
                wait=wait_exponential(multiplier=ing.retry_backoff.total_seconds(), max=60),
                sleep=rt.backoff,
                reraise=True,
            )
            outcome = retrying(attempt)
            writer.finish(attempts=attempts)
            processed = process_payload(
                writer.directory,
                feed_name=name,
                feed=feed,
                domain=domain,
                spec=mapping_spec(settings, feed),
                now=now,
                future_tolerance=ing.future_tolerance,
                checks=plausibility(rt, feed, domain, now),
            )
        except IngestError as exc:
            exc = _real_cause(exc, causes)
            if rt.stopping.is_set() and attempts < ing.retry_attempts and _retryable(exc):
                # whether the stop came before the backoff or during it, the record says the same
                exc = TransientError(f"{exc.message}; not retried: the process is stopping", hint=exc.hint)
            writer.finish(attempts=attempts, error=str(exc))
            return _fail(rt, report, feed, domain, exc, attempts, t0, now)
        except Exception as exc:  # a bug must not leave the run 'running' or stop the scheduler thread
            log.exception("feed %s: run %s failed with an internal error", name, run_id)
            writer.finish(attempts=attempts, error=repr(exc))
            internal = IngestError(
                f"{name}: internal error: {type(exc).__name__}: {exc}",
                hint="the raw payload is kept; report this with the run id",
            )
            return _fail(rt, report, feed, domain, internal, attempts, t0, now)
        except RetryError as exc:  # pragma: no cover - reraise=True makes tenacity re-raise the cause
            return _fail(rt, report, feed, domain, TransientError(str(exc)), attempts, t0, now)

        watermark_after = _watermark_after(feed, domain, outcome, processed, now)
        status = "ok"
        notes = processed.notes + outcome.notes
        if processed.failed_parts or outcome.extra.get("oversize"):
            status = (
                "partial"
                if (outcome.files and len(processed.failed_parts) < len(outcome.files))
                else "failed"
            )
            notes += [f"{k}: {v}" for k, v in processed.failed_parts.items()]
        report.status = status
        report.attempts = attempts
        report.rows_fetched = processed.fetched
        report.rows_rejected = processed.rows_refused
        report.rows_duplicate = processed.duplicates
        report.notes = notes
        report.duration_s = time.monotonic() - t0
        if status == "failed":
            report.error = "; ".join(notes) or "every file failed"
            report.error_kind = "terminal"
        summary = _summary(report, rt.clock.now())
        try:
            counts = rt.warehouse.commit_run(
                run_id=run_id,
                feed=name,
                department=feed.department,
                domain=domain,
                accepted=processed.accepted,
                quarantined=processed.quarantined,
                summary=summary,
                watermark_after=watermark_after,
                success=status != "failed",
                locate=assign_districts,
            )
        except Exception as exc:  # the write rolled back: record the failure in a transaction of its own
            log.exception("feed %s: run %s could not be written", name, run_id)
            problem = IngestError(
                f"{name}: writing the run failed: {type(exc).__name__}: {exc}",
                hint="the raw payload is kept; `cityops ingest replay " + run_id + "` once fixed",
            )
            return _fail(rt, report, feed, domain, problem, attempts, t0, now)
        report.rows_inserted, report.rows_updated, report.rows_unchanged = (
            counts.inserted,
            counts.updated,
            counts.unchanged,
        )
        if isinstance(feed.source, FileSource):
            _move_files(feed.source, outcome, processed, now)
        return report
    finally:
        lock.release()


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, TransientError) and not isinstance(exc, TimeLimitError)


class _PastDeadline(stop_base):
    """Stop retrying when the next attempt would start after ``deadline`` (a ``time.monotonic`` value)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() + (retry_state.upcoming_sleep or 0.0) >= self.deadline


class _Stopping(stop_base):
    """Stop retrying once the process is stopping (its backoff waits end at once then)."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.stopping.is_set()


def _real_cause(exc: IngestError, causes: list[IngestError]) -> IngestError:
    """The error to record: a time limit that ran out during a retry is a consequence; the latest
    error before it is the cause (with the time limit said after it)."""
    if not isinstance(exc, TimeLimitError):
        return exc
    earlier = [c for c in causes if not isinstance(c, TimeLimitError)]
    if not earlier:
        return exc
    cause = earlier[-1]
    return type(cause)(f"{cause.message}; then, retrying: {exc.message}", hint=cause.hint)


def _move_files(src: FileSource, outcome: FetchOutcome, processed: Processed, now: datetime) -> None:
    processed_dir = src.processed_dir or src.path / "processed"
    failed_dir = src.failed_dir or src.path / "failed"
    by_part = {f"part-{i:04d}": f for i, f in enumerate(outcome.files, start=1)}
    failed_files = {
        by_part[k.split(".")[0]]: v for k, v in processed.failed_parts.items() if k.split(".")[0] in by_part
    }
    for path in outcome.files:
        if path in failed_files:
            move_aside(path, failed_dir, now, failed_files[path])
        else:
            move_aside(path, processed_dir, now)
    for path in outcome.extra.get("oversize", []):
        move_aside(path, failed_dir, now, "over the payload size limit")


def _watermark_after(
    feed: FeedSettings, domain: Domain, outcome: FetchOutcome, processed: Processed, now: datetime
) -> str | None:
    src = feed.source
    if isinstance(src, DatabaseSource):
        return outcome.watermark
    if isinstance(src, HttpSource) and src.since is not None:
        if domain.storage == "record":
            return now.astimezone(UTC).isoformat()
        if processed.data_max is not None:
            return processed.data_max.isoformat()
    return None


def _summary(report: RunReport, finished: datetime) -> dict[str, Any]:
    return {
        "status": report.status,
        "finished_at": finished,
        "duration_s": report.duration_s,
        "attempts": report.attempts,
        "rows_fetched": report.rows_fetched,
        "rows_duplicate": report.rows_duplicate,
        "error": report.error,
        "error_kind": report.error_kind,
        "notes": "\n".join(report.notes) or None,
    }


def _fail(
    rt: Runtime,
    report: RunReport,
    feed: FeedSettings,
    domain: Domain,
    exc: IngestError,
    attempts: int,
    t0: float,
    now: datetime,
) -> RunReport:
    report.status = "failed"
    report.error = str(exc)
    report.error_kind = "transient" if isinstance(exc, TransientError) else "terminal"
    report.attempts = attempts
    report.duration_s = time.monotonic() - t0
    empty = pd.DataFrame()
    rt.warehouse.commit_run(
        run_id=report.run_id,
        feed=report.feed,
        department=feed.department,
        domain=domain,
        accepted=empty,
        quarantined=empty,
        summary=_summary(report, rt.clock.now()),
        watermark_after=None,
        success=False,
    )
    return report


def replay_run(rt: Runtime, run_id: str) -> RunReport:
    """Parse a landed payload again with today's mapping, as a new run (``replay_of`` the old one)."""
    old = rt.warehouse.run(run_id)
    if old is None:
        raise SourceError(f"no run {run_id!r}", hint="`cityops ingest list` shows recent runs")
    name = old["feed"]
    if name not in rt.settings.feeds:
        raise SourceError(f"run {run_id} belongs to feed {name!r}, which is not in the configuration")
    directory = Path(old["raw_path"]) if old.get("raw_path") else None
    if directory is None or not directory.exists():
        raise SourceError(f"the raw payload of run {run_id} is not in the landing area ({directory})")
    if not Landing.read_meta(directory).get("parts"):
        raise SourceError(
            f"run {run_id} landed no payload (its fetch failed: {old.get('error') or 'no data'}); "
            "there is nothing to replay",
            hint="run the feed again with `cityops ingest run " + name + "`",
        )
    feed = rt.settings.feeds[name]
    domain = resolve_domain(rt.settings, feed.domain)
    now = rt.clock.now()
    new_id = new_run_id(name, now)
    t0 = time.monotonic()
    rt.warehouse.start_run(new_id, name, "replay", now, replay_of=run_id)
    report = RunReport(new_id, name, "failed", "replay", raw_path=str(directory))
    try:
        processed = process_payload(
            directory,
            feed_name=name,
            feed=feed,
            domain=domain,
            spec=mapping_spec(rt.settings, feed),
            now=now,
            future_tolerance=rt.settings.ingest.future_tolerance,
            # The backfill window is measured from when the payload was fetched, so replaying an old
            # run quarantines what that run would have, not everything older than the window today.
            checks=plausibility(rt, feed, domain, aware_utc(old.get("started_at")) or now),
        )
    except (IngestError, TerminalError) as exc:
        return _fail(rt, report, feed, domain, exc, 1, t0, now)
    report.status = "ok"
    report.rows_fetched = processed.fetched
    report.rows_rejected = processed.rows_refused
    report.rows_duplicate = processed.duplicates
    report.notes = processed.notes
    report.duration_s = time.monotonic() - t0
    counts = rt.warehouse.commit_run(
        run_id=new_id,
        feed=name,
        department=feed.department,
        domain=domain,
        accepted=processed.accepted,
        quarantined=processed.quarantined,
        summary=_summary(report, rt.clock.now()),
        watermark_after=None,
        success=True,
        update_feed_state=False,  # a replay says nothing about whether the department's source works now
        locate=assign_districts,
    )
    report.rows_inserted, report.rows_updated, report.rows_unchanged = (
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    rt.warehouse.set_run_raw_path(new_id, str(directory))
    return report
