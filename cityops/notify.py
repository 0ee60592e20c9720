"""Webhook notifications for warnings (and daily snapshots).

Configuration: each ``[[notifications]]`` entry of the TOML file is a :class:`NotificationTarget`::

    [[notifications]]
    name = "防汛值班群"
    format = "dingtalk"  # generic | wecom | dingtalk | feishu
    url = "https://oapi.dingtalk.com/robot/send?access_token=${DINGTALK_TOKEN}"
    secret = "${DINGTALK_SECRET}"  # the group bot's 加签 secret
    events = ["raised", "escalated", "resolved"]
    min_level = "yellow"

``${NAME}`` in ``url`` and ``secret`` is looked up in the environment when a message is sent, so tokens
never live in the file.

What is sent is a :class:`Notification`. :func:`build_request` turns one into the exact HTTP request for
a target's format (pure: no I/O); :func:`deliver` sends it to every target that wants it, with retries,
and reports one :class:`DeliveryRecord` per target to a ``log`` callback; it never raises for a delivery
problem. :class:`Notifier` runs :func:`deliver` on one background thread behind a bounded queue, so the
warning evaluation never waits for a slow or dead endpoint.

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
      "extra": {}
    }

  Times are ISO 8601 with the offset of the display timezone. With a ``secret``, two headers are added:
  ``X-Cityops-Timestamp`` (Unix seconds; equal to ``sent_at``, which is inside the signed body) and
  ``X-Cityops-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, key = the secret>``. A
  receiver recomputes the HMAC over the raw body it received, compares in constant time, and rejects
  messages whose ``sent_at`` is too old.

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
:func:`deliver` must be the wall clock, never the demo's simulated clock (the notification's own times
can be simulated).

Message text (rule titles, entity names, summaries: feed text) is inserted as text: line breaks are
flattened and ``<`` / ``>`` become full-width so that it cannot inject bot markup, every body is made by
``json.dumps`` and the WeCom content is cut to its 4096-byte limit.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx

from cityops.base.errors import ConfigError
from cityops.base.targets import (
    _PLACEHOLDER,
    LEVEL_RANK,
    EventKind,
    Level,
    NotificationTarget,
    _check_http_url,
)
from cityops.base.values import resolve_secret

log = logging.getLogger("cityops.notify")


SCHEMA = "cityops.notification/1"
EVENTS: tuple[str, ...] = ("raised", "escalated", "deescalated", "resolved", "reminder", "snapshot")
LEVEL_ZH: dict[str, str] = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
EVENT_ZH: dict[str, str] = {
    "raised": "发布",
    "escalated": "升级",
    "deescalated": "降级",
    "resolved": "解除",
    "reminder": "未确认提醒",
    "snapshot": "每日快照",
}
STATE_ZH: dict[str, str] = {
    "pending": "待生效",
    "active": "生效中",
    "acknowledged": "已确认",
    "resolved": "已解除",
    "suppressed": "已抑制",
}
WECOM_COLOUR: dict[str, str] = {"red": "warning", "orange": "warning", "yellow": "comment", "blue": "comment"}
WECOM_MAX_BYTES = 4096
MAX_ANSWER_BYTES = 64 * 1024
# Bot answers that mean "too many messages, try later": retried like HTTP 429.
RATE_LIMIT_CODES: dict[str, frozenset[int]] = {
    "wecom": frozenset({45009}),
    "dingtalk": frozenset({130101}),
    "feishu": frozenset({11232}),
}


# -- what is sent -------------------------------------------------------------------------------------


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


# -- text ---------------------------------------------------------------------------------------------


def _plain(value: object, limit: int = 300) -> str:
    """Feed text made safe to put inside bot markup: one line, no angle brackets, bounded length."""
    text = " ".join(str(value).split())
    text = text.replace("<", "＜").replace(">", "＞")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md_url(url: str) -> str:
    """A URL safe inside markdown ``[text](url)``: characters that would end the link are escaped."""
    return (
        url.strip()
        .replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def level_label(level: str) -> str:
    """``"orange"`` → ``"橙色预警"``."""
    return f"{LEVEL_ZH.get(level, level)}预警"


def headline(note: Notification) -> str:
    """``【橙色预警】北江水位超警戒 · 升级`` — the first line every format shows."""
    if note.event == "snapshot":
        return f"【{EVENT_ZH['snapshot']}】{_plain(note.rule_title, 100)}"
    return f"【{level_label(note.level)}】{_plain(note.rule_title, 100)} · {EVENT_ZH[note.event]}"


def _event_line(note: Notification) -> str:
    if note.event in ("escalated", "deescalated") and note.previous_level:
        return f"{EVENT_ZH[note.event]}：{LEVEL_ZH[note.previous_level]} → {LEVEL_ZH[note.level]}"
    if note.event == "resolved":
        return f"解除：{level_label(note.level)}已解除"
    if note.event == "reminder":
        return f"提醒：{level_label(note.level)}尚未确认"
    return f"{EVENT_ZH[note.event]}：{level_label(note.level)}"


def _facts(note: Notification, tz: ZoneInfo) -> list[tuple[str, str]]:
    """(label, value) pairs shown under the summary."""
    rows: list[tuple[str, str]] = []
    if note.event != "snapshot":
        rows.append(("级别", level_label(note.level)))
    rows.append(("区县", _plain(note.district, 60)))
    if note.entity_name:
        rows.append(("对象", _plain(note.entity_name, 100)))
    rows.append(("部门", _plain(note.department, 60)))
    if note.event != "snapshot":
        rows.append(("状态", STATE_ZH.get(note.state, _plain(note.state, 30))))
        rows.append(("首次发布", _local(note.raised_at, tz)))
    rows.append(("时间", _local(note.at, tz)))
    return rows


def _cut_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - len("…".encode())].decode("utf-8", "ignore") + "…"


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


def _dumps(obj: Any) -> bytes:
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
    }


def wecom_payload(note: Notification, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    tz = ZoneInfo(timezone)
    colour = "info" if note.event == "resolved" else WECOM_COLOUR[note.level]
    lines = [
        f'<font color="{colour}">**{headline(note)}**</font>',
        f'> <font color="{colour}">{_event_line(note)}</font>' if note.event != "snapshot" else "",
        f"> {_plain(note.summary, 500)}",
    ]
    lines += [f'> {label}：<font color="comment">{value}</font>' for label, value in _facts(note, tz)]
    if note.image_url:
        lines.append(f"[查看快照图]({_md_url(note.image_url)})")
    if note.link:
        lines.append(f"[查看详情]({_md_url(note.link)})")
    content = _cut_utf8("\n".join(line for line in lines if line), WECOM_MAX_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def wecom_image_payload(image: bytes) -> dict[str, Any]:
    """The WeCom bot's image message: base64 of the PNG/JPEG bytes and the md5 of those raw bytes."""
    return {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(image).decode("ascii"), "md5": hashlib.md5(image).hexdigest()},
    }


