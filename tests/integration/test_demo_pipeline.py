"""The demo city through the real pull path: demo feed server → pipeline → warehouse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import urlopen

import numpy as np
import pandas as pd
import pytest

from cityops.base.clock import FixedClock
from cityops.base.domains import AIR, INCIDENT, RAIN, TRAFFIC, WATER
from geo.coords import bd09_to_wgs84
from ingest.landing import Landing
from ingest.pipeline import Runtime, replay_run, run_feed
from ingest.reasons import parse_reasons
from sample_data.demo_server import DemoFeedServer
from sample_data.generator import CityGenerator, Scenario, load_catalogue
from tests.helpers import build_demo_city


@pytest.fixture(scope="module")
def generator() -> CityGenerator:
    return CityGenerator(load_catalogue(), Scenario())


@pytest.fixture
def demo(tmp_path: Path, generator: CityGenerator) -> Iterator[tuple[Runtime, DemoFeedServer, FixedClock]]:
    with build_demo_city(tmp_path, now=generator.scenario.storm_peak, generator=generator) as city:
        yield city.runtime, city.feed_server, city.clock


def test_every_demo_feed_lands_in_canonical_units(demo, generator) -> None:
    rt, _server, clock = demo
    since = clock.now() - timedelta(hours=6)
    reports = {name: run_feed(rt, name, since=since) for name in rt.settings.feeds}
    assert {n: r.status for n, r in reports.items()} == dict.fromkeys(rt.settings.feeds, "ok"), reports
    assert all(r.rows_rejected == 0 for n, r in reports.items() if n != "air"), {
        n: r.rows_rejected for n, r in reports.items()
    }
    # The environment bureau sends rows for hours when a station measured nothing (a sensor gap):
    # those are quarantined, with the reason, and nothing else is.
    reasons = {
        r.detail for text in rt.warehouse.quarantined(feed="air")["reason"] for r in parse_reasons(text)
    }
    assert reasons <= {"no value: all of so2, no2, pm10, pm25, co, o3 are missing"}

    start, end = since + timedelta(minutes=5), clock.now()
    truth = generator.traffic(start, end).set_index(["entity_id", "ts"]).sort_index()
    got = rt.warehouse.observations(TRAFFIC, start=start, end=end)
    got["ts"] = got["ts"].dt.tz_localize("UTC")
    got = got.set_index(["entity_id", "ts"]).sort_index()
    assert len(got) == len(truth) > 0
    # the department sends m/s with 2 decimals: km/h after conversion within 0.02 km/h
    assert np.allclose(got["speed_kmh"], truth["speed_kmh"], atol=0.02)
    assert np.allclose(got["occupancy_pct"], truth["occupancy_pct"], atol=0.01)

    air = rt.warehouse.observations(AIR, start=start, end=end)
    air_truth = generator.air(start, end)
    assert len(air) == len(air_truth.dropna(subset=["so2", "no2", "pm10", "pm25", "co", "o3"], how="all"))
    # CO arrives in µg/m³ as integers; stored in mg/m³
    assert air["co"].dropna().between(0.05, 10).all()
    water = rt.warehouse.observations(WATER, start=start, end=end)
    w_truth = generator.water(start, end).set_index(["entity_id", "ts"]).sort_index()
    water["ts"] = water["ts"].dt.tz_localize("UTC")
    water = water.set_index(["entity_id", "ts"]).sort_index()
    assert np.allclose(water["level_m"], w_truth["level_m"], atol=0.006)  # cm integers → m
    rain = rt.warehouse.observations(RAIN, start=start, end=end)
    assert rain["rain_mm"].max() > 5  # the storm is at its peak
    assert rain["rain_mm"].min() >= 0


def _served_incidents(server: DemoFeedServer, since: datetime) -> dict[str, dict[str, Any]]:
    """What the demo server serves for ``updatedSince=since`` (its clock is fixed), keyed by eventId."""
    query = urlencode({"updatedSince": since.isoformat()})
    with urlopen(f"{server.url}/emergency/incidents?{query}", timeout=30) as resp:
        body = json.loads(resp.read().decode("utf-8"))
    return {row["eventId"]: row for row in body["result"]}


def test_incident_coordinates_and_codes_are_normalised(demo, generator) -> None:
    rt, server, clock = demo
    since = clock.now() - timedelta(days=2)
    report = run_feed(rt, "incidents", since=since)
    assert report.status == "ok" and report.rows_inserted > 0
    got = rt.warehouse.observations(INCIDENT).set_index("incident_id").sort_index()
    truth = (
        generator.incidents(clock.now() - timedelta(days=2), clock.now(), clock.now())
        .set_index("incident_id")
        .sort_index()
    )
    common = got.index.intersection(truth.index)
    assert len(common) == len(truth) > 0
    assert set(got["type"]) <= {"waterlogging", "traffic_accident", "landslide", "fire", "tree_down"}
    assert "waterlogging" in set(got["type"])
    assert got["severity"].between(1, 4).all()
    # BD-09 (6 decimals) back to WGS-84: within about a metre of the truth
    dlon = (got.loc[common, "lon"] - truth.loc[common, "lon"]).abs().max()
    dlat = (got.loc[common, "lat"] - truth.loc[common, "lat"]).abs().max()
    assert dlon < 2e-5 and dlat < 2e-5, (dlon, dlat)
    # The stored points are not the BD-09 values the server sent for those rows: each one lies
    # hundreds of metres from its raw bdLng/bdLat (here about 1.2 km east-west, 300 m north-south).
    served = _served_incidents(server, since)
    landed = Path(report.raw_path)
    received = {  # the payload this run landed: what the server sent the pipeline
        row["eventId"]: row
        for part in Landing.read_meta(landed)["parts"]
        for row in json.loads(Landing.read_part(landed, part["name"]))["result"]
    }
    assert received == served
    assert set(served) == set(got.index) == set(common)
    served_lon = pd.Series({k: v["bdLng"] for k, v in served.items()}).loc[common]
    served_lat = pd.Series({k: v["bdLat"] for k, v in served.items()}).loc[common]
    east_m = (got.loc[common, "lon"] - served_lon) * 111_320 * np.cos(np.radians(served_lat))
    north_m = (got.loc[common, "lat"] - served_lat) * 110_540
    assert (np.hypot(east_m, north_m) > 300).all(), np.hypot(east_m, north_m).min()
    # ... and they are what converting each served BD-09 value gives, row by row
    back_lon, back_lat = bd09_to_wgs84(served_lon.to_numpy(), served_lat.to_numpy())
    assert np.allclose(got.loc[common, "lon"], back_lon, atol=1e-9, rtol=0)
    assert np.allclose(got.loc[common, "lat"], back_lat, atol=1e-9, rtol=0)


def test_scheduled_runs_are_incremental_idempotent_and_replayable(demo) -> None:
    rt, _server, clock = demo
    first = run_feed(rt, "water")
    assert first.status == "ok" and first.rows_inserted > 0
    before = rt.warehouse.table_count("obs_water")
    again = run_feed(rt, "water")  # same instant: the overlap is fetched again and changes nothing
    assert (again.rows_inserted, again.rows_updated) == (0, 0)
    assert again.rows_unchanged > 0
    clock.advance(timedelta(minutes=15))
    later = run_feed(rt, "water")
    stations = len(rt.warehouse.entities("hydro_station"))
    assert later.rows_inserted == 3 * stations  # three new 5-minute readings per station
    assert rt.warehouse.table_count("obs_water") == before + 3 * stations
    replay = replay_run(rt, first.run_id)
    assert replay.status == "ok" and replay.rows_inserted == 0 and replay.rows_updated == 0
    assert rt.warehouse.duplicate_keys(WATER) == 0
    assert rt.warehouse.run(replay.run_id)["replay_of"] == first.run_id


def test_one_failing_department_does_not_stop_the_others(demo) -> None:
    rt, server, _clock = demo
    server.set_fault("/traffic", "500")
    server.set_fault("/water/levels", "malformed")
    reports = {n: run_feed(rt, n) for n in rt.settings.feeds}
    assert reports["traffic"].status == "failed" and reports["traffic"].error_kind == "transient"
    assert reports["traffic"].attempts == rt.settings.ingest.retry_attempts
    assert reports["water"].status == "failed" and reports["water"].error_kind == "terminal"
    assert "not valid JSON" in reports["water"].error
    for name in ("air", "rain", "incidents"):
        assert reports[name].status == "ok"
    health = {r["feed"]: r for r in rt.warehouse.feed_states().to_dict("records")}
    assert health["traffic"]["consecutive_failures"] == 1
    assert "HTTP 500" in health["traffic"]["last_error"]
    # the raw (truncated) CSV was kept for inspection
    raw = Path(reports["water"].raw_path)
    assert any(raw.glob("part-*.json.zst"))


def test_a_killed_run_leaves_nothing_half_written(tmp_path: Path, demo) -> None:
    rt, _server, clock = demo
    ok = run_feed(rt, "rain")
    count = rt.warehouse.table_count("obs_rain")
    # Simulate a process killed between start and commit: a 'running' run, no rows.
    rt.warehouse.start_run("killed-run", "rain", "schedule", clock.now())
    recovered = rt.warehouse.recover_interrupted_runs(clock.now())
    assert recovered == ["killed-run"]
    assert rt.warehouse.run("killed-run")["status"] == "interrupted"
    assert rt.warehouse.table_count("obs_rain") == count
    state = rt.warehouse.feed_state("rain")
    assert state is not None and state["last_run_id"] == ok.run_id
