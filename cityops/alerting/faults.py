"""Engine faults: what the engine does with a part of a tick that failed (see :mod:`metrics.faults`).

A fault is contained where it happens (one domain's signals, one rule, one district's index) and the
rest of the tick goes on. Here it is made visible, never silent:

- :class:`FaultLog` keeps the faults each source (the tick, the wall's state read, a whole tick that
  failed) last reported, logs each cause once when it appears and once when it clears (not every
  tick), and gives ``/healthz`` and ``/feeds`` the list;
- :func:`fault_findings` turns the active faults into findings of the internal rule
  :data:`ENGINE_FAULT_RULE` (``engine.fault``, yellow, one warning per cause), which go through the
  normal lifecycle and audit like any warning, and clear when their cause stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from metrics.faults import Fault
from metrics.levels import Level
from metrics.warnings.evaluate import Finding, dedup_key
from metrics.warnings.lifecycle import WarningState
from metrics.warnings.rules import Rule, RulePack, Threshold

log = logging.getLogger("cityops.alerting")

ENGINE_FAULT_RULE_ID = "engine.fault"
ENGINE_DOMAIN = "engine"
ENGINE_SCOPE = "engine"
#: The internal rule every engine-fault warning belongs to: raised at once (no debounce), resolved as
#: soon as its cause stops, one warning per cause.
ENGINE_FAULT_RULE = Rule(
    id=ENGINE_FAULT_RULE_ID,
    title="预警引擎计算故障",
    title_en="Warning engine computation fault",
    kind="ladder",
    domain=ENGINE_DOMAIN,
    metric="fault",
    citation="系统内部规则：计算故障须告知值班人员，不得静默",
    effective=date(2026, 1, 1),
    scope="city",
    levels={"yellow": Threshold(value=1.0)},
    debounce=timedelta(0),
    clear_after=timedelta(0),
    remind_every=None,
)
STAGE_ZH = {"signals": "信号计算", "rule": "规则评估", "index": "区县运行指数", "tick": "预警评估"}
STAGE_EN = {
    "signals": "signals",
    "rule": "rule evaluation",
    "index": "district index",
    "tick": "warning tick",
}


def with_engine_rules(pack: RulePack) -> RulePack:
    """``pack`` plus the internal engine-fault rule (what the lifecycle advances)."""
    if any(r.id == ENGINE_FAULT_RULE_ID for r in pack.rules):
        return pack
    return pack.model_copy(update={"rules": (*pack.rules, ENGINE_FAULT_RULE)})


@dataclass(frozen=True)
class ActiveFault:
    """A fault some source reports now, and since when (the first tick that saw it)."""

    fault: Fault
    since: datetime

    def as_dict(self) -> dict[str, str]:
        f = self.fault
        return {
            "cause": f.cause,
            "stage": f.stage,
            "subject": f.subject,
            "error": f"{f.error_type}: {f.message}",
            "since": self.since.isoformat(),
        }


class FaultLog:
    """The faults each source reported last, by cause. Thread-safe: the tick and the wall's reads
    report from different threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_source: dict[str, dict[str, Fault]] = {}
        self._since: dict[str, datetime] = {}

    def report(self, source: str, faults: Iterable[Fault], now: datetime) -> None:
        """What ``source`` found in its latest run (an empty list: it ran clean). A cause is logged
        when it first appears from any source and when no source reports it any more."""
        with self._lock:
            before = self._active_causes()
            self._by_source[source] = {f.cause: f for f in faults}
            after = self._active_causes()
            for cause in sorted(after - before):
                fault = self._fault(cause)
                self._since[cause] = now
                log.error(
                    "engine fault %s (%s: %s); the rest of the evaluation goes on, this cause is "
                    "logged again only after it clears\n%s",
                    cause,
                    fault.error_type,
                    fault.message,
                    fault.trace.rstrip(),
                )
            for cause in sorted(before - after):
                self._since.pop(cause, None)
                log.warning("engine fault %s cleared", cause)

    def active(self) -> list[ActiveFault]:
        """Every fault some source reports now, oldest first."""
        with self._lock:
            causes = self._active_causes()
            return sorted(
                (ActiveFault(self._fault(c), self._since[c]) for c in causes),
                key=lambda a: (a.since, a.fault.cause),
            )

    def _active_causes(self) -> set[str]:
        return {c for faults in self._by_source.values() for c in faults}

    def _fault(self, cause: str) -> Fault:
        for faults in self._by_source.values():
            if cause in faults:
                return faults[cause]
        raise KeyError(cause)


def fault_findings(active: Iterable[ActiveFault], previous: Mapping[str, WarningState]) -> list[Finding]:
    """Findings of :data:`ENGINE_FAULT_RULE`: one per active cause (yellow), and a clear finding for
    every open engine-fault warning whose cause has stopped (so it resolves)."""
    out: list[Finding] = []
    seen: set[str] = set()
    for a in active:
        f = a.fault
        key = dedup_key(ENGINE_FAULT_RULE_ID, ENGINE_SCOPE, f.cause)
        seen.add(key)
        stage = STAGE_ZH.get(f.stage, f.stage)
        out.append(
            Finding(
                rule_id=ENGINE_FAULT_RULE_ID,
                dedup_key=key,
                scope=ENGINE_SCOPE,
                key=f.cause,
                level=Level.YELLOW,
                hold_level=Level.YELLOW,
                value=1.0,
                threshold=1.0,
                name=f"{stage}：{f.subject}",
                summary=f"{stage}「{f.subject}」失败（{f.error_type}: {f.message}），"
                "该部分暂缺，其余照常运行",
                summary_en=f"{STAGE_EN.get(f.stage, f.stage)} '{f.subject}' failed "
                f"({f.error_type}: {f.message}); that part is missing, the rest runs as usual",
                evidence={
                    "stage": f.stage,
                    "subject": f.subject,
                    "error": f"{f.error_type}: {f.message}",
                    "since": a.since.isoformat(),
                },
            )
        )
    for key, st in previous.items():
        if st.rule_id == ENGINE_FAULT_RULE_ID and key not in seen:
            out.append(
                Finding(
                    rule_id=ENGINE_FAULT_RULE_ID,
                    dedup_key=key,
                    scope=ENGINE_SCOPE,
                    key=st.key,
                    level=None,
                    hold_level=None,
                    value=0.0,
                    name=st.name,
                )
            )
    return out
