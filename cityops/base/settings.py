"""Settings: one TOML file, declared once, validated at start.

Every option is a pydantic field with a type, a default and help text (``description``); unknown keys
are errors. :func:`load_settings` reads the file, applies environment overrides and turns any problem
into one :class:`~cityops.base.errors.ConfigError` line that names the file, the key and what is allowed.

Secrets never live in the file: a string value may contain ``${NAME}``, which is looked up in the
environment when the value is used (:func:`resolve_secret`), so tokens and passwords stay in the
environment of the serving process. Top-level scalars can also be overridden with
``CITYOPS__SECTION__KEY=value`` (e.g. ``CITYOPS__SERVER__PORT=8060``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cityops.base.errors import ConfigError
from cityops.base.targets import NotificationTarget
from cityops.base.values import Duration, parse_duration, resolve_secret

__all__ = ["Duration", "Settings", "load_settings", "parse_duration", "resolve_secret", "settings_from_dict"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_timezone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"an IANA timezone name such as 'Asia/Shanghai' (a string), not {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"an IANA timezone name such as 'Asia/Shanghai', not {value!r}") from exc
    return value


Timezone = Annotated[str, BeforeValidator(_check_timezone)]


class CitySettings(_Model):
    name: str = Field("清远市", description="The city's name as shown in the interface.")
    name_en: str = Field("Qingyuan", description="The city's name in English.")
    code: str = Field("441800", description="Administrative code of the city.")
    timezone: Timezone = Field("Asia/Shanghai", description="Timezone in which people read times.")
    districts: Path | None = Field(
        None,
        description="GeoJSON of the city's districts (properties: code, name; WGS-84). "
        "Relative paths are relative to the configuration file.",
    )
    catalogues: list[Path] = Field(
        default_factory=list,
        description="GeoJSON entity catalogues (stations, gauges, road segments) loaded at start.",
    )
    center: tuple[float, float] | None = Field(None, description="Map centre (lon, lat), WGS-84.")


class StorageSettings(_Model):
    data_dir: Path = Field(
        Path("cityops-data"), description="Directory for the database, raw landing and snapshots."
    )
    database: Path | None = Field(None, description="DuckDB file; default <data_dir>/cityops.duckdb.")
    memory_limit: str | None = Field(
        None, description="DuckDB memory_limit, e.g. '4GB'; default DuckDB's own."
    )
    threads: int | None = Field(
        None, ge=1, le=256, description="DuckDB worker threads; default one per core."
    )

    @property
    def database_path(self) -> Path:
        return self.database if self.database is not None else self.data_dir / "cityops.duckdb"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def display_tokens_path(self) -> Path:
        return self.data_dir / "display-tokens.json"

    @property
    def session_key_path(self) -> Path:
        return self.data_dir / "session.key"


class ServerSettings(_Model):
    host: str = Field("127.0.0.1", description="Address the dashboard listens on.")
    port: int = Field(8050, ge=1, le=65535, description="Port of the dashboard and /healthz.")
    threads: int = Field(8, ge=1, le=64, description="WSGI worker threads.")
    anonymous_viewer: bool = Field(False, description="Let anyone view pages without signing in.")


class SchedulerSettings(_Model):
    enabled: bool = Field(True, description="Run the ingest and evaluation jobs in this process.")
    max_workers: int = Field(8, ge=1, le=64, description="Threads for concurrent feed runs.")
    misfire_grace: Duration = Field(
        timedelta(minutes=2), description="How late a missed run may still start."
    )


class IngestSettings(_Model):
    max_payload_mb: float = Field(
        200, gt=0, description="A payload larger than this fails the run (terminal)."
    )
    connect_timeout: Duration = Field(timedelta(seconds=10), description="Connecting to a source.")
    read_timeout: Duration = Field(
        timedelta(seconds=30), description="Longest silence while reading a payload."
    )
    run_timeout: Duration = Field(
        timedelta(minutes=5), description="Longest time one fetch may take overall."
    )
    retry_attempts: int = Field(
        3, ge=1, le=10, description="Attempts for transient errors (timeouts, 5xx, refused)."
    )
    retry_backoff: Duration = Field(timedelta(seconds=2), description="First retry delay; doubles each time.")
    future_tolerance: Duration = Field(
        timedelta(minutes=10), description="Rows stamped further than this in the future are quarantined."
    )
    late_after: float = Field(
        2.0, gt=0, description="A feed is 'late' when its data is older than this × cadence."
    )
    stale_after: float = Field(
        6.0, gt=0, description="A feed is 'stale' when its data is older than this × cadence."
    )

    @model_validator(mode="after")
    def _stale_after_late(self) -> IngestSettings:
        if self.stale_after <= self.late_after:
            raise ValueError("stale_after must be larger than late_after")
        return self


class Schedule(_Model):
    interval: Duration | None = Field(None, description="Run every interval, e.g. '5m'.")
    cron: str | None = Field(None, description="Or a 5-field crontab expression in the city's timezone.")
    jitter: Duration = Field(timedelta(0), description="Random delay added to each run.")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(
                f"a 5-field crontab expression (minute hour day month weekday), e.g. '*/5 * * * *'; "
                f"{value!r} is invalid: {exc}"
            ) from exc
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("set exactly one of 'interval' or 'cron'")
        if self.interval is not None and self.interval.total_seconds() <= 0:
            raise ValueError("interval must be positive")
        return self


class Pagination(_Model):
    style: Literal["page", "offset", "next_url"] = Field("page", description="How pages are requested.")
    page_param: str = Field("page", description="Query parameter of the page number (style=page).")
    size_param: str = Field("size", description="Query parameter of the page size.")
    offset_param: str = Field("offset", description="Query parameter of the offset (style=offset).")
    size: int = Field(500, ge=1, description="Rows per page.")
    first_page: int = Field(1, ge=0, description="Number of the first page.")
    total_path: str | None = Field(None, description="Dotted path of the total row count in the body.")
    next_path: str | None = Field(None, description="Dotted path of the next page's URL (style=next_url).")
    max_pages: int = Field(10_000, ge=1, description="Safety stop.")


class Watermark(_Model):
    param: str = Field(..., description="Query parameter (http) carrying the watermark.")
    format: Literal["iso", "iso_local", "epoch_ms", "epoch_s", "local"] = Field(
        "iso",
        description="How the watermark is written: ISO UTC, ISO with local offset, epoch, or local naive.",
    )
    overlap: Duration = Field(
        timedelta(minutes=30),
        description="Ask again for this much before the watermark, so late rows are not missed "
        "(upserts are idempotent, so the overlap costs nothing but bandwidth).",
    )
    initial: Duration = Field(timedelta(days=1), description="How far back the first run asks.")


class HttpSource(_Model):
    type: Literal["http"]
    url: str = Field(..., description="URL of the endpoint.")
    format: Literal["json", "csv", "geojson"] = Field("json", description="Payload format.")
    records: str | None = Field(
        None, description="Dotted path of the record list in a JSON body, e.g. 'data.items'."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Headers; '${ENV}' values come from the environment."
    )
    params: dict[str, str] = Field(default_factory=dict, description="Fixed query parameters.")
    pagination: Pagination | None = Field(None, description="Pagination, if the source pages.")
    since: Watermark | None = Field(None, description="Incremental watermark parameter.")
    encoding: str = Field(
        "auto", description="Text encoding of CSV payloads; 'auto' tries UTF-8 then GB18030."
    )
    delimiter: str = Field(",", description="CSV delimiter.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError(f"an http:// or https:// URL, not {value!r}")
        return value


class FileSource(_Model):
    type: Literal["file"]
    path: Path = Field(..., description="Drop folder watched for new files.")
    pattern: str = Field("*", description="Glob of files to take, e.g. '*.csv'.")
    format: Literal["csv", "json", "geojson", "xlsx", "auto"] = Field(
        "auto", description="By extension when 'auto'."
    )
    records: str | None = Field(None, description="Dotted path of the record list in a JSON file.")
    sheet: str | int = Field(0, description="Sheet of an Excel workbook.")
    encoding: str = Field("auto", description="Text encoding of CSV files; 'auto' tries UTF-8 then GB18030.")
    delimiter: str = Field(",", description="CSV delimiter.")
    processed_dir: Path | None = Field(
        None, description="Where processed files go; default <path>/processed."
    )
    failed_dir: Path | None = Field(None, description="Where files that failed go; default <path>/failed.")
    settle: Duration = Field(
        timedelta(seconds=2), description="A file must be unchanged this long before it is taken."
    )


class DatabaseSource(_Model):
    type: Literal["database"]
    dsn: str = Field(
        ...,
        description="postgresql://user:pass@host:port/db or mysql://user:pass@host:port/db; "
        "'${ENV}' parts come from the environment.",
    )
    query: str = Field(..., description="SELECT with ':since' where the watermark goes.")
    watermark_column: str = Field(
        ..., description="Column of the query result that only grows (e.g. updated_at)."
    )
    page_size: int = Field(10_000, ge=1, description="Rows per round trip.")
    key_columns: list[str] = Field(
        default_factory=list,
        description="Columns that identify a row of the query (e.g. ['stcd', 'tm']); "
        "they order rows that share a watermark value, so paging neither skips nor repeats them. "
        "Recommended.",
    )
    initial: Duration = Field(timedelta(days=1), description="How far back the first run asks.")
    overlap: Duration = Field(timedelta(0), description="Ask again for this much before the watermark.")

    @field_validator("watermark_column")
    @classmethod
    def _plain_column(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError(f"a plain column name (letters, digits, '_'), not {value!r}")
        return value

    @field_validator("key_columns")
    @classmethod
    def _plain_columns(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"plain column names (letters, digits, '_'), not {name!r}")
        return value

    @field_validator("dsn")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not re.match(r"^(postgres(ql)?|mysql|mariadb)://", value):
            raise ValueError("a DSN starting postgresql://, mysql:// or mariadb://")
        return value

    @field_validator("query")
    @classmethod
    def _has_since(cls, value: str) -> str:
        if ":since" not in value:
            raise ValueError(
                "the query must contain ':since' where the watermark goes, e.g. WHERE updated_at > :since"
            )
        return value


Source = Annotated[HttpSource | FileSource | DatabaseSource, Field(discriminator="type")]


class FeedSettings(_Model):
    department: str = Field(..., description="Department that owns the data, as shown to users.")
    domain: str = Field(
        ..., description="Canonical domain (traffic, air, water, rain, incident) or a [domains] name."
    )
    enabled: bool = Field(True, description="Schedule this feed.")
    source: Source
    schedule: Schedule | None = Field(None, description="When to pull; default every 'cadence'.")
    cadence: Duration = Field(..., description="How often new data is expected (drives fresh/late/stale).")
    timezone: Timezone | None = Field(None, description="Timezone of naive timestamps; default the city's.")
    datum: Literal["wgs84", "gcj02", "bd09", "cgcs2000"] = Field("wgs84", description="Datum of coordinates.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical column = source field. Unmapped canonical columns keep their name.",
    )
    units: dict[str, str] = Field(
        default_factory=dict, description="Canonical column = unit the source uses."
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Canonical column = {source value = canonical value} for coded fields.",
    )
    time_format: str | None = Field(
        None, description="strptime format of timestamps, or 'epoch_ms' / 'epoch_s'; default ISO-8601."
    )
    entity_prefix: str = Field("", description="Prefix added to entity ids (to keep departments' ids apart).")

    @property
    def effective_schedule(self) -> Schedule:
        return self.schedule if self.schedule is not None else Schedule(interval=self.cadence)


class MetricSettings(_Model):
    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$", description="Column name, snake_case.")
    label: str | None = Field(None, description="Label shown to users.")
    unit: str = Field("", description="Canonical unit, e.g. 'MPa'.")
    min: float | None = Field(None, description="Values below are quarantined.")
    max: float | None = Field(None, description="Values above are quarantined.")
    required: bool = Field(False, description="A row without it is quarantined.")


class DomainSettings(_Model):
    """A department's domain that is not built in, e.g. fire-rescue hydrant pressure."""

    label: str | None = Field(None, description="Name shown to users.")
    entity_kind: str | None = Field(None, description="Kind of entity measured; default the domain's name.")
    metrics: list[MetricSettings] = Field(..., min_length=1, description="Measured values.")


