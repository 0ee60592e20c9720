"""Memory of one HTTP fetch: the peak of Python allocations while a large body streams into the landing
area and is handed on, as a multiple of the body's size (the goal: the payload is held once).

    .venv/bin/python benchmarks/fetch_memory.py [--mib 40] [--repeat 3]

A real loopback HTTP server sends the body in 64 KiB writes; ``tracemalloc`` measures the fetch alone.
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# This folder holds a file named like the `ingest` package; keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx

from ingest.landing import Landing
from ingest.sources import FetchContext
from ingest.sources.http import _get as fetch_one_page


def serve(body: bytes) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i : i + 65536])

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    row = b"S1,2026-06-15 08:00:00,1.0\n"
    body = (b"id,ts,v\n" + row * (args.mib * 2**20 // len(row)))[: args.mib * 2**20]
    server = serve(body)
    url = f"http://127.0.0.1:{server.server_address[1]}/x.csv"
    ratios = []
    with tempfile.TemporaryDirectory() as tmp, httpx.Client() as client:
        for i in range(args.repeat):
            now = datetime.now(UTC)
            writer = Landing(Path(tmp)).writer("bench", f"run{i}", now, {}, 1 << 40)
            ctx = FetchContext(
                "bench",
                now,
                None,
                None,
                "Asia/Shanghai",
                timedelta(seconds=5),
                timedelta(seconds=30),
                time.monotonic() + 120,
            )
            tracemalloc.start()
            received, _ = fetch_one_page(client, url, None, {}, writer, "csv", ctx, None)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            ratios.append(peak / len(received))
            del received
    server.shutdown()
    print(f"body {args.mib} MiB, {args.repeat} fetches")
    print(
        f"peak traced allocations / body size: median {statistics.median(ratios):.2f}x "
        f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)"
    )


if __name__ == "__main__":
    main()
