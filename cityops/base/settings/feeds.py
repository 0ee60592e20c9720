"""Departmental feeds: how and when each is pulled, how its rows map, and the domains they feed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from cityops.base.settings.conventions import FeedConventions, PlausibilitySettings
from cityops.base.settings.model import Section, Timezone, check_crontab
from cityops.base.settings.paging import Envelope, Pagination
from cityops.base.values import Duration


class IngestSettings(Section):
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
    plausibility: PlausibilitySettings = Field(
        default_factory=PlausibilitySettings, description="What the city finds plausible in any feed."
    )

    @model_validator(mode="after")
    def _stale_after_late(self) -> IngestSettings:
        if self.stale_after <= self.late_after:
            raise ValueError("stale_after must be larger than late_after")
        return self


class Schedule(Section):
    interval: Duration | None = Field(None, description="Run every interval, e.g. '5m'.")
    cron: str | None = Field(None, description="Or a 5-field crontab expression in the city's timezone.")
    jitter: Duration = Field(timedelta(0), description="Random delay added to each run.")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        return value if value is None else check_crontab(value, example="*/5 * * * *")

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("set exactly one of 'interval' or 'cron'")
        if self.interval is not None and self.interval.total_seconds() <= 0:
            raise ValueError("interval must be positive")
        return self


class Watermark(Section):
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


class HttpSource(Section):
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
    envelope: Envelope | None = Field(
        None, description="Where the success flag and the department's message are in a JSON body."
    )
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

    @model_validator(mode="after")
    def _json_for_paging(self) -> HttpSource:
        if self.format == "csv" and (self.pagination is not None or self.envelope is not None):
            raise ValueError("pagination and envelope need format = 'json' or 'geojson', not 'csv'")
        return self


class FileSource(Section):
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


class DatabaseSource(Section):
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


class FeedSettings(Section):
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
        None,
        description="strptime format of timestamps, 'compact' (YYYYMMDDHHMMSS), or 'epoch_ms' / "
        "'epoch_s'; default: any unambiguous shape (ISO with or without offset, 2026/06/15 08:00, "
        "2026年06月15日 08时, compact, epoch seconds or milliseconds).",
    )
    entity_prefix: str = Field("", description="Prefix added to entity ids (to keep departments' ids apart).")
    conventions: FeedConventions = Field(
        default_factory=FeedConventions, description="Missing-value markers, day-first dates, backfill."
    )

    @property
    def effective_schedule(self) -> Schedule:
        return self.schedule if self.schedule is not None else Schedule(interval=self.cadence)


class MetricSettings(Section):
    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$", description="Column name, snake_case.")
    label: str | None = Field(None, description="Label shown to users.")
    unit: str = Field("", description="Canonical unit, e.g. 'MPa'.")
    min: float | None = Field(None, description="Values below are quarantined.")
    max: float | None = Field(None, description="Values above are quarantined.")
    required: bool = Field(False, description="A row without it is quarantined.")


class DomainSettings(Section):
    """A department's domain that is not built in, e.g. fire-rescue hydrant pressure."""

    label: str | None = Field(None, description="Name shown to users.")
    entity_kind: str | None = Field(None, description="Kind of entity measured; default the domain's name.")
    metrics: list[MetricSettings] = Field(..., min_length=1, description="Measured values.")
