"""The explorer: its URL codec, query plan, thresholds, figures, export and callbacks, on a real DuckDB
warehouse filled through the real write path (``Warehouse.commit_run``)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.base.clock import FixedClock
from cityops.base.domains import AIR, INCIDENT, RAIN, TRAFFIC, WATER, Domain, custom_domain
from cityops.base.settings import settings_from_dict
from cityops.base.warehouse import open_warehouse
from dashboard.explore import (
    HOURLY_MAX,
    MAX_POINTS,
    RAW_MAX,
    ExploreState,
    apply_click,
    click_target,
    decode_state,
    encode_state,
    export_filename,
    export_frame,
    load_catalog,
    load_explore_data,
    plan_resolution,
    resolve_state,
    series_query,
    thresholds_for,
    time_window,
)
from dashboard.figures.explore import (
    build_compare_figure,
    build_distribution_figure,
    build_heatmap_figure,
    build_series_figure,
)
from dashboard.i18n import t
from dashboard.services import Services
from ingest.pipeline import Runtime
from metrics.aqi import breakpoints
from metrics.traffic import SPEED_THRESHOLDS
from tests.helpers import commit_frame, site_client

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
TZ = "Asia/Shanghai"
#: One air station's hourly concentrations (constant): its AQI is that of these 1-h values.
AIR_HOUR = {"so2": 10.0, "no2": 40.0, "pm10": 120.0, "pm25": 80.0, "co": 0.8, "o3": 100.0}


def _square(x: float, y: float) -> str:
    return json.dumps(
        {"type": "Polygon", "coordinates": [[[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]]]}
    )


def _commit(wh: Any, domain: Domain, frame: pd.DataFrame, run: str) -> None:
    commit_frame(wh, run, domain, frame, NOW, feed=domain.name, department="测试局")


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp = tmp_path_factory.mktemp("explore")
    settings = settings_from_dict(
        {
            "city": {"timezone": TZ},
            "server": {"anonymous_viewer": True},  # viewing needs no sign-in, as in the demo
            "storage": {"data_dir": str(tmp / "data")},
            "domains": {
                "hydrant": {
                    "label": "消火栓水压",
                    "metrics": [{"name": "pressure_mpa", "unit": "MPa", "label": "水压"}],
                }
            },
        },
        environ={},
    )
    wh = open_warehouse(settings)
    wh.upsert_districts(
        pd.DataFrame(
            [
                {
                    "code": "441802",
                    "name": "清城区",
                    "name_en": "Qingcheng",
                    "geometry": _square(113.0, 23.6),
                    "lon": 113.25,
                    "lat": 23.85,
                },
                {
                    "code": "441803",
                    "name": "清新区",
                    "name_en": "Qingxin",
                    "geometry": _square(112.5, 23.6),
                    "lon": 112.75,
                    "lat": 23.85,
                },
            ]
        )
    )
    wh.upsert_entities(
        pd.DataFrame(
            [
                {
                    "entity_id": "HYD-A",
                    "kind": "hydro_station",
                    "name": "石角<b>站</b>",
                    "district_code": "441802",
                    "lon": 113.1,
                    "lat": 23.7,
                    "warning_level_m": 11.0,
                    "guaranteed_level_m": 12.36,
                    "historical_level_m": 13.63,
                    "source": "t",
                },
                {
                    "entity_id": "HYD-B",
                    "kind": "hydro_station",
                    "name": "飞来峡",
                    "district_code": "441803",
                    "lon": 112.6,
                    "lat": 23.7,
                    "warning_level_m": 20.0,
                    "source": "t",
                },
                {
                    "entity_id": "RAIN-A",
                    "kind": "rain_gauge",
                    "name": "雨量A",
                    "district_code": "441802",
                    "lon": 113.2,
                    "lat": 23.7,
                    "source": "t",
                },
                {
                    "entity_id": "RAIN-B",
                    "kind": "rain_gauge",
                    "name": "雨量B",
                    "district_code": "441802",
                    "lon": 113.3,
                    "lat": 23.7,
                    "source": "t",
                },
                {
                    "entity_id": "SEG-A",
                    "kind": "road_segment",
                    "name": "广清高速",
                    "district_code": "441802",
                    "lon": 113.2,
                    "lat": 23.8,
                    "road_class": "arterial",
                    "source": "t",
                },
                {
                    "entity_id": "AIR-A",
                    "kind": "air_station",
                    "name": "清城空气站",
                    "district_code": "441802",
                    "lon": 113.25,
                    "lat": 23.75,
                    "source": "t",
                },
                {
                    "entity_id": "FH-1",
                    "kind": "hydrant",
                    "name": "消火栓1",
                    "district_code": "441802",
                    "lon": 113.2,
                    "lat": 23.9,
                    "source": "t",
                },
            ]
        )
    )
    # 90 days of half-hourly readings: water rises linearly, rain is 1 mm per reading at A and 3 mm at B.
    ts = (
        pd.date_range(NOW - timedelta(days=90), NOW, freq="30min", inclusive="left")
        .tz_convert(None)
        .astype("datetime64[us]")
    )
    k = np.arange(len(ts), dtype="float64")
    water = pd.concat(
        [
            pd.DataFrame(
                {"entity_id": "HYD-A", "ts": ts, "level_m": 8.0 + k / len(ts) * 4.0, "discharge_m3s": 100.0}
            ),
            pd.DataFrame({"entity_id": "HYD-B", "ts": ts, "level_m": 18.0, "discharge_m3s": np.nan}),
        ]
    )
    _commit(wh, WATER, water, "r-water")
    rain = pd.concat(
        [
            pd.DataFrame({"entity_id": "RAIN-A", "ts": ts, "rain_mm": 1.0}),
            pd.DataFrame({"entity_id": "RAIN-B", "ts": ts, "rain_mm": 3.0}),
        ]
    )
    _commit(wh, RAIN, rain, "r-rain")
    _commit(
        wh,
        TRAFFIC,
        pd.DataFrame(
            {
                "entity_id": "SEG-A",
                "ts": ts,
                "speed_kmh": 30.0 + (k % 48),
                "volume_vph": 500.0,
                "occupancy_pct": 10.0,
            }
        ),
        "r-traffic",
    )
    hours = (
        pd.date_range(NOW - timedelta(days=3), NOW, freq="1h", inclusive="left")
        .tz_convert(None)
        .astype("datetime64[us]")
    )
    _commit(wh, AIR, pd.DataFrame({"entity_id": "AIR-A", "ts": hours, **AIR_HOUR}), "r-air")
    hydrant = custom_domain("hydrant", "消火栓水压", None, [{"name": "pressure_mpa", "unit": "MPa"}])
    _commit(
        wh, hydrant, pd.DataFrame({"entity_id": "FH-1", "ts": ts[-96:], "pressure_mpa": 0.3}), "r-hydrant"
    )
    reported = [NOW - timedelta(hours=h) for h in (1.5, 2.5, 2.6, 30)]
    incidents = pd.DataFrame(
        {
            "incident_id": [f"I{i}" for i in range(4)],
            "type": "waterlogging",
            "severity": 3,
            "status": "open",
            "reported_at": pd.to_datetime(reported).tz_convert(None).astype("datetime64[us]"),
            "dispatched_at": pd.NaT,
            "closed_at": pd.NaT,
            "lon": 113.2,
            "lat": 23.7,
            "district_code": ["441802", "441802", "441803", "441802"],
            "description": "<script>x</script>",
            "reporting_department": "应急",
        }
    )
    incidents[["dispatched_at", "closed_at"]] = incidents[["dispatched_at", "closed_at"]].astype(
        "datetime64[us]"
    )
    _commit(wh, INCIDENT, incidents, "r-inc")
    services = Services(Runtime(settings, wh, FixedClock(NOW), {}))
    yield services
    wh.close()


# -- the URL ------------------------------------------------------------------------------------------

_ids = st.text(alphabet="ABCDEFGHXYZ0123456789-_", min_size=1, max_size=20)
_states = st.builds(
    lambda rng, d0, span, district, domain, metric, entity, lang: ExploreState(
        rng,
        d0 if rng == "custom" else None,
        d0 + timedelta(days=span) if rng == "custom" else None,
        district,
        domain,
        metric,
        entity,
        lang,
    ),
    st.sampled_from(["24h", "7d", "30d", "1y", "custom"]),
    st.dates(date(2000, 1, 1), date(2095, 1, 1)),
    st.integers(0, 1500),
    st.none() | st.text(alphabet="0123456789", min_size=1, max_size=8),
    st.sampled_from(["water", "air", "rain", "traffic", "incident", "hydrant"]),
    st.none() | st.sampled_from(["level_m", "pm25"]),
    st.none() | _ids,
    st.sampled_from(["zh", "en"]),
)


@given(_states)
@settings(max_examples=200, deadline=None)
def test_state_round_trips_through_the_query_string(state: ExploreState) -> None:
    qs = encode_state(state)
    assert decode_state(qs) == state
    assert decode_state("?" + qs) == state


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_garbage_query_strings_decode_to_a_valid_state(text: str) -> None:
    state = decode_state(text)
    assert state.range in ("24h", "7d", "30d", "1y", "custom")
    assert state.lang in ("zh", "en")
    assert decode_state(encode_state(state)) == state


@pytest.mark.parametrize(
    "query, expect",
    [
        ("range=custom&start=2026-06-10&end=2026-06-01", ExploreState()),  # end before start
        ("range=custom&start=2026-13-40&end=2026-06-01", ExploreState()),
        ("range=forever&lang=fr&domain=<script>&entity=' OR 1=1 --", ExploreState()),
        ("range=7d&start=2026-06-01&end=2026-06-02", ExploreState(range="7d")),  # dates only for custom
        ("domain=water&domain=air&lang=en", ExploreState(domain="water", lang="en")),  # first wins
        ("entity=" + "X" * 500, ExploreState()),
        ("%ff%fe=%00&&&==", ExploreState()),
        ("&".join(f"k{i}=v" for i in range(500)), ExploreState()),  # too many fields
    ],
    ids=lambda v: str(v)[:30],
)
def test_hostile_values_fall_back_to_defaults(query: str, expect: ExploreState) -> None:
    assert decode_state(query) == expect


def test_resolve_replaces_what_the_city_does_not_have(svc: Services) -> None:
    catalog = load_catalog(svc)
    assert "hydrant" in catalog.domains  # a configured department's domain is offered
    s = resolve_state(ExploreState(domain="nope", metric="x", district="999", entity="SEG-A"), catalog)
    assert (s.domain, s.metric, s.district, s.entity) == (
        "air",
        "aqi",
        None,
        None,
    )  # the default view (the AQI); SEG-A is no air station
    s = resolve_state(ExploreState(domain="water", district="441803", entity="HYD-A"), catalog)
    assert s.entity is None  # HYD-A lies in another district
    s = resolve_state(ExploreState(domain="hydrant", entity="FH-1"), catalog)
    assert (s.metric, s.entity) == ("pressure_mpa", "FH-1")


# -- the query plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "span, expect",
    [
        (timedelta(hours=24), "raw"),
        (RAW_MAX, "raw"),
        (RAW_MAX + timedelta(minutes=1), "hourly"),
        (timedelta(days=30), "hourly"),
        (HOURLY_MAX, "hourly"),
        (HOURLY_MAX + timedelta(hours=1), "daily"),
        (timedelta(days=365), "daily"),
    ],
)
def test_query_plan_picks_raw_hourly_or_daily_by_span(span: timedelta, expect: str) -> None:
    assert plan_resolution(NOW - span, NOW) == expect


def test_every_preset_and_long_custom_range_stays_under_the_point_cap(svc: Services) -> None:
    for state in (ExploreState(range=r) for r in ("24h", "7d", "30d", "1y")):
        start, end = time_window(state, NOW, TZ)
        q = series_query(WATER, "level_m", start, end)
        assert (end - start).total_seconds() / q.step_s <= MAX_POINTS + 1
    start, end = time_window(
        ExploreState(range="custom", start=date(2021, 1, 1), end=date(2026, 1, 1)), NOW, TZ
    )
    assert (end - start).total_seconds() / series_query(WATER, "level_m", start, end).step_s <= MAX_POINTS
    # custom days are local calendar days, the end day included
    start, end = time_window(
        ExploreState(range="custom", start=date(2026, 6, 1), end=date(2026, 6, 1)), NOW, TZ
    )
    assert (start, end) == (datetime(2026, 5, 31, 16, tzinfo=UTC), datetime(2026, 6, 1, 16, tzinfo=UTC))


def test_each_resolution_reads_the_same_numbers(svc: Services) -> None:
    """A station's mean level over the last 30 days: raw buckets, hourly and daily rollups agree."""
    wh = svc.warehouse
    day0 = datetime(2026, 6, 10, tzinfo=UTC) - timedelta(hours=8)  # local midnight
    raw = wh.explore_series(
        series_query(WATER, "level_m", day0, day0 + timedelta(days=1), entity="HYD-A"), TZ
    )
    hourly = wh.explore_series(
        series_query(WATER, "level_m", day0, day0 + timedelta(days=3), entity="HYD-A"), TZ
    )
    daily = wh.explore_series(
        series_query(WATER, "level_m", day0, day0 + timedelta(days=70), entity="HYD-A"), TZ
    )
    assert len(raw) == 48 and raw["n"].eq(1).all()  # half-hourly readings, one per bucket
    assert len(hourly) == 72 and hourly["n"].eq(2).all()
    assert daily["time"].iloc[0] == pd.Timestamp("2026-06-10") and daily["n"].iloc[0] == 48
    first_day = raw["value"].mean()
    assert hourly["value"].iloc[:24].mean() == pytest.approx(first_day)
    assert daily["value"].iloc[0] == pytest.approx(first_day)
    assert raw["time"].iloc[0] == pd.Timestamp("2026-06-10 00:00")  # local time


