"""Chinese departmental data conventions and plausibility, through the whole pipeline.

A bureau's air API (on a real loopback server) and a water bureau's file drop send what departments
do send: "—" for a missing pollutant, full-width digits, thousands separators, units in the value, a
dozen timestamp shapes, NaN, CO in µg/m³ where mg/m³ is declared, swapped coordinates, a reading off
the hour, a multi-megabyte text. Good rows and good cells land; each bad cell or row is quarantined
with a coded reason; another feed of the same runtime still runs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cityops.base.domains import AIR, WATER
from ingest.pipeline import replay_run, run_feed
from ingest.reasons import parse_reasons

# Qingyuan's (simplified) extent: one district polygon, lon 113.0–113.1, lat 23.6–23.8.
DISTRICT = {
    "code": "441802",
    "name": "清城区",
    "name_en": "Qingcheng",
    "geometry": json.dumps(
        {
            "type": "Polygon",
            "coordinates": [[[113.0, 23.6], [113.1, 23.6], [113.1, 23.8], [113.0, 23.8], [113.0, 23.6]]],
        }
    ),
    "lon": 113.05,
    "lat": 23.7,
}

AIR_FIELDS = {
    "entity_id": "zddm",
    "entity_name": "zdmc",
    "ts": "jcsj",
    "pm25": "pm25",
    "pm10": "pm10",
    "no2": "no2",
    "co": "co",
    "lon": "jd",
    "lat": "wd",
}


def station(code: str, when: Any, **values: Any) -> dict[str, Any]:
    return {"zddm": code, "zdmc": f"站点{code}", "jcsj": when, "jd": 113.05, "wd": 23.70, **values}


# The clock says 2026-06-15 09:00 local (01:00 UTC); readings are of 08:00 local unless said.
BUREAU_ROWS = [
    station("A01", "2026-06-15 08:00:00", pm25=35, pm10=60, no2=20, co=0.8),  # plain
    station("A02", "20260615080000", pm25="—", pm10="５６", no2="--", co="0.9mg/m³"),  # missing + full-width
    station("A03", "2026年06月15日 08时", pm25="35 µg/m3", pm10="1,234", no2="/", co="-999"),
    station("A04", 1781481600000, pm25="NaN", pm10=70, no2=21, co=0.7),  # epoch ms; NaN is invalid
    station("A05", "2026/06/15 08:00", pm25=30, pm10=50, no2=18, co=1200),  # CO in µg/m³
    station("A06", "2026-06-15T08:00:30+08:00", pm25=31, pm10=51, no2=19, co=0.6),  # 30 s late
    station("A07", "2026-06-15 08:20:00", pm25=32, pm10=52, no2=17, co=0.6),  # off the hour
    {**station("A08", "2026-06-15 08:00", pm25=33, co=0.5), "jd": 23.70, "wd": 113.05},  # swapped
    {**station("A09", "2026-06-15 08:00", pm25=33, co=0.5), "jd": 116.40, "wd": 39.90},  # Beijing
    station("A10", "1999-12-31 08:00", pm25=33, co=0.5),  # a broken clock
    station("A11", "05/06/2026 08:00", pm25=33, co=0.5),  # day-first not declared: ambiguous
    station("—", "2026-06-15 08:00", pm25=33, co=0.5),  # no station id
    {**station("A12", "2026-06-15 08:00", pm25=34, co=0.4), "zdmc": "站" * 3_000_000},  # 3 M characters
    station("A13", "2026-06-15 08:00", pm25="Infinity", pm10="—", no2="N/A", co="null"),  # nothing valid
]
# Payload row → the reason codes it is quarantined with (a "cell_" code: the row landed without it).
EXPECTED_CODES = {
    4: ["cell_invalid"],
    5: ["cell_unit_slip"],
    7: ["off_grid"],
    8: ["latlon_swapped"],
    9: ["outside_extent"],
    10: ["too_early"],
    11: ["time_ambiguous"],
    12: ["required_missing"],
    13: ["cell_too_long"],
    14: ["cell_invalid", "no_value"],
}


def air_feed(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "department": "生态环境局",
        "domain": "air",
        "cadence": "1h",
        "source": {"type": "http", "url": url, "records": "data.list"},
        "fields": dict(AIR_FIELDS),
        **extra,
    }


def codes_by_row(rt: Any, run_id: str) -> dict[int, list[str]]:
    q = rt.warehouse.quarantined(run_id=run_id, limit=1000)
    return {int(r.row_number): [p.code for p in parse_reasons(r.reason)] for r in q.itertuples()}


def test_a_bureau_api_with_chinese_conventions(tmp_path, make_runtime, feed_server, other_feed) -> None:
    feed_server.json("/air", {"code": 200, "msg": "成功", "data": {"list": BUREAU_ROWS}})
    rt = make_runtime(
        tmp_path, {"bureau-air": air_feed(feed_server.url("/air")), other_feed.name: other_feed.config}
    )
    rt.warehouse.upsert_districts(pd.DataFrame([DISTRICT]))

    report = run_feed(rt, "bureau-air")

    assert report.status == "ok", report.error
    landed = {"A01", "A02", "A03", "A04", "A05", "A06", "A12"}
    assert report.rows_fetched == len(BUREAU_ROWS)
    assert report.rows_inserted == len(landed)
    refused = [row for row, codes in EXPECTED_CODES.items() if not all(c.startswith("cell_") for c in codes)]
    assert report.rows_rejected == len(refused)
    assert codes_by_row(rt, report.run_id) == EXPECTED_CODES

    obs = rt.warehouse.observations(AIR).set_index("entity_id")
    assert set(obs.index) == landed
    # Every reading is stored on the hour: 08:00 local = 00:00 UTC (A06 was 30 s late).
    assert set(obs["ts"]) == {pd.Timestamp("2026-06-15 00:00:00")}
    # Missing markers are nulls, the rest of the row is there.
    assert pd.isna(obs.loc["A02", "pm25"]) and pd.isna(obs.loc["A02", "no2"])
    assert obs.loc["A02", "pm10"] == 56 and obs.loc["A02", "co"] == pytest.approx(0.9)
    assert obs.loc["A03", "pm25"] == 35 and obs.loc["A03", "pm10"] == 1234
    assert pd.isna(obs.loc["A03", "co"]) and pd.isna(obs.loc["A03", "no2"])  # -999 and "/"
    # Bad cells are null, their rows landed.
    assert pd.isna(obs.loc["A04", "pm25"]) and obs.loc["A04", "pm10"] == 70
    assert pd.isna(obs.loc["A05", "co"]) and obs.loc["A05", "pm25"] == 30
    assert obs.loc["A12", "pm25"] == 34

    q = rt.warehouse.quarantined(run_id=report.run_id, limit=1000).set_index("row_number")
    slip = parse_reasons(q.loc[5, "reason"])[0]
    assert slip.params["column"] == "co" and slip.params["sent_unit"] == "ug/m3"
    assert "likely sent in ug/m3" in slip.detail
    swapped = parse_reasons(q.loc[8, "reason"])[0]
    assert "swapped" in swapped.detail
    ambiguous = parse_reasons(q.loc[11, "reason"])[0]
    assert ambiguous.params["value"] == "05/06/2026 08:00"
    nan = parse_reasons(q.loc[4, "reason"])[0]
    assert (nan.params["column"], nan.params["value"]) == ("pm25", "NaN")
    # The 3-million-character name is neither stored nor copied into the quarantine.
    assert len(q.loc[13, "reason"]) < 500 and len(q.loc[13, "raw_row"]) < 5_000
    names = rt.warehouse.entities(kind="air_station").set_index("entity_id")["name"]
    assert names["A12"] == "A12" and names["A01"] == "站点A01"
    other_feed.check(rt)


def test_the_hour_rule_and_backfill_are_declared_per_domain_and_feed(
    tmp_path, make_runtime, feed_server
) -> None:
    rows = [
        station("A01", "2026-06-15 08:00:00", pm25=35, pm10=50, no2=20, co=0.5),
        station(
            "A02", "2026-06-15 08:20:00", pm25=36, pm10=50, no2=20, co=0.5
        ),  # 20 min off: within a 30 min tolerance
        station(
            "A03", "2026-06-12 08:00:00", pm25=37, pm10=50, no2=20, co=0.5
        ),  # older than the 2-day backfill window
    ]
    feed_server.json("/air", {"data": {"list": rows}})
    rt = make_runtime(
        tmp_path,
        {"air": air_feed(feed_server.url("/air"), conventions={"backfill": "2d"})},
        ingest={"plausibility": {"time_grid": {"air": {"tolerance": "30m"}}, "extent_margin_km": None}},
    )
    report = run_feed(rt, "air")
    assert report.status == "ok", report.error
    assert codes_by_row(rt, report.run_id) == {3: ["before_backfill"]}
    obs = rt.warehouse.observations(AIR).set_index("entity_id")
    assert set(obs.index) == {"A01", "A02"}
    assert obs.loc["A02", "ts"] == pd.Timestamp("2026-06-15 00:00:00")

    # Replayed days later, the window is still measured from when the payload was fetched.
    rt.clock.advance(timedelta(days=5))
    again = replay_run(rt, report.run_id)
    assert again.status == "ok", again.error
    assert codes_by_row(rt, again.run_id) == {3: ["before_backfill"]}
    assert again.rows_rejected == 1 and again.rows_unchanged == 2


def write_drop(folder: Path, text: str, encoding: str = "utf-8") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "levels.csv").write_bytes(text.encode(encoding))


def test_a_file_drop_with_day_first_dates_and_own_markers(tmp_path, make_runtime) -> None:
    folder = tmp_path / "drop"
    write_drop(
        folder,
        "测站编码,时间,水位,流量\n"
        'S1,15/06/2026 08:00,１２．５,"1,234"\n'
        "S2,15/06/2026 08:05,缺测,12 m3/s\n"
        "S3,15/06/2026 08:10,9999,\n"
        "S4,31/02/2026 08:00,10.0,\n"
        "S5,15/06/2026 08:15,12.5 km,\n",
        "gbk",
    )
    feed = {
        "department": "水利局",
        "domain": "water",
        "cadence": "5m",
        "source": {"type": "file", "path": str(folder), "settle": "0s"},
        "fields": {"entity_id": "测站编码", "ts": "时间", "level_m": "水位", "discharge_m3s": "流量"},
        "conventions": {"day_first": True, "extra_missing_markers": ["9999"]},
    }
    rt = make_runtime(tmp_path, {"water": feed})
    report = run_feed(rt, "water")
    assert report.status == "ok", report.error
    assert codes_by_row(rt, report.run_id) == {
        4: ["no_value"],  # 9999 is this bureau's marker, and the row had nothing else
        5: ["time_invalid"],  # 31 February
        6: ["cell_unit", "no_value"],  # "km" is not a unit a water level converts from
    }
    obs = rt.warehouse.observations(WATER).set_index("entity_id")
    assert set(obs.index) == {"S1", "S2"}
    assert obs.loc["S1", "level_m"] == 12.5 and obs.loc["S1", "discharge_m3s"] == 1234
    assert pd.isna(obs.loc["S2", "level_m"]) and obs.loc["S2", "discharge_m3s"] == 12
    assert obs.loc["S1", "ts"] == pd.Timestamp("2026-06-15 00:00:00")
