"""Webhook notifications against real HTTP servers on loopback.

The shared ``feed_server`` fixture only answers GET, so these tests serve their own small handler
that accepts POST and records the exact bytes it received. Signatures are
checked against computations written out here, independently of :mod:`cityops.notify`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from cityops.notify import (
    DeliveryRecord,
    Notification,
    NotificationTarget,
    Notifier,
    build_request,
    deliver,
)
from tests.conftest import LoopbackServer
from tests.helpers import returns

NOW = datetime(2026, 6, 15, 1, 5, tzinfo=UTC)  # 09:05 in Asia/Shanghai


# -- a loopback webhook receiver ----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


Reply = tuple[int, bytes | str]
Responder = Callable[[Received], Reply | None]  # None: the handler already did what it wanted


class Hooks:
    """POST receiver. ``reply(path, (status, body), ...)`` scripts answers (the last one repeats);
    ``hang(path)`` makes a path wait until ``release`` is set or the test ends."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.stop = threading.Event()
        self.release = threading.Event()
        self._routes: dict[str, Responder] = {}
        self._lock = threading.Lock()
        hooks = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                req = Received(
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with hooks._lock:
                    hooks.received.append(req)
                route = hooks._routes.get(parts.path)
                answer: Reply | None = route(req) if route else (404, "no such hook")
                if answer is None:
                    return
                status, data = answer
                raw = data.encode("utf-8") if isinstance(data, str) else data
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeouts): expected here

            def log_message(self, *args: Any) -> None:
                pass

        self._server = LoopbackServer(H)

    def url(self, path: str, query: str = "") -> str:
        return self._server.url(path) + (f"?{query}" if query else "")

    def reply(self, path: str, *answers: tuple[int, Any]) -> None:
        script = [
            (s, b if isinstance(b, str | bytes) else json.dumps(b, ensure_ascii=False)) for s, b in answers
        ]
        count = {"n": 0}

        def responder(req: Received) -> Reply:
            i = min(count["n"], len(script) - 1)
            count["n"] += 1
            return script[i]

        self._routes[path] = responder

    def hang(self, path: str, then: tuple[int, Any] = (200, "{}")) -> None:
        def responder(req: Received) -> Reply | None:
            while not (self.stop.is_set() or self.release.is_set()):
                self.stop.wait(0.05)
            if self.stop.is_set():
                return None
            return then[0], then[1] if isinstance(then[1], str | bytes) else json.dumps(then[1])

        self._routes[path] = responder

    def hits(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.stop.set()
        self._server.close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    yield server
    server.close()


# -- helpers ------------------------------------------------------------------------------------------


def note(**overrides: Any) -> Notification:
    base: dict[str, Any] = {
        "event": "escalated",
        "warning_id": "w-42",
        "dedup_key": "water.level:HY001",
        "rule_id": "water.level",
        "rule_title": "北江水位超警戒",
        "level": "orange",
        "previous_level": "yellow",
        "state": "active",
        "department": "水利局",
        "district": "清城区",
        "entity_name": "石角站",
        "summary": "石角站水位 11.42 m，超警戒 0.42 m",
        "raised_at": datetime(2026, 6, 15, 0, 40, tzinfo=UTC),
        "at": NOW,
        "link": "http://ops.example/warnings/w-42",
        "extra": {"value_m": 11.42, "threshold_m": 11.0},
    }
    base.update(overrides)
    return Notification(**base)


def target(**fields: Any) -> NotificationTarget:
    data: dict[str, Any] = {"name": "值班群", "format": "generic", "timeout": 2, "backoff": 0.01}
    data.update(fields)
    return NotificationTarget.model_validate(data)


class Log:
    """A delivery log that tests can wait on."""

    def __init__(self) -> None:
        self.records: list[DeliveryRecord] = []
        self._cond = threading.Condition()

    def __call__(self, record: DeliveryRecord) -> None:
        with self._cond:
            self.records.append(record)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[DeliveryRecord]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.records) >= n, timeout), f"only {self.records}"
            return list(self.records)


