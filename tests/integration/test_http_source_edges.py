"""The HTTP source where a department's API misbehaves, over real loopback servers: a null page inside
the announced pages, a next link that is no URL or leads to another host (the feed's secret headers
must not follow), an error page that trickles or never ends, a cursor API that sends an empty page
before more rows, and a server that caps its page size below the one asked for without saying so.
A run records every page or none, and its error names the page and what was received."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cityops.base.domains import RAIN
from cityops.base.errors import ConfigError
from cityops.base.settings import settings_from_dict
from ingest.pipeline import run_feed
from tests.helpers import returns
from tests.integration.test_ingest_paging import (
    FEED,
    ROWS,
    assert_all_rows_landed,
    assert_failed_with_nothing_stored,
    rain_feed,
    serve,
)

TOKEN = "tok-7f3a9c21e5"
COUNTED = {"page_param": "pageNo", "size_param": "pageSize", "size": 4}


def bureau_feed(url: str, pagination: dict[str, Any]) -> dict[str, Any]:
    return rain_feed(url, pagination, "data.list", envelope={"preset": "code-msg-data"})


# -- 1. a null page inside the announced pages ---------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "fragment"),
    [
        ({"total_path": "data.total"}, "announced 3 pages and 11 rows (4 received)"),
        ({"pages_path": "data.pages"}, "announced 3 pages"),
    ],
    ids=["total", "pages"],
)
def test_a_null_page_before_the_announced_end_fails_naming_it(
    tmp_path, make_runtime, feed_server, counts, fragment
):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        page = int(q["pageNo"])
        rows = None if page == 2 else ROWS[(page - 1) * 4 : page * 4]
        return {"code": 200, "msg": "ok", "data": {"list": rows, "total": len(ROWS), "pages": 3}}

    serve(feed_server, "/rain", answer)
    rt = make_runtime(tmp_path, {FEED: bureau_feed(feed_server.url("/rain"), {**COUNTED, **counts})})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 2 has no records (null at 'data.list')", fragment)


def test_a_null_page_without_counts_is_judged_by_the_counts_announced_before(
    tmp_path, make_runtime, feed_server
):
    """Page 2 is `{"code": 200, "data": null}`: no list and no total; page 1 announced 11 rows."""

    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        if q["pageNo"] == "2":
            return {"code": 200, "msg": "ok", "data": None}
        return {"code": 200, "msg": "ok", "data": {"list": ROWS[:4], "total": len(ROWS)}}

    serve(feed_server, "/rain", answer)
    pag = {**COUNTED, "total_path": "data.total"}
    rt = make_runtime(tmp_path, {FEED: bureau_feed(feed_server.url("/rain"), pag)})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 2 has no records", "11 rows (4 received)")


def test_an_empty_last_announced_page_fails(tmp_path, make_runtime, feed_server):
    """pages = 3, but page 3 is empty: its rows are missing, the run is not complete."""

    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        page = int(q["pageNo"])
        rows = [] if page == 3 else ROWS[(page - 1) * 4 : page * 4]
        return {"code": 200, "msg": "ok", "data": {"list": rows, "pages": 3}}

    serve(feed_server, "/rain", answer)
    pag = {**COUNTED, "pages_path": "data.pages"}
    rt = make_runtime(tmp_path, {FEED: bureau_feed(feed_server.url("/rain"), pag)})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 3 is empty", "announced 3 pages")


def test_a_null_first_page_is_a_run_with_no_rows(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", lambda q, n: {"code": 200, "msg": "ok", "data": {"list": None, "total": 0}})
    pag = {**COUNTED, "total_path": "data.total"}
    rt = make_runtime(tmp_path, {FEED: bureau_feed(feed_server.url("/rain"), pag)})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status in ("ok", "empty") and report.error is None, report.error
    assert report.rows_fetched == 0 and len(feed_server.hits("/rain")) == 1


# -- 2. a next link that is not a URL; a URL httpx refuses ------------------------------------------


@pytest.mark.parametrize(
    "link", ["http://[bad/x?token=SECRET-LINK-1", "/rain?from=5&sig=SECRET-LINK-1\x00", 17]
)
def test_a_malformed_next_link_is_a_clean_terminal_error(tmp_path, make_runtime, feed_server, link):
    serve(feed_server, "/rain", lambda q, n: {"items": ROWS[:2], "next": link})
    pag = {"style": "next_url", "next_path": "next"}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "items")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 1 gives a next link that is not a usable URL")
    assert "internal error" not in report.error and "SECRET-LINK-1" not in report.error
    assert len(feed_server.hits("/rain")) == 1


def test_a_feed_url_httpx_refuses_is_a_clean_terminal_error(tmp_path, make_runtime, feed_server):
    feed_server.json("/rain", {"items": ROWS})
    url = feed_server.url("/rain") + "?appKey=SECRET-KEY-22\x7f"
    feed = {
        "department": "市水利局",
        "domain": "rain",
        "cadence": "5m",
        "source": {"type": "http", "url": url, "records": "items"},
        "fields": {"entity_id": "stcd", "ts": "tm", "rain_mm": "drp"},
    }
    rt = make_runtime(tmp_path, {FEED: feed})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "is not a usable URL")
    assert "internal error" not in report.error and "SECRET-KEY-22" not in report.error
    assert feed_server.hits("/rain") == []


# -- 3. an error page that trickles or never ends ---------------------------------------------------


def plain_feed(url: str) -> dict[str, Any]:
    return {
        "department": "市水利局",
        "domain": "rain",
        "cadence": "5m",
        "source": {"type": "http", "url": url},
        "fields": {"entity_id": "stcd", "ts": "tm", "rain_mm": "drp"},
    }


def test_a_trickling_404_is_the_terminal_404_within_the_time_limit(tmp_path, make_runtime, feed_server):
    """A byte every 0.3 s, never finishing: before, the whole body was awaited and the run recorded a
    (retried) read timeout instead of the 404."""

    def handler(h) -> None:
        h.send_response(404)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(40):
            if feed_server.stop.is_set():
                return
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.3)

    feed_server.handle("/rain", handler)
    ingest = {"run_timeout": "1s", "read_timeout": "2s", "retry_attempts": 3}
    rt = make_runtime(tmp_path, {FEED: plain_feed(feed_server.url("/rain"))}, ingest=ingest)
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "answered HTTP 404", 'starting "xx')


@pytest.mark.parametrize(("status", "kind"), [(404, "terminal"), (503, "transient")])
def test_an_endless_error_page_is_read_no_further_than_a_few_kilobytes(
    tmp_path, make_runtime, feed_server, status, kind
):
    """An error page streamed without end: before, it was read into memory until the server stopped."""

    def handler(h) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "text/html")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"<p>" + "系统维护中".encode() * 60 + b"</p>"
        while not feed_server.stop.is_set():
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            h.wfile.flush()

    feed_server.handle("/rain", handler)
    rt = make_runtime(tmp_path, {FEED: plain_feed(feed_server.url("/rain"))}, ingest={"retry_attempts": 2})
    report = returns(lambda: run_feed(rt, FEED), 30)
    assert report.status == "failed" and report.error_kind == kind, report.error
    assert f"answered HTTP {status}" in report.error and "系统维护中" in report.error
    assert "an HTML page (text/html, 4096 bytes)" in report.error, report.error
    assert len(rt.warehouse.observations(RAIN)) == 0


def test_a_408_is_retried(tmp_path, make_runtime, feed_server):
    def handler(h) -> None:
        if len(feed_server.hits("/rain")) == 1:
            h.send_response(408)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        data = b'[{"stcd": "G01", "tm": "2026-06-15 08:00:00", "drp": 1.5}]'
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    feed_server.handle("/rain", handler)
    rt = make_runtime(tmp_path, {FEED: plain_feed(feed_server.url("/rain"))})
    report = returns(lambda: run_feed(rt, FEED))
    assert report.status == "ok" and report.attempts == 2 and report.rows_fetched == 1, report.error


# -- 4. the feed's secret headers stay with its host --------------------------------------------------


def test_a_next_link_to_another_host_is_refused_and_gets_no_secret(
    tmp_path, make_runtime, feed_server, make_feed_server
):
    elsewhere = make_feed_server()
    serve(elsewhere, "/collect", lambda q, n: {"data": ROWS[5:], "links": {"next": None}})
    link = elsewhere.url("/collect") + "?from=5&sig=SECRET-SIG-9"
    serve(feed_server, "/rain", lambda q, n: {"data": ROWS[:5], "links": {"next": link}})
    pag = {"style": "next_url", "next_path": "links.next"}
    feed = rain_feed(feed_server.url("/rain"), pag, "data", headers={"Authorization": "Bearer ${RAIN_TOKEN}"})
    rt = make_runtime(tmp_path, {FEED: feed}, environ={"RAIN_TOKEN": TOKEN})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(
        rt, report, "page 1 gives a next link to another host", f'"http://127.0.0.1:{elsewhere.port}"'
    )
    assert "SECRET-SIG-9" not in report.error and TOKEN not in report.error
    assert elsewhere.requests == []
    assert feed_server.hits("/rain")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_next_link_to_an_allowed_host_is_followed(tmp_path, make_runtime, feed_server, make_feed_server):
    elsewhere = make_feed_server()
    serve(elsewhere, "/collect", lambda q, n: {"data": ROWS[5:], "links": {"next": ""}})
    link = elsewhere.url("/collect") + "?from=5"
    serve(feed_server, "/rain", lambda q, n: {"data": ROWS[:5], "links": {"next": link}})
    pag = {"style": "next_url", "next_path": "links.next", "allow_hosts": [f"127.0.0.1:{elsewhere.port}"]}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "data")})
    assert_all_rows_landed(rt, returns(lambda: run_feed(rt, FEED)))
    assert [r.query for r in elsewhere.requests] == [{"from": "5"}]


@pytest.mark.parametrize(
    ("pagination", "why"),
    [
        ({"style": "next_url", "next_path": "n", "allow_hosts": ["h.example/path"]}, "'host', 'host:port'"),
        ({"style": "next_url", "next_path": "n", "allow_hosts": ["u:p@h.example"]}, "'host', 'host:port'"),
        ({"style": "page", "allow_hosts": ["h.example"]}, "only used with style = 'next_url'"),
    ],
)
def test_a_wrong_allow_hosts_is_explained(pagination, why):
    feed = rain_feed("http://127.0.0.1:9/rain", pagination, "rows")
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"feeds": {FEED: feed}}, environ={})
    assert f"feeds.{FEED}.source.pagination.allow_hosts" in str(info.value) and why in str(info.value)


# -- 5. a cursor API's empty page -----------------------------------------------------------------


def cursor_feed(url: str) -> dict[str, Any]:
    pag = {"style": "cursor", "cursor_path": "next", "size_param": "limit", "size": 4}
    return rain_feed(url, pag, "records")


def test_an_empty_cursor_page_with_a_new_cursor_pages_on(tmp_path, make_runtime, feed_server):
    """The API sends an empty batch and a fresh cursor (say, a window with no rows); rows follow."""
    pages = {
        None: (ROWS[:4], "a"),
        "a": ([], "b"),
        "b": (ROWS[4:8], "c"),
        "c": (ROWS[8:], ""),
    }

    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        rows, nxt = pages[q.get("cursor")]
        return {"records": rows, "next": nxt}

    serve(feed_server, "/rain", answer)
    rt = make_runtime(tmp_path, {FEED: cursor_feed(feed_server.url("/rain"))})
    assert_all_rows_landed(rt, returns(lambda: run_feed(rt, FEED)))
    assert [r.query.get("cursor") for r in feed_server.hits("/rain")] == [None, "a", "b", "c"]


def test_an_empty_cursor_page_that_hands_back_its_cursor_is_the_end(tmp_path, make_runtime, feed_server):
    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        if "cursor" not in q:
            return {"records": ROWS[:4], "next": "a"}
        if q["cursor"] == "a":
            return {"records": ROWS[4:], "next": "b"}
        return {"records": [], "next": q["cursor"]}  # nothing after "b" yet: ask again with "b" later

    serve(feed_server, "/rain", answer)
    rt = make_runtime(tmp_path, {FEED: cursor_feed(feed_server.url("/rain"))})
    assert_all_rows_landed(rt, returns(lambda: run_feed(rt, FEED)))
    assert len(feed_server.hits("/rain")) == 3


def test_an_empty_cursor_page_that_sends_an_earlier_cursor_fails(tmp_path, make_runtime, feed_server):
    pages = {None: (ROWS[:4], "a"), "a": (ROWS[4:8], "b"), "b": ([], "a")}
    serve(
        feed_server, "/rain", lambda q, n: dict(zip(("records", "next"), pages[q.get("cursor")], strict=True))
    )
    rt = make_runtime(tmp_path, {FEED: cursor_feed(feed_server.url("/rain"))})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(rt, report, "page 3", "cursor already followed", '"a"')


# -- 6. a server that caps its page size and gives no count ------------------------------------------


def capped(rows_per_page: int):
    """An API that sends at most ``rows_per_page`` rows whatever size is asked (page or offset)."""

    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        size = min(int(q["size"]), rows_per_page)
        start = int(q["offset"]) if "offset" in q else (int(q["page"]) - 1) * size
        return {"rows": ROWS[start : start + size]}

    return answer


def test_offset_paging_past_a_server_that_caps_its_page_size(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", capped(3))
    pag = {"style": "offset", "size": 5}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "rows")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert [r.query["offset"] for r in feed_server.hits("/rain")] == ["0", "3", "6", "9", "11"]
    note = "the server returns at most 3 rows a page (asked for 5); paged by 3"
    assert note in report.notes
    (run,) = rt.warehouse.runs(feed=FEED).to_dict("records")
    assert note in run["notes"]


def test_page_paging_past_a_server_that_caps_its_page_size(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", capped(3))
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"size": 5}, "rows")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert [r.query["page"] for r in feed_server.hits("/rain")] == ["1", "2", "3", "4", "5"]
    assert "the server returns at most 3 rows a page (asked for 5); paged by 3" in report.notes


def test_a_server_that_repeats_its_last_page_past_the_end(tmp_path, make_runtime, feed_server):
    """Asked past its last page, the server sends the last page again: the short page was the last."""

    def answer(q: dict[str, str], n: int) -> dict[str, Any]:
        page = min(int(q["page"]), 3)
        return {"rows": ROWS[(page - 1) * 4 : page * 4]}

    serve(feed_server, "/rain", answer)
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), {"size": 4}, "rows")})
    report = returns(lambda: run_feed(rt, FEED))
    assert_all_rows_landed(rt, report)
    assert len(feed_server.hits("/rain")) == 4 and report.notes == []


def test_the_request_after_a_short_last_page_may_pass_the_page_cap(tmp_path, make_runtime, feed_server):
    serve(feed_server, "/rain", capped(4))
    pag = {"style": "offset", "size": 4, "max_pages": 3}
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"), pag, "rows")})
    assert_all_rows_landed(rt, returns(lambda: run_feed(rt, FEED)))
    assert [r.query["offset"] for r in feed_server.hits("/rain")] == ["0", "4", "8", "11"]


def test_a_redirect_to_another_host_is_not_followed_with_the_feeds_headers(
    tmp_path, make_runtime, feed_server, make_feed_server
):
    elsewhere = make_feed_server()
    serve(elsewhere, "/moved", lambda q, n: ROWS)

    def redirect(to: str):
        def handler(h) -> None:
            h.send_response(302)
            h.send_header("Location", to)
            h.send_header("Content-Length", "0")
            h.end_headers()

        return handler

    feed_server.handle("/rain", redirect(elsewhere.url("/moved") + "?sig=SECRET-SIG-9"))
    feed = {
        **rain_feed(feed_server.url("/rain"), {}, ""),
        "source": {"type": "http", "url": feed_server.url("/rain"), "headers": {"X-Token": "${RAIN_TOKEN}"}},
    }
    rt = make_runtime(tmp_path, {FEED: feed}, environ={"RAIN_TOKEN": TOKEN})
    report = returns(lambda: run_feed(rt, FEED))
    assert_failed_with_nothing_stored(
        rt, report, "redirects to another host", f"http://127.0.0.1:{elsewhere.port}"
    )
    assert report.error_kind == "terminal" and report.attempts == 1
    assert "SECRET-SIG-9" not in report.error and TOKEN not in report.error
    assert elsewhere.requests == []  # the department's token never left for the other host
    # a redirect within the feed's own host is followed, headers and all
    serve(feed_server, "/here", lambda q, n: ROWS)
    feed_server.handle("/rain", redirect("/here"))
    assert_all_rows_landed(rt, returns(lambda: run_feed(rt, FEED)))
    assert feed_server.hits("/here")[0].headers["x-token"] == TOKEN
