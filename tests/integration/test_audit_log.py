"""The audit log in a real DuckDB file: events recorded and read back with filters, newest first; the
spool other processes append to is imported once, whatever was left by an interrupted import."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityops.base.audit import AuditEvent, importing_path, read_spool, spool_event
from cityops.jobs import import_audit_spool
from ingest.pipeline import Runtime

T0 = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)


def _event(minutes: int, action: str, actor: str = "duty", outcome: str = "ok", **kw: object) -> AuditEvent:
    return AuditEvent(
        at=T0 + timedelta(minutes=minutes),
        action=action,
        actor=actor,
        role="operator",
        address="10.0.0.7",
        subject=str(kw.pop("subject", "w-1")),
        outcome=outcome,
        detail=dict(kw),
    )


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime], tmp_path: Path) -> Runtime:
    return make_runtime(tmp_path, {})


def test_events_are_read_back_newest_first_with_filters(rt: Runtime) -> None:
    wh = rt.warehouse
    events = [
        _event(0, "auth.sign_in", actor="boss"),
        _event(5, "warning.acknowledge", note="已到场"),
        _event(5, "warning.resolve"),  # the same second: the order still does not move
        _event(10, "warning.resolve", actor="viewer-1", outcome="refused"),
        _event(60 * 24, "feed.replay", actor="ops", subject="run-9"),
    ]
    for e in events:
        wh.record_audit(e)
    wh.record_audit(events[1])  # the same event twice is one row
    frame = wh.audit_events()
    assert len(frame) == 5
    assert frame["action"].iloc[0] == "feed.replay" and frame["action"].iloc[-1] == "auth.sign_in"
    tied = frame[frame["at"] == frame["at"].iloc[2]]
    assert list(tied["event_id"]) == sorted(tied["event_id"])
    assert list(wh.audit_events()["event_id"]) == list(frame["event_id"])

    first = frame[frame["event_id"] == events[1].event_id].iloc[0]
    assert (first["actor"], first["role"], first["address"], first["subject"], first["outcome"]) == (
        "duty",
        "operator",
        "10.0.0.7",
        "w-1",
        "ok",
    )
    assert json.loads(first["detail"]) == {"note": "已到场"}
    assert first["at"].to_pydatetime() == (T0 + timedelta(minutes=5)).replace(tzinfo=None)

    assert set(wh.audit_events(action="warning")["action"]) == {"warning.acknowledge", "warning.resolve"}
    assert list(wh.audit_events(action="warning.resolve")["outcome"]) == ["refused", "ok"]
    assert wh.audit_events(action="warn").empty  # a family is a whole word, not a prefix of letters
    assert list(wh.audit_events(outcome="refused")["actor"]) == ["viewer-1"]
    assert set(wh.audit_events(actor="VIEW")["actor"]) == {"viewer-1"}
    window = wh.audit_events(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=10))
    assert set(window["action"]) == {"warning.acknowledge", "warning.resolve"} and len(window) == 2
    assert len(wh.audit_events(limit=2)) == 2
    assert list(wh.audit_events(limit=2, offset=3)["event_id"]) == list(frame["event_id"][3:5])


def test_untrusted_texts_are_cleaned_and_clipped() -> None:
    e = AuditEvent(
        action="auth.sign_in_failed",
        actor="=cmd|' /C calc'!A0\r\n" + "x" * 200,
        actor_kind="anonymous",
        subject="a\x1b[31mred\u202eevil",
        detail={"note": "y" * 5000, "lines": "one\ntwo"},
        at=T0,
    )
    assert e.actor.startswith("=cmd|' /C calc'!A0 x") and len(e.actor) == 64
    assert e.subject == "a [31mredevil"
    assert e.detail["lines"] == "one two" and len(e.detail_json()) <= 2000
    with pytest.raises(ValueError):
        AuditEvent(action="DROP TABLE", actor="x")
    with pytest.raises(ValueError):
        AuditEvent(action="auth.sign_in", actor="x", outcome="maybe")
    with pytest.raises(ValueError):
        AuditEvent(action="auth.sign_in", actor="x", at=datetime(2026, 6, 15))  # naive: which zone?


def test_the_spool_is_imported_once(rt: Runtime, tmp_path: Path) -> None:
    spool = tmp_path / "data" / "audit-spool.jsonl"
    a, b = _event(1, "display_token.create", actor="root"), _event(2, "display_token.revoke", actor="root")
    spool_event(spool, a)
    spool_event(spool, b)
    assert [e.event_id for e in read_spool(spool)] == [a.event_id, b.event_id]
    assert rt.warehouse.import_audit_spool(spool) == 2
    assert not spool.exists() and not importing_path(spool).exists()
    assert rt.warehouse.import_audit_spool(spool) == 0
    assert rt.warehouse.audit_count() == 2
    spool_event(spool, a)  # the same event spooled again is not recorded twice
    assert rt.warehouse.import_audit_spool(spool) == 0 and rt.warehouse.audit_count() == 2


def test_a_leftover_importing_file_is_imported_first_and_nothing_is_lost(rt: Runtime, tmp_path: Path) -> None:
    spool = tmp_path / "data" / "audit-spool.jsonl"
    done, pending, later = _event(1, "feed.replay"), _event(2, "feed.replay"), _event(3, "snapshot.rerender")
    rt.warehouse.record_audit(done)  # committed before the crash that left the file behind
    spool.parent.mkdir(parents=True, exist_ok=True)
    leftover = importing_path(spool)
    leftover.write_text(done.to_json() + "\n" + pending.to_json() + "\n" + '{"event_id": "cut sho', "utf-8")
    spool_event(spool, later)  # a command appended after the crash
    assert rt.warehouse.import_audit_spool(spool) == 2  # the pending one and the later one
    assert not leftover.exists() and not spool.exists()
    assert set(rt.warehouse.audit_events()["event_id"]) == {done.event_id, pending.event_id, later.event_id}


def test_writers_racing_the_importer_lose_nothing(rt: Runtime, tmp_path: Path) -> None:
    spool = tmp_path / "data" / "audit-spool.jsonl"
    written: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(40):
            e = _event(i, "display_token.create", actor=f"w{n}")
            spool_event(spool, e)
            with lock:
                written.append(e.event_id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    imported = 0
    while any(th.is_alive() for th in threads):
        imported += import_audit_spool(rt)
    for th in threads:
        th.join()
    imported += import_audit_spool(rt)
    assert imported == len(written) == 160
    assert set(rt.warehouse.audit_events(limit=1000)["event_id"]) == set(written)


def test_the_job_survives_a_broken_spool(rt: Runtime, tmp_path: Path) -> None:
    spool = rt.settings.storage.audit_spool_path
    spool.parent.mkdir(parents=True, exist_ok=True)
    spool.mkdir()  # not a file: the import fails, the job logs it and carries on
    assert import_audit_spool(rt) == 0
