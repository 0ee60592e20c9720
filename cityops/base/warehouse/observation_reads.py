"""Reads of stored observations and incidents: one domain's rows by entity and time, in wide form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from cityops.base.domains import Domain
from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import metric_pivots, quote, utc_naive


class ObservationReads(Connection):
    """Bounded reads of raw observations (the warning engine, the map, the wall, the snapshot)."""

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
        tcol = quote(domain.time_column)
        if domain.storage == "long":
            where.append("domain = ?")
            params.append(domain.name)
        if entity_id is not None:
            where.append("entity_id = ?")
            params.append(entity_id)
        if start is not None:
            where.append(f"{tcol} >= ?")
            params.append(utc_naive(start))
        if end is not None:
            where.append(f"{tcol} < ?")
            params.append(utc_naive(end))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        lim = "LIMIT ?" if limit else ""
        if limit:
            params.append(int(limit))
        if domain.storage == "long":
            return self._df(
                f"SELECT entity_id, ts, {metric_pivots(domain.values)} FROM obs_metric {clause} "
                f"GROUP BY entity_id, ts ORDER BY ts, entity_id {lim}",
                [*domain.values, *params],
            )
        # The key breaks ties of time, so the same rows come back in the same order in every process.
        order = ", ".join([tcol, *(quote(k) for k in domain.key if k != domain.time_column)])
        return self._df(f"SELECT * FROM {quote(domain.table)} {clause} ORDER BY {order} {lim}", params)

    def observation_window(self, domain: Domain, start: datetime, end: datetime) -> pd.DataFrame:
        """Rows of a domain with ``start <= ts <= end``, sorted by time (a bounded, recent read)."""
        return self.observations(domain, start=start, end=end + pd.Timedelta(microseconds=1))

    def incidents_since(self, start: datetime) -> pd.DataFrame:
        """Incidents reported since ``start`` or still not closed (what 'open incidents' needs)."""
        return self._df(
            "SELECT * FROM incident WHERE reported_at >= ? OR closed_at IS NULL OR closed_at >= ? "
            "ORDER BY reported_at, incident_id",
            [utc_naive(start), utc_naive(start)],
        )

    def duplicate_keys(self, domain: Domain) -> int:
        """How many keys occur more than once (must always be 0)."""
        key = ", ".join(
            quote(k)
            for k in (("domain", "entity_id", "ts", "metric") if domain.storage == "long" else domain.key)
        )
        return int(
            self._rows(
                f"SELECT count(*) FROM (SELECT {key} FROM {quote(domain.table)} "
                "GROUP BY ALL HAVING count(*) > 1)"
            )[0][0]
        )
