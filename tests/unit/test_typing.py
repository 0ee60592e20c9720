"""The code type-checks with mypy: strictly the pure packages, and every other package of the product."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ["geo", "metrics"]
REST = ["cityops", "ingest", "dashboard", "sample_data"]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_pure_packages_type_check_strictly() -> None:
    result = _mypy("--strict", *PURE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_other_packages_type_check() -> None:
    result = _mypy(*REST)
    assert result.returncode == 0, result.stdout + result.stderr
