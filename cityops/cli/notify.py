"""`cityops notify log`: what was sent to the notification targets, and what is still waiting."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from cityops.base.errors import CityopsError
from cityops.cli.common import ConfigOpt, build_table, console, local_time_text, open_config_runtime

notify_app = typer.Typer(help="Webhook notifications: the delivery log.", no_args_is_help=True)

STATUSES = ("pending", "sending", "delivered", "failed")
STATUS_STYLE = {"pending": "yellow", "sending": "cyan", "delivered": "green", "failed": "red"}


@notify_app.command("log")
def notify_log(
    config: ConfigOpt = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only messages in this status: pending, sending, delivered or failed."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 50,
) -> None:
    """The delivery log, newest first: each message and target with its status, attempts and error
    (the message id is the idempotency key receivers see)."""
    if status is not None and status not in STATUSES:
        raise CityopsError(
            f"--status {status!r} is not a delivery status", hint=f"use one of {', '.join(STATUSES)}"
        )
    rt = open_config_runtime(config)
    try:
        frame = rt.warehouse.delivery_log(limit=100_000 if status else limit)
        if status is not None:
            frame = frame[frame["status"] == status].head(limit)
        counts = rt.warehouse.outbox_counts()
    finally:
        rt.warehouse.close()
    table = build_table(
        f"notification deliveries: {len(frame)}",
        ("time", "message", "target", "event", "warning", "status", "attempts", "error"),
        right=("attempts",),
        no_wrap=("time", "message", "status"),
        overflow="fold",
    )
    for r in frame.to_dict("records"):
        message = r["message_id"] if isinstance(r["message_id"], str) else "(direct)"
        table.add_row(
            local_time_text(rt.settings, r["logged_at"]),
            message[:12],
            Text(str(r["target"])),  # names and errors are shown as text, never as markup
            str(r["event"]),
            Text(r["warning_id"] if isinstance(r["warning_id"], str) else ""),
            Text(str(r["status"]), style=STATUS_STYLE.get(str(r["status"]), "")),
            str(int(r["attempts"])),
            Text(r["error"] if isinstance(r["error"], str) else ""),
        )
    console.print(table)
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    console.print(
        f"outbox: {waiting} waiting, {counts.get('failed', 0)} failed, {counts.get('delivered', 0)} delivered"
    )
