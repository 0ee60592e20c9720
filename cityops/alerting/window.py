"""What a tick reads from the warehouse: the reference data and the window of recent readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from cityops.base.domains import AIR, RAIN, TRAFFIC, WATER
from ingest.runtime import Runtime, resolve_domain
from metrics.signals import LOOKBACK, Window, entity_attributes


@dataclass
class Context:
    """Reference data a tick needs, read once: entities, districts, names."""

    entities: pd.DataFrame
    attributes: pd.DataFrame
    districts: list[str]
    names: dict[str, str]

    @classmethod
    def load(cls, rt: Runtime) -> Context:
        entities = rt.warehouse.entities()
        districts = rt.warehouse.districts()
        names = dict(zip(districts["code"], districts["name"], strict=True)) if len(districts) else {}
        for feed_name, feed in rt.settings.feeds.items():
            names.setdefault(feed_name, f"{feed.department}（{feed_name}）")
        return cls(
            entities,
            entity_attributes(entities) if len(entities) else pd.DataFrame(),
            list(districts["code"]),
            names,
        )


def read_window(rt: Runtime, start: datetime, end: datetime) -> Window:
    """Observations for ticks in [start, end]: each domain from ``start`` minus what its signals look
    back over (a bounded, recent read; a live tick has start = end = now)."""
    wh = rt.warehouse
    custom = {
        name: wh.observation_window(resolve_domain(rt.settings, name), start - LOOKBACK["custom"], end)
        for name in rt.settings.domains
    }
    return Window(
        traffic=wh.observation_window(TRAFFIC, start - LOOKBACK["traffic"], end),
        air=wh.observation_window(AIR, start - LOOKBACK["air"], end),
        water=wh.observation_window(WATER, start - LOOKBACK["water"], end),
        rain=wh.observation_window(RAIN, start - LOOKBACK["rain"], end),
        incidents=wh.incidents_since(start - timedelta(days=7)),
        custom=custom,
    )
