"""The wall under many screens: per-tick work, per-refresh payload, page weight, polls per second.

    .venv/bin/python benchmarks/wall.py [--screens 1,10,40]

Builds the demo city (Qingyuan's simulated feeds pulled through the real path, the warning engine run
over the storm's morning), serves it on a free loopback port, then:

* times one wall computation (the tick's shared snapshot: signals, KPIs, warnings, trend, map figure);
* loads /wall in Debian's chromium and sums what the page downloads (page weight, by kind), and the
  size of one refresh response with and without the map (the map is only re-sent when it changed);
* replays that refresh from N concurrent "screens" (threads posting the same callback) for one tick,
  printing polls/s, latency percentiles and how many wall computations they caused (should be 1 per
  tick however many screens poll).

Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

# This folder holds files named like the packages; keep it off the import path. The repository's root
# goes on it instead, for the demo city the tests build.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from cityops.server import build_server
from sample_data.generator import Scenario
from tests.helpers import DemoCity, build_demo_city

CHROMIUM = "/usr/bin/chromium"


def build(folder: Path) -> tuple[object, DemoCity]:
    """The demo city with its data in ``folder``/data, and the cityops server over it."""
    city = build_demo_city(folder, now=Scenario().storm_peak + timedelta(hours=4), sleep=time.sleep)
    clock = city.clock
    t0 = time.perf_counter()
    city.pull(since=clock.now() - timedelta(days=1))
    print(f"ingested one day of the demo feeds in {time.perf_counter() - t0:.1f} s")
    server = build_server(city.runtime, with_scheduler=False, host="127.0.0.1", port=0)
    alerting = server.services.alerting
    assert alerting is not None, "the server was built without its warning engine"
    end = clock.now()
    for h in (3, 2, 1, 0):
        clock.set(end - timedelta(hours=h))
        alerting.tick()
    server.start_background()
    return server, city


def measure_compute(server: object, repeat: int = 5) -> None:
    cache = server.services.wall()  # type: ignore[attr-defined]
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        cache._compute(10**9 + i)
        times.append(time.perf_counter() - t0)
    print(
        f"one wall computation (shared by all screens): median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {repeat}"
    )


def capture_page(url: str) -> tuple[dict[str, int], list[tuple[bytes, int]]]:
    """Page weight by resource kind, and the wall's refresh requests (body, response size)."""
    from playwright.sync_api import sync_playwright

    weights: dict[str, int] = {}
    refreshes: list[tuple[bytes, int]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1920, "height": 1080})

        def on_response(resp: object) -> None:
            try:
                body = resp.body()  # type: ignore[attr-defined]
            except Exception:
                return
            kind = resp.request.resource_type  # type: ignore[attr-defined]
            weights[kind] = weights.get(kind, 0) + len(body)
            req = resp.request  # type: ignore[attr-defined]
            if "_dash-update-component" in req.url and b"wall-ticker" in (req.post_data_buffer or b""):
                refreshes.append((req.post_data_buffer, len(body)))

        page.on("response", on_response)
        page.goto(f"{url}/wall")
        page.wait_for_timeout(25_000)  # the first load and two refreshes
        browser.close()
    return weights, refreshes


def poll(url: str, body: bytes, screens: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def screen() -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = client.post(
                    f"{url}/_dash-update-component",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    errors += r.status_code != 200
                time.sleep(0.2)  # a screen polls every few seconds; this is many screens' worth each

    threads = [threading.Thread(target=screen) for _ in range(screens)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--screens", default="1,10,40", help="comma-separated numbers of concurrent screens")
    ap.add_argument("--seconds", type=float, default=8.0, help="how long each poll round lasts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, city = build(Path(tmp))
        try:
            measure_compute(server)
            weights, refreshes = capture_page(server.url)  # type: ignore[attr-defined]
            total = sum(weights.values())
            print(
                f"page weight of /wall: {total / 1e6:.2f} MB — "
                + ", ".join(
                    f"{k} {v / 1e3:.0f} kB" for k, v in sorted(weights.items(), key=lambda kv: -kv[1])
                )
            )
            sizes = [size for _, size in refreshes]
            if sizes:
                print(
                    f"refresh responses: first (with map) {sizes[0] / 1e3:.0f} kB; later ones "
                    f"{', '.join(f'{s / 1e3:.1f} kB' for s in sizes[1:]) or '—'}"
                )
            if not refreshes:
                print("no wall refresh captured; skipping the polling rounds")
                return
            body = refreshes[-1][0]
            payload = json.loads(body)
            seen = next((s for s in payload.get("state", []) if s.get("id") == "wall-seen"), None)
            if seen is not None:
                seen.pop("value", None)  # ask with the map, the heaviest case (a screen that just loaded)
            heavy = json.dumps(payload).encode()
            cache = server.services.wall()  # type: ignore[attr-defined]
            for n in (int(x) for x in args.screens.split(",")):
                before = cache.computations
                t0 = time.monotonic()
                lat, errors = poll(server.url, heavy, n, args.seconds)  # type: ignore[attr-defined]
                ticks = int(time.monotonic() // cache.tick) - int(t0 // cache.tick) + 1
                lat.sort()
                p50, p95 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.95))]
                print(
                    f"{n:3d} screens: {len(lat) / args.seconds:6.1f} polls/s, p50 {p50 * 1000:.0f} ms, p95 "
                    f"{p95 * 1000:.0f} ms, errors {errors}; wall computations {cache.computations - before} "
                    f"over {ticks} tick(s) of {cache.tick} s"
                )
        finally:
            server.stop()  # type: ignore[attr-defined]
            city.close()


if __name__ == "__main__":
    main()