def test_rain_adds_up_per_bucket_and_averages_over_gauges(svc: Services) -> None:
    start, end = NOW - timedelta(days=5), NOW
    q = series_query(RAIN, "rain_mm", start, end, district="441802")
    frame = svc.warehouse.explore_series(q, TZ)
    assert q.resolution == "hourly"
    # 2 readings per hour: 2 mm at A, 6 mm at B → areal mean 4 mm, min 2, max 6
    assert (
        frame["value"].iloc[1:].eq(4.0).all()
        and frame["min"].iloc[1:].eq(2.0).all()
        and frame["max"].iloc[1:].eq(6.0).all()
    )
    one = svc.warehouse.explore_series(series_query(RAIN, "rain_mm", start, end, entity="RAIN-B"), TZ)
    assert one["value"].iloc[1:].eq(6.0).all()


def test_incident_counts_are_zero_filled_and_filtered_by_district(svc: Services) -> None:
    catalog = load_catalog(svc)
    data = load_explore_data(
        svc, resolve_state(ExploreState(domain="incident", district="441802"), catalog), catalog
    )
    assert (
        data.series["value"].sum() == 2
    )  # 441802 in the last 24 h (the 441803 one and a 30-h-old one left out)
    assert len(data.series) == 24 and (data.series["value"] == 0).sum() == 22
    city = load_explore_data(
        svc, resolve_state(ExploreState(domain="incident", range="7d"), catalog), catalog
    )
    assert city.series["value"].sum() == 4