class Silence(_Model):
    """A silence window: warnings of matching rules are suppressed (maintenance, a known event)."""

    rules: str = Field(..., description="Glob of rule ids, e.g. 'traffic.*' or 'water.level'.")
    start: datetime = Field(
        ..., description="Start (ISO-8601 with offset, or local time in the city's timezone)."
    )
    end: datetime = Field(..., description="End.")
    reason: str = Field("silenced", description="Shown on the suppressed warnings.")

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give start and end both as local times or both with an offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class WarningSettings(_Model):
    enabled: bool = Field(True, description="Evaluate the rules on a schedule in this process.")
    packs: list[Path] = Field(
        default_factory=list,
        description="Rule pack TOML files in layering order (national → province → city); "
        "relative to this file.",
    )
    tick: Duration = Field(
        timedelta(minutes=1), description="Evaluate every … (also when no new data arrives)."
    )
    backtest_step: Duration = Field(timedelta(minutes=5), description="Step of `cityops rules backtest`.")
    rain_profile: Literal["national", "guangdong"] = Field(
        "guangdong", description="Rainstorm signal profile."
    )
    dashboard_url: str | None = Field(
        None, description="Base URL of the dashboard, for links in notifications."
    )
    silences: list[Silence] = Field(default_factory=list, description="Silence windows.")


