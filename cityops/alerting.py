"""The warning tick and the back-test: the edges around the pure engine in ``metrics.warnings``.

One tick: read recent observation windows from the warehouse → :func:`metrics.signals.compute_signals`
→ :func:`metrics.warnings.evaluate.evaluate_pack` → :func:`metrics.warnings.lifecycle.advance` →
persist the changed warnings and their transitions in one transaction → hand events to the notifier
(which never blocks). The tick runs on a schedule whether or not new data arrived, so debounce
completion, clear times, reminders and feed staleness are evaluated on time.

The back-test runs exactly the same evaluation over a slice of history per step, in memory.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import pandas as pd

from cityops.base.domains import AIR, INCIDENT, RAIN, TRAFFIC, WATER
from cityops.base.errors import ConfigError
from cityops.base.settings import Settings
from cityops.base.times import aware_utc, required_utc
from cityops.notify import EventKind, Notification, Notifier
from ingest.health import compute_feed_health
from ingest.pipeline import Runtime, resolve_domain
from metrics.levels import Level
from metrics.signals import (
    LOOKBACK,
    SIGNAL_METRICS,
    Window,
    compute_signals,
    district_index,
    entity_attributes,
)
from metrics.warnings.evaluate import evaluate_pack
from metrics.warnings.lifecycle import (
    OPEN_STATES,
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
from metrics.warnings.rules import (
    PackDocument,
    RulePack,
    RulePackError,
    parse_pack,
    resolve_packs,
)

log = logging.getLogger("cityops.alerting")

MIN_INDEX_COVERAGE = 0.5  # share of the index's weight that must have data (convention)
LevelName = Literal["red", "orange", "yellow", "blue"]
LEVEL_EN: dict[Level, LevelName] = {
    Level.RED: "red",
    Level.ORANGE: "orange",
    Level.YELLOW: "yellow",
    Level.BLUE: "blue",
}


def load_rule_pack(settings: Settings, *, today: date | None = None) -> RulePack:
    """Read, validate and layer the configured rule packs."""
    docs: list[PackDocument] = []
    for path in settings.warnings.packs:
        if not path.exists():
            raise ConfigError(
                f"rule pack {path} does not exist", hint="fix warnings.packs in the configuration"
            )
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"rule pack {path}: not valid TOML: {exc}") from None
        try:
            docs.append(parse_pack(data, source=str(path)))
        except RulePackError as exc:
            raise ConfigError(
                str(exc), hint="see the rule pack format in metrics/warnings/rules.py"
            ) from None
    try:
        pack = resolve_packs(docs, today=today)
    except RulePackError as exc:
        raise ConfigError(str(exc)) from None
    check_rules_against_signals(pack, settings)
    return pack


ENTITY_ATTRIBUTES = (
    "warning_level_m",
    "guaranteed_level_m",
    "historical_level_m",
    "flood_limit_level_m",
    "normal_level_m",
    "free_flow_kmh",
    "length_m",
)


def check_rules_against_signals(pack: RulePack, settings: Settings) -> None:
    """Every rule must name a domain, metrics and attributes that exist, or it could never fire."""
    metrics = {domain: set(names) for domain, names in SIGNAL_METRICS.items()}
    for name, spec in settings.domains.items():
        metrics[name] = {m.name for m in spec.metrics}
    for rule in pack.rules:
        where = f"rule pack {pack.version}: rule {rule.id}"
        if rule.kind == "feed_stale":
            if rule.domain != "*" and rule.domain not in metrics:
                raise ConfigError(
                    f"{where}: domain {rule.domain!r} unknown; allowed: *, {', '.join(sorted(metrics))}"
                )
            continue
        checks = (
            [(rule.domain, rule.metric, th) for th in rule.levels.values()]
            if rule.kind != "compound"
            else [(c.domain, c.metric, c.threshold) for c in rule.conditions]
        )
        for domain, metric, th in checks:
            if domain not in metrics:
                raise ConfigError(
                    f"{where}: domain {domain!r} unknown; allowed: {', '.join(sorted(metrics))}"
                )
            for m in filter(None, (th.metric or metric,)):
                if m not in metrics[domain]:
                    raise ConfigError(
                        f"{where}: {domain} has no metric {m!r}; "
                        f"allowed: {', '.join(sorted(metrics[domain]))}"
                    )
            if th.attr is not None:
                if rule.kind == "compound" or rule.scope != "entity":
                    raise ConfigError(
                        f"{where}: attr thresholds apply to entity rules only, not {rule.kind}/{rule.scope}"
                    )
                if th.attr not in ENTITY_ATTRIBUTES:
                    raise ConfigError(
                        f"{where}: unknown attribute {th.attr!r}; allowed: {', '.join(ENTITY_ATTRIBUTES)}"
                    )


def state_from_row(row: dict[str, Any]) -> WarningState:
    """A stored warning row back into the lifecycle's state object."""

    def num(v: Any) -> float | None:
        return None if v is None or (isinstance(v, float) and v != v) else float(v)

    # Missing text comes back from a frame as NaN: make it None again.
    row = {
        k: (None if isinstance(v, float) and v != v and k not in ("value", "threshold") else v)
        for k, v in row.items()
    }

    evidence = row.get("evidence")
    return WarningState(
        warning_id=row["warning_id"],
        dedup_key=row["dedup_key"],
        rule_id=row["rule_id"],
        rule_title=row["rule_title"],
        kind=row["kind"],
        domain=row["domain"],
        pack_version=row["pack_version"],
        state=row["state"],
        level=Level(int(row["level"])),
        scope=row["scope"],
        key=row["key"],
        entity_id=row.get("entity_id"),
        name=row.get("name"),
        district_code=row.get("district_code"),
        basin=row.get("basin"),
        condition_since=required_utc(row["condition_since"], "condition_since"),
        created_at=required_utc(row["created_at"], "created_at"),
        updated_at=required_utc(row["updated_at"], "updated_at"),
        activated_at=aware_utc(row.get("activated_at")),
        acknowledged_at=aware_utc(row.get("acknowledged_at")),
        acknowledged_by=row.get("acknowledged_by"),
        resolved_at=aware_utc(row.get("resolved_at")),
        clear_since=aware_utc(row.get("clear_since")),
        last_reminder_at=aware_utc(row.get("last_reminder_at")),
        suppressed_from=row.get("suppressed_from"),
        suppressed_reason=row.get("suppressed_reason"),
        peak_level=None
        if row.get("peak_level") is None or row.get("peak_level") != row.get("peak_level")
        else Level(int(row["peak_level"])),
        value=num(row.get("value")),
        threshold=num(row.get("threshold")),
        summary=row.get("summary") or "",
        evidence=json.loads(evidence) if isinstance(evidence, str) else (evidence or {}),
        data_ts=aware_utc(row.get("data_ts")),
        assignee=row.get("assignee"),
        silenced_until=aware_utc(row.get("silenced_until")),
    )


