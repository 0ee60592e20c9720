"""Rollup maintenance: hourly and daily buckets and the latest state of every observation domain.

The wall, the explorer and the warnings read these aggregates, never raw history. Ingest refreshes the
buckets a run touches inside its own transaction; a rebuild recomputes everything from the stored rows
(and runs when the city's timezone, which decides the daily buckets, has changed).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from cityops.base.domains import BUILTIN_DOMAINS, Domain, custom_domain
from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import local_day, quote


class Rollups(Connection):
    """Keeps rollup_hourly, rollup_daily and latest_obs in step with the observations."""

    def _prepare(self) -> None:
        super()._prepare()
        self._ensure_rollups()

    def _observation_domains(self, cur: duckdb.DuckDBPyConnection) -> list[Domain]:
        """Built-in observation domains, plus every configured domain present in obs_metric."""
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
            q = quote(v)
            has = f"FILTER (WHERE {q} IS NOT NULL)"
            names = [quote(f"{v}__{k}") for k in ("n", "sum", "min", "max", "last_ts", "last")]
            parts.append(
                f"count({q}) AS {names[0]}, sum({q}) AS {names[1]}, min({q}) AS {names[2]}, "
                f"max({q}) AS {names[3]}, max(ts) {has} AS {names[4]}, arg_max({q}, ts) {has} AS {names[5]}"
            )
            groups.append(f"({', '.join(names)}) AS '{v}'")
        return (
            f"SELECT $domain AS domain, entity_id, metric, hour, n, sum, min, max, last_ts, last FROM ("
            f"UNPIVOT (SELECT entity_id, date_trunc('hour', ts) AS hour, {', '.join(parts)} "
            f"FROM {quote(domain.table)} WHERE {where} GROUP BY ALL) "
            f"ON {', '.join(groups)} INTO NAME metric VALUE n, sum, min, max, last_ts, last) WHERE n > 0"
        )

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
                "DELETE FROM rollup_hourly "
                f"WHERE domain = $domain AND hour >= $lo AND hour < $hi AND {in_batch}",
                params,
            )
            cur.execute(f"INSERT INTO rollup_hourly {self._hourly_select(domain, window)}", params)
            days = {"domain": domain.name, "lo": lo, "hi": hi, "tz": self.timezone}
            day = local_day("hour")
            lo_day = local_day("CAST($lo AS TIMESTAMP)")
            hi_day = local_day("(CAST($hi AS TIMESTAMP) - INTERVAL 1 microsecond)")
            cur.execute(
                "DELETE FROM rollup_daily "
                f"WHERE domain = $domain AND day BETWEEN {lo_day} AND {hi_day} AND {in_batch}",
                days,
            )
            cur.execute(
                f"""INSERT INTO rollup_daily
                    SELECT domain, entity_id, metric, {day} AS day, sum(n), sum(sum), min(min), max(max)
                    FROM rollup_hourly
                    WHERE domain = $domain AND {in_batch}
                      AND hour >= CAST($lo AS TIMESTAMP) - INTERVAL 1 DAY
                      AND hour < CAST($hi AS TIMESTAMP) + INTERVAL 1 DAY
                      AND {day} BETWEEN {lo_day} AND {hi_day}
                    GROUP BY ALL""",
                days,
            )
            cur.execute(
                f"""INSERT INTO latest_obs
                    SELECT domain, entity_id, metric, last_ts, last FROM (
                        SELECT domain, entity_id, metric, max(last_ts) AS last_ts,
                               arg_max(last, last_ts) AS last
                        FROM rollup_hourly
                        WHERE domain = $domain AND hour >= $lo AND hour < $hi AND {in_batch}
                        GROUP BY ALL)
                    ON CONFLICT DO UPDATE SET ts = excluded.ts, value = excluded.value
                    WHERE excluded.ts >= latest_obs.ts""",
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
            day = local_day("hour")
            cur.execute(
                f"INSERT INTO rollup_daily SELECT domain, entity_id, metric, {day} AS day, sum(n), sum(sum), "
                "min(min), max(max) FROM rollup_hourly GROUP BY ALL",
                {"tz": self.timezone},
            )
            cur.execute(
                "INSERT INTO latest_obs "
                "SELECT domain, entity_id, metric, max(last_ts), arg_max(last, last_ts) "
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
