"""Plain functions and constants more than one test module uses (fixtures live in conftest.py).

Test modules import them as ``from tests.helpers import ...``, as they import ``tests.conftest`` names.

- ``returns``: run a call on a thread with a hang guard.
- ``run_cityops``: the ``cityops`` command as a real process.
- ``commit_frame``: rows written through the warehouse's real write path as one finished run.
- ``water_level_signals``: the signal rows a water-level rule evaluates.
- ``REPORT_FIGURES``: the daily report's figures, in their order on the page.
- ``sign_in``: the sign-in form filled in a browser page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cityops.base.domains import Domain
from cityops.base.warehouse import UpsertCounts, Warehouse


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


def sign_in(page: Any, url: str, name: str, password: str, next_path: str) -> None:
    """Sign in through the form at ``url``/login and wait for the redirect to ``next_path``."""
    page.goto(f"{url}/login?next={next_path}")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_url(f"{url}{next_path}*")
