"""Bad input of every kind, through the whole pipeline against a real loopback HTTP server.

Each case runs a good payload first, then the bad one, and checks: the run's status, error text and
error kind (transient / terminal), the quarantine reasons, that valid rows of the same payload land,
that what the first run accepted is still there, that the raw payload was landed, and that another
feed in the same runtime still runs fine afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cityops.base.domains import AIR, TRAFFIC
from ingest.pipeline import replay_run, run_feed
from ingest.reasons import parse_reasons
from tests.helpers import returns

FEED = "city-traffic"

# Local (Asia/Shanghai) times; the clock says 09:00 local.
GOOD = [
    {"id": "R1", "t": "2026-06-15 08:00:00", "v": 40.0, "lon": 113.05, "lat": 23.68},
    {"id": "R2", "t": "2026-06-15 08:05:00", "v": 35.5, "lon": 113.06, "lat": 23.69},
]
GOOD_KEYS = {("R1", "2026-06-15 00:00:00"), ("R2", "2026-06-15 00:05:00")}
FIELDS = {"entity_id": "id", "ts": "t", "speed_kmh": "v"}  # lon/lat keep their canonical names


def unpack(path: Path) -> bytes:
    """A landed part's bytes (parts are Zstandard-compressed), read without the product's code."""
    with pa.input_stream(str(path), compression="zstd") as fh:
        return fh.read()


def traffic_feed(url: str, **source: Any) -> dict[str, Any]:
    return {
        "department": "交通运输局",
        "domain": "traffic",
        "cadence": "5m",
        "source": {"type": "http", "url": url, "since": {"param": "since"}, **source},
        "fields": dict(FIELDS),
    }


def stored_keys(rt: Any, domain: Any = TRAFFIC) -> set[tuple[str, str]]:
    frame = rt.warehouse.observations(domain)
    return {(r.entity_id, f"{r.ts:%Y-%m-%d %H:%M:%S}") for r in frame.itertuples()}


def first_good_run(rt: Any, feed: str = FEED) -> Any:
    report = run_feed(rt, feed)
    assert report.status == "ok", report.error
    assert report.rows_inserted == 2
    return report


def quarantine_reasons(rt: Any, run_id: str) -> list[str]:
    """The English details of each quarantined row's reasons (codes: :func:`quarantine_codes`)."""
    return [details(r) for r in rt.warehouse.quarantined(run_id=run_id)["reason"]]


def details(reason: str) -> str:
    return "; ".join(r.detail for r in parse_reasons(reason))


def codes(reason: str) -> list[str]:
    return [r.code for r in parse_reasons(reason)]


def landed_parts(report: Any) -> list[Path]:
    directory = Path(report.raw_path)
    assert directory.is_dir(), f"no landing directory for {report.run_id}"
    assert (directory / "meta.json").exists()
    return sorted(directory.glob("part-*.zst"))


def assert_failed_cleanly(rt: Any, report: Any, *, kind: str, watermark_before: str | None) -> None:
    """The run failed with ``kind``; nothing of it landed; the watermark did not move."""
    assert report.status == "failed"
    assert report.error_kind == kind
    assert report.error and "\n" not in report.error
    assert report.rows_inserted == report.rows_updated == 0
    run = rt.warehouse.run(report.run_id)
    assert run["status"] == "failed" and run["error_kind"] == kind and run["error"] == report.error
    assert stored_keys(rt) == GOOD_KEYS, "the first run's rows must still be there, and nothing else"
    state = rt.warehouse.feed_state(FEED)
    assert state["watermark"] == watermark_before
    assert state["consecutive_failures"] == 1
    assert state["last_error"] == report.error


@pytest.fixture
def setup(tmp_path, make_runtime, feed_server, other_feed):
    """Runtime with the traffic feed (under test) and the healthy rain feed; good run done."""

    def make(*, ingest: dict[str, Any] | None = None, good_csv: str | None = None, **source: Any) -> Any:
        if good_csv is None:
            feed_server.json("/traffic", GOOD)
        else:
            feed_server.respond("/traffic", good_csv, content_type="text/csv")
        feeds = {
            FEED: traffic_feed(feed_server.url("/traffic"), **source),
            other_feed.name: other_feed.config,
        }
        rt = make_runtime(tmp_path, feeds, ingest=ingest)
        first_good_run(rt)
        return rt, rt.warehouse.feed_state(FEED)["watermark"]

    return make


