"""`cityops demo`: the whole product with the demo city."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cityops.cli.common import console, install_sigterm


def demo(
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8050,
    data_dir: Annotated[
        Path, typer.Option(help="Folder for the demo's database, raw payloads and snapshots.")
    ] = Path("cityops-data"),
    speed: Annotated[
        float, typer.Option(help="How many times faster than real time the demo clock runs.")
    ] = 60.0,
    keep: Annotated[
        bool, typer.Option(help="Keep the previous demo's data instead of starting afresh.")
    ] = False,
) -> None:
    """Run the whole product with the demo city (Qingyuan): feeds, scheduler and dashboard."""
    from cityops.demo import run_demo

    install_sigterm()
    run_demo(port=port, data_dir=data_dir, speed=speed, keep=keep, console=console)
