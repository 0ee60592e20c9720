"""Exchange-database sources (前置库) against the real local PostgreSQL and MariaDB.

Each test creates its own uniquely named table and drops it at teardown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from cityops.base.domains import WATER
from ingest.pipeline import run_feed
from ingest.reasons import parse_reasons

pytestmark = pytest.mark.services

FEED = "hydro-exchange"


@dataclass
class ExchangeTable:
    dialect: str
    dsn: str
    name: str
    execute: Callable[..., None]  # runs one statement on a separate connection (autocommit)

    def insert(self, rows: list[tuple[str, str, float, str]]) -> None:
        for row in rows:
            self.execute(
                f"INSERT INTO {self.name} (station_id, obs_time, level_cm, updated_at) "
                "VALUES (%s, %s, %s, %s)",
                row,
            )


def _pg_executor(dsn: str) -> tuple[Callable[..., None], Callable[[], None]]:
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)

    def execute(sql: str, params: Any = None) -> None:
        conn.execute(sql, params)

    return execute, conn.close


def _mysql_executor() -> tuple[Callable[..., None], Callable[[], None]]:
    import pymysql

    conn = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", database="test", autocommit=True
    )

    def execute(sql: str, params: Any = None) -> None:
        with conn.cursor() as cur:
            cur.execute(sql, params)

    return execute, conn.close


@pytest.fixture(params=["postgresql", "mariadb"])
def exchange(request: pytest.FixtureRequest) -> Iterator[ExchangeTable]:
    name = f"cityops_t_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        execute, close = _pg_executor(dsn)
        ts = "TIMESTAMP"
    else:
        dsn = request.getfixturevalue("mysql_dsn")
        execute, close = _mysql_executor()
        ts = "DATETIME"
    execute(
        f"CREATE TABLE {name} (station_id VARCHAR(20) NOT NULL, obs_time {ts} NOT NULL, "
        f"level_cm DOUBLE PRECISION, updated_at {ts} NOT NULL)"
    )
    try:
        yield ExchangeTable(request.param, dsn, name, execute)
    finally:
        execute(f"DROP TABLE IF EXISTS {name}")
        close()


def water_feed(dsn: str, query: str, **source: Any) -> dict[str, Any]:
    """The water bureau's feed from an exchange database, read onwards from its ``updated_at``."""
    return {
        "department": "水利局",
        "domain": "water",
        "cadence": "5m",
        "source": {
            "type": "database",
            "dsn": dsn,
            "query": query,
            "watermark_column": "updated_at",
            **source,
        },
    }


def db_feed(table: ExchangeTable, **source: Any) -> dict[str, Any]:
    query = f"SELECT station_id, obs_time, level_cm, updated_at FROM {table.name} WHERE updated_at > :since"
    return {
        **water_feed(table.dsn, query, **source),
        "fields": {"entity_id": "station_id", "ts": "obs_time", "level_m": "level_cm"},
        "units": {"level_m": "cm"},
    }


FIRST = [
    ("H1", "2026-06-15 07:00:00", 1200.0, "2026-06-15 07:01:00"),
    ("H1", "2026-06-15 07:05:00", 1210.0, "2026-06-15 07:06:00"),
    ("H2", "2026-06-15 07:00:00", 830.0, "2026-06-15 07:02:00"),
]
NEWER = [
    ("H1", "2026-06-15 08:00:00", 1250.0, "2026-06-15 08:01:00"),
    ("H2", "2026-06-15 08:00:00", 845.0, "2026-06-15 08:02:00"),
]
OLD = [("H9", "2026-06-13 07:00:00", 500.0, "2026-06-13 07:00:00")]  # before the first run's window


