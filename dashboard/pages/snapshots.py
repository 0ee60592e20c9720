"""/snapshots — the archive of daily warning reports: status by day, the offline HTML report, the files
to download, and (administrators) rendering a day again.

The files are served from the snapshot's own directory by ``/snapshots/<day>/<file>``, behind the same
sign-in gate as the pages. Re-rendering runs in a background thread (a report takes seconds to tens of
seconds); the page shows it in progress and the table picks up the result on its next refresh.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dash
import pandas as pd
from dash import ALL, Input, Output, State, dcc, html
from flask import Flask, abort, current_app, request, send_from_directory

from dashboard.auth import current_principal
from dashboard.components import build_header, build_nav, local_time
from dashboard.i18n import t
from dashboard.snapshot import snapshot_dir

log = logging.getLogger("cityops.snapshots")

PREFIX = "snapshots"
ID_INTERVAL = f"{PREFIX}-interval"
ID_TABLE = f"{PREFIX}-table"
ID_LANG = f"{PREFIX}-lang"
ID_MESSAGE = f"{PREFIX}-message"
ID_DAY = f"{PREFIX}-day"
ID_RENDER = f"{PREFIX}-render"
ID_RERENDER = f"{PREFIX}-rerender"
JOBS_KEY = "cityops.snapshot_jobs"
STATUS_CLASS = {"ok": "badge fresh", "partial": "badge late", "failed": "badge stale"}


class RenderJobs:
    """Renders running in the background, one per day at a time (per app, not a module global)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: dict[str, str] = {}  # day → who asked

    def start(self, svc: Any, day: date, actor: str) -> bool:
        key = day.isoformat()
        with self._lock:
            if key in self.running:
                return False
            self.running[key] = actor

        def work() -> None:
            from dashboard.snapshot import render_snapshot

            try:
                result = render_snapshot(svc.runtime, day, trigger=f"rerender by {actor}")
                log.info(
                    "snapshot %s re-rendered by %s: %s %s", key, actor, result.status, result.reason or ""
                )
            except Exception:  # the thread must not die silently: log with the traceback
                log.exception("snapshot %s: re-render by %s failed", key, actor)
            finally:
                with self._lock:
                    self.running.pop(key, None)

        threading.Thread(target=work, name=f"snapshot-{key}", daemon=True).start()
        return True


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):  # a DATE column read into a frame comes back as a Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def manifest_files(directory: Path) -> list[dict[str, Any]]:
    """The files the manifest lists (name, bytes, sha256); empty when there is no readable manifest."""
    try:
        doc = json.loads((directory / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return []
    files = doc.get("files", [])
    if isinstance(files, dict):
        files = [{"path": k, **(v if isinstance(v, dict) else {"sha256": v})} for k, v in files.items()]
    listed = [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]
    return [*listed, {"path": "manifest.json"}]  # the manifest lists the others, not itself


def build_archive(
    records: pd.DataFrame,
    svc: Any,
    lang: str,
    *,
    can_rerender: bool,
    running: dict[str, str],
    files_of: Any = None,
) -> html.Table | html.P:
    """The archive table (pure given its inputs; ``files_of(day)`` lists a day's files)."""
    if records.empty:
        return html.P(t("snapshots.none", lang), className="empty")
    cols = ["day", "status", "reason", "rendered", "warnings", "files"] + (
        ["actions"] if can_rerender else []
    )
    head = html.Thead(html.Tr([html.Th(t(f"snapshots.col.{c}", lang)) for c in cols]))
    body = []
    for rec in records.to_dict("records"):
        day = _day(rec["day"])
        if day is None:
            continue
        key = day.isoformat()
        files = files_of(day) if files_of else []
        base = f"/snapshots/{key}"
        links: list[Any] = []
        if any(f["path"] == "report.html" for f in files):
            links.append(
                html.A(
                    t("snapshots.open_report", lang),
                    href=f"{base}/report.html",
                    target="_blank",
                    className="snap-link report-link",
                )
            )
        if any(f["path"] == "summary.png" for f in files):
            links.append(
                html.A(
                    t("snapshots.summary_image", lang),
                    href=f"{base}/summary.png",
                    target="_blank",
                    className="snap-link",
                )
            )
        if files:
            links.append(
                html.Details(
                    [
                        html.Summary(t("snapshots.download", lang).format(n=len(files))),
                        html.Ul(
                            [
                                html.Li(
                                    html.A(
                                        f["path"],
                                        href=f"{base}/{f['path']}?download=1",
                                        className="mono small",
                                    )
                                )
                                for f in files
                            ],
                            className="snap-files",
                        ),
                    ],
                    className="snap-details",
                )
            )
        status = str(rec["status"])
        cells = [
            html.Td(key, className="mono nowrap"),
            html.Td(
                html.Span(
                    t(f"snapshot.status.{status}", lang) if status in STATUS_CLASS else status,
                    className=STATUS_CLASS.get(status, "badge never"),
                ),
                className="nowrap",
            ),
            html.Td(
                rec["reason"] if isinstance(rec.get("reason"), str) else "",
                className="error-text snap-reason",
            ),
            html.Td(local_time(svc, rec.get("rendered_at")), className="nowrap"),
            html.Td(str(int(rec["warnings"])) if pd.notna(rec.get("warnings")) else "—", className="nowrap"),
            html.Td(links, className="snap-links"),
        ]
        if can_rerender:
            if key in running:
                cells.append(html.Td(t("snapshots.rendering", lang), className="small"))
            else:
                cells.append(
                    html.Td(
                        html.Button(
                            t("snapshots.rerender", lang),
                            id={"type": ID_RERENDER, "day": key},
                            className="replay",
                        )
                    )
                )
        body.append(html.Tr(cells, className=f"row-{status}"))
    return html.Table([head, html.Tbody(body)], className="grid", id=f"{ID_TABLE}-table")


def layout(lang: str = "zh", **_: Any) -> html.Div:
    lang = lang if lang in ("zh", "en") else "zh"
    other = "en" if lang == "zh" else "zh"
    principal = current_principal()
    # Always in the layout (the callback's inputs must exist), shown to administrators only; the
    # callback checks the role again whoever clicks.
    admin = [
        html.Div(
            [
                html.Label(t("snapshots.render_day", lang), htmlFor=ID_DAY),
                dcc.Input(
                    id=ID_DAY, type="text", placeholder="YYYY-MM-DD", debounce=True, className="snap-day"
                ),
                html.Button(t("snapshots.render", lang), id=ID_RENDER, className="replay"),
            ],
            className="snap-admin",
            hidden=not principal.can("rerender"),
        )
    ]
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Interval(id=ID_INTERVAL, interval=10_000),
            build_nav("/snapshots", lang, principal),
            build_header(
                t("snapshots.title", lang),
                lang,
                f"/snapshots?lang={other}",
                subtitle=t("snapshots.subtitle", lang),
            ),
            *admin,
            html.Div(id=ID_MESSAGE, className="action-message", role="status"),
            html.Section(id=ID_TABLE),
        ],
        className="page snapshots-page",
    )


