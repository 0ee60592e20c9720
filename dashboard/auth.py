"""Sign-in and access for the web app: who is asking, on every request, decided on the server.

* A signed-in user (session cookie, signed) has the role the configuration gives them *now*: removing
  a user from the configuration ends their access at the next request.
* A wall screen presents a display token (``/wall?token=…`` once; a cookie afterwards). It may read,
  never change anything. A revoked or unknown token gets a dark "this screen is not authorised" page
  that keeps retrying — never a login page.
* Everyone else is the anonymous viewer when ``server.anonymous_viewer`` is on, else nobody: pages
  redirect to ``/login``, data callbacks answer 401.

Pages hide buttons a role may not use, but that is only courtesy: every change checks the role in the
callback that makes it (:func:`current_principal` + :func:`cityops.base.auth.require`).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, redirect, request, session

from cityops.base.auth import NOBODY, DisplayTokens, Principal, verify_password
from cityops.base.values import resolve_secret
from dashboard.documents import render_display_denied_page, render_login_page
from dashboard.i18n import t

log = logging.getLogger("cityops.base.auth")

DISPLAY_COOKIE = "cityops_display"
TOKEN_PARAM = "token"
# Served to anyone: the app's static files, its health, the sign-in page and Dash's own plumbing
# (which carries no data: pages' content comes through callbacks, which are checked).
OPEN_PREFIXES = (
    "/assets/",
    "/_dash-component-suites/",
    "/_dash-layout",
    "/_dash-dependencies",
    "/_favicon.ico",
    "/map/glyphs/",
    "/login",
    "/logout",
    "/healthz",
    "/_reload-hash",
)
WALL_PATHS = ("/wall", "/wall/heartbeat")
MAX_FAILURES, LOCKOUT_S = 5, 300.0


def current_principal() -> Principal:
    """Who made the current request (set for every request by the gate)."""
    from flask import has_request_context

    return getattr(g, "principal", NOBODY) if has_request_context() else NOBODY


def session_key(settings: Any, environ: dict[str, str]) -> bytes:
    """The configured key, or a random one kept in the data directory (sessions survive restarts)."""
    if settings.auth.secret_key:
        return resolve_secret(settings.auth.secret_key, environ).encode("utf-8")
    path: Path = settings.storage.session_key_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32), "ascii")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text("ascii").strip().encode("ascii")


class Gate:
    """The access decisions of one app."""

    def __init__(self, settings: Any, tokens: DisplayTokens) -> None:
        self.settings = settings
        self.tokens = tokens
        self.users = {u.name: u for u in settings.auth.users}
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def user_principal(self, name: str | None) -> Principal | None:
        user = self.users.get(name or "")
        if user is None:
            return None
        return Principal(user.name, user.role, "user", user.display_name or "")

    def presented_token(self) -> str | None:
        return request.args.get(TOKEN_PARAM) or request.cookies.get(DISPLAY_COOKIE)

    def principal(self, *, with_token: bool = True) -> Principal:
        """Who is asking; ``with_token=False``: who they are apart from a screen's display token."""
        user = self.user_principal(session.get("user"))
        if user is not None:
            return user
        display = self.tokens.principal(self.presented_token()) if with_token else None
        if display is not None:
            return display
        if self.settings.server.anonymous_viewer:
            return Principal("anonymous", "viewer", "anonymous", "")
        return NOBODY

    # -- sign-in with a lockout against guessing ----------------------------------------------

    def locked(self, name: str, address: str = "") -> bool:
        """Locked after repeated failures for this name *from this address* (so that someone guessing
        elsewhere cannot lock the duty operator out of their own console)."""
        key = f"{name}@{address}"
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < LOCKOUT_S]
            self._failures[key] = recent
            return len(recent) >= MAX_FAILURES

    def check(self, name: str, password: str, address: str = "") -> Principal | None:
        if self.locked(name, address):
            return None
        user = self.users.get(name)
        # Verify against something even for an unknown name, so timing does not tell names apart.
        ok = verify_password(password, user.password_hash if user else _DUMMY_HASH) and user is not None
        if not ok:
            with self._lock:
                self._failures.setdefault(f"{name}@{address}", []).append(time.monotonic())
            return None
        with self._lock:
            self._failures.pop(f"{name}@{address}", None)
        return self.user_principal(name)


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _lang() -> str:
    lang = request.args.get("lang") or request.form.get("lang") or "zh"
    return lang if lang in ("zh", "en") else "zh"


