"""Settings: one TOML file, declared once, validated at start.

Every option is a pydantic field with a type, a default and help text (``description``); unknown keys
are errors. :func:`load_settings` reads the file, applies environment overrides and turns any problem
into one :class:`~cityops.base.errors.ConfigError` line that names the file, the key and what is allowed.

Secrets never live in the file: a string value may contain ``${NAME}``, which is looked up in the
environment when the value is used (:func:`resolve_secret`), so tokens and passwords stay in the
environment of the serving process. Top-level scalars can also be overridden with
``CITYOPS__SECTION__KEY=value`` (e.g. ``CITYOPS__SERVER__PORT=8060``).

The submodules: ``model`` (what every section shares), ``deployment`` (city, storage, server,
scheduler, users), ``feeds`` (feeds, their sources and schedules, custom domains), ``outputs``
(warnings, the index, snapshots, the map), ``root`` (the whole configuration), ``loading`` (file,
environment, error lines) and ``options`` (the table of every option).
"""

from cityops.base.settings.deployment import (
    AuthSettings,
    CitySettings,
    SchedulerSettings,
    ServerSettings,
    StorageSettings,
    UserSettings,
)
from cityops.base.settings.feeds import (
    DatabaseSource,
    DomainSettings,
    FeedSettings,
    FileSource,
    HttpSource,
    IngestSettings,
    MetricSettings,
    Pagination,
    Schedule,
    Source,
    Watermark,
)
from cityops.base.settings.loading import load_settings, settings_from_dict
from cityops.base.settings.model import Section, Timezone
from cityops.base.settings.options import describe_options
from cityops.base.settings.outputs import (
    CompositeSettings,
    MapLayerSettings,
    MapSettings,
    Silence,
    SnapshotSettings,
    WarningSettings,
)
from cityops.base.settings.root import Settings
from cityops.base.values import Duration, parse_duration, resolve_secret

__all__ = [
    "AuthSettings",
    "CitySettings",
    "CompositeSettings",
    "DatabaseSource",
    "DomainSettings",
    "Duration",
    "FeedSettings",
    "FileSource",
    "HttpSource",
    "IngestSettings",
    "MapLayerSettings",
    "MapSettings",
    "MetricSettings",
    "Pagination",
    "Schedule",
    "SchedulerSettings",
    "Section",
    "ServerSettings",
    "Settings",
    "Silence",
    "SnapshotSettings",
    "Source",
    "StorageSettings",
    "Timezone",
    "UserSettings",
    "WarningSettings",
    "Watermark",
    "describe_options",
    "load_settings",
    "parse_duration",
    "resolve_secret",
    "settings_from_dict",
]
