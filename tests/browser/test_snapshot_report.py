"""The archived report opened from its file in Debian chromium: every figure renders, nothing is
requested from anywhere (not even the host: the report is one file), no console error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cityops.alerting import Alerting, load_rule_pack
from dashboard.snapshot import SnapshotResult, render_snapshot
from sample_data.generator import Scenario
from tests.helpers import REPORT_FIGURES, build_demo_city, wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnapshotResult]:
    scenario = Scenario()
    end = scenario.storm_peak + timedelta(hours=2)  # 08:00 local on 06-15: the cut-off
    with build_demo_city(
        tmp_path_factory.mktemp("report"), now=end, backfill_since=end - timedelta(days=1, hours=9)
    ) as city:
        engine = Alerting(city.runtime, load_rule_pack(city.settings))
        for hours in (-20, -8, -4, -3, -2, -1, 0, 1):
            city.clock.set(scenario.storm_peak + timedelta(hours=hours))
            engine.tick()
        yield render_snapshot(city.runtime, date(2026, 6, 15))


def test_the_report_renders_offline_from_its_file(page: Any, report: SnapshotResult) -> None:
    assert report.status == "ok", report.reason
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1366, "height": 900})
    url = (report.directory / "report.html").as_uri()
    page.goto(url)
    wait_until(
        page,
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(REPORT_FIGURES)}",
        timeout=30_000,
    )
    drawn = page.evaluate("""() => [...document.querySelectorAll('.figure')].map(f => ({
        name: f.dataset.figure,
        svg: f.querySelectorAll('.main-svg').length,
        marks: f.querySelectorAll('.trace, .bars .point, .scatterlayer path, .table').length}))""")
    assert [d["name"] for d in drawn] == list(REPORT_FIGURES)
    assert all(d["svg"] >= 1 and d["marks"] > 0 for d in drawn), drawn
    assert page.locator("#snapshot-status").inner_text().startswith("报告完整")
    assert page.locator("#open-warnings tr").count() > 1
    assert requests == [url], requests  # the file itself, nothing else: no CDN, no fonts, no tiles
    assert errors == []
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "snapshot-report.png"), full_page=True)
    (OUTPUT / "snapshot-summary.png").write_bytes((report.directory / "summary.png").read_bytes())