# -- thresholds and figures --------------------------------------------------------------------------------


def test_thresholds_come_from_the_station_and_the_metrics_modules(svc: Services) -> None:
    catalog = load_catalog(svc)
    water = {th.key: th.value for th in thresholds_for("water", "level_m", catalog.entity("HYD-A"), "raw")}
    assert water == {
        "explore.th.warning": 11.0,
        "explore.th.guaranteed": 12.36,
        "explore.th.historical": 13.63,
    }
    assert [
        th.value for th in thresholds_for("traffic", "speed_kmh", catalog.entity("SEG-A"), "raw")
    ] == list(SPEED_THRESHOLDS["arterial"])
    pm = [th.value for th in thresholds_for("air", "pm25", None, "daily")]
    assert pm == [float(c) for c, i in breakpoints("PM25_24H")[1:6]]
    assert (
        thresholds_for("water", "level_m", None, "raw") == []
    )  # a district mean has no single warning level
    assert thresholds_for("rain", "rain_mm", None, "hourly") == []  # rain grades are 24-h amounts


def test_series_figure_draws_the_rows_and_the_entity_levels(svc: Services) -> None:
    catalog = load_catalog(svc)
    data = load_explore_data(
        svc, resolve_state(ExploreState(domain="water", entity="HYD-A"), catalog), catalog
    )
    fig = build_series_figure(data.series, data.thresholds, title="t", metric_label="水位", unit="m")
    line = fig.data[-1]
    assert list(line.y) == list(data.series["value"]) and len(line.y) == 48
    assert sorted(s.y0 for s in fig.layout.shapes) == [11.0, 12.36, 13.63]
    assert fig.layout.yaxis.range[1] > 13.63  # the highest level is in view
    empty = build_series_figure(
        data.series.iloc[0:0], data.thresholds, title="t", metric_label="水位", unit="m", lang="en"
    )
    assert empty.data == () and empty.layout.annotations[0].text == t("explore.empty", "en")


