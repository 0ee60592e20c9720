"""Background delivery: a :class:`Notifier` runs :func:`~cityops.notify.delivery.deliver` on one thread,
so the warning evaluation never waits for a slow or dead endpoint.

Two modes. Given an ``outbox`` (the warehouse), it is durable: notifications are rows of the warehouse's
outbox (the warning engine writes them in the transaction that records the warning change), the worker
claims them, delivers and marks each delivered or failed, and a row left in flight by a stopped or
killed process is taken up again at the next start — at least once, with the same ``message_id`` (the
idempotency key). Without one, it delivers from a bounded queue in memory (what a one-off command
needs).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from cityops.base.targets import NotificationTarget
from cityops.base.warehouse.outbox import OutboxItem, OutboxRecords
from cityops.notify.delivery import deliver, read_wall_clock
from cityops.notify.message import (
    DeliveryRecord,
    Notification,
    notification_from_json,
    notification_to_json,
)

log = logging.getLogger("cityops.notify")


def message_id_for(note: Notification) -> str:
    """The idempotency key of a warning event: the same event of the same warning at the same time
    always gets the same key."""
    text = f"{note.warning_id}|{note.event}|{note.level}|{note.at.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Notifier:
    """Delivers notifications on one background thread so that callers never wait for an endpoint.

    ``submit(note)`` returns at once. The queue holds ``max_queue`` notifications; when it is full the
    oldest is dropped and recorded as failed ("queue full") for each target that wanted it. ``close``
    stops accepting, lets the worker finish the queue for up to ``timeout`` seconds, then records what
    is left as failed and stops retrying. ``log`` is called on the worker thread (and, for drops, on
    the submitting thread); an exception from it is logged and ignored.

    With ``outbox``: ``submit`` writes the notification to the outbox (callers that record a change can
    instead put :meth:`outbox_items` in their own transaction and call :meth:`wake`); the worker
    delivers from the outbox, looking again every ``poll`` seconds. ``close`` never waits for the
    queue or a retry's backoff: it stops the worker at once, and what was not delivered stays in the
    outbox for the next start.
    """

    def __init__(
        self,
        targets: Sequence[NotificationTarget],
        *,
        log: Callable[[DeliveryRecord], None],
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = read_wall_clock,
        client: httpx.Client | None = None,
        sleep: Callable[[float], Any] | None = None,
        timezone: str = "Asia/Shanghai",
        max_queue: int = 1000,
        outbox: OutboxRecords | None = None,
        poll: float = 5.0,
    ) -> None:
        if max_queue < 1:
            raise ValueError("Notifier max_queue must be at least 1")
        self.outbox = outbox
        self._poll = poll
        self.targets = tuple(targets)
        self._log = log
        self._environ = environ
        self._now = now
        self._timezone = timezone
        self._max_queue = max_queue
        self._cancel = threading.Event()
        self._sleep: Callable[[float], Any] = sleep if sleep is not None else self._cancel.wait
        self._queue: collections.deque[Notification] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._busy = False
        self._woken = False
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(trust_env=False, follow_redirects=False)
        if outbox is not None:
            released = outbox.outbox_release()
            if released:
                logging.getLogger("cityops.notify").warning(  # (``log`` here is the delivery log)
                    "notifications left in flight by a previous stop, to be sent again: %d", released
                )
        run = self._run if outbox is None else self._run_outbox
        self._thread = threading.Thread(target=run, name="cityops-notify", daemon=True)
        self._thread.start()

    @property
    def durable(self) -> bool:
        """True when notifications go through the warehouse's outbox."""
        return self.outbox is not None

    def now(self) -> datetime:
        """The notifier's wall clock (what stamps the outbox and the delivery records)."""
        return self._safe_now()

    def outbox_items(self, note: Notification) -> list[OutboxItem]:
        """The outbox rows of ``note``: one per target that wants it, sharing one ``message_id``."""
        message_id = note.message_id or message_id_for(note)
        payload = notification_to_json(note)
        return [
            OutboxItem(message_id, t.name, note.event, note.warning_id, payload)
            for t in self.targets
            if t.wants(note)
        ]

    def wake(self) -> None:
        """Tell the worker that the outbox has new rows."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def submit(self, note: Notification) -> None:
        """Queue ``note`` for delivery (with an outbox: write it there); returns immediately."""
        if self.outbox is not None:
            items = self.outbox_items(note)
            if items:
                self.outbox.outbox_enqueue(items, self._safe_now())
                self.wake()
            return
        dropped: Notification | None = None
        with self._cond:
            if self._closing:
                closed = True
            else:
                closed = False
                if len(self._queue) >= self._max_queue:
                    dropped = self._queue.popleft()
                self._queue.append(note)
                self._cond.notify()
        if closed:
            self._record_undelivered(note, "not sent: the notifier is closed")
        if dropped is not None:
            self._record_undelivered(
                dropped, f"queue full: dropped, {self._max_queue} notifications were waiting"
            )

    @property
    def pending(self) -> int:
        """Notifications queued or being delivered."""
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop accepting; wait up to ``timeout`` s for the queue to drain.

        True when everything was handled.
        """
        if self.outbox is not None:
            self._cancel.set()  # nothing to drain: undelivered rows stay in the outbox
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        drained = not self._thread.is_alive()
        if not drained:
            self._cancel.set()  # stop retries and backoff waits of the delivery in progress
            with self._cond:
                left = list(self._queue)
                self._queue.clear()
            for note in left:
                self._record_undelivered(note, "not sent: the notifier was closed before its turn")
        return drained

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _emit(self, record: DeliveryRecord) -> None:
        try:
            self._log(record)
        except Exception:
            log.exception("notification delivery log callback failed for %s", record.target)

    def _record_undelivered(self, note: Notification, reason: str) -> None:
        at = self._safe_now()
        for target in self.targets:
            if target.wants(note):
                self._emit(
                    DeliveryRecord(
                        target.name, note.event, note.warning_id, 0, "failed", None, reason, at, at, 0.0
                    )
                )

    def _safe_now(self) -> datetime:
        try:
            return self._now()
        except Exception:
            return datetime.now(UTC)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    break  # closing and drained
                note = self._queue.popleft()
                self._busy = True
            try:
                deliver(
                    self.targets,
                    note,
                    client=self._client,
                    now=self._now,
                    environ=self._environ,
                    sleep=self._sleep,
                    log=self._emit,
                    timezone=self._timezone,
                    cancel=self._cancel,
                )
            except Exception:
                log.exception("notification worker: delivering %s failed", note.warning_id)
            finally:
                with self._cond:
                    self._busy = False
        if self._own_client:
            self._client.close()  # here, on the worker, once its last request is over

    def _run_outbox(self) -> None:
        assert self.outbox is not None
        by_name = {t.name: t for t in self.targets}
        while not self._cancel.is_set():
            try:
                items = self.outbox.outbox_claim(self._safe_now())
            except Exception:
                log.exception("notification worker: reading the outbox failed")
                items = []
            if not items:
                with self._cond:
                    if not self._closing and not self._woken:
                        self._cond.wait(self._poll)
                    self._woken = False
                continue
            for i, item in enumerate(items):
                if self._cancel.is_set():
                    for left in items[i:]:  # claimed but not started: back to pending for the next start
                        self._settle(left, "pending", 0, None, "not sent yet: the notifier was stopped")
                    break
                with self._cond:
                    self._busy = True
                try:
                    self._deliver_item(item, by_name.get(item.target))
                except Exception:
                    log.exception("notification worker: delivering %s failed", item.message_id)
                finally:
                    with self._cond:
                        self._busy = False
        if self._own_client:
            self._client.close()

    def _settle(
        self, item: OutboxItem, status: str, attempts: int, http: int | None, error: str | None
    ) -> None:
        assert self.outbox is not None
        try:
            self.outbox.outbox_settle(
                item.message_id,
                item.target,
                status=status,
                attempts=attempts,
                http_status=http,
                error=error,
                at=self._safe_now(),
            )
        except Exception:
            log.exception("notification worker: recording the outcome of %s failed", item.message_id)

    def _deliver_item(self, item: OutboxItem, target: NotificationTarget | None) -> None:
        if target is None:
            self._settle(item, "failed", 0, None, f"no notification target {item.target!r} is configured")
            return
        try:
            note = notification_from_json(item.payload, message_id=item.message_id)
        except (ValueError, TypeError) as exc:
            self._settle(item, "failed", 0, None, f"the stored notification cannot be read: {exc}")
            return
        records = deliver(
            [target],
            note,
            client=self._client,
            now=self._now,
            environ=self._environ,
            sleep=self._sleep,
            timezone=self._timezone,
            cancel=self._cancel,
        )
        if not records:
            self._settle(item, "failed", 0, None, f"target {target.name!r} no longer takes this event")
            return
        record = records[0]
        if record.status == "failed" and self._cancel.is_set():
            # stopped mid-retry: not a verdict on the message; it is sent again after the restart
            self._settle(item, "pending", record.attempts, record.http_status, record.error)
            return
        self._emit(record)
        self._settle(item, record.status, record.attempts, record.http_status, record.error)
