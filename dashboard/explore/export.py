"""The downloadable table: the same rows the explorer's charts draw, and its file name."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.explore.data import ExploreData
from dashboard.explore.view import ExploreState, moment_text

EXPORT_COLUMNS = (
    "chart",
    "domain",
    "metric",
    "unit",
    "entity_id",
    "name",
    "time_local",
    "value",
    "min",
    "max",
    "n",
)
_MEASURES = ("value", "min", "max", "n")


def export_frame(data: ExploreData) -> pd.DataFrame:
    """The rows every chart draws, one table: ``chart`` says which (series, heatmap, compare:<domain>).

    The distribution is drawn from the ``series`` rows. Times are local (the city's timezone)."""
    st = data.state
    shown = {
        "domain": st.domain,
        "metric": st.metric,
        "unit": data.unit,
        "entity_id": st.entity,
        "name": data.label,
    }
    s, h = data.series, data.heatmap
    parts = [
        pd.DataFrame({"chart": "series", **shown, "time": s["time"], **{c: s[c] for c in _MEASURES}}),
        pd.DataFrame(
            {
                "chart": "heatmap",
                **shown,
                "time": pd.to_datetime(h["day"]) + pd.to_timedelta(h["hour"], unit="h"),
                "value": h["value"],
                "min": np.nan,
                "max": np.nan,
                "n": h["n"],
            }
        ),
    ]
    for p in data.compare:
        f = p.frame
        parts.append(
            pd.DataFrame(
                {
                    "chart": f"compare:{p.domain}",
                    "domain": p.domain,
                    "metric": p.metric,
                    "unit": p.unit,
                    "entity_id": f["entity_id"],
                    "name": f["name"],
                    "time": f["time"],
                    **{c: f[c] for c in _MEASURES},
                }
            )
        )
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in EXPORT_COLUMNS})
    out = pd.concat(parts, ignore_index=True).rename(columns={"time": "time_local"})[list(EXPORT_COLUMNS)]
    out["time_local"] = pd.to_datetime(out["time_local"]).astype("datetime64[us]")
    for col in _MEASURES:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("chart", "domain", "metric", "unit", "entity_id", "name"):
        out[col] = out[col].astype("object").where(out[col].notna(), None)
    return out


def export_filename(state: ExploreState, ext: str) -> str:
    """``cityops-explore-<domain>-<metric>-<range>[-<district>][-<entity>].<ext>`` (ASCII only)."""
    rng = f"{_stamp(state.start)}_{_stamp(state.end)}" if state.range == "custom" else state.range
    parts = [
        "cityops-explore",
        state.domain,
        state.metric or "",
        rng,
        state.district or "",
        state.entity or "",
    ]
    return "-".join(p for p in parts if p) + f".{ext}"


def _stamp(value: object) -> str:
    """A range bound in a file name: ``2026-06-14`` or ``2026-06-14T1300`` (no colon)."""
    return moment_text(value).replace(":", "") if value is not None else ""  # type: ignore[arg-type]
