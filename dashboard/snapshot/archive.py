"""The day's report folder on disk and in the warehouse: the data files (deterministic Parquet),
``summary.json``, ``report.html``, ``manifest.json`` (the SHA-256 of every file) and the ``snapshot``
table's record of the render."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.snapshot.html_report import render_report_html
from dashboard.snapshot.report import Report, ReportFigure
from dashboard.snapshot.result import SnapshotResult
from dashboard.snapshot.summary import build_summary
from dashboard.snapshot.window import snapshot_dir

log = logging.getLogger("cityops.snapshot")

# What a render writes into the day's folder: a previous render is replaced, anything else refused.
REPORT_ENTRIES = frozenset({"figures", "data", "report.html", "summary.json", "summary.png", "manifest.json"})


def prepare_directory(directory: Path) -> str | None:
    """Empty ``directory`` for a new render (``figures/`` and ``data/`` created); the reason if it
    holds anything a render did not write, in which case it is left alone."""
    if directory.exists() and any(p.name not in REPORT_ENTRIES for p in directory.iterdir()):
        return f"{directory} exists and is not a snapshot directory; refusing to overwrite it"
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "figures").mkdir(parents=True)
    (directory / "data").mkdir()
    return None


def write_data_files(directory: Path, figures: Sequence[ReportFigure]) -> list[str]:
    """``data/<name>.parquet``: the rows behind each figure. Returns the paths written."""
    files = []
    for f in figures:
        rel = f"data/{f.name}.parquet"
        write_parquet(f.data, directory / rel)
        files.append(rel)
    return files


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic Parquet: no index, object columns as strings, the same bytes for the same rows."""
    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith("string"):
            out[col] = out[col].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
        elif str(out[col].dtype).startswith("datetime64"):
            out[col] = out[col].astype("datetime64[us]")
    table = pa.Table.from_pandas(out, preserve_index=False)
    table = table.replace_schema_metadata(None)  # pandas metadata carries nothing people need
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def hash_file(path: Path) -> str:
    """The SHA-256 of a file, as hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def finish_snapshot(
    rt: Any,
    rep: Report,
    directory: Path,
    files: list[str],
    trigger: str,
    started: float,
    *,
    write: bool = True,
    figures: Sequence[ReportFigure] = (),
    headline: Sequence[tuple[str, str]] = (),
) -> SnapshotResult:
    """Write the summary, the HTML report and the manifest (unless ``write`` is False: the folder was
    refused), then record the render in the warehouse if ``directory`` is the day's archive folder.

    ``files``: the data and image files already written; ``started``: ``time.monotonic()`` at the
    start of the render."""
    status, reason = rep.problems.status(), rep.problems.reason()
    summary = build_summary(rep, status, reason, list(headline))
    rendered_at = rt.clock.now()  # the clock of everything else (the demo's simulated one)
    if write:
        files = _write_report_files(rep, directory, files, summary, figures, headline, rendered_at)
    result = SnapshotResult(
        rep.w.day,
        status,
        reason,
        directory,
        files,
        summary,
        rep.pack_version,
        rendered_at,
        round(time.monotonic() - started, 3),
    )
    if directory.resolve() != snapshot_dir(rt.settings, rep.w.day).resolve():
        return result  # a copy rendered elsewhere (--out) is an export, not the day's archived report
    try:
        rt.warehouse.save_snapshot(
            day=rep.w.day,
            status=status,
            reason=reason,
            trigger=trigger,
            rendered_at=rendered_at,
            path=str(directory),
            pack_version=rep.pack_version,
            files=len(files),
            warnings=int(summary.get("warnings", {}).get("total", 0)),
        )
    except Exception as exc:
        log.exception("snapshot %s: could not record it in the warehouse", rep.w.day)
        result.reason = "; ".join(
            x for x in (reason, f"not recorded in the warehouse: {type(exc).__name__}: {exc}") if x
        )
    return result


def _write_report_files(
    rep: Report,
    directory: Path,
    files: list[str],
    summary: dict[str, Any],
    figures: Sequence[ReportFigure],
    headline: Sequence[tuple[str, str]],
    rendered_at: datetime,
) -> list[str]:
    """``summary.json``, ``report.html`` and last ``manifest.json``; returns every file of the folder."""
    status, reason = summary["status"], summary["reason"]
    (directory / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n", "utf-8"
    )
    (directory / "report.html").write_text(
        render_report_html(rep, status, reason, figures, headline), "utf-8"
    )
    files = ["report.html", "summary.json", *sorted(files)]
    manifest = {
        "schema": "cityops.snapshot-manifest/1",
        "day": rep.w.day.isoformat(),
        "status": status,
        "reason": reason,
        "pack_version": rep.pack_version,
        "window": summary["window"],
        "files": [
            {"path": p, "sha256": hash_file(directory / p), "bytes": (directory / p).stat().st_size}
            for p in files
        ],
        "feed_health": rep.feed_table if rep.feed_table is not None else [],
        # The only render time of the folder (the runtime clock's); it is not part of the data.
        "rendered_at": rendered_at.isoformat(timespec="seconds"),
    }
    (directory / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
    )
    return [*files, "manifest.json"]
