"""Reads of the rollups: the latest value of each metric (the map) and hourly and daily buckets (the wall)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from cityops.base.domains import Domain
from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import metric_pivots, utc_naive


class RollupReads(Connection):
    """Aggregates and latest values, so the map and the wall never scan raw history."""

    def latest(self, domain: Domain) -> pd.DataFrame:
        """The latest value of every metric of every entity of a domain: entity_id, ts (newest), metrics."""
        return self._df(
            f"SELECT entity_id, max(ts) AS ts, {metric_pivots(domain.values)} FROM latest_obs "
            "WHERE domain = ? GROUP BY entity_id ORDER BY entity_id",
            [*domain.values, domain.name],
        )

    def hourly(
        self, domain: Domain, *, start: datetime, end: datetime, entity_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Hourly rollups in [start, end): domain, entity_id, metric, hour, n, sum, min, max, mean, last."""
        return self._buckets("rollup_hourly", "hour", domain, utc_naive(start), utc_naive(end), entity_ids)

    def daily(
        self, domain: Domain, *, start: Any, end: Any, entity_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Daily rollups for local calendar days in [start, end)."""
        return self._buckets("rollup_daily", "day", domain, start, end, entity_ids)

    def _buckets(
        self,
        table: str,
        bucket: str,
        domain: Domain,
        start: Any,
        end: Any,
        entity_ids: Sequence[str] | None,
    ) -> pd.DataFrame:
        """Rows of one rollup table with ``start <= bucket < end``, each with its mean."""
        params: list[Any] = [domain.name, start, end]
        where = f"domain = ? AND {bucket} >= ? AND {bucket} < ?"
        if entity_ids is not None:
            where += " AND list_contains(?, entity_id)"
            params.append(list(entity_ids))
        return self._df(
            f"SELECT *, sum / nullif(n, 0) AS mean FROM {table} WHERE {where} "
            f"ORDER BY entity_id, metric, {bucket}",
            params,
        )
