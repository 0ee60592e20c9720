"""The warning engine on the demo scenario: a golden back-test with reviewed expectations, live ticks
persisted with their audit trail, notifications to a real local webhook, and feed-outage suppression."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cityops.alerting import Alerting, backtest, load_rule_pack, state_from_row
from cityops.clock import FixedClock
from cityops.demo import DEMO_TOKEN, DEMO_TOKEN_ENV, demo_settings
from cityops.notify import NotificationTarget, Notifier
from cityops.reference import load_reference_data
from cityops.warehouse import open_warehouse
from ingest.demo_server import DemoFeedServer
from ingest.pipeline import Runtime, run_feed
from sample_data.generator import CityGenerator, Scenario, load_catalogue

SCENARIO = Scenario()
END = SCENARIO.storm_peak + timedelta(hours=6)


@pytest.fixture(scope="module")
def scenario_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The demo city's feeds ingested through the real pull path from a day before the episode to END."""
    generator = CityGenerator(load_catalogue(), SCENARIO)
    clock = FixedClock(END)
    server = DemoFeedServer(generator, clock, traffic_token=DEMO_TOKEN)
    settings = demo_settings(tmp_path_factory.mktemp("golden") / "data", server.start())
    wh = open_warehouse(settings)
    load_reference_data(settings, wh)
    rt = Runtime(settings, wh, clock, {DEMO_TOKEN_ENV: DEMO_TOKEN}, sleep=lambda s: None)
    for name in settings.feeds:
        report = run_feed(rt, name, since=SCENARIO.start - timedelta(hours=8))
        assert report.status == "ok", report.error
    yield rt
    wh.close()
    server.stop()


# Reviewed against the scenario (sample_data/generator.py Scenario): the pollution episode over the
# southern districts on the 14th, then the rainstorm over 清新/清城/佛冈/英德 peaking 06:00 local on the
# 15th, the 大燕河 stations rising first (源潭 past its guaranteed level), 江口圩 and 龙沥 following,
# waterlogging incidents in 清城/清新, traffic slowing in 清城. Times are UTC (local = +8 h).
EXPECTED = [
    # rule, level, warnings raised at that level (incl. escalations), first (day hour:minute UTC)
    ("air.aqi", "yellow", 36, "14 09:00"),
    ("air.aqi", "blue", 7, "14 09:00"),
    ("compound.flood_traffic", "orange", 1, "15 00:30"),
    ("incident.district.waterlogging", "orange", 2, "14 21:45"),
    ("incident.district.waterlogging", "yellow", 2, "14 20:45"),
    ("rain.district.corroborated", "orange", 4, "14 21:00"),
    ("rain.district.corroborated", "yellow", 5, "14 20:30"),
    ("rain.signal", "red", 10, "14 22:30"),
    ("rain.signal", "orange", 24, "14 21:00"),
    ("rain.signal", "yellow", 9, "14 21:30"),
    ("traffic.district.congestion", "yellow", 2, "14 23:30"),
    ("traffic.district.congestion", "blue", 2, "14 19:45"),
    ("water.basin.corroborated", "orange", 1, "15 00:45"),
    ("water.level", "orange", 1, "15 01:45"),
    ("water.level", "yellow", 4, "15 00:15"),
    ("water.predicted.warning", "yellow", 4, "15 00:00"),
    ("water.predicted.warning", "blue", 16, "14 23:30"),
    ("water.rise.rapid", "yellow", 4, "14 23:00"),
    ("water.rise.rapid", "blue", 15, "14 22:30"),
]


