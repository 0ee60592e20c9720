"""The evidence of a warning in words: every number says what it is (the measure and its unit) and
every threshold what it means, in both languages; a predicted crossing with no time left reads as
reached, never as "in ~0 minutes (0–0)". The texts come from a real evaluation of rules, the detail
and the figure's threshold lines from the console's own builders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest

from dashboard.pages.warnings import build_detail
from dashboard.pages.warnings.evidence import _thresholds
from dashboard.pages.warnings.values import (
    condition_text,
    eta_text,
    measure_text,
    point_text,
    threshold_label,
    threshold_text,
    value_text,
)
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.rules import Rule, RulePack
from tests.helpers import component_texts

T0 = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
TZ = "Asia/Shanghai"
BARE = ("/ 0", "阈值 0", "threshold 0", "约0分钟", "约 0 分钟", "0–0", "in ~0 min")


def _rule(**fields: Any) -> Rule:
    base = {"citation": "t", "effective": date(2026, 1, 1), "debounce": "0m"}
    return Rule.model_validate(base | fields)


BASIN_RULE = _rule(
    id="water.basin.corroborated",
    title="流域多站超警戒",
    kind="k_of_n",
    domain="water",
    metric="over_warning_m",
    entity_kind="hydro_station",
    group="basin",
    k=2,
    levels={"orange": 0.0},
)
PREDICTED_RULE = _rule(
    id="water.predicted.warning",
    title="预计超警戒",
    kind="predicted",
    domain="water",
    metric="eta_warning_min",
    entity_kind="hydro_station",
    level="yellow",
    unit="分钟",
    levels={"blue": {"lead": "3h"}, "yellow": {"lead": "1h"}},
)


def _signals(metric: str, values: dict[str, float], **extra: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "domain": "water",
                "scope": "entity",
                "key": key,
                "metric": metric,
                "value": value,
                "ts": T0.replace(tzinfo=None),
                "entity_id": key,
                "name": key,
                "district_code": "441802",
                "basin": "大燕河",
                "entity_kind": "hydro_station",
                **{col: by_key[key] for col, by_key in extra.items()},
            }
            for key, value in values.items()
        ]
    )


def _row(finding: Any, rule: Rule, level: int) -> dict[str, Any]:
    """A warning row as the warehouse hands it to the console."""
    return {
        "warning_id": "W1",
        "rule_id": rule.id,
        "rule_title": rule.title,
        "kind": rule.kind,
        "domain": rule.domain,
        "level": level,
        "state": "active",
        "scope": finding.scope,
        "key": finding.key,
        "name": finding.name,
        "district_code": finding.district_code,
        "value": finding.value,
        "threshold": finding.threshold,
        "summary": finding.summary,
        "evidence": json.dumps(finding.evidence),
        "data_ts": T0,
        "created_at": T0,
        "activated_at": T0,
    }


def _no_bare_numbers(texts: list[str]) -> None:
    for text in texts:
        for bad in BARE:
            assert bad not in text, (bad, text)


# -- the builders ----------------------------------------------------------------------------------


def test_a_distance_above_a_reference_level_says_which_level_and_what_zero_means() -> None:
    point = {"entity_id": "S1", "name": "长怖", "value": 1.29, "threshold": 0.0}
    assert point_text(point, "over_warning_m", ">=", "zh") == "长怖：超警戒水位 1.29 m（达到警戒水位即触发）"
    assert (
        point_text(point, "over_warning_m", ">=", "en")
        == "长怖: 1.29 m above the warning level (triggers at the warning level)"
    )
    assert measure_text("over_warning_m", -0.3, "zh") == "低于警戒水位 0.3 m"
    assert threshold_text("over_guaranteed_m", ">=", 0.5, "zh") == "超保证水位 ≥ 0.5 m 触发"
    assert (
        threshold_text("over_guaranteed_m", ">=", 0.5, "en")
        == "triggers at ≥ 0.5 m above the guaranteed level"
    )


def test_a_rain_total_names_its_window_unit_and_threshold() -> None:
    point = {"entity_id": "R1", "name": "石角雨量站", "value": 59.1, "threshold": 50}
    assert point_text(point, "r3_mm", ">=", "zh") == "石角雨量站：3小时雨量 59.1 mm（阈值 ≥ 50 mm）"
    assert point_text(point, "r3_mm", ">=", "en") == "石角雨量站: 3-h rainfall 59.1 mm (threshold ≥ 50 mm)"
    # a metric without a name here still carries its rule's unit
    assert measure_text("made_up", 3, "zh", "mm") == "3 mm"


def test_a_threshold_line_is_named_by_its_level_and_meaning() -> None:
    assert threshold_label(2, "over_warning_m", ">=", 0.0, "zh") == "橙色（二级）：达到警戒水位即触发"
    assert threshold_label(2, "r3_mm", ">=", 50, "en").endswith(": threshold ≥ 50 mm")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_time_left_reads_as_reached(lang: str) -> None:
    assert (
        eta_text(0.0, "eta_warning_min", lang)
        == {"zh": "已达到警戒水位", "en": "warning level already reached"}[lang]
    )
    assert eta_text(0.4, "eta_warning_min", lang) == eta_text(0.0, "eta_warning_min", lang)
    assert (
        eta_text(35.2, "eta_warning_min", lang)
        == {
            "zh": "预计约 35 分钟后达到警戒水位",
            "en": "warning level expected in ~35 min",
        }[lang]
    )
    assert eta_text(None, "eta_warning_min", lang) == "—"


def test_a_compound_condition_says_its_measure_and_threshold() -> None:
    cond = {"metric": "over_warning_m", "label": "最大超警(m)", "value": 1.2, "threshold": 0, "op": ">="}
    assert condition_text(cond, "zh") == "超警戒水位 1.2 m（达到警戒水位即触发）"
    assert condition_text(cond, "en") == "1.2 m above the warning level (triggers at the warning level)"
    other = {"metric": "x_y", "label": "某指标", "value": 4.5, "threshold": 4, "op": ">="}
    assert condition_text(other, "zh") == "某指标 4.5（阈值 ≥ 4）"


# -- real evaluations, shown by the console --------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_basin_corroboration_shows_each_station_against_its_warning_level(lang: str) -> None:
    pack = RulePack(id="t", version="t 1", title="t", rules=(BASIN_RULE,))
    signals = _signals("over_warning_m", {"长怖": 1.29, "龙沥": 0.72, "横石": -0.4})
    (finding,) = [f for f in evaluate_pack(pack, signals, pd.DataFrame()) if f.level is not None]
    assert finding.evidence["metric"] == "over_warning_m" and finding.evidence["op"] == ">="
    row = _row(finding, BASIN_RULE, 2)
    texts = component_texts(
        build_detail(row, BASIN_RULE, pack_version="t 1", names={}, tz=TZ, lang=lang, now=T0)
    )
    joined = "\n".join(texts)
    if lang == "zh":
        assert "长怖：超警戒水位 1.29 m（达到警戒水位即触发）" in joined
        assert "2/3 站越限（需 ≥ 2 站）" in joined
    else:
        assert "长怖: 1.29 m above the warning level (triggers at the warning level)" in joined
        assert "2/3 stations past the threshold (≥ 2 needed)" in joined
    _no_bare_numbers(texts)
    lines = _thresholds(row, BASIN_RULE, "over_warning_m", {}, lang)
    assert [line.value for line in lines] == [0.0]
    assert ("达到警戒水位即触发" if lang == "zh" else "triggers at the warning level") in lines[0].label
    _no_bare_numbers([line.label for line in lines])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_prediction_with_no_time_left_is_reached_in_the_summary_value_and_detail(lang: str) -> None:
    pack = RulePack(id="t", version="t 1", title="t", rules=(PREDICTED_RULE,))
    signals = _signals("eta_warning_min", {"龙沥": 0.0}, eta_low={"龙沥": 0.0}, eta_high={"龙沥": 0.0})
    (finding,) = evaluate_pack(pack, signals, pd.DataFrame())
    assert finding.level is not None
    assert finding.summary == "龙沥：已达到黄色预警阈值"  # the stored summary (written in Chinese)
    row = _row(finding, PREDICTED_RULE, 3)
    reached = {"zh": "已达到警戒水位", "en": "warning level already reached"}[lang]
    assert value_text(row, lang, "分钟") == reached
    texts = component_texts(
        build_detail(row, PREDICTED_RULE, pack_version="t 1", names={}, tz=TZ, lang=lang, now=T0)
    )
    assert reached in texts
    _no_bare_numbers(texts)


def test_a_prediction_ahead_keeps_its_time_and_a_real_band() -> None:
    pack = RulePack(id="t", version="t 1", title="t", rules=(PREDICTED_RULE,))
    signals = _signals("eta_warning_min", {"龙沥": 40.0}, eta_low={"龙沥": 25.0}, eta_high={"龙沥": 55.0})
    (finding,) = evaluate_pack(pack, signals, pd.DataFrame())
    assert finding.summary == "龙沥：预计约40分钟后达到黄色预警阈值（区间 25–55 分钟）"
    row = _row(finding, PREDICTED_RULE, 3)
    texts = component_texts(
        build_detail(row, PREDICTED_RULE, pack_version="t 1", names={}, tz=TZ, lang="zh", now=T0)
    )
    assert "预计约 40 分钟后达到警戒水位" in texts
    assert "06-15 09:40（区间 09:25–09:55）" in texts  # 01:00 UTC + 40 min, in the city's time
    # a band that collapses to the time itself is not shown
    tight = _signals("eta_warning_min", {"龙沥": 40.0}, eta_low={"龙沥": 40.2}, eta_high={"龙沥": 39.8})
    (finding,) = evaluate_pack(pack, tight, pd.DataFrame())
    assert finding.summary == "龙沥：预计约40分钟后达到黄色预警阈值"
