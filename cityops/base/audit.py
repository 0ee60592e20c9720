"""The audit log's event: who did what, to what, from where, when, and how it ended.

Every sign-in (and every refused one), every change to a warning, every feed replay, snapshot
re-render, display-token creation or revocation and every change to users and roles becomes one
:class:`AuditEvent`, stored by the warehouse (``audit_log``). A process that cannot open the warehouse
(a command run while the server holds the DuckDB file) appends the event to a spool file with
:func:`spool_event`; the server imports the spool every minute (and ``cityops audit`` before reading).

Texts in an event are untrusted (a sign-in name is typed by anyone, a subject may come from a feed):
they are stripped of control and formatting characters (no forged line breaks in a log, no
right-to-left overrides) and clipped, so that one event stays small whatever is typed.

>>> e = AuditEvent(action="auth.sign_in_failed", actor="x\\n\\u202eadmin", actor_kind="anonymous")
>>> e.actor
'x admin'
"""

from __future__ import annotations

import fcntl
import getpass
import json
import logging
import os
import re
import threading
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("cityops.audit")

ACTOR_KINDS = ("user", "display", "anonymous", "cli", "system")
OUTCOMES = ("ok", "refused", "failed")
# The families of actions, in the order a filter lists them.
ACTION_FAMILIES = ("auth", "warning", "feed", "snapshot", "display_token", "user")

MAX_ACTION, MAX_ACTOR, MAX_ROLE, MAX_ADDRESS, MAX_SUBJECT = 64, 64, 32, 64, 200
MAX_DETAIL_TEXT, MAX_DETAIL_JSON = 500, 2000

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")


def clean_text(value: Any, limit: int) -> str:
    """``value`` as one line of at most ``limit`` characters: control characters (line breaks, tabs,
    escapes) become spaces, formatting characters (bidirectional overrides, zero-width) are dropped."""
    text = "" if value is None else str(value)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            out.append(" ")
        elif cat in ("Cf", "Cs", "Co", "Cn") or ch in "\u2028\u2029":
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())[:limit]


