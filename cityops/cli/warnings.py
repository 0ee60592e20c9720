"""`cityops warnings`: the warnings the rule engine raised."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.cli.common import (
    ConfigOpt,
    build_table,
    console,
    local_time_text,
    open_config_runtime,
    text_cell,
)

warnings_app = typer.Typer(help="Warnings raised by the rule engine.", no_args_is_help=True)

# Warning levels as the national signal colours: (name, terminal style).
LEVEL_STYLE = {
    1: ("红色", "bold white on red"),
    2: ("橙色", "bold black on dark_orange"),
    3: ("黄色", "bold black on yellow"),
    4: ("蓝色", "bold white on blue"),
}
STATE_ZH = {
    "pending": "待确认",
    "active": "生效",
    "acknowledged": "已签收",
    "suppressed": "已抑制",
    "resolved": "已解除",
}


@warnings_app.command("list")
def warnings_list(
    config: ConfigOpt = None,
    active: Annotated[
        bool, typer.Option("--active", help="Only open warnings (pending, active, acknowledged, suppressed).")
    ] = False,
    limit: Annotated[int, typer.Option(help="How many.")] = 100,
) -> None:
    """Warnings, most severe first."""
    rt = open_config_runtime(config)
    frame = rt.warehouse.warnings(open_only=active, limit=limit)
    table = build_table(
        f"warnings ({'open' if active else 'all'}): {len(frame)}",
        ("id", "level", "state", "rule", "summary", "since"),
        overflow="fold",
        no_wrap=("id", "level", "state"),
    )
    for w in frame.to_dict("records"):
        name, style = LEVEL_STYLE[int(w["level"])]
        since = (
            w["activated_at"]
            if w["activated_at"] == w["activated_at"] and w["activated_at"] is not None
            else w["created_at"]
        )
        table.add_row(
            w["warning_id"],
            f"[{style}] {name} [/]",
            STATE_ZH.get(w["state"], w["state"]),
            w["rule_id"],
            text_cell(w["summary"]) or text_cell(w["name"]) or str(w["key"]),
            local_time_text(rt.settings, since),
        )
    console.print(table)
    for version in sorted(set(frame["pack_version"])) if len(frame) else []:
        console.print(f"rule pack: {version}")
    rt.warehouse.close()
