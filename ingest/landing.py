"""The raw landing area: every payload is written here, compressed, before it is parsed.

Layout: ``<raw_dir>/<feed>/<YYYY-MM-DD>/<run_id>/part-0001.<fmt>.zst`` plus ``meta.json`` describing
the parts (format, where it came from, size, SHA-256); URLs in it carry no query values or user-info.
Parts are Zstandard-compressed (``zstd -d`` reads them): several times faster than gzip both ways,
which matters on the ingest path. A run's payload is therefore never lost, even when it cannot be
parsed, and ``cityops ingest replay RUN_ID`` parses the same bytes again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from cityops.base.redact import redact_text
from ingest.errors import SourceError


@dataclass
class PartInfo:
    name: str
    format: str
    origin: str  # URL, file name or query description
    size: int = 0
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PayloadTooLarge(SourceError):
    """A payload exceeded the configured maximum size."""


class _PartWriter:
    def __init__(self, path: Path, info: PartInfo, limit: int, configured: int | None = None) -> None:
        self._fh: IO[bytes] = pa.output_stream(str(path), compression="zstd")
        self._hash = hashlib.sha256()
        self._info = info
        self._limit = limit  # what is left of the run's budget
        self._configured = limit if configured is None else configured  # the run's whole budget, for messages

    def write(self, chunk: bytes) -> None:
        self._info.size += len(chunk)
        if self._info.size > self._limit:
            raise PayloadTooLarge(
                f"payload from {self._info.origin} exceeds the limit of {self._configured / 1e6:g} MB",
                hint="raise ingest.max_payload_mb or ask the department to page its data",
            )
        self._hash.update(chunk)
        self._fh.write(chunk)

    def close(self) -> None:
        self._fh.close()
        self._info.sha256 = self._hash.hexdigest()


class LandingWriter:
    """Collects the parts of one run's payload."""

    def __init__(self, directory: Path, meta: dict[str, Any], max_bytes: int) -> None:
        self.directory = directory
        self.meta = meta
        self.max_bytes = max_bytes
        self.parts: list[PartInfo] = []
        directory.mkdir(parents=True, exist_ok=True)

    def reset(self) -> None:
        """Discard parts of a failed attempt (a retry starts again)."""
        for part in self.parts:
            (self.directory / part.name).unlink(missing_ok=True)
        self.parts = []

    def open_part(self, fmt: str, origin: str, **extra: Any) -> _PartWriter:
        name = f"part-{len(self.parts) + 1:04d}.{fmt}.zst"
        info = PartInfo(name=name, format=fmt, origin=redact_text(origin), extra=extra)
        self.parts.append(info)
        total = sum(p.size for p in self.parts)
        return _PartWriter(self.directory / name, info, self.max_bytes - total, self.max_bytes)

    def add_part(self, data: bytes, fmt: str, origin: str, **extra: Any) -> PartInfo:
        writer = self.open_part(fmt, origin, **extra)
        try:
            writer.write(data)
        finally:
            writer.close()
        return self.parts[-1]

    def finish(self, **more: Any) -> Path:
        # The metadata is read by people and tools: no URL's query values or user-info in it.
        meta = _redacted({**self.meta, **more, "parts": [asdict(p) for p in self.parts]})
        (self.directory / "meta.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=str), "utf-8"
        )
        return self.directory


def _redacted(value: Any) -> Any:
    """``value`` with every text in it (nested in dicts and lists) passed through ``redact_text``."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


class Landing:
    def __init__(self, root: Path) -> None:
        self.root = root

    def writer(
        self, feed: str, run_id: str, at: datetime, meta: dict[str, Any], max_bytes: int
    ) -> LandingWriter:
        directory = self.root / feed / at.strftime("%Y-%m-%d") / run_id
        return LandingWriter(
            directory, {"feed": feed, "run_id": run_id, "fetched_at": at.isoformat(), **meta}, max_bytes
        )

    @staticmethod
    def read_meta(directory: Path) -> dict[str, Any]:
        meta_path = directory / "meta.json"
        if not meta_path.exists():
            # A run that failed while fetching may have no meta.json: describe the parts present.
            parts = sorted([*directory.glob("part-*.zst"), *directory.glob("part-*.gz")])
            return {"parts": [{"name": p.name, "format": p.name.split(".")[1], "origin": "?"} for p in parts]}
        return json.loads(meta_path.read_text("utf-8"))

    @staticmethod
    def read_part(directory: Path, name: str) -> bytes:
        path = directory / name
        if name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        with pa.input_stream(str(path), compression="zstd") as fh:
            return fh.read()

    @staticmethod
    def remove(directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)
