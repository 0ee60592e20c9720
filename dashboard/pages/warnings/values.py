"""One warning's stored values as the console shows them: missing values, numbers, its evidence, its
level, state, value against threshold, place and age, and its rule in the loaded pack. Shared by the
grid, the detail and the evidence; pure."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import dcc

from cityops.base.times import aware_utc
from dashboard.i18n import TEXT, t, t_or
from metrics.levels import level_label
from metrics.reasons import parse_reasons
from metrics.warnings.rules import Rule, RulePack

STATES = ("pending", "active", "acknowledged", "suppressed", "resolved")
LEVEL_CLASS = {1: "lv-red", 2: "lv-orange", 3: "lv-yellow", 4: "lv-blue"}
OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


def dropdown_labels(lang: str) -> dcc.Dropdown.Labels:
    """A dropdown's own texts (its search box, "select all"…) in ``lang``."""
    return {
        "search": t("dropdown.search", lang),
        "clear_search": t("dropdown.clear_search", lang),
        "select_all": t("dropdown.select_all", lang),
        "deselect_all": t("dropdown.deselect_all", lang),
        "selected_count": t("dropdown.selected_count", lang),
        "clear_selection": t("dropdown.clear_selection", lang),
        "no_options_found": t("dropdown.no_options_found", lang),
    }


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or NA: what the warehouse hands back for an empty cell."""
    return (
        value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    )


def float_or_none(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing."""
    return None if is_missing(value) else float(value)


def cell_text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def number_text(value: Any) -> str:
    """A number as read on a gauge: ``16.98``, ``50``, ``1234``; ``—`` when missing."""
    v = float_or_none(value)
    if v is None:
        return "—"
    return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:.0f}"


def format_age(delta: timedelta) -> str:
    """``45m``, ``3h05m``, ``2d04h``."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes // 1440}d{(minutes % 1440) // 60:02d}h"


def evidence_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The warning's evidence (stored as JSON text or already decoded); ``{}`` when unreadable."""
    ev = row.get("evidence")
    if isinstance(ev, str):
        try:
            return dict(json.loads(ev))
        except ValueError:
            return {}
    return dict(ev) if isinstance(ev, Mapping) else {}


def level_text(level: Any, lang: str) -> str:
    label = level_label(level, lang) or "—"
    return label[:1].upper() + label[1:] if lang == "en" else label  # "Blue (Level IV)", as a chip reads


def state_text(state: str, lang: str) -> str:
    return t_or(f"warnings.state.{state}", lang, state)


# Units of the signal metrics the rules read (metrics.signals), when a rule names none.
METRIC_UNITS = {
    "level_m": "m",
    "rise_1h_m": "m/h",
    "rise_3h_m": "m/h",
    **{f"r{h}_mm": "mm" for h in (1, 3, 6, 12, 24)},
}
# Water metrics that are a distance above a station's reference level: 0 means "at that level".
OVER_METRICS = ("over_warning_m", "over_guaranteed_m", "over_flood_limit_m", "over_historical_m")


def _unit(metric: str | None, unit: str = "") -> str:
    """`` mm``: the unit with its leading space, or nothing (the rule's own unit first)."""
    u = unit or METRIC_UNITS.get(metric or "", "")
    return f" {u}" if u else ""


def measure_text(metric: str | None, value: Any, lang: str, unit: str = "") -> str:
    """What a measured number is: ``3小时雨量 59.1 mm``, ``超警戒水位 1.29 m`` / ``1.29 m above the
    warning level``; the bare number (with its unit) for a metric without a name."""
    v = float_or_none(value)
    if metric in OVER_METRICS and v is not None:
        ref = t(f"warnings.ref.{metric}", lang)
        key = "warnings.text.above" if v >= 0 else "warnings.text.below"
        return t(key, lang).format(ref=ref, value=number_text(abs(v)))
    name = t_or(f"warnings.metric.{metric}", lang, "")
    text = f"{number_text(value)}{_unit(metric, unit)}"
    return t("warnings.text.measure", lang).format(name=name, value=text, unit="").strip() if name else text


def threshold_text(metric: str | None, op: Any, threshold: Any, lang: str, unit: str = "") -> str:
    """What a threshold means: ``阈值 ≥ 50 mm``; for a distance above a reference level, ``达到警戒水位即
    触发`` (0) or ``超警戒水位 ≥ 0.5 m 触发``."""
    op_text = OP_TEXT.get(str(op or ">="), str(op or ""))
    th = float_or_none(threshold)
    if metric in OVER_METRICS and th is not None:
        ref = t(f"warnings.ref.{metric}", lang)
        if th == 0:
            return t("warnings.text.at_ref", lang).format(ref=ref)
        return t("warnings.text.over_ref", lang).format(ref=ref, op=op_text, threshold=number_text(th))
    return t("warnings.text.threshold", lang).format(
        op=op_text, threshold=number_text(threshold), unit=_unit(metric, unit)
    )


def point_text(point: Mapping[str, Any], metric: str | None, op: Any, lang: str, unit: str = "") -> str:
    """One contributing station in words: ``长怖：超警戒水位 1.29 m（达到警戒水位即触发）``."""
    return t("warnings.text.point", lang).format(
        name=cell_text(point.get("name")) or cell_text(point.get("entity_id")),
        measure=measure_text(metric, point.get("value"), lang, unit),
        threshold=threshold_text(metric, op, point.get("threshold"), lang, unit),
    )


