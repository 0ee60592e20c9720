"""What a render of a day produced: its status, the reason, its files and its summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

STATUSES = ("ok", "partial", "failed")


@dataclass
class SnapshotResult:
    """What a render produced. ``files`` are paths relative to ``directory``."""

    day: date
    status: str  # ok | partial | failed
    reason: str | None
    directory: Path
    files: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    pack_version: str | None = None
    rendered_at: datetime | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"
