"""Rule evaluation: signals in, findings out. Pure.

The signals are one long frame (built by ``cityops.signals`` from the warehouse) with columns
``domain, scope, key, metric, value, ts`` and, for entity rows, ``entity_id, name, district_code,
basin, entity_kind``; ``scope`` is ``entity``, ``district``, ``basin``, ``city`` or ``feed``.
Entity attributes used by thresholds (``warning_level_m`` …) come in a frame indexed by entity id.

For every rule and every entity (or group) a :class:`Finding` says which level the data reaches now
(``level``, strict thresholds) and which level it still holds with hysteresis (``hold_level``,
thresholds relaxed by the rule's ``hysteresis``); the lifecycle decides what that means for the
warning. A finding with both levels ``None`` is "condition clear".
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import pandas as pd

from metrics.faults import Fault, contained
from metrics.levels import Level
from metrics.signals import FRESHNESS_RANK
from metrics.warnings.rules import Condition, Rule, RulePack, Threshold

OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
LEVEL_ZH = {Level.RED: "红色", Level.ORANGE: "橙色", Level.YELLOW: "黄色", Level.BLUE: "蓝色"}
LEVEL_EN = {Level.RED: "red", Level.ORANGE: "orange", Level.YELLOW: "yellow", Level.BLUE: "blue"}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    dedup_key: str
    scope: str
    key: str
    level: Level | None
    hold_level: Level | None
    value: float | None = None
    threshold: float | None = None
    entity_id: str | None = None
    name: str | None = None
    district_code: str | None = None
    basin: str | None = None
    data_ts: datetime | None = None
    summary: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    summary_en: str = ""  # the summary in English (pages and messages in English)


def title_en(rule: Rule) -> str:
    """The rule's title in English (its Chinese title when the pack gives none)."""
    return rule.title_en or rule.title


def dedup_key(rule_id: str, scope: str, key: str) -> str:
    """Deterministic: the same rule on the same entity or zone is always the same warning."""
    return f"{rule_id}|{scope}|{key}"


def _threshold(th: Threshold, attrs: Mapping[str, Any] | None) -> float | None:
    if th.value is not None:
        return th.value
    if th.attr is None or attrs is None:
        return None
    base = attrs.get(th.attr)
    if base is None or (isinstance(base, float) and math.isnan(base)):
        return None
    return float(base) + th.offset


def _relaxed(threshold: float, op: str, hysteresis: float) -> float:
    return threshold - hysteresis if op in (">=", ">") else threshold + hysteresis


def _ladder_levels(
    rule: Rule, values: Mapping[str, float | None], attrs: Mapping[str, Any] | None
) -> tuple[Level | None, Level | None, float | None, float | None]:
    """(strict level, hold level, threshold and value of the deciding level — or of the least severe)."""
    cmp = OPS[rule.op]
    strict = hold = None
    shown_t: float | None = None
    shown_v: float | None = None
    for level, th in rule.ladder():  # most severe first
        value = values.get(th.metric or rule.metric or "")
        t = _threshold(th, attrs)
        if t is None or value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if strict is None:
            shown_t, shown_v = t, value
        if strict is None and cmp(value, t):
            strict = level
        if hold is None and cmp(value, _relaxed(t, rule.op, rule.hysteresis)):
            hold = level
    return strict, hold, shown_t, shown_v


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"


def _summary(
    rule: Rule,
    *,
    name: str,
    value: float | None,
    threshold: float | None,
    level: Level | None,
    eta: float | None = None,
    extra: str = "",
    extra_en: str = "",
) -> tuple[str, str]:
    """The summary in Chinese and in English."""
    return (
        _summary_zh(rule, name=name, value=value, threshold=threshold, level=level, eta=eta, extra=extra),
        _summary_en(rule, name=name, value=value, threshold=threshold, level=level, eta=eta, extra=extra_en),
    )


