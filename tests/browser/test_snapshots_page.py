"""/snapshots in a real browser: the archive lists a rendered day, its report opens offline from the
server, a viewer has no re-render button, and an administrator renders a day again."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from cityops.server import Server
from tests.helpers import sign_in, wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def test_archive_report_and_admin_rerender(watched_page: Any, demo_server: Server) -> None:
    from dashboard.snapshot import render_snapshot

    svc = demo_server.services
    day = svc.local(svc.now() - timedelta(days=1)).date()
    first = render_snapshot(svc.runtime, day, trigger="test")
    record = svc.warehouse.snapshot(day)
    assert record is not None and record["status"] == first.status

    page = watched_page
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{demo_server.url}/snapshots")
    row = page.locator(f"#snapshots-table-table tr:has-text('{day.isoformat()}')")
    row.wait_for(timeout=15_000)
    assert (
        page.locator("#snapshots-table-table button.replay").count() == 0
    )  # the anonymous viewer renders nothing
    assert page.locator(".snap-admin").is_hidden()
    link = row.locator("a.report-link")
    assert link.get_attribute("href") == f"/snapshots/{day.isoformat()}/report.html"
    page.screenshot(path=str(OUTPUT / "snapshots.png"))

    report = page.context.new_page()
    external: list[str] = []
    report.on(
        "request",
        lambda r: (
            external.append(r.url) if not r.url.startswith((demo_server.url, "data:", "blob:")) else None
        ),
    )
    response = report.goto(f"{demo_server.url}/snapshots/{day.isoformat()}/report.html")
    assert response is not None and response.status == 200
    assert report.locator(".js-plotly-plot").count() >= 1 and external == []
    report.close()

    sign_in(page, demo_server.url, "admin", "admin-demo", "/snapshots")
    svc.runtime.clock.advance(timedelta(minutes=1))  # a render's time is the runtime clock's (fixed here)
    button = page.locator(f"#snapshots-table-table tr:has-text('{day.isoformat()}') button.replay")
    button.wait_for(timeout=15_000)
    button.click()
    page.locator("#snapshots-message", has_text=day.isoformat()).wait_for(timeout=15_000)
    deadline = time.monotonic() + 120
    while (again := svc.warehouse.snapshot(day))["rendered_at"] == record[
        "rendered_at"
    ] and time.monotonic() < deadline:
        time.sleep(0.5)  # rendering runs in the background
    assert again["rendered_at"] > record["rendered_at"] and "admin" in again["trigger"]
    wait_until(
        page,  # the table picks it up on its next refresh and no longer says "rendering"
        "(d) => { const r = [...document.querySelectorAll('#snapshots-table-table tr')]"
        ".find(x => x.textContent.includes(d));"
        " return !!r && !r.textContent.includes('生成中') && !!r.querySelector('button.replay'); }",
        arg=day.isoformat(),
        timeout=30_000,
    )
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)
