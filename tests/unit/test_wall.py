"""The wall's state: KPIs from signals, one computation per tick however many screens poll, and
the per-screen scaling of the shared map."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard.wall import WallCache, compute_kpis


def sig(domain: str, metric: str, value: float, name: str, scope: str = "entity") -> dict:
    return {"domain": domain, "metric": metric, "scope": scope, "value": value, "name": name}


def test_kpis_by_hand() -> None:
    signals = pd.DataFrame(
        [
            sig("traffic", "traffic_index", 6.5, "city", "city"),
            sig("air", "aqi", 120, "甲站"),
            sig("air", "aqi", 215, "乙站"),
            sig("water", "over_warning_m", -0.4, "石角"),
            sig("water", "over_warning_m", 0.42, "源潭"),
            sig("water", "over_warning_m", 0.0, "长怖"),
            sig("rain", "r1_mm", 31.0, "东城"),
            sig("rain", "r3_mm", 72.5, "禾云"),
            sig("rain", "r1_mm", 12.0, "禾云"),
        ]
    )
    incidents = pd.DataFrame({"severity": [2, 4, 4, 3]})
    k = compute_kpis(signals, incidents)
    assert k["traffic"]["index"] == 6.5 and k["traffic"]["grade"] == 4  # [6, 8) 中度拥堵
    assert (k["air"]["aqi"], k["air"]["category"], k["air"]["station"]) == (215, "重度污染", "乙站")
    assert k["water"] == {"above_warning": 2, "stations": 3, "worst_station": "源潭", "worst_over_m": 0.42}
    assert (k["rain"]["max_1h_mm"], k["rain"]["gauge_1h"], k["rain"]["max_3h_mm"], k["rain"]["gauge_3h"]) == (
        31.0,
        "东城",
        72.5,
        "禾云",
    )
    assert k["incident"] == {"open": 4, "by_class": {1: 0, 2: 1, 3: 1, 4: 2}}


def test_one_computation_per_tick_however_many_screens_poll(monkeypatch) -> None:
    cache = WallCache(SimpleNamespace(), tick=3600)
    calls = []

    def compute(tick: int):
        calls.append(tick)
        time.sleep(0.05)  # slow enough that the screens overlap
        return SimpleNamespace(tick=tick)

    monkeypatch.setattr(cache, "_compute", compute)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get())) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1
    monkeypatch.setattr(cache, "current_tick", lambda now=None: calls[0] + 1)  # the next tick
    cache.get()
    assert len(calls) == 2


def test_a_bigger_screen_sees_the_same_city_one_zoom_closer() -> None:
    from dashboard.pages.wall import WALL_ZOOM_OFFSET, for_screen

    shared = {
        "data": [
            {
                "type": "scattermap",
                "textfont": {"size": 16},
                "marker": {"size": [10, 18]},
                "line": {"width": 2},
            }
        ],
        "layout": {"map": {"zoom": 8.0, "style": {"glyphs": "x"}}, "legend": {"font": {"size": 14}}},
    }
    fig = for_screen(shared, 3840, "http://wall.local/map/glyphs/{fontstack}/{range}.pbf")
    small = for_screen(shared, 1920, "http://wall.local/map/glyphs/{fontstack}/{range}.pbf")
    # one zoom closer than a 1920-px wall, which frames the city a little wider than /map
    assert fig["layout"]["map"]["zoom"] == pytest.approx(small["layout"]["map"]["zoom"] + 1.0)
    assert small["layout"]["map"]["zoom"] == pytest.approx(8.0 + WALL_ZOOM_OFFSET) and WALL_ZOOM_OFFSET < 0
    assert fig["data"][0]["textfont"]["size"] == 32 and fig["data"][0]["marker"]["size"] == [20, 36]
    assert fig["layout"]["map"]["style"]["glyphs"].startswith("http://wall.local/")
    assert (
        shared["layout"]["map"]["zoom"] == 8.0 and shared["data"][0]["textfont"]["size"] == 16
    )  # shared copy untouched


def test_latest_incidents_in_the_ticker_are_text() -> None:
    from datetime import UTC, datetime, timedelta

    from dashboard.pages.wall import build_ticker
    from dashboard.wall import LATEST_INCIDENTS, latest_incidents

    now = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    script = "<script>window.__pwned = 1</script>路面积水"
    rows = [
        {
            "incident_id": f"E{i}",
            "type": "waterlogging",
            "severity": 3,
            "district_code": "441802",
            "reported_at": pd.Timestamp(now - timedelta(minutes=10 * i)).tz_convert(None),
            "description": script,
        }
        for i in range(LATEST_INCIDENTS + 3)
    ]
    rows.append(
        {
            **rows[0],
            "incident_id": "OLD",
            "reported_at": pd.Timestamp(now - timedelta(hours=7)).tz_convert(None),
        }
    )
    latest = latest_incidents(pd.DataFrame(rows), {"441802": "清城区"}, now)
    assert [r["at"] for r in latest] == sorted((r["at"] for r in latest), reverse=True)
    assert len(latest) == LATEST_INCIDENTS and all(r["at"] > now - timedelta(hours=6) for r in latest)
    snap = SimpleNamespace(warnings=[], latest_incidents=latest)
    svc = SimpleNamespace(local=lambda at: at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")))
    spans = build_ticker(snap, svc, "zh")
    texts = [s.children for s in spans]
    assert texts[0] == "当前无生效预警" and texts[1] == "最新事件："
    assert texts[2] == "12:00 清城区 内涝（3级）<script>window.__pwned = 1</script>路面积水"
    assert all(isinstance(x, str) for x in texts)  # strings, which Dash renders as text


def test_the_wall_carries_the_configured_citys_name() -> None:
    from cityops.base.settings import settings_from_dict
    from dashboard.pages.wall import wall_title

    settings = settings_from_dict({"city": {"name": "韶关市", "name_en": "Shaoguan"}})
    assert wall_title(settings, "zh") == "韶关市城市运行监测"
    assert wall_title(settings, "en") == "Shaoguan City Operations"
