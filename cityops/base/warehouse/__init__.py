"""The warehouse: the one package that owns DuckDB.

Everything that touches the database goes through :class:`Warehouse`:

- it opens the file (one read-write process per file is DuckDB's rule), applies migrations and
  hands each thread its own cursor (DuckDB connections are not thread-safe; cursors are);
- writes go through one lock and one transaction per logical change, so a process killed mid-write
  leaves the previous state, never half of a run;
- reads are named methods returning frames or rows; values are always bound parameters.

Other modules never import duckdb. When the warehouse moves to DuckLake, this is the package that
changes. Its rooms, each a part of :class:`Warehouse`:

- ``connection``: open, cursors, transactions, the write lock, migrations (``migrations``);
- ``reference``: districts and the entity catalogue;
- ``ingest_writes``: one ingest run's rows, quarantine, run record and feed state;
- ``rollups``: hourly, daily and latest-state maintenance and rebuild;
- ``feed_reads``, ``warning_records``, ``observation_reads``, ``explore_reads``, ``rollup_reads``,
  ``snapshot_records``: the named reads (and the writes of warnings and snapshots) of each area;
- ``outbox``: the notification outbox (enqueued with the warning change, delivered at least once);
- ``audit_records``: the audit log (who did what, from where, when) and the import of its spool;
- ``sql``: bound times, quoted identifiers and local calendar days, shared by all of them.
"""

from __future__ import annotations

from typing import Any

from cityops.base.warehouse.audit_records import AuditRecords
from cityops.base.warehouse.explore_reads import ExploreReads
from cityops.base.warehouse.feed_reads import FeedReads
from cityops.base.warehouse.ingest_writes import IngestWrites, LocateDistricts, UpsertCounts
from cityops.base.warehouse.observation_reads import ObservationReads
from cityops.base.warehouse.outbox import OutboxItem, OutboxRecords
from cityops.base.warehouse.reference import ReferenceData
from cityops.base.warehouse.rollup_reads import RollupReads
from cityops.base.warehouse.snapshot_records import SnapshotRecords
from cityops.base.warehouse.warning_records import WarningRecords

__all__ = ["LocateDistricts", "OutboxItem", "UpsertCounts", "Warehouse", "open_warehouse"]


class Warehouse(
    IngestWrites,
    ReferenceData,
    FeedReads,
    WarningRecords,
    ObservationReads,
    ExploreReads,
    RollupReads,
    SnapshotRecords,
    OutboxRecords,
    AuditRecords,
):
    """Owns one DuckDB database file (or ``:memory:``)."""


def open_warehouse(settings: Any) -> Warehouse:
    """The warehouse a configuration describes (file, memory limit, threads, the city's timezone)."""
    storage = settings.storage
    return Warehouse(
        storage.database_path,
        memory_limit=storage.memory_limit,
        threads=storage.threads,
        timezone=settings.city.timezone,
    )
