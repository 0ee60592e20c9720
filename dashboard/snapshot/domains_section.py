"""The report's per-domain sections: air (the 日报 AQI), water (river peaks against their warning
levels), rain (24 h totals), traffic (the hourly index) and incidents (counts and response times)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cityops.base.domains import AIR
from cityops.base.times import utc_naive
from dashboard.figures import snapshot as figs
from dashboard.i18n import t_or
from dashboard.snapshot.report import Report, ReportFigure
from dashboard.snapshot.values import as_text, round_or_none, to_local_naive
from metrics import traffic as traffic_metrics
from metrics.aqi import daily_report
from metrics.emergency import ALL_TYPES, response_stats, severity_class
from metrics.rain import rain_grade
from metrics.water import flood_signal_level

RAIN_COLORS = {
    0: "#6f8399",
    1: "#9fd3ff",
    2: "#5fb0f0",
    3: "#2f86d9",
    4: "#f2c925",
    5: "#f28c28",
    6: "#d7263d",
}


def _is_empty(
    rep: Report,
    domain: str,
    frame: pd.DataFrame,
    title: str,
    summary: dict[str, Any],
    what: str | None = None,
) -> bool:
    """True if ``frame`` has no rows: then the domain's summary is ``summary`` and, if a feed should
    have delivered, the report says the data is missing (about ``what``, default the title)."""
    if not frame.empty:
        return False
    rep.show_missing_data(domain, title, title if what is None else what)
    rep.summary[domain] = summary
    return True


def build_air(rep: Report) -> None:
    """The daily AQI (日报) of the last complete calendar day, per station."""
    day = rep.w.aqi_day
    zone = ZoneInfo(rep.tz)
    lo = datetime.combine(day, time(0), tzinfo=zone)
    obs = rep.wh.observations(AIR, start=lo - timedelta(hours=1), end=lo + timedelta(days=1, hours=1))
    title = rep.tr("snapshot.fig.air", day=day.isoformat())
    report = daily_report(obs, tz=rep.tz) if len(obs) else pd.DataFrame()
    if len(report):
        report = report[pd.to_datetime(report["date"]).dt.date == day]
    names = rep.entities.set_index("entity_id")["name"] if len(rep.entities) else pd.Series(dtype=object)
    if _is_empty(rep, "air", report, title, {"day": day.isoformat(), "stations": 0}, what=day.isoformat()):
        return
    report = report.assign(name=report["entity_id"].map(names).fillna(report["entity_id"]))
    report["aqi"] = pd.to_numeric(report["aqi"], errors="coerce")
    report["primary_pollutants"] = report["primary_pollutants"].map(
        lambda v: "/".join(v) if isinstance(v, tuple | list) else as_text(v)
    )
    valid = report["aqi"].notna()
    if not valid.any():
        rep.problems.partial.append(
            rep.tr("snapshot.problem.aqi_insufficient", day=day.isoformat(), hours=int(report["hours"].max()))
        )
    data = report[
        [
            "entity_id",
            "name",
            "date",
            "edition",
            "hours",
            "aqi",
            "level",
            "category",
            "primary_pollutants",
            "pm25_24h",
            "pm10_24h",
            "o3_8h_max",
        ]
    ].copy()
    data["level"] = pd.to_numeric(data["level"], errors="coerce")
    fig = figs.build_aqi_figure(data, title=title, axis="AQI")
    rep.figures.append(ReportFigure("air", title, fig, data))
    worst = data.loc[data["aqi"].idxmax()] if valid.any() else None
    rep.summary["air"] = {
        "day": day.isoformat(),
        "edition": str(data["edition"].iloc[0]),
        "stations": len(data),
        "stations_with_aqi": int(valid.sum()),
        "worst": None
        if worst is None
        else {"name": worst["name"], "aqi": int(worst["aqi"]), "category": as_text(worst["category"])},
        "over_100": int((data["aqi"] > 100).sum()),
        "over_200": int((data["aqi"] > 200).sum()),
    }


def build_water(rep: Report) -> None:
    """Each station's peak level in the window against its warning and guaranteed levels."""
    peaks = rep.wh.snapshot_water_peaks(rep.w.start, rep.w.end)
    title = rep.tr("snapshot.fig.water")
    if _is_empty(rep, "water", peaks, title, {"stations": 0}):
        return
    signal = flood_signal_level(
        peaks.rename(columns={"peak_m": "level_m"})[["entity_id", "level_m"]],
        peaks.drop(columns=["peak_m"]),
    )
    peaks["signal"] = pd.to_numeric(signal["signal_level"], errors="coerce").to_numpy()
    peaks["over_warning_m"] = (peaks["peak_m"] - peaks["warning_level_m"]).round(2)
    peaks["over_guaranteed_m"] = (peaks["peak_m"] - peaks["guaranteed_level_m"]).round(2)
    peaks["peak_time"] = to_local_naive(peaks["peak_at"], rep.tz)
    data = peaks[
        [
            "entity_id",
            "name",
            "river",
            "district_code",
            "station_type",
            "peak_m",
            "peak_time",
            "warning_level_m",
            "guaranteed_level_m",
            "historical_level_m",
            "over_warning_m",
            "over_guaranteed_m",
            "signal",
            "readings",
        ]
    ]
    rivers = data[data["warning_level_m"].notna()]
    fig = figs.build_water_figure(
        rivers,
        title=title,
        axis=rep.tr("snapshot.axis.over_warning"),
        level_names=rep.level_names(),
        normal_name=rep.tr("snapshot.below_warning"),
    )
    rep.figures.append(ReportFigure("water", title, fig, data, 1200, max(520, 22 * len(rivers) + 140)))
    over = rivers[rivers["over_warning_m"] >= 0].sort_values(
        ["over_warning_m", "entity_id"], ascending=[False, True]
    )
    rep.summary["water"] = {
        "stations": len(data),
        "over_warning": len(over),
        "over_guaranteed": int((rivers["over_guaranteed_m"] >= 0).sum()),
        "peaks_over_warning": [
            {
                "name": r["name"],
                "river": as_text(r["river"]),
                "peak_m": round_or_none(r["peak_m"], 2),
                "over_warning_m": round_or_none(r["over_warning_m"], 2),
                "at": r["peak_time"].strftime("%m-%d %H:%M"),
            }
            for r in over.to_dict("records")
        ],
    }