def refresh(_n: int | None, lang: str | None) -> Any:
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    jobs: RenderJobs = current_app.config[JOBS_KEY]
    records = svc.warehouse.snapshots(limit=120)
    return build_archive(
        records,
        svc,
        lang,
        can_rerender=current_principal().can("rerender"),
        running=dict(jobs.running),
        files_of=lambda d: manifest_files(snapshot_dir(svc.settings, d)),
    )


def request_render(day_text: Any, lang: str) -> html.Span:
    """Render ``day`` again in the background — administrators only, checked here on the server."""
    from cityops.base.auth import PermissionDenied, require
    from dashboard.audit_trail import record
    from dashboard.services import services

    principal = current_principal()
    try:
        require(principal, "rerender")
    except PermissionDenied:
        record("snapshot.rerender", str(day_text or "")[:40], outcome="refused")
        return html.Span(t("snapshots.denied", lang), className="error-text")
    svc = services()
    day = _day(day_text)
    today = svc.local(svc.now()).date()
    if day is None or day > today or day < today - timedelta(days=3660):
        return html.Span(
            t("snapshots.bad_day", lang).format(value=str(day_text or "")[:40]), className="error-text"
        )
    jobs: RenderJobs = current_app.config[JOBS_KEY]
    actor = f"{principal.label} ({principal.name})" if principal.label != principal.name else principal.name
    if not jobs.start(svc, day, actor):
        return html.Span(t("snapshots.busy", lang).format(day=day.isoformat()), className="error-text")
    record("snapshot.rerender", day.isoformat())
    return html.Span(t("snapshots.started", lang).format(day=day.isoformat()), className="ok-text")


