"""Errors of the spine.

    CityopsError                 base of every error a user may see; ``str()`` is one line
    ├── ConfigError              the configuration file or an override is wrong (file, key, allowed)
    ├── WarehouseError           the database cannot be opened, migrated or written
    │   └── DatabaseLockedError  another process holds the DuckDB file
    └── (ingest.errors.IngestError and its subclasses live with the pipeline)

Every message says what happened, where, and what to do (``hint``).
"""

from __future__ import annotations


class CityopsError(Exception):
    """An error with a one-line message and an optional fix for the person reading it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} — {self.hint}"


class ConfigError(CityopsError):
    """The configuration is invalid: names the file, the key and what is allowed."""


class WarehouseError(CityopsError):
    """The warehouse could not do what was asked."""


class DatabaseLockedError(WarehouseError):
    """The DuckDB file is held by another process (DuckDB allows one writer process per file)."""
