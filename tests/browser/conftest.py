"""Browser tests: Playwright drives Debian's chromium (/usr/bin/chromium; never a downloaded browser)
against a real cityops server on a free loopback port, with the demo city's feeds ingested through
the real pull path. Screenshots go to ``test-output/`` for people to look at."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cityops.server import Server, build_server
from sample_data.generator import Scenario
from tests.helpers import build_demo_city

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CITYOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return {
        "headless": True,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    now = Scenario().storm_peak + timedelta(hours=4)  # 源潭 is past its guaranteed level
    with build_demo_city(
        tmp_path_factory.mktemp("browser"),
        now=now,
        backfill_since=now - timedelta(hours=3),
        sleep=time.sleep,  # the server's runs retry as a real server's do
    ) as city:
        server = build_server(city.runtime, with_scheduler=False, host="127.0.0.1", port=0)
        server.start_background()
        yield server
        server.stop()


@pytest.fixture(scope="module")
def ticked_server(demo_server: Server) -> Server:
    """The demo server with the warning engine run over the scenario's morning (hourly ticks)."""
    engine = demo_server.services.alerting
    clock = demo_server.services.runtime.clock
    end = clock.now()
    for h in (3, 2, 1, 0):
        clock.set(end - timedelta(hours=h))
        engine.tick()
    return demo_server


@pytest.fixture
def watched_page(page: Any, demo_server: Server) -> Iterator[Any]:
    """A page that records console errors and every request that leaves the host."""
    page.console_errors = []
    page.external = []

    def on_console(m: Any) -> None:
        if m.type != "error":
            return
        detail = []
        for arg in m.args[1:3]:
            try:
                detail.append(str(arg.json_value())[:200])
            except Exception as exc:
                detail.append(f"<{type(exc).__name__}>")
        page.console_errors.append(" | ".join([m.text, *detail]))

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))

    def on_request(req: Any) -> None:
        host = req.url.split("/")[2] if "://" in req.url else ""
        if not (host.startswith(("127.0.0.1", "localhost")) or req.url.startswith(("data:", "blob:"))):
            page.external.append(req.url)

    page.on("request", on_request)
    OUTPUT.mkdir(exist_ok=True)
    yield page