def test_incremental_watermark(exchange, tmp_path, make_runtime):
    exchange.insert(OLD + FIRST)
    rt = make_runtime(tmp_path, {FEED: db_feed(exchange, page_size=2)})

    first = run_feed(rt, FEED)
    assert first.status == "ok", first.error
    assert (first.rows_fetched, first.rows_inserted) == (3, 3)
    assert rt.warehouse.feed_state(FEED)["watermark"] == "2026-06-15 07:06:00"
    stored = rt.warehouse.observations(WATER, entity_id="H1")
    assert sorted(round(v, 2) for v in stored["level_m"]) == [12.0, 12.1]
    assert sorted(f"{t:%Y-%m-%d %H:%M}" for t in stored["ts"]) == ["2026-06-14 23:00", "2026-06-14 23:05"]

    exchange.insert(NEWER)
    second = run_feed(rt, FEED)
    assert second.status == "ok", second.error
    assert (second.rows_fetched, second.rows_inserted, second.rows_updated) == (2, 2, 0)
    assert rt.warehouse.feed_state(FEED)["watermark"] == "2026-06-15 08:02:00"
    assert rt.warehouse.run(second.run_id)["watermark_before"] == "2026-06-15 07:06:00"

    third = run_feed(rt, FEED)
    assert (third.status, third.rows_fetched) == ("ok", 0)
    assert rt.warehouse.feed_state(FEED)["watermark"] == "2026-06-15 08:02:00"
    assert len(rt.warehouse.observations(WATER)) == 5


def test_table_dropped_mid_run_fails_terminally_and_lands_nothing(
    exchange, tmp_path, make_runtime, other_feed
):
    exchange.insert(FIRST)
    rt = make_runtime(tmp_path, {FEED: db_feed(exchange, page_size=2), other_feed.name: other_feed.config})
    good = run_feed(rt, FEED)
    assert good.status == "ok" and good.rows_inserted == 3
    watermark = rt.warehouse.feed_state(FEED)["watermark"]
    exchange.insert([*NEWER, ("H3", "2026-06-15 08:00:00", 400.0, "2026-06-15 08:03:00")])
    pages: list[int] = []

    def drop_after_first_page(feed: str, done: int, total: int | None) -> None:
        pages.append(done)
        if len(pages) == 1:
            exchange.execute(f"DROP TABLE {exchange.name}")

    report = run_feed(rt, FEED, on_progress=drop_after_first_page)

    assert pages == [2]
    assert report.status == "failed"
    assert report.error_kind == "terminal"
    assert report.attempts == 1
    assert exchange.name in report.error
    assert "exchange database rejected the query" in report.error
    assert "dropped a table" in report.error  # the hint says what probably happened
    assert report.rows_inserted == 0
    assert len(rt.warehouse.observations(WATER)) == 3, "nothing from the failed run lands"
    state = rt.warehouse.feed_state(FEED)
    assert state["watermark"] == watermark
    assert state["consecutive_failures"] == 1
    assert rt.warehouse.run(report.run_id)["watermark_after"] is None
    other_feed.check(rt)


def test_unreachable_database_is_transient(tmp_path, make_runtime, closed_port, other_feed):
    cfg = water_feed(
        f"postgresql://postgres@127.0.0.1:{closed_port}/test", "SELECT * FROM t WHERE updated_at > :since"
    )
    rt = make_runtime(tmp_path, {FEED: cfg, other_feed.name: other_feed.config}, ingest={"retry_attempts": 2})
    report = run_feed(rt, FEED)
    assert report.status == "failed" and report.error_kind == "transient"
    assert report.attempts == 2
    assert "cannot connect to PostgreSQL" in report.error
    other_feed.check(rt)


def test_dsn_password_from_the_environment(tmp_path, make_runtime, pg_dsn):
    import psycopg

    name = f"cityops_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {name} AS SELECT 'H1'::text AS station_id, "
            "TIMESTAMP '2026-06-15 08:00:00' AS obs_time, 12.5::float8 AS level_m, "
            "TIMESTAMP '2026-06-15 08:00:00' AS updated_at"
        )
    try:
        cfg = {
            **water_feed(
                "postgresql://${PGUSER_X}@127.0.0.1:5432/test",
                f"SELECT * FROM {name} WHERE updated_at > :since",
            ),
            "fields": {"entity_id": "station_id", "ts": "obs_time"},
        }
        rt = make_runtime(tmp_path, {FEED: cfg}, environ={"PGUSER_X": "postgres"})
        report = run_feed(rt, FEED)
        assert report.status == "ok", report.error
        assert report.rows_inserted == 1
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {name}")


