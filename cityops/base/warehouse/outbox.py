"""The notification outbox: messages written in the same transaction as the warning change that caused
them, taken up by the notifier and marked delivered or failed, so delivery is at least once across
restarts and kill -9.

One row per message and target; ``message_id`` is the idempotency key a receiver dedupes on. A row is
``pending`` until a notifier claims it (``sending``), then ``delivered`` or ``failed``. One process owns
the database, so a row still ``sending`` when a notifier starts was left by a process that stopped
mid-delivery: :meth:`OutboxRecords.outbox_release` turns it back to ``pending``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import utc_naive

OUTBOX_STATUSES = ("pending", "sending", "delivered", "failed")


@dataclass(frozen=True)
class OutboxItem:
    """One message for one target, as stored."""

    message_id: str
    target: str
    event: str
    warning_id: str | None
    payload: str  # JSON text
    attempts: int = 0
    claims: int = 0


def insert_outbox(cur: duckdb.DuckDBPyConnection, items: Sequence[OutboxItem], at: datetime) -> None:
    """Add ``items`` as pending inside the caller's transaction (an existing message and target is
    left as it is, so enqueuing twice sends once)."""
    if not items:
        return
    cur.executemany(
        "INSERT INTO notification_outbox (message_id, target, event, warning_id, payload, status, "
        "attempts, claims, enqueued_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?) "
        "ON CONFLICT (message_id, target) DO NOTHING",
        [[i.message_id, i.target, i.event, i.warning_id, i.payload, utc_naive(at)] for i in items],
    )


class OutboxRecords(Connection):
    """Enqueue, claim, settle and read the notification outbox."""

    def outbox_enqueue(self, items: Sequence[OutboxItem], at: datetime) -> None:
        """Add ``items`` as pending, in one transaction of their own."""
        with self.transaction() as cur:
            insert_outbox(cur, items, at)

    def outbox_release(self) -> int:
        """Turn rows left ``sending`` by a stopped process back to ``pending``; how many."""
        with self.transaction() as cur:
            row = cur.execute(
                "UPDATE notification_outbox SET status = 'pending' WHERE status = 'sending' RETURNING 1"
            ).fetchall()
        return len(row)

    def outbox_claim(self, at: datetime, limit: int = 20) -> list[OutboxItem]:
        """Mark up to ``limit`` pending rows ``sending`` (in the order they were enqueued) and return them."""
        with self.transaction() as cur:
            rows = cur.execute(
                "SELECT message_id, target, event, warning_id, payload, attempts, claims "
                "FROM notification_outbox WHERE status = 'pending' ORDER BY seq "
                "LIMIT ?",
                [limit],
            ).fetchall()
            if not rows:
                return []
            cur.executemany(
                "UPDATE notification_outbox SET status = 'sending', claims = claims + 1, claimed_at = ? "
                "WHERE message_id = ? AND target = ?",
                [[utc_naive(at), r[0], r[1]] for r in rows],
            )
        return [OutboxItem(r[0], r[1], r[2], r[3], str(r[4]), int(r[5]), int(r[6]) + 1) for r in rows]

    def outbox_settle(
        self,
        message_id: str,
        target: str,
        *,
        status: str,
        attempts: int,
        http_status: int | None,
        error: str | None,
        at: datetime,
    ) -> None:
        """Record the outcome of delivering one claimed row (``attempts`` is added to the total)."""
        if status not in OUTBOX_STATUSES:
            raise ValueError(f"unknown outbox status {status!r}; one of {', '.join(OUTBOX_STATUSES)}")
        with self.transaction() as cur:
            cur.execute(
                "UPDATE notification_outbox SET status = ?, attempts = attempts + ?, http_status = ?, "
                "error = ?, finished_at = ? WHERE message_id = ? AND target = ?",
                [status, attempts, http_status, error, utc_naive(at), message_id, target],
            )

    def outbox(self, *, status: str | None = None, limit: int = 200) -> pd.DataFrame:
        """Outbox rows, newest first (without the payload)."""
        where, params = "", []
        if status is not None:
            where, params = "WHERE status = ?", [status]
        return self._df(
            "SELECT message_id, target, event, warning_id, status, attempts, claims, http_status, error, "
            f"enqueued_at, claimed_at, finished_at FROM notification_outbox {where} "
            "ORDER BY seq DESC LIMIT ?",
            [*params, limit],
        )

    def outbox_counts(self) -> dict[str, int]:
        """How many rows in each status."""
        rows = self._rows("SELECT status, count(*) FROM notification_outbox GROUP BY status")
        return {str(s): int(n) for s, n in rows}

    def delivery_log(self, limit: int = 200) -> pd.DataFrame:
        """What administrators read: every outbox message (pending, in flight, delivered or failed) and
        every direct delivery (daily snapshots), newest first."""
        params: list[Any] = [limit]
        return self._df(
            "SELECT * FROM ("
            "  SELECT coalesce(finished_at, claimed_at, enqueued_at) AS logged_at, message_id, target, "
            "    event, warning_id, status, attempts, claims, http_status, error FROM notification_outbox"
            "  UNION ALL"
            "  SELECT finished_at AS logged_at, message_id, target, event, warning_id, status, attempts, "
            "    1 AS claims, http_status, error FROM notification_delivery WHERE message_id IS NULL"
            ") ORDER BY logged_at DESC, message_id, target LIMIT ?",
            params,
        )
