"""What the commands share: the --config option and its loading, tables, progress bars, local times,
and the one-line error handling around the whole command line."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console, OverflowMethod
from rich.table import Table

from cityops.base.errors import CityopsError, ConfigError
from cityops.base.redact import add_logging_secrets, install_redaction

if TYPE_CHECKING:
    from rich.progress import Progress

    from cityops.base.settings import Settings
    from ingest.runtime import Runtime

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML configuration file ('demo' for the built-in demo configuration "
        "on ./cityops-data). Default: $CITYOPS_CONFIG or ./cityops.toml.",
    ),
]

# The colour of a run's or a snapshot's status.
STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red"}


def load_config(config: str | None) -> Settings:
    """The settings a --config value names: a file, 'demo', $CITYOPS_CONFIG or ./cityops.toml."""
    from cityops.base.settings import load_settings
    from ingest.sources import feed_secrets

    if config == "demo":
        from cityops.demo import DEMO_MARKER, demo_settings

        if not (Path("cityops-data") / DEMO_MARKER).exists():
            raise ConfigError(
                "there is no demo data in ./cityops-data", hint="run `cityops demo` (from this folder) first"
            )

        # The demo feed server only runs inside `cityops demo`; this is for inspecting its data.
        return demo_settings(Path("cityops-data"), "http://127.0.0.1:9")
    path = config or os.environ.get("CITYOPS_CONFIG") or "cityops.toml"
    if not Path(path).exists() and config is None:
        raise ConfigError(
            f"no configuration given and {path} does not exist",
            hint="pass --config FILE (see cityops.example.toml), or --config demo for the demo's data",
        )
    settings = load_settings(path)
    add_logging_secrets(feed_secrets(settings, os.environ))
    return settings


def open_config_runtime(config: str | None) -> Runtime:
    """The runtime (warehouse, clock, settings) of a --config value."""
    from cityops.server import open_runtime

    return open_runtime(load_config(config))


def text_cell(value: Any) -> str:
    """A frame's text cell: missing values (None or NaN) as an empty string."""
    return value if isinstance(value, str) else ""


def local_time_text(settings: Settings, value: Any) -> str:
    """A stored time as the city reads it, to the second."""
    from cityops.base.times import local_text

    return local_text(value, settings.city.timezone, "%Y-%m-%d %H:%M:%S")


def parse_city_time(value: str, tz: str) -> datetime:
    """A --from/--to value (date or date-time, in the city's timezone unless it has an offset) in UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(UTC)


def build_table(
    title: str,
    columns: Iterable[str],
    *,
    right: Collection[str] = (),
    no_wrap: Collection[str] = (),
    overflow: OverflowMethod = "ellipsis",
) -> Table:
    """An empty table with these columns; ``right`` ones are right-aligned (numbers)."""
    table = Table(title=title)
    for col in columns:
        table.add_column(
            col, justify="right" if col in right else "left", overflow=overflow, no_wrap=col in no_wrap
        )
    return table


def build_progress(label: str, *, transient: bool) -> Progress:
    """A progress bar on stderr (stdout stays a clean table): label, bar, done/total, elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    )


def install_sigterm() -> None:
    """Stop on SIGTERM as on Ctrl-C, so a service manager's stop shuts down cleanly."""

    def handler(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run_app(app: typer.Typer) -> None:
    """Run the command line: a user's error is one line plus the fix (exit 2), a bug one line (exit 3)."""
    logging.basicConfig(
        level=os.environ.get("CITYOPS_LOG", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_redaction(logging.getLogger().handlers)  # no URL's key or configured secret in the log
    try:
        app()
    except CityopsError as exc:
        err_console.print(
            f"[red]error:[/] {exc.message}" + (f"\n  fix: {exc.hint}" if exc.hint else ""), highlight=False
        )
        sys.exit(2)
    except Exception as exc:  # a bug: still one line for the user; the traceback on request
        if os.environ.get("CITYOPS_DEBUG") == "1":
            raise
        err_console.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc}\n  fix: run again with CITYOPS_DEBUG=1 "
            "for the traceback, and report it",
            highlight=False,
        )
        sys.exit(3)
