"""/notifications — the notification delivery log, for administrators: every outbox message (pending, in
flight, delivered, failed) and every direct delivery, newest first, with attempts and the last error.

The role is checked on the server: the layout shows the log's frame to administrators only, and the
callback that reads the log checks again whoever asks. Targets' names and endpoints' errors are shown
as text (Dash escapes it), never as markup.
"""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard.auth import current_principal
from dashboard.components import build_header, build_nav, local_time
from dashboard.i18n import t

PREFIX = "notifications"
ID_INTERVAL = f"{PREFIX}-interval"
ID_LOG = f"{PREFIX}-log"
ID_LANG = f"{PREFIX}-lang"
STATUS_CLASS = {
    "pending": "badge late",
    "sending": "badge never",
    "delivered": "badge fresh",
    "failed": "badge stale",
}
COLUMNS = ("time", "message", "target", "event", "warning", "status", "attempts", "error")
LIMIT = 300


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def build_log(frame: pd.DataFrame, counts: dict[str, int], svc: Any, lang: str) -> html.Div:
    """The log's summary line and table (pure given its inputs)."""
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    summary = html.P(
        t("notifications.counts", lang).format(
            waiting=waiting, failed=counts.get("failed", 0), delivered=counts.get("delivered", 0)
        ),
        className="small",
        id=f"{PREFIX}-counts",
    )
    if frame.empty:
        return html.Div([summary, html.P(t("notifications.none", lang), className="empty")])
    head = html.Thead(html.Tr([html.Th(t(f"notifications.col.{c}", lang)) for c in COLUMNS]))
    rows = []
    for rec in frame.to_dict("records"):
        status = str(rec["status"])
        message = _text(rec["message_id"])
        rows.append(
            html.Tr(
                [
                    html.Td(local_time(svc, rec.get("logged_at"), "%m-%d %H:%M:%S"), className="nowrap"),
                    html.Td(
                        message[:12] or t("notifications.direct", lang), title=message, className="mono small"
                    ),
                    html.Td(_text(rec["target"])),
                    html.Td(_text(rec["event"]), className="nowrap"),
                    html.Td(_text(rec["warning_id"]), className="mono small"),
                    html.Td(
                        html.Span(
                            t(f"notifications.status.{status}", lang) if status in STATUS_CLASS else status,
                            className=STATUS_CLASS.get(status, "badge never"),
                        ),
                        className="nowrap",
                    ),
                    html.Td(str(int(rec["attempts"])) if pd.notna(rec.get("attempts")) else "—"),
                    html.Td(_text(rec["error"]), className="error-text"),
                ],
                className=f"row-{status}",
            )
        )
    return html.Div([summary, html.Table([head, html.Tbody(rows)], className="grid", id=f"{PREFIX}-table")])


def layout(lang: str = "zh", **_: Any) -> html.Div:
    lang = lang if lang in ("zh", "en") else "zh"
    other = "en" if lang == "zh" else "zh"
    principal = current_principal()
    body: Any = (
        html.Section(id=ID_LOG)
        if principal.can("notify_log")
        else html.Section(html.P(t("notifications.denied", lang), className="error-text"), id=ID_LOG)
    )
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Interval(id=ID_INTERVAL, interval=10_000),
            build_nav("/notifications", lang, principal),
            build_header(
                t("notifications.title", lang),
                lang,
                f"/notifications?lang={other}",
                subtitle=t("notifications.subtitle", lang),
            ),
            body,
        ],
        className="page notifications-page",
    )


def refresh(_n: int | None, lang: str | None) -> Any:
    """The log — administrators only, checked here on the server."""
    from cityops.base.auth import PermissionDenied, require
    from dashboard.services import services

    lang = lang if lang in ("zh", "en") else "zh"
    try:
        require(current_principal(), "notify_log")
    except PermissionDenied:
        return html.P(t("notifications.denied", lang), className="error-text")
    svc = services()
    return build_log(svc.warehouse.delivery_log(limit=LIMIT), svc.warehouse.outbox_counts(), svc, lang)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/notifications", title="通知发送记录 · cityops", layout=layout)
    app.callback(Output(ID_LOG, "children"), Input(ID_INTERVAL, "n_intervals"), State(ID_LANG, "data"))(
        refresh
    )
