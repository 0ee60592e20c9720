"""Sign-in and access for the web app: who is asking, on every request, decided on the server.

* A signed-in user holds a session kept on the server (:mod:`cityops.base.access_store`; the cookie
  carries a random secret whose digest is stored). Signing out ends it; so do its idle and absolute
  lifetimes, and a change of the user in the configuration: a removed user, a new role or password
  ends every session of that user at once (the configuration file is watched while serving).
* A wall screen presents a display token (``/wall?token=…`` once; a cookie afterwards). It may read
  the wall, never anything else, never change anything. A revoked or unknown token gets a dark
  "this screen is not authorised" page that keeps retrying — never a login page.
* Everyone else is the anonymous viewer when ``server.anonymous_viewer`` is on, else nobody: pages
  redirect to ``/login``, data callbacks answer 401.

Sign-in and sign-out are same-origin POSTs (Origin, else Referer, must name this site); so is every
other request that changes anything with a browser's credentials. Sign-in attempts have a budget per
address, checked before any password is hashed, and hashing itself is bounded, so that a flood of
attempts cannot starve the wall or ``/healthz``.

Pages hide buttons a role may not use, but that is only courtesy: every change checks the role in the
callback that makes it (:func:`current_principal` + :func:`cityops.base.auth.require`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, redirect, request

from cityops.base.access_store import AccessStore, Lifetimes
from cityops.base.auth import NOBODY, DisplayTokens, Principal, user_fingerprint, verify_password
from cityops.base.errors import CityopsError
from dashboard.documents import render_display_denied_page, render_login_page
from dashboard.i18n import t

log = logging.getLogger("cityops.base.auth")

SESSION_COOKIE = "cityops_session"
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
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_FAILURES, LOCKOUT_S = 5, 300.0
# How long an attempt waits for a free password check before "busy": short, so that attempts from many
# addresses never hold the server's threads (and the wall's and /healthz's requests behind them).
HASH_WAIT_S = 0.2
MAX_WAITING = 2
USERS_CHECK_S = 2.0  # how often the configuration file is looked at for changed users


def current_principal() -> Principal:
    """Who made the current request (set for every request by the gate)."""
    from flask import has_request_context

    return getattr(g, "principal", NOBODY) if has_request_context() else NOBODY


def _audit(action: str, subject: str = "", *, outcome: str = "ok", actor: Any = None, **detail: Any) -> None:
    """Record in the audit log; refused sign-ins in batches, so that a flood costs a request nothing."""
    from dashboard.audit_trail import record

    record(action, subject, outcome=outcome, actor=actor, batched=outcome == "refused", **detail)


# Who acts when the configuration changes or a session runs out: the platform itself.
SYSTEM = SimpleNamespace(name="cityops", role=None, kind="system")


def _typed(name: str) -> Principal:
    """The actor of a refused sign-in: nobody, under the name they typed (clipped)."""
    return Principal(name[:64], None, "anonymous")


class UserDirectory:
    """The configuration's users, re-read when its file changes, so that adding, removing or changing
    a user takes effect without a restart. A file that does not load keeps the users it had."""

    def __init__(self, settings: Any, environ: dict[str, str]) -> None:
        self.path: Path | None = settings.source_path
        self.environ = environ
        self.users = {u.name: u for u in settings.auth.users}
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self.check_every = USERS_CHECK_S
        self._lock = threading.Lock()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat() if self.path is not None else None
        except OSError:
            return None
        return None if st is None else (st.st_mtime_ns, st.st_size)

    def fingerprints(self) -> dict[str, str]:
        return {u.name: user_fingerprint(u.name, u.role, u.password_hash) for u in self.users.values()}

    def refresh(self) -> list[tuple[str, str]]:
        """Re-read the users if the file changed; returns the changes as (action, user name)."""
        if self.path is None or time.monotonic() - self._checked < self.check_every:
            return []
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._file_stamp()
            if stamp is None or stamp == self._stamp:
                return []
            self._stamp = stamp
            from cityops.base.settings import load_settings

            try:
                fresh = {u.name: u for u in load_settings(self.path, environ=self.environ).auth.users}
            except CityopsError as exc:
                log.error("the changed configuration does not load; users stay as they were: %s", exc)
                return []
            before, self.users = self.users, fresh
        changes: list[tuple[str, str]] = []
        for name in sorted(before.keys() | fresh.keys()):
            old, new = before.get(name), fresh.get(name)
            if old is None:
                changes.append(("user.added", name))
            elif new is None:
                changes.append(("user.removed", name))
            else:
                if old.role != new.role:
                    changes.append(("user.role_changed", name))
                if old.password_hash != new.password_hash:
                    changes.append(("user.password_changed", name))
        return changes


class Gate:
    """The access decisions of one app."""

    def __init__(self, settings: Any, store: AccessStore, environ: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.tokens = DisplayTokens(store)
        self.directory = UserDirectory(settings, environ or {})
        auth = settings.auth
        self.lifetimes = Lifetimes(auth.session_idle.total_seconds(), auth.session_lifetime.total_seconds())
        self._failures: dict[str, list[float]] = {}
        self._noted: dict[str, float] = {}
        self._waiting = 0
        self._lock = threading.Lock()
        self.hashing = threading.BoundedSemaphore(settings.server.sign_in_hashing)

    @property
    def users(self) -> dict[str, Any]:
        return self.directory.users

    def end_stale_sessions(self, reason: str) -> None:
        """End the sessions of users who are gone or changed (at start: changed while stopped)."""
        for user, count in self.store.end_stale_sessions(self.directory.fingerprints()).items():
            log.warning("ended %d session(s) of %s: %s", count, user, reason)
            _audit("auth.session_ended", user, actor=SYSTEM, reason=reason, sessions=count)

    def refresh_users(self) -> None:
        changes = self.directory.refresh()
        for action, name in changes:
            log.warning("configuration: %s %s", action, name)
            _audit(action, name, actor=SYSTEM)
        if changes:
            self.end_stale_sessions("the user was removed or their role or password changed")

    def user_principal(self, name: str | None) -> Principal | None:
        user = self.users.get(name or "")
        if user is None:
            return None
        return Principal(user.name, user.role, "user", user.display_name or "")

    def session_principal(self) -> Principal | None:
        """The signed-in user of this request's session, if it is live and its user unchanged."""
        record = self.store.session(request.cookies.get(SESSION_COOKIE), self.lifetimes)
        if record is None:
            return None
        user = self.users.get(record.user)
        if user is None or user_fingerprint(user.name, user.role, user.password_hash) != record.fingerprint:
            self.end_stale_sessions("the user was removed or their role or password changed")
            return None
        return self.user_principal(record.user)

    def presented_token(self) -> str | None:
        return request.args.get(TOKEN_PARAM) or request.cookies.get(DISPLAY_COOKIE)

    def principal(self, *, with_token: bool = True) -> Principal:
        """Who is asking; ``with_token=False``: who they are apart from a screen's display token."""
        if "session_principal" not in g:
            g.session_principal = self.session_principal()
        if g.session_principal is not None:
            return g.session_principal
        display = self.tokens.principal(self.presented_token()) if with_token else None
        if display is not None:
            return display
        if self.settings.server.anonymous_viewer:
            return Principal("anonymous", "viewer", "anonymous", "")
        return NOBODY

    def begin_check(self) -> bool:
        """A place among the password checks (bounded), or False: busy. A few attempts may wait a moment
        for a place; when they already do, the next one is refused at once, so that attempts from many
        addresses never hold the server's threads."""
        with self._lock:
            if self._waiting >= MAX_WAITING:
                return False
            self._waiting += 1
        try:
            return self.hashing.acquire(timeout=HASH_WAIT_S)
        finally:
            with self._lock:
                self._waiting -= 1

    def end_check(self) -> None:
        self.hashing.release()

    def first_in_minute(self, key: str) -> bool:
        """True the first time ``key`` is seen in a minute (to log a flood once, not per request)."""
        now = time.monotonic()
        with self._lock:
            if len(self._noted) > 10_000:  # a flood from very many addresses: forget the old ones
                self._noted = {k: v for k, v in self._noted.items() if now - v < 60}
            if now - self._noted.get(key, -60.0) < 60:
                return False
            self._noted[key] = now
            return True

    # -- sign-in with a lockout against guessing ----------------------------------------------

    def locked(self, name: str, address: str = "") -> bool:
        """Locked after repeated failures for this name *from this address* (so that someone guessing
        elsewhere cannot lock the duty operator out of their own console)."""
        key = f"{name}@{address}"
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < LOCKOUT_S]
            if recent:
                self._failures[key] = recent
            else:
                self._failures.pop(key, None)
            return len(recent) >= MAX_FAILURES

    def check(self, name: str, password: str, address: str = "") -> Principal | None:
        """The user whose password this is, or None. The caller holds a place in :attr:`hashing`."""
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