def send(
    targets: list[NotificationTarget], n: Notification, **kwargs: Any
) -> tuple[list[DeliveryRecord], Log, list[float]]:
    logged = Log()
    sleeps: list[float] = []
    kwargs.setdefault("environ", {})
    kwargs.setdefault("sleep", sleeps.append)
    records = deliver(targets, n, now=lambda: NOW, log=logged, **kwargs)
    assert logged.records == records
    return records, logged, sleeps


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


# -- configuration ------------------------------------------------------------------------------------


def test_target_from_toml_with_defaults_and_durations() -> None:
    doc = tomllib.loads(
        """
        [[notifications]]
        name = "防汛群"
        format = "dingtalk"
        url = "https://oapi.dingtalk.com/robot/send?access_token=${DT_TOKEN}"
        secret = "${DT_SECRET}"

        [[notifications]]
        name = "联动平台"
        format = "generic"
        url = "${HOOK_URL}"
        events = ["raised", "reminder", "raised"]
        min_level = "orange"
        timeout = "500ms"
        backoff = "2s"
        max_attempts = 2
        enabled = false
        """
    )
    first, second = (NotificationTarget.model_validate(t) for t in doc["notifications"])
    assert first.events == ("raised", "escalated", "resolved")
    assert (first.min_level, first.timeout, first.max_attempts, first.backoff, first.enabled) == (
        "blue",
        5.0,
        4,
        1.0,
        True,
    )
    assert first.retry_budget_s == 5 * 4 + (1 + 2 + 4)
    assert second.events == ("raised", "reminder")
    assert (second.timeout, second.backoff, second.max_attempts, second.enabled) == (0.5, 2.0, 2, False)
    with pytest.raises(ValidationError):
        second.model_copy().__setattr__("name", "x")  # frozen
    for name, info in NotificationTarget.model_fields.items():
        assert info.description, f"{name} has no description"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"format": "slack"}, "generic"),
        ({"url": "ftp://example.org/hook"}, "http:// or https://"),
        ({"url": "example.org/hook"}, "http:// or https://"),
        ({"format": "wecom", "secret": "s"}, "WeCom group bots are not signed"),
        ({"events": ["raised", "exploded"]}, "snapshot"),
        ({"events": []}, "at least 1"),
        ({"min_level": "purple"}, "'red'"),
        ({"max_attempts": 0}, "greater than or equal to 1"),
        ({"timeout": "soon"}, "a duration"),
    ],
)
def test_bad_target_config_is_rejected_clearly(fields: dict[str, Any], message: str) -> None:
    data = {"name": "t", "format": "generic", "url": "https://example.org/hook", **fields}
    with pytest.raises(ValidationError, match=message):
        NotificationTarget.model_validate(data)


# -- formats, as received by a server -----------------------------------------------------------------


def test_generic_json_and_hmac_signature(hooks: Hooks) -> None:
    hooks.reply("/hook", (204, ""))
    secret = "s3cr3t-密钥"
    t = target(url=hooks.url("/hook"), secret="${HOOK_SECRET}")
    records, _, _ = send([t], note(), environ={"HOOK_SECRET": secret})
    assert [(r.status, r.http_status, r.attempts, r.error) for r in records] == [("delivered", 204, 1, None)]

    (got,) = hooks.hits("/hook")
    assert got.headers["content-type"].startswith("application/json")
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-cityops-signature"], expected)
    assert got.headers["x-cityops-timestamp"] == str(int(NOW.timestamp()))
    body = got.json()
    assert body["schema"] == "cityops.notification/1"
    assert body["event"] == "escalated"
    assert body["sent_at"] == "2026-06-15T09:05:00+08:00"
    assert body["title"] == "【橙色预警】北江水位超警戒 · 升级"
    assert body["summary"] == body["text"] == "石角站水位 11.42 m，超警戒 0.42 m"
    assert (body["level"], body["level_label"], body["previous_level"]) == ("orange", "橙色预警", "yellow")
    assert (body["warning_id"], body["dedup_key"], body["rule_id"]) == (
        "w-42",
        "water.level:HY001",
        "water.level",
    )
    assert (body["department"], body["district"], body["entity_name"], body["state"]) == (
        "水利局",
        "清城区",
        "石角站",
        "active",
    )
    assert body["raised_at"] == "2026-06-15T08:40:00+08:00" and body["at"] == "2026-06-15T09:05:00+08:00"
    assert body["link"] == "http://ops.example/warnings/w-42" and body["image_url"] is None
    assert body["extra"] == {"value_m": 11.42, "threshold_m": 11.0}
    assert "石角站".encode() in got.body  # UTF-8, not \\u escapes


