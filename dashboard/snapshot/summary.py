"""The report at a glance: the headline numbers, the content of ``summary.json`` and the one-page
summary image's figure."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import snapshot as figs
from dashboard.snapshot.report import EVENTS, Report
from dashboard.snapshot.values import format_place


def build_headline(rep: Report) -> list[tuple[str, str]]:
    """The headline numbers as (label, value): the day's events, what is still open, each domain's peak."""
    s, tr = rep.summary, rep.tr
    w = s.get("warnings", {})
    counts = w.get("counts", {})
    rows = [
        (tr("snapshot.head.raised"), str(sum(counts.get("raised", {}).values()))),
        (tr("snapshot.head.escalated"), str(sum(counts.get("escalated", {}).values()))),
        (tr("snapshot.head.resolved"), str(sum(counts.get("resolved", {}).values()))),
        (tr("snapshot.head.open"), str(len(w.get("open_at_cut_off", [])))),
    ]
    water = s.get("water", {})
    if water.get("stations"):
        rows.append((tr("snapshot.head.water"), str(water.get("over_warning", 0))))
    rain = s.get("rain", {})
    if rain.get("heaviest"):
        top = rain["heaviest"][0]
        rows.append((tr("snapshot.head.rain"), f"{top['total_mm']} mm · {top['name']}"))
    air = s.get("air", {})
    if air.get("worst"):
        rows.append(
            (tr("snapshot.head.air", day=air["day"][5:]), f"{air['worst']['aqi']} · {air['worst']['name']}")
        )
    traffic = s.get("traffic", {})
    if traffic.get("city_peak"):
        rows.append(
            (
                tr("snapshot.head.traffic"),
                f"{traffic['city_peak']['index']} · {traffic['city_peak']['at'][6:]}",
            )
        )
    inc = s.get("incidents", {})
    rows.append((tr("snapshot.head.incidents"), str(inc.get("reported", 0))))
    outages = sum(len(f["outages"]) for f in s.get("feeds", []))
    rows.append((tr("snapshot.head.outages"), str(outages)))
    return rows


def build_summary(
    rep: Report, status: str, reason: str | None, headline: list[tuple[str, str]]
) -> dict[str, Any]:
    """The content of ``summary.json``: no wall-clock time in it, so a second render is identical."""
    w = rep.w
    return {
        "schema": "cityops.snapshot/1",
        "day": w.day.isoformat(),
        "window": {"start": w.local_start.isoformat(), "end": w.local_end.isoformat(), "timezone": w.tz},
        "city": rep.settings.city.name,
        "status": status,
        "reason": reason,
        "pack_version": rep.pack_version,
        "headline": [{"label": k, "value": v} for k, v in headline],
        **rep.summary,
    }


def build_summary_image(rep: Report, headline: list[tuple[str, str]]) -> go.Figure | None:
    """The one-page summary image's figure; None when the warnings or their map could not be built."""
    if rep.map_layers is None or rep.map_points is None or rep.open_rows is None or rep.counts is None:
        return None
    open_rows = rep.open_rows
    table = pd.DataFrame(
        {
            "level": open_rows["level"],
            "level_label": [rep.level_name(v) for v in open_rows["level"]],
            "title": open_rows["rule_title"],
            "place": [
                format_place(n, d) for n, d in zip(open_rows["name"], open_rows["district"], strict=True)
            ],
            "age": [f"{v} h" for v in open_rows["age_h"]],
            "ack": [
                rep.tr("snapshot.acked") if a else rep.tr(f"snapshot.state.{s}")
                for a, s in zip(open_rows["acknowledged"], open_rows["state_at"], strict=True)
            ],
        }
    )
    w = rep.w
    return figs.build_summary_figure(
        headline,
        rep.counts,
        table,
        rep.map_layers,
        rep.map_points,
        title=rep.tr("snapshot.title", city=rep.city_name(), day=w.day.isoformat())
        + f"  ({w.local_start:%m-%d %H:%M} → {w.local_end:%m-%d %H:%M})",
        texts={
            "headline": rep.tr("snapshot.sum.headline"),
            "levels": rep.tr("snapshot.fig.warnings_levels"),
            "map": rep.tr("snapshot.fig.map"),
            "open": rep.tr("snapshot.open_title"),
            "none": rep.tr("snapshot.no_warnings"),
            "open_columns": rep.tr("snapshot.open_columns"),
            "no_open": rep.tr("snapshot.no_open"),
        },
        events={e: rep.tr(f"snapshot.event.{e}") for e in EVENTS},
        level_names=rep.level_names(),
    )
