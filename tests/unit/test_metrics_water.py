"""Water metrics: exceedances, flood signal levels, rise rates, Theil–Sen ETA — hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.levels import Level
from metrics.water import (
    eta_to_level,
    exceedance,
    flood_signal_level,
    rise_rate,
    theil_sen,
    water_state,
    worst_signal,
)

NOW = pd.Timestamp("2026-06-15 03:00")


def _stations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": ["R", "P", "RES"],
            "station_type": ["river", "river", "reservoir"],
            "warning_level_m": [11.0, 31.5, np.nan],
            "guaranteed_level_m": [12.0, np.nan, np.nan],
            "historical_level_m": [13.0, np.nan, np.nan],
            "flood_limit_level_m": [np.nan, np.nan, 65.0],
            "normal_level_m": [np.nan, np.nan, 66.0],
            "district_code": ["441802", "441881", "441803"],
            "basin": ["北江", "北江", "北江"],
            "river": ["北江", "连江", "滨江"],
        }
    )


def test_exceedance_signed_and_nan_where_reference_missing() -> None:
    level = pd.DataFrame({"entity_id": ["R", "P", "RES", "UNKNOWN"], "level_m": [12.5, 30.0, 65.25, 1.0]})
    out = exceedance(level, _stations()).set_index("entity_id")
    # R: 12.5 − 11 = 1.5 超警, 12.5 − 12 = 0.5 超保, 12.5 − 13 = −0.5 超历史, no flood limit
    assert out.loc["R"].tolist()[:2] == pytest.approx([1.5, 0.5])
    assert out.loc["R", "over_historical_m"] == pytest.approx(-0.5)
    assert math.isnan(out.loc["R", "over_flood_limit_m"])
    assert out.loc["P", "over_warning_m"] == pytest.approx(-1.5) and math.isnan(
        out.loc["P", "over_guaranteed_m"]
    )
    assert out.loc["RES", "over_flood_limit_m"] == pytest.approx(0.25) and math.isnan(
        out.loc["RES", "over_warning_m"]
    )
    assert out.loc["UNKNOWN"].isna().all()


@pytest.mark.parametrize(
    ("h", "level", "reason"),
    [
        (13.0, 1, "historical"),
        (12.99, 2, "guaranteed"),
        (12.0, 2, "guaranteed"),
        (11.99, 3, "warning"),
        (11.0, 3, "warning"),
        (10.99, 4, "approach"),
        (10.75, 4, "approach"),  # δ 0.3: blue from 10.7
        (10.69, None, ""),
        (5.0, None, ""),
    ],
)
def test_flood_signal_river_ladder(h: float, level: int | None, reason: str) -> None:
    out = flood_signal_level(pd.DataFrame({"entity_id": ["R"], "level_m": [h]}), _stations())
    got = out["signal_level"].iloc[0]
    assert (None if got is pd.NA else int(got)) == level
    assert out["signal_reason"].iloc[0] == reason


def test_flood_signal_approach_override_forecast_and_escalation() -> None:
    stations = _stations().assign(approach_m=[0.5, np.nan, np.nan])
    level = pd.DataFrame({"entity_id": ["R", "P"], "level_m": [10.6, 30.0]})
    # R: per-station δ 0.5 → blue from 10.5; P: default δ 0.3 → blue from 31.2, 30.0 is below
    out = flood_signal_level(level, stations).set_index("entity_id")
    assert out.loc["R", "signal_level"] == 4 and out.loc["R", "signal_reason"] == "approach"
    assert out.loc["P", "signal_level"] is pd.NA
    # A forecast reaching the warning level within the 3 h lead raises blue; beyond it does not.
    eta = {"P": pd.Timedelta("2h")}
    assert (
        flood_signal_level(level, stations, forecast_eta=eta).set_index("entity_id").loc["P", "signal_reason"]
        == "forecast"
    )
    eta_late = pd.Series({"P": pd.Timedelta("4h")})
    assert flood_signal_level(level, stations, forecast_eta=eta_late)["signal_level"].iloc[1] is pd.NA
    # Early escalation (§3.3 item 3) only when asked: ETA 30 min < 1 h → yellow, never more.
    esc = flood_signal_level(level, stations, forecast_eta={"P": pd.Timedelta("30min")}, escalate_within="1h")
    assert esc.set_index("entity_id").loc["P", "signal_level"] == 3
    assert esc.set_index("entity_id").loc["P", "signal_zh"] == "黄色（三级）"


def test_flood_signal_reservoir_mapping_and_discharge() -> None:
    level = pd.DataFrame({"entity_id": ["RES", "RES", "RES"], "level_m": [65.0, 64.8, 64.6]})
    out = flood_signal_level(level, _stations())
    # Z ≥ Z_fl → yellow; Z ≥ Z_fl − 0.3 = 64.7 → blue; below → none
    assert out["signal_level"].tolist() == [3, 4, pd.NA]
    assert out["signal_reason"].tolist() == ["flood_limit", "flood_limit_approach", ""]
    # Return-period discharges (optional columns): Q ≥ Q20 → orange even below the guaranteed level.
    stations = _stations().assign(
        q5_m3s=[8000.0, np.nan, np.nan], q20_m3s=[12000.0, np.nan, np.nan], q50_m3s=[16000.0, np.nan, np.nan]
    )
    q = pd.DataFrame({"entity_id": ["R", "R"], "level_m": [10.0, 10.0], "discharge_m3s": [12000.0, 7999.0]})
    out_q = flood_signal_level(q, stations)
    assert out_q["signal_level"].tolist() == [2, pd.NA] and out_q["signal_reason"].iloc[0] == "q20"


def test_rise_rate_regular_series() -> None:
    ts = pd.date_range("2026-06-15 00:00", periods=37, freq="5min")
    series = pd.Series(10.0 + 0.1 * np.arange(37), index=ts)  # 0.1 m per 5 min = 1.2 m/h
    r1 = rise_rate(series, "1h")
    # 00:45: the nearest reading to 23:45 is 00:00, 15 min away (> 10 min tolerance) → NaN.
    assert r1.iloc[:10].isna().all()
    # 00:50: 00:00 is exactly 10 min from 23:50 (tolerance inclusive), so the rate uses it:
    # H(00:50) − H(00:00) = 1.0 m over 50/60 h = 1.2 m/h; the actual elapsed time is used, not the window.
    assert r1.iloc[10] == pytest.approx(1.2) and r1.iloc[11] == pytest.approx(1.2)
    assert r1.iloc[12] == pytest.approx(1.2) and r1.iloc[-1] == pytest.approx(1.2)
    r3 = rise_rate(series, "3h")
    # 3 h: only 02:50, 02:55 and 03:00 have a reading within 10 min of t − 3 h (00:00)
    assert r3.iloc[34:].tolist() == pytest.approx([1.2, 1.2, 1.2]) and r3.iloc[:34].isna().all()


def test_rise_rate_gaps_use_nearest_reading_within_tolerance() -> None:
    ts = pd.to_datetime(["2026-06-15 00:07", "2026-06-15 00:30", "2026-06-15 01:00"])
    series = pd.Series([10.3, np.nan, 11.0], index=ts)
    # Nearest to 00:00 is 00:07 (7 min ≤ 10 min): (11.0 − 10.3)/(53/60 h) = 0.7/0.88333 = 0.79245 m/h
    assert rise_rate(series, "1h").iloc[-1] == pytest.approx(0.7 / (53 / 60))
    # With a 5-min tolerance 00:07 is too far → NaN
    assert math.isnan(rise_rate(series, "1h", tolerance="5min").iloc[-1])
    # Unsorted input with a duplicate timestamp (last wins) gives the same answer
    shuffled = pd.Series(
        [11.0, 10.0, 10.3], index=pd.to_datetime(["2026-06-15 01:00", "2026-06-15 00:07", "2026-06-15 00:07"])
    )
    assert rise_rate(shuffled, "1h").iloc[-1] == pytest.approx(0.7 / (53 / 60))
    assert rise_rate(pd.Series([], dtype="float64", index=pd.DatetimeIndex([]))).empty


def test_theil_sen_is_robust_to_an_outlier() -> None:
    x = np.arange(10.0)
    y = 2.0 * x + 1.0
    y[5] = 200.0  # one gross outlier
    slope, intercept, low, high = theil_sen(x, y)
    # 36 of the 45 pairwise slopes avoid the outlier and equal 2, so the median is exactly 2;
    # intercept = median(y − 2x) = 1 (nine 1s and one 190).
    assert slope == pytest.approx(2.0) and intercept == pytest.approx(1.0)
    assert low == pytest.approx(2.0)
    ols = np.polyfit(x, y, 1)[0]
    assert abs(ols - 2.0) > 1.0  # least squares is dragged far off (slope ≈ 3.15)
    assert high >= slope
    assert all(math.isnan(v) for v in theil_sen([1.0, 1.0], [2.0, 3.0]))  # no distinct x


def test_theil_sen_confidence_ranks_hand_computed() -> None:
    # n = 10 → N = 45 slopes; Var(S) = 10·9·25/18 = 125; C = 1.6449·11.180 = 18.39
    # lower rank round((45 − 18.39)/2) = round(13.3) = 13; upper rank round((45 + 18.39)/2) + 1 = 32 + 1 = 33
    x = np.arange(10.0)
    rng = np.random.default_rng(0)
    y = x + rng.normal(0, 1, 10)
    i, j = np.triu_indices(10, k=1)
    slopes = np.sort((y[j] - y[i]) / (x[j] - x[i]))
    _, _, low, high = theil_sen(x, y, confidence=0.90)
    assert low == slopes[12] and high == slopes[32]


def _linear(now: pd.Timestamp, rate: float, h_now: float, n: int = 36) -> tuple[pd.DatetimeIndex, np.ndarray]:
    ts = pd.date_range(end=now, periods=n, freq="5min")
    hours = (ts - now).total_seconds().to_numpy() / 3600.0
    return ts, h_now + rate * hours


def test_eta_exact_on_a_clean_rise() -> None:
    ts, h = _linear(NOW, 0.5, 10.0)
    eta = eta_to_level(ts, h, 11.0, now=NOW)
    # (11 − 10)/0.5 m/h = 2 h → 05:00; all pairwise slopes equal, so the band collapses
    assert eta is not None
    assert eta.eta == pd.Timestamp("2026-06-15 05:00") == eta.earliest == eta.latest
    assert eta.slope_m_per_h == pytest.approx(0.5) and eta.level_now_m == pytest.approx(10.0)
    assert eta.minutes == pytest.approx(120.0) and eta.n_points == 36


def test_eta_none_cases() -> None:
    ts, h = _linear(NOW, -0.2, 10.0)
    assert eta_to_level(ts, h, 11.0, now=NOW) is None  # falling
    ts, h = _linear(NOW, 0.0, 10.0)
    assert eta_to_level(ts, h, 11.0, now=NOW) is None  # flat
    ts, h = _linear(NOW, 0.5, 11.2)
    assert eta_to_level(ts, h, 11.0, now=NOW) is None  # already above
    ts, h = _linear(NOW, 0.5, 10.0, n=3)
    assert eta_to_level(ts, h, 11.0, now=NOW) is None  # too few points
    assert eta_to_level(ts, h, float("nan"), now=NOW) is None  # no target
    # Readings after `now` and before the window are ignored: with now one hour earlier, the 12 points
    # before 02:00 that lie in (23:00, 02:00] predict the same line → 10 − 0.5 = 9.5 at 02:00, ETA 05:00
    ts, h = _linear(NOW, 0.5, 10.0, n=80)
    eta = eta_to_level(ts, h, 11.0, now=NOW - pd.Timedelta("1h"))
    assert eta is not None and eta.n_points == 36 and eta.eta == pd.Timestamp("2026-06-15 05:00")


def test_eta_robust_to_a_spike_and_gaps() -> None:
    ts, h = _linear(NOW, 0.5, 10.0)
    h = h.copy()
    h[10] = 30.0  # a sensor spike
    h[20:26] = np.nan  # a 30-min gap
    eta = eta_to_level(ts, h, 11.0, now=NOW)
    assert eta is not None and abs((eta.eta - pd.Timestamp("2026-06-15 05:00")).total_seconds()) < 60


def test_eta_band_brackets_true_crossing_on_noisy_rise() -> None:
    # Level rises 0.4 m/h with N(0, 3 cm) noise; true crossing of 11.0 from 10.0 at now is 2.5 h ahead.
    true_eta = NOW + pd.Timedelta(hours=2.5)
    rng = np.random.default_rng(42)
    bracketed = 0
    trials = 200
    for trial in range(trials):
        ts, h = _linear(NOW, 0.4, 10.0)
        eta = eta_to_level(ts, h + rng.normal(0.0, 0.03, h.size), 11.0, now=NOW)
        assert eta is not None and eta.latest is not None
        assert eta.earliest <= eta.eta <= eta.latest
        bracketed += eta.earliest <= true_eta <= eta.latest
        if trial == 0:
            assert eta.earliest <= true_eta <= eta.latest
    assert bracketed / trials >= 0.8  # nominal 90 %


def test_eta_latest_open_when_slow_edge_is_not_rising() -> None:
    rng = np.random.default_rng(7)
    ts, h = _linear(NOW, 0.05, 10.0, n=12)
    eta = eta_to_level(ts, h + rng.normal(0.0, 0.2, h.size), 10.5, now=NOW)
    # Rising on the median slope, but the lower confidence slope is ≤ 0: it may never arrive.
    assert eta is not None and eta.slope_m_per_h > 0
    assert eta.slope_low_m_per_h <= 0 and eta.latest is None and eta.earliest <= eta.eta


def test_water_state_end_to_end() -> None:
    ts, h = _linear(NOW, 0.5, 10.0, n=37)
    river = pd.DataFrame({"entity_id": "R", "ts": ts, "level_m": h, "discharge_m3s": 5000.0})
    river = river.drop(index=[30])  # a missing 5-min reading
    res_ts = pd.date_range(end=NOW - pd.Timedelta("10min"), periods=37, freq="5min")
    reservoir = pd.DataFrame({"entity_id": "RES", "ts": res_ts, "level_m": 65.25})
    future = pd.DataFrame({"entity_id": ["R"], "ts": [NOW + pd.Timedelta("5min")], "level_m": [99.0]})
    out = water_state(pd.concat([river, reservoir, future]), _stations(), NOW).set_index("entity_id")
    r = out.loc["R"]
    assert r["level_m"] == pytest.approx(10.0)  # the future reading is ignored
    assert r["rise_1h_m_per_h"] == pytest.approx(0.5) and r["rise_3h_m_per_h"] == pytest.approx(0.5)
    assert r["eta_target"] == "warning" and r["eta_warning"] == pd.Timestamp("2026-06-15 05:00")
    assert r["eta_minutes"] == pytest.approx(120.0)
    assert r["over_warning_m"] == pytest.approx(-1.0)
    # 10.0 is below 11 − 0.3, but the trend reaches 11 in 2 h < 3 h lead → blue by forecast
    assert r["signal_level"] == 4 and r["signal_reason"] == "forecast" and r["district_code"] == "441802"
    res = out.loc["RES"]
    assert res["age_min"] == pytest.approx(10.0) and res["over_flood_limit_m"] == pytest.approx(0.25)
    assert res["signal_level"] == 3 and res["signal_reason"] == "flood_limit"
    assert (
        res["eta_target"] == "flood_limit" and pd.isna(res["eta_warning"]) and res["rise_1h_m_per_h"] == 0.0
    )
    assert "P" not in out.index  # no readings
    assert worst_signal(out["signal_level"]) == int(Level.YELLOW)
    assert worst_signal(pd.Series([pd.NA], dtype="Int64")) is None


def test_water_state_empty_and_dtypes() -> None:
    empty = pd.DataFrame(
        {
            "entity_id": pd.Series([], dtype=object),
            "ts": pd.Series([], dtype="datetime64[us]"),
            "level_m": pd.Series([], dtype="float64"),
        }
    )
    out = water_state(empty, _stations(), NOW)
    assert out.empty and {"signal_level", "eta_warning", "over_warning_m"} <= set(out.columns)
    ts, h = _linear(NOW, 0.5, 10.0)
    obs = pd.DataFrame({"entity_id": "R", "ts": ts.astype("datetime64[us]"), "level_m": h})
    state = water_state(obs, _stations(), NOW)
    for col in ("ts", "eta_warning", "eta_earliest", "eta_latest"):
        assert state[col].dtype == "datetime64[us]", col
    assert state["signal_level"].dtype == "Int64"
    # an empty dict of forecasts is "no forecast"
    assert (
        flood_signal_level(
            pd.DataFrame({"entity_id": ["P"], "level_m": [1.0]}), _stations(), forecast_eta={}
        )["signal_level"].iloc[0]
        is pd.NA
    )


def test_rise_at_last_agrees_with_rise_rate_on_irregular_series() -> None:
    from metrics.water import rise_at_last, rise_rate

    rng = np.random.default_rng(7)
    for _ in range(50):
        minutes = np.sort(rng.choice(np.arange(0, 300, 5), size=30, replace=False))
        idx = pd.Timestamp("2026-06-15") + pd.to_timedelta(minutes, unit="min")
        series = pd.Series(rng.normal(10, 1, size=30), index=idx)
        for window in ("1h", "3h"):
            full = rise_rate(series, window).iloc[-1]
            last = rise_at_last(series, window)
            assert (np.isnan(full) and np.isnan(last)) or full == pytest.approx(last)