def test_generic_without_secret_is_unsigned_and_extra_is_made_json(hooks: Hooks) -> None:
    hooks.reply("/hook", (200, "ok"))
    n = note(extra={"when": NOW, "nan": float("nan"), "tags": ("a", "b"), "obj": object.__name__})
    records, _, _ = send([target(url=hooks.url("/hook"))], n)
    assert records[0].status == "delivered"
    (got,) = hooks.hits("/hook")
    assert "x-cityops-signature" not in got.headers and "x-cityops-timestamp" not in got.headers
    assert got.json()["extra"] == {
        "when": "2026-06-15T01:05:00+00:00",
        "nan": None,
        "tags": ["a", "b"],
        "obj": "object",
    }


def test_wecom_markdown_with_level_colours(hooks: Hooks) -> None:
    hooks.reply("/cgi-bin/webhook/send", (200, {"errcode": 0, "errmsg": "ok"}))
    t = target(format="wecom", url=hooks.url("/cgi-bin/webhook/send", "key=${WECOM_KEY}"))
    records, _, _ = send([t], note(), environ={"WECOM_KEY": "k-123"})
    assert records[0].status == "delivered"
    (got,) = hooks.hits("/cgi-bin/webhook/send")
    assert got.query == {"key": "k-123"}
    body = got.json()
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith('<font color="warning">**【橙色预警】北江水位超警戒 · 升级**</font>')
    assert "升级：黄色 → 橙色" in content
    assert "石角站水位 11.42 m，超警戒 0.42 m" in content
    assert "2026-06-15 09:05" in content and "2026-06-15 08:40" in content  # Asia/Shanghai
    assert "[查看详情](http://ops.example/warnings/w-42)" in content
    assert len(content.encode()) <= 4096

    hooks.received.clear()
    send([t], note(event="resolved"), environ={"WECOM_KEY": "k"})
    assert (
        hooks.hits("/cgi-bin/webhook/send")[0].json()["markdown"]["content"].startswith('<font color="info">')
    )
    hooks.received.clear()
    send([t], note(event="raised", level="blue", previous_level=None), environ={"WECOM_KEY": "k"})
    assert (
        '<font color="comment">**【蓝色预警】'
        in hooks.hits("/cgi-bin/webhook/send")[0].json()["markdown"]["content"]
    )


def test_feed_text_cannot_break_json_or_inject_markup(hooks: Hooks) -> None:
    hooks.reply("/w", (200, {"errcode": 0, "errmsg": "ok"}))
    hooks.reply("/d", (200, {"errcode": 0, "errmsg": "ok"}))
    nasty = 'A路"}],\n<font color="info">已解除</font>\\ 路段' + "长" * 5000
    n = note(summary=nasty, entity_name='石角"站\n</font>', rule_title="规则\r\n标题")
    records, _, _ = send(
        [
            target(name="w", format="wecom", url=hooks.url("/w")),
            target(name="d", format="dingtalk", url=hooks.url("/d")),
        ],
        n,
    )
    assert [r.status for r in records] == ["delivered", "delivered"]
    wecom = hooks.hits("/w")[0].json()["markdown"]["content"]
    assert '<font color="info">已解除' not in wecom and "＜font" in wecom
    assert "\n标题" not in wecom and "规则 标题" in wecom
    assert len(wecom.encode()) <= 4096
    ding = hooks.hits("/d")[0].json()["markdown"]
    assert "</font>" not in ding["text"] and 'A路"}],' in ding["text"]


