"""Stopping the server never waits on a retry's backoff: the wait ends at once and no new attempt starts.

A real server (scheduler, waitress on a free loopback port, DuckDB file) and a feed on loopback that
always answers 503; the first retry would wait a minute.
"""

from __future__ import annotations

import threading

from cityops.base.clock import SystemClock
from cityops.base.warehouse import Warehouse
from cityops.server import build_server
from ingest.pipeline import run_feed
from tests.helpers import returns


def test_stopping_during_an_ingest_backoff_ends_the_run_without_another_attempt(
    tmp_path, make_runtime, feed_server
) -> None:
    feed_server.json("/busy", {"error": "系统繁忙"}, status=503)
    attempted = threading.Event()
    busy = feed_server.routes["/busy"]

    def answer(h) -> None:
        busy(h)
        attempted.set()

    feed_server.handle("/busy", answer)
    feed = {
        "department": "交通",
        "domain": "traffic",
        "cadence": "1h",
        "source": {"type": "http", "url": feed_server.url("/busy")},
        "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
    }
    rt = make_runtime(
        tmp_path,
        {"busy": feed},
        clock=SystemClock(),
        # the first retry would wait 60 s (the backoff's cap), well inside the run's time limit
        ingest={"retry_attempts": 2, "retry_backoff": "60s", "run_timeout": "1h"},
    )
    rt.sleep = None  # the real backoff: a wait that a stop cuts short
    server = build_server(rt, host="127.0.0.1", port=0)
    server.start_background()
    try:
        assert attempted.wait(60), "the scheduled run never reached the feed"
    finally:
        # a hang guard half the backoff: a stop that waited for the backoff would not be back by then
        returns(server.stop, guard_s=30)
    assert len(feed_server.hits("/busy")) == 1  # and no attempt started after the stop
    wh = Warehouse(rt.settings.storage.database_path)
    try:
        run = wh.runs(feed="busy").iloc[0]
        assert run["status"] == "failed"
        assert "503" in run["error"] and "not retried: the process is stopping" in run["error"]
    finally:
        wh.close()


def test_a_stop_before_the_backoff_records_the_same_as_a_stop_during_it(
    tmp_path, make_runtime, feed_server
) -> None:
    """The stop lands while the first attempt is still in flight: the retry's check sees it before any
    wait, and the run says so in the same words."""
    feed_server.json("/busy", {"error": "系统繁忙"}, status=503)
    busy = feed_server.routes["/busy"]
    feed = {
        "department": "交通",
        "domain": "traffic",
        "cadence": "1h",
        "source": {"type": "http", "url": feed_server.url("/busy")},
        "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
    }
    rt = make_runtime(tmp_path, {"busy": feed}, ingest={"retry_attempts": 3, "retry_backoff": "60s"})
    waits: list[float] = []
    rt.sleep = waits.append

    def answer(h) -> None:
        rt.stopping.set()  # the process begins to stop before the department has answered
        busy(h)

    feed_server.handle("/busy", answer)
    report = returns(lambda: run_feed(rt, "busy"))
    assert report.status == "failed" and report.attempts == 1 and waits == []
    assert len(feed_server.hits("/busy")) == 1
    assert "503" in report.error and "not retried: the process is stopping" in report.error
