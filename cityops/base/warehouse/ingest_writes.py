"""The write path of one ingest run: run records, upserts, new entities, quarantine, feed state.

A run is written in one transaction (:meth:`IngestWrites.commit_run`): its accepted rows are upserted
on the domain's key, entities first seen in it join the catalogue, rejected rows go to quarantine, the
rollups it touches are refreshed, and the run record and the feed's state are updated together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cityops.base.domains import Domain
from cityops.base.redact import redact_text
from cityops.base.warehouse.rollups import Rollups
from cityops.base.warehouse.sql import quote, utc_naive

# (lon, lat, districts with code and GeoJSON geometry) → the district code of each point, or None.
LocateDistricts = Callable[[np.ndarray, np.ndarray, pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


class IngestWrites(Rollups):
    """Records ingest runs and writes their rows (maintaining the rollups in the same transaction)."""

    def start_run(
        self,
        run_id: str,
        feed: str,
        trigger: str,
        started_at: datetime,
        *,
        replay_of: str | None = None,
        watermark_before: str | None = None,
    ) -> None:
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO ingest_run "
                "(run_id, feed, trigger, status, started_at, replay_of, watermark_before) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?)",
                [run_id, feed, trigger, utc_naive(started_at), replay_of, watermark_before],
            )

    def set_run_raw_path(self, run_id: str, raw_path: str) -> None:
        with self.transaction() as cur:
            cur.execute("UPDATE ingest_run SET raw_path = ? WHERE run_id = ?", [raw_path, run_id])

    def _upsert_wide(
        self, cur: duckdb.DuckDBPyConnection, domain: Domain, frame: pd.DataFrame, run_id: str, feed: str
    ) -> UpsertCounts:
        table = quote(domain.table)
        key = list(domain.key)
        values = [c for c in domain.column_names if c not in key]
        staged = frame[key + values]
        # DuckDB scans Arrow far faster than pandas string columns.
        cur.register("staged_obs", pa.Table.from_pandas(staged, preserve_index=False))
        try:
            cols = ", ".join(quote(c) for c in key + values)
            scols = ", ".join(f"s.{quote(c)}" for c in key + values)
            if domain.storage != "record" and not self._overlaps(cur, domain, staged):
                # Nothing stored in this time range: every row is new (the common case for a fresh
                # interval or a backfill), so skip the update and anti-join.
                inserted = cur.execute(
                    f"INSERT INTO {table} ({cols}, run_id) SELECT {scols}, ? FROM staged_obs s", [run_id]
                ).fetchall()[0][0]
                return UpsertCounts(int(inserted), 0, len(staged) - int(inserted))
            on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
            # A missing value in a correction means "not sent", never "erase": keep what is stored.
            sets = ", ".join(f"{quote(v)} = COALESCE(s.{quote(v)}, t.{quote(v)})" for v in values)
            changed = " OR ".join(
                f"(s.{quote(v)} IS NOT NULL AND s.{quote(v)} IS DISTINCT FROM t.{quote(v)})" for v in values
            )
            extra = ", feed = ?" if domain.storage == "record" else ""
            params: list[Any] = [run_id] + ([feed] if extra else [])
            updated = cur.execute(
                f"UPDATE {table} AS t SET {sets}, run_id = ?{extra} "
                f"FROM staged_obs s WHERE {on} AND ({changed})",
                params,
            ).fetchall()[0][0]
            if domain.storage == "record":
                inserted = cur.execute(
                    f"INSERT INTO {table} ({cols}, run_id, feed) SELECT {scols}, ?, ? FROM staged_obs s "
                    f"ANTI JOIN {table} t ON {on}",
                    [run_id, feed],
                ).fetchall()[0][0]
            else:
                inserted = cur.execute(
                    f"INSERT INTO {table} ({cols}, run_id) SELECT {scols}, ? FROM staged_obs s "
                    f"ANTI JOIN {table} t ON {on}",
                    [run_id],
                ).fetchall()[0][0]
        finally:
            cur.unregister("staged_obs")
        return UpsertCounts(int(inserted), int(updated), len(staged) - int(inserted) - int(updated))

    def _overlaps(self, cur: duckdb.DuckDBPyConnection, domain: Domain, staged: pd.DataFrame) -> bool:
        """Whether any stored row of the domain lies in the staged rows' time range.

        Zone maps make this cheap."""
        tcol = domain.time_column
        lo, hi = staged[tcol].min(), staged[tcol].max()
        if pd.isna(lo) or pd.isna(hi):
            return True
        row = cur.execute(
            f"SELECT 1 FROM {quote(domain.table)} WHERE {quote(tcol)} BETWEEN ? AND ? LIMIT 1",
            [lo.to_pydatetime(), hi.to_pydatetime()],
        ).fetchone()
        return row is not None

    def _upsert_long(
        self, cur: duckdb.DuckDBPyConnection, domain: Domain, frame: pd.DataFrame, run_id: str
    ) -> UpsertCounts:
        long = frame.melt(
            id_vars=["entity_id", "ts"], value_vars=list(domain.values), var_name="metric", value_name="value"
        )
        long = long[long["value"].notna()]
        long.insert(0, "domain", domain.name)
        cur.register("staged_obs", long)
        try:
            on = "t.domain = s.domain AND t.entity_id = s.entity_id AND t.ts = s.ts AND t.metric = s.metric"
            updated = cur.execute(
                f"UPDATE obs_metric AS t SET value = s.value, run_id = ? FROM staged_obs s WHERE {on} "
                "AND s.value IS DISTINCT FROM t.value",
                [run_id],
            ).fetchall()[0][0]
            inserted = cur.execute(
                "INSERT INTO obs_metric (domain, entity_id, ts, metric, value, run_id) "
                "SELECT s.domain, s.entity_id, s.ts, s.metric, s.value, ? FROM staged_obs s "
                f"ANTI JOIN obs_metric t ON {on}",
                [run_id],
            ).fetchall()[0][0]
        finally:
            cur.unregister("staged_obs")
        # Count in rows of the payload, not in (row, metric) cells.
        rows = len(frame)
        if len(long) == 0:
            return UpsertCounts(0, 0, rows)
        cells_per_row = len(long) / rows
        ins = round(int(inserted) / cells_per_row)
        upd = min(rows - ins, round(int(updated) / cells_per_row))
        return UpsertCounts(ins, upd, rows - ins - upd)

    def _register_entities(
        self,
        cur: duckdb.DuckDBPyConnection,
        domain: Domain,
        frame: pd.DataFrame,
        department: str,
        feed: str,
        locate: LocateDistricts | None,
    ) -> int:
        """Entities first seen in a feed (with a position) join the entity table."""
        if domain.storage == "record" or "lon" not in frame or "lat" not in frame:
            return 0
        placed = frame[frame["lon"].notna() & frame["lat"].notna()]
        if placed.empty:
            return 0
        cols = ["entity_id", "lon", "lat"] + [c for c in ("entity_name", "district_code") if c in placed]
        latest = placed.sort_values("ts", kind="stable")[cols].drop_duplicates("entity_id", keep="last")
        if "entity_name" not in latest:
            latest["entity_name"] = latest["entity_id"]
        if "district_code" not in latest:
            latest["district_code"] = None
        missing = latest["district_code"].isna()
        if missing.any() and locate is not None:
            # Place new entities in their district by position, so they count in district views.
            districts = cur.execute("SELECT code, geometry FROM district").df()
            if len(districts):
                sub = latest[missing]
                latest.loc[missing, "district_code"] = locate(
                    sub["lon"].to_numpy(), sub["lat"].to_numpy(), districts
                )
        cur.register("staged_ent", latest)
        try:
            n = cur.execute(
                "INSERT INTO entity "
                "(entity_id, kind, name, department, district_code, lon, lat, source, updated_at) "
                "SELECT s.entity_id, ?, coalesce(s.entity_name, s.entity_id), ?, s.district_code, "
                "s.lon, s.lat, ?, ? "
                "FROM staged_ent s ANTI JOIN entity e ON e.entity_id = s.entity_id",
                [domain.entity_kind, department, f"feed:{feed}", utc_naive(datetime.now(UTC))],
            ).fetchall()[0][0]
        finally:
            cur.unregister("staged_ent")
        return int(n)

    def commit_run(
        self,
        *,
        run_id: str,
        feed: str,
        department: str,
        domain: Domain,
        accepted: pd.DataFrame,
        quarantined: pd.DataFrame,
        summary: dict[str, Any],
        watermark_after: str | None,
        success: bool,
        update_feed_state: bool = True,
        locate: LocateDistricts | None = None,
    ) -> UpsertCounts:
        """Write one run atomically: rows, quarantine, the run record and the feed's state.

        ``locate`` places entities first seen in this run in their district by position (the caller
        passes ``geo.boundaries.assign_districts``; without it they keep no district).
        """
        counts = UpsertCounts()
        summary = {**summary, **{k: redact_text(summary[k]) for k in ("error", "notes") if summary.get(k)}}
        finished = utc_naive(summary["finished_at"])
        with self.transaction() as cur:
            if len(accepted):
                counts = (
                    self._upsert_long(cur, domain, accepted, run_id)
                    if domain.storage == "long"
                    else self._upsert_wide(cur, domain, accepted, run_id, feed)
                )
                self._register_entities(cur, domain, accepted, department, feed, locate)
                if counts.inserted or counts.updated:
                    self._refresh_rollups(cur, domain, accepted)
            if len(quarantined):
                q = quarantined.assign(run_id=run_id, feed=feed, quarantined_at=finished)
                cur.register(
                    "staged_q", q[["run_id", "feed", "row_number", "reason", "raw_row", "quarantined_at"]]
                )
                try:
                    cur.execute("INSERT INTO quarantine SELECT * FROM staged_q")
                finally:
                    cur.unregister("staged_q")
            data_from = data_to = None
            if len(accepted) and domain.time_column in accepted:
                data_from = accepted[domain.time_column].min()
                data_to = accepted[domain.time_column].max()
                data_from = None if pd.isna(data_from) else data_from.to_pydatetime()
                data_to = None if pd.isna(data_to) else data_to.to_pydatetime()
            cur.execute(
                """UPDATE ingest_run SET status = ?, finished_at = ?, duration_s = ?, attempts = ?,
                   rows_fetched = ?, rows_inserted = ?, rows_updated = ?, rows_unchanged = ?,
                   rows_rejected = ?, rows_duplicate = ?, error = ?, error_kind = ?, notes = ?,
                   watermark_after = ?, data_from = ?, data_to = ?
                   WHERE run_id = ?""",
                [
                    summary["status"],
                    finished,
                    summary["duration_s"],
                    summary.get("attempts", 1),
                    summary.get("rows_fetched", 0),
                    counts.inserted,
                    counts.updated,
                    counts.unchanged,
                    len(quarantined),
                    summary.get("rows_duplicate", 0),
                    summary.get("error"),
                    summary.get("error_kind"),
                    summary.get("notes"),
                    watermark_after,
                    data_from,
                    data_to,
                    run_id,
                ],
            )
            if update_feed_state:
                self._update_feed_state(
                    cur, feed, run_id, finished, success, summary.get("error"), watermark_after, data_to
                )
        return counts

    def _update_feed_state(
        self,
        cur: duckdb.DuckDBPyConnection,
        feed: str,
        run_id: str,
        at: datetime | None,
        success: bool,
        error: str | None,
        watermark: str | None,
        data_to: datetime | None,
    ) -> None:
        cur.execute(
            "INSERT INTO feed_state (feed) "
            "SELECT ? WHERE NOT EXISTS (SELECT 1 FROM feed_state WHERE feed = ?)",
            [feed, feed],
        )
        if success:
            cur.execute(
                """UPDATE feed_state SET last_run_id = ?, last_run_at = ?, last_success_at = ?,
                   consecutive_failures = 0,
                   watermark = coalesce(?, watermark),
                   last_data_at = CASE WHEN ? IS NULL THEN last_data_at
                                       WHEN last_data_at IS NULL OR ? > last_data_at THEN ?
                                       ELSE last_data_at END
                   WHERE feed = ?""",
                [run_id, at, at, watermark, data_to, data_to, data_to, feed],
            )
        else:
            cur.execute(
                """UPDATE feed_state SET last_run_id = ?, last_run_at = ?, last_failure_at = ?,
                   last_error = ?, consecutive_failures = consecutive_failures + 1 WHERE feed = ?""",
                [run_id, at, at, error, feed],
            )

    def recover_interrupted_runs(self, at: datetime) -> list[str]:
        """Runs left 'running' by a killed process become 'interrupted'.

        Their rows were never committed."""
        with self.transaction() as cur:
            rows = cur.execute("SELECT run_id FROM ingest_run WHERE status = 'running'").fetchall()
            cur.execute(
                "UPDATE ingest_run SET status = 'interrupted', finished_at = ?, "
                "error = 'the process stopped during this run; nothing of it was committed' "
                "WHERE status = 'running'",
                [utc_naive(at)],
            )
        return [r[0] for r in rows]