def test_dingtalk_markdown_and_sign(hooks: Hooks) -> None:
    hooks.reply("/robot/send", (200, {"errcode": 0, "errmsg": "ok"}))
    secret = "SEC0123456789abcdef+/="
    t = target(format="dingtalk", url=hooks.url("/robot/send", "access_token=${DT}"), secret="${DT_SECRET}")
    records, _, _ = send([t], note(), environ={"DT": "tok", "DT_SECRET": secret})
    assert records[0].status == "delivered"
    (got,) = hooks.hits("/robot/send")
    assert got.query["access_token"] == "tok"
    ts = got.query["timestamp"]
    assert ts == str(int(NOW.timestamp() * 1000))
    # DingTalk's documented algorithm, written out independently.
    string_to_sign = f"{ts}\n{secret}"
    digest = hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), digestmod=hashlib.sha256
    ).digest()
    assert got.query["sign"] == base64.b64encode(digest).decode()  # parse_qs undid the URL-encoding
    body = got.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "【橙色预警】北江水位超警戒 · 升级"
    text = body["markdown"]["text"]
    assert text.startswith("### 【橙色预警】北江水位超警戒 · 升级")
    assert "- 区县：清城区" in text and "- 时间：2026-06-15 09:05" in text
    assert "[查看详情](http://ops.example/warnings/w-42)" in text


@pytest.mark.parametrize("level", ["red", "orange", "yellow", "blue"])
def test_feishu_card_colour_and_sign(hooks: Hooks, level: str) -> None:
    hooks.reply("/open-apis/bot/v2/hook/abc", (200, {"code": 0, "msg": "success", "data": {}}))
    secret = "feishu-secret"
    t = target(format="feishu", url=hooks.url("/open-apis/bot/v2/hook/abc"), secret=secret)
    records, _, _ = send([t], note(level=level))
    assert records[0].status == "delivered"
    body = hooks.hits("/open-apis/bot/v2/hook/abc")[0].json()
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["template"] == level
    zh = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}[level]
    assert card["header"]["title"] == {"tag": "plain_text", "content": f"【{zh}预警】北江水位超警戒 · 升级"}
    texts = json.dumps(card["elements"], ensure_ascii=False)
    assert "石角站水位 11.42 m" in texts and "时间：2026-06-15 09:05" in texts
    assert {
        "tag": "button",
        "text": {"tag": "plain_text", "content": "查看详情"},
        "type": "primary",
        "url": "http://ops.example/warnings/w-42",
    } in card["elements"][-1]["actions"]
    # Feishu's documented algorithm: key = "timestamp\nsecret", message empty.
    assert body["timestamp"] == str(int(NOW.timestamp()))
    key = f"{body['timestamp']}\n{secret}".encode()
    assert (
        body["sign"] == base64.b64encode(hmac.new(key, msg=b"", digestmod=hashlib.sha256).digest()).decode()
    )


def test_snapshot_ignores_min_level_and_carries_the_image(hooks: Hooks) -> None:
    hooks.reply("/g", (200, "{}"))
    hooks.reply("/d", (200, {"errcode": 0, "errmsg": "ok"}))
    snap = note(
        event="snapshot",
        level="blue",
        previous_level=None,
        rule_title="每日运行快照",
        image_url="http://ops.example/snapshots/2026-06-15.png",
    )
    ts = [
        target(name="g", url=hooks.url("/g"), events=["snapshot"], min_level="red"),
        target(name="d", format="dingtalk", url=hooks.url("/d"), events=["snapshot"], min_level="red"),
    ]
    records, _, _ = send(ts, snap)
    assert [r.status for r in records] == ["delivered", "delivered"]
    assert hooks.hits("/g")[0].json()["image_url"] == "http://ops.example/snapshots/2026-06-15.png"
    ding = hooks.hits("/d")[0].json()["markdown"]
    assert ding["title"] == "【每日快照】每日运行快照"
    assert "![快照](http://ops.example/snapshots/2026-06-15.png)" in ding["text"]


def test_build_request_is_pure_and_time_zone_is_a_parameter() -> None:
    t = target(url="https://example.org/hook", secret="k")
    a = build_request(t, note(), now=NOW, environ={})
    assert a == build_request(t, note(), now=NOW, environ={})
    _, _, body = build_request(t, note(), now=NOW, environ={}, timezone="UTC")
    assert json.loads(body)["at"] == "2026-06-15T01:05:00+00:00"


# -- retries, failures, bounds ------------------------------------------------------------------------


