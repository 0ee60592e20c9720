"""Stored warnings read back: a warehouse row into the lifecycle's state object."""

from __future__ import annotations

import json
from typing import Any

from cityops.base.times import aware_utc, required_utc
from metrics.levels import Level
from metrics.warnings.lifecycle import WarningState


def state_from_row(row: dict[str, Any]) -> WarningState:
    """A stored warning row back into the lifecycle's state object."""

    def num(v: Any) -> float | None:
        return None if v is None or (isinstance(v, float) and v != v) else float(v)

    # Missing text comes back from a frame as NaN: make it None again.
    row = {
        k: (None if isinstance(v, float) and v != v and k not in ("value", "threshold") else v)
        for k, v in row.items()
    }

    evidence = row.get("evidence")
    return WarningState(
        warning_id=row["warning_id"],
        dedup_key=row["dedup_key"],
        rule_id=row["rule_id"],
        rule_title=row["rule_title"],
        kind=row["kind"],
        domain=row["domain"],
        pack_version=row["pack_version"],
        state=row["state"],
        level=Level(int(row["level"])),
        scope=row["scope"],
        key=row["key"],
        entity_id=row.get("entity_id"),
        name=row.get("name"),
        district_code=row.get("district_code"),
        basin=row.get("basin"),
        condition_since=required_utc(row["condition_since"], "condition_since"),
        created_at=required_utc(row["created_at"], "created_at"),
        updated_at=required_utc(row["updated_at"], "updated_at"),
        activated_at=aware_utc(row.get("activated_at")),
        acknowledged_at=aware_utc(row.get("acknowledged_at")),
        acknowledged_by=row.get("acknowledged_by"),
        resolved_at=aware_utc(row.get("resolved_at")),
        clear_since=aware_utc(row.get("clear_since")),
        last_reminder_at=aware_utc(row.get("last_reminder_at")),
        suppressed_from=row.get("suppressed_from"),
        suppressed_reason=row.get("suppressed_reason"),
        peak_level=None
        if row.get("peak_level") is None or row.get("peak_level") != row.get("peak_level")
        else Level(int(row["peak_level"])),
        value=num(row.get("value")),
        threshold=num(row.get("threshold")),
        summary=row.get("summary") or "",
        evidence=json.loads(evidence) if isinstance(evidence, str) else (evidence or {}),
        data_ts=aware_utc(row.get("data_ts")),
        assignee=row.get("assignee"),
        silenced_until=aware_utc(row.get("silenced_until")),
        rule_title_en=row.get("rule_title_en") or "",
        summary_en=row.get("summary_en") or "",
    )