class MapLayerSettings(_Model):
    """A base layer of the city's own (rivers, roads, zones) from GeoJSON, Shapefile or GeoPackage."""

    name: str = Field(..., description="Shown in the legend.")
    path: Path = Field(..., description="The file; relative to this configuration file.")
    datum: Literal["wgs84", "gcj02", "bd09", "cgcs2000"] = Field(
        "wgs84", description="Datum of the coordinates (Amap/Tencent data are GCJ-02, Baidu's BD-09)."
    )
    crs: str | None = Field(
        None, description="CRS when the file declares none, e.g. 'EPSG:4490' or 'EPSG:32649'."
    )
    layer: str | None = Field(None, description="Layer of a GeoPackage.")
    kind: Literal["polygon", "line", "point"] | None = Field(
        None, description="Keep only this geometry kind."
    )
    color: str = Field("#3d8fd9", description="Line / outline colour.")
    width: float = Field(3.0, gt=0, description="Line width in px.")


class MapSettings(_Model):
    """Maps for an intranet with no internet: the base is the city's own layers unless a tile server
    on the intranet is configured; every URL the pages would load is checked at start."""

    offline: bool = Field(
        True, description="The deployment has no internet: no page may load anything from outside."
    )
    self_check: Literal["refuse", "warn"] = Field(
        "refuse",
        description="When offline and an external URL is found at start: refuse to start, or warn loudly.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Intranet hosts pages may load from (e.g. the tile server's host)."
    )
    tile_url: str | None = Field(
        None,
        description="Optional intranet raster tile URL template, e.g. http://gis.intranet/tiles/{z}/{x}/{y}.png.",
    )
    tile_datum: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84",
        description="Datum of the tiles: overlays are converted to it "
        "(GCJ-02 tiles need converted overlays).",
    )
    layers: list[MapLayerSettings] = Field(
        default_factory=list, description="Base layers drawn under the data."
    )
    glyph_stack: str = Field(
        "Noto Sans Regular", description="Font stack of the map's Latin/digit label glyphs (served locally)."
    )
    zoom: float = Field(7.6, ge=0, le=20, description="Initial zoom of the city map.")


