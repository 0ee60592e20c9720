"""Edges of reading departments' cells: numbers beyond a float, ten-digit times, the city's time grid
across clock changes, floats in a text column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from cityops.base.domains import AIR
from ingest.conventions import CellError, parse_number_text, parse_time_text
from ingest.mapping import _as_text
from ingest.parse import ROW
from ingest.plausibility import Grid, Plausibility, check_plausible


@pytest.mark.parametrize("text", ["1e999", "-1e999", "1" + "0" * 400, "１ｅ９９９"])
def test_numbers_beyond_a_float_are_invalid(text: str) -> None:
    got = parse_number_text(text)
    assert isinstance(got, CellError) and got.code == "cell_invalid"
    assert len(got.detail) < 120


def test_large_finite_numbers_still_read() -> None:
    assert parse_number_text("1e308") == 1e308
    assert parse_number_text("-1,234.5") == -1234.5


@pytest.mark.parametrize("text", ["2026061508", "1999123123", "2034031518", "2099010100"])
def test_ten_digits_that_read_as_an_hour_and_as_epoch_seconds_are_ambiguous(text: str) -> None:
    got = parse_time_text(text)
    assert isinstance(got, CellError) and got.code == "time_epoch_ambiguous"
    assert text in got.detail and "time_format" in got.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1781481600", datetime(2026, 6, 15, tzinfo=UTC)),  # year 1781: not an hour
        ("2026063108", datetime.fromtimestamp(2026063108, UTC)),  # 31 June: not an hour
        ("1781481600000", datetime(2026, 6, 15, tzinfo=UTC)),
        ("999999999", datetime(2001, 9, 9, 1, 46, 39, tzinfo=UTC)),  # nine digits: 1973-2001
        ("946684800", datetime(2000, 1, 1, tzinfo=UTC)),
    ],
)
def test_epoch_seconds_and_milliseconds(text: str, expected: datetime) -> None:
    assert parse_time_text(text) == expected


def test_hour_only_offsets_read() -> None:
    got = parse_time_text("2026-06-15T08:00:00+08")
    assert isinstance(got, datetime) and got.utcoffset() == timedelta(hours=8)


def frame(times: list[str]) -> pd.DataFrame:
    ts = pd.Series(pd.to_datetime(times)).astype("datetime64[us]")
    return pd.DataFrame(
        {
            "entity_id": [f"A{i}" for i in range(len(times))],
            "ts": ts,
            "pm25": 30.0,
            ROW: range(1, len(times) + 1),
        }
    )


def snapped(times: list[str], tz: str, step: str, direction: str = "nearest") -> tuple[list[str], list[int]]:
    grid = Grid(pd.Timedelta(step).to_pytimedelta(), timedelta(minutes=10), direction)
    got = check_plausible(frame(times), AIR, Plausibility(grid=grid, timezone=tz))
    refused = sorted(r for r, _ in got.rejects)
    kept = got.frame[~got.frame[ROW].isin(refused)]
    return [f"{t:%m-%d %H:%M}" for t in kept["ts"]], refused


def test_a_daily_grid_is_the_citys_midnight() -> None:
    # 16:00 UTC = 00:00 in Asia/Shanghai; 00:00 UTC = 08:00 there.
    assert snapped(["2026-06-14 16:03", "2026-06-15 00:00"], "Asia/Shanghai", "1D") == (["06-14 16:00"], [2])
    assert snapped(["2026-06-14 16:03", "2026-06-15 00:00"], "UTC", "1D") == (["06-15 00:00"], [1])


def test_a_grid_in_a_half_hour_zone() -> None:
    # Asia/Kolkata is UTC+05:30: its hours are at :30 UTC.
    assert snapped(["2026-06-15 00:31", "2026-06-15 01:00"], "Asia/Kolkata", "1h") == (["06-15 00:30"], [2])


def test_the_grid_across_a_clock_change() -> None:
    # London falls back on 2026-10-25 at 01:00 UTC (02:00 BST → 01:00 GMT): 01:00 local happens twice.
    times = ["2026-10-25 00:05", "2026-10-25 00:55", "2026-10-25 01:05", "2026-10-25 12:00"]
    assert snapped(times, "Europe/London", "1h") == (
        ["10-25 00:00", "10-25 01:00", "10-25 01:00", "10-25 12:00"],
        [],
    )
    # A daily grid on that day is its midnight: 23:00 UTC the day before (BST).
    assert snapped(["2026-10-24 23:04", "2026-10-25 00:00"], "Europe/London", "1D", "floor") == (
        ["10-24 23:00"],
        [2],
    )
    # Springing forward on 2026-03-29 at 01:00 UTC (01:00 GMT → 02:00 BST): 01:00 local is skipped.
    assert snapped(["2026-03-29 00:58", "2026-03-29 01:02"], "Europe/London", "1h") == (
        ["03-29 01:00", "03-29 01:00"],
        [],
    )


def test_floats_in_a_text_column_keep_their_digits() -> None:
    assert list(_as_text(pd.Series([1001.0, None]))) == ["1001", pd.NA]
    assert list(_as_text(pd.Series([1e20, 5.0]))) == ["1e+20", "5"]
    assert list(_as_text(pd.Series([2.0**54, None]))) == ["1.8014398509481984e+16", pd.NA]
    assert list(_as_text(pd.Series([1.5, 2.0, None]))) == ["1.5", "2", pd.NA]
