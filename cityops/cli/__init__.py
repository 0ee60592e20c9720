"""The `cityops` command. Every error a user can cause is one line plus the fix, never a traceback.

One module per command or command group, named after it (``ingest``, ``db``, ``config``, ``rules``,
``warnings``, ``notify``, ``display_token``, ``user``, ``demo``, ``serve``, ``status``, ``snapshot``,
``audit``);
``common`` holds what they share: the --config option and its loading, tables, progress bars and the one-line
error handling.
"""

from __future__ import annotations

import typer

from cityops.cli import (
    audit,
    common,
    config,
    db,
    demo,
    display_token,
    ingest,
    notify,
    rules,
    serve,
    snapshot,
    status,
    user,
    warnings,
)

__all__ = ["app", "main"]

app = typer.Typer(
    help="cityops — one network, unified management of a city's operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# `cityops --help` lists the commands in this order, then the groups in theirs.
for command in (demo.demo, serve.serve, status.status, snapshot.snapshot, audit.audit):
    app.command()(command)
app.add_typer(ingest.ingest_app, name="ingest")
app.add_typer(db.db_app, name="db")
app.add_typer(config.config_app, name="config")
app.add_typer(warnings.warnings_app, name="warnings")
app.add_typer(notify.notify_app, name="notify")
app.add_typer(rules.rules_app, name="rules")
app.add_typer(display_token.token_app, name="display-token")
app.add_typer(user.user_app, name="user")


def main() -> None:
    """The console script `cityops` (and `python -m cityops`)."""
    common.run_app(app)
