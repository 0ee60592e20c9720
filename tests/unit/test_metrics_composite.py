"""The per-district city-operations index: sub-scores, renormalisation over missing domains, cap, grades."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.composite import (
    DEFAULT_WEIGHTS,
    air_score,
    city_operations_index,
    combine,
    district_subscores,
    emergency_score,
    index_grade,
    level_score,
    traffic_score,
)
from metrics.levels import Level


def test_default_weights_sum_to_one() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_subscore_curves_hand_computed() -> None:
    # traffic: 0→100, 4→85, 6→70, 8→50, 10→20; index 2 is halfway 0→4: 100 − 7.5 = 92.5; 9 → 50 − 15 = 35
    assert traffic_score([0, 2, 4, 9, 12]).tolist() == pytest.approx([100, 92.5, 85, 35, 20])
    # air: 100→85, 150→70, 200→50; AQI 175 → 60; 250 → 35; 600 → 0
    assert air_score([50, 100, 175, 250, 600]).tolist() == pytest.approx([92.5, 85, 60, 35, 0])
    assert math.isnan(air_score([np.nan])[0])
    assert level_score([None, Level.BLUE, 3, "橙色", Level.RED]).tolist() == [100, 75, 55, 30, 10]
    # emergency load: 3 is a third of 2→5 (85→70): 80; 10 → 50; 20 is half of 10→30: 25
    assert emergency_score([0, 3, 10, 20, 40]).tolist() == pytest.approx([100, 80, 50, 25, 0])


@pytest.mark.parametrize(
    ("index", "grade"),
    [(100.0, 1), (85.0, 1), (84.99, 2), (70.0, 2), (69.99, 3), (50.0, 3), (49.99, 4), (0.0, 4)],
)
def test_grade_bands(index: float, grade: int) -> None:
    assert index_grade([index])[0] == grade


def test_renormalisation_over_missing_domains() -> None:
    sub = pd.DataFrame(
        {
            "district_code": ["A", "B", "C"],
            "score_traffic": [80.0, 80.0, np.nan],
            "score_air": [60.0, np.nan, np.nan],
            "score_water": [100.0, np.nan, np.nan],
            "score_rain": [100.0, 100.0, np.nan],
            "score_emergency": [90.0, np.nan, np.nan],
        }
    )
    out = combine(sub).set_index("district_code")
    # A, all five: 0.25·80 + 0.2·60 + 0.2·100 + 0.15·100 + 0.2·90 = 20 + 12 + 20 + 15 + 18 = 85;
    # cap 60+30 = 90
    assert out.loc["A", "index"] == pytest.approx(85.0) and out.loc["A", "coverage"] == pytest.approx(1.0)
    assert (
        out.loc["A", "grade"] == 1
        and out.loc["A", "grade_zh"] == "正常"
        and out.loc["A", "worst_domain"] == "air"
    )
    # B, traffic + rain only: (0.25·80 + 0.15·100)/0.40 = 35/0.4 = 87.5; coverage 0.40
    assert out.loc["B", "index"] == pytest.approx(87.5) and out.loc["B", "coverage"] == pytest.approx(0.40)
    assert out.loc["B", "domains"] == "traffic,rain"
    # C: nothing → NaN index, no grade, coverage 0
    assert (
        math.isnan(out.loc["C", "index"])
        and out.loc["C", "grade"] is pd.NA
        and out.loc["C", "coverage"] == 0.0
    )
    assert out.loc["C", "grade_zh"] == "" and out.loc["C", "worst_domain"] == ""


def test_custom_weights_and_worst_cap() -> None:
    sub = pd.DataFrame({"district_code": ["A"], "score_traffic": [100.0], "score_water": [10.0]})
    # water red (10) averaged with perfect traffic: (0.25·100 + 0.2·10)/0.45 = 27/0.45 = 60,
    # capped at 10 + 30 = 40
    capped = combine(sub).iloc[0]
    assert capped["index"] == pytest.approx(40.0) and capped["grade_en"] == "severe"
    assert combine(sub, worst_cap_margin=None).iloc[0]["index"] == pytest.approx(60.0)
    # custom weights: traffic 3, water 1 → (300 + 10)/4 = 77.5; coverage counts only the given weights
    custom = combine(sub, {"traffic": 3.0, "water": 1.0}, worst_cap_margin=None).iloc[0]
    assert custom["index"] == pytest.approx(77.5) and custom["coverage"] == pytest.approx(1.0)
    # a zero weight switches a domain off
    assert combine(sub, {"traffic": 1.0, "water": 0.0}).iloc[0]["domains"] == "traffic"
    with pytest.raises(ValueError):
        combine(sub, {"traffic": -1.0})


def test_district_subscores_from_domain_states() -> None:
    traffic = pd.DataFrame({"district_code": ["A", "B"], "index": [2.0, 9.0]})
    air = pd.DataFrame({"district_code": ["A", "A"], "aqi": [50.0, 175.0]})
    water = pd.DataFrame(
        {"district_code": ["A", "A", "B"], "signal_level": pd.array([pd.NA, 4, pd.NA], dtype="Int64")}
    )
    rain = pd.DataFrame({"district_code": ["B"], "signal_level": pd.array([2], dtype="Int64")})
    emergency = pd.DataFrame({"district_code": ["B", "B"], "severity": [3, 4]})
    sub = district_subscores(
        traffic=traffic, air=air, water=water, rain=rain, emergency=emergency, districts=["A", "B", "C"]
    ).set_index("district_code")
    # air takes the worst station by default (175 → 60); the mean (112.5 → 85 − 3 = 81.25) on request
    assert sub.loc["A"].tolist() == pytest.approx([92.5, 60.0, 75.0, np.nan, 100.0], nan_ok=True)
    # B: emergency load Ⅲ 3 + Ⅳ 1 = 4 → 85 − (2/3)·15 = 75; water none → 100; rain orange → 30
    assert sub.loc["B"].tolist() == pytest.approx([35.0, np.nan, 100.0, 30.0, 75.0], nan_ok=True)
    # C: only the emergency feed covers it (no incident → 100)
    assert sub.loc["C"].tolist() == pytest.approx([np.nan, np.nan, np.nan, np.nan, 100.0], nan_ok=True)
    mean_air = district_subscores(air=air, air_aggregate="mean").set_index("district_code")
    assert mean_air.loc["A", "score_air"] == pytest.approx(81.25)


def test_city_operations_index_end_to_end() -> None:
    out = city_operations_index(
        traffic=pd.DataFrame({"district_code": ["A", "B"], "index": [2.0, 9.0]}),
        emergency=pd.DataFrame({"district_code": ["B"], "severity": [3]}),
    ).set_index("district_code")
    # A: (0.25·92.5 + 0.2·100)/0.45 = (23.125 + 20)/0.45 = 95.83
    assert out.loc["A", "index"] == pytest.approx(43.125 / 0.45) and out.loc[
        "A", "coverage"
    ] == pytest.approx(0.45)
    # B: traffic 35, emergency 80: (8.75 + 16)/0.45 = 55.0 (cap 35 + 30 = 65 does not bind) → 预警
    assert out.loc["B", "index"] == pytest.approx(55.0) and out.loc["B", "grade_zh"] == "预警"
