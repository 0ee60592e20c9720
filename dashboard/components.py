"""Pieces every page shares: the navigation bar with who is signed in, the page header."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dash import dcc, html

from cityops.base.auth import Principal
from cityops.base.times import MISSING_TEXT, aware_utc
from dashboard.i18n import t

PAGES = (
    ("/map", "nav.map"),
    ("/explore", "nav.explore"),
    ("/warnings", "nav.warnings"),
    ("/feeds", "nav.feeds"),
    ("/snapshots", "nav.snapshots"),
    ("/wall", "nav.wall"),
)
# Pages only some roles may open: linked only for them (the page checks the role again).
ADMIN_PAGES = (("/notifications", "nav.notifications"),)


def build_nav(current: str, lang: str, principal: Principal, query: str = "") -> html.Nav:
    """Links to the pages (the current one marked) and the user's sign-in state. Signing in or out
    returns to ``current`` with its ``query`` (``?id=…``); nav.js keeps that in step with the address
    bar when a page rewrites it in place."""
    here = current + query
    links = [
        html.A(
            t(key, lang),
            href=f"{path}?lang={lang}",
            className="nav-link current" if path == current else "nav-link",
        )
        for path, key in PAGES
        + (ADMIN_PAGES if principal.can("notify_log") else ())
        + ((("/audit", "nav.audit"),) if principal.can("audit") else ())
    ]
    if principal.kind == "user":
        who = html.Span(
            [
                html.Span(principal.label, className="nav-user-name"),
                html.Span(t(f"role.{principal.role}", lang), className="nav-role"),
            ],
            className="nav-user",
            id="nav-user",
        )
        # Signing out changes something: a same-origin POST, never a link another site could follow.
        action: Any = html.Form(
            [
                html.Button(t("auth.sign_out", lang), type="submit", className="nav-auth", id="nav-sign-out"),
                dcc.Input(type="hidden", name="next", value=here, id="nav-sign-out-next"),
            ],
            method="POST",
            action=f"/logout?lang={lang}",
            className="nav-sign-out",
        )
    else:
        who = html.Span(t("auth.anonymous", lang), className="nav-user", id="nav-user")
        action = html.A(
            t("auth.sign_in", lang),
            href=f"/login?next={quote(here)}&lang={lang}",
            className="nav-auth",
            id="nav-sign-in",
        )
    return html.Nav(
        [html.Div(links, className="nav-links"), html.Div([who, action], className="nav-right")],
        className="nav-bar",
    )


def build_header(
    title: str,
    lang: str,
    switch_href: str,
    *,
    clock_id: str | None = None,
    subtitle: str | None = None,
    switch_id: str | None = None,
) -> html.Header:
    """The page's title, its clock (a span a callback fills) or a fixed subtitle, and the language
    switch pointing at ``switch_href`` (the same view in the other language)."""
    clock = html.Span(id=clock_id, className="clock") if clock_id else html.Span(subtitle, className="clock")
    label = t("lang.switch", lang)
    switch = (
        html.A(label, id=switch_id, href=switch_href, className="lang-switch")
        if switch_id
        else html.A(label, href=switch_href, className="lang-switch")
    )
    return html.Header([html.H1(title), clock, switch], className="page-header")


def local_time(svc: Any, value: Any, fmt: str = "%m-%d %H:%M") -> str:
    """A stored time in the city's time (``svc.local``), as tables show it; a dash when missing."""
    at = aware_utc(value)
    return MISSING_TEXT if at is None else svc.local(at).strftime(fmt)
