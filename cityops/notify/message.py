"""What is sent: a :class:`Notification` about one warning event (or a daily snapshot), and the
:class:`DeliveryRecord` of sending it to one target."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

from cityops.base.targets import LEVEL_RANK, EventKind, Level

EVENTS: tuple[str, ...] = ("raised", "escalated", "deescalated", "resolved", "reminder", "snapshot")


@dataclass(frozen=True, kw_only=True)
class Notification:
    """One event about a warning (or a daily snapshot) to tell people about. Keyword arguments only."""

    event: EventKind  # raised | escalated | deescalated | resolved | reminder | snapshot
    warning_id: str
    dedup_key: str  # rule + entity or zone
    rule_id: str
    rule_title: str  # zh, e.g. "北江水位超警戒"
    level: Level  # red | orange | yellow | blue (the level now; for "resolved", the level that ended)
    previous_level: Level | None = None  # for escalations and de-escalations
    state: str  # pending | active | acknowledged | resolved | suppressed
    department: str
    district: str  # the district's name
    entity_name: str | None = None  # station, gauge or segment; None for zone-wide warnings
    summary: str  # one line zh, e.g. "石角站水位 11.42 m，超警戒 0.42 m"
    raised_at: datetime  # aware; when the warning was first raised
    at: datetime  # aware; when this event happened
    link: str | None = None  # the warning on the dashboard
    image_url: str | None = None  # for snapshots
    image: bytes | None = field(
        default=None, repr=False
    )  # a snapshot's PNG: WeCom gets it as a second (image) message
    extra: Mapping[str, Any] = field(
        default_factory=dict
    )  # JSON-able details, passed on by the generic format
    message_id: str | None = None  # the idempotency key (outbox messages): the same on every redelivery

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown notification event {self.event!r}; one of {', '.join(EVENTS)}")
        if self.level not in LEVEL_RANK:
            raise ValueError(f"unknown warning level {self.level!r}; one of red, orange, yellow, blue")
        if self.previous_level is not None and self.previous_level not in LEVEL_RANK:
            raise ValueError(f"unknown previous warning level {self.previous_level!r}")
        for name in ("raised_at", "at"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"Notification.{name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True)
class DeliveryRecord:
    """The outcome of sending one notification to one target (after all its attempts)."""

    target: str
    event: str
    warning_id: str
    attempts: int
    status: Literal["delivered", "failed"]
    http_status: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime
    duration_s: float
    message_id: str | None = None  # the outbox message it delivered (None: sent directly)


def notification_to_json(note: Notification) -> str:
    """``note`` as JSON text for the outbox (times ISO with their offset; the image is not kept)."""
    out: dict[str, Any] = {}
    for f in fields(note):
        if f.name == "image":
            continue
        value = getattr(note, f.name)
        out[f.name] = value.isoformat() if isinstance(value, datetime) else value
    out["extra"] = dict(note.extra)
    return json.dumps(out, ensure_ascii=False, default=str)


def notification_from_json(text: str, *, message_id: str | None = None) -> Notification:
    """The notification :func:`notification_to_json` stored (``message_id`` overrides the stored one)."""
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("a stored notification must be a JSON object")
    known = {f.name for f in fields(Notification)} - {"image"}
    kwargs = {k: v for k, v in obj.items() if k in known}
    for name in ("raised_at", "at"):
        if isinstance(kwargs.get(name), str):
            kwargs[name] = datetime.fromisoformat(kwargs[name])
    note = Notification(**kwargs)
    return replace(note, message_id=message_id) if message_id is not None else note
