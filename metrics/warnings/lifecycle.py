"""The warning lifecycle: a pure state machine over findings, one tick at a time.

States: ``pending`` → ``active`` → ``acknowledged`` → ``resolved``, plus ``suppressed`` (its feed is
stale, a silence window, maintenance). One warning per dedup key is open at a time (the state is a
mapping keyed by dedup key, so two cannot exist); a resolved warning is closed, and the next episode
of the same condition is a new warning.

Per tick, for each rule and key, with ``L`` the warning's level:

* no open warning and the condition reaches a level → ``pending`` (or ``active`` at once when the
  rule's debounce/hold is zero); a pending warning whose condition clears before the debounce ends is
  dropped (audited as ``cancelled``, never notified);
* pending for the debounce (``hold`` for duration rules) → ``active`` (event ``raised``);
* open and the condition reaches a more severe level → level raised at once (``escalated``; an
  acknowledged warning needs acknowledging again);
* open and the level held *with hysteresis* is less severe than ``L`` → ``deescalated``;
* open and nothing holds, even with hysteresis → ``clear_since`` starts; after ``clear_after`` →
  ``resolved``. Any return of the condition resets ``clear_since``: a warning never resolves while
  its condition holds. No finding at all (the entity sent no data this tick) is *not* clear: the
  warning stays as it is until data says otherwise or its feed goes stale (then it is suppressed);
* active, not acknowledged, for ``remind_every`` since activation or the last reminder →
  ``reminder`` event;
* the rule's domain is suppressed (feed stale, silence) → open warnings become ``suppressed`` and no
  new ones are raised; when the suppression ends they return to their previous state and are
  evaluated normally.

Every change is a :class:`Transition` (for the audit table: actor ``system``, time, reason) and the
ones people are told about are also :class:`Event`\\ s (raised, escalated, deescalated, resolved,
reminder).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from metrics.levels import Level
from metrics.reasons import make_reason
from metrics.warnings.evaluate import Finding
from metrics.warnings.rules import Rule, RulePack

OPEN_STATES = ("pending", "active", "acknowledged", "suppressed")

# A transition's reason is coded (``metrics.reasons``): ``[code {params}] English detail``, several
# joined with "; " (a cancellation and its cause). Pages render the code in the reader's language
# (i18n ``warnings.reason.<code>``); ``note`` carries a person's own words, shown as they are.
REASON_CODES = (
    "rule_gone",
    "condition_reached",
    "no_debounce",
    "cancelled",
    "suppression_ended",
    "debounce_cleared",
    "held",
    "condition_clear",
    "escalated",
    "deescalated",
    "reminder",
    "silenced_until",
    "acknowledged",
    "assigned",
    "unassigned",
    "comment",
    "resolved_by_operator",
    "silenced_by",
    "feed_stale",
    "silence_window",
    "note",
)


def _minutes(d: timedelta) -> int:
    return round(d.total_seconds() / 60)


def _with_note(reason: str, note: str) -> str:
    return f"{reason}; {make_reason('note', note)}" if note else reason


@dataclass(frozen=True)
class WarningState:
    warning_id: str
    dedup_key: str
    rule_id: str
    rule_title: str
    kind: str
    domain: str
    pack_version: str
    state: str
    level: Level
    scope: str
    key: str
    entity_id: str | None
    name: str | None
    district_code: str | None
    basin: str | None
    condition_since: datetime
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    clear_since: datetime | None = None
    last_reminder_at: datetime | None = None
    suppressed_from: str | None = None
    suppressed_reason: str | None = None
    peak_level: Level | None = None
    value: float | None = None
    threshold: float | None = None
    summary: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    data_ts: datetime | None = None
    assignee: str | None = None
    silenced_until: datetime | None = None
    rule_title_en: str = ""  # the rule's title in English ("" : none given; show rule_title)
    summary_en: str = ""  # the summary in English ("" : none; show summary)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class Transition:
    warning_id: str
    dedup_key: str
    at: datetime
    from_state: str | None
    to_state: str
    from_level: Level | None
    to_level: Level | None
    actor: str
    reason: str


@dataclass(frozen=True)
class Event:
    kind: str  # raised | escalated | deescalated | resolved | reminder
    warning: WarningState
    previous_level: Level | None = None


@dataclass
class TickResult:
    states: dict[str, WarningState]  # open warnings after the tick, by dedup key
    closed: list[WarningState]  # warnings resolved (or cancelled) in this tick
    transitions: list[Transition]
    events: list[Event]


def warning_id(dedup_key: str, since: datetime) -> str:
    """Deterministic, so that a back-test run twice names its warnings the same."""
    digest = hashlib.sha1(f"{dedup_key}@{since.isoformat()}".encode()).hexdigest()[:12]
    return f"W{since:%Y%m%d}-{digest}"


def _more_severe(a: Level | None, b: Level | None) -> bool:
    """a is strictly more severe than b (None is below blue)."""
    if a is None:
        return False
    return b is None or int(a) < int(b)


def _condition_level(current: Level | None, finding: Finding | None) -> Level | None:
    """The level the condition holds for a warning currently at ``current`` (hysteresis applied)."""
    if finding is None:
        return None
    strict, hold = finding.level, finding.hold_level
    if current is None:
        return strict
    if strict is not None and not _more_severe(current, strict):
        return strict  # at or above the current level (escalation or steady)
    if hold is not None and not _more_severe(current, hold):
        return current  # fell below the threshold but not below it minus the hysteresis
    return hold if hold is not None else strict


def _from_finding(state: WarningState, finding: Finding) -> WarningState:
    return replace(
        state,
        value=finding.value,
        threshold=finding.threshold if finding.level is not None else state.threshold,
        summary=finding.summary or state.summary,
        summary_en=finding.summary_en or (state.summary_en if not finding.summary else ""),
        evidence=dict(finding.evidence) if finding.level is not None else state.evidence,
        data_ts=finding.data_ts or state.data_ts,
        name=finding.name or state.name,
    )


def advance(
    pack: RulePack,
    previous: Mapping[str, WarningState],
    findings: Iterable[Finding],
    now: datetime,
    *,
    suppressed_domains: Mapping[str, str] | None = None,
    suppressed_rules: Mapping[str, str] | None = None,
) -> TickResult:
    """One evaluation tick. ``suppressed_domains`` / ``suppressed_rules`` map a domain / rule id to the
    reason its warnings are silent (a stale feed; a silence window or maintenance)."""
    suppressed_domains = suppressed_domains or {}
    suppressed_rules = suppressed_rules or {}
    rules = {r.id: r for r in pack.rules}
    by_key: dict[str, Finding] = {f.dedup_key: f for f in findings}
    states: dict[str, WarningState] = {}
    closed: list[WarningState] = []
    transitions: list[Transition] = []
    events: list[Event] = []

    def move(
        st: WarningState, to_state: str, reason: str, *, level: Level | None = None, **changes: Any
    ) -> WarningState:
        new = replace(st, state=to_state, level=level or st.level, updated_at=now, **changes)
        transitions.append(
            Transition(
                st.warning_id, st.dedup_key, now, st.state, to_state, st.level, new.level, "system", reason
            )
        )
        return new

    keys = set(previous) | {k for k, f in by_key.items() if f.level is not None}
    for key in sorted(keys):
        finding = by_key.get(key)
        st = previous.get(key)
        rule = rules.get(st.rule_id if st else finding.rule_id if finding else "")
        if rule is None:
            # The rule left the pack (disabled or edited away): close what it raised.
            if st is not None:
                closed.append(
                    move(
                        st,
                        "resolved",
                        make_reason("rule_gone", "rule no longer in the rule pack"),
                        resolved_at=now,
                    )
                )
                events.append(Event("resolved", closed[-1]))
            continue
        silenced = suppressed_rules.get(rule.id) or (
            suppressed_domains.get(rule.domain) if rule.kind != "feed_stale" else None
        )
        if st is not None and st.silenced_until is not None:
            if now < st.silenced_until:
                silenced = (
                    silenced
                    or st.suppressed_reason
                    or make_reason(
                        "silenced_until",
                        f"silenced until {st.silenced_until:%Y-%m-%d %H:%M}",
                        until=f"{st.silenced_until:%Y-%m-%d %H:%M}",
                    )
                )
            else:
                st = replace(st, silenced_until=None)

        if st is None:
            if silenced:
                continue  # nothing new is raised from data that cannot be trusted
            assert finding is not None and finding.level is not None
            st = _new_warning(rule, pack, finding, now)
            transitions.append(
                Transition(
                    st.warning_id,
                    key,
                    now,
                    None,
                    "pending",
                    None,
                    st.level,
                    "system",
                    make_reason(
                        "condition_reached",
                        f"condition reached {finding.level.name.lower()}: {finding.summary_en}",
                        level=finding.level.name.lower(),
                    ),
                )
            )
            if rule.activation_delay <= timedelta(0):
                st = move(st, "active", make_reason("no_debounce", "no debounce"), activated_at=now)
                events.append(Event("raised", st))
            states[key] = st
            continue

        # Suppression begins or ends.
        if silenced and st.state != "suppressed":
            if st.state == "pending":
                closed.append(
                    move(
                        st,
                        "resolved",
                        f"{make_reason('cancelled', 'cancelled')}; {silenced}",
                        resolved_at=now,
                    )
                )
                continue
            states[key] = move(
                st, "suppressed", silenced, suppressed_from=st.state, suppressed_reason=silenced
            )
            continue
        if st.state == "suppressed":
            if silenced:
                states[key] = st
                continue
            st = move(
                st,
                st.suppressed_from or "active",
                make_reason("suppression_ended", "suppression ended"),
                suppressed_from=None,
                suppressed_reason=None,
            )

        if finding is None and st.kind != "feed_stale":
            # No data for this entity or zone this tick (a station stopped reporting): that is not
            # "clear". Keep the warning as it is; a stale feed suppresses it, fresh data decides it.
            states[key] = st
            continue
        level = _condition_level(st.level, finding)
        if finding is not None:
            st = _from_finding(st, finding)

        if st.state == "pending":
            if level is None:
                closed.append(
                    move(
                        st,
                        "resolved",
                        make_reason(
                            "debounce_cleared", "cancelled: condition cleared before the debounce ended"
                        ),
                        resolved_at=now,
                    )
                )
                continue
            if _more_severe(level, st.level):
                st = replace(st, level=level, peak_level=level)
            if now - st.condition_since >= rule.activation_delay:
                st = move(
                    st,
                    "active",
                    make_reason(
                        "held",
                        f"held for {rule.activation_delay}",
                        minutes=_minutes(rule.activation_delay),
                    ),
                    activated_at=now,
                    clear_since=None,
                )
                events.append(Event("raised", st))
            states[key] = st
            continue

        # active or acknowledged
        if level is None:
            since = st.clear_since or now
            if now - since >= rule.clear_after:
                done = move(
                    st,
                    "resolved",
                    make_reason(
                        "condition_clear",
                        f"condition clear for {rule.clear_after}",
                        minutes=_minutes(rule.clear_after),
                    ),
                    resolved_at=now,
                )
                closed.append(done)
                events.append(Event("resolved", done))
                continue
            states[key] = replace(st, clear_since=since)
            continue
        if st.clear_since is not None:
            st = replace(st, clear_since=None)
        if _more_severe(level, st.level):
            prev = st.level
            st = move(
                st,
                "active",
                make_reason("escalated", f"escalated to {level.name.lower()}", level=level.name.lower()),
                level=level,
                acknowledged_at=None,
                acknowledged_by=None,
                peak_level=level if _more_severe(level, st.peak_level) else st.peak_level,
                last_reminder_at=None,
            )
            events.append(Event("escalated", st, prev))
        elif _more_severe(st.level, level):
            prev = st.level
            st = move(
                st,
                st.state,
                make_reason("deescalated", f"de-escalated to {level.name.lower()}", level=level.name.lower()),
                level=level,
            )
            events.append(Event("deescalated", st, prev))
        if st.state == "active" and rule.remind_every is not None:
            last = st.last_reminder_at or st.activated_at or st.created_at
            if now - last >= rule.remind_every:
                st = replace(st, last_reminder_at=now, updated_at=now)
                transitions.append(
                    Transition(
                        st.warning_id,
                        key,
                        now,
                        "active",
                        "active",
                        st.level,
                        st.level,
                        "system",
                        make_reason("reminder", "reminder: not acknowledged"),
                    )
                )
                events.append(Event("reminder", st))
        states[key] = st
    return TickResult(states, closed, transitions, events)


def _new_warning(rule: Rule, pack: RulePack, finding: Finding, now: datetime) -> WarningState:
    assert finding.level is not None
    return WarningState(
        warning_id=warning_id(finding.dedup_key, now),
        dedup_key=finding.dedup_key,
        rule_id=rule.id,
        rule_title=rule.title,
        rule_title_en=rule.title_en,
        kind=rule.kind,
        domain=rule.domain,
        pack_version=pack.version,
        state="pending",
        level=finding.level,
        scope=finding.scope,
        key=finding.key,
        entity_id=finding.entity_id,
        name=finding.name,
        district_code=finding.district_code,
        basin=finding.basin,
        condition_since=now,
        created_at=now,
        updated_at=now,
        peak_level=finding.level,
        value=finding.value,
        threshold=finding.threshold,
        summary=finding.summary,
        summary_en=finding.summary_en,
        evidence=dict(finding.evidence),
        data_ts=finding.data_ts,
    )


# -- operator actions (from outside the evaluator; each returns the new state and its audit line) ------


class ActionError(ValueError):
    """An operator action that does not apply to the warning in its current state."""


def _audit(st: WarningState, new: WarningState, now: datetime, actor: str, reason: str) -> Transition:
    return Transition(
        st.warning_id, st.dedup_key, now, st.state, new.state, st.level, new.level, actor, reason
    )


def _require_open(st: WarningState, action: str) -> None:
    if not st.is_open:
        raise ActionError(f"{st.warning_id} is {st.state}; only an open warning can be {action}")


def acknowledge(
    st: WarningState, actor: str, now: datetime, note: str = ""
) -> tuple[WarningState, Transition]:
    """An operator acknowledges an active warning: it has been seen and someone is on it."""
    if st.state != "active":
        raise ActionError(f"only an active warning can be acknowledged; {st.warning_id} is {st.state}")
    new = replace(st, state="acknowledged", acknowledged_at=now, acknowledged_by=actor, updated_at=now)
    return new, _audit(st, new, now, actor, _with_note(make_reason("acknowledged", "acknowledged"), note))


def assign(st: WarningState, actor: str, assignee: str, now: datetime) -> tuple[WarningState, Transition]:
    """Give the warning to a person or unit (empty: unassign)."""
    _require_open(st, "assigned")
    assignee = assignee.strip()
    new = replace(st, assignee=assignee or None, updated_at=now)
    reason = (
        make_reason("assigned", f"assigned to {assignee}", assignee=assignee)
        if assignee
        else make_reason("unassigned", "unassigned")
    )
    return new, _audit(st, new, now, actor, reason)


def comment(st: WarningState, actor: str, text: str, now: datetime) -> tuple[WarningState, Transition]:
    """A note in the audit trail (open or closed warnings: a closing remark is a comment too)."""
    text = text.strip()
    if not text:
        raise ActionError("a comment must not be empty")
    new = replace(st, updated_at=now)
    return new, _audit(st, new, now, actor, _with_note(make_reason("comment", "comment"), text))


def resolve(st: WarningState, actor: str, now: datetime, note: str = "") -> tuple[WarningState, Transition]:
    """An operator closes the warning. If its condition still holds, the next tick raises a new one:
    closing a warning does not make the river fall."""
    _require_open(st, "resolved")
    new = replace(st, state="resolved", resolved_at=now, updated_at=now, silenced_until=None)
    return new, _audit(
        st, new, now, actor, _with_note(make_reason("resolved_by_operator", "resolved by operator"), note)
    )


def silence(
    st: WarningState, actor: str, until: datetime, now: datetime, note: str = ""
) -> tuple[WarningState, Transition]:
    """Suppress the warning until ``until`` (no reminders, no escalation notices); it comes back by
    itself when the period ends if its condition still holds."""
    _require_open(st, "silenced")
    if until <= now:
        raise ActionError("a silence must end in the future")
    reason = _with_note(
        make_reason(
            "silenced_by",
            f"silenced by {actor} until {until:%Y-%m-%d %H:%M}",
            actor=actor,
            until=f"{until:%Y-%m-%d %H:%M}",
        ),
        note,
    )
    from_state = st.suppressed_from if st.state == "suppressed" else st.state
    if from_state == "pending":
        from_state = "active"
    new = replace(
        st,
        state="suppressed",
        suppressed_from=from_state,
        suppressed_reason=reason,
        silenced_until=until,
        updated_at=now,
    )
    return new, _audit(st, new, now, actor, reason)
