"""`cityops config`: check a configuration file, list every option."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cityops.base.errors import ConfigError
from cityops.cli.common import ConfigOpt, build_table, console, load_config

if TYPE_CHECKING:
    from cityops.base.settings import Settings

config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate a configuration file and summarise it."""
    settings = load_config(config)
    extra = validate_deployment(settings)
    console.print(
        f"{settings.source_path}: valid — city {settings.city.name}, {len(settings.feeds)} feeds "
        f"({', '.join(settings.feeds)}){extra}, data in {settings.storage.data_dir}"
    )


def validate_deployment(settings: Settings) -> str:
    """What `serve` would load besides the file itself: reference data, rule packs, map layers."""
    from cityops.alerting import load_rule_pack
    from cityops.base.domains import CATALOGUE_FIELDS
    from dashboard.mapdata import load_base_layers
    from geo.boundaries import BoundaryFileError, load_districts, load_entity_catalogue

    try:
        if settings.city.districts is not None:
            load_districts(settings.city.districts)
        for path in settings.city.catalogues:
            load_entity_catalogue(path, fields=CATALOGUE_FIELDS)
    except BoundaryFileError as exc:
        raise ConfigError(str(exc), hint="fix city.districts / city.catalogues") from None
    parts = []
    if settings.warnings.packs:
        pack = load_rule_pack(settings)
        parts.append(f", rule pack {pack.version} ({len(pack.rules)} rules)")
    layers = load_base_layers(settings)
    if layers:
        parts.append(f", {len(layers)} map layer(s)")
    return "".join(parts)


@config_app.command("options")
def config_options() -> None:
    """Every option with its type, default and help."""
    from cityops.base.settings import describe_options

    table = build_table("configuration options", ("key", "type", "default", "help"), overflow="fold")
    for row in describe_options():
        table.add_row(*row)
    console.print(table)
