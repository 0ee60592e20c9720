"""`cityops serve`: dashboard and scheduler of a configuration, in one process."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.cli.common import ConfigOpt, console, install_sigterm, load_config


def serve(
    config: ConfigOpt = None, port: Annotated[int | None, typer.Option(help="Override server.port.")] = None
) -> None:
    """Production: dashboard + scheduler from a configuration file, in one process."""
    from cityops.server import build_server, open_runtime

    settings = load_config(config)
    if port is not None:
        settings = settings.model_copy(update={"server": settings.server.model_copy(update={"port": port})})
    rt = open_runtime(settings)
    server = build_server(rt)
    console.print(f"cityops serving {settings.city.name} on {server.url} (health: {server.url}/healthz)")
    install_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        server.stop()