# -- transport failures --------------------------------------------------------------------------


def test_http_500_is_transient_and_retried(setup, feed_server, other_feed):
    rt, wm = setup(ingest={"retry_attempts": 3})
    assert wm == "2026-06-15T00:05:00+00:00"
    feed_server.respond("/traffic", b"internal error", status=500, content_type="text/plain")
    before = len(feed_server.hits("/traffic"))

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="transient", watermark_before=wm)
    assert report.attempts == 3
    assert len(feed_server.hits("/traffic")) - before == 3
    assert "HTTP 500" in report.error and FEED in report.error
    assert rt.warehouse.run(report.run_id)["attempts"] == 3
    landed_parts(report)  # the run is on record in the landing area too
    other_feed.check(rt)


def test_http_404_is_terminal_and_not_retried(setup, feed_server, other_feed):
    rt, wm = setup(ingest={"retry_attempts": 3})
    feed_server.respond("/traffic", b"no such endpoint", status=404, content_type="text/plain")
    before = len(feed_server.hits("/traffic"))

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="terminal", watermark_before=wm)
    assert report.attempts == 1
    assert len(feed_server.hits("/traffic")) - before == 1
    assert "HTTP 404" in report.error and "no such endpoint" in report.error
    other_feed.check(rt)


def test_timeout_is_transient_and_retried(setup, feed_server, other_feed):
    rt, wm = setup(ingest={"retry_attempts": 2, "read_timeout": "0.5s"})
    answered: list[bool] = []

    def silent(h):
        feed_server.stop.wait()  # never answers while the test runs
        answered.append(False)

    feed_server.handle("/traffic", silent)
    before = len(feed_server.hits("/traffic"))
    report = returns(lambda: run_feed(rt, FEED))

    # The server never answered, so each attempt ended by giving up itself: a read timeout, retried once.
    assert answered == []
    assert_failed_cleanly(rt, report, kind="transient", watermark_before=wm)
    assert "timed out (ReadTimeout)" in report.error
    assert report.attempts == 2
    assert len(feed_server.hits("/traffic")) - before == 2
    other_feed.check(rt)


def test_connection_refused_is_transient(tmp_path, make_runtime, make_feed_server, other_feed):
    server = make_feed_server()
    server.json("/traffic", GOOD)
    rt = make_runtime(
        tmp_path,
        {FEED: traffic_feed(server.url("/traffic")), other_feed.name: other_feed.config},
        ingest={"retry_attempts": 3},
    )
    first_good_run(rt)
    wm = rt.warehouse.feed_state(FEED)["watermark"]
    server.close()  # the department's server goes away: its port now refuses connections

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="transient", watermark_before=wm)
    assert report.attempts == 3
    assert "ConnectError" in report.error
    other_feed.check(rt)