def test_500_twice_then_200_is_delivered_on_the_third_attempt(hooks: Hooks) -> None:
    hooks.reply("/hook", (500, "busy"), (500, "busy"), (200, "{}"))
    records, logged, sleeps = send([target(url=hooks.url("/hook"), backoff=1, max_attempts=4)], note())
    (r,) = records
    assert (r.status, r.attempts, r.http_status, r.error) == ("delivered", 3, 200, None)
    assert sleeps == [1.0, 2.0]  # doubling backoff, through the injected sleep
    assert len(hooks.hits("/hook")) == 3
    assert len(logged.records) == 1
    assert r.started_at == NOW and r.finished_at == NOW and r.duration_s >= 0


def test_429_is_retried_but_other_4xx_are_not(hooks: Hooks) -> None:
    hooks.reply("/limited", (429, "slow down"), (200, "{}"))
    hooks.reply("/gone", (404, "no such hook"))
    hooks.reply("/forbidden", (403, {"error": "bad signature"}))
    ts = [
        target(name="limited", url=hooks.url("/limited")),
        target(name="gone", url=hooks.url("/gone")),
        target(name="forbidden", url=hooks.url("/forbidden")),
    ]
    records, _, sleeps = send(ts, note())
    by = {r.target: r for r in records}
    assert (by["limited"].status, by["limited"].attempts) == ("delivered", 2)
    assert (by["gone"].status, by["gone"].attempts, by["gone"].http_status) == ("failed", 1, 404)
    assert "HTTP 404" in (by["gone"].error or "") and "no such hook" in (by["gone"].error or "")
    assert (by["forbidden"].attempts, by["forbidden"].http_status) == (1, 403)
    assert len(hooks.hits("/gone")) == 1 and len(sleeps) == 1


def test_always_failing_server_fails_after_max_attempts_with_backoff_between_them(hooks: Hooks) -> None:
    hooks.reply("/hook", (503, "maintenance"))
    t = target(url=hooks.url("/hook"), max_attempts=3, timeout=1, backoff=0.05)
    assert t.retry_budget_s == pytest.approx(1 * 3 + 0.05 + 0.1)  # the bound: well above what this needs
    waits: list[tuple[float, int]] = []  # (backoff asked for, requests the server had seen by then)

    def sleep(seconds: float) -> None:
        waits.append((seconds, len(hooks.hits("/hook"))))
        time.sleep(seconds)  # real waiting this time

    records, _, _ = send([t], note(), sleep=sleep)
    (r,) = records
    assert (r.status, r.attempts, r.http_status) == ("failed", 3, 503)
    assert (
        r.error is not None
        and "HTTP 503" in r.error
        and "after 3 attempts" in r.error
        and "\n" not in r.error
    )
    assert len(hooks.hits("/hook")) == 3
    # a doubling backoff after each failed attempt but the last: the retry loop stopped after 3
    assert waits == [(0.05, 1), (0.1, 2)]


def test_dead_port_fails_fast(closed_port: int) -> None:
    t = target(url=f"http://127.0.0.1:{closed_port}/hook", max_attempts=3)
    records, _, sleeps = returns(lambda: send([t], note()))
    (r,) = records
    # refused at once each time (not a timeout), with only the (injected) backoff in between
    assert (r.status, r.attempts, r.http_status) == ("failed", 3, None)
    assert r.error is not None and "ConnectError" in r.error and "timed out" not in r.error
    assert r.error.endswith("(after 3 attempts)")
    assert sleeps == [0.01, 0.02]


def test_slow_endpoint_times_out_and_is_retried_up_to_max_attempts(hooks: Hooks) -> None:
    hooks.hang("/slow")  # never answers while the test runs
    t = target(url=hooks.url("/slow"), timeout=0.3, max_attempts=2)
    records, _, sleeps = returns(lambda: send([t], note()))
    (r,) = records
    # the endpoint never answered, so each attempt ended on the client's own timeout: 0.3 s, or what
    # was left of the target's time budget for the last attempt
    assert (r.status, r.attempts, r.http_status) == ("failed", 2, None)
    waited = re.search(r"timed out after ([0-9.]+) s", r.error or "")
    assert waited is not None and 0 < float(waited.group(1)) <= 0.3, r.error
    assert (r.error or "").endswith("(after 2 attempts)")
    assert len(hooks.hits("/slow")) == 2 and sleeps == [0.01]


