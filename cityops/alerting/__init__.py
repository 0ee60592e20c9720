"""The warning tick and the back-test: the edges around the pure engine in ``metrics.warnings``.

One tick: read recent observation windows from the warehouse → :func:`metrics.signals.compute_signals`
→ :func:`metrics.warnings.evaluate.evaluate_pack` → :func:`metrics.warnings.lifecycle.advance` →
persist the changed warnings, their transitions and the notifications they cause (the outbox) in one
transaction → wake the notifier (which never blocks). The tick runs on a schedule whether or not new
data arrived, so debounce completion, clear times, reminders and feed staleness are evaluated on time.

The back-test runs exactly the same evaluation over a slice of history per step, in memory.

The modules, in the order a tick uses them:

- :mod:`.packs` — the configured rule packs, read, layered and checked against the known signals;
- :mod:`.window` — the reference data and the window of readings a tick reads;
- :mod:`.records` — a stored warning row back into a lifecycle state;
- :mod:`.faults` — a domain, rule or district that failed: logged once per cause, shown on
  ``/healthz`` and ``/feeds``, and raised as one ``engine.fault`` warning until the cause stops;
- :mod:`.engine` — :class:`Alerting`: the tick, suppressions, notifications, operators' actions;
- :mod:`.backtest` — the same evaluation replayed over history.
"""

from __future__ import annotations

from cityops.alerting.backtest import BacktestResult, backtest
from cityops.alerting.engine import LEVEL_EN, MIN_INDEX_COVERAGE, Alerting, LevelName
from cityops.alerting.packs import ENTITY_ATTRIBUTES, check_rules_against_signals, load_rule_pack
from cityops.alerting.records import state_from_row
from cityops.alerting.window import Context, read_window

__all__ = [
    "ENTITY_ATTRIBUTES",
    "LEVEL_EN",
    "MIN_INDEX_COVERAGE",
    "Alerting",
    "BacktestResult",
    "Context",
    "LevelName",
    "backtest",
    "check_rules_against_signals",
    "load_rule_pack",
    "read_window",
    "state_from_row",
]
