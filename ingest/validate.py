"""Validate mapped rows against their domain with pandera; split them into accepted and rejected.

Checks come from the domain's declaration (types, required columns, ranges, allowed codes) plus the
rules no schema library knows: a timestamp too far in the future, an observation row with no value
at all, and duplicate keys inside one payload (exact copies collapse into one; conflicting copies keep
the last and reject the earlier ones, so a department's in-payload correction wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from cityops.base.domains import ENTITY_COLUMNS, Column, Domain
from ingest.parse import ROW
from ingest.reasons import make_reason


@dataclass
class Validated:
    accepted: pd.DataFrame
    rejects: list[tuple[int, str]]
    duplicates_dropped: int = 0
    notes: list[str] = field(default_factory=list)


def _check_text(col: Column) -> str:
    parts = []
    if col.min is not None and col.max is not None:
        parts.append(f"outside [{col.min:g}, {col.max:g}] {col.unit}".rstrip())
    elif col.min is not None:
        parts.append(f"below {col.min:g}")
    elif col.max is not None:
        parts.append(f"above {col.max:g}")
    return " ".join(parts)


@lru_cache(maxsize=64)
def schema_for(domain: Domain) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {}
    cols = domain.columns if domain.storage == "record" else (*domain.columns, *ENTITY_COLUMNS)
    for col in cols:
        checks = []
        if col.type in ("float", "int"):
            if col.min is not None and col.max is not None:
                checks.append(pa.Check.in_range(col.min, col.max, error=f"{col.name} {_check_text(col)}"))
            elif col.min is not None:
                checks.append(pa.Check.ge(col.min, error=f"{col.name} {_check_text(col)}"))
            elif col.max is not None:
                checks.append(pa.Check.le(col.max, error=f"{col.name} {_check_text(col)}"))
            if col.type == "int":
                checks.append(
                    pa.Check(
                        lambda s: s.isna() | (s == np.floor(s)),
                        element_wise=False,
                        error=f"{col.name} is not a whole number",
                    )
                )
        if col.allowed:
            checks.append(
                pa.Check.isin(list(col.allowed), error=f"{col.name} not one of {', '.join(col.allowed)}")
            )
        dtype = {"str": "string", "float": "float64", "int": "float64", "ts": "datetime64[us]"}[col.type]
        columns[col.name] = pa.Column(dtype, checks=checks, nullable=not col.required, required=False)
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _reasons_from_failures(failures: pd.DataFrame, rows: np.ndarray) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for rec in failures.itertuples(index=False):
        idx = getattr(rec, "index", None)
        if idx is None or pd.isna(idx):
            # A column-level failure (e.g. wrong dtype) is a bug in mapping, not bad data.
            raise AssertionError(f"column-level validation failure: {rec}")
        check = str(rec.check)
        column = rec.column
        if check == "not_nullable":
            reason = make_reason("required_missing", f"{column}: required value missing", column=column)
        else:
            value = rec.failure_case
            detail = (
                f"{check} (value {value!r})"
                if column and check.startswith(str(column))
                else f"{column}: {check} (value {value!r})"
            )
            reason = make_reason("invalid", detail, column=column, value=str(value))
        out.append((int(rows[int(idx)]), reason))
    return out


def validate_rows(
    frame: pd.DataFrame, domain: Domain, *, now: datetime, future_tolerance: timedelta
) -> Validated:
    """Validate mapped rows (index must be 0..n-1, with ROW)."""
    frame = frame.reset_index(drop=True)
    if frame.empty:
        return Validated(frame, [])
    rows = frame[ROW].to_numpy()
    rejects: list[tuple[int, str]] = []
    try:
        schema_for(domain).validate(frame, lazy=True)
    except SchemaErrors as exc:
        rejects.extend(_reasons_from_failures(exc.failure_cases, rows))

    time_col = domain.time_column
    if time_col in frame:
        limit = pd.Timestamp(now).tz_convert("UTC").tz_localize(None) + pd.Timedelta(future_tolerance)
        future = (frame[time_col] > limit).to_numpy()
        for i in np.flatnonzero(future):
            at = f"{frame[time_col].iloc[i]:%Y-%m-%d %H:%M}"
            rejects.append(
                (
                    int(rows[i]),
                    make_reason(
                        "future", f"{time_col}: {at} UTC is in the future", column=time_col, value=at
                    ),
                )
            )
    if domain.values:
        empty = frame[list(domain.values)].isna().all(axis=1).to_numpy()
        for i in np.flatnonzero(empty):
            rejects.append(
                (
                    int(rows[i]),
                    make_reason(
                        "no_value",
                        f"no value: all of {', '.join(domain.values)} are missing",
                        columns=", ".join(domain.values),
                    ),
                )
            )

    bad_rows = {r for r, _ in rejects}
    ok = frame[~frame[ROW].isin(bad_rows)] if bad_rows else frame

    # Duplicate keys within the payload.
    key = list(domain.key)
    dropped = 0
    dup_mask = ok.duplicated(subset=key, keep="last")
    if dup_mask.any():
        value_cols = [c for c in ok.columns if c != ROW]
        exact = ok.duplicated(subset=value_cols, keep="last")
        dropped = int((dup_mask & exact).sum())
        conflicting = ok[dup_mask & ~exact]
        if len(conflicting):
            last_row = ok.drop_duplicates(subset=key, keep="last").set_index(key)[ROW]
            for rec in conflicting[[*key, ROW]].to_dict("records"):
                k = tuple(rec[c] for c in key)
                later = last_row.loc[k if len(k) > 1 else k[0]]
                key_text = ", ".join(f"{c}={v}" for c, v in zip(key, k, strict=True))
                rejects.append(
                    (
                        int(rec[ROW]),
                        make_reason(
                            "duplicate",
                            f"duplicate key ({key_text}) with other values; superseded by row {int(later)}",
                            key=key_text,
                            row=int(later),
                        ),
                    )
                )
        ok = ok[~dup_mask]
    return Validated(ok.reset_index(drop=True), rejects, dropped)