def test_distribution_heatmap_and_compare_reflect_their_frames(svc: Services) -> None:
    catalog = load_catalog(svc)
    data = load_explore_data(
        svc, resolve_state(ExploreState(range="7d", district="441802", domain="water"), catalog), catalog
    )
    dist = build_distribution_figure(data.series, data.thresholds, title="d", metric_label="水位", unit="m")
    assert list(dist.data[1].x) == list(data.series["value"].dropna())
    heat = build_heatmap_figure(data.heatmap, title="h", unit="m")
    assert heat.data[0].z.shape == (data.heatmap["day"].nunique(), 24)
    assert np.nansum(heat.data[0].z) == pytest.approx(data.heatmap["value"].sum())
    assert click_target({"points": [{"customdata": heat.data[0].customdata[0][5]}]}) == {
        "day": heat.data[0].y[0]
    }
    compare = build_compare_figure(data.compare, title="c")
    panels = {p.domain: p for p in data.compare}
    assert set(panels) == {"rain", "water", "traffic", "incident"}
    water = [
        tr for tr in compare.data if tr.customdata is not None and str(tr.customdata[0]).startswith("entity:")
    ]
    assert [tr.customdata[0] for tr in water] == ["entity:HYD-A"]  # the district's one river station
    assert "&lt;b&gt;" in water[0].name  # feed text escaped for Plotly's markup
    assert {tr.xaxis for tr in compare.data} == {
        "x",
        "x2",
        "x3",
        "x4",
    } and compare.layout.xaxis.matches == "x4"


