"""`cityops demo`: the whole product on one machine, with Qingyuan's simulated departments.

Starts the demo departmental feed server on loopback (driven by a simulated clock that runs faster
than real time), backfills the last day through the real pull path, then runs the scheduler and the
dashboard in this process, as `cityops serve` does.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cityops.base.clock import SimulatedClock
from cityops.base.errors import CityopsError
from cityops.base.settings import Settings, settings_from_dict

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "sample_data" / "qingyuan" / "demo.toml"
DEMO_MARKER = ".cityops-demo"
DEMO_TOKEN_ENV = "CITYOPS_DEMO_TRAFFIC_TOKEN"
DEMO_TOKEN = "demo-traffic-token"
# The demo clock starts this long before the rainstorm's peak, so rivers rise within minutes.
DEMO_LEAD = timedelta(hours=3, minutes=30)
DEMO_HISTORY = timedelta(days=1)
DEMO_WALL = "demo-wall"  # the display token of the wall screen the demo prints
# The demo users' passwords (their hashes are in demo.toml); printed at start.
DEMO_USERS = (
    ("duty", "duty-demo", "operator"),
    ("analyst", "analyst-demo", "analyst"),
    ("admin", "admin-demo", "admin"),
)


def demo_settings(
    data_dir: Path, feeds_url: str, *, port: int | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    text = DEMO_CONFIG.read_text("utf-8").replace("{feeds_url}", feeds_url.rstrip("/"))
    data: dict[str, Any] = tomllib.loads(text)
    data.setdefault("storage", {})["data_dir"] = str(data_dir.resolve())
    if port is not None:
        data.setdefault("server", {})["port"] = port
    env = {DEMO_TOKEN_ENV: DEMO_TOKEN, **(environ or {})}
    return settings_from_dict(data, source=DEMO_CONFIG, environ=env)


def prepare_data_dir(data_dir: Path, *, keep: bool) -> bool:
    """Make ``data_dir`` ready; a previous demo's data is replaced unless ``keep``.

    Returns True if replaced.
    """
    marker = data_dir / DEMO_MARKER
    if data_dir.exists() and any(data_dir.iterdir()):
        if not marker.exists():
            raise CityopsError(
                f"{data_dir} exists and was not made by `cityops demo`; refusing to touch it",
                hint="pass --data-dir with an empty or new folder",
            )
        if not keep:
            shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("created by cityops demo; `cityops demo` replaces this folder at each start\n", "utf-8")
    return not keep


def fresh_wall_token(settings: Settings) -> str:
    """A new display token for the demo's wall; a previous demo's (``--keep``) is revoked first, since a
    token's secret is shown only once and the old one cannot be printed again."""
    from cityops.base.auth import DisplayTokens

    tokens = DisplayTokens.for_settings(settings)
    if any(t.name == DEMO_WALL and t.active for t in tokens.list()):
        tokens.revoke(DEMO_WALL)
    _, secret = tokens.create(DEMO_WALL)
    return secret


def make_demo_clock(speed: float) -> tuple[SimulatedClock, Any]:
    from sample_data.generator import Scenario

    scenario = Scenario()
    return SimulatedClock(scenario.storm_peak - DEMO_LEAD, speed=speed), scenario


def run_demo(*, port: int, data_dir: Path, speed: float, keep: bool, console: Any) -> None:
    import os

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from cityops.server import build_server, ensure_port_free, open_runtime
    from ingest.pipeline import run_feed
    from sample_data.demo_server import DemoFeedServer
    from sample_data.generator import CityGenerator, load_catalogue

    ensure_port_free("127.0.0.1", port)
    clock, scenario = make_demo_clock(speed)
    generator = CityGenerator(load_catalogue(), scenario)
    feed_server = DemoFeedServer(generator, clock, traffic_token=DEMO_TOKEN)
    feeds_url = feed_server.start()
    server = None
    try:
        prepare_data_dir(data_dir, keep=keep)
        settings = demo_settings(data_dir, feeds_url, port=port)
        rt = open_runtime(settings, clock=clock, environ={**os.environ, DEMO_TOKEN_ENV: DEMO_TOKEN})
        console.print(
            f"[bold]cityops demo[/] — {settings.city.name} ({settings.city.name_en}); data in {data_dir}"
        )
        console.print(
            f"demo departmental feeds on {feeds_url}; simulated clock ×{speed:g}, starting "
            f"{rt.clock.now().astimezone(ZoneInfo(settings.city.timezone)):%Y-%m-%d %H:%M}"
        )
        since = clock.now() - DEMO_HISTORY
        with Progress(
            TextColumn("backfill {task.fields[feed]:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for name in settings.feeds:
                task = progress.add_task("", feed=name, total=None)

                def on_progress(_feed: str, done: int, total: int | None, task: Any = task) -> None:
                    progress.update(task, completed=done, total=total)

                report = run_feed(rt, name, trigger="backfill", since=since, on_progress=on_progress)
                progress.update(task, completed=report.rows_fetched, total=report.rows_fetched or 1)
                if report.status == "failed":
                    console.print(f"[red]backfill of {name} failed:[/] {report.error}")
        server = build_server(rt)
        if server.services.scheduler is not None and server.services.alerting is not None:
            from cityops.jobs import snapshot_when_due
            from dashboard.snapshot import last_complete_day

            started = last_complete_day(clock.now(), settings.city.timezone, settings.snapshots.cut_off_time)
            server.services.scheduler.add_job(
                snapshot_when_due,
                "interval",
                seconds=20,
                args=[rt, started],
                id="snapshot:demo",
                max_instances=1,
                coalesce=True,
            )
        secret = fresh_wall_token(settings)
        u = server.url
        console.print(
            f"\n[bold green]wall:[/] {u}/wall   map: {u}/map   explore: {u}/explore   "
            f"warnings: {u}/warnings   feeds: {u}/feeds   reports: {u}/snapshots   health: {u}/healthz",
            highlight=False,
        )
        console.print(f"wall screen with its display token: {u}/wall?token={secret}", highlight=False)
        console.print(
            "viewing needs no sign-in in the demo; to acknowledge or resolve warnings sign in at "
            f"{u}/login as " + ", ".join(f"{n} / {p} ({r})" for n, p, r in DEMO_USERS),
            highlight=False,
        )
        console.print(
            "the daily warning report appears at /snapshots once the simulated clock passes 08:00. "
            "Ctrl-C stops everything."
        )
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("\nstopping…")
    finally:
        if server is not None:
            server.stop()
        feed_server.stop()
