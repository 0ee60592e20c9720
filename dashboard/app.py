"""The Dash application factory. No data is read at import time; pages read through the services.

Everything the browser loads is served by this process (Dash's own bundles with ``serve_locally``,
``assets/``), so the app works on an intranet with no internet access.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dash
from dash import Dash, dcc, html
from flask import Flask, Response, jsonify

from dashboard.services import SERVICES_KEY, Services

GLYPHS = Path(__file__).resolve().parent / "assets" / "glyphs"


def glyph_response(stack: str, start: int, end: int) -> Any:
    """A glyph range for MapLibre: the shipped one for the first known font of the stack, else an empty
    (valid) range, so a label never waits on, or reaches for, anything outside this server."""
    from geo.glyphs import empty_range

    if start % 256 or end != start + 255:
        return Response("glyph ranges are 256 codepoints aligned on 256", status=400)
    names = [name.strip() for name in stack.split(",")]
    if len(stack) > 1024 or not all(re.fullmatch(r"[^\x00-\x1f\x7f/\\]{1,63}", n) for n in names):
        return Response("a font stack is font names separated by commas", status=400)
    for name in names:
        path = GLYPHS / name / f"{start}-{end}.pbf"
        if name not in (".", "..") and path.is_file() and path.resolve().is_relative_to(GLYPHS):
            return Response(
                path.read_bytes(),
                mimetype="application/x-protobuf",
                headers={"Cache-Control": "max-age=86400"},
            )
    return Response(
        empty_range(stack.split(",")[0].strip(), start),
        mimetype="application/x-protobuf",
        headers={"Cache-Control": "max-age=86400"},
    )


def not_found(lang: str = "zh", **_: Any) -> html.Div:
    """An unknown address: say so in the user's language, with the way back."""
    from dashboard.auth import current_principal
    from dashboard.components import build_nav
    from dashboard.i18n import t

    lang = lang if lang in ("zh", "en") else "zh"
    return html.Div(
        [
            build_nav("", lang, current_principal()),
            html.H1(t("notfound.title", lang)),
            html.P(t("notfound.hint", lang), className="empty"),
        ],
        className="page not-found",
    )


def create_app(svc: Services) -> Dash:
    server = Flask("cityops")
    server.config[SERVICES_KEY] = svc

    @server.get("/healthz")
    def healthz() -> Any:
        doc = svc.health()
        return jsonify(doc), (503 if doc["status"] == "down" else 200)

    app = Dash(
        "cityops",
        server=server,  # type: ignore[arg-type]  # Dash accepts a Flask app; its hint says bool
        use_pages=True,
        pages_folder="",
        serve_locally=True,
        title="城市运行一网统管",
        update_title=None,  # type: ignore[arg-type]  # None turns the "Updating…" title off, as documented
        suppress_callback_exceptions=True,
        assets_folder=str(Path(__file__).parent / "assets"),
    )
    from dashboard import auth, headers
    from dashboard.pages import audit, citymap, explore, feeds, notifications, snapshots, wall
    from dashboard.pages import warnings as warnings_page

    auth.install(server, svc.settings, svc.runtime.environ, app)
    headers.install(server, svc.settings, app)

    feeds.register(app)
    explore.register(app)
    citymap.register(app)
    wall.register(app)
    snapshots.register(app)
    warnings_page.register(app)
    notifications.register(app)
    audit.register(app)

    @server.get("/map/glyphs/<path:stack>/<int:start>-<int:end>.pbf")
    def glyphs(stack: str, start: int, end: int) -> Any:
        return glyph_response(stack, start, end)

    from dash.exceptions import DependencyException

    # A script path Dash has not registered (a hostile or stale one) is not found, not a server error.
    server.register_error_handler(DependencyException, lambda _exc: Response("not found", status=404))

    dash.register_page(
        "root-redirect", path="/", layout=lambda **_: dcc.Location(id="root-redirect", href="/wall")
    )
    dash.register_page("not_found_404", path="/404", layout=not_found)  # Dash Pages' name for unknown paths
    app.layout = html.Div([dash.page_container], className="app-root")
    return app