def test_server_hanging_mid_body_is_bounded_by_read_timeout(setup, feed_server, other_feed):
    rt, wm = setup(ingest={"retry_attempts": 2, "read_timeout": "0.5s", "run_timeout": "10s"})
    head = b'[{"id": "R3", "t": "2026-06-15 08:10:00", "v": 12.0}, '

    def hang(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(head)
        h.wfile.flush()
        feed_server.stop.wait()  # never sends the rest while the test runs

    feed_server.handle("/traffic", hang)
    before = len(feed_server.hits("/traffic"))
    report = returns(lambda: run_feed(rt, FEED))

    # Each attempt stalled mid-body and gave up on the read timeout (not the 10 s run limit).
    assert_failed_cleanly(rt, report, kind="transient", watermark_before=wm)
    assert report.attempts == 2
    assert len(feed_server.hits("/traffic")) - before == 2
    assert "timed out (ReadTimeout)" in report.error and "time limit" not in report.error
    # What did arrive is kept in the landing area.
    parts = landed_parts(report)
    assert parts and unpack(parts[0]) == head
    other_feed.check(rt)


def test_server_trickling_forever_is_bounded_by_run_timeout(setup, feed_server, other_feed):
    """A byte every 0.1 s never trips read_timeout; run_timeout must still end the fetch."""
    rt, wm = setup(ingest={"retry_attempts": 2, "read_timeout": "1s", "run_timeout": "1.5s"})

    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        h.wfile.write(b"[")
        while not feed_server.stop.wait(0.1):
            h.wfile.write(b" ")
            h.wfile.flush()

    feed_server.handle("/traffic", trickle)
    before = len(feed_server.hits("/traffic"))
    report = returns(lambda: run_feed(rt, FEED))  # the server trickles until the test ends

    assert_failed_cleanly(rt, report, kind="transient", watermark_before=wm)
    assert "time limit" in report.error
    # The first attempt was cut off mid-body by the run's time limit; no retry starts after the limit,
    # and the recorded error is that first cause (the server still sending), not a retry's consequence.
    assert report.attempts == 1
    assert len(feed_server.hits("/traffic")) - before == 1
    assert "was still sending when the fetch time limit ran out" in report.error
    assert "before requesting" not in report.error
    other_feed.check(rt)


# -- payloads that cannot be read -------------------------------------------------------------------


def test_malformed_json_is_terminal_and_kept_for_replay(setup, feed_server, other_feed):
    rt, wm = setup()
    body = b'[{"id": "R3", "t": "2026-06-15 08:10:00", "v": 12.0}, {"id": "R4", "t": "2026-06-'
    feed_server.respond("/traffic", body)

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="terminal", watermark_before=wm)
    assert report.attempts == 1
    assert "not valid JSON" in report.error and FEED in report.error
    parts = landed_parts(report)
    assert len(parts) == 1 and unpack(parts[0]) == body
    again = replay_run(rt, report.run_id)
    assert again.status == "failed" and again.error_kind == "terminal" and "not valid JSON" in again.error
    assert stored_keys(rt) == GOOD_KEYS
    other_feed.check(rt)


def test_empty_body_is_a_clear_terminal_error(setup, feed_server, other_feed):
    rt, wm = setup()
    feed_server.respond("/traffic", b"")

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="terminal", watermark_before=wm)
    assert "is empty (0 bytes)" in report.error
    parts = landed_parts(report)
    assert len(parts) == 1 and unpack(parts[0]) == b""
    other_feed.check(rt)


def test_empty_list_is_ok_with_zero_rows(setup, feed_server, other_feed):
    rt, wm = setup()
    feed_server.respond("/traffic", b"[]")

    report = run_feed(rt, FEED)

    assert report.status == "ok", report.error
    assert report.error is None and report.error_kind is None
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected) == (0, 0, 0)
    assert stored_keys(rt) == GOOD_KEYS
    assert rt.warehouse.feed_state(FEED)["watermark"] == wm  # no data: the watermark stays
    other_feed.check(rt)


def test_renamed_field_is_schema_drift(setup, feed_server, other_feed):
    rt, wm = setup()
    drifted = [{"id": "R3", "t": "2026-06-15 08:10:00", "speed": 12.0, "lon": 113.0, "lat": 23.7}]
    feed_server.json("/traffic", drifted)

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="terminal", watermark_before=wm)
    assert report.attempts == 1
    assert "schema drift" in report.error
    assert "'v' (for speed_kmh)" in report.error
    assert "the payload has: id, lat, lon, speed, t" in report.error
    assert len(landed_parts(report)) == 1
    other_feed.check(rt)


def test_truncated_csv_lands_complete_rows_and_quarantines_the_cut_line(setup, feed_server, other_feed):
    good_csv = "id,t,v\nR1,2026-06-15 08:00:00,40\nR2,2026-06-15 08:05:00,35.5\n"
    rt, _wm = setup(format="csv", good_csv=good_csv)
    cut = "id,t,v\nR3,2026-06-15 08:10:00,30\nR4,2026-06-15 08:10:00,31\nR5,2026-06-15 08:1"
    feed_server.respond("/traffic", cut, content_type="text/csv")

    report = run_feed(rt, FEED)

    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected) == (3, 2, 1)
    q = rt.warehouse.quarantined(run_id=report.run_id)
    assert list(q["row_number"]) == [4]
    assert "line 4" in q["reason"][0] and "truncated" in q["reason"][0]
    assert stored_keys(rt) == GOOD_KEYS | {("R3", "2026-06-15 00:10:00"), ("R4", "2026-06-15 00:10:00")}
    other_feed.check(rt)