class UserSettings(_Model):
    """A person who signs in. Passwords are stored hashed (`cityops user hash-password`)."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="Sign-in name.")
    role: Literal["viewer", "analyst", "operator", "admin"] = Field(
        ...,
        description="viewer < analyst < operator (acknowledge, resolve, silence) "
        "< admin (replay, re-render).",
    )
    password_hash: str = Field(
        ..., description="scrypt hash from `cityops user hash-password`; never the password."
    )
    display_name: str | None = Field(None, description="Name shown in the audit trail, e.g. '值班员 李明'.")

    @field_validator("password_hash")
    @classmethod
    def _hash_format(cls, value: str) -> str:
        from cityops.base.auth import check_hash_format

        return check_hash_format(value)


class AuthSettings(_Model):
    """Sign-in. Viewing without signing in is `server.anonymous_viewer`; changes always need a user."""

    users: list[UserSettings] = Field(default_factory=list, description="Users and their roles.")
    secret_key: str | None = Field(
        None,
        description="Key signing session cookies ('${ENV}' from the environment); "
        "default a random key kept in <data_dir>/session.key.",
    )
    session_lifetime: Duration = Field(
        timedelta(hours=12), description="A sign-in lasts this long (a duty shift)."
    )

    @field_validator("users")
    @classmethod
    def _unique(cls, value: list[UserSettings]) -> list[UserSettings]:
        names = [u.name for u in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"user name(s) {', '.join(dupes)} given more than once")
        return value


class CompositeSettings(_Model):
    """The city-operations index: weights of the domains (see metrics/composite.py; a convention)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "traffic": 0.25,
            "air": 0.20,
            "water": 0.20,
            "rain": 0.15,
            "emergency": 0.20,
        },
        description="Domain weights; missing domains are left out and the rest renormalised.",
    )

    @field_validator("weights")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        allowed = ("traffic", "air", "water", "rain", "emergency")
        for name, weight in value.items():
            if name not in allowed:
                raise ValueError(f"{name!r} is not a domain of the index; allowed: {', '.join(allowed)}")
            if weight < 0:
                raise ValueError(f"weight of {name} must not be negative")
        if not any(value.values()):
            raise ValueError("at least one weight must be positive")
        return value