def build_rain(rep: Report) -> None:
    """Each gauge's total in the window, graded by the 24 h rain grades; the heaviest first."""
    totals = rep.wh.snapshot_rain_totals(rep.w.start, rep.w.end)
    title = rep.tr("snapshot.fig.rain")
    if _is_empty(rep, "rain", totals, title, {"gauges": 0}):
        return
    totals["total_mm"] = totals["total_mm"].astype("float64").round(1)
    totals["max_1h_mm"] = totals["max_1h_mm"].astype("float64").round(1)
    totals["grade"] = rain_grade(totals["total_mm"], "24h").astype("Int64")
    totals["color"] = totals["grade"].map(
        lambda g: RAIN_COLORS.get(int(g), "#6f8399") if not pd.isna(g) else "#6f8399"
    )
    totals["max_1h_time"] = to_local_naive(totals["max_1h_hour"], rep.tz)
    data = totals.sort_values(["total_mm", "entity_id"], ascending=[False, True]).reset_index(drop=True)
    data = data[
        [
            "entity_id",
            "name",
            "district_code",
            "total_mm",
            "max_1h_mm",
            "max_1h_time",
            "grade",
            "color",
            "readings",
        ]
    ]
    top = data.head(12)
    rep.figures.append(ReportFigure("rain", title, figs.build_rain_figure(top, title=title, axis="mm"), data))
    rep.summary["rain"] = {
        "gauges": len(data),
        "mean_mm": round_or_none(data["total_mm"].mean()),
        "over_50mm": int((data["total_mm"] >= 50).sum()),
        "heaviest": [
            {
                "name": r["name"],
                "district": rep.district(r["district_code"]),
                "total_mm": round_or_none(r["total_mm"]),
                "max_1h_mm": round_or_none(r["max_1h_mm"]),
            }
            for r in top.head(5).to_dict("records")
        ],
    }


