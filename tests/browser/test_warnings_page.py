"""/warnings in a real browser: the console lists the scenario's warnings offline; anonymous visitors
see no actions and cannot act even by posting to Dash directly; the duty operator signs in,
acknowledges, comments and silences, and the wall shows the acknowledgement within a refresh."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd

from cityops.server import Server
from tests.helpers import sign_in, wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
OPEN = ("pending", "active", "acknowledged", "suppressed")
DUTY_ACTOR = "值班员（演示）(duty)"


def _warehouse(server: Server) -> Any:
    return server.services.warehouse


def _active_water_level(server: Server) -> dict[str, Any]:
    """An active river-level warning at 源潭 (past its guaranteed level in the scenario)."""
    frame = _warehouse(server).warnings(limit=1000)
    rows = frame[
        (frame["rule_id"] == "water.level") & (frame["state"] == "active") & (frame["name"] == "源潭")
    ]
    assert len(rows) == 1, frame[["rule_id", "state", "name"]]
    return rows.iloc[0].to_dict()


def _button(page: Any, action: str) -> Any:
    return page.locator(f"button.act-{action}")


def test_console_lists_warnings_offline_most_severe_open_first(
    watched_page: Any, ticked_server: Server
) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{ticked_server.url}/warnings")
    page.locator("#warnings-grid .ag-row").first.wait_for(timeout=30_000)
    # how fresh the data is: the newest observation's time, not the clock's
    from dashboard.freshness import newest_observation

    newest = ticked_server.services.local(newest_observation(ticked_server.services))
    wait_until(page, "(document.querySelector('#warnings-clock') || {}).textContent?.startsWith('数据截至')")
    fresh = page.locator("#warnings-clock").text_content() or ""
    assert fresh.startswith(f"数据截至 {newest:%Y-%m-%d %H:%M}（"), (fresh, newest)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUTPUT / "warnings.png"), full_page=True)

    frame = _warehouse(ticked_server).warnings(limit=5000)
    now = pd.Timestamp(ticked_server.services.now()).tz_convert(None)
    in_range = frame[frame["state"].isin(OPEN) | (frame["resolved_at"] >= now - pd.Timedelta(hours=24))]
    count = page.locator("#warnings-count").inner_text()
    assert re.search(rf"共 {len(in_range)} 条，未关闭 {int(in_range['state'].isin(OPEN).sum())} 条", count), (
        count
    )

    first = page.locator("#warnings-grid .ag-row[row-index='0']").first
    worst = int(in_range[in_range["state"].isin(OPEN)]["level"].min())
    assert ["红色", "橙色", "黄色", "蓝色"][worst - 1] in first.inner_text()
    assert first.locator(".wl-level").count() == 1  # the level cell carries its colour class and its text
    grid = page.locator("#warnings-grid").inner_text()
    assert "源潭" in grid and "生效" in grid

    # Anonymous: no action buttons, a hint to sign in instead.
    assert page.locator("button.act").count() == 0
    assert "需值班员登录" in page.locator("#warnings-actions").inner_text()

    # Selecting a row opens the detail and puts its id in the URL (shareable).
    first.click()
    page.locator("#warnings-detail .warning-head").wait_for(timeout=15_000)
    wid = first.get_attribute("row-id")
    wait_until(page, f"window.location.search.includes('id={wid}')", timeout=10_000)
    assert wid in page.locator("#warnings-detail").inner_text()
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_english_switch(watched_page: Any, ticked_server: Server) -> None:
    page = watched_page
    page.goto(f"{ticked_server.url}/warnings?lang=en")
    page.locator("#warnings-grid .ag-row").first.wait_for(timeout=30_000)
    assert page.locator("h1").inner_text() == "Warning console"
    assert "Sign in as an operator" in page.locator("#warnings-actions").inner_text()
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def _action_callback(page: Any, server: Server) -> dict[str, Any]:
    deps = page.request.get(f"{server.url}/_dash-dependencies").json()
    for cb in deps:
        if any(isinstance(i["id"], str) and "warnings-act" in i["id"] for i in cb["inputs"]):
            return cb
    raise AssertionError("no callback takes the warnings' action buttons as input")


def test_anonymous_post_to_dash_cannot_acknowledge(page: Any, ticked_server: Server) -> None:
    target = _active_water_level(ticked_server)
    wid = target["warning_id"]
    before = len(_warehouse(ticked_server).warning_transitions(wid))
    page.goto(f"{ticked_server.url}/warnings")  # an anonymous visitor's session
    cb = _action_callback(page, ticked_server)
    button = {"action": "acknowledge", "type": "warnings-act"}
    fields = [
        {"name": n, "type": "warnings-field"} for n in ("note", "assignee", "silence_for", "silence_until")
    ]
    body = {
        "output": cb["output"],
        "outputs": [
            {"id": o.split(".")[0], "property": o.split(".")[1]}
            for o in cb["output"].strip(".").split("...")[:2]
        ]
        + [[{"id": f, "property": "value"} for f in fields]],
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        "state": [
            [{"id": f, "property": "value", "value": "forged"} for f in fields],
            [{"id": f, "property": "id", "value": f} for f in fields],
            {"id": "warnings-selected", "property": "data", "value": wid},
            {"id": "warnings-lang", "property": "data", "value": "zh"},
            {"id": "warnings-version", "property": "data", "value": 0},
        ],
    }
    response = page.request.post(
        f"{ticked_server.url}/_dash-update-component",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, response.text()
    shown = response.json()["response"]["warnings-message"]["children"]["props"]["children"]
    assert "无权执行" in shown  # the callback ran and refused
    after = _warehouse(ticked_server).warning(wid)
    assert after is not None and after["state"] == "active" and after["acknowledged_by"] is None
    assert len(_warehouse(ticked_server).warning_transitions(wid)) == before


def test_duty_operator_acknowledges_comments_silences_and_the_wall_follows(
    watched_page: Any, ticked_server: Server
) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1200})
    target = _active_water_level(ticked_server)
    wid = target["warning_id"]
    sign_in(page, ticked_server.url, "duty", "duty-demo", f"/warnings?id={wid}")
    page.locator("#warnings-detail .warning-head").wait_for(timeout=30_000)
    assert "值班员（演示）" in page.locator("#nav-user").inner_text()
    detail = page.locator("#warnings-detail").inner_text()
    assert "源潭" in detail and "water.level" in detail
    ack = _button(page, "acknowledge")
    ack.wait_for(timeout=10_000)
    wait_until(page, "!document.querySelector('button.act-acknowledge').disabled", timeout=15_000)

    page.fill("#warnings-actions textarea", "巡查人员已到场")
    ack.click()
    page.locator("#warnings-message .msg.ok").wait_for(timeout=15_000)
    page.locator("#warnings-audit", has_text="已确认：巡查人员已到场").wait_for(timeout=15_000)
    assert DUTY_ACTOR in page.locator("#warnings-audit").inner_text()
    row = _warehouse(ticked_server).warning(wid)
    assert row is not None and row["state"] == "acknowledged" and row["acknowledged_by"] == DUTY_ACTOR
    page.locator("#warnings-evidence .evidence-map canvas.maplibregl-canvas").wait_for(
        state="attached", timeout=30_000
    )
    page.wait_for_timeout(3000)
    page.screenshot(path=str(OUTPUT / "warnings-detail.png"), full_page=True)
    assert page.locator("button.act-acknowledge").is_disabled()  # acknowledged: nothing more to acknowledge

    # The wall, in the same browser, shows it acknowledged within one of its refreshes.
    page.goto(f"{ticked_server.url}/wall")
    item = page.locator("#wall-warnings .warning-item", has_text=target["summary"])
    item.locator(".acked", has_text="已签收").wait_for(timeout=25_000)

    page.goto(f"{ticked_server.url}/warnings?id={wid}")
    page.locator("#warnings-detail .warning-head").wait_for(timeout=30_000)
    wait_until(page, "!document.querySelector('button.act-comment').disabled", timeout=15_000)
    page.fill("#warnings-actions textarea", "已通知下游镇街")
    _button(page, "comment").click()
    page.locator("#warnings-audit", has_text="备注：已通知下游镇街").wait_for(timeout=15_000)

    page.fill("#warnings-actions textarea", "维护期间")
    _button(page, "silence").click()  # the default period: 1 h
    page.locator("#warnings-audit", has_text=f"{DUTY_ACTOR} 静默至").wait_for(timeout=15_000)
    row = _warehouse(ticked_server).warning(wid)
    assert row is not None and row["state"] == "suppressed" and row["silenced_until"] is not None
    until = pd.Timestamp(row["silenced_until"]) - pd.Timestamp(ticked_server.services.now()).tz_convert(None)
    assert until == pd.Timedelta(hours=1)
    audit = _warehouse(ticked_server).warning_transitions(wid)
    assert list(audit["actor"].iloc[-3:]) == [DUTY_ACTOR] * 3
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


# -- the page as a duty operator uses it: full height, on a phone, signing in where one stands ------

BARE_TEXTS = ("0–0 分钟", "约0分钟", "约 0 分钟", "/ 0", "阈值 0\n", "in ~0 min")


def _box(page: Any, selector: str) -> dict[str, float]:
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, height: r.height, right: r.right, width: r.width}; }",
        selector,
    )


def test_the_grid_fills_the_page_and_follows_the_viewport(watched_page: Any, ticked_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{ticked_server.url}/warnings")
    page.locator("#warnings-grid .ag-row").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    box = _box(page, "#warnings-grid")
    assert box["height"] >= 0.7 * (1080 - box["top"]), box  # not a fixed strip with the screen empty below
    rows = page.locator("#warnings-grid .ag-center-cols-container .ag-row").count()
    assert rows >= min(18, len(_warehouse(ticked_server).warnings(limit=5000))), rows
    page.screenshot(path=str(OUTPUT / "warnings-1920.png"))
    page.set_viewport_size({"width": 1920, "height": 1400})
    wait_until(
        page, f"document.querySelector('#warnings-grid').getBoundingClientRect().height > {box['height']}"
    )
    assert page.console_errors == [] and page.external == [], (page.console_errors, page.external)


def test_the_console_works_on_a_phone(watched_page: Any, ticked_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 390, "height": 844})
    frame = _warehouse(ticked_server).warnings(limit=1000)
    wid = frame[frame["state"] == "active"]["warning_id"].iloc[0]
    sign_in(page, ticked_server.url, "duty", "duty-demo", f"/warnings?id={wid}")
    page.locator("#warnings-detail .warning-head").wait_for(timeout=30_000)
    _button(page, "acknowledge").wait_for(timeout=10_000)
    page.wait_for_timeout(1500)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways page scroll
    for selector in ("#nav-sign-out", "#warnings-grid", "button.act-acknowledge", "button.act-silence"):
        box = _box(page, selector)
        assert box["right"] <= 390 and box["width"] > 0, (selector, box)
    # the nav wraps instead of widening the page, and every link is on screen
    for link in page.locator(".nav-link").all():
        assert link.bounding_box()["x"] + link.bounding_box()["width"] <= 390
    page.screenshot(path=str(OUTPUT / "warnings-phone.png"), full_page=True)
    assert page.console_errors == [] and page.external == [], (page.console_errors, page.external)


def test_signing_in_and_out_returns_to_the_page_and_its_selection(
    watched_page: Any, ticked_server: Server
) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{ticked_server.url}/warnings?lang=en")
    page.locator("#warnings-grid .ag-row[row-index='1']").first.wait_for(timeout=30_000)
    row = page.locator("#warnings-grid .ag-row[row-index='1']").first
    wid = row.get_attribute("row-id")
    row.click()  # the page rewrites its address in place: ?lang=en&id=…
    wait_until(page, f"window.location.search.includes('id={wid}')", timeout=10_000)
    page.click("#nav-sign-in")
    page.fill("#login-name", "duty")
    page.fill("#login-password", "duty-demo")
    page.click("#login-submit")
    page.wait_for_url(f"{ticked_server.url}/warnings?*")
    assert f"id={wid}" in page.url and "lang=en" in page.url, page.url
    page.locator("#warnings-detail .warning-head", has_text=wid).wait_for(timeout=30_000)
    assert (
        "Duty" in page.locator("#nav-user").inner_text() or "值班员" in page.locator("#nav-user").inner_text()
    )

    page.click("#nav-sign-out")  # signing out, then in again, also comes back here
    page.wait_for_url(f"{ticked_server.url}/login?**")
    assert wid in unquote(page.url), page.url  # the sign-in page knows where to return
    page.fill("#login-name", "duty")
    page.fill("#login-password", "duty-demo")
    page.click("#login-submit")
    page.wait_for_url(f"{ticked_server.url}/warnings?*")
    assert f"id={wid}" in page.url, page.url
    page.locator("#warnings-detail .warning-head", has_text=wid).wait_for(timeout=30_000)
    assert page.console_errors == [] and page.external == [], (page.console_errors, page.external)


def _grid_texts(page: Any) -> dict[str, str]:
    """Every row of the grid (it draws only the rows in view: scrolled through)."""
    seen: dict[str, str] = {}
    for _ in range(40):
        for row in page.locator("#warnings-grid .ag-center-cols-container .ag-row").all():
            seen[str(row.get_attribute("row-id"))] = row.inner_text()
        at_end = page.locator("#warnings-grid .ag-body-viewport").evaluate(
            "e => { const end = e.scrollTop + e.clientHeight >= e.scrollHeight - 2;"
            " e.scrollTop += 400; return end; }"
        )
        page.wait_for_timeout(150)
        if at_end:
            break
    return seen


def test_the_storm_s_evidence_says_what_each_number_is(watched_page: Any, ticked_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    frame = _warehouse(ticked_server).warnings(limit=5000)
    for summary in frame["summary"].dropna():
        assert not any(bad in summary for bad in BARE_TEXTS), summary
    # one warning of each rule, in both languages: the detail's facts and the threshold lines' names
    firsts = frame.drop_duplicates("rule_id")
    assert {"k_of_n", "ladder"} <= set(firsts["kind"]), firsts["kind"]
    seen_station_lines = []
    for lang in ("zh", "en"):
        page.goto(f"{ticked_server.url}/warnings?lang={lang}")
        page.locator("#warnings-grid .ag-row").first.wait_for(timeout=30_000)
        rows = _grid_texts(page)
        assert len(rows) >= len(frame[frame["state"].isin(OPEN)]), len(rows)
        for text in rows.values():
            assert not any(bad in text for bad in BARE_TEXTS), text
        for rec in firsts.to_dict("records"):
            page.goto(f"{ticked_server.url}/warnings?lang={lang}&id={rec['warning_id']}")
            detail = page.locator("#warnings-detail .facts").first
            detail.wait_for(timeout=30_000)
            text = detail.inner_text()
            assert not any(bad in text for bad in BARE_TEXTS), text
            if rec["kind"] == "k_of_n":
                lines = page.locator("#warnings-detail .facts ul.plain li").all_inner_texts()
                meant = ("阈值", "触发") if lang == "zh" else ("threshold", "triggers")
                assert lines and all(any(m in line for m in meant) for line in lines), lines
                seen_station_lines += lines
            # the series' legend (once drawn): lines named by station and by what each threshold means
            legend = "#warnings-evidence .evidence-series .legendtext"
            wait_until(
                page,
                f"document.querySelector('{legend}') || document.querySelector('#warnings-evidence-note')"
                ".textContent.length > 0",
                timeout=30_000,
            )
            names = page.locator(legend).all_text_contents()
            for name in names:
                assert not re.fullmatch(r".*阈值 -?[\d.]+|.*threshold -?[\d.]+|m|mm", name), names
    assert any("超警戒水位" in line for line in seen_station_lines), seen_station_lines  # the basin rule
    page.screenshot(path=str(OUTPUT / "warnings-evidence-en.png"))
    assert page.console_errors == [] and page.external == [], (page.console_errors, page.external)