def test_truncated_csv_line_keeps_its_raw_text_in_quarantine(setup, feed_server):
    rt, _ = setup(format="csv", good_csv="id,t,v\nR1,2026-06-15 08:00:00,40\nR2,2026-06-15 08:05:00,35.5\n")
    feed_server.respond("/traffic", "id,t,v\nR3,2026-06-15 08:10:00,30\nR5,2026-06-15 08:1")
    report = run_feed(rt, FEED)
    q = rt.warehouse.quarantined(run_id=report.run_id)
    assert q["raw_row"][0] is not None and "R5" in q["raw_row"][0]


# -- row-level problems: quarantined, the rest lands ------------------------------------------------


def run_rows(rt: Any, server: Any, rows: list[dict[str, Any]]) -> Any:
    server.json("/traffic", rows)
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert report.error is None and report.error_kind is None
    return report


def test_wrong_types_are_quarantined(setup, feed_server, other_feed):
    rt, _ = setup()
    report = run_rows(
        rt,
        feed_server,
        [
            {"id": "R3", "t": "2026-06-15 08:10:00", "v": "abc"},
            {"id": "R4", "t": "2026-06-15 08:10:00", "v": "41.5"},  # a number sent as text is fine
            {"id": "R5", "t": "yesterday", "v": 20},
            {"id": "R6", "t": "2026-06-15 08:10:00", "v": True},
        ],
    )
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected) == (4, 1, 3)
    q = rt.warehouse.quarantined(run_id=report.run_id)
    reasons = dict(zip(q["row_number"], q["reason"], strict=True))
    # The bad value became null; with no value left the row is refused, for both reasons.
    assert codes(reasons[1]) == ["cell_invalid", "no_value"]
    assert details(reasons[1]).startswith("speed_kmh: 'abc' is not a number; no value")
    assert codes(reasons[3]) == ["time_invalid"]
    assert details(reasons[3]) == "ts: 'yesterday' is not a timestamp in a known shape"
    assert "speed_kmh" in reasons[4] and "not a number" in reasons[4]
    assert json.loads(q["raw_row"][0]) == {"id": "R3", "t": "2026-06-15 08:10:00", "v": "abc"}
    stored = rt.warehouse.observations(TRAFFIC, entity_id="R4")
    assert list(stored["speed_kmh"]) == [41.5]
    assert stored_keys(rt) >= GOOD_KEYS
    other_feed.check(rt)


def test_nan_values_are_quarantined_or_left_missing(setup, feed_server, other_feed):
    rt, _ = setup()
    # Python's json accepts NaN/Infinity literals, and departments do send them.
    body = (
        b'[{"id": "R3", "t": "2026-06-15 08:10:00", "v": NaN},'
        b' {"id": "R4", "t": "2026-06-15 08:10:00", "v": "NaN"},'
        b' {"id": "R5", "t": "2026-06-15 08:10:00", "v": Infinity},'
        b' {"id": "R6", "t": "2026-06-15 08:10:00", "v": 22.0}]'
    )
    feed_server.respond("/traffic", body)
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected) == (4, 1, 3)
    reasons = dict(
        zip(
            *[rt.warehouse.quarantined(run_id=report.run_id)[c] for c in ("row_number", "reason")],
            strict=True,
        )
    )
    # NaN and Infinity, as literals or as text, are invalid values (not missing ones).
    assert codes(reasons[1]) == ["cell_invalid", "no_value"]
    assert codes(reasons[2]) == ["cell_invalid", "no_value"]
    assert codes(reasons[3]) == ["cell_invalid", "no_value"]
    assert "speed_kmh: infinite value" in details(reasons[3])
    assert stored_keys(rt) == GOOD_KEYS | {("R6", "2026-06-15 00:10:00")}
    other_feed.check(rt)


