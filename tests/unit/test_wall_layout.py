"""The wall's warning list, banner and tiles as data: grouping (the same rule across stations, the same
district), paging, a department's level, the alarm banner and the freshness words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from dashboard.pages.wall import (
    CARDS_PER_PAGE,
    MIN_TEXT_PX,
    build_banner,
    build_kpis,
    build_trend,
    build_warnings,
    for_screen,
)
from dashboard.wall import (
    data_delay_minutes,
    department_levels,
    group_warnings,
    page_of,
    unacknowledged_alarms,
)
from tests.helpers import component_texts

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def row(
    wid: str,
    rule: str,
    level: int,
    place: str,
    district: str = "清城区",
    *,
    state: str = "active",
    domain: str = "water",
    minutes_ago: int = 10,
) -> dict[str, Any]:
    return {
        "id": wid,
        "level": level,
        "title": f"规则{rule}",
        "state": state,
        "summary": f"{place} 摘要",
        "since": NOW - timedelta(minutes=minutes_ago),
        "acknowledged": state == "acknowledged",
        "rule_id": rule,
        "domain": domain,
        "place": place,
        "district": district,
    }


def test_one_rule_across_stations_is_one_card_and_every_warning_is_behind_one_card() -> None:
    rows = [row(f"r{i}", "water.rise", 4, f"站{i}", minutes_ago=i) for i in range(13)]
    rows += [row("a", "water.level", 2, "源潭"), row("b", "water.level", 3, "长怖")]  # one rule, two levels
    rows += [row("c", "incident.flood", 3, "清城区"), row("d", "rain.corr", 3, "清城区")]  # one district
    rows += [row("e", "rain.signal", 1, "英德", district="英德市", domain="rain", state="acknowledged")]
    cards = group_warnings(rows)
    assert sum(c.count for c in cards) == len(rows)
    assert sorted(i for c in cards for i in c.ids) == sorted(r["id"] for r in rows)
    kinds = {(c.kind, c.level, c.count) for c in cards}
    assert ("rule", 4, 13) in kinds  # 13 stations of one rule: one card
    assert ("district", 3, 3) in kinds  # yellow singles of 清城区 (two rules and 长怖's level): one card
    assert ("one", 2, 1) in kinds and ("one", 1, 1) in kinds
    # most severe first; within a level, the unacknowledged before the acknowledged
    assert [c.level for c in cards] == sorted(c.level for c in cards)
    rule_card = next(c for c in cards if c.kind == "rule")
    assert rule_card.unacked == 13 and rule_card.places[:2] == ("站0", "站1")
    assert rule_card.since == NOW  # the newest of the group


def test_no_warnings_no_cards_and_a_lone_warning_stays_itself() -> None:
    assert group_warnings([]) == []
    (card,) = group_warnings([row("x", "water.level", 2, "源潭")])
    assert (card.kind, card.count, card.summary, card.ids) == ("one", 1, "源潭 摘要", ("x",))


@pytest.mark.parametrize(("n", "pages"), [(0, 1), (1, 1), (5, 1), (6, 2), (12, 3)])
def test_pages_cover_every_card_once_and_wrap(n: int, pages: int) -> None:
    cards = group_warnings([row(f"w{i}", f"rule{i}", 3, f"站{i}", district=f"区{i}") for i in range(n)])
    seen = []
    for index in range(pages):
        shown, number, total = page_of(cards, 5, index)
        assert total == pages and number == index + 1 and len(shown) <= 5
        seen.extend(shown)
    assert seen == cards
    assert page_of(cards, 5, pages)[1] == 1  # the rotation starts again


def test_department_level_is_its_most_severe_warning_in_force() -> None:
    rows = [
        row("a", "rain.signal", 2, "英德", domain="rain"),
        row("b", "rain.signal", 1, "佛冈", domain="rain", state="acknowledged"),  # acknowledged: in force
        row("c", "rain.signal", 1, "清新", domain="rain"),
        row("d", "water.level", 1, "源潭", domain="water", state="suppressed"),  # its feed is stale
        row("e", "water.level", 3, "长怖", domain="water"),
    ]
    assert department_levels(rows) == {"rain": (1, 2), "water": (3, 1)}


def test_the_banner_holds_while_a_red_or_orange_warning_is_unacknowledged() -> None:
    rows = [
        row("y", "water.level", 3, "长怖"),
        row("o", "rain.signal", 2, "英德", minutes_ago=30),
        row("r", "rain.signal", 1, "佛冈", minutes_ago=50),
        row("r2", "rain.signal", 1, "清新", minutes_ago=5),
    ]
    assert [r["id"] for r in unacknowledged_alarms(rows)] == ["r2", "r", "o"]
    snap = SimpleNamespace(warnings=rows)
    children, banner_class, wall_class = build_banner(snap, "zh")
    text = "".join(component_texts(SimpleNamespace(children=children)))
    assert "红色预警未签收 2 条 · 橙色 1 条" in text and "清新 摘要" in text
    assert "show" in banner_class and "lv-red" in banner_class and "alarm-lv-red" in wall_class
    for r in rows:  # acknowledged on the console: the banner goes
        r["state"], r["acknowledged"] = "acknowledged", True
    assert build_banner(snap, "zh") == ([], "wall-banner", "wall")
    yellow_only = SimpleNamespace(warnings=[row("y", "water.level", 3, "长怖")])
    assert build_banner(yellow_only, "en")[1] == "wall-banner"


def _snapshot(rows: list[dict[str, Any]], freshness: dict[str, str], as_of: dict[str, Any]) -> Any:
    return SimpleNamespace(
        kpis={"rain": {"max_1h_mm": 30.0, "gauge_1h": "英德", "max_3h_mm": 104.0, "gauge_3h": "英德"}},
        freshness=freshness,
        data_as_of=as_of,
        warnings=rows,
        computed_at=NOW,
    )


def _find(component: Any, cls: str) -> list[Any]:
    out = []
    if cls in (getattr(component, "className", "") or "").split():
        out.append(component)
    children = getattr(component, "children", None)
    for c in children if isinstance(children, list | tuple) else [children]:
        if c is not None and not isinstance(c, str | int | float):
            out.extend(_find(c, cls))
    return out


def test_tiles_take_their_departments_level_and_late_data_says_so_in_its_own_style() -> None:
    svc = SimpleNamespace(local=lambda at: at)
    rows = [row("r", "rain.signal", 1, "英德", domain="rain")]
    snap = _snapshot(
        rows,
        {"rain": "fresh", "water": "stale", "air": "late", "traffic": "never"},
        {"rain": NOW, "water": NOW - timedelta(minutes=19), "air": NOW - timedelta(minutes=135)},
    )
    tiles = {t.id: t for t in build_kpis(snap, svc, "zh")}
    rain = tiles["wall-tile-rain"]
    assert "lv-red" in rain.className.split()  # 104 mm/3h with a red rain warning: a red tile
    assert "lv-red" in _find(rain, "kpi-value")[0].className
    assert "红色预警 1" in component_texts(rain)
    water, air, traffic = tiles["wall-tile-water"], tiles["wall-tile-air"], tiles["wall-tile-traffic"]
    for tile, words in ((water, "数据延迟 19 分钟"), (air, "数据延迟 2 小时 15 分钟"), (traffic, "暂无数据")):
        (age,) = _find(tile, "age")
        assert age.children == words
        classes = set(age.className.split()) | set(tile.className.split())
        assert "freshness" in classes and not any(c.startswith("lv-") for c in classes), classes
    (fresh,) = _find(rain, "age")
    assert fresh.children.startswith("数据截至") and "freshness" not in fresh.className
    en = {t.id: t for t in build_kpis(snap, svc, "en")}
    assert _find(en["wall-tile-water"], "age")[0].children == "data 19 min late"


def test_data_delay_in_whole_minutes() -> None:
    assert data_delay_minutes(NOW, None) is None
    assert data_delay_minutes(NOW, NOW - timedelta(minutes=19, seconds=59)) == 19
    assert data_delay_minutes(NOW, (NOW - timedelta(minutes=5)).replace(tzinfo=None)) == 5
    assert data_delay_minutes(NOW, NOW + timedelta(minutes=3)) == 0


def test_the_warning_panel_counts_all_warnings_and_says_which_page() -> None:
    rows = [row(f"w{i}", f"rule{i}", 3, f"站{i}", district=f"区{i}") for i in range(2 * CARDS_PER_PAGE + 1)]
    snap = SimpleNamespace(warnings=rows, computed_at=NOW)
    counted = 0
    for index in range(3):
        head, body = build_warnings(snap, "zh", index)
        texts = component_texts(head)
        assert texts[1] == str(len(rows)) and texts[2] == f"{index + 1} / 3"
        counted += sum(int(c._data_count) for c in _cards(body))
    assert counted == len(rows)
    head, empty = build_warnings(SimpleNamespace(warnings=[], computed_at=NOW), "en", 7)
    assert component_texts(head)[2] == "1 / 1" and empty.children == "No active warnings"


def _cards(body: Any) -> list[Any]:
    cards = _find(body, "warning-item")
    for c in cards:
        c._data_count = c.to_plotly_json()["props"]["data-count"]
    return cards


def test_a_group_card_names_places_up_to_its_line_and_counts_the_rest() -> None:
    rows = [row(f"r{i}", "water.rise", 4, f"横石塘{i}") for i in range(13)]
    snap = SimpleNamespace(warnings=rows, computed_at=NOW)
    (card,) = _cards(build_warnings(snap, "zh")[1])
    detail = _find(card, "w-detail")[0].children
    assert detail.startswith("横石塘0、横石塘1") and detail.endswith("处") and "等" in detail
    assert "水位快速上涨" not in detail and "13 处" in "".join(component_texts(card))


def test_plotly_text_is_never_below_the_walls_minimum() -> None:
    svc = SimpleNamespace(local=lambda at: at)
    trend = pd.DataFrame(
        {"hour": pd.date_range("2026-06-14", periods=25, freq="h"), "incidents": 0.0, "rain_max_mm": 1.0}
    )
    for width in (1920, 3840):
        scale = width / 1920
        fig = build_trend(SimpleNamespace(trend=trend), svc, "zh", scale)
        assert fig.layout.font.size >= MIN_TEXT_PX * scale
    shared = {
        "data": [
            {"type": "choroplethmap", "colorbar": {"tickfont": {"size": 12}, "thickness": 10}},
            {
                "type": "scattermap",
                "marker": {
                    "size": 8,
                    "colorbar": {"tickfont": {"size": 11}, "title": {"text": "指数", "font": {"size": 12}}},
                },
            },
        ],
        "layout": {"map": {"style": {}, "zoom": 8}, "legend": {"font": {"size": 12}}},
    }
    for width in (1920, 3840):
        scale = width / 1920
        fig = for_screen(shared, width, "http://x/{fontstack}/{range}.pbf")
        top = fig["data"][0]["colorbar"]  # a choropleth's colour scale
        assert top["tickfont"]["size"] >= MIN_TEXT_PX * scale and top["thickness"] == 10 * scale
        bar = fig["data"][1]["marker"]["colorbar"]
        assert bar["tickfont"]["size"] >= MIN_TEXT_PX * scale
        assert bar["title"]["font"]["size"] >= MIN_TEXT_PX * scale
        assert fig["layout"]["legend"]["font"]["size"] >= MIN_TEXT_PX * scale
    # the shared figure is untouched
    assert shared["data"][0]["colorbar"]["tickfont"]["size"] == 12
    assert shared["data"][1]["marker"]["colorbar"]["tickfont"]["size"] == 11


def test_the_english_wall_names_levels_categories_and_classes_in_english() -> None:
    from dashboard.pages.wall import build_ticker

    svc = SimpleNamespace(local=lambda at: at)
    snap = _snapshot([row("r", "rain.signal", 1, "英德", domain="rain")], {}, {})
    snap.kpis["air"] = {"aqi": 43, "level": 1, "category": "优", "station": "连州"}
    snap.kpis["incident"] = {"open": 3, "by_class": {1: 1, 2: 0, 3: 2, 4: 0}}
    snap.latest_incidents = []
    texts = [x for tile in build_kpis(snap, svc, "en") for x in component_texts(tile)]
    assert "excellent · 连州" in texts and "Ⅰ: 1  Ⅲ: 2" in texts and "Red × 1" in texts
    assert not any("优" in x or "级" in x for x in texts)
    assert "Ⅰ级 1  Ⅲ级 2" in [x for tile in build_kpis(snap, svc, "zh") for x in component_texts(tile)]
    ticker = [s.children for s in build_ticker(snap, svc, "en")]
    assert ticker == ["Red · 英德 摘要"]  # no Chinese brackets in English
