"""`cityops db`: the warehouse (DuckDB)."""

from __future__ import annotations

import typer

from cityops.cli.common import ConfigOpt, console, load_config

db_app = typer.Typer(help="The warehouse (DuckDB).", no_args_is_help=True)


@db_app.command("init")
def db_init(config: ConfigOpt = None) -> None:
    """Create or migrate the warehouse and load the city's reference data."""
    from cityops.base.warehouse import open_warehouse
    from ingest.reference import load_reference_data

    settings = load_config(config)
    with open_warehouse(settings) as wh:
        counts = load_reference_data(settings, wh)
        console.print(
            f"database {settings.storage.database_path}: schema version {wh.schema_version()}; "
            f"{counts['districts']} districts, {counts['entities']} entities loaded"
        )