# -- export ---------------------------------------------------------------------------------------------


def test_export_rows_are_the_charted_rows(svc: Services) -> None:
    catalog = load_catalog(svc)
    state = resolve_state(ExploreState(range="30d", domain="water", entity="HYD-A"), catalog)
    data = load_explore_data(svc, state, catalog)
    figs = [
        build_series_figure(data.series, data.thresholds, title="", metric_label="", unit="m"),
        build_compare_figure(data.compare, title=""),
    ]
    out = export_frame(data)
    series = out[out["chart"] == "series"]
    assert list(series["value"]) == list(figs[0].data[-1].y)
    assert list(series["time_local"]) == list(pd.to_datetime(figs[0].data[-1].x))
    heat = out[out["chart"] == "heatmap"]
    assert heat["value"].sum() == pytest.approx(
        np.nansum(build_heatmap_figure(data.heatmap, title="", unit="m").data[0].z)
    )
    drawn = sum(len(tr.y) for tr in figs[1].data)
    assert drawn == int(out["chart"].str.startswith("compare:").sum())
    assert export_filename(state, "csv") == "cityops-explore-water-level_m-30d-441802-HYD-A.csv"


def test_export_route_serves_csv_with_bom_and_parquet_with_the_same_rows(svc: Services) -> None:
    from dashboard.app import create_app

    app = create_app(svc)
    client = site_client(app.server)
    qs = "range=7d&domain=rain&metric=rain_mm&district=441802&lang=zh"
    csv = client.get(f"/explore/export.csv?{qs}")
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf")
    assert 'filename="cityops-explore-rain-rain_mm-7d-441802.csv"' in csv.headers["Content-Disposition"]
    from_csv = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig")
    par = client.get(f"/explore/export.parquet?{qs}")
    from_parquet = pq.read_table(io.BytesIO(par.data)).to_pandas()
    assert len(from_csv) == len(from_parquet) > 0
    assert list(from_csv["value"]) == pytest.approx(list(from_parquet["value"]), nan_ok=True)
    assert "清新区" not in set(from_parquet["name"].dropna())
    assert client.get(f"/explore/export.xlsx?{qs}").status_code == 404


# -- clicks and callbacks ------------------------------------------------------------------------------------


def test_clicks_drill_into_a_station_a_district_or_a_day(svc: Services) -> None:
    catalog = load_catalog(svc)
    base = ExploreState(domain="air", metric="pm25", range="30d")
    s = apply_click(base, click_target({"points": [{"customdata": "entity:HYD-B", "lon": 1}]}), catalog)
    assert (s.domain, s.entity, s.district, s.metric) == ("water", "HYD-B", "441803", None)
    s = apply_click(
        base, click_target({"points": [{"location": "441802", "customdata": ["清城区", "80"]}]}), catalog
    )
    assert (s.district, s.entity) == ("441802", None)
    s = apply_click(base, click_target({"points": [{"customdata": "day:2026-06-03"}]}), catalog)
    assert (s.range, s.start, s.end) == ("custom", date(2026, 6, 3), date(2026, 6, 3))
    for junk in (None, {}, {"points": []}, {"points": ["x"]}, {"points": [{"customdata": "entity:<x>"}]}):
        assert apply_click(base, click_target(junk), catalog) == base  # type: ignore[arg-type]


