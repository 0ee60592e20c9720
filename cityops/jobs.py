"""Scheduler wiring: APScheduler 3 around plain functions (``run_feed``).

One job per enabled feed (interval or cron), ``max_instances=1`` so a feed never overlaps itself,
``coalesce`` so a backlog of missed runs becomes one, a misfire grace, and a thread pool large enough
that a hanging feed (bounded anyway by its fetch timeouts) never delays the others. Retries with
backoff for transient errors happen inside ``run_feed``.

A run that comes due while the previous one is still going is skipped (``max_instances=1``). Under load
that can happen at every tick, so skips are not logged one by one: :class:`SkippedRuns` counts them per
job, logs the first one and then one summary per ``SKIP_SUMMARY_EVERY``, and keeps the count for the
feed health that ``/feeds`` shows.

Only the serving process builds a scheduler, and only when asked (never at import); a process-wide
guard refuses to start a second one, which is what a debug reloader would otherwise do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cityops.base.errors import CityopsError
from ingest.pipeline import RunReport, Runtime, run_feed

log = logging.getLogger("cityops.jobs")

_started_lock = threading.Lock()
_started: BackgroundScheduler | None = None


class SchedulerAlreadyRunning(CityopsError):
    """A scheduler is already running in this process."""


SKIP_SUMMARY_EVERY = timedelta(minutes=10)
SKIP_CAUSE = "the previous run was still going (runs take longer than the cadence)"


class _DropSkipLines(logging.Filter):
    """APScheduler's own line for each skipped run; :class:`SkippedRuns` reports skips instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


_scheduler_log = logging.getLogger("cityops.jobs.scheduler")
_scheduler_log.addFilter(_DropSkipLines())


@dataclass(frozen=True)
class SkipCount:
    """The runs of one job skipped since the process started, and the time (``rt.clock``) of the last."""

    total: int
    last_at: datetime


def _span(seconds: float) -> str:
    return f"{round(seconds / 60)} min" if seconds >= 90 else f"{round(seconds)} s"


def _subject(job_id: str) -> str:
    return f"feed {job_id.removeprefix('feed:')}" if job_id.startswith("feed:") else f"job {job_id}"


class SkippedRuns:
    """Skipped runs per job (a run came due while the previous one was still going), in memory.

    The first skip of a job is logged at once; later ones are counted and logged as one line per job
    when ``summary_every`` (real time) has passed since that job's last line."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        summary_every: timedelta | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._every = (summary_every or SKIP_SUMMARY_EVERY).total_seconds()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._counts: dict[str, SkipCount] = {}
        self._pending: dict[str, int] = {}  # skips not yet in a log line
        self._logged_at: dict[str, float] = {}

    def listen(self, event: JobSubmissionEvent) -> None:
        """The scheduler's EVENT_JOB_MAX_INSTANCES listener."""
        self.record(event.job_id)

    def record(self, job_id: str) -> None:
        at, now = self._clock(), self._monotonic()
        with self._lock:
            before = self._counts.get(job_id)
            self._counts[job_id] = SkipCount((before.total if before else 0) + 1, at)
            if before is None:
                self._logged_at[job_id] = now
                line: tuple[Any, ...] | None = (
                    "%s: a run was skipped: %s; further skips are counted and reported every %s",
                    _subject(job_id),
                    SKIP_CAUSE,
                    _span(self._every),
                )
            else:
                self._pending[job_id] = self._pending.get(job_id, 0) + 1
                line = self._summary(job_id, now)
        if line is not None:
            log.warning(*line)

    def flush(self) -> None:
        """Log the summaries that are due now (a job whose skips stopped is reported all the same)."""
        now = self._monotonic()
        with self._lock:
            lines = [line for job_id in list(self._pending) if (line := self._summary(job_id, now))]
        for line in lines:
            log.warning(*line)

    def _summary(self, job_id: str, now: float) -> tuple[Any, ...] | None:
        pending = self._pending.get(job_id, 0)
        since = now - self._logged_at.get(job_id, now)
        if not pending or since < self._every:
            return None
        self._pending[job_id] = 0
        self._logged_at[job_id] = now
        return (
            "%s: %d run%s skipped in the last %s: %s",
            _subject(job_id),
            pending,
            "" if pending == 1 else "s",
            _span(since),
            SKIP_CAUSE,
        )

    def counts(self) -> dict[str, SkipCount]:
        """Skips by job id (feeds: ``feed:<name>``)."""
        with self._lock:
            return dict(self._counts)

    def for_feed(self, feed: str) -> SkipCount | None:
        return self.counts().get(f"feed:{feed}")


class CityScheduler(BackgroundScheduler):
    """The process's scheduler, with the count of its skipped runs (:class:`SkippedRuns`)."""

    skips: SkippedRuns


def _job(rt: Runtime, name: str, on_report: Callable[[RunReport], None] | None) -> None:
    try:
        report = run_feed(rt, name, trigger="schedule")
    except Exception:  # the scheduler thread must survive anything a run does; the run records its own errors
        log.exception("feed %s: run crashed", name)
        return
    if report.status == "failed":
        log.warning("feed %s: %s", name, report.error)
    if on_report is not None:
        on_report(report)


def _tick(alerting: Any) -> None:
    try:
        alerting.tick()
    except Exception:  # the tick runs again next time; a bug must not kill the scheduler thread
        # The engine has recorded it as an engine fault: logged once per cause with its traceback, and
        # shown on /healthz; here only at debug level, so a tick failing every 30 s does not flood the log.
        log.debug("warning evaluation tick failed", exc_info=True)


