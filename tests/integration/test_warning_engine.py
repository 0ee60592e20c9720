"""The warning engine on the demo scenario: a golden back-test whose expectations are derived from the
scenario (a few copied from a reviewed run, marked), live ticks persisted with their audit trail,
notifications to a real local webhook, and feed-outage suppression."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pandas as pd
import pytest

from cityops.alerting import Alerting, backtest, load_rule_pack, state_from_row
from cityops.base.clock import FixedClock
from cityops.notify import NotificationTarget, Notifier
from ingest.pipeline import Runtime
from metrics.reasons import parse_reasons
from metrics.warnings.rules import Rule, RulePack
from sample_data.generator import DISTRICT_NAMES, CityGenerator, Scenario, load_catalogue
from tests.conftest import LoopbackServer
from tests.helpers import build_demo_city

SCENARIO = Scenario()
END = SCENARIO.storm_peak + timedelta(hours=6)
BACKTEST_START = SCENARIO.at(16)
STEP = timedelta(minutes=15)
LEVELS = ("", "blue", "yellow", "orange", "red")  # index = severity rank used below (0 = no level)


@pytest.fixture(scope="module")
def generator() -> CityGenerator:
    return CityGenerator(load_catalogue(), SCENARIO)


@pytest.fixture(scope="module")
def scenario_runtime(tmp_path_factory: pytest.TempPathFactory, generator: CityGenerator) -> Iterator[Runtime]:
    """The demo city's feeds ingested through the real pull path from a day before the episode to END."""
    with build_demo_city(
        tmp_path_factory.mktemp("golden"),
        now=END,
        generator=generator,
        backfill_since=SCENARIO.start - timedelta(hours=8),
    ) as city:
        yield city.runtime


# -- the expected back-test, derived from the scenario ------------------------------------------------
#
# The back-test ticks every 15 minutes from BACKTEST_START to END over what the demo feeds served, i.e.
# the generator's values for the scripted scenario (sample_data/generator.py Scenario). For the rules
# below the expectation is computed here from those values, the rule pack's thresholds, debounce and
# clear_after, and the lifecycle as documented in metrics/warnings/lifecycle.py: a key goes pending
# when any level first holds, is raised after the debounce at the most severe level reached meanwhile,
# escalates at once, and closes after clear_after with nothing holding (hysteresis is left out: these
# series cross their thresholds without hovering, which the golden comparison below would show).

TICKS = pd.date_range(BACKTEST_START, END, freq=STEP, inclusive="left")


def _raises(levels: pd.DataFrame, rule: Rule) -> list[tuple[str, int, pd.Timestamp]]:
    """(key, level, tick) of every raise or escalation, from per-tick levels (ticks × keys, 0 = none)."""
    out: list[tuple[str, int, pd.Timestamp]] = []
    for key in levels.columns:
        state, since, level, clear = "", TICKS[0], 0, None
        for t, now in levels[key].items():
            if not state:
                if now:
                    state, since, level, clear = "pending", t, now, None
            elif state == "pending":
                if not now:
                    state = ""  # cancelled before the debounce ended
                    continue
                level = max(level, now)
            elif not now:
                clear = clear or t
                if t - clear >= rule.clear_after:
                    state = ""
                continue
            else:
                clear = None
                if now > level:
                    level = now
                    out.append((key, level, t))
                continue
            if state == "pending" and t - since >= rule.activation_delay:
                state = "active"
                out.append((key, level, t))
    return out


def _by_level(raises: list[tuple[str, int, pd.Timestamp]]) -> dict[str, tuple[int, str]]:
    """{level: (warnings raised at that level incl. escalations, first as 'day hour:minute' UTC)}."""
    out: dict[str, tuple[int, str]] = {}
    for level in sorted({lv for _, lv, _ in raises}):
        at = [t for _, lv, t in raises if lv == level]
        out[LEVELS[level]] = (len(at), f"{min(at):%d %H:%M}")
    return out


