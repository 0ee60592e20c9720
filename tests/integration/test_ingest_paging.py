"""Every paging style a bureau's API uses, over a real loopback server, and the paging that cannot be
trusted to be complete (a looping API, a page count that grows, a page cap): a run records every page
or none. Also `cityops config check` on a wrong paging or envelope declaration."""

from __future__ import annotations

import json
import math
import textwrap
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cityops.base.domains import RAIN
from cityops.base.errors import ConfigError
from cityops.base.settings import settings_from_dict
from ingest.pipeline import run_feed
from tests.helpers import returns, run_cityops

FEED = "bureau-rain"
ROWS = [{"stcd": f"G{i:02d}", "tm": "2026-06-15 08:00:00", "drp": float(i)} for i in range(1, 12)]


def rain_feed(url: str, pagination: dict[str, Any], records: str, **source: Any) -> dict[str, Any]:
    return {
        "department": "市水利局",
        "domain": "rain",
        "cadence": "5m",
        "source": {"type": "http", "url": url, "records": records, "pagination": pagination, **source},
        "fields": {"entity_id": "stcd", "ts": "tm", "rain_mm": "drp"},
    }


def serve(feed_server, path: str, answer) -> None:
    """``answer(query, nth_request) -> JSON object`` served at ``path``."""
    count = [0]

    def handler(h) -> None:
        count[0] += 1
        query = {k: v[-1] for k, v in parse_qs(urlsplit(h.path).query).items()}
        data = json.dumps(answer(query, count[0]), ensure_ascii=False).encode("utf-8")
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    feed_server.handle(path, handler)


def stored_ids(rt) -> list[str]:
    return sorted(rt.warehouse.observations(RAIN)["entity_id"])


def assert_all_rows_landed(rt, report) -> None:
    assert report.status == "ok", report.error
    assert report.rows_fetched == len(ROWS)
    assert stored_ids(rt) == sorted(r["stcd"] for r in ROWS)


def assert_failed_with_nothing_stored(rt, report, *fragments: str) -> None:
    assert report.status == "failed" and report.error_kind == "terminal" and report.attempts == 1
    for fragment in fragments:
        assert fragment in report.error, report.error
    assert len(rt.warehouse.observations(RAIN)) == 0
    (run,) = rt.warehouse.runs(feed=FEED).to_dict("records")
    assert run["status"] == "failed" and run["error"] == report.error


# -- the styles, with good rows ------------------------------------------------------------------------


def bureau_page(query: dict[str, str], size: int, **extra: Any) -> dict[str, Any]:
    """A typical bureau answer: {code, msg, data: {list, pages, total}} for pageNo/pageSize."""
    page = int(query["pageNo"])
    rows = ROWS[(page - 1) * size : page * size]
    pages = math.ceil(len(ROWS) / size)
    return {
        "code": 200,
        "msg": "success",
        "data": {"list": rows, "pages": pages, "total": len(ROWS), **extra},
    }


def test_page_count_from_the_body(tmp_path, make_runtime, feed_server, other_feed):
    serve(feed_server, "/rain", lambda q, n: bureau_page(q, 4))
    pag = {"page_param": "pageNo", "size_param": "pageSize", "size": 4, "pages_path": "data.pages"}
    feed = rain_feed(feed_server.url("/rain"), pag, "data.list", envelope={"preset": "code-msg-data"})
    rt = make_runtime(tmp_path, {FEED: feed, other_feed.name: other_feed.config})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert [r.query["pageNo"] for r in feed_server.hits("/rain")] == ["1", "2", "3"]
    other_feed.check(rt)


def test_total_count_from_the_body_when_the_server_caps_the_page_size(tmp_path, make_runtime, feed_server):
    """Asked for 5 rows a page, the server sends 3: the total, not a short page, decides the end."""

    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        page = int(q["page"])
        return {"totalCount": len(ROWS), "rows": ROWS[(page - 1) * 3 : page * 3]}

    serve(feed_server, "/rain", answer)
    rt = make_runtime(
        tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"size": 5, "total_path": "totalCount"}, "rows")}
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert len(feed_server.hits("/rain")) == 4


def test_offset_and_limit(tmp_path, make_runtime, feed_server):
    serve(
        feed_server,
        "/rain",
        lambda q, n: {"items": ROWS[int(q["offset"]) : int(q["offset"]) + int(q["limit"])]},
    )
    pag = {"style": "offset", "offset_param": "offset", "size_param": "limit", "size": 4}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "items")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    # After the short page (3 rows), one more request tells the last page from a capped page size.
    assert [r.query["offset"] for r in feed_server.hits("/rain")] == ["0", "4", "8", "11"]


