"""Floods against the real server (waitress on loopback, a real DuckDB file): sign-in attempts by the
hundred and bodies by the tens of megabytes. The server refuses them cheaply and keeps answering.

How fast it keeps answering is measured by ``benchmarks/sign_in_flood.py``; here: what is refused,
how much hashing happened, and that /healthz answered throughout.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import dashboard.auth
from cityops.base.auth import hash_password
from cityops.server import build_server
from tests.conftest import build_runtime
from tests.helpers import returns


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    checks: list[int] = []
    real = dashboard.auth.verify_password

    def counted(password: str, stored: str) -> bool:
        checks.append(1)
        return real(password, stored)

    monkeypatch.setattr(dashboard.auth, "verify_password", counted)
    users = [{"name": "duty", "role": "operator", "password_hash": hash_password("duty-pw")}]
    rt = build_runtime(tmp_path, {}, extra={"auth": {"users": users}, "scheduler": {"enabled": False}})
    srv = build_server(rt, with_scheduler=False, host="127.0.0.1", port=0)
    srv.start_background()
    srv.checks = checks
    yield srv
    returns(srv.stop, guard_s=30)


def test_a_flood_of_sign_ins_is_refused_before_hashing_and_health_keeps_answering(server: Any) -> None:
    url = server.url
    codes: Counter[int] = Counter()
    health: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(41)

    def attack(worker: int) -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"Origin": url}) as client:
            start.wait()
            for n in range(5):
                r = client.post("/login", data={"name": f"guess{worker}-{n}", "password": "x"})
                with lock:
                    codes[r.status_code] += 1

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(40)]
    for th in threads:
        th.start()
    start.wait()
    with httpx.Client(base_url=url, timeout=60) as probe:
        while any(th.is_alive() for th in threads):
            health.append(probe.get("/healthz").status_code)
    for th in threads:
        th.join()
    assert sum(codes.values()) == 200 and set(codes) <= {401, 429, 503}
    assert codes[429] >= 190  # one address: its budget (10 a minute) is spent at once
    assert len(server.checks) <= 10  # and no password was hashed beyond it
    assert health and set(health) == {200}
    # the real user, from another loopback address, is not locked out by the flood
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=url, timeout=60, headers={"Origin": url}, transport=transport) as client:
        r = client.post("/login", data={"name": "duty", "password": "duty-pw", "next": "/feeds"})
        assert r.status_code == 303 and r.headers["location"] == "/feeds"


def test_an_oversized_body_is_refused_before_it_is_sent(server: Any) -> None:
    host, port = server.wsgi.effective_host, server.wsgi.effective_port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 52428800\r\n\r\n" + b"x" * 65536
        )
        answer = sock.recv(4096)  # answered without the other 50 MB
    assert answer.startswith(b"HTTP/1.1 413")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/healthz").status_code == 200
