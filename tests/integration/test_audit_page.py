"""/audit and the actions it records, over real HTTP requests to the app (Flask's test client, a real
DuckDB file): an administrator reads and exports the log; an operator or a viewer is refused by the
server, on the page's callback and on the export; a warning acknowledged through the page's callback
leaves a row with who, role and address, and a refused one a refused row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cityops.base.audit import AuditEvent
from cityops.base.auth import hash_password
from dashboard.app import create_app
from dashboard.services import Services
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import advance
from tests.conftest import build_runtime
from tests.helpers import water_level_signals
from tests.unit.test_dashboard_warnings import pack

PASSWORD = "审计-log-1"
ORIGIN = {"Origin": "http://localhost"}
T0 = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


def refresh_body(**filters: Any) -> dict[str, Any]:
    inputs = [
        {"id": "audit-dates", "property": "start_date", "value": filters.get("start")},
        {"id": "audit-dates", "property": "end_date", "value": filters.get("end")},
        {"id": "audit-actor", "property": "value", "value": filters.get("actor", "")},
        {"id": "audit-action", "property": "value", "value": filters.get("action", "")},
        {"id": "audit-outcome", "property": "value", "value": filters.get("outcome", "")},
        {"id": "audit-more", "property": "n_clicks", "value": 0},
    ]
    return {
        "output": "..audit-log.children...audit-export.href...audit-more.hidden..",
        "outputs": [
            {"id": "audit-log", "property": "children"},
            {"id": "audit-export", "property": "href"},
            {"id": "audit-more", "property": "hidden"},
        ],
        "inputs": inputs,
        "state": [{"id": "audit-lang", "property": "data", "value": "en"}],
        "changedPropIds": ["audit-actor.value"],
    }


@pytest.fixture
def app_rt(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    users = [
        {"name": n, "role": r, "password_hash": hash_password(PASSWORD)}
        for n, r in (("duty", "operator"), ("boss", "admin"), ("guest", "viewer"))
    ]
    rt = build_runtime(tmp_path, {}, extra={"auth": {"users": users}})
    signals = water_level_signals({"A": (13.4, "源潭", "441802")}, T0)
    result = advance(pack(), {}, evaluate_pack(pack(), signals, pd.DataFrame()), T0)
    rt.warehouse.save_warnings(list(result.states.values()), result.transitions)
    rt.clock.set(T0 + timedelta(minutes=30))
    rt.warehouse.record_audit(
        AuditEvent(
            at=T0 - timedelta(days=1),
            action="auth.sign_in",
            actor='=HYPERLINK("http://evil","<b>x</b>")',
            actor_kind="anonymous",
            address="203.0.113.9",
            outcome="refused",
        )
    )
    app = create_app(Services(rt))
    yield app, rt
    rt.warehouse.close()


def sign_in(client: Any, name: str) -> None:
    r = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/audit"}, headers=ORIGIN)
    assert r.status_code == 303, r.get_data(as_text=True)[:300]


def _warning_id(rt: Any) -> str:
    return str(rt.warehouse.warnings(limit=10)["warning_id"].iloc[0])


def _act(client: Any, action: str, wid: str) -> Any:
    button = {"action": action, "type": "warnings-act"}
    fields = [
        {"name": n, "type": "warnings-field"} for n in ("note", "assignee", "silence_for", "silence_until")
    ]
    body = {
        "output": "..warnings-message.children...warnings-version.data..."
        + json.dumps({"name": ["ALL"], "type": "warnings-field"}, separators=(",", ":"))
        + ".value..",
        "outputs": [
            {"id": "warnings-message", "property": "children"},
            {"id": "warnings-version", "property": "data"},
            [{"id": f, "property": "value"} for f in fields],
        ],
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        "state": [
            [
                {"id": f, "property": "value", "value": "现场确认" if f["name"] == "note" else ""}
                for f in fields
            ],
            [{"id": f, "property": "id", "value": f} for f in fields],
            {"id": "warnings-selected", "property": "data", "value": wid},
            {"id": "warnings-lang", "property": "data", "value": "en"},
            {"id": "warnings-version", "property": "data", "value": 0},
        ],
    }
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


def test_an_operator_acknowledges_and_a_viewer_is_refused_both_recorded(app_rt: tuple[Any, Any]) -> None:
    app, rt = app_rt
    wid = _warning_id(rt)
    viewer = app.server.test_client()
    sign_in(viewer, "guest")
    r = _act(viewer, "acknowledge", wid)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert rt.warehouse.warning(wid)["state"] == "active"
    refused = rt.warehouse.audit_events(action="warning")
    assert len(refused) == 1
    row = refused.iloc[0]
    assert (row["action"], row["actor"], row["role"], row["outcome"], row["subject"], row["address"]) == (
        "warning.acknowledge",
        "guest",
        "viewer",
        "refused",
        wid,
        "127.0.0.1",
    )

    duty = app.server.test_client()
    sign_in(duty, "duty")
    r = _act(duty, "acknowledge", wid)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert rt.warehouse.warning(wid)["state"] == "acknowledged"
    done = rt.warehouse.audit_events(action="warning.acknowledge", outcome="ok")
    assert len(done) == 1
    row = done.iloc[0]
    assert (row["actor"], row["role"], row["actor_kind"], row["subject"]) == ("duty", "operator", "user", wid)
    assert json.loads(row["detail"])["note"] == "现场确认"
    assert row["at"].to_pydatetime() == (T0 + timedelta(minutes=30)).replace(tzinfo=None)  # the app's clock


def test_an_administrator_reads_filters_and_exports_the_log(app_rt: tuple[Any, Any]) -> None:
    app, _ = app_rt
    client = app.server.test_client()
    sign_in(client, "boss")
    assert client.get("/audit").status_code == 200
    r = client.post("/_dash-update-component", json=refresh_body(), headers=ORIGIN)
    assert r.status_code == 200
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert "203.0.113.9" in text and "auth.sign_in" in text
    assert "2026-06-14 09:00:00" in text  # the city's time
    assert '"children": "=HYPERLINK(\\"http://evil\\",\\"<b>x</b>\\")"' in text  # text, never markup
    assert "boss" in text  # the administrator's own sign-in is in the log too

    # Filters: a day in the city's calendar, an outcome; the export link carries them.
    r = client.post(
        "/_dash-update-component",
        json=refresh_body(start="2026-06-14", end="2026-06-14", outcome="refused"),
        headers=ORIGIN,
    )
    doc = r.get_json()["response"]
    assert "203.0.113.9" in json.dumps(doc) and "boss" not in json.dumps(doc["audit-log"])
    href = doc["audit-export"]["href"]
    assert href == "/audit/export.csv?start=2026-06-14&end=2026-06-14&outcome=refused"

    export = client.get(href)
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    body = export.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["actor"] == '\'=HYPERLINK("http://evil","<b>x</b>")'  # neutralised: no formula
    assert rows[0]["time_local"] == "2026-06-14 09:00:00" and rows[0]["timezone"] == "Asia/Shanghai"
    everything = list(
        csv.DictReader(io.StringIO(client.get("/audit/export.csv").get_data().decode("utf-8-sig")))
    )
    assert {"auth.sign_in"} <= {r["action"] for r in everything} and len(everything) >= 2


@pytest.mark.parametrize("name", ["duty", "guest"])
def test_others_are_refused_the_log_and_the_export_by_the_server(app_rt: tuple[Any, Any], name: str) -> None:
    app, _ = app_rt
    client = app.server.test_client()
    sign_in(client, name)
    assert client.get("/audit").status_code == 200  # the page opens; its data does not
    r = client.post("/_dash-update-component", json=refresh_body(), headers=ORIGIN)
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "needs the admin role" in text and "203.0.113.9" not in text
    export = client.get("/audit/export.csv")
    assert export.status_code == 403 and b"203.0.113.9" not in export.get_data()


def test_nobody_signed_in_gets_nothing(app_rt: tuple[Any, Any]) -> None:
    app, _ = app_rt
    client = app.server.test_client()
    assert client.get("/audit").status_code == 302
    assert client.get("/audit/export.csv").status_code == 302
    assert client.post("/_dash-update-component", json=refresh_body(), headers=ORIGIN).status_code == 401
