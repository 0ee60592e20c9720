"""Drop-folder sources (an SFTP landing in real deployments): CSV, JSON, GeoJSON and Excel files.

A file is taken once it has not changed for ``settle`` (so half-uploaded files wait), copied into the
landing area, and moved aside by the pipeline after its run commits: to ``processed/`` when it was
read, to ``failed/`` (with a ``.error.txt`` beside it) when it could not be. Files are therefore never
ingested twice, and never lost.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from cityops.base.settings import FileSource
from ingest.errors import SourceError
from ingest.landing import LandingWriter
from ingest.parse import format_for_filename
from ingest.sources import FetchContext, FetchOutcome


def pending_files(source: FileSource, now: float | None = None) -> list[Path]:
    folder = source.path
    if not folder.is_dir():
        raise SourceError(
            f"drop folder {folder} does not exist", hint="create it or fix the feed's source.path"
        )
    now = time.time() if now is None else now
    settle = source.settle.total_seconds()
    files = [
        p
        for p in folder.glob(source.pattern)
        if p.is_file() and not p.name.startswith(".") and now - p.stat().st_mtime >= settle
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def fetch_files(source: FileSource, ctx: FetchContext, writer: LandingWriter) -> FetchOutcome:
    outcome = FetchOutcome()
    files = pending_files(source)
    for i, path in enumerate(files, start=1):
        fmt = source.format if source.format != "auto" else format_for_filename(path.name)
        size = path.stat().st_size
        if size > writer.max_bytes:
            outcome.notes.append(
                f"{path.name}: {size / 1e6:.1f} MB is over the payload limit; moved to failed/"
            )
            outcome.extra.setdefault("oversize", []).append(path)
            continue
        if outcome.files and sum(p.size for p in writer.parts) + size > writer.max_bytes:
            # Each file fits on its own but not all of them in one run: the rest wait for the next run
            # (failing the run instead would leave them in the folder to fail every run after).
            waiting = len(files) - i + 1
            outcome.notes.append(
                f"{waiting} file(s) left for the next run: this run reached the payload limit"
            )
            break
        writer.add_part(path.read_bytes(), fmt, path.name, file=str(path), mtime=path.stat().st_mtime)
        outcome.files.append(path)
        if ctx.on_progress:
            ctx.on_progress(ctx.feed, i, len(files))
    return outcome


def move_aside(path: Path, folder: Path, at: datetime, error: str | None = None) -> Path:
    """Move a processed (or failed) file out of the drop folder, never overwriting another."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{at:%Y%m%dT%H%M%S}-{path.name}"
    n = 1
    while target.exists():
        target = folder / f"{at:%Y%m%dT%H%M%S}-{n}-{path.name}"
        n += 1
    path.replace(target)
    if error:
        target.with_name(target.name + ".error.txt").write_text(error + "\n", "utf-8")
    return target