def test_rows_sharing_a_watermark_value_are_paged_exactly_once(exchange, tmp_path, make_runtime):
    # A department that stamps a whole batch with one updated_at: 25 rows, pages of 4.
    batch = [(f"H{i:02d}", "2026-06-15 07:00:00", 1000.0 + i, "2026-06-15 07:30:00") for i in range(25)]
    exchange.insert(batch)
    rt = make_runtime(
        tmp_path, {FEED: db_feed(exchange, page_size=4, key_columns=["station_id", "obs_time"])}
    )
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted, report.rows_duplicate) == (25, 25, 0)
    assert sorted(rt.warehouse.observations(WATER)["entity_id"]) == [f"H{i:02d}" for i in range(25)]


def test_a_locked_table_times_out_instead_of_hanging(tmp_path, make_runtime, pg_dsn):
    """Another session holds a lock on the department's table: the run fails within its time limit."""
    import time as _time

    import psycopg

    name = f"cityops_lock_{uuid.uuid4().hex[:8]}"
    holder = psycopg.connect(pg_dsn)
    holder.execute(
        f"CREATE TABLE {name} "
        "(station_id text, obs_time timestamp, level_cm double precision, updated_at timestamp)"
    )
    holder.commit()
    holder.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")  # held until rollback
    try:
        table = ExchangeTable("postgresql", pg_dsn, name, lambda *a: None)
        rt = make_runtime(
            tmp_path,
            {FEED: db_feed(table)},
            ingest={"read_timeout": "1s", "run_timeout": "10s", "retry_attempts": 1},
        )
        t0 = _time.monotonic()
        report = run_feed(rt, FEED)
        assert _time.monotonic() - t0 < 15
        assert report.status == "failed" and "statement timeout" in report.error
    finally:
        holder.rollback()
        holder.execute(f"DROP TABLE IF EXISTS {name}")
        holder.commit()
        holder.close()


@pytest.mark.parametrize("key_columns", [["station_id", "obs_time"], []], ids=["keys", "watermark-only"])
def test_a_row_updated_while_paging_is_never_skipped(exchange, tmp_path, make_runtime, key_columns):
    # Ten stations, one reading each, updated a minute apart; pages of 3.
    rows = [(f"H{i}", "2026-06-15 07:00:00", 1000.0 + i, f"2026-06-15 07:{10 + i:02d}:00") for i in range(10)]
    exchange.insert(rows)
    rt = make_runtime(tmp_path, {FEED: db_feed(exchange, page_size=3, key_columns=key_columns)})
    pages: list[int] = []

    def correct_a_read_row(feed: str, done: int, total: int | None) -> None:
        pages.append(done)
        if len(pages) == 1:  # the department corrects H0 (already read) while the run pages on
            exchange.execute(
                f"UPDATE {exchange.name} SET level_cm = 1500, updated_at = '2026-06-15 08:00:00' "
                "WHERE station_id = 'H0'"
            )

    report = run_feed(rt, FEED, on_progress=correct_a_read_row)
    assert report.status == "ok", report.error
    stored = rt.warehouse.observations(WATER)
    # With offset paging the rows behind H0 would shift up by one and H3 would never be read.
    assert sorted(stored["entity_id"]) == [f"H{i}" for i in range(10)]
    assert report.rows_fetched == 11  # H0 twice: before and after the correction
    h0 = stored[stored["entity_id"] == "H0"]["level_m"]
    assert list(h0.round(2)) == [15.0]  # the correction, read last, is what is stored
    assert rt.warehouse.feed_state(FEED)["watermark"] == "2026-06-15 08:00:00"


