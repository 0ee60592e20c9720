"""Tests for metrics.aqi (HJ 633-2012 / HJ 633-2026).

The expected values come from the breakpoint tables of the project's standards reference
(``standards.md`` §1.2), shipped verbatim in ``tests/data/standards_1_2_iaqi_breakpoints.md`` and parsed
here, and from an independent exact reference written in this file (``Decimal`` for the GB/T 8170
rounding, ``Fraction`` for the formula).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.aqi import (
    CATEGORIES,
    COLORS,
    EDITION_2012,
    EDITION_2026,
    EDITIONS,
    ITEMS,
    POLLUTANTS,
    aqi,
    breakpoints,
    daily_report,
    edition_for,
    iaqi,
    iaqi_array,
    level_for,
    realtime_report,
)

# --------------------------------------------------------------------------------------------
# standards.md §1.2, shipped verbatim as test data
# --------------------------------------------------------------------------------------------
BREAKPOINTS_MD = Path(__file__).resolve().parents[1] / "data" / "standards_1_2_iaqi_breakpoints.md"
# The reference itself lives outside the repository, in shared/ beside the clone (CI has a copy there).
STANDARDS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "standards.md"


def _shipped_section() -> str:
    """The copied §1.2 text: the data file without its leading source note."""
    text = BREAKPOINTS_MD.read_text("utf-8")
    return text[text.index("-->") + len("-->") :].strip("\n")


def _table_after(section: str, caption: str) -> str:
    """The markdown table that follows the line starting with ``caption``."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption)) + 1
    while not lines[start].startswith("|"):
        start += 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


SECTION_1_2 = _shipped_section()
TABLE_2012_MD = _table_after(SECTION_1_2, "**HJ 633-2012, Table 1**")
TABLE_2026_MD = _table_after(SECTION_1_2, "**HJ 633-2026, Table 3**")


def _column_item(header: str) -> str:
    words = header.replace("*", "").split()
    pollutant = {"SO2": "SO2", "NO2": "NO2", "CO": "CO", "O3": "O3", "PM10": "PM10", "PM2.5": "PM25"}[
        words[0]
    ]
    period = "1H" if words[1] == "1h" else "8H" if words[1] == "8h" else "24H"
    return f"{pollutant}_{period}"


