"""Warning records: warning rows (upserted each tick), their audit trail, and notification deliveries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.outbox import OutboxItem, insert_outbox
from cityops.base.warehouse.sql import utc_naive


class WarningRecords(Connection):
    """What the warning engine persists and what the warnings page and the notifier read back."""

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
        "rule_title_en",
        "summary_en",
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
                v = utc_naive(v)
            elif isinstance(v, float) and v != v:
                v = None
            row.append(v)
        return row

    def save_warnings(
        self,
        states: Sequence[Any],
        transitions: Sequence[Any],
        *,
        outbox: Sequence[OutboxItem] = (),
        at: datetime | None = None,
    ) -> None:
        """Persist one tick (or one operator action): warning rows upserted, transitions appended, and
        the notifications they cause added to the outbox (``at``: when), all in one transaction."""
        if outbox and at is None:
            raise ValueError("save_warnings: notifications for the outbox need the time `at`")
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
                    "INSERT INTO warning_transition "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, nextval('warning_transition_seq'))",
                    [
                        [
                            tr.warning_id,
                            tr.dedup_key,
                            utc_naive(tr.at),
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
            if outbox and at is not None:
                insert_outbox(cur, outbox, at)

    def warnings(
        self, *, open_only: bool = False, since: datetime | None = None, limit: int = 500
    ) -> pd.DataFrame:
        where: list[str] = []
        params: list[Any] = []
        if open_only:
            where.append("state IN ('pending', 'active', 'acknowledged', 'suppressed')")
        if since is not None:
            where.append("(resolved_at IS NULL OR resolved_at >= ?)")
            params.append(utc_naive(since))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        params.append(limit)
        return self._df(
            f"SELECT * FROM warning {clause} ORDER BY level, coalesce(activated_at, created_at) DESC LIMIT ?",
            params,
        )

    def warning(self, warning_id: str) -> dict[str, Any] | None:
        return self._record("SELECT * FROM warning WHERE warning_id = ?", [warning_id])

    def warning_transitions(self, warning_id: str) -> pd.DataFrame:
        return self._df("SELECT * FROM warning_transition WHERE warning_id = ? ORDER BY seq", [warning_id])

    def log_delivery(self, record: Any) -> None:
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO notification_delivery (target, event, warning_id, attempts, status, "
                "http_status, error, started_at, finished_at, duration_s, message_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.target,
                    record.event,
                    record.warning_id,
                    record.attempts,
                    record.status,
                    record.http_status,
                    record.error,
                    utc_naive(record.started_at),
                    utc_naive(record.finished_at),
                    record.duration_s,
                    getattr(record, "message_id", None),
                ],
            )

    def deliveries(self, limit: int = 200) -> pd.DataFrame:
        return self._df("SELECT * FROM notification_delivery ORDER BY finished_at DESC LIMIT ?", [limit])
