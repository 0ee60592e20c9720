"""Landing, replay and idempotent upserts: the same payload twice changes nothing, a correction
updates, late and out-of-order rows land, and every run's raw payload can be parsed again."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cityops.base.domains import TRAFFIC
from ingest.errors import SourceError
from ingest.pipeline import replay_run, run_feed
from ingest.reasons import parse_reasons

FEED = "city-traffic"
ROWS = [
    {"id": "R1", "t": "2026-06-15 08:00:00", "v": 40.0},
    {"id": "R2", "t": "2026-06-15 08:00:00", "v": 35.0},
    {"id": "R3", "t": "2026-06-15 08:00:00", "v": "abc"},
]


def unpack(path: Path) -> bytes:
    """A landed part's bytes (parts are Zstandard-compressed), read without the product's code."""
    with pa.input_stream(str(path), compression="zstd") as fh:
        return fh.read()


@pytest.fixture
def rt(tmp_path, make_runtime, feed_server):
    feed_server.json("/t", ROWS)
    cfg = {
        "department": "交通运输局",
        "domain": "traffic",
        "cadence": "5m",
        "source": {"type": "http", "url": feed_server.url("/t"), "since": {"param": "since"}},
        "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
    }
    return make_runtime(tmp_path, {FEED: cfg})


def table(rt: Any) -> list[tuple[Any, ...]]:
    return sorted(
        rt.warehouse.cursor().execute("SELECT entity_id, ts, speed_kmh, run_id FROM obs_traffic").fetchall()
    )


def test_raw_payload_is_landed_compressed_with_meta(rt, feed_server):
    report = run_feed(rt, FEED)
    directory = Path(report.raw_path)
    assert directory.parts[-3:] == (FEED, "2026-06-15", report.run_id)
    (part,) = directory.glob("part-*.zst")
    assert part.name == "part-0001.json.zst"
    assert json.loads(unpack(part)) == ROWS
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["run_id"] == report.run_id and meta["attempts"] == 1
    assert meta["parts"][0]["origin"].startswith(feed_server.url("/t"))
    assert rt.warehouse.run(report.run_id)["raw_path"] == str(directory)


def test_same_payload_twice_changes_nothing(rt):
    first = run_feed(rt, FEED)
    assert (first.rows_inserted, first.rows_updated, first.rows_rejected) == (2, 0, 1)
    before = table(rt)
    second = run_feed(rt, FEED)
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, 2)
    assert table(rt) == before  # not even run_id is rewritten
    assert rt.warehouse.duplicate_keys(TRAFFIC) == 0


def test_correction_updates_one_row(rt, feed_server):
    run_feed(rt, FEED)
    feed_server.json(
        "/t",
        [
            {"id": "R1", "t": "2026-06-15 08:00:00", "v": 40.0},
            {"id": "R2", "t": "2026-06-15 08:00:00", "v": 28.5},  # corrected
        ],
    )
    report = run_feed(rt, FEED)
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (0, 1, 1)
    stored = {r[0]: (r[2], r[3]) for r in table(rt)}
    assert stored["R2"] == (28.5, report.run_id)
    assert stored["R1"][0] == 40.0 and stored["R1"][1] != report.run_id


def test_missing_value_in_a_correction_does_not_erase(rt, feed_server):
    # volume_vph is not in the mapping: a field named like the canonical column is taken as it is.
    feed_server.json("/t", [{"id": "R1", "t": "2026-06-15 08:00:00", "v": 40.0, "volume_vph": 900}])
    run_feed(rt, FEED)
    feed_server.json("/t", [{"id": "R1", "t": "2026-06-15 08:00:00", "v": None, "volume_vph": 950}])
    report = run_feed(rt, FEED)
    assert report.rows_updated == 1
    row = rt.warehouse.observations(TRAFFIC).iloc[0]
    assert (row["speed_kmh"], row["volume_vph"]) == (40.0, 950.0)


def test_late_and_out_of_order_rows_land(rt, feed_server):
    feed_server.json(
        "/t",
        [
            {"id": "R1", "t": "2026-06-15 08:20:00", "v": 40.0},
            {"id": "R1", "t": "2026-06-15 08:30:00", "v": 41.0},
        ],
    )
    run_feed(rt, FEED)
    assert rt.warehouse.feed_state(FEED)["watermark"] == "2026-06-15T00:30:00+00:00"
    rt.clock.advance(timedelta(minutes=5))
    feed_server.json(
        "/t",
        [
            {"id": "R1", "t": "2026-06-15 08:35:00", "v": 42.0},
            {"id": "R1", "t": "2026-06-15 08:25:00", "v": 39.0},  # out of order
            {"id": "R1", "t": "2026-06-15 06:10:00", "v": 55.0},  # hours late, before the watermark
            {"id": "R1", "t": "2026-06-15 08:32:00", "v": 40.5},
        ],
    )
    report = run_feed(rt, FEED)
    assert (report.rows_inserted, report.rows_rejected) == (4, 0)
    times = [f"{t:%H:%M}" for t in rt.warehouse.observations(TRAFFIC, entity_id="R1")["ts"]]
    assert times == ["22:10", "00:20", "00:25", "00:30", "00:32", "00:35"]
    assert rt.warehouse.feed_state(FEED)["watermark"] == "2026-06-15T00:35:00+00:00"


def test_replay_reparses_the_landed_payload(rt, feed_server):
    first = run_feed(rt, FEED)
    before = table(rt)
    feed_server.json("/t", [])  # what the server says now does not matter to a replay

    replays = [replay_run(rt, first.run_id), replay_run(rt, first.run_id)]

    for again in replays:
        assert again.status == "ok" and again.trigger == "replay"
        assert again.raw_path == first.raw_path
        assert (
            (again.rows_fetched, again.rows_rejected) == (first.rows_fetched, first.rows_rejected) == (3, 1)
        )
        assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
        assert rt.warehouse.run(again.run_id)["replay_of"] == first.run_id
        (reason,) = rt.warehouse.quarantined(run_id=again.run_id)["reason"]
        assert parse_reasons(reason)[0].detail == "speed_kmh: 'abc' is not a number"
    assert table(rt) == before
    assert len(feed_server.hits("/t")) == 1


def test_replay_restores_rows_lost_downstream(rt):
    first = run_feed(rt, FEED)
    with rt.warehouse.transaction() as cur:
        cur.execute("DELETE FROM obs_traffic")
    again = replay_run(rt, first.run_id)
    assert (again.rows_inserted, again.rows_updated) == (2, 0)
    assert [(r[0], r[2]) for r in table(rt)] == [("R1", 40.0), ("R2", 35.0)]


def test_replay_of_an_unknown_run_is_a_clear_error(rt):
    with pytest.raises(SourceError, match="no run 'nope'"):
        replay_run(rt, "nope")


def test_a_run_that_landed_nothing_cannot_be_replayed(tmp_path, make_runtime, closed_port):
    from ingest.errors import SourceError

    rt = make_runtime(
        tmp_path,
        {
            "t": {
                "department": "d",
                "domain": "traffic",
                "cadence": "5m",
                "source": {"type": "http", "url": f"http://127.0.0.1:{closed_port}/x"},
            }
        },
        ingest={"retry_attempts": 1},
    )
    failed = run_feed(rt, "t")
    assert failed.status == "failed"
    with pytest.raises(SourceError, match="landed no payload"):
        replay_run(rt, failed.run_id)
    assert rt.warehouse.feed_state("t")["consecutive_failures"] == 1  # nothing pretended the feed recovered
