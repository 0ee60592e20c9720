"""Signals from observation windows, and the district index with configured weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from metrics.signals import Window, compute_signals, district_index

NOW = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)
T = pd.Timestamp("2026-06-15 00:00")

ENTITIES = pd.DataFrame(
    [
        {
            "entity_id": "H",
            "kind": "hydro_station",
            "name": "石角",
            "district_code": "441802",
            "basin": "北江",
            "station_type": "river",
            "warning_level_m": 11.0,
            "guaranteed_level_m": 12.0,
            "historical_level_m": 13.0,
        },
        {"entity_id": "G", "kind": "rain_gauge", "name": "雨量站", "district_code": "441802", "basin": None},
    ]
)


def window() -> Window:
    ts = pd.date_range(end=T, periods=37, freq="5min")  # 3 h of readings, rising 0.5 m/h
    water = pd.DataFrame(
        {"entity_id": "H", "ts": ts, "level_m": 9.5 + 0.5 * np.arange(37) / 12, "discharge_m3s": np.nan}
    )
    rain_ts = pd.date_range(end=T - pd.Timedelta("5min"), periods=12 * 6, freq="5min")  # 6 h of 5-min amounts
    rain = pd.DataFrame({"entity_id": "G", "ts": rain_ts, "rain_mm": 1.0})
    return Window(water=water, rain=rain)


def test_water_and_rain_signals_by_hand() -> None:
    sig = compute_signals(window(), ENTITIES, NOW, districts=["441802"])
    w = sig[sig["domain"] == "water"].set_index("metric")["value"]
    assert w["level_m"] == pytest.approx(11.0)  # 9.5 + 0.5 × 3 h
    assert w["over_warning_m"] == pytest.approx(0.0)
    assert w["rise_1h_m"] == pytest.approx(0.5) and w["rise_3h_m"] == pytest.approx(0.5)
    assert w["flood_signal"] == 3  # yellow: at the warning level
    r = sig[sig["domain"] == "rain"].set_index("metric")["value"]
    # 1 mm every 5 minutes: 12 mm per hour, six hours of data
    assert (r["r1_mm"], r["r3_mm"], r["r6_mm"], r["r12_mm"]) == (12.0, 36.0, 72.0, 72.0)
    inc = sig[sig["domain"] == "incident"].set_index("metric")["value"]
    assert inc["open_incidents"] == 0


def test_old_readings_do_not_make_signals() -> None:
    w = window()
    w.water["ts"] = w.water["ts"] - pd.Timedelta(hours=2)  # the station stopped reporting 2 h ago
    sig = compute_signals(w, ENTITIES, NOW, districts=["441802"])
    assert sig[sig["domain"] == "water"].empty


def test_feed_freshness_becomes_a_signal() -> None:
    feeds = [
        {
            "name": "water",
            "domain": "water",
            "department": "水文",
            "freshness": "stale",
            "last_data_at": NOW - timedelta(hours=3),
        }
    ]
    sig = compute_signals(Window(), ENTITIES, NOW, districts=[], feeds=feeds)
    row = sig[sig["scope"] == "feed"].iloc[0]
    assert (row["key"], row["value"], row["ts"]) == ("water", 2.0, pd.Timestamp("2026-06-14 21:00"))


def test_district_index_uses_the_configured_weights() -> None:
    sig = compute_signals(window(), ENTITIES, NOW, districts=["441802"])
    only_water = district_index(sig, pd.DataFrame(), NOW, districts=["441802"], weights={"water": 1.0})
    # water at yellow scores 55 (metrics.composite.LEVEL_SCORES); no other domain is weighted
    assert only_water["index"].iloc[0] == pytest.approx(55.0) and only_water["domains"].iloc[0] == "water"
    both = district_index(sig, pd.DataFrame(), NOW, districts=["441802"], weights={"water": 1.0, "rain": 1.0})
    # rain: R6 = 72 mm ≥ 50 → yellow under the Guangdong profile, 55; the mean stays 55
    assert both["index"].iloc[0] == pytest.approx(55.0) and both["domains"].iloc[0] == "water,rain"


def test_composite_weights_are_validated_in_settings() -> None:
    from cityops.base.errors import ConfigError
    from cityops.base.settings import settings_from_dict

    with pytest.raises(ConfigError, match=r"composite\.weights: 'noise' is not a domain of the index"):
        settings_from_dict({"composite": {"weights": {"noise": 1}}}, environ={})
    ok = settings_from_dict({"composite": {"weights": {"water": 2, "rain": 1}}}, environ={})
    assert ok.composite.weights == {"water": 2, "rain": 1}


def test_an_index_from_too_little_data_is_not_shown_as_normal(tmp_path) -> None:
    from cityops.alerting import Alerting
    from cityops.base.clock import FixedClock
    from cityops.base.settings import settings_from_dict
    from cityops.base.warehouse import Warehouse
    from ingest.pipeline import Runtime
    from metrics.warnings.rules import RulePack

    districts = (
        __import__("pathlib").Path(__file__).resolve().parents[2]
        / "sample_data"
        / "qingyuan"
        / "districts.geojson"
    )
    settings = settings_from_dict(
        {"storage": {"data_dir": str(tmp_path)}, "city": {"districts": str(districts)}}, environ={}
    )
    wh = Warehouse(":memory:")
    from ingest.reference import load_reference_data

    load_reference_data(settings, wh)
    engine = Alerting(
        Runtime(settings, wh, FixedClock(NOW)), RulePack(id="n", version="n", title="", rules=())
    )
    index = engine.district_index()
    # no data at all: only the (empty) incident domain is known, 20 % of the weight
    assert len(index) == 8 and index["index"].isna().all() and (index["grade_zh"] == "数据不足").all()