def parse_table(md: str) -> dict[str, list[tuple[int, int]]]:
    """{item: [(limit, iaqi), …]} from a markdown table of §1.2 (cells without a number are skipped)."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in md.strip().splitlines()]
    header, body = rows[0], rows[2:]
    table: dict[str, list[tuple[int, int]]] = {_column_item(h): [] for h in header[1:]}
    for row in body:
        index = int(row[0])
        for h, cell in zip(header[1:], row[1:], strict=False):
            m = re.match(r"\**(\d+)", cell)
            if m:
                table[_column_item(h)].append((int(m.group(1)), index))
    for item in list(table):  # the 1-h PM items use the daily table (2026 §4.2.4; 2012 moving-average input)
        if item.startswith("PM") and item.endswith("24H"):
            table[item.replace("24H", "1H")] = table[item]
    return table


TABLES = {EDITION_2012: parse_table(TABLE_2012_MD), EDITION_2026: parse_table(TABLE_2026_MD)}


def test_parsed_tables_cover_every_item_and_match_the_module() -> None:
    for edition, table in TABLES.items():
        assert set(table) == set(ITEMS)
        for item, rows in table.items():
            assert [r[1] for r in rows] == [0, 50, 100, 150, 200, 300, 400, 500][: len(rows)]
            assert breakpoints(item, edition) == tuple(rows), (edition, item)
    assert len(TABLES[EDITION_2012]["SO2_1H"]) == 5 and len(TABLES[EDITION_2026]["O3_8H"]) == 6


def test_shipped_copy_is_the_reference_text() -> None:
    """The test data is §1.2 of the shared reference, unchanged (CI has the reference beside the clone)."""
    if not STANDARDS.exists():
        reason = f"the shared standards reference is not at {STANDARDS}: the shipped copy was not compared"
        if os.environ.get("CITYOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (CITYOPS_REQUIRE_SERVICES=1 requires it)", pytrace=False)
        pytest.skip(reason)
    text = STANDARDS.read_text("utf-8")
    assert SECTION_1_2.startswith("### 1.2 ")
    assert SECTION_1_2 in text


# --------------------------------------------------------------------------------------------
# Independent exact reference
# --------------------------------------------------------------------------------------------


def ref_iaqi(item: str, text: str, edition: str, companion: str | None = None) -> int | None:
    """IAQI of the decimal ``text`` from the parsed tables, Decimal rounding, Fraction formula."""
    d = Decimal(text)
    if edition == EDITION_2026:
        d = d.quantize(Decimal("0.1") if item.startswith("CO") else Decimal(1), rounding=ROUND_HALF_EVEN)
    c = Fraction(d)
    rows = TABLES[edition][item]
    if c > rows[-1][0]:
        if item == "SO2_1H":
            if edition == EDITION_2026:
                return 200
            return None if companion is None else ref_iaqi("SO2_24H", companion, edition)
        if item == "O3_8H":
            if edition == EDITION_2026:
                return 300
            return None if companion is None else ref_iaqi("O3_1H", companion, edition)
        return 500
    for (lo, i_lo), (hi, i_hi) in itertools.pairwise(rows):
        if lo <= c <= hi:
            return math.ceil(Fraction(i_hi - i_lo, hi - lo) * (c - lo) + i_lo)
    raise AssertionError("unreachable")


ALL = [(edition, item) for edition in EDITIONS for item in ITEMS]


# --------------------------------------------------------------------------------------------
# Breakpoints and segments, derived from the tables
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("edition", "item"), ALL)
def test_every_breakpoint_gives_its_iaqi(edition: str, item: str) -> None:
    for limit, index in TABLES[edition][item]:
        for value in (
            limit,
            float(limit),
            Fraction(limit),
            Decimal(limit),
            np.float64(limit),
            np.int64(limit),
        ):
            assert iaqi(item, value, edition=edition) == index, (edition, item, value)
        assert iaqi_array(item, np.array([float(limit)]), edition=edition)[0] == index


@pytest.mark.parametrize(("edition", "item"), ALL)
def test_points_inside_every_segment_match_the_fraction_reference(edition: str, item: str) -> None:
    rows = TABLES[edition][item]
    rng = np.random.default_rng(sum(map(ord, edition + item)))
    for (lo, _), (hi, _) in itertools.pairwise(rows):
        points = [Fraction(lo + hi, 2), lo + Fraction(hi - lo, 3), lo + Fraction(2 * (hi - lo), 7)]
        texts = [f"{float(p):.3f}" for p in points] + [f"{float(p):.1f}" for p in points]
        texts += [f"{v:.{k}f}" for k in (0, 1, 2, 3) for v in rng.uniform(lo, hi, 5)]
        texts += [str(Decimal(lo) + Decimal("0.1")), str(Decimal(hi) - Decimal("0.1"))]
        texts += [str(Decimal(hi) - Decimal("0.5")), str(Decimal(lo) + Decimal("0.5"))]
        for text in texts:
            expected = ref_iaqi(item, text, edition)
            assert iaqi(item, float(text), edition=edition) == expected, (edition, item, text)
            assert iaqi(item, Decimal(text), edition=edition) == expected
        got = iaqi_array(item, np.array([float(t) for t in texts]), edition=edition)
        assert got.tolist() == [ref_iaqi(item, t, edition) for t in texts]


@pytest.mark.parametrize(("edition", "item"), ALL)
def test_above_the_table(edition: str, item: str) -> None:
    top = TABLES[edition][item][-1][0]
    over = str(top * 2 + 1)
    assert iaqi(item, float(over), edition=edition, companion=65) == ref_iaqi(
        item, over, edition, companion="65"
    )
    if item not in ("SO2_1H", "O3_8H"):
        assert iaqi(item, top + 1, edition=edition) == 500
        assert iaqi(item, 1e300, edition=edition) == 500


# --------------------------------------------------------------------------------------------
# The >800 rules of each edition
# --------------------------------------------------------------------------------------------


def test_2012_fallbacks_use_the_companion() -> None:
    assert iaqi("SO2_1H", 900, edition=EDITION_2012, companion=65) == 58
    assert iaqi("SO2_1H", 800.1, edition=EDITION_2012, companion=150) == 100
    assert iaqi("SO2_1H", 900, edition=EDITION_2012) is None
    assert iaqi("SO2_1H", 800, edition=EDITION_2012, companion=65) == 200  # at the limit: no fallback
    assert iaqi("O3_8H", 850, edition=EDITION_2012, companion=926) == 363
    assert iaqi("O3_8H", 850, edition=EDITION_2012) is None
    assert iaqi("O3_8H", 850, edition=EDITION_2012, companion=float("nan")) is None
    # through aqi(): the companion item of the same mapping
    assert aqi({"SO2_1H": 900, "SO2_24H": 65}, edition=EDITION_2012).iaqi["SO2"] == 58
    assert aqi({"SO2_1H": 900}, edition=EDITION_2012).iaqi["SO2"] is None
    assert aqi({"O3_8H": 850, "O3_1H": 926}, edition=EDITION_2012).iaqi["O3"] == 363
    # vectorised, with array and scalar companions
    got = iaqi_array(
        "SO2_1H", np.array([900.0, 100.0, 900.0]), edition=EDITION_2012, companion=np.array([65, 1, 150])
    )
    assert got.tolist() == [58, 34, 100]
    assert iaqi_array("O3_8H", [850.0], edition=EDITION_2012, companion=926)[0] == 363
    assert np.isnan(iaqi_array("O3_8H", [850.0], edition=EDITION_2012)[0])


def test_2026_above_800_rules_ignore_the_companion() -> None:
    assert iaqi("SO2_1H", 1600) == 200
    assert iaqi("SO2_1H", 801, companion=65) == 200
    assert iaqi("SO2_1H", 800.4) == 200  # rounds to 800
    assert iaqi("O3_8H", 1000) == 300
    assert iaqi("O3_8H", 801, companion=1200) == 300
    assert aqi({"O3_8H": 1000, "O3_1H": 1200}).iaqi["O3"] == 500  # O3 1-h is its own item
    assert iaqi_array("SO2_1H", [801.0, 5000.0]).tolist() == [200, 200]
    assert iaqi_array("O3_8H", [801.0, np.inf]).tolist()[0] == 300


# --------------------------------------------------------------------------------------------
# Rounding traps
# --------------------------------------------------------------------------------------------


def test_float_ceiling_traps() -> None:
    assert 50 + (100 - 50) / (4 - 2) * (2.2 - 2) == 55.00000000000001  # why floats are not enough
    for edition in EDITIONS:
        assert iaqi("CO_24H", 2.2, edition=edition) == 55
    assert iaqi("PM10_24H", 352.1, edition=EDITION_2012) == 203
    assert iaqi_array("CO_24H", [2.2]).tolist() == [55]
    assert iaqi_array("PM10_24H", [352.1], edition=EDITION_2012).tolist() == [203]


def test_2012_grid_of_tenths_matches_the_reference() -> None:
    """Every 0.1 step of every 2012 table (the grid on which naive float code errs 77 times)."""
    for item, rows in TABLES[EDITION_2012].items():
        top = rows[-1][0]
        texts = [f"{k / 10:.1f}" for k in range(0, int(top * 10) + 1, 1 if top <= 1200 else 7)]
        values = np.array([float(t) for t in texts])
        expected = [ref_iaqi(item, t, EDITION_2012) for t in texts]
        assert iaqi_array(item, values, edition=EDITION_2012).tolist() == expected, item
        for k in range(0, len(texts), 37):
            assert iaqi(item, values[k], edition=EDITION_2012) == expected[k]


@pytest.mark.parametrize(
    ("item", "value", "expected"),
    [
        ("PM25_24H", 60.5, 100),  # → 60 (half to even)
        ("PM25_24H", 61.5, 102),  # → 62
        ("PM25_24H", 60.5000001, 101),  # → 61: not an exact trailing 5
        ("PM25_24H", 60.4999999, 100),
        ("PM10_24H", 120.5, 100),  # → 120
        ("PM10_24H", 121.5, 101),  # → 122 → 100 + 50·2/130
        ("SO2_24H", 2.5, 2),  # → 2 → ceil(2)
        ("SO2_24H", 3.5, 4),  # → 4
        ("NO2_1H", 0.5, 0),  # → 0
        ("O3_8H", 100.5, 50),  # → 100
        ("CO_24H", 0.25, 5),  # → 0.2 mg/m³
        ("CO_24H", 0.35, 10),  # → 0.4 (0.35 is a hair below in binary, still an exact 5 in decimal)
        ("CO_24H", 0.15, 5),  # → 0.2 (naive round(0.15, 1) gives 0.1)
        ("CO_24H", 0.1, 3),
        ("CO_24H", 2.25, 55),  # → 2.2
        ("CO_24H", 2.35, 60),  # → 2.4
        ("CO_1H", 5.05, 50),  # → 5.0
        ("CO_1H", 5.15, 52),  # → 5.2 → 50 + 50·0.2/5
    ],
)
def test_2026_concentration_rounding_half_even(item: str, value: float, expected: int) -> None:
    assert iaqi(item, value) == expected == ref_iaqi(item, repr(value), EDITION_2026)
    assert iaqi_array(item, [value]).tolist() == [expected]


def test_2012_does_not_round_concentrations() -> None:
    assert iaqi("PM25_24H", 60.5, edition=EDITION_2012) == ref_iaqi("PM25_24H", "60.5", EDITION_2012) == 82
    assert iaqi("CO_24H", 0.15, edition=EDITION_2012) == 4
    assert iaqi("SO2_24H", 0.4, edition=EDITION_2012) == 1 and iaqi("SO2_24H", 0.4) == 0


# --------------------------------------------------------------------------------------------
# Published values (standards §1.8)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edition", "item", "value", "expected"),
    [
        (EDITION_2026, "PM25_24H", 75, 114),
        (EDITION_2026, "PM25_24H", 59, 98),
        (EDITION_2026, "PM25_24H", 60, 100),
        (EDITION_2026, "PM10_24H", 150, 112),
        (EDITION_2026, "PM10_24H", 118, 99),
        (EDITION_2026, "SO2_1H", 1600, 200),
        (EDITION_2026, "O3_8H", 1000, 300),
        (EDITION_2012, "PM25_24H", 55, 75),
        (EDITION_2012, "PM10_24H", 200, 125),
        (EDITION_2012, "PM25_24H", 20, 29),
        (EDITION_2012, "CO_24H", 2.2, 55),
        (EDITION_2012, "PM25_24H", 35.5, 51),
        (EDITION_2012, "SO2_24H", 65, 58),
        # aqi-hub vectors, corrected (its SO2_24H table is the 1-h one)
        (EDITION_2012, "SO2_24H", 150, 100),
        (EDITION_2012, "SO2_24H", 500, 154),
        (EDITION_2012, "SO2_24H", 650, 177),
        # python-aqi disagreements, per the standard
        (EDITION_2012, "PM25_24H", 120, 158),
        (EDITION_2012, "CO_24H", 2.5, 63),
        (EDITION_2012, "O3_8H", 200, 137),
        # PM 1-h in 2026 uses the daily limits
        (EDITION_2026, "PM25_1H", 75, 114),
        (EDITION_2026, "PM10_1H", 150, 112),
    ],
)
def test_published_values(edition: str, item: str, value: float, expected: int) -> None:
    assert iaqi(item, value, edition=edition) == expected
    assert iaqi_array(item, [value], edition=edition).tolist() == [expected]


def test_published_fallback_values() -> None:
    assert iaqi("SO2_1H", 900, edition=EDITION_2012, companion=65) == 58
    assert iaqi("O3_8H", 850, edition=EDITION_2012, companion=926) == 363


def test_hourly_mix_2026() -> None:
    r = aqi({"PM25_1H": 75, "PM10_1H": 150, "SO2_1H": 500, "NO2_1H": 200, "CO_1H": 10, "O3_1H": 200})
    assert (r.aqi, r.category, r.primary_pollutants, r.level, r.color) == (
        114,
        "轻度污染",
        ("PM2.5",),
        3,
        "#FF7E00",
    )
    assert r.iaqi == {"PM2.5": 114, "PM10": 112, "SO2": 100, "NO2": 100, "CO": 100, "O3": 100}
    assert r.edition == EDITION_2026 and r.missing == ()


def daily(pm25: float, pm10: float, so2: float, no2: float, co: float, o3_8h: float) -> dict[str, float]:
    return {"PM25_24H": pm25, "PM10_24H": pm10, "SO2_24H": so2, "NO2_24H": no2, "CO_24H": co, "O3_8H": o3_8h}


def test_aqi_hub_daily_mix_corrected() -> None:
    r = aqi(daily(115, 250, 650, 180, 14, 215), edition=EDITION_2012)
    assert r.aqi == 177 and r.primary_pollutants == ("SO2",) and r.category == "中度污染"
    assert r.iaqi == {"PM2.5": 150, "PM10": 150, "SO2": 177, "NO2": 150, "CO": 150, "O3": 150}


@pytest.mark.parametrize(("edition", "pm10"), [(EDITION_2012, 115), (EDITION_2026, 124)])
def test_aqi_hub_readme_example_corrected(edition: str, pm10: int) -> None:
    r = aqi(daily(120, 180, 65, 150, 1.0, 200), edition=edition)
    assert r.aqi == 158 and r.primary_pollutants == ("PM2.5",)
    assert r.iaqi["SO2"] == 58 and r.iaqi["PM2.5"] == 158 and r.iaqi["PM10"] == pm10


# --------------------------------------------------------------------------------------------
# aqi(): pollutants, ties, levels, missing data
# --------------------------------------------------------------------------------------------


def test_pollutant_iaqi_is_the_max_over_its_items() -> None:
    r = aqi({"O3_1H": 200, "O3_8H": 215, "NO2_1H": 100, "NO2_24H": 80}, edition=EDITION_2012)
    assert r.iaqi["O3"] == 150 and r.iaqi["NO2"] == 100
    assert r.missing == ("PM2.5", "PM10", "SO2", "CO")
    assert r.aqi == 150  # 2012: AQI from the available pollutants


def test_ties_are_listed_in_the_fixed_order() -> None:
    values = {"O3_8H": 215, "CO_24H": 14, "PM10_24H": 250, "PM25_24H": 115, "SO2_24H": 5, "NO2_24H": 5}
    for edition in EDITIONS:
        assert aqi(values, edition=edition).primary_pollutants == ("PM2.5", "PM10", "CO", "O3")
        reordered = dict(reversed(list(values.items())))
        assert aqi(reordered, edition=edition).primary_pollutants == ("PM2.5", "PM10", "CO", "O3")


def test_no_primary_pollutant_at_or_below_50() -> None:
    r = aqi(daily(35, 50, 50, 40, 2, 100))
    assert r.aqi == 50 and r.primary_pollutants == () and r.category == "优"
    r = aqi(daily(35.4, 50, 50, 40, 2, 100.4))  # rounds to 35 / 100
    assert r.aqi == 50 and r.primary_pollutants == ()
    r = aqi(daily(36, 50, 50, 40, 2, 100))
    assert r.aqi == 52 and r.primary_pollutants == ("PM2.5",)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0, 1),
        (1, 1),
        (50, 1),
        (51, 2),
        (100, 2),
        (101, 3),
        (150, 3),
        (151, 4),
        (200, 4),
        (201, 5),
        (300, 5),
        (301, 6),
        (500, 6),
    ],
)
def test_levels_categories_colours(value: int, level: int) -> None:
    assert level_for(value) == level
    names = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
    hexes = ["#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"]
    assert CATEGORIES[level] == names[level - 1] and COLORS[level] == hexes[level - 1]


def test_missing_data_rule_2026() -> None:
    low = daily(30, 40, 10, 20, 0.5, 60)
    del low["CO_24H"]
    r = aqi(low)
    assert r.aqi is None and r.level is None and r.category is None and r.color is None
    assert r.primary_pollutants == () and r.missing == ("CO",)
    assert r.iaqi["PM2.5"] == 43 and r.iaqi["CO"] is None  # sub-indices still reported
    high = {**low, "PM25_24H": 75}
    r = aqi(high)
    assert r.aqi == 114 and r.primary_pollutants == ("PM2.5",) and r.missing == ("CO",)
    at_100 = {**low, "PM25_24H": 60}
    assert aqi(at_100).aqi is None and aqi(at_100).iaqi["PM2.5"] == 100
    nan = {**daily(30, 40, 10, 20, 0.5, 60), "CO_24H": float("nan")}
    assert aqi(nan).aqi is None and aqi(nan).missing == ("CO",)


def test_missing_data_rule_2012_and_overrides() -> None:
    low = daily(30, 40, 10, 20, 0.5, 60)
    del low["CO_24H"]
    assert aqi(low, edition=EDITION_2012).aqi == 43
    assert aqi(low, edition=EDITION_2012, missing="above100").aqi is None
    assert aqi(low, missing="available").aqi == 43
    high = {**low, "PM25_24H": 75}
    assert aqi(high, missing="complete").aqi is None
    assert aqi({}).aqi is None and aqi({}, edition=EDITION_2012).aqi is None
    assert aqi({"PM25_24H": None}, edition=EDITION_2012).missing == POLLUTANTS
    with pytest.raises(ValueError, match="missing-data rule"):
        aqi(low, missing="sometimes")


def test_bad_input() -> None:
    for value in (None, float("nan"), -1, -0.1, float("inf"), float("-inf"), pd.NA, Decimal("NaN")):
        assert iaqi("PM25_24H", value) is None
        assert iaqi("PM25_24H", value, edition=EDITION_2012) is None
    assert iaqi("PM25_24H", -0.0) == 0
    assert iaqi("PM25_24H", np.float32(2.2), edition=EDITION_2012) == ref_iaqi(
        "PM25_24H", "2.2", EDITION_2012
    )
    with pytest.raises(TypeError):
        iaqi("PM25_24H", True)
    with pytest.raises(TypeError):
        iaqi("PM25_24H", "75")
    with pytest.raises(ValueError, match="unknown AQI item"):
        iaqi("PM25", 75)
    with pytest.raises(ValueError, match="unknown AQI edition"):
        iaqi("PM25_24H", 75, edition="HJ 633")
    with pytest.raises(ValueError, match="unknown AQI item"):
        aqi({"pm25": 75})
    arr = iaqi_array("PM25_24H", [np.nan, -1.0, np.inf, 0.0, 75.0])
    assert np.isnan(arr[:3]).all() and arr[3:].tolist() == [0, 114]


def test_pm_1h_conventions() -> None:
    # 2026 §4.2.4: the 1-h PM value against the daily limits; 2012: read as the 24-h moving average
    for edition in EDITIONS:
        for c in (12.3, 75, 180.6, 600, 700):
            assert iaqi("PM25_1H", c, edition=edition) == iaqi("PM25_24H", c, edition=edition)
            assert iaqi("PM10_1H", c, edition=edition) == iaqi("PM10_24H", c, edition=edition)


def test_iaqi_array_shape_and_dtype() -> None:
    x = np.array([[35.0, 75.0], [np.nan, 1000.0]])
    got = iaqi_array("PM25_24H", x)
    assert got.shape == (2, 2) and got.dtype == np.float64
    assert got[0].tolist() == [50, 114] and np.isnan(got[1, 0]) and got[1, 1] == 500
    assert iaqi_array("PM25_24H", []).shape == (0,)


# --------------------------------------------------------------------------------------------
# edition_for
# --------------------------------------------------------------------------------------------


def test_edition_for() -> None:
    cst = timezone(timedelta(hours=8))
    assert edition_for(datetime(2026, 2, 28, 23, 59, 59, tzinfo=cst)) == EDITION_2012
    assert edition_for(datetime(2026, 3, 1, 0, 0, tzinfo=cst)) == EDITION_2026
    assert edition_for(datetime(2026, 2, 28, 15, 59)) == EDITION_2012  # naive = UTC
    assert edition_for(datetime(2026, 2, 28, 16, 0)) == EDITION_2026
    assert edition_for(datetime(2026, 2, 28, 16, 0, tzinfo=UTC)) == EDITION_2026
    assert edition_for(pd.Timestamp("2026-03-01 00:00", tz="Asia/Shanghai")) == EDITION_2026
    assert edition_for(np.datetime64("2026-02-28T15:00")) == EDITION_2012
    assert edition_for("2025-06-01") == EDITION_2012 and edition_for("2027-01-01T00:00Z") == EDITION_2026
    assert edition_for(date(2026, 2, 28)) == EDITION_2012 and edition_for(date(2026, 3, 1)) == EDITION_2026
    with pytest.raises(ValueError):
        edition_for(pd.NaT)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

items = st.sampled_from(ITEMS)
editions = st.sampled_from(EDITIONS)
decimals = st.integers(min_value=0, max_value=4_500_000).map(lambda k: k / 1000)
floats = st.floats(min_value=0, max_value=5000, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(items, editions, st.one_of(decimals, floats), st.one_of(decimals, floats))
def test_iaqi_is_monotonic(item: str, edition: str, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    companion = {"SO2_1H": 2000.0, "O3_8H": 1200.0}.get(item)  # keeps the 2012 fallback at the top
    x, y = (
        iaqi(item, lo, edition=edition, companion=companion),
        iaqi(item, hi, edition=edition, companion=companion),
    )
    assert x is not None and y is not None and 0 <= x <= y <= 500


@settings(max_examples=300, deadline=None)
@given(
    items, editions, st.lists(st.one_of(decimals, floats, st.just(float("nan")), st.just(-1.0)), max_size=30)
)
def test_iaqi_array_equals_scalar(item: str, edition: str, values: list[float]) -> None:
    got = iaqi_array(item, np.array(values, dtype=np.float64), edition=edition)
    expected = [iaqi(item, v, edition=edition) for v in values]
    assert [None if math.isnan(g) else int(g) for g in got] == expected


@settings(max_examples=300, deadline=None)
@given(
    editions,
    st.dictionaries(st.sampled_from(ITEMS), st.one_of(decimals, floats, st.none()), max_size=12),
    st.sampled_from(["edition", "available", "above100", "complete"]),
)
def test_aqi_result_is_consistent(edition: str, values: dict[str, float | None], missing: str) -> None:
    r = aqi(values, edition=edition, missing=missing)
    present = [v for v in r.iaqi.values() if v is not None]
    assert set(r.iaqi) == set(POLLUTANTS)
    if r.aqi is None:
        assert r.level is None and r.category is None and r.color is None and r.primary_pollutants == ()
        return
    assert r.aqi == max(present)
    assert r.level == level_for(r.aqi) and r.category == CATEGORIES[r.level] and r.color == COLORS[r.level]
    assert (r.primary_pollutants == ()) == (r.aqi <= 50)
    if r.aqi > 50:
        assert r.primary_pollutants == tuple(p for p in POLLUTANTS if r.iaqi[p] == r.aqi)
    if r.missing and (missing == "above100" or (missing == "edition" and edition == EDITION_2026)):
        assert r.aqi > 100


def test_iaqi_array_equals_scalar_on_many_random_values() -> None:
    rng = np.random.default_rng(20260301)
    for edition, item in ALL:
        top = TABLES[edition][item][-1][0]
        limits = np.array([r[0] for r in TABLES[edition][item]], dtype=np.float64)
        parts = [
            np.round(rng.uniform(0, top * 1.1, 400), int(rng.integers(0, 4))),
            rng.uniform(0, top * 1.1, 400),  # long representations, e.g. averages
            np.round(rng.uniform(0, top, 200)) + 0.5,  # exact halves
            np.round(rng.uniform(0, top * 10, 200)) / 10 + 0.05,  # CO-style halves
            np.nextafter(limits, np.inf),
            np.nextafter(limits, 0),
            rng.integers(0, 24 * int(top), 200) / 24,  # means of 24 values
        ]
        values = np.concatenate(parts)
        got = iaqi_array(item, values, edition=edition, companion=65.0)
        expected = [iaqi(item, float(v), edition=edition, companion=65.0) for v in values]
        assert [None if math.isnan(g) else int(g) for g in got] == expected, (edition, item)


# --------------------------------------------------------------------------------------------
# Reports over hourly observations
# --------------------------------------------------------------------------------------------

COLS = ("so2", "no2", "pm10", "pm25", "co", "o3")
COLUMN_POLLUTANT = (
    ("pm25", "PM2.5"),
    ("pm10", "PM10"),
    ("so2", "SO2"),
    ("no2", "NO2"),
    ("co", "CO"),
    ("o3", "O3"),
)


def frame(start: str, hours: int, entity: str = "A", **series: object) -> pd.DataFrame:
    """Hourly observations from ``start`` (naive UTC, the end of the first hour); columns default to 10."""
    ts = pd.date_range(start, periods=hours, freq="h")
    data: dict[str, object] = {"entity_id": entity, "ts": ts}
    for col in COLS:
        value = series.get(col, 1.0 if col == "co" else 10.0)
        data[col] = np.broadcast_to(np.asarray(value, dtype=np.float64), (hours,)).copy()
    return pd.DataFrame(data)


def test_realtime_2026_uses_the_1h_values() -> None:
    obs = frame("2026-06-01 01:00", 3, pm25=[75.0, 59.0, 60.0], pm10=150.0, so2=500, no2=200, co=10, o3=200)
    rt = realtime_report(obs)
    assert rt["edition"].tolist() == [EDITION_2026] * 3
    assert rt["iaqi_pm25"].tolist() == [114, 98, 100] and rt["iaqi_pm10"].tolist() == [112] * 3
    assert rt["aqi"].tolist() == [114, 112, 112]
    assert rt["primary_pollutants"].tolist() == ["PM2.5", "PM10", "PM10"]
    assert rt.loc[0, "category"] == "轻度污染" and rt.loc[0, "color"] == "#FF7E00" and rt.loc[0, "level"] == 3
    assert rt["pm25_24h"].isna().all() and rt["o3_8h"].isna().all()  # not used in 2026


def test_realtime_2012_pm_24h_moving_average() -> None:
    pm25 = np.arange(1.0, 31.0) * 2.5  # 2.5, 5.0, … 75.0
    obs = frame("2025-06-01 01:00", 30, pm25=pm25, pm10=100.0)
    obs.loc[[24, 26], "pm25"] = np.nan  # two gaps inside later windows
    rt = realtime_report(obs)
    assert rt["edition"].eq(EDITION_2012).all()
    assert rt["pm25_24h"].iloc[:19].isna().all()  # fewer than 20 hours
    assert rt["pm25_24h"].iloc[19] == pytest.approx(pm25[:20].mean())
    assert rt["pm25_24h"].iloc[23] == pytest.approx(pm25[:24].mean())
    window = [v for v in np.r_[pm25[5:24], [np.nan], pm25[25], [np.nan], pm25[27:29]] if not math.isnan(v)]
    assert len(window) == 22 and rt["pm25_24h"].iloc[28] == pytest.approx(np.mean(window))
    for i in (19, 23, 28):
        hours = obs["pm25"].iloc[max(0, i - 23) : i + 1].dropna()
        mean = sum((Fraction(str(v)) for v in hours), Fraction(0)) / len(hours)  # the exact mean
        assert rt["iaqi_pm25"].iloc[i] == math.ceil(ref_frac("PM25_24H", mean, EDITION_2012))
    assert rt["iaqi_pm25"].iloc[:19].isna().all() and rt["pm25_1h"].isna().all()
    assert rt["iaqi_pm10"].iloc[19] == 75 and rt["iaqi_pm10"].iloc[18] is pd.NA
    # 2012 reports the AQI from the available pollutants
    assert rt["aqi"].iloc[0] == rt[["iaqi_so2", "iaqi_no2", "iaqi_co", "iaqi_o3"]].iloc[0].max()


def ref_frac(item: str, c: Fraction, edition: str) -> Fraction:
    rows = TABLES[edition][item]
    for (lo, i_lo), (hi, i_hi) in itertools.pairwise(rows):
        if lo <= c <= hi:
            return Fraction(i_hi - i_lo, hi - lo) * (c - lo) + i_lo
    raise AssertionError(c)


def test_realtime_2012_o3_8h_moving_average() -> None:
    o3 = np.array([100.0, 120, 140, 160, 180, 200, 220, 240, 260, 280])
    obs = frame("2025-07-01 01:00", 10, o3=o3)
    obs.loc[2, "o3"] = np.nan
    obs = obs.drop(index=4)  # an absent hour counts as missing too
    rt = realtime_report(obs).set_index("ts")
    at = pd.Timestamp("2025-07-01 08:00")  # hours 1..8 → 6 valid of 8 (hours 3 and 5 missing)
    assert rt.loc[at, "o3_8h"] == pytest.approx(np.mean([100, 120, 160, 200, 220, 240]))
    assert (
        rt.loc[pd.Timestamp("2025-07-01 07:00"), "o3_8h"] != rt.loc[pd.Timestamp("2025-07-01 07:00"), "o3_8h"]
    )
    expected_8h = iaqi("O3_8H", float(np.mean([100, 120, 160, 200, 220, 240])), edition=EDITION_2012)
    assert rt.loc[at, "iaqi_o3"] == max(expected_8h or 0, iaqi("O3_1H", 240, edition=EDITION_2012) or 0)
    at10 = pd.Timestamp("2025-07-01 10:00")  # hours 3..10 → 6 valid of 8
    assert rt.loc[at10, "o3_8h"] == pytest.approx(np.mean([160, 200, 220, 240, 260, 280]))


def test_realtime_so2_above_800() -> None:
    so2 = np.full(24, 65.0)
    so2[-1] = 900.0
    rt_2012 = realtime_report(frame("2025-06-01 01:00", 24, so2=so2))
    mean = (65 * 23 + 900) / 24
    assert rt_2012["so2_24h"].iloc[-1] == pytest.approx(mean)
    assert rt_2012["iaqi_so2"].iloc[-1] == iaqi("SO2_24H", mean, edition=EDITION_2012) == 75
    rt_2026 = realtime_report(frame("2026-06-01 01:00", 24, so2=so2))
    assert rt_2026["iaqi_so2"].iloc[-1] == 200 and rt_2026["so2_24h"].isna().all()


def test_realtime_missing_rule_2026() -> None:
    obs = frame("2026-06-01 01:00", 2, pm25=[np.nan, np.nan], pm10=[40.0, 300.0])
    rt = realtime_report(obs)
    assert rt["aqi"].iloc[0] is pd.NA and rt["iaqi_pm10"].iloc[0] == 40 and rt["category"].isna().iloc[0]
    assert rt["aqi"].iloc[1] == iaqi("PM10_1H", 300) == 175
    assert rt["primary_pollutants"].iloc[1] == "PM10"


def test_realtime_edition_switch() -> None:
    obs = frame("2026-02-28 14:00", 5, pm25=75.0)  # stamped 22:00 … 02:00 CST (end of hour)
    rt = realtime_report(obs)
    assert rt["edition"].tolist() == [EDITION_2012] * 3 + [EDITION_2026] * 2
    # the hour 23:00–24:00 CST on 28 Feb, stamped 2026-02-28 16:00 UTC, is still 2012
    assert rt.loc[rt["ts"] == pd.Timestamp("2026-02-28 16:00"), "edition"].item() == EDITION_2012
    assert rt["iaqi_pm25"].iloc[-1] == 114
    start = realtime_report(obs, hour_label="start")
    assert start["edition"].tolist() == [EDITION_2012] * 2 + [EDITION_2026] * 3
    forced = realtime_report(obs, edition=EDITION_2026)
    assert forced["edition"].eq(EDITION_2026).all()


def test_daily_report_basic_and_exact_mean() -> None:
    co = np.tile([2.1, 2.3], 12)  # mean 2.2 exactly; a float mean is 2.2000000000000006
    assert sum(co.tolist()) / 24 != 2.2
    obs = frame("2025-05-31 17:00", 24, co=co, pm25=55.0, pm10=200.0, so2=65.0, no2=80.0, o3=100.0)
    d = daily_report(obs)  # 2025-06-01 01:00 … 24:00 CST
    assert len(d) == 1 and d.loc[0, "date"] == pd.Timestamp("2025-06-01") and d.loc[0, "hours"] == 24
    row = d.iloc[0]
    assert row["edition"] == EDITION_2012
    assert (
        row["iaqi_co"] == 55 and row["iaqi_pm25"] == 75 and row["iaqi_pm10"] == 125 and row["iaqi_so2"] == 58
    )
    assert row["iaqi_no2"] == 100 and row["o3_1h_max"] == 100 and row["o3_8h_max"] == 100
    assert row["iaqi_o3"] == 50 and row["aqi"] == 125 and row["primary_pollutants"] == "PM10"
    assert row["level"] == 3 and row["category"] == "轻度污染"


def test_daily_report_o3_and_editions() -> None:
    o3 = np.zeros(24)
    o3[10:18] = 300.0  # one 8-h window (10:00–18:00) of 300; the 1-h maximum 300
    o3[12] = 420.0
    days = [
        frame(start, 24, o3=o3, pm25=20.0, pm10=30.0) for start in ("2026-02-27 17:00", "2026-02-28 17:00")
    ]
    d = daily_report(pd.concat(days, ignore_index=True))
    assert d["date"].tolist() == [pd.Timestamp("2026-02-28"), pd.Timestamp("2026-03-01")]
    assert d["edition"].tolist() == [EDITION_2012, EDITION_2026]  # days: 01:00 … 24:00 CST
    max8 = (300 * 7 + 420) / 8
    assert d["o3_8h_max"].tolist() == pytest.approx([max8, max8])
    i8 = iaqi("O3_8H", max8, edition=EDITION_2012)
    i1 = iaqi("O3_1H", 420, edition=EDITION_2012)
    assert i8 is not None and i1 is not None
    assert d.loc[0, "o3_1h_max"] == 420 and d.loc[0, "iaqi_o3"] == max(i8, i1)
    assert math.isnan(d.loc[1, "o3_1h_max"]) and d.loc[1, "iaqi_o3"] == iaqi("O3_8H", max8)


def test_daily_report_too_few_hours() -> None:
    full = frame("2026-05-31 17:00", 24, entity="A")  # 2026-06-01 CST, 24 hours
    short = frame("2026-05-31 17:00", 19, entity="B", pm25=80.0)  # 19 hours
    twenty = frame("2026-05-31 17:00", 24, entity="C")
    twenty.loc[[0, 5, 10, 15], ["so2", "no2", "pm10", "pm25", "co"]] = np.nan  # 20 valid hours
    d = daily_report(pd.concat([short, full, twenty], ignore_index=True))
    assert d["entity_id"].tolist() == ["A", "B", "C"]
    b = d.set_index("entity_id").loc["B"]
    assert math.isnan(b["pm25_24h"]) and b["iaqi_pm25"] is pd.NA and b["aqi"] is pd.NA and b["hours"] == 19
    assert b["o3_8h_max"] == 10  # 12 full 8-h windows + those ending 20:00 (7 h) and 21:00 (6 h) = 14
    c = d.set_index("entity_id").loc["C"]
    assert c["pm25_24h"] == 10 and c["iaqi_pm25"] == 15 and c["aqi"] == 25 and c["primary_pollutants"] == ""
    a = d.set_index("entity_id").loc["A"]
    assert a["aqi"] == 25 and a["iaqi_co"] == 25 and a["primary_pollutants"] == ""


def test_daily_report_o3_8h_needs_14_windows() -> None:
    o3 = np.full(24, 50.0)
    o3[:4] = np.nan  # windows ending 08:00 … 24:00 need ≥ 6 of 8: those ending 08:00, 09:00 fail → 15 valid
    ok = daily_report(frame("2026-05-31 17:00", 24, o3=o3))
    assert ok.loc[0, "o3_8h_max"] == 50
    o3[:6] = np.nan  # now windows ending 08:00 … 11:00 fail → 13 valid
    bad = daily_report(frame("2026-05-31 17:00", 24, o3=o3))
    assert math.isnan(bad.loc[0, "o3_8h_max"]) and bad.loc[0, "iaqi_o3"] is pd.NA
    assert bad.loc[0, "aqi"] is pd.NA  # 2026: O3 missing and AQI ≤ 100
    loose = daily_report(frame("2026-05-31 17:00", 24, o3=o3), min_windows_8h=10)
    assert loose.loc[0, "o3_8h_max"] == 50


def test_daily_report_hour_label_and_tz() -> None:
    obs = frame("2026-06-01 16:00", 2)  # 00:00 and 01:00 CST on 2 June
    end = daily_report(obs, min_hours_24h=1, min_windows_8h=0)
    assert end["date"].tolist() == [pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-02")]
    start = daily_report(obs, hour_label="start", min_hours_24h=1, min_windows_8h=0)
    assert start["date"].tolist() == [pd.Timestamp("2026-06-02")]
    utc = daily_report(obs, tz="UTC", hour_label="start", min_hours_24h=1)
    assert utc["date"].tolist() == [pd.Timestamp("2026-06-01")]


def test_report_input_handling() -> None:
    obs = frame("2026-06-01 01:00", 3)
    dup = pd.concat([obs, obs.iloc[[1]].assign(pm25=75.0)], ignore_index=True)
    rt = realtime_report(dup)
    assert len(rt) == 3 and rt["iaqi_pm25"].tolist() == [15, 114, 15]  # the last duplicate wins
    aware = obs.assign(ts=obs["ts"].dt.tz_localize("UTC").dt.tz_convert("Asia/Shanghai"))
    assert realtime_report(aware)["ts"].tolist() == obs["ts"].tolist()
    with pytest.raises(ValueError, match="on the hour"):
        realtime_report(obs.assign(ts=obs["ts"] + pd.Timedelta(minutes=5)))
    with pytest.raises(ValueError, match="lack column"):
        daily_report(obs.drop(columns="o3"))
    with pytest.raises(ValueError, match="hour_label"):
        daily_report(obs, hour_label="middle")
    empty_rt = realtime_report(obs.iloc[:0])
    empty_d = daily_report(obs.iloc[:0])
    assert len(empty_rt) == 0 and len(empty_d) == 0 and "aqi" in empty_rt and "aqi" in empty_d


def random_obs(seed: int, start: str, hours: int, entities: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for e in range(entities):
        f = frame(start, hours, entity=f"S{e}")
        for col, scale in (("so2", 60), ("no2", 90), ("pm10", 160), ("pm25", 90), ("o3", 220), ("co", 3)):
            f[col] = np.round(rng.gamma(2.0, scale / 2, hours), 1 if col != "co" else 2)
            f.loc[rng.random(hours) < 0.08, col] = np.nan
        parts.append(f[rng.random(hours) > 0.03])
    return pd.concat(parts, ignore_index=True)


def test_realtime_report_agrees_with_scalar_aqi() -> None:
    rt = realtime_report(random_obs(7, "2026-02-26 00:00", 96, 3))
    assert set(rt["edition"]) == set(EDITIONS)
    for row in rt.itertuples():
        if row.edition == EDITION_2026:
            values = {
                "SO2_1H": row.so2_1h,
                "NO2_1H": row.no2_1h,
                "CO_1H": row.co_1h,
                "O3_1H": row.o3_1h,
                "PM10_1H": row.pm10_1h,
                "PM25_1H": row.pm25_1h,
            }
        else:
            values = {
                "SO2_1H": row.so2_1h,
                "NO2_1H": row.no2_1h,
                "CO_1H": row.co_1h,
                "O3_1H": row.o3_1h,
                "O3_8H": row.o3_8h,
                "PM10_1H": row.pm10_24h,
                "PM25_1H": row.pm25_24h,
            }
            if row.so2_1h > 800:  # SO2_24H is only the fallback in the real-time report
                values["SO2_24H"] = row.so2_24h
        r = aqi(values, edition=row.edition)
        got = {p: getattr(row, f"iaqi_{c}") for c, p in COLUMN_POLLUTANT}
        assert {p: (None if v is pd.NA else v) for p, v in got.items()} == r.iaqi, row
        assert (None if row.aqi is pd.NA else row.aqi) == r.aqi
        if r.aqi is not None:
            assert row.primary_pollutants == ",".join(r.primary_pollutants)
            assert (row.level, row.category, row.color) == (r.level, r.category, r.color)


def test_daily_report_agrees_with_scalar_aqi() -> None:
    d = daily_report(random_obs(11, "2026-02-20 16:00", 24 * 16, 3), min_windows_8h=10)
    assert set(d["edition"]) == set(EDITIONS)
    assert d["aqi"].notna().sum() > 20
    for row in d.itertuples():
        values = {
            "SO2_24H": row.so2_24h,
            "NO2_24H": row.no2_24h,
            "CO_24H": row.co_24h,
            "PM10_24H": row.pm10_24h,
            "PM25_24H": row.pm25_24h,
            "O3_8H": row.o3_8h_max,
        }
        if row.edition == EDITION_2012:
            values["O3_1H"] = row.o3_1h_max
        r = aqi(values, edition=row.edition)
        assert (None if row.aqi is pd.NA else row.aqi) == r.aqi, row
        assert (None if row.iaqi_o3 is pd.NA else row.iaqi_o3) == r.iaqi["O3"]
        if r.aqi is not None:
            assert row.primary_pollutants == ",".join(r.primary_pollutants)


def test_reports_scale_to_a_year_of_stations() -> None:
    """A year of 10 stations hourly completes (timings are printed by benchmarks, not asserted)."""
    ts = pd.date_range("2025-09-01", periods=24 * 365, freq="h")
    rng = np.random.default_rng(3)
    n = ts.size * 10
    obs = pd.DataFrame({"entity_id": np.repeat([f"S{i}" for i in range(10)], ts.size), "ts": np.tile(ts, 10)})
    for col in COLS:
        obs[col] = np.round(rng.gamma(2.0, 40.0, n), 1)
    rt = realtime_report(obs)
    d = daily_report(obs)
    assert len(rt) == n and len(d) == 10 * 366
    assert set(rt["edition"]) == set(EDITIONS) and rt["aqi"].notna().mean() > 0.99