def _clean_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {clean_text(k, MAX_ACTION): _clean_value(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [_clean_value(v) for v in list(value)[:50]]
    return clean_text(value, MAX_DETAIL_TEXT)


def clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """A small JSON object: texts cleaned, and the whole clipped to ``MAX_DETAIL_JSON`` characters (a
    longer one is kept as its clipped JSON text under ``"clipped"``)."""
    cleaned = _clean_value(dict(detail or {}))
    text = json.dumps(cleaned, ensure_ascii=False, sort_keys=True)
    if len(text) <= MAX_DETAIL_JSON:
        return dict(cleaned)
    return {"clipped": text[: MAX_DETAIL_JSON - 20]}


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"an audit event's time must be an aware datetime, not {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """One entry of the audit log (every field checked and cleaned on construction)."""

    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    action: str  # dotted: family.verb, e.g. "warning.acknowledge"
    actor: str
    role: str | None = None
    actor_kind: str = "user"
    address: str | None = None
    subject: str = ""
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (
            not isinstance(self.action, str)
            or len(self.action) > MAX_ACTION
            or not _ACTION.match(self.action)
        ):
            raise ValueError(
                f"an audit action is dotted lower-case words (e.g. warning.resolve): {self.action!r}"
            )
        if self.actor_kind not in ACTOR_KINDS:
            raise ValueError(f"actor_kind {self.actor_kind!r} is not one of {', '.join(ACTOR_KINDS)}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")
        if not isinstance(self.event_id, str) or not _EVENT_ID.match(self.event_id):
            raise ValueError(f"an audit event id is 32 hex digits: {self.event_id!r}")
        role = clean_text(self.role, MAX_ROLE) if self.role is not None else None
        address = clean_text(self.address, MAX_ADDRESS) if self.address is not None else None
        object.__setattr__(self, "at", _utc(self.at))
        object.__setattr__(self, "actor", clean_text(self.actor, MAX_ACTOR))
        object.__setattr__(self, "role", role or None)
        object.__setattr__(self, "address", address or None)
        object.__setattr__(self, "subject", clean_text(self.subject, MAX_SUBJECT))
        object.__setattr__(self, "detail", clean_detail(self.detail))

    @property
    def family(self) -> str:
        """The part before the first dot: ``warning`` of ``warning.resolve``."""
        return self.action.split(".", 1)[0]

    def detail_json(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, sort_keys=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "at": self.at.isoformat(),
            "action": self.action,
            "actor": self.actor,
            "role": self.role,
            "actor_kind": self.actor_kind,
            "address": self.address,
            "subject": self.subject,
            "outcome": self.outcome,
            "detail": self.detail,
        }

    def to_json(self) -> str:
        """One line of JSON (a spool line)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> AuditEvent:
        """An event read back (from a spool line): checked like a new one; ValueError when invalid."""
        if not isinstance(doc, Mapping):
            raise ValueError("an audit event is a JSON object")
        detail = doc.get("detail") or {}
        if not isinstance(detail, Mapping):
            raise ValueError("an audit event's detail is a JSON object")
        try:
            return cls(
                event_id=str(doc["event_id"]),
                at=_utc(doc["at"]),
                action=str(doc["action"]),
                actor=str(doc.get("actor") or ""),
                role=doc.get("role"),
                actor_kind=str(doc.get("actor_kind") or ""),
                address=doc.get("address"),
                subject=str(doc.get("subject") or ""),
                outcome=str(doc.get("outcome") or ""),
                detail=dict(detail),
            )
        except KeyError as exc:
            raise ValueError(f"an audit event needs {exc.args[0]!r}") from None


def os_user() -> str:
    """The operating-system user running a command (the actor of a ``cli`` event)."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no login name and no passwd entry (a container): still record the event
        return f"uid {os.getuid()}"


def cli_event(
    action: str, subject: str = "", *, outcome: str = "ok", at: datetime | None = None, **detail: Any
) -> AuditEvent:
    """An event made by a command run on the server's machine: the actor is the OS user."""
    return AuditEvent(
        action=action,
        actor=os_user(),
        actor_kind="cli",
        subject=subject,
        outcome=outcome,
        detail=detail,
        at=at or datetime.now(UTC),
    )


# -- the spool: events of processes that cannot open the warehouse ---------------------------------


def importing_path(path: Path) -> Path:
    """Where the importer moves the spool while it imports it (left behind by a crash: retried)."""
    return path.with_name(path.name + ".importing")


def spool_event(path: Path, event: AuditEvent) -> None:
    """Append ``event`` to the spool file ``path`` as one line, durably (fsync), under an exclusive
    lock. The importer renames the file under the same lock; a writer that opened the file before that
    finds it renamed once it holds the lock, and writes to the new file instead."""
    line = (event.to_json() + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(20):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                continue
            mine = os.fstat(fd)
            if (mine.st_dev, mine.st_ino) != (current.st_dev, current.st_ino):
                continue  # the importer took the file away between our open and our lock
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
            return
        finally:
            os.close(fd)  # releases the lock
    raise OSError(f"{path}: could not append an audit event (the file kept being replaced)")


def take_spool(path: Path) -> Path | None:
    """Move the spool aside for import (under the writers' lock); the moved file, or None when there is
    no spool."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        target = importing_path(path)
        if target.exists():
            return None  # a previous import was interrupted: that file goes first
        os.rename(path, target)
        return target
    finally:
        os.close(fd)


def read_spool(path: Path) -> list[AuditEvent]:
    """The events of a spool file, in order. A line that is not a valid event (a write cut short by a
    crash, an edited file) is logged with its line number and skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    events = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            events.append(AuditEvent.from_dict(json.loads(raw.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("%s:%d: not an audit event, skipped: %s", path, number, str(exc)[:200])
    return events


class AuditBatch:
    """Events written in batches, off the request: for refused sign-ins, which a flood brings by the
    hundred a second and which must then cost the request almost nothing. A batch is written
    ``interval`` seconds after its first event (and at :meth:`close`); beyond ``limit`` waiting events,
    further ones are only counted, and the count is logged (a flood must not exhaust memory)."""

    def __init__(self, write: Any, *, interval: float = 0.5, limit: int = 20_000) -> None:
        self._write = write
        self._interval = interval
        self._limit = limit
        self._pending: list[AuditEvent] = []
        self._dropped = 0
        self._timer: threading.Timer | None = None
        self._closed = False
        self._lock = threading.Lock()

    def add(self, event: AuditEvent) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit batch is closed")
            if len(self._pending) >= self._limit:
                self._dropped += 1
                return
            self._pending.append(event)
            if self._timer is None:
                self._timer = threading.Timer(self._interval, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write what waits now."""
        with self._lock:
            batch, self._pending = self._pending, []
            dropped, self._dropped = self._dropped, 0
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if dropped:
            log.error(
                "audit: %d refused sign-in(s) not recorded: more than %d were waiting", dropped, self._limit
            )
        if batch:
            try:
                self._write(batch)
            except Exception:
                log.exception("audit: could not record %d event(s)", len(batch))

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.flush()
