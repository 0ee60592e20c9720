"""One reading of an unexpected shape that got into the warehouse (an air reading stamped off the hour,
as an older ingest let through) must not stop the warning tick, the other domains' warnings or the
wall: the failing domain is left out, /healthz says degraded, the log says it once, and one
engine-fault warning goes through the normal lifecycle until the cause is gone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from cityops.alerting import Alerting, load_rule_pack, read_window
from cityops.alerting.faults import ENGINE_FAULT_RULE_ID
from cityops.base.domains import AIR
from cityops.base.warehouse import open_warehouse
from dashboard.pages.feeds import build_engine_faults
from dashboard.services import Services
from dashboard.wall import WallCache
from ingest.pipeline import Runtime
from metrics.signals import compute_signals
from metrics.warnings.rules import RulePack
from sample_data.generator import Scenario
from tests.conftest import build_runtime
from tests.helpers import build_demo_city

SCENARIO = Scenario()
NOW = SCENARIO.storm_peak + timedelta(hours=1)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with build_demo_city(
        tmp_path_factory.mktemp("faults"), now=NOW, backfill_since=NOW - timedelta(hours=26)
    ) as city:
        yield city.runtime


def _insert_off_hour_air_reading(rt: Runtime) -> tuple[str, pd.Timestamp]:
    """A reading stamped 53 minutes before the newest hourly one of an air station, written as a row
    that had passed ingest (the AQI's hourly computation cannot use it)."""
    latest = rt.warehouse.observation_window(AIR, NOW - timedelta(hours=3), NOW)
    row = latest.sort_values(["ts", "entity_id"]).iloc[-1]
    ts = pd.Timestamp(row["ts"]) - pd.Timedelta(minutes=53)
    with rt.warehouse.transaction() as cur:
        cur.execute(
            "INSERT INTO obs_air (entity_id, ts, pm25, pm10, so2, no2, co, o3, run_id) "
            "VALUES (?, ?, 35, 50, 5, 20, 0.5, 80, 'legacy')",
            [row["entity_id"], ts.to_pydatetime()],
        )
    return str(row["entity_id"]), ts


def _remove(rt: Runtime, entity_id: str, ts: pd.Timestamp) -> None:
    with rt.warehouse.transaction() as cur:
        cur.execute("DELETE FROM obs_air WHERE entity_id = ? AND ts = ?", [entity_id, ts.to_pydatetime()])


def _others(states: dict) -> dict[str, tuple[str, int]]:
    """The warnings of every domain but air and the engine: (state, level) by dedup key."""
    return {k: (s.state, int(s.level)) for k, s in states.items() if s.domain not in ("air", "engine")}


def test_a_failing_domain_is_contained_and_raises_one_engine_fault(runtime: Runtime, caplog) -> None:
    rt = runtime
    pack = load_rule_pack(rt.settings)
    rt.clock.set(NOW)  # type: ignore[attr-defined]
    clean_window = read_window(rt, NOW, NOW)
    entity_id, ts = _insert_off_hour_air_reading(rt)
    try:
        bad_window = read_window(rt, NOW, NOW)
        ctx = Alerting(rt, pack).context()
        # The reading really breaks the air computation as the tick did it before containment.
        with pytest.raises(ValueError, match="on the hour"):
            compute_signals(bad_window, ctx.entities, NOW, districts=ctx.districts)

        # The other domains' warnings are exactly those of the same instant without the bad reading.
        feeds = Alerting(rt, pack).feed_rows(NOW)
        clean = Alerting(rt, pack).evaluate(clean_window, NOW, {}, feeds)
        faulty = Alerting(rt, pack).evaluate(bad_window, NOW, {}, feeds)
        assert _others(faulty.states) == _others(clean.states)
        assert any(s.domain == "water" for s in faulty.states.values())  # the storm's river warnings
        assert not any(s.rule_id == ENGINE_FAULT_RULE_ID for s in clean.states.values())

        # Live ticks, persisted: the tick goes on, one engine-fault warning, logged once.
        engine = Alerting(rt, pack)
        caplog.clear()  # the evaluations above logged their own engine's fault
        with caplog.at_level(logging.WARNING, logger="cityops.alerting"):
            for minutes in (0, 5, 10):
                rt.clock.set(NOW + timedelta(minutes=minutes))  # type: ignore[attr-defined]
                engine.tick()
        open_now = rt.warehouse.warnings(open_only=True)
        faults = open_now[open_now["rule_id"] == ENGINE_FAULT_RULE_ID]
        assert len(faults) == 1
        fault = faults.iloc[0]
        assert fault["key"] == "signals:air:ValueError" and fault["state"] == "active" and fault["level"] == 3
        assert "on the hour" in fault["summary"]
        trail = rt.warehouse.warning_transitions(fault["warning_id"])
        assert list(trail["to_state"]) == ["pending", "active"] and (trail["actor"] == "system").all()
        assert (open_now[open_now["rule_id"] != ENGINE_FAULT_RULE_ID]["domain"] == "water").any()
        logged = [
            r for r in caplog.records if r.levelno == logging.ERROR and "engine fault" in r.getMessage()
        ]
        assert len(logged) == 1 and "signals:air:ValueError" in logged[0].getMessage()

        # /healthz: degraded, with the contract keys kept; /feeds says it too.
        svc = Services(rt, alerting=engine)
        health = svc.health()
        assert {"status", "database", "scheduler", "feeds"} <= set(health)
        assert health["status"] == "degraded" and health["engine"]["status"] == "degraded"
        assert [f["cause"] for f in health["engine"]["faults"]] == ["signals:air:ValueError"]
        notice = build_engine_faults(health["engine"]["faults"], "en")
        assert notice is not None and "on the hour" in str(notice.children[1].children[0].children)

        # The wall still computes its snapshot: the other departments' tiles and the warning list.
        snap = WallCache(svc, tick=3600).get()
        assert {"water", "rain", "traffic"} <= set(snap.kpis) and "air" not in snap.kpis
        assert any(w["title"] == fault["rule_title"] for w in snap.warnings)
        assert any(w["id"] != fault["warning_id"] for w in snap.warnings)
    finally:
        _remove(rt, entity_id, ts)

    # The cause is gone: the engine-fault warning resolves, /healthz is no longer degraded by it.
    rt.clock.set(NOW + timedelta(minutes=15))  # type: ignore[attr-defined]
    engine.tick()
    engine.state()  # the wall's next read runs clean too
    row = rt.warehouse.warning(fault["warning_id"])
    assert row is not None and row["state"] == "resolved"
    assert svc.health()["engine"] == {"status": "ok", "faults": []}
    assert not (rt.warehouse.warnings(open_only=True)["rule_id"] == ENGINE_FAULT_RULE_ID).any()
    rt.clock.set(NOW)  # type: ignore[attr-defined]


def test_a_tick_that_fails_as_a_whole_is_logged_once_and_degrades_health(tmp_path, caplog) -> None:
    rt = build_runtime(tmp_path, {})
    engine = Alerting(rt, RulePack(id="p", version="1", title="p", rules=()))
    engine.tick()  # runs clean
    rt.warehouse.close()  # the database goes away under the engine
    with caplog.at_level(logging.WARNING, logger="cityops.alerting"):
        for _ in range(3):
            with pytest.raises(Exception, match=r"(?i)closed") as failed:
                engine.tick()
    causes = [a.fault.cause for a in engine.faults()]
    assert causes == [f"tick:tick:{type(failed.value).__name__}"]
    assert sum(r.levelno == logging.ERROR for r in caplog.records) == 1
    assert Services(rt, alerting=engine).health()["engine"]["status"] == "degraded"

    # The database is back: the next tick records the failure as a warning (never silent), the one
    # after resolves it, and health is clean again.
    engine.rt = replace(rt, warehouse=open_warehouse(rt.settings))
    try:
        engine.tick()
        raised = engine.rt.warehouse.warnings(open_only=False)
        assert list(raised["rule_id"]) == [ENGINE_FAULT_RULE_ID] and raised["key"].iloc[0] == causes[0]
        assert engine.faults() == []
        engine.tick()
        row = engine.rt.warehouse.warning(raised["warning_id"].iloc[0])
        assert row is not None and row["state"] == "resolved"
        assert Services(engine.rt, alerting=engine).health()["engine"] == {"status": "ok", "faults": []}
    finally:
        engine.rt.warehouse.close()
