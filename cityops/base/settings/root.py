"""The whole configuration and the checks that span its sections (feeds against domains)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, model_validator

from cityops.base.settings.deployment import (
    AuthSettings,
    CitySettings,
    SchedulerSettings,
    ServerSettings,
    StorageSettings,
)
from cityops.base.settings.feeds import DomainSettings, FeedSettings, IngestSettings
from cityops.base.settings.model import Section
from cityops.base.settings.outputs import CompositeSettings, MapSettings, SnapshotSettings, WarningSettings
from cityops.base.targets import NotificationTarget


class Settings(Section):
    """The whole configuration. ``source_path`` is where it was read from (None for built-in)."""

    city: CitySettings = Field(default_factory=CitySettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    domains: dict[str, DomainSettings] = Field(default_factory=dict)
    feeds: dict[str, FeedSettings] = Field(default_factory=dict)
    warnings: WarningSettings = Field(default_factory=WarningSettings)
    composite: CompositeSettings = Field(default_factory=CompositeSettings)
    map: MapSettings = Field(default_factory=MapSettings)
    notifications: list[NotificationTarget] = Field(default_factory=list)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    snapshots: SnapshotSettings = Field(default_factory=SnapshotSettings)
    source_path: Path | None = Field(None, exclude=True, description="File the settings came from.")

    @model_validator(mode="after")
    def _feeds_name_known_domains(self) -> Settings:
        from cityops.base.domains import BUILTIN_DOMAINS

        for name in self.domains:
            if name in BUILTIN_DOMAINS:
                raise ValueError(f"domains.{name}: '{name}' is a built-in domain; choose another name")
        from cityops.base.domains import (
            ENTITY_COLUMNS,
            custom_domain,
            known_units,
            unit_factor,
        )

        names = [t.name for t in self.notifications]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"notifications: target name(s) {', '.join(dupes)} given more than once")

        known = set(BUILTIN_DOMAINS) | set(self.domains)
        for name in self.ingest.plausibility.time_grid:
            if name not in known:
                raise ValueError(
                    f"ingest.plausibility.time_grid.{name}: {name!r} is not a domain; "
                    f"allowed: {', '.join(sorted(known))}"
                )
        for feed_name, feed in self.feeds.items():
            where = f"feeds.{feed_name}"
            if not re.match(r"^[a-z0-9][a-z0-9_-]*$", feed_name):
                raise ValueError(f"{where}: feed names are lower-case letters, digits, '-' and '_'")
            if feed.domain not in known:
                raise ValueError(
                    f"{where}.domain: {feed.domain!r} is not a domain; allowed: {', '.join(sorted(known))}"
                )
            if feed.domain in BUILTIN_DOMAINS:
                domain = BUILTIN_DOMAINS[feed.domain]
            else:
                spec = self.domains[feed.domain]
                domain = custom_domain(
                    feed.domain, spec.label, spec.entity_kind, [m.model_dump() for m in spec.metrics]
                )
            columns = {c.name: c for c in domain.columns}
            if domain.storage != "record":
                columns.update({c.name: c for c in ENTITY_COLUMNS})
            for section in ("fields", "units", "values"):
                for column in getattr(feed, section):
                    if column not in columns:
                        raise ValueError(
                            f"{where}.{section}.{column}: not a column of domain {feed.domain!r}; "
                            f"allowed: {', '.join(columns)}"
                        )
            for column, unit in feed.units.items():
                target = columns[column].unit
                try:
                    unit_factor(unit, target)
                except ValueError:
                    raise ValueError(
                        f"{where}.units.{column}: "
                        f"cannot convert {unit!r} to {target or 'a unitless value'!r}; "
                        f"known units: {', '.join(known_units())}"
                    ) from None
        return self
