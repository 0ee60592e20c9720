"""Plain functions and constants more than one test module uses (fixtures live in conftest.py).

Test modules import them as ``from tests.helpers import ...``, as they import ``tests.conftest`` names.

- ``returns``: run a call on a thread with a hang guard.
- ``run_cityops``: the ``cityops`` command as a real process.
- ``commit_frame``: rows written through the warehouse's real write path as one finished run.
- ``water_level_signals``: the signal rows a water-level rule evaluates.
- ``REPORT_FIGURES``: the daily report's figures, in their order on the page.
- ``sign_in``: the sign-in form filled in a browser page.
- ``build_demo_city`` / ``DemoCity``: the demo city's feed server, settings and runtime, as of a fixed time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cityops.base.clock import FixedClock
from cityops.base.domains import Domain
from cityops.base.settings import Settings
from cityops.base.warehouse import UpsertCounts, Warehouse, open_warehouse
from cityops.demo import DEMO_TOKEN, DEMO_TOKEN_ENV, demo_settings
from ingest.pipeline import run_feed
from ingest.reference import load_reference_data
from ingest.runtime import RunReport, Runtime
from sample_data.demo_server import DemoFeedServer
from sample_data.generator import CityGenerator, Scenario, load_catalogue


def returns(call: Callable[[], Any], guard_s: float = 60.0) -> Any:
    """``call()`` on a thread; its result, or a failure if it has not returned after ``guard_s``.

    Only a hang guard, far above the normal time: the tests assert what happened, not how long it took.
    """
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(guard_s)
    assert not thread.is_alive(), f"still running after {guard_s:g} s: it hung"
    if errors:
        raise errors[0]
    return result[0]


CITYOPS = [sys.executable, "-m", "cityops"]


def run_cityops(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``cityops *args`` as a user runs it; ``env`` is added to this process's environment.

    ``COLUMNS`` is set wide so that help and tables do not wrap; ``timeout`` is a hang guard only.
    """
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [*CITYOPS, *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def commit_frame(
    wh: Warehouse,
    run_id: str,
    domain: Domain,
    frame: pd.DataFrame,
    started_at: datetime,
    *,
    finished_at: datetime | None = None,
    feed: str = "f",
    department: str = "d",
    error: str | None = None,
) -> UpsertCounts:
    """``frame`` written as one manual run of ``feed``: a successful one, or a failed one saying ``error``."""
    finished = started_at if finished_at is None else finished_at
    summary: dict[str, Any] = {
        "status": "ok" if error is None else "failed",
        "finished_at": finished,
        "duration_s": (finished - started_at).total_seconds(),
    }
    if error is not None:
        summary["error"] = error
    wh.start_run(run_id, feed, "manual", started_at)
    return wh.commit_run(
        run_id=run_id,
        feed=feed,
        department=department,
        domain=domain,
        accepted=frame,
        quarantined=pd.DataFrame(),
        summary=summary,
        watermark_after=None,
        success=error is None,
    )


def water_level_signals(stations: Mapping[str, tuple[float, str, str]], at: datetime) -> pd.DataFrame:
    """One ``level_m`` signal per hydro station at ``at``: key → (level, name, district code)."""
    return pd.DataFrame(
        [
            {
                "domain": "water",
                "scope": "entity",
                "key": key,
                "metric": "level_m",
                "value": value,
                "ts": at.replace(tzinfo=None),  # signals carry naive UTC, as the warehouse returns them
                "entity_id": key,
                "name": name,
                "district_code": district,
                "basin": "北江",
                "entity_kind": "hydro_station",
            }
            for key, (value, name, district) in stations.items()
        ]
    )


# Written out rather than read from the report code: a figure added, dropped or moved is a visible change.
REPORT_FIGURES = (
    "warnings_levels",
    "warnings_places",
    "map",
    "air",
    "water",
    "rain",
    "traffic",
    "incidents",
    "feeds",
)


def wait_until(page: Any, expression: str, arg: Any = None, *, timeout: float = 15_000) -> Any:
    """Poll ``expression`` (a JavaScript expression, or a function of ``arg``) in the page until it is
    truthy; its value. Like Playwright's ``wait_for_function``, which compiles its predicate in the page
    with ``new Function`` and so cannot run under the app's Content-Security-Policy (no 'unsafe-eval')."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(100)


def site_client(flask_app: Any) -> Any:
    """Flask's test client acting as a browser on this site's own pages: its requests name their origin
    (changes from another site are refused)."""
    client = flask_app.test_client()
    client.environ_base["HTTP_ORIGIN"] = "http://localhost"
    return client


def sign_in(page: Any, url: str, name: str, password: str, next_path: str) -> None:
    """Sign in through the form at ``url``/login and wait for the redirect to ``next_path``."""
    page.goto(f"{url}/login?next={next_path}")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_url(f"{url}{next_path}*")


@dataclass
class DemoCity:
    """The demo city in a test: its feed server on loopback, and a runtime over a warehouse fed from it.

    Tests move ``clock`` (the feed server and the runtime share it). ``close``, or leaving a ``with``
    block, closes the warehouse and stops the feed server.
    """

    feed_server: DemoFeedServer
    runtime: Runtime
    clock: FixedClock

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def warehouse(self) -> Warehouse:
        return self.runtime.warehouse

    def pull(
        self, feeds: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> dict[str, RunReport]:
        """``feeds`` (all by default) pulled through the real path, from ``since`` if given; each ends ok."""
        reports = {}
        for name in self.settings.feeds if feeds is None else feeds:
            reports[name] = run_feed(self.runtime, name, since=since)
            assert reports[name].status == "ok", f"{name}: {reports[name].error}"
        return reports

    def close(self) -> None:
        self.warehouse.close()
        self.feed_server.stop()

    def __enter__(self) -> DemoCity:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _no_wait(seconds: float) -> None:
    """A ``sleep`` that returns at once, so that retries are instant."""


def build_demo_city(
    folder: Path,
    *,
    now: datetime,
    generator: CityGenerator | None = None,
    settings: Callable[[Path, str], Settings] = demo_settings,
    backfill_since: datetime | None = None,
    sleep: Callable[[float], None] = _no_wait,
) -> DemoCity:
    """The demo city as of ``now``, its data in ``folder``/data and its reference data loaded.

    ``generator`` serves the feeds (by default Qingyuan's catalogue under the default ``Scenario``);
    ``settings(data_dir, feeds_url)`` makes the settings; ``backfill_since`` pulls every feed from then
    (each must end ok); ``sleep`` is what retries wait with (by default they do not wait).
    """
    clock = FixedClock(now)
    generator = generator or CityGenerator(load_catalogue(), Scenario())
    feed_server = DemoFeedServer(generator, clock, traffic_token=DEMO_TOKEN)
    with ExitStack() as undo:  # a failure half way stops what was started
        undo.callback(feed_server.stop)
        chosen = settings(folder / "data", feed_server.start())
        warehouse = open_warehouse(chosen)
        undo.callback(warehouse.close)
        load_reference_data(chosen, warehouse)
        runtime = Runtime(chosen, warehouse, clock, {DEMO_TOKEN_ENV: DEMO_TOKEN}, sleep=sleep)
        city = DemoCity(feed_server, runtime, clock)
        if backfill_since is not None:
            city.pull(since=backfill_since)
        undo.pop_all()
    return city


def component_texts(component: Any) -> list[str]:
    """Every text in a Dash component tree, depth first (what a page shows, without a browser)."""
    out: list[str] = []
    children = getattr(component, "children", None)
    if isinstance(children, str | int | float):
        out.append(str(children))
    elif isinstance(children, list | tuple):
        for c in children:
            out.extend([str(c)] if isinstance(c, str | int | float) else component_texts(c))
    elif children is not None:
        out.extend(component_texts(children))
    return out
