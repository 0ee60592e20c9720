"""实时报 and 日报: the real-time (hourly) and daily AQI reports over stored hourly observations.

See :func:`realtime_report` and :func:`daily_report` for the averaging windows, the timestamp
convention (``ts`` marks the END of its hour by default, as in HJ 663's "8时至24时" windows) and the
minimum-data rules (HJ 663-2013 / GB 3095-2012 Table 4 style: 24-h average ≥ 20 hourly values, 8-h
average ≥ 6 of 8, daily max 8-h average ≥ 14 of the 17 windows 8时–24时; the last two are from
memory of HJ 663-2013 and are parameters). Each row's edition follows :mod:`metrics.aqi.editions`.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metrics.aqi.editions import EDITION_2012, EDITION_2026, EFFECTIVE_UTC_NS
from metrics.aqi.hourly import (
    MICRO,
    OBS_COLUMNS,
    compute_mean,
    find_max_8h,
    prepare_hours,
    quantize,
    sum_windows,
)
from metrics.aqi.tables import FALLBACK_2012, POLLUTANTS, TABLES, check_edition
from metrics.aqi.vectorised import compute_aqi_columns, compute_iaqi_rational, iaqi_array, to_int_array

_COLUMN_POLLUTANT: Final = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "so2": "SO2",
    "no2": "NO2",
    "co": "CO",
    "o3": "O3",
}
_EDITION_LABELS: Final = pd.array([EDITION_2012, EDITION_2026], dtype="str")


def _is_2026_hours(hour_start: NDArray[np.int64]) -> NDArray[np.bool_]:
    return hour_start * 3_600_000_000_000 >= EFFECTIVE_UTC_NS


def _edition_mask(n: int, is_2026: NDArray[np.bool_], edition: str | None) -> NDArray[np.bool_]:
    if edition is None:
        return is_2026
    check_edition(edition)
    return np.full(n, edition == EDITION_2026)


def _iaqi_of_means(
    item: str,
    is_2026: NDArray[np.bool_],
    total: NDArray[np.int64],
    count: NDArray[np.int64],
    valid: NDArray[np.bool_],
    companion: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Exact IAQI of means total / (count·1e6) where ``valid``, per row edition; NaN elsewhere."""
    out = np.full(total.shape, np.nan)
    for edition, rows in ((EDITION_2026, is_2026 & valid), (EDITION_2012, ~is_2026 & valid)):
        if not rows.any():
            continue
        val, fallback = compute_iaqi_rational(item, edition, total[rows], count[rows] * MICRO)
        if fallback.any() and companion is not None:
            val[fallback] = companion[rows][fallback]
        out[rows] = val
    return out


