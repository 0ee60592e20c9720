"""Incidents of the sample city: waterlogging, accidents, landslides, fires and fallen trees.

Each district draws, hour by hour, how many incidents of each type are reported: a Poisson-like rate
from the town's character, the hour's travel demand, the district's rain in that hour and over the
last 24 hours (landslides). An incident is dispatched and closed after type-dependent delays, sits
near a road or station of its district, and carries a zh-CN description and the responsible department.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from sample_data.catalogue import Catalogue
from sample_data.districts import DISTRICT_NAMES, MOUNTAIN, URBAN
from sample_data.series.rain import Rainfall
from sample_data.streams import draw_uniform, hash_key
from sample_data.timegrid import LOCAL_UTC_OFFSET_S, STEP_5MIN, STEP_HOUR, compute_demand_profile, to_epoch_s

__all__ = ["INCIDENT_COLUMNS", "INCIDENT_DEPARTMENT", "INCIDENT_TYPE_ZH", "IncidentLog"]

INCIDENT_TYPE_ZH: dict[str, str] = {
    "waterlogging": "内涝",
    "traffic_accident": "交通事故",
    "landslide": "山体滑坡",
    "fire": "火灾",
    "tree_down": "树木倒伏",
}
INCIDENT_DEPARTMENT: dict[str, str] = {
    "waterlogging": "市住房和城乡建设局",
    "traffic_accident": "市公安局交通警察支队",
    "landslide": "市自然资源局",
    "fire": "市消防救援支队",
    "tree_down": "市城市管理和综合执法局",
}
INCIDENT_COLUMNS = [
    "incident_id",
    "type",
    "severity",
    "status",
    "reported_at",
    "dispatched_at",
    "closed_at",
    "lon",
    "lat",
    "district_code",
    "description",
    "department",
]

_TS_TYPES = ("reported_at", "dispatched_at", "closed_at")
_INCIDENT_CODES = {
    "waterlogging": "WL",
    "traffic_accident": "TA",
    "landslide": "LS",
    "fire": "FI",
    "tree_down": "TD",
}
_SLOTS = 8  # max incidents of one type per district per hour
_SEVERITY_P = {  # P(severity = 1, 2, 3, 4)
    "waterlogging": (0.03, 0.15, 0.42, 0.40),
    "traffic_accident": (0.02, 0.08, 0.35, 0.55),
    "landslide": (0.08, 0.22, 0.40, 0.30),
    "fire": (0.04, 0.16, 0.40, 0.40),
    "tree_down": (0.0, 0.05, 0.35, 0.60),
}
_CLOSE_MIN = {  # (min, max) minutes from dispatch to closure
    "waterlogging": (90, 360),
    "traffic_accident": (30, 120),
    "landslide": (240, 1440),
    "fire": (45, 180),
    "tree_down": (60, 240),
}

# Per district, "road" and "any" anchors: (lon, lat, place name) arrays where incidents happen.
_Anchors = dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]


def _find_anchors(catalogue: Catalogue) -> _Anchors:
    """Anchor points per district for placing incidents."""
    anchors: _Anchors = {}
    roads = catalogue.by_kind.get("road_segment", pd.DataFrame())
    stations = pd.concat(
        [catalogue.by_kind.get(k, pd.DataFrame()) for k in ("hydro_station", "rain_gauge", "air_station")],
        ignore_index=True,
    )
    all_ents = pd.concat([roads, stations], ignore_index=True)
    for d in sorted(set(all_ents["district_code"].astype(str))) if len(all_ents) else []:
        out = {}
        for label, frame in (("road", roads), ("any", all_ents)):
            sub = frame[frame["district_code"].astype(str) == d] if len(frame) else frame
            if not len(sub):
                sub = all_ents[all_ents["district_code"].astype(str) == d]
            if "road_name" in sub:
                place = sub["road_name"].where(sub["road_name"].notna(), sub["name"]).astype(str)
            else:
                place = sub["name"].astype(str)
            out[label] = (
                sub["lon"].to_numpy(dtype=np.float64),
                sub["lat"].to_numpy(dtype=np.float64),
                place.to_numpy(dtype=object),
            )
        anchors[d] = out
    return anchors


def _empty_frame() -> pd.DataFrame:
    """No incidents, with the columns and dtypes of a non-empty answer."""
    df = pd.DataFrame({c: pd.Series([], dtype=object) for c in INCIDENT_COLUMNS})
    df["severity"] = df["severity"].astype("int64")
    df["reported_at"] = pd.to_datetime(pd.Series([], dtype="int64"), unit="s", utc=True)
    df["lon"] = df["lon"].astype("float64")
    df["lat"] = df["lat"].astype("float64")
    return df


class IncidentLog:
    """The incidents of every district of the catalogue, driven by ``rainfall``."""

    def __init__(self, catalogue: Catalogue, seed: int, rainfall: Rainfall) -> None:
        self.seed = seed
        self._rainfall = rainfall
        self._anchors = _find_anchors(catalogue)

    def _district_hourly_rain(self, hours: np.ndarray, districts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Mean hourly rain (mm) and trailing 24 h total (mm) per district for hour buckets ``hours``."""
        if len(hours) == 0:
            return np.zeros((len(districts), 0)), np.zeros((len(districts), 0))
        h0, h1 = int(hours[0]) - 24, int(hours[-1])
        t = np.arange(h0 * STEP_HOUR, (h1 + 1) * STEP_HOUR, STEP_5MIN, dtype=np.int64)
        r = self._rainfall.matrix(t)  # gauges × 5-min
        hourly = r.reshape(r.shape[0], -1, 12).sum(axis=2) if r.shape[0] else np.zeros((0, h1 - h0 + 1))
        out = np.zeros((len(districts), hourly.shape[1]))
        city = hourly.mean(axis=0) if hourly.shape[0] else np.zeros(hourly.shape[1])
        for i, d in enumerate(districts):
            mask = self._rainfall.districts == d
            out[i] = hourly[mask].mean(axis=0) if mask.any() else city
        cum = np.cumsum(np.concatenate([np.zeros((len(districts), 1)), out], axis=1), axis=1)
        cum24 = cum[:, 25:] - cum[:, 1:-24]  # the 24 hours ending with each requested hour
        return out[:, 24:], cum24

    def frame(self, start: Any, end: Any, as_of: Any = None) -> pd.DataFrame:
        """Incidents reported in ``[start, end)`` (and by ``as_of``), with their state as of ``as_of``
        (default ``end``)."""
        s, e = to_epoch_s(start), to_epoch_s(end)
        a = e if as_of is None else to_epoch_s(as_of)
        districts = sorted(self._anchors)
        if e <= s or not districts:
            return _empty_frame()
        hours = np.arange(math.floor(s / STEP_HOUR), math.ceil(e / STEP_HOUR), dtype=np.int64)
        rain_h, cum24 = self._district_hourly_rain(hours, districts)
        ht = hours * STEP_HOUR + 1800  # mid-hour
        prof = compute_demand_profile(ht)
        rows: list[dict[str, Any]] = []
        for i, d in enumerate(districts):
            urb = URBAN.get(d, 0.3)
            mnt = MOUNTAIN.get(d, 0.5)
            r = rain_h[i]
            lam = {
                "waterlogging": (1.0 if urb >= 0.6 else 0.25)
                * 1.3
                * np.clip((r - 10.0) / 12.0, 0, None) ** 1.3,
                "traffic_accident": urb * 0.12 * prof * (1.0 + 2.0 * np.minimum(1.0, r / 20.0)),
                "landslide": mnt * 0.15 * np.clip((cum24[i] - 60.0) / 50.0, 0, None) ** 1.5,
                "fire": 0.012 * (0.5 + urb) * np.where(r > 2.0, 0.3, 1.0),
                "tree_down": (0.5 + 0.5 * urb) * 0.8 * np.clip((r - 12.0) / 20.0, 0, None) ** 1.2,
            }
            for typ, lam_t in lam.items():
                p = np.clip(np.asarray(lam_t, dtype=np.float64) / _SLOTS, 0.0, 1.0)
                tkey = np.full(1, hash_key(self.seed, "incidents", d, typ), dtype=np.uint64)
                for slot in range(_SLOTS):
                    u = draw_uniform(tkey, hours, 100 + slot)
                    for j in np.nonzero(u < p)[0]:
                        rows.append(self._make_incident(d, typ, slot, int(hours[j]), float(r[j])))
        rows = [x for x in rows if s <= x["_rep"] < e and x["_rep"] <= a]
        if not rows:
            return _empty_frame()
        for x in rows:
            rep, dis, clo = x.pop("_rep"), x.pop("_dis"), x.pop("_clo")
            x["reported_at"] = rep
            x["dispatched_at"] = dis if dis <= a else None
            x["closed_at"] = clo if clo <= a else None
            x["status"] = "closed" if clo <= a else ("dispatched" if dis <= a else "open")
        df = pd.DataFrame(rows)
        for c in _TS_TYPES:
            sec = pd.to_numeric(df[c], errors="coerce")
            ts = pd.to_datetime(sec, unit="s", utc=True).dt.floor("s")
            df[c] = ts.astype(object).where(sec.notna(), None) if c != "reported_at" else ts
        df["severity"] = df["severity"].astype("int64")
        df = (
            df[INCIDENT_COLUMNS]
            .sort_values(["reported_at", "incident_id"], kind="stable")
            .reset_index(drop=True)
        )
        return df

    def _make_incident(self, d: str, typ: str, slot: int, hour: int, rain_h: float) -> dict[str, Any]:
        """One incident drawn in ``slot`` of ``hour``; ``_rep``/``_dis``/``_clo`` are epoch seconds."""
        key = np.full(1, hash_key(self.seed, "incident", d, typ, slot, hour), dtype=np.uint64)
        u = draw_uniform(key, np.arange(12, dtype=np.int64), 0)
        rep = hour * STEP_HOUR + int(u[0] * 3600)
        probs = np.cumsum(_SEVERITY_P[typ])
        sev = int(np.searchsorted(probs, u[1] * probs[-1], side="right")) + 1
        if rain_h > 30.0 and typ in ("waterlogging", "landslide") and u[2] < 0.35:
            sev = max(1, sev - 1)
        sev = min(sev, 4)
        dis = rep + int((2 + 28 * u[3]) * 60 * (0.5 if sev <= 2 else 1.0))
        lo, hi = _CLOSE_MIN[typ]
        clo = dis + int((lo + (hi - lo) * u[4]) * 60)
        anchors = self._anchors[d]["any" if typ in ("landslide", "fire") else "road"]
        k = int(u[5] * len(anchors[0])) % max(1, len(anchors[0]))
        spread = 0.008 if typ == "landslide" else 0.002
        lon = float(anchors[0][k] + (u[6] - 0.5) * 2 * spread)
        lat = float(anchors[1][k] + (u[7] - 0.5) * 2 * spread)
        place = str(anchors[2][k])
        dname = DISTRICT_NAMES.get(d, d)
        if typ == "waterlogging":
            depth = int(15 + 45 * u[8] + min(rain_h, 60.0) * 0.3)
            desc = f"{dname}{place}附近路段积水约{depth}厘米，部分车辆涉水熄火，需排水抢险"
        elif typ == "traffic_accident":
            cars = 2 + int(u[8] * 3)
            lanes = 1 + int(u[9] * 2)
            desc = f"{dname}{place}发生{cars}车追尾事故，占用{lanes}条车道，现场车流缓行"
        elif typ == "landslide":
            vol = int(20 + 480 * u[8] ** 2)
            impact = "道路中断" if u[9] < 0.5 else "威胁坡下民房，已疏散群众"
            desc = f"{dname}{place}附近发生山体滑坡，塌方量约{vol}立方米，{impact}"
        elif typ == "fire":
            what = ("居民楼", "商铺", "厂房", "杂物堆", "车辆")[int(u[8] * 5) % 5]
            desc = f"{dname}{place}附近{what}起火，现场有浓烟，暂无人员被困报告"
        else:
            lanes = 1 + int(u[8] * 2)
            desc = f"{dname}{place}有树木倒伏阻断{lanes}条车道，需清理"
        local = datetime.fromtimestamp(hour * STEP_HOUR + LOCAL_UTC_OFFSET_S, UTC)
        return {
            "incident_id": f"EV{local:%Y%m%d%H}{d}{_INCIDENT_CODES[typ]}{slot}",
            "type": typ,
            "severity": sev,
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "district_code": d,
            "description": desc,
            "department": INCIDENT_DEPARTMENT[typ],
            "_rep": rep,
            "_dis": dis,
            "_clo": clo,
        }
