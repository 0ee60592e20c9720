"""A failure in one domain's signals, one rule or one district's index is contained: the rest is
computed as usual and the failure comes back as data (metrics.faults); the engine turns it into one
engine-fault warning per cause, logged once, that resolves when the cause stops."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from cityops.alerting.faults import ENGINE_FAULT_RULE_ID, FaultLog, fault_findings, with_engine_rules
from metrics.faults import Fault
from metrics.levels import Level
from metrics.signals import Window, compute_signals, district_index
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import advance
from metrics.warnings.rules import Rule, RulePack, Threshold
from tests.unit.test_signals import ENTITIES, NOW, T, window

AIR_STATION = {"entity_id": "A", "kind": "air_station", "name": "监测站", "district_code": "441803"}
ENTITIES_WITH_AIR = pd.concat([ENTITIES, pd.DataFrame([AIR_STATION])], ignore_index=True)


def _air(minutes_past_the_hour: int = 0) -> pd.DataFrame:
    ts = pd.date_range(end=T, periods=30, freq="h") + pd.Timedelta(minutes=minutes_past_the_hour)
    pollutants = {"pm25": 35.0, "pm10": 50.0, "o3": 80.0, "no2": 20.0, "so2": 5.0, "co": 0.5}
    return pd.DataFrame({"entity_id": "A", "ts": ts - pd.Timedelta(hours=1), **pollutants})


def _window_with_bad_air() -> Window:
    """Water and rain as in test_signals, and air readings stamped seven minutes past the hour: the
    hourly AQI refuses them (the shape passed ingest; the computation cannot use it)."""
    w = window()
    w.air = _air(7)
    return w


def test_the_off_hour_air_reading_really_breaks_the_signals_without_containment() -> None:
    with pytest.raises(ValueError, match="on the hour"):
        compute_signals(_window_with_bad_air(), ENTITIES_WITH_AIR, NOW, districts=["441802"])


def test_one_failing_domain_leaves_the_others_and_is_returned_as_a_fault() -> None:
    faults: list[Fault] = []
    sig = compute_signals(_window_with_bad_air(), ENTITIES_WITH_AIR, NOW, districts=["441802"], faults=faults)
    assert set(sig["domain"]) == {"water", "rain", "incident"}  # air left out, the rest as usual
    clean = compute_signals(window(), ENTITIES, NOW, districts=["441802"])
    pd.testing.assert_frame_equal(sig.reset_index(drop=True), clean.reset_index(drop=True), check_dtype=False)
    assert [(f.stage, f.subject, f.error_type) for f in faults] == [("signals", "air", "ValueError")]
    assert faults[0].cause == "signals:air:ValueError" and "on the hour" in faults[0].message
    # The same input with good stamps gives air signals and no fault.
    good = window()
    good.air = _air(0)
    faults = []
    sig = compute_signals(good, ENTITIES_WITH_AIR, NOW, districts=["441802"], faults=faults)
    assert "air" in set(sig["domain"]) and faults == []


def _rule(rule_id: str, **kw: object) -> Rule:
    base: dict[str, object] = {
        "id": rule_id,
        "title": "水位",
        "kind": "ladder",
        "domain": "water",
        "metric": "level_m",
        "citation": "test",
        "effective": "2020-01-01",
        "levels": {"yellow": Threshold(value=10.0)},
        "debounce": "0m",
    }
    return Rule.model_validate({**base, **kw})


def test_one_failing_rule_leaves_the_others() -> None:
    # A message template asking for an attribute of a text field raises AttributeError, which the
    # summary's formatting does not expect: without containment it stops the whole evaluation.
    broken = _rule("water.broken", message="{entity.no_such_attribute}")
    good = _rule("water.level")
    pack = RulePack(id="p", version="1", title="p", rules=(broken, good))
    sig = compute_signals(window(), ENTITIES, NOW, districts=["441802"])
    with pytest.raises(AttributeError):
        evaluate_pack(pack, sig, pd.DataFrame())
    faults: list[Fault] = []
    findings = evaluate_pack(pack, sig, pd.DataFrame(), faults=faults)
    assert {f.rule_id for f in findings} == {"water.level"}
    assert [f.level for f in findings] == [Level.YELLOW]  # 11 m against 10 m
    assert [f.cause for f in faults] == ["rule:water.broken:AttributeError"]


def test_one_failing_district_keeps_the_other_districts_index() -> None:
    districts = ["441802", "441803"]
    sig = compute_signals(window(), ENTITIES, NOW, districts=districts)
    gauge = pd.DataFrame(
        [
            {
                "domain": "water",
                "scope": "entity",
                "key": "H2",
                "metric": "flood_signal",
                "value": 7.0,  # not a warning level (1–4): the water sub-score cannot place it
                "entity_id": "H2",
                "district_code": "441803",
            }
        ]
    )
    bad = pd.concat([sig, gauge.reindex(columns=sig.columns)], ignore_index=True)
    with pytest.raises(ValueError, match="warning level"):
        district_index(bad, pd.DataFrame(), NOW, districts=districts)
    faults: list[Fault] = []
    index = district_index(bad, pd.DataFrame(), NOW, districts=districts, faults=faults).set_index(
        "district_code"
    )
    clean = district_index(sig, pd.DataFrame(), NOW, districts=districts).set_index("district_code")
    assert index.loc["441802", "index"] == pytest.approx(clean.loc["441802", "index"])
    assert np.isnan(index.loc["441803", "index"]) and index.loc["441803", "coverage"] == 0
    assert [f.cause for f in faults] == ["index:441803:ValueError"]


def test_a_fault_is_logged_once_while_it_lasts_and_once_when_it_clears(caplog) -> None:
    log = FaultLog()
    fault = Fault("signals", "air", "ValueError", "hourly observations must be on the hour")
    t0 = datetime(2026, 6, 15, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="cityops.alerting"):
        for i in range(5):  # five ticks, and the wall's reads, report the same cause
            log.report("tick", [fault], t0 + timedelta(minutes=i))
            log.report("state", [fault], t0 + timedelta(minutes=i))
        assert [a.fault.cause for a in log.active()] == ["signals:air:ValueError"]
        assert log.active()[0].since == t0
        log.report("tick", [], t0 + timedelta(minutes=6))
        assert log.active()  # the wall still reports it
        log.report("state", [], t0 + timedelta(minutes=6))
        assert log.active() == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    cleared = [r for r in caplog.records if "cleared" in r.getMessage()]
    assert len(errors) == 1 and "signals:air:ValueError" in errors[0].getMessage()
    assert len(cleared) == 1


def test_the_engine_fault_warning_is_raised_once_per_cause_and_resolves() -> None:
    pack = with_engine_rules(RulePack(id="p", version="1", title="p", rules=()))
    log = FaultLog()
    air = Fault("signals", "air", "ValueError", "on the hour")
    rule = Fault("rule", "water.broken", "AttributeError", "no attribute")
    t0 = datetime(2026, 6, 15, tzinfo=UTC)
    states: dict = {}
    for i in range(3):
        now = t0 + timedelta(minutes=5 * i)
        log.report("tick", [air, rule], now)
        result = advance(pack, states, fault_findings(log.active(), states), now)
        states = result.states
        if i == 0:
            assert sorted(e.kind for e in result.events) == ["raised", "raised"]
        else:
            assert result.events == [] and result.transitions == []  # steady: nothing new
    assert len(states) == 2 and {s.rule_id for s in states.values()} == {ENGINE_FAULT_RULE_ID}
    assert {s.state for s in states.values()} == {"active"} and {s.level for s in states.values()} == {
        Level.YELLOW
    }
    air_key = next(k for k, s in states.items() if s.key == air.cause)
    # The air computation recovers: its warning resolves, the rule's stays.
    now = t0 + timedelta(minutes=20)
    log.report("tick", [rule], now)
    result = advance(pack, states, fault_findings(log.active(), states), now)
    assert [(w.dedup_key, w.state) for w in result.closed] == [(air_key, "resolved")]
    assert [s.key for s in result.states.values()] == [rule.cause]
