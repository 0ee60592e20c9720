"""Loading the city's reference data (districts, entity catalogues) into the warehouse at start."""

from __future__ import annotations

import pandas as pd

from cityops.base.domains import CATALOGUE_FIELDS
from cityops.base.errors import ConfigError
from cityops.base.settings import Settings
from cityops.base.warehouse import Warehouse
from geo.boundaries import (
    BoundaryFileError,
    assign_districts,
    load_districts,
    load_entity_catalogue,
)


def load_reference_data(settings: Settings, warehouse: Warehouse) -> dict[str, int]:
    """Upsert the configured districts and catalogues; entities without a district get one by position."""
    try:
        return _load(settings, warehouse)
    except BoundaryFileError as exc:
        raise ConfigError(
            str(exc), hint="fix city.districts / city.catalogues in the configuration"
        ) from None


def _load(settings: Settings, warehouse: Warehouse) -> dict[str, int]:
    counts = {"districts": 0, "entities": 0}
    districts = pd.DataFrame()
    if settings.city.districts is not None:
        districts = load_districts(settings.city.districts)
        counts["districts"] = warehouse.upsert_districts(districts)
    for path in settings.city.catalogues:
        entities = load_entity_catalogue(path, fields=CATALOGUE_FIELDS, source=f"catalogue:{path.name}")
        if len(districts) and "district_code" in entities:
            missing = entities["district_code"].isna()
            if missing.any():
                sub = entities[missing]
                entities.loc[missing, "district_code"] = assign_districts(
                    sub["lon"].to_numpy(), sub["lat"].to_numpy(), districts
                )
        counts["entities"] += warehouse.upsert_entities(entities)
    return counts
