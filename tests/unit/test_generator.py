"""The sample city's generator: deterministic, grid-aligned, plausible, and the scripted scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sample_data.generator import CityGenerator, Scenario, load_catalogue


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory, build_catalogue) -> CityGenerator:
    path = build_catalogue(tmp_path_factory.mktemp("cat") / "entities.geojson", n_roads=40)
    return CityGenerator(load_catalogue(path), Scenario())


def _district(gen: CityGenerator, kind: str) -> dict[str, str]:
    df = gen.catalogue[kind]
    return dict(zip(df["entity_id"], df["district_code"], strict=True))


def test_catalogue_groups_kinds_and_places_segments_at_their_middle(gen: CityGenerator) -> None:
    cat = gen.catalogue
    assert len(cat.hydro_stations) == 9 and len(cat.rain_gauges) == 12
    assert len(cat.air_stations) == 6 and len(cat.road_segments) == 40
    seg = cat.road_segments.iloc[0]
    assert seg["district_code"] == "441802" and isinstance(seg["district_code"], str)
    coords = seg["geometry_coords"]
    assert coords[0][0] < seg["lon"] < coords[-1][0]


def test_default_catalogue_path_is_next_to_the_package() -> None:
    from sample_data import generator

    assert Path(generator.__file__).parent / "qingyuan" / "entities.geojson" == generator.DEFAULT_CATALOGUE


@pytest.mark.parametrize("domain", ["traffic", "air", "water", "rain"])
def test_same_call_twice_and_overlapping_windows_agree(gen: CityGenerator, domain: str) -> None:
    s = gen.scenario.storm_peak - timedelta(hours=6)
    fn = getattr(gen, domain)
    a = fn(s, s + timedelta(hours=10))
    pd.testing.assert_frame_equal(a, fn(s, s + timedelta(hours=10)))
    b = fn(s + timedelta(hours=4, minutes=2), s + timedelta(hours=14))
    lo, hi = b["ts"].min(), a["ts"].max()
    left = a[a["ts"] >= lo].reset_index(drop=True)
    right = b[b["ts"] <= hi].reset_index(drop=True)
    assert len(left) > 0
    pd.testing.assert_frame_equal(left, right)
    # A fresh generator (no shared state) gives the same numbers; another seed does not.
    again = CityGenerator(gen.catalogue, gen.scenario, seed=gen.seed)
    pd.testing.assert_frame_equal(a, getattr(again, domain)(s, s + timedelta(hours=10)))
    other = getattr(CityGenerator(gen.catalogue, gen.scenario, seed=1), domain)(s, s + timedelta(hours=10))
    assert not a.equals(other)


@pytest.mark.parametrize(("domain", "step"), [("traffic", 300), ("air", 3600), ("water", 300), ("rain", 300)])
def test_rows_are_on_the_grid_inside_the_window(gen: CityGenerator, domain: str, step: int) -> None:
    start = datetime(2026, 6, 10, 3, 7, 30, tzinfo=UTC)
    end = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    df = getattr(gen, domain)(start, end)
    assert str(df["ts"].dt.tz) == "UTC"
    assert df["ts"].min() >= pd.Timestamp(start) and df["ts"].max() < pd.Timestamp(end)
    secs = (df["ts"] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    assert (secs % step == 0).all()
    n_ent = df["entity_id"].nunique()
    expected_steps = len(
        pd.date_range(pd.Timestamp(start).ceil(f"{step}s"), end, freq=f"{step}s", inclusive="left")
    )
    assert len(df) == n_ent * expected_steps
    assert not df.duplicated(["entity_id", "ts"]).any()
    assert list(df.columns[:2]) == ["entity_id", "ts"]
    # An empty window is an empty frame, not an error.
    assert len(getattr(gen, domain)(end, end)) == 0


def test_naive_times_are_refused(gen: CityGenerator) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        gen.rain(datetime(2026, 6, 1), datetime(2026, 6, 2))


def test_value_ranges(gen: CityGenerator) -> None:
    s = gen.scenario.start - timedelta(days=1)
    e = gen.scenario.start + timedelta(days=3)
    tr = gen.traffic(s, e)
    ff = tr["entity_id"].map(gen.catalogue.road_segments.set_index("entity_id")["free_flow_kmh"])
    assert (tr["speed_kmh"] > 0).all() and (tr["speed_kmh"] <= ff * 1.1).all()
    assert (tr["volume_vph"] >= 0).all() and tr["occupancy_pct"].between(0, 100).all()
    rain = gen.rain(s, e)
    assert (rain["rain_mm"] >= 0).all() and rain["rain_mm"].max() < 40
    water = gen.water(s, e)
    thr = gen.catalogue.hydro_stations.set_index("entity_id")
    lvl = water.groupby("entity_id")["level_m"].agg(["min", "max"]).join(thr)
    assert (lvl["min"] > lvl["normal_level_m"] - 0.5).all()
    assert (lvl["max"] < lvl["historical_level_m"]).all()
    res = water["entity_id"].map(thr["station_type"]) == "reservoir"
    assert water.loc[res, "discharge_m3s"].isna().all()
    assert (water.loc[~res, "discharge_m3s"] > 0).all()
    air = gen.air(s, e)
    for col in ("so2", "no2", "pm10", "pm25", "o3", "co"):
        vals = air[col].dropna()
        assert (vals >= 0).all(), col
        assert air[col].notna().mean() > 0.9, col
    assert air["co"].max() < 10  # mg/m³
    assert air["pm25"].max() < 400


def test_weekday_rush_hour_is_slower_than_the_night(gen: CityGenerator) -> None:
    # 2026-06-10 is a Wednesday; 08:15 local = 00:15 UTC, 03:00 local = 19:00 UTC the day before.
    tr = gen.traffic(datetime(2026, 6, 9, 16, 0, tzinfo=UTC), datetime(2026, 6, 10, 16, 0, tzinfo=UTC))
    local = tr["ts"].dt.tz_convert("Asia/Shanghai")
    town = tr["entity_id"].map(_district(gen, "road_segment")) == "441802"
    rush = tr[town & (local.dt.hour == 8)]["speed_kmh"].mean()
    night = tr[town & (local.dt.hour == 3)]["speed_kmh"].mean()
    evening = tr[town & (local.dt.hour == 18)]["speed_kmh"].mean()
    assert rush < 0.85 * night and evening < 0.85 * night
    assert (
        tr[town & (local.dt.hour == 8)]["volume_vph"].mean()
        > 3 * tr[town & (local.dt.hour == 3)]["volume_vph"].mean()
    )
    # The weekend morning is lighter than the weekday one.
    sat = gen.traffic(datetime(2026, 6, 13, 0, 0, tzinfo=UTC), datetime(2026, 6, 13, 1, 0, tzinfo=UTC))
    sat_town = sat["entity_id"].map(_district(gen, "road_segment")) == "441802"
    assert sat[sat_town]["speed_kmh"].mean() > rush


def test_air_diurnal_ozone_peaks_in_the_afternoon(gen: CityGenerator) -> None:
    air = gen.air(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))
    hour = air["ts"].dt.tz_convert("Asia/Shanghai").dt.hour
    o3 = air.groupby(hour)["o3"].mean()
    no2 = air.groupby(hour)["no2"].mean()
    assert o3.idxmax() in range(13, 18) and o3[15] > 2 * o3[5]
    assert no2[8] > no2[14] and no2[20] > no2[14]


def test_scenario_timeline_is_queryable() -> None:
    sc = Scenario()
    assert sc.start == datetime(2026, 6, 14, tzinfo=UTC) - timedelta(hours=8)
    assert sc.storm_peak == sc.start + timedelta(hours=30)
    lo, hi = sc.storm_window
    assert timedelta(hours=6) <= hi - lo <= timedelta(hours=10)
    e0, e1 = sc.episode_window
    assert e0 < sc.episode_peak < e1 <= lo + timedelta(hours=3)
    moved = Scenario(start=datetime(2026, 7, 1, tzinfo=UTC))
    assert moved.storm_peak == datetime(2026, 7, 2, 6, tzinfo=UTC)


def test_storm_rain_totals(gen: CityGenerator) -> None:
    sc = gen.scenario
    rain = gen.rain(sc.storm_peak - timedelta(hours=6), sc.storm_peak + timedelta(hours=6))
    wide = rain.pivot(index="ts", columns="entity_id", values="rain_mm")
    three_h = wide.rolling(36).sum().max()
    assert three_h.max() > 50
    assert three_h.max() <= 130
    dist = _district(gen, "rain_gauge")
    storm_districts = {"441802", "441803", "441881", "441821"}
    hit = {dist[g] for g, v in three_h.items() if v >= 50}
    assert hit == storm_districts
    # Dry while the air stagnates before the storm.
    e0, _ = sc.episode_window
    dry = gen.rain(e0, sc.at(sc.episode_peak_h + sc.episode_hold_h))
    assert dry["rain_mm"].sum() == 0


def test_storm_pushes_rivers_past_warning(gen: CityGenerator) -> None:
    sc = gen.scenario
    before = gen.water(sc.storm_peak - timedelta(hours=12), sc.storm_peak - timedelta(hours=6))
    after = gen.water(sc.storm_peak, sc.storm_peak + timedelta(hours=36))
    thr = gen.catalogue.hydro_stations.set_index("entity_id")
    names = thr["name"]
    peak_after = after.groupby("entity_id")["level_m"].max()
    assert (before.groupby("entity_id")["level_m"].max() < thr["warning_level_m"].fillna(np.inf)).all()
    over = peak_after[peak_after > thr["warning_level_m"]]
    assert len(over) >= 3
    assert {"石角", "清远", "江口圩", "源潭"} <= set(names[over.index])
    assert (peak_after > thr["guaranteed_level_m"]).any()
    # "Clearly above" for several hours, and later downstream on the 北江 main stem.
    hours_over = (
        after.assign(w=after["entity_id"].map(thr["warning_level_m"]))
        .query("level_m > w")
        .groupby("entity_id")
        .size()
        / 12
    )
    for name in ("石角", "清远", "江口圩", "源潭"):
        eid = names[names == name].index[0]
        assert hours_over[eid] >= 3, name
    crest = after.loc[after.groupby("entity_id")["level_m"].idxmax()].set_index("entity_id")["ts"]
    assert crest["HY001"] > crest["HY003"] > crest["HY005"]  # 石角 after 英德 after 大燕河
    assert crest["HY001"] - sc.storm_peak > timedelta(hours=8)


def test_storm_slows_town_traffic_by_about_half(gen: CityGenerator) -> None:
    sc = gen.scenario
    t = sc.storm_peak
    week = timedelta(days=7)
    now = gen.traffic(t - timedelta(minutes=30), t + timedelta(minutes=30))
    ref = gen.traffic(t - week - timedelta(minutes=30), t - week + timedelta(minutes=30))
    dist = _district(gen, "road_segment")
    town = {"441802", "441803"}
    ratio = (
        now[now["entity_id"].map(dist).isin(town)]["speed_kmh"].mean()
        / ref[ref["entity_id"].map(dist).isin(town)]["speed_kmh"].mean()
    )
    assert 0.4 <= ratio <= 0.6
    far = (
        now[now["entity_id"].map(dist) == "441825"]["speed_kmh"].mean()
        / ref[ref["entity_id"].map(dist) == "441825"]["speed_kmh"].mean()
    )
    assert far > 0.8


def test_pollution_episode(gen: CityGenerator) -> None:
    sc = gen.scenario
    e0, e1 = sc.episode_window
    air = gen.air(e0, e1)
    assert air["pm25"].max() > 150
    assert air["pm25"].max() <= 260
    dist = air["entity_id"].map(_district(gen, "air_station"))
    south = air[dist.isin({"441802", "441803"})]
    hours_over = (south.groupby("ts")["pm25"].max() > 150).sum()
    assert hours_over >= 4
    # Clean air a week earlier, and washed out after the storm.
    base = gen.air(e0 - timedelta(days=7), e1 - timedelta(days=7))
    assert base["pm25"].max() < 100
    washed = gen.air(sc.storm_peak + timedelta(hours=2), sc.storm_peak + timedelta(hours=8))
    assert washed["pm25"].max() < 60


def test_incidents_follow_the_storm(gen: CityGenerator) -> None:
    sc = gen.scenario
    lo, hi = sc.storm_window
    inc = gen.incidents(lo, hi, hi)
    wl = inc[inc["type"] == "waterlogging"]
    assert len(wl) >= 3
    assert set(wl["district_code"]) & {"441802", "441803"}
    assert wl["district_code"].isin({"441802", "441803"}).mean() > 0.6
    quiet = gen.incidents(lo - timedelta(days=7), hi - timedelta(days=7), hi - timedelta(days=7))
    assert (quiet["type"] == "waterlogging").sum() == 0
    # The demo feed's published columns, written out on purpose: the generator selects its own
    # INCIDENT_COLUMNS, so comparing with that list would pass whatever it held.
    assert list(inc.columns) == [
        "incident_id",
        "type",
        "severity",
        "status",
        "reported_at",
        "dispatched_at",
        "closed_at",
        "lon",
        "lat",
        "district_code",
        "description",
        "department",
    ]
    assert inc["severity"].between(1, 4).all()
    assert inc["incident_id"].is_unique
    assert inc["description"].str.len().gt(5).all()
    assert inc["type"].isin({"waterlogging", "traffic_accident", "landslide", "fire", "tree_down"}).all()
    assert inc["lon"].between(111.5, 114.5).all() and inc["lat"].between(23, 25.5).all()
    assert ((inc["reported_at"] >= pd.Timestamp(lo)) & (inc["reported_at"] < pd.Timestamp(hi))).all()


def test_incident_state_moves_forward_with_as_of(gen: CityGenerator) -> None:
    sc = gen.scenario
    lo, hi = sc.storm_window
    early = gen.incidents(lo, hi, hi).set_index("incident_id")
    later = gen.incidents(lo, hi, hi + timedelta(days=3)).set_index("incident_id")
    assert set(early.index) == set(later.index)
    assert (early["status"] != "closed").any()
    assert (later["status"] == "closed").all()
    assert later["closed_at"].map(lambda t: t is not None).all()
    opened = early[early["status"] == "open"]
    assert opened["dispatched_at"].map(lambda t: t is None).all()
    assert early.loc[early["status"] != "closed", "closed_at"].map(lambda t: t is None).all()
    closed = later
    assert (
        pd.to_datetime(closed["closed_at"], utc=True) > pd.to_datetime(closed["dispatched_at"], utc=True)
    ).all()
    assert (pd.to_datetime(closed["dispatched_at"], utc=True) > closed["reported_at"]).all()
    # Nothing reported after as_of is known yet.
    mid = lo + (hi - lo) / 2
    partial = gen.incidents(lo, hi, mid)
    assert (partial["reported_at"] <= pd.Timestamp(mid)).all()
    assert len(partial) < len(early)
    # Same incidents whatever window they are asked through.
    pieces = pd.concat([gen.incidents(lo, mid, hi), gen.incidents(mid, hi, hi)], ignore_index=True)
    pd.testing.assert_frame_equal(pieces.reset_index(drop=True), early.reset_index().loc[:, pieces.columns])


def test_one_day_of_traffic_for_300_segments(tmp_path: Path, build_catalogue) -> None:
    gen = CityGenerator(load_catalogue(build_catalogue(tmp_path / "big.geojson", n_roads=300)), Scenario())
    day = gen.traffic(gen.scenario.start, gen.scenario.start + timedelta(days=1))
    assert len(day) == 86_400
    assert day["speed_kmh"].notna().all()


def test_the_shipped_qingyuan_catalogue_plays_the_scenario() -> None:
    from sample_data.generator import DEFAULT_CATALOGUE

    # The catalogue ships with the repository (sample_data/qingyuan): missing is a failure, not a skip.
    assert DEFAULT_CATALOGUE.is_file(), f"the shipped catalogue {DEFAULT_CATALOGUE} is missing"
    gen = CityGenerator(load_catalogue(), Scenario())
    sc = gen.scenario
    assert len(gen.catalogue.road_segments) > 0 and len(gen.catalogue.rain_gauges) > 0
    thr = gen.catalogue.hydro_stations.set_index("entity_id")
    water = gen.water(sc.storm_peak, sc.storm_peak + timedelta(hours=36))
    peak = water.groupby("entity_id")["level_m"].max()
    over = peak[peak > thr["warning_level_m"]]
    assert len(over) >= 3
    named = " ".join(thr.loc[over.index, "name"]) + " " + " ".join(thr.loc[over.index, "river"])
    for key in ("石角", "清远", "江口圩", "大燕河"):
        assert key in named
    rivers = thr[thr["station_type"] == "river"]
    assert (peak[rivers.index] > rivers["guaranteed_level_m"]).any()
    rain = gen.rain(sc.storm_peak - timedelta(hours=6), sc.storm_peak + timedelta(hours=6))
    three_h = rain.pivot(index="ts", columns="entity_id", values="rain_mm").rolling(36).sum().max()
    assert 50 < three_h.max() <= 130
    air = gen.air(*sc.episode_window)
    assert 150 < air["pm25"].max() <= 260
    inc = gen.incidents(*sc.storm_window)
    assert (inc["type"] == "waterlogging").sum() >= 3