def test_negative_and_absurd_values_are_quarantined(tmp_path, make_runtime, feed_server, other_feed):
    feed_server.json("/traffic", GOOD)
    air_good = [{"station": "A1", "time": "2026-06-15 08:00:00", "pm25": 35, "co": 0.8}]
    feed_server.json("/air", air_good)
    feeds = {
        FEED: traffic_feed(feed_server.url("/traffic")),
        "city-air": {
            "department": "生态环境局",
            "domain": "air",
            "cadence": "1h",
            "source": {"type": "http", "url": feed_server.url("/air")},
            "fields": {"entity_id": "station", "ts": "time"},
        },
        other_feed.name: other_feed.config,
    }
    rt = make_runtime(tmp_path, feeds)
    first_good_run(rt)
    assert run_feed(rt, "city-air").rows_inserted == 1

    feed_server.json(
        "/air",
        [
            {"station": "A1", "time": "2026-06-15 09:00:00", "pm25": 99999, "co": 0.9},
            {"station": "A2", "time": "2026-06-15 09:00:00", "pm25": 40, "co": 1.1},
        ],
    )
    air = run_feed(rt, "city-air")
    # The absurd PM2.5 becomes null; the row's CO still lands.
    assert air.status == "ok" and (air.rows_inserted, air.rows_rejected) == (2, 0)
    (reason,) = rt.warehouse.quarantined(run_id=air.run_id)["reason"]
    assert codes(reason) == ["cell_out_of_range"]
    assert details(reason) == "pm25: 99999 ug/m3 is outside the plausible range [0, 3000] ug/m3"

    report = run_rows(
        rt,
        feed_server,
        [
            {"id": "R3", "t": "2026-06-15 08:10:00", "v": -5},
            {"id": "R4", "t": "2026-06-15 08:10:00", "v": 250},
            {"id": "R5", "t": "2026-06-15 08:10:00", "v": 0},
        ],
    )
    assert (report.rows_inserted, report.rows_rejected) == (1, 2)
    assert [r.split("; ")[0] for r in quarantine_reasons(rt, report.run_id)] == [
        "speed_kmh: -5 km/h is outside the plausible range [0, 200] km/h",
        "speed_kmh: 250 km/h is outside the plausible range [0, 200] km/h",
    ]
    assert stored_keys(rt) == GOOD_KEYS | {("R5", "2026-06-15 00:10:00")}
    assert set(rt.warehouse.observations(AIR)["entity_id"]) == {"A1", "A2"}
    a1 = rt.warehouse.observations(AIR, entity_id="A1").sort_values("ts")
    assert list(a1["pm25"].isna()) == [False, True] and a1["pm25"].iloc[0] == 35
    assert list(a1["co"]) == [0.8, 0.9]
    other_feed.check(rt)


def test_duplicate_rows_collapse_or_keep_the_last(setup, feed_server, other_feed):
    rt, _ = setup()
    report = run_rows(
        rt,
        feed_server,
        [
            {"id": "R3", "t": "2026-06-15 08:10:00", "v": 30.0},
            {"id": "R3", "t": "2026-06-15 08:10:00", "v": 30.0},  # exact copy: collapses
            {"id": "R4", "t": "2026-06-15 08:10:00", "v": 10.0},  # conflicting: superseded by row 5
            {"id": "R4", "t": "2026-06-15 08:10:00", "v": 12.0},
        ],
    )
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected, report.rows_duplicate) == (
        4,
        2,
        1,
        1,
    )
    q = rt.warehouse.quarantined(run_id=report.run_id)
    assert list(q["row_number"]) == [3]
    assert (
        details(q["reason"][0])
        == "duplicate key (entity_id=R4, ts=2026-06-15 00:10:00) with other values; superseded by row 4"
    )
    assert list(rt.warehouse.observations(TRAFFIC, entity_id="R3")["speed_kmh"]) == [30.0]
    assert list(rt.warehouse.observations(TRAFFIC, entity_id="R4")["speed_kmh"]) == [12.0]
    assert rt.warehouse.duplicate_keys(TRAFFIC) == 0
    assert stored_keys(rt) >= GOOD_KEYS
    other_feed.check(rt)


def test_future_timestamps_are_quarantined(setup, feed_server, other_feed):
    rt, _ = setup()
    report = run_rows(
        rt,
        feed_server,
        [
            {"id": "R3", "t": "2030-06-15 08:10:00", "v": 30.0},
            {"id": "R4", "t": "2026-06-15 09:30:00", "v": 30.0},  # 30 min ahead: beyond the 10 min tolerance
            {"id": "R5", "t": "2026-06-15 09:05:00", "v": 30.0},  # 5 min ahead: a clock skew, accepted
        ],
    )
    assert (report.rows_inserted, report.rows_rejected) == (1, 2)
    assert quarantine_reasons(rt, report.run_id) == [
        "ts: 2030-06-15 00:10 UTC is in the future",
        "ts: 2026-06-15 01:30 UTC is in the future",
    ]
    assert stored_keys(rt) == GOOD_KEYS | {("R5", "2026-06-15 01:05:00")}
    other_feed.check(rt)