@pytest.mark.parametrize(
    ("fmt", "answer", "message"),
    [
        (
            "wecom",
            {"errcode": 93000, "errmsg": "invalid webhook url"},
            "wecom bot API error 93000: invalid webhook url",
        ),
        (
            "dingtalk",
            {"errcode": 310000, "errmsg": "sign not match"},
            "dingtalk bot API error 310000: sign not match",
        ),
        (
            "feishu",
            {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"},
            "feishu bot API error 19021: sign match fail",
        ),
        (
            "feishu",
            {"StatusCode": 9499, "StatusMessage": "Bad Request"},
            "feishu bot API error 9499: Bad Request",
        ),
        ("wecom", "<html>proxy login</html>", "not the wecom bot API's JSON"),
    ],
)
def test_bot_error_bodies_with_http_200_are_failures(
    hooks: Hooks, fmt: str, answer: Any, message: str
) -> None:
    hooks.reply("/bot", (200, answer))
    records, _, sleeps = send([target(format=fmt, url=hooks.url("/bot"))], note())
    (r,) = records
    assert (r.status, r.http_status, r.attempts) == ("failed", 200, 1)
    assert message in (r.error or "")
    assert sleeps == []


def test_bot_success_variants_and_rate_limit_code(hooks: Hooks) -> None:
    hooks.reply("/old-feishu", (200, {"Extra": None, "StatusCode": 0, "StatusMessage": "success"}))
    hooks.reply(
        "/busy-wecom", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}), (200, {"errcode": 0})
    )
    ts = [
        target(name="f", format="feishu", url=hooks.url("/old-feishu")),
        target(name="w", format="wecom", url=hooks.url("/busy-wecom")),
    ]
    records, _, sleeps = send(ts, note())
    assert [(r.target, r.status, r.attempts) for r in records] == [
        ("f", "delivered", 1),
        ("w", "delivered", 2),
    ]
    assert sleeps == [0.01]


def test_bot_codes_are_numbers_not_booleans_and_may_come_as_text(hooks: Hooks) -> None:
    hooks.reply("/false-wecom", (200, {"errcode": False, "errmsg": "ok"}))
    hooks.reply("/null-feishu", (200, {"code": None, "msg": "ok"}))
    hooks.reply(
        "/busy-text", (200, {"errcode": "45009", "errmsg": "api freq out of limit"}), (200, {"errcode": "0"})
    )
    hooks.reply("/busy-feishu", (200, {"code": " 11232 ", "msg": "frequency limited"}), (200, {"code": 0}))
    ts = [
        target(name="false", format="wecom", url=hooks.url("/false-wecom")),
        target(name="null", format="feishu", url=hooks.url("/null-feishu")),
        target(name="text", format="wecom", url=hooks.url("/busy-text")),
        target(name="feishu", format="feishu", url=hooks.url("/busy-feishu")),
    ]
    records, _, sleeps = send(ts, note())
    assert [(r.target, r.status, r.attempts) for r in records] == [
        ("false", "failed", 1),
        ("null", "failed", 1),
        ("text", "delivered", 2),
        ("feishu", "delivered", 2),
    ]
    assert "wecom bot API error False: ok" in (records[0].error or "")
    assert sleeps == [0.01, 0.01]


def test_missing_environment_variable_is_a_failed_record_not_an_exception(hooks: Hooks) -> None:
    hooks.reply("/hook", (200, "{}"))
    ts = [
        target(name="env-url", url="${HOOK_URL}"),
        target(name="env-secret", url=hooks.url("/hook"), secret="${NOPE}"),
        target(name="bad-url", url="${BAD_URL}"),
    ]
    records, _, _ = send(ts, note(), environ={"BAD_URL": "mailto:ops@example.org"})
    by = {r.target: r for r in records}
    assert all(r.status == "failed" and r.attempts == 0 and r.http_status is None for r in records)
    assert "environment variable HOOK_URL is not set" in (by["env-url"].error or "")
    assert "export HOOK_URL=" in (by["env-url"].error or "")
    assert "environment variable NOPE is not set" in (by["env-secret"].error or "")
    assert "http:// or https://" in (by["bad-url"].error or "")
    assert hooks.hits("/hook") == []

    records, _, _ = send(ts[:1], note(), environ={"HOOK_URL": hooks.url("/hook")})
    assert records[0].status == "delivered"


