"""The daily report's data does not depend on the order rows were stored or scanned: where two readings
tie (a river at the same peak level twice, two equally wet hours) the report names the earliest, so a
report rendered again — in another process, from a copy — says the same."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard.snapshot.domains_section import build_rain, build_water
from dashboard.snapshot.report import Report
from dashboard.snapshot.window import snapshot_window
from ingest.runtime import Runtime
from tests.conftest import build_runtime

DAY = date(2026, 6, 15)
TZ = "Asia/Shanghai"
BASE = datetime(2026, 6, 14, 8, 0)  # UTC, inside the report window of DAY (06-14 00:00 → 06-15 00:00 UTC)
# (hours after BASE, level): the peak level is reached twice
LEVELS = [(0, 5.0), (1, 5.5), (2, 5.5), (3, 5.2)]
# (hours after BASE, mm in the five minutes ending at the stamp): two hours equally wet
RAIN = [(0.5, 20.0), (1.5, 20.0), (2.5, 4.0)]


def _stations() -> pd.DataFrame:
    common = {"district_code": "441802", "source": "test"}
    water = {"kind": "hydro_station", "river": "北江", "warning_level_m": 5.0, "guaranteed_level_m": 6.0}
    return pd.DataFrame(
        [
            {"entity_id": "H-late-first", "name": "甲站", **water, **common},
            {"entity_id": "H-in-order", "name": "乙站", **water, **common},
            {"entity_id": "G-late-first", "name": "甲雨量", "kind": "rain_gauge", **common},
            {"entity_id": "G-in-order", "name": "乙雨量", "kind": "rain_gauge", **common},
        ]
    )


def _store(rt: Runtime, table: str, column: str, entity: str, rows: Sequence[tuple[float, float]]) -> None:
    """The readings one by one in the given order (a late reading lands after a later one)."""
    for hours, value in rows:
        with rt.warehouse.transaction() as cur:
            cur.execute(
                f"INSERT INTO {table} (entity_id, ts, {column}, run_id) VALUES (?, ?, ?, 'r')",
                [entity, BASE + timedelta(hours=hours), value],
            )


def test_a_tied_peak_is_reported_at_its_earliest_time_whatever_the_storage_order(tmp_path: Path) -> None:
    rt = build_runtime(tmp_path, {})
    try:
        rt.warehouse.upsert_entities(_stations())
        # One station's rows stored newest first, the other's in time order: the same readings.
        _store(rt, "obs_water", "level_m", "H-late-first", sorted(LEVELS, reverse=True))
        _store(rt, "obs_water", "level_m", "H-in-order", LEVELS)
        _store(rt, "obs_rain", "rain_mm", "G-late-first", sorted(RAIN, reverse=True))
        _store(rt, "obs_rain", "rain_mm", "G-in-order", RAIN)

        rep = Report(rt, snapshot_window(DAY, TZ), "zh", None)
        build_water(rep)
        build_rain(rep)
    finally:
        rt.warehouse.close()

    local = ZoneInfo(TZ)
    peak = max(level for _, level in LEVELS)
    first_peak = BASE + timedelta(hours=min(h for h, level in LEVELS if level == peak))
    expected_at = first_peak.replace(tzinfo=UTC).astimezone(local).strftime("%m-%d %H:%M")
    peaks = rep.summary["water"]["peaks_over_warning"]
    stations = _stations().set_index("entity_id")
    by_id = [stations.loc[e, "name"] for e in sorted(["H-late-first", "H-in-order"])]
    assert [p["name"] for p in peaks] == by_id  # equal peaks: by station id
    assert [p["at"] for p in peaks] == [expected_at, expected_at]
    water = next(f.data for f in rep.figures if f.name == "water").set_index("entity_id")
    assert water.loc["H-late-first", "peak_time"] == water.loc["H-in-order", "peak_time"]

    # The wettest hour: a stamp marks the end of its five minutes, so hour h holds stamps in (h, h+1].
    wettest = max(mm for _, mm in RAIN)
    first_hour = min(h for h, mm in RAIN if mm == wettest)
    hour_start = (BASE + timedelta(hours=first_hour) - timedelta(microseconds=1)).replace(
        minute=0, second=0, microsecond=0
    )
    rain = next(f.data for f in rep.figures if f.name == "rain").set_index("entity_id")
    expected_hour = pd.Timestamp(hour_start.replace(tzinfo=UTC).astimezone(local).replace(tzinfo=None))
    assert rain.loc["G-late-first", "max_1h_time"] == expected_hour
    assert rain.loc["G-in-order", "max_1h_time"] == expected_hour
