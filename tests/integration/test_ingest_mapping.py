"""Normalisation through the whole pipeline: units, local time → UTC, datums → WGS-84, and a new
department's feed added by configuration alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cityops.base.domains import AIR, TRAFFIC, WATER
from geo.coords import bd09_to_wgs84, gcj02_to_wgs84
from ingest.pipeline import resolve_domain, run_feed
from ingest.reasons import parse_reasons


def http_feed(url: str, domain: str, fields: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "department": "测试",
        "domain": domain,
        "cadence": "5m",
        "source": {"type": "http", "url": url},
        "fields": fields,
        **extra,
    }


@pytest.fixture
def speed_feed(tmp_path: Path, make_runtime: Any, feed_server: Any) -> Callable[..., Any]:
    """``speed_feed(rows, fields=None, **options)``: a runtime whose one traffic feed ``t`` gets ``rows``.

    The rows carry ``st``, ``t`` and ``spd``; ``fields`` maps more of their keys, ``options`` are the
    feed's own settings (timezone, time format, datum).
    """

    def make(rows: list[dict[str, Any]], fields: dict[str, str] | None = None, **options: Any) -> Any:
        feed_server.json("/t", rows)
        mapping = {"entity_id": "st", "ts": "t", "speed_kmh": "spd", **(fields or {})}
        return make_runtime(tmp_path, {"t": http_feed(feed_server.url("/t"), "traffic", mapping, **options)})

    return make


def test_unit_conversions(tmp_path, make_runtime, feed_server):
    feed_server.json("/air", [{"st": "A1", "t": "2026-06-15 08:00:00", "co": 1200, "pm25": 35}])
    feed_server.json("/water", [{"st": "H1", "t": "2026-06-15 08:00:00", "lvl": 1234}])
    feed_server.json("/traffic", [{"st": "R1", "t": "2026-06-15 08:00:00", "spd": 10, "vol": 50}])
    fields = {"entity_id": "st", "ts": "t"}
    rt = make_runtime(
        tmp_path,
        {
            "air": http_feed(feed_server.url("/air"), "air", fields, units={"co": "ug/m3"}),
            "water": http_feed(
                feed_server.url("/water"), "water", {**fields, "level_m": "lvl"}, units={"level_m": "cm"}
            ),
            "traffic": http_feed(
                feed_server.url("/traffic"),
                "traffic",
                {**fields, "speed_kmh": "spd", "volume_vph": "vol"},
                units={"speed_kmh": "m/s", "volume_vph": "veh/5min"},
            ),
        },
    )
    for name in ("air", "water", "traffic"):
        assert run_feed(rt, name).status == "ok"

    air = rt.warehouse.observations(AIR).iloc[0]
    assert air["co"] == pytest.approx(1.2)  # µg/m³ → mg/m³
    assert air["pm25"] == 35  # already canonical
    assert rt.warehouse.observations(WATER).iloc[0]["level_m"] == pytest.approx(12.34)  # cm → m
    traffic = rt.warehouse.observations(TRAFFIC).iloc[0]
    assert traffic["speed_kmh"] == pytest.approx(36.0)  # m/s → km/h
    assert traffic["volume_vph"] == pytest.approx(600.0)  # veh/5min → veh/h


def test_an_unknown_unit_is_refused_at_start(tmp_path, make_runtime, feed_server):
    from cityops.base.errors import ConfigError

    feeds = {
        "water": http_feed(
            feed_server.url("/water"),
            "water",
            {"entity_id": "st", "ts": "t", "level_m": "lvl"},
            units={"level_m": "furlong"},
        )
    }
    with pytest.raises(ConfigError) as info:
        make_runtime(tmp_path, feeds)
    assert "feeds.water.units.level_m: cannot convert 'furlong' to 'm'" in str(info.value)


def test_an_internal_error_fails_the_run_and_spares_the_others(
    tmp_path, make_runtime, feed_server, other_feed, monkeypatch
):
    import ingest.pipeline

    feed_server.json("/water", [{"st": "H1", "t": "2026-06-15 08:00:00", "lvl": 1234}])
    rt = make_runtime(
        tmp_path,
        {
            "water": http_feed(
                feed_server.url("/water"), "water", {"entity_id": "st", "ts": "t", "level_m": "lvl"}
            ),
            other_feed.name: other_feed.config,
        },
    )
    real = ingest.pipeline.process_payload

    def broken(*args, **kwargs):
        if kwargs.get("feed_name") == "water":
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest.pipeline, "process_payload", broken)
    report = run_feed(rt, "water")
    assert report.status == "failed" and "internal error: RuntimeError: boom" in report.error
    assert rt.warehouse.run(report.run_id)["status"] == "failed"  # never left 'running'
    other_feed.check(rt)


@pytest.mark.parametrize(
    ("tz", "sent", "utc"),
    [
        ("Asia/Shanghai", "2026-06-15 08:00:00", "2026-06-15 00:00:00"),
        ("Asia/Shanghai", "2026-06-15T08:00:00+08:00", "2026-06-15 00:00:00"),
        ("Asia/Shanghai", "2026-06-15T00:00:00Z", "2026-06-15 00:00:00"),
        ("Asia/Shanghai", "2026/06/15 08:00", "2026-06-15 00:00:00"),
        ("Europe/Berlin", "2026-06-15 02:00:00", "2026-06-15 00:00:00"),
    ],
)
def test_local_time_to_utc(speed_feed, tz, sent, utc):
    rt = speed_feed([{"st": "R1", "t": sent, "spd": 30}], timezone=tz)
    report = run_feed(rt, "t")
    assert report.status == "ok" and report.rows_inserted == 1, (report.error, rt.warehouse.quarantined())
    assert f"{rt.warehouse.observations(TRAFFIC)['ts'].iloc[0]:%Y-%m-%d %H:%M:%S}" == utc


def test_epoch_milliseconds(speed_feed):
    rt = speed_feed([{"st": "R1", "t": 1781481600000, "spd": 30}], time_format="epoch_ms")  # 06-15 00:00Z
    assert run_feed(rt, "t").rows_inserted == 1
    assert f"{rt.warehouse.observations(TRAFFIC)['ts'].iloc[0]:%Y-%m-%d %H:%M}" == "2026-06-15 00:00"


@pytest.mark.parametrize(("datum", "inverse"), [("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)])
def test_datum_converted_to_wgs84(speed_feed, datum, inverse):
    lon, lat = 113.0612, 23.6819
    rt = speed_feed(
        [{"st": "R1", "t": "2026-06-15 08:00:00", "spd": 30, "x": lon, "y": lat}],
        {"lon": "x", "lat": "y"},
        datum=datum,
    )
    assert run_feed(rt, "t").status == "ok"
    ent = rt.warehouse.entities().set_index("entity_id").loc["R1"]
    want_lon, want_lat = inverse(lon, lat)
    assert ent["lon"] == pytest.approx(float(want_lon), abs=1e-9)
    assert ent["lat"] == pytest.approx(float(want_lat), abs=1e-9)
    # Far enough from the sent point that an unconverted value would fail (hundreds of metres).
    assert abs(ent["lon"] - lon) > 1e-3


HYDRANT_DOMAIN = {
    "hydrant": {
        "label": "消火栓压力",
        "entity_kind": "hydrant",
        "metrics": [{"name": "pressure_mpa", "label": "管网压力", "unit": "MPa", "min": 0, "max": 2.5}],
    }
}


def hydrant_drop(tmp_path: Path, csv: str, **fields: str) -> dict[str, Any]:
    """The fire brigade's hydrant feed reading ``csv`` from a file drop; ``fields`` adds to its mapping."""
    drop = tmp_path / "xfj"
    drop.mkdir()
    (drop / "hydrants.csv").write_text(csv, "utf-8")
    mapping = {"entity_id": "编号", "ts": "时间", "pressure_mpa": "压力kPa", "lon": "经度", "lat": "纬度"}
    return {
        "fire-hydrants": {
            "department": "消防救援支队",
            "domain": "hydrant",
            "cadence": "1h",
            "source": {"type": "file", "path": str(drop), "settle": "0s"},
            "fields": {**mapping, **fields},
            "units": {"pressure_mpa": "kPa"},
        }
    }