def test_golden_backtest_of_the_demo_scenario(scenario_runtime: Runtime) -> None:
    rt = scenario_runtime
    pack = load_rule_pack(rt.settings)
    assert pack.version == "national 2026.1 + guangdong 2026.1 + qingyuan 2026.2"
    result = backtest(rt, pack, SCENARIO.at(16), END, timedelta(minutes=15))
    table = [(rule, level, n, f"{first:%d %H:%M}") for rule, level, n, first, _ in result.by_rule_and_level()]
    assert table == EXPECTED

    raised = [(at, rule, level, summary) for at, kind, rule, level, summary in result.events if kind in ("raised", "escalated")]
    first = {}
    for at, rule, level, _ in raised:
        first.setdefault(rule, at)
    # The story in order: pollution, rain, rivers rising, predicted crossing, rivers over warning,
    # the basin corroborated, 源潭 past its guaranteed level.
    order = ["air.aqi", "rain.signal", "water.rise.rapid", "water.predicted.warning", "water.level",
             "water.basin.corroborated"]  # fmt: skip
    assert [first[r] for r in order] == sorted(first[r] for r in order)
    stations = {s.split("水位")[0] for _, r, lv, s in raised if r == "water.level" and lv == "yellow"}
    assert stations == {"源潭", "长怖", "江口圩", "龙沥"}
    assert [s for _, r, lv, s in raised if r == "water.level" and lv == "orange"][0].startswith("源潭水位")
    compound = [s for _, r, _, s in raised if r == "compound.flood_traffic"]
    assert len(compound) == 1 and compound[0].startswith("清城区")
    assert any("大燕河流域" in s for _, r, _, s in raised if r == "water.basin.corroborated")
    # A prediction never raises red; the Guangdong profile has no blue rainstorm level.
    assert all(lv != "red" for _, r, lv, _ in raised if r == "water.predicted.warning")
    assert all(lv != "blue" for _, r, lv, _ in raised if r == "rain.signal")


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_live_ticks_persist_warnings_audit_and_notify(scenario_runtime: Runtime) -> None:
    rt = scenario_runtime
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    _Hook.received = []
    target = NotificationTarget(name="ops-hook", format="generic", url=f"http://127.0.0.1:{hook.server_port}/hook",
                                events=["raised", "escalated", "resolved"], min_level="orange")  # fmt: skip
    notifier = Notifier([target], log=rt.warehouse.log_delivery, environ={})
    engine = Alerting(rt, load_rule_pack(rt.settings), notifier=notifier)
    clock = rt.clock
    assert isinstance(clock, FixedClock)
    try:
        t = SCENARIO.storm_peak - timedelta(hours=1)
        while t <= SCENARIO.storm_peak + timedelta(hours=4):
            clock.set(t)
            engine.tick()
            t += timedelta(minutes=10)
        assert notifier.close(10)
    finally:
        clock.set(END)
        hook.shutdown()
        hook.server_close()
    open_now = rt.warehouse.warnings(open_only=True)
    assert len(open_now) > 0
    assert open_now.groupby("dedup_key").size().max() == 1  # at most one open warning per key
    yuantan = open_now[(open_now["rule_id"] == "water.level") & (open_now["name"] == "源潭")].iloc[0]
    assert yuantan["level"] == 2 and yuantan["state"] == "active"  # orange: past its guaranteed level
    assert yuantan["pack_version"] == "national 2026.1 + guangdong 2026.1 + qingyuan 2026.2"
    trail = rt.warehouse.warning_transitions(yuantan["warning_id"])
    assert list(trail["to_state"][:2]) == ["pending", "active"]
    assert (trail["actor"] == "system").all() and trail["reason"].str.len().gt(0).all()
    assert json.loads(yuantan["evidence"])["threshold"] == pytest.approx(16.69)

    # the operator acknowledges; the audit trail records who and when
    engine.acknowledge(yuantan["warning_id"], "值班员张三", "已通知水利局")
    row = rt.warehouse.warning(yuantan["warning_id"])
    assert row["state"] == "acknowledged" and row["acknowledged_by"] == "值班员张三"
    assert rt.warehouse.warning_transitions(yuantan["warning_id"])["actor"].iloc[-1] == "值班员张三"

    # assigning and silencing are stored and read back; a silenced warning stays silent across ticks
    engine.act(yuantan["warning_id"], "assign", "值班员张三", assignee="水文分局 李工")
    now = rt.clock.now()
    engine.act(yuantan["warning_id"], "silence", "值班员张三", until=now + timedelta(minutes=10), note="现场处置中")
    engine.tick()
    row = rt.warehouse.warning(yuantan["warning_id"])
    assert row["state"] == "suppressed" and row["assignee"] == "水文分局 李工" and "现场处置中" in row["suppressed_reason"]
    assert state_from_row(row).silenced_until == now + timedelta(minutes=10)
    rt.clock.set(now + timedelta(minutes=15))  # type: ignore[attr-defined]  (the feeds are not stale yet)
    engine.tick()
    rt.clock.set(now)  # type: ignore[attr-defined]
    row = rt.warehouse.warning(yuantan["warning_id"])
    assert row["state"] == "acknowledged" and row["silenced_until"] is None  # back as it was, by itself
    reasons = list(rt.warehouse.warning_transitions(yuantan["warning_id"])["reason"])
    assert "assigned to 水文分局 李工" in reasons and "suppression ended" in reasons

    # orange and red events reached the webhook, blue and yellow did not (min_level)
    assert _Hook.received and {m["level"] for m in _Hook.received} <= {"orange", "red"}
    assert any(m["rule_id"] == "water.level" and m["entity_name"] == "源潭" for m in _Hook.received)
    deliveries = rt.warehouse.deliveries()
    assert (deliveries["status"] == "delivered").all() and len(deliveries) == len(_Hook.received)


def test_a_stale_feed_suppresses_its_warnings_and_raises_one_outage(scenario_runtime: Runtime) -> None:
    rt = scenario_runtime
    engine = Alerting(rt, load_rule_pack(rt.settings))
    at = END + timedelta(hours=1)
    rt.clock.set(at)  # type: ignore[attr-defined]
    engine.tick()
    rt.clock.set(at + timedelta(hours=2))  # type: ignore[attr-defined]
    result = engine.tick()  # no data for 3 h: the 5-minute feeds are stale (6 × cadence)
    rt.clock.set(END)  # type: ignore[attr-defined]
    outages = {s.key for s in result.states.values() if s.rule_id == "feeds.outage"}
    assert {"water", "rain", "traffic", "incidents"} <= outages
    water = [s for s in result.states.values() if s.domain == "water" and s.rule_id != "feeds.outage"]
    assert water and all(s.state == "suppressed" and s.suppressed_reason for s in water)