def dingtalk_payload(note: Notification, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    tz = ZoneInfo(timezone)
    parts = [f"### {headline(note)}"]
    if note.event != "snapshot":
        parts.append(f"**{_event_line(note)}**")
    parts.append(_plain(note.summary, 500))
    parts.append("\n".join(f"- {label}：{value}" for label, value in _facts(note, tz)))
    if note.image_url:
        parts.append(f"![快照]({_md_url(note.image_url)})")
    if note.link:
        parts.append(f"[查看详情]({_md_url(note.link)})")
    # DingTalk markdown needs a blank line between paragraphs.
    return {"msgtype": "markdown", "markdown": {"title": headline(note), "text": "\n\n".join(parts)}}


def feishu_payload(note: Notification, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    tz = ZoneInfo(timezone)

    def text(content: str) -> dict[str, str]:
        return {"tag": "plain_text", "content": content}

    elements: list[dict[str, Any]] = []
    if note.event != "snapshot":
        elements.append({"tag": "div", "text": text(_event_line(note))})
    elements.append({"tag": "div", "text": text(_plain(note.summary, 500))})
    elements.append(
        {"tag": "div", "fields": [{"is_short": True, "text": text(f"{k}：{v}")} for k, v in _facts(note, tz)]}
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
            "header": {"template": note.level, "title": text(headline(note))},
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
        body = _dumps(generic_payload(note, sent_at=now, timezone=timezone))
        if secret:
            headers["X-Cityops-Timestamp"] = str(int(now.timestamp()))
            headers["X-Cityops-Signature"] = generic_signature(secret, body)
        return url, headers, body
    if target.format == "wecom":
        return url, headers, _dumps(wecom_payload(note, timezone=timezone))
    if target.format == "dingtalk":
        if secret:
            ts = int(now.timestamp() * 1000)
            url = _add_query(url, f"timestamp={ts}&sign={quote_plus(dingtalk_sign(secret, ts))}")
        return url, headers, _dumps(dingtalk_payload(note, timezone=timezone))
    payload = feishu_payload(note, timezone=timezone)
    if secret:
        ts = int(now.timestamp())
        payload = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **payload}
    return url, headers, _dumps(payload)


# -- sending ------------------------------------------------------------------------------------------


_TOKENISH = re.compile(r"^[A-Za-z0-9_\-]{16,}$")


def _redacted_url(url: str) -> str:
    """The URL for error messages: no credentials, no query, long token-like path segments masked.

    Bot tokens live in the query (WeCom ``key``, DingTalk ``access_token``) or the path (Feishu's hook id).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        path = "/".join("***" if _TOKENISH.match(seg) else seg for seg in parts.path.split("/"))
        return urlunsplit((parts.scheme, host, path, "", "")) + ("?…" if parts.query else "")
    except ValueError:
        return "(url)"


def _one_line(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Attempt:
    ok: bool
    retry: bool
    http_status: int | None
    error: str | None


def _bot_answer(fmt: str, status: int, body: bytes) -> _Attempt:
    """Judge a bot API's answer: its JSON error code decides, whatever the HTTP status said."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        obj = None
    if not isinstance(obj, dict):
        snippet = body[:200].decode("utf-8", "replace")
        return _Attempt(
            False, False, status, f"HTTP {status} but the answer is not the {fmt} bot API's JSON: {snippet}"
        )
    if fmt in ("wecom", "dingtalk"):
        code, msg = obj.get("errcode"), obj.get("errmsg")
    elif "code" in obj:
        code, msg = obj.get("code"), obj.get("msg")
    else:
        code, msg = obj.get("StatusCode"), obj.get("StatusMessage")
    if code == 0:
        return _Attempt(True, False, status, None)
    if code is None:
        snippet = body[:200].decode("utf-8", "replace")
        return _Attempt(
            False, False, status, f"HTTP {status}: unexpected answer from the {fmt} bot API: {snippet}"
        )
    retry = isinstance(code, int) and code in RATE_LIMIT_CODES[fmt]
    return _Attempt(False, retry, status, f"{fmt} bot API error {code}: {msg}")


def _send_once(
    client: httpx.Client,
    fmt: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    deadline: float,
) -> _Attempt:
    where = _redacted_url(url)
    try:
        with client.stream(
            "POST", url, headers=headers, content=body, timeout=httpx.Timeout(timeout)
        ) as resp:
            status = resp.status_code
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_ANSWER_BYTES:
                    break
                if time.monotonic() > deadline:
                    return _Attempt(
                        False, True, status, f"{where} was still answering when the time limit ran out"
                    )
            answer = b"".join(chunks)
    except httpx.TimeoutException as exc:
        return _Attempt(False, True, None, f"{where} timed out after {timeout:g} s ({type(exc).__name__})")
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        return _Attempt(False, True, None, f"{where}: {type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        return _Attempt(False, False, None, f"{where}: {type(exc).__name__}: {exc}")
    if status == 429 or status >= 500:
        snippet = answer[:200].decode("utf-8", "replace")
        return _Attempt(False, True, status, f"HTTP {status} from {where}: {snippet}".rstrip(": "))
    if fmt != "generic" and (200 <= status < 300 or answer.lstrip().startswith(b"{")):
        judged = _bot_answer(fmt, status, answer)
        if judged.ok and not 200 <= status < 300:
            judged = _Attempt(False, False, status, f"HTTP {status} from {where}")
        elif not judged.ok and not 200 <= status < 300:
            judged = _Attempt(False, judged.retry, status, f"HTTP {status} from {where}: {judged.error}")
        return judged
    if 200 <= status < 300:
        return _Attempt(True, False, status, None)
    snippet = answer[:200].decode("utf-8", "replace")
    return _Attempt(False, False, status, f"HTTP {status} from {where}: {snippet}".rstrip(": "))


def _system_now() -> datetime:
    return datetime.now(UTC)


def _deliver_one(
    client: httpx.Client,
    target: NotificationTarget,
    note: Notification,
    *,
    now: Callable[[], datetime],
    environ: Mapping[str, str] | None,
    sleep: Callable[[float], Any],
    timezone: str,
    cancel: threading.Event | None,
) -> DeliveryRecord:
    started_at = now()
    t0 = time.monotonic()
    deadline = t0 + target.retry_budget_s
    attempts = 0
    outcome = _Attempt(False, False, None, "not attempted")
    secrets: list[str] = []
    try:
        env: Mapping[str, str] = os.environ if environ is None else environ
        for value in (target.url, target.secret):
            if value:  # hide every resolvable ${NAME} value from error text
                secrets += [env[n[2:-1]] for n in _PLACEHOLDER.findall(value) if env.get(n[2:-1])]
        # A WeCom notification with an image is two messages: the text, then (once it got through) the image.
        parts = 2 if target.format == "wecom" and note.image else 1
        done = 0  # attempts spent on earlier messages
        for part in range(parts):
            if part:
                if not outcome.ok:
                    break
                outcome = _Attempt(False, False, None, "not attempted")
                done = attempts
            while attempts - done < target.max_attempts:
                if cancel is not None and cancel.is_set():
                    last = f" (last attempt: {outcome.error})" if attempts else ""
                    outcome = _Attempt(
                        False, False, outcome.http_status, f"cancelled: the notifier was closed{last}"
                    )
                    break
                remaining = deadline - time.monotonic()
                if attempts and remaining <= 0:
                    break
                url, headers, body = build_request(
                    target, note, now=now(), environ=environ, timezone=timezone
                )
                if part:
                    body = _dumps(wecom_image_payload(note.image or b""))
                attempts += 1
                per_attempt = max(0.05, min(target.timeout, remaining))
                outcome = _send_once(client, target.format, url, headers, body, per_attempt, deadline)
                if outcome.ok or not outcome.retry or attempts - done >= target.max_attempts:
                    break
                delay = target.backoff * 2 ** (attempts - done - 1)
                if time.monotonic() + delay >= deadline:
                    break
                if delay > 0:
                    sleep(delay)
            if part and not outcome.ok:
                outcome = _Attempt(False, False, outcome.http_status, f"image message: {outcome.error}")
    except ConfigError as exc:
        outcome = _Attempt(False, False, None, str(exc))
    except Exception as exc:
        log.exception("notification to %s failed unexpectedly", target.name)
        outcome = _Attempt(False, False, None, f"unexpected {type(exc).__name__}: {exc}")
    error = None if outcome.ok else _one_line(outcome.error or "failed", secrets)
    if error and not outcome.ok and attempts > 1:
        error = f"{error} (after {attempts} attempts)"
    return DeliveryRecord(
        target=target.name,
        event=note.event,
        warning_id=note.warning_id,
        attempts=attempts,
        status="delivered" if outcome.ok else "failed",
        http_status=outcome.http_status,
        error=error,
        started_at=started_at,
        finished_at=now(),
        duration_s=round(time.monotonic() - t0, 6),
    )


def deliver(
    targets: Sequence[NotificationTarget],
    note: Notification,
    *,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] = _system_now,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    log: Callable[[DeliveryRecord], None] | None = None,
    timezone: str = "Asia/Shanghai",
    cancel: threading.Event | None = None,
) -> list[DeliveryRecord]:
    """Send ``note`` to every target that wants it (event, level, enabled), one after another.

    Retries connection errors, timeouts, HTTP 5xx and 429 (and the bots' rate-limit codes) with
    exponential backoff (``backoff``, ×2 each time, via ``sleep``); other answers are final. A bot's
    JSON error code counts as a failure even with HTTP 200. Each target's time is bounded by about
    ``timeout × max_attempts + backoffs``. ``log`` gets one record per target when it is done; the
    records are also returned. Never raises for a delivery problem (missing variables included).
    ``now`` is a callable returning the wall-clock time (it stamps signatures and the records);
    ``environ`` resolves ``${NAME}`` (``None``: the process environment); ``cancel``, once set, stops
    retrying.
    """
    wanted = [t for t in targets if t.wants(note)]
    records: list[DeliveryRecord] = []
    if not wanted:
        return records
    own = client is None
    http = client if client is not None else httpx.Client(trust_env=False, follow_redirects=False)
    try:
        for target in wanted:
            record = _deliver_one(
                http, target, note, now=now, environ=environ, sleep=sleep, timezone=timezone, cancel=cancel
            )
            records.append(record)
            if log is not None:
                log(record)
    finally:
        if own:
            http.close()
    return records


# -- background delivery ------------------------------------------------------------------------------


class Notifier:
    """Delivers notifications on one background thread so that callers never wait for an endpoint.

    ``submit(note)`` returns at once. The queue holds ``max_queue`` notifications; when it is full the
    oldest is dropped and recorded as failed ("queue full") for each target that wanted it. ``close``
    stops accepting, lets the worker finish the queue for up to ``timeout`` seconds, then records what
    is left as failed and stops retrying. ``log`` is called on the worker thread (and, for drops, on
    the submitting thread); an exception from it is logged and ignored.
    """

    def __init__(
        self,
        targets: Sequence[NotificationTarget],
        *,
        log: Callable[[DeliveryRecord], None],
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = _system_now,
        client: httpx.Client | None = None,
        sleep: Callable[[float], Any] | None = None,
        timezone: str = "Asia/Shanghai",
        max_queue: int = 1000,
    ) -> None:
        if max_queue < 1:
            raise ValueError("Notifier max_queue must be at least 1")
        self.targets = tuple(targets)
        self._log = log
        self._environ = environ
        self._now = now
        self._timezone = timezone
        self._max_queue = max_queue
        self._cancel = threading.Event()
        self._sleep: Callable[[float], Any] = sleep if sleep is not None else self._cancel.wait
        self._queue: collections.deque[Notification] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._busy = False
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(trust_env=False, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="cityops-notify", daemon=True)
        self._thread.start()

    def submit(self, note: Notification) -> None:
        """Queue ``note`` for delivery; returns immediately."""
        dropped: Notification | None = None
        with self._cond:
            if self._closing:
                closed = True
            else:
                closed = False
                if len(self._queue) >= self._max_queue:
                    dropped = self._queue.popleft()
                self._queue.append(note)
                self._cond.notify()
        if closed:
            self._record_undelivered(note, "not sent: the notifier is closed")
        if dropped is not None:
            self._record_undelivered(
                dropped, f"queue full: dropped, {self._max_queue} notifications were waiting"
            )

    @property
    def pending(self) -> int:
        """Notifications queued or being delivered."""
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop accepting; wait up to ``timeout`` s for the queue to drain.

        True when everything was handled.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        drained = not self._thread.is_alive()
        if not drained:
            self._cancel.set()  # stop retries and backoff waits of the delivery in progress
            with self._cond:
                left = list(self._queue)
                self._queue.clear()
            for note in left:
                self._record_undelivered(note, "not sent: the notifier was closed before its turn")
        return drained

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _emit(self, record: DeliveryRecord) -> None:
        try:
            self._log(record)
        except Exception:
            log.exception("notification delivery log callback failed for %s", record.target)

    def _record_undelivered(self, note: Notification, reason: str) -> None:
        at = self._safe_now()
        for target in self.targets:
            if target.wants(note):
                self._emit(
                    DeliveryRecord(
                        target.name, note.event, note.warning_id, 0, "failed", None, reason, at, at, 0.0
                    )
                )

    def _safe_now(self) -> datetime:
        try:
            return self._now()
        except Exception:
            return datetime.now(UTC)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    break  # closing and drained
                note = self._queue.popleft()
                self._busy = True
            try:
                deliver(
                    self.targets,
                    note,
                    client=self._client,
                    now=self._now,
                    environ=self._environ,
                    sleep=self._sleep,
                    log=self._emit,
                    timezone=self._timezone,
                    cancel=self._cancel,
                )
            except Exception:
                log.exception("notification worker: delivering %s failed", note.warning_id)
            finally:
                with self._cond:
                    self._busy = False
        if self._own_client:
            self._client.close()  # here, on the worker, once its last request is over
