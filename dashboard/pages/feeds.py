"""/feeds — feed health, recent runs and quarantined rows, for the data administrator."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import dash
import pandas as pd
from dash import ALL, Input, Output, State, dcc, html

from cityops.base.redact import redact_text
from dashboard.auth import current_principal
from dashboard.components import build_header, build_nav, local_time
from dashboard.i18n import t, t_or
from ingest.health import FeedHealth
from ingest.reasons import parse_reasons
from ingest.sources import feed_secrets

PREFIX = "feeds"
ID_INTERVAL = f"{PREFIX}-interval"
ID_TABLE = f"{PREFIX}-health"
ID_RUNS = f"{PREFIX}-runs"
ID_QUARANTINE = f"{PREFIX}-quarantine"
ID_LANG = f"{PREFIX}-lang"
ID_CLOCK = f"{PREFIX}-clock"
ID_FEED = f"{PREFIX}-feed"
ID_REPLAY = f"{PREFIX}-replay"
ID_MESSAGE = f"{PREFIX}-message"

log = logging.getLogger("cityops.feeds")

FRESHNESS_CLASS = {
    "fresh": "badge fresh",
    "late": "badge late",
    "stale": "badge stale",
    "never": "badge never",
}


def format_span(span: timedelta, lang: str) -> str:
    """A duration as people read it on a status table: 45 s, 12 min, 3.5 h, 2.1 d."""
    seconds = span.total_seconds()
    if seconds < 90:
        return f"{seconds:.0f}{t('unit.s', lang)}"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}{t('unit.min', lang)}"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}{t('unit.h', lang)}"
    return f"{seconds / 86400:.1f}{t('unit.d', lang)}"


def shown_error(text: Any, secrets: Iterable[str] = ()) -> str:
    """A run's error as the page shows it: no URL's query values or user-info, no configured secret
    (the warehouse keeps them out already; this holds for records written before it did)."""
    return redact_text(text, secrets) if isinstance(text, str) and text else ""


def build_health_table(
    health: list[FeedHealth],
    last_runs: pd.DataFrame,
    svc: Any,
    lang: str,
    *,
    secrets: Iterable[str] = (),
) -> html.Table | html.P:
    """The feed health table as a component tree (pure given its inputs; ``last_runs``: one per feed;
    ``secrets``: values masked in the errors shown)."""
    if not health:
        return html.P(t("feeds.none", lang), className="empty")
    last_by_feed = {}
    for rec in last_runs.to_dict("records"):
        last_by_feed[rec["feed"]] = rec
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(f"feeds.col.{k}", lang))
                for k in (
                    "feed",
                    "department",
                    "domain",
                    "freshness",
                    "data_as_of",
                    "lag",
                    "last_success",
                    "last_run",
                    "rows",
                    "error",
                )
            ]
        )
    )
    body = []
    for h in health:
        run = last_by_feed.get(h.feed, {})
        status = run.get("status")
        body.append(
            html.Tr(
                [
                    html.Td(h.feed, className="mono"),
                    html.Td(h.department),
                    html.Td(t_or(f"domain.{h.domain}", lang, h.domain)),
                    html.Td(
                        html.Span(t(f"freshness.{h.freshness}", lang), className=FRESHNESS_CLASS[h.freshness])
                    ),
                    html.Td(local_time(svc, h.last_data_at or h.last_success_at)),
                    html.Td(
                        f"{format_span(h.age, lang)} / {format_span(h.cadence, lang)}"
                        if h.age is not None
                        else "—",
                        title=t("feeds.lag_hint", lang),
                        className="nowrap",
                    ),
                    html.Td(local_time(svc, h.last_success_at)),
                    html.Td(
                        f"{local_time(svc, run.get('started_at'))} "
                        f"{t(f'status.{status}', lang) if status else ''}"
                    ),
                    html.Td(
                        f"{int(run.get('rows_inserted', 0) + run.get('rows_updated', 0))} / "
                        f"{int(run.get('rows_rejected', 0))}"
                        if run
                        else "—"
                    ),
                    html.Td(
                        [
                            shown_error(h.last_error, secrets),
                            # runs that could not start: the previous one was still going
                            html.Div(
                                t("feeds.skipped_runs", lang).format(n=h.skipped_runs),
                                className="skipped-runs",
                            )
                            if h.skipped_runs
                            else None,
                        ],
                        className="error-text",
                    ),
                ],
                className=f"row-{h.freshness}",
            )
        )
    return html.Table([head, html.Tbody(body)], className="grid", id=f"{ID_TABLE}-table")


def replay_button_id(run_id: str) -> dict[str, str]:
    return {"type": ID_REPLAY, "run": run_id}


def build_runs_table(
    runs: pd.DataFrame, svc: Any, lang: str, *, can_replay: bool = False, secrets: Iterable[str] = ()
) -> html.Table:
    """Recent runs; an administrator gets a replay button on every run that landed a payload."""
    cols = ("run", "status", "started", "duration", "fetched", "inserted", "updated", "rejected", "error")
    head = html.Thead(
        html.Tr([html.Th(t(f"feeds.col.{c}", lang)) for c in cols] + ([html.Th("")] if can_replay else []))
    )
    body = []
    for rec in runs.to_dict("records"):
        replay = []
        if can_replay:
            landed = (
                isinstance(rec.get("raw_path"), str)
                and rec["status"] != "running"
                and rec["rows_fetched"] > 0
            )
            replay = [
                html.Td(
                    html.Button(
                        t("feeds.replay", lang),
                        id=replay_button_id(rec["run_id"]),
                        className="replay",
                        title=t("feeds.replay_hint", lang),
                    )
                    if landed
                    else ""
                )
            ]
        body.append(
            html.Tr(
                [
                    html.Td(rec["run_id"], className="mono"),
                    html.Td(t(f"status.{rec['status']}", lang), className=f"status-{rec['status']}"),
                    html.Td(local_time(svc, rec["started_at"], "%m-%d %H:%M:%S")),
                    html.Td("—" if pd.isna(rec["duration_s"]) else f"{rec['duration_s']:.1f}s"),
                    html.Td(int(rec["rows_fetched"])),
                    html.Td(int(rec["rows_inserted"])),
                    html.Td(int(rec["rows_updated"])),
                    html.Td(int(rec["rows_rejected"])),
                    html.Td(shown_error(rec["error"], secrets), className="error-text"),
                    *replay,
                ]
            )
        )
    return html.Table([head, html.Tbody(body)], className="grid compact")


def build_quarantine_table(rows: pd.DataFrame, lang: str) -> html.Table | html.P:
    if rows.empty:
        return html.P(t("feeds.no_quarantine", lang), className="empty")
    head = html.Thead(html.Tr([html.Th(t(f"feeds.col.{c}", lang)) for c in ("feed", "row", "reason", "raw")]))
    body = [
        html.Tr(
            [
                html.Td(r["feed"], className="mono"),
                html.Td(int(r["row_number"])),
                html.Td(build_reason(str(r["reason"]), lang)),
                html.Td(str(r["raw_row"])[:300], className="mono small"),
            ]
        )
        for r in rows.to_dict("records")
    ]
    return html.Table([head, html.Tbody(body)], className="grid compact")


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def reason_texts(text: str, lang: str) -> list[str]:
    """Each reason of a quarantine entry in ``lang``: its code translated with its parameters, or its
    plain text when it has no code (or a code this version does not know)."""
    out = []
    for reason in parse_reasons(text):
        template = t_or(f"quarantine.{reason.code}", lang, "") if reason.code else ""
        out.append(template.format_map(_Params(reason.params)) if template else reason.detail)
    return out


def build_reason(text: str, lang: str) -> list[Any]:
    """A quarantine entry's reasons for the data administrator, with the technical detail at hand.
    Department values in the parameters are rendered as text."""
    reasons = parse_reasons(text)
    lines: list[Any] = [html.Div(line) for line in reason_texts(text, lang)]
    if reasons and all(r.cell for r in reasons):
        lines.append(html.Div(t("feeds.row_landed", lang), className="muted small"))
    elif any(r.code for r in reasons):
        lines.append(html.Div(t("feeds.row_refused", lang), className="muted small"))
    if any(r.code for r in reasons):
        detail = "; ".join(r.detail for r in reasons)
        lines.append(
            html.Details(
                [html.Summary(t("feeds.reason_detail", lang)), html.Div(detail, className="mono small")]
            )
        )
    return lines


def stage_name(stage: str, lang: str) -> str:
    """The name of an engine stage (signals, rule, index, tick) in ``lang``."""
    return t_or(f"engine.stage.{stage}", lang, stage)


def build_engine_faults(
    faults: list[dict[str, str]], lang: str, secrets: Iterable[str] = ()
) -> html.Div | None:
    """The warning engine's contained failures (``Services.engine_faults``), or None when it runs
    clean. The error text may quote feed data: it is rendered as text."""
    if not faults:
        return None
    return html.Div(
        [
            html.P(t("feeds.engine_faults", lang), className="error-text"),
            html.Ul(
                [
                    html.Li(
                        f"{stage_name(f['stage'], lang)} · {f['subject']}: {shown_error(f['error'], secrets)}"
                    )
                    for f in faults
                ]
            ),
        ],
        id=f"{PREFIX}-engine-faults",
        className="engine-faults",
        role="alert",
    )


def layout(lang: str = "zh", **_: Any) -> html.Div:
    lang = lang if lang in ("zh", "en") else "zh"
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Interval(id=ID_INTERVAL, interval=5_000),
            build_nav("/feeds", lang, current_principal(), f"?lang={lang}"),
            build_header(t("feeds.title", lang), lang, f"/feeds?lang={other}", clock_id=ID_CLOCK),
            # each table scrolls inside its own box on a narrow screen, never the page (console.css)
            html.Section(id=ID_TABLE, className="table-scroll"),
            html.H2(t("feeds.runs", lang)),
            html.Div(id=ID_MESSAGE, className="action-message", role="status"),
            html.Section(id=ID_RUNS, className="table-scroll"),
            html.H2(t("feeds.quarantine", lang)),
            html.Section(id=ID_QUARANTINE, className="table-scroll"),
        ],
        className="page feeds-page",
    )


def refresh(_n: int | None, lang: str | None) -> tuple[Any, Any, Any, str]:
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    runs = svc.warehouse.runs(limit=30)
    health = svc.feed_health()
    quarantine = svc.warehouse.quarantined(limit=30)
    now = svc.local(svc.now())
    secrets = feed_secrets(svc.settings, svc.runtime.environ)
    return (
        [
            build_engine_faults(svc.engine_faults(), lang, secrets),
            build_health_table(health, svc.warehouse.last_runs(), svc, lang, secrets=secrets),
        ],
        build_runs_table(runs, svc, lang, can_replay=current_principal().can("replay"), secrets=secrets),
        build_quarantine_table(quarantine, lang),
        f"{t('clock.now', lang)} {now:%Y-%m-%d %H:%M}",
    )


def replay(run_id: str, lang: str) -> html.Span:
    """Replay a landed payload as a new run — administrators only, checked here on the server."""
    from cityops.base.auth import PermissionDenied, require
    from cityops.base.errors import CityopsError
    from dashboard.audit_trail import record
    from dashboard.services import services
    from ingest.pipeline import replay_run

    principal = current_principal()
    try:
        require(principal, "replay")
        report = replay_run(services().runtime, run_id)
    except PermissionDenied:
        record("feed.replay", run_id, outcome="refused")
        return html.Span(t("feeds.replay_denied", lang), className="error-text")
    except CityopsError as exc:
        record("feed.replay", run_id, outcome="failed")  # the error may carry secrets: not recorded
        secrets = feed_secrets(services().settings, services().runtime.environ)
        return html.Span(
            f"{t('feeds.replay_failed', lang)} {run_id}: {shown_error(str(exc), secrets)}",
            className="error-text",
        )
    log.info("replay of %s by %s: %s as %s", run_id, principal.name, report.status, report.run_id)
    outcome = "failed" if report.status == "failed" else "ok"
    record("feed.replay", run_id, outcome=outcome, new_run=report.run_id, status=report.status)
    done = t("feeds.replay_done", lang).format(
        run=run_id,
        new=report.run_id,
        status=t(f"status.{report.status}", lang),
        inserted=report.rows_inserted,
        updated=report.rows_updated,
        rejected=report.rows_rejected,
    )
    return html.Span(done, className="error-text" if report.status == "failed" else "ok-text")


def on_replay(_clicks: list[int | None], lang: str | None) -> Any:
    trigger = dash.ctx.triggered_id
    if not isinstance(trigger, dict) or not any(_clicks or []):
        return dash.no_update
    return replay(str(trigger["run"]), lang or "zh")


def register(app: dash.Dash) -> None:
    """Register the page and its callbacks on ``app`` (per app, not global: tests build several apps)."""
    dash.register_page(__name__, path="/feeds", title="数据接入 · cityops", layout=layout)
    app.callback(
        Output(ID_TABLE, "children"),
        Output(ID_RUNS, "children"),
        Output(ID_QUARANTINE, "children"),
        Output(ID_CLOCK, "children"),
        Input(ID_INTERVAL, "n_intervals"),
        State(ID_LANG, "data"),
    )(refresh)
    app.callback(
        Output(ID_MESSAGE, "children"),
        Input({"type": ID_REPLAY, "run": ALL}, "n_clicks"),
        State(ID_LANG, "data"),
        prevent_initial_call=True,
    )(on_replay)
