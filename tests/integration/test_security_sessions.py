"""Attacks on sign-in and sessions, each reproduced over HTTP against the app (Flask's test client; real
DuckDB files and the real session store), and each refused.

The configuration is a real TOML file, as a deployment has: editing its users while the app serves is
how an administrator changes a password or a role or removes someone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cityops.base.auth import hash_password
from cityops.base.settings import load_settings
from dashboard.app import create_app
from dashboard.services import Services
from ingest.runtime import Runtime
from tests.conftest import DEFAULT_NOW, FixedClock

SITE = "http://localhost"
PASSWORDS = {"duty": "堤防-duty-1", "chief": "chief-pw-2"}
HASHES = {name: hash_password(pw, n=2**10) for name, pw in PASSWORDS.items()}  # quick to check in tests


def write_config(path: Path, users: dict[str, tuple[str, str]], extra: str = "") -> None:
    """A configuration with these users: name → (role, password hash)."""
    lines = ['[storage]\ndata_dir = "data"\n', extra]
    for name, (role, digest) in users.items():
        lines.append(f'[[auth.users]]\nname = "{name}"\nrole = "{role}"\npassword_hash = "{digest}"\n')
    path.write_text("\n".join(lines), "utf-8")
    stamp = time.time() + 1  # a new modification time even within the file system's resolution
    os.utime(path, (stamp, stamp))


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Any]:
    """``make(database)`` starts one web process of the deployment configured in tmp_path/cityops.toml."""
    config = tmp_path / "cityops.toml"
    write_config(config, {"duty": ("operator", HASHES["duty"]), "chief": ("admin", HASHES["chief"])})
    runtimes: list[Runtime] = []
    services: list[Services] = []

    def make(database: str = "one.duckdb") -> Any:
        from cityops.base.warehouse import open_warehouse

        settings = load_settings(config)
        settings = settings.model_copy(
            update={"storage": settings.storage.model_copy(update={"database": tmp_path / database})}
        )
        rt = Runtime(settings, open_warehouse(settings), FixedClock(DEFAULT_NOW), {}, sleep=lambda s: None)
        runtimes.append(rt)
        client_services = Services(rt)
        services.append(client_services)
        app = create_app(client_services)
        client = app.server.test_client()
        client.environ_base["HTTP_ORIGIN"] = SITE
        client.gate = app.server.extensions["cityops_gate"]
        client.runtime = rt
        client.services = client_services
        client.gate.directory.check_every = 0.0  # look at the file at every request in these tests
        return client

    make.config = config
    yield make
    for svc in services:
        svc.close_audit()
    for rt in runtimes:
        rt.warehouse.close()


def sign_in(client: Any, name: str = "duty", password: str | None = None, **kw: Any) -> Any:
    data = {
        "name": name,
        "password": PASSWORDS.get(name, "") if password is None else password,
        "next": "/feeds",
    }
    return client.post("/login", data=data, **kw)


def session_cookie(client: Any) -> str:
    cookie = client.get_cookie("cityops_session")
    assert cookie is not None
    return cookie.value


def audited(client: Any, action: str) -> list[dict[str, Any]]:
    """The audit log's events of ``action`` in this web process's warehouse, oldest first."""
    client.services.flush_audit()  # refused sign-ins are written in batches, within a second
    frame = client.runtime.warehouse.audit_events(action=action)
    return frame.iloc[::-1].to_dict("records")


def reads_pages(client: Any, cookie: str) -> bool:
    client.set_cookie("cityops_session", cookie)
    return client.get("/feeds").status_code == 200


def test_a_cookie_saved_before_sign_out_reads_nothing_afterwards(deployment: Any) -> None:
    client = deployment()
    assert sign_in(client).status_code == 303
    saved = session_cookie(client)
    assert reads_pages(client, saved)
    assert client.get("/logout").status_code == 405  # sign-out is a POST, never a link
    assert reads_pages(client, saved)
    assert client.post("/logout").status_code == 303
    assert client.get_cookie("cityops_session") is None
    assert not reads_pages(client, saved)  # the attacker's copy of the cookie is worthless
    r = client.post("/_dash-update-component", json={"output": "x.children", "inputs": []})
    assert r.status_code == 401
    signed_in = audited(client, "auth.sign_in")
    assert [(e["actor"], e["role"], e["outcome"], e["address"]) for e in signed_in] == [
        ("duty", "operator", "ok", "127.0.0.1")
    ]
    assert [(e["actor"], e["outcome"]) for e in audited(client, "auth.sign_out")] == [("duty", "ok")]


def test_a_session_is_shared_by_every_web_process_and_ends_on_all(deployment: Any) -> None:
    web1, web2 = deployment("one.duckdb"), deployment("two.duckdb")
    assert sign_in(web1).status_code == 303
    cookie = session_cookie(web1)
    assert reads_pages(web2, cookie)  # signed in on one process, known to the other
    web2.post("/logout")
    assert not reads_pages(web1, cookie)


@pytest.mark.parametrize(
    "change",
    ["password", "role", "removed"],
)
def test_changing_a_user_in_the_configuration_ends_their_sessions_at_once(
    deployment: Any, change: str
) -> None:
    client, other = deployment("one.duckdb"), deployment("two.duckdb")
    assert sign_in(client).status_code == 303 and sign_in(other).status_code == 303
    cookies = [session_cookie(client), session_cookie(other)]
    boss = deployment("three.duckdb")
    assert sign_in(boss, "chief").status_code == 303
    chief = session_cookie(boss)
    users = {"duty": ("operator", HASHES["duty"]), "chief": ("admin", HASHES["chief"])}
    if change == "password":
        users["duty"] = ("operator", hash_password("new-pw-3", n=2**10))
    elif change == "role":
        users["duty"] = ("viewer", HASHES["duty"])
    else:
        del users["duty"]
    write_config(deployment.config, users)
    assert not any(reads_pages(client, c) for c in cookies)  # both sessions, on both processes
    assert reads_pages(boss, chief)  # nobody else's
    action = {"password": "user.password_changed", "role": "user.role_changed", "removed": "user.removed"}
    changed = audited(client, action[change])
    assert [(e["subject"], e["actor_kind"]) for e in changed] == [("duty", "system")]
    ended = audited(client, "auth.session_ended") + audited(other, "auth.session_ended")
    assert {e["subject"] for e in ended} == {"duty"} and sum(
        json.loads(e["detail"])["sessions"] for e in ended
    ) == 2
    if change == "password":
        assert sign_in(client, password="new-pw-3").status_code == 303
    elif change == "role":
        assert sign_in(client).status_code == 303  # signed in again, now as a viewer
        record = client.gate.store.session(session_cookie(client), client.gate.lifetimes)
        assert record is not None and client.gate.user_principal(record.user).role == "viewer"
    else:
        assert sign_in(client).status_code == 401


def test_a_configuration_that_does_not_load_keeps_the_users(deployment: Any) -> None:
    client = deployment()
    assert sign_in(client).status_code == 303
    deployment.config.write_text("[[auth.users]]\nname = 1\n", "utf-8")
    assert client.get("/feeds").status_code == 200  # the session and its user stay


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": None, "Referer": "http://evil.example/page"},
        {"Origin": None},  # says nothing about where it comes from
    ],
)
def test_sign_in_from_another_site_is_refused(deployment: Any, headers: dict[str, str | None]) -> None:
    client = deployment()
    environ = {"HTTP_ORIGIN": headers.get("Origin")} if headers.get("Origin") else {}
    if "Referer" in headers:
        environ["HTTP_REFERER"] = headers["Referer"] or ""
    client.environ_base.pop("HTTP_ORIGIN")
    r = sign_in(client, environ_base=environ)
    assert r.status_code == 403 and client.get_cookie("cityops_session") is None
    assert "拒绝来自其他网站的请求" in r.get_data(as_text=True)
    refused = audited(client, "auth.sign_in")
    assert [(e["actor"], e["outcome"], e["role"]) for e in refused] == [("duty", "refused", None)]
    assert json.loads(refused[0]["detail"]) == {"reason": "cross-site"}
    # the same from this site's own page: a Referer naming it is enough where Origin is absent
    assert sign_in(client, environ_base={"HTTP_REFERER": f"{SITE}/login?next=/feeds"}).status_code == 303


def test_sign_out_and_changes_from_another_site_are_refused(deployment: Any) -> None:
    client = deployment()
    assert sign_in(client).status_code == 303
    evil = {"HTTP_ORIGIN": "http://evil.example"}
    assert client.post("/logout", environ_base=evil).status_code == 403
    assert client.get("/feeds").status_code == 200  # still signed in
    body = {"output": "warnings-action.children", "inputs": []}
    assert client.post("/_dash-update-component", json=body, environ_base=evil).status_code == 403


def test_sign_in_attempts_have_a_budget_per_address_before_any_hashing(
    deployment: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dashboard.auth

    checked: list[str] = []
    real = dashboard.auth.verify_password
    monkeypatch.setattr(dashboard.auth, "verify_password", lambda pw, h: checked.append(pw) or real(pw, h))
    client = deployment()
    codes = [sign_in(client, f"user{i}", "guess").status_code for i in range(25)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}  # "10/minute" by default
    assert len(checked) == 10  # no password was hashed once the budget was spent
    other = {"REMOTE_ADDR": "10.1.2.3"}
    assert sign_in(client, environ_base=other).status_code == 303  # another address has its own


def test_password_checks_are_bounded_and_a_waiting_attempt_is_told_busy(deployment: Any) -> None:
    client = deployment()
    gate = client.gate
    assert gate.hashing.acquire(timeout=1)  # the one allowed check is running
    try:
        started = time.monotonic()
        r = sign_in(client)
        assert r.status_code == 503 and "系统繁忙" in r.get_data(as_text=True)
        assert time.monotonic() - started < 10  # it waited a bounded while, then gave up
    finally:
        gate.hashing.release()
    assert sign_in(client).status_code == 303


def test_a_large_body_is_refused_before_it_is_read(deployment: Any) -> None:
    client = deployment()
    big = b"x" * (5 * 1024 * 1024)  # over the default 4 MB
    r = client.post("/login", data=big, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413
    assert sign_in(client).status_code == 303
    r = client.post("/_dash-update-component", data=big, content_type="application/json")
    assert r.status_code == 413


def test_security_headers_on_every_response(deployment: Any, tmp_path: Path) -> None:
    client = deployment()
    sign_in(client)
    for path in ("/feeds", "/login", "/healthz", "/assets/cityops.css", "/wall", "/no-such-page"):
        r = client.get(path)
        r.close()
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Referrer-Policy"] == "same-origin", path
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in csp and "script-src 'self'" in csp, path
        assert "object-src 'none'" in csp and "http:" not in csp and "https:" not in csp, path
        assert "''" not in csp and "'sha256-" in csp, path  # Dash's inline scripts, each quoted once
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert "Strict-Transport-Security" not in r.headers


def test_the_wall_may_be_framed_by_named_origins_and_https_marks_cookies_secure(deployment: Any) -> None:
    write_config(
        deployment.config,
        {"duty": ("operator", HASHES["duty"])},
        '[server]\nbehind_https = true\nwall_frame_ancestors = ["https://screens.example.gov.cn"]\n',
    )
    client = deployment()
    https = {
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "ops.example.gov.cn",
        "HTTP_X_FORWARDED_FOR": "10.9.8.7",
        "HTTP_ORIGIN": "https://ops.example.gov.cn",
    }
    r = sign_in(client, environ_base=https)
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    wall = client.get("/wall", environ_base=https)
    assert "frame-ancestors 'self' https://screens.example.gov.cn" in wall.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in wall.headers
    page = client.get("/feeds", environ_base=https)
    assert "frame-ancestors 'self';" in page.headers["Content-Security-Policy"] + ";"
    assert "screens.example" not in page.headers["Content-Security-Policy"]
    # the proxy's address for the client is the one the budget and the audit see
    assert client.gate.store.session(session_cookie(client), client.gate.lifetimes).address == "10.9.8.7"
    # plain http through the proxy, claiming to be the https site: not the same origin
    r = sign_in(client, environ_base={**https, "HTTP_ORIGIN": "http://ops.example.gov.cn"})
    assert r.status_code == 403
