"""What the city has for the explorer to offer: domains (built-in and configured), districts, stations.

:func:`resolve_state` checks a parsed state against the catalog, so every choice it names exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from cityops.base.domains import BUILTIN_DOMAINS, INCIDENT, Domain, custom_domain
from dashboard.explore.aqi import AQI_METRIC
from dashboard.explore.view import DEFAULT_DOMAIN, ExploreState

INCIDENT_METRIC = "count"
#: Metrics computed from stored ones, offered first (the AQI, not one of its six pollutants).
DERIVED_METRICS: dict[str, tuple[str, ...]] = {"air": (AQI_METRIC,)}
#: What a station's page opens on when the view does not name a metric of its domain.
PRIMARY_METRICS: dict[str, str] = {
    "air": AQI_METRIC,
    "rain": "rain_mm",
    "water": "level_m",
    "traffic": "speed_kmh",
    INCIDENT.name: INCIDENT_METRIC,
}


@dataclass(frozen=True)
class Catalog:
    """The choices the explorer offers: domains (built-in and configured), districts, stations."""

    domains: dict[str, Domain]
    districts: pd.DataFrame  # code, name, name_en, lon, lat
    entities: pd.DataFrame  # entity_id, kind, name, district_code, lon, lat, … (the entity table)

    def metrics(self, domain: str) -> tuple[str, ...]:
        if domain == INCIDENT.name:
            return (INCIDENT_METRIC,)
        return DERIVED_METRICS.get(domain, ()) + self.domains[domain].values

    def primary_metric(self, domain: str) -> str:
        """The metric a view of ``domain`` opens on (the AQI for air, rainfall for gauges, …)."""
        metrics = self.metrics(domain)
        primary = PRIMARY_METRICS.get(domain)
        return primary if primary in metrics else metrics[0]

    def domain_entities(self, domain: str) -> pd.DataFrame:
        if domain == INCIDENT.name or domain not in self.domains:
            return self.entities.iloc[0:0]
        return self.entities[self.entities["kind"] == self.domains[domain].entity_kind]

    def domain_of_kind(self, kind: str) -> str | None:
        for name, d in self.domains.items():
            if d.entity_kind == kind and name != INCIDENT.name:
                return name
        return None

    def entity(self, entity_id: str | None) -> dict[str, Any] | None:
        if not entity_id:
            return None
        rows = self.entities[self.entities["entity_id"] == entity_id]
        return None if rows.empty else rows.iloc[0].to_dict()

    def district(self, code: str | None) -> pd.Series | None:
        """The district row of ``code`` (code, name, name_en, …), or ``None``."""
        if not code:
            return None
        rows = self.districts[self.districts["code"] == code]
        return rows.iloc[0] if len(rows) else None


def explore_domains(settings: Any) -> dict[str, Domain]:
    """The built-in domains and every domain declared in ``settings.domains`` (a department's new feed)."""
    out = dict(BUILTIN_DOMAINS)
    for name, spec in (getattr(settings, "domains", None) or {}).items():
        out[name] = custom_domain(name, spec.label, spec.entity_kind, [m.model_dump() for m in spec.metrics])
    return out


def load_catalog(svc: Any) -> Catalog:
    wh = svc.warehouse
    return Catalog(explore_domains(svc.settings), wh.districts(), wh.entities())


def metric_unit(domain: Domain, metric: str) -> str:
    """The unit of ``metric`` (empty for incident counts and unknown metrics)."""
    if metric == INCIDENT_METRIC and domain.name == INCIDENT.name:
        return ""
    if metric in DERIVED_METRICS.get(domain.name, ()):
        return ""  # the AQI is an index
    try:
        return domain.column(metric).unit
    except KeyError:
        return ""


def resolve_state(state: ExploreState, catalog: Catalog) -> ExploreState:
    """``state`` with every choice the city does not have replaced by a sensible one."""
    domain = (
        state.domain
        if state.domain in catalog.domains
        else (DEFAULT_DOMAIN if DEFAULT_DOMAIN in catalog.domains else next(iter(catalog.domains)))
    )
    metrics = catalog.metrics(domain)
    metric = state.metric if state.metric in metrics else catalog.primary_metric(domain)
    district = state.district if state.district in set(catalog.districts["code"]) else None
    entity = catalog.entity(state.entity)
    entity_id = None
    if (
        entity is not None
        and entity["kind"] == catalog.domains[domain].entity_kind
        and domain != INCIDENT.name
    ) and (district is None or entity["district_code"] == district):
        entity_id = entity["entity_id"]
        # a station stands in its district (the comparison and the map follow it)
        district = entity["district_code"] if isinstance(entity["district_code"], str) else district
    return replace(state, domain=domain, metric=metric, district=district, entity=entity_id)


def entity_options(catalog: Catalog, domain: str, district: str | None, lang: str) -> list[dict[str, str]]:
    """Dropdown options for the stations of a domain (in a district); labels are feed text, shown as text."""
    ents = catalog.domain_entities(domain)
    if district:
        ents = ents[ents["district_code"] == district]
    out = []
    for rec in ents.to_dict("records"):
        name = rec.get("name_en") if lang == "en" and isinstance(rec.get("name_en"), str) else rec.get("name")
        out.append({"label": f"{name or rec['entity_id']} · {rec['entity_id']}", "value": rec["entity_id"]})
    return out


#: What the URL may name that the city may not have, in the order the notice lists them.
_CHOICES = ("domain", "metric", "district", "entity")


def unknown_choices(asked: Mapping[str, Any], resolved: ExploreState) -> list[tuple[str, str]]:
    """``(choice, value)`` for each choice a link named that the view could not show (an unknown metric,
    a district the city does not have, a station of another domain …): the page says so instead of
    silently showing another. ``asked`` is the link's query (values as given, first of each)."""
    out = []
    for key in _CHOICES:
        raw = asked.get(key)
        if isinstance(raw, list | tuple):
            raw = raw[0] if raw else None
        text = str(raw).strip() if raw is not None else ""
        if text and text != (getattr(resolved, key) or ""):
            out.append((key, text[:60]))
    return out


def district_bounds(catalog: Catalog, code: str | None) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` of a district's boundary (WGS-84), or ``None``."""
    import json

    row = catalog.district(code)
    if row is None or not isinstance(row.get("geometry"), str):
        return None
    try:
        geom = json.loads(row["geometry"])
    except ValueError:
        return None
    lons: list[float] = []
    lats: list[float] = []

    def walk(node: Any) -> None:
        if (
            isinstance(node, list | tuple)
            and len(node) >= 2
            and all(isinstance(v, int | float) for v in node[:2])
        ):
            lons.append(float(node[0]))
            lats.append(float(node[1]))
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)

    walk(geom.get("coordinates") if isinstance(geom, dict) else None)
    if isinstance(geom, dict) and geom.get("type") == "GeometryCollection":
        for g in geom.get("geometries") or []:
            walk(g.get("coordinates") if isinstance(g, dict) else None)
    if not lons:
        return None
    return min(lons), min(lats), max(lons), max(lats)
