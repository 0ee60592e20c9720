"""The scheduler: one job per feed, no overlap, a hanging feed never delays the others."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from cityops.base.clock import SystemClock
from cityops.jobs import (
    SKIP_CAUSE,
    SchedulerAlreadyRunning,
    build_scheduler,
    start_scheduler,
    stop_scheduler,
)

FAST = [{"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 10}]


def _feed(url: str, interval: str = "1s") -> dict:
    return {
        "department": "交通",
        "domain": "traffic",
        "cadence": interval,
        "source": {"type": "http", "url": url},
        "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
    }


def test_a_hanging_feed_does_not_delay_the_others(tmp_path, make_runtime, feed_server) -> None:
    def hang(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b"[")
        h.wfile.flush()
        feed_server.stop.wait(30)

    feed_server.handle("/hang", hang)
    feed_server.json("/fast", FAST)
    rt = make_runtime(
        tmp_path,
        {"slow": _feed(feed_server.url("/hang")), "quick": _feed(feed_server.url("/fast"))},
        clock=SystemClock(),
        ingest={"read_timeout": "3s", "retry_attempts": 1},
    )
    scheduler = build_scheduler(rt)
    start_scheduler(scheduler)
    try:
        # Until the quick feed has run twice (about 2 s; longer on a loaded machine, hence no fixed sleep).
        deadline = time.monotonic() + 20
        while (rt.warehouse.runs(feed="quick")["status"] == "ok").sum() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_scheduler(scheduler, wait=False)
    deadline = time.monotonic() + 10
    while (
        rt.warehouse.runs(feed="slow").query("status == 'running'").shape[0] and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    quick = rt.warehouse.runs(feed="quick").sort_values("started_at")
    slow = rt.warehouse.runs(feed="slow").sort_values("started_at")
    # The quick feed ran twice, the second time while the slow one was still stuck in its first fetch.
    ok = quick[quick["status"] == "ok"]
    assert len(ok) >= 2
    assert ok["finished_at"].iloc[1] < slow["finished_at"].iloc[0]
    # max_instances=1: the slow feed never had two runs at once (each runs ~3 s, the interval is 1 s).
    assert (slow["started_at"].iloc[1:].to_numpy() >= slow["finished_at"].iloc[:-1].to_numpy()).all()
    assert (slow["status"] == "failed").all()
    assert slow["error"].str.contains("timed out").all()


def test_scheduler_cannot_start_twice_in_one_process(tmp_path, make_runtime, feed_server) -> None:
    feed_server.json("/fast", FAST)
    rt = make_runtime(tmp_path, {"quick": _feed(feed_server.url("/fast"), "1h")}, clock=SystemClock())
    first = build_scheduler(rt, start_now=False)
    second = build_scheduler(rt, start_now=False)
    start_scheduler(first)
    try:
        with pytest.raises(SchedulerAlreadyRunning):
            start_scheduler(second)
    finally:
        stop_scheduler(first)
    start_scheduler(second)  # once the first is stopped, another may start
    stop_scheduler(second)


def test_jobs_follow_the_configured_schedules(tmp_path, make_runtime, feed_server) -> None:
    feed_server.json("/fast", FAST)
    feeds = {
        "every-5m": _feed(feed_server.url("/fast"), "5m"),
        "by-cron": {**_feed(feed_server.url("/fast"), "1h"), "schedule": {"cron": "15 8 * * *"}},
        "off": {**_feed(feed_server.url("/fast"), "5m"), "enabled": False},
    }
    rt = make_runtime(tmp_path, feeds, clock=SystemClock())
    scheduler = build_scheduler(rt, start_now=False)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {"feed:every-5m", "feed:by-cron", "audit:spool", "jobs:skips"}
    assert jobs["feed:every-5m"].trigger.interval.total_seconds() == 300
    assert jobs["feed:every-5m"].max_instances == 1 and jobs["feed:every-5m"].coalesce
    start = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
    fire = jobs["feed:by-cron"].trigger.get_next_fire_time(None, start)
    assert fire.astimezone(UTC) == datetime(2026, 6, 15, 0, 15, tzinfo=UTC)


def test_the_warning_tick_is_scheduled_with_the_feeds(tmp_path, make_runtime, feed_server) -> None:
    feed_server.json("/fast", FAST)
    rt = make_runtime(
        tmp_path,
        {"quick": _feed(feed_server.url("/fast"), "5m")},
        clock=SystemClock(),
        extra={"warnings": {"tick": "30s"}},
    )
    ticks: list[int] = []

    class Engine:
        def tick(self) -> None:
            ticks.append(1)

    scheduler = build_scheduler(rt, start_now=False, alerting=Engine())
    job = scheduler.get_job("warnings:tick")
    assert job is not None and job.trigger.interval.total_seconds() == 30 and job.max_instances == 1
    job.func(*job.args)  # the job calls the engine's tick
    assert ticks == [1]


def test_a_simulated_clock_gets_each_days_report_once(tmp_path, make_runtime, monkeypatch) -> None:
    from datetime import UTC, date, datetime, timedelta

    import cityops.jobs as jobs
    from cityops.base.clock import FixedClock

    clock = FixedClock(datetime(2026, 6, 14, 23, 0, tzinfo=UTC))  # 06-15 07:00 in Qingyuan
    rt = make_runtime(tmp_path, {}, clock=clock)
    rendered: list[date] = []
    from dashboard.snapshot import last_complete_day

    def fake_snapshot(rt_: object) -> None:  # records the day instead of rendering it (seconds of chromium)
        day = last_complete_day(rt.clock.now(), "Asia/Shanghai")
        rendered.append(day)
        rt.warehouse.save_snapshot(
            day=day,
            status="ok",
            reason=None,
            trigger="schedule",
            rendered_at=rt.clock.now(),
            path=None,
            pack_version=None,
            files=0,
            warnings=0,
        )

    monkeypatch.setattr(jobs, "_snapshot", fake_snapshot)
    start = last_complete_day(clock.now(), "Asia/Shanghai")
    assert start == date(2026, 6, 14)
    jobs.snapshot_when_due(rt, start)
    assert rendered == []  # 08:00 not yet passed since the start
    clock.set(clock.now() + timedelta(hours=1, minutes=5))  # 08:05 local
    jobs.snapshot_when_due(rt, start)
    jobs.snapshot_when_due(rt, start)
    assert rendered == [date(2026, 6, 15)]  # once


def test_skipped_runs_are_logged_once_per_feed_with_a_count(
    tmp_path, make_runtime, feed_server, caplog, monkeypatch
) -> None:
    """A feed whose run outlasts its cadence: the runs that come due meanwhile are skipped; the log has
    one line for the first and then one summary with the count per window, never a line per skip, and
    the count is in the feed's health."""
    import threading
    from datetime import timedelta

    import cityops.jobs
    from dashboard.services import Services

    release = threading.Event()

    def block(h: BaseHTTPRequestHandler) -> None:
        release.wait(60)
        body = b'[{"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 10}]'
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    feed_server.handle("/block", block)
    feed_server.json("/fast", FAST)
    monkeypatch.setattr(cityops.jobs, "SKIP_SUMMARY_EVERY", timedelta(seconds=2))
    rt = make_runtime(
        tmp_path,
        {"slow": _feed(feed_server.url("/block")), "quick": _feed(feed_server.url("/fast"))},
        clock=SystemClock(),
        ingest={"read_timeout": "60s", "retry_attempts": 1},
    )
    scheduler = build_scheduler(rt)
    caplog.set_level("WARNING")
    start_scheduler(scheduler)
    try:
        deadline = time.monotonic() + 30
        while (c := scheduler.skips.for_feed("slow")) is None or c.total < 5:
            assert time.monotonic() < deadline, "the blocked feed's runs were never skipped"
            time.sleep(0.1)
    finally:
        release.set()
        stop_scheduler(scheduler, wait=False)
    time.sleep(2.1)  # the summary window has passed: the skips not yet reported are reported now
    scheduler.skips.flush()
    total = scheduler.skips.for_feed("slow").total
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "maximum number of running instances" in m]
    lines = [m for m in messages if m.startswith("feed slow:")]
    assert lines[0] == (
        "feed slow: a run was skipped: the previous run was still going (runs take longer than the "
        "cadence); further skips are counted and reported every 2 s"
    )
    summaries = [
        re.fullmatch(r"feed slow: (\d+) runs? skipped in the last \d+ s: " + re.escape(SKIP_CAUSE), m)
        for m in lines[1:]
    ]
    assert all(summaries), lines
    assert 1 + sum(int(m.group(1)) for m in summaries if m) == total  # every skip counted, in few lines
    assert len(lines) < total
    assert not [m for m in messages if m.startswith("feed quick:")]

    health = {h.feed: h for h in Services(rt, scheduler=scheduler).feed_health()}
    assert health["slow"].skipped_runs == total and health["slow"].last_skipped_at is not None
    assert health["quick"].skipped_runs == 0 and health["quick"].last_skipped_at is None


def test_twelve_skips_in_ten_minutes_are_one_summary_line(caplog) -> None:
    from datetime import timedelta

    from cityops.jobs import SkippedRuns

    real = [0.0]
    at = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    skips = SkippedRuns(lambda: at, summary_every=timedelta(minutes=10), monotonic=lambda: real[0])
    caplog.set_level("WARNING", logger="cityops.jobs")
    skips.record("feed:water")  # the first: logged at once
    for i in range(11):
        real[0] = 50.0 * (i + 1)  # within the next 10 minutes: counted, not logged
        skips.record("feed:water")
    assert len(caplog.records) == 1
    real[0] = 600.0
    skips.record("feed:water")
    skips.flush()  # nothing more is due
    assert [r.getMessage() for r in caplog.records][1:] == [
        f"feed water: 12 runs skipped in the last 10 min: {SKIP_CAUSE}"
    ]
    assert skips.for_feed("water").total == 13 and skips.for_feed("water").last_at == at
    assert skips.for_feed("air") is None