def _iaqi_of_values(
    item: str,
    is_2026: NDArray[np.bool_],
    values: NDArray[np.float64],
    companion: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """IAQI of single (1-h) values per row edition; ``companion`` is the fallback IAQI (2012)."""
    out = np.full(values.shape, np.nan)
    for edition, rows in ((EDITION_2026, is_2026), (EDITION_2012, ~is_2026)):
        if rows.any():
            out[rows] = iaqi_array(item, values[rows], edition=edition)
    if companion is not None and item in FALLBACK_2012:
        with np.errstate(invalid="ignore"):
            fall = ~is_2026 & (values > TABLES[EDITION_2012][item][-1])
        out[fall] = companion[fall]
    return out


def _build_report(
    keys: dict[str, Any],
    is_2026: NDArray[np.bool_],
    values: dict[str, Any],
    sub: dict[str, NDArray[np.float64]],
    missing: str,
) -> pd.DataFrame:
    """The report's columns: ``keys``, ``edition``, ``values``, ``iaqi_*`` from ``sub``, then the AQI's."""
    out = pd.DataFrame({**keys, "edition": _EDITION_LABELS.take(is_2026.astype(np.int64)), **values})
    for col, pollutant in _COLUMN_POLLUTANT.items():
        out[f"iaqi_{col}"] = to_int_array(sub[pollutant])
    rows = len(is_2026)
    matrix = np.column_stack([sub[p] for p in POLLUTANTS]) if rows else np.empty((0, len(POLLUTANTS)))
    for name, column in compute_aqi_columns(matrix, is_2026, missing).items():
        out[name] = column
    return out


def realtime_report(
    obs: pd.DataFrame,
    *,
    tz: str = "Asia/Shanghai",
    hour_label: str = "end",
    edition: str | None = None,
    missing: str = "edition",
    min_hours_24h: int = 20,
    min_hours_8h: int = 6,
) -> pd.DataFrame:
    """实时报 (hourly real-time report) for every (entity_id, ts) row of ``obs``.

    ``obs`` columns: ``entity_id``, ``ts`` (naive UTC, hourly), ``so2 no2 pm10 pm25 o3`` (µg/m³), ``co``
    (mg/m³); NaN or negative = missing; absent hours count as missing in the moving windows. ``ts`` marks
    the END of its hour by default (``hour_label="end"``: the row at 14:00 is the 13:00–14:00 average,
    the convention of Chinese monitoring data and of HJ 663's "8时至24时" 8-h windows); pass
    ``hour_label="start"`` for feeds that stamp the start. Duplicate (entity, hour) rows: the last wins.
    ``tz`` is accepted for symmetry with :func:`daily_report` (hours do not depend on it).

    Edition per row by the hour's start (see :func:`~metrics.aqi.editions.edition_for`) unless
    ``edition`` is given:

    * 2026 — the six 1-h values; PM10/PM2.5 against the daily limits (§4.2.4).
    * 2012 — SO2, NO2, CO, O3 1-h values, O3 8-h moving average, PM10/PM2.5 24-h moving averages
      (the hour and the 7 / 23 before it). SO2 1-h > 800 falls back to the SO2 24-h moving average.

    Minimum data (convention after GB 3095-2012 Table 4 / HJ 663-2013): a 24-h moving average needs
    ``min_hours_24h`` (20) valid hours of 24, an 8-h one ``min_hours_8h`` (6) of 8, else it is NaN.
    Averages are exact means of the hourly values (taken to 1e-6), and their IAQI is computed from that
    exact mean.

    Output (sorted by entity_id, ts): ``entity_id, ts, edition``, the values used (``so2_1h no2_1h
    co_1h o3_1h pm10_1h pm25_1h o3_8h pm10_24h pm25_24h so2_24h``; NaN where the row's edition does not
    use it), ``iaqi_pm25 iaqi_pm10 iaqi_so2 iaqi_no2 iaqi_co iaqi_o3``, ``aqi``, ``primary_pollutants``
    (comma-joined, "" when AQI ≤ 50), ``level``, ``category``, ``color`` (NA when the AQI is NA).
    """
    del tz
    f = prepare_hours(obs, hour_label)
    n = len(f)
    codes = pd.factorize(f["entity_id"], sort=False)[0].astype(np.int64)
    h = f["_h"].to_numpy(dtype=np.int64)
    h_rel = h - (h.min() if n else 0) + 48
    key = codes * (int(h_rel.max() if n else 0) + 100) + h_rel
    is_2026 = _edition_mask(n, _is_2026_hours(h), edition)
    old = ~is_2026
    vals = {c: f[c].to_numpy(dtype=np.float64) for c in OBS_COLUMNS}
    q = {c: quantize(vals[c]) for c in ("so2", "pm10", "pm25", "o3")}

    def moving(
        col: str, width: int, need: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        scaled, ok = q[col]
        total, count = sum_windows(key, scaled, ok, width)
        return total, count, old & (count >= need)

    o3_8 = moving("o3", 8, min_hours_8h)
    pm10_24 = moving("pm10", 24, min_hours_24h)
    pm25_24 = moving("pm25", 24, min_hours_24h)
    so2_24 = moving("so2", 24, min_hours_24h)

    i_so2 = _iaqi_of_values(
        "SO2_1H", is_2026, vals["so2"], companion=_iaqi_of_means("SO2_24H", is_2026, *so2_24)
    )
    i_no2 = _iaqi_of_values("NO2_1H", is_2026, vals["no2"])
    i_co = _iaqi_of_values("CO_1H", is_2026, vals["co"])
    i_o3_1h = _iaqi_of_values("O3_1H", is_2026, vals["o3"])
    # 2012: O3 8-h moving average too; above 800 µg/m³ its IAQI is the 1-h one (NaN if that is missing).
    i_o3_8h = _iaqi_of_means("O3_8H", is_2026, *o3_8, companion=i_o3_1h)
    i_o3 = np.fmax(i_o3_1h, i_o3_8h)
    i_pm10 = np.where(
        is_2026,
        _iaqi_of_values("PM10_1H", is_2026, vals["pm10"]),
        _iaqi_of_means("PM10_24H", is_2026, *pm10_24),
    )
    i_pm25 = np.where(
        is_2026,
        _iaqi_of_values("PM25_1H", is_2026, vals["pm25"]),
        _iaqi_of_means("PM25_24H", is_2026, *pm25_24),
    )

    sub = {"PM2.5": i_pm25, "PM10": i_pm10, "SO2": i_so2, "NO2": i_no2, "CO": i_co, "O3": i_o3}
    keys = {"entity_id": f["entity_id"].to_numpy(), "ts": f["ts"].to_numpy()}
    used = {
        # negative 1-h values are missing, shown as NaN
        **{f"{c}_1h": np.where(vals[c] >= 0, vals[c], np.nan) for c in ("so2", "no2", "co", "o3")},
        "pm10_1h": np.where(is_2026, vals["pm10"], np.nan),
        "pm25_1h": np.where(is_2026, vals["pm25"], np.nan),
        "o3_8h": compute_mean(*o3_8),
        "pm10_24h": compute_mean(*pm10_24),
        "pm25_24h": compute_mean(*pm25_24),
        "so2_24h": compute_mean(*so2_24),
    }
    return _build_report(keys, is_2026, used, sub, missing)


def daily_report(
    obs: pd.DataFrame,
    *,
    tz: str = "Asia/Shanghai",
    hour_label: str = "end",
    edition: str | None = None,
    missing: str = "edition",
    min_hours_24h: int = 20,
    min_hours_8h: int = 6,
    min_windows_8h: int = 14,
) -> pd.DataFrame:
    """日报 (daily report) per entity and local calendar day in ``tz``.

    Input as for :func:`realtime_report` (``ts`` marks the END of its hour by default, so the day
    D holds the hours stamped D 01:00 … D+1 00:00 local, i.e. the 24 h before midnight; with
    ``hour_label="start"`` the hours stamped D 00:00 … 23:00). A day belongs to the edition in force at
    its local start (from 2026-03-01 → 2026) unless ``edition`` is given.

    * 2026 — 24-h averages of SO2, NO2, CO, PM10, PM2.5 + O3 daily maximum 8-h moving average.
    * 2012 — the same 24-h averages + O3 daily maximum 1-h value + O3 daily maximum 8-h average
      (O3 8-h > 800 falls back to the O3 1-h maximum).

    The 8-h windows are those ending 08:00 … 24:00 local (HJ 663: "8时至24时"), i.e. within the day.
    Minimum data (convention after GB 3095-2012 Table 4 / HJ 663-2013; parameters): a 24-h average
    needs ``min_hours_24h`` (20) valid hourly values, as does the O3 daily 1-h maximum (a convention);
    an 8-h average needs ``min_hours_8h`` (6) of 8; the daily maximum 8-h average needs
    ``min_windows_8h`` (14) valid windows. HJ 663's exception (an incomplete statistic that already
    exceeds the limit counts) is not applied.

    Output (sorted by entity_id, date): ``entity_id, date`` (local midnight, naive), ``edition``,
    ``hours`` (hours with any value), ``so2_24h no2_24h co_24h pm10_24h pm25_24h o3_8h_max o3_1h_max``
    (NaN where invalid or not used by the edition), ``iaqi_*``, ``aqi``, ``primary_pollutants``,
    ``level``, ``category``, ``color``.
    """
    f = prepare_hours(obs, hour_label)
    n = len(f)
    start_utc = pd.to_datetime(f["_h"].to_numpy(dtype=np.int64) * 3_600_000_000_000, utc=True)
    local = pd.DatetimeIndex(start_utc).tz_convert(tz)
    day_local = local.normalize()
    day_naive = day_local.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    # position of the hour within its local day (UTC arithmetic, so DST days have 23/25 hours)
    pos = ((start_utc - day_local.tz_convert("UTC")).to_numpy() // np.timedelta64(1, "h")).astype(np.int64)
    pos = np.clip(pos, 0, 24)
    codes = pd.factorize(f["entity_id"], sort=False)[0].astype(np.int64)
    day_code = day_naive.astype("datetime64[D]").astype(np.int64)
    group_key = codes * 10**7 + (day_code - (day_code.min() if n else 0))
    group, first = np.unique(group_key, return_index=True)
    gid = np.searchsorted(group, group_key)
    g = group.size
    day_start_utc = np.asarray(
        day_local.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    )[first]
    is_2026 = _edition_mask(g, day_start_utc.astype(np.int64) >= EFFECTIVE_UTC_NS, edition)
    old = ~is_2026

    def grid(col: str) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        scaled, ok = quantize(f[col].to_numpy(dtype=np.float64))
        s = np.zeros((g, 25), dtype=np.int64)
        m = np.zeros((g, 25), dtype=bool)
        raw = np.full((g, 25), np.nan)
        s[gid, pos] = scaled
        m[gid, pos] = ok
        raw[gid, pos] = np.where(ok, f[col].to_numpy(dtype=np.float64), np.nan)
        return np.where(m, s, 0), m, raw

    columns: dict[str, Any] = {}
    sub: dict[str, NDArray[np.float64]] = {}
    for col, item in (
        ("so2", "SO2_24H"),
        ("no2", "NO2_24H"),
        ("co", "CO_24H"),
        ("pm10", "PM10_24H"),
        ("pm25", "PM25_24H"),
    ):
        s, m, _ = grid(col)
        total, count = s.sum(axis=1), m.sum(axis=1)
        valid = count >= min_hours_24h
        columns[f"{col}_24h"] = compute_mean(total, count, valid)
        sub[_COLUMN_POLLUTANT[col]] = _iaqi_of_means(item, is_2026, total, count, valid)

    s, m, raw = grid("o3")
    best_t, best_c, windows_ok = find_max_8h(s, m, min_hours_8h)
    valid_8h = windows_ok >= min_windows_8h
    columns["o3_8h_max"] = compute_mean(best_t, best_c, valid_8h)
    o3_hours = m.sum(axis=1)
    valid_1h = old & (o3_hours >= min_hours_24h)
    o3_1h_max = np.where(valid_1h, np.where(m, raw, -1.0).max(axis=1), np.nan)
    columns["o3_1h_max"] = o3_1h_max
    i_o3_1h = _iaqi_of_values("O3_1H", np.zeros(g, dtype=bool), o3_1h_max)
    i_o3_8h = _iaqi_of_means("O3_8H", is_2026, best_t, best_c, valid_8h, companion=i_o3_1h)
    sub["O3"] = np.fmax(i_o3_8h, np.where(old, i_o3_1h, np.nan))

    hours_any = np.zeros(g, dtype=np.int64)
    anyvalue = np.zeros(n, dtype=bool)
    for col in OBS_COLUMNS:
        anyvalue |= quantize(f[col].to_numpy(dtype=np.float64))[1]
    np.add.at(hours_any, gid, anyvalue.astype(np.int64))

    keys = {"entity_id": f["entity_id"].to_numpy()[first], "date": day_naive[first]}
    out = _build_report(keys, is_2026, {"hours": hours_any, **columns}, sub, missing)
    return out.sort_values(["entity_id", "date"], kind="stable").reset_index(drop=True)
