"""Rain metrics: rolling totals and their edges, the rainstorm-threshold levels, GB/T 28592 grades."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.levels import Level
from metrics.rain import (
    rain_grade,
    rain_grade_name,
    rain_state,
    rainstorm_signal,
    rolling_totals,
    signal_label,
)

NOW = pd.Timestamp("2026-06-15 03:00")


def _obs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["entity_id", "ts", "rain_mm"]).assign(
        ts=lambda f: pd.to_datetime(f["ts"])
    )


def test_rolling_totals_window_edges() -> None:
    obs = _obs(
        [
            (
                "G",
                "2026-06-15 01:55",
                1.0,
            ),  # [01:55, 02:00): starts before now − 1 h → outside the 1 h window
            ("G", "2026-06-15 02:00", 2.0),  # [02:00, 02:05): starts exactly at now − 1 h → inside
            ("G", "2026-06-15 02:55", 4.0),  # [02:55, 03:00): ends exactly at now → inside
            ("G", "2026-06-15 03:00", 8.0),  # [03:00, 03:05): still in progress at now → outside every window
            ("G", "2026-06-15 00:00", 16.0),  # exactly now − 3 h → inside 3 h
            ("G", "2026-06-14 23:55", 32.0),  # before now − 3 h → only in 6 h and longer
        ]
    )
    out = rolling_totals(obs, now=NOW).set_index("entity_id").loc["G"]
    assert out["r1h"] == pytest.approx(2.0 + 4.0)  # 6
    assert out["r3h"] == pytest.approx(1.0 + 2.0 + 4.0 + 16.0)  # 23
    assert out["r6h"] == pytest.approx(23.0 + 32.0)  # 55
    assert out["r24h"] == pytest.approx(55.0)
    # coverage: 1 h has 12 intervals, 2 reported → 1/6; 3 h has 36, 4 reported → 1/9
    assert out["coverage_1h"] == pytest.approx(2 / 12) and out["coverage_3h"] == pytest.approx(4 / 36)
    assert out["now"] == NOW


def test_rolling_totals_default_now_duplicates_and_several_gauges() -> None:
    obs = _obs(
        [
            ("A", "2026-06-15 02:50", 1.0),
            ("A", "2026-06-15 02:55", 3.0),
            ("A", "2026-06-15 02:55", 5.0),
            ("B", "2026-06-15 00:30", 7.0),
            ("B", "2026-06-15 02:55", np.nan),
        ]
    )
    out = rolling_totals(obs, windows=(1, 3)).set_index("entity_id")
    # default now = latest start 02:55 + 5 min = 03:00; the duplicate A 02:55 keeps the last (5.0) → 1 + 5
    assert out.loc["A", "now"] == NOW and out.loc["A", "r1h"] == pytest.approx(6.0)
    # B: 00:30 is in 3 h only; the NaN amount counts 0 mm and does not count as reported
    assert out.loc["B", "r1h"] == 0.0 and out.loc["B", "r3h"] == pytest.approx(7.0)
    assert out.loc["B", "coverage_1h"] == 0.0 and out.loc["B", "coverage_3h"] == pytest.approx(1 / 36)
    # a gauge with no interval inside the window still has a row, with 0 mm and 0 coverage
    far = rolling_totals(obs, windows=(1,), now="2026-06-16 00:00").set_index("entity_id")
    assert far["r1h"].tolist() == [0.0, 0.0] and far["coverage_1h"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("r3", "r6", "r12", "national", "guangdong"),
    [
        (100.0, 100.0, 100.0, Level.RED, Level.RED),  # R3 ≥ 100
        (99.9, 99.9, 99.9, Level.ORANGE, Level.ORANGE),  # R3 ≥ 50
        (50.0, 50.0, 50.0, Level.ORANGE, Level.ORANGE),
        (49.9, 50.0, 50.0, Level.YELLOW, Level.YELLOW),  # R6 ≥ 50
        (49.9, 49.9, 50.0, Level.BLUE, None),  # R12 ≥ 50: national blue, Guangdong has no blue
        (49.9, 49.9, 49.9, None, None),
        (0.0, 0.0, 0.0, None, None),
        (float("nan"), 60.0, 60.0, Level.YELLOW, Level.YELLOW),  # missing R3 never triggers
    ],
)
def test_rainstorm_signal_thresholds(
    r3: float, r6: float, r12: float, national: Level | None, guangdong: Level | None
) -> None:
    assert rainstorm_signal(r3, r6, r12, profile="national") is national
    assert rainstorm_signal(r3, r6, r12, profile="guangdong") is guangdong


def test_rainstorm_signal_vectorised_and_bad_profile() -> None:
    r3 = pd.Series([120.0, 10.0, 10.0], index=["a", "b", "c"])
    out = rainstorm_signal(
        r3, pd.Series([120.0, 10.0, 10.0], index=r3.index), pd.Series([120.0, 60.0, 1.0], index=r3.index)
    )
    assert out.dtype == "Int64" and out.tolist() == [1, 4, pd.NA] and list(out.index) == ["a", "b", "c"]
    arr = rainstorm_signal(np.array([55.0, 1.0]), np.array([55.0, 1.0]), None, profile="guangdong")
    assert isinstance(arr, np.ndarray) and arr[0] == 2.0 and math.isnan(arr[1])
    with pytest.raises(ValueError):
        rainstorm_signal(1.0, 1.0, 1.0, profile="mars")  # type: ignore[call-overload]
    assert signal_label(2) == "雨量达到暴雨橙色预警信号标准"
    assert signal_label(Level.YELLOW, "en") == "rain exceeds the yellow rainstorm signal threshold"
    assert signal_label(pd.NA) == ""


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 400, allow_nan=False), st.floats(0, 400, allow_nan=False), st.floats(0, 400, allow_nan=False)
)
def test_guangdong_profile_never_blue(r3: float, r6: float, r12: float) -> None:
    level = rainstorm_signal(r3, r6, r12, profile="guangdong")
    assert level is not Level.BLUE
    # and it agrees with the national profile except where the national one says blue
    national = rainstorm_signal(r3, r6, r12, profile="national")
    assert level is (None if national is Level.BLUE else national)


@pytest.mark.parametrize(
    ("total", "period", "grade"),
    [
        (0.0, "24h", 0),
        (0.09, "24h", 0),
        (0.1, "24h", 1),
        (9.9, "24h", 1),
        (10.0, "24h", 2),
        (24.9, "24h", 2),
        (25.0, "24h", 3),
        (49.9, "24h", 3),
        (50.0, "24h", 4),
        (99.9, "24h", 4),
        (100.0, "24h", 5),
        (249.9, "24h", 5),
        (250.0, "24h", 6),
        (0.1, "12h", 1),
        (4.9, "12h", 1),
        (5.0, "12h", 2),
        (14.9, "12h", 2),
        (15.0, "12h", 3),
        (29.9, "12h", 3),
        (30.0, "12h", 4),
        (69.9, "12h", 4),
        (70.0, "12h", 5),
        (139.9, "12h", 5),
        (140.0, "12h", 6),
    ],
)
def test_rain_grade_boundaries(total: float, period: str, grade: int) -> None:
    assert rain_grade(total, period) == grade  # type: ignore[call-overload]


def test_rain_grade_names_and_missing() -> None:
    assert [rain_grade_name(g) for g in range(7)] == [
        "无降水",
        "小雨",
        "中雨",
        "大雨",
        "暴雨",
        "大暴雨",
        "特大暴雨",
    ]
    assert rain_grade_name(4, "en") == "rainstorm" and rain_grade_name(None) == ""
    assert rain_grade(float("nan")) is None
    assert rain_grade(pd.Series([np.nan, 300.0])).tolist() == [pd.NA, 6]


def test_rain_state_per_gauge() -> None:
    # 3 mm every 5 min for 3 h ending at now: R1 = 36, R3 = 108 → red (R3 ≥ 100); 24 h total 108 → 大暴雨
    ts = pd.date_range("2026-06-15 00:00", periods=36, freq="5min")
    obs = pd.DataFrame({"entity_id": "G1", "ts": ts, "rain_mm": 3.0})
    gauges = pd.DataFrame({"entity_id": ["G1"], "district_code": ["441802"]})
    out = rain_state(obs, NOW, profile="guangdong", gauges=gauges).iloc[0]
    assert out["r1h"] == pytest.approx(36.0) and out["r3h"] == pytest.approx(108.0)
    assert out["signal_level"] == 1 and out["signal_label"] == "雨量达到暴雨红色预警信号标准"
    assert out["grade_24h"] == 5 and out["grade_24h_zh"] == "大暴雨" and out["district_code"] == "441802"


def test_rolling_totals_empty() -> None:
    empty = pd.DataFrame(
        {
            "entity_id": pd.Series([], dtype=object),
            "ts": pd.Series([], dtype="datetime64[us]"),
            "rain_mm": pd.Series([], dtype="float64"),
        }
    )
    out = rolling_totals(empty, now=NOW)
    assert out.empty and {"r3h", "coverage_24h"} <= set(out.columns)
