"""What a department's payload can hold that must neither crash a run nor bend a value.

A rain bureau's API on a real loopback server (or its file drop) sends JSON Python cannot hold, NaN and
Infinity constants, timestamps with an hour-only offset mixed with naive ones, 17- to 20-digit numeric
station ids with a null among them, a missing-value marker that looks like a time, readings on a 6-hour
grid of the city's clock and ten-digit times that read both as YYYYMMDDHH and as epoch seconds. Good
rows land; each bad value is quarantined with a coded reason; what cannot be read at all fails the
run as a parse error saying what came.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from cityops.base.domains import RAIN
from ingest.pipeline import run_feed
from ingest.reasons import parse_reasons
from tests.helpers import returns

FEED = "bureau-rain"
FIELDS = {"entity_id": "stcd", "ts": "tm", "rain_mm": "drp"}


def rain_feed(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "department": "市水利局",
        "domain": "rain",
        "cadence": "5m",
        "source": {
            "type": "http",
            "url": url,
            "records": "data.list",
            "envelope": {"preset": "code-msg-data"},
        },
        "fields": dict(FIELDS),
        **extra,
    }


def serve_bytes(feed_server, path: str, body: bytes) -> None:
    feed_server.respond(path, body)


def serve_rows(feed_server, path: str, rows: list[dict[str, Any]]) -> None:
    feed_server.json(path, {"code": 200, "msg": "ok", "data": {"list": rows}})


def reasons_by_row(rt, run_id: str) -> dict[int, list[Any]]:
    q = rt.warehouse.quarantined(run_id=run_id, limit=1000)
    return {int(r.row_number): parse_reasons(r.reason) for r in q.itertuples()}


def codes_by_row(rt, run_id: str) -> dict[int, list[str]]:
    return {row: [r.code for r in reasons] for row, reasons in reasons_by_row(rt, run_id).items()}


def stored(rt) -> pd.DataFrame:
    return rt.warehouse.observations(RAIN).set_index("entity_id")


def row(stcd: Any, tm: Any, drp: Any = 1.0) -> dict[str, Any]:
    return {"stcd": stcd, "tm": tm, "drp": drp}


# -- JSON Python cannot hold -------------------------------------------------------------------------

HUGE = b'{"code":200,"data":{"list":[{"stcd":"G01","tm":"2026-06-15 08:00:00","drp":' + b"9" * 5000 + b"}]}}"
DEEP = b"[" * 200_000


@pytest.mark.parametrize(
    ("body", "why"),
    [(HUGE, "a number with more than 4300 digits"), (DEEP, "nested too deeply")],
    ids=["5000-digit number", "200000 nested arrays"],
)
def test_json_beyond_what_python_holds_is_a_parse_error_saying_what_came(
    tmp_path, make_runtime, feed_server, other_feed, body: bytes, why: str
) -> None:
    serve_bytes(feed_server, "/rain", body)
    rt = make_runtime(
        tmp_path, {FEED: rain_feed(feed_server.url("/rain")), other_feed.name: other_feed.config}
    )
    report = returns(lambda: run_feed(rt, FEED))
    assert (report.status, report.error_kind) == ("failed", "terminal"), report.error
    assert "internal error" not in (report.error or "")
    assert why in (report.error or "")
    assert f"{len(body)} bytes) starting " in (report.error or "")
    assert rt.warehouse.observations(RAIN).empty
    other_feed.check(rt)


@pytest.mark.parametrize(
    ("body", "why"),
    [(HUGE.split(b'"list":')[1][:-2], "a number with more than 4300 digits"), (DEEP, "nested too deeply")],
    ids=["5000-digit number", "200000 nested arrays"],
)
def test_a_dropped_json_file_beyond_what_python_holds_is_a_parse_error(
    tmp_path, make_runtime, body: bytes, why: str
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "rain.json").write_bytes(body)
    feed = {
        "department": "市水利局",
        "domain": "rain",
        "cadence": "5m",
        "source": {"type": "file", "path": str(folder), "settle": "0s"},
        "fields": dict(FIELDS),
    }
    rt = make_runtime(tmp_path, {FEED: feed})
    report = returns(lambda: run_feed(rt, FEED))
    assert (report.status, report.error_kind) == ("failed", "terminal"), report.error
    assert "internal error" not in (report.error or "")
    assert why in (report.error or "") and "starting" in (report.error or "")


def test_nan_and_infinity_constants_are_invalid_values_not_missing_ones(
    tmp_path, make_runtime, feed_server
) -> None:
    body = (
        b'{"code":200,"msg":"ok","data":{"list":['
        b'{"stcd":"G01","tm":"2026-06-15 08:00:00","drp":1.5},'
        b'{"stcd":"G02","tm":"2026-06-15 08:00:00","drp":NaN},'
        b'{"stcd":"G03","tm":"2026-06-15 08:00:00","drp":-Infinity},'
        b'{"stcd":"G04","tm":"2026-06-15 08:00:00","drp":2}]}}'
    )
    serve_bytes(feed_server, "/rain", body)
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"))})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert set(stored(rt).index) == {"G01", "G04"}
    reasons = reasons_by_row(rt, report.run_id)
    assert {r: [x.code for x in v] for r, v in reasons.items()} == {
        2: ["cell_invalid", "no_value"],
        3: ["cell_invalid", "no_value"],
    }
    assert reasons[2][0].params["value"] == "NaN" and reasons[3][0].params["value"] == "-Infinity"


def test_a_page_count_of_infinity_is_a_parse_error(tmp_path, make_runtime, feed_server) -> None:
    body = (
        b'{"code":200,"data":{"list":[{"stcd":"G01","tm":"2026-06-15 08:00:00","drp":1}],"total":Infinity}}'
    )
    serve_bytes(feed_server, "/rain", body)
    pagination = {"page_param": "pageNo", "size_param": "pageSize", "size": 4, "total_path": "data.total"}
    feed = rain_feed(feed_server.url("/rain"))
    feed["source"]["pagination"] = pagination
    rt = make_runtime(tmp_path, {FEED: feed})
    report = returns(lambda: run_feed(rt, FEED))
    assert (report.status, report.error_kind) == ("failed", "terminal"), report.error
    assert "'data.total' is not a whole number" in (report.error or "")


# -- timestamps ---------------------------------------------------------------------------------------


def test_hour_only_offsets_mixed_with_naive_local_times_all_land(tmp_path, make_runtime, feed_server) -> None:
    rows = [
        row("G01", "2026-06-15T08:00:00+08"),
        row("G02", "2026-06-15 08:00:00"),  # naive: the feed's timezone (the city's, Asia/Shanghai)
        row("G03", "2026-06-15T01:00:00+01"),
        row("G04", "2026-06-15 08:00:00+0800"),
        row("G05", "2026-06-15T00:00:00Z"),
        row("G06", "2026-06-15T08:00:00+08:00"),
        row("G07", "2026-06-15T08:00:00+8"),  # not an offset: quarantined, not a crash
    ]
    serve_rows(feed_server, "/rain", rows)
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"))})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    obs = stored(rt)
    assert set(obs.index) == {f"G0{i}" for i in range(1, 7)}
    assert set(obs["ts"]) == {pd.Timestamp("2026-06-15 00:00:00")}
    assert codes_by_row(rt, report.run_id) == {7: ["time_invalid"]}


def test_all_hour_only_offsets_land(tmp_path, make_runtime, feed_server) -> None:
    serve_rows(
        feed_server, "/rain", [row("G01", "2026-06-15T08:00:00+08"), row("G02", "2026-06-15T09:00:00+09")]
    )
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"))})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert list(stored(rt)["ts"]) == [pd.Timestamp("2026-06-15 00:00:00")] * 2


def test_a_marker_that_looks_like_a_time_is_missing_whatever_its_neighbours(
    tmp_path, make_runtime, feed_server
) -> None:
    marker = "1900-01-01 00:00:00"
    conventions = {"extra_missing_markers": [marker]}
    for n, extra in enumerate(([], [row("G03", "-")])):
        rows = [row("G01", "2026-06-15 08:00:00"), row("G02", marker), *extra]
        serve_rows(feed_server, "/rain", rows)
        rt = make_runtime(
            tmp_path / str(n), {FEED: rain_feed(feed_server.url("/rain"), conventions=conventions)}
        )
        report = run_feed(rt, FEED)
        assert report.status == "ok", report.error
        assert list(stored(rt).index) == ["G01"]
        assert codes_by_row(rt, report.run_id) == {r: ["required_missing"] for r in range(2, 3 + len(extra))}


def test_ten_digit_times_follow_the_feed_or_are_quarantined_as_ambiguous(
    tmp_path, make_runtime, feed_server
) -> None:
    serve_rows(
        feed_server,
        "/auto",
        [row("G01", "2026061508"), row("G02", "1781481600"), row("G03", 1781481600), row("G04", 2026061508)],
    )
    rt = make_runtime(tmp_path / "auto", {FEED: rain_feed(feed_server.url("/auto"))})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    obs = stored(rt)
    # Epoch seconds of 2026 do not read as a date (year 1781): they land.
    assert set(obs.index) == {"G02", "G03"}
    assert set(obs["ts"]) == {pd.Timestamp("2026-06-15 00:00:00")}
    reasons = reasons_by_row(rt, report.run_id)
    assert {r: [x.code for x in v] for r, v in reasons.items()} == {
        1: ["time_epoch_ambiguous"],
        4: ["time_epoch_ambiguous"],
    }
    assert reasons[1][0].params == {"column": "ts", "value": "2026061508"}
    assert "YYYYMMDDHH" in reasons[1][0].detail and "epoch" in reasons[1][0].detail

    # A feed that names its format is read by it.
    serve_rows(feed_server, "/hourly", [row("G01", "2026061508"), row("G04", 2026061509)])
    rt = make_runtime(
        tmp_path / "hourly", {FEED: rain_feed(feed_server.url("/hourly"), time_format="%Y%m%d%H")}
    )
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    obs = stored(rt)
    assert obs.loc["G01", "ts"] == pd.Timestamp("2026-06-15 00:00:00")
    assert obs.loc["G04", "ts"] == pd.Timestamp("2026-06-15 01:00:00")
    assert codes_by_row(rt, report.run_id) == {}


def test_a_six_hour_grid_runs_on_the_citys_clock(tmp_path, make_runtime, feed_server) -> None:
    rows = [
        row("G01", "2026-06-15 00:00:00"),
        row("G02", "2026-06-15 06:02:00"),  # within the tolerance: moved onto 06:00
        row("G03", "2026-06-14 18:00:00"),
        row("G04", "2026-06-15 08:00:00"),  # on a UTC 6-hour grid (00:00 UTC), not on the city's
    ]
    serve_rows(feed_server, "/rain", rows)
    rt = make_runtime(
        tmp_path,
        {FEED: rain_feed(feed_server.url("/rain"))},
        ingest={"plausibility": {"time_grid": {"rain": {"step": "6h", "tolerance": "5m"}}}},
    )
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    obs = stored(rt)
    assert set(obs.index) == {"G01", "G02", "G03"}
    assert obs.loc["G01", "ts"] == pd.Timestamp("2026-06-14 16:00:00")
    assert obs.loc["G02", "ts"] == pd.Timestamp("2026-06-14 22:00:00")
    assert obs.loc["G03", "ts"] == pd.Timestamp("2026-06-14 10:00:00")
    assert codes_by_row(rt, report.run_id) == {4: ["off_grid"]}


# -- numeric ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids", [[12345678901234567, 1001, None], [9223372036854775807, None], [2**64, -(2**60), None]]
)
def test_numeric_ids_stay_exact_with_a_null_among_them(
    tmp_path, make_runtime, feed_server, ids: list[int | None]
) -> None:
    serve_rows(feed_server, "/rain", [row(i, "2026-06-15 08:00:00") for i in ids])
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"))})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert set(stored(rt).index) == {str(i) for i in ids if i is not None}
    assert codes_by_row(rt, report.run_id) == {len(ids): ["required_missing"]}


def test_a_float_id_beside_an_integer_one_does_not_crash(tmp_path, make_runtime, feed_server) -> None:
    body = json.dumps(
        {"code": 200, "data": {"list": [row(1e20, "2026-06-15 08:00:00"), row(5, "2026-06-15 08:00")]}}
    )
    serve_bytes(feed_server, "/rain", body.encode())
    rt = make_runtime(tmp_path, {FEED: rain_feed(feed_server.url("/rain"))})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert set(stored(rt).index) == {"1e+20", "5"}
