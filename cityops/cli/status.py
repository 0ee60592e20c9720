"""`cityops status`: the city's state now."""

from __future__ import annotations

from cityops.cli.common import ConfigOpt, build_table, console, local_time_text, open_config_runtime
from cityops.cli.warnings import LEVEL_STYLE


def status(config: ConfigOpt = None) -> None:
    """The city's state now: the operations index per district and the open warnings by level."""
    from dashboard.services import Services

    rt = open_config_runtime(config)
    index = Services(rt).engine().district_index()
    table = build_table(
        f"{rt.settings.city.name} city-operations index (0–100) "
        f"at {local_time_text(rt.settings, rt.clock.now())}",
        ("district", "index", "grade", "coverage", "worst domain"),
    )
    for r in index.to_dict("records"):
        value = "—" if r["index"] != r["index"] else f"{r['index']:.0f}"
        table.add_row(
            str(r["name"] or r["district_code"]),
            value,
            str(r["grade_zh"]),
            f"{r['coverage']:.0%}",
            str(r["worst_domain"] or ""),
        )
    console.print(table)
    open_now = rt.warehouse.warnings(open_only=True, limit=100_000)
    counts = open_now.groupby("level").size().to_dict() if len(open_now) else {}
    console.print(
        "open warnings: " + ", ".join(f"{LEVEL_STYLE[lv][0]} {counts.get(lv, 0)}" for lv in (1, 2, 3, 4))
    )
    rt.warehouse.close()
