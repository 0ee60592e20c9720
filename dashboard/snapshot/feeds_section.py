"""The report's feed-health section: each feed's runs, failed runs and outages in the window, and the
warnings the system suppressed while a feed was out."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cityops.base.redact import redact_text
from cityops.base.times import local_text, utc_naive
from dashboard.figures import snapshot as figs
from dashboard.snapshot.report import Report, ReportFigure
from dashboard.snapshot.values import as_text, to_local_naive
from ingest.sources import feed_secrets


def build_feeds(rep: Report) -> None:
    """The feed-health table (``rep.feed_table``, the summary's ``feeds``) and its timeline figure."""
    runs = rep.wh.snapshot_runs(rep.w.start, rep.w.end)
    tr = rep.transitions if rep.transitions is not None else pd.DataFrame()
    open_start = rep.open_start if rep.open_start is not None else pd.DataFrame()
    frame = _find_periods(rep, runs, tr, open_start)
    # Effect: warnings of the feed's domain that the system suppressed during its outage.
    suppressed = tr[(tr["to_state"] == "suppressed") & (tr["actor"] == "system")] if len(tr) else tr
    # A run's error is kept without secrets already; masked again here for records from before that.
    secrets = feed_secrets(rep.settings, getattr(rep.rt, "environ", None) or {})
    table = []
    for name, feed in sorted(rep.settings.feeds.items()):
        own = runs[runs["feed"] == name] if len(runs) else runs
        outages = frame[(frame["feed"] == name) & (frame["kind"] == "outage")]
        hit: set[str] = set()
        for o in outages.to_dict("records"):
            within = (
                suppressed[
                    (suppressed["domain"] == feed.domain)
                    & (suppressed["occurred_at"] >= o["start"] - pd.Timedelta(minutes=15))
                    & (suppressed["occurred_at"] <= o["end"])
                ]
                if len(suppressed)
                else suppressed
            )
            hit |= set(within.get("warning_id", []))
        minutes = (
            float(((outages["end"] - outages["start"]).dt.total_seconds() / 60).sum())
            if len(outages)
            else 0.0
        )
        errors = own[own["error"].notna()]["error"] if len(own) else pd.Series(dtype=object)
        table.append(
            {
                "feed": name,
                "department": feed.department,
                "domain": feed.domain,
                "enabled": bool(feed.enabled),
                "runs": len(own),
                "failed_runs": int(own["status"].isin(["failed", "interrupted"]).sum()) if len(own) else 0,
                "rows_loaded": int((own["rows_inserted"] + own["rows_updated"]).sum()) if len(own) else 0,
                "outages": [
                    f"{local_text(o['start'], rep.tz, '%m-%d %H:%M')}–"
                    f"{local_text(o['end'], rep.tz, '%m-%d %H:%M')}"
                    for o in outages.to_dict("records")
                ],
                "outage_minutes": round(minutes, 1),
                "suppressed_warnings": len(hit),
                "last_error": redact_text(as_text(errors.iloc[-1]), secrets)[:200] if len(errors) else None,
            }
        )
    rep.feed_table = table
    local = frame.assign(
        start=to_local_naive(frame["start"], rep.tz), end=to_local_naive(frame["end"], rep.tz)
    )
    names = sorted(rep.settings.feeds)
    title = rep.tr("snapshot.fig.feeds")
    fig = figs.build_feed_figure(
        local,
        names,
        title=title,
        start=rep.w.local_start.replace(tzinfo=None),
        end=rep.w.local_end.replace(tzinfo=None),
        kind_names={
            "outage": rep.tr("snapshot.feed.outage"),
            "failed_run": rep.tr("snapshot.feed.failed_run"),
        },
        empty_message=rep.tr("snapshot.feeds_ok"),
    )
    rep.figures.append(ReportFigure("feeds", title, fig, local))
    rep.summary["feeds"] = table


def _find_periods(
    rep: Report, runs: pd.DataFrame, tr: pd.DataFrame, open_start: pd.DataFrame
) -> pd.DataFrame:
    """Each feed's outages and failed runs in the window: ``feed, kind, start, end`` (UTC-naive)."""
    end_naive, start_naive = utc_naive(rep.w.end), utc_naive(rep.w.start)
    periods: list[dict[str, Any]] = []
    # Outages: the feed-outage warnings' open intervals (their key is the feed's name).
    stale_tr = tr[tr["kind"] == "feed_stale"] if len(tr) else tr
    stale_start = open_start[open_start["kind"] == "feed_stale"] if len(open_start) else open_start
    for wid in sorted(set(stale_tr.get("warning_id", [])) | set(stale_start.get("warning_id", []))):
        trail = stale_tr[stale_tr["warning_id"] == wid] if len(stale_tr) else stale_tr
        key = (
            trail["key"].iloc[0]
            if len(trail)
            else stale_start[stale_start["warning_id"] == wid]["key"].iloc[0]
        )
        begin = start_naive if wid in set(stale_start.get("warning_id", [])) else None
        for row in trail.to_dict("records"):
            if row["to_state"] == "active" and begin is None:
                begin = row["occurred_at"]
            elif row["to_state"] == "resolved" and begin is not None:
                periods.append({"feed": key, "kind": "outage", "start": begin, "end": row["occurred_at"]})
                begin = None
        if begin is not None:
            periods.append({"feed": key, "kind": "outage", "start": begin, "end": end_naive})
    failed = runs[runs["status"].isin(["failed", "interrupted"])] if len(runs) else runs
    for row in failed.to_dict("records"):
        finish = (
            row["finished_at"]
            if row["finished_at"] is not None and not pd.isna(row["finished_at"])
            else row["started_at"]
        )
        periods.append(
            {
                "feed": row["feed"],
                "kind": "failed_run",
                "start": row["started_at"],
                "end": max(pd.Timestamp(finish), pd.Timestamp(row["started_at"]) + pd.Timedelta(minutes=3)),
            }
        )
    frame = pd.DataFrame(periods, columns=["feed", "kind", "start", "end"])
    frame["start"] = pd.to_datetime(frame["start"]).astype("datetime64[us]")
    frame["end"] = pd.to_datetime(frame["end"]).astype("datetime64[us]")
    return frame.sort_values(["feed", "kind", "start"]).reset_index(drop=True)
