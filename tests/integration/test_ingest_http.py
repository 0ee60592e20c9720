"""HTTP source features against real loopback servers: pagination, secret headers, the since watermark."""

from __future__ import annotations

from typing import Any

from cityops.base.domains import TRAFFIC
from ingest.pipeline import run_feed
from ingest.reasons import parse_reasons

FIELDS = {"entity_id": "id", "ts": "t", "speed_kmh": "v"}


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"R{i}", "t": "2026-06-15 08:00:00", "v": 30 + i} for i in range(start, start + n)]


def feed(url: str, **source: Any) -> dict[str, Any]:
    return {
        "department": "交通运输局",
        "domain": "traffic",
        "cadence": "5m",
        "source": {"type": "http", "url": url, **source},
        "fields": FIELDS,
    }


def test_page_pagination_over_three_pages(tmp_path, make_runtime, httpserver):
    # Page 4 is asked after the short page 3: empty, so page 3 was the last (not a capped page size).
    for page, items in ((1, rows(2, 0)), (2, rows(2, 2)), (3, rows(1, 4)), (4, [])):
        httpserver.expect_ordered_request(
            "/speeds", query_string={"pageNo": str(page), "pageSize": "2", "area": "qc"}
        ).respond_with_json({"code": 0, "data": {"items": items, "total": 5}})
    rt = make_runtime(
        tmp_path,
        {
            "paged": feed(
                httpserver.url_for("/speeds"),
                records="data.items",
                params={"area": "qc"},
                pagination={"style": "page", "page_param": "pageNo", "size_param": "pageSize", "size": 2},
            )
        },
    )
    progress: list[tuple[int, int | None]] = []

    report = run_feed(rt, "paged", on_progress=lambda name, done, total: progress.append((done, total)))

    httpserver.check_assertions()
    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted) == (5, 5)
    assert progress == [(2, None), (4, None), (5, None)]
    assert sorted(rt.warehouse.observations(TRAFFIC)["entity_id"]) == ["R0", "R1", "R2", "R3", "R4"]
    assert len(list((tmp_path / "data" / "raw" / "paged").rglob("part-*.json.zst"))) == 4


def test_total_path_stops_paging(tmp_path, make_runtime, httpserver):
    httpserver.expect_ordered_request("/p", query_string={"page": "1", "size": "2"}).respond_with_json(
        {"items": rows(2), "total": 4}
    )
    httpserver.expect_ordered_request("/p", query_string={"page": "2", "size": "2"}).respond_with_json(
        {"items": rows(2, 2), "total": 4}
    )
    rt = make_runtime(
        tmp_path,
        {
            "paged": feed(
                httpserver.url_for("/p"), records="items", pagination={"size": 2, "total_path": "total"}
            )
        },
    )
    report = run_feed(rt, "paged")
    httpserver.check_assertions()  # no third request although the last page was full
    assert (report.status, report.rows_inserted) == ("ok", 4)


def test_next_url_pagination(tmp_path, make_runtime, httpserver):
    httpserver.expect_ordered_request("/items").respond_with_json(
        {"data": rows(2), "next": httpserver.url_for("/items?cursor=abc")}
    )
    httpserver.expect_ordered_request("/items", query_string="cursor=abc").respond_with_json(
        {"data": rows(2, 2), "next": httpserver.url_for("/items?cursor=def")}
    )
    httpserver.expect_ordered_request("/items", query_string="cursor=def").respond_with_json(
        {"data": rows(1, 4), "next": None}
    )
    rt = make_runtime(
        tmp_path,
        {
            "cursor": feed(
                httpserver.url_for("/items"),
                records="data",
                pagination={"style": "next_url", "next_path": "next", "size": 2},
            )
        },
    )
    report = run_feed(rt, "cursor")
    httpserver.check_assertions()
    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted) == (5, 5)


