"""The warning engine: one tick reads the window, evaluates the rule pack, persists what changed and
hands the events to the notifier; operators' actions go through the same lock."""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import pandas as pd

from cityops.alerting.faults import ActiveFault, FaultLog, fault_findings, with_engine_rules
from cityops.alerting.records import state_from_row
from cityops.alerting.window import Context, read_window
from cityops.base.domains import INCIDENT
from cityops.notify import EventKind, Notification, Notifier
from ingest.health import compute_feed_health
from ingest.runtime import Runtime
from metrics.faults import Fault, fault_from
from metrics.levels import Level
from metrics.reasons import make_reason
from metrics.signals import Window, compute_signals, district_index
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import (
    ActionError,
    Event,
    TickResult,
    WarningState,
    acknowledge,
    advance,
    assign,
    comment,
    resolve,
    silence,
)
from metrics.warnings.rules import RulePack

log = logging.getLogger("cityops.alerting")

MIN_INDEX_COVERAGE = 0.5  # share of the index's weight that must have data (convention)
LevelName = Literal["red", "orange", "yellow", "blue"]
LEVEL_EN: dict[Level, LevelName] = {
    Level.RED: "red",
    Level.ORANGE: "orange",
    Level.YELLOW: "yellow",
    Level.BLUE: "blue",
}


