"""Derive the demo city's entity catalogue (stations, gauges, road segments) for Qingyuan.

Run from the repository root after ``derive_boundaries.py`` and commit the output:

    .venv/bin/python sample_data/derive_entities.py

Deterministic: a fixed seed drives every random choice, so the output only changes when this
script or ``sample_data/qingyuan/districts.geojson`` changes. All coordinates are WGS-84.

What is real and what is invented: the hydrological stations and reservoirs listed in
``PUBLISHED_HYDRO`` carry names and warning / flood-limit levels quoted from the Qingyuan hydrology
bureau's bulletins (``"source": "published"``; their other levels and their exact positions are
approximate and listed in ``synthetic_fields``). Everything else, every air station, rain gauge and
road segment, is synthetic (``"source": "synthetic"``): plausible names placed plausibly, not a
survey of the real network.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Geod
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

ROOT = Path(__file__).resolve().parent.parent
DISTRICTS_PATH = ROOT / "sample_data" / "qingyuan" / "districts.geojson"
OUTPUT = ROOT / "sample_data" / "qingyuan" / "entities.geojson"
SEED = 441800
GEOD = Geod(ellps="WGS84")

# Inner margin (degrees) kept from district borders so that points stay inside after rounding.
MARGIN = 0.004

#: County seats, WGS-84, approximate (standards.md §6.1).
SEATS: dict[str, tuple[float, float]] = {
    "441802": (113.02, 23.70),
    "441803": (112.98, 23.73),
    "441821": (113.53, 23.88),
    "441823": (112.63, 24.48),
    "441825": (112.08, 24.57),
    "441826": (112.28, 24.72),
    "441881": (113.40, 24.18),
    "441882": (112.38, 24.78),
}
SHORT = {
    "441802": ("清城", "Qingcheng"),
    "441803": ("清新", "Qingxin"),
    "441821": ("佛冈", "Fogang"),
    "441823": ("阳山", "Yangshan"),
    "441825": ("连山", "Lianshan"),
    "441826": ("连南", "Liannan"),
    "441881": ("英德", "Yingde"),
    "441882": ("连州", "Lianzhou"),
}
#: Towns and sub-districts per district (names only; used as station labels).
TOWNS: dict[str, list[tuple[str, str]]] = {
    "441802": [
        ("凤城", "Fengcheng"),
        ("东城", "Dongcheng"),
        ("洲心", "Zhouxin"),
        ("横荷", "Henghe"),
        ("新城", "Xincheng"),
        ("源潭", "Yuantan"),
        ("龙塘", "Longtang"),
        ("石角", "Shijiao"),
        ("飞来峡", "Feilaixia"),
        ("银盏", "Yinzhan"),
    ],
    "441803": [
        ("太和", "Taihe"),
        ("山塘", "Shantang"),
        ("三坑", "Sankeng"),
        ("龙颈", "Longjing"),
        ("禾云", "Heyun"),
        ("太平", "Taiping"),
        ("浸潭", "Jintan"),
        ("石潭", "Shitan"),
    ],
    "441821": [
        ("石角", "Shijiao"),
        ("汤塘", "Tangtang"),
        ("迳头", "Jingtou"),
        ("水头", "Shuitou"),
        ("龙山", "Longshan"),
        ("高岗", "Gaogang"),
    ],
    "441823": [
        ("阳城", "Yangcheng"),
        ("七拱", "Qigong"),
        ("黎埠", "Libu"),
        ("青莲", "Qinglian"),
        ("杜步", "Dubu"),
        ("小江", "Xiaojiang"),
        ("岭背", "Lingbei"),
        ("黄坌", "Huangben"),
        ("江英", "Jiangying"),
        ("秤架", "Chengjia"),
    ],
    "441825": [
        ("吉田", "Jitian"),
        ("太保", "Taibao"),
        ("永和", "Yonghe"),
        ("福堂", "Futang"),
        ("小三江", "Xiaosanjiang"),
        ("上帅", "Shangshuai"),
    ],
    "441826": [
        ("三江", "Sanjiang"),
        ("寨岗", "Zhaigang"),
        ("大麦山", "Damaishan"),
        ("香坪", "Xiangping"),
        ("三排", "Sanpai"),
        ("涡水", "Woshui"),
    ],
    "441881": [
        ("英城", "Yingcheng"),
        ("大站", "Dazhan"),
        ("望埠", "Wangbu"),
        ("横石塘", "Hengshitang"),
        ("青塘", "Qingtang"),
        ("桥头", "Qiaotou"),
        ("浛洸", "Hanguang"),
        ("西牛", "Xiniu"),
        ("大湾", "Dawan"),
        ("连江口", "Lianjiangkou"),
        ("黄花", "Huanghua"),
        ("九龙", "Jiulong"),
        ("石灰铺", "Shihuipu"),
        ("沙口", "Shakou"),
        ("白沙", "Baisha"),
        ("东华", "Donghua"),
    ],
    "441882": [
        ("连州", "Lianzhou"),
        ("星子", "Xingzi"),
        ("大路边", "Dalubian"),
        ("龙坪", "Longping"),
        ("西岸", "Xi'an"),
        ("保安", "Bao'an"),
        ("丰阳", "Fengyang"),
        ("东陂", "Dongbei"),
        ("九陂", "Jiubei"),
    ],
}

RIVER_EN = {
    "北江": "Bei River",
    "连江": "Lian River",
    "滃江": "Weng River",
    "滨江": "Bin River",
    "潖江": "Pa River",
    "大燕河": "Dayan River",
    "七拱河": "Qigong River",
    "水边河": "Shuibian River",
    "东陂河": "Dongbei River",
    "三江河": "Sanjiang River",
    "吉田河": "Jitian River",
}


# ----------------------------------------------------------------------------------------------
# Hydrology
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hydro:
    entity_id: str
    name: str
    name_en: str
    district: str
    lon: float
    lat: float
    river: str
    basin: str
    station_type: str  # "river" | "reservoir"
    warning: float | None = None  # published warning level, if any
    flood_limit: float | None = None  # published 汛限水位, if any
    synthetic_fields: tuple[str, ...] = ()  # published stations: which fields are not published


# Published names and levels (standards.md §6.3); positions are approximate.
PUBLISHED_HYDRO: tuple[Hydro, ...] = (
    Hydro("HYD-BJ-SHIJIAO", "石角", "Shijiao", "441802", 113.08, 23.56, "北江", "北江干流", "river", 11.00),
    Hydro(
        "HYD-BJ-QINGYUAN",
        "清远(三)",
        "Qingyuan (III)",
        "441802",
        113.03,
        23.68,
        "北江",
        "北江干流",
        "river",
        12.00,
    ),
    Hydro(
        "HYD-BJ-FEILAIXIA", "飞来峡", "Feilaixia", "441802", 113.22, 23.80, "北江", "北江干流", "river", 18.00
    ),
    Hydro(
        "HYD-BJ-YINGDE", "英德(五)", "Yingde (V)", "441881", 113.40, 24.18, "北江", "北江干流", "river", 26.00
    ),
    Hydro(
        "HYD-LJ-GAODAO",
        "高道(昂坝)",
        "Gaodao (Angba)",
        "441881",
        113.07,
        24.23,
        "连江",
        "连江",
        "river",
        31.5,
    ),
    Hydro("HYD-SB-SHABA", "沙坝", "Shaba", "441881", 113.03, 24.28, "水边河", "水边河", "river", 42.40),
    # The bulletin gives no river for 大湾; 连江 is an assumption.
    Hydro(
        "HYD-LJ-DAWAN",
        "大湾",
        "Dawan",
        "441881",
        112.97,
        24.35,
        "连江",
        "连江",
        "river",
        42.00,
        synthetic_fields=("river", "basin"),
    ),
    Hydro(
        "HYD-QG-LONGTOUGANG",
        "龙头岗",
        "Longtougang",
        "441823",
        112.78,
        24.55,
        "七拱河",
        "连江",
        "river",
        96.3,
    ),
    Hydro(
        "HYD-PJ-JIANGKOUXU", "江口圩", "Jiangkouxu", "441802", 113.26, 23.76, "潖江", "潖江", "river", 16.50
    ),
    Hydro("HYD-DY-CHANGBU", "长怖", "Changbu", "441802", 113.30, 23.70, "大燕河", "大燕河", "river", 16.00),
    Hydro("HYD-DY-YUANTAN", "源潭", "Yuantan", "441802", 113.23, 23.66, "大燕河", "大燕河", "river", 15.00),
    Hydro("HYD-DY-LONGLI", "龙沥", "Longli", "441802", 113.15, 23.60, "大燕河", "大燕河", "river", 13.00),
    Hydro(
        "HYD-RES-LANDIAN",
        "兰靛水库",
        "Landian Reservoir",
        "441882",
        112.28,
        24.98,
        "连江",
        "连江",
        "reservoir",
        flood_limit=305.00,
        synthetic_fields=("river", "basin"),
    ),
    Hydro(
        "HYD-RES-LONGXUDAI",
        "龙须带水库",
        "Longxudai Reservoir",
        "441803",
        112.80,
        24.10,
        "滨江",
        "滨江",
        "reservoir",
        flood_limit=267.00,
        synthetic_fields=("river", "basin"),
    ),
    Hydro(
        "HYD-RES-DAQIN",
        "大秦水库",
        "Daqin Reservoir",
        "441803",
        112.90,
        23.78,
        "滨江",
        "滨江",
        "reservoir",
        flood_limit=65.00,
        synthetic_fields=("river", "basin"),
    ),
)

# Invented stations: (id, name, name_en, district, lon, lat, river, basin, type, warning or flood limit).
SYNTHETIC_HYDRO: tuple[tuple[str, str, str, str, float, float, str, str, str, float], ...] = (
    ("HYD-LJ-LIANZHOU", "连州", "Lianzhou", "441882", 112.39, 24.77, "连江", "连江", "river", 88.0),
    ("HYD-DB-DONGBEI", "东陂", "Dongbei", "441882", 112.29, 24.97, "东陂河", "连江", "river", 142.0),
    ("HYD-LJ-XIJIANG", "西江", "Xijiang", "441882", 112.47, 24.70, "连江", "连江", "river", 79.5),
    ("HYD-LJ-YANGSHAN", "阳山", "Yangshan", "441823", 112.64, 24.47, "连江", "连江", "river", 64.0),
    ("HYD-LJ-QINGLIAN", "青莲", "Qinglian", "441823", 112.83, 24.42, "连江", "连江", "river", 55.5),
    ("HYD-LJ-LIBU", "黎埠", "Libu", "441823", 112.50, 24.60, "连江", "连江", "river", 72.0),
    ("HYD-LJ-HANGUANG", "浛洸", "Hanguang", "441881", 113.02, 24.24, "连江", "连江", "river", 36.0),
    ("HYD-WJ-HENGSHITANG", "横石塘", "Hengshitang", "441881", 113.58, 24.30, "滃江", "滃江", "river", 38.5),
    ("HYD-WJ-QINGTANG", "青塘", "Qingtang", "441881", 113.68, 24.42, "滃江", "滃江", "river", 52.0),
    ("HYD-BJ-DAZHAN", "大站", "Dazhan", "441881", 113.30, 23.97, "北江", "北江干流", "river", 22.5),
    ("HYD-BIN-SHITAN", "石潭", "Shitan", "441803", 112.88, 24.00, "滨江", "滨江", "river", 34.0),
    ("HYD-BIN-SANKENG", "三坑", "Sankeng", "441803", 112.93, 23.84, "滨江", "滨江", "river", 21.0),
    ("HYD-BIN-TAIHE", "太和", "Taihe", "441803", 112.99, 23.74, "滨江", "滨江", "river", 14.5),
    ("HYD-PJ-FOGANG", "佛冈", "Fogang", "441821", 113.53, 23.87, "潖江", "潖江", "river", 72.0),
    ("HYD-PJ-TANGTANG", "汤塘", "Tangtang", "441821", 113.40, 23.78, "潖江", "潖江", "river", 33.0),
    ("HYD-PJ-SHUITOU", "水头", "Shuitou", "441821", 113.62, 24.00, "潖江", "潖江", "river", 95.0),
    ("HYD-SJ-SANJIANG", "三江", "Sanjiang", "441826", 112.29, 24.71, "三江河", "连江", "river", 118.0),
    ("HYD-JT-JITIAN", "吉田", "Jitian", "441825", 112.09, 24.57, "吉田河", "连江", "river", 232.0),
    (
        "HYD-RES-XIAOJIANG",
        "小江水库",
        "Xiaojiang Reservoir",
        "441823",
        112.72,
        24.68,
        "连江",
        "连江",
        "reservoir",
        182.0,
    ),
)


# ----------------------------------------------------------------------------------------------
# Roads
# ----------------------------------------------------------------------------------------------
#: Expressways: (name, name_en, polyline vertices lon/lat, approximate alignment).
EXPRESSWAYS: tuple[tuple[str, str, list[tuple[float, float]]], ...] = (
    ("广清高速", "Guangzhou-Qingyuan Expressway", [(113.16, 23.46), (113.08, 23.58), (113.04, 23.66)]),
    (
        "二广高速",
        "Erlianhot-Guangzhou Expressway",
        [
            (113.04, 23.66),
            (112.96, 23.82),
            (112.82, 24.06),
            (112.66, 24.38),
            (112.50, 24.62),
            (112.40, 24.85),
            (112.36, 25.10),
        ],
    ),
    (
        "广乐高速",
        "Guangzhou-Lechang Expressway",
        [(113.28, 23.55), (113.32, 23.78), (113.38, 24.02), (113.42, 24.26), (113.44, 24.50)],
    ),
    (
        "京港澳高速",
        "Beijing-Hong Kong-Macao Expressway",
        [(113.47, 23.69), (113.52, 23.88), (113.60, 24.05), (113.66, 24.30), (113.72, 24.50)],
    ),
    (
        "汕湛高速",
        "Shantou-Zhanjiang Expressway",
        [
            (113.75, 23.76),
            (113.50, 23.74),
            (113.25, 23.72),
            (113.05, 23.76),
            (112.80, 23.78),
            (112.62, 23.80),
        ],
    ),
)

#: Street names by district and class: (zh, en).
URBAN_STREETS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "441802": {
        "arterial": [
            ("北江一路", "Beijiang 1st Road"),
            ("北江二路", "Beijiang 2nd Road"),
            ("人民一路", "Renmin 1st Road"),
            ("人民二路", "Renmin 2nd Road"),
            ("人民三路", "Renmin 3rd Road"),
            ("先锋东路", "Xianfeng East Road"),
            ("先锋西路", "Xianfeng West Road"),
            ("清远大道", "Qingyuan Avenue"),
            ("广清大道", "Guangqing Avenue"),
            ("连江路", "Lianjiang Road"),
            ("凤城大道", "Fengcheng Avenue"),
            ("东城大道", "Dongcheng Avenue"),
            ("洲心大道", "Zhouxin Avenue"),
            ("龙塘大道", "Longtang Avenue"),
        ],
        "secondary": [
            ("桥北路", "Qiaobei Road"),
            ("松岗路", "Songgang Road"),
            ("静福路", "Jingfu Road"),
            ("锦霞路", "Jinxia Road"),
            ("学府路", "Xuefu Road"),
            ("新城东路", "Xincheng East Road"),
            ("新城西路", "Xincheng West Road"),
            ("茶园路", "Chayuan Road"),
            ("银泉路", "Yinquan Road"),
            ("建设路", "Jianshe Road"),
            ("沿江路", "Yanjiang Road"),
            ("横荷路", "Henghe Road"),
            ("城南路", "Chengnan Road"),
            ("五一路", "Wuyi Road"),
            ("华园路", "Huayuan Road"),
            ("明霞路", "Mingxia Road"),
        ],
        "branch": [
            ("仁和街", "Renhe Street"),
            ("上廓街", "Shangkuo Street"),
            ("下廓街", "Xiakuo Street"),
            ("和平巷", "Heping Lane"),
            ("文化巷", "Wenhua Lane"),
            ("学宫街", "Xuegong Street"),
            ("永安街", "Yong'an Street"),
            ("民乐街", "Minle Street"),
            ("桃园巷", "Taoyuan Lane"),
            ("东兴巷", "Dongxing Lane"),
            ("百福巷", "Baifu Lane"),
            ("顺景巷", "Shunjing Lane"),
        ],
    },
    "441803": {
        "arterial": [
            ("清新大道", "Qingxin Avenue"),
            ("太和大道", "Taihe Avenue"),
            ("玄真路", "Xuanzhen Road"),
            ("飞水大道", "Feishui Avenue"),
            ("笔架路", "Bijia Road"),
        ],
        "secondary": [
            ("禾云路", "Heyun Road"),
            ("新城路", "Xincheng Road"),
            ("沙河路", "Shahe Road"),
            ("环城路", "Huancheng Road"),
            ("太平路", "Taiping Road"),
            ("龙颈路", "Longjing Road"),
            ("东街", "East Street"),
        ],
        "branch": [
            ("和平街", "Heping Street"),
            ("南街", "South Street"),
            ("北街", "North Street"),
            ("中和巷", "Zhonghe Lane"),
            ("文昌巷", "Wenchang Lane"),
        ],
    },
}
COUNTY_STREETS: dict[str, list[tuple[str, str]]] = {
    "arterial": [
        ("{c}大道", "{e} Avenue"),
        ("迎宾大道", "Yingbin Avenue"),
        ("人民路", "Renmin Road"),
        ("城东大道", "Chengdong Avenue"),
    ],
    "secondary": [
        ("城南路", "Chengnan Road"),
        ("城北路", "Chengbei Road"),
        ("建设路", "Jianshe Road"),
        ("解放路", "Jiefang Road"),
        ("环城路", "Huancheng Road"),
        ("沿河路", "Yanhe Road"),
    ],
    "branch": [
        ("文化街", "Wenhua Street"),
        ("兴隆街", "Xinglong Street"),
        ("新华街", "Xinhua Street"),
        ("中山街", "Zhongshan Street"),
        ("和平巷", "Heping Lane"),
    ],
}
#: Urban boxes (lon0, lon1, lat0, lat1) where city streets are laid out.
URBAN_BOX = {"441802": (113.00, 113.10, 23.65, 23.75), "441803": (112.93, 113.02, 23.70, 23.78)}
#: Road segments per (district, class); expressways are cut from EXPRESSWAYS separately.
ROAD_PLAN: dict[str, dict[str, int]] = {
    "441802": {"arterial": 35, "secondary": 40, "branch": 30},
    "441803": {"arterial": 19, "secondary": 20, "branch": 12},
    "441821": {"arterial": 6, "secondary": 7, "branch": 5},
    "441823": {"arterial": 5, "secondary": 6, "branch": 4},
    "441825": {"arterial": 4, "secondary": 4, "branch": 4},
    "441826": {"arterial": 4, "secondary": 4, "branch": 4},
    "441881": {"arterial": 10, "secondary": 11, "branch": 6},
    "441882": {"arterial": 7, "secondary": 8, "branch": 5},
}
N_EXPRESSWAY = 40
SEG_LENGTH_M = {
    "expressway": (3000, 8000),
    "arterial": (600, 3000),
    "secondary": (400, 2000),
    "branch": (300, 1000),
}
FREE_FLOW = {"expressway": (90, 110), "arterial": (50, 60), "secondary": (40, 50), "branch": (30, 40)}
LANES = {"expressway": (4, 6, 8), "arterial": (4, 6), "secondary": (2, 4), "branch": (1, 2)}

#: Air stations per district (weighted by population).
AIR_PLAN = {
    "441802": 10,
    "441803": 6,
    "441881": 8,
    "441882": 4,
    "441823": 3,
    "441821": 3,
    "441826": 3,
    "441825": 3,
}
#: Rain gauges per district (not counting gauges co-located with hydrological stations).
RAIN_PLAN = {
    "441802": 4,
    "441803": 4,
    "441821": 3,
    "441823": 4,
    "441825": 3,
    "441826": 3,
    "441881": 5,
    "441882": 4,
}
#: Hydrological stations that also carry a rain gauge.
COLOCATED = (
    "HYD-BJ-SHIJIAO",
    "HYD-BJ-FEILAIXIA",
    "HYD-BJ-YINGDE",
    "HYD-LJ-GAODAO",
    "HYD-QG-LONGTOUGANG",
    "HYD-PJ-JIANGKOUXU",
    "HYD-DY-YUANTAN",
    "HYD-RES-LANDIAN",
    "HYD-RES-LONGXUDAI",
    "HYD-PJ-FOGANG",
    "HYD-LJ-YANGSHAN",
    "HYD-SJ-SANJIANG",
)


# ----------------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------------
def load_districts(path: Path = DISTRICTS_PATH) -> dict[str, BaseGeometry]:
    with path.open(encoding="utf-8") as fh:
        fc = json.load(fh)
    return {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"]}


def round_pt(lon: float, lat: float) -> tuple[float, float]:
    return round(float(lon), 5), round(float(lat), 5)


def place_inside(lon: float, lat: float, inner: BaseGeometry) -> tuple[float, float, float]:
    """Return the point, or the nearest point of ``inner`` when outside; plus the shift in metres."""
    p = Point(lon, lat)
    if inner.contains(p):
        return lon, lat, 0.0
    q = nearest_points(inner, p)[0]
    q = Point(q.x + (q.x - lon) * 0.05, q.y + (q.y - lat) * 0.05)  # nudge off the edge
    _, _, dist = GEOD.inv(lon, lat, q.x, q.y)
    return q.x, q.y, float(dist)


def random_point(
    rng: np.random.Generator,
    poly: BaseGeometry,
    box: tuple[float, float, float, float] | None = None,
    avoid: list[tuple[float, float]] | None = None,
    min_sep: float = 0.0,
) -> tuple[float, float]:
    """A random point inside ``poly`` (and ``box``), preferring points far from ``avoid``."""
    minx, miny, maxx, maxy = poly.bounds
    if box is not None:
        minx, maxx, miny, maxy = max(minx, box[0]), min(maxx, box[1]), max(miny, box[2]), min(maxy, box[3])
    best: tuple[float, float] | None = None
    best_d = -1.0
    for _ in range(400):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not poly.contains(Point(x, y)):
            continue
        d = min((math.hypot(x - a, y - b) for a, b in avoid), default=1e9) if avoid else 1e9
        if d >= min_sep:
            return x, y
        if d > best_d:
            best, best_d = (x, y), d
    if best is None:
        raise RuntimeError("could not sample a point inside the district")
    return best


def geodesic_length(coords: list[tuple[float, float]]) -> float:
    lons = [c[0] for c in coords]
    lats = [c[1] for c in coords]
    return float(GEOD.line_length(lons, lats))


def make_line(
    rng: np.random.Generator,
    start: tuple[float, float],
    bearing_deg: float,
    length_m: float,
    n_vertices: int,
    wiggle_deg: float,
) -> list[tuple[float, float]]:
    pts = [start]
    step = length_m / (n_vertices - 1)
    az = bearing_deg
    for _ in range(n_vertices - 1):
        az = az + rng.uniform(-wiggle_deg, wiggle_deg)
        lon, lat, _ = GEOD.fwd(pts[-1][0], pts[-1][1], az, step)
        pts.append((lon, lat))
    return [round_pt(*p) for p in pts]


def point_feature(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(round_pt(lon, lat))},
        "properties": props,
    }


# ----------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------
def r2(x: float) -> float:
    return round(float(x) + 0.0, 2)


def build_hydro(
    rng: np.random.Generator, inner: dict[str, BaseGeometry], log: list[str]
) -> list[dict[str, Any]]:
    stations: list[Hydro] = list(PUBLISHED_HYDRO)
    for sid, name, name_en, dist, lon, lat, river, basin, stype, level in SYNTHETIC_HYDRO:
        if stype == "reservoir":
            stations.append(Hydro(sid, name, name_en, dist, lon, lat, river, basin, stype, flood_limit=level))
        else:
            stations.append(Hydro(sid, name, name_en, dist, lon, lat, river, basin, stype, warning=level))
    published_ids = {h.entity_id for h in PUBLISHED_HYDRO}
    features = []
    for h in stations:
        lon, lat, moved = place_inside(h.lon, h.lat, inner[h.district])
        if moved > 0:
            log.append(f"{h.entity_id}: moved {moved:.0f} m to lie inside {h.district}")
        invented: list[str] = ["location"]
        if h.station_type == "reservoir":
            assert h.flood_limit is not None
            flood_limit = h.flood_limit
            warning = flood_limit + rng.uniform(1.5, 3.0)
            invented.append("warning_level_m")
            normal = flood_limit - rng.uniform(0.5, 2.0)
        else:
            assert h.warning is not None
            flood_limit = None
            warning = h.warning
            normal = warning - rng.uniform(2.0, 4.0)
        guaranteed = warning + rng.uniform(1.0, 3.0)
        historical = guaranteed + rng.uniform(0.5, 2.0)
        invented += ["guaranteed_level_m", "historical_level_m", "normal_level_m"]
        published = h.entity_id in published_ids
        props: dict[str, Any] = {
            "entity_id": h.entity_id,
            "kind": "hydro_station",
            "name": h.name,
            "name_en": f"{h.name_en} station" if h.station_type == "river" else h.name_en,
            "district_code": h.district,
            "river": h.river,
            "river_en": RIVER_EN[h.river],
            "basin": h.basin,
            "station_type": h.station_type,
            "warning_level_m": r2(warning),
            "guaranteed_level_m": r2(guaranteed),
            "historical_level_m": r2(historical),
            "normal_level_m": r2(normal),
        }
        if flood_limit is not None:
            props["flood_limit_level_m"] = r2(flood_limit)
        props["source"] = "published" if published else "synthetic"
        if published:
            props["synthetic_fields"] = sorted(set(invented) | set(h.synthetic_fields))
        features.append(point_feature(lon, lat, props))
    return features


def build_air(rng: np.random.Generator, inner: dict[str, BaseGeometry]) -> list[dict[str, Any]]:
    features = []
    # The first stations of each district sit in its urban area / county seat and carry the
    # town-level names of those places; the rest are spread over the district.
    urban_count = {"441802": 5, "441803": 1}
    national_left = {"441802": 3, "441803": 1}
    for code, n in AIR_PLAN.items():
        short, short_en = SHORT[code]
        towns = TOWNS[code]
        taken: list[tuple[float, float]] = []
        for i in range(n):
            if i < urban_count.get(code, 0):
                lon, lat = random_point(rng, inner[code], URBAN_BOX[code], taken, 0.012)
            elif i == 0:
                sx, sy = SEATS[code]
                box = (sx - 0.02, sx + 0.02, sy - 0.02, sy + 0.02)
                lon, lat = random_point(rng, inner[code], box, taken, 0.012)
            else:
                lon, lat = random_point(rng, inner[code], None, taken, 0.12)
            taken.append((lon, lat))
            if national_left.get(code, 0) > 0:
                national_left[code] -= 1
                stype = "national"
            elif i == 0 or (code == "441881" and i == 1):
                stype = "provincial"
            else:
                stype = "county"
            town, town_en = towns[i % len(towns)]
            props = {
                "entity_id": f"AIR-{code}-{i + 1:02d}",
                "kind": "air_station",
                "name": f"{short}{town}空气质量监测站",
                "name_en": f"{short_en} {town_en} air quality station",
                "district_code": code,
                "station_type": stype,
                "source": "synthetic",
            }
            features.append(point_feature(lon, lat, props))
    return features


def build_rain(
    rng: np.random.Generator, inner: dict[str, BaseGeometry], hydro: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    features = []
    counters: dict[str, int] = {}
    by_id = {f["properties"]["entity_id"]: f for f in hydro}
    for hid in COLOCATED:
        h = by_id[hid]
        code = h["properties"]["district_code"]
        counters[code] = counters.get(code, 0) + 1
        lon, lat = h["geometry"]["coordinates"]
        props = {
            "entity_id": f"RAIN-{code}-{counters[code]:02d}",
            "kind": "rain_gauge",
            "name": f"{h['properties']['name']}雨量站",
            "name_en": f"{h['properties']['name_en'].removesuffix(' station')} rain gauge",
            "district_code": code,
            "colocated_with": hid,
            "source": "synthetic",
        }
        features.append(point_feature(lon, lat, props))
    for code, n in RAIN_PLAN.items():
        short, short_en = SHORT[code]
        towns = TOWNS[code]
        taken = [
            tuple(f["geometry"]["coordinates"]) for f in features if f["properties"]["district_code"] == code
        ]
        used = {f["properties"]["name"].removesuffix("雨量站") for f in features}
        for _j in range(n):
            lon, lat = random_point(rng, inner[code], None, taken, 0.10)
            taken.append((lon, lat))
            counters[code] = counters.get(code, 0) + 1
            town, town_en = next(t for t in towns[1:] + towns[:1] if t[0] not in used)
            used.add(town)
            props = {
                "entity_id": f"RAIN-{code}-{counters[code]:02d}",
                "kind": "rain_gauge",
                "name": f"{short}{town}雨量站",
                "name_en": f"{short_en} {town_en} rain gauge",
                "district_code": code,
                "source": "synthetic",
            }
            features.append(point_feature(lon, lat, props))
    return features


def road_props(
    rng: np.random.Generator,
    seg_id: str,
    code: str,
    road_class: str,
    name: str,
    name_en: str,
    coords: list[tuple[float, float]],
) -> dict[str, Any]:
    lo, hi = FREE_FLOW[road_class]
    return {
        "entity_id": seg_id,
        "kind": "road_segment",
        "name": name,
        "name_en": name_en,
        "district_code": code,
        "road_name": name,
        "road_class": road_class,
        "length_m": round(geodesic_length(coords), 1),
        "free_flow_kmh": int(rng.integers(lo, hi + 1) // 5 * 5)
        if road_class == "expressway"
        else int(rng.integers(lo, hi + 1)),
        "lanes": int(rng.choice(LANES[road_class])),
        "source": "synthetic",
    }


def district_of(pt: Point, polys: dict[str, BaseGeometry]) -> str | None:
    for code, poly in polys.items():
        if poly.contains(pt):
            return code
    return None


def build_roads(rng: np.random.Generator, inner: dict[str, BaseGeometry]) -> list[dict[str, Any]]:
    segments: list[tuple[str, str, str, str, list[tuple[float, float]]]] = []  # code, class, name, en, coords

    # Expressways: cut each alignment into pieces, as many per expressway as its share of length.
    lines = [(name, en, LineString(pts)) for name, en, pts in EXPRESSWAYS]
    total = sum(line.length for _, _, line in lines)
    for name, en, line in lines:
        n = max(1, round(N_EXPRESSWAY * line.length / total))
        # Stratified along the alignment so the pieces spread over its whole length.
        slots = np.arange(n * 3)
        positions = (slots + rng.uniform(0.1, 0.9, size=slots.size)) * line.length / slots.size
        order = np.concatenate([positions[0::3], positions[1::3], positions[2::3]])
        made = 0
        for pos in order:
            if made >= n:
                break
            length_m = rng.uniform(*SEG_LENGTH_M["expressway"])
            start = line.interpolate(pos)
            ahead = line.interpolate(min(line.length, pos + 0.01))
            az, _, _ = GEOD.inv(start.x, start.y, ahead.x, ahead.y)
            coords = make_line(rng, (start.x, start.y), az, length_m, int(rng.integers(2, 5)), 6)
            mid = LineString(coords).interpolate(0.5, normalized=True)
            code = district_of(mid, inner)
            if code is None:
                continue
            if any(LineString(coords).distance(LineString(s[4])) < 1e-3 for s in segments if s[2] == name):
                continue
            segments.append((code, "expressway", name, en, coords))
            made += 1
    segments = segments[:N_EXPRESSWAY]
    while len(segments) < N_EXPRESSWAY:  # top up on the longest alignment
        name, en, line = lines[1]
        pos = rng.uniform(0, line.length)
        start = line.interpolate(pos)
        ahead = line.interpolate(min(line.length, pos + 0.01))
        az, _, _ = GEOD.inv(start.x, start.y, ahead.x, ahead.y)
        coords = make_line(rng, (start.x, start.y), az, rng.uniform(3000, 8000), 3, 6)
        code = district_of(LineString(coords).interpolate(0.5, normalized=True), inner)
        if code is not None:
            segments.append((code, "expressway", name, en, coords))

    # City and county-town streets.
    for code, plan in ROAD_PLAN.items():
        short, short_en = SHORT[code]
        for road_class, n in plan.items():
            if code in URBAN_STREETS:
                names = URBAN_STREETS[code][road_class]
                box = URBAN_BOX[code]
            else:
                names = [(zh.format(c=short), e.format(e=short_en)) for zh, e in COUNTY_STREETS[road_class]]
                sx, sy = SEATS[code]
                box = (sx - 0.035, sx + 0.035, sy - 0.03, sy + 0.03)
            grid = rng.uniform(-20, 20)  # each district's street grid has its own orientation
            made = 0
            while made < n:
                name, en = names[made % len(names)]
                start = random_point(rng, inner[code], box)
                bearing = grid + 90 * int(rng.integers(0, 4)) + rng.uniform(-8, 8)
                length_m = rng.uniform(*SEG_LENGTH_M[road_class])
                coords = make_line(rng, start, bearing, length_m, int(rng.integers(2, 5)), 12)
                mid = LineString(coords).interpolate(0.5, normalized=True)
                if not inner[code].contains(mid):
                    continue
                segments.append((code, road_class, name, en, coords))
                made += 1

    features = []
    counters: dict[str, int] = {}
    for code, road_class, name, en, coords in segments:
        counters[code] = counters.get(code, 0) + 1
        seg_id = f"SEG-{code}-{counters[code]:04d}"
        props = road_props(rng, seg_id, code, road_class, name, en, coords)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
                "properties": props,
            }
        )
    return features


def build(districts_path: Path = DISTRICTS_PATH) -> tuple[dict[str, Any], list[str]]:
    rng = np.random.default_rng(SEED)
    polys = load_districts(districts_path)
    inner = {code: poly.buffer(-MARGIN) for code, poly in polys.items()}
    log: list[str] = []
    hydro = build_hydro(rng, inner, log)
    air = build_air(rng, inner)
    rain = build_rain(rng, inner, hydro)
    roads = build_roads(rng, inner)
    features = air + hydro + rain + roads
    for f in features:  # final check against the real (not shrunk) outlines
        g = shape(f["geometry"])
        pt = g if g.geom_type == "Point" else g.interpolate(0.5, normalized=True)
        if not polys[f["properties"]["district_code"]].contains(pt):
            raise RuntimeError(f"{f['properties']['entity_id']} is outside its district")
    collection = {
        "type": "FeatureCollection",
        "crs_note": "WGS-84",
        "source_note": (
            "Hydrological stations with source=published carry names and warning/flood-limit levels "
            "quoted from the Qingyuan hydrology bureau; their positions and other levels are approximate "
            "(see synthetic_fields). Everything with source=synthetic is invented for the demo."
        ),
        "features": features,
    }
    return collection, log


def main() -> int:
    collection, log = build()
    OUTPUT.write_text(
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    kinds: dict[str, int] = {}
    for f in collection["features"]:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.1f} KB): {kinds}")
    for line in log:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
