"""Map a department's records onto a canonical domain. Pure: frames in, frames out.

Steps, in order: check that every field the mapping needs is in the payload (else schema drift) →
rename → recode coded values → type each column (numbers, text, timestamps) → convert units → make
timestamps UTC (naive local times are read in the feed's timezone) → convert coordinates to WGS-84.

A value that cannot be typed (``"abc"`` in a number column, an unreadable timestamp) does not stop the
payload: its row is returned in ``rejects`` with a reason naming the column and the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cityops.base.domains import ENTITY_COLUMNS, Column, Domain, unit_factor
from geo.coords import to_wgs84
from ingest.errors import SchemaDriftError, TerminalError
from ingest.parse import ROW

_MISSING = {"", "nan", "NaN", "NAN", "null", "NULL", "None", "-", "--", "/", "N/A", "NA"}
_MISSING_ARROW = pa.array(sorted(_MISSING))
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class MappingSpec:
    """The parts of a feed's configuration the mapping needs (kept apart from pydantic models)."""

    fields: Mapping[str, str]
    units: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]]
    timezone: str
    datum: str = "wgs84"
    time_format: str | None = None
    entity_prefix: str = ""


@dataclass
class Mapped:
    frame: pd.DataFrame  # canonical columns + ROW
    rejects: list[tuple[int, str]]  # (ROW, reason)
    unmapped_fields: list[str]


def _columns(domain: Domain) -> tuple[Column, ...]:
    if domain.storage == "record":
        return domain.columns
    return (*domain.columns, *ENTITY_COLUMNS)


def check_fields(raw_columns: Iterable[str], domain: Domain, spec: MappingSpec, *, what: str) -> None:
    """Raise SchemaDriftError when a field the mapping names, or a required column, is absent."""
    present = set(raw_columns) - {ROW}
    missing_mapped = [f"{src!r} (for {canon})" for canon, src in spec.fields.items() if src not in present]
    missing_required = [
        c.name for c in _columns(domain) if c.required and c.name not in spec.fields and c.name not in present
    ]
    if not present:
        return  # no records at all: nothing to map, not drift
    if missing_mapped or missing_required:
        parts = []
        if missing_mapped:
            parts.append("mapped field(s) missing: " + ", ".join(missing_mapped))
        if missing_required:
            parts.append("required column(s) unmapped: " + ", ".join(missing_required))
        raise SchemaDriftError(
            f"{what}: schema drift — {'; '.join(parts)}; the payload has: {', '.join(sorted(present))}",
            hint="update the feed's [fields] mapping to the department's new field names",
        )


def _arrow_strings(series: pd.Series) -> pa.Array | None:
    """The series as an Arrow string array, when it is one (pandas 3 strings are Arrow-backed)."""
    if not (pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype)):
        return None
    try:
        arr = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def _as_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(series.dtype):
        # JSON integers with a null among them arrive as floats: id 1001 must stay "1001", not "1001.0".
        finite = series.dropna()
        if len(finite) and bool(np.isfinite(finite).all()) and bool((finite == np.floor(finite)).all()):
            series = series.astype("Int64")
    arr = _arrow_strings(series)
    if arr is not None:
        trimmed = pc.utf8_trim_whitespace(arr)
        cleaned = pc.if_else(
            pc.is_in(trimmed, value_set=_MISSING_ARROW), pa.scalar(None, trimmed.type), trimmed
        )
        return pd.Series(cleaned, index=series.index, dtype=pd.StringDtype(storage="pyarrow"))
    out = series.astype("string").str.strip()
    return out.mask(out.isin(_MISSING))


def _as_number(series: pd.Series, name: str, rejects: list[tuple[int, str]], rows: np.ndarray) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("float64")
    else:
        arr = _arrow_strings(series)
        values = None
        if arr is not None:
            # Fast path: Arrow casts the whole column in C++; any bad cell makes it raise, and then
            # the slow path below finds which rows are bad.
            try:
                cast = pc.cast(pc.utf8_trim_whitespace(arr), pa.float64())
                values = pd.Series(cast.to_numpy(zero_copy_only=False), index=series.index, dtype="float64")
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                values = None
        if values is None:
            text = _as_text(series)
            values = pd.to_numeric(text, errors="coerce").astype("float64")
            bad = text.notna() & values.isna()
            if bad.any():
                for i in np.flatnonzero(bad.to_numpy()):
                    rejects.append((int(rows[i]), f"{name}: {str(text.iloc[i])[:60]!r} is not a number"))
    inf = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
    if inf.any():
        for i in np.flatnonzero(inf):
            rejects.append((int(rows[i]), f"{name}: infinite value"))
    return values


