"""Assembling the map's layers from the warehouse and the current signals (the I/O side of the map)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cityops.base.domains import INCIDENT
from cityops.base.errors import ConfigError
from dashboard.figures.citymap import BaseLayer, MapLayers
from ingest.runtime import resolve_domain
from metrics import traffic
from metrics.aqi import level_for
from metrics.rain import rainstorm_signal


def _entity_points(entities: pd.DataFrame, kind: str) -> pd.DataFrame:
    return entities[entities["kind"] == kind][["entity_id", "name", "lon", "lat", "district_code"]]


def _metric(signals: pd.DataFrame, domain: str, metric: str) -> pd.Series:
    rows = signals[
        (signals["domain"] == domain) & (signals["metric"] == metric) & (signals["scope"] == "entity")
    ]
    return rows.set_index("entity_id")["value"]


def place_warnings(warnings: pd.DataFrame, entities: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    """Active and acknowledged warnings with a position.

    The position is their entity's, else their district's centre (pure).
    """
    placed = warnings.merge(entities[["entity_id", "lon", "lat"]], on="entity_id", how="left")
    by_district = districts.set_index("code")[["lon", "lat"]]
    # A whole-column ``where``, not ``.loc[mask] = …``: pandas 3 refuses to put an empty string-typed
    # selection into a float column, which is what happens when every warning has its own position.
    codes = placed["district_code"].astype("object")
    for axis in ("lon", "lat"):
        fallback = pd.to_numeric(codes.map(by_district[axis]), errors="coerce").astype("float64")
        own = pd.to_numeric(placed[axis], errors="coerce").astype("float64")
        placed[axis] = own.where(own.notna(), fallback)
    return placed[placed["state"].isin(["active", "acknowledged"])]


def load_map_layers(svc: Any, state: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> MapLayers:
    """The map's layers now; ``state`` (signals, district index) when the caller has computed them."""
    wh = svc.warehouse
    settings = svc.settings
    now = svc.now()
    districts = wh.districts()
    entities = wh.entities()
    signals, index = state if state is not None else svc.engine().state(now)
    districts["index"] = districts["code"].map(index.set_index("district_code")["index"])
    base = svc.base_layers()

    roads = entities[entities["kind"] == "road_segment"][
        ["entity_id", "name", "road_class", "geometry"]
    ].copy()
    speed = _metric(signals, "traffic", "speed_kmh")
    roads["speed_kmh"] = roads["entity_id"].map(speed)
    roads["grade"] = traffic.congestion_grade(
        roads["speed_kmh"].astype("float64"), roads["road_class"].astype(object)
    )
    roads = roads.dropna(subset=["geometry"])

    air = _entity_points(entities, "air_station")
    air["aqi"] = air["entity_id"].map(_metric(signals, "air", "aqi"))
    air["aqi_level"] = [
        level_for(int(v)) if not np.isnan(v) else np.nan for v in air["aqi"].astype("float64")
    ]

    water = _entity_points(entities, "hydro_station")
    water["level_m"] = water["entity_id"].map(_metric(signals, "water", "level_m"))
    water["signal"] = water["entity_id"].map(_metric(signals, "water", "flood_signal"))

    rain = _entity_points(entities, "rain_gauge")
    for w in (3, 6, 12):
        rain[f"r{w}_mm"] = rain["entity_id"].map(_metric(signals, "rain", f"r{w}_mm")).astype("float64")
    rain["signal"] = pd.to_numeric(
        rainstorm_signal(
            rain["r3_mm"].fillna(0),
            rain["r6_mm"].fillna(0),
            rain["r12_mm"].fillna(0),
            profile=settings.warnings.rain_profile,
        ),
        errors="coerce",
    )

    incidents = wh.observations(INCIDENT, start=now - pd.Timedelta(days=2))
    incidents = incidents[incidents["status"] != "closed"].dropna(subset=["lon", "lat"])

    placed = place_warnings(wh.warnings(open_only=True), entities, districts)
    custom = {}
    for name in settings.domains:
        domain = resolve_domain(settings, name)
        custom[domain.label] = custom_points(
            domain, _entity_points(entities, domain.entity_kind), wh.latest(domain)
        )
    return MapLayers(
        districts=districts,
        base=base,
        roads=roads,
        air=air,
        water=water,
        rain=rain,
        incidents=incidents,
        warnings=placed[
            ["lon", "lat", "level", "summary", *(["summary_en"] if "summary_en" in placed else [])]
        ],
        custom=custom,
    )


def custom_points(domain: Any, points: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """A configured department's stations with their latest readings as one line of text (pure)."""
    out = points.copy()
    by_entity = latest.set_index("entity_id") if len(latest) else pd.DataFrame()
    lines = []
    for eid in out["entity_id"]:
        parts = []
        if eid in by_entity.index:
            row = by_entity.loc[eid]
            for col in domain.columns:
                if col.name in domain.values and pd.notna(row.get(col.name)):
                    parts.append(
                        f"{col.label or col.name} {float(row[col.name]):.4g}"
                        f"{(' ' + col.unit) if col.unit else ''}"
                    )
        lines.append("，".join(parts) or "—")
    out["text"] = lines
    return out


def feature_names(properties: dict[str, Any]) -> dict[str, str]:
    """A feature's name by language from its properties (``name``, ``name_zh``, ``name_en``), if any."""
    out = {}
    for lang, keys in (("zh", ("name_zh", "name")), ("en", ("name_en",))):
        for key in keys:
            value = properties.get(key)
            if isinstance(value, str) and value.strip():
                out[lang] = value.strip()[:40]
                break
    return out


def load_base_layers(settings: Any) -> list[BaseLayer]:
    """Read the configured base layers (any format, CRS and datum) into WGS-84 geometries."""
    from geo.layers import LayerError, layer_to_geojson, load_layer, to_datum

    out = []
    for spec in settings.map.layers:
        try:
            layer = load_layer(
                spec.path, name=spec.name, datum=spec.datum, crs=spec.crs, layer=spec.layer, kind=spec.kind
            )
        except LayerError as exc:
            raise ConfigError(
                f"map.layers {spec.name!r}: {exc}", hint="fix the layer's path, crs or datum"
            ) from None
        fc = layer_to_geojson(to_datum(layer, "wgs84"))
        features = [f for f in fc["features"] if f.get("geometry")]
        out.append(
            BaseLayer(
                spec.name,
                [f["geometry"] for f in features],
                spec.color,
                spec.width,
                names=[feature_names(f.get("properties") or {}) for f in features],
                name_en=spec.name_en or "",
            )
        )
    return out