def test_new_department_by_configuration_alone(tmp_path, make_runtime, feed_server, other_feed):
    feed_server.json(
        "/hydrants",
        {
            "result": [
                {
                    "xhs_bh": "XHS-001",
                    "mc": "清城区人民一路消火栓",
                    "jcsj": "2026-06-15 08:00:00",
                    "yl": 350,
                    "jd": 113.051,
                    "wd": 23.682,
                },
                {
                    "xhs_bh": "XHS-002",
                    "mc": "北江大桥东消火栓",
                    "jcsj": "2026-06-15 08:00:00",
                    "yl": 280.5,
                    "jd": 113.072,
                    "wd": 23.690,
                },
                {
                    "xhs_bh": "XHS-003",
                    "mc": "高压测试点",
                    "jcsj": "2026-06-15 08:00:00",
                    "yl": 5000,
                    "jd": 113.080,
                    "wd": 23.700,
                },
            ]
        },
    )
    feeds = {
        "fire-hydrants": {
            "department": "消防救援支队",
            "domain": "hydrant",
            "cadence": "15m",
            "source": {"type": "http", "url": feed_server.url("/hydrants"), "records": "result"},
            "fields": {
                "entity_id": "xhs_bh",
                "entity_name": "mc",
                "ts": "jcsj",
                "pressure_mpa": "yl",
                "lon": "jd",
                "lat": "wd",
            },
            "units": {"pressure_mpa": "kPa"},
            "entity_prefix": "fire:",
        },
        other_feed.name: other_feed.config,
    }
    rt = make_runtime(tmp_path, feeds, domains=HYDRANT_DOMAIN)

    report = run_feed(rt, "fire-hydrants")

    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected) == (3, 2, 1)
    (reason,) = rt.warehouse.quarantined(run_id=report.run_id)["reason"]
    assert [(r.code, r.detail) for r in parse_reasons(reason)] == [
        ("cell_out_of_range", "pressure_mpa: 5 MPa is outside the plausible range [0, 2.5] MPa"),
        ("no_value", "no value: all of pressure_mpa are missing"),
    ]
    domain = resolve_domain(rt.settings, "hydrant")
    obs = rt.warehouse.observations(domain)
    assert dict(zip(obs["entity_id"], obs["pressure_mpa"], strict=True)) == pytest.approx(
        {"fire:XHS-001": 0.35, "fire:XHS-002": 0.2805}
    )
    metric_rows = (
        rt.warehouse.cursor()
        .execute("SELECT domain, metric, count(*) FROM obs_metric GROUP BY ALL")
        .fetchall()
    )
    assert metric_rows == [("hydrant", "pressure_mpa", 2)]
    hydrants = rt.warehouse.entities(kind="hydrant").set_index("entity_id")
    assert sorted(hydrants.index) == ["fire:XHS-001", "fire:XHS-002"]
    assert hydrants.loc["fire:XHS-001", "name"] == "清城区人民一路消火栓"
    assert hydrants.loc["fire:XHS-001", "department"] == "消防救援支队"
    assert np.allclose(
        [hydrants.loc["fire:XHS-002", "lon"], hydrants.loc["fire:XHS-002", "lat"]], [113.072, 23.690]
    )

    again = run_feed(rt, "fire-hydrants")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    other_feed.check(rt)


