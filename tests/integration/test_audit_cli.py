"""`cityops audit` as an administrator runs it (real processes, a real DuckDB file): filters and
formats, spreadsheet-safe CSV, events spooled by `cityops display-token` while the server held the
database, and a clear error while a server holds it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cityops.base.audit import AuditEvent
from cityops.base.settings import load_settings
from cityops.base.warehouse import open_warehouse
from cityops.jobs import import_audit_spool
from cityops.server import open_runtime
from tests.helpers import run_cityops

T0 = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "cityops.toml"
    config.write_text('[storage]\ndata_dir = "data"\n', "utf-8")
    return config


def _seed(config: Path) -> None:
    with open_warehouse(load_settings(config)) as wh:
        for minutes, action, actor, outcome in [
            (0, "auth.sign_in", "boss", "ok"),
            (10, "auth.sign_in", '=HYPERLINK("http://x")', "refused"),
            (20, "warning.acknowledge", "duty", "ok"),
            (60 * 24, "warning.resolve", "duty", "ok"),
        ]:
            wh.record_audit(
                AuditEvent(
                    at=T0 + timedelta(minutes=minutes),
                    action=action,
                    actor=actor,
                    role="operator" if actor == "duty" else None,
                    actor_kind="user" if actor in ("boss", "duty") else "anonymous",
                    address="10.1.2.3",
                    subject="w-42" if action.startswith("warning") else "",
                    outcome=outcome,
                )
            )


def test_audit_filters_and_formats(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _seed(config)
    table = run_cityops("audit", "--config", str(config), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "4 event(s)" in table.stdout and "2026-06-15 09:20:00" in table.stdout  # city time
    assert table.stdout.index("warning.resolve") < table.stdout.index("warning.acknowledge")  # newest first

    day = run_cityops(
        "audit", "--since", "2026-06-15", "--until", "2026-06-16", "--action", "warning", "--format", "json",
        "--config", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert day.returncode == 0, day.stderr
    docs = [json.loads(line) for line in day.stdout.splitlines()]
    assert [(d["action"], d["actor"], d["time_local"]) for d in docs] == [
        ("warning.acknowledge", "duty", "2026-06-15 09:20:00")
    ]
    assert docs[0]["at"] == "2026-06-15T01:20:00Z" and docs[0]["address"] == "10.1.2.3"

    refused = run_cityops(
        "audit", "--outcome", "refused", "--format", "csv", "--config", str(config), cwd=tmp_path
    )
    assert refused.returncode == 0, refused.stderr
    rows = list(csv.DictReader(io.StringIO(refused.stdout)))
    assert len(rows) == 1 and rows[0]["actor"] == '\'=HYPERLINK("http://x")'  # no formula in a spreadsheet

    bad = run_cityops("audit", "--outcome", "maybe", "--config", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and "refused" in bad.stderr
    bad_date = run_cityops("audit", "--since", "yesterday", "--config", str(config), cwd=tmp_path)
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr


def test_display_tokens_are_audited_through_the_spool(tmp_path: Path) -> None:
    config = _config(tmp_path)
    settings = load_settings(config)
    rt = open_runtime(settings)  # the "server" holds the database while the commands run
    try:
        created = run_cityops("display-token", "create", "hall-1", "--config", str(config), cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        revoked = run_cityops("display-token", "revoke", "hall-1", "--config", str(config), cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr
        held = run_cityops("audit", "--config", str(config), cwd=tmp_path)
        assert held.returncode == 2 and "in use by another process" in held.stderr and "/audit" in held.stderr
        assert rt.warehouse.audit_events().empty
        assert import_audit_spool(rt) == 2  # the server's every-minute job
        frame = rt.warehouse.audit_events()
        assert list(frame["action"]) == ["display_token.revoke", "display_token.create"]  # newest first
        assert set(frame["subject"]) == {"hall-1"} and set(frame["actor_kind"]) == {"cli"}
        assert all(isinstance(a, str) and a for a in frame["actor"])
    finally:
        rt.warehouse.close()
    # With the server stopped, `cityops audit` imports what is still spooled, then reads.
    again = run_cityops("display-token", "create", "hall-2", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    listed = run_cityops(
        "audit", "--action", "display_token", "--format", "json", "--config", str(config), cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    subjects = [json.loads(line)["subject"] for line in listed.stdout.splitlines()]
    assert sorted(subjects) == ["hall-1", "hall-1", "hall-2"]
    assert not settings.storage.audit_spool_path.exists()


def test_a_replay_from_the_command_line_is_audited(tmp_path: Path, feed_server) -> None:
    from tests.integration.test_cli import write_config

    feed_server.json("/speeds", [{"id": "S1", "t": "2026-06-15T00:00:00Z", "v": 42}])
    config = write_config(tmp_path, feed_server.url("/speeds"))
    assert run_cityops("ingest", "run", "--config", str(config), cwd=tmp_path).returncode == 0
    with open_warehouse(load_settings(config)) as wh:
        run_id = str(wh.runs().iloc[0]["run_id"])
    assert run_id
    replay = run_cityops("ingest", "replay", run_id, "--config", str(config), cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    listed = run_cityops(
        "audit", "--action", "feed", "--format", "json", "--config", str(config), cwd=tmp_path
    )
    docs = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(d["action"], d["subject"], d["actor_kind"], d["outcome"]) for d in docs] == [
        ("feed.replay", run_id, "cli", "ok")
    ]
    assert docs[0]["detail"]["status"] == "ok" and docs[0]["detail"]["new_run"] != run_id
