"""ingest.conventions, ingest.reasons and ingest.plausibility: departments' writing habits, reason codes
and the plausibility checks, one pure function at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityops.base.domains import AIR, INCIDENT, TRAFFIC, unit_smaller_by
from cityops.base.errors import ConfigError
from cityops.base.settings import load_settings
from ingest.conventions import CellError, fold_text, parse_number_text, parse_time_text
from ingest.parse import ROW
from ingest.plausibility import Extent, Grid, Plausibility, check_plausible, extent_of
from ingest.reasons import make_reason, parse_reasons

_FULL_WIDTH = str.maketrans("0123456789.-+,", "０１２３４５６７８９．－＋，")


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("１２．５", "", 12.5),
        ("－３", "", -3.0),
        ("−3", "", -3.0),  # U+2212 MINUS SIGN
        ("1,234.5", "", 1234.5),
        ("１，２３４．５", "", 1234.5),
        ("12,345,678", "", 12345678.0),
        (" 41.5 ", "", 41.5),
        ("5e3", "", 5000.0),
        ("12.5mg/m³", "mg/m3", 12.5),
        ("12.5 mg/m3", "ug/m3", 12500.0),
        ("35 µg/m3", "mg/m3", 0.035),
        ("35μg/m³", "ug/m3", 35.0),  # Greek mu, superscript three
        ("1.2km/h", "km/h", 1.2),
        ("3 m/s", "km/h", 10.8),
        ("12%", "%", 12.0),
        ("３５ｕｇ／ｍ３", "ug/m3", 35.0),
    ],
)
def test_numbers_as_departments_write_them(text: str, unit: str, value: float) -> None:
    assert parse_number_text(text, unit=unit) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "unit", "code"),
    [
        ("NaN", "", "cell_invalid"),
        ("nan", "", "cell_invalid"),
        ("Infinity", "", "cell_invalid"),
        ("-inf", "", "cell_invalid"),
        ("abc", "", "cell_invalid"),
        ("31,5", "", "cell_invalid"),  # a decimal comma is not a thousands separator
        ("1,23", "", "cell_invalid"),
        ("12 kg", "mg/m3", "cell_unit"),
        ("12 m/s", "mg/m3", "cell_unit"),
        ("12mg/m3", "", "cell_unit"),
    ],
)
def test_what_is_not_a_number_says_why(text: str, unit: str, code: str) -> None:
    got = parse_number_text(text, unit=unit)
    assert isinstance(got, CellError) and got.code == code
    assert repr(text) in got.detail


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_full_width_numbers_read_as_their_ascii_twins(value: float) -> None:
    ascii_text = repr(value)
    full = ascii_text.translate(_FULL_WIDTH)
    assert parse_number_text(full) == parse_number_text(ascii_text) == value


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_thousands_separators_are_dropped(value: object) -> None:
    text = f"{value:,.2f}"
    assert parse_number_text(text) == float(f"{value:.2f}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260615083000", datetime(2026, 6, 15, 8, 30)),
        ("202606150830", datetime(2026, 6, 15, 8, 30)),
        ("1781483400", datetime(2026, 6, 15, 0, 30, tzinfo=UTC)),
        ("1781483400000", datetime(2026, 6, 15, 0, 30, tzinfo=UTC)),
        ("1781483400123", datetime(2026, 6, 15, 0, 30, 0, 123000, tzinfo=UTC)),
        ("2026/06/15 08:30", datetime(2026, 6, 15, 8, 30)),
        ("2026/6/15 8:30:15", datetime(2026, 6, 15, 8, 30, 15)),
        ("2026.06.15", datetime(2026, 6, 15)),
        ("2026年06月15日 08时", datetime(2026, 6, 15, 8)),
        ("2026年6月15日8时30分", datetime(2026, 6, 15, 8, 30)),
        ("2026年6月15日 08:30:05", datetime(2026, 6, 15, 8, 30, 5)),
        ("2026年6月15日", datetime(2026, 6, 15)),
        ("２０２６－０６－１５　０８：３０", datetime(2026, 6, 15, 8, 30)),
        ("2026-06-15T08:30:00", datetime(2026, 6, 15, 8, 30)),
        ("2026-06-15T08:30:00.250", datetime(2026, 6, 15, 8, 30, 0, 250000)),
        ("2026-06-15T08:30:00+08:00", datetime(2026, 6, 15, 8, 30, tzinfo=timezone(timedelta(hours=8)))),
        ("2026-06-15 00:30:00Z", datetime(2026, 6, 15, 0, 30, tzinfo=UTC)),
        ("2026-06-15T08:30+0800", datetime(2026, 6, 15, 8, 30, tzinfo=timezone(timedelta(hours=8)))),
    ],
)
def test_each_timestamp_shape_reads(text: str, expected: datetime) -> None:
    got = parse_time_text(text)
    assert got == expected
    assert isinstance(got, datetime) and (got.tzinfo is None) == (expected.tzinfo is None)


def test_day_first_only_where_declared() -> None:
    ambiguous = parse_time_text("05/06/2026 08:00")
    assert isinstance(ambiguous, CellError) and ambiguous.code == "time_ambiguous"
    assert "'05/06/2026 08:00'" in ambiguous.detail and "day_first" in ambiguous.detail
    assert parse_time_text("05/06/2026 08:00", day_first=True) == datetime(2026, 6, 5, 8, 0)
    assert parse_time_text("15/06/2026", day_first=True) == datetime(2026, 6, 15)
    # Even a day above 12 is not guessed when nobody declared day-first dates.
    assert isinstance(parse_time_text("15/06/2026"), CellError)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01 08:00", "2026-02-30", "2026年13月1日", "12345"])
def test_unreadable_times_keep_the_text(text: str) -> None:
    got = parse_time_text(text)
    assert isinstance(got, CellError) and got.code == "time_invalid" and repr(text) in got.detail


def test_fold_text_keeps_chinese_and_folds_full_width() -> None:
    assert fold_text("　ＰＭ２．５ 缺测 ") == "PM2.5 缺测"


# -- reasons ----------------------------------------------------------------------------------------


@given(
    value=st.text(max_size=30),
    detail=st.text(max_size=40).filter(lambda d: "; [" not in d),
)
def test_reasons_round_trip_whatever_the_department_sent(value: str, detail: str) -> None:
    first = make_reason("cell_invalid", f"no2: {value!r} {detail}", column="no2", value=value)
    second = make_reason("no_value", "no value")
    got = parse_reasons(f"{first}; {second}")
    assert [r.code for r in got] == ["cell_invalid", "no_value"]
    assert got[0].params["column"] == "no2"
    assert got[0].cell and not got[1].cell


def test_a_value_that_looks_like_a_reason_stays_in_its_reason() -> None:
    text = make_reason(
        "cell_invalid", "x: 'a; [future] b' is not a number", column="x", value="a; [future] b"
    )
    (got,) = parse_reasons(text)
    assert got.code == "cell_invalid" and got.params["value"] == "a; [future] b"


def test_plain_reasons_read_as_text() -> None:
    assert [(r.code, r.detail) for r in parse_reasons("line 4: 2 fields")] == [("", "line 4: 2 fields")]
    assert [r.code for r in parse_reasons("[not json {] x")] == [""]


# -- plausibility -----------------------------------------------------------------------------------

# Two districts around Qingyuan (lon 113.0–113.1, lat 23.6–23.8).
DISTRICTS = [
    {"type": "Polygon", "coordinates": [[[113.0, 23.6], [113.05, 23.6], [113.05, 23.8], [113.0, 23.6]]]},
    '{"type": "MultiPolygon", "coordinates": [[[[113.05, 23.6], [113.1, 23.7], [113.05, 23.8]]]]}',
]


def test_extent_is_the_districts_box_with_a_margin() -> None:
    extent = extent_of(DISTRICTS, margin_km=0)
    assert extent == Extent(113.0, 23.6, 113.1, 23.8)
    wide = extent_of(DISTRICTS, margin_km=11.132)
    assert wide is not None
    assert wide.min_lat == pytest.approx(23.5) and wide.max_lat == pytest.approx(23.9)
    assert wide.min_lon < 112.9  # a degree of longitude is shorter than one of latitude
    assert extent_of([], 10) is None


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out[ROW] = range(1, len(rows) + 1)
    if "ts" in out:
        out["ts"] = pd.to_datetime(out["ts"]).astype("datetime64[us]")
    return out


def codes_by_row(entries: list[tuple[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for row, text in entries:
        out.setdefault(row, []).extend(r.code for r in parse_reasons(text))
    return out


def test_points_outside_the_city_and_swapped_coordinates() -> None:
    checks = Plausibility(extent=extent_of(DISTRICTS, margin_km=5))
    got = check_plausible(
        frame(
            [
                {"entity_id": "A", "ts": "2026-06-15 00:00", "speed_kmh": 1.0, "lon": 113.05, "lat": 23.7},
                {"entity_id": "B", "ts": "2026-06-15 00:00", "speed_kmh": 1.0, "lon": 23.7, "lat": 113.05},
                {"entity_id": "C", "ts": "2026-06-15 00:00", "speed_kmh": 1.0, "lon": 116.4, "lat": 39.9},
                {"entity_id": "D", "ts": "2026-06-15 00:00", "speed_kmh": 1.0, "lon": None, "lat": None},
            ]
        ),
        TRAFFIC,
        checks,
    )
    assert codes_by_row(got.rejects) == {2: ["latlon_swapped"], 3: ["outside_extent"]}
    assert "swapped" in parse_reasons(got.rejects[0][1])[0].detail


def test_ranges_null_the_cell_and_name_a_unit_slip() -> None:
    got = check_plausible(
        frame(
            [
                {"entity_id": "A", "ts": "2026-06-15 00:00", "co": 1200.0, "pm25": 35.0},  # CO in µg/m³
                {"entity_id": "B", "ts": "2026-06-15 00:00", "co": 0.8, "pm25": -4.0},
                {"entity_id": "C", "ts": "2026-06-15 00:00", "co": 250.0, "pm25": 99999.0},
            ]
        ),
        AIR,
        Plausibility(),
    )
    assert got.rejects == []
    assert codes_by_row(got.cells) == {
        1: ["cell_unit_slip"],
        2: ["cell_out_of_range"],
        3: ["cell_out_of_range", "cell_out_of_range"],  # just above: out of range; no ng/m³ for PM2.5
    }
    (slip,) = [r for _, text in got.cells for r in parse_reasons(text) if r.code == "cell_unit_slip"]
    assert slip.params["sent_unit"] == "ug/m3" and "1.2 mg/m3 would be plausible" in slip.detail
    assert got.frame["co"].isna().tolist() == [True, False, True]
    assert got.frame["pm25"].tolist()[0] == 35.0 and got.frame["pm25"].isna().tolist()[1:] == [True, True]


def test_unit_siblings() -> None:
    assert unit_smaller_by("mg/m3", 1000) == "ug/m3"
    assert unit_smaller_by("MPa", 1000) == "kPa"
    assert unit_smaller_by("km/h", 1000) is None


def test_incident_ranges_stay_with_the_schema() -> None:
    rows = frame([{"incident_id": "I1", "severity": 9.0, "reported_at": pd.Timestamp("2026-06-15")}])
    got = check_plausible(rows, INCIDENT, Plausibility())
    assert got.cells == [] and got.frame["severity"].tolist() == [9.0]


def test_times_before_the_earliest_date_or_the_backfill_window() -> None:
    checks = Plausibility(earliest=datetime(2000, 1, 1), backfill_from=datetime(2026, 6, 1))
    got = check_plausible(
        frame(
            [
                {"entity_id": "A", "ts": "1970-01-01 00:00", "speed_kmh": 1.0},
                {"entity_id": "A", "ts": "2026-05-01 00:00", "speed_kmh": 1.0},
                {"entity_id": "A", "ts": "2026-06-02 00:00", "speed_kmh": 1.0},
            ]
        ),
        TRAFFIC,
        checks,
    )
    assert codes_by_row(got.rejects) == {1: ["too_early"], 2: ["before_backfill"]}


@pytest.mark.parametrize(
    ("direction", "sent", "stored"),
    [
        ("nearest", "2026-06-15 10:00:30", "2026-06-15 10:00:00"),
        ("nearest", "2026-06-15 09:57:00", "2026-06-15 10:00:00"),
        ("nearest", "2026-06-15 10:20:00", None),
        ("floor", "2026-06-15 10:04:59", "2026-06-15 10:00:00"),
        ("floor", "2026-06-15 09:57:00", None),
    ],
)
def test_air_readings_are_moved_onto_the_hour_or_quarantined(
    direction: str, sent: str, stored: str | None
) -> None:
    grid = Grid(timedelta(hours=1), timedelta(minutes=5), direction)
    got = check_plausible(frame([{"entity_id": "A", "ts": sent, "pm25": 30.0}]), AIR, Plausibility(grid=grid))
    if stored is None:
        assert codes_by_row(got.rejects) == {1: ["off_grid"]}
    else:
        assert got.rejects == [] and got.frame["ts"].iloc[0] == pd.Timestamp(stored)


# -- configuration ----------------------------------------------------------------------------------

AIR_FEED = """
[feeds.air]
department = "生态环境局"
domain = "air"
cadence = "1h"
source = {{ type = "http", url = "http://127.0.0.1:9/air" }}
{extra}
"""


@pytest.mark.parametrize(
    ("extra", "where", "says"),
    [
        (
            '[feeds.air.conventions]\nmissing_markers = ["—", "NaN"]',
            "feeds.air.conventions.missing_markers",
            "'NaN' is an invalid value",
        ),
        ('[feeds.air.conventions]\nbackfill = "soon"', "feeds.air.conventions.backfill", "a duration"),
        (
            '[ingest.plausibility.time_grid.aire]\nstep = "1h"',
            "ingest.plausibility.time_grid.aire",
            "not a domain",
        ),
        (
            '[ingest.plausibility.time_grid.air]\nstep = "7m"',
            "ingest.plausibility.time_grid.air.step",
            "divides a day",
        ),
        (
            "[ingest.plausibility]\nextent_margin_km = -1",
            "ingest.plausibility.extent_margin_km",
            "greater than or equal",
        ),
    ],
)
def test_config_check_explains_a_wrong_declaration(tmp_path: Path, extra: str, where: str, says: str) -> None:
    path = tmp_path / "cityops.toml"
    path.write_text(AIR_FEED.format(extra=extra), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert f"{path.resolve()}:" in message and where in message and says in message


def test_conventions_defaults_and_example(tmp_path: Path) -> None:
    path = tmp_path / "cityops.toml"
    extra = (
        '[feeds.air.conventions]\nextra_missing_markers = ["9999"]\nday_first = true\nbackfill = "30d"\n'
        "[ingest.plausibility]\nearliest = 2010-01-01\nextent_margin_km = 20\n"
        '[ingest.plausibility.time_grid.air]\nstep = "1h"\ntolerance = "2m"\ndirection = "floor"\n'
    )
    path.write_text(AIR_FEED.format(extra=extra), "utf-8")
    settings = load_settings(path, environ={})
    conventions = settings.feeds["air"].conventions
    assert "—" in conventions.markers and "9999" in conventions.markers and conventions.day_first
    grid = settings.ingest.plausibility.time_grid["air"]
    assert (grid.tolerance, grid.direction) == (timedelta(minutes=2), "floor")
