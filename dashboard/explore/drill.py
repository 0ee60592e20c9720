"""Drill-down: what a click on a chart or the map points at, and the state after following it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dashboard.explore.catalog import Catalog
from dashboard.explore.view import ExploreState, is_safe_id, parse_day


def click_target(click: Mapping[str, Any] | None) -> dict[str, str]:
    """What a click on a chart or the map points at.

    ``{"entity": id}``, ``{"district": code}`` or ``{"day": iso}``.
    """
    points = (click or {}).get("points") or []
    if not points or not isinstance(points[0], Mapping):
        return {}
    p = points[0]
    custom = p.get("customdata")
    if isinstance(custom, list | tuple):
        custom = custom[0] if custom else None
    if isinstance(custom, str) and custom.startswith("entity:") and is_safe_id(custom[7:]):
        return {"entity": custom[7:]}
    if isinstance(custom, str) and custom.startswith("day:") and parse_day(custom[4:]) is not None:
        return {"day": custom[4:]}
    loc = p.get("location")
    if isinstance(loc, str) and is_safe_id(loc, max_len=20, extra="-_"):
        return {"district": loc}
    return {}


def apply_click(state: ExploreState, target: Mapping[str, str], catalog: Catalog) -> ExploreState:
    """The state after drilling into what was clicked (a station brings its domain and district along)."""
    if "entity" in target:
        entity = catalog.entity(target["entity"])
        if entity is None:
            return state
        domain = catalog.domain_of_kind(str(entity["kind"])) or state.domain
        metric = state.metric if domain == state.domain else None
        district = entity.get("district_code") if isinstance(entity.get("district_code"), str) else None
        return replace(state, entity=entity["entity_id"], domain=domain, metric=metric, district=district)
    if "district" in target:
        return replace(state, district=target["district"], entity=None)
    if "day" in target:
        day = parse_day(target["day"])
        if day is not None:
            return replace(state, range="custom", start=day, end=day)
    return state
