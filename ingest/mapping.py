"""Map a department's records onto a canonical domain. Pure: frames in, frames out.

Steps, in order: check that every field the mapping needs is in the payload (else schema drift) →
rename → recode coded values → type each column (numbers, text, timestamps) → convert units → make
timestamps UTC (naive local times are read in the feed's timezone) → convert coordinates to WGS-84.

Cells are read the way departments write them (:mod:`ingest.conventions`): missing-value markers
("—", "/", "-999", configurable per feed) become null; full-width digits, thousands separators and
unit suffixes are understood; timestamps come in many shapes.

A value that cannot be typed (``"abc"`` or ``"NaN"`` in a number column, an unreadable timestamp) does
not stop the payload. In a key or required column its row is returned in ``rejects``; elsewhere the
cell becomes null, the rest of the row goes on, and the cell is listed in ``cells`` with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cityops.base.domains import ENTITY_COLUMNS, Column, Domain, unit_factor
from cityops.base.settings.conventions import DEFAULT_MISSING_MARKERS
from geo.coords import to_wgs84
from ingest.conventions import CellError, parse_number_text, parse_time_text
from ingest.errors import SchemaDriftError, TerminalError
from ingest.parse import EXACT_FLOAT_INT, ROW
from ingest.reasons import clip, make_reason

# A time of day followed by a UTC offset: Z, +08, +0800 or +08:00 (after a date alone, "-15" is the day).
# Both Python's re and Arrow's RE2 read it.
_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


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
    missing: tuple[str, ...] = DEFAULT_MISSING_MARKERS
    day_first: bool = False
    max_text_chars: int = 10_000

    @property
    def markers(self) -> frozenset[str]:
        return frozenset(m.strip() for m in self.missing)

    @property
    def numeric_markers(self) -> tuple[float, ...]:
        out = []
        for marker in self.missing:
            try:
                out.append(float(marker))
            except ValueError:
                continue
        return tuple(v for v in out if np.isfinite(v))


# Named shapes a feed may give as time_format besides a strptime format.
_NAMED_FORMATS = {"compact": "%Y%m%d%H%M%S", "iso": None, "auto": None}


@dataclass
class Mapped:
    frame: pd.DataFrame  # canonical columns + ROW
    rejects: list[tuple[int, str]]  # (ROW, reason): the whole row is refused
    unmapped_fields: list[str]
    cells: list[tuple[int, str]] = field(default_factory=list)  # (ROW, reason): the cell became null


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


def _as_text(series: pd.Series, markers: frozenset[str] = frozenset(DEFAULT_MISSING_MARKERS)) -> pd.Series:
    """The series as trimmed text; missing-value markers become null."""
    if pd.api.types.is_float_dtype(series.dtype):
        # JSON integers with a null among them arrive as floats: id 1001 must stay "1001", not "1001.0".
        # Only integers a float holds exactly are written as integers (parsing keeps larger ones as
        # sent); any other float reads as Python writes it ("1.5", "1e+20").
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (np.abs(values) <= EXACT_FLOAT_INT) & (values == np.floor(values))
        known = ~np.isnan(values)
        if whole[known].all():
            series = series.astype("Int64")
        elif whole.any():
            text = pd.Series(
                [
                    str(int(v)) if w else (None if np.isnan(v) else str(v))
                    for v, w in zip(values, whole, strict=True)
                ],
                index=series.index,
                dtype="string",
            )
            series = text
    arr = _arrow_strings(series)
    if arr is not None:
        trimmed = pc.utf8_trim_whitespace(arr)
        cleaned = pc.if_else(
            pc.is_in(trimmed, value_set=pa.array(sorted(markers), pa.string())),
            pa.scalar(None, trimmed.type),
            trimmed,
        )
        return pd.Series(cleaned, index=series.index, dtype=pd.StringDtype(storage="pyarrow"))
    out = series.astype("string").str.strip()
    return out.mask(out.isin(markers))


def _cell_reason(code: str, name: str, detail: str, value: object, *, row_level: bool) -> str:
    # The same problem quarantines a whole row when it hits a key or required column.
    code = code.removeprefix("cell_") if row_level else "cell_" + code.removeprefix("cell_")
    return make_reason(code, f"{name}: {detail}", column=name, value=clip(value))


def _as_number(
    series: pd.Series,
    name: str,
    bad: list[tuple[int, str, str, object]],
    rows: np.ndarray,
    *,
    spec: MappingSpec | None = None,
    unit: str = "",
) -> pd.Series:
    """Numbers of a column; cells that are not numbers become NaN and are listed in ``bad`` as
    (ROW, code, detail, raw value)."""
    markers = spec.markers if spec is not None else frozenset(DEFAULT_MISSING_MARKERS)
    numeric_markers = spec.numeric_markers if spec is not None else ()
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("float64")
    else:
        arr = _arrow_strings(series)
        values = None
        if arr is not None:
            # Fast path: Arrow casts the whole column in C++; any bad cell makes it raise, and then
            # the slow path below finds which rows are bad. "NaN" text casts silently: slow path too.
            try:
                cast = pc.cast(pc.utf8_trim_whitespace(arr), pa.float64())
                if not pc.any(pc.is_nan(cast)).as_py():
                    values = pd.Series(
                        cast.to_numpy(zero_copy_only=False), index=series.index, dtype="float64"
                    )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                values = None
        if values is None:
            text = _as_text(series, markers)
            values = pd.to_numeric(text, errors="coerce").astype("float64")
            unread = (text.notna() & values.isna()).to_numpy()
            if unread.any():
                values = values.copy()
                seen: dict[str, float | CellError] = {}
                for i in np.flatnonzero(unread):
                    cell = str(text.iloc[i])
                    if cell not in seen:
                        folded = parse_number_text(cell, unit=unit)
                        seen[cell] = folded
                    got = seen[cell]
                    if isinstance(got, CellError):
                        bad.append((int(rows[i]), got.code, got.detail, cell))
                    else:
                        values.iloc[i] = got
    arr_values = values.to_numpy(dtype="float64", na_value=np.nan)
    inf = np.isinf(arr_values)
    if inf.any():
        values = values.mask(inf)
        sent = series if not pd.api.types.is_numeric_dtype(series.dtype) else None
        for i in np.flatnonzero(inf):
            shown = str(sent.iloc[i]).strip() if sent is not None else "inf"
            bad.append(
                (int(rows[i]), "cell_invalid", "infinite value (NaN/Infinity are invalid values)", shown)
            )
    if numeric_markers:
        values = values.mask(values.isin(numeric_markers))
    return values


def parse_times(
    series: pd.Series,
    *,
    tz: str,
    time_format: str | None,
    name: str,
    rejects: list[tuple[int, str]],
    rows: np.ndarray,
    spec: MappingSpec | None = None,
    row_level: bool = True,
    cells: list[tuple[int, str]] | None = None,
) -> pd.Series:
    """Any timestamps → naive UTC ``datetime64[us]``; naive inputs are local times in ``tz``.

    A cell that cannot be read goes to ``rejects`` (``row_level``) or ``cells``, and becomes NaT.
    """
    n = len(series)
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    sink = rejects if row_level or cells is None else cells
    if n == 0:
        return out
    markers = spec.markers if spec is not None else frozenset(DEFAULT_MISSING_MARKERS)
    day_first = spec.day_first if spec is not None else False
    time_format = _NAMED_FORMATS.get(time_format, time_format) if time_format else None
    if time_format in ("epoch_ms", "epoch_s"):
        bad: list[tuple[int, str, str, object]] = []
        nums = _as_number(series, name, bad, rows, spec=spec)
        for row, code, detail, value in bad:
            sink.append((row, _cell_reason(code, name, detail, value, row_level=row_level)))
        unit = "ms" if time_format == "epoch_ms" else "s"
        out = pd.to_datetime(nums, unit=unit, errors="coerce").astype("datetime64[us]")
        return out
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        s = series
        if getattr(s.dt, "tz", None) is None:
            s = s.dt.tz_localize(ZoneInfo(tz), ambiguous="NaT", nonexistent="NaT")
        return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    # Missing-value markers first: a marker that looks like a time ("1900-01-01 00:00:00") is no time.
    text = _as_text(series, markers)
    fast = _parse_times_arrow(text, tz, time_format)
    if fast is not None:
        return fast
    problems: dict[int, str] = {}
    # Vectorised first (the given format, or ISO-8601); what that cannot read, cell by cell in every
    # shape departments use (unless the feed named its format).
    fmt = time_format or "ISO8601"
    has_offset = text.str.contains(_OFFSET, na=False)
    aware_idx = has_offset.to_numpy()
    naive_idx = text.notna().to_numpy() & ~aware_idx
    if aware_idx.any():
        out.loc[aware_idx] = _to_utc_naive(text[aware_idx], fmt, tz, aware=True)
    if naive_idx.any():
        out.loc[naive_idx] = _to_utc_naive(text[naive_idx], fmt, tz, aware=False)
    if time_format is None or time_format == "ISO8601":
        seen: dict[str, datetime | CellError] = {}
        naive: dict[int, datetime] = {}
        for i in np.flatnonzero((text.notna() & out.isna()).to_numpy()):
            cell = str(text.iloc[i])
            if cell not in seen:
                seen[cell] = parse_time_text(cell, day_first=day_first)
            got = seen[cell]
            if isinstance(got, CellError):
                problems[int(i)] = _cell_reason(got.code, name, got.detail, cell, row_level=row_level)
            elif got.tzinfo is not None:
                out.iloc[i] = pd.Timestamp(got.astimezone(UTC).replace(tzinfo=None))
            else:
                naive[int(i)] = got
        if naive:
            idx = np.fromiter(naive.keys(), dtype=np.int64)
            local = pd.Series(pd.to_datetime(list(naive.values())), index=idx)
            aware = local.dt.tz_localize(ZoneInfo(tz), ambiguous="NaT", nonexistent="NaT")
            utc = aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
            out.iloc[idx] = utc.to_numpy()
    bad_rows = (text.notna() & out.isna()).to_numpy()
    for i in np.flatnonzero(bad_rows):
        cell = str(text.iloc[i])
        reason = problems.get(
            int(i),
            _cell_reason(
                "cell_time_invalid",
                name,
                f"{clip(cell, 60)!r} is not a timestamp (or does not exist in {tz})",
                cell,
                row_level=row_level,
            ),
        )
        sink.append((int(rows[i]), reason))
    return out


def _to_utc_naive(text: pd.Series, fmt: str, tz: str, *, aware: bool) -> pd.Series:
    """Naive UTC times of ``text`` read with ``fmt``: ``aware`` text carries offsets; other text is local
    in ``tz``. What the vectorised reader cannot read (or reads as a mix of times with and without an
    offset) is NaT, for the cell-by-cell reading afterwards."""
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=aware)
    except (ValueError, TypeError, OverflowError):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize(ZoneInfo(tz), ambiguous="NaT", nonexistent="NaT")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


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
    cells: list[tuple[int, str]] = []
    used = set(spec.fields.values())
    out: dict[str, pd.Series] = {}
    markers = spec.markers
    for col in _columns(domain):
        src = spec.fields.get(col.name, col.name)
        if src not in raw.columns:
            if col.name in ("lon", "lat", "entity_name", "district_code") and domain.storage != "record":
                continue  # optional entity placement columns
            out[col.name] = pd.Series([None] * len(raw), index=raw.index, dtype=_empty_dtype(col))
            continue
        used.add(src)
        row_level = col.required or col.name in domain.key
        sink = rejects if row_level else cells
        series = raw[src]
        if col.name in spec.values:
            codes = {str(k): v for k, v in spec.values[col.name].items()}
            text = _as_text(series, markers)
            series = text.map(lambda v, c=codes: c.get(v, v) if v is not pd.NA else v)
        if col.type == "str":
            text = _as_text(series, markers)
            lengths = text.str.len().to_numpy(dtype="float64", na_value=0.0)
            too_long = lengths > spec.max_text_chars
            if too_long.any():
                for i in np.flatnonzero(too_long):
                    detail = f"a text of {int(lengths[i]):,} characters (limit {spec.max_text_chars:,})"
                    reason = _cell_reason("cell_too_long", col.name, detail, "", row_level=row_level)
                    sink.append((int(rows[i]), reason))
                text = text.mask(too_long)
            out[col.name] = text
        elif col.type in ("float", "int"):
            source_unit = spec.units.get(col.name)
            bad: list[tuple[int, str, str, object]] = []
            values = _as_number(series, col.name, bad, rows, spec=spec, unit=source_unit or col.unit)
            for row, code, detail, value in bad:
                sink.append((row, _cell_reason(code, col.name, detail, value, row_level=row_level)))
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
                spec=spec,
                row_level=row_level,
                cells=cells,
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
    return Mapped(frame.reset_index(drop=True), rejects, unmapped, cells)


def _empty_dtype(col: Column) -> str:
    return {"str": "string", "float": "float64", "int": "float64", "ts": "datetime64[us]"}[col.type]