def _safe_next(value: str | None) -> str:
    """Only a path on this server (no open redirect). Browsers drop tabs and newlines from a URL and
    read a backslash as a slash, so ``/\t/evil`` would become ``//evil``: any of those is refused."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/wall"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/wall"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/wall"
    return value


def _flat(items: Any) -> list[dict[str, Any]]:
    """Dash's callback inputs/outputs as a flat list of {id, property, value} (they nest for wildcards)."""
    if isinstance(items, dict):
        return [items]
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        out.extend(_flat(item))
    return out


def is_wall_callback(body: Any) -> bool:
    """Whether a Dash callback request only serves the wall: its outputs are the wall's, or it is the
    page router asked for ``/wall``. A display token may make these and nothing else."""
    if not isinstance(body, dict):
        return False
    ids = [o.get("id") for o in _flat(body.get("outputs"))]
    if ids and all(isinstance(i, str) and i.startswith("wall-") for i in ids):
        return True
    if ids and all(isinstance(i, str) and i.startswith("_pages_") for i in ids):
        paths = [
            i.get("value")
            for i in _flat(body.get("inputs"))
            if i.get("id") == "_pages_location" and i.get("property") == "pathname"
        ]
        return bool(paths) and all(p in WALL_PATHS for p in paths)
    return False


def install(server: Flask, settings: Any, environ: dict[str, str]) -> Gate:
    """Put the gate in front of every request of ``server`` and add /login and /logout."""
    from datetime import timedelta

    server.secret_key = session_key(settings, environ)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="cityops_session",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.auth.session_lifetime.total_seconds()),
    )
    gate = Gate(settings, DisplayTokens(settings.storage.display_tokens_path))

    @server.before_request
    def decide() -> Any:
        path = request.path
        if path.startswith(OPEN_PREFIXES):
            g.principal = NOBODY  # Dash's plumbing and static files carry no data
            return None
        principal = g.principal = gate.principal()
        is_wall = path in WALL_PATHS
        if path.startswith("/_dash-update-component"):
            if principal.kind == "display" and not is_wall_callback(request.get_json(silent=True)):
                principal = g.principal = gate.principal(
                    with_token=False
                )  # the token reads the wall's data only
            if principal.role is None:
                return Response('{"error": "sign in first"}', status=401, mimetype="application/json")
            return None
        if principal.kind == "display" and not is_wall:
            # A display token opens the wall only; elsewhere the browser is whoever it is without it
            # (the anonymous viewer where that is allowed).
            principal = g.principal = gate.principal(with_token=False)
        if is_wall and principal.kind == "anonymous" and gate.presented_token():
            # A screen whose token was revoked says so, even where anyone may look without one: an
            # administrator revoked it to take that screen off the air.
            principal = g.principal = NOBODY
        if principal.role is not None:
            return None
        if path == "/wall/heartbeat" or request.method != "GET":
            return Response('{"error": "sign in first"}', status=401, mimetype="application/json")
        if is_wall and gate.presented_token():
            return Response(render_display_denied_page(_lang()), status=403, mimetype="text/html")
        return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}", code=302)

    @server.after_request
    def remember_display(response: Response) -> Response:
        token = request.args.get(TOKEN_PARAM)
        principal = current_principal()
        if token and principal.kind == "display":
            response.set_cookie(
                DISPLAY_COOKIE, token, max_age=10 * 365 * 86400, httponly=True, samesite="Lax"
            )
        return response

    @server.get("/wall/heartbeat")
    def wall_heartbeat() -> Any:
        return {"ok": True, "principal": current_principal().kind}

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        lang = _lang()
        next_path = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return Response(render_login_page(lang, next_path), mimetype="text/html")
        name = (request.form.get("name") or "").strip()
        address = request.remote_addr or ""
        if gate.locked(name, address):
            log.warning(
                "sign-in for %r locked after repeated failures (from %s)", name[:64], request.remote_addr
            )
            return Response(
                render_login_page(lang, next_path, t("auth.locked", lang), name),
                status=429,
                mimetype="text/html",
            )
        principal = gate.check(name, request.form.get("password") or "", address)
        if principal is None:
            log.warning("sign-in refused for %r from %s", name[:64], request.remote_addr)
            return Response(
                render_login_page(lang, next_path, t("auth.failed", lang), name),
                status=401,
                mimetype="text/html",
            )
        log.info("%s (%s) signed in from %s", principal.name, principal.role, request.remote_addr)
        session.clear()
        session["user"] = principal.name
        session.permanent = True
        return redirect(next_path, code=303)

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        session.clear()
        return redirect(f"/login?lang={_lang()}", code=303)

    return gate