def _snapshot(rt: Runtime) -> None:
    """Render the day that just ended and deliver it (when configured); never kills the scheduler."""
    try:
        from dashboard.snapshot import deliver_snapshot, last_complete_day, render_snapshot

        settings = rt.settings
        day = last_complete_day(rt.clock.now(), settings.city.timezone, settings.snapshots.cut_off_time)
        result = render_snapshot(rt, day, trigger="schedule")
        if result.status != "ok":
            log.warning("snapshot %s: %s: %s", day, result.status, result.reason)
        if settings.snapshots.deliver:
            deliver_snapshot(rt, result)
    except Exception:  # the next day runs again; a bug must not kill the scheduler thread
        log.exception("daily snapshot failed")


def _flush_skips(skips: SkippedRuns) -> None:
    try:
        skips.flush()
    except Exception:  # a log line is not worth the scheduler thread
        log.exception("reporting skipped runs failed")


def import_audit_spool(rt: Runtime) -> int:
    """Bring the audit events other processes spooled (they could not open the warehouse) into the
    audit log; how many were new. Never kills the scheduler thread."""
    try:
        return rt.warehouse.import_audit_spool(rt.settings.storage.audit_spool_path)
    except Exception:  # the spool stays where it is and the next minute tries again
        log.exception("importing the audit spool failed")
        return 0


def snapshot_when_due(rt: Runtime, after: Any) -> None:
    """For a simulated clock (the demo): render each day whose cut-off the clock has passed since
    ``after``, once — the cron job runs on real time, which a clock 60× faster leaves behind."""
    from dashboard.snapshot import last_complete_day

    settings = rt.settings
    day = last_complete_day(rt.clock.now(), settings.city.timezone, settings.snapshots.cut_off_time)
    if day > after and rt.warehouse.snapshot(day) is None:
        _snapshot(rt)


def build_scheduler(
    rt: Runtime,
    *,
    on_report: Callable[[RunReport], None] | None = None,
    start_now: bool = True,
    alerting: Any | None = None,
) -> CityScheduler:
    """A scheduler with one job per enabled feed and, with ``alerting``, the warning tick and the daily
    snapshot (``snapshot:daily``, when ``snapshots.enabled``); not started."""
    settings = rt.settings
    tz = settings.city.timezone
    enabled = [n for n, f in settings.feeds.items() if f.enabled]
    scheduler = CityScheduler(
        logger=_scheduler_log,
        executors={
            "default": ThreadPoolExecutor(max_workers=max(settings.scheduler.max_workers, len(enabled) + 1))
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(settings.scheduler.misfire_grace.total_seconds()),
        },
        timezone=tz,
    )
    scheduler.skips = SkippedRuns(rt.clock.now)
    scheduler.add_listener(scheduler.skips.listen, EVENT_JOB_MAX_INSTANCES)
    grace = int(settings.scheduler.misfire_grace.total_seconds())
    for name in enabled:
        sched = settings.feeds[name].effective_schedule
        if sched.interval is not None:
            # With a simulated clock the cadence is in simulated time; the trigger runs in real time.
            seconds = max(0.5, rt.clock.to_real_seconds(sched.interval))
            trigger = IntervalTrigger(
                seconds=seconds, timezone=tz, jitter=int(sched.jitter.total_seconds()) or None
            )
        else:
            assert sched.cron is not None
            trigger = CronTrigger.from_crontab(sched.cron, timezone=tz)
        kwargs = {}
        if start_now:
            kwargs["next_run_time"] = datetime.now(UTC) + timedelta(seconds=0.2)
        scheduler.add_job(
            _job,
            trigger,
            args=[rt, name, on_report],
            id=f"feed:{name}",
            name=f"ingest {name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
            **kwargs,
        )
    scheduler.add_job(
        import_audit_spool,
        IntervalTrigger(seconds=60, timezone=tz),
        args=[rt],
        id="audit:spool",
        name="import the audit spool",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=grace,
        **({"next_run_time": datetime.now(UTC) + timedelta(seconds=1)} if start_now else {}),
    )
    scheduler.add_job(
        _flush_skips,
        IntervalTrigger(seconds=60, timezone=tz),
        args=[scheduler.skips],
        id="jobs:skips",
        name="report skipped runs",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=grace,
    )
    if alerting is not None:
        tick = max(0.5, rt.clock.to_real_seconds(settings.warnings.tick))
        scheduler.add_job(
            _tick,
            IntervalTrigger(seconds=tick, timezone=tz),
            args=[alerting],
            id="warnings:tick",
            name="evaluate warnings",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
        )
    if alerting is not None and settings.snapshots.enabled:
        # A warning report: scheduled alongside the warning evaluation that produces its content.
        scheduler.add_job(
            _snapshot,
            CronTrigger.from_crontab(settings.snapshots.cron, timezone=tz),
            args=[rt],
            id="snapshot:daily",
            name="daily warning snapshot",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return scheduler


def start_scheduler(scheduler: BackgroundScheduler) -> None:
    """Start ``scheduler`` unless this process already runs one."""
    global _started
    with _started_lock:
        if _started is not None and _started.running:
            raise SchedulerAlreadyRunning(
                "a scheduler is already running in this process",
                hint="run one `cityops serve` per database; never under a debug reloader",
            )
        scheduler.start()
        _started = scheduler


def stop_scheduler(scheduler: BackgroundScheduler, *, wait: bool = True) -> None:
    global _started
    with _started_lock:
        if scheduler.running:
            scheduler.shutdown(wait=wait)
        if _started is scheduler:
            _started = None