def on_render(_clicks: Any, _row_clicks: list[int | None], day_text: Any, lang: str | None) -> Any:
    trigger = dash.ctx.triggered_id
    if trigger == ID_RENDER:
        return request_render(day_text, lang or "zh")
    if isinstance(trigger, dict) and any(_row_clicks or []):
        return request_render(trigger["day"], lang or "zh")
    return dash.no_update


_NAME_REFUSED = re.compile(r"[\x00-\x1f\x7f\\]")  # control characters (NUL among them), backslashes
_MAX_NAME_BYTES = 255  # of one part of the path, as file systems allow


def is_report_file_name(name: str) -> bool:
    """Whether ``name`` may name a file inside a day's report folder: a relative path of ordinary
    parts (no ``.``/``..``, no empty part, no control character or backslash, none too long).

    >>> [is_report_file_name(n) for n in ("figures/aqi.png", "../x", "/etc/passwd", "a\\x00b", "a\\\\b")]
    [True, False, False, False, False]
    """
    if not name or _NAME_REFUSED.search(name):
        return False
    parts = name.split("/")
    return all(
        p not in ("", ".", "..") and len(p.encode("utf-8", "surrogatepass")) <= _MAX_NAME_BYTES for p in parts
    )


def serve_file(server: Flask, day: str, name: str) -> Any:
    from dashboard.services import SERVICES_KEY

    parsed = _day(day)
    if parsed is None or parsed.isoformat() != day:
        abort(404)
    # Only renders into the archive are recorded (an --out copy is an export), so a day's files are
    # always in its archive folder: derived from the day, never from a stored path.
    directory = snapshot_dir(server.config[SERVICES_KEY].settings, parsed)
    if not is_report_file_name(name):
        abort(404)
    try:
        inside = (directory / name).resolve().is_relative_to(directory.resolve())
        found = inside and (directory / name).is_file()
    except (OSError, ValueError):  # a name the file system refuses (too long, undecodable): not there
        found = False
    if not found:
        abort(404)
    download = request.args.get("download") == "1"
    response = send_from_directory(directory, name, as_attachment=download, max_age=0)
    if name.endswith(".html") and not download:
        # the report runs its own inline scripts (plotly.js and its figures): allowed by digest
        from dashboard.headers import document_policy

        response.direct_passthrough = False
        response.headers["Content-Security-Policy"] = document_policy(response.get_data())
    return response


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/snapshots", title="每日快报 · cityops", layout=layout)
    app.server.config[JOBS_KEY] = RenderJobs()
    app.server.add_url_rule(
        "/snapshots/<day>/<path:name>", "snapshot_file", lambda day, name: serve_file(app.server, day, name)
    )
    app.callback(Output(ID_TABLE, "children"), Input(ID_INTERVAL, "n_intervals"), State(ID_LANG, "data"))(
        refresh
    )
    app.callback(
        Output(ID_MESSAGE, "children"),
        Input(ID_RENDER, "n_clicks"),
        Input({"type": ID_RERENDER, "day": ALL}, "n_clicks"),
        State(ID_DAY, "value"),
        State(ID_LANG, "data"),
        prevent_initial_call=True,
    )(on_render)
