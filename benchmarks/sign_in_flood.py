"""How the server answers /healthz while it is flooded with sign-in attempts.

    .venv/bin/python benchmarks/sign_in_flood.py [--attempts 200] [--repeat 3]

A real server (``cityops serve`` in its own process: waitress, 8 threads, a real DuckDB file) on
loopback. Each round sends ``--attempts``
concurrent sign-in POSTs with different names, either from one address or each from its own loopback
address (127.0.1.x: Linux routes all of 127/8 to loopback), while one client polls /healthz. Two
configurations are measured in the same run, interleaved:

- ``guarded``: the shipped defaults (10 attempts a minute per address, one password check at a time);
- ``open``: no budget and up to 64 concurrent password checks (what a server without the guards does).

Prints the median, over ``--repeat`` rounds, of /healthz's p50, p95 and max latency during the flood,
and how many attempts were answered with each status. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

# This folder holds a file named like the `ingest` package; keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from cityops.base.auth import hash_password

CONFIGS = {
    "guarded": {},
    "open": {"sign_in_budget": "1000000/minute", "sign_in_hashing": 16},
}


class Server:
    """``cityops serve`` in its own process, as deployed (the flood's clients run in this one)."""

    def __init__(self, folder: Path, server_extra: dict[str, Any]) -> None:
        folder.mkdir(parents=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        options = "".join(f"{k} = {json.dumps(v)}\n" for k, v in server_extra.items())
        config = folder / "cityops.toml"
        config.write_text(
            f'[storage]\ndata_dir = "data"\n[scheduler]\nenabled = false\n'
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\n{options}'
            f'[[auth.users]]\nname = "duty"\nrole = "operator"\n'
            f'password_hash = "{hash_password("duty-pw")}"\n',
            "utf-8",
        )
        cli = Path(sys.executable).with_name("cityops")
        self.proc = subprocess.Popen(
            [str(cli), "serve", "--config", str(config)],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def flood(url: str, attempts: int, spread: bool) -> tuple[list[float], Counter[int]]:
    codes: Counter[int] = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(attempts + 1)

    def attempt(n: int) -> None:
        local = f"127.0.1.{n % 250 + 1}" if spread else "127.0.0.1"
        transport = httpx.HTTPTransport(local_address=local)
        with httpx.Client(base_url=url, timeout=120, headers={"Origin": url}, transport=transport) as c:
            gate.wait()
            try:
                status = c.post("/login", data={"name": f"guess{n}", "password": "x"}).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                codes[status] += 1

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for th in threads:
        th.start()
    gate.wait()
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=120) as probe:
        while any(th.is_alive() for th in threads):
            t0 = time.perf_counter()
            probe.get("/healthz")
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
    for th in threads:
        th.join()
    return latencies, codes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, bool], list[tuple[float, float, float]]] = {}
    statuses: dict[tuple[str, bool], Counter[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for spread in (False, True):
                for name, extra in CONFIGS.items():  # interleaved: each round measures both
                    srv = Server(Path(tmp) / f"{name}-{round_}-{spread}", extra)
                    try:
                        lat, codes = flood(srv.url, args.attempts, spread)
                    finally:
                        srv.stop()
                    q = statistics.quantiles(lat, n=20, method="inclusive") if len(lat) >= 2 else lat * 19
                    results.setdefault((name, spread), []).append((statistics.median(lat), q[18], max(lat)))
                    statuses.setdefault((name, spread), Counter()).update(codes)
    print(f"/healthz during {args.attempts} concurrent sign-in attempts, median of {args.repeat} rounds (ms)")
    print(f"{'from':<22}{'server':<9}{'p50':>8}{'p95':>8}{'max':>8}   statuses (all rounds)")
    for (name, spread), rows in results.items():
        p50, p95, worst = (statistics.median(col) * 1000 for col in zip(*rows, strict=True))
        where = "250 addresses" if spread else "one address"
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(statuses[(name, spread)].items()))
        print(f"{where:<22}{name:<9}{p50:>8.0f}{p95:>8.0f}{worst:>8.0f}   {codes}")


if __name__ == "__main__":
    main()