def test_tokens_do_not_appear_in_errors(closed_port: int) -> None:
    token = "tok-very-secret-0123456789"
    ts = [
        target(
            name="ding",
            format="dingtalk",
            url=f"http://127.0.0.1:{closed_port}/robot/send?access_token=${{T}}",
            secret="${S}",
            max_attempts=1,
        ),
        target(
            name="feishu",
            format="feishu",
            url=f"http://127.0.0.1:{closed_port}/open-apis/bot/v2/hook/{token}",
            max_attempts=1,
        ),
    ]
    records, _, _ = send(ts, note(), environ={"T": token, "S": "sig-secret"})
    for r in records:
        assert r.status == "failed" and r.error
        assert token not in r.error and "sig-secret" not in r.error
        assert f"127.0.0.1:{closed_port}" in r.error


def test_events_min_level_and_enabled_filter_targets(hooks: Hooks) -> None:
    for path in ("/all", "/red", "/default", "/off", "/reminders"):
        hooks.reply(path, (200, "{}"))
    ts = [
        target(
            name="all",
            url=hooks.url("/all"),
            events=["raised", "escalated", "deescalated", "resolved", "reminder"],
        ),
        target(
            name="red", url=hooks.url("/red"), min_level="red", events=["raised", "escalated", "deescalated"]
        ),
        target(name="default", url=hooks.url("/default")),
        target(name="off", url=hooks.url("/off"), enabled=False),
        target(name="reminders", url=hooks.url("/reminders"), events=["reminder"], min_level="yellow"),
    ]
    cases = [
        (note(event="escalated", level="orange"), {"all", "default"}),
        (note(event="escalated", level="red", previous_level="orange"), {"all", "red", "default"}),
        (note(event="deescalated", level="orange", previous_level="red"), {"all"}),
        (note(event="reminder", level="blue"), {"all"}),
        (note(event="reminder", level="yellow"), {"all", "reminders"}),
        (note(event="resolved", level="red"), {"all", "default"}),
    ]
    for n, expected in cases:
        records, _, _ = send(ts, n)
        assert {r.target for r in records} == expected, n
        assert all(r.status == "delivered" and r.event == n.event for r in records)
    assert hooks.hits("/off") == []
    assert len(hooks.hits("/all")) == len(cases)


def test_a_shared_client_is_used_and_left_open(hooks: Hooks) -> None:
    import httpx

    hooks.reply("/hook", (200, "{}"))
    with httpx.Client(trust_env=False) as client:
        records, _, _ = send([target(url=hooks.url("/hook"))], note(), client=client)
        assert records[0].status == "delivered"
        assert not client.is_closed


# -- the background notifier --------------------------------------------------------------------------


def test_notifier_submit_returns_at_once_while_the_endpoint_hangs(hooks: Hooks) -> None:
    hooks.hang("/hang", then=(503, "busy"))  # holds each request until released, then fails it
    hooks.reply("/ok", (200, "{}"))
    logged = Log()
    ts = [
        target(name="hang", url=hooks.url("/hang"), timeout=30, max_attempts=1),
        target(name="ok", url=hooks.url("/ok")),
    ]
    notifier = Notifier(ts, log=logged, environ={}, now=lambda: NOW)
    try:
        # Both submits return while the endpoint still holds w-1's request: it is not released until
        # after they have returned, so they cannot have waited for any delivery.
        returns(lambda: [notifier.submit(note(warning_id=w)) for w in ("w-1", "w-2")])
        wait_until(lambda: len(hooks.hits("/hang")) == 1)
        assert logged.records == []  # nothing is done on the caller's thread
        assert notifier.pending == 2  # w-1 in progress, w-2 queued
        hooks.release.set()
        records = logged.wait_for(4)
    finally:
        assert notifier.close(timeout=10)
    by = {(r.warning_id, r.target): r for r in records}
    assert by[("w-1", "hang")].status == "failed" and "HTTP 503" in (by[("w-1", "hang")].error or "")
    assert by[("w-1", "ok")].status == "delivered" and by[("w-2", "ok")].status == "delivered"
    assert notifier.pending == 0


