"""The four message formats: pure functions that build the exact HTTP request for a target.

:func:`build_request` turns a :class:`~cityops.notify.message.Notification` into the ``(url, headers,
body)`` of the POST for a target's format, with its signature; no I/O.

Formats
-------
``generic``: ``POST`` of a JSON object (UTF-8, ``Content-Type: application/json``), schema
``cityops.notification/1``::

    {
      "schema": "cityops.notification/1",
      "event": "escalated",              # raised | escalated | deescalated | resolved | reminder | snapshot
      "sent_at": "2026-06-15T09:05:00+08:00",
      "title": "【橙色预警】北江水位超警戒 · 升级",   # the same headline the bot formats show
      "text": "石角站水位 11.42 m，超警戒 0.42 m",
      "warning_id": "w-42", "dedup_key": "water.level:HY001", "rule_id": "water.level",
      "rule_title": "北江水位超警戒",
      "level": "orange", "level_label": "橙色预警", "previous_level": "yellow",   # previous_level may be null
      "state": "active", "department": "水利局", "district": "清城区",
      "entity_name": "石角站",            # or null
      "summary": "石角站水位 11.42 m，超警戒 0.42 m",
      "raised_at": "2026-06-15T08:40:00+08:00", "at": "2026-06-15T09:05:00+08:00",
      "link": "https://ops.example/warnings/w-42",   # or null
      "image_url": null,
      "extra": {},
      "message_id": "9f1c…"              # the idempotency key: the same on every redelivery (or null)
    }

  Times are ISO 8601 with the offset of the display timezone. With a ``secret``, two headers are added:
  ``X-Cityops-Timestamp`` (Unix seconds; equal to ``sent_at``, which is inside the signed body) and
  ``X-Cityops-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, key = the secret>``. A
  receiver recomputes the HMAC over the raw body it received, compares in constant time, and rejects
  messages whose ``sent_at`` is too old. Notifications are delivered at least once: a message sent
  again after a restart carries the same ``message_id`` (also in the ``Idempotency-Key`` header), which
  a receiver dedupes on.

``wecom``: WeCom (企业微信) group bot, ``{"msgtype": "markdown", "markdown": {"content": ...}}``; a
notification carrying an ``image`` (a daily snapshot's summary PNG, at most 2 MB) is followed by a
second message ``{"msgtype": "image", "image": {"base64": ..., "md5": ...}}`` (md5 of the raw bytes). WeCom
markdown has three colours: red and orange warnings use ``warning`` (orange-red), yellow and blue use
``comment`` (grey), a resolution uses ``info`` (green). WeCom bots are not signed (the key is in the URL).

``dingtalk``: DingTalk (钉钉) group bot, ``{"msgtype": "markdown", "markdown": {"title", "text"}}``. With the
加签 secret, ``timestamp`` (ms) and ``sign`` are added to the URL's query: ``sign = urlencode(base64(
HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")))``.

``feishu``: Feishu / Lark (飞书) group bot, an interactive card whose header colour follows the level
(``red`` / ``orange`` / ``yellow`` / ``blue``). With the signature secret, ``timestamp`` (s) and ``sign``
are added to the body: ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``.

The bots check the signature's timestamp against real time (within an hour), so the ``now`` given to
:func:`~cityops.notify.delivery.deliver` must be the wall clock, never the demo's simulated clock (the
notification's own times can be simulated).

Message text (rule titles, entity names, summaries: feed text) is inserted as text: line breaks are
flattened and ``<`` / ``>`` become full-width so that it cannot inject bot markup, every body is made by
``json.dumps`` and the WeCom content is cut to its 4096-byte limit. The WeCom and DingTalk markdown comes
from ``templates/*.md.j2`` (see :func:`~cityops.notify.wording.render_message`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from cityops.base.errors import ConfigError
from cityops.base.targets import NotificationTarget, _check_http_url
from cityops.base.values import resolve_secret
from cityops.notify.message import Notification
from cityops.notify.wording import (
    cut_utf8,
    describe_event,
    headline,
    level_label,
    list_facts,
    plain,
    render_message,
)

SCHEMA = "cityops.notification/1"
WECOM_COLOUR: dict[str, str] = {"red": "warning", "orange": "warning", "yellow": "comment", "blue": "comment"}
WECOM_MAX_BYTES = 4096


def _jsonable(value: Any) -> Any:
    """``extra`` made into plain JSON: datetimes as ISO strings, non-finite floats as null, others as str."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def dump_json(obj: Any) -> bytes:
    """The exact body bytes: compact UTF-8 JSON, no NaN."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


# -- bodies -------------------------------------------------------------------------------------------


def generic_payload(
    note: Notification, *, sent_at: datetime, timezone: str = "Asia/Shanghai"
) -> dict[str, Any]:
    """The ``cityops.notification/1`` object (see the module documentation)."""
    tz = ZoneInfo(timezone)
    return {
        "schema": SCHEMA,
        "event": note.event,
        "sent_at": sent_at.astimezone(tz).isoformat(timespec="seconds"),
        "title": headline(note),
        "text": " ".join(note.summary.split()),
        "warning_id": note.warning_id,
        "dedup_key": note.dedup_key,
        "rule_id": note.rule_id,
        "rule_title": note.rule_title,
        "level": note.level,
        "level_label": level_label(note.level),
        "previous_level": note.previous_level,
        "state": note.state,
        "department": note.department,
        "district": note.district,
        "entity_name": note.entity_name,
        "summary": note.summary,
        "raised_at": note.raised_at.astimezone(tz).isoformat(timespec="seconds"),
        "at": note.at.astimezone(tz).isoformat(timespec="seconds"),
        "link": note.link,
        "image_url": note.image_url,
        "extra": _jsonable(dict(note.extra)),
        "message_id": note.message_id,
    }


def _bot_message(note: Notification, timezone: str) -> dict[str, Any]:
    """What the bot formats show, in order: headline, event line (none for snapshots), summary, facts,
    then the snapshot image and the warning's links."""
    return {
        "title": headline(note),
        "event_line": None if note.event == "snapshot" else describe_event(note),
        "summary": plain(note.summary, 500),
        "facts": list_facts(note, ZoneInfo(timezone)),
        "image_url": note.image_url,
        "link": note.link,
    }


