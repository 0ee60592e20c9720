"""The warehouse: migrations, the write path's invariants, districts for new entities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.base.domains import TRAFFIC, WATER
from cityops.base.warehouse import Warehouse
from cityops.base.warehouse.migrations import MIGRATIONS
from geo.boundaries import assign_districts, load_districts
from tests.helpers import commit_frame

NOW = datetime(2026, 6, 15, tzinfo=UTC)
DISTRICTS = Path(__file__).resolve().parents[2] / "sample_data" / "qingyuan" / "districts.geojson"


def test_migrations_apply_once_and_reopen_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1][0]
    with Warehouse(path) as wh:
        assert wh.migrate() == []  # nothing left to apply
        assert wh.table_count("schema_version") == len(MIGRATIONS)


rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 5),
        st.one_of(st.none(), st.floats(0, 50, allow_nan=False)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(rows, min_size=1, max_size=4))
def test_upserts_never_duplicate_a_key_and_the_last_value_wins(batches) -> None:
    """Batches of (station, 5-min slot, level or missing): a missing value never erases a stored one."""
    wh = Warehouse(":memory:")
    expected: dict[tuple[str, int], float] = {}
    for n, batch in enumerate(batches):
        frame = pd.DataFrame(batch, columns=["entity_id", "minute", "level_m"]).drop_duplicates(
            ["entity_id", "minute"], keep="last"
        )
        frame["ts"] = pd.Timestamp("2026-06-15") + pd.to_timedelta(frame.pop("minute") * 5, unit="min")
        frame["ts"] = frame["ts"].astype("datetime64[us]")
        frame["discharge_m3s"] = float("nan")
        commit_frame(wh, f"r{n}", WATER, frame, NOW)
        for rec in frame.to_dict("records"):
            key = (rec["entity_id"], int((rec["ts"] - pd.Timestamp("2026-06-15")).total_seconds() // 300))
            if rec["level_m"] == rec["level_m"] and rec["level_m"] is not None:
                expected[key] = rec["level_m"]
            else:
                expected.setdefault(key, float("nan"))
    assert wh.duplicate_keys(WATER) == 0
    stored = wh.observations(WATER)
    assert len(stored) == len(expected)
    for rec in stored.to_dict("records"):
        key = (rec["entity_id"], int((rec["ts"] - pd.Timestamp("2026-06-15")).total_seconds() // 300))
        want = expected[key]
        assert (pd.isna(want) and pd.isna(rec["level_m"])) or rec["level_m"] == want
    wh.close()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    good = pd.DataFrame(
        {
            "entity_id": ["A"],
            "ts": [pd.Timestamp("2026-06-15")],
            "speed_kmh": [30.0],
            "volume_vph": [1.0],
            "occupancy_pct": [2.0],
        }
    )
    wh.start_run("r1", "f", "manual", NOW)
    with pytest.raises(KeyError):
        # the quarantine frame lacks its columns: the transaction must roll back the rows too
        wh.commit_run(
            run_id="r1",
            feed="f",
            department="d",
            domain=TRAFFIC,
            accepted=good,
            quarantined=pd.DataFrame({"oops": [1]}),
            summary={"status": "ok", "finished_at": NOW, "duration_s": 0},
            watermark_after=None,
            success=True,
        )
    assert wh.table_count("obs_traffic") == 0
    assert wh.run("r1")["status"] == "running"
    wh.close()


def test_points_land_in_their_districts() -> None:
    districts = load_districts(DISTRICTS)
    # each district's own representative point, plus one point in the sea south of Guangzhou
    lon = [*list(districts["lon"]), 113.6]
    lat = [*list(districts["lat"]), 22.0]
    got = assign_districts(lon, lat, districts)
    assert list(got[:-1]) == list(districts["code"])
    assert got[-1] is None


def _rollups(wh: Warehouse) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cur = wh.cursor()
    order = "ORDER BY ALL"
    return (
        cur.execute(f"SELECT * FROM rollup_hourly {order}").df(),
        cur.execute(f"SELECT * FROM rollup_daily {order}").df(),
        cur.execute(f"SELECT * FROM latest_obs {order}").df(),
    )


@settings(max_examples=25, deadline=None)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 60), st.floats(0, 50, allow_nan=False)),
            min_size=1,
            max_size=20,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_incremental_rollups_equal_a_rebuild(batches) -> None:
    """Late, out-of-order and corrected rows: the rollups kept at ingest match recomputing them."""
    wh = Warehouse(":memory:", timezone="Asia/Shanghai")
    base = pd.Timestamp("2026-06-14 14:00")  # 22:00 local: the slots straddle local midnight
    for n, batch in enumerate(batches):
        frame = pd.DataFrame(batch, columns=["entity_id", "slot", "level_m"]).drop_duplicates(
            ["entity_id", "slot"], keep="last"
        )
        frame["ts"] = (base + pd.to_timedelta(frame.pop("slot") * 5, unit="min")).astype("datetime64[us]")
        frame["discharge_m3s"] = frame["level_m"] * 10
        commit_frame(wh, f"r{n}", WATER, frame, NOW)
    incremental = _rollups(wh)
    wh.rebuild_rollups()
    rebuilt = _rollups(wh)
    for got, want in zip(incremental, rebuilt, strict=True):
        pd.testing.assert_frame_equal(got, want)
    wh.close()


def test_rollups_sum_by_local_day_and_latest_is_newest() -> None:
    wh = Warehouse(":memory:", timezone="Asia/Shanghai")
    # 15:55 and 16:00 UTC are 23:55 on the 14th and 00:00 on the 15th in Qingyuan.
    frame = pd.DataFrame(
        {
            "entity_id": ["G", "G", "G"],
            "ts": pd.to_datetime(["2026-06-14 15:55", "2026-06-14 16:00", "2026-06-14 16:05"]).astype(
                "datetime64[us]"
            ),
            "rain_mm": [1.5, 2.0, 0.5],
        }
    )
    from cityops.base.domains import RAIN

    commit_frame(wh, "r", RAIN, frame, NOW)
    import datetime as dt

    daily = wh.daily(RAIN, start=dt.date(2026, 6, 14), end=dt.date(2026, 6, 16)).set_index("day")["sum"]
    assert daily.to_dict() == {pd.Timestamp("2026-06-14"): 1.5, pd.Timestamp("2026-06-15"): 2.5}
    hourly = wh.hourly(RAIN, start=datetime(2026, 6, 14, 15), end=datetime(2026, 6, 14, 17))
    assert hourly.set_index("hour")["sum"].to_dict() == {
        pd.Timestamp("2026-06-14 15:00"): 1.5,
        pd.Timestamp("2026-06-14 16:00"): 2.5,
    }
    latest = wh.latest(RAIN)
    assert (latest["ts"].iloc[0], latest["rain_mm"].iloc[0]) == (pd.Timestamp("2026-06-14 16:05"), 0.5)
    wh.close()
