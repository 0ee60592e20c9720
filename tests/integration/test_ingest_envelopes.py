"""Response envelopes over a real loopback server: what a bureau's API sends when it answers HTTP 200
with the failure inside the body, an HTML page, or success with no rows."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from cityops.base.domains import RAIN
from ingest.pipeline import replay_run, run_feed
from tests.helpers import returns, run_cityops

FEED = "bureau-rain"
GOOD = [
    {"stcd": "G1", "tm": "2026-06-15 08:00:00", "drp": 1.5},
    {"stcd": "G2", "tm": "2026-06-15 08:00:00", "drp": 0.0},
]


def rain_feed(url: str, envelope: dict[str, Any] | None, records: str | None = "data.list") -> dict[str, Any]:
    source: dict[str, Any] = {"type": "http", "url": url, "records": records}
    if envelope is not None:
        source["envelope"] = envelope
    return {
        "department": "市水利局",
        "domain": "rain",
        "cadence": "5m",
        "source": source,
        "fields": {"entity_id": "stcd", "ts": "tm", "rain_mm": "drp"},
    }


def sequence(feed_server, path: str, bodies: list[tuple[str, bytes | str]]) -> None:
    """Answer ``path`` with each (content type, body) in turn, then keep answering the last one."""
    served = [0]

    def handler(h) -> None:
        ctype, body = bodies[min(served[0], len(bodies) - 1)]
        served[0] += 1
        data = body.encode("utf-8") if isinstance(body, str) else body
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    feed_server.handle(path, handler)


def as_json(obj: Any) -> tuple[str, str]:
    return "application/json;charset=UTF-8", json.dumps(obj, ensure_ascii=False)


def assert_nothing_stored(rt, report) -> None:
    assert report.status == "failed"
    assert len(rt.warehouse.observations(RAIN)) == 0
    (run,) = rt.warehouse.runs(feed=FEED).to_dict("records")
    assert run["status"] == "failed" and run["error"] == report.error
    state = rt.warehouse.feed_state(FEED)
    assert state is not None and state["last_error"] == report.error


def test_a_busy_department_is_retried_and_then_lands(tmp_path, make_runtime, feed_server, other_feed):
    sequence(
        feed_server,
        "/rain",
        [
            as_json({"code": 500, "msg": "系统繁忙", "data": None}),
            as_json({"code": 200, "msg": "success", "data": {"list": GOOD}}),
        ],
    )
    rt = make_runtime(
        tmp_path,
        {
            FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"}),
            other_feed.name: other_feed.config,
        },
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "ok", report.error
    assert report.attempts == 2 and len(feed_server.hits("/rain")) == 2
    stored = rt.warehouse.observations(RAIN)
    assert sorted(stored["entity_id"]) == ["G1", "G2"]
    other_feed.check(rt)


def test_a_department_busy_every_time_fails_with_its_own_message(tmp_path, make_runtime, feed_server):
    sequence(feed_server, "/rain", [as_json({"code": 500, "msg": "系统繁忙，请稍后再试", "data": None})])
    rt = make_runtime(
        tmp_path,
        {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})},
        ingest={"retry_attempts": 3},
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert report.error_kind == "transient" and report.attempts == 3
    assert "系统繁忙，请稍后再试" in report.error and "code = " in report.error
    assert_nothing_stored(rt, report)


def test_success_false_with_errmsg_is_terminal(tmp_path, make_runtime, feed_server, other_feed):
    sequence(
        feed_server,
        "/rain",
        [as_json({"success": False, "errMsg": "签名校验失败：appKey 无效", "data": None})],
    )
    rt = make_runtime(
        tmp_path,
        {
            FEED: rain_feed(feed_server.url("/rain"), {"preset": "success-errmsg"}, records="data"),
            other_feed.name: other_feed.config,
        },
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert report.error_kind == "terminal" and report.attempts == 1
    assert "签名校验失败：appKey 无效" in report.error
    assert len(feed_server.hits("/rain")) == 1
    assert_nothing_stored(rt, report)
    other_feed.check(rt)


def test_errcode_with_explicit_paths(tmp_path, make_runtime, feed_server):
    sequence(feed_server, "/rain", [as_json({"errcode": 40001, "errmsg": "invalid credential"})])
    envelope = {"success_path": "errcode", "success_values": [0], "message_path": "errmsg"}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), envelope, records="rows")})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.error_kind == "terminal" and report.attempts == 1
    assert "invalid credential" in report.error and "errcode = 40001" in report.error
    # The department's message comes first: the CLI and the daily report cut long errors short.
    assert report.error.index("invalid credential") < 80
    assert_nothing_stored(rt, report)


def test_a_transient_value_declared_explicitly_is_retried(tmp_path, make_runtime, feed_server):
    sequence(
        feed_server,
        "/rain",
        [
            as_json({"result": {"status": "BUSY"}, "message": "排队中"}),
            as_json({"result": {"status": "OK", "rows": GOOD}}),
        ],
    )
    envelope = {
        "success_path": "result.status",
        "success_values": ["OK"],
        "message_path": "message",
        "transient_values": ["BUSY"],
    }
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), envelope, records="result.rows")})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "ok", report.error
    assert report.attempts == 2 and report.rows_fetched == 2


HTML = (
    "<!DOCTYPE html>\n<html><head><title>系统维护中</title></head>\n"
    "<body><h1>系统维护中，请稍后访问</h1>" + "<p>" + "x" * 2000 + "</p></body></html>"
)


@pytest.mark.parametrize("envelope", [{"preset": "code-msg-data"}, None], ids=["enveloped", "plain"])
def test_an_html_page_with_http_200_is_named_as_html(tmp_path, make_runtime, feed_server, envelope):
    feed_server.respond("/rain", HTML, content_type="text/html; charset=utf-8")
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), envelope)})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.error_kind == "terminal" and report.attempts == 1
    assert "HTML page" in report.error and "text/html" in report.error and "系统维护中" in report.error
    assert "truncated" not in report.error
    # What was received is quoted, on one line, and cut short.
    assert "\n" not in report.error and "x" * 300 not in report.error
    assert_nothing_stored(rt, report)


def test_json_without_the_success_path_says_what_was_received(tmp_path, make_runtime, feed_server):
    sequence(feed_server, "/rain", [as_json({"rows": GOOD, "count": 2})])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.error_kind == "terminal" and report.attempts == 1
    assert "matches no envelope" in report.error and "'code'" in report.error
    assert "application/json" in report.error and '\\"rows\\"' in report.error
    assert_nothing_stored(rt, report)


@pytest.mark.parametrize(
    "body",
    [{"code": 0, "msg": "ok", "data": None}, {"code": 200, "msg": "ok", "data": {"list": []}}],
    ids=["null-data", "empty-list"],
)
def test_a_success_envelope_with_zero_rows_is_a_success(tmp_path, make_runtime, feed_server, body):
    sequence(feed_server, "/rain", [as_json(body)])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "ok" and report.error is None
    assert report.rows_fetched == 0 and report.attempts == 1
    # The landed payload replays the same way.
    again = replay_run(rt, report.run_id)
    assert again.status == "ok" and again.rows_fetched == 0


def test_a_success_envelope_missing_the_records_path_is_an_error(tmp_path, make_runtime, feed_server):
    """A success with the records somewhere else (the declared path is absent) must not pass as zero rows."""
    sequence(feed_server, "/rain", [as_json({"code": 0, "msg": "ok", "data": {"items": GOOD}})])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "failed" and report.error_kind == "terminal"
    assert "'data.list'" in report.error and "items" in report.error
    assert_nothing_stored(rt, report)


def test_good_and_bad_rows_in_a_success_envelope(tmp_path, make_runtime, feed_server):
    rows = [*GOOD, {"stcd": "G3", "tm": "不是时间", "drp": 2.0}]
    sequence(feed_server, "/rain", [as_json({"code": 200, "msg": "success", "data": {"list": rows}})])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "ok", report.error
    assert report.rows_fetched == 3 and report.rows_rejected == 1
    assert sorted(rt.warehouse.observations(RAIN)["entity_id"]) == ["G1", "G2"]


def test_a_hostile_message_is_kept_short_and_on_one_line(tmp_path, make_runtime, feed_server):
    message = "[/]<script>alert(1)</script>\n\x1b[31m" + "很长" * 1000
    sequence(feed_server, "/rain", [as_json({"code": 401, "msg": message, "data": None})])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "failed" and "<script>" in report.error
    assert "\n" not in report.error and "\x1b" not in report.error
    assert len(report.error) < 600


def test_the_cli_shows_the_departments_message(tmp_path, feed_server):
    """`cityops ingest run` and `ingest list` show the department's message, brackets and all."""
    sequence(
        feed_server, "/rain", [as_json({"code": 403, "msg": "[/]访问受限：IP 不在白名单", "data": None})]
    )
    config = tmp_path / "cityops.toml"
    config.write_text(
        textwrap.dedent(f"""
        [storage]
        data_dir = "data"

        [feeds.{FEED}]
        department = "市水利局"
        domain = "rain"
        cadence = "5m"
        fields = {{ entity_id = "stcd", ts = "tm", rain_mm = "drp" }}
        [feeds.{FEED}.source]
        type = "http"
        url = "{feed_server.url("/rain")}"
        records = "data.list"
        envelope = {{ preset = "code-msg-data" }}
        """),
        "utf-8",
    )
    ran = run_cityops("ingest", "run", FEED, "--config", str(config), cwd=tmp_path)
    assert ran.returncode == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert "访问受限" in ran.stdout and "[/]" in ran.stdout
    listed = run_cityops("ingest", "list", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("访问受限") == 2  # the feed's last error and its run


def test_json_labelled_as_html_is_still_read(tmp_path, make_runtime, feed_server):
    """Some departments' servers send JSON as text/html: the body, not the label, decides."""
    sequence(
        feed_server, "/rain", [("text/html;charset=UTF-8", json.dumps({"code": 0, "data": {"list": GOOD}}))]
    )
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"preset": "code-msg-data"})})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "ok", report.error
    assert sorted(rt.warehouse.observations(RAIN)["entity_id"]) == ["G1", "G2"]
