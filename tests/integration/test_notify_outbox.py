"""The durable outbound side: notifications go through the warehouse's outbox and are delivered at least
once across restarts and kill -9, with the same idempotency key; stopping never waits on a backoff.

Real parts: a DuckDB file, webhook receivers on loopback, the delivering process as a real subprocess
killed with SIGKILL while the receiver holds its request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cityops.alerting import Alerting, load_rule_pack
from cityops.base.settings import load_settings
from cityops.base.warehouse import OutboxItem, Warehouse
from cityops.notify import Notification, NotificationTarget, Notifier
from cityops.notify.message import notification_to_json
from sample_data.generator import Scenario
from tests.conftest import LoopbackServer
from tests.helpers import build_demo_city, returns, run_cityops

NOW = datetime(2026, 6, 15, 1, 5, tzinfo=UTC)


class Receiver:
    """A webhook receiver. ``mode``: "ok" answers 200, "hold" keeps the request open until the test
    ends (or ``release`` is set), "busy" answers 503. Every request is recorded (headers, JSON body)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.received: list[tuple[dict[str, str], Any]] = []
        self.arrived = threading.Condition()
        self.stop = threading.Event()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.arrived:
                    outer.received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                    outer.arrived.notify_all()
                mode = outer.mode
                if mode == "hold":
                    outer.stop.wait(120)
                    return
                status = 503 if mode == "busy" else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LoopbackServer(H)

    def url(self) -> str:
        return self.server.url("/hook")

    def wait_for(self, n: int, guard_s: float = 60) -> None:
        with self.arrived:
            got = self.arrived.wait_for(lambda: len(self.received) >= n, guard_s)
        assert got, f"the receiver got {len(self.received)} requests, expected {n}"

    def close(self) -> None:
        self.stop.set()
        self.server.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def note(**overrides: Any) -> Notification:
    base: dict[str, Any] = {
        "event": "raised",
        "warning_id": "w-7",
        "dedup_key": "water.level:HY001",
        "rule_id": "water.level",
        "rule_title": "北江水位超警戒",
        "level": "orange",
        "state": "active",
        "department": "水利局",
        "district": "清城区",
        "entity_name": "石角站",
        "summary": "石角站水位 11.42 m，超警戒 0.42 m",
        "raised_at": NOW,
        "at": NOW,
    }
    base.update(overrides)
    return Notification(**base)


def target(url: str, **fields: Any) -> NotificationTarget:
    data: dict[str, Any] = {
        "name": "值班群",
        "format": "generic",
        "url": url,
        "timeout": 30,
        "max_attempts": 1,
    }
    data.update(fields)
    return NotificationTarget.model_validate(data)


# The delivering process: a notifier over the outbox of the database file; "once" exits when nothing
# is left to deliver, "forever" runs until killed.
DELIVERER = """
import sys, time
from cityops.base.settings import load_settings
from cityops.base.warehouse import Warehouse
from cityops.notify import NotificationTarget, Notifier
db, url, mode = sys.argv[1:4]
wh = Warehouse(db)
t = NotificationTarget.model_validate(
    {"name": "值班群", "format": "generic", "url": url, "timeout": 30, "max_attempts": 1}
)
n = Notifier([t], log=wh.log_delivery, environ={}, outbox=wh, poll=0.05)
print("started", flush=True)
while mode == "forever" or set(wh.outbox_counts()) - {"delivered", "failed"}:
    time.sleep(0.05)
n.close(10)
wh.close()
"""


