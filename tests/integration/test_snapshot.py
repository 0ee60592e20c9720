"""The daily warning snapshot of demo-scenario days: the feeds ingested through the real pull path from
the demo feed server, the warning engine ticked over the day, the report rendered with the real PNG
export (kaleido + Debian chromium).

Timeline (UTC; local = +8 h). The cut-off is 12:00 local here (a configured value), so the report
for 2026-06-15 covers 06-14 12:00 → 06-15 12:00 local = 06-14 04:00 → 06-15 04:00 UTC: the pollution
episode, the rainstorm and the rivers' rise (源潭 past its guaranteed level at about 02:00 UTC).
The traffic feed's endpoint fails from 06-14 06:00 to 09:00 UTC (an outage of three hours); its data
is caught up after it comes back. The report for 2026-06-13 (06-12 04:00 → 06-13 04:00 UTC) is a
quiet day before the scenario: the engine runs over it and raises nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cityops.alerting import Alerting, load_rule_pack
from cityops.base.clock import FixedClock
from cityops.base.settings import Settings
from cityops.base.warehouse import open_warehouse
from cityops.demo import demo_settings
from dashboard.snapshot import SnapshotResult, render_snapshot, report_external_urls, snapshot_window
from ingest.pipeline import Runtime, run_feed
from sample_data.generator import Scenario
from tests.helpers import REPORT_FIGURES, build_demo_city, run_cityops

SCENARIO = Scenario()
DAY = date(2026, 6, 15)
QUIET_DAY = date(2026, 6, 13)
UTC0 = SCENARIO.start - timedelta(hours=16)  # 06-13 00:00 UTC
OUTAGE = (UTC0 + timedelta(days=1, hours=6), UTC0 + timedelta(days=1, hours=9))  # 06-14 06:00–09:00 UTC
DAY_END = UTC0 + timedelta(days=2, hours=4)  # 06-15 04:00 UTC = 12:00 local


@dataclass
class Scene:
    rt: Runtime
    result: SnapshotResult
    quiet: SnapshotResult
    tmp: Path


def _tick_times() -> list[datetime]:
    quiet = [UTC0 - timedelta(days=1) + timedelta(hours=h) for h in (6, 12, 18, 24)]  # the quiet day
    day_start = DAY_END - timedelta(days=1)
    calm = [day_start + timedelta(hours=h) for h in range(0, 14, 2)]  # the episode builds
    storm = [day_start + timedelta(hours=14, minutes=40 * i) for i in range(15)]  # 18:00 → 03:20 UTC
    return quiet + calm + storm


def _noon_cut_off_settings(data_dir: Path, feeds_url: str) -> Settings:
    """The demo settings with the daily report cut off at 12:00 local."""
    settings = demo_settings(data_dir, feeds_url)
    return settings.model_copy(
        update={"snapshots": settings.snapshots.model_copy(update={"cut_off": "12:00"})}
    )


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    tmp = tmp_path_factory.mktemp("snapshot")
    with build_demo_city(
        tmp,
        now=OUTAGE[0],
        settings=_noon_cut_off_settings,
        # everything up to the traffic outage, from the quiet day's window and its calendar day's AQI
        backfill_since=UTC0 - timedelta(days=1, hours=9),
    ) as city:
        rt, clock, server = city.runtime, city.clock, city.feed_server
        clock.set(DAY_END)
        city.pull(("air", "water", "rain", "incidents"))  # the other departments deliver to the end
        engine = Alerting(rt, load_rule_pack(city.settings))
        for at in _tick_times():
            clock.set(at)
            if at >= OUTAGE[0]:
                if at < OUTAGE[1]:
                    server.set_fault("/traffic", "404")
                else:
                    server.clear_faults()
                run_feed(rt, "traffic")
            engine.tick()
        server.clear_faults()
        result = render_snapshot(rt, DAY)
        quiet = render_snapshot(rt, QUIET_DAY)
        yield Scene(rt, result, quiet, tmp)


def _manifest(result: SnapshotResult) -> dict:
    return json.loads((result.directory / "manifest.json").read_text("utf-8"))


def test_the_window_is_the_24_hours_ending_at_the_cut_off(scene: Scene) -> None:
    window = snapshot_window(DAY, "Asia/Shanghai", scene.rt.settings.snapshots.cut_off_time)
    assert (window.start, window.end) == (DAY_END - timedelta(days=1), DAY_END)
    summary = scene.result.summary
    assert summary["window"] == {
        "start": "2026-06-14T12:00:00+08:00",
        "end": "2026-06-15T12:00:00+08:00",
        "timezone": "Asia/Shanghai",
    }
    assert scene.result.directory == scene.tmp / "data" / "snapshots" / "2026-06-15"


def test_the_demo_day_shows_its_warnings_and_domains(scene: Scene) -> None:
    result = scene.result
    assert result.status == "ok", result.reason
    stored = json.loads((result.directory / "summary.json").read_text("utf-8"))
    assert stored == json.loads(json.dumps(result.summary, default=str))
    w = stored["warnings"]
    up = w["raised"] + w["escalated"]
    # 源潭 went past its guaranteed level: the water-level warning reached orange in the day.
    assert any(x["rule_id"] == "water.level" and x["name"] == "源潭" and x["level"] == "orange" for x in up)
    assert {x["level"] for x in up if x["rule_id"] == "rain.signal"} >= {"orange", "red"}
    assert any(x["rule_id"] == "air.aqi" for x in w["raised"])
    assert all(x["department"] == "市水利局（水文分局）" for x in up if x["rule_id"] == "water.level")
    assert any(x["district"] == "清城区" for x in up)
    still = {(x["rule_id"], x["name"]): x for x in w["open_at_cut_off"]}
    yuantan = still[("water.level", "源潭")]
    assert yuantan["level"] == "orange" and yuantan["state"] == "active" and yuantan["acknowledged"] is False
    assert 0 < yuantan["age_h"] < 24
    # Per-domain sections, by the methods the standards give.
    assert stored["air"]["day"] == "2026-06-14" and stored["air"]["edition"] == "HJ 633-2026"
    assert stored["air"]["worst"]["aqi"] > 150
    assert stored["water"]["over_guaranteed"] >= 1 and stored["water"]["peaks_over_warning"][0]["name"]
    assert stored["rain"]["heaviest"][0]["total_mm"] > 50
    assert stored["traffic"]["city_peak"]["index"] > 0
    assert stored["incidents"]["reported"] > 0 and stored["incidents"]["response_median_min"] is not None
    levels = pd.read_parquet(result.directory / "data" / "warnings_levels.parquet")
    assert set(levels.columns) == {"event", "level", "count"} and levels["count"].sum() > 0


def test_the_traffic_outage_and_its_effect_are_stated(scene: Scene) -> None:
    feeds = {f["feed"]: f for f in scene.result.summary["feeds"]}
    traffic = feeds["traffic"]
    assert traffic["failed_runs"] >= 2 and "404" in (traffic["last_error"] or "")
    assert len(traffic["outages"]) == 1 and traffic["outage_minutes"] >= 90
    # Local time: from the first tick that found the feed stale (16:00; its data ended 14:00) to its return.
    assert traffic["outages"][0] == "06-14 16:00–06-14 18:00"
    assert all(not f["outages"] for name, f in feeds.items() if name != "traffic")
    manifest = _manifest(scene.result)
    assert {f["feed"]: f["outages"] for f in manifest["feed_health"]}["traffic"] == traffic["outages"]
    periods = pd.read_parquet(scene.result.directory / "data" / "feeds.parquet")
    assert set(periods[periods["feed"] == "traffic"]["kind"]) == {"outage", "failed_run"}
    html = (scene.result.directory / "report.html").read_text("utf-8")
    assert traffic["outages"][0] in html
    # The engine raised the feed-outage warning for traffic during it.
    raised = [x for x in scene.result.summary["warnings"]["raised"] if x["rule_id"] == "feeds.outage"]
    assert raised and raised[0]["at"] == "2026-06-14 16:00" and "交通" in raised[0]["name"]


def test_every_file_is_in_the_manifest_with_its_hash(scene: Scene) -> None:
    directory = scene.result.directory
    manifest = _manifest(scene.result)
    assert manifest["pack_version"] == "national 2026.1 + guangdong 2026.1 + qingyuan 2026.2"
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        assert hashlib.sha256((directory / path).read_bytes()).hexdigest() == entry["sha256"], path
    assert {f"figures/{n}.png" for n in REPORT_FIGURES} | {f"data/{n}.parquet" for n in REPORT_FIGURES} | {
        "summary.png"
    } <= on_disk
    assert (directory / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = scene.rt.warehouse.snapshot(DAY)
    assert (
        record["status"] == "ok" and record["path"] == str(directory) and record["files"] == len(listed) + 1
    )
    assert record["warnings"] == scene.result.summary["warnings"]["total"] > 0


def test_the_report_is_self_contained(scene: Scene) -> None:
    html = (scene.result.directory / "report.html").read_text("utf-8")
    assert report_external_urls(html, scene.rt.settings.map.allowed_hosts) == []
    assert html.count("Plotly.newPlot") == len(REPORT_FIGURES)
    # plotly.js is embedded once (its licence banner opens the bundle)
    assert html.count("plotly.js v") == 1 and "<script src=" not in html


def test_the_render_time_is_the_runtime_clocks(scene: Scene) -> None:
    """The report's "generated at" follows the clock of everything else (in the demo the simulated one,
    here the test's fixed clock, standing at the last tick when the day was rendered), not the host's."""
    rendered = _tick_times()[-1]
    assert scene.result.rendered_at == rendered
    assert _manifest(scene.result)["rendered_at"] == rendered.isoformat(timespec="seconds")
    record = scene.rt.warehouse.snapshot(DAY)
    stored = pd.Timestamp(record["rendered_at"])
    stored = stored.tz_localize("UTC") if stored.tzinfo is None else stored
    assert stored.to_pydatetime() == rendered


def test_the_report_prints_on_light_paper_with_a_page_per_section(scene: Scene) -> None:
    html = (scene.result.directory / "report.html").read_text("utf-8")
    start = html.index("@media print")
    block = html[start : html.index("/* end print */", start)]
    assert "background:#fff" in block.replace(" ", "") and "color:#111" in block.replace(" ", "")
    assert "break-before:page" in block.replace(" ", "") and "break-inside:avoid" in block.replace(" ", "")
    assert "@page" in block
    # every section heading starts a printed page; the figures and tables are not split
    assert html.count('<h2 class="section"') == 5


def test_a_quiet_day_says_so_and_is_not_an_error(scene: Scene) -> None:
    quiet = scene.quiet
    assert quiet.status == "ok", quiet.reason
    assert quiet.summary["warnings"]["none"] is True and quiet.summary["warnings"]["total"] == 0
    html = (quiet.directory / "report.html").read_text("utf-8")
    assert 'id="no-warnings"' in html and "这不是错误" in html
    assert quiet.summary["air"]["day"] == "2026-06-12" and quiet.summary["air"]["stations_with_aqi"] > 0
    assert (quiet.directory / "summary.png").exists()


# The second render runs in a process of its own, on a copy of the database: the modules it imports are
# named from the objects this file imports, so that it renders with the very same code.
_RERENDER = """
import json, sys
from datetime import date, datetime
from pathlib import Path
from {clock} import FixedClock
from {demo} import demo_settings
from {pipeline} import Runtime
from {snapshot} import render_snapshot
from {warehouse} import open_warehouse

