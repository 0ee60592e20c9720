"""The report's warnings section: the day's events by level and place, warnings open at the cut-off,
every warning the day touched, and their map."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cityops.base.times import local_text, utc_naive
from dashboard.figures import snapshot as figs
from dashboard.figures.citymap import MapLayers
from dashboard.snapshot.report import EVENTS, LEVEL_KEYS, Report, ReportFigure
from dashboard.snapshot.values import as_text, round_or_none, to_local_naive

# The columns that identify a warning in the list of those the day touched.
WARNING_COLUMNS = [
    "warning_id",
    "rule_id",
    "rule_title",
    "domain",
    "name",
    "district_code",
    "entity_id",
    "dedup_key",
]


def build_warnings(rep: Report) -> None:
    """Events (raised, escalated, resolved, suppressed) in the window, warnings open at its end."""
    tr = rep.wh.snapshot_transitions(rep.w.start, rep.w.end)
    open_end = rep.wh.snapshot_open_at(rep.w.end)
    open_start = rep.wh.snapshot_open_at(rep.w.start)
    rep.transitions, rep.open_start = tr, open_start
    fs, ts = tr["from_state"].astype(object), tr["to_state"].astype(object)
    fl = pd.to_numeric(tr["from_level"], errors="coerce")
    tl = pd.to_numeric(tr["to_level"], errors="coerce")
    event = np.select(
        [
            (fs == "pending") & (ts == "active"),
            (ts == "active") & fs.isin(["active", "acknowledged"]) & (tl < fl),
            (ts == "resolved") & fs.isin(["active", "acknowledged", "suppressed"]),
            (ts == "suppressed"),
        ],
        ["raised", "escalated", "resolved", "suppressed"],
        default="",
    )
    tr = tr.assign(event=event, level=tl.where(event != "resolved", fl).fillna(tl).astype("Int64"))
    events = tr[tr["event"] != ""].copy()
    events["department"] = events["domain"].map(rep.department)
    events["district"] = events["district_code"].map(rep.district)
    events["time"] = to_local_naive(events["occurred_at"], rep.tz)
    rep.events = events

    counts = (
        events[events["event"].isin(EVENTS)].groupby(["event", "level"]).size().rename("count").reset_index()
        if len(events)
        else pd.DataFrame({"event": [], "level": [], "count": []})
    )
    counts["level"] = counts["level"].astype("int64")
    counts["count"] = counts["count"].astype("int64")
    # Per warning: the most severe level it was raised or escalated to in the day.
    up = events[events["event"].isin(["raised", "escalated"])]
    peak = (
        up.groupby("warning_id")
        .agg(level=("level", "min"), department=("department", "first"), district=("district", "first"))
        .reset_index()
        if len(up)
        else pd.DataFrame(columns=["warning_id", "level", "department", "district"])
    )
    rows = []
    for group in ("department", "district"):
        if len(peak):
            g = (
                peak.groupby([group, "level"])
                .size()
                .rename("count")
                .reset_index()
                .rename(columns={group: "name"})
            )
            g.insert(0, "group", group)
            rows.append(g)
    places = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame({"group": [], "name": [], "level": [], "count": []})
    )
    places["level"] = places["level"].astype("int64")
    places["count"] = places["count"].astype("int64")

    end_naive = utc_naive(rep.w.end)
    open_rows = open_end.copy()
    open_rows["level"] = pd.to_numeric(open_rows["level_at"], errors="coerce").astype("int64")
    open_rows["age_h"] = (
        (end_naive - pd.to_datetime(open_rows["activated_at"])).dt.total_seconds() / 3600
    ).round(1)
    open_rows["department"] = open_rows["domain"].map(rep.department)
    open_rows["district"] = open_rows["district_code"].map(rep.district)
    open_rows["acknowledged"] = open_rows["acknowledged_at"].notna() & (open_rows["state_at"] != "active")
    rep.open_rows = open_rows

    # Every warning the day touched (an event in the window, or open at its end).
    touched = pd.concat(
        [events[WARNING_COLUMNS], open_rows[WARNING_COLUMNS]], ignore_index=True
    ).drop_duplicates("warning_id")
    peak_any = (
        pd.concat([up[["warning_id", "level"]], open_rows[["warning_id", "level"]]])
        .groupby("warning_id")["level"]
        .min()
    )
    touched["level"] = touched["warning_id"].map(peak_any)
    first_level = events.groupby("warning_id")["level"].min()
    touched["level"] = touched["level"].fillna(touched["warning_id"].map(first_level))
    touched = touched.dropna(subset=["level"])
    touched["level"] = touched["level"].astype("int64")
    touched["open_at_cut_off"] = touched["warning_id"].isin(set(open_rows["warning_id"]))
    for kind in EVENTS:
        touched[kind] = touched["warning_id"].isin(set(events.loc[events["event"] == kind, "warning_id"]))
    touched["department"] = touched["domain"].map(rep.department)
    touched["district"] = touched["district_code"].map(rep.district)
    rep.touched = touched.sort_values(["level", "rule_id", "warning_id"]).reset_index(drop=True)

    level_names = rep.level_names()
    event_names = {e: rep.tr(f"snapshot.event.{e}") for e in EVENTS}
    none = rep.tr("snapshot.no_warnings")
    rep.figures.append(
        ReportFigure(
            "warnings_levels",
            rep.tr("snapshot.fig.warnings_levels"),
            figs.build_level_bars(
                counts,
                title=rep.tr("snapshot.fig.warnings_levels"),
                events=event_names,
                level_names=level_names,
                empty_message=none,
            ),
            counts,
        )
    )
    rep.figures.append(
        ReportFigure(
            "warnings_places",
            rep.tr("snapshot.fig.warnings_places"),
            figs.build_place_bars(
                places,
                title=rep.tr("snapshot.fig.warnings_places"),
                panel_titles=(rep.tr("snapshot.by_department"), rep.tr("snapshot.by_district")),
                level_names=level_names,
                empty_message=none,
            ),
            places,
        )
    )
    rep.counts = counts
    rep.summary["warnings"] = {
        "total": len(rep.touched),
        "none": bool(len(rep.touched) == 0),
        "counts": {
            e: {
                LEVEL_KEYS[lv]: int(counts[(counts["event"] == e) & (counts["level"] == lv)]["count"].sum())
                for lv in (1, 2, 3, 4)
            }
            for e in EVENTS
        },
        "raised": _list_events(events, "raised", rep.tz),
        "escalated": _list_events(events, "escalated", rep.tz),
        "resolved": _list_events(events, "resolved", rep.tz),
        "open_at_cut_off": [
            {
                **_describe(r),
                "state": r["state_at"],
                "acknowledged": bool(r["acknowledged"]),
                "acknowledged_by": as_text(r["acknowledged_by"]) or None,
                "since": local_text(r["activated_at"], rep.tz, "%Y-%m-%d %H:%M"),
                "age_h": round_or_none(r["age_h"]),
            }
            for r in open_rows.to_dict("records")
        ],
    }


def _describe(r: dict[str, Any]) -> dict[str, Any]:
    """What the summary says of every warning it lists: which one, its level and where."""
    return {
        "warning_id": r["warning_id"],
        "rule_id": r["rule_id"],
        "title": r["rule_title"],
        "level": LEVEL_KEYS.get(int(r["level"]), "?"),
        "name": as_text(r["name"]) or None,
        "district": r["district"],
    }


def _list_events(events: pd.DataFrame, kind: str, tz: str) -> list[dict[str, Any]]:
    """The summary's list of the day's events of one ``kind``."""
    sub = events[events["event"] == kind]
    return [
        {
            **_describe(r),
            "department": r["department"],
            "at": local_text(r["occurred_at"], tz, "%Y-%m-%d %H:%M"),
        }
        for r in sub.to_dict("records")
    ]


def build_map(rep: Report) -> None:
    """The warnings the day touched, placed at their entity (or their district's centre)."""
    from dashboard.mapdata import load_base_layers

    assert rep.touched is not None, "the map is built after the warnings"
    base = load_base_layers(rep.settings)
    placed = rep.touched.merge(rep.entities[["entity_id", "lon", "lat"]], on="entity_id", how="left")
    by_district = (
        rep.districts.set_index("code")[["lon", "lat"]]
        if len(rep.districts)
        else pd.DataFrame(columns=["lon", "lat"])
    )
    missing = placed["lon"].isna() & placed["district_code"].notna()
    placed.loc[missing, "lon"] = placed.loc[missing, "district_code"].map(by_district["lon"])
    placed.loc[missing, "lat"] = placed.loc[missing, "district_code"].map(by_district["lat"])
    placed["label"] = [
        f"{rep.level_name(lv)} {title} {as_text(n)}".strip()
        for lv, title, n in zip(placed["level"], placed["rule_title"], placed["name"], strict=True)
    ]
    placed["open"] = placed["open_at_cut_off"].astype(bool)
    rep.map_layers = MapLayers(districts=rep.districts, base=base)
    rep.map_points = placed
    data = placed[["warning_id", "rule_id", "level", "open", "lon", "lat", "district_code", "label"]]
    legend = {
        "open": rep.tr("snapshot.map.open"),
        "closed": rep.tr("snapshot.map.closed"),
        "none": rep.tr("snapshot.no_warnings"),
    }
    fig = figs.build_snapshot_map(
        rep.map_layers,
        placed,
        title=rep.tr("snapshot.fig.map"),
        legend_names=legend,
        level_names=rep.level_names(),
    )
    rep.figures.append(ReportFigure("map", rep.tr("snapshot.fig.map"), fig, data, 1200, 760))