class Alerting:
    """Evaluates the rule pack on each tick and persists what changed. Thread-safe (one tick at a time)."""

    def __init__(self, rt: Runtime, pack: RulePack, *, notifier: Notifier | None = None) -> None:
        self.rt = rt
        self.pack = pack
        self.notifier = notifier
        self._lock = threading.Lock()
        self._context: Context | None = None
        self._context_at = 0.0
        self.fault_log = FaultLog()

    def context(self) -> Context:
        """Reference data, re-read at most once a minute (entities first seen in a feed join it)."""
        now = time.monotonic()
        if self._context is None or now - self._context_at > 60:
            self._context = Context.load(self.rt)
            self._context_at = now
        return self._context

    def feed_rows(self, now: datetime) -> list[dict[str, Any]]:
        settings = self.rt.settings
        states = {r["feed"]: r for r in self.rt.warehouse.feed_states().to_dict("records")}
        event_domains = {INCIDENT.name}
        health = compute_feed_health(
            settings.feeds,
            states,
            event_domains,
            now,
            late_after=settings.ingest.late_after,
            stale_after=settings.ingest.stale_after,
        )
        # A feed that has never delivered but keeps failing is an outage too (a new department's feed
        # misconfigured from the start); one not yet run is not.
        return [
            {
                "name": h.feed,
                "domain": h.domain,
                "department": h.department,
                "freshness": "stale"
                if h.freshness == "never" and h.consecutive_failures > 0
                else h.freshness,
                "last_data_at": h.last_data_at,
            }
            for h in health
        ]

    def suppressions(
        self, feeds: list[dict[str, Any]], now: datetime
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Domains whose every feed is stale, and rules in a silence window."""
        by_domain: dict[str, list[str]] = {}
        for f in feeds:
            by_domain.setdefault(f["domain"], []).append(f["freshness"])
        domains = {
            d: make_reason("feed_stale", "every feed of the domain is stale; warnings paused")
            for d, states in by_domain.items()
            if states and all(s == "stale" for s in states)
        }
        rules: dict[str, str] = {}
        for entry in self.rt.settings.warnings.silences:
            start = (
                entry.start
                if entry.start.tzinfo
                else entry.start.replace(tzinfo=ZoneInfo(self.rt.settings.city.timezone))
            )
            end = (
                entry.end
                if entry.end.tzinfo
                else entry.end.replace(tzinfo=ZoneInfo(self.rt.settings.city.timezone))
            )
            if start <= now < end:
                for rule in with_engine_rules(self.pack).rules:
                    if fnmatch.fnmatch(rule.id, entry.rules):
                        rules[rule.id] = make_reason("silence_window", "silence window", note=entry.reason)
        return domains, rules

    def evaluate(
        self,
        window: Window,
        now: datetime,
        previous: dict[str, WarningState],
        feeds: list[dict[str, Any]] | None,
    ) -> TickResult:
        """One evaluation. A domain, rule or district that fails is contained (the rest is evaluated as
        usual), logged once per cause, and raises an engine-fault warning until it stops."""
        ctx = self.context()
        faults: list[Fault] = []
        signals = self._compute_signals(window, now, ctx, feeds, faults)
        findings = evaluate_pack(self.pack, signals, ctx.attributes, ctx.names, faults=faults)
        self.fault_log.report("tick", faults, now)
        # What this evaluation computes it decides itself; the index (computed for the wall) and a tick
        # that failed as a whole are known from the other sources.
        current = {f.cause for f in faults}
        active = [
            a for a in self.fault_log.active() if a.fault.cause in current or a.fault.stage != "signals"
        ]
        findings += fault_findings(active, previous)
        domains, rules = self.suppressions(feeds or [], now)
        return advance(
            with_engine_rules(self.pack),
            previous,
            findings,
            now,
            suppressed_domains=domains,
            suppressed_rules=rules,
        )

    def faults(self) -> list[ActiveFault]:
        """The engine's faults now (what ``/healthz`` and ``/feeds`` show)."""
        return self.fault_log.active()

    @contextmanager
    def _whole_tick(self) -> Iterator[None]:
        """A tick that fails as a whole (the warehouse cannot be read, say) is an engine fault too
        (``/healthz`` degraded, logged once); the error still goes to the caller."""
        try:
            yield
        except Exception as exc:
            self.fault_log.report("run", [fault_from("tick", "tick", exc)], self.rt.clock.now())
            raise
        self.fault_log.report("run", [], self.rt.clock.now())

    def _compute_signals(
        self,
        window: Window,
        now: datetime,
        ctx: Context,
        feeds: list[dict[str, Any]] | None = None,
        faults: list[Fault] | None = None,
    ) -> pd.DataFrame:
        """The state the rules read, computed from one window of readings (each domain contained)."""
        return compute_signals(
            window,
            ctx.entities,
            now,
            districts=ctx.districts,
            feeds=feeds,
            city_code=self.rt.settings.city.code,
            max_age=self.max_age(),
            faults=faults,
        )

    def max_age(self) -> dict[str, timedelta]:
        """How old a reading may be and still count, per domain: until its feed would be stale (then
        the feed-outage rules and suppression speak for it), never less than the built-in defaults."""
        settings = self.rt.settings
        out: dict[str, timedelta] = {}
        for feed in settings.feeds.values():
            age = feed.cadence * settings.ingest.stale_after
            out[feed.domain] = max(out.get(feed.domain, age), age)
        return out

    def state(self, now: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The signals now and the city-operations index per district, from one read of the window."""
        now = now or self.rt.clock.now()
        window = read_window(self.rt, now, now)
        ctx = self.context()
        faults: list[Fault] = []
        signals = self._compute_signals(window, now, ctx, faults=faults)
        index = district_index(
            signals,
            window.incidents,
            now,
            districts=ctx.districts,
            weights=self.rt.settings.composite.weights,
            rain_profile=self.rt.settings.warnings.rain_profile,
            faults=faults,
        )
        self.fault_log.report("state", faults, now)
        index.insert(1, "name", index["district_code"].map(ctx.names))
        # An index from less than half of the weighted domains would read "normal" during an outage.
        thin = index["coverage"] < MIN_INDEX_COVERAGE
        index.loc[thin, "index"] = float("nan")
        index.loc[thin, "grade_zh"] = "数据不足"
        index.loc[thin, "grade_en"] = "insufficient data"
        return signals, index

    def signals(self, now: datetime | None = None) -> pd.DataFrame:
        """The signals now (what the rules read; the map shows them too)."""
        return self.state(now)[0]

    def district_index(self, now: datetime | None = None) -> pd.DataFrame:
        """The city-operations index per district now, with the configured weights."""
        return self.state(now)[1]

    def open_states(self) -> dict[str, WarningState]:
        rows = self.rt.warehouse.warnings(open_only=True, limit=100_000).to_dict("records")
        return {r["dedup_key"]: state_from_row(r) for r in rows}

    def tick(self, now: datetime | None = None) -> TickResult:
        with self._lock, self._whole_tick():
            now = now or self.rt.clock.now()
            window = read_window(self.rt, now, now)
            previous = self.open_states()
            result = self.evaluate(window, now, previous, self.feed_rows(now))
            changed = [s for k, s in result.states.items() if previous.get(k) != s] + result.closed
            notifier = self.notifier
            notes = [self.notification(e, now) for e in result.events] if notifier is not None else []
            if notifier is not None and notifier.durable:
                # the notifications go to the outbox in the transaction that records the change
                outbox = [item for note in notes for item in notifier.outbox_items(note)]
                self.rt.warehouse.save_warnings(changed, result.transitions, outbox=outbox, at=notifier.now())
                notifier.wake()
            else:
                self.rt.warehouse.save_warnings(changed, result.transitions)
                for note in notes:
                    if notifier is not None:
                        notifier.submit(note)
            return result

    def notification(self, event: Event, now: datetime) -> Notification:
        w = event.warning
        settings = self.rt.settings
        departments = sorted({f.department for f in settings.feeds.values() if f.domain == w.domain})
        link = (
            f"{settings.warnings.dashboard_url.rstrip('/')}/warnings?id={w.warning_id}"
            if settings.warnings.dashboard_url
            else None
        )
        return Notification(
            event=cast(EventKind, event.kind),
            warning_id=w.warning_id,
            dedup_key=w.dedup_key,
            rule_id=w.rule_id,
            rule_title=w.rule_title,
            level=LEVEL_EN[w.level],
            previous_level=LEVEL_EN.get(event.previous_level) if event.previous_level else None,
            state=w.state,
            department="、".join(departments) or "城市运行管理中心",
            district=self.context().names.get(w.district_code or "", w.district_code or "")
            or settings.city.name,
            entity_name=w.name,
            summary=w.summary or w.rule_title,
            raised_at=w.activated_at or w.created_at,
            at=now,
            link=link,
        )

    def acknowledge(self, warning_id: str, actor: str, note: str = "") -> WarningState:
        return self.act(warning_id, "acknowledge", actor, note=note)

    def act(
        self,
        warning_id: str,
        action: str,
        actor: str,
        *,
        note: str = "",
        assignee: str = "",
        until: datetime | None = None,
    ) -> WarningState:
        """An operator's action on a warning, under the tick's lock so it never races an evaluation.
        The caller has checked the role (see cityops.base.auth); ``actor`` goes into the audit trail.
        Raises :class:`~metrics.warnings.lifecycle.ActionError` when the action does not apply."""
        with self._lock:
            row = self.rt.warehouse.warning(warning_id)
            if row is None:
                raise ActionError(f"no warning {warning_id!r}")
            st, now = state_from_row(row), self.rt.clock.now()
            if action == "acknowledge":
                new, tr = acknowledge(st, actor, now, note)
            elif action == "assign":
                new, tr = assign(st, actor, assignee, now)
            elif action == "comment":
                new, tr = comment(st, actor, note, now)
            elif action == "resolve":
                new, tr = resolve(st, actor, now, note)
            elif action == "silence":
                if until is None:
                    raise ActionError("a silence needs an end time")
                new, tr = silence(st, actor, until, now, note)
            else:
                raise ActionError(f"unknown action {action!r}")
            self.rt.warehouse.save_warnings([new], [tr])
            return new
