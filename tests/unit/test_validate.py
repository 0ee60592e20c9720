"""ingest.validate: ranges, required values, allowed codes, future times, empty rows and duplicates.

The duplicates checked are those within one payload.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from cityops.base.domains import AIR, INCIDENT, TRAFFIC, custom_domain
from ingest.mapping import MappingSpec, map_records
from ingest.parse import ROW
from ingest.reasons import parse_reasons
from ingest.validate import validate_rows

NOW = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)


def mapped(rows: list[dict[str, Any]], domain: Any = TRAFFIC, **spec: Any) -> pd.DataFrame:
    raw = pd.DataFrame.from_records(rows)
    raw[ROW] = range(1, len(rows) + 1)
    m = map_records(
        raw, domain, MappingSpec(**({"fields": {}, "units": {}, "values": {}, "timezone": "UTC"} | spec))
    )
    assert m.rejects == []
    return m.frame


def check(frame: pd.DataFrame, domain: Any = TRAFFIC, tolerance: timedelta = timedelta(minutes=10)):
    return validate_rows(frame, domain, now=NOW, future_tolerance=tolerance)


def reasons(result: Any) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for row, reason in result.rejects:
        # The English detail of each reason (the codes are checked in tests/unit/test_conventions.py).
        out.setdefault(row, []).extend(r.detail for r in parse_reasons(reason))
    return {k: "; ".join(v) for k, v in sorted(out.items())}


def test_good_rows_pass():
    result = check(
        mapped([{"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 40, "occupancy_pct": 12}])
    )
    assert result.rejects == [] and len(result.accepted) == 1 and result.duplicates_dropped == 0


def test_ranges_are_inclusive_and_name_the_column_unit_and_value():
    result = check(
        mapped(
            [
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 0},
                {"entity_id": "R2", "ts": "2026-06-15 00:00", "speed_kmh": 200},
                {"entity_id": "R3", "ts": "2026-06-15 00:00", "speed_kmh": -5},
                {"entity_id": "R4", "ts": "2026-06-15 00:00", "speed_kmh": 40, "occupancy_pct": 140},
            ]
        )
    )
    assert reasons(result) == {
        3: "speed_kmh outside [0, 200] km/h (value -5.0)",
        4: "occupancy_pct outside [0, 100] % (value 140.0)",
    }
    assert list(result.accepted["entity_id"]) == ["R1", "R2"]


def test_absurd_pm25():
    result = check(
        mapped([{"entity_id": "A1", "ts": "2026-06-15 00:00", "pm25": 99999, "pm10": 80}], AIR), AIR
    )
    assert reasons(result) == {1: "pm25 outside [0, 3000] ug/m3 (value 99999.0)"}
    assert result.accepted.empty


def test_entity_coordinates_are_range_checked():
    result = check(
        mapped([{"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 1, "lon": 213.0, "lat": 23.0}])
    )
    assert reasons(result) == {1: "lon outside [-180, 180] deg (value 213.0)"}


def test_required_values_missing():
    result = check(
        mapped(
            [
                {"entity_id": None, "ts": "2026-06-15 00:00", "speed_kmh": 1},
                {"entity_id": "R2", "ts": None, "speed_kmh": 1},
            ]
        )
    )
    assert reasons(result) == {1: "entity_id: required value missing", 2: "ts: required value missing"}


def test_a_row_without_any_value():
    result = check(mapped([{"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": None}]))
    assert reasons(result) == {1: "no value: all of speed_kmh, volume_vph, occupancy_pct are missing"}


def test_future_beyond_tolerance():
    result = check(
        mapped(
            [
                {
                    "entity_id": "R1",
                    "ts": "2026-06-15 01:10",
                    "speed_kmh": 1,
                },  # exactly at the tolerance: fine
                {"entity_id": "R2", "ts": "2026-06-15 01:11", "speed_kmh": 1},
                {"entity_id": "R3", "ts": "2031-01-01 00:00", "speed_kmh": 1},
            ]
        )
    )
    assert reasons(result) == {
        2: "ts: 2026-06-15 01:11 UTC is in the future",
        3: "ts: 2031-01-01 00:00 UTC is in the future",
    }


def test_exact_duplicates_collapse():
    result = check(mapped([{"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 30}] * 3))
    assert result.rejects == [] and result.duplicates_dropped == 2
    assert list(result.accepted[ROW]) == [3]


def test_conflicting_duplicates_keep_the_last():
    result = check(
        mapped(
            [
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 30},
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 31},
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 30},
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 32},
                {"entity_id": "R2", "ts": "2026-06-15 00:00", "speed_kmh": 30},
            ]
        )
    )
    sup = "duplicate key (entity_id=R1, ts=2026-06-15 00:00:00) with other values; superseded by row 4"
    # Row 1 is an exact copy of row 3, so it collapses; rows 2 and 3 conflict with row 4.
    assert reasons(result) == {2: sup, 3: sup}
    assert result.duplicates_dropped == 1
    assert sorted(zip(result.accepted["entity_id"], result.accepted["speed_kmh"], strict=False)) == [
        ("R1", 32.0),
        ("R2", 30.0),
    ]
    assert len(result.rejects) + result.duplicates_dropped == 3


def test_a_rejected_row_does_not_supersede_a_good_one():
    result = check(
        mapped(
            [
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 30},
                {"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 999},
            ]
        )
    )
    assert reasons(result) == {2: "speed_kmh outside [0, 200] km/h (value 999.0)"}
    assert list(result.accepted["speed_kmh"]) == [30.0]


def test_incident_codes_and_whole_numbers():
    frame = mapped(
        [
            {
                "incident_id": "I1",
                "type": "fire",
                "severity": 2,
                "status": "open",
                "reported_at": "2026-06-15 00:00",
            },
            {
                "incident_id": "I2",
                "type": "alien",
                "severity": 2,
                "status": "open",
                "reported_at": "2026-06-15 00:00",
            },
            {
                "incident_id": "I3",
                "type": "fire",
                "severity": 2.5,
                "status": "open",
                "reported_at": "2026-06-15 00:00",
            },
            {
                "incident_id": "I4",
                "type": "fire",
                "severity": 9,
                "status": "gone",
                "reported_at": "2026-06-15 00:00",
            },
        ],
        INCIDENT,
    )
    result = check(frame, INCIDENT)
    r = reasons(result)
    assert set(r) == {2, 3, 4}
    assert "type not one of waterlogging" in r[2] and "'alien'" in r[2]
    assert "severity is not a whole number" in r[3]
    assert "severity outside [1, 4]" in r[4] and "status not one of open, dispatched, closed" in r[4]
    assert list(result.accepted["incident_id"]) == ["I1"]


def test_custom_domain_limits():
    hydrant = custom_domain(
        "hydrant", None, None, [{"name": "pressure_mpa", "unit": "MPa", "min": 0, "max": 2.5}]
    )
    frame = mapped(
        [{"entity_id": "X1", "ts": "2026-06-15 00:00", "pressure_mpa": 5000}],
        hydrant,
        units={"pressure_mpa": "kPa"},
    )
    assert reasons(check(frame, hydrant)) == {1: "pressure_mpa outside [0, 2.5] MPa (value 5.0)"}


def test_custom_domain_one_sided_limit_and_required_metric():
    d = custom_domain("gas", None, None, [{"name": "ppm", "min": 0, "required": True}])
    frame = mapped(
        [
            {"entity_id": "X1", "ts": "2026-06-15 00:00", "ppm": -1},
            {"entity_id": "X2", "ts": "2026-06-15 00:00", "ppm": None},
        ],
        d,
    )
    r = reasons(check(frame, d))
    assert r[1] == "ppm below 0 (value -1.0)"
    assert r[2].startswith("ppm: required value missing")


@pytest.mark.parametrize("dtype", ["object", "typed"])
def test_an_empty_frame_is_fine(dtype):
    if dtype == "object":
        frame = pd.DataFrame(
            {c.name: pd.Series(dtype="object") for c in TRAFFIC.columns} | {ROW: pd.Series(dtype="int64")}
        )
    else:
        frame = mapped([{"entity_id": "R1", "ts": "2026-06-15 00:00", "speed_kmh": 1}]).iloc[0:0]
    result = check(frame)
    assert result.rejects == [] and result.accepted.empty
