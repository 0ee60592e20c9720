"""Processing a landed payload: parse → map → plausibility → validate, and the quarantine frame.

The quarantine frame has one entry per payload row with a problem: a row that was refused, or a row
that landed with some cells made null (reasons with a ``cell_`` code, see :mod:`ingest.reasons`).

Pure apart from reading the landed files, so a run and a replay process a payload the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from cityops.base.domains import Domain
from cityops.base.settings import FeedSettings, FileSource
from ingest.envelope import NO_RECORDS
from ingest.errors import ParseError, SchemaDriftError
from ingest.landing import Landing
from ingest.mapping import MappingSpec, map_records
from ingest.parse import ROW, json_safe, parse_payload
from ingest.plausibility import Plausibility, check_plausible
from ingest.reasons import clip
from ingest.validate import validate_rows

PART_STRIDE = 1_000_000_000  # ROW = part index × stride + row within the part
_EMPTY_DTYPES = {
    "str": "string",
    "float": "float64",
    "int": "float64",
    "ts": "datetime64[us]",
}
RAW_VALUE_CHARS = 2000  # a quarantined row keeps its values up to this length (a 5 MB field is not copied)


@dataclass
class Processed:
    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    fetched: int
    duplicates: int
    notes: list[str]
    failed_parts: dict[str, str]
    data_max: datetime | None
    rows_refused: int = 0  # quarantined rows that did not land (the others lost only some cells)


def _quarantine_frame(
    entries: list[tuple[int, str]], raw_by_row: dict[int, str], multi_part: bool, part_names: list[str]
) -> pd.DataFrame:
    if not entries:
        return pd.DataFrame(columns=["row_number", "reason", "raw_row"])
    reasons: dict[int, list[str]] = {}
    for row, reason in entries:
        reasons.setdefault(row, [])
        if reason not in reasons[row]:
            reasons[row].append(reason)
    for rs in reasons.values():
        # A cell's problem first: it is often why the row then had no value left.
        rs.sort(key=lambda r: not r.startswith("[cell_"))
    out = []
    for row, rs in sorted(reasons.items()):
        part, local = divmod(row, PART_STRIDE)
        prefix = f"{part_names[part]} " if multi_part and part < len(part_names) else ""
        out.append({"row_number": local, "reason": prefix + "; ".join(rs), "raw_row": raw_by_row.get(row)})
    return pd.DataFrame(out)


def process_payload(
    directory: Path,
    *,
    feed_name: str,
    feed: FeedSettings,
    domain: Domain,
    spec: MappingSpec,
    now: datetime,
    future_tolerance: timedelta,
    checks: Plausibility | None = None,
) -> Processed:
    meta = Landing.read_meta(directory)
    parts = meta.get("parts", [])
    src = feed.source
    records = getattr(src, "records", None)
    encoding = getattr(src, "encoding", "auto")
    delimiter = getattr(src, "delimiter", ",")
    sheet = getattr(src, "sheet", 0)
    per_file = isinstance(src, FileSource)
    mapped_frames: list[pd.DataFrame] = []
    raw_frames: list[pd.DataFrame] = []
    entries: list[tuple[int, str]] = []
    cells: list[tuple[int, str]] = []
    failed: dict[str, str] = {}
    notes: list[str] = []
    bad_raw: dict[int, str] = {}  # lines the parser could not split, by ROW
    fetched = 0
    names = [p.get("origin") or p["name"] for p in parts]
    for i, part in enumerate(parts):
        if part.get("extra", {}).get(NO_RECORDS):
            continue  # the department's envelope said success with no records (null where they go)
        what = f"{feed_name} {part.get('origin') or part['name']}"
        try:
            data = Landing.read_part(directory, part["name"])
            parsed = parse_payload(
                data,
                part["format"],
                records=records,
                encoding=encoding,
                delimiter=delimiter,
                sheet=sheet,
                what=what,
            )
            if parsed.encoding and parsed.encoding not in ("utf-8",) and part["format"] == "csv":
                notes.append(f"{part.get('origin')}: decoded as {parsed.encoding}")
            raw = parsed.frame
            if len(raw):
                raw[ROW] = raw[ROW] + i * PART_STRIDE
            for bad in parsed.bad:
                row = i * PART_STRIDE + max(bad.row, 0)
                entries.append((row, bad.reason))
                bad_raw[row] = json.dumps({"line": bad.raw}, ensure_ascii=False)
            fetched += len(raw) + len(parsed.bad)
            if len(raw) == 0:
                continue
            mapped = map_records(raw, domain, spec, what=what)
        except (ParseError, SchemaDriftError) as exc:
            if not per_file:
                raise
            failed[part["name"]] = str(exc)
            continue
        if mapped.unmapped_fields:
            notes.append(
                f"{part.get('origin') or part['name']}: "
                f"fields not mapped: {', '.join(mapped.unmapped_fields[:12])}"
            )
        entries.extend(mapped.rejects)
        cells.extend(mapped.cells)
        mapped_frames.append(mapped.frame)
        raw_frames.append(raw)

    if mapped_frames:
        frame = pd.concat(mapped_frames, ignore_index=True) if len(mapped_frames) > 1 else mapped_frames[0]
    else:
        frame = pd.DataFrame(
            {c.name: pd.Series(dtype=_EMPTY_DTYPES[c.type]) for c in domain.columns}
            | {ROW: pd.Series(dtype="int64")}
        )
    rejected_rows = {r for r, _ in entries}
    if rejected_rows:
        frame = frame[~frame[ROW].isin(rejected_rows)]
    if checks is not None:
        checked = check_plausible(frame, domain, checks)
        entries.extend(checked.rejects)
        cells.extend(checked.cells)
        frame = checked.frame
        refused = {r for r, _ in checked.rejects}
        if refused:
            frame = frame[~frame[ROW].isin(refused)]
    validated = validate_rows(frame, domain, now=now, future_tolerance=future_tolerance)
    entries.extend(validated.rejects)
    refused_rows = {r for r, _ in entries}
    entries.extend(cells)

    raw_by_row: dict[int, str] = dict(bad_raw)
    wanted = {r for r, _ in entries} - set(bad_raw)
    if wanted and raw_frames:
        raw_all = pd.concat(raw_frames, ignore_index=True) if len(raw_frames) > 1 else raw_frames[0]
        subset = raw_all[raw_all[ROW].isin(wanted)]
        for rec in subset.to_dict("records"):
            row = int(rec.pop(ROW))
            clean = {
                k: _clip_raw(json_safe(v))
                for k, v in rec.items()
                if not (v is None or v is pd.NA or (isinstance(v, float) and v != v))
            }
            raw_by_row[row] = json.dumps(clean, ensure_ascii=False, default=str)
    quarantined = _quarantine_frame(entries, raw_by_row, len(parts) > 1, names)
    accepted = validated.accepted.drop(columns=[ROW])
    data_max = None
    if len(accepted) and domain.time_column in accepted:
        m = accepted[domain.time_column].max()
        data_max = None if pd.isna(m) else m.to_pydatetime().replace(tzinfo=UTC)
    return Processed(
        accepted,
        quarantined,
        fetched,
        validated.duplicates_dropped,
        notes,
        failed,
        data_max,
        rows_refused=len(refused_rows),
    )


def _clip_raw(value: object) -> object:
    return clip(value, RAW_VALUE_CHARS) if isinstance(value, str) and len(value) > RAW_VALUE_CHARS else value