args = json.loads(sys.argv[1])
settings = demo_settings(Path(args["data_dir"]), args["feeds_url"])
settings = settings.model_copy(update={{
    "storage": settings.storage.model_copy(update={{"database": Path(args["database"])}}),
    "snapshots": settings.snapshots.model_copy(
        update={{"cut_off": args["cut_off"], "browser": Path(args["browser"])}}
    ),
}})
wh = open_warehouse(settings)
try:
    rt = Runtime(settings, wh, FixedClock(datetime.fromisoformat(args["now"])), {{}})
    day = date.fromisoformat(args["day"])
    result = render_snapshot(rt, day, out_dir=Path(args["out"]), trigger="rerender")
    record = wh.snapshot(day)
    print(json.dumps({{
        "directory": str(result.directory), "status": result.status, "reason": result.reason,
        "record": {{"trigger": record["trigger"], "path": record["path"]}},
    }}))
finally:
    wh.close()
"""


def _render_in_another_process(scene: Scene, tmp_path: Path) -> dict:
    """Render DAY again with `python -c` in a fresh interpreter, against a copy of the database, with
    no browser; returns what it reports (directory, status, reason, the copy's record of the day)."""
    rt = scene.rt
    rt.warehouse.cursor().execute("CHECKPOINT")  # everything in the file itself, then copy it
    copy = tmp_path / "copy" / "cityops.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(rt.settings.storage.database_path, copy)
    script = _RERENDER.format(
        clock=FixedClock.__module__,
        demo=demo_settings.__module__,
        pipeline=Runtime.__module__,
        snapshot=render_snapshot.__module__,
        warehouse=open_warehouse.__module__,
    )
    args = {
        "data_dir": str(tmp_path / "copy"),
        "database": str(copy),
        "feeds_url": "http://127.0.0.1:9",  # never asked: rendering reads the database only
        "cut_off": str(rt.settings.snapshots.cut_off),
        "browser": str(tmp_path / "no-chromium"),
        "now": rt.clock.now().isoformat(),
        "day": DAY.isoformat(),
        "out": str(tmp_path / "again"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_render_is_identical_and_a_missing_browser_is_stated(scene: Scene, tmp_path: Path) -> None:
    rt = scene.rt
    again = _render_in_another_process(scene, tmp_path)
    directory = Path(again["directory"])
    assert directory == tmp_path / "again" / "2026-06-15"
    # No browser: HTML and data are written, the snapshot is partial and says why.
    assert again["status"] == "partial" and "no-chromium" in again["reason"] and "PNG" in again["reason"]
    assert (directory / "report.html").exists() and not list((directory / "figures").glob("*.png"))
    assert not (directory / "summary.png").exists()
    # a copy rendered elsewhere is an export: the archive (of the copied database) keeps the day's own
    assert again["record"]["trigger"] != "rerender" and again["record"]["path"] == str(scene.result.directory)
    assert json.loads((directory / "summary.json").read_text("utf-8"))["status"] == "partial"
    # The data files are byte-identical to the first render, and so are their manifest entries.
    first = {f["path"]: f for f in _manifest(scene.result)["files"] if f["path"].startswith("data/")}
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    second = {f["path"]: f for f in manifest["files"] if f["path"].startswith("data/")}
    assert first == second and len(first) == len(REPORT_FIGURES)  # one data file a figure
    for path in first:
        assert (directory / path).read_bytes() == (scene.result.directory / path).read_bytes()
    summaries = [
        json.loads((d / "summary.json").read_text("utf-8")) for d in (scene.result.directory, directory)
    ]
    for s in summaries:
        s.pop("status"), s.pop("reason")
    assert summaries[0] == summaries[1]
    rt.warehouse.save_snapshot(
        day=DAY,
        status="ok",
        reason=None,
        trigger="manual",
        rendered_at=datetime(2026, 6, 15),
        path=str(scene.result.directory),
        pack_version=scene.result.pack_version,
        files=len(scene.result.files),
        warnings=scene.result.summary["warnings"]["total"],
    )
    listing = rt.warehouse.snapshots()
    assert list(listing["day"]) == sorted(listing["day"], reverse=True) and len(listing) == 2


# -- the command ------------------------------------------------------------------------------------------


def test_cityops_snapshot_as_a_process(tmp_path: Path, feed_server) -> None:
    import textwrap

    from cityops.base.settings import load_settings
    from cityops.base.warehouse import Warehouse

    feed_server.json(
        "/rain",
        [
            {"g": "G1", "t": "2026-06-14T10:00:00+08:00", "mm": 2.5},
            {"g": "G1", "t": "2026-06-15T07:55:00+08:00", "mm": 4.0},
        ],
    )
    config = tmp_path / "cityops.toml"
    config.write_text(
        textwrap.dedent(f"""
        [storage]
        data_dir = "data"
        [feeds.rain]
        department = "气象局"
        domain = "rain"
        cadence = "5m"
        fields = {{ entity_id = "g", ts = "t", rain_mm = "mm" }}
        source = {{ type = "http", url = "{feed_server.url("/rain")}" }}
        """),
        "utf-8",
    )

    def cityops(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cityops(*args, cwd=tmp_path, timeout=180)

    assert cityops("ingest", "run", "--from", "2026-06-14", "--config", str(config)).returncode == 0
    done = cityops("snapshot", "--date", "2026-06-15", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    day_dir = tmp_path / "data" / "snapshots" / "2026-06-15"
    assert str(day_dir) in done.stdout.replace("\n", "") and "status: ok" in done.stdout
    assert "最大累计雨量" in done.stdout and "6.5 mm" in done.stdout
    summary = json.loads((day_dir / "summary.json").read_text("utf-8"))
    assert summary["rain"]["heaviest"][0]["total_mm"] == 6.5 and summary["warnings"]["none"] is True

    # A day whose window has not ended is refused, with the reason.
    future = cityops("snapshot", "--date", "2099-01-01", "--config", str(config))
    assert (
        future.returncode == 2 and "has not ended yet" in future.stderr and "Traceback" not in future.stderr
    )

    # A day with a configured feed but no data is incomplete: exit 1 with the reason.
    empty = cityops("snapshot", "--date", "2026-06-10", "--config", str(config))
    assert empty.returncode == 1 and "status: partial" in empty.stdout and "rain" in empty.stdout

    # While a server holds the database: one line and the fix, no traceback.
    with Warehouse(load_settings(config).storage.database_path):
        locked = cityops("snapshot", "--date", "2026-06-15", "--config", str(config))
    assert locked.returncode == 2 and "Traceback" not in locked.stderr
    assert (
        "in use by another process" in locked.stderr and "fix:" in locked.stderr and "copy" in locked.stderr
    )
