"""/warnings in a real browser: the console lists the scenario's warnings offline; anonymous visitors
see no actions and cannot act even by posting to Dash directly; the duty operator signs in,
acknowledges, comments and silences, and the wall shows the acknowledgement within a refresh."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
    page.locator("#warnings-audit", has_text="acknowledged: 巡查人员已到场").wait_for(timeout=15_000)
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
    page.locator("#warnings-audit", has_text="comment: 已通知下游镇街").wait_for(timeout=15_000)

    page.fill("#warnings-actions textarea", "维护期间")
    _button(page, "silence").click()  # the default period: 1 h
    page.locator("#warnings-audit", has_text=f"silenced by {DUTY_ACTOR} until").wait_for(timeout=15_000)
    row = _warehouse(ticked_server).warning(wid)
    assert row is not None and row["state"] == "suppressed" and row["silenced_until"] is not None
    until = pd.Timestamp(row["silenced_until"]) - pd.Timestamp(ticked_server.services.now()).tz_convert(None)
    assert until == pd.Timedelta(hours=1)
    audit = _warehouse(ticked_server).warning_transitions(wid)
    assert list(audit["actor"].iloc[-3:]) == [DUTY_ACTOR] * 3
    errors = [e for e in page.console_errors if e != "Map error."]  # the wall's known headless WebGL noise
    assert page.external == [] and errors == [], (page.external, page.console_errors)
