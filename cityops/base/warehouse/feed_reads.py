"""Reads of ingest bookkeeping: the state of each feed, its runs and its quarantined rows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cityops.base.warehouse.connection import Connection


class FeedReads(Connection):
    """What the feeds page, the health checks and the scheduler ask about feeds and runs."""

    def feed_states(self) -> pd.DataFrame:
        return self._df("SELECT * FROM feed_state ORDER BY feed")

    def feed_state(self, feed: str) -> dict[str, Any] | None:
        return self._record("SELECT * FROM feed_state WHERE feed = ?", [feed])

    def runs(self, feed: str | None = None, limit: int = 50) -> pd.DataFrame:
        if feed is None:
            return self._df("SELECT * FROM ingest_run ORDER BY started_at DESC LIMIT ?", [limit])
        return self._df(
            "SELECT * FROM ingest_run WHERE feed = ? ORDER BY started_at DESC LIMIT ?", [feed, limit]
        )

    def last_runs(self) -> pd.DataFrame:
        """The latest run of each feed."""
        return self._df(
            "SELECT * FROM ingest_run "
            "QUALIFY row_number() OVER (PARTITION BY feed ORDER BY started_at DESC) = 1 ORDER BY feed"
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        return self._record("SELECT * FROM ingest_run WHERE run_id = ?", [run_id])

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
