"""The Dash application factory. No data is read at import time; pages read through the services.

Everything the browser loads is served by this process (Dash's own bundles with ``serve_locally``,
``assets/``), so the app works on an intranet with no internet access.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, dcc, html
from flask import Flask, current_app, jsonify

from cityops.services import Services

SERVICES_KEY = "cityops.services"


def services() -> Services:
    """The services of the app handling the current request."""
    return current_app.config[SERVICES_KEY]  # type: ignore[no-any-return]


def create_app(svc: Services) -> Dash:
    server = Flask("cityops")
    server.config[SERVICES_KEY] = svc

    @server.get("/healthz")
    def healthz() -> Any:
        doc = svc.health()
        return jsonify(doc), (503 if doc["status"] == "down" else 200)

    app = Dash(
        "cityops",
        server=server,
        use_pages=True,
        pages_folder="",
        serve_locally=True,
        title="城市运行一网统管",
        update_title=None,
        suppress_callback_exceptions=True,
        assets_folder=str(__import__("pathlib").Path(__file__).parent / "assets"),
    )
    from dashboard.pages import feeds

    feeds.register()
    dash.register_page("root-redirect", path="/", layout=lambda **_: dcc.Location(id="root-redirect", href="/feeds"))
    app.layout = html.Div([dash.page_container], className="app-root")
    return app
