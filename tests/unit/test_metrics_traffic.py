"""Traffic metrics and the shared warning levels, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.levels import (
    LEVEL_INFO,
    WALL_BACKGROUND,
    Level,
    contrast_ratio,
    is_more_severe,
    level_label,
    level_series,
    more_severe,
    most_severe,
    parse_level,
    severity_rank,
)
from metrics.traffic import (
    congestion_grade,
    free_flow_speed,
    grade_name,
    network_state,
    network_tti,
    segment_tti,
    traffic_index,
    traffic_index_grade,
)

# ---------------------------------------------------------------------------------------------- levels


def test_levels_numbers_names_and_order() -> None:
    assert [int(v) for v in (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)] == [1, 2, 3, 4]
    assert [lv.zh_level for lv in Level] == ["一级", "二级", "三级", "四级"]
    assert [lv.zh_color for lv in Level] == ["红色", "橙色", "黄色", "蓝色"]
    assert [lv.en for lv in Level] == ["red", "orange", "yellow", "blue"]
    assert LEVEL_INFO[Level.RED].roman == "Ⅰ" and LEVEL_INFO[Level.BLUE].zh_wording == "一般"
    assert [severity_rank(v) for v in (None, Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_more_severe_and_none_handling() -> None:
    assert more_severe(Level.BLUE, Level.RED) is Level.RED
    assert more_severe(Level.YELLOW, None) is Level.YELLOW
    assert more_severe(None, float("nan")) is None
    assert more_severe(pd.NA, 3) is Level.YELLOW
    assert is_more_severe(Level.ORANGE, Level.YELLOW) and not is_more_severe(Level.YELLOW, Level.ORANGE)
    assert is_more_severe(Level.BLUE, None) and not is_more_severe(None, None)
    assert most_severe([None, 4, Level.YELLOW, np.nan]) is Level.YELLOW
    assert most_severe([]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("红色", Level.RED),
        ("红", Level.RED),
        ("一级", Level.RED),
        ("Ⅱ", Level.ORANGE),
        ("iii", Level.YELLOW),
        ("Blue", Level.BLUE),
        ("BLUE", Level.BLUE),
        (4.0, Level.BLUE),
        ("", None),
        (None, None),
    ],
)
def test_parse_level(text: object, expected: Level | None) -> None:
    assert parse_level(text) is expected


@pytest.mark.parametrize("bad", [0, 5, "purple", True, 2.5])
def test_parse_level_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_level(bad)


def test_level_labels_series_and_colours() -> None:
    assert level_label(Level.ORANGE) == "橙色（二级）"
    assert level_label(1, "en") == "red (Level I)"
    assert level_label(None) == ""
    assert level_series([1, None, "蓝色"]).tolist() == [1, pd.NA, 4]
    # Every colour reads on the dark wall background at WCAG AA (4.5:1), and its badge text is readable too.
    for info in LEVEL_INFO.values():
        assert contrast_ratio(info.color, WALL_BACKGROUND) >= 4.5, info
        assert contrast_ratio(info.text_on, info.color) >= 3.0, info
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)


# ---------------------------------------------------------------------------------------- segment grade


@pytest.mark.parametrize(
    ("road_class", "speed", "grade"),
    [
        # expressway: v > 65 | 50 < v ≤ 65 | 35 < v ≤ 50 | 20 < v ≤ 35 | v ≤ 20
        ("expressway", 65.01, 1),
        ("expressway", 65.0, 2),
        ("expressway", 50.01, 2),
        ("expressway", 50.0, 3),
        ("expressway", 35.01, 3),
        ("expressway", 35.0, 4),
        ("expressway", 20.01, 4),
        ("expressway", 20.0, 5),
        ("expressway", 0.0, 5),
        # arterial: > 40 | 30–40 | 20–30 | 15–20 | ≤ 15
        ("arterial", 40.01, 1),
        ("arterial", 40.0, 2),
        ("arterial", 30.01, 2),
        ("arterial", 30.0, 3),
        ("arterial", 20.01, 3),
        ("arterial", 20.0, 4),
        ("arterial", 15.01, 4),
        ("arterial", 15.0, 5),
        # secondary and branch: > 35 | 25–35 | 15–25 | 10–15 | ≤ 10
        ("secondary", 35.01, 1),
        ("secondary", 35.0, 2),
        ("secondary", 25.01, 2),
        ("secondary", 25.0, 3),
        ("secondary", 15.01, 3),
        ("secondary", 15.0, 4),
        ("secondary", 10.01, 4),
        ("secondary", 10.0, 5),
        ("branch", 35.01, 1),
        ("branch", 35.0, 2),
        ("branch", 25.0, 3),
        ("branch", 15.0, 4),
        ("branch", 10.0, 5),
    ],
)
def test_congestion_grade_boundaries(road_class: str, speed: float, grade: int) -> None:
    assert congestion_grade(speed, road_class) == grade


def test_congestion_grade_vectorised_and_missing() -> None:
    speeds = pd.Series([70.0, np.nan, 12.0, 30.0], index=[10, 11, 12, 13])
    classes = pd.Series(["expressway", "arterial", "branch", "footpath"], index=speeds.index)
    out = congestion_grade(speeds, classes)
    assert out.dtype == "Int64" and list(out.index) == [10, 11, 12, 13]
    assert out.tolist() == [1, pd.NA, 4, pd.NA]  # 12 on a branch: 10 < v ≤ 15 → 中度拥堵
    arr = congestion_grade(np.array([66.0, 64.0]), "expressway")
    assert isinstance(arr, np.ndarray) and arr.tolist() == [1.0, 2.0]
    assert congestion_grade(float("nan"), "arterial") is None
    assert grade_name(1) == "畅通" and grade_name(5, "en") == "severe congestion" and grade_name(None) == ""


# ---------------------------------------------------------------------------------------------- TTI


def test_segment_tti() -> None:
    assert segment_tti(30.0, 60.0) == pytest.approx(2.0)  # 60/30
    assert segment_tti(0.0, 60.0) == pytest.approx(60.0)  # floored at 1 km/h: 60/1
    assert math.isnan(segment_tti(30.0, float("nan")))
    assert segment_tti(np.array([40.0, 80.0]), 60.0).tolist() == pytest.approx(
        [1.5, 0.75]
    )  # not clipped at 1


def test_network_tti_is_vkt_weighted() -> None:
    frame = pd.DataFrame(
        {
            "length_m": [1000.0, 2000.0],
            "speed_kmh": [30.0, 40.0],
            "free_flow_kmh": [60.0, 40.0],
            "volume_vph": [100.0, 50.0],
        }
    )
    # actual: 100·1000/30 + 50·2000/40 = 3333.33 + 2500 = 5833.33; free: 100·1000/60 + 2500 = 4166.67 → 1.4
    assert network_tti(frame) == pytest.approx(1.4)
    # length-only weights: (1000/30 + 2000/40) / (1000/60 + 2000/40) = 83.333/66.667 = 1.25
    assert network_tti(frame, weight=None) == pytest.approx(1.25)


def test_network_tti_fills_missing_volume_with_class_median_and_skips_bad_rows() -> None:
    frame = pd.DataFrame(
        {
            "road_class": ["arterial", "arterial", "arterial", "branch"],
            "length_m": [1000.0, 1000.0, 1000.0, 500.0],
            "speed_kmh": [30.0, 60.0, 20.0, np.nan],
            "free_flow_kmh": [60.0, 60.0, 60.0, 40.0],
            "volume_vph": [100.0, 300.0, np.nan, 10.0],
        }
    )
    # arterial median volume = 200 fills row 3; the branch row has no speed and is left out.
    # actual = 100·1000/30 + 300·1000/60 + 200·1000/20 = 3333.33 + 5000 + 10000 = 18333.33
    # free   = (100 + 300 + 200)·1000/60 = 10000 → 1.8333
    assert network_tti(frame) == pytest.approx(18333.333333 / 10000.0)
    assert math.isnan(network_tti(frame.iloc[0:0]))
    assert math.isnan(network_tti(frame.iloc[3:4]))


@pytest.mark.parametrize(
    ("tti", "index"),
    [
        (0.8, 0.0),
        (1.0, 0.0),
        (1.1, 1.0),
        (1.2, 2.0),
        (1.35, 3.0),
        (1.5, 4.0),
        (1.65, 5.0),
        (1.8, 6.0),
        (2.0, 7.0 + 1 / 3),
        (2.1, 8.0),
        (2.25, 9.0),
        (2.4, 10.0),
        (3.5, 10.0),
    ],
)
def test_traffic_index_piecewise_linear(tti: float, index: float) -> None:
    # e.g. 1.35 is halfway 1.2→1.5: 2 + 0.5·2 = 3; 2.0 is 2/3 of 1.8→2.1: 6 + (0.2/0.3)·2 = 7.333
    assert traffic_index(tti) == pytest.approx(index)


@pytest.mark.parametrize(
    ("index", "grade"),
    [
        (0.0, 1),
        (1.999, 1),
        (2.0, 2),
        (3.999, 2),
        (4.0, 3),
        (5.999, 3),
        (6.0, 4),
        (7.999, 4),
        (8.0, 5),
        (10.0, 5),
        (-1.0, 1),
        (12.0, 5),
    ],
)
def test_traffic_index_grade_bands(index: float, grade: int) -> None:
    assert traffic_index_grade(index) == grade


def test_traffic_index_vectorised_nan() -> None:
    out = traffic_index(pd.Series([1.0, np.nan, 2.4]))
    assert out.iloc[0] == 0.0 and math.isnan(out.iloc[1]) and out.iloc[2] == 10.0
    assert traffic_index_grade(pd.Series([np.nan, 9.0])).tolist() == [pd.NA, 5]


# -------------------------------------------------------------------------------------- free-flow speed


def test_free_flow_fastest_hours_with_catalogue_fallback() -> None:
    t0 = pd.Timestamp("2026-06-01")
    # S1: 300 five-minute samples (25 h ≥ 24 h of history) with speeds 1..300 km/h;
    # the fastest 4 h = 48 samples = 253..300, mean (253 + 300)/2 = 276.5.
    s1 = pd.DataFrame(
        {
            "entity_id": "S1",
            "ts": pd.date_range(t0, periods=300, freq="5min"),
            "speed_kmh": np.arange(1.0, 301.0),
        }
    )
    # S2: only 10 samples → thin → catalogue 50; S4: thin and not in the catalogue → none.
    s2 = pd.DataFrame(
        {"entity_id": "S2", "ts": pd.date_range(t0, periods=10, freq="5min"), "speed_kmh": 80.0}
    )
    s4 = s2.assign(entity_id="S4")
    segments = pd.DataFrame({"entity_id": ["S1", "S2", "S3"], "free_flow_kmh": [60.0, 50.0, 45.0]})
    out = free_flow_speed(pd.concat([s1, s2, s4]), segments=segments).set_index("entity_id")
    assert out.loc["S1", "free_flow_kmh"] == pytest.approx(276.5)
    assert out.loc["S1", "source"] == "fastest_hours" and out.loc["S1", "n_samples"] == 300
    assert out.loc["S2", "free_flow_kmh"] == 50.0 and out.loc["S2", "source"] == "catalogue"
    assert out.loc["S3", "free_flow_kmh"] == 45.0 and out.loc["S3", "n_samples"] == 0  # no history at all
    assert math.isnan(out.loc["S4", "free_flow_kmh"]) and out.loc["S4", "source"] == "none"


def test_free_flow_night_percentile_uses_local_night() -> None:
    # Local 00:00–05:00 (Asia/Shanghai, UTC+8) is 16:00–21:00 UTC the day before.
    night = pd.DataFrame(
        {
            "entity_id": "S1",
            "ts": pd.date_range("2026-06-01 16:00", periods=60, freq="5min"),
            "speed_kmh": np.arange(1.0, 61.0),
        }
    )
    day = pd.DataFrame(
        {
            "entity_id": "S1",
            "ts": pd.date_range("2026-06-02 02:00", periods=100, freq="5min"),
            "speed_kmh": 500.0,
        }
    )
    out = free_flow_speed(pd.concat([night, day]), method="night_percentile").set_index("entity_id")
    # p85 of 1..60 (linear): position 0.85·59 = 50.15 → 51 + 0.15·(52 − 51) = 51.15; daytime 500s ignored
    assert out.loc["S1", "free_flow_kmh"] == pytest.approx(51.15)
    assert out.loc["S1", "n_samples"] == 60
    with pytest.raises(ValueError):
        free_flow_speed(night, method="magic")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- network state


def test_network_state_per_district_and_city() -> None:
    segments = pd.DataFrame(
        {
            "entity_id": ["a", "b", "c"],
            "road_class": ["arterial", "arterial", "expressway"],
            "length_m": [1000.0, 1000.0, 2000.0],
            "free_flow_kmh": [60.0, 60.0, 80.0],
            "district_code": ["D1", "D1", "D2"],
        }
    )
    latest = pd.DataFrame(
        {
            "entity_id": ["a", "a", "b", "c"],
            "ts": pd.to_datetime(
                ["2026-06-15 00:55", "2026-06-15 01:00", "2026-06-15 01:00", "2026-06-15 01:00"]
            ),
            "speed_kmh": [55.0, 30.0, 60.0, 40.0],
            "volume_vph": [100.0, 100.0, 100.0, 100.0],
        }
    )
    out = network_state(latest, segments, city_code="441800").set_index("district_code")
    # D1 (a's latest 30 km/h, b 60): actual 100·1000/30 + 100·1000/60 = 5000; free 2·100·1000/60 = 3333.3
    # → TTI 1.5 → index 4 → 轻度拥堵. No segment is congested: a at 30 on an arterial is 20 < v ≤ 30
    # → grade 3.
    d1 = out.loc["D1"]
    assert d1["tti"] == pytest.approx(1.5) and d1["index"] == pytest.approx(4.0)
    assert d1["grade"] == 3 and d1["grade_zh"] == "轻度拥堵" and d1["n_segments"] == 2
    assert d1["congested_share"] == 0.0 and d1["mean_speed_kmh"] == pytest.approx(45.0)
    # D2: c at 40 on an expressway (35 < 40 ≤ 50 → grade 3), TTI 80/40 = 2 → index 7.333 → 中度拥堵
    d2 = out.loc["D2"]
    assert d2["tti"] == pytest.approx(2.0) and d2["grade"] == 4
    # City: actual 5000 + 100·2000/40 = 10000; free 3333.33 + 100·2000/80 = 5833.33 → 1.7143
    city = out.loc["441800"]
    assert city["scope"] == "city" and city["tti"] == pytest.approx(10000 / 5833.3333)
    assert city["length_km"] == pytest.approx(4.0)
    # A derived free-flow speed overrides the catalogue: a and b at 40 →
    # D1 = (100·1000/30 + 100·1000/60) / (2·100·1000/40) = 5000/5000 = 1
    ff = pd.DataFrame({"entity_id": ["a", "b"], "free_flow_kmh": [40.0, 40.0]})
    d1b = network_state(latest, segments, free_flow=ff).set_index("district_code").loc["D1"]
    assert d1b["tti"] == pytest.approx(5000 / 5000)


def test_network_state_congested_share() -> None:
    segments = pd.DataFrame(
        {
            "entity_id": ["a", "b"],
            "road_class": ["branch", "branch"],
            "length_m": [1000.0, 3000.0],
            "free_flow_kmh": [40.0, 40.0],
            "district_code": ["D", "D"],
        }
    )
    latest = pd.DataFrame({"entity_id": ["a", "b"], "speed_kmh": [8.0, 30.0], "volume_vph": [np.nan, np.nan]})
    row = network_state(latest, segments).set_index("scope").loc["district"]
    # a at 8 on a branch is 严重拥堵; with equal (filled) volumes the share is by length: 1000/4000
    assert row["congested_share"] == pytest.approx(0.25)
