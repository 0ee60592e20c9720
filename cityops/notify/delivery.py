"""Delivery: sending a notification to its targets, with retries, never raising for a delivery problem.

:func:`deliver` sends one :class:`~cityops.notify.message.Notification` to every target that wants it and
reports one :class:`~cityops.notify.message.DeliveryRecord` per target. Errors name the target and a
redacted URL: bot tokens never appear in them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from cityops.base.errors import ConfigError
from cityops.base.targets import _PLACEHOLDER, NotificationTarget
from cityops.notify.formats import build_request, dump_json, wecom_image_payload
from cityops.notify.message import DeliveryRecord, Notification

log = logging.getLogger("cityops.notify")

MAX_ANSWER_BYTES = 64 * 1024
# Bot answers that mean "too many messages, try later": retried like HTTP 429.
RATE_LIMIT_CODES: dict[str, frozenset[int]] = {
    "wecom": frozenset({45009}),
    "dingtalk": frozenset({130101}),
    "feishu": frozenset({11232}),
}


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
    # Only a number is a code (false == 0 in Python); some gateways send it as text ("45009").
    if isinstance(code, str) and re.fullmatch(r"-?\d{1,12}", code.strip()):
        code = int(code.strip())
    elif not isinstance(code, int) or isinstance(code, bool):
        code = None if code is None else repr(code)
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


def read_wall_clock() -> datetime:
    """The wall-clock time (UTC): what stamps signatures and delivery records by default."""
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
                    body = dump_json(wecom_image_payload(note.image or b""))
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
        message_id=note.message_id,
    )


def deliver(
    targets: Sequence[NotificationTarget],
    note: Notification,
    *,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] = read_wall_clock,
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
