"""Background delivery: a :class:`Notifier` runs :func:`~cityops.notify.delivery.deliver` on one thread
behind a bounded queue, so the warning evaluation never waits for a slow or dead endpoint."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from cityops.base.targets import NotificationTarget
from cityops.notify.delivery import deliver, read_wall_clock
from cityops.notify.message import DeliveryRecord, Notification

log = logging.getLogger("cityops.notify")


class Notifier:
    """Delivers notifications on one background thread so that callers never wait for an endpoint.

    ``submit(note)`` returns at once. The queue holds ``max_queue`` notifications; when it is full the
    oldest is dropped and recorded as failed ("queue full") for each target that wanted it. ``close``
    stops accepting, lets the worker finish the queue for up to ``timeout`` seconds, then records what
    is left as failed and stops retrying. ``log`` is called on the worker thread (and, for drops, on
    the submitting thread); an exception from it is logged and ignored.
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
    ) -> None:
        if max_queue < 1:
            raise ValueError("Notifier max_queue must be at least 1")
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
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(trust_env=False, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="cityops-notify", daemon=True)
        self._thread.start()

    def submit(self, note: Notification) -> None:
        """Queue ``note`` for delivery; returns immediately."""
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
