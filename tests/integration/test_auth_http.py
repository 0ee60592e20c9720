"""The sign-in gate over real HTTP requests to the app (Flask's test client; a real DuckDB file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cityops.base.auth import DisplayTokens, hash_password
from dashboard.app import create_app
from dashboard.services import Services
from tests.conftest import build_runtime

PASSWORD = "堤防-duty-1"


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[Any]:
    made: list[Any] = []

    def make(anonymous: bool = False) -> Any:
        users = [
            {
                "name": "duty",
                "role": "operator",
                "display_name": "值班员",
                "password_hash": hash_password(PASSWORD),
            }
        ]
        rt = build_runtime(
            tmp_path, {}, extra={"auth": {"users": users}, "server": {"anonymous_viewer": anonymous}}
        )
        made.append(rt)
        app = create_app(Services(rt))
        client = app.server.test_client()
        client.environ_base["HTTP_ORIGIN"] = "http://localhost"  # a browser names the page's site
        client.settings = rt.settings
        client.dash_app = app
        client.runtime = rt
        return client

    yield make
    for rt in made:
        rt.warehouse.close()


def callback_body(
    dash_app: Any, output_part: str, inputs: list[Any] | None = None, state: list[Any] | None = None
) -> dict[str, Any]:
    """The body a browser posts for the callback whose output names ``output_part``, with these
    input (and state) values in the callback's declared order (None for each when not given)."""
    from dash._utils import split_callback_id

    key = next(k for k in dash_app.callback_map if output_part in k)
    spec = dash_app.callback_map[key]
    outputs = split_callback_id(key)
    inputs = [None] * len(spec["inputs"]) if inputs is None else inputs
    state = [None] * len(spec["state"]) if state is None else state
    return {
        "output": key,
        "outputs": outputs,
        "inputs": [dict(i, value=v) for i, v in zip(spec["inputs"], inputs, strict=True)],
        "state": [dict(i, value=v) for i, v in zip(spec["state"], state, strict=True)],
        "changedPropIds": [],
    }


def sign_in(client: Any, name: str = "duty", password: str = PASSWORD, next_path: str = "/feeds") -> Any:
    return client.post("/login", data={"name": name, "password": password, "next": next_path})


def test_pages_need_a_sign_in_and_data_callbacks_are_refused(client_for: Any) -> None:
    client = client_for()
    r = client.get("/feeds?lang=en")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/feeds%3Flang%3Den"
    assert client.post("/_dash-update-component", json={}).status_code == 401
    # what carries no data stays open: health, static assets, the sign-in page itself
    # (health here: no feeds are configured and the database answers, so nothing needs attention)
    assert client.settings.feeds == {}
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json()["status"] == "ok" and r.get_json()["database"] == "ok"
    css = client.get("/assets/cityops.css")
    css.close()  # a file response: close it, as a WSGI server would
    assert css.status_code == 200
    assert "登录" in client.get("/login").get_data(as_text=True)
    # with the database gone, health still answers without a sign-in: 503, "down"
    client.runtime.warehouse.close()
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"] == "down"


