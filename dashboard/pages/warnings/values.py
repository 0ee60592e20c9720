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

from cityops.base.times import aware_utc
from dashboard.i18n import t, t_or
from metrics.levels import level_label
from metrics.warnings.rules import Rule, RulePack

STATES = ("pending", "active", "acknowledged", "suppressed", "resolved")
LEVEL_CLASS = {1: "lv-red", 2: "lv-orange", 3: "lv-yellow", 4: "lv-blue"}
OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


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
    return level_label(level, lang) or "—"


def state_text(state: str, lang: str) -> str:
    return t_or(f"warnings.state.{state}", lang, state)


def value_text(row: Mapping[str, Any], lang: str, unit: str = "") -> str:
    """The value against its threshold, in words fitting the rule kind."""
    ev = evidence_of(row)
    kind = row.get("kind")
    if kind == "predicted":
        eta = float_or_none(ev.get("eta_min", row.get("value")))
        return "—" if eta is None else t("warnings.eta_in", lang).format(eta=f"{eta:.0f}")
    if kind == "k_of_n":
        hits = ev.get("contributing") or []
        return t("warnings.k_of_n", lang).format(hits=len(hits), of=ev.get("of", "—"))
    if kind == "feed_stale":
        return t("warnings.feed_out", lang).format(feed=ev.get("feed") or row.get("key") or "")
    if kind == "compound":
        parts = ev.get("conditions") or []
        return (
            "；".join(
                f"{p.get('label')} {number_text(p.get('value'))} "
                f"{OP_TEXT.get(p.get('op'), '')} {number_text(p.get('threshold'))}"
                for p in parts
            )
            or "—"
        )
    if is_missing(row.get("value")):
        return "—"
    op = OP_TEXT.get(ev.get("op") or ">=", ev.get("op"))
    return t("warnings.value_vs", lang).format(
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


def find_rule(pack: RulePack | None, rule_id: str) -> Rule | None:
    """The rule of the loaded pack, or None (no pack, or the rule has left it)."""
    if pack is None:
        return None
    for rule in pack.rules:
        if rule.id == rule_id:
            return rule
    return None