def _templated(
    rule: Rule,
    lang: str,
    *,
    name: str,
    value: float | None,
    threshold: float | None,
    level: Level | None,
    eta: float | None,
    extra: str,
) -> tuple[dict[str, str], str | None]:
    """The fields a rule's summary template may use, in ``lang``, and the rule's own summary in that
    language when it has a template that reads (None: use the built-in wording)."""
    zh = lang == "zh"
    fields = {
        "entity": name,
        "value": _fmt(value),
        "threshold": _fmt(threshold),
        "unit": rule.unit,
        "level": (LEVEL_ZH if zh else LEVEL_EN).get(level, "") if level else "",
        "eta": _fmt(eta),
        "title": rule.title if zh else title_en(rule),
        "extra": extra,
    }
    template = rule.message if zh else rule.message_en
    if template:
        try:
            return fields, template.format(**fields)
        except (KeyError, IndexError, ValueError):
            pass
    return fields, None


def _summary_zh(
    rule: Rule,
    *,
    name: str,
    value: float | None,
    threshold: float | None,
    level: Level | None,
    eta: float | None = None,
    extra: str = "",
) -> str:
    fields, own = _templated(
        rule, "zh", name=name, value=value, threshold=threshold, level=level, eta=eta, extra=extra
    )
    if own is not None:
        return own
    if eta is not None and round(eta) <= 0:  # no time left: reached, not expected
        return f"{name}：已达到{fields['level']}预警阈值"
    if eta is not None:
        return f"{name}：预计约{eta:.0f}分钟后达到{fields['level']}预警阈值{extra}"
    return f"{name}{rule.title}：{fields['value']}{rule.unit}（阈值 {fields['threshold']}{rule.unit}）{extra}"


def _summary_en(
    rule: Rule,
    *,
    name: str,
    value: float | None,
    threshold: float | None,
    level: Level | None,
    eta: float | None = None,
    extra: str = "",
) -> str:
    fields, own = _templated(
        rule, "en", name=name, value=value, threshold=threshold, level=level, eta=eta, extra=extra
    )
    if own is not None:
        return own
    unit = f" {rule.unit}" if rule.unit else ""
    if eta is not None and round(eta) <= 0:
        return f"{name}: {fields['level']} threshold reached"
    if eta is not None:
        return f"{name}: {fields['level']} threshold expected in about {eta:.0f} min{extra}"
    return f"{name} {fields['title']}: {fields['value']}{unit} (threshold {fields['threshold']}{unit}){extra}"


def _eta_band(low: float | None, high: float | None) -> str:
    """``（区间 20–45 分钟）`` after an expected crossing; nothing when the band says no more than the
    time itself (a band of 0–0 minutes) or is unknown."""
    if low is None:
        return ""
    if high is None:
        return f"（最早约 {low:.0f} 分钟）" if round(low) > 0 else ""
    if round(high) <= 0 or round(low) == round(high):
        return ""
    return f"（区间 {low:.0f}–{high:.0f} 分钟）"


def _eta_band_en(low: float | None, high: float | None) -> str:
    """:func:`_eta_band` in English."""
    if low is None:
        return ""
    if high is None:
        return f" (at the earliest in about {low:.0f} min)" if round(low) > 0 else ""
    if round(high) <= 0 or round(low) == round(high):
        return ""
    return f" (between {low:.0f} and {high:.0f} min)"


def _rows(signals: pd.DataFrame, domain: str, metric: str, scope: str) -> pd.DataFrame:
    if signals.empty:
        return signals
    mask = (signals["domain"] == domain) & (signals["metric"] == metric) & (signals["scope"] == scope)
    return signals[mask]


def _group_rows(signals: pd.DataFrame, domain: str, metric: str, scope: str, aggregate: str) -> pd.DataFrame:
    """Group-level rows: given directly in the signals, or aggregated from entity rows."""
    direct = _rows(signals, domain, metric, scope)
    if len(direct):
        return direct
    entities = _rows(signals, domain, metric, "entity")
    if entities.empty:
        return entities
    column = {"district": "district_code", "basin": "basin", "city": None}[scope]
    frame = entities.assign(_group="city" if column is None else entities[column]).dropna(subset=["_group"])
    agg = frame.groupby("_group").agg(value=("value", aggregate), ts=("ts", "max")).reset_index()
    agg = agg.rename(columns={"_group": "key"})
    agg["scope"], agg["domain"], agg["metric"] = scope, domain, metric
    if scope == "district":
        agg["district_code"] = agg["key"]
    if scope == "basin":
        agg["basin"] = agg["key"]
    return agg


