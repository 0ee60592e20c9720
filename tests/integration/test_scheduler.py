"""The scheduler: one job per feed, no overlap, a hanging feed never delays the others."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from cityops.clock import SystemClock
from cityops.jobs import (
    SchedulerAlreadyRunning,
    build_scheduler,
    start_scheduler,
    stop_scheduler,
)

FAST = [{"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 10}]


def _feed(url: str, interval: str = "1s") -> dict:
    return {
        "department": "交通", "domain": "traffic", "cadence": interval,
        "source": {"type": "http", "url": url},
        "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
    }  # fmt: skip


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
        time.sleep(2.6)
    finally:
        stop_scheduler(scheduler, wait=False)
    deadline = time.monotonic() + 10
    while rt.warehouse.runs(feed="slow").query("status == 'running'").shape[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    quick = rt.warehouse.runs(feed="quick")
    slow = rt.warehouse.runs(feed="slow")
    # The quick feed ran about every second while the slow one was stuck in its first fetch.
    assert (quick["status"] == "ok").sum() >= 2
    # max_instances=1: the slow feed never had two runs at once (its first ran ~3 s, the interval is 1 s).
    assert len(slow) <= 2
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
    assert set(jobs) == {"feed:every-5m", "feed:by-cron"}
    assert jobs["feed:every-5m"].trigger.interval.total_seconds() == 300
    assert jobs["feed:every-5m"].max_instances == 1 and jobs["feed:every-5m"].coalesce
    start = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
    fire = jobs["feed:by-cron"].trigger.get_next_fire_time(None, start)
    assert fire.astimezone(UTC) == datetime(2026, 6, 15, 0, 15, tzinfo=UTC)


def test_the_warning_tick_is_scheduled_with_the_feeds(tmp_path, make_runtime, feed_server) -> None:
    feed_server.json("/fast", FAST)
    rt = make_runtime(tmp_path, {"quick": _feed(feed_server.url("/fast"), "5m")}, clock=SystemClock(),
                      extra={"warnings": {"tick": "30s"}})  # fmt: skip
    ticks: list[int] = []

    class Engine:
        def tick(self) -> None:
            ticks.append(1)

    scheduler = build_scheduler(rt, start_now=False, alerting=Engine())
    job = scheduler.get_job("warnings:tick")
    assert job is not None and job.trigger.interval.total_seconds() == 30 and job.max_instances == 1
    job.func(*job.args)  # the job calls the engine's tick
    assert ticks == [1]
