"""Notification targets as configured: each ``[[notifications]]`` entry of the TOML file.

The configuration lives in the base so that the settings can declare it; ``cityops.notify`` builds and
delivers the messages.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from cityops.base.values import parse_duration

EventKind = Literal["raised", "escalated", "deescalated", "resolved", "reminder", "snapshot"]
Level = Literal["red", "orange", "yellow", "blue"]
Format = Literal["generic", "wecom", "dingtalk", "feishu"]
LEVEL_RANK: dict[str, int] = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}


class Addressed(Protocol):
    """What a target looks at to decide whether it wants a message (a ``cityops.notify.Notification``)."""

    @property
    def event(self) -> str: ...

    @property
    def level(self) -> str: ...


# -- configuration ------------------------------------------------------------------------------------


def _seconds(value: Any) -> float:
    """``5``, ``2.5``, ``"5s"`` or ``"500ms"`` → seconds as a float."""
    return parse_duration(value).total_seconds()


Seconds = Annotated[float, BeforeValidator(_seconds)]
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def _check_http_url(url: str) -> str | None:
    """None when ``url`` is an absolute http(s) URL with a host, else what is wrong with it."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    return None


class NotificationTarget(BaseModel):
    """One ``[[notifications]]`` entry: where to send warnings, in which format, and which ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Name of the target, shown in the delivery log.")
    format: Format = Field(
        description="Message format: 'generic' (signed JSON), 'wecom' (企业微信 group bot), "
        "'dingtalk' (钉钉 group bot) or 'feishu' (飞书 group bot)."
    )
    url: str = Field(
        description="Webhook URL (http or https). May contain ${NAME}, replaced by the environment "
        "variable NAME when sending, so that bot tokens stay out of the file."
    )
    secret: str | None = Field(
        None,
        description="Signing secret; may contain ${NAME}. generic: HMAC-SHA256 key of the "
        "X-Cityops-Signature header; dingtalk: the bot's 加签 secret; feishu: the bot's signature "
        "secret. WeCom bots are not signed.",
    )
    events: tuple[EventKind, ...] = Field(
        ("raised", "escalated", "resolved"),
        min_length=1,
        description="Events sent to this target: "
        "raised, escalated, deescalated, resolved, reminder, snapshot.",
    )
    min_level: Level = Field(
        "blue", description="Lowest warning level sent (blue < yellow < orange < red); snapshots ignore it."
    )
    timeout: Seconds = Field(
        5.0,
        gt=0,
        le=120,
        description="Seconds allowed for each network step (connect, send, answer) of one attempt.",
    )
    max_attempts: int = Field(
        4,
        ge=1,
        le=10,
        description="Attempts per message when the endpoint fails transiently (network, 5xx, 429).",
    )
    backoff: Seconds = Field(
        1.0, ge=0, le=600, description="Seconds before the first retry; doubles after each."
    )
    enabled: bool = Field(True, description="Set false to keep the entry but send nothing to it.")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        value = value.strip()
        # Placeholders are resolved at send time; check what we can see now.
        probe = _PLACEHOLDER.sub("x", value)
        if value.startswith("${"):
            return value  # the whole base URL comes from the environment
        problem = _check_http_url(probe)
        if problem:
            raise ValueError(f"webhook url {problem}: {value!r}")
        return value

    @field_validator("events")
    @classmethod
    def _unique_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _secret_fits_format(self) -> NotificationTarget:
        if self.format == "wecom" and self.secret is not None:
            raise ValueError("WeCom group bots are not signed: remove 'secret' (the key is part of the url)")
        return self

    @property
    def retry_budget_s(self) -> float:
        """Upper bound on the time one message may spend on this target: timeout × attempts + backoffs."""
        backoffs = sum(self.backoff * 2**i for i in range(self.max_attempts - 1))
        return self.timeout * self.max_attempts + backoffs

    def wants(self, note: Addressed) -> bool:
        """Whether this target receives ``note`` (enabled, event listed, level at least ``min_level``)."""
        if not self.enabled or note.event not in self.events:
            return False
        if note.event == "snapshot":
            return True
        return LEVEL_RANK.get(note.level, 0) >= LEVEL_RANK[self.min_level]
