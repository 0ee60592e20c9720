"""What every response says about itself: security headers, the request size limit, HTTPS behind a proxy.

* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` on every response (a wall's
  ``?token=`` never leaves in a Referer).
* A Content-Security-Policy that this app's own scripts satisfy: scripts from this server only, plus the
  digests of Dash's inline scripts; MapLibre's workers from ``blob:``; no plugin, no foreign form
  target. Nothing external is loaded anyway; the policy makes that a rule the browser enforces.
* Framing: ``frame-ancestors 'self'`` (and ``X-Frame-Options: SAMEORIGIN``) on every page, except the
  wall, which ``server.wall_frame_ancestors`` may open to named origins (a county's screen system).
* Bodies above ``server.max_request_mb`` are refused before they are read (413).
* ``server.behind_https``: the reverse proxy's X-Forwarded-For/-Proto/-Host are trusted (one proxy),
  so addresses, the same-origin check and redirects see what the browser sees; cookies are Secure.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.auth import WALL_PATHS


def content_security_policy(script_hashes: list[str], frame_ancestors: list[str]) -> str:
    """The policy of a page that may be framed by ``frame_ancestors`` (besides this site)."""
    scripts = " ".join(["'self'", *(h if h.startswith("'") else f"'{h}'" for h in script_hashes)])
    ancestors = " ".join(["'self'", *frame_ancestors])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            "style-src 'self' 'unsafe-inline'",  # Plotly and MapLibre style their elements inline
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc=)(?:\s[^>]*)?>(.*?)</script>", re.S | re.I)


def document_policy(document: bytes) -> str:
    """The policy of a self-contained HTML document this app wrote (the daily report): its own inline
    scripts, by digest, and nothing else."""
    digests = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode("ascii") + "'"
        for m in _INLINE_SCRIPT.finditer(document)
    ]
    return content_security_policy(digests, [])


def install(server: Flask, settings: Any, dash_app: Any) -> None:
    """Add the headers and limits above to every response of ``server``."""
    server.config["MAX_CONTENT_LENGTH"] = int(settings.server.max_request_mb * 1024 * 1024)
    if settings.server.behind_https:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    wall_origins = list(settings.server.wall_frame_ancestors)
    policies: dict[bool, str] = {}

    def policy(is_wall: bool) -> str:
        # Dash's inline scripts are known once its callbacks are registered: computed at first use.
        if is_wall not in policies:
            hashes = list(dash_app.csp_hashes()) if dash_app is not None else []
            policies[is_wall] = content_security_policy(hashes, wall_origins if is_wall else [])
        return policies[is_wall]

    @server.after_request
    def security_headers(response: Response) -> Response:
        is_wall = request.path in WALL_PATHS
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if "Content-Security-Policy" not in headers:  # a document may carry its own (the report)
            headers["Content-Security-Policy"] = policy(is_wall)
        if not (is_wall and wall_origins):
            headers["X-Frame-Options"] = "SAMEORIGIN"
        if settings.server.behind_https:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return response
