"""`cityops audit`: the audit log — sign-ins and changes, with who, role, address and time.

Reads the warehouse, so it runs where the server is stopped (DuckDB allows one process per file) or
against a copy of the database; while the server runs, administrators read the same log on /audit.
Events other commands spooled are imported first."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.text import Text

from cityops.base.audit import OUTCOMES
from cityops.base.errors import CityopsError, DatabaseLockedError
from cityops.cli.common import ConfigOpt, build_table, console, load_config, parse_city_time

FORMATS = ("table", "csv", "json")
OUTCOME_STYLE = {"ok": "green", "refused": "red", "failed": "yellow"}


def audit(
    config: ConfigOpt = None,
    since: Annotated[
        str | None, typer.Option(help="From this date or date-time (city timezone unless it has an offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this date or date-time (city timezone).")] = None,
    actor: Annotated[str | None, typer.Option(help="Actors whose name contains this (case aside).")] = None,
    action: Annotated[
        str | None, typer.Option(help="An action (warning.resolve) or a family (warning, auth, feed, …).")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="ok, refused or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 100,
    format_: Annotated[
        str, typer.Option("--format", help="table, csv or json (one object a line).")
    ] = "table",
) -> None:
    """The audit log, newest first: every sign-in (refused ones too) and every change."""
    if format_ not in FORMATS:
        raise CityopsError(f"--format {format_!r} is not known", hint=f"use one of {', '.join(FORMATS)}")
    if outcome is not None and outcome not in OUTCOMES:
        raise CityopsError(
            f"--outcome {outcome!r} is not an outcome", hint=f"use one of {', '.join(OUTCOMES)}"
        )
    settings = load_config(config)
    tz = settings.city.timezone
    start = parse_city_time(since, tz) if since else None
    end = parse_city_time(until, tz) if until else None
    from cityops.base.warehouse import open_warehouse

    try:
        warehouse = open_warehouse(settings)
    except DatabaseLockedError as exc:
        raise DatabaseLockedError(
            exc.message,
            hint="a running server holds the database: administrators read the audit log on /audit "
            "(with a CSV export); for this command stop the server, or copy the database file and point "
            "storage.database at the copy",
        ) from None
    try:
        warehouse.import_audit_spool(settings.storage.audit_spool_path)
        frame = warehouse.audit_events(
            since=start, until=end, actor=actor, action=action, outcome=outcome, limit=limit
        )
    finally:
        warehouse.close()
    from cityops.base.times import local_text

    local = [local_text(v, tz, "%Y-%m-%d %H:%M:%S") for v in frame["at"]]
    if format_ == "csv":
        from cityops.base.exports import neutralise_frame

        out = frame.drop(columns=["at"]).astype("object")
        out.insert(0, "time_local", local)
        out.insert(1, "timezone", tz)
        sys.stdout.write(neutralise_frame(out).to_csv(index=False))
        return
    if format_ == "json":
        for when, rec in zip(local, frame.to_dict("records"), strict=True):
            doc = {
                "time_local": when,
                "timezone": tz,
                **{k: (None if v != v else v) for k, v in rec.items() if k not in ("at", "detail")},
                "at": rec["at"].isoformat() + "Z",
                "detail": json.loads(rec["detail"]) if isinstance(rec["detail"], str) else {},
            }
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    table = build_table(
        f"audit log: {len(frame)} event(s), times in {tz}",
        ("time", "actor", "role", "kind", "address", "action", "subject", "outcome", "detail"),
        no_wrap=("time", "action", "outcome"),
        overflow="fold",
    )
    for when, rec in zip(local, frame.to_dict("records"), strict=True):
        cells = [
            rec[c] if isinstance(rec[c], str) else "" for c in ("actor", "role", "actor_kind", "address")
        ]
        detail = rec["detail"] if isinstance(rec["detail"], str) and rec["detail"] != "{}" else ""
        table.add_row(
            when,
            *(Text(c) for c in cells),  # typed by anyone: shown as text, never as markup
            str(rec["action"]),
            Text(str(rec["subject"])),
            Text(str(rec["outcome"]), style=OUTCOME_STYLE.get(str(rec["outcome"]), "")),
            Text(detail),
        )
    console.print(table)
