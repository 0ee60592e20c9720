"""/notifications over real HTTP requests to the app (Flask's test client, a real DuckDB file): the
delivery log is read by administrators only, the role checked on the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cityops.base.auth import hash_password
from cityops.base.warehouse import OutboxItem
from dashboard.app import create_app
from dashboard.services import Services
from tests.conftest import build_runtime
from tests.helpers import site_client

PASSWORD = "通知-log-1"
REFRESH = {
    "output": "notifications-log.children",
    "outputs": {"id": "notifications-log", "property": "children"},
    "inputs": [{"id": "notifications-interval", "property": "n_intervals", "value": 1}],
    "state": [{"id": "notifications-lang", "property": "data", "value": "en"}],
    "changedPropIds": ["notifications-interval.n_intervals"],
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    users = [
        {"name": "duty", "role": "operator", "password_hash": hash_password(PASSWORD)},
        {"name": "boss", "role": "admin", "password_hash": hash_password(PASSWORD)},
    ]
    rt = build_runtime(tmp_path, {}, extra={"auth": {"users": users}})
    payload = json.dumps({"event": "raised", "warning_id": "w-77"})
    rt.warehouse.outbox_enqueue(
        [OutboxItem("m-5f0c2a9e11d4", "<b>防汛群</b>", "raised", "w-77", payload)],
        datetime(2026, 6, 15, 1, 0, tzinfo=UTC),
    )
    app = create_app(Services(rt))
    yield site_client(app.server)
    rt.warehouse.close()


def sign_in(client: Any, name: str) -> None:
    r = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/notifications"})
    assert r.status_code == 303 and r.headers["Location"] == "/notifications"


def test_the_log_needs_a_sign_in(client: Any) -> None:
    assert client.get("/notifications").status_code == 302
    assert client.post("/_dash-update-component", json=REFRESH).status_code == 401


def test_an_operator_is_refused_the_log_by_the_server(client: Any) -> None:
    sign_in(client, "duty")
    assert client.get("/notifications").status_code == 200  # the page opens; its data does not
    r = client.post("/_dash-update-component", json=REFRESH)
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "needs the admin role" in text
    assert "w-77" not in text and "m-5f0c2a9e11d4" not in text


def test_an_administrator_reads_the_log(client: Any) -> None:
    sign_in(client, "boss")
    assert client.get("/notifications").status_code == 200
    r = client.post("/_dash-update-component", json=REFRESH)
    assert r.status_code == 200
    doc = r.get_json()
    text = json.dumps(doc, ensure_ascii=False)
    assert "w-77" in text and "m-5f0c2a9e11d" in text and "pending" in text
    assert "1 waiting, 0 failed, 0 delivered" in text
    # the target's name is a text child of a cell, never markup
    assert '"children": "<b>防汛群</b>"' in text
