"""`cityops display-token`: read-only, revocable tokens for wall screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cityops.cli.common import ConfigOpt, build_table, console, load_config

if TYPE_CHECKING:
    from cityops.base.auth import DisplayTokens

token_app = typer.Typer(help="Read-only, revocable tokens for wall screens.", no_args_is_help=True)


def _tokens(config: str | None) -> DisplayTokens:
    from cityops.base.auth import DisplayTokens

    return DisplayTokens.for_settings(load_config(config))


@token_app.command("create")
def display_token_create(
    name: Annotated[str, typer.Argument(help="Which screen the token is for, e.g. 'wall-hall-1'.")],
    config: ConfigOpt = None,
    url: Annotated[
        str | None, typer.Option(help="Base URL of the dashboard as the screens reach it.")
    ] = None,
) -> None:
    """Create a display token; the secret is shown once. Works while the server runs."""
    settings = load_config(config)
    from cityops.base.audit import cli_event, spool_event
    from cityops.base.auth import DisplayTokens

    token, secret = DisplayTokens.for_settings(settings).create(name)
    # The server may hold the warehouse: the event goes to the spool it imports.
    spool_event(
        settings.storage.audit_spool_path, cli_event("display_token.create", token.name, id=token.token_id)
    )
    base = (url or f"http://{settings.server.host}:{settings.server.port}").rstrip("/")
    console.print(f"display token {token.token_id} for {token.name!r} (shown only now; keep it like a key):")
    console.print(secret, highlight=False)
    console.print(f"open on the screen: {base}/wall?token={secret}", highlight=False)


@token_app.command("revoke")
def display_token_revoke(
    ref: Annotated[str, typer.Argument(help="Id or name of the token.")], config: ConfigOpt = None
) -> None:
    """Revoke a display token; its screen shows 'not authorised' at its next heartbeat (seconds)."""
    from cityops.base.audit import cli_event, spool_event
    from cityops.base.auth import DisplayTokens

    settings = load_config(config)
    token = DisplayTokens.for_settings(settings).revoke(ref)
    spool_event(
        settings.storage.audit_spool_path, cli_event("display_token.revoke", token.name, id=token.token_id)
    )
    console.print(f"revoked display token {token.token_id} ({token.name})")


@token_app.command("list")
def display_token_list(config: ConfigOpt = None) -> None:
    """The display tokens, active and revoked (never the secrets)."""
    table = build_table("display tokens", ("id", "name", "created", "revoked"))
    for tok in _tokens(config).list():
        table.add_row(tok.token_id, tok.name, tok.created_at, tok.revoked_at or "")
    console.print(table)