@dataclass
class Context:
    """Reference data a tick needs, read once: entities, districts, names."""

    entities: pd.DataFrame
    attributes: pd.DataFrame
    districts: list[str]
    names: dict[str, str]

    @classmethod
    def load(cls, rt: Runtime) -> Context:
        entities = rt.warehouse.entities()
        districts = rt.warehouse.districts()
        names = dict(zip(districts["code"], districts["name"], strict=True)) if len(districts) else {}
        for feed_name, feed in rt.settings.feeds.items():
            names.setdefault(feed_name, f"{feed.department}（{feed_name}）")
        return cls(
            entities,
            entity_attributes(entities) if len(entities) else pd.DataFrame(),
            list(districts["code"]),
            names,
        )


def read_window(rt: Runtime, start: datetime, end: datetime) -> Window:
    """Observations for ticks in [start, end]: each domain from ``start`` minus what its signals look
    back over (a bounded, recent read; a live tick has start = end = now)."""
    wh = rt.warehouse
    custom = {
        name: wh.observation_window(resolve_domain(rt.settings, name), start - LOOKBACK["custom"], end)
        for name in rt.settings.domains
    }
    return Window(
        traffic=wh.observation_window(TRAFFIC, start - LOOKBACK["traffic"], end),
        air=wh.observation_window(AIR, start - LOOKBACK["air"], end),
        water=wh.observation_window(WATER, start - LOOKBACK["water"], end),
        rain=wh.observation_window(RAIN, start - LOOKBACK["rain"], end),
        incidents=wh.incidents_since(start - timedelta(days=7)),
        custom=custom,
    )


class Alerting:
    """Evaluates the rule pack on each tick and persists what changed. Thread-safe (one tick at a time)."""

    def __init__(self, rt: Runtime, pack: RulePack, *, notifier: Notifier | None = None) -> None:
        self.rt = rt
        self.pack = pack
        self.notifier = notifier
        self._lock = threading.Lock()
        self._context: Context | None = None
        self._context_at = 0.0

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
            d: "数据源中断，预警暂停"
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
                for rule in self.pack.rules:
                    if fnmatch.fnmatch(rule.id, entry.rules):
                        rules[rule.id] = entry.reason
        return domains, rules

    def evaluate(
        self,
        window: Window,
        now: datetime,
        previous: dict[str, WarningState],
        feeds: list[dict[str, Any]] | None,
    ) -> TickResult:
        ctx = self.context()
        signals = self._compute_signals(window, now, ctx, feeds)
        findings = evaluate_pack(self.pack, signals, ctx.attributes, ctx.names)
        domains, rules = self.suppressions(feeds or [], now)
        return advance(self.pack, previous, findings, now, suppressed_domains=domains, suppressed_rules=rules)

    def _compute_signals(
        self, window: Window, now: datetime, ctx: Context, feeds: list[dict[str, Any]] | None = None
    ) -> pd.DataFrame:
        """The state the rules read, computed from one window of readings."""
        return compute_signals(
            window,
            ctx.entities,
            now,
            districts=ctx.districts,
            feeds=feeds,
            city_code=self.rt.settings.city.code,
            max_age=self.max_age(),
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
        signals = self._compute_signals(window, now, ctx)
        index = district_index(
            signals,
            window.incidents,
            now,
            districts=ctx.districts,
            weights=self.rt.settings.composite.weights,
            rain_profile=self.rt.settings.warnings.rain_profile,
        )
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
        with self._lock:
            now = now or self.rt.clock.now()
            window = read_window(self.rt, now, now)
            previous = self.open_states()
            result = self.evaluate(window, now, previous, self.feed_rows(now))
            changed = [s for k, s in result.states.items() if previous.get(k) != s] + result.closed
            self.rt.warehouse.save_warnings(changed, result.transitions)
            if self.notifier is not None:
                for event in result.events:
                    self.notifier.submit(self.notification(event, now))
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


# -- back-test -----------------------------------------------------------------------------------------


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
