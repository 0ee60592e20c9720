"""Canonical domains: what each kind of observation looks like once it is in the warehouse.

A domain declares, as data, its table, primary key, columns (type, canonical unit, valid range,
required) and how it is stored:

- ``wide``: one table per built-in domain (``obs_traffic``, ``obs_air``, ``obs_water``, ``obs_rain``)
  with one column per measured value; key ``(entity_id, ts)``.
- ``record``: emergency incidents (``incident``), keyed by the incident's id; a row is the incident's
  latest state.
- ``long``: any domain declared in configuration (a new department's feed) is stored in
  ``obs_metric(domain, entity_id, ts, metric, value)``, so adding a department needs no schema change.

Units: each value column names a quantity and its canonical unit; a feed says which unit it sends
(``units = {co = "ug/m3"}``) and :func:`unit_factor` gives the multiplier to the canonical unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["str", "float", "int", "ts"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    unit: str = ""
    min: float | None = None
    max: float | None = None
    required: bool = False
    allowed: tuple[str, ...] | None = None
    label: str = ""


@dataclass(frozen=True)
class Domain:
    name: str
    label: str
    storage: Literal["wide", "record", "long"]
    table: str
    entity_kind: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    time_column: str = "ts"
    # For wide domains: at least one of these must be present on a row.
    values: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _obs(name: str, label: str, entity_kind: str, values: tuple[Column, ...]) -> Domain:
    cols = (Column("entity_id", "str", required=True), Column("ts", "ts", required=True), *values)
    return Domain(
        name=name,
        label=label,
        storage="wide",
        table=f"obs_{name}",
        entity_kind=entity_kind,
        key=("entity_id", "ts"),
        columns=cols,
        values=tuple(v.name for v in values),
    )


TRAFFIC = _obs(
    "traffic",
    "交通",
    "road_segment",
    (
        Column("speed_kmh", "float", "km/h", 0, 200, label="平均车速"),
        Column("volume_vph", "float", "veh/h", 0, 20_000, label="流量"),
        Column("occupancy_pct", "float", "%", 0, 100, label="占有率"),
    ),
)
AIR = _obs(
    "air",
    "空气",
    "air_station",
    (
        Column("so2", "float", "ug/m3", 0, 10_000, label="SO₂"),
        Column("no2", "float", "ug/m3", 0, 5_000, label="NO₂"),
        Column("pm10", "float", "ug/m3", 0, 5_000, label="PM10"),
        Column("pm25", "float", "ug/m3", 0, 3_000, label="PM2.5"),
        Column("co", "float", "mg/m3", 0, 200, label="CO"),
        Column("o3", "float", "ug/m3", 0, 3_000, label="O₃"),
    ),
)
WATER = _obs(
    "water",
    "水位",
    "hydro_station",
    (
        Column("level_m", "float", "m", -50, 2_000, label="水位"),
        Column("discharge_m3s", "float", "m3/s", 0, 200_000, label="流量"),
    ),
)
RAIN = _obs(
    "rain",
    "雨量",
    "rain_gauge",
    (Column("rain_mm", "float", "mm", 0, 300, label="时段雨量"),),
)
INCIDENT_TYPES = ("waterlogging", "traffic_accident", "landslide", "fire", "tree_down", "flood", "other")
INCIDENT_STATUSES = ("open", "dispatched", "closed")
INCIDENT = Domain(
    name="incident",
    label="应急事件",
    storage="record",
    table="incident",
    entity_kind="incident",
    key=("incident_id",),
    time_column="reported_at",
    columns=(
        Column("incident_id", "str", required=True),
        Column("type", "str", required=True, allowed=INCIDENT_TYPES),
        Column("severity", "int", "", 1, 4, required=True),
        Column("status", "str", required=True, allowed=INCIDENT_STATUSES),
        Column("reported_at", "ts", required=True),
        Column("dispatched_at", "ts"),
        Column("closed_at", "ts"),
        Column("lon", "float", "deg", -180, 180),
        Column("lat", "float", "deg", -90, 90),
        Column("district_code", "str"),
        Column("description", "str"),
        Column("reporting_department", "str"),
    ),
)

BUILTIN_DOMAINS: dict[str, Domain] = {d.name: d for d in (TRAFFIC, AIR, WATER, RAIN, INCIDENT)}

# Optional columns any observation feed may carry to place (and register) the entity it measures.
ENTITY_COLUMNS: tuple[Column, ...] = (
    Column("entity_name", "str"),
    Column("lon", "float", "deg", -180, 180),
    Column("lat", "float", "deg", -90, 90),
    Column("district_code", "str"),
)


# The entity table's columns: the reference data of stations, gauges, road segments and the like.
ENTITY_TABLE_COLUMNS: tuple[str, ...] = (
    "entity_id",
    "kind",
    "name",
    "name_en",
    "department",
    "district_code",
    "lon",
    "lat",
    "geometry",
    "road_name",
    "road_class",
    "length_m",
    "free_flow_kmh",
    "lanes",
    "river",
    "basin",
    "station_type",
    "warning_level_m",
    "guaranteed_level_m",
    "flood_limit_level_m",
    "historical_level_m",
    "normal_level_m",
    "props",
    "source",
    "updated_at",
)
# What an entity catalogue file states per entity; the other columns are derived by its loader.
CATALOGUE_FIELDS: tuple[str, ...] = tuple(
    c for c in ENTITY_TABLE_COLUMNS if c not in ("lon", "lat", "geometry", "props", "source", "updated_at")
)


def custom_domain(
    name: str, label: str | None, entity_kind: str | None, metrics: list[Mapping[str, object]]
) -> Domain:
    """A configured domain, stored long in ``obs_metric``."""
    values = tuple(
        Column(
            str(m["name"]),
            "float",
            str(m.get("unit") or ""),
            m.get("min"),  # type: ignore[arg-type]
            m.get("max"),  # type: ignore[arg-type]
            bool(m.get("required", False)),
            label=str(m.get("label") or m["name"]),
        )
        for m in metrics
    )
    return Domain(
        name=name,
        label=label or name,
        storage="long",
        table="obs_metric",
        entity_kind=entity_kind or name,
        key=("entity_id", "ts"),
        columns=(Column("entity_id", "str", required=True), Column("ts", "ts", required=True), *values),
        values=tuple(v.name for v in values),
    )


# unit → (quantity, factor to the quantity's canonical unit)
_UNITS: dict[str, tuple[str, float]] = {
    # length (levels)
    "m": ("length", 1.0),
    "cm": ("length", 0.01),
    "mm_level": ("length", 0.001),
    # rainfall depth
    "mm": ("depth", 1.0),
    "0.1mm": ("depth", 0.1),
    "cm_rain": ("depth", 10.0),
    # speed
    "km/h": ("speed", 1.0),
    "m/s": ("speed", 3.6),
    "mph": ("speed", 1.609344),
    # mass concentration (µg/m³ canonical for most pollutants)
    "ug/m3": ("concentration", 1.0),
    "µg/m3": ("concentration", 1.0),
    "μg/m3": ("concentration", 1.0),
    "µg/m³": ("concentration", 1.0),
    "mg/m3": ("concentration", 1000.0),
    "mg/m³": ("concentration", 1000.0),
    # ratio
    "%": ("ratio", 1.0),
    "fraction": ("ratio", 100.0),
    "permille": ("ratio", 0.1),
    # flow
    "m3/s": ("flow", 1.0),
    "l/s": ("flow", 0.001),
    "veh/h": ("vehicle_rate", 1.0),
    "veh/5min": ("vehicle_rate", 12.0),
    "veh/min": ("vehicle_rate", 60.0),
    # pressure
    "MPa": ("pressure", 1.0),
    "kPa": ("pressure", 0.001),
    "bar": ("pressure", 0.1),
    "Pa": ("pressure", 1e-6),
    "deg": ("angle", 1.0),
}


def unit_factor(source_unit: str, canonical_unit: str) -> float:
    """Multiplier taking a value in ``source_unit`` to ``canonical_unit``.

    >>> unit_factor("cm", "m")
    0.01
    >>> unit_factor("ug/m3", "mg/m3")
    0.001
    """
    src = _UNITS.get(source_unit)
    dst = _UNITS.get(canonical_unit)
    if src is None:
        raise ValueError(f"unknown unit {source_unit!r}; known units: {', '.join(sorted(_UNITS))}")
    if dst is None:
        raise ValueError(f"unknown canonical unit {canonical_unit!r}")
    # Rain depth and water level both use millimetres/centimetres: accept the plain names for either.
    if src[0] != dst[0]:
        alias = {("length", "depth"), ("depth", "length")}
        if (src[0], dst[0]) in alias:
            plain = {"mm": 0.001, "cm": 0.01, "m": 1.0, "0.1mm": 0.0001}
            if source_unit in plain and canonical_unit in plain:
                return plain[source_unit] / plain[canonical_unit]
        raise ValueError(f"cannot convert {source_unit!r} ({src[0]}) to {canonical_unit!r} ({dst[0]})")
    return src[1] / dst[1]


def unit_smaller_by(unit: str, factor: float) -> str | None:
    """A unit of the same quantity ``factor`` times smaller than ``unit`` (for naming unit slips).

    >>> unit_smaller_by("mg/m3", 1000)
    'ug/m3'
    >>> unit_smaller_by("ug/m3", 1000) is None
    True
    """
    known = _UNITS.get(unit)
    if known is None:
        return None
    quantity, base = known
    for name, (q, f) in _UNITS.items():
        if q == quantity and abs(f * factor - base) <= 1e-9 * base:
            return name
    return None


def known_units() -> tuple[str, ...]:
    return tuple(sorted(_UNITS))