# -- encodings ----------------------------------------------------------------------------------


GBK_FIELDS = {"entity_id": "路段编号", "ts": "时间", "speed_kmh": "平均车速"}


def test_gbk_csv_lands_with_auto_and_fails_clearly_with_utf8(tmp_path, make_runtime, feed_server, other_feed):
    text = (
        "路段编号,时间,平均车速,路段名称\n"
        "R1,2026-06-15 08:00:00,40,清城大道\n"
        "R2,2026-06-15 08:05:00,35.5,北江路\n"
    )
    feed_server.respond("/gbk", text.encode("gbk"), content_type="text/csv")
    feed_server.respond("/utf8", text.encode("utf-8"), content_type="text/csv")
    feeds = {
        "auto-feed": {**traffic_feed(feed_server.url("/gbk"), format="csv"), "fields": GBK_FIELDS},
        FEED: {
            **traffic_feed(feed_server.url("/utf8"), format="csv", encoding="utf-8"),
            "fields": GBK_FIELDS,
        },
        other_feed.name: other_feed.config,
    }
    rt = make_runtime(tmp_path, feeds)

    auto = run_feed(rt, "auto-feed")
    assert auto.status == "ok", auto.error
    assert auto.rows_inserted == 2
    assert any("gb18030" in n for n in auto.notes)
    assert any("路段名称" in n for n in auto.notes), "the unmapped Chinese column is named in the notes"

    first = run_feed(rt, FEED)  # the department first sends UTF-8 ...
    assert first.status == "ok" and first.rows_unchanged == 2
    wm = rt.warehouse.feed_state(FEED)["watermark"]
    feed_server.respond(
        "/utf8", text.replace("R1", "R3").encode("gbk"), content_type="text/csv"
    )  # ... then GBK
    report = run_feed(rt, FEED)

    assert report.status == "failed" and report.error_kind == "terminal"
    assert "is not valid utf-8 text" in report.error and "gbk" in report.error
    assert rt.warehouse.feed_state(FEED)["watermark"] == wm
    assert stored_keys(rt) == GOOD_KEYS
    assert len(landed_parts(report)) == 1
    other_feed.check(rt)


# -- size limits --------------------------------------------------------------------------------


def big_payload(megabytes: int) -> bytes:
    """A JSON list of ``megabytes`` MB: 5,000 rows per 50 MB, each with a long unmapped text field."""
    rows = megabytes * 100
    pad = "x" * 10_000
    records = [
        {
            "id": f"R{i % 50:02d}",
            "t": f"2026-06-15 {7 + i // 3000:02d}:{(i // 50) % 60:02d}:00",
            "v": i % 100,
            "note": pad,
        }
        for i in range(rows)
    ]
    return json.dumps(records).encode()


def test_50_mb_payload_lands(setup, feed_server, other_feed):
    rt, _ = setup()
    body = big_payload(50)
    assert len(body) > 50_000_000
    feed_server.respond("/traffic", body)

    report = run_feed(rt, FEED)

    assert report.status == "ok", report.error
    assert report.rows_fetched == 5000 and report.rows_rejected == 0
    assert report.rows_inserted == 5000
    assert any("note" in n for n in report.notes)
    (part,) = landed_parts(report)
    assert len(unpack(part)) == len(body)
    other_feed.check(rt)


def test_payload_over_the_limit_fails_and_keeps_the_raw_part(setup, feed_server, other_feed):
    rt, wm = setup(ingest={"max_payload_mb": 10})
    feed_server.respond("/traffic", big_payload(50))

    report = run_feed(rt, FEED)

    assert_failed_cleanly(rt, report, kind="terminal", watermark_before=wm)
    assert "exceeds the limit of 10 MB" in report.error
    assert report.attempts == 1
    (part,) = landed_parts(report)
    kept = unpack(part)
    assert 9_000_000 < len(kept) <= 10_000_000, "what arrived up to the limit is kept"
    meta = json.loads((Path(report.raw_path) / "meta.json").read_text("utf-8"))
    assert "exceeds the limit" in meta["error"]
    other_feed.check(rt)
