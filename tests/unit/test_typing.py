"""The pure packages (and the pure parts of ingest) type-check with mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "geo",
    "metrics",
    "ingest/domains.py",
    "ingest/health.py",
    "ingest/mapping.py",
    "ingest/parse.py",
    "ingest/validate.py",
    "cityops/settings.py",
    "cityops/clock.py",
]


def test_pure_modules_type_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", *PURE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pure_packages_do_not_import_io_libraries() -> None:
    banned = ("duckdb", "dash", "httpx", "apscheduler", "flask", "waitress", "cityops", "ingest")
    for package in ("geo", "metrics"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text("utf-8")
            for name in banned:
                assert f"import {name}" not in text and f"from {name}" not in text, f"{path} imports {name}"