def build_traffic(rep: Report) -> None:
    """The traffic index of the city and of each district, hour by hour."""
    hours = rep.wh.snapshot_traffic_hours(rep.w.start, rep.w.end)
    title = rep.tr("snapshot.fig.traffic")
    if _is_empty(rep, "traffic", hours, title, {"hours": 0}):
        return
    rows = []
    city = rep.settings.city.code
    for hour, part in hours.groupby("hour", sort=True):
        state = traffic_metrics.network_state(
            part[["entity_id", "speed_kmh", "volume_vph"]],
            part[["entity_id", "road_class", "length_m", "free_flow_kmh", "district_code"]],
            city_code=city,
        )
        state.insert(0, "hour", hour)
        rows.append(state)
    index = pd.concat(rows, ignore_index=True)
    index["city"] = index["scope"] == "city"
    index["name"] = [
        rep.tr("snapshot.city") if c else rep.district(d)
        for c, d in zip(index["city"], index["district_code"], strict=True)
    ]
    index["time"] = to_local_naive(index["hour"], rep.tz)
    index["index"] = index["index"].astype("float64").round(2)
    data = index[
        [
            "time",
            "scope",
            "district_code",
            "name",
            "city",
            "tti",
            "index",
            "grade",
            "n_segments",
            "congested_share",
        ]
    ].copy()
    data["tti"] = data["tti"].astype("float64").round(3)
    data["congested_share"] = data["congested_share"].astype("float64").round(3)
    rep.figures.append(
        ReportFigure(
            "traffic",
            title,
            figs.build_traffic_figure(data, title=title, axis=rep.tr("snapshot.axis.traffic_index")),
            data,
        )
    )
    peaks = (
        data.dropna(subset=["index"])
        .sort_values(["index", "time"], ascending=[False, True])
        .drop_duplicates("name")
    )
    city_peak = peaks[peaks["city"]]
    rep.summary["traffic"] = {
        "hours": int(data["time"].nunique()),
        "city_peak": None
        if city_peak.empty
        else {
            "index": round_or_none(city_peak["index"].iloc[0]),
            "at": city_peak["time"].iloc[0].strftime("%m-%d %H:%M"),
        },
        "district_peaks": [
            {
                "district": r["name"],
                "index": round_or_none(r["index"]),
                "at": r["time"].strftime("%m-%d %H:%M"),
            }
            for r in peaks[~peaks["city"]].head(5).to_dict("records")
        ],
    }


def build_incidents(rep: Report) -> None:
    """Incidents reported in the window by type and class, and the response times by type."""
    inc = rep.wh.snapshot_incidents(rep.w.start, rep.w.end)
    title = rep.tr("snapshot.fig.incidents")
    runs = rep.wh.snapshot_runs(rep.w.start, rep.w.end)
    feeds = rep.expected("incident")
    delivered = runs[runs["feed"].isin(feeds) & runs["status"].isin(["ok", "partial"])] if len(runs) else runs
    if inc.empty and feeds and delivered.empty:
        rep.missing_data("incident", title)

    def type_label(v: Any) -> str:
        return t_or(f"incident.type.{v}", rep.lang, str(v))

    counts = (
        inc.groupby(["type", "severity"]).size().rename("count").reset_index()
        if len(inc)
        else pd.DataFrame({"type": pd.Series(dtype=object), "severity": [], "count": []})
    )
    counts["severity"] = counts["severity"].astype("int64")
    counts["count"] = counts["count"].astype("int64")
    counts["type_label"] = counts["type"].map(type_label)
    counts["class"] = counts["severity"].map(lambda s: severity_class(s, rep.lang))
    stats = (
        response_stats(inc, utc_naive(rep.w.end), since=utc_naive(rep.w.start))
        if len(inc)
        else pd.DataFrame(
            {
                "type": pd.Series(dtype=object),
                "response_count": [],
                "response_median_min": [],
                "response_p90_min": [],
            }
        )
    )
    response = (
        stats[(stats["type"] != ALL_TYPES) & (stats["response_count"] > 0)].copy() if len(stats) else stats
    )
    response = response.assign(
        type_label=response["type"].map(type_label),
        median_min=response["response_median_min"].astype("float64").round(1),
        p90_min=response["response_p90_min"].astype("float64").round(1),
    )
    data = counts.merge(response[["type", "median_min", "p90_min", "response_count"]], on="type", how="left")
    if inc.empty:
        fig = figs.build_message_figure(rep.tr("snapshot.no_incidents"), title=title)
    else:
        fig = figs.build_incident_figure(
            counts,
            response,
            title=title,
            panel_titles=(rep.tr("snapshot.by_type_class"), rep.tr("snapshot.response_time")),
            class_names={s: severity_class(s, rep.lang) for s in (1, 2, 3, 4)},
            axis=rep.tr("snapshot.axis.minutes"),
        )
    rep.figures.append(ReportFigure("incidents", title, fig, data))
    total = stats[stats["type"] == ALL_TYPES] if len(stats) else stats
    rep.summary["incidents"] = {
        "reported": len(inc),
        "by_type": {str(k): int(v) for k, v in inc.groupby("type").size().items()} if len(inc) else {},
        "by_class": {str(int(k)): int(v) for k, v in inc.groupby("severity").size().items()}
        if len(inc)
        else {},
        "response_median_min": None if total.empty else round_or_none(total["response_median_min"].iloc[0]),
        "response_p90_min": None if total.empty else round_or_none(total["response_p90_min"].iloc[0]),
    }