def start_deliverer(db: Path, url: str, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", DELIVERER, str(db), url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    return proc


def test_a_message_in_flight_when_the_process_is_killed_is_delivered_after_the_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = tmp_path / "warehouse.duckdb"
    wh = Warehouse(db)
    sender = Notifier([target(receiver.url())], log=wh.log_delivery, environ={}, outbox=wh)
    sender.close()  # its worker is stopped: the message only waits in the outbox
    sender.submit(note())
    assert wh.outbox_counts() == {"pending": 1}
    wh.close()

    receiver.mode = "hold"  # the first delivery never gets an answer
    first = start_deliverer(db, receiver.url(), "forever")
    try:
        receiver.wait_for(1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL

    receiver.mode = "ok"
    second = start_deliverer(db, receiver.url(), "once")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err

    assert len(receiver.received) == 2  # at least once: the killed attempt and the redelivery
    (h1, b1), (h2, b2) = receiver.received
    assert b1["message_id"] and b1["message_id"] == b2["message_id"] == h1["idempotency-key"]
    assert h2["idempotency-key"] == h1["idempotency-key"]
    assert b2["warning_id"] == "w-7" and b2["summary"] == "石角站水位 11.42 m，超警戒 0.42 m"

    wh = Warehouse(db)
    try:
        row = wh.outbox().iloc[0]
        assert row["status"] == "delivered" and row["claims"] == 2 and row["http_status"] == 200
        log = wh.delivery_log()
        assert list(log["status"]) == ["delivered"] and log["message_id"].iloc[0] == b1["message_id"]
    finally:
        wh.close()


def test_stopping_during_a_retry_backoff_returns_at_once_and_keeps_the_message(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.mode = "busy"
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    try:
        # a 600 s backoff after the first 503: a stop that waited for it would hang the guard below
        hook = target(receiver.url(), max_attempts=3, backoff=600, timeout=5)
        notifier = Notifier([hook], log=wh.log_delivery, environ={}, outbox=wh, poll=0.05)
        notifier.submit(note())
        receiver.wait_for(1)
        assert returns(lambda: notifier.close(30), guard_s=60) is True
        assert len(receiver.received) == 1  # stopped inside the backoff, before a second attempt
        row = wh.outbox().iloc[0]
        # not a verdict on the message: pending again, with the attempt counted, for the next start
        assert row["status"] == "pending" and row["attempts"] == 1 and row["http_status"] == 503
    finally:
        wh.close()


def test_a_target_that_refuses_for_good_is_marked_failed_with_its_attempts(
    tmp_path: Path, receiver: Receiver
) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    try:
        receiver.mode = "busy"
        hook = target(receiver.url(), max_attempts=2, backoff=0)
        notifier = Notifier([hook], log=wh.log_delivery, environ={}, outbox=wh, poll=0.05)
        notifier.submit(note())
        receiver.wait_for(2)
        for _ in range(600):  # a hang guard: the worker records the outcome right after the last answer
            if wh.outbox_counts().get("failed"):
                break
            threading.Event().wait(0.05)
        notifier.close()
        row = wh.outbox().iloc[0]
        assert row["status"] == "failed" and row["attempts"] == 2 and "HTTP 503" in row["error"]
        assert list(wh.delivery_log()["status"]) == ["failed"]
    finally:
        wh.close()


def test_the_same_event_enqueued_twice_is_one_message(tmp_path: Path, receiver: Receiver) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    try:
        notifier = Notifier([target(receiver.url())], log=wh.log_delivery, environ={}, outbox=wh)
        notifier.close()
        notifier.submit(note())
        notifier.submit(note())
        notifier.submit(note(event="resolved"))
        frame = wh.outbox()
        assert len(frame) == 2 and frame["message_id"].nunique() == 2
    finally:
        wh.close()


def test_notify_log_lists_the_outbox_as_a_process(tmp_path: Path, receiver: Receiver) -> None:
    config = tmp_path / "cityops.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', "utf-8")
    wh = Warehouse(load_settings(config, environ={}).storage.database_path)
    try:
        hooks = [target(receiver.url()), target(receiver.url(), name="[red]应急群[/red]", max_attempts=1)]
        receiver.mode = "ok"
        notifier = Notifier(hooks[:1], log=wh.log_delivery, environ={}, outbox=wh, poll=0.05)
        notifier.submit(note(warning_id="w-delivered"))
        receiver.wait_for(1)
        for _ in range(600):  # a hang guard: the outcome is recorded right after the answer
            if wh.outbox_counts().get("delivered"):
                break
            threading.Event().wait(0.05)
        notifier.close()
        waiting = Notifier(hooks[1:], log=wh.log_delivery, environ={}, outbox=wh)
        waiting.close()  # stopped: its message stays pending
        waiting.submit(note(warning_id="w-waiting"))
    finally:
        wh.close()

    done = run_cityops("notify", "log", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    delivered = next(line for line in lines if "w-delivered" in line)
    assert "delivered" in delivered and "值班群" in delivered
    pending = next(line for line in lines if "w-waiting" in line)
    assert "pending" in pending and "[red]应急群[/red]" in pending  # a name is shown as text, not markup
    assert "outbox: 1 waiting, 0 failed, 1 delivered" in done.stdout

    only = run_cityops("notify", "log", "--config", str(config), "--status", "pending", cwd=tmp_path)
    assert only.returncode == 0 and "w-waiting" in only.stdout and "w-delivered" not in only.stdout

    wrong = run_cityops("notify", "log", "--config", str(config), "--status", "lost", cwd=tmp_path)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "--status 'lost' is not a delivery status" in wrong.stderr and "delivered" in wrong.stderr


def test_warning_ticks_write_their_notifications_to_the_outbox_and_each_is_delivered(
    tmp_path: Path, receiver: Receiver
) -> None:
    scenario = Scenario()
    with build_demo_city(
        tmp_path,
        now=scenario.storm_peak + timedelta(hours=1),
        backfill_since=scenario.storm_peak - timedelta(hours=5),
    ) as city:
        rt = city.runtime
        hook = target(receiver.url(), events=["raised", "escalated", "resolved"], min_level="blue")
        notifier = Notifier([hook], log=rt.warehouse.log_delivery, environ={}, outbox=rt.warehouse, poll=0.05)
        engine = Alerting(rt, load_rule_pack(rt.settings), notifier=notifier)
        t = scenario.storm_peak - timedelta(hours=1)
        events = 0
        while t <= scenario.storm_peak + timedelta(hours=1):
            city.clock.set(t)
            events += sum(e.kind in hook.events for e in engine.tick().events)
            t += timedelta(minutes=10)
        for _ in range(1200):  # a hang guard: the worker delivers what the ticks wrote
            if not set(rt.warehouse.outbox_counts()) - {"delivered", "failed"}:
                break
            threading.Event().wait(0.05)
        notifier.close()
        outbox = rt.warehouse.outbox(limit=10_000)
    assert events > 0 and len(outbox) == events  # one row per event the target takes
    assert set(outbox["status"]) == {"delivered"} and (outbox["claims"] == 1).all()
    keys = [h["idempotency-key"] for h, _ in receiver.received]
    assert sorted(keys) == sorted(outbox["message_id"])  # each delivered once, under its own key
    by_key = {h["idempotency-key"]: b for h, b in receiver.received}
    for row in outbox.to_dict("records"):
        assert by_key[row["message_id"]]["warning_id"] == row["warning_id"]
        assert by_key[row["message_id"]]["event"] == row["event"]


def test_the_outbox_rows_are_written_with_the_warning_change_or_not_at_all(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    try:
        item = OutboxItem("m-1", "值班群", "raised", "w-1", notification_to_json(note(warning_id="w-1")))
        broken = OutboxItem("m-2", "值班群", "raised", "w-2", "{not json")

        @dataclass
        class Transition:
            warning_id: str = "w-1"
            dedup_key: str = "water.level:HY001"
            at: datetime = NOW
            from_state: str | None = None
            to_state: str = "pending"
            from_level: int | None = None
            to_level: int | None = 2
            actor: str = "system"
            reason: str = "threshold crossed"

        with pytest.raises(duckdb.Error, match="JSON"):  # the second row cannot be stored: nothing is
            wh.save_warnings([], [Transition()], outbox=[item, broken], at=NOW)
        assert wh.outbox_counts() == {} and wh.warning_transitions("w-1").empty
        wh.save_warnings([], [Transition()], outbox=[item], at=NOW)
        assert wh.outbox_counts() == {"pending": 1} and len(wh.warning_transitions("w-1")) == 1
    finally:
        wh.close()


def test_messages_are_delivered_in_the_order_they_were_enqueued(tmp_path: Path, receiver: Receiver) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    try:
        hook = target(receiver.url(), events=["raised", "escalated", "resolved"])
        writer = Notifier([hook], log=wh.log_delivery, environ={}, outbox=wh)
        writer.close()  # only writes: the messages wait in the outbox
        order = [("w-9", "raised"), ("w-1", "raised"), ("w-9", "escalated"), ("w-1", "resolved")]
        for warning_id, event in order:  # the same time for all: only the enqueue order tells them apart
            writer.submit(note(warning_id=warning_id, event=event, level="red"))
        reader = Notifier([hook], log=wh.log_delivery, environ={}, outbox=wh, poll=0.05)
        receiver.wait_for(len(order))
        reader.close()
        assert [(b["warning_id"], b["event"]) for _, b in receiver.received] == order
    finally:
        wh.close()
