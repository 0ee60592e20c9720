"""`cityops rules`: check the rule packs, back-test them over history."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.base.errors import ConfigError
from cityops.cli.common import (
    ConfigOpt,
    build_progress,
    build_table,
    console,
    load_config,
    local_time_text,
    open_config_runtime,
    parse_city_time,
)

rules_app = typer.Typer(help="Rule packs: check them, back-test them over history.", no_args_is_help=True)


@rules_app.command("check")
def rules_check(config: ConfigOpt = None) -> None:
    """Validate and layer the configured rule packs; list the rules in force."""
    from cityops.alerting import load_rule_pack

    settings = load_config(config)
    pack = load_rule_pack(settings)
    table = build_table(
        f"rule pack {pack.version}: {len(pack.rules)} rules",
        ("id", "kind", "domain", "levels", "effective", "citation"),
        overflow="fold",
    )
    for r in pack.rules:
        levels = ", ".join(r.levels) or (r.level or "")
        table.add_row(r.id, r.kind, r.domain, levels, str(r.effective), r.citation)
    console.print(table)


@rules_app.command("backtest")
def rules_backtest(
    from_: Annotated[str, typer.Option("--from", help="Start date/time (city timezone).")],
    to: Annotated[str, typer.Option("--to", help="End date/time (city timezone), exclusive.")],
    config: ConfigOpt = None,
    step: Annotated[
        str | None, typer.Option(help="Evaluation step, e.g. 5m (default warnings.backtest_step).")
    ] = None,
    events: Annotated[bool, typer.Option("--events", help="Also print every event in order.")] = False,
) -> None:
    """Replay history through the rule pack: per rule and level, how many warnings and when."""
    from cityops.alerting import backtest, load_rule_pack
    from cityops.base.values import parse_duration

    rt = open_config_runtime(config)
    tz = rt.settings.city.timezone
    start, end = parse_city_time(from_, tz), parse_city_time(to, tz)
    if end <= start:
        raise ConfigError("--to must be after --from")
    pack = load_rule_pack(rt.settings, today=end.date())
    try:
        delta = parse_duration(step) if step else rt.settings.warnings.backtest_step
    except ValueError as exc:
        raise ConfigError(f"--step: {exc}") from None
    with build_progress("back-test", transient=True) as progress:
        task = progress.add_task("", total=None)
        result = backtest(
            rt,
            pack,
            start,
            end,
            delta,
            on_step=lambda done, total: progress.update(task, completed=done, total=total),
        )
    table = build_table(
        f"back-test {local_time_text(rt.settings, start)} → {local_time_text(rt.settings, end)}, "
        f"step {delta}, {result.ticks} ticks, pack {pack.version}",
        ("rule", "level", "warnings", "first", "last"),
    )
    for rule, level, n, first, last in result.by_rule_and_level():
        table.add_row(
            rule, level, str(n), local_time_text(rt.settings, first), local_time_text(rt.settings, last)
        )
    console.print(table)
    if events:
        for at, kind, rule, level, summary in result.events:
            console.print(
                f"{local_time_text(rt.settings, at)}  {kind:<11} {level:<6} {rule:<32} {summary}",
                highlight=False,
            )
    console.print(f"{len(result.events)} events; {result.open_at_end} warnings still open at the end")
    rt.warehouse.close()
