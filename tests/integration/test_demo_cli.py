"""`cityops demo` as a user runs it: a real process on a free port, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from cityops.base.auth import DisplayTokens
from cityops.demo import DEMO_WALL, demo_settings

WALL_LINE = re.compile(r"wall screen with its display token: \S+/wall\?token=(dt_[\w-]+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_demo(cwd: Path, data_dir: Path) -> tuple[str, str]:
    """``cityops demo --keep`` until it prints the wall's address, then SIGTERM; its token and output."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cityops",
            "demo",
            "--keep",
            "--port",
            str(_free_port()),
            "--data-dir",
            str(data_dir),
        ],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "400", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if WALL_LINE.search(line):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not found.is_set() and proc.poll() is None and time.monotonic() < deadline:
            found.wait(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    output = "".join(lines)
    match = WALL_LINE.search(output)
    assert match, f"the demo never showed its wall address:\n{output[-3000:]}"
    return match.group(1), output


def test_demo_keep_starts_twice_in_a_row_with_a_fresh_wall_token(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    first, _ = _start_demo(tmp_path, data_dir)
    second, output = _start_demo(tmp_path, data_dir)  # the same folder, kept
    assert "display token named" not in output and "Traceback" not in output
    assert first != second
    tokens = DisplayTokens.for_settings(demo_settings(data_dir, "http://127.0.0.1:1"))
    assert tokens.principal(first) is None  # the earlier screen's token no longer opens the wall
    principal = tokens.principal(second)
    assert principal is not None and principal.name == DEMO_WALL
    assert sum(t.active for t in tokens.list() if t.name == DEMO_WALL) == 1
