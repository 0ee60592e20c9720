"""Drop-folder source: CSV, JSON, GeoJSON and Excel files land, move aside, and are never taken twice."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

from cityops.base.domains import WATER
from ingest.pipeline import run_feed

FEED = "river-levels"


def file_feed(folder: Path, **source: Any) -> dict[str, Any]:
    return {
        "department": "水利局",
        "domain": "water",
        "cadence": "5m",
        "source": {"type": "file", "path": str(folder), "settle": "0s", **source},
        "fields": {"entity_id": "station", "ts": "time", "level_m": "level"},
        "units": {"level_m": "cm"},
    }


def write_drop(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_text(
        "station,time,level\nH1,2026-06-15 08:00:00,1234\nH1,2026-06-15 08:05:00,1240\n", "utf-8"
    )
    (folder / "b.json").write_text(
        json.dumps([{"station": "H2", "time": "2026-06-15 08:00:00", "level": 950}]), "utf-8"
    )
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [113.03, 23.69]},
                "properties": {"station": "H3", "time": "2026-06-15 08:00:00", "level": 1500},
            },
        ],
    }
    (folder / "c.geojson").write_text(json.dumps(geo), "utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["station", "time", "level"])
    ws.append(["H4", datetime(2026, 6, 15, 8, 0), 700])
    ws.append(["H4", "2026-06-15 08:05:00", 705.5])
    wb.save(folder / "d.xlsx")


def test_drop_folder_formats_land_and_move_to_processed(tmp_path, make_runtime, other_feed):
    drop = tmp_path / "drop"
    write_drop(drop)
    rt = make_runtime(tmp_path, {FEED: file_feed(drop), other_feed.name: other_feed.config})

    report = run_feed(rt, FEED)

    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted, report.rows_rejected) == (6, 6, 0)
    stored = rt.warehouse.observations(WATER)
    levels = {(r.entity_id, f"{r.ts:%H:%M}"): round(r.level_m, 3) for r in stored.itertuples()}
    assert levels == {
        ("H1", "00:00"): 12.34,
        ("H1", "00:05"): 12.4,
        ("H2", "00:00"): 9.5,
        ("H3", "00:00"): 15.0,
        ("H4", "00:00"): 7.0,
        ("H4", "00:05"): 7.055,
    }
    # The GeoJSON station was placed from its geometry.
    ent = rt.warehouse.entities().set_index("entity_id")
    assert (ent.loc["H3", "lon"], ent.loc["H3", "lat"]) == (113.03, 23.69)
    assert sorted(p.name for p in drop.iterdir() if p.is_file()) == []
    processed = sorted(p.name.split("-", 1)[1] for p in (drop / "processed").iterdir())
    assert processed == ["a.csv", "b.json", "c.geojson", "d.xlsx"]
    assert not (drop / "failed").exists()
    assert len(list(Path(report.raw_path).glob("part-*.zst"))) == 4

    again = run_feed(rt, FEED)
    assert again.status == "ok", again.error
    assert (again.rows_fetched, again.rows_inserted, again.rows_updated) == (0, 0, 0)
    assert len(rt.warehouse.observations(WATER)) == 6
    other_feed.check(rt)


def test_broken_file_goes_to_failed_while_good_files_land(tmp_path, make_runtime, other_feed):
    drop = tmp_path / "drop"
    write_drop(drop)
    (drop / "e.json").write_text('[{"station": "H5", "time": "2026-06-15 08:00:00", "level": 1', "utf-8")
    (drop / "f.csv").write_text("station,time,lvl\nH6,2026-06-15 08:00:00,10\n", "utf-8")  # renamed column
    rt = make_runtime(tmp_path, {FEED: file_feed(drop), other_feed.name: other_feed.config})

    report = run_feed(rt, FEED)

    assert report.status == "partial"
    assert report.rows_inserted == 6
    assert any("e.json" in n and "not valid JSON" in n for n in report.notes)
    assert any("f.csv" in n and "schema drift" in n and "'level' (for level_m)" in n for n in report.notes)
    failed = sorted(p.name for p in (drop / "failed").iterdir())
    assert len(failed) == 4
    errors = {p.name.split("-", 1)[1]: p.read_text("utf-8") for p in (drop / "failed").glob("*.error.txt")}
    assert set(errors) == {"e.json.error.txt", "f.csv.error.txt"}
    assert "not valid JSON" in errors["e.json.error.txt"]
    assert "schema drift" in errors["f.csv.error.txt"]
    assert len(list((drop / "processed").iterdir())) == 4
    assert set(rt.warehouse.observations(WATER)["entity_id"]) == {"H1", "H2", "H3", "H4"}
    assert rt.warehouse.feed_state(FEED)["consecutive_failures"] == 0

    again = run_feed(rt, FEED)
    assert (again.status, again.rows_fetched) == ("ok", 0)
    other_feed.check(rt)


def test_a_run_where_every_file_fails_is_failed(tmp_path, make_runtime, other_feed):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "bad.xlsx").write_bytes(b"this is not a workbook")
    rt = make_runtime(tmp_path, {FEED: file_feed(drop), other_feed.name: other_feed.config})
    report = run_feed(rt, FEED)
    assert report.status == "failed" and report.error_kind == "terminal"
    assert "not a readable Excel workbook" in report.error
    assert (drop / "failed").is_dir() and not list(drop.glob("*.xlsx"))
    other_feed.check(rt)


def test_unsettled_files_wait(tmp_path, make_runtime):
    drop = tmp_path / "drop"
    write_drop(drop)
    rt = make_runtime(tmp_path, {FEED: file_feed(drop, settle="1h")})
    report = run_feed(rt, FEED)
    assert (report.status, report.rows_fetched) == ("ok", 0)
    assert len(list(drop.glob("*.*"))) == 4


def test_missing_drop_folder_is_terminal(tmp_path, make_runtime):
    rt = make_runtime(tmp_path, {FEED: file_feed(tmp_path / "nowhere")})
    report = run_feed(rt, FEED)
    assert report.status == "failed" and report.error_kind == "terminal"
    assert "drop folder" in report.error and "does not exist" in report.error


def test_files_over_the_run_budget_wait_for_the_next_run(tmp_path, make_runtime):
    """Each file fits the payload limit but together they do not: the feed must not get stuck."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(3):
        lines = "".join(f"H{i},2026-06-15 08:{m:02d}:00,{1000 + m}\n" for m in range(30))
        (drop / f"f{i}.csv").write_text("station,time,level\n" + lines, "utf-8")
    size = (drop / "f0.csv").stat().st_size
    assert 600 < size < 1000
    rt = make_runtime(tmp_path, {FEED: file_feed(drop)}, ingest={"max_payload_mb": 0.002})  # 2,000 bytes

    reports = [run_feed(rt, FEED) for _ in range(3)]

    assert [r.status for r in reports] == ["ok", "ok", "ok"], [r.error for r in reports]
    assert [r.rows_inserted for r in reports] == [60, 30, 0]
    assert any("next run" in n for n in reports[0].notes)
    assert len(rt.warehouse.observations(WATER)) == 90
    assert not list(drop.glob("*.csv")) and not (drop / "failed").exists()


def test_a_single_file_over_the_limit_goes_to_failed(tmp_path, make_runtime):
    drop = tmp_path / "drop"
    write_drop(drop)
    (drop / "huge.csv").write_text("station,time,level\n" + "H9,2026-06-15 08:00:00,1\n" * 2000, "utf-8")
    rt = make_runtime(tmp_path, {FEED: file_feed(drop)}, ingest={"max_payload_mb": 0.02})  # 20 kB
    report = run_feed(rt, FEED)
    assert report.status == "partial"
    assert report.rows_inserted == 6
    assert any("huge.csv" in n and "over the payload limit" in n for n in report.notes)
    (error,) = (drop / "failed").glob("*.error.txt")
    assert "over the payload size limit" in error.read_text("utf-8")