def test_bearer_token_comes_from_the_environment(tmp_path, make_runtime, feed_server):
    feed_server.json("/secure", rows(2))
    cfg = {
        "secure": feed(
            feed_server.url("/secure"), headers={"Authorization": "Bearer ${TOKEN}", "X-Dept": "jt"}
        )
    }
    rt = make_runtime(tmp_path, cfg, environ={"TOKEN": "s3cr3t-token"})

    report = run_feed(rt, "secure")

    assert report.status == "ok", report.error
    (req,) = feed_server.hits("/secure")
    assert req.headers["authorization"] == "Bearer s3cr3t-token"
    assert req.headers["x-dept"] == "jt"
    # The secret is not written into the run record or the landing metadata.
    run = rt.warehouse.run(report.run_id)
    assert "s3cr3t" not in str(run)
    meta = (tmp_path / "data" / "raw" / "secure").rglob("meta.json")
    assert all("s3cr3t" not in p.read_text("utf-8") for p in meta)


def test_missing_token_variable_is_a_clear_terminal_error(tmp_path, make_runtime, feed_server, other_feed):
    feed_server.json("/secure", rows(2))
    cfg = {
        "secure": feed(feed_server.url("/secure"), headers={"Authorization": "Bearer ${TOKEN}"}),
        other_feed.name: other_feed.config,
    }
    rt = make_runtime(tmp_path, cfg, environ={})

    report = run_feed(rt, "secure")

    assert report.status == "failed" and report.error_kind == "terminal"
    assert report.attempts == 1
    assert "environment variable TOKEN is not set" in report.error
    assert "export TOKEN=" in report.error
    assert feed_server.hits("/secure") == []
    other_feed.check(rt)


def test_since_watermark_is_sent_and_advances(tmp_path, make_runtime, feed_server):
    feed_server.json(
        "/inc",
        [
            {"id": "R1", "t": "2026-06-15 08:00:00", "v": 30},
            {"id": "R1", "t": "2026-06-15 08:05:00", "v": 31},
        ],
    )
    rt = make_runtime(
        tmp_path, {"inc": feed(feed_server.url("/inc"), since={"param": "updatedSince", "overlap": "30m"})}
    )

    first = run_feed(rt, "inc")
    assert first.status == "ok"
    assert feed_server.hits("/inc")[0].query == {
        "updatedSince": "2026-06-14T01:00:00Z"
    }  # now - initial (1 day)
    assert rt.warehouse.feed_state("inc")["watermark"] == "2026-06-15T00:05:00+00:00"

    second = run_feed(rt, "inc")
    # The newest row was 00:05 UTC; asked again from 30 min before it.
    assert feed_server.hits("/inc")[1].query == {"updatedSince": "2026-06-14T23:35:00Z"}
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, 2)


def test_since_watermark_in_local_time_format(tmp_path, make_runtime, feed_server):
    feed_server.json("/inc", [{"id": "R1", "t": "2026-06-15 08:05:00", "v": 31}])
    rt = make_runtime(
        tmp_path,
        {"inc": feed(feed_server.url("/inc"), since={"param": "from", "format": "local", "overlap": "10m"})},
    )
    run_feed(rt, "inc")
    run_feed(rt, "inc")
    assert [r.query["from"] for r in feed_server.hits("/inc")] == [
        "2026-06-14 09:00:00",
        "2026-06-15 07:55:00",
    ]


def test_csv_over_http(tmp_path, make_runtime, feed_server):
    feed_server.respond(
        "/csv", 'id;t;v\nR1;2026-06-15 08:00:00;30\nR2;2026-06-15 08:00:00;"31,5"\n', content_type="text/csv"
    )
    rt = make_runtime(tmp_path, {"csv": feed(feed_server.url("/csv"), format="csv", delimiter=";")})
    report = run_feed(rt, "csv")
    assert report.status == "ok"
    assert (report.rows_inserted, report.rows_rejected) == (1, 1)
    (reason,) = rt.warehouse.quarantined(run_id=report.run_id)["reason"]
    # A decimal comma is not read as a number; the row had no other value, so it is refused.
    first = parse_reasons(reason)[0]
    assert (first.code, first.detail) == ("cell_invalid", "speed_kmh: '31,5' is not a number")
