"""The connection to one DuckDB file: a cursor per thread, one write lock, the schema's version.

DuckDB allows one read-write process per file; its connections are not thread-safe but its cursors
are, so each thread gets its own. Writes go through one lock and one transaction per logical change,
so a process killed mid-write leaves the previous state, never half of a change.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd

from cityops.base.errors import DatabaseLockedError, WarehouseError
from cityops.base.warehouse.migrations import MIGRATIONS
from cityops.base.warehouse.sql import quote, utc_naive

# Positional (``?``) or named (``$name``) parameters of one statement.
Params = Sequence[Any] | dict[str, Any]


class Connection:
    """Opens the file, hands out cursors and transactions, and applies migrations."""

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
            self._prepare()

    def _prepare(self) -> None:
        """Bring a writable database up to date on opening (the warehouse adds its rollups)."""
        self.migrate()

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

    def __enter__(self) -> Self:
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

    def _df(self, sql: str, params: Params | None = None) -> pd.DataFrame:
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

    def _rows(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        return self.cursor().execute(sql, params or []).fetchall()

    def _record(self, sql: str, params: Params) -> dict[str, Any] | None:
        """The first row of a query as a dict of column → value, or None when there is none."""
        cur = self.cursor().execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    # -- schema ------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""
        applied: list[int] = []
        with self.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, name TEXT, applied_at TIMESTAMP)"
            )
            done = {r[0] for r in cur.execute("SELECT version FROM schema_version").fetchall()}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            with self.transaction() as cur:
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [version, name, utc_naive(datetime.now(UTC))],
                )
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        row = self._rows("SELECT max(version) FROM schema_version")
        return int(row[0][0] or 0)

    def table_count(self, table: str) -> int:
        return int(self._rows(f"SELECT count(*) FROM {quote(table)}")[0][0])

    def ping(self) -> bool:
        return bool(self._rows("SELECT 1")[0][0] == 1)