def test_rows_sharing_a_watermark_without_key_columns_are_all_read(exchange, tmp_path, make_runtime):
    batch = [(f"H{i:02d}", "2026-06-15 07:00:00", 1000.0 + i, "2026-06-15 07:30:00") for i in range(7)]
    exchange.insert([("G1", "2026-06-15 07:00:00", 900.0, "2026-06-15 07:20:00"), *batch])
    exchange.insert([("G2", "2026-06-15 07:00:00", 950.0, "2026-06-15 07:40:00")])
    rt = make_runtime(tmp_path, {FEED: db_feed(exchange, page_size=3)})
    report = run_feed(rt, FEED)
    assert report.status == "ok", report.error
    assert (report.rows_fetched, report.rows_inserted) == (9, 9)
    assert sorted(rt.warehouse.observations(WATER)["entity_id"]) == sorted(
        ["G1", "G2", *(f"H{i:02d}" for i in range(7))]
    )


def test_an_exchange_table_of_text_values_follows_the_departments_conventions(
    exchange, tmp_path, make_runtime
):
    """Many exchange databases hold readings as text: markers, full-width digits and separators are
    read as they are from an HTTP API; an invalid value is quarantined and the rest of the row lands."""
    name = f"{exchange.name}_txt"
    ts = "TIMESTAMP" if exchange.dialect == "postgresql" else "DATETIME"
    exchange.execute(
        f"CREATE TABLE {name} (station_id VARCHAR(20) NOT NULL, obs_time {ts} NOT NULL, "
        f"level_txt VARCHAR(40), flow_txt VARCHAR(40), updated_at {ts} NOT NULL)"
    )
    try:
        rows = [
            ("H1", "2026-06-15 07:00:00", "１２３０", "—", "2026-06-15 07:01:00"),
            ("H1", "2026-06-15 07:05:00", "1,230.5", "35.5", "2026-06-15 07:06:00"),
            ("H2", "2026-06-15 07:00:00", "-", "12.0", "2026-06-15 07:02:00"),
            ("H2", "2026-06-15 07:05:00", "NaN", "13.0", "2026-06-15 07:07:00"),
        ]
        for row in rows:
            exchange.execute(
                f"INSERT INTO {name} (station_id, obs_time, level_txt, flow_txt, updated_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                row,
            )
        query = (
            f"SELECT station_id, obs_time, level_txt, flow_txt, updated_at FROM {name} "
            "WHERE updated_at > :since"
        )
        feed = {
            **water_feed(exchange.dsn, query),
            "fields": {
                "entity_id": "station_id",
                "ts": "obs_time",
                "level_m": "level_txt",
                "discharge_m3s": "flow_txt",
            },
            "units": {"level_m": "cm"},
        }
        rt = make_runtime(tmp_path, {FEED: feed}, ingest={"plausibility": {"extent_margin_km": None}})
        report = run_feed(rt, FEED)
        assert report.status == "ok", report.error
        stored = rt.warehouse.observations(WATER).sort_values(["entity_id", "ts"])
        got = [
            (
                r.entity_id,
                None if pd.isna(r.level_m) else round(r.level_m, 3),
                None if pd.isna(r.discharge_m3s) else r.discharge_m3s,
            )
            for r in stored.itertuples()
        ]
        assert got == [
            ("H1", 12.3, None),
            ("H1", 12.305, 35.5),
            ("H2", None, 12.0),
            ("H2", None, 13.0),  # the invalid level is quarantined; the discharge landed
        ]
        quarantined = rt.warehouse.quarantined(run_id=report.run_id, limit=10)
        reasons = [parse_reasons(r) for r in quarantined["reason"]]
        assert [[p.code for p in rs] for rs in reasons] == [["cell_invalid"]], quarantined
        assert "NaN" in quarantined["raw_row"].iloc[0] or "NaN" in quarantined["reason"].iloc[0]
    finally:
        exchange.execute(f"DROP TABLE IF EXISTS {name}")
