"""The warehouse: migrations, the write path's invariants, districts for new entities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.migrations import MIGRATIONS
from cityops.warehouse import Warehouse
from geo.boundaries import assign_districts, load_districts
from ingest.domains import TRAFFIC, WATER

NOW = datetime(2026, 6, 15, tzinfo=UTC)
DISTRICTS = Path(__file__).resolve().parents[2] / "sample_data" / "qingyuan" / "districts.geojson"


def test_migrations_apply_once_and_reopen_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1][0]
    with Warehouse(path) as wh:
        assert wh.migrate() == []  # nothing left to apply
        assert wh.table_count("schema_version") == len(MIGRATIONS)


def _commit(wh: Warehouse, run_id: str, frame: pd.DataFrame):
    wh.start_run(run_id, "f", "manual", NOW)
    return wh.commit_run(run_id=run_id, feed="f", department="d", domain=WATER, accepted=frame, quarantined=pd.DataFrame(),
                         summary={"status": "ok", "finished_at": NOW, "duration_s": 0}, watermark_after=None, success=True)  # fmt: skip


rows = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 5), st.one_of(st.none(), st.floats(0, 50, allow_nan=False))),
    min_size=1, max_size=25,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(rows, min_size=1, max_size=4))
def test_upserts_never_duplicate_a_key_and_the_last_value_wins(batches) -> None:
    """Batches of (station, 5-min slot, level or missing): a missing value never erases a stored one."""
    wh = Warehouse(":memory:")
    expected: dict[tuple[str, int], float] = {}
    for n, batch in enumerate(batches):
        frame = pd.DataFrame(batch, columns=["entity_id", "minute", "level_m"]).drop_duplicates(["entity_id", "minute"], keep="last")
        frame["ts"] = pd.Timestamp("2026-06-15") + pd.to_timedelta(frame.pop("minute") * 5, unit="min")
        frame["ts"] = frame["ts"].astype("datetime64[us]")
        frame["discharge_m3s"] = float("nan")
        _commit(wh, f"r{n}", frame)
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
    good = pd.DataFrame({"entity_id": ["A"], "ts": [pd.Timestamp("2026-06-15")], "speed_kmh": [30.0],
                         "volume_vph": [1.0], "occupancy_pct": [2.0]})  # fmt: skip
    wh.start_run("r1", "f", "manual", NOW)
    with pytest.raises(KeyError):
        # the quarantine frame lacks its columns: the transaction must roll back the rows too
        wh.commit_run(run_id="r1", feed="f", department="d", domain=TRAFFIC, accepted=good,
                      quarantined=pd.DataFrame({"oops": [1]}),
                      summary={"status": "ok", "finished_at": NOW, "duration_s": 0}, watermark_after=None, success=True)  # fmt: skip
    assert wh.table_count("obs_traffic") == 0
    assert wh.run("r1")["status"] == "running"
    wh.close()


def test_points_land_in_their_districts() -> None:
    districts = load_districts(DISTRICTS)
    # each district's own representative point, plus one point in the sea south of Guangzhou
    lon = list(districts["lon"]) + [113.6]
    lat = list(districts["lat"]) + [22.0]
    got = assign_districts(lon, lat, districts)
    assert list(got[:-1]) == list(districts["code"])
    assert got[-1] is None
