"""Explore queries: the analyst explorer's series and heat maps of one metric.

``dashboard/explore.py`` plans them: buckets of one metric, for one station, each station, or the mean
over the stations of a district or the city; times come back in local time.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pandas as pd

from cityops.base.errors import WarehouseError
from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import local_day, quote, utc_naive


class ExploreReads(Connection):
    """Bucketed series from raw rows or the rollups, bound only with the parameters they name."""

    def _explore_df(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        """DuckDB refuses named parameters the statement does not use: bind only those it names."""
        return self._df(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})

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
        params.update(domain=q.domain.name, metric=q.metric, start=utc_naive(q.start), end=utc_naive(q.end))
        if q.resolution == "daily":
            lo, hi = (
                local_day("CAST($start AS TIMESTAMP)"),
                local_day("(CAST($end AS TIMESTAMP) - INTERVAL 1 microsecond)"),
            )
            return (
                "SELECT entity_id, CAST(day AS TIMESTAMP) AS b, sum AS s, n, min AS mn, max AS mx "
                "FROM rollup_daily "
                f"WHERE domain = $domain AND metric = $metric AND day BETWEEN {lo} AND {hi} AND {scope}"
            )
        if q.resolution == "hourly":
            return (
                "SELECT entity_id, hour AS b, sum AS s, n, min AS mn, max AS mx FROM rollup_hourly "
                "WHERE domain = $domain AND metric = $metric "
                f"AND hour >= date_trunc('hour', CAST($start AS TIMESTAMP)) AND hour < $end AND {scope}"
            )
        params["step"] = int(q.step_s)
        if q.domain.storage == "long":
            table, col, extra = "obs_metric", '"value"', "domain = $domain AND metric = $metric AND "
        else:
            if q.metric not in q.domain.values:
                raise WarehouseError(f"{q.metric!r} is not a metric of {q.domain.name!r}")
            table, col, extra = quote(q.domain.table), quote(q.metric), ""
        return (
            f"SELECT entity_id, time_bucket(to_seconds($step), ts) AS b, sum({col}) AS s, count({col}) AS n, "
            f"min({col}) AS mn, max({col}) AS mx FROM {table} WHERE {extra}ts >= $start AND ts < $end "
            f"AND {col} IS NOT NULL AND {scope} GROUP BY ALL"
        )

    def _explore_incidents(self, q: Any, params: dict[str, Any], *, hourly: bool = False) -> str:
        """Incidents per bucket (reported time) as pseudo-station rows, so the same outer query applies."""
        params.update(start=utc_naive(q.start), end=utc_naive(q.end))
        where = "reported_at >= $start AND reported_at < $end"
        if q.district is not None:
            params["district"] = q.district
            where += " AND district_code = $district"
        if hourly or q.resolution != "daily":
            params["step"] = 3600 if hourly else int(q.step_s)
            bucket = "time_bucket(to_seconds($step), reported_at)"
        else:
            bucket = f"CAST({local_day('reported_at')} AS TIMESTAMP)"
        return (
            f"SELECT '' AS entity_id, {bucket} AS b, count(*) AS s, count(*) AS n, 1 AS mn, 1 AS mx "
            f"FROM incident WHERE {where} GROUP BY ALL"
        )

    def explore_series(self, q: Any, tz: str) -> pd.DataFrame:
        """One series (:class:`dashboard.explore.SeriesQuery`): time (local), value, min, max, n
        [, entity_id].

        ``how = sum`` adds a station's bucket up (rain, counts), ``mean`` averages it; several stations
        give their mean per bucket (the areal mean), with min/max over them, unless ``per_entity``."""
        params: dict[str, Any] = {"tz": tz}
        incident = q.domain.storage == "record"
        inner = self._explore_incidents(q, params) if incident else self._explore_buckets(q, params)
        local = "b" if (q.resolution == "daily") else "((b AT TIME ZONE 'UTC') AT TIME ZONE $tz)"
        v, lo, hi = ("s", "s", "s") if q.how == "sum" else ("s / nullif(n, 0)", "mn", "mx")
        if q.per_entity or (q.entity_ids is not None and len(q.entity_ids) == 1) or incident:
            sql = (
                f"SELECT entity_id, {local} AS time, {v} AS value, {lo} AS min, {hi} AS max, n "
                f"FROM ({inner}) ORDER BY entity_id, time"
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
            inner = self._explore_buckets(replace(q, resolution="hourly"), params)
        v = "s" if q.how == "sum" else "s / nullif(n, 0)"
        sql = (
            f"SELECT CAST(t AS DATE) AS day, hour(t) AS hour, avg(v) AS value, sum(n) AS n FROM ("
            f"SELECT ((b AT TIME ZONE 'UTC') AT TIME ZONE $tz) AS t, {v} AS v, n FROM ({inner})) "
            "GROUP BY ALL ORDER BY day, hour"
        )
        return self._explore_df(sql, params)

    def explore_rows(self, q: Any, *, lookback_s: int = 0) -> pd.DataFrame:
        """The raw rows of a wide domain in a series' scope, ``start - lookback_s <= ts < end``, by
        station and time (what a derived metric such as the AQI is computed from)."""
        if q.domain.storage != "wide":
            raise WarehouseError(f"{q.domain.name!r} is not stored wide")
        params: dict[str, Any] = {}
        scope = self._explore_scope(q, params)
        params.update(start=utc_naive(q.start), end=utc_naive(q.end), lookback=int(lookback_s))
        cols = ", ".join(quote(c) for c in ("entity_id", "ts", *q.domain.values))
        return self._explore_df(
            f"SELECT {cols} FROM {quote(q.domain.table)} "
            "WHERE ts >= CAST($start AS TIMESTAMP) - to_seconds($lookback) AND ts < $end "
            f"AND {scope} ORDER BY entity_id, ts",
            params,
        )

    def explore_newest(self, q: Any) -> Any:
        """The time (naive UTC) of the newest observation a series' scope holds in its window, or ``None``."""
        params: dict[str, Any] = {"start": utc_naive(q.start), "end": utc_naive(q.end)}
        if q.domain.storage == "record":
            where = "reported_at >= $start AND reported_at < $end"
            if q.district is not None:
                params["district"] = q.district
                where += " AND district_code = $district"
            sql = f"SELECT max(reported_at) FROM incident WHERE {where}"
        else:
            scope = self._explore_scope(q, params)
            if q.domain.storage == "long":
                params["domain"] = q.domain.name
                table, extra = "obs_metric", "domain = $domain AND "
            else:
                table, extra = quote(q.domain.table), ""
            sql = f"SELECT max(ts) FROM {table} WHERE {extra}ts >= $start AND ts < $end AND {scope}"
        frame = self._explore_df(sql, params)
        value = frame.iloc[0, 0] if len(frame) else None
        return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    def newest_observation(self, domains: Any, *, until: Any = None) -> Any:
        """The time (naive UTC) of the newest observation of any of ``domains`` (incidents: the newest
        report), at or before ``until`` when given; ``None`` when there is none."""
        parts: list[str] = []
        params: dict[str, Any] = {}
        if until is not None:
            params["until"] = utc_naive(until)
        for i, domain in enumerate(domains):
            tcol = quote(domain.time_column)
            cond = [f"{tcol} <= $until"] if until is not None else []
            if domain.storage == "long":
                params[f"d{i}"] = domain.name
                cond.append(f"domain = $d{i}")
            where = (" WHERE " + " AND ".join(cond)) if cond else ""
            parts.append(f"SELECT max({tcol}) AS t FROM {quote(domain.table)}{where}")
        if not parts:
            return None
        frame = self._explore_df(f"SELECT max(t) FROM ({' UNION ALL '.join(parts)})", params)
        value = frame.iloc[0, 0] if len(frame) else None
        return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()
