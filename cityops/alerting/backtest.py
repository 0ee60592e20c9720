"""The back-test: history replayed through the engine's evaluation, one step at a time, in memory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cityops.alerting.engine import LEVEL_EN, Alerting
from cityops.alerting.window import read_window
from ingest.runtime import Runtime
from metrics.warnings.lifecycle import OPEN_STATES, WarningState
from metrics.warnings.rules import RulePack


@dataclass
class BacktestResult:
    start: datetime
    end: datetime
    step: timedelta
    ticks: int
    events: list[tuple[datetime, str, str, str, str]] = field(
        default_factory=list
    )  # at, kind, rule, level, summary
    open_at_end: int = 0

    def by_rule_and_level(self) -> list[tuple[str, str, int, datetime, datetime]]:
        """(rule, level, warnings raised at that level incl. escalations, first, last)."""
        counts: Counter[tuple[str, str]] = Counter()
        first: dict[tuple[str, str], datetime] = {}
        last: dict[tuple[str, str], datetime] = {}
        for at, kind, rule, level, _ in self.events:
            if kind not in ("raised", "escalated"):
                continue
            key = (rule, level)
            counts[key] += 1
            first.setdefault(key, at)
            last[key] = at
        order = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
        return sorted(
            ((r, lv, n, first[(r, lv)], last[(r, lv)]) for (r, lv), n in counts.items()),
            key=lambda x: (x[0], order[x[1]]),
        )


def backtest(
    rt: Runtime, pack: RulePack, start: datetime, end: datetime, step: timedelta, *, on_step: Any = None
) -> BacktestResult:
    """Replay history through the same evaluation, in memory (nothing is written)."""
    engine = Alerting(rt, pack)
    window = read_window(rt, start, end)
    result = BacktestResult(start, end, step, 0)
    states: dict[str, WarningState] = {}
    t = start
    n_steps = max(1, int((end - start) / step))
    while t < end:
        naive = t.astimezone(UTC).replace(tzinfo=None)
        tick = engine.evaluate(window.upto(naive), t, states, feeds=None)
        states = tick.states
        for e in tick.events:
            result.events.append((t, e.kind, e.warning.rule_id, LEVEL_EN[e.warning.level], e.warning.summary))
        result.ticks += 1
        if on_step is not None:
            on_step(result.ticks, n_steps)
        t += step
    result.open_at_end = sum(1 for s in states.values() if s.state in OPEN_STATES)
    return result
