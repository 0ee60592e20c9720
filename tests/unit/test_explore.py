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
from cityops.base.domains import INCIDENT, RAIN, TRAFFIC, WATER, Domain, custom_domain
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
        "water",
        "level_m",
        None,
        None,
    )  # SEG-A is no water station
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
    data = load_explore_data(svc, resolve_state(ExploreState(entity="HYD-A"), catalog), catalog)
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
        svc, resolve_state(ExploreState(range="7d", district="441802"), catalog), catalog
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
        _rng, _s, _e, _style, district, domain, _mopts, metric, eopts, entity, qs, key = out
        assert (district, domain, metric, entity) == ("441802", "rain", "rain_mm", "RAIN-B")
        assert [o["value"] for o in eopts] == ["RAIN-A", "RAIN-B"]
        assert decode_state(qs) == ExploreState(
            district="441802", domain="rain", metric="rain_mm", entity="RAIN-B"
        )
        figs = page.render(qs)
        assert figs[0].data[-1].name == t("explore.metric.rain_mm", "zh") and len(figs[0].data[-1].y) > 0
        assert figs[5] == f"/explore/export.csv?{qs}"
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
