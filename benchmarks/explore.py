"""The explorer's queries on one year of hourly data: 40 air stations, the hydrological stations and rain
gauges of the demo city, written through the real write path (``Warehouse.commit_run``, which keeps the
hourly and daily rollups up to date).

    .venv/bin/python benchmarks/explore.py [--days 365] [--repeat 7]

Prints the median and worst time of: one station's 30-day series (hourly rollups), a district's one-year
daily aggregate (daily rollups), a station's last 24 h (raw readings), and everything one view of the
page reads (series, heatmap, cross-department comparison) for each. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

# This folder holds a file named like the `ingest` package; keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
import pandas as pd

from cityops.base.clock import FixedClock
from cityops.base.domains import AIR, RAIN, WATER, Domain
from cityops.base.settings import settings_from_dict
from cityops.base.warehouse import open_warehouse
from dashboard.explore import (
    ExploreState,
    load_catalog,
    load_explore_data,
    resolve_state,
    series_query,
    time_window,
)
from dashboard.services import Services
from ingest.pipeline import Runtime
from ingest.reference import load_reference_data

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "qingyuan"
END = datetime(2026, 6, 15, tzinfo=UTC)


def hourly_frames(
    ids: list[str], hours: pd.DatetimeIndex, domain: Domain, rng: np.random.Generator
) -> pd.DataFrame:
    n, k = len(hours), len(ids)
    t = np.arange(n, dtype="float64")
    frame = pd.DataFrame({"entity_id": np.repeat(ids, n), "ts": np.tile(hours.to_numpy(), k)})
    season = np.tile(np.sin(2 * np.pi * t / (24 * 365)), k)
    daily = np.tile(np.sin(2 * np.pi * t / 24), k)
    if domain is AIR:
        for i, col in enumerate(AIR.values):
            base = 1.0 if col == "co" else 40.0 + 10 * i
            frame[col] = np.round(
                np.maximum(0.1, base * (1 + 0.3 * season + 0.2 * daily + rng.normal(0, 0.2, n * k))), 1
            )
    elif domain is WATER:
        frame["level_m"] = np.round(10 + 2 * season + 0.1 * daily + rng.normal(0, 0.05, n * k), 2)
        frame["discharge_m3s"] = np.round(np.maximum(0, 300 + 150 * season + rng.normal(0, 20, n * k)), 1)
    else:
        frame["rain_mm"] = np.round(np.where(rng.random(n * k) < 0.1, rng.gamma(1.5, 2.0, n * k), 0.0), 1)
    return frame


def build(tmp: Path, days: int) -> Services:
    settings = settings_from_dict(
        {
            "city": {
                "timezone": "Asia/Shanghai",
                "districts": str(SAMPLE / "districts.geojson"),
                "catalogues": [str(SAMPLE / "entities.geojson")],
            },
            "storage": {"data_dir": str(tmp / "data")},
            "server": {"anonymous_viewer": True},
        },
        environ={},
    )
    wh = open_warehouse(settings)
    load_reference_data(settings, wh)
    entities = wh.entities()
    rng = np.random.default_rng(7)
    hours = (
        pd.date_range(END - timedelta(days=days), END, freq="h", inclusive="left")
        .tz_convert(None)
        .astype("datetime64[us]")
    )
    started = time.perf_counter()
    rows = 0
    for domain in (AIR, WATER, RAIN):
        ids = sorted(entities.loc[entities["kind"] == domain.entity_kind, "entity_id"])
        for month, chunk in enumerate(np.array_split(hours, max(1, days // 30))):
            frame = hourly_frames(ids, pd.DatetimeIndex(chunk), domain, rng)
            run = f"bench-{domain.name}-{month}"
            wh.start_run(run, domain.name, "bench", END)
            wh.commit_run(
                run_id=run,
                feed=domain.name,
                department="bench",
                domain=domain,
                accepted=frame,
                quarantined=pd.DataFrame(),
                summary={"finished_at": END, "status": "ok", "duration_s": 0.0},
                watermark_after=None,
                success=True,
            )
            rows += len(frame)
        print(f"  {domain.name:<6} {len(ids):>3} stations × {len(hours):,} hours")
    print(f"loaded {rows:,} rows through commit_run in {time.perf_counter() - started:.1f} s")
    return Services(Runtime(settings, wh, FixedClock(END), {}))


def timed(label: str, fn: Callable[[], object], repeat: int) -> None:
    fn()  # warm: first-touch of the file and DuckDB's caches
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    size = f"{len(result):>6} rows" if isinstance(result, pd.DataFrame) else ""
    print(f"{label:<58} median {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms   {size}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cityops-bench-explore-") as tmp:
        svc = build(Path(tmp), args.days)
        wh, tz = svc.warehouse, "Asia/Shanghai"
        catalog = load_catalog(svc)
        station = sorted(catalog.domain_entities("water")["entity_id"])[0]
        district = "441802"
        print(
            f"rollup_hourly {wh.table_count('rollup_hourly'):,} rows, "
            f"rollup_daily {wh.table_count('rollup_daily'):,} rows"
        )

        def series(state: ExploreState, domain: Domain, metric: str) -> Callable[[], pd.DataFrame]:
            start, end = time_window(state, END, tz)
            q = series_query(domain, metric, start, end, entity=state.entity, district=state.district)
            return lambda: wh.explore_series(q, tz)

        s30 = resolve_state(ExploreState(range="30d", domain="water", entity=station), catalog)
        y1 = resolve_state(ExploreState(range="1y", domain="air", metric="pm25", district=district), catalog)
        d1 = resolve_state(ExploreState(range="24h", domain="water", entity=station), catalog)
        timed(
            f"30-day station series ({station}, hourly rollups)", series(s30, WATER, "level_m"), args.repeat
        )
        timed(f"1-year district daily aggregate (PM2.5, {district})", series(y1, AIR, "pm25"), args.repeat)
        timed("24-h station series (raw readings)", series(d1, WATER, "level_m"), args.repeat)
        timed(
            "whole view: 30-day station (series+heatmap+comparison)",
            lambda: load_explore_data(svc, s30, catalog).series,
            args.repeat,
        )
        timed(
            "whole view: 1-year district (series+heatmap+comparison)",
            lambda: load_explore_data(svc, y1, catalog).series,
            args.repeat,
        )
        wh.close()


if __name__ == "__main__":
    main()
