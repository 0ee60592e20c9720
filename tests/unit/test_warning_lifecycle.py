"""The warning lifecycle: debounce, hysteresis, escalation, clear time, reminders, suppression."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.levels import Level
from metrics.reasons import make_reason
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import ActionError, acknowledge, advance, assign, comment, resolve, silence
from metrics.warnings.rules import (
    Rule,
    RulePack,
    RulePackError,
    parse_pack,
    resolve_packs,
)
from tests.helpers import water_level_signals

T0 = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


def level_rule(**changes) -> Rule:
    base = {
        "id": "water.level",
        "title": "水位超警戒",
        "kind": "ladder",
        "domain": "water",
        "metric": "level_m",
        "citation": "test",
        "effective": date(2020, 1, 1),
        "levels": {"yellow": {"value": 10.0}, "orange": {"value": 11.0}, "red": {"value": 12.0}},
        "debounce": "10m",
        "clear_after": "15m",
        "hysteresis": 0.2,
        "remind_every": "30m",
        "unit": "m",
    }
    base.update(changes)
    return Rule.model_validate(base)


def pack_of(*rules: Rule) -> RulePack:
    return RulePack(id="t", version="t 1", title="t", rules=tuple(rules))


def signals(values: dict[str, float], ts: datetime) -> pd.DataFrame:
    """Water levels by station, each named after its key and in 清城区 (441802)."""
    return water_level_signals({k: (v, k, "441802") for k, v in values.items()}, ts)


def run(pack: RulePack, series: list[float], *, suppressed_at: set[int] = frozenset()):
    """Feed a series for station S (one value per 5 minutes); yield (tick, result)."""
    states: dict = {}
    out = []
    for i, v in enumerate(series):
        now = T0 + i * STEP
        findings = evaluate_pack(pack, signals({"S": v}, now), pd.DataFrame())
        res = advance(
            pack,
            states,
            findings,
            now,
            suppressed_domains={"water": "feed stale"} if i in suppressed_at else None,
        )
        states = res.states
        out.append((i, res))
    return out


def test_debounce_then_active_then_resolve_after_clear_time() -> None:
    ticks = run(pack_of(level_rule()), [9, 10.1, 10.2, 10.3, 10.1, 9.0, 9.0, 9.0, 9.0, 9.0])
    kinds = [(i, e.kind) for i, r in ticks for e in r.events]
    # pending at tick 1, active after 10 min (tick 3); clear from tick 5, resolved 15 min later (tick 8)
    assert kinds == [(3, "raised"), (8, "resolved")]
    assert ticks[1][1].states["water.level|entity|S"].state == "pending"
    assert ticks[3][1].states["water.level|entity|S"].activated_at == T0 + 3 * STEP


def test_a_blip_shorter_than_the_debounce_raises_nothing() -> None:
    ticks = run(pack_of(level_rule()), [10.5, 9.0, 10.5, 9.0, 9.0])
    assert [e for _, r in ticks for e in r.events] == []
    cancelled = [t for _, r in ticks for t in r.transitions if t.reason.startswith("[debounce_cleared]")]
    assert len(cancelled) == 2


def test_escalation_is_immediate_and_deescalation_waits_for_hysteresis() -> None:
    series = [10.5, 10.5, 10.5, 11.2, 10.95, 10.85, 10.7]
    ticks = run(pack_of(level_rule()), series)
    events = [(i, e.kind, e.warning.level) for i, r in ticks for e in r.events]
    assert events[0] == (2, "raised", Level.YELLOW)
    assert events[1] == (3, "escalated", Level.ORANGE)
    # 10.95 and 10.85 are below 11 but within the 0.2 m hysteresis: still orange; 10.7 is not.
    assert events[2] == (6, "deescalated", Level.YELLOW)
    assert len(events) == 3


def test_acknowledged_warning_needs_acknowledging_again_after_escalation() -> None:
    pack = pack_of(level_rule(debounce="0m"))
    states: dict = {}
    res = advance(pack, states, evaluate_pack(pack, signals({"S": 10.5}, T0), pd.DataFrame()), T0)
    (st,) = res.states.values()
    acked, tr = acknowledge(st, "duty-operator", T0 + STEP)
    assert acked.state == "acknowledged" and tr.actor == "duty-operator"
    res = advance(
        pack,
        {st.dedup_key: acked},
        evaluate_pack(pack, signals({"S": 11.5}, T0), pd.DataFrame()),
        T0 + 2 * STEP,
    )
    (st2,) = res.states.values()
    assert st2.state == "active" and st2.level == Level.ORANGE and st2.acknowledged_by is None
    with pytest.raises(ValueError):
        acknowledge(acked, "x", T0)


def test_reminders_for_unacknowledged_warnings() -> None:
    ticks = run(pack_of(level_rule(debounce="0m", remind_every="15m")), [10.5] * 8)
    reminders = [i for i, r in ticks for e in r.events if e.kind == "reminder"]
    assert reminders == [3, 6]


def test_a_stale_feed_suppresses_and_restores() -> None:
    ticks = run(pack_of(level_rule(debounce="0m")), [10.5, 10.5, 10.5, 10.5, 10.5], suppressed_at={2, 3})
    state_at = [r.states["water.level|entity|S"].state for _, r in ticks]
    assert state_at == ["active", "active", "suppressed", "suppressed", "active"]
    # no new warning appears for data behind a stale feed
    quiet = run(pack_of(level_rule(debounce="0m")), [10.5], suppressed_at={0})
    assert quiet[0][1].states == {}


def test_threshold_from_station_attributes_and_hysteresis_never_flaps() -> None:
    rule = level_rule(
        levels={"blue": {"attr": "warning_level_m", "offset": -0.3}, "yellow": {"attr": "warning_level_m"}},
        debounce="0m",
        clear_after="10m",
    )
    pack = pack_of(rule)
    attrs = pd.DataFrame({"warning_level_m": [11.0]}, index=["S"])
    findings = evaluate_pack(pack, signals({"S": 10.8}, T0), attrs)
    assert findings[0].level == Level.BLUE and findings[0].threshold == pytest.approx(10.7)


@settings(max_examples=60, deadline=None)
@given(series=st.lists(st.floats(8.0, 13.0, allow_nan=False), min_size=1, max_size=40))
def test_lifecycle_invariants(series: list[float]) -> None:
    pack = pack_of(level_rule())
    rule = pack.rules[0]
    ticks = run(pack, series)
    for i, res in ticks:
        # never two open warnings for one dedup key (the state is keyed by it, and ids are unique)
        ids = [s.warning_id for s in res.states.values()]
        assert len(ids) == len(set(ids)) and len(res.states) <= 1
        for done in res.closed:
            # never resolved (or cancelled) while the condition holds, hysteresis included
            assert done.state == "resolved" and series[i] < 10.0 - rule.hysteresis
            # and a resolved warning had been clear for the whole clear time
            if done.activated_at is not None:
                window = series[max(0, i - 3) : i + 1]
                assert all(v < 10.0 - rule.hysteresis for v in window)


def test_oscillation_around_a_threshold_does_not_flap() -> None:
    series = [10.5] * 3 + [9.95, 10.05] * 20  # oscillates within the 0.2 m hysteresis band
    ticks = run(pack_of(level_rule()), series)
    kinds = [e.kind for _, r in ticks for e in r.events if e.kind != "reminder"]
    assert kinds == ["raised"]


def test_packs_layer_and_refuse_bad_rules() -> None:
    national = parse_pack(
        {
            "pack": {"id": "national", "version": "1", "title": "n"},
            "rules": [
                level_rule().model_dump(mode="json"),
                level_rule(id="rain.r12", metric="r12_mm", domain="rain").model_dump(mode="json"),
            ],
        },
        source="national.toml",
    )
    city = parse_pack(
        {
            "pack": {
                "id": "city",
                "version": "2",
                "title": "c",
                "extends": "national",
                "disable": ["rain.r12"],
            },
            "rules": [level_rule(title="城市覆盖").model_dump(mode="json")],
        },
        source="city.toml",
    )
    pack = resolve_packs([national, city])
    assert pack.version == "national 1 + city 2"
    assert [r.id for r in pack.rules] == ["water.level"] and pack.rules[0].title == "城市覆盖"
    bad = level_rule().model_dump(mode="json") | {"kind": "predicted", "levels": {"red": {"lead": "30m"}}}
    with pytest.raises(RulePackError, match=r"rule water\.level: .*never raises red"):
        parse_pack({"pack": {"id": "x", "version": "1", "title": "x"}, "rules": [bad]}, source="x.toml")
    with pytest.raises(RulePackError, match="extends 'nope'"):
        resolve_packs(
            [parse_pack({"pack": {"id": "x", "version": "1", "title": "x", "extends": "nope"}}, source="x")]
        )


def test_silence_windows_suppress_matching_rules() -> None:
    from types import SimpleNamespace

    from cityops.alerting import Alerting
    from cityops.base.settings import settings_from_dict

    settings = settings_from_dict(
        {
            "warnings": {
                "silences": [
                    {
                        "rules": "water.*",
                        "start": "2026-06-15T07:00:00",
                        "end": "2026-06-15T09:00:00",
                        "reason": "北江大堤维护",
                    },
                ]
            }
        },
        environ={},
    )
    pack = pack_of(level_rule(debounce="0m"), level_rule(id="rain.r3", domain="rain", metric="r3_mm"))
    engine = Alerting(SimpleNamespace(settings=settings), pack)  # type: ignore[arg-type]
    # 07:30 local is inside the window (local times are read in the city's timezone)
    domains, rules = engine.suppressions(
        [{"domain": "water", "freshness": "fresh"}], T0 - timedelta(minutes=30)
    )
    assert domains == {} and rules == {
        "water.level": make_reason("silence_window", "silence window", note="北江大堤维护")
    }
    assert engine.suppressions([], T0 + timedelta(hours=2))[1] == {}
    res = advance(
        pack, {}, evaluate_pack(pack, signals({"S": 10.5}, T0), pd.DataFrame()), T0, suppressed_rules=rules
    )
    assert res.states == {}  # nothing is raised while silenced


def test_no_data_is_not_clear() -> None:
    """A station that stops reporting keeps its warning; a station reporting below the threshold clears."""
    pack = pack_of(level_rule(debounce="0m", clear_after="10m"))
    states: dict = {}
    res = advance(pack, states, evaluate_pack(pack, signals({"S": 10.5}, T0), pd.DataFrame()), T0)
    for i in range(1, 6):  # 25 minutes of silence from S
        res = advance(pack, res.states, [], T0 + i * STEP)  # no findings: nothing was reported
    assert res.states["water.level|entity|S"].state == "active" and not res.closed
    for i in range(6, 9):
        res = advance(
            pack,
            res.states,
            evaluate_pack(pack, signals({"S": 9.0}, T0 + i * STEP), pd.DataFrame()),
            T0 + i * STEP,
        )
    assert [w.state for w in res.closed] == ["resolved"]


def test_a_prediction_clears_when_the_entity_reports_without_a_crossing() -> None:
    rule = Rule.model_validate(
        {
            "id": "water.predicted",
            "title": "预计超警",
            "kind": "predicted",
            "domain": "water",
            "metric": "eta_warning_min",
            "citation": "t",
            "effective": date(2020, 1, 1),
            "level": "yellow",
            "levels": {"blue": {"lead": "3h"}},
            "debounce": "0m",
            "clear_after": "0m",
        }
    )
    pack = pack_of(rule)
    eta = signals({"S": 45.0}, T0).assign(metric="eta_warning_min")
    res = advance(pack, {}, evaluate_pack(pack, eta, pd.DataFrame()), T0)
    assert res.states["water.predicted|entity|S"].state == "active"
    level_only = signals({"S": 11.2}, T0 + STEP)  # the station reports, the crossing has happened: no ETA
    res = advance(pack, res.states, evaluate_pack(pack, level_only, pd.DataFrame()), T0 + STEP)
    assert [w.state for w in res.closed] == ["resolved"]


def _raised(level: float = 10.5):
    pack = pack_of(level_rule(debounce="0m", remind_every="15m"))
    res = advance(pack, {}, evaluate_pack(pack, signals({"S": level}, T0), pd.DataFrame()), T0)
    (st,) = res.states.values()
    return pack, st


def _tick(pack: RulePack, st, value: float, now: datetime):
    return advance(
        pack, {st.dedup_key: st}, evaluate_pack(pack, signals({"S": value}, now), pd.DataFrame()), now
    )


def test_assign_and_comment_are_audited_without_changing_state() -> None:
    _, st = _raised()
    assigned, tr = assign(st, "duty", "水利局 王工", T0 + STEP)
    assert assigned.assignee == "水利局 王工" and assigned.state == "active"
    assert (tr.actor, tr.from_state, tr.to_state, tr.reason) == (
        "duty",
        "active",
        "active",
        '[assigned {"assignee": "水利局 王工"}] assigned to 水利局 王工',
    )
    noted, tr = comment(assigned, "duty", "  已电话通知  ", T0 + STEP)
    assert tr.reason == "[comment] comment; [note] 已电话通知" and noted.assignee == "水利局 王工"
    with pytest.raises(ActionError, match="empty"):
        comment(st, "duty", "   ", T0)


def test_an_operator_resolution_closes_and_a_persisting_condition_is_a_new_warning() -> None:
    pack, st = _raised()
    done, tr = resolve(st, "duty", T0 + STEP, "现场核实")
    assert (
        done.state == "resolved"
        and done.resolved_at == T0 + STEP
        and tr.reason == "[resolved_by_operator] resolved by operator; [note] 现场核实"
    )
    with pytest.raises(ActionError, match="only an open warning"):
        resolve(done, "duty", T0 + 2 * STEP)
    res = advance(
        pack, {}, evaluate_pack(pack, signals({"S": 10.5}, T0 + 2 * STEP), pd.DataFrame()), T0 + 2 * STEP
    )
    (again,) = res.states.values()
    assert again.warning_id != st.warning_id and again.state == "active"


def test_silence_holds_until_its_end_then_the_warning_returns_by_itself() -> None:
    pack, st = _raised()
    until = T0 + 30 * 60 * timedelta(seconds=1)
    silenced, tr = silence(st, "duty", until, T0 + STEP, "维修中")
    assert silenced.state == "suppressed" and silenced.suppressed_from == "active" and "维修中" in tr.reason
    with pytest.raises(ActionError, match="future"):
        silence(st, "duty", T0, T0 + STEP)
    now, current = T0 + STEP, silenced
    seen = []
    while now < until + 3 * STEP:
        now += STEP
        res = _tick(pack, current, 11.5, now)  # it even escalates underneath: no notice while silenced
        (current,) = res.states.values()
        seen.append((now, current.state, [e.kind for e in res.events]))
    during = [s for at, s, _ in seen if at < until]
    after = [(s, ev) for at, s, ev in seen if at >= until]
    assert set(during) == {"suppressed"} and all(not ev for at, _, ev in seen if at < until)
    assert after[0][0] == "active" and "escalated" in after[0][1]
    assert current.silenced_until is None
