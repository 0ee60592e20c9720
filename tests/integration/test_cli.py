"""The `cityops` command as a user runs it: a real process, real files, one-line errors."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers import CITYOPS, run_cityops


def write_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "cityops.toml"
    path.write_text(
        textwrap.dedent(f"""
        [storage]
        data_dir = "data"

        [ingest]
        retry_attempts = 2
        retry_backoff = "0s"
        read_timeout = "2s"

        [feeds.speeds]
        department = "交通运输局"
        domain = "traffic"
        cadence = "5m"
        fields = {{ entity_id = "id", ts = "t", speed_kmh = "v" }}
        source = {{ type = "http", url = "{url}" }}
        """)
        + textwrap.dedent(extra),
        "utf-8",
    )
    return path


def test_help_for_every_command(tmp_path: Path) -> None:
    for args in (
        ["--help"],
        ["demo", "--help"],
        ["serve", "--help"],
        ["ingest", "run", "--help"],
        ["ingest", "list", "--help"],
        ["ingest", "replay", "--help"],
        ["db", "init", "--help"],
        ["config", "check", "--help"],
    ):
        result = run_cityops(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage" in result.stdout


def test_ingest_run_prints_a_summary_and_fails_when_a_feed_fails(
    tmp_path: Path, feed_server, closed_port
) -> None:
    feed_server.json(
        "/speeds",
        [
            {"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 42},
            {"id": "S2", "t": "2026-06-15T00:00:00Z", "v": -1},
        ],
    )
    config = write_config(tmp_path, feed_server.url("/speeds"))
    assert run_cityops("db", "init", "--config", str(config), cwd=tmp_path).returncode == 0
    ok = run_cityops("ingest", "run", "--config", str(config), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "speeds" in ok.stdout and "ok" in ok.stdout
    # inserted 1, rejected 1 appear in the summary row
    row = next(line for line in ok.stdout.splitlines() if "speeds" in line)
    assert " 1 " in row.replace("│", " ")

    listing = run_cityops("ingest", "list", "--config", str(config), cwd=tmp_path)
    assert listing.returncode == 0 and "speeds" in listing.stdout
    run_id = next(
        w
        for w in listing.stdout.replace("│", " ").split()
        if w.endswith(tuple("0123456789abcdef")) and "-speeds-" in w
    )
    replay = run_cityops("ingest", "replay", run_id, "--config", str(config), cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "inserted 0" in replay.stdout and "quarantined 1" in replay.stdout

    broken = write_config(tmp_path, f"http://127.0.0.1:{closed_port}/speeds")
    failed = run_cityops("ingest", "run", "--config", str(broken), cwd=tmp_path)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "ConnectError" in failed.stdout


def test_backfill_shows_progress(tmp_path: Path, feed_server) -> None:
    feed_server.json("/speeds", [{"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 42}])
    config = write_config(tmp_path, feed_server.url("/speeds"))
    result = run_cityops(
        "ingest", "run", "speeds", "--from", "2026-06-14", "--config", str(config), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1/1" in result.stderr  # the progress bar (on stderr, so stdout stays a clean table)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[server]\nport = 'eighty'\n", "server.port"),
        ("[server]\nprot = 8050\n", "server.prot: unknown key"),
        (
            "[feeds.x]\ndepartment='a'\ndomain='traffic'\ncadence='5m'\nschedule={cron='99 * * * *'}\nsource={type='http',url='http://h'}\n",
            "feeds.x.schedule.cron",
        ),
        ("[city]\ntimezone = 'Mars/Olympus'\n", "city.timezone"),
        (
            "[feeds.x]\ndepartment='a'\ndomain='weather'\ncadence='5m'\nsource={type='http',url='http://h'}\n",
            "feeds.x.domain",
        ),
        ("not = [valid", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_clear_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, "utf-8")
    result = run_cityops("config", "check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error:") and str(path) in first and expected in first, result.stderr


def test_the_annotated_example_configuration_is_valid(tmp_path: Path) -> None:
    """cityops.example.toml documents every section; it must stay a configuration that loads."""
    example = Path(__file__).resolve().parents[2] / "cityops.example.toml"
    result = run_cityops("config", "check", "--config", str(example), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout and "6 feeds" in result.stdout and "env-aqi" in result.stdout


def test_missing_config_file_says_what_to_do(tmp_path: Path) -> None:
    result = run_cityops("ingest", "list", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "fix:" in result.stderr and "Traceback" not in result.stderr


def test_a_second_process_on_the_same_database_gets_a_clear_error(tmp_path: Path, feed_server) -> None:
    from cityops.base.warehouse import Warehouse

    feed_server.json("/speeds", [])
    config = write_config(tmp_path, feed_server.url("/speeds"))
    with Warehouse(tmp_path / "data" / "cityops.duckdb"):
        result = run_cityops("ingest", "list", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "in use by another process" in result.stderr and "Traceback" not in result.stderr


def test_serve_answers_healthz_and_feeds(tmp_path: Path, feed_server) -> None:
    import socket
    import time

    import httpx

    feed_server.json("/speeds", [{"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 42}])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from cityops.base.auth import hash_password

    users = f'[[auth.users]]\nname = "ops"\nrole = "operator"\npassword_hash = "{hash_password("ops-pw")}"\n'
    config = write_config(tmp_path, feed_server.url("/speeds"), users)
    proc = subprocess.Popen(
        [*CITYOPS, "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        doc = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                doc = resp.json()
                if doc["feeds"].get("speeds") not in (None, "never"):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert doc is not None, proc.stderr.read() if proc.poll() is not None else "server did not answer"
        assert doc["database"] == "ok" and doc["scheduler"] == "running"
        # the payload's reading is from 2026-06-15, long before "now": the feed is stale
        assert doc["feeds"] == {"speeds": "stale"} and doc["status"] == "degraded"
        page = httpx.get(f"http://127.0.0.1:{port}/feeds", timeout=5)
        assert page.status_code == 302 and page.headers["location"].startswith(
            "/login"
        )  # no anonymous viewing
        site = f"http://127.0.0.1:{port}"
        with httpx.Client(
            base_url=site, timeout=5, follow_redirects=True, headers={"Origin": site}
        ) as client:
            page = client.post("/login", data={"name": "ops", "password": "ops-pw", "next": "/feeds"})
            assert page.status_code == 200 and "_dash-config" in page.text
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
