"""ingest.mapping: rename, recode, type, convert units, local time → UTC, datum → WGS-84."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cityops.base.domains import AIR, INCIDENT, TRAFFIC, WATER, custom_domain, unit_factor
from geo.coords import bd09_to_wgs84, gcj02_to_wgs84
from ingest.errors import SchemaDriftError, TerminalError
from ingest.mapping import MappingSpec, map_records
from ingest.parse import ROW
from ingest.reasons import parse_reasons


def raw(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows)
    frame[ROW] = range(1, len(rows) + 1)
    return frame


def spec(**kw: Any) -> MappingSpec:
    base: dict[str, Any] = {"fields": {}, "units": {}, "values": {}, "timezone": "Asia/Shanghai"}
    return MappingSpec(**(base | kw))


def ts(frame: pd.DataFrame, i: int = 0) -> str:
    return f"{frame['ts'].iloc[i]:%Y-%m-%d %H:%M:%S}"


def test_rename_and_types():
    m = map_records(
        raw([{"id": "R1", "t": "2026-06-15 08:00:00", "v": "41.5", "vol": 900}]),
        TRAFFIC,
        spec(fields={"entity_id": "id", "ts": "t", "speed_kmh": "v", "volume_vph": "vol"}),
    )
    assert m.rejects == []
    row = m.frame.iloc[0]
    assert (row["entity_id"], ts(m.frame), row["speed_kmh"], row["volume_vph"]) == (
        "R1",
        "2026-06-15 00:00:00",
        41.5,
        900.0,
    )
    assert str(m.frame["ts"].dtype) == "datetime64[us]"
    assert pd.isna(row["occupancy_pct"])
    assert m.unmapped_fields == []


def test_unmapped_fields_are_listed():
    m = map_records(
        raw([{"entity_id": "R1", "ts": "2026-06-15 08:00", "speed_kmh": 1, "road": "x", "备注": "y"}]),
        TRAFFIC,
        spec(),
    )
    assert m.unmapped_fields == ["road", "备注"]


def test_schema_drift_names_the_missing_field_and_what_is_there():
    with pytest.raises(SchemaDriftError) as info:
        map_records(
            raw([{"id": "R1", "time": "2026-06-15 08:00", "v": 1}]),
            TRAFFIC,
            spec(fields={"entity_id": "id", "ts": "t", "speed_kmh": "v"}),
            what="feed x",
        )
    message = str(info.value)
    assert message.startswith(
        "feed x: schema drift — mapped field(s) missing: 't' (for ts); the payload has: id, time, v"
    )
    assert "[fields]" in message


def test_schema_drift_for_an_unmapped_required_column():
    with pytest.raises(SchemaDriftError, match=r"required column\(s\) unmapped: entity_id"):
        map_records(raw([{"station": "R1", "ts": "2026-06-15 08:00", "speed_kmh": 1}]), TRAFFIC, spec())


def test_no_records_is_not_drift():
    m = map_records(pd.DataFrame({ROW: pd.Series(dtype="int64")}), TRAFFIC, spec(fields={"entity_id": "id"}))
    assert len(m.frame) == 0


def test_bad_values_are_rejected_with_the_column_and_value():
    m = map_records(
        raw(
            [
                {"entity_id": "R1", "ts": "2026-06-15 08:00", "speed_kmh": "abc"},
                {"entity_id": "R2", "ts": "not a time", "speed_kmh": "1"},
                {"entity_id": "R3", "ts": "2026-06-15 08:00", "speed_kmh": "--"},  # a common "no data" marker
                {"entity_id": "R4", "ts": "2026-06-15 08:00", "speed_kmh": " 12 "},
            ]
        ),
        TRAFFIC,
        spec(),
    )
    # A bad key cell (the time) refuses its row; a bad value cell only becomes null.
    assert [(r, parse_reasons(t)[0].code, parse_reasons(t)[0].detail) for r, t in m.rejects] == [
        (2, "time_invalid", "ts: 'not a time' is not a timestamp in a known shape"),
    ]
    assert [(r, parse_reasons(t)[0].code, parse_reasons(t)[0].detail) for r, t in m.cells] == [
        (1, "cell_invalid", "speed_kmh: 'abc' is not a number"),
    ]
    assert pd.isna(m.frame["speed_kmh"].iloc[0])
    assert pd.isna(m.frame["speed_kmh"].iloc[2])
    assert m.frame["speed_kmh"].iloc[3] == 12.0


@pytest.mark.parametrize(
    ("column", "source_unit", "sent", "stored"),
    [
        ("co", "ug/m3", 1200, 1.2),
        ("co", "µg/m³", 800, 0.8),
        ("pm25", "mg/m3", 0.035, 35.0),
    ],
)
def test_air_units(column, source_unit, sent, stored):
    m = map_records(
        raw([{"entity_id": "A", "ts": "2026-06-15 08:00", column: sent}]),
        AIR,
        spec(units={column: source_unit}),
    )
    assert m.frame[column].iloc[0] == pytest.approx(stored)


def test_level_cm_and_speed_ms():
    m = map_records(
        raw([{"entity_id": "H", "ts": "2026-06-15 08:00", "level_m": 1234}]),
        WATER,
        spec(units={"level_m": "cm"}),
    )
    assert m.frame["level_m"].iloc[0] == pytest.approx(12.34)
    m = map_records(
        raw([{"entity_id": "R", "ts": "2026-06-15 08:00", "speed_kmh": "10"}]),
        TRAFFIC,
        spec(units={"speed_kmh": "m/s"}),
    )
    assert m.frame["speed_kmh"].iloc[0] == pytest.approx(36.0)


def test_unit_factor_table():
    assert unit_factor("ug/m3", "mg/m3") == pytest.approx(0.001)
    assert unit_factor("cm", "m") == pytest.approx(0.01)
    assert unit_factor("m/s", "km/h") == pytest.approx(3.6)
    assert unit_factor("kPa", "MPa") == pytest.approx(0.001)
    with pytest.raises(ValueError, match="cannot convert 'kPa'"):
        unit_factor("kPa", "m")


def test_unknown_or_incompatible_unit_is_a_terminal_error_not_a_crash():
    with pytest.raises(TerminalError, match=r"units.level_m: unknown unit 'feet'"):
        map_records(
            raw([{"entity_id": "H", "ts": "2026-06-15 08:00", "level_m": 1}]),
            WATER,
            spec(units={"level_m": "feet"}),
        )
    with pytest.raises(TerminalError, match=r"units.level_m: cannot convert 'kPa'"):
        map_records(
            raw([{"entity_id": "H", "ts": "2026-06-15 08:00", "level_m": 1}]),
            WATER,
            spec(units={"level_m": "kPa"}),
        )


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        ("2026-06-15 08:00:00", "2026-06-15 00:00:00"),  # naive = local (Asia/Shanghai)
        ("2026-06-15T08:00:00", "2026-06-15 00:00:00"),
        ("2026-06-15 08:00", "2026-06-15 00:00:00"),
        ("2026-06-15T08:00:00+08:00", "2026-06-15 00:00:00"),
        ("2026-06-15T00:00:00Z", "2026-06-15 00:00:00"),
        ("2026-06-15T09:00:00+0900", "2026-06-15 00:00:00"),
        ("2026-01-01 07:30:00", "2025-12-31 23:30:00"),  # crosses the year
    ],
)
def test_times_to_utc(sent, utc):
    m = map_records(raw([{"entity_id": "R", "ts": sent, "speed_kmh": 1}]), TRAFFIC, spec())
    assert m.rejects == []
    assert ts(m.frame) == utc


def test_mixed_naive_and_aware_times_in_one_payload():
    m = map_records(
        raw(
            [
                {"entity_id": "R", "ts": "2026-06-15 08:00:00", "speed_kmh": 1},
                {"entity_id": "R", "ts": "2026-06-15T00:05:00Z", "speed_kmh": 1},
                {"entity_id": "R", "ts": None, "speed_kmh": 1},
            ]
        ),
        TRAFFIC,
        spec(),
    )
    assert [ts(m.frame, 0), ts(m.frame, 1)] == ["2026-06-15 00:00:00", "2026-06-15 00:05:00"]
    assert pd.isna(m.frame["ts"].iloc[2]) and m.rejects == []  # missing is for validation to report


def test_time_format_and_epochs():
    m = map_records(
        raw([{"entity_id": "R", "ts": "15/06/2026 08:00", "speed_kmh": 1}]),
        TRAFFIC,
        spec(time_format="%d/%m/%Y %H:%M"),
    )
    assert ts(m.frame) == "2026-06-15 00:00:00"
    m = map_records(
        raw([{"entity_id": "R", "ts": 1781481600, "speed_kmh": 1}]), TRAFFIC, spec(time_format="epoch_s")
    )
    assert ts(m.frame) == "2026-06-15 00:00:00"  # epochs are UTC whatever the feed's timezone
    m = map_records(
        raw([{"entity_id": "R", "ts": "1781481600000", "speed_kmh": 1}]),
        TRAFFIC,
        spec(time_format="epoch_ms"),
    )
    assert ts(m.frame) == "2026-06-15 00:00:00"


def test_datetime_values_from_excel_are_local():
    frame = raw([{"entity_id": "R", "ts": pd.Timestamp("2026-06-15 08:00"), "speed_kmh": 1}])
    frame["ts"] = frame["ts"].astype(object)
    m = map_records(frame, TRAFFIC, spec())
    assert ts(m.frame) == "2026-06-15 00:00:00"


@pytest.mark.parametrize(("datum", "inverse"), [("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)])
def test_datum_to_wgs84(datum, inverse):
    rows = [
        {"entity_id": "R", "ts": "2026-06-15 08:00", "speed_kmh": 1, "lon": 113.0612, "lat": 23.6819},
        {"entity_id": "S", "ts": "2026-06-15 08:00", "speed_kmh": 1, "lon": None, "lat": None},
    ]
    m = map_records(raw(rows), TRAFFIC, spec(datum=datum))
    want = inverse(np.array([113.0612]), np.array([23.6819]))
    assert m.frame["lon"].iloc[0] == pytest.approx(float(want[0][0]), abs=1e-12)
    assert m.frame["lat"].iloc[0] == pytest.approx(float(want[1][0]), abs=1e-12)
    assert pd.isna(m.frame["lon"].iloc[1])


def test_wgs84_and_cgcs2000_are_not_shifted():
    for datum in ("wgs84", "cgcs2000"):
        m = map_records(
            raw(
                [
                    {
                        "entity_id": "R",
                        "ts": "2026-06-15 08:00",
                        "speed_kmh": 1,
                        "lon": 113.0612,
                        "lat": 23.6819,
                    }
                ]
            ),
            TRAFFIC,
            spec(datum=datum),
        )
        assert (m.frame["lon"].iloc[0], m.frame["lat"].iloc[0]) == (113.0612, 23.6819)


def test_coded_values_for_incidents():
    rows = [{"id": 7, "lx": "内涝", "dj": "2", "zt": "处置中", "sj": "2026-06-15 08:00"}]
    m = map_records(
        raw(rows),
        INCIDENT,
        spec(
            fields={"incident_id": "id", "type": "lx", "severity": "dj", "status": "zt", "reported_at": "sj"},
            values={"type": {"内涝": "waterlogging"}, "status": {"处置中": "dispatched"}},
        ),
    )
    row = m.frame.iloc[0]
    assert (row["incident_id"], row["type"], row["severity"], row["status"]) == (
        "7",
        "waterlogging",
        2.0,
        "dispatched",
    )
    assert f"{row['reported_at']:%H:%M}" == "00:00"


def test_entity_prefix():
    m = map_records(
        raw([{"entity_id": "R1", "ts": "2026-06-15 08:00", "speed_kmh": 1}]),
        TRAFFIC,
        spec(entity_prefix="jt:"),
    )
    assert m.frame["entity_id"].iloc[0] == "jt:R1"


def test_custom_domain_columns():
    hydrant = custom_domain(
        "hydrant", "消火栓", "hydrant", [{"name": "pressure_mpa", "unit": "MPa", "min": 0, "max": 2.5}]
    )
    m = map_records(
        raw([{"no": "X1", "t": "2026-06-15 08:00", "p": 350, "名称": "一号"}]),
        hydrant,
        spec(
            fields={"entity_id": "no", "ts": "t", "pressure_mpa": "p", "entity_name": "名称"},
            units={"pressure_mpa": "kPa"},
        ),
    )
    assert m.frame["pressure_mpa"].iloc[0] == pytest.approx(0.35)
    assert m.frame["entity_name"].iloc[0] == "一号"


def test_numeric_ids_stay_integers_when_a_null_makes_them_floats():
    m = map_records(
        raw(
            [
                {"entity_id": 1001, "ts": "2026-06-15 08:00", "speed_kmh": 1, "district_code": 441802},
                {"entity_id": None, "ts": "2026-06-15 08:00", "speed_kmh": 1, "district_code": None},
                {"entity_id": 1002, "ts": "2026-06-15 08:00", "speed_kmh": 1, "district_code": 441803},
            ]
        ),
        TRAFFIC,
        spec(),
    )
    assert list(m.frame["entity_id"].iloc[[0, 2]]) == ["1001", "1002"]
    assert list(m.frame["district_code"].iloc[[0, 2]]) == ["441802", "441803"]
    m = map_records(raw([{"entity_id": 1.5, "ts": "2026-06-15 08:00", "speed_kmh": 1}]), TRAFFIC, spec())
    assert m.frame["entity_id"].iloc[0] == "1.5"  # a real fraction is left alone