def test_notifier_full_queue_drops_the_oldest_with_a_record(hooks: Hooks) -> None:
    hooks.hang("/hook")  # answers 200 once released
    logged = Log()
    notifier = Notifier(
        [target(url=hooks.url("/hook"), timeout=10)], log=logged, environ={}, now=lambda: NOW, max_queue=2
    )
    try:
        notifier.submit(note(warning_id="w-1"))
        wait_until(lambda: len(hooks.hits("/hook")) == 1)  # the worker holds w-1
        for i in (2, 3, 4):
            notifier.submit(note(warning_id=f"w-{i}"))
        (dropped,) = logged.wait_for(1)
        assert (dropped.warning_id, dropped.status, dropped.attempts) == ("w-2", "failed", 0)
        assert (dropped.error or "").startswith("queue full")
        hooks.release.set()
        records = logged.wait_for(4)
    finally:
        assert notifier.close(timeout=10)
    assert [(r.warning_id, r.status) for r in records[1:]] == [
        ("w-1", "delivered"),
        ("w-3", "delivered"),
        ("w-4", "delivered"),
    ]


def test_notifier_close_gives_up_on_a_hung_endpoint_and_records_the_rest(hooks: Hooks) -> None:
    hooks.hang("/hook", then=(503, "busy"))  # holds the request until released, then fails it
    logged = Log()
    sleeps: list[float] = []
    notifier = Notifier(
        [target(url=hooks.url("/hook"), timeout=30, max_attempts=3)],
        log=logged,
        environ={},
        now=lambda: NOW,
        sleep=sleeps.append,
    )
    notifier.submit(note(warning_id="w-1"))
    wait_until(lambda: len(hooks.hits("/hook")) == 1)
    notifier.submit(note(warning_id="w-2"))
    # close gives up while w-1's request is still held (it is released only afterwards)
    assert returns(lambda: notifier.close(timeout=0.2)) is False
    assert [r.warning_id for r in logged.records] == ["w-2"]
    assert "closed before its turn" in (logged.records[0].error or "")
    notifier.submit(note(warning_id="w-3"))
    assert "notifier is closed" in (logged.records[-1].error or "")
    hooks.release.set()  # the held request now fails with a retryable 503 ...
    records = logged.wait_for(3)
    by = {r.warning_id: r for r in records}
    assert set(by) == {"w-1", "w-2", "w-3"}
    # ... and is not retried after close: one attempt, no further request reached the server.
    assert (
        by["w-1"].status == "failed"
        and by["w-1"].attempts == 1
        and "notifier was closed" in (by["w-1"].error or "")
        and "HTTP 503" in (by["w-1"].error or "")
    )
    wait_until(lambda: notifier.pending == 0)
    assert len(hooks.hits("/hook")) == 1


def test_notifier_survives_a_failing_log_callback(hooks: Hooks, caplog: pytest.LogCaptureFixture) -> None:
    hooks.reply("/hook", (200, "{}"))
    seen: list[DeliveryRecord] = []

    def flaky(record: DeliveryRecord) -> None:
        seen.append(record)
        if len(seen) == 1:
            raise RuntimeError("log store unavailable")

    notifier = Notifier([target(url=hooks.url("/hook"))], log=flaky, environ={}, now=lambda: NOW)
    notifier.submit(note(warning_id="w-1"))
    notifier.submit(note(warning_id="w-2"))
    assert notifier.close(timeout=10)
    assert [r.warning_id for r in seen] == ["w-1", "w-2"]
    assert "log store unavailable" in caplog.text


def test_notification_requires_aware_times_and_known_values() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        note(at=datetime(2026, 6, 15, 9, 5))
    with pytest.raises(ValueError, match="unknown warning level"):
        note(level="purple")
    with pytest.raises(ValueError, match="unknown notification event"):
        note(event="exploded")
    with pytest.raises(ValueError, match="raised_at must be a timezone-aware"):
        note(raised_at=datetime(2026, 6, 15, 8, 40))
    n = note()
    assert replace(n, level="red").level == "red"
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(n, at=datetime(2026, 6, 15, 9, 5))  # a copy is checked as well
    # aware times are kept as given
    assert (n.raised_at, n.at) == (datetime(2026, 6, 15, 0, 40, tzinfo=UTC), NOW)