def test_callbacks_as_plain_functions(svc: Services) -> None:
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from dashboard.app import create_app
    from dashboard.pages import explore as page

    app = create_app(svc)
    with app.server.test_request_context("/_dash-update-component"):
        tree = page.layout(domain="water", entity="HYD-A", lang="en")
        ids = {c.id: c for c in _walk(tree) if getattr(c, "id", None)}
        assert ids[page.ID_ENTITY].value == "HYD-A" and ids[page.ID_DISTRICT].value == "441802"
        assert (
            ids[page.ID_STATE].data
            == "range=24h&district=441802&domain=water&metric=level_m&entity=HYD-A&lang=en"
        )
        assert ids[page.ID_LANG_LINK].children == t("lang.switch", "en")
        # a map click on a rain gauge: the pickers, the district and the state follow
        context_value.set(
            AttributeDict(triggered_inputs=[{"prop_id": f"{page.ID_MAP}.clickData", "value": 1}])
        )
        out = page.sync_state(
            "24h",
            None,
            None,
            None,
            None,
            None,
            "water",
            "level_m",
            "HYD-A",
            {"points": [{"customdata": "entity:RAIN-B"}]},
            None,
            None,
            None,
            "zh",
            "old",
        )
        _rng, _s, _st, _e, _et, _style, district, domain, _mopts, metric, eopts, entity, qs, key = out
        assert (district, domain, metric, entity) == ("441802", "rain", "rain_mm", "RAIN-B")
        assert [o["value"] for o in eopts] == ["RAIN-A", "RAIN-B"]
        assert decode_state(qs) == ExploreState(
            district="441802", domain="rain", metric="rain_mm", entity="RAIN-B"
        )
        figs = page.render(qs)
        assert figs[0].data[-1].name == t("explore.metric.rain_mm", "zh") and len(figs[0].data[-1].y) > 0
        assert figs[6] == f"/explore/export.csv?{qs}"
        fig = page.render_map(key)
        clickable = {
            tr.name: tr.customdata[0]
            for tr in fig.data
            if tr.customdata is not None and isinstance(tr.customdata[0], str)
        }
        assert clickable.get("水文站") == "entity:HYD-A" and clickable.get("雨量站") == "entity:RAIN-A"
        # a department added by configuration has its own layer on the city map, with its latest reading
        (hydrants,) = [tr for tr in fig.data if tr.name == "消火栓水压"]
        assert list(hydrants.customdata) == ["entity:FH-1"] and hydrants.text[0] == "消火栓1<br>水压 0.3 MPa"
        hydrant = page.render_map(encode_state(ExploreState(domain="hydrant")))
        assert any(
            tr.customdata is not None and list(tr.customdata) == ["entity:FH-1"] for tr in hydrant.data
        )
        # a configured domain with no readings in range says so instead of drawing nothing
        empty = page.render(
            encode_state(
                ExploreState(domain="hydrant", range="custom", start=date(2025, 1, 1), end=date(2025, 1, 2))
            )
        )
        assert empty[0].layout.annotations[0].text == t("explore.empty", "zh")


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, list | tuple):
        for c in children:
            yield from _walk(c)
    elif children is not None and not isinstance(children, str | int | float):
        yield from _walk(children)


# -- issue: the default view, AQI, times of day, notices, rivers against warning levels, freshness -----------


def test_a_link_without_state_opens_the_city_aqi_with_its_category_bounds(svc: Services) -> None:
    from metrics.aqi import aqi

    catalog = load_catalog(svc)
    state = resolve_state(decode_state(""), catalog)
    assert (state.domain, state.metric, state.range, state.district, state.entity) == (
        "air",
        "aqi",
        "24h",
        None,
        None,
    )
    data = load_explore_data(svc, state, catalog)
    expect = aqi({f"{k.upper()}_1H": v for k, v in AIR_HOUR.items()}).aqi  # 2026 edition: the 1-h values
    assert expect is not None and expect > 50
    assert len(data.series) == 24 and data.series["value"].eq(expect).all()  # hour ends 12:00 … 11:00+1
    assert data.unit == "" and [th.value for th in data.thresholds] == [50, 100, 150, 200, 300]
    assert data.heatmap["value"].eq(expect).all() and data.heatmap["n"].sum() >= 24
    # the metric picker offers the AQI first, then the six pollutants
    from dashboard.pages.explore.options import metric_options

    values = [o["value"] for o in metric_options(catalog, "air", "zh")]
    assert values[0] == "aqi" and set(values[1:]) == set(AIR.values)
    # daily buckets are the daily report
    year = load_explore_data(svc, resolve_state(ExploreState(range="1y", domain="air"), catalog), catalog)
    assert year.resolution == "daily" and year.series["value"].notna().sum() >= 1


def test_drilling_into_a_station_opens_its_most_meaningful_metric(svc: Services) -> None:
    catalog = load_catalog(svc)
    for start, eid, expect in (
        (ExploreState(domain="water", metric="level_m"), "AIR-A", ("air", "aqi")),
        (ExploreState(domain="air", metric="so2"), "RAIN-A", ("rain", "rain_mm")),
        (ExploreState(domain="rain"), "HYD-A", ("water", "level_m")),
    ):
        s = resolve_state(
            apply_click(start, click_target({"points": [{"customdata": f"entity:{eid}"}]}), catalog), catalog
        )
        assert (s.domain, s.metric, s.entity) == (*expect, eid)
    # a station's water level is drawn against its warning and guaranteed levels
    s = resolve_state(apply_click(ExploreState(), {"entity": "HYD-A"}, catalog), catalog)
    keys = [th.key for th in load_explore_data(svc, s, catalog).thresholds]
    assert "explore.th.warning" in keys