def _ladder(rule: Rule, metrics: dict[str, pd.DataFrame], attrs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per tick and key, the most severe level of a ladder rule whose threshold is reached."""
    assert rule.op == ">="
    out = pd.DataFrame(0, index=TICKS, columns=metrics[rule.metric].columns)
    for name, th in rule.levels.items():
        values = metrics[th.metric or rule.metric]
        if th.attr is not None:
            assert attrs is not None
            reached = values.ge(attrs[th.attr].reindex(values.columns) + th.offset, axis=1)
        else:
            reached = values >= th.value
        out = out.where(~reached | (out >= LEVELS.index(name)), LEVELS.index(name))
    return out


def _k_of_n(rule: Rule, values: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per tick and group, the most severe level that at least k of the group's entities reach."""
    assert rule.op == ">=" and rule.k is not None
    out = pd.DataFrame(0, index=TICKS, columns=sorted(set(groups)))
    for name, th in rule.levels.items():
        count = (values >= th.value).T.groupby(groups.reindex(values.columns)).sum().T
        reached = count >= rule.k
        reached = reached.reindex(columns=out.columns, fill_value=False)
        out = out.where(~reached | (out >= LEVELS.index(name)), LEVELS.index(name))
    return out


def _rain_totals(generator: CityGenerator, hours: int) -> pd.DataFrame:
    """Per tick and gauge, the rain of the ``hours`` before it (the 5-minute amounts that have ended)."""
    rain = generator.rain(BACKTEST_START - timedelta(hours=hours), END).pivot(
        index="ts", columns="entity_id", values="rain_mm"
    )
    return pd.DataFrame(
        {t: rain[(rain.index >= t - timedelta(hours=hours)) & (rain.index < t)].sum() for t in TICKS}
    ).T


def _open_waterlogging(generator: CityGenerator) -> pd.DataFrame:
    """Per tick and district, the waterlogging incidents reported and not yet closed."""
    inc = generator.incidents(SCENARIO.start - timedelta(days=2), END, END)
    inc = inc[inc["type"] == "waterlogging"]
    reported = pd.to_datetime(inc["reported_at"], utc=True)
    closed = pd.to_datetime(inc["closed_at"], utc=True)
    rows = {
        t: inc[(reported <= t) & (closed.isna() | (closed > t))].groupby("district_code").size()
        for t in TICKS
    }
    return pd.DataFrame(rows).T.fillna(0).reindex(TICKS, fill_value=0)


def _driven_over_warning(generator: CityGenerator) -> dict[str, float]:
    """{station name: crest stage} for the stations the scenario drives past their warning level (stage
    > 1), matching Scenario.river_targets as the generator does (a key in the name, else the river)."""
    out = {}
    for row in generator.catalogue.hydro_stations.itertuples():
        if row.station_type == "reservoir":
            continue
        hits = [stage for key, stage in SCENARIO.river_targets.items() if key in row.name]
        hits = hits or [stage for key, stage in SCENARIO.river_targets.items() if key == row.river]
        if hits and hits[0] > 1:
            out[row.name] = hits[0]
    return out


def _storm_districts() -> set[str]:
    """Districts where even the driest gauge (factor 0.8) gets ≥ 50 mm in the storm's 3 peak hours."""
    share = math.erf(1.5 / (SCENARIO.storm_sigma_h * math.sqrt(2)))  # of the total, within ±1.5 h
    return {
        DISTRICT_NAMES[d]
        for d, w in SCENARIO.storm_weights.items()
        if SCENARIO.storm_total_mm * w * 0.8 * share >= 50
    }


@dataclass
class Expected:
    table: dict[tuple[str, str], tuple[int, str]]  # (rule, level) → (count, first)
    names: dict[tuple[str, str], list[str]]  # (rule, level) → who was raised (sorted, with repeats)


def derive_expected(generator: CityGenerator, pack: RulePack) -> Expected:
    cat = generator.catalogue
    hydro = cat.hydro_stations.set_index("entity_id")
    gauges = cat.rain_gauges.set_index("entity_id")
    water = generator.water(BACKTEST_START, END).pivot(index="ts", columns="entity_id", values="level_m")
    water = water.loc[TICKS]
    over_warning = water - hydro["warning_level_m"].reindex(water.columns)
    rain = {f"r{h}_mm": _rain_totals(generator, h) for h in (3, 6)}
    district = {**gauges["district_code"].to_dict(), **hydro["district_code"].to_dict()}
    name = {**hydro["name"].to_dict(), **gauges["name"].to_dict(), **DISTRICT_NAMES}

    levels = {
        "water.level": _ladder(pack.rule("water.level"), {"level_m": water}, hydro),
        "water.basin.corroborated": _k_of_n(
            pack.rule("water.basin.corroborated"), over_warning, hydro["basin"]
        ),
        "rain.signal": _ladder(pack.rule("rain.signal"), rain),
        "rain.district.corroborated": _k_of_n(
            pack.rule("rain.district.corroborated"), rain["r3_mm"], gauges["district_code"]
        ),
        "incident.district.waterlogging": _ladder(
            pack.rule("incident.district.waterlogging"), {"open_waterlogging": _open_waterlogging(generator)}
        ),
    }
    # The compound rule's rain and river conditions, per district (its third one, traffic index ≥ 4, is
    # not derived here: the scenario halves speeds in 清城区 while it rains hard, well past that).
    compound = pack.rule("compound.flood_traffic")
    held = pd.DataFrame(True, index=TICKS, columns=sorted(DISTRICT_NAMES))
    for cond in compound.conditions:
        if cond.domain == "rain":
            values = rain[cond.metric]
        elif cond.domain == "water":
            values = over_warning
        else:
            continue
        assert cond.op == ">="
        assert cond.threshold.value is not None
        per_district = (values >= cond.threshold.value).T.groupby(values.columns.map(district)).any().T
        held &= per_district.reindex(columns=held.columns, fill_value=False)
    levels["compound.flood_traffic"] = held.astype(int) * LEVELS.index(compound.level)

    table, names = {}, {}
    for rule_id, per_tick in levels.items():
        raises = _raises(per_tick, pack.rule(rule_id))
        for level, row in _by_level(raises).items():
            table[(rule_id, level)] = row
            names[(rule_id, level)] = sorted(name.get(k, k) for k, lv, _ in raises if LEVELS[lv] == level)
    return Expected(table, names)


# Not derived: the counts and first times of these rules are copied from a reviewed run. Deriving them
# would mean re-implementing what they measure — the real-time AQI of every station-hour with the
# engine's hysteresis (air.aqi), the district traffic index over every road segment
# (traffic.district.congestion), the Theil–Sen crossing forecast (water.predicted.warning) and the
# fitted 1-hour rise (water.rise.rapid), whose values hover around their thresholds and re-raise.
COPIED = {
    # (rule, level): (warnings raised at that level incl. escalations, first (day hour:minute UTC))
    ("air.aqi", "yellow"): (36, "14 09:00"),
    ("air.aqi", "blue"): (7, "14 09:00"),
    ("traffic.district.congestion", "yellow"): (2, "14 23:30"),
    ("traffic.district.congestion", "blue"): (2, "14 19:45"),
    ("water.predicted.warning", "yellow"): (4, "15 00:00"),
    ("water.predicted.warning", "blue"): (16, "14 23:30"),
    ("water.rise.rapid", "yellow"): (4, "14 23:00"),
    ("water.rise.rapid", "blue"): (15, "14 22:30"),
}


def test_the_derived_expectation_follows_the_scenario_definition(
    scenario_runtime: Runtime, generator: CityGenerator
) -> None:
    """The derivation against what the scenario scripts: the stations it drives over their warning level
    (those on the 北江 main stem crest after the back-test ends: a 4–10 h lag plus a 7 h cascade), the
    one it drives past its guaranteed level, and the districts the storm covers."""
    expected = derive_expected(generator, load_rule_pack(scenario_runtime.settings))
    driven = _driven_over_warning(generator)
    over = set(expected.names[("water.level", "yellow")])
    assert over and over <= set(driven)
    main_stem = set(generator.catalogue.hydro_stations.query("river == '北江'")["name"])
    assert set(driven) - over == set(driven) & main_stem
    assert expected.names[("water.level", "orange")] == sorted(n for n, stage in driven.items() if stage >= 2)
    assert set(expected.names[("rain.district.corroborated", "orange")]) == _storm_districts()
    stations = generator.catalogue.hydro_stations.set_index("name")
    assert expected.names[("compound.flood_traffic", "orange")] == sorted(
        {DISTRICT_NAMES[d] for d in stations.loc[sorted(over), "district_code"]}
    )
    basins = stations.loc[sorted(over), "basin"].value_counts()
    assert expected.names[("water.basin.corroborated", "orange")] == sorted(basins[basins >= 2].index)


def test_golden_backtest_of_the_demo_scenario(scenario_runtime: Runtime, generator: CityGenerator) -> None:
    rt = scenario_runtime
    pack = load_rule_pack(rt.settings)
    assert pack.version == "national 2026.1 + guangdong 2026.1 + qingyuan 2026.2"
    expected = derive_expected(generator, pack)
    assert expected.table and not set(expected.table) & set(COPIED)
    result = backtest(rt, pack, BACKTEST_START, END, STEP)
    table = {(rule, lv): (n, f"{first:%d %H:%M}") for rule, lv, n, first, _ in result.by_rule_and_level()}
    assert table == {**expected.table, **COPIED}

    raised = [
        (at, rule, level, summary)
        for at, kind, rule, level, summary in result.events
        if kind in ("raised", "escalated")
    ]
    first = {}
    for at, rule, _level, _ in raised:
        first.setdefault(rule, at)
    # The story in order: pollution, rain, rivers rising, predicted crossing, rivers over warning,
    # the basin corroborated, 源潭 past its guaranteed level.
    order = [
        "air.aqi",
        "rain.signal",
        "water.rise.rapid",
        "water.predicted.warning",
        "water.level",
        "water.basin.corroborated",
    ]
    assert [first[r] for r in order] == sorted(first[r] for r in order)
    # Who was raised, for the derived rules: each summary starts with its station / gauge / district /
    # basin name, and each derived raise or escalation is there once.
    for (rule_id, level), names in expected.names.items():
        summaries = [s for _, r, lv, s in raised if (r, lv) == (rule_id, level)]
        who = [
            next((n for n in sorted(set(names), key=len, reverse=True) if s.startswith(n)), s)
            for s in summaries
        ]
        assert sorted(who) == names, (rule_id, level)
    # A prediction never raises red; the Guangdong profile has no blue rainstorm level.
    assert all(lv != "red" for _, r, lv, _ in raised if r == "water.predicted.warning")
    assert all(lv != "blue" for _, r, lv, _ in raised if r == "rain.signal")


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
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
    hook = LoopbackServer(_Hook)
    _Hook.received = []
    target = NotificationTarget(
        name="ops-hook",
        format="generic",
        url=hook.url("/hook"),
        events=["raised", "escalated", "resolved"],
        min_level="orange",
    )
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
        hook.close()
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
    engine.act(
        yuantan["warning_id"], "silence", "值班员张三", until=now + timedelta(minutes=10), note="现场处置中"
    )
    engine.tick()
    row = rt.warehouse.warning(yuantan["warning_id"])
    assert (
        row["state"] == "suppressed"
        and row["assignee"] == "水文分局 李工"
        and "现场处置中" in row["suppressed_reason"]
    )
    assert state_from_row(row).silenced_until == now + timedelta(minutes=10)
    rt.clock.set(now + timedelta(minutes=15))  # type: ignore[attr-defined]  (the feeds are not stale yet)
    engine.tick()
    rt.clock.set(now)  # type: ignore[attr-defined]
    row = rt.warehouse.warning(yuantan["warning_id"])
    assert row["state"] == "acknowledged" and row["silenced_until"] is None  # back as it was, by itself
    reasons = list(rt.warehouse.warning_transitions(yuantan["warning_id"])["reason"])
    codes = [(r.code, r.params) for text in reasons for r in parse_reasons(text)]
    assert ("assigned", {"assignee": "水文分局 李工"}) in codes and ("suppression_ended", {}) in codes

    # orange and red events reached the webhook, blue and yellow did not (min_level)
    assert _Hook.received and {m["level"] for m in _Hook.received} <= {"orange", "red"}
    assert any(m["rule_id"] == "water.level" and m["entity_name"] == "源潭" for m in _Hook.received)
    deliveries = rt.warehouse.deliveries()
    assert (deliveries["status"] == "delivered").all() and len(deliveries) == len(_Hook.received)


def test_a_stale_feed_suppresses_its_warnings_and_raises_one_outage(scenario_runtime: Runtime) -> None:
    rt = scenario_runtime
    engine = Alerting(rt, load_rule_pack(rt.settings))
    for t in (END - STEP, END):  # the rivers' warnings are active (whether or not other tests ran first)
        rt.clock.set(t)  # type: ignore[attr-defined]
        engine.tick()
    at = END + timedelta(hours=1)
    rt.clock.set(at)  # type: ignore[attr-defined]
    first = engine.tick()  # no data for 1 h
    rt.clock.set(at + timedelta(hours=2))  # type: ignore[attr-defined]
    result = engine.tick()  # no data for 3 h
    rt.clock.set(END)  # type: ignore[attr-defined]
    # Stale: the feeds whose 6 × cadence has passed without data (air, hourly, is not yet).
    stale_after = rt.settings.ingest.stale_after
    for idle in (timedelta(hours=1), timedelta(hours=3)):
        stale = {n for n, f in rt.settings.feeds.items() if f.cadence * stale_after < idle}
        assert stale == {"water", "rain", "traffic", "incidents"}
    # One outage warning per stale feed, counted (a duplicate would fail): raised at the first tick,
    # only reminded at the second, one row each in the warehouse, one open state each.
    first_events = [e for e in first.events if e.warning.rule_id == "feeds.outage"]
    later_events = [e for e in result.events if e.warning.rule_id == "feeds.outage"]
    assert Counter((e.kind, e.warning.key) for e in first_events) == dict.fromkeys(
        (("raised", k) for k in stale), 1
    )
    assert {e.kind for e in later_events} == {"reminder"}
    stored = rt.warehouse.warnings(limit=100_000)
    assert Counter(stored.loc[stored["rule_id"] == "feeds.outage", "key"]) == dict.fromkeys(stale, 1)
    states = Counter(s.key for s in result.states.values() if s.rule_id == "feeds.outage")
    assert states == dict.fromkeys(stale, 1)
    water = [s for s in result.states.values() if s.domain == "water" and s.rule_id != "feeds.outage"]
    assert water and all(s.state == "suppressed" and s.suppressed_reason for s in water)