def same_origin() -> bool:
    """Whether the browser says this request comes from a page of this site: its Origin header, else
    its Referer, names this scheme, host and port. A request that says neither is not trusted."""
    expected = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.lower() == expected
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == expected
    return False


def _flat(items: Any) -> list[dict[str, Any]]:
    """Dash's callback inputs/outputs as a flat list of {id, property, value} (they nest for wildcards)."""
    if isinstance(items, dict):
        return [items]
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        out.extend(_flat(item))
    return out


def is_wall_callback(body: Any, callback_map: dict[str, Any]) -> bool:
    """Whether a Dash callback request only serves the wall. Dash runs the callback that
    ``body["output"]`` names with the inputs' values *by position*, so the decision rests on the
    callback's declaration: its outputs are the wall's, or it is the page router, each input presented
    with the id and property declared at its position, and the path at the router's pathname is /wall.
    A display token may make these and nothing else."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return False
    spec = callback_map.get(body["output"])
    if spec is None:
        return False
    from dash._utils import split_callback_id

    declared_out = split_callback_id(body["output"])
    out_ids = [o["id"] for o in (declared_out if isinstance(declared_out, list) else [declared_out])]
    if not out_ids or not all(isinstance(i, str) for i in out_ids):
        return False
    for part in ("inputs", "state"):
        declared = spec.get(part) or []
        given = body.get(part) or []
        if not isinstance(given, list) or len(given) != len(declared):
            return False
        for want, got in zip(declared, given, strict=True):
            if not isinstance(got, dict) or (got.get("id"), got.get("property")) != (
                want.get("id"),
                want.get("property"),
            ):
                return False
    if all(i.startswith("wall-") for i in out_ids):
        return True
    if all(i.startswith("_pages_") for i in out_ids):
        positions = [
            n
            for n, want in enumerate(spec.get("inputs") or [])
            if want.get("id") == "_pages_location" and want.get("property") == "pathname"
        ]
        return len(positions) == 1 and body["inputs"][positions[0]].get("value") in WALL_PATHS
    return False


def _set_cookie(response: Any, name: str, value: str, max_age: int, secure: bool) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", secure=secure, path="/")


def install(server: Flask, settings: Any, environ: dict[str, str], dash_app: Any = None) -> Gate:
    """Put the gate in front of every request of ``server`` and add /login and /logout."""
    from flask_limiter import Limiter
    from flask_limiter.errors import RateLimitExceeded
    from flask_limiter.util import get_remote_address

    secure = settings.server.behind_https
    callback_map: dict[str, Any] = dash_app.callback_map if dash_app is not None else {}
    gate = Gate(settings, AccessStore.for_settings(settings, environ), environ)
    with server.app_context():  # recorded in the audit log through the app's services
        gate.end_stale_sessions("the user was removed or their role or password changed while stopped")
    limiter = Limiter(
        get_remote_address, app=server, storage_uri="memory://", default_limits=[], headers_enabled=False
    )

    def refuse_cross_site() -> Response:
        path = request.path
        log.warning("refused a cross-site %s %s from %s", request.method, path, request.remote_addr)
        message = t("auth.cross_site", _lang())
        if path in ("/login", "/logout"):
            if path == "/login":
                name = (request.form.get("name") or "")[:64]
                _audit("auth.sign_in", name, outcome="refused", actor=_typed(name), reason="cross-site")
            page = render_login_page(_lang(), "/wall", message)
            return Response(page, status=403, mimetype="text/html")
        return Response(json.dumps({"error": message}), status=403, mimetype="application/json")

    @server.before_request
    def decide() -> Any:
        path = request.path
        gate.refresh_users()
        credentials = request.cookies.get(SESSION_COOKIE) or request.cookies.get(DISPLAY_COOKIE)
        changes = request.method not in SAFE_METHODS
        if changes and (credentials or path in ("/login", "/logout")) and not same_origin():
            return refuse_cross_site()
        if path.startswith(OPEN_PREFIXES):
            g.principal = NOBODY  # Dash's plumbing and static files carry no data
            return None
        principal = g.principal = gate.principal()
        is_wall = path in WALL_PATHS
        if path.startswith("/_dash-update-component"):
            if principal.kind == "display" and not is_wall_callback(
                request.get_json(silent=True), callback_map
            ):
                principal = g.principal = gate.principal(with_token=False)  # the token reads the wall only
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
        if path == "/wall/heartbeat" or request.method not in SAFE_METHODS:
            return Response('{"error": "sign in first"}', status=401, mimetype="application/json")
        if is_wall and gate.presented_token():
            return Response(render_display_denied_page(_lang()), status=403, mimetype="text/html")
        return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}", code=302)

    @server.after_request
    def remember_display(response: Response) -> Response:
        token = request.args.get(TOKEN_PARAM)
        if token and current_principal().kind == "display":
            _set_cookie(response, DISPLAY_COOKIE, token, 10 * 365 * 86400, secure)
        return response

    @server.get("/wall/heartbeat")
    def wall_heartbeat() -> Any:
        return {"ok": True, "principal": current_principal().kind}

    @server.errorhandler(RateLimitExceeded)
    def over_budget(_exc: Any) -> Any:
        name = (request.form.get("name") or "").strip()
        if gate.first_in_minute(f"budget@{request.remote_addr}"):
            # a flood is logged and audited once a minute per address, not once per attempt
            log.warning(
                "sign-in attempts from %s over the budget (%s); more this minute are refused silently",
                request.remote_addr,
                settings.server.sign_in_budget,
            )
            _audit("auth.sign_in", name[:64], outcome="refused", actor=_typed(name), reason="budget")
        page = render_login_page(
            _lang(), _safe_next(request.values.get("next")), t("auth.budget", _lang()), name
        )
        return Response(page, status=429, mimetype="text/html", headers={"Retry-After": "60"})

    @server.get("/login")
    def login_page() -> Any:
        return Response(
            render_login_page(_lang(), _safe_next(request.values.get("next"))), mimetype="text/html"
        )

    @server.post("/login")
    @limiter.limit(settings.server.sign_in_budget)
    def login() -> Any:
        lang = _lang()
        next_path = _safe_next(request.values.get("next"))
        name = (request.form.get("name") or "").strip()
        address = request.remote_addr or ""

        def failed(status: int, message: str, reason: str) -> Response:
            _audit("auth.sign_in", name[:64], outcome="refused", actor=_typed(name), reason=reason)
            return Response(
                render_login_page(lang, next_path, message, name), status=status, mimetype="text/html"
            )

        if gate.locked(name, address):
            log.warning("sign-in for %r locked after repeated failures (from %s)", name[:64], address)
            return failed(429, t("auth.locked", lang), "locked")
        if not gate.begin_check():
            log.warning("sign-in for %r from %s refused: password checks busy", name[:64], address)
            return failed(503, t("auth.busy", lang), "busy")
        try:
            principal = gate.check(name, request.form.get("password") or "", address)
        finally:
            gate.end_check()
        if principal is None:
            log.warning("sign-in refused for %r from %s", name[:64], address)
            return failed(401, t("auth.failed", lang), "wrong name or password")
        user = gate.users[principal.name]
        gate.store.end_session(request.cookies.get(SESSION_COOKIE))  # a new sign-in replaces the old
        secret = gate.store.create_session(
            principal.name, user_fingerprint(user.name, user.role, user.password_hash), address
        )
        g.principal = principal
        log.info("%s (%s) signed in from %s", principal.name, principal.role, address)
        _audit("auth.sign_in", principal.name)
        response = redirect(next_path, code=303)
        _set_cookie(response, SESSION_COOKIE, secret, int(gate.lifetimes.absolute_s), secure)
        return response

    @server.get("/logout")
    def logout_link() -> Any:
        # Signing out is a same-origin POST (the navigation's button): a link, an image or a page of
        # another site must not sign anyone out.
        return Response(
            "sign out with the button in the navigation (POST /logout)",
            status=405,
            headers={"Allow": "POST"},
            mimetype="text/plain",
        )

    @server.post("/logout")
    def logout() -> Any:
        ended = gate.store.end_session(request.cookies.get(SESSION_COOKIE))
        if ended is not None:
            g.principal = gate.user_principal(ended.user) or NOBODY
            _audit("auth.sign_out", ended.user)
        back = request.form.get("next")  # the page signed out from: signing in again returns there
        to = f"/login?lang={_lang()}" + (f"&next={quote(_safe_next(back), safe='')}" if back else "")
        response = redirect(to, code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=secure)
        return response

    server.extensions["cityops_gate"] = gate
    return gate
