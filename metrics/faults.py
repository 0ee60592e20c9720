"""Faults: a computation that failed for one part of the city's state, returned as data. Pure.

The signals (one domain), the rule evaluation (one rule) and the district index (one district) each
run their parts separately when given a list to collect faults in: a part that raises is left out of
the result and described by a :class:`Fault` instead, so one reading of an unexpected shape costs that
part only, never the whole tick. What to do with a fault (log it once, show it on ``/healthz``, raise
an engine-fault warning) is the caller's business; this package does no I/O.

Without a list (``faults=None``) a failing part raises as before: a test or a back-test that wants the
error sees it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

Stage = Literal["signals", "rule", "index", "tick"]
T = TypeVar("T")

#: How much of an error message a fault keeps (feed data can end up in a message; keep it short).
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class Fault:
    """One part that failed: ``stage`` (signals, rule, index, or the whole tick), ``subject`` (the
    domain, rule id or district code) and the error. ``cause`` identifies it across ticks: the same
    part failing the same way is the same fault, however often it happens."""

    stage: Stage
    subject: str
    error_type: str
    message: str
    trace: str = field(default="", compare=False, repr=False)

    @property
    def cause(self) -> str:
        return f"{self.stage}:{self.subject}:{self.error_type}"


def fault_from(stage: Stage, subject: str, exc: BaseException) -> Fault:
    """A :class:`Fault` describing ``exc``, raised while computing ``subject``."""
    message = str(exc)
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Fault(stage, subject, type(exc).__name__, message, trace)


def contained(
    stage: Stage, subject: str, compute: Callable[[], T], fallback: T, faults: list[Fault] | None
) -> T:
    """``compute()``; when it raises and ``faults`` is a list, the fault goes there and ``fallback`` is
    returned instead (``faults=None``: the error propagates)."""
    if faults is None:
        return compute()
    try:
        return compute()
    except Exception as exc:  # any failure of one part is contained: the other parts must still run
        faults.append(fault_from(stage, subject, exc))
        return fallback
