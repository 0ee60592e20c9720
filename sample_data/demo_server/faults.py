"""Injected faults: which request paths fail, and how (tests and demos break a feed on purpose)."""

from __future__ import annotations

import threading
import time

__all__ = ["FAULT_KINDS", "FaultBoard"]

FAULT_KINDS = ("500", "404", "hang", "malformed", "none")


class FaultBoard:
    """Faults by path prefix; the longest matching prefix wins. Thread-safe."""

    def __init__(self, hang_seconds: float) -> None:
        self.hang_seconds = hang_seconds
        self._faults: dict[str, str] = {}
        self._lock = threading.Lock()

    def set(self, path_prefix: str, kind: str) -> None:
        """Make requests under ``path_prefix`` fail with ``kind``, or clear the fault with "none"."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
        with self._lock:
            if kind == "none":
                self._faults.pop(path_prefix, None)
            else:
                self._faults[path_prefix] = kind

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def kind_for(self, path: str) -> str | None:
        """The fault a request for ``path`` meets, if any."""
        with self._lock:
            hits = [p for p in self._faults if path.startswith(p)]
            return self._faults[max(hits, key=len)] if hits else None

    def hang(self, path: str, stopping: threading.Event) -> None:
        """Block until ``hang_seconds`` pass, the server stops or the "hang" fault on ``path`` is lifted."""
        deadline = time.monotonic() + self.hang_seconds
        while time.monotonic() < deadline and not stopping.is_set() and self.kind_for(path) == "hang":
            time.sleep(0.05)