def test_custom_range_with_times_of_day_round_trips_and_filters_to_those_minutes(svc: Services) -> None:
    qs = "range=custom&start=2026-06-14T13:00&end=2026-06-14T17:30&domain=water&entity=HYD-A&lang=zh"
    state = decode_state(qs)
    assert state.start == datetime(2026, 6, 14, 13, 0) and state.end == datetime(2026, 6, 14, 17, 30)
    assert encode_state(state) == "range=custom&start=2026-06-14T13%3A00&end=2026-06-14T17%3A30" + (
        "&domain=water&entity=HYD-A&lang=zh"
    )
    assert decode_state(encode_state(state)) == state
    assert time_window(state, NOW, TZ) == (
        datetime(2026, 6, 14, 5, 0, tzinfo=UTC),
        datetime(2026, 6, 14, 9, 30, tzinfo=UTC),
    )
    catalog = load_catalog(svc)
    data = load_explore_data(svc, resolve_state(state, catalog), catalog)
    times = pd.to_datetime(data.series["time"])
    assert len(times) == 9  # half-hourly readings 13:00 … 17:00
    assert times.min() == pd.Timestamp("2026-06-14 13:00") and times.max() == pd.Timestamp("2026-06-14 17:00")
    # a day and a time mix: from 13:00 to the end of the end day; an end before the start is refused
    mixed = decode_state("range=custom&start=2026-06-14T13:00&end=2026-06-14")
    assert time_window(mixed, NOW, TZ)[1] == datetime(2026, 6, 14, 16, 0, tzinfo=UTC)
    assert decode_state("range=custom&start=2026-06-14T13:00&end=2026-06-14T12:00").range == "24h"
    assert decode_state("range=custom&start=2026-06-14T25:00&end=2026-06-14T26:00").range == "24h"
    assert "2026-06-14T1300_2026-06-14T1730" in export_filename(state, "csv") and ":" not in export_filename(
        state, "csv"
    )


def test_the_pickers_carry_times_of_day_into_the_state(svc: Services) -> None:
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from dashboard.app import create_app
    from dashboard.pages import explore as page

    app = create_app(svc)
    with app.server.test_request_context("/_dash-update-component"):
        context_value.set(
            AttributeDict(triggered_inputs=[{"prop_id": f"{page.ID_START_TIME}.value", "value": "13:00"}])
        )
        out = page.sync_state(
            "custom",
            "2026-06-14",
            "13:00",
            "2026-06-14",
            "17:30",
            None,
            "water",
            "level_m",
            None,
            None,
            None,
            None,
            None,
            "zh",
            None,
        )
        assert out[1:5] == ("2026-06-14", "13:00", "2026-06-14", "17:30")
        assert decode_state(out[12]).start == datetime(2026, 6, 14, 13, 0)
        # an emptied time means the whole day again
        out = page.sync_state(
            "custom",
            "2026-06-14",
            "",
            "2026-06-14",
            None,
            None,
            "water",
            "level_m",
            None,
            None,
            None,
            None,
            None,
            "zh",
            None,
        )
        assert out[2] == "" and decode_state(out[12]).start == date(2026, 6, 14)


def test_an_unknown_metric_in_the_link_says_so(svc: Services) -> None:
    from dashboard.app import create_app
    from dashboard.pages import explore as page

    app = create_app(svc)
    with app.server.test_request_context("/explore"):
        tree = page.layout(domain="air", metric="nonsense", lang="en")
        ids = {c.id: c for c in _walk(tree) if getattr(c, "id", None)}
        text = " ".join(p.children for p in ids[page.ID_NOTICE].children)
        assert "nonsense" in text and t("explore.metric.aqi", "en") in text, text
        assert ids[page.ID_METRIC].value == "aqi"
        tree = page.layout(district="999999", entity="HYD-A", domain="water")
        ids = {c.id: c for c in _walk(tree) if getattr(c, "id", None)}
        assert any("999999" in p.children for p in ids[page.ID_NOTICE].children)
        tree = page.layout(domain="water", metric="level_m")  # a good link: no notice
        ids = {c.id: c for c in _walk(tree) if getattr(c, "id", None)}
        assert ids[page.ID_NOTICE].children == []