def parse_times(
    series: pd.Series,
    *,
    tz: str,
    time_format: str | None,
    name: str,
    rejects: list[tuple[int, str]],
    rows: np.ndarray,
) -> pd.Series:
    """Any timestamps → naive UTC ``datetime64[us]``; naive inputs are local times in ``tz``."""
    n = len(series)
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    if n == 0:
        return out
    if time_format in ("epoch_ms", "epoch_s"):
        nums = _as_number(series, name, rejects, rows)
        unit = "ms" if time_format == "epoch_ms" else "s"
        out = pd.to_datetime(nums, unit=unit, errors="coerce").astype("datetime64[us]")
        return out
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        s = series
        if getattr(s.dt, "tz", None) is None:
            s = s.dt.tz_localize(ZoneInfo(tz), ambiguous="NaT", nonexistent="NaT")
        return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    fast = _parse_times_arrow(series, tz, time_format)
    if fast is not None:
        return fast
    text = _as_text(series)
    has_offset = text.str.contains(_OFFSET, na=False)
    aware_idx = has_offset.to_numpy()
    naive_idx = text.notna().to_numpy() & ~aware_idx
    fmt = time_format or "ISO8601"
    if aware_idx.any():
        parsed = pd.to_datetime(text[aware_idx], format=fmt, errors="coerce", utc=True)
        out.loc[aware_idx] = parsed.dt.tz_localize(None).astype("datetime64[us]")
    if naive_idx.any():
        parsed = pd.to_datetime(text[naive_idx], format=fmt, errors="coerce")
        local = parsed.dt.tz_localize(ZoneInfo(tz), ambiguous="NaT", nonexistent="NaT")
        out.loc[naive_idx] = local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    bad = text.notna() & out.isna()
    if bad.any():
        for i in np.flatnonzero(bad.to_numpy()):
            rejects.append((int(rows[i]), f"{name}: {str(text.iloc[i])[:60]!r} is not a timestamp"))
    return out


def _parse_times_arrow(series: pd.Series, tz: str, time_format: str | None) -> pd.Series | None:
    """Arrow's C++ parsers for the common cases (all naive, or all with an offset); None → slow path."""
    arr = _arrow_strings(series)
    if arr is None or (time_format is not None and time_format != "ISO8601"):
        return None
    arr = pc.utf8_trim_whitespace(arr)
    nonnull = len(arr) - arr.null_count
    if nonnull == 0:
        return None
    offsets = pc.sum(pc.match_substring_regex(arr, _OFFSET.pattern)).as_py() or 0
    try:
        if offsets == 0:
            local = pc.cast(arr, pa.timestamp("us"))
            # Ambiguous or skipped local times (DST changes) raise here and go to the slow path,
            # which rejects them.
            aware = pc.assume_timezone(local, timezone=tz, ambiguous="raise", nonexistent="raise")
            utc = pc.cast(aware, pa.timestamp("us", tz="UTC"))
        elif offsets == nonnull:
            utc = pc.cast(arr, pa.timestamp("us", tz="UTC"))
        else:
            return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    naive = pc.cast(utc, pa.timestamp("us"))
    return pd.Series(naive.to_numpy(zero_copy_only=False), index=series.index, dtype="datetime64[us]")


def map_records(raw: pd.DataFrame, domain: Domain, spec: MappingSpec, *, what: str = "payload") -> Mapped:
    """Map raw records (from :mod:`ingest.parse`) to the domain's canonical columns."""
    check_fields(raw.columns, domain, spec, what=what)
    rows = raw[ROW].to_numpy() if ROW in raw.columns else np.arange(1, len(raw) + 1)
    rejects: list[tuple[int, str]] = []
    used = set(spec.fields.values())
    out: dict[str, pd.Series] = {}
    for col in _columns(domain):
        src = spec.fields.get(col.name, col.name)
        if src not in raw.columns:
            if col.name in ("lon", "lat", "entity_name", "district_code") and domain.storage != "record":
                continue  # optional entity placement columns
            out[col.name] = pd.Series([None] * len(raw), index=raw.index, dtype=_empty_dtype(col))
            continue
        used.add(src)
        series = raw[src]
        if col.name in spec.values:
            codes = {str(k): v for k, v in spec.values[col.name].items()}
            text = _as_text(series)
            series = text.map(lambda v, c=codes: c.get(v, v) if v is not pd.NA else v)
        if col.type == "str":
            out[col.name] = _as_text(series)
        elif col.type in ("float", "int"):
            values = _as_number(series, col.name, rejects, rows)
            source_unit = spec.units.get(col.name)
            if source_unit and col.unit and source_unit != col.unit:
                try:
                    factor = unit_factor(source_unit, col.unit)
                except ValueError as exc:  # a configuration problem: fail the run, do not crash it
                    raise TerminalError(
                        f"{what}: units.{col.name}: {exc}", hint="fix the feed's [units] table"
                    ) from None
                values = values * factor
            out[col.name] = values
        elif col.type == "ts":
            out[col.name] = parse_times(
                series,
                tz=spec.timezone,
                time_format=spec.time_format,
                name=col.name,
                rejects=rejects,
                rows=rows,
            )
    frame = pd.DataFrame(out, index=raw.index)
    if spec.entity_prefix:
        # Keeps two departments' ids apart: entity ids, and the keys of record domains (incidents).
        for key in {"entity_id", *domain.key} & set(frame.columns):
            if domain.column(key).type == "str":
                frame[key] = spec.entity_prefix + frame[key]
    if "lon" in frame and "lat" in frame and spec.datum not in ("wgs84", "cgcs2000"):
        lon = frame["lon"].to_numpy(dtype="float64", na_value=np.nan)
        lat = frame["lat"].to_numpy(dtype="float64", na_value=np.nan)
        wlon, wlat = to_wgs84(lon, lat, spec.datum)
        frame["lon"] = wlon
        frame["lat"] = wlat
    frame[ROW] = rows
    unmapped = sorted(set(raw.columns) - used - {ROW} - {c.name for c in _columns(domain)})
    return Mapped(frame.reset_index(drop=True), rejects, unmapped)


def _empty_dtype(col: Column) -> str:
    return {"str": "string", "float": "float64", "int": "float64", "ts": "datetime64[us]"}[col.type]