def condition_text(cond: Mapping[str, Any], lang: str) -> str:
    """One condition of a compound rule: its measure against its threshold (the rule's label when the
    metric has no name here)."""
    metric = cell_text(cond.get("metric"))
    known = metric in OVER_METRICS or f"warnings.metric.{metric}" in TEXT
    measure = (
        measure_text(metric, cond.get("value"), lang)
        if known
        else f"{cell_text(cond.get('label')) or metric} {number_text(cond.get('value'))}"
    )
    sep = "（{}）" if lang == "zh" else " ({})"
    return measure + sep.format(threshold_text(metric, cond.get("op"), cond.get("threshold"), lang))


def threshold_label(level: Any, metric: str | None, op: Any, value: Any, lang: str, unit: str = "") -> str:
    """A threshold line's legend entry: ``橙色（二级）：阈值 ≥ 50 mm``, ``…：达到警戒水位即触发``."""
    return t("warnings.text.line", lang).format(
        level=level_text(level, lang), threshold=threshold_text(metric, op, value, lang, unit)
    )


def eta_reached(eta_min: Any) -> bool:
    """A predicted crossing that rounds to 0 minutes is not ahead: it has been reached."""
    eta = float_or_none(eta_min)
    return eta is not None and round(eta) <= 0


def eta_text(eta_min: Any, metric: str | None, lang: str) -> str:
    """``预计约 35 分钟后达到警戒水位``; ``已达到警戒水位`` when the time left rounds to 0; ``—`` unknown."""
    eta = float_or_none(eta_min)
    ref = t_or(f"warnings.ref.{metric}", lang, t("warnings.ref.threshold", lang))
    if eta is None:
        return "—"
    if eta_reached(eta):
        return t("warnings.text.eta_reached", lang).format(ref=ref)
    return t("warnings.text.eta", lang).format(eta=f"{eta:.0f}", ref=ref)


def value_text(row: Mapping[str, Any], lang: str, unit: str = "") -> str:
    """The value against its threshold, in words fitting the rule kind."""
    ev = evidence_of(row)
    kind = row.get("kind")
    metric = ev.get("metric")
    if kind == "predicted":
        return eta_text(ev.get("eta_min", row.get("value")), metric, lang)
    if kind == "k_of_n":
        hits = ev.get("contributing") or []
        return t("warnings.text.k_of_n", lang).format(
            hits=len(hits), of=ev.get("of", "—"), k=ev.get("k") or number_text(row.get("threshold"))
        )
    if kind == "feed_stale":
        return t("warnings.feed_out", lang).format(feed=ev.get("feed") or row.get("key") or "")
    if kind == "compound":
        return ("；" if lang == "zh" else "; ").join(
            condition_text(p, lang) for p in ev.get("conditions") or []
        ) or "—"
    if is_missing(row.get("value")):
        return "—"
    if metric in OVER_METRICS:
        sep = "（{}）" if lang == "zh" else " ({})"
        return measure_text(metric, row.get("value"), lang) + sep.format(
            threshold_text(metric, ev.get("op"), row.get("threshold"), lang)
        )
    op = OP_TEXT.get(ev.get("op") or ">=", ev.get("op"))
    name = "" if unit else t_or(f"warnings.metric.{metric}", lang, "")
    return (f"{name} " if name else "") + t("warnings.value_vs", lang).format(
        value=number_text(row.get("value")),
        op=op,
        threshold=number_text(row.get("threshold")),
        unit=f" {unit}" if unit else "",
    )


def place_text(row: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Entity name and its district, or the district / basin / feed the warning is about."""
    name = cell_text(row.get("name")) or cell_text(row.get("key"))
    district = names.get(cell_text(row.get("district_code")), "")
    if row.get("scope") == "entity" and district and district != name:
        return f"{name} · {district}"
    return name or district


def since_of(row: Mapping[str, Any]) -> datetime | None:
    return aware_utc(row.get("activated_at")) or aware_utc(row.get("created_at"))


def title_text(row: Mapping[str, Any], lang: str, rule: Rule | None = None) -> str:
    """The warning's rule title in ``lang``: the English title stored with it (or the rule's, for a
    warning raised before titles had one), else the Chinese one."""
    if lang == "en":
        english = cell_text(row.get("rule_title_en")) or (rule.title_en if rule is not None else "")
        if english:
            return english
    return cell_text(row.get("rule_title"))


def summary_text(row: Mapping[str, Any], lang: str) -> str:
    """The warning's summary in ``lang`` (the Chinese one when no English one was stored)."""
    if lang == "en" and cell_text(row.get("summary_en")):
        return cell_text(row.get("summary_en"))
    return cell_text(row.get("summary"))


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def reason_text(text: Any, lang: str) -> str:
    """An audit-trail reason in ``lang``: each coded part translated with its parameters (levels by
    name), a person's note as written, and a reason without a code (an older record's) as it is."""
    parts = []
    for reason in parse_reasons(cell_text(text)):
        template = t_or(f"warnings.reason.{reason.code}", lang, "") if reason.code else ""
        if reason.code == "note" or not template:
            parts.append(reason.detail)
            continue
        params = _Params(reason.params)
        if "level" in params:
            params["level"] = level_label(params["level"], lang) or params["level"]
        parts.append(template.format_map(params))
    return ("：" if lang == "zh" else ": ").join(p for p in parts if p)


def find_rule(pack: RulePack | None, rule_id: str) -> Rule | None:
    """The rule of the loaded pack, or None (no pack, or the rule has left it)."""
    if pack is None:
        return None
    for rule in pack.rules:
        if rule.id == rule_id:
            return rule
    return None
