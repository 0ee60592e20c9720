"""`cityops user`: the people who sign in."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cityops.base.errors import ConfigError
from cityops.cli.common import console

user_app = typer.Typer(
    help="Users who sign in (they are listed in the configuration's [auth] section).", no_args_is_help=True
)


@user_app.command("hash-password")
def user_hash_password(
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input (scripts).")
    ] = False,
) -> None:
    """Print the hash of a password, for the password_hash of a user in the configuration's auth.users.

    The password itself is never stored.
    """
    from cityops.base.auth import hash_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise ConfigError("the password is empty", hint="give a non-empty password")
    console.print(hash_password(password), highlight=False)
