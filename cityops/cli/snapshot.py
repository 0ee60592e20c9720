"""`cityops snapshot`: render the daily warning snapshot of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityops.base.errors import CityopsError, DatabaseLockedError
from cityops.cli.common import STATUS_STYLE, ConfigOpt, console, load_config


def snapshot(
    date_: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Report day YYYY-MM-DD (its window ends at snapshots.cut_off "
            "that day). Default: the last complete day.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Parent folder of the day's folder (default <data_dir>/snapshots)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Render the daily warning snapshot of a day; exit 1 when it failed or is incomplete.

    Runs against a stopped server (DuckDB allows one writing process) or a copy of its database."""
    from cityops.base.audit import cli_event
    from dashboard.snapshot import last_complete_day, render_snapshot, snapshot_window

    settings = load_config(config)
    if date_ is None:
        day = last_complete_day(datetime.now(UTC), settings.city.timezone, settings.snapshots.cut_off_time)
    else:
        try:
            day = date.fromisoformat(date_)
        except ValueError:
            raise typer.BadParameter(f"{date_!r} is not a date YYYY-MM-DD", param_hint="--date") from None
        window = snapshot_window(day, settings.city.timezone, settings.snapshots.cut_off_time)
        if window.end > datetime.now(UTC):
            raise CityopsError(
                f"the report of {day} covers the 24 h up to {window.local_end:%Y-%m-%d %H:%M} "
                f"({settings.city.timezone}), which has not ended yet",
                hint="give a day whose cut-off has passed (the default is the last complete day)",
            )
    from cityops.server import open_runtime

    try:
        rt = open_runtime(settings)
    except DatabaseLockedError as exc:
        raise DatabaseLockedError(
            exc.message,
            hint="the running server renders snapshots itself "
            "(snapshots.cron; admins re-render on /snapshots); "
            "for this command stop the server first, "
            "or copy the database file and point storage.database at the copy",
        ) from None
    try:
        result = render_snapshot(rt, day, out_dir=out, trigger="manual")
        rt.warehouse.record_audit(
            cli_event(
                "snapshot.rerender",
                day.isoformat(),
                outcome="failed" if result.status == "failed" else "ok",
                status=result.status,
                out=str(out) if out else None,
            )
        )
    finally:
        rt.warehouse.close()
    console.print(f"snapshot {day}: {result.directory}", highlight=False)
    table = Table(
        title=f"snapshot {day} ({result.summary.get('window', {}).get('start', '')} → "
        f"{result.summary.get('window', {}).get('end', '')})"
    )
    table.add_column("")
    table.add_column("", justify="right")
    for row in result.summary.get("headline", []):
        table.add_row(row["label"], row["value"])
    table.add_row("files", str(len(result.files)))
    table.add_row("seconds", f"{result.duration_s:.1f}")
    console.print(table)
    style = STATUS_STYLE[result.status]
    console.print(
        f"status: [{style}]{result.status}[/]" + (f" — {result.reason}" if result.reason else ""),
        highlight=False,
    )
    if result.status != "ok":
        raise typer.Exit(1)
