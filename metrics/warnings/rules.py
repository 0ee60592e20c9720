"""Rule packs: warning rules as data, validated into typed objects.

A pack is a TOML document (the loader in ``cityops.rules`` reads the file)::

    [pack]
    id = "guangdong"            # packs are layered: national → provincial profile → city overrides
    version = "2026.1"
    title = "广东省规则"
    extends = "national"        # optional: start from another pack's rules
    disable = ["rain.r12.blue"] # optional: rule ids of the base pack that do not apply here

    [[rules]]
    id = "water.level"          # unique within the resolved pack; a later pack's rule replaces it
    title = "河道水位超警戒"
    title_en = "River level above warning"   # optional: the title in English pages and messages
    kind = "ladder"             # ladder | duration | rate | predicted | k_of_n | compound | feed_stale
    domain = "water"
    metric = "level_m"          # a signal metric (see cityops.signals)
    citation = "SL 758-2018 《水情预警信号》; 标准 §3.3"
    effective = 2018-06-01
    [rules.levels]              # blue → red; a number, or a station attribute plus an offset
    blue = { attr = "warning_level_m", offset = -0.3 }
    yellow = { attr = "warning_level_m" }

Every rule has an id, a title (``title_en``, ``message_en``, ``citation_en`` and a condition's
``label_en``: the same in English, optional), a citation and an effective date; a resolved pack records
its version (``national 2026.1 + guangdong 2026.1 + qingyuan 2026.2``), and every warning stores it.

Rule kinds
----------
``ladder``      the level whose threshold the metric reaches (``op`` ``>=`` or ``<=``), per entity
                or per district/basin/city aggregate (``scope``).
``duration``    a ladder whose condition must hold for ``hold`` (e.g. AQI > 200 for 24 h) before it
                becomes active.
``rate``        a ladder on a rate metric (``rise_1h_m``): kept separate for reading and for the
                default clear behaviour.
``predicted``   time-to-threshold: the level is raised when the predicted crossing time
                (``eta_min``) is within the level's lead time; never red (a prediction alone does
                not raise red).
``k_of_n``      at least ``k`` entities (or a ``fraction``) of a district or basin reach a level's
                threshold; the contributing points are recorded.
``compound``    every condition (each on its own domain) holds in the same district.
``feed_stale``  a feed's data is stale (or late): one feed-outage warning, and the warnings of rules
                on its domain are suppressed.

Lifecycle parameters (every kind): ``debounce`` (hold before active), ``clear_after`` (hold below
the clear threshold before resolving), ``hysteresis`` (how far below a level's threshold the metric
must fall before that level clears; absolute, in the metric's unit), ``remind_every``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from metrics.levels import Level

RuleKind = Literal["ladder", "duration", "rate", "predicted", "k_of_n", "compound", "feed_stale"]
Scope = Literal["entity", "district", "basin", "city"]
Aggregate = Literal["max", "min", "mean", "sum", "count"]
LEVEL_NAMES = ("blue", "yellow", "orange", "red")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)\s*$")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            mult = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[m.group(2)]
            return timedelta(seconds=float(m.group(1)) * mult)
        if value.startswith("P"):  # ISO 8601, as a dumped rule writes it
            return TypeAdapter(timedelta).validate_python(value)
    raise ValueError(f"a duration such as '10m', '1h' or '1d', not {value!r}")


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Model):
    """A fixed value, or an entity attribute plus an offset (``warning_level_m`` − 0.3)."""

    value: float | None = Field(None, description="A fixed threshold.")
    attr: str | None = Field(None, description="An entity attribute, e.g. warning_level_m.")
    offset: float = Field(0.0, description="Added to the attribute.")
    lead: Duration | None = Field(None, description="predicted rules: raise when the crossing is this close.")
    metric: str | None = Field(
        None, description="This level reads another metric (e.g. rain: R12 for blue, R3 for red)."
    )

    @model_validator(mode="before")
    @classmethod
    def _number_shorthand(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"value": float(data)}
        return data

    @model_validator(mode="after")
    def _one_of(self) -> Threshold:
        if (self.value is None) == (self.attr is None) and self.lead is None:
            raise ValueError("give either value or attr")
        return self


class Condition(_Model):
    """One condition of a compound rule: a domain's metric, aggregated over a district."""

    domain: str
    metric: str
    op: Literal[">=", "<=", ">", "<"] = ">="
    threshold: Threshold
    aggregate: Aggregate = "max"
    label: str = ""
    label_en: str = ""