def test_new_department_from_a_file_drop(tmp_path, make_runtime):
    feeds = hydrant_drop(
        tmp_path,
        "编号,名称,时间,压力kPa,经度,纬度\nXHS-9,石角镇消火栓,2026-06-15 08:00:00,410,113.08,23.56\n",
        entity_name="名称",
    )
    rt = make_runtime(tmp_path, feeds, domains=HYDRANT_DOMAIN)
    report = run_feed(rt, "fire-hydrants")
    assert report.status == "ok" and report.rows_inserted == 1
    ent = rt.warehouse.entities(kind="hydrant").iloc[0]
    assert (ent["entity_id"], ent["name"], ent["lon"], ent["lat"]) == ("XHS-9", "石角镇消火栓", 113.08, 23.56)
    assert rt.warehouse.observations(resolve_domain(rt.settings, "hydrant"))["pressure_mpa"].iloc[
        0
    ] == pytest.approx(0.41)


def test_a_new_departments_entities_are_placed_in_their_districts(tmp_path, make_runtime):
    from ingest.reference import load_reference_data

    districts = Path(__file__).resolve().parents[2] / "sample_data" / "qingyuan" / "districts.geojson"
    feeds = hydrant_drop(
        tmp_path,
        "编号,时间,压力kPa,经度,纬度\n"
        "XHS-QC,2026-06-15 08:00:00,410,113.05,23.70\n"  # 清城区 (the city centre)
        "XHS-YD,2026-06-15 08:00:00,390,113.40,24.18\n",  # 英德市
    )
    rt = make_runtime(tmp_path, feeds, domains=HYDRANT_DOMAIN, extra={"city": {"districts": str(districts)}})
    load_reference_data(rt.settings, rt.warehouse)
    assert run_feed(rt, "fire-hydrants").rows_inserted == 2
    placed = rt.warehouse.entities(kind="hydrant").set_index("entity_id")["district_code"].to_dict()
    assert placed == {"XHS-QC": "441802", "XHS-YD": "441881"}
