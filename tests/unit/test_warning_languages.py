"""Warnings in one language at a time: rule titles and summaries in Chinese and English, stored side by
side; the audit trail's reasons coded and read in the page's language; an older uncoded reason as it is."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import ingest.reasons
import metrics.reasons
from cityops.alerting.records import state_from_row
from dashboard.figures.citymap import BaseLayer, MapLayers, build_city_map
from dashboard.figures.explore import build_series_figure
from dashboard.pages.warnings.detail import build_audit
from dashboard.pages.warnings.values import reason_text, summary_text, title_text
from dashboard.plotly_locale import graph_config
from metrics.reasons import parse_reasons
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import REASON_CODES, acknowledge, advance, assign, comment, resolve, silence
from metrics.warnings.rules import Rule, RulePack, parse_pack, resolve_packs
from tests.helpers import component_texts, water_level_signals

T0 = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
RULES = Path(__file__).resolve().parents[2] / "sample_data" / "rules"
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
STATION = "石角站"


def water_rule(**changes: Any) -> Rule:
    base: dict[str, Any] = {
        "id": "water.level",
        "title": "河道水位",
        "title_en": "River water level",
        "kind": "ladder",
        "domain": "water",
        "metric": "level_m",
        "citation": "test",
        "effective": date(2020, 1, 1),
        "levels": {"yellow": {"value": 10.0}, "orange": {"value": 11.0}},
        "debounce": "10m",
        "clear_after": "15m",
        "unit": "m",
    }
    base.update(changes)
    return Rule.model_validate(base)


def pack_of(*rules: Rule) -> RulePack:
    return RulePack(id="t", version="t 1", title="测试", title_en="test", rules=tuple(rules))


def raise_and_resolve(pack: RulePack) -> tuple[list[Any], Any]:
    """Station 石角站 above yellow for three ticks then orange, then below everything until resolved."""
    states: dict[str, Any] = {}
    transitions: list[Any] = []
    last = None
    for i, level in enumerate([10.5, 10.5, 10.5, 11.5, 9.0, 9.0, 9.0, 9.0, 9.0]):
        now = T0 + i * STEP
        findings = evaluate_pack(
            pack, water_level_signals({"S": (level, STATION, "441802")}, now), pd.DataFrame()
        )
        res = advance(pack, states, findings, now)
        states = res.states
        transitions += res.transitions
        last = next(iter(states.values()), None) or (res.closed[0] if res.closed else last)
    return transitions, last


def test_the_sample_packs_speak_english_too() -> None:
    for path in sorted(RULES.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert data["pack"].get("title_en") and data["pack"].get("citation_en"), path.name
        for rule in data.get("rules", []):
            assert rule.get("title_en") and not CJK.search(rule["title_en"]), (path.name, rule["id"])
            assert rule.get("citation_en") and not CJK.search(rule["citation_en"]), rule["id"]
            if rule.get("message"):
                assert rule.get("message_en") and not CJK.search(rule["message_en"]), rule["id"]
            for cond in rule.get("conditions", []):
                assert cond.get("label_en") and not CJK.search(cond["label_en"]), rule["id"]
    docs = [
        parse_pack(tomllib.loads((RULES / f"{n}.toml").read_text(encoding="utf-8")), source=n)
        for n in ("national", "guangdong", "qingyuan")
    ]
    pack = resolve_packs(docs)
    assert pack.title_en == "Qingyuan city rules"
    assert all(r.title_en for r in pack.rules)


def test_a_finding_has_its_summary_in_both_languages() -> None:
    message = {"message": "{entity}水位 {value} m（{level}阈值 {threshold} m）"}
    message["message_en"] = "{entity} water level {value} m ({level} threshold {threshold} m)"
    for rule in (water_rule(), water_rule(**message)):
        (finding,) = evaluate_pack(
            pack_of(rule), water_level_signals({"S": (11.3, STATION, "441802")}, T0), pd.DataFrame()
        )
        assert "11.3" in finding.summary and CJK.search(finding.summary.replace(STATION, ""))
        english = finding.summary_en.replace(STATION, "")
        assert "11.3" in english and "threshold 11 m" in english
        assert ("orange threshold" in english) == bool(rule.message_en)
        assert not CJK.search(english), finding.summary_en
    # A k-of-n rule and a compound rule say it in English too.
    k_of_n = water_rule(
        id="water.basin",
        kind="k_of_n",
        group="basin",
        k=2,
        levels={"orange": {"value": 10.0}},
        title_en="Basin",
    )
    stations = {"A": (10.5, "甲站", "441802"), "B": (10.6, "乙站", "441802")}
    (basin,) = evaluate_pack(pack_of(k_of_n), water_level_signals(stations, T0), pd.DataFrame())
    assert basin.summary_en.startswith("北江 Basin: 2 of 2 stations at the orange threshold")


def test_the_warning_stores_the_english_title_and_summary_and_reads_them_back(
    make_runtime: Any, tmp_path: Path
) -> None:
    rt = make_runtime(tmp_path, {})
    pack = pack_of(water_rule())
    transitions, st = raise_and_resolve(pack)
    assert (
        st.rule_title_en == "River water level"
        and st.summary_en
        and not CJK.search(st.summary_en.replace(STATION, ""))
    )
    rt.warehouse.save_warnings([st], transitions)
    row = rt.warehouse.warning(st.warning_id)
    assert (
        row is not None and row["rule_title_en"] == "River water level" and row["summary_en"] == st.summary_en
    )
    back = state_from_row(row)
    assert (back.rule_title_en, back.summary_en) == (st.rule_title_en, st.summary_en)
    assert title_text(row, "en") == "River water level" and title_text(row, "zh") == "河道水位"
    assert summary_text(row, "en") == st.summary_en and summary_text(row, "zh") == st.summary
    # A warning stored before titles had English: the rule's English title, else the Chinese one.
    old = {**row, "rule_title_en": None, "summary_en": None}
    assert title_text(old, "en", water_rule()) == "River water level"
    assert title_text(old, "en") == "河道水位" and summary_text(old, "en") == st.summary


def test_every_transition_reason_is_coded_and_reads_in_one_language() -> None:
    pack = pack_of(water_rule())
    transitions, _ = raise_and_resolve(pack)
    codes = [parse_reasons(tr.reason)[0].code for tr in transitions]
    assert (
        codes[:2] == ["condition_reached", "held"] and "escalated" in codes and codes[-1] == "condition_clear"
    )
    # The operator's actions, with their notes kept as written.
    _, active = raise_and_resolve(pack_of(water_rule(clear_after="1h")))  # still active: clear < 1 h
    acted = []
    new, tr = acknowledge(active, "duty", T0 + timedelta(hours=1), "巡查人员已到场")
    acted.append(tr)
    new, tr = assign(new, "duty", "水利局 王工", T0 + timedelta(hours=1))
    acted.append(tr)
    new, tr = comment(new, "duty", "已通知下游 Bridge team", T0 + timedelta(hours=1))
    acted.append(tr)
    silenced, tr = silence(new, "duty", T0 + timedelta(hours=3), T0 + timedelta(hours=1), "等待泄洪")
    acted.append(tr)
    _, tr = resolve(silenced, "duty", T0 + timedelta(hours=2))
    acted.append(tr)
    for reason in [tr.reason for tr in transitions + acted]:
        parts = parse_reasons(reason)
        assert parts and all(p.code in REASON_CODES for p in parts), reason
        zh, en = reason_text(reason, "zh"), reason_text(reason, "en")
        notes = [p.detail for p in parts if p.code == "note"] + ["水利局 王工", "duty"]
        zh_bare, en_bare = zh, en
        for note in notes:
            zh_bare, en_bare = zh_bare.replace(note, ""), en_bare.replace(note, "")
        assert zh and not LATIN_WORD.search(zh_bare), zh
        assert en and not CJK.search(en_bare), en
    assert reason_text(acted[0].reason, "zh") == "已确认：巡查人员已到场"
    assert reason_text(acted[2].reason, "en") == "comment: 已通知下游 Bridge team"
    assert reason_text(transitions[1].reason, "zh") == "条件持续 10 分钟"
    assert reason_text(transitions[0].reason, "en").startswith("condition reached yellow (Level III)")
    # A reason stored before reasons were coded reads as it is.
    assert reason_text("held for 0:10:00", "zh") == "held for 0:10:00"


def test_the_audit_table_renders_reasons_in_the_page_language() -> None:
    transitions, _ = raise_and_resolve(pack_of(water_rule()))
    frame = pd.DataFrame(
        [
            {
                "occurred_at": tr.at.replace(tzinfo=None),
                "actor": tr.actor,
                "from_state": tr.from_state,
                "to_state": tr.to_state,
                "from_level": None if tr.from_level is None else int(tr.from_level),
                "to_level": None if tr.to_level is None else int(tr.to_level),
                "reason": tr.reason,
            }
            for tr in transitions
        ]
    )
    zh = " ".join(component_texts(build_audit(frame, tz="Asia/Shanghai", lang="zh")))
    en = " ".join(component_texts(build_audit(frame, tz="Asia/Shanghai", lang="en")))
    assert "条件持续 10 分钟" in zh and "held for" not in zh and "[held" not in zh
    assert "held for 10 min" in en and not CJK.search(en)


def test_the_quarantine_codec_is_the_same_in_ingest() -> None:
    assert ingest.reasons.make_reason is metrics.reasons.make_reason
    assert ingest.reasons.parse_reasons is metrics.reasons.parse_reasons
    text = ingest.reasons.make_reason("cell_invalid", "no2: bad", column="no2", value="NaN")
    assert [(r.code, r.params) for r in metrics.reasons.parse_reasons(text)] == [
        ("cell_invalid", {"column": "no2", "value": "NaN"})
    ]


@pytest.mark.parametrize(("lang", "legend"), [("zh", "主要河流"), ("en", "Main rivers")])
def test_a_base_layer_is_named_in_the_legend_in_the_page_language(lang: str, legend: str) -> None:
    river = {"type": "LineString", "coordinates": [[113.0, 23.7], [113.1, 23.8]]}
    layer = BaseLayer("主要河流", [river], names=[{"zh": "北江", "en": "Bei River"}], name_en="Main rivers")
    districts = pd.DataFrame(columns=["code", "name", "geometry", "lon", "lat", "index"])
    fig = build_city_map(
        MapLayers(districts=districts, base=[layer]), style={}, center=(113.05, 23.75), zoom=9, lang=lang
    )
    names = {tr.name for tr in fig.data if tr.name}
    assert legend in names and ({"主要河流", "Main rivers"} - {legend}).isdisjoint(names)


def test_date_axes_and_plotly_texts_in_chinese() -> None:
    series = pd.DataFrame(
        {
            "time": pd.date_range("2026-06-14 00:00", periods=48, freq="h"),
            "value": [float(i) for i in range(48)],
        }
    )
    fig = build_series_figure(series, [], title="", metric_label="水位", unit="m", lang="zh")
    stops = [s.value for s in fig.layout.xaxis.tickformatstops]
    assert "%-m月%-d日" in stops and fig.layout.xaxis.hoverformat == "%Y-%m-%d %H:%M"
    english = build_series_figure(series, [], title="", metric_label="level", unit="m", lang="en")
    assert not english.layout.xaxis.tickformatstops
    config = graph_config("zh", displaylogo=False)
    assert config["locale"] == "zh-CN" and config["locales"]["zh-CN"]["format"]["shortMonths"][5] == "6月"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_tells_a_warning_in_the_page_language(lang: str) -> None:
    districts = pd.DataFrame(columns=["code", "name", "geometry", "lon", "lat", "index"])
    warnings = pd.DataFrame(
        {
            "lon": [113.05, 113.1],
            "lat": [23.7, 23.8],
            "level": [2, 3],
            "summary": ["石角站水位 11.3 m", "旧预警"],
            "summary_en": ["石角站 water level 11.3 m", None],  # the second was stored before English
        }
    )
    fig = build_city_map(
        MapLayers(districts=districts, warnings=warnings), style={}, center=(113.05, 23.75), zoom=9, lang=lang
    )
    (halo,) = [tr for tr in fig.data if tr.name in ("生效预警", "Active warnings")]
    expected = ["石角站 water level 11.3 m", "旧预警"] if lang == "en" else ["石角站水位 11.3 m", "旧预警"]
    assert list(halo.text) == expected
