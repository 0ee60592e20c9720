"""The warehouse: the one module that owns DuckDB.

Everything that touches the database goes through :class:`Warehouse`:

- it opens the file (one read-write process per file is DuckDB's rule), applies migrations and
  hands each thread its own cursor (DuckDB connections are not thread-safe; cursors are);
- writes go through one lock and one transaction per logical change, so a process killed mid-write
  leaves the previous state, never half of a run;
- reads are named methods returning frames or rows; values are always bound parameters.

Other modules never import duckdb. When the warehouse moves to DuckLake, this is the module that
changes.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cityops.base.domains import Domain
from cityops.base.errors import DatabaseLockedError, WarehouseError
from cityops.base.migrations import MIGRATIONS

# (lon, lat, districts with code and GeoJSON geometry) → the district code of each point, or None.
LocateDistricts = Callable[[np.ndarray, np.ndarray, pd.DataFrame], np.ndarray]

ENTITY_COLUMNS = (
    "entity_id",
    "kind",
    "name",
    "name_en",
    "department",
    "district_code",
    "lon",
    "lat",
    "geometry",
    "road_name",
    "road_class",
    "length_m",
    "free_flow_kmh",
    "lanes",
    "river",
    "basin",
    "station_type",
    "warning_level_m",
    "guaranteed_level_m",
    "flood_limit_level_m",
    "historical_level_m",
    "normal_level_m",
    "props",
    "source",
    "updated_at",
)


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


def _utc_naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise WarehouseError(f"refusing unsafe identifier {name!r}")
    return f'"{name}"'


class Warehouse:
    """Owns one DuckDB database file (or ``:memory:``)."""

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.timezone = timezone  # the city's: daily rollups are calendar days there
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise DatabaseLockedError(
                    f"the database {self.path} is in use by another process",
                    hint="stop the other cityops process (only one process may write a DuckDB file), "
                    "or point --config at another storage.data_dir",
                ) from None
            raise WarehouseError(f"cannot open the database {self.path}: {text.splitlines()[0]}") from None
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._closed = False
        if not read_only:
            self.migrate()
            self._ensure_rollups()

    # -- connections -------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor."""
        if self._closed:
            raise WarehouseError("the warehouse is closed")
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._conn.cursor()
            self._local.cursor = cur
        return cur

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction under the write lock; rolled back on any exception."""
        if self.read_only:
            raise WarehouseError("the warehouse is open read-only")
        with self._write_lock:
            cur = self.cursor()
            cur.begin()
            try:
                yield cur
            except BaseException:
                cur.rollback()
                raise
            else:
                cur.commit()

    def _df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with warnings.catch_warnings():
            # duckdb 1.5.5 uses a pandas API that pandas 3 deprecates, inside .df().
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*Pandas4Warning.*")
            try:
                from pandas.errors import Pandas4Warning

                warnings.simplefilter("ignore", category=Pandas4Warning)
            except ImportError:  # pragma: no cover - older pandas
                pass
            return self.cursor().execute(sql, params or []).df()

    def _rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.cursor().execute(sql, params or []).fetchall()

    # -- schema ------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""
        applied: list[int] = []
        with self.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at TIMESTAMP)"
            )
            done = {r[0] for r in cur.execute("SELECT version FROM schema_version").fetchall()}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            with self.transaction() as cur:
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [version, name, _utc_naive(datetime.now(UTC))],
                )
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        row = self._rows("SELECT max(version) FROM schema_version")
        return int(row[0][0] or 0)

    def table_count(self, table: str) -> int:
        return int(self._rows(f"SELECT count(*) FROM {_quote(table)}")[0][0])

    def ping(self) -> bool:
        return self._rows("SELECT 1")[0][0] == 1

    # -- reference data ----------------------------------------------------------------------

    def upsert_districts(self, frame: pd.DataFrame) -> int:
        cols = ["code", "name", "name_en", "geometry", "lon", "lat"]
        staged = frame[cols]
        with self.transaction() as cur:
            cur.register("staged_districts", staged)
            try:
                cur.execute("DELETE FROM district WHERE code IN (SELECT code FROM staged_districts)")
                cur.execute(
                    f"INSERT INTO district ({', '.join(cols)}) SELECT {', '.join(cols)} FROM staged_districts"
                )
            finally:
                cur.unregister("staged_districts")
        return len(staged)

    def districts(self) -> pd.DataFrame:
        return self._df("SELECT * FROM district ORDER BY code")

    def upsert_entities(self, frame: pd.DataFrame, *, only_new: bool = False) -> int:
        """Insert or replace entities (catalogue rows); ``only_new`` keeps existing ones untouched."""
        staged = frame.copy()
        now = _utc_naive(datetime.now(UTC))
        for col in ENTITY_COLUMNS:
            if col not in staged:
                staged[col] = now if col == "updated_at" else None
        if "props" in staged:
            staged["props"] = staged["props"].map(
                lambda v: (
                    None
                    if v is None or (isinstance(v, float) and np.isnan(v))
                    else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                )
            )
        staged = staged[list(ENTITY_COLUMNS)].drop_duplicates(subset=["entity_id"], keep="last")
        cols = ", ".join(ENTITY_COLUMNS)
        with self.transaction() as cur:
            cur.register("staged_entities", staged)
            try:
                if only_new:
                    n = cur.execute(
                        f"INSERT INTO entity ({cols}) SELECT {cols} FROM staged_entities s "
                        "ANTI JOIN entity e ON e.entity_id = s.entity_id"
                    ).fetchall()[0][0]
                else:
                    cur.execute(
                        "DELETE FROM entity WHERE entity_id IN (SELECT entity_id FROM staged_entities)"
                    )
                    n = cur.execute(
                        f"INSERT INTO entity ({cols}) SELECT {cols} FROM staged_entities"
                    ).fetchall()[0][0]
            finally:
                cur.unregister("staged_entities")
        return int(n)

    def entities(self, kind: str | None = None) -> pd.DataFrame:
        if kind is None:
            return self._df("SELECT * FROM entity ORDER BY kind, entity_id")
        return self._df("SELECT * FROM entity WHERE kind = ? ORDER BY entity_id", [kind])

    # -- the write path of one ingest run -----------------------------------------------------

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
                "INSERT INTO ingest_run (run_id, feed, trigger, status, started_at, replay_of, watermark_before) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?)",
                [run_id, feed, trigger, _utc_naive(started_at), replay_of, watermark_before],
            )

    def set_run_raw_path(self, run_id: str, raw_path: str) -> None:
        with self.transaction() as cur:
            cur.execute("UPDATE ingest_run SET raw_path = ? WHERE run_id = ?", [raw_path, run_id])

    def _upsert_wide(
        self, cur: duckdb.DuckDBPyConnection, domain: Domain, frame: pd.DataFrame, run_id: str, feed: str
    ) -> UpsertCounts:
        table = _quote(domain.table)
        key = list(domain.key)
        values = [c for c in domain.column_names if c not in key]
        staged = frame[key + values]
        # DuckDB scans Arrow far faster than pandas string columns.
        cur.register("staged_obs", pa.Table.from_pandas(staged, preserve_index=False))
        try:
            cols = ", ".join(_quote(c) for c in key + values)
            scols = ", ".join(f"s.{_quote(c)}" for c in key + values)
            if domain.storage != "record" and not self._overlaps(cur, domain, staged):
                # Nothing stored in this time range: every row is new (the common case for a fresh
                # interval or a backfill), so skip the update and anti-join.
                inserted = cur.execute(
                    f"INSERT INTO {table} ({cols}, run_id) SELECT {scols}, ? FROM staged_obs s", [run_id]
                ).fetchall()[0][0]
                return UpsertCounts(int(inserted), 0, len(staged) - int(inserted))
            on = " AND ".join(f"t.{_quote(k)} = s.{_quote(k)}" for k in key)
            # A missing value in a correction means "not sent", never "erase": keep what is stored.
            sets = ", ".join(f"{_quote(v)} = COALESCE(s.{_quote(v)}, t.{_quote(v)})" for v in values)
            changed = " OR ".join(
                f"(s.{_quote(v)} IS NOT NULL AND s.{_quote(v)} IS DISTINCT FROM t.{_quote(v)})"
                for v in values
            )
            extra = ", feed = ?" if domain.storage == "record" else ""
            params: list[Any] = [run_id] + ([feed] if extra else [])
            updated = cur.execute(
                f"UPDATE {table} AS t SET {sets}, run_id = ?{extra} FROM staged_obs s WHERE {on} AND ({changed})",
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
                    f"INSERT INTO {table} ({cols}, run_id) SELECT {scols}, ? FROM staged_obs s ANTI JOIN {table} t ON {on}",
                    [run_id],
                ).fetchall()[0][0]
        finally:
            cur.unregister("staged_obs")
        return UpsertCounts(int(inserted), int(updated), len(staged) - int(inserted) - int(updated))

    def _overlaps(self, cur: duckdb.DuckDBPyConnection, domain: Domain, staged: pd.DataFrame) -> bool:
        """Whether any stored row of the domain lies in the staged rows' time range (zone maps make this cheap)."""
        tcol = domain.time_column
        lo, hi = staged[tcol].min(), staged[tcol].max()
        if pd.isna(lo) or pd.isna(hi):
            return True
        row = cur.execute(
            f"SELECT 1 FROM {_quote(domain.table)} WHERE {_quote(tcol)} BETWEEN ? AND ? LIMIT 1",
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
                f"SELECT s.domain, s.entity_id, s.ts, s.metric, s.value, ? FROM staged_obs s ANTI JOIN obs_metric t ON {on}",
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
        latest = placed.sort_values("ts")[cols].drop_duplicates("entity_id", keep="last")
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
                "INSERT INTO entity (entity_id, kind, name, department, district_code, lon, lat, source, updated_at) "
                "SELECT s.entity_id, ?, coalesce(s.entity_name, s.entity_id), ?, s.district_code, s.lon, s.lat, ?, ? "
                "FROM staged_ent s ANTI JOIN entity e ON e.entity_id = s.entity_id",
                [domain.entity_kind, department, f"feed:{feed}", _utc_naive(datetime.now(UTC))],
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
        finished = _utc_naive(summary["finished_at"])
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
                """UPDATE ingest_run SET status = ?, finished_at = ?, duration_s = ?, attempts = ?, rows_fetched = ?,
                   rows_inserted = ?, rows_updated = ?, rows_unchanged = ?, rows_rejected = ?, rows_duplicate = ?,
                   error = ?, error_kind = ?, notes = ?, watermark_after = ?, data_from = ?, data_to = ?
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
            "INSERT INTO feed_state (feed) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM feed_state WHERE feed = ?)",
            [feed, feed],
        )
        if success:
            cur.execute(
                """UPDATE feed_state SET last_run_id = ?, last_run_at = ?, last_success_at = ?,
                   consecutive_failures = 0,
                   watermark = coalesce(?, watermark),
                   last_data_at = CASE WHEN ? IS NULL THEN last_data_at
                                       WHEN last_data_at IS NULL OR ? > last_data_at THEN ? ELSE last_data_at END
                   WHERE feed = ?""",
                [run_id, at, at, watermark, data_to, data_to, data_to, feed],
            )
        else:
            cur.execute(
                """UPDATE feed_state SET last_run_id = ?, last_run_at = ?, last_failure_at = ?, last_error = ?,
                   consecutive_failures = consecutive_failures + 1 WHERE feed = ?""",
                [run_id, at, at, error, feed],
            )

    # -- rollups and the latest state ---------------------------------------------------------

    def _observation_domains(self, cur: duckdb.DuckDBPyConnection) -> list[Domain]:
        """Built-in observation domains, plus every configured domain present in obs_metric."""
        from cityops.base.domains import BUILTIN_DOMAINS, custom_domain

        out = [d for d in BUILTIN_DOMAINS.values() if d.storage == "wide"]
        for name, metrics in cur.execute(
            "SELECT domain, list(DISTINCT metric) FROM obs_metric GROUP BY domain"
        ).fetchall():
            out.append(custom_domain(name, None, None, [{"name": m} for m in sorted(metrics)]))
        return out

    def _hourly_select(self, domain: Domain, where: str) -> str:
        """SELECT producing rollup_hourly rows for ``domain`` from raw rows matching ``where``."""
        aggregates = (
            "count(value) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max, "
            "max(ts) AS last_ts, arg_max(value, ts) AS last"
        )
        if domain.storage == "long":
            return (
                f"SELECT domain, entity_id, metric, date_trunc('hour', ts) AS hour, {aggregates} "
                f"FROM obs_metric WHERE domain = $domain AND {where} AND value IS NOT NULL GROUP BY ALL"
            )
        # Aggregate the wide rows first and unpivot the (much smaller) aggregates.
        parts, groups = [], []
        for v in domain.values:
            q = _quote(v)
            has = f"FILTER (WHERE {q} IS NOT NULL)"
            names = [_quote(f"{v}__{k}") for k in ("n", "sum", "min", "max", "last_ts", "last")]
            parts.append(
                f"count({q}) AS {names[0]}, sum({q}) AS {names[1]}, min({q}) AS {names[2]}, max({q}) AS {names[3]}, "
                f"max(ts) {has} AS {names[4]}, arg_max({q}, ts) {has} AS {names[5]}"
            )
            groups.append(f"({', '.join(names)}) AS '{v}'")
        return (
            f"SELECT $domain AS domain, entity_id, metric, hour, n, sum, min, max, last_ts, last FROM ("
            f"UNPIVOT (SELECT entity_id, date_trunc('hour', ts) AS hour, {', '.join(parts)} "
            f"FROM {_quote(domain.table)} WHERE {where} GROUP BY ALL) "
            f"ON {', '.join(groups)} INTO NAME metric VALUE n, sum, min, max, last_ts, last) WHERE n > 0"
        )

    def _local_day(self, column: str) -> str:
        return f"CAST((({column} AT TIME ZONE 'UTC') AT TIME ZONE $tz) AS DATE)"

    def _refresh_rollups(
        self, cur: duckdb.DuckDBPyConnection, domain: Domain, accepted: pd.DataFrame
    ) -> None:
        """Recompute the hourly and daily buckets the accepted rows touch, and move the latest state on.

        Buckets are recomputed from the stored rows (not patched), so corrections and late rows give
        the same rollups as a rebuild from scratch."""
        if domain.storage == "record" or accepted.empty:
            return
        lo = pd.Timestamp(accepted["ts"].min()).floor("h").to_pydatetime()
        hi = (pd.Timestamp(accepted["ts"].max()).floor("h") + pd.Timedelta(hours=1)).to_pydatetime()
        cur.register("rollup_entities", pa.table({"entity_id": pd.unique(accepted["entity_id"].astype(str))}))
        try:
            params = {"domain": domain.name, "lo": lo, "hi": hi}
            in_batch = "entity_id IN (SELECT entity_id FROM rollup_entities)"
            window = f"ts >= $lo AND ts < $hi AND {in_batch}"
            cur.execute(
                f"DELETE FROM rollup_hourly WHERE domain = $domain AND hour >= $lo AND hour < $hi AND {in_batch}",
                params,
            )
            cur.execute(f"INSERT INTO rollup_hourly {self._hourly_select(domain, window)}", params)
            days = {"domain": domain.name, "lo": lo, "hi": hi, "tz": self.timezone}
            day = self._local_day("hour")
            lo_day = self._local_day("CAST($lo AS TIMESTAMP)")
            hi_day = self._local_day("(CAST($hi AS TIMESTAMP) - INTERVAL 1 microsecond)")
            cur.execute(
                f"DELETE FROM rollup_daily WHERE domain = $domain AND day BETWEEN {lo_day} AND {hi_day} AND {in_batch}",
                days,
            )
            cur.execute(
                f"""INSERT INTO rollup_daily
                    SELECT domain, entity_id, metric, {day} AS day, sum(n), sum(sum), min(min), max(max)
                    FROM rollup_hourly
                    WHERE domain = $domain AND {in_batch}
                      AND hour >= CAST($lo AS TIMESTAMP) - INTERVAL 1 DAY AND hour < CAST($hi AS TIMESTAMP) + INTERVAL 1 DAY
                      AND {day} BETWEEN {lo_day} AND {hi_day}
                    GROUP BY ALL""",
                days,
            )
            cur.execute(
                f"""INSERT INTO latest_obs
                    SELECT domain, entity_id, metric, last_ts, last FROM (
                        SELECT domain, entity_id, metric, max(last_ts) AS last_ts, arg_max(last, last_ts) AS last
                        FROM rollup_hourly WHERE domain = $domain AND hour >= $lo AND hour < $hi AND {in_batch}
                        GROUP BY ALL)
                    ON CONFLICT DO UPDATE SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest_obs.ts""",
                {"domain": domain.name, "lo": lo, "hi": hi},
            )
        finally:
            cur.unregister("rollup_entities")

    def rebuild_rollups(self) -> None:
        """Recompute every rollup and the latest state from the stored observations (one full scan)."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM rollup_hourly")
            cur.execute("DELETE FROM rollup_daily")
            cur.execute("DELETE FROM latest_obs")
            for domain in self._observation_domains(cur):
                cur.execute(
                    f"INSERT INTO rollup_hourly {self._hourly_select(domain, 'TRUE')}",
                    {"domain": domain.name},
                )
            day = self._local_day("hour")
            cur.execute(
                f"INSERT INTO rollup_daily SELECT domain, entity_id, metric, {day} AS day, sum(n), sum(sum), min(min), "
                "max(max) FROM rollup_hourly GROUP BY ALL",
                {"tz": self.timezone},
            )
            cur.execute(
                "INSERT INTO latest_obs SELECT domain, entity_id, metric, max(last_ts), arg_max(last, last_ts) "
                "FROM rollup_hourly GROUP BY ALL"
            )
            cur.execute(
                "INSERT OR REPLACE INTO warehouse_meta VALUES ('rollup_timezone', ?)", [self.timezone]
            )

    def _ensure_rollups(self) -> None:
        row = (
            self.cursor().execute("SELECT value FROM warehouse_meta WHERE key = 'rollup_timezone'").fetchone()
        )
        if row is None or row[0] != self.timezone:
            self.rebuild_rollups()

    def latest(self, domain: Domain) -> pd.DataFrame:
        """The latest value of every metric of every entity of a domain: entity_id, ts (newest), metrics."""
        pivots = ", ".join(f"max(value) FILTER (WHERE metric = ?) AS {_quote(m)}" for m in domain.values)
        return self._df(
            f"SELECT entity_id, max(ts) AS ts, {pivots} FROM latest_obs WHERE domain = ? GROUP BY entity_id ORDER BY entity_id",
            [*domain.values, domain.name],
        )

    def hourly(
        self, domain: Domain, *, start: datetime, end: datetime, entity_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Hourly rollups in [start, end): domain, entity_id, metric, hour, n, sum, min, max, mean, last."""
        params: list[Any] = [domain.name, _utc_naive(start), _utc_naive(end)]
        where = "domain = ? AND hour >= ? AND hour < ?"
        if entity_ids is not None:
            where += " AND list_contains(?, entity_id)"
            params.append(list(entity_ids))
        return self._df(
            f"SELECT *, sum / nullif(n, 0) AS mean FROM rollup_hourly WHERE {where} ORDER BY entity_id, metric, hour",
            params,
        )

    def daily(
        self, domain: Domain, *, start: Any, end: Any, entity_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Daily rollups for local calendar days in [start, end)."""
        params: list[Any] = [domain.name, start, end]
        where = "domain = ? AND day >= ? AND day < ?"
        if entity_ids is not None:
            where += " AND list_contains(?, entity_id)"
            params.append(list(entity_ids))
        return self._df(
            f"SELECT *, sum / nullif(n, 0) AS mean FROM rollup_daily WHERE {where} ORDER BY entity_id, metric, day",
            params,
        )

    # -- warnings ------------------------------------------------------------------------------

    _WARNING_COLUMNS = (
        "warning_id",
        "dedup_key",
        "rule_id",
        "rule_title",
        "kind",
        "domain",
        "pack_version",
        "state",
        "level",
        "peak_level",
        "scope",
        "key",
        "entity_id",
        "name",
        "district_code",
        "basin",
        "condition_since",
        "created_at",
        "updated_at",
        "activated_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "clear_since",
        "last_reminder_at",
        "suppressed_from",
        "suppressed_reason",
        "value",
        "threshold",
        "summary",
        "evidence",
        "data_ts",
        "assignee",
        "silenced_until",
    )

    def _warning_row(self, st: Any) -> list[Any]:
        row = []
        for col in self._WARNING_COLUMNS:
            v = getattr(st, col)
            if col in ("level", "peak_level"):
                v = None if v is None else int(v)
            elif col == "evidence":
                v = json.dumps(v, ensure_ascii=False, default=str)
            elif isinstance(v, datetime):
                v = _utc_naive(v)
            elif isinstance(v, float) and v != v:
                v = None
            row.append(v)
        return row

    def save_warnings(self, states: Sequence[Any], transitions: Sequence[Any]) -> None:
        """Persist one tick (or one operator action): warning rows upserted, transitions appended."""
        cols = ", ".join(self._WARNING_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in self._WARNING_COLUMNS if c != "warning_id")
        with self.transaction() as cur:
            if states:
                # Staged as one frame and upserted in one statement (row by row costs ~10 ms a warning).
                staged = pd.DataFrame(
                    [self._warning_row(st) for st in states],
                    columns=list(self._WARNING_COLUMNS),
                    dtype=object,
                )
                cur.register("_staged_warnings", staged)
                try:
                    cur.execute(
                        f"INSERT INTO warning ({cols}) SELECT {cols} FROM _staged_warnings "
                        f"ON CONFLICT (warning_id) DO UPDATE SET {updates}"
                    )
                finally:
                    cur.unregister("_staged_warnings")
            if transitions:
                cur.executemany(
                    "INSERT INTO warning_transition VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, nextval('warning_transition_seq'))",
                    [
                        [
                            tr.warning_id,
                            tr.dedup_key,
                            _utc_naive(tr.at),
                            tr.from_state,
                            tr.to_state,
                            None if tr.from_level is None else int(tr.from_level),
                            None if tr.to_level is None else int(tr.to_level),
                            tr.actor,
                            tr.reason,
                        ]
                        for tr in transitions
                    ],
                )

    def warnings(
        self, *, open_only: bool = False, since: datetime | None = None, limit: int = 500
    ) -> pd.DataFrame:
        where: list[str] = []
        params: list[Any] = []
        if open_only:
            where.append("state IN ('pending', 'active', 'acknowledged', 'suppressed')")
        if since is not None:
            where.append("(resolved_at IS NULL OR resolved_at >= ?)")
            params.append(_utc_naive(since))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        params.append(limit)
        return self._df(
            f"SELECT * FROM warning {clause} ORDER BY level, coalesce(activated_at, created_at) DESC LIMIT ?",
            params,
        )

    def warning(self, warning_id: str) -> dict[str, Any] | None:
        cur = self.cursor().execute("SELECT * FROM warning WHERE warning_id = ?", [warning_id])
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

    def warning_transitions(self, warning_id: str) -> pd.DataFrame:
        return self._df("SELECT * FROM warning_transition WHERE warning_id = ? ORDER BY seq", [warning_id])

    def log_delivery(self, record: Any) -> None:
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO notification_delivery VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.target,
                    record.event,
                    record.warning_id,
                    record.attempts,
                    record.status,
                    record.http_status,
                    record.error,
                    _utc_naive(record.started_at),
                    _utc_naive(record.finished_at),
                    record.duration_s,
                ],
            )

    def deliveries(self, limit: int = 200) -> pd.DataFrame:
        return self._df("SELECT * FROM notification_delivery ORDER BY finished_at DESC LIMIT ?", [limit])

    def observation_window(self, domain: Domain, start: datetime, end: datetime) -> pd.DataFrame:
        """Rows of a domain with ``start <= ts <= end``, sorted by time (a bounded, recent read)."""
        return self.observations(domain, start=start, end=end + pd.Timedelta(microseconds=1))

    def incidents_since(self, start: datetime) -> pd.DataFrame:
        """Incidents reported since ``start`` or still not closed (what 'open incidents' needs)."""
        return self._df(
            "SELECT * FROM incident WHERE reported_at >= ? OR closed_at IS NULL OR closed_at >= ? ORDER BY reported_at",
            [_utc_naive(start), _utc_naive(start)],
        )

    def recover_interrupted_runs(self, at: datetime) -> list[str]:
        """Runs left 'running' by a killed process become 'interrupted' (their rows were never committed)."""
        with self.transaction() as cur:
            rows = cur.execute("SELECT run_id FROM ingest_run WHERE status = 'running'").fetchall()
            cur.execute(
                "UPDATE ingest_run SET status = 'interrupted', finished_at = ?, "
                "error = 'the process stopped during this run; nothing of it was committed' WHERE status = 'running'",
                [_utc_naive(at)],
            )
        return [r[0] for r in rows]

    # -- reads -------------------------------------------------------------------------------

    def feed_states(self) -> pd.DataFrame:
        return self._df("SELECT * FROM feed_state ORDER BY feed")

    def feed_state(self, feed: str) -> dict[str, Any] | None:
        cur = self.cursor().execute("SELECT * FROM feed_state WHERE feed = ?", [feed])
        row = cur.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.description]
        return dict(zip(names, row, strict=True))

    def runs(self, feed: str | None = None, limit: int = 50) -> pd.DataFrame:
        if feed is None:
            return self._df("SELECT * FROM ingest_run ORDER BY started_at DESC LIMIT ?", [limit])
        return self._df(
            "SELECT * FROM ingest_run WHERE feed = ? ORDER BY started_at DESC LIMIT ?", [feed, limit]
        )

    def last_runs(self) -> pd.DataFrame:
        """The latest run of each feed."""
        return self._df(
            "SELECT * FROM ingest_run QUALIFY row_number() OVER (PARTITION BY feed ORDER BY started_at DESC) = 1 ORDER BY feed"
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        cur = self.cursor().execute("SELECT * FROM ingest_run WHERE run_id = ?", [run_id])
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def quarantined(
        self, run_id: str | None = None, feed: str | None = None, limit: int = 1000
    ) -> pd.DataFrame:
        if run_id is not None:
            return self._df(
                "SELECT * FROM quarantine WHERE run_id = ? ORDER BY row_number LIMIT ?", [run_id, limit]
            )
        if feed is not None:
            return self._df(
                "SELECT * FROM quarantine WHERE feed = ? ORDER BY quarantined_at DESC, row_number LIMIT ?",
                [feed, limit],
            )
        return self._df("SELECT * FROM quarantine ORDER BY quarantined_at DESC, row_number LIMIT ?", [limit])

    def observations(
        self,
        domain: Domain,
        *,
        entity_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Rows of one domain (wide form for every storage), filtered by entity and time."""
        where: list[str] = []
        params: list[Any] = []
        tcol = _quote(domain.time_column)
        if domain.storage == "long":
            where.append("domain = ?")
            params.append(domain.name)
        if entity_id is not None:
            where.append("entity_id = ?")
            params.append(entity_id)
        if start is not None:
            where.append(f"{tcol} >= ?")
            params.append(_utc_naive(start))
        if end is not None:
            where.append(f"{tcol} < ?")
            params.append(_utc_naive(end))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        lim = "LIMIT ?" if limit else ""
        if limit:
            params.append(int(limit))
        if domain.storage == "long":
            pivots = ", ".join(f"max(value) FILTER (WHERE metric = ?) AS {_quote(m)}" for m in domain.values)
            return self._df(
                f"SELECT entity_id, ts, {pivots} FROM obs_metric {clause} GROUP BY entity_id, ts ORDER BY ts, entity_id {lim}",
                [*domain.values, *params],
            )
        return self._df(f"SELECT * FROM {_quote(domain.table)} {clause} ORDER BY {tcol} {lim}", params)

    def duplicate_keys(self, domain: Domain) -> int:
        """How many keys occur more than once (must always be 0)."""
        key = ", ".join(
            _quote(k)
            for k in (("domain", "entity_id", "ts", "metric") if domain.storage == "long" else domain.key)
        )
        return int(
            self._rows(
                f"SELECT count(*) FROM (SELECT {key} FROM {_quote(domain.table)} GROUP BY ALL HAVING count(*) > 1)"
            )[0][0]
        )

    # -- explore queries --
    # The analyst explorer (dashboard/explore.py plans them): buckets of one metric, for one station, each
    # station, or the mean over the stations of a district or the city; times come back in local time.

    def _explore_df(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        """DuckDB refuses named parameters the statement does not use: bind only those it names."""
        import re

        return self._df(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})  # type: ignore[arg-type]

    def _explore_scope(self, q: Any, params: dict[str, Any]) -> str:
        if q.entity_ids is not None:
            params["entities"] = list(q.entity_ids)
            return "list_contains($entities, entity_id)"
        if q.district is not None:
            params["district"], params["kind"] = q.district, q.kind
            return (
                "entity_id IN (SELECT entity_id FROM entity WHERE district_code = $district AND kind = $kind)"
            )
        return "TRUE"

    def _explore_buckets(self, q: Any, params: dict[str, Any]) -> str:
        """Per station and bucket: s (sum), n, mn, mx; ``b`` is a UTC hour/bucket, or a local day (daily)."""
        scope = self._explore_scope(q, params)
        params.update(domain=q.domain.name, metric=q.metric, start=_utc_naive(q.start), end=_utc_naive(q.end))
        if q.resolution == "daily":
            lo, hi = (
                self._local_day("CAST($start AS TIMESTAMP)"),
                self._local_day("(CAST($end AS TIMESTAMP) - INTERVAL 1 microsecond)"),
            )
            return (
                f"SELECT entity_id, CAST(day AS TIMESTAMP) AS b, sum AS s, n, min AS mn, max AS mx FROM rollup_daily "
                f"WHERE domain = $domain AND metric = $metric AND day BETWEEN {lo} AND {hi} AND {scope}"
            )
        if q.resolution == "hourly":
            return (
                "SELECT entity_id, hour AS b, sum AS s, n, min AS mn, max AS mx FROM rollup_hourly WHERE domain = $domain "
                f"AND metric = $metric AND hour >= date_trunc('hour', CAST($start AS TIMESTAMP)) AND hour < $end AND {scope}"
            )
        params["step"] = int(q.step_s)
        if q.domain.storage == "long":
            table, col, extra = "obs_metric", '"value"', "domain = $domain AND metric = $metric AND "
        else:
            if q.metric not in q.domain.values:
                raise WarehouseError(f"{q.metric!r} is not a metric of {q.domain.name!r}")
            table, col, extra = _quote(q.domain.table), _quote(q.metric), ""
        return (
            f"SELECT entity_id, time_bucket(to_seconds($step), ts) AS b, sum({col}) AS s, count({col}) AS n, "
            f"min({col}) AS mn, max({col}) AS mx FROM {table} WHERE {extra}ts >= $start AND ts < $end "
            f"AND {col} IS NOT NULL AND {scope} GROUP BY ALL"
        )

    def _explore_incidents(self, q: Any, params: dict[str, Any], *, hourly: bool = False) -> str:
        """Incidents per bucket (reported time) as pseudo-station rows, so the same outer query applies."""
        params.update(start=_utc_naive(q.start), end=_utc_naive(q.end))
        where = "reported_at >= $start AND reported_at < $end"
        if q.district is not None:
            params["district"] = q.district
            where += " AND district_code = $district"
        if hourly or q.resolution != "daily":
            params["step"] = 3600 if hourly else int(q.step_s)
            bucket = "time_bucket(to_seconds($step), reported_at)"
        else:
            bucket = f"CAST({self._local_day('reported_at')} AS TIMESTAMP)"
        return f"SELECT '' AS entity_id, {bucket} AS b, count(*) AS s, count(*) AS n, 1 AS mn, 1 AS mx FROM incident WHERE {where} GROUP BY ALL"

    def explore_series(self, q: Any, tz: str) -> pd.DataFrame:
        """One series (:class:`dashboard.explore.SeriesQuery`): time (local), value, min, max, n [, entity_id].

        ``how = sum`` adds a station's bucket up (rain, counts), ``mean`` averages it; several stations give
        their mean per bucket (the areal mean), with min/max over them, unless ``per_entity``."""
        params: dict[str, Any] = {"tz": tz}
        incident = q.domain.storage == "record"
        inner = self._explore_incidents(q, params) if incident else self._explore_buckets(q, params)
        local = "b" if (q.resolution == "daily") else "((b AT TIME ZONE 'UTC') AT TIME ZONE $tz)"
        v, lo, hi = ("s", "s", "s") if q.how == "sum" else ("s / nullif(n, 0)", "mn", "mx")
        if q.per_entity or (q.entity_ids is not None and len(q.entity_ids) == 1) or incident:
            sql = (
                f"SELECT entity_id, {local} AS time, {v} AS value, {lo} AS min, {hi} AS max, n FROM ({inner}) "
                "ORDER BY entity_id, time"
            )
            frame = self._explore_df(sql, params)
            return frame.drop(columns=["entity_id"]) if not q.per_entity else frame
        sql = (
            f"SELECT {local} AS time, avg({v}) AS value, min({lo}) AS min, max({hi}) AS max, sum(n) AS n, "
            f"count(*) AS stations FROM ({inner}) GROUP BY b ORDER BY time"
        )
        return self._explore_df(sql, params)

    def explore_heatmap(self, q: Any, tz: str) -> pd.DataFrame:
        """Hour of day × local day of a series, from the hourly rollups: day, hour, value, n."""
        params: dict[str, Any] = {"tz": tz}
        if q.domain.storage == "record":
            inner = self._explore_incidents(q, params, hourly=True)
        else:
            from dataclasses import replace

            inner = self._explore_buckets(replace(q, resolution="hourly"), params)
        v = "s" if q.how == "sum" else "s / nullif(n, 0)"
        sql = (
            f"SELECT CAST(t AS DATE) AS day, hour(t) AS hour, avg(v) AS value, sum(n) AS n FROM ("
            f"SELECT ((b AT TIME ZONE 'UTC') AT TIME ZONE $tz) AS t, {v} AS v, n FROM ({inner})) "
            "GROUP BY ALL ORDER BY day, hour"
        )
        return self._explore_df(sql, params)

    # -- snapshot queries --
    # The daily warning snapshot (dashboard/snapshot.py): bounded reads of one report window and the
    # archive of rendered days. Windows are UTC instants; warnings and transitions count in [start, end),
    # observations stamped in (start, end] (a stamp marks the end of its interval).

    def snapshot_transitions(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Warning transitions in [start, end) with their warning's rule, domain and place, in order."""
        return self._df(
            "SELECT t.warning_id, t.dedup_key, t.occurred_at, t.from_state, t.to_state, t.from_level, t.to_level, "
            "t.actor, t.reason, t.seq, w.rule_id, w.rule_title, w.kind, w.domain, w.scope, w.key, w.entity_id, "
            "w.name, w.district_code, w.basin, w.pack_version FROM warning_transition t JOIN warning w USING (warning_id) "
            "WHERE t.occurred_at >= ? AND t.occurred_at < ? ORDER BY t.occurred_at, t.seq",
            [_utc_naive(start), _utc_naive(end)],
        )

    def snapshot_open_at(self, at: datetime) -> pd.DataFrame:
        """Warnings open at ``at`` as their audit trail before ``at`` tells it (not today's state):
        state and level at ``at``, first activation, latest acknowledgement and by whom."""
        return self._df(
            """WITH trail AS (
                   SELECT warning_id, arg_max(to_state, seq) AS state_at, arg_max(to_level, seq) AS level_at,
                          min(occurred_at) FILTER (WHERE to_state = 'active') AS activated_at,
                          max(occurred_at) FILTER (WHERE to_state = 'acknowledged') AS acknowledged_at,
                          arg_max(actor, occurred_at) FILTER (WHERE to_state = 'acknowledged') AS acknowledged_by,
                          arg_max(reason, seq) AS last_reason
                   FROM warning_transition WHERE occurred_at < ? GROUP BY warning_id)
               SELECT w.warning_id, w.dedup_key, w.rule_id, w.rule_title, w.kind, w.domain, w.scope, w.key, w.entity_id,
                      w.name, w.district_code, w.basin, w.pack_version, t.state_at, t.level_at, t.activated_at,
                      t.acknowledged_at, t.acknowledged_by, t.last_reason
               FROM trail t JOIN warning w USING (warning_id)
               WHERE t.state_at IN ('active', 'acknowledged', 'suppressed') AND t.activated_at IS NOT NULL
               ORDER BY t.level_at, t.activated_at, w.warning_id""",
            [_utc_naive(at)],
        )

    def snapshot_water_peaks(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Per hydrological station: the highest level in (start, end], when, and its reference levels."""
        return self._df(
            """SELECT o.entity_id, e.name, e.river, e.district_code, e.station_type, e.warning_level_m,
                      e.guaranteed_level_m, e.flood_limit_level_m, e.historical_level_m,
                      max(o.level_m) AS peak_m, arg_max(o.ts, o.level_m) AS peak_at, count(o.level_m) AS readings
               FROM obs_water o LEFT JOIN entity e USING (entity_id)
               WHERE o.ts > ? AND o.ts <= ? AND o.level_m IS NOT NULL
               GROUP BY ALL ORDER BY o.entity_id""",
            [_utc_naive(start), _utc_naive(end)],
        )

    def snapshot_rain_totals(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Per rain gauge: the total in (start, end], its wettest clock hour (UTC start) and that hour's amount."""
        return self._df(
            """WITH hourly AS (
                   SELECT entity_id, date_trunc('hour', ts - INTERVAL 1 microsecond) AS hour, sum(rain_mm) AS mm,
                          count(rain_mm) AS n
                   FROM obs_rain WHERE ts > ? AND ts <= ? GROUP BY ALL)
               SELECT h.entity_id, e.name, e.district_code, sum(h.mm) AS total_mm, max(h.mm) AS max_1h_mm,
                      arg_max(h.hour, h.mm) AS max_1h_hour, sum(h.n) AS readings
               FROM hourly h LEFT JOIN entity e USING (entity_id) GROUP BY ALL ORDER BY h.entity_id""",
            [_utc_naive(start), _utc_naive(end)],
        )

    def snapshot_traffic_hours(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Hourly mean speed and volume per road segment for the hours starting in [start, end), with the
        segment's class, length, free-flow speed and district (what the network index needs)."""
        return self._df(
            """SELECT r.hour, r.entity_id, e.road_class, e.length_m, e.free_flow_kmh, e.district_code,
                      sum(r.sum) FILTER (WHERE r.metric = 'speed_kmh') / nullif(sum(r.n) FILTER (WHERE r.metric = 'speed_kmh'), 0) AS speed_kmh,
                      sum(r.sum) FILTER (WHERE r.metric = 'volume_vph') / nullif(sum(r.n) FILTER (WHERE r.metric = 'volume_vph'), 0) AS volume_vph
               FROM rollup_hourly r JOIN entity e USING (entity_id)
               WHERE r.domain = 'traffic' AND r.hour >= ? AND r.hour < ? AND r.metric IN ('speed_kmh', 'volume_vph')
               GROUP BY ALL ORDER BY r.hour, r.entity_id""",
            [_utc_naive(start), _utc_naive(end)],
        )

    def snapshot_incidents(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Incidents reported in [start, end)."""
        return self._df(
            "SELECT incident_id, type, severity, status, reported_at, dispatched_at, closed_at, district_code, "
            "reporting_department, feed FROM incident WHERE reported_at >= ? AND reported_at < ? "
            "ORDER BY reported_at, incident_id",
            [_utc_naive(start), _utc_naive(end)],
        )

    def snapshot_runs(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Ingest runs started in [start, end) (replays excluded: they say nothing about the feed's health)."""
        return self._df(
            "SELECT run_id, feed, trigger, status, started_at, finished_at, rows_fetched, rows_inserted, rows_updated, "
            "rows_rejected, error, error_kind, data_to FROM ingest_run "
            "WHERE started_at >= ? AND started_at < ? AND replay_of IS NULL ORDER BY feed, started_at, run_id",
            [_utc_naive(start), _utc_naive(end)],
        )

    def save_snapshot(
        self,
        *,
        day: Any,
        status: str,
        reason: str | None,
        trigger: str,
        rendered_at: datetime,
        path: str | None,
        pack_version: str | None,
        files: int,
        warnings: int,
    ) -> None:
        """Record (or replace) the outcome of rendering one report day."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO snapshot VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    day,
                    status,
                    reason,
                    trigger,
                    _utc_naive(rendered_at),
                    path,
                    pack_version,
                    int(files),
                    int(warnings),
                ],
            )

    def snapshots(self, limit: int = 100) -> pd.DataFrame:
        """The archive of rendered days, newest day first."""
        return self._df("SELECT * FROM snapshot ORDER BY day DESC LIMIT ?", [limit])

    def snapshot(self, day: Any) -> dict[str, Any] | None:
        """The record of one report day, or None when it was never rendered."""
        cur = self.cursor().execute("SELECT * FROM snapshot WHERE day = ?", [day])
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


def open_warehouse(settings: Any) -> Warehouse:
    """The warehouse a configuration describes (file, memory limit, threads, the city's timezone)."""
    storage = settings.storage
    return Warehouse(
        storage.database_path,
        memory_limit=storage.memory_limit,
        threads=storage.threads,
        timezone=settings.city.timezone,
    )
