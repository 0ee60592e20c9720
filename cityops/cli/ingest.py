"""`cityops ingest`: pull departmental feeds, list runs, replay a landed payload."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from cityops.base.errors import ConfigError
from cityops.cli.common import (
    STATUS_STYLE,
    ConfigOpt,
    build_progress,
    build_table,
    console,
    local_time_text,
    open_config_runtime,
    parse_city_time,
    text_cell,
)

ingest_app = typer.Typer(
    help="Pull departmental feeds, list runs, replay a landed payload.", no_args_is_help=True
)


@ingest_app.command("run")
def ingest_run(
    feeds: Annotated[
        list[str] | None, typer.Argument(help="Feeds to pull (default: every enabled feed).")
    ] = None,
    config: ConfigOpt = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Backfill from this date/time (city timezone).")
    ] = None,
) -> None:
    """Pull feeds now, print a summary table; exit 1 if any feed failed."""
    from ingest.pipeline import run_feed

    rt = open_config_runtime(config)
    settings = rt.settings
    names = feeds or [n for n, f in settings.feeds.items() if f.enabled]
    unknown = [n for n in names if n not in settings.feeds]
    if unknown:
        raise ConfigError(
            f"unknown feed(s): {', '.join(unknown)}",
            hint=f"configured feeds: {', '.join(settings.feeds) or 'none'}",
        )
    since = parse_city_time(from_, settings.city.timezone) if from_ else None
    reports = []
    with build_progress("{task.fields[feed]:<16}", transient=since is None) as progress:
        for name in names:
            task = progress.add_task("", feed=name, total=None)

            def on_progress(_f: str, done: int, total: int | None, task: Any = task) -> None:
                progress.update(task, completed=done, total=total)

            report = run_feed(
                rt, name, trigger="backfill" if since else "manual", since=since, on_progress=on_progress
            )
            progress.update(task, completed=report.rows_fetched, total=max(report.rows_fetched, 1))
            reports.append(report)
    counts = ("fetched", "inserted", "updated", "unchanged", "rejected", "seconds")
    table = build_table("ingest run", ("feed", "status", *counts, "error"), right=counts)
    for r in reports:
        table.add_row(
            r.feed,
            f"[{STATUS_STYLE.get(r.status, '')}]{r.status}[/]",
            str(r.rows_fetched),
            str(r.rows_inserted),
            str(r.rows_updated),
            str(r.rows_unchanged),
            str(r.rows_rejected),
            f"{r.duration_s:.1f}",
            escape((r.error or "")[:160]),  # department text: never rich markup
        )
    console.print(table)
    rt.warehouse.close()
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@ingest_app.command("list")
def ingest_list(
    config: ConfigOpt = None,
    feed: Annotated[str | None, typer.Option(help="Only this feed's runs.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
) -> None:
    """Feed health and the latest runs."""
    from dashboard.services import Services

    rt = open_config_runtime(config)
    svc = Services(rt)
    health = build_table("feeds", ("feed", "department", "domain", "freshness", "data as of", "last error"))
    colours = {"fresh": "green", "late": "yellow", "stale": "red", "never": "dim"}
    for h in svc.feed_health():
        health.add_row(
            h.feed,
            h.department,
            h.domain,
            f"[{colours[h.freshness]}]{h.freshness}[/]",
            local_time_text(rt.settings, h.last_data_at or h.last_success_at),
            escape(text_cell(h.last_error)[:80]),
        )
    console.print(health)
    runs = rt.warehouse.runs(feed=feed, limit=limit)
    table = build_table(
        "runs (newest first)",
        ("run id", "feed", "trigger", "status", "started", "fetched", "ins", "upd", "rej", "error"),
    )
    for r in runs.to_dict("records"):
        table.add_row(
            r["run_id"],
            r["feed"],
            r["trigger"],
            r["status"],
            local_time_text(rt.settings, r["started_at"]),
            str(r["rows_fetched"]),
            str(r["rows_inserted"]),
            str(r["rows_updated"]),
            str(r["rows_rejected"]),
            escape(text_cell(r["error"])[:80]),
        )
    console.print(table)
    rt.warehouse.close()


@ingest_app.command("replay")
def ingest_replay(
    run_id: Annotated[str, typer.Argument(help="The run whose landed payload to parse again.")],
    config: ConfigOpt = None,
) -> None:
    """Parse a run's landed raw payload again (with the current mapping) and upsert it."""
    from cityops.base.audit import cli_event
    from ingest.pipeline import replay_run

    rt = open_config_runtime(config)
    report = replay_run(rt, run_id)
    rt.warehouse.record_audit(
        cli_event(
            "feed.replay",
            run_id,
            outcome="failed" if report.status == "failed" else "ok",
            at=rt.clock.now(),
            new_run=report.run_id,
            status=report.status,
        )
    )
    console.print(
        f"replay of {run_id} as {report.run_id}: {report.status}; fetched {report.rows_fetched}, "
        f"inserted {report.rows_inserted}, updated {report.rows_updated}, unchanged {report.rows_unchanged}, "
        f"quarantined {report.rows_rejected}" + (f"; error: {escape(report.error)}" if report.error else "")
    )
    rt.warehouse.close()
    if report.status == "failed":
        raise typer.Exit(1)