def wecom_payload(note: Notification, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """The WeCom bot's markdown message."""
    colour = "info" if note.event == "resolved" else WECOM_COLOUR[note.level]
    content = render_message("wecom.md.j2", colour=colour, **_bot_message(note, timezone))
    return {"msgtype": "markdown", "markdown": {"content": cut_utf8(content, WECOM_MAX_BYTES)}}


def wecom_image_payload(image: bytes) -> dict[str, Any]:
    """The WeCom bot's image message: base64 of the PNG/JPEG bytes and the md5 of those raw bytes."""
    return {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(image).decode("ascii"), "md5": hashlib.md5(image).hexdigest()},
    }


def dingtalk_payload(note: Notification, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """The DingTalk bot's markdown message."""
    message = _bot_message(note, timezone)
    text = render_message("dingtalk.md.j2", **message)
    return {"msgtype": "markdown", "markdown": {"title": message["title"], "text": text}}


def feishu_payload(note: Notification, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """The Feishu bot's interactive card (JSON data: each text is one plain-text line, so no template)."""
    message = _bot_message(note, timezone)

    def text(content: str) -> dict[str, str]:
        return {"tag": "plain_text", "content": content}

    elements: list[dict[str, Any]] = []
    if message["event_line"] is not None:
        elements.append({"tag": "div", "text": text(message["event_line"])})
    elements.append({"tag": "div", "text": text(message["summary"])})
    elements.append(
        {"tag": "div", "fields": [{"is_short": True, "text": text(f"{k}：{v}")} for k, v in message["facts"]]}
    )
    buttons = []
    if note.link:
        buttons.append({"tag": "button", "text": text("查看详情"), "type": "primary", "url": note.link})
    if note.image_url:
        buttons.append(
            {"tag": "button", "text": text("查看快照图"), "type": "default", "url": note.image_url}
        )
    if buttons:
        elements.append({"tag": "action", "actions": buttons})
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": note.level, "title": text(message["title"])},
            "elements": elements,
        },
    }


# -- signatures ---------------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")).

    The result is *not yet* URL-encoded.
    """
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu bot signature: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def generic_signature(secret: str, body: bytes) -> str:
    """The ``X-Cityops-Signature`` value: ``sha256=<hex HMAC-SHA256(key=secret, msg=body)>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _add_query(url: str, extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# -- the request --------------------------------------------------------------------------------------


class NotifyConfigError(ConfigError):
    """A target cannot be used as configured (a missing environment variable, a bad resolved URL)."""


def build_request(
    target: NotificationTarget,
    note: Notification,
    *,
    now: datetime,
    environ: Mapping[str, str] | None = None,
    timezone: str = "Asia/Shanghai",
) -> tuple[str, dict[str, str], bytes]:
    """The ``(url, headers, body)`` of the POST for ``target``; pure apart from reading ``environ``
    (``None``: the process environment, as :func:`~cityops.base.values.resolve_secret`).

    ``now`` (aware, wall-clock) stamps the signatures. Raises :class:`NotifyConfigError` when ``${NAME}``
    in the url or secret is not set or the resolved url is not http(s).
    """
    if now.tzinfo is None:
        raise ValueError("build_request: now must be timezone-aware")
    try:
        url = resolve_secret(target.url, environ).strip()
        secret = resolve_secret(target.secret, environ) if target.secret is not None else None
    except ConfigError as exc:
        raise NotifyConfigError(
            f"notification target {target.name!r}: {exc.message}", hint=exc.hint
        ) from None
    problem = _check_http_url(url)
    if problem:
        raise NotifyConfigError(
            f"notification target {target.name!r}: the webhook url {problem}",
            hint="check the url (and the environment variables it uses)",
        )
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "cityops-notify/1"}
    if target.format == "generic":
        body = dump_json(generic_payload(note, sent_at=now, timezone=timezone))
        if note.message_id:
            headers["Idempotency-Key"] = note.message_id
        if secret:
            headers["X-Cityops-Timestamp"] = str(int(now.timestamp()))
            headers["X-Cityops-Signature"] = generic_signature(secret, body)
        return url, headers, body
    if target.format == "wecom":
        return url, headers, dump_json(wecom_payload(note, timezone=timezone))
    if target.format == "dingtalk":
        if secret:
            ts = int(now.timestamp() * 1000)
            url = _add_query(url, f"timestamp={ts}&sign={quote_plus(dingtalk_sign(secret, ts))}")
        return url, headers, dump_json(dingtalk_payload(note, timezone=timezone))
    payload = feishu_payload(note, timezone=timezone)
    if secret:
        ts = int(now.timestamp())
        payload = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **payload}
    return url, headers, dump_json(payload)