def _get(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _evaluate_ladder(
    rule: Rule, signals: pd.DataFrame, attributes: pd.DataFrame, names: Mapping[str, str]
) -> list[Finding]:
    out: list[Finding] = []
    assert rule.metric is not None
    metrics = [rule.metric, *sorted({th.metric for _, th in rule.ladder() if th.metric} - {rule.metric})]
    frames = []
    for metric in metrics:
        if rule.scope == "entity":
            part = _rows(signals, rule.domain, metric, "entity")
            if rule.entity_kind and "entity_kind" in part:
                part = part[part["entity_kind"] == rule.entity_kind]
        else:
            part = _group_rows(signals, rule.domain, metric, rule.scope, rule.aggregate)
        frames.append(part)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    attr_map = attributes.to_dict("index") if len(attributes) else {}
    values_by_key: dict[str, dict[str, float | None]] = {}
    first: dict[str, dict[str, Any]] = {}
    for rec in rows.to_dict("records"):
        k = str(rec["key"])
        values_by_key.setdefault(k, {})[str(rec["metric"])] = _get(rec, "value")
        if k not in first or rec["metric"] == rule.metric:
            first[k] = rec
    if rule.scope == "entity" and len(signals):
        # Entities that reported (some metric of the domain) but not this rule's metric: the condition
        # does not apply now (e.g. no predicted crossing once the level is above it) — that is "clear".
        # Entities that did not report at all get no finding: no data is not "clear".
        reported = signals[(signals["domain"] == rule.domain) & (signals["scope"] == "entity")]
        if rule.entity_kind and "entity_kind" in reported:
            reported = reported[reported["entity_kind"] == rule.entity_kind]
        for rec in reported.drop_duplicates("key").to_dict("records"):
            k = str(rec["key"])
            if k not in first:
                first[k] = {**rec, "metric": rule.metric, "value": None}
                values_by_key[k] = {}
    for key, row in first.items():
        attrs = attr_map.get(key) if rule.scope == "entity" else None
        strict, hold, threshold, value = _ladder_levels(rule, values_by_key[key], attrs)
        if value is None:
            value = values_by_key[key].get(rule.metric)
        name = _get(row, "name") or names.get(key, key)
        eta = None
        extra = extra_en = ""
        if rule.kind == "predicted":
            eta, strict, hold, threshold = _predicted(rule, value)
            if strict is not None and rule.metric and _get(row, "eta_low") is not None:
                extra = _eta_band(_get(row, "eta_low"), _get(row, "eta_high"))
                extra_en = _eta_band_en(_get(row, "eta_low"), _get(row, "eta_high"))
        evidence: dict[str, Any] = {
            "metric": rule.metric,
            "value": value,
            "threshold": threshold,
            "op": rule.op,
        }
        if rule.kind == "predicted":
            evidence.update(
                {
                    "eta_min": eta,
                    "eta_low": _get(row, "eta_low"),
                    "eta_high": _get(row, "eta_high"),
                    "expects": rule.level or "yellow",
                }
            )
        summary, summary_en = (
            _summary(
                rule,
                name=name,
                value=value,
                threshold=threshold,
                level=Level[(rule.level or "yellow").upper()] if rule.kind == "predicted" else strict,
                eta=eta,
                extra=extra,
                extra_en=extra_en,
            )
            if strict is not None
            else ("", "")
        )
        out.append(
            Finding(
                rule_id=rule.id,
                dedup_key=dedup_key(rule.id, rule.scope, key),
                scope=rule.scope,
                key=key,
                level=strict,
                hold_level=hold,
                value=value,
                threshold=threshold,
                entity_id=key if rule.scope == "entity" else None,
                name=name,
                district_code=_get(row, "district_code"),
                basin=_get(row, "basin"),
                data_ts=_get(row, "ts"),
                summary=summary,
                summary_en=summary_en,
                evidence=evidence,
            )
        )
    return out


def _predicted(
    rule: Rule, eta: float | None
) -> tuple[float | None, Level | None, Level | None, float | None]:
    """Predicted rules: ``eta`` (minutes to the crossing) within a level's lead time raises that level."""
    if eta is None or (isinstance(eta, float) and math.isnan(eta)) or eta < 0:
        return None, None, None, None
    for level, th in rule.ladder():
        assert th.lead is not None
        lead_min = th.lead.total_seconds() / 60
        if eta <= lead_min:
            return eta, level, level, lead_min
    return eta, None, None, None


def _evaluate_k_of_n(
    rule: Rule, signals: pd.DataFrame, attributes: pd.DataFrame, names: Mapping[str, str]
) -> list[Finding]:
    assert rule.metric is not None
    rows = _rows(signals, rule.domain, rule.metric, "entity")
    if rule.entity_kind and "entity_kind" in rows:
        rows = rows[rows["entity_kind"] == rule.entity_kind]
    column = "district_code" if rule.group == "district" else "basin"
    attr_map = attributes.to_dict("index") if len(attributes) else {}
    cmp = OPS[rule.op]
    out: list[Finding] = []
    for group, members in rows.dropna(subset=[column]).groupby(column):
        n = len(members)
        strict = hold = None
        contributing: list[dict[str, Any]] = []
        shown = None
        for level, th in rule.ladder():
            hits, relaxed_hits = [], 0
            for m in members.to_dict("records"):
                t = _threshold(th, attr_map.get(str(m["key"])))
                v = _get(m, "value")
                if t is None or v is None:
                    continue
                if cmp(v, t):
                    hits.append(
                        {"entity_id": str(m["key"]), "name": _get(m, "name"), "value": v, "threshold": t}
                    )
                if cmp(v, _relaxed(t, rule.op, rule.hysteresis)):
                    relaxed_hits += 1
            enough = (rule.k is None or len(hits) >= rule.k) and (
                rule.fraction is None or len(hits) / n >= rule.fraction
            )
            enough_relaxed = (rule.k is None or relaxed_hits >= rule.k) and (
                rule.fraction is None or relaxed_hits / n >= rule.fraction
            )
            if strict is None and enough:
                strict, contributing, shown = level, hits, float(len(hits))
            if hold is None and enough_relaxed:
                hold = level
        key = str(group)
        name = names.get(key, key)
        summary = (
            f"{name}{rule.title}：{len(contributing)}/{n} 个站点达到{LEVEL_ZH[strict]}级阈值"
            f"（{'、'.join(str(c['name'] or c['entity_id']) for c in contributing[:5])}）"
            if strict is not None
            else ""
        )
        summary_en = (
            f"{name} {title_en(rule)}: {len(contributing)} of {n} stations at the {LEVEL_EN[strict]} "
            f"threshold ({', '.join(str(c['name'] or c['entity_id']) for c in contributing[:5])})"
            if strict is not None
            else ""
        )
        out.append(
            Finding(
                rule_id=rule.id,
                dedup_key=dedup_key(rule.id, rule.group, key),
                scope=rule.group,
                key=key,
                level=strict,
                hold_level=hold,
                value=shown,
                threshold=float(rule.k) if rule.k else rule.fraction,
                name=name,
                district_code=key if rule.group == "district" else None,
                basin=key if rule.group == "basin" else None,
                data_ts=_get(members.iloc[0].to_dict(), "ts") if len(members) else None,
                summary=summary,
                summary_en=summary_en,
                evidence={
                    "contributing": contributing,
                    "of": n,
                    "k": rule.k,
                    "fraction": rule.fraction,
                    "metric": rule.metric,
                    "op": rule.op,
                },
            )
        )
    return out


def _condition_values(cond: Condition, signals: pd.DataFrame) -> dict[str, float]:
    rows = _group_rows(signals, cond.domain, cond.metric, "district", cond.aggregate)
    return {str(r["key"]): float(r["value"]) for r in rows.to_dict("records") if _get(r, "value") is not None}


def _evaluate_compound(rule: Rule, signals: pd.DataFrame, names: Mapping[str, str]) -> list[Finding]:
    assert rule.level is not None
    level = Level[rule.level.upper()]
    per_condition = [(c, _condition_values(c, signals)) for c in rule.conditions]
    districts = sorted(set().union(*(set(v) for _, v in per_condition)))
    out: list[Finding] = []
    for district in districts:
        parts: list[dict[str, Any]] = []
        holds, relaxed = True, True
        for cond, values in per_condition:
            v = values.get(district)
            t = cond.threshold.value
            ok = v is not None and t is not None and OPS[cond.op](v, t)
            ok_relaxed = (
                v is not None and t is not None and OPS[cond.op](v, _relaxed(t, cond.op, rule.hysteresis))
            )
            holds &= ok
            relaxed &= ok_relaxed
            parts.append(
                {
                    "domain": cond.domain,
                    "metric": cond.metric,
                    "label": cond.label or cond.metric,
                    "label_en": cond.label_en or cond.label or cond.metric,
                    "value": v,
                    "threshold": t,
                    "op": cond.op,
                    "holds": ok,
                }
            )
        name = names.get(district, district)
        summary = (
            f"{name}{rule.title}：" + "，".join(f"{p['label']} {_fmt(p['value'])}" for p in parts)
            if holds
            else ""
        )
        summary_en = (
            f"{name} {title_en(rule)}: " + ", ".join(f"{p['label_en']} {_fmt(p['value'])}" for p in parts)
            if holds
            else ""
        )
        out.append(
            Finding(
                rule_id=rule.id,
                dedup_key=dedup_key(rule.id, "district", district),
                scope="district",
                key=district,
                level=level if holds else None,
                hold_level=level if relaxed else None,
                name=name,
                district_code=district,
                summary=summary,
                summary_en=summary_en,
                evidence={"conditions": parts},
            )
        )
    return out


def _evaluate_feed_stale(rule: Rule, signals: pd.DataFrame) -> list[Finding]:
    assert rule.level is not None
    level = Level[rule.level.upper()]
    rows = (
        signals[(signals["scope"] == "feed") & (signals["metric"] == "freshness_rank")]
        if len(signals)
        else signals
    )
    need = FRESHNESS_RANK[rule.stale_level]
    out: list[Finding] = []
    for row in rows.to_dict("records"):
        if rule.domain not in ("*", row["domain"]):
            continue
        rank = int(row["value"])
        bad = rank >= need
        key = str(row["key"])
        name = _get(row, "name") or key
        out.append(
            Finding(
                rule_id=rule.id,
                dedup_key=dedup_key(rule.id, "feed", key),
                scope="feed",
                key=key,
                level=level if bad else None,
                hold_level=level if bad else None,
                value=float(rank),
                name=name,
                data_ts=_get(row, "ts"),
                summary=f"{name}数据中断：最新数据 {_get(row, 'ts') or '无'}" if bad else "",
                summary_en=f"{name} data interrupted: latest data {_get(row, 'ts') or 'none'}" if bad else "",
                evidence={"feed": key, "domain": row["domain"], "freshness": _get(row, "freshness")},
            )
        )
    return out


def evaluate_rule(
    rule: Rule, signals: pd.DataFrame, attributes: pd.DataFrame, names: Mapping[str, str]
) -> list[Finding]:
    """Findings of one rule over the signals."""
    if rule.kind in ("ladder", "duration", "rate", "predicted"):
        return _evaluate_ladder(rule, signals, attributes, names)
    if rule.kind == "k_of_n":
        return _evaluate_k_of_n(rule, signals, attributes, names)
    if rule.kind == "compound":
        return _evaluate_compound(rule, signals, names)
    if rule.kind == "feed_stale":
        return _evaluate_feed_stale(rule, signals)
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def evaluate_pack(
    pack: RulePack,
    signals: pd.DataFrame,
    attributes: pd.DataFrame,
    names: Mapping[str, str] | None = None,
    *,
    faults: list[Fault] | None = None,
) -> list[Finding]:
    """Findings of every rule; ``names`` maps district codes / basins / feeds to display names.

    With ``faults``, a rule whose evaluation fails gives no findings (its warnings stay as they are,
    as with no data) and a fault in the list; the other rules are evaluated as usual."""
    names = names or {}
    out: list[Finding] = []
    for rule in pack.rules:
        out.extend(
            contained("rule", rule.id, partial(evaluate_rule, rule, signals, attributes, names), [], faults)
        )
    return out
