"""Snapshot records: the daily warning snapshot's reads of one report window, and its archive.

The snapshot (``dashboard/snapshot.py``) reads bounded windows of UTC instants: warnings and transitions
count in [start, end), observations stamped in (start, end] (a stamp marks the end of its interval).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import utc_naive


class SnapshotRecords(Connection):
    """Report-window reads and the record of each rendered day."""

    def snapshot_transitions(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Warning transitions in [start, end) with their warning's rule, domain and place, in order."""
        return self._df(
            "SELECT t.warning_id, t.dedup_key, t.occurred_at, t.from_state, t.to_state, t.from_level, "
            "t.to_level, t.actor, t.reason, t.seq, w.rule_id, w.rule_title, w.kind, w.domain, w.scope, "
            "w.key, w.entity_id, w.name, w.district_code, w.basin, w.pack_version "
            "FROM warning_transition t JOIN warning w USING (warning_id) "
            "WHERE t.occurred_at >= ? AND t.occurred_at < ? ORDER BY t.occurred_at, t.seq",
            [utc_naive(start), utc_naive(end)],
        )

    def snapshot_open_at(self, at: datetime) -> pd.DataFrame:
        """Warnings open at ``at`` as their audit trail before ``at`` tells it (not today's state):
        state and level at ``at``, first activation, latest acknowledgement and by whom."""
        return self._df(
            """WITH trail AS (
                   SELECT warning_id, arg_max(to_state, seq) AS state_at, arg_max(to_level, seq) AS level_at,
                          min(occurred_at) FILTER (WHERE to_state = 'active') AS activated_at,
                          max(occurred_at) FILTER (WHERE to_state = 'acknowledged') AS acknowledged_at,
                          arg_max(actor, seq) FILTER (WHERE to_state = 'acknowledged')
                              AS acknowledged_by,
                          arg_max(reason, seq) AS last_reason
                   FROM warning_transition WHERE occurred_at < ? GROUP BY warning_id)
               SELECT w.warning_id, w.dedup_key, w.rule_id, w.rule_title, w.kind, w.domain, w.scope, w.key,
                      w.entity_id, w.name, w.district_code, w.basin, w.pack_version, t.state_at, t.level_at,
                      t.activated_at, t.acknowledged_at, t.acknowledged_by, t.last_reason
               FROM trail t JOIN warning w USING (warning_id)
               WHERE t.state_at IN ('active', 'acknowledged', 'suppressed') AND t.activated_at IS NOT NULL
               ORDER BY t.level_at, t.activated_at, w.warning_id""",
            [utc_naive(at)],
        )

    def snapshot_water_peaks(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Per hydrological station: the highest level in (start, end], when (the earliest reading at that
        level: a tie must not depend on the order rows were stored or scanned), and its reference levels."""
        return self._df(
            """SELECT o.entity_id, e.name, e.river, e.district_code, e.station_type, e.warning_level_m,
                      e.guaranteed_level_m, e.flood_limit_level_m, e.historical_level_m,
                      max(o.level_m) AS peak_m, arg_min(o.ts, {'level': -o.level_m, 'ts': o.ts}) AS peak_at,
                      count(o.level_m) AS readings
               FROM obs_water o LEFT JOIN entity e USING (entity_id)
               WHERE o.ts > ? AND o.ts <= ? AND o.level_m IS NOT NULL
               GROUP BY ALL ORDER BY o.entity_id""",
            [utc_naive(start), utc_naive(end)],
        )

    def snapshot_rain_totals(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Per rain gauge: the total in (start, end], its wettest clock hour (UTC start; the earliest of
        equally wet hours) and that hour's amount."""
        return self._df(
            """WITH hourly AS (
                   SELECT entity_id, date_trunc('hour', ts - INTERVAL 1 microsecond) AS hour,
                          sum(rain_mm) AS mm, count(rain_mm) AS n
                   FROM obs_rain WHERE ts > ? AND ts <= ? GROUP BY ALL)
               SELECT h.entity_id, e.name, e.district_code, sum(h.mm) AS total_mm, max(h.mm) AS max_1h_mm,
                      arg_min(h.hour, {'mm': -h.mm, 'hour': h.hour}) AS max_1h_hour, sum(h.n) AS readings
               FROM hourly h LEFT JOIN entity e USING (entity_id) GROUP BY ALL ORDER BY h.entity_id""",
            [utc_naive(start), utc_naive(end)],
        )

    def snapshot_traffic_hours(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Hourly mean speed and volume per road segment for the hours starting in [start, end), with the
        segment's class, length, free-flow speed and district (what the network index needs)."""
        return self._df(
            """SELECT r.hour, r.entity_id, e.road_class, e.length_m, e.free_flow_kmh, e.district_code,
                      sum(r.sum) FILTER (WHERE r.metric = 'speed_kmh')
                          / nullif(sum(r.n) FILTER (WHERE r.metric = 'speed_kmh'), 0) AS speed_kmh,
                      sum(r.sum) FILTER (WHERE r.metric = 'volume_vph')
                          / nullif(sum(r.n) FILTER (WHERE r.metric = 'volume_vph'), 0) AS volume_vph
               FROM rollup_hourly r JOIN entity e USING (entity_id)
               WHERE r.domain = 'traffic' AND r.hour >= ? AND r.hour < ?
                 AND r.metric IN ('speed_kmh', 'volume_vph')
               GROUP BY ALL ORDER BY r.hour, r.entity_id""",
            [utc_naive(start), utc_naive(end)],
        )

    def snapshot_incidents(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Incidents reported in [start, end)."""
        return self._df(
            "SELECT incident_id, type, severity, status, reported_at, dispatched_at, closed_at, "
            "district_code, reporting_department, feed FROM incident "
            "WHERE reported_at >= ? AND reported_at < ? ORDER BY reported_at, incident_id",
            [utc_naive(start), utc_naive(end)],
        )

    def snapshot_runs(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Ingest runs started in [start, end).

        Replays are left out: they say nothing about the feed's health."""
        return self._df(
            "SELECT run_id, feed, trigger, status, started_at, finished_at, rows_fetched, rows_inserted, "
            "rows_updated, rows_rejected, error, error_kind, data_to FROM ingest_run "
            "WHERE started_at >= ? AND started_at < ? AND replay_of IS NULL "
            "ORDER BY feed, started_at, run_id",
            [utc_naive(start), utc_naive(end)],
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
                    utc_naive(rendered_at),
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
        return self._record("SELECT * FROM snapshot WHERE day = ?", [day])
