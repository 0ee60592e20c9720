"""Ingest throughput: 1,000,000 rows through the full path vs a bare DuckDB insert of the same data.

    .venv/bin/python benchmarks/ingest.py [--rows N]

Full path = parse (the landed, compressed CSV, as a department sends it: local time, m/s, fraction) → map
(units, timezone) → validate (pandera + duplicate/future checks) → upsert (update-then-anti-join insert in one
transaction, with the run record, and the hourly/daily rollups and latest state kept up to date, which is
also printed on its own). Bare = ``INSERT INTO obs_traffic SELECT … FROM arrow_table`` of the
already-canonical Arrow table into an empty table of the same schema. Both in the same process.
Prints rows/s for each, their ratio (goal ≥ 0.5) and where the full path spends its time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# This file is named like the `ingest` package; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from cityops.base.domains import TRAFFIC
from cityops.base.settings import settings_from_dict
from cityops.base.warehouse import UpsertCounts, Warehouse
from ingest.landing import Landing
from ingest.mapping import map_records
from ingest.parse import parse_payload
from ingest.pipeline import mapping_spec
from ingest.validate import validate_rows


def make_payload(rows: int) -> tuple[bytes, pa.Table]:
    segments = 2000
    ids = np.array([f"SEG-{i:05d}" for i in range(segments)])[np.arange(rows) % segments]
    utc = np.datetime64("2026-01-01T00:00") + (np.arange(rows) // segments) * np.timedelta64(5, "m")
    rng = np.random.default_rng(1)
    speed_ms = np.round(rng.uniform(2, 30, rows), 2)
    flow = rng.integers(0, 3000, rows)
    occ = np.round(rng.uniform(0, 1, rows), 4)
    local = pd.to_datetime(utc) + pd.Timedelta(hours=8)
    frame = pd.DataFrame(
        {
            "roadId": ids,
            "collectTime": local.strftime("%Y-%m-%d %H:%M:%S"),
            "avgSpeed": speed_ms,
            "flow": flow,
            "occ": occ,
        }
    )
    csv = frame.to_csv(index=False).encode("utf-8")
    canonical = pa.table(
        {
            "entity_id": ids,
            "ts": utc.astype("datetime64[us]"),
            "speed_kmh": speed_ms * 3.6,
            "volume_vph": flow.astype("float64"),
            "occupancy_pct": occ * 100,
            "run_id": np.full(rows, "bare"),
        }
    )
    return csv, canonical


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    csv, canonical = make_payload(args.rows)
    tmp = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    settings = settings_from_dict(
        {
            "storage": {"data_dir": str(tmp)},
            "feeds": {
                "traffic": {
                    "department": "bench",
                    "domain": "traffic",
                    "cadence": "5m",
                    "source": {"type": "http", "url": "http://127.0.0.1:9/", "format": "csv"},
                    "fields": {
                        "entity_id": "roadId",
                        "ts": "collectTime",
                        "speed_kmh": "avgSpeed",
                        "volume_vph": "flow",
                        "occupancy_pct": "occ",
                    },
                    "units": {"speed_kmh": "m/s", "occupancy_pct": "fraction"},
                }
            },
        },
        environ={},
    )
    feed = settings.feeds["traffic"]
    now = datetime(2026, 6, 1, tzinfo=UTC)
    landed = Landing(tmp / "raw").writer("traffic", "bench", now, {}, 1 << 40)
    landed.add_part(csv, "csv", "bench")
    landed.finish()

    bare_wh = Warehouse(tmp / "bare.duckdb")
    cur = bare_wh.cursor()
    cur.register("canonical", canonical)
    t0 = time.perf_counter()
    cur.execute(
        "INSERT INTO obs_traffic SELECT entity_id, ts, speed_kmh, volume_vph, occupancy_pct, run_id "
        "FROM canonical"
    )
    bare_s = time.perf_counter() - t0
    bare_wh.close()

    # Warm up once on a small payload (imports, Arrow kernels, time-zone data, the pandera schema),
    # as a running server is warm; the figures below are steady state.
    small, _ = make_payload(10_000)
    warm = Warehouse(tmp / "warm.duckdb")
    warm_mapped = map_records(parse_payload(small, "csv").frame, TRAFFIC, mapping_spec(settings, feed))
    warm_ok = validate_rows(
        warm_mapped.frame, TRAFFIC, now=now, future_tolerance=settings.ingest.future_tolerance
    )
    warm.start_run("warm", "traffic", "manual", now)
    warm.commit_run(
        run_id="warm",
        feed="traffic",
        department="bench",
        domain=TRAFFIC,
        accepted=warm_ok.accepted.drop(columns=["_row"]),
        quarantined=pd.DataFrame(),
        summary={"status": "ok", "finished_at": now, "duration_s": 0},
        watermark_after=None,
        success=True,
    )
    warm.close()

    wh = Warehouse(tmp / "full.duckdb")
    times: dict[str, float] = {}
    # Time the rollup maintenance (inside the upsert's transaction) on its own as well.
    refresh = wh._refresh_rollups
    rollup_s = [0.0]

    def timed_refresh(*args: object, **kwargs: object) -> None:
        t0 = time.perf_counter()
        refresh(*args, **kwargs)  # type: ignore[arg-type]
        rollup_s[0] += time.perf_counter() - t0

    wh._refresh_rollups = timed_refresh  # type: ignore[method-assign]
    t_all = time.perf_counter()
    t = time.perf_counter()
    data = Landing.read_part(landed.directory, landed.parts[0].name)
    parsed = parse_payload(data, "csv")
    times["read + parse"] = time.perf_counter() - t
    t = time.perf_counter()
    mapped = map_records(parsed.frame, TRAFFIC, mapping_spec(settings, feed))
    times["map"] = time.perf_counter() - t
    t = time.perf_counter()
    validated = validate_rows(
        mapped.frame, TRAFFIC, now=now, future_tolerance=settings.ingest.future_tolerance
    )
    times["validate"] = time.perf_counter() - t
    t = time.perf_counter()
    wh.start_run("bench", "traffic", "manual", now)
    accepted = validated.accepted.drop(columns=["_row"])

    def commit(run_id: str) -> UpsertCounts:
        return wh.commit_run(
            run_id=run_id,
            feed="traffic",
            department="bench",
            domain=TRAFFIC,
            accepted=accepted,
            quarantined=pd.DataFrame(),
            summary={"status": "ok", "finished_at": now, "duration_s": 0},
            watermark_after=None,
            success=True,
        )

    counts = commit("bench")
    times["upsert"] = time.perf_counter() - t
    full_s = time.perf_counter() - t_all
    times["  of which rollups"] = rollup_s[0]
    assert counts.inserted == args.rows, counts
    assert not mapped.rejects and not validated.rejects

    t = time.perf_counter()
    again = commit("bench2")
    reupsert_s = time.perf_counter() - t
    wh.close()

    n = args.rows
    print(f"rows: {n:,}  (CSV payload {len(csv) / 1e6:.1f} MB)")
    print(f"bare DuckDB insert of the Arrow table : {bare_s:7.3f} s  {n / bare_s:12,.0f} rows/s")
    print(f"full path parse→map→validate→upsert   : {full_s:7.3f} s  {n / full_s:12,.0f} rows/s")
    for stage, secs in times.items():
        print(f"    {stage:<14} {secs:7.3f} s")
    print(f"ratio full / bare (goal ≥ 0.5)        : {bare_s / full_s:7.2f}")
    print(f"ratio without the rollup maintenance  : {bare_s / (full_s - rollup_s[0]):7.2f}")
    print(
        f"same rows again (idempotent upsert)   : {reupsert_s:7.3f} s  "
        f"inserted {again.inserted}, updated {again.updated}"
    )


if __name__ == "__main__":
    main()
