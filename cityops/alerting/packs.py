"""The rule packs a city configures: read, validated, layered, and checked against the signals that exist.

A rule that names an unknown domain, metric or attribute could never fire, so it stops the start with a
:class:`~cityops.base.errors.ConfigError` that names the pack, the rule and what is allowed.
"""

from __future__ import annotations

import tomllib
from datetime import date

from cityops.base.errors import ConfigError
from cityops.base.settings import Settings
from metrics.signals import SIGNAL_METRICS
from metrics.warnings.rules import (
    PackDocument,
    RulePack,
    RulePackError,
    parse_pack,
    resolve_packs,
)

ENTITY_ATTRIBUTES = (
    "warning_level_m",
    "guaranteed_level_m",
    "historical_level_m",
    "flood_limit_level_m",
    "normal_level_m",
    "free_flow_kmh",
    "length_m",
)


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
