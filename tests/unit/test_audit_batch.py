"""Refused sign-ins are written in batches off the request: within the interval, all at close, and a
flood beyond the limit is counted and said, not held in memory."""

from __future__ import annotations

import threading

import pytest

from cityops.base.audit import AuditBatch, AuditEvent


def event(n: int) -> AuditEvent:
    return AuditEvent(
        action="auth.sign_in", actor=f"guess{n}", role=None, actor_kind="anonymous", outcome="refused"
    )


def test_a_batch_is_written_once_within_the_interval() -> None:
    written: list[list[AuditEvent]] = []
    done = threading.Event()

    def write(batch: list[AuditEvent]) -> None:
        written.append(batch)
        done.set()

    batch = AuditBatch(write, interval=0.05)
    for n in range(30):
        batch.add(event(n))
    assert done.wait(10)
    assert len(written) == 1 and [e.actor for e in written[0]] == [f"guess{n}" for n in range(30)]
    batch.close()
    assert len(written) == 1  # nothing left to write


def test_close_writes_what_waits_and_refuses_more() -> None:
    written: list[AuditEvent] = []
    batch = AuditBatch(written.extend, interval=3600)
    batch.add(event(1))
    batch.close()
    assert [e.actor for e in written] == ["guess1"]
    with pytest.raises(RuntimeError, match="closed"):
        batch.add(event(2))


def test_beyond_the_limit_events_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    written: list[AuditEvent] = []
    batch = AuditBatch(written.extend, interval=3600, limit=5)
    for n in range(12):
        batch.add(event(n))
    batch.close()
    assert len(written) == 5
    assert "7 refused sign-in(s) not recorded: more than 5 were waiting" in caplog.text


def test_a_failing_write_is_logged_and_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    def write(_batch: list[AuditEvent]) -> None:
        raise OSError("disk full")

    batch = AuditBatch(write, interval=3600)
    batch.add(event(1))
    batch.close()
    assert "could not record 1 event(s)" in caplog.text and "disk full" in caplog.text
