"""The audit log: one row per :class:`~cityops.base.audit.AuditEvent`, written as it happens or imported
from the spool that processes without the warehouse append to.

The spool is consumed so that nothing is lost or recorded twice whatever stops the process: the file is
moved aside (``.importing``) under the writers' lock, its events are inserted in one transaction (an
event id already stored is skipped), and only then is the moved file deleted. A crash before the
commit leaves the moved file, which the next import takes first; a crash after the commit but before
the delete leaves it too, and importing it again adds nothing.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cityops.base.audit import AuditEvent, importing_path, read_spool, take_spool
from cityops.base.warehouse.connection import Connection
from cityops.base.warehouse.sql import utc_naive

log = logging.getLogger("cityops.warehouse.audit")

AUDIT_COLUMNS = (
    "event_id",
    '"at"',  # quoted: AT is a keyword
    "action",
    "actor",
    "actor_kind",
    "role",
    "address",
    "subject",
    "outcome",
    "detail",
)


def _row(event: AuditEvent) -> list[Any]:
    return [
        event.event_id,
        utc_naive(event.at),
        event.action,
        event.actor,
        event.actor_kind,
        event.role,
        event.address,
        event.subject,
        event.outcome,
        event.detail_json(),
    ]


def insert_audit(cur: duckdb.DuckDBPyConnection, events: list[AuditEvent]) -> int:
    """Insert the events not yet stored (by event id) inside the caller's transaction; how many."""
    fresh: dict[str, AuditEvent] = {}
    for e in events:
        fresh.setdefault(e.event_id, e)
    if not fresh:
        return 0
    stored = {
        r[0]
        for r in cur.execute(
            "SELECT event_id FROM audit_log WHERE event_id IN (SELECT unnest(?::TEXT[]))", [list(fresh)]
        ).fetchall()
    }
    rows = [_row(e) for eid, e in fresh.items() if eid not in stored]
    if rows:
        marks = ", ".join("?" * len(AUDIT_COLUMNS))
        cur.executemany(
            f"INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (event_id) DO NOTHING",
            rows,
        )
    return len(rows)


class AuditRecords(Connection):
    """Record, import and read the audit log."""

    def record_audit(self, event: AuditEvent) -> None:
        """Store one event (an event id already stored is left as it is)."""
        self.record_audits([event])

    def record_audits(self, events: list[AuditEvent]) -> int:
        """Store several events in one transaction; how many were new."""
        if not events:
            return 0
        with self.transaction() as cur:
            return insert_audit(cur, events)

    def import_audit_spool(self, path: Path | str) -> int:
        """Import the spool file ``path`` (and a ``.importing`` file an interrupted import left); how many
        events were new. Safe to call while commands append to the spool."""
        path = Path(path)
        added = 0
        leftover = importing_path(path)
        if leftover.exists():
            added += self._import_spool_file(leftover)
        taken = take_spool(path)
        if taken is not None:
            added += self._import_spool_file(taken)
        return added

    def _import_spool_file(self, moved: Path) -> int:
        events = read_spool(moved)
        with self.transaction() as cur:
            added = insert_audit(cur, events)
        os.unlink(moved)  # only once its events are committed
        if added:
            log.info("imported %d audit event(s) from %s", added, moved)
        return added

    def audit_events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Events newest first (equal times by event id), with ``at`` in UTC (naive).

        ``since`` inclusive, ``until`` exclusive; ``actor`` matches a part of the name, case aside;
        ``action`` is an action or a family (``warning`` matches ``warning.resolve``)."""
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append('"at" >= ?')
            params.append(utc_naive(since))
        if until is not None:
            where.append('"at" < ?')
            params.append(utc_naive(until))
        if actor:
            where.append("strpos(lower(actor), lower(?)) > 0")
            params.append(actor)
        if action:
            where.append("(action = ? OR starts_with(action, ?))")
            params += [action, action.rstrip(".") + "."]
        if outcome:
            where.append("outcome = ?")
            params.append(outcome)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        frame = self._df(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log {clause} "
            'ORDER BY "at" DESC, event_id LIMIT ? OFFSET ?',
            [*params, max(0, int(limit)), max(0, int(offset))],
        )
        frame["detail"] = frame["detail"].astype("object")
        return frame

    def audit_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM audit_log")[0][0])