class SnapshotSettings(_Model):
    """The automated daily warning snapshot (dashboard/snapshot.py). The report for day D covers the 24 h
    from the cut-off on D−1 to the cut-off on D, local time (cut-off 08:00: D−1 08:00 → D 08:00)."""

    enabled: bool = Field(
        True,
        description="Render the snapshot on a schedule in the serving process "
        "(when rule packs are configured).",
    )
    cron: str = Field(
        "0 8 * * *",
        description="When the scheduled render runs: 5-field crontab in the city's timezone "
        "(at or after the cut-off; it renders the last complete day).",
    )
    cut_off: str = Field("08:00", description="Local time (HH:MM) at which a report day ends.")
    deliver: bool = Field(
        True,
        description="Send the scheduled snapshot to notification targets whose events include 'snapshot'.",
    )
    base_url: str | None = Field(
        None,
        description="Base URL of the dashboard for the report link (…/snapshots/YYYY-MM-DD/report.html); "
        "default warnings.dashboard_url.",
    )
    browser: Path | None = Field(
        None,
        description="Chromium executable for the PNG export; default the first of chromium, "
        "chromium-browser, google-chrome found on PATH (a browser is never downloaded).",
    )
    export_timeout: Duration = Field(
        timedelta(seconds=60), description="Longest time the PNG export of one figure may take."
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(
                f"a 5-field crontab expression (minute hour day month weekday), e.g. '0 8 * * *'; "
                f"{value!r} is invalid: {exc}"
            ) from exc
        return value

    @field_validator("cut_off")
    @classmethod
    def _valid_cut_off(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"a local time HH:MM such as '08:00', not {value!r}")
        return value

    @property
    def cut_off_time(self) -> time:
        hour, minute = self.cut_off.split(":")
        return time(int(hour), int(minute))


class Settings(_Model):
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


def _apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for key, value in environ.items():
        if not key.startswith("CITYOPS__"):
            continue
        path = [p.lower() for p in key[len("CITYOPS__") :].split("__") if p]
        if not path:
            continue
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {'.'.join(path)} does not name a setting")
        node[path[-1]] = value
    return data


def _describe_error(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union"))]
    # pydantic puts the discriminator's chosen tag in loc (e.g. source.http.url): drop it.
    cleaned: list[str] = []
    for i, part in enumerate(loc):
        if i > 0 and loc[i - 1] == "source" and part in ("http", "file", "database"):
            continue
        cleaned.append(part)
    key = ".".join(cleaned)
    kind = err["type"]
    if not key:
        # Cross-field checks raise "key.path: message": lift the key out of the message.
        text = str(err["msg"]).removeprefix("Value error, ")
        head, sep, rest = text.partition(": ")
        if sep and re.match(r"^[\w.<>-]+$", head):
            return head, rest
        return "(top level)", text
    if kind == "extra_forbidden":
        return key, "unknown key (check its spelling against cityops.example.toml)"
    if kind == "missing":
        return key, "required but missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind == "union_tag_invalid":
        msg = "source.type must be one of 'http', 'file', 'database'"
    return key, msg


def _find_line(text: str, key: str) -> int | None:
    """Best effort: the line where the last part of a dotted key is set."""
    last = key.split(".")[-1]
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*\"?{re.escape(last)}\"?\s*=", line) or re.search(
            rf"[\[.]{re.escape(last)}\]", line
        ):
            return number
    return None


def settings_from_dict(
    data: Mapping[str, Any], *, source: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Validate a parsed configuration; relative paths are made relative to ``source``'s folder."""
    env = os.environ if environ is None else environ
    raw = _apply_env_overrides(_deep_copy(dict(data)), env)
    where = str(source) if source else "built-in configuration"
    text = source.read_text(encoding="utf-8") if source and source.exists() else ""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key, what = _describe_error(err)
            line = _find_line(text, key) if text else None
            problems.append(f"{where}{':' + str(line) if line else ''}: {key}: {what}")
        first, *rest = problems
        more = f" (and {len(rest)} more: {'; '.join(rest)})" if rest else ""
        raise ConfigError(f"invalid configuration: {first}{more}") from None
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {where}: {exc}") from None
    base = source.parent if source else Path.cwd()
    return _resolve_paths(settings, base).model_copy(update={"source_path": source})


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def _abs(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else (base / path)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    city = settings.city.model_copy(
        update={
            "districts": _abs(settings.city.districts, base),
            "catalogues": [p if p.is_absolute() else base / p for p in settings.city.catalogues],
        }
    )
    storage = settings.storage.model_copy(
        update={
            "data_dir": _abs(settings.storage.data_dir, base),
            "database": _abs(settings.storage.database, base),
        }
    )
    feeds = {}
    for name, feed in settings.feeds.items():
        src = feed.source
        if isinstance(src, FileSource):
            src = src.model_copy(
                update={
                    "path": _abs(src.path, base),
                    "processed_dir": _abs(src.processed_dir, base),
                    "failed_dir": _abs(src.failed_dir, base),
                }
            )
        feeds[name] = feed.model_copy(update={"source": src})
    warnings_settings = settings.warnings.model_copy(
        update={"packs": [p if p.is_absolute() else base / p for p in settings.warnings.packs]}
    )
    map_settings = settings.map.model_copy(
        update={"layers": [ly.model_copy(update={"path": _abs(ly.path, base)}) for ly in settings.map.layers]}
    )
    return settings.model_copy(
        update={
            "city": city,
            "storage": storage,
            "feeds": feeds,
            "warnings": warnings_settings,
            "map": map_settings,
        }
    )


def load_settings(path: Path | str, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"configuration file {path} does not exist",
            hint="pass --config with the path of a TOML file; cityops.example.toml is an annotated start",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return settings_from_dict(data, source=path.resolve(), environ=environ)


def describe_options() -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) for every option: the table the docs and `cityops config` print."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            if name == "source_path":
                continue
            ann = field.annotation
            key = f"{prefix}{name}"
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
                continue
            default = "" if field.is_required() else repr(field.get_default(call_default_factory=True))
            rows.append((key, getattr(ann, "__name__", str(ann)), default, field.description or ""))

    walk(Settings, "")
    for name, model in (
        ("feeds.<name>.", FeedSettings),
        ("feeds.<name>.source (http).", HttpSource),
        ("feeds.<name>.source (file).", FileSource),
        ("feeds.<name>.source (database).", DatabaseSource),
        ("feeds.<name>.source.pagination.", Pagination),
        ("feeds.<name>.source.since.", Watermark),
        ("feeds.<name>.schedule.", Schedule),
        ("domains.<name>.", DomainSettings),
        ("domains.<name>.metrics[].", MetricSettings),
    ):
        walk(model, name)
    return rows