def test_sign_in_sets_a_session_and_wrong_passwords_lock_out(client_for: Any) -> None:
    client = client_for()
    r = sign_in(client, password="wrong")
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["Location"] == "/feeds"
    assert client.get("/feeds").status_code == 200
    cookie = client.get_cookie("cityops_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    client.post("/logout")
    assert client.get("/feeds").status_code == 302
    for _ in range(5):
        assert sign_in(client, password="guess").status_code == 401
    r = sign_in(client)  # the right password, but locked for a while after five wrong ones
    assert r.status_code == 429 and "5" in r.get_data(as_text=True)
    # ... from that address only: guessing from elsewhere does not lock the operator out of the console
    r = client.post(
        "/login",
        data={"name": "duty", "password": PASSWORD, "next": "/feeds"},
        environ_base={"REMOTE_ADDR": "10.20.30.40"},
    )
    assert r.status_code == 303


def test_no_open_redirect_after_sign_in(client_for: Any) -> None:
    client = client_for()
    for evil in (
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\x7f/evil.example",
    ):
        r = sign_in(client, next_path=evil)
        assert r.status_code == 303 and r.headers["Location"] == "/wall", evil


def test_sign_in_form_escapes_what_it_echoes(client_for: Any) -> None:
    client = client_for()
    r = sign_in(client, name='"><script>alert(1)</script>', password="x")
    body = r.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_display_token_opens_the_wall_only_and_revocation_never_shows_a_login(client_for: Any) -> None:
    client = client_for()
    tokens = DisplayTokens.for_settings(client.settings)
    _, secret = tokens.create("hall-1")
    r = client.get(f"/wall?token={secret}")
    assert r.status_code == 200
    cookie = client.get_cookie("cityops_display")
    assert cookie is not None and cookie.value == secret and cookie.http_only
    assert client.get("/wall").status_code == 200  # the cookie alone, after the first visit
    assert client.get("/wall/heartbeat").get_json()["principal"] == "display"
    client.get("/_dash-dependencies")  # Dash adds its page router's callback on the first request
    wall_refresh = callback_body(client.dash_app, "wall-clock.children", [1, 1920], ["zh", None])
    assert (
        client.post("/_dash-update-component", json=wall_refresh).status_code == 200
    )  # the wall's data callbacks
    router = callback_body(client.dash_app, "_pages_content.children", ["/wall", ""])
    assert client.post("/_dash-update-component", json=router).status_code == 200
    router["inputs"][0]["value"] = "/warnings"
    assert client.post("/_dash-update-component", json=router).status_code == 401  # not another page's layout
    # Relabelled: "/wall" presented as the pathname at the search's position, "/explore" at the
    # pathname's position under the search's label. Dash passes values by position: refused.
    swapped = callback_body(client.dash_app, "_pages_content.children", ["/explore", "/wall"])
    pathname, search = swapped["inputs"][0], swapped["inputs"][1]
    pathname["property"], search["property"] = search["property"], pathname["property"]
    assert client.post("/_dash-update-component", json=swapped).status_code == 401
    # A wall output named in "outputs" while "output" names another page's callback: refused
    disguised = dict(callback_body(client.dash_app, "feeds-health.children"), outputs=wall_refresh["outputs"])
    assert client.post("/_dash-update-component", json=disguised).status_code == 401
    feeds = callback_body(client.dash_app, "feeds-health.children")
    assert client.post("/_dash-update-component", json=feeds).status_code == 401  # nor another page's data
    assert client.get("/warnings").status_code == 302  # a screen's token opens nothing else
    tokens.revoke("hall-1")
    r = client.get("/wall")
    assert (
        r.status_code == 403
        and "此显示屏未获授权" in r.get_data(as_text=True)
        and "/login" not in r.get_data(as_text=True)
    )
    assert client.get("/wall/heartbeat").status_code == 401  # the running wall reloads into that page
    assert client.post("/_dash-update-component", json=wall_refresh).status_code == 401


def test_anonymous_viewing_when_configured(client_for: Any) -> None:
    client = client_for(anonymous=True)
    assert client.get("/feeds").status_code == 200
    assert client.get("/wall/heartbeat").get_json()["principal"] == "anonymous"
    # a screen whose token was revoked goes off the air even where anyone may look without a token
    tokens = DisplayTokens.for_settings(client.settings)
    _, secret = tokens.create("hall-2")
    assert client.get(f"/wall?token={secret}").status_code == 200
    assert (
        client.get("/warnings").status_code == 200
    )  # the screen's cookie does not take viewing away elsewhere
    tokens.revoke("hall-2")
    assert client.get("/wall").status_code == 403 and client.get("/wall/heartbeat").status_code == 401
    client.delete_cookie("cityops_display")
    assert client.get("/wall").status_code == 200  # a browser without the token is just a viewer