class Rule(_Model):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    title_en: str = Field("", description="The title in English (pages and messages in English).")
    kind: RuleKind
    domain: str = Field(
        ..., description="Domain whose data the rule reads (its feed's staleness suppresses it)."
    )
    metric: str | None = None
    citation: str
    citation_en: str = Field("", description="The citation in English.")
    effective: date
    scope: Scope = "entity"
    entity_kind: str | None = None
    aggregate: Aggregate = "max"
    op: Literal[">=", "<=", ">", "<"] = ">="
    levels: dict[str, Threshold] = Field(default_factory=dict)
    k: int | None = Field(None, ge=1)
    fraction: float | None = Field(None, gt=0, le=1)
    group: Literal["district", "basin"] = "district"
    conditions: list[Condition] = Field(default_factory=list)
    level: str | None = Field(
        None,
        description="compound / feed_stale: the level raised; "
        "predicted: the level whose threshold is expected.",
    )
    stale_level: Literal["late", "stale"] = "stale"
    hold: Duration = Field(timedelta(0), description="duration: how long the condition must hold.")
    debounce: Duration = Field(timedelta(minutes=5))
    clear_after: Duration = Field(timedelta(minutes=15))
    hysteresis: float = Field(0.0, ge=0)
    remind_every: Duration | None = Field(timedelta(minutes=30))
    message: str = Field(
        "", description="Summary template: {entity}, {value}, {threshold}, {unit}, {level}, {eta}."
    )
    message_en: str = Field("", description="The summary template in English (same fields).")
    unit: str = ""
    enabled: bool = True

    @model_validator(mode="after")
    def _kind_fields(self) -> Rule:
        for name in self.levels:
            if name not in LEVEL_NAMES:
                raise ValueError(f"levels.{name}: not a level; allowed: {', '.join(LEVEL_NAMES)}")
        needs_metric = self.kind in ("ladder", "duration", "rate", "predicted", "k_of_n")
        if needs_metric and not self.metric:
            raise ValueError(f"rule {self.id}: kind {self.kind!r} needs a metric")
        if needs_metric and not self.levels:
            raise ValueError(f"rule {self.id}: kind {self.kind!r} needs [rules.levels]")
        if self.kind == "predicted":
            if "red" in self.levels:
                raise ValueError(f"rule {self.id}: a prediction alone never raises red; remove levels.red")
            for name, th in self.levels.items():
                if th.lead is None:
                    raise ValueError(f"rule {self.id}: levels.{name} of a predicted rule needs a lead time")
        if self.kind == "k_of_n":
            if self.k is None and self.fraction is None:
                raise ValueError(f"rule {self.id}: k_of_n needs k or fraction")
            if self.scope == "entity":
                object.__setattr__(self, "scope", self.group)
        if self.kind == "compound":
            if len(self.conditions) < 2:
                raise ValueError(f"rule {self.id}: a compound rule needs at least two conditions")
            if self.level not in LEVEL_NAMES:
                raise ValueError(
                    f"rule {self.id}: compound rules need level = one of {', '.join(LEVEL_NAMES)}"
                )
            object.__setattr__(self, "scope", "district")
        if self.kind == "feed_stale" and self.level not in LEVEL_NAMES:
            raise ValueError(f"rule {self.id}: feed_stale rules need level = one of {', '.join(LEVEL_NAMES)}")
        if self.kind == "duration" and self.hold <= timedelta(0):
            raise ValueError(f"rule {self.id}: a duration rule needs hold > 0 (e.g. hold = '24h')")
        return self

    def ladder(self) -> list[tuple[Level, Threshold]]:
        """Levels from most to least severe."""
        out = [(Level[name.upper()], th) for name, th in self.levels.items()]
        return sorted(out, key=lambda p: int(p[0]))

    @property
    def activation_delay(self) -> timedelta:
        return max(self.debounce, self.hold)


class PackHeader(_Model):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: str
    title: str
    title_en: str = ""
    extends: str | None = None
    disable: list[str] = Field(default_factory=list)
    citation: str = ""
    citation_en: str = ""


class PackDocument(_Model):
    pack: PackHeader
    rules: list[Rule] = Field(default_factory=list)


class RulePack(_Model):
    """A resolved pack: the rules in force and the versions that made them."""

    id: str
    version: str
    title: str
    rules: tuple[Rule, ...]
    title_en: str = ""

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


class RulePackError(ValueError):
    """A rule pack is invalid: the message names the pack, the rule and the key."""


def parse_pack(data: Mapping[str, Any], *, source: str) -> PackDocument:
    try:
        return PackDocument.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = data.get("rules") or []
            rid = rules[loc[1]].get("id", f"#{loc[1] + 1}") if loc[1] < len(rules) else f"#{loc[1] + 1}"
            where = f"rule {rid}: " + ".".join(str(p) for p in loc[2:])
        else:
            where = ".".join(str(p) for p in loc)
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise RulePackError(
            f"{source}: {where}: {str(err['msg']).removeprefix('Value error, ')}{more}"
        ) from None


def resolve_packs(documents: Sequence[PackDocument], *, today: date | None = None) -> RulePack:
    """Layer packs (each may ``extend`` the previous): later rules replace earlier ones by id.

    Rules whose effective date is after ``today`` are left out; ``disable`` removes base rules.
    """
    if not documents:
        raise RulePackError("no rule packs configured")
    by_id: dict[str, PackDocument] = {}
    for doc in documents:
        if doc.pack.id in by_id:
            raise RulePackError(f"rule pack {doc.pack.id!r} is given twice")
        if doc.pack.extends is not None and doc.pack.extends not in by_id:
            raise RulePackError(
                f"rule pack {doc.pack.id!r} extends {doc.pack.extends!r}, which is not loaded before it"
            )
        by_id[doc.pack.id] = doc
    rules: dict[str, Rule] = {}
    for doc in documents:
        for rid in doc.pack.disable:
            if rid not in rules:
                raise RulePackError(f"rule pack {doc.pack.id!r}: disable names unknown rule {rid!r}")
            del rules[rid]
        for rule in doc.rules:
            if today is not None and rule.effective > today:
                continue
            rules[rule.id] = rule
    last = documents[-1].pack
    version = " + ".join(f"{d.pack.id} {d.pack.version}" for d in documents)
    return RulePack(
        id=last.id,
        version=version,
        title=last.title,
        title_en=last.title_en,
        rules=tuple(r for r in rules.values() if r.enabled),
    )
