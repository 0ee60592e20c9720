"""The /warnings console as plain functions: grid rows from a real warehouse's warnings, the detail as a
component tree, the evidence figure, and the action callback's server-side role check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from flask import g

from cityops.base.auth import Principal
from dashboard.figures.warning import EtaMark, ThresholdLine, build_series_figure, metric_series
from dashboard.i18n import t
from dashboard.pages.warnings import (
    build_audit,
    build_detail,
    build_rows,
    filter_warnings,
    order_warnings,
    perform_action,
)
from dashboard.services import Services
from ingest.pipeline import Runtime
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import advance, resolve
from metrics.warnings.rules import Rule, RulePack
from tests.helpers import component_texts, water_level_signals

T0 = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
TZ = "Asia/Shanghai"
SCRIPT = "<script>alert(1)</script>"


def water_rule() -> Rule:
    return Rule.model_validate(
        {
            "id": "water.level",
            "title": "河道水位超警戒",
            "kind": "ladder",
            "domain": "water",
            "metric": "level_m",
            "citation": "SL 758-2018《水情预警信号》§3.3",
            "effective": date(2018, 6, 1),
            "unit": "m",
            "debounce": "0m",
            "levels": {
                "blue": {"value": 10.0},
                "yellow": {"value": 11.0},
                "orange": {"value": 12.0},
                "red": {"value": 13.0},
            },
        }
    )


def pack() -> RulePack:
    return RulePack(id="t", version="test 2026.1", title="t", rules=(water_rule(),))


STATIONS = {
    "A": (13.4, "源潭", "441802"),  # red
    "B": (12.2, f"石角{SCRIPT}", "441802"),  # orange; feed text with markup
    "C": (10.5, "浛洸", "441881"),  # blue
}


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], tmp_path: Any) -> Runtime:
    """A real warehouse holding the warnings one real evaluation tick raised; C is then resolved."""
    rt = make_runtime(tmp_path, {})
    result = advance(pack(), {}, evaluate_pack(pack(), water_level_signals(STATIONS, T0), pd.DataFrame()), T0)
    rt.warehouse.save_warnings(list(result.states.values()), result.transitions)
    c = next(s for s in result.states.values() if s.entity_id == "C")
    closed, tr = resolve(c, "tester", T0 + timedelta(minutes=30), "河道回落")
    rt.warehouse.save_warnings([closed], [tr])
    rt.clock.set(T0 + timedelta(hours=1, minutes=5))  # type: ignore[attr-defined]
    return rt


def _by_entity(rt: Runtime, entity: str) -> dict[str, Any]:
    frame = rt.warehouse.warnings(limit=100)
    return frame[frame["entity_id"] == entity].iloc[0].to_dict()


def _find(component: Any, cls: str) -> list[Any]:
    found = [component] if cls in (getattr(component, "className", "") or "").split() else []
    children = getattr(component, "children", None)
    for c in children if isinstance(children, list | tuple) else [children] if children is not None else []:
        if not isinstance(c, str | int | float):
            found += _find(c, cls)
    return found


# -- the grid -------------------------------------------------------------------------------------


def test_rows_open_first_most_severe_first_with_colour_class_and_text(runtime: Runtime) -> None:
    frame = runtime.warehouse.warnings(limit=100)
    now = runtime.clock.now()
    rows = build_rows(
        order_warnings(frame),
        now=now,
        tz=TZ,
        lang="zh",
        names={"441802": "清城区", "441881": "英德市"},
        units={"water.level": "m"},
    )
    assert [r["place"] for r in rows] == ["源潭 · 清城区", f"石角{SCRIPT} · 清城区", "浛洸 · 英德市"]
    assert [r["open"] for r in rows] == [True, True, False]  # the resolved blue one comes last
    red = rows[0]
    assert (red["level"], red["level_class"]) == (1, "lv-red") and "红色" in red[
        "level_text"
    ]  # colour and words
    assert red["state_text"] == t("warnings.state.active", "zh")
    assert red["since"] == "06-15 09:00" and red["age"] == "1h05m"  # local time (UTC+8) and age
    assert red["value"] == "13.4 m（阈值 ≥ 13 m）"
    assert rows[2]["state_text"] == t("warnings.state.resolved", "zh") and rows[2]["age"] == "30m"
    # Feed text stays the literal text (the grid renders cells as text; nothing is escaped into HTML or
    # parsed).
    assert rows[1]["summary"].count(SCRIPT) == 1 and "&lt;" not in rows[1]["summary"]
    en = build_rows(order_warnings(frame), now=now, tz=TZ, lang="en", names={})
    assert en[0]["level_text"] == "Red (Level I)" and en[0]["state_text"] == "active"


def test_filters_by_level_state_district_and_time(runtime: Runtime) -> None:
    frame = runtime.warehouse.warnings(limit=100)

    def entities(**kw: Any) -> list[str]:
        return sorted(filter_warnings(frame, **kw)["entity_id"])

    assert entities() == ["A", "B", "C"]
    assert entities(levels=[1, 2]) == ["A", "B"]
    assert entities(states=["resolved"]) == ["C"]
    assert entities(districts=["441881"]) == ["C"]
    assert entities(domains=["air"]) == []
    # Resolved 30 min after T0: in a range starting before that, not in one starting after.
    assert entities(start=T0 + timedelta(minutes=20)) == ["A", "B", "C"]
    assert entities(start=T0 + timedelta(minutes=40)) == ["A", "B"]
    assert entities(end=T0 - timedelta(minutes=1)) == []  # raised after the range's end


# -- the detail -----------------------------------------------------------------------------------


def test_detail_shows_rule_citation_and_feed_text_as_text(runtime: Runtime) -> None:
    row = runtime.warehouse.warning(_by_entity(runtime, "B")["warning_id"])
    assert row is not None
    detail = build_detail(
        row,
        water_rule(),
        pack_version="test 2026.1",
        names={"441802": "清城区"},
        tz=TZ,
        lang="zh",
        now=runtime.clock.now(),
    )
    texts = component_texts(detail)
    assert "SL 758-2018《水情预警信号》§3.3" in texts and "2018-06-01" in texts and "test 2026.1" in texts
    assert "water.level" in texts and "橙色（二级）" in texts
    assert f"石角{SCRIPT} · 清城区" in texts  # a plain string child: React renders it as text
    assert _find(detail, "lv-orange")
    # Without a rule pack, the page says the citation is unavailable instead of inventing one.
    bare = component_texts(
        build_detail(row, None, pack_version=None, names={}, tz=TZ, lang="en", now=runtime.clock.now())
    )
    assert t("warnings.detail.no_pack", "en") in bare


def test_audit_rows_with_actor_states_and_comments(runtime: Runtime) -> None:
    wid = _by_entity(runtime, "C")["warning_id"]
    audit = build_audit(runtime.warehouse.warning_transitions(wid), tz=TZ, lang="zh")
    rows = _find(audit, "audit-row")
    assert len(rows) == 3  # raised (pending), active, resolved by the operator
    last = component_texts(rows[-1])
    assert "tester" in last and "生效 → 已解除" in last and "值班人员解除：河道回落" in last
    # The coded reason reads in the page's language; a reason stored before reasons were coded, as it is.
    english = component_texts(
        _find(build_audit(runtime.warehouse.warning_transitions(wid), tz=TZ, lang="en"), "audit-row")[-1]
    )
    assert "resolved by operator: 河道回落" in english
    old = pd.DataFrame(
        [{**runtime.warehouse.warning_transitions(wid).iloc[-1].to_dict(), "reason": "held for 0:10:00"}]
    )
    assert "held for 0:10:00" in component_texts(build_audit(old, tz=TZ, lang="zh"))
    assert "06-15 09:30:00" in last
    first = component_texts(rows[0])
    assert t("warnings.audit.system", "zh") in first and "∅ → 待确认" in first


# -- the evidence figure --------------------------------------------------------------------------


def test_series_figure_draws_thresholds_and_the_expected_crossing() -> None:
    ts = pd.date_range("2026-06-15 08:00", periods=7, freq="10min")
    series = pd.DataFrame({"ts": ts, "value": [10.1, 10.3, 10.6, 10.8, 11.0, 11.1, 11.3]})
    lines = [ThresholdLine(11.0, 3, "黄色 阈值 11"), ThresholdLine(12.0, 2, "橙色 阈值 12")]
    eta = EtaMark(
        datetime(2026, 6, 15, 9, 40),
        datetime(2026, 6, 15, 9, 25),
        datetime(2026, 6, 15, 10, 5),
        "预计越限 09:40",
    )
    fig = build_series_figure(series, lines, raised_at=datetime(2026, 6, 15, 8, 40), eta=eta, unit="m")
    drawn = {tr.name: set(tr.y) for tr in fig.data if tr.legendgroup == "thresholds"}
    assert drawn == {"黄色 阈值 11": {11.0}, "橙色 阈值 12": {12.0}}
    colours = {tr.name: tr.line.color for tr in fig.data if tr.legendgroup == "thresholds"}
    assert colours == {"黄色 阈值 11": "#ffd60a", "橙色 阈值 12": "#ff9a2e"}
    shapes = {s.name: s for s in fig.layout.shapes}
    assert pd.Timestamp(shapes["eta"].x0) == pd.Timestamp(eta.at)
    assert (pd.Timestamp(shapes["eta-band"].x0), pd.Timestamp(shapes["eta-band"].x1)) == (
        pd.Timestamp(eta.low),
        pd.Timestamp(eta.high),
    )
    # The x axis reaches the crossing, even though it lies after the last reading.
    assert pd.Timestamp(fig.layout.xaxis.range[1]) > pd.Timestamp(eta.high)
    plain = build_series_figure(series, lines[:1])
    assert "eta" not in {s.name for s in plain.layout.shapes}


def test_metric_series_derives_what_the_rules_read() -> None:
    ts = pd.date_range("2026-06-15 00:00", periods=5, freq="30min")
    water = pd.DataFrame({"ts": ts, "level_m": [10.0, 10.2, 10.5, 10.9, 11.0]})
    over = metric_series(water, "water", "over_warning_m", {"warning_level_m": 10.5})
    assert over["value"].round(2).tolist() == [-0.5, -0.3, 0.0, 0.4, 0.5]
    rise = metric_series(water, "water", "rise_1h_m")
    assert rise["value"].round(2).tolist() == [0.5, 0.7, 0.5]  # the first hour has no reading an hour before
    assert metric_series(water, "water", "traffic_index").empty  # not derivable: said, not guessed


# -- actions: the role is checked in the callback, on the server ----------------------------------


@pytest.fixture
def app(runtime: Runtime) -> Iterator[Any]:
    from dashboard.app import create_app

    yield create_app(Services(runtime))


def _act_as(app: Any, principal: Principal, action: str, wid: str, **kw: Any) -> tuple[Any, bool]:
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.principal = principal
        return perform_action(action, wid, lang="zh", **kw)


def test_a_viewer_is_refused_and_nothing_changes(app: Any, runtime: Runtime) -> None:
    wid = _by_entity(runtime, "A")["warning_id"]
    before_row = runtime.warehouse.warning(wid)
    before_audit = runtime.warehouse.warning_transitions(wid)
    viewer = Principal("anonymous", "viewer", "anonymous", "")
    for action in ("acknowledge", "assign", "comment", "resolve", "silence"):
        message, changed = _act_as(app, viewer, action, wid, note="forged", assignee="x")
        assert not changed and "error" in message.className and "无权执行" in message.children
    analyst = Principal("analyst", "analyst", "user", "分析员")
    _, changed = _act_as(app, analyst, "acknowledge", wid)
    assert not changed
    assert runtime.warehouse.warning(wid) == before_row
    pd.testing.assert_frame_equal(runtime.warehouse.warning_transitions(wid), before_audit)


def test_an_operator_acknowledges_and_the_audit_trail_gains_the_row(app: Any, runtime: Runtime) -> None:
    wid = _by_entity(runtime, "A")["warning_id"]
    n = len(runtime.warehouse.warning_transitions(wid))
    duty = Principal("duty", "operator", "user", "值班员（演示）")
    message, changed = _act_as(app, duty, "acknowledge", wid, note="已到场")
    assert changed and "ok" in message.className
    row = runtime.warehouse.warning(wid)
    assert (
        row is not None
        and row["state"] == "acknowledged"
        and row["acknowledged_by"] == "值班员（演示）(duty)"
    )
    audit = runtime.warehouse.warning_transitions(wid)
    assert len(audit) == n + 1
    last = audit.iloc[-1]
    assert (last["actor"], last["from_state"], last["to_state"], last["reason"]) == (
        "值班员（演示）(duty)",
        "active",
        "acknowledged",
        "[acknowledged] acknowledged; [note] 已到场",
    )
    # Acknowledging twice does not apply: a clear message, and nothing changes.
    message, changed = _act_as(app, duty, "acknowledge", wid)
    assert (
        not changed
        and "未执行" in message.children
        and len(runtime.warehouse.warning_transitions(wid)) == n + 1
    )
    # A silence for a chosen period ends that long after the (runtime's) now.
    message, changed = _act_as(app, duty, "silence", wid, silence_for="4h")
    row = runtime.warehouse.warning(wid)
    assert changed and row is not None and row["state"] == "suppressed"
    assert pd.Timestamp(row["silenced_until"]) == pd.Timestamp(
        runtime.clock.now() + timedelta(hours=4)
    ).tz_convert(None)
