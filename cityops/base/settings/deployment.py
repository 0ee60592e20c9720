"""Where the city and the process live: city, storage, server, scheduler and the users who sign in."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from cityops.base.settings.model import Section, Timezone
from cityops.base.values import Duration


class CitySettings(Section):
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


class StorageSettings(Section):
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
    def access_store_path(self) -> Path:
        """The default store of sessions and display tokens (SQLite), shared by this machine's processes."""
        return self.data_dir / "access.sqlite3"

    @property
    def audit_spool_path(self) -> Path:
        """Audit events written while another process holds the warehouse, imported by the server."""
        return self.data_dir / "audit-spool.jsonl"


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="Address the dashboard listens on.")
    port: int = Field(8050, ge=1, le=65535, description="Port of the dashboard and /healthz.")
    threads: int = Field(8, ge=1, le=64, description="WSGI worker threads.")
    anonymous_viewer: bool = Field(False, description="Let anyone view pages without signing in.")
    behind_https: bool = Field(
        False,
        description="Served through an HTTPS reverse proxy: cookies are marked Secure and the proxy's "
        "X-Forwarded-For/-Proto/-Host headers (one proxy) are trusted.",
    )
    wall_frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Origins (e.g. 'https://screen.example.gov.cn') that may embed /wall in a frame; "
        "every other page may be framed by this site only.",
    )
    max_request_mb: float = Field(
        4.0, gt=0, le=1024, description="Larger request bodies are refused before they are read."
    )
    sign_in_budget: str = Field(
        "10/minute",
        pattern=r"^\d+\s*/\s*(second|minute|hour|day)$",
        description="Sign-in attempts allowed per address (checked before any password is hashed).",
    )
    sign_in_hashing: int = Field(
        1,
        ge=1,
        le=16,
        description="Passwords checked at once; further attempts wait briefly, then are refused.",
    )

    @field_validator("wall_frame_ancestors")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        bad = [o for o in value if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", o)]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port]): {', '.join(map(repr, bad))}")
        return value


class SchedulerSettings(Section):
    enabled: bool = Field(True, description="Run the ingest and evaluation jobs in this process.")
    max_workers: int = Field(8, ge=1, le=64, description="Threads for concurrent feed runs.")
    misfire_grace: Duration = Field(
        timedelta(minutes=2), description="How late a missed run may still start."
    )


class UserSettings(Section):
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


class AuthSettings(Section):
    """Sign-in. Viewing without signing in is `server.anonymous_viewer`; changes always need a user."""

    users: list[UserSettings] = Field(default_factory=list, description="Users and their roles.")
    secret_key: str | None = Field(
        None,
        description="Not used any more: sessions are kept on the server (session_store). Accepted so that "
        "older configurations still load.",
    )
    session_lifetime: Duration = Field(
        timedelta(hours=12), description="A sign-in lasts at most this long (a duty shift)."
    )
    session_idle: Duration = Field(
        timedelta(hours=2), description="A sign-in ends after this long without a request."
    )
    session_store: str | None = Field(
        None,
        description="Where sessions and display tokens are kept, seen by every web process: default a "
        "SQLite file in the data directory (one machine); 'postgresql://…' for several machines "
        "('${ENV}' for the password).",
    )

    @field_validator("session_store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("a PostgreSQL URL (postgresql://user@host/db); leave it out for the default")
        return value

    @field_validator("users")
    @classmethod
    def _unique(cls, value: list[UserSettings]) -> list[UserSettings]:
        names = [u.name for u in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"user name(s) {', '.join(dupes)} given more than once")
        return value
