"""Parse payloads (bytes) into frames of raw records. Pure: no I/O.

Every value comes out as it was sent (strings for CSV, JSON scalars for JSON); typing, units and
times are the mapping step's job. Each record keeps its position in the payload in ``_row``
(1-based; for CSV the line number in the file) so a quarantined row can be traced back.

Rows that cannot be split into fields (a CSV line with too many or too few fields, e.g. the last line
of a truncated file) are returned separately as :class:`BadRecord`\\ s rather than failing the whole
payload; a payload that cannot be read at all raises :class:`~ingest.errors.ParseError`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ingest.errors import ParseError

ROW = "_row"
SNIPPET_CHARS = 80  # of a payload quoted in an error
EXACT_FLOAT_INT = 2**53  # integers up to this size are exact as floats


@dataclass(frozen=True)
class BadRecord:
    row: int
    reason: str
    raw: str


@dataclass
class Parsed:
    frame: pd.DataFrame
    bad: list[BadRecord]
    encoding: str | None = None


def decode_text(data: bytes | bytearray, encoding: str = "auto", *, what: str = "payload") -> tuple[str, str]:
    """Decode bytes; ``auto`` tries UTF-8 (with or without BOM) and then GB18030 (a superset of GBK)."""
    if encoding.lower() == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            try:
                return data.decode("gb18030"), "gb18030"
            except UnicodeDecodeError as exc:
                raise ParseError(
                    f"{what} is neither UTF-8 nor GB18030 text (bad byte at offset {exc.start})",
                    hint="set the feed's source.encoding to the department's encoding",
                ) from None
    try:
        return data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding), encoding
    except LookupError:
        raise ParseError(
            f"unknown encoding {encoding!r}", hint="use e.g. 'utf-8', 'gbk', 'gb18030' or 'auto'"
        ) from None
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{what} is not valid {encoding} text (bad byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="the department may send GBK: set source.encoding = 'gbk' or 'auto'",
        ) from None


def _constant_text(name: str) -> str:
    # NaN, Infinity and -Infinity are not JSON, but Python's reader accepts them. Kept as the text they
    # were, a number column reads them as invalid values (a float NaN would pass for a missing value).
    return name


def load_json_text(text: str) -> Any:
    """The JSON document of untrusted ``text``: NaN/Infinity constants come out as their text.

    Raises :class:`json.JSONDecodeError` for malformed text, and :class:`ParseError` (without the
    document's location) for JSON Python cannot hold: an integer with thousands of digits, nesting
    deeper than the interpreter's recursion limit.
    """
    try:
        return json.loads(text, parse_constant=_constant_text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() refuses more digits than sys.get_int_max_str_digits()
        raise ParseError(f"a number with more than {sys.get_int_max_str_digits()} digits") from None
    except RecursionError:
        raise ParseError("arrays or objects nested too deeply to read") from None


def _check_not_empty(data: bytes, what: str) -> None:
    if not data or not data.strip():
        raise ParseError(
            f"{what} is empty ({len(data)} bytes)", hint="check the source; an empty list would be '[]'"
        )


def dig(obj: Any, path: str | None, *, what: str = "payload") -> Any:
    """Follow a dotted path (``data.items``) into parsed JSON."""
    if not path:
        return obj
    node = obj
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            keys = ", ".join(map(str, node.keys())) if isinstance(node, dict) else type(node).__name__
            raise ParseError(f"{what}: path {path!r} not found at {part!r} (found: {keys})")
    return node


def _json_records(records: Any, what: str) -> list[dict[str, Any]]:
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise ParseError(f"{what}: expected a list of records, got {type(records).__name__}")
    return records


def _frame_from_records(records: list[Any], what: str, first_row: int = 1) -> Parsed:
    good: list[dict[str, Any]] = []
    rows: list[int] = []
    bad: list[BadRecord] = []
    for i, rec in enumerate(records, start=first_row):
        if isinstance(rec, dict):
            good.append(rec)
            rows.append(i)
        else:
            bad.append(
                BadRecord(i, f"record {i} is a {type(rec).__name__}, not an object", json.dumps(rec)[:2000])
            )
    frame = pd.DataFrame.from_records(good) if good else pd.DataFrame()
    for name in frame.columns:
        column = frame[name]
        # JSON integers with a null among them come out as floats, which hold integers exactly only up
        # to 2**53: a column with larger ones keeps the values as sent (ids such as 12345678901234567).
        if pd.api.types.is_float_dtype(column.dtype) and bool((column.abs() > EXACT_FLOAT_INT).any()):
            sent = [rec.get(name) for rec in good]
            if any(type(v) is int for v in sent):
                frame[name] = pd.Series(sent, index=frame.index, dtype=object)
    frame[ROW] = rows
    return Parsed(frame, bad)


def _load_json(data: bytes, what: str, kind: str) -> tuple[Any, str]:
    """The decoded JSON document of ``data`` and the text encoding it was read with."""
    _check_not_empty(data, what)
    text, enc = decode_text(data, "auto", what=what)
    try:
        return load_json_text(text), enc
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{what} is not valid {kind}: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(of {len(data)} bytes)",
            hint="the payload may be truncated; the raw file is kept in the landing area",
        ) from None
    except ParseError as exc:
        start = json.dumps(" ".join(text[:SNIPPET_CHARS].split()), ensure_ascii=False)
        raise ParseError(
            f"{what} is not readable {kind}: {exc.message} (of {len(data)} bytes, starting {start})",
            hint="the department's payload cannot be read as sent; the raw file is kept in the landing area",
        ) from None


def parse_json(data: bytes, *, records: str | None = None, what: str = "payload") -> Parsed:
    obj, enc = _load_json(data, what, "JSON")
    parsed = _frame_from_records(_json_records(dig(obj, records, what=what), what), what)
    parsed.encoding = enc
    return parsed


def _representative_point(geom: dict[str, Any]) -> tuple[float, float] | None:
    """A point for a GeoJSON geometry: the point itself, or the middle vertex of a line/polygon ring."""
    gtype = geom.get("type")
    coords: Any = geom.get("coordinates")
    try:
        if gtype == "Point":
            return float(coords[0]), float(coords[1])
        if gtype == "LineString":
            mid = coords[len(coords) // 2]
            return float(mid[0]), float(mid[1])
        if gtype in ("MultiLineString", "Polygon"):
            ring = coords[0]
            xs = [p[0] for p in ring]
            ys = [p[1] for p in ring]
            return sum(xs) / len(xs), sum(ys) / len(ys)
        if gtype == "MultiPoint":
            return float(coords[0][0]), float(coords[0][1])
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return None
    return None


def parse_geojson(data: bytes, *, what: str = "payload") -> Parsed:
    obj, enc = _load_json(data, what, "GeoJSON")
    if (
        not isinstance(obj, dict)
        or obj.get("type") != "FeatureCollection"
        or not isinstance(obj.get("features"), list)
    ):
        raise ParseError(f"{what}: expected a GeoJSON FeatureCollection")
    records: list[Any] = []
    for feat in obj["features"]:
        if not isinstance(feat, dict):
            records.append(feat)
            continue
        rec = dict(feat.get("properties") or {})
        geom = feat.get("geometry")
        if isinstance(geom, dict):
            point = _representative_point(geom)
            if point is not None:
                rec.setdefault("lon", point[0])
                rec.setdefault("lat", point[1])
            rec["geometry"] = json.dumps(geom, separators=(",", ":"))
        records.append(rec)
    parsed = _frame_from_records(records, what)
    parsed.encoding = enc
    return parsed


def parse_csv(data: bytes, *, encoding: str = "auto", delimiter: str = ",", what: str = "payload") -> Parsed:
    _check_not_empty(data, what)
    text, enc = decode_text(data, encoding, what=what)
    bad: list[BadRecord] = []

    def on_invalid(row: Any) -> str:
        # pyarrow reports the physical line number (1-based) when it knows it.
        line = row.number if row.number is not None and row.number >= 0 else -1
        bad.append(
            BadRecord(
                line,
                f"line {line}: {row.actual_columns} fields, the header has {row.expected_columns}"
                + (" (truncated payload?)" if row.actual_columns < row.expected_columns else ""),
                row.text[:2000],
            )
        )
        return "skip"

    # pyarrow reads UTF-8 bytes: pass the payload through unless it had to be transcoded.
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if enc != "utf-8":
        body = text.encode("utf-8")
    end = text.find("\n")
    first_line = (text if end < 0 else text[:end]).rstrip("\r")
    names = next(csv.reader([first_line], delimiter=delimiter), [])
    if not names or len(set(names)) != len(names):
        raise ParseError(f"{what}: the CSV header {first_line[:200]!r} is empty or repeats a column name")

    def read(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(block_size=1 << 24, use_threads=threads),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        table = read(True)
        if any(b.row < 0 for b in bad):
            # Multi-threaded parsing does not know line numbers; bad rows are rare, so read again.
            bad.clear()
            table = read(False)
    except pa.ArrowInvalid as exc:
        raise ParseError(f"{what} is not readable CSV: {str(exc).splitlines()[0]}") from None
    # Arrow-backed columns: no copy here, and the mapping's Arrow fast paths take them as they are.
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    # Physical line numbers: the header is line 1 and skipped (bad) lines take their own numbers.
    bad_lines = {b.row for b in bad if b.row > 0}
    if bad_lines:
        lines = [n for n in range(2, 2 + len(frame) + len(bad_lines)) if n not in bad_lines][: len(frame)]
        rows = np.array(lines, dtype=np.int64)
    else:
        rows = np.arange(2, 2 + len(frame), dtype=np.int64)
    frame[ROW] = rows
    return Parsed(frame, bad, enc)


def parse_xlsx(data: bytes, *, sheet: str | int = 0, what: str = "payload") -> Parsed:
    _check_not_empty(data, what)
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise ParseError(f"{what}: cannot read sheet {sheet!r}: {exc}") from None
    except Exception as exc:  # openpyxl raises a zoo of types (BadZipFile, KeyError, InvalidFileException)
        raise ParseError(f"{what} is not a readable Excel workbook: {type(exc).__name__}: {exc}") from None
    frame = frame.dropna(how="all")
    frame = frame.astype(object).where(frame.notna(), None)
    frame[ROW] = frame.index.to_numpy() + 2
    return Parsed(frame.reset_index(drop=True), [])


def parse_payload(
    data: bytes,
    fmt: str,
    *,
    records: str | None = None,
    encoding: str = "auto",
    delimiter: str = ",",
    sheet: str | int = 0,
    what: str = "payload",
) -> Parsed:
    """Parse one payload of the given format (json, csv, geojson, xlsx)."""
    if fmt == "json":
        return parse_json(data, records=records, what=what)
    if fmt == "geojson":
        return parse_geojson(data, what=what)
    if fmt == "csv":
        return parse_csv(data, encoding=encoding, delimiter=delimiter, what=what)
    if fmt == "xlsx":
        return parse_xlsx(data, sheet=sheet, what=what)
    raise ParseError(f"unknown payload format {fmt!r}", hint="use json, csv, geojson or xlsx")


def format_for_filename(name: str) -> str:
    lower = name.lower()
    for ext, fmt in (
        (".geojson", "geojson"),
        (".json", "json"),
        (".csv", "csv"),
        (".xlsx", "xlsx"),
        (".txt", "csv"),
    ):
        if lower.endswith(ext):
            return fmt
    raise ParseError(f"cannot tell the format of {name!r} from its extension", hint="set source.format")


def json_safe(value: Any) -> Any:
    """A value as JSON can hold it (NaN → None, timestamps → ISO)."""
    if value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return json_safe(value.item())
    return value