def test_rivers_are_compared_against_their_warning_levels(svc: Services) -> None:
    from dashboard.explore.compare import RELATIVE_METRIC

    catalog = load_catalog(svc)
    data = load_explore_data(svc, resolve_state(ExploreState(), catalog), catalog)
    (water,) = [p for p in data.compare if p.domain == "water"]
    assert water.metric == RELATIVE_METRIC and water.zero_line == "explore.cmp.warning_line"
    f = water.frame
    warn = f["entity_id"].map({"HYD-A": 11.0, "HYD-B": 20.0})
    assert set(f["entity_id"]) == {"HYD-A", "HYD-B"}
    assert np.allclose(f["value"], f["level"] - warn)  # metres above the warning level
    assert np.allclose(f.loc[f["entity_id"] == "HYD-B", "value"], -2.0)  # 18 m at a 20-m warning level
    fig = build_compare_figure(data.compare, title="c")
    traces = [tr for tr in fig.data if tr.customdata is not None and str(tr.customdata[0]) == "entity:HYD-B"]
    assert np.allclose(traces[0].y, -2.0) and traces[0].text[0] == "18.00"
    zero = [s for s in fig.layout.shapes if s.y0 == 0 and s.y1 == 0]
    assert (
        len(zero) == 1
        and zero[0].yref == f"y{[p.domain for p in data.compare if len(p.frame)].index('water') + 1}"
    )
    assert any(a.text == t("explore.cmp.warning_line", "zh") for a in fig.layout.annotations)


def test_freshness_names_the_newest_observation_not_the_clock(svc: Services) -> None:
    from dashboard.freshness import freshness_line, freshness_text, newest_observation

    catalog = load_catalog(svc)
    data = load_explore_data(
        svc, resolve_state(ExploreState(domain="water", entity="HYD-A"), catalog), catalog
    )
    assert data.newest == datetime(2026, 6, 15, 3, 30)  # the last half-hourly reading (UTC)
    assert freshness_text(svc, data.newest, "zh") == "数据截至 2026-06-15 11:30（30 分钟前）"
    assert freshness_text(svc, data.newest, "en") == "Data as of 2026-06-15 11:30 (30 min ago)"
    assert freshness_text(svc, None, "zh") == t("fresh.none", "zh")
    old = load_explore_data(
        svc,
        resolve_state(
            ExploreState(range="custom", start=date(2026, 6, 1), end=date(2026, 6, 1), domain="rain"), catalog
        ),
        catalog,
    )
    assert old.newest == datetime(2026, 6, 1, 15, 30)  # the last reading of that local day
    assert "13 天前" in freshness_text(svc, old.newest, "zh")
    # every domain's newest observation (what /map and /warnings show)
    assert newest_observation(svc) == datetime(2026, 6, 15, 3, 30)
    assert freshness_line(svc, NOW, "zh", component_id="x").children.endswith("（刚刚）")


def test_a_district_is_fitted_into_the_map(svc: Services) -> None:
    import math

    from dashboard.explore.catalog import district_bounds
    from dashboard.pages.explore.drilldown import FIT_PX, fit_view

    catalog = load_catalog(svc)
    bounds = district_bounds(catalog, "441802")
    assert bounds == (113.0, 23.6, 113.5, 24.1)
    (lon, lat), zoom = fit_view(bounds)
    assert lon == pytest.approx(113.25) and 23.6 < lat < 24.1
    # the view at that zoom holds the district within the assumed panel, and is not much larger
    width_px = 512 * 2**zoom * 0.5 / 360
    assert width_px <= FIT_PX[0] + 1 and width_px > FIT_PX[0] * 0.3
    assert district_bounds(catalog, None) is None and district_bounds(catalog, "nope") is None
    assert not math.isnan(zoom)


def test_a_clean_day_is_not_flattened_under_the_aqi_ladder() -> None:
    from dashboard.explore import Threshold

    ladder = [
        Threshold(f"explore.th.aqi{i}", float(v), "#fff") for i, v in enumerate((50, 100, 150, 200, 300), 1)
    ]
    clean = pd.DataFrame(
        {"time": pd.date_range("2026-06-15", periods=6, freq="h"), "value": [28.0, 31, 35, 30, 33, 36]}
    )
    fig = build_series_figure(clean, ladder, title="AQI", metric_label="AQI", unit="")
    assert sorted(s.y0 for s in fig.layout.shapes) == [50.0]  # the next category, not all five
    assert fig.layout.yaxis.range[1] < 60
    smog = clean.assign(value=clean["value"] * 5)  # up to 180
    fig = build_series_figure(smog, ladder, title="AQI", metric_label="AQI", unit="")
    assert sorted(s.y0 for s in fig.layout.shapes) == [50.0, 100.0, 150.0, 200.0]