def test_next_url_relative_link(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        start = int(q.get("from", "0"))
        nxt = f"/rain?from={start + 5}&sig=abc" if start + 5 < len(ROWS) else None
        return {"data": ROWS[start : start + 5], "links": {"next": nxt}}

    serve(feed_server, "/rain", answer)
    pag = {"style": "next_url", "next_path": "links.next", "size": 5}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "data")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert [r.query.get("from") for r in feed_server.hits("/rain")] == [None, "5", "10"]


def test_cursor_tokens(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        start = int(q["cursor"][1:]) if "cursor" in q else 0
        end = start + int(q["limit"])
        more = end < len(ROWS)
        return {"data": {"records": ROWS[start:end], "nextCursor": f"c{end}" if more else ""}}

    serve(feed_server, "/rain", answer)
    pag = {
        "style": "cursor",
        "cursor_path": "data.nextCursor",
        "cursor_param": "cursor",
        "size_param": "limit",
    }
    rt = make_runtime(
        tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {**pag, "size": 4}, "data.records")}
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert [r.query.get("cursor") for r in feed_server.hits("/rain")] == [None, "c4", "c8"]


def test_stop_at_a_short_page(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", lambda q, n: ROWS[(int(q["page"]) - 1) * 4 : int(q["page"]) * 4])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"size": 4}, "")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    # Page 4, asked after the short page 3, is empty: page 3 was the last, and no cap is noted.
    assert [r.query["page"] for r in feed_server.hits("/rain")] == ["1", "2", "3", "4"]
    assert report.notes == []


def test_a_busy_answer_on_page_two_retries_the_whole_run(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        if n == 2:
            return {"code": 500, "msg": "系统繁忙", "data": None}
        return bureau_page(q, 4)

    serve(feed_server, "/rain", answer)
    pag = {"page_param": "pageNo", "size_param": "pageSize", "size": 4, "pages_path": "data.pages"}
    feed = rain_feed(feed_server.url("/rain"), pag, "data.list", envelope={"preset": "code-msg-data"})
    rt = make_runtime(tmp_path, {FEED: feed})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert report.attempts == 2
    assert [r.query["pageNo"] for r in feed_server.hits("/rain")] == ["1", "2", "1", "2", "3"]


# -- paging that cannot be trusted: every page or none ----------------------------------------------


def test_a_looping_api_fails_naming_the_page(tmp_path, make_runtime, feed_server, other_feed):
    """The API ignores the page parameter and sends page 1 again and again."""
    serve(feed_server, "/rain", lambda q, n: {"rows": ROWS[:4]})
    rt = make_runtime(
        tmp_path,
        {FEED: rain_feed(feed_server.url("/rain"), {"size": 4}, "rows"), other_feed.name: other_feed.config},
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 2 repeats page 1", "looping")
    assert len(feed_server.hits("/rain")) == 2
    other_feed.check(rt)


def test_a_cursor_that_comes_back_fails_naming_the_page(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        # Pages of different rows, but the cursor cycles between two values.
        return {"records": ROWS[(n - 1) * 2 : n * 2], "next": "A" if n % 2 else "B"}

    serve(feed_server, "/rain", answer)
    pag = {"style": "cursor", "cursor_path": "next", "size": 2}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "records")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 3", "cursor already followed", '"A"')


def test_a_page_count_that_grows_while_paging_fails(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        page = int(q["pageNo"])
        return {"code": 200, "data": {"list": ROWS[(page - 1) * 4 : page * 4], "pages": 2 + page // 2}}

    serve(feed_server, "/rain", answer)
    pag = {"page_param": "pageNo", "size_param": "pageSize", "size": 4, "pages_path": "data.pages"}
    feed = rain_feed(feed_server.url("/rain"), pag, "data.list", envelope={"preset": "code-msg-data"})
    rt = make_runtime(tmp_path, {FEED: feed})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 2", "grew from 2 to 3")


def test_an_empty_page_before_the_announced_total_fails(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        page = int(q["page"])
        return {"total": 11, "rows": ROWS[:4] if page == 1 else []}

    serve(feed_server, "/rain", answer)
    rt = make_runtime(
        tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"size": 4, "total_path": "total"}, "rows")}
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 2 is empty", "11 rows (4 received)")


def test_the_page_cap_reached_before_the_last_page_fails(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", lambda q, n: bureau_page(q, 2))
    pag = {
        "page_param": "pageNo",
        "size_param": "pageSize",
        "size": 2,
        "pages_path": "data.pages",
        "max_pages": 3,
    }
    feed = rain_feed(feed_server.url("/rain"), pag, "data.list", envelope={"preset": "code-msg-data"})
    rt = make_runtime(tmp_path, {FEED: feed})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 3 was not the last", "max_pages = 3")
    assert len(feed_server.hits("/rain")) == 3


def test_the_page_cap_equal_to_the_page_count_is_fine(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", lambda q, n: bureau_page(q, 4))
    pag = {
        "page_param": "pageNo",
        "size_param": "pageSize",
        "size": 4,
        "pages_path": "data.pages",
        "max_pages": 3,
    }
    feed = rain_feed(feed_server.url("/rain"), pag, "data.list", envelope={"preset": "code-msg-data"})
    rt = make_runtime(tmp_path, {FEED: feed})
    assert_all_rows_landed(rt, returns(lambda: run_feed(rt, FEED)))


# -- time limits: the recorded error is the first real cause -----------------------------------------


def test_a_retry_that_runs_out_of_time_records_the_cause_not_the_time_limit(
    tmp_path, make_runtime, feed_server
):
    """Attempt 1 fails on page 2 with HTTP 503; attempt 2 is slow on page 1 and the run's time runs out
    before page 2: the run says 503 first, and no request starts after the limit."""
    count = [0]

    def handler(h) -> None:
        count[0] += 1
        if count[0] == 2:
            h.send_response(503)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if count[0] == 3:
            time.sleep(1.5)  # longer than the run's time limit below, shorter than the read timeout
        query = {k: v[-1] for k, v in parse_qs(urlsplit(h.path).query).items()}
        data = json.dumps(bureau_page(query, 4)).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    feed_server.handle("/rain", handler)
    pag = {"page_param": "pageNo", "size_param": "pageSize", "size": 4, "pages_path": "data.pages"}
    feed = rain_feed(feed_server.url("/rain"), pag, "data.list", envelope={"preset": "code-msg-data"})
    rt = make_runtime(tmp_path, {FEED: feed}, ingest={"run_timeout": "1s", "retry_attempts": 5})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "failed" and report.attempts == 2, report.error
    assert "HTTP 503" in report.error and "time limit ran out" in report.error, report.error
    assert report.error.index("HTTP 503") < report.error.index("time limit ran out")
    assert len(feed_server.hits("/rain")) == 3
    assert len(rt.warehouse.observations(RAIN)) == 0


# -- a wrong declaration, explained by `cityops config check` ---------------------------------------


BAD_DECLARATIONS = [
    (
        {"pagination": {"style": "offset", "total_path": "data.total"}},
        "pagination.total_path",
        "style = 'page'",
    ),
    ({"pagination": {"style": "cursor"}}, "pagination.cursor_path", "required with style = 'cursor'"),
    ({"pagination": {"style": "next_url"}}, "pagination.next_path", "required with style = 'next_url'"),
    ({"pagination": {"pages_path": "p", "total_path": "t"}}, "pagination.pages_path", "not both"),
    ({"pagination": {"style": "paged"}}, "pagination.style", "'cursor'"),
    ({"envelope": {"message_path": "msg"}}, "envelope", "success_path: required"),
    ({"envelope": {"success_path": "code"}}, "envelope", "success_values: required"),
    ({"envelope": {"preset": "code-msg"}}, "envelope.preset", "code-msg-data"),
    ({"format": "csv", "envelope": {"preset": "code-msg-data"}}, "source", "not 'csv'"),
]


@pytest.mark.parametrize(
    ("source", "key", "why"), BAD_DECLARATIONS, ids=[d[1] + "-" + d[2] for d in BAD_DECLARATIONS]
)
def test_a_wrong_declaration_is_one_line_naming_the_feed_and_key(source, key, why):
    feed = rain_feed("http://127.0.0.1:9/rain", {}, "rows")
    del feed["source"]["pagination"]
    feed["source"].update(source)
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"feeds": {FEED: feed}}, environ={})
    message = str(info.value)
    expected = f"feeds.{FEED}.source" + ("" if key == "source" else f".{key}")
    assert f"{expected}: " in message and why in message
    assert "\n" not in message


def test_config_check_explains_a_wrong_paging_declaration(tmp_path):
    config = tmp_path / "cityops.toml"
    config.write_text(
        textwrap.dedent("""
        [storage]
        data_dir = "data"

        [feeds.rain]
        department = "市水利局"
        domain = "rain"
        cadence = "5m"
        fields = { entity_id = "stcd", ts = "tm", rain_mm = "drp" }
        [feeds.rain.source]
        type = "http"
        url = "http://127.0.0.1:9/rain"
        records = "data.list"
        envelope = { preset = "code-msg-data" }
        pagination = { style = "cursor", size = 100 }
        """),
        "utf-8",
    )
    result = run_cityops("config", "check", "--config", str(config), cwd=tmp_path)
    assert result.returncode != 0
    assert "feeds.rain.source.pagination.cursor_path" in result.stderr
    assert "required with style = 'cursor'" in result.stderr and "Traceback" not in result.stderr
