"""The demo departmental feed server, over real loopback HTTP: formats, windows, pagination, auth, faults."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pandas as pd
import pytest

from cityops.base.clock import FixedClock
from sample_data.demo_server import DemoFeedServer
from sample_data.generator import CityGenerator, Scenario, load_catalogue

TOKEN = {"Authorization": "Bearer demo-traffic-token"}
SPEEDS = "/traffic/api/v2/speeds"
LOCAL = timedelta(hours=8)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory, build_catalogue) -> CityGenerator:
    path = build_catalogue(tmp_path_factory.mktemp("cat") / "entities.geojson", n_roads=12)
    return CityGenerator(load_catalogue(path), Scenario())


@pytest.fixture(scope="module")
def now(gen: CityGenerator) -> datetime:
    return gen.scenario.storm_peak + timedelta(hours=1, minutes=2, seconds=5)


@pytest.fixture(scope="module")
def served(gen: CityGenerator, now: datetime) -> Iterator[tuple[DemoFeedServer, FixedClock]]:
    clock = FixedClock(now)
    with DemoFeedServer(gen, clock) as server:
        yield server, clock


@pytest.fixture
def server(served: tuple[DemoFeedServer, FixedClock], now: datetime) -> Iterator[DemoFeedServer]:
    srv, clock = served
    clock.set(now)
    yield srv
    srv.clear_faults()
    clock.set(now)


@pytest.fixture
def client(server: DemoFeedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _local_naive(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) - LOCAL


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = (lon1 - lon2) * 111.32 * math.cos(math.radians(lat1))
    return math.hypot(dx, (lat1 - lat2) * 110.57)


def _all_pages(client: httpx.Client, since: str, size: int) -> tuple[list[dict], int]:
    items: list[dict] = []
    page, total = 1, None
    while True:
        r = client.get(SPEEDS, params={"since": since, "page": page, "size": size}, headers=TOKEN)
        assert r.status_code == 200
        data = r.json()["data"]
        total = data["total"] if total is None else total
        assert data["total"] == total and data["page"] == page and data["size"] == size
        if not data["items"]:
            break
        assert len(data["items"]) <= size
        items.extend(data["items"])
        page += 1
    return items, total


def test_healthz_and_unknown_paths(client: httpx.Client, now: datetime) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert datetime.fromisoformat(r.json()["now"]) == now
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["code"] == 404
    assert client.post("/healthz").status_code == 405


def test_server_url_and_restart(gen: CityGenerator, now: datetime) -> None:
    srv = DemoFeedServer(gen, FixedClock(now))
    with pytest.raises(RuntimeError):
        _ = srv.url
    url = srv.start()
    assert url.startswith("http://127.0.0.1:") and srv.url == url
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    srv.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=2)


def test_traffic_requires_the_bearer_token(client: httpx.Client, now: datetime) -> None:
    since = _iso(now - timedelta(minutes=30))
    r = client.get(SPEEDS, params={"since": since})
    assert r.status_code == 401 and r.json()["code"] == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.get(SPEEDS, params={"since": since}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert client.get(SPEEDS, params={"since": since}, headers=TOKEN).status_code == 200


def test_traffic_format_units_and_datum(client: httpx.Client, gen: CityGenerator, now: datetime) -> None:
    since = now - timedelta(minutes=30)
    r = client.get(SPEEDS, params={"since": _iso(since), "size": 5000}, headers=TOKEN)
    body = r.json()
    assert r.headers["content-type"].startswith("application/json")
    assert body["code"] == 0
    items = body["data"]["items"]
    n_roads = len(gen.catalogue.road_segments)
    assert body["data"]["total"] == len(items) == 6 * n_roads  # 6 five-minute steps in (since, now]
    truth = gen.traffic(since, now).set_index(["entity_id", "ts"])
    roads = gen.catalogue.road_segments.set_index("entity_id")
    for it in items:
        assert set(it) == {"roadId", "collectTime", "avgSpeed", "flow", "occ", "lng", "lat"}
        assert it["collectTime"].endswith("+08:00")
        ts = datetime.fromisoformat(it["collectTime"])
        assert since < ts <= now
        row = truth.loc[(it["roadId"], pd.Timestamp(ts).tz_convert("UTC"))]
        assert it["avgSpeed"] == pytest.approx(row["speed_kmh"] / 3.6, abs=0.006)  # m/s
        assert it["flow"] == round(row["volume_vph"])
        assert 0 <= it["occ"] <= 1 and it["occ"] == pytest.approx(row["occupancy_pct"] / 100, abs=1e-4)
        seg = roads.loc[it["roadId"]]
        # GCJ-02 is offset from WGS-84 by a few hundred metres here.
        assert 0.2 < _km(it["lng"], it["lat"], seg["lon"], seg["lat"]) < 1.0
    keys = [(i["collectTime"], i["roadId"]) for i in items]
    assert keys == sorted(keys)


def test_traffic_pages_cover_every_item_once(client: httpx.Client, now: datetime) -> None:
    since = _iso(now - timedelta(hours=2))
    everything = client.get(SPEEDS, params={"since": since, "size": 5000}, headers=TOKEN).json()["data"]
    items, total = _all_pages(client, since, size=7)
    assert total == everything["total"] == len(items)
    assert items == everything["items"]
    assert len({(i["roadId"], i["collectTime"]) for i in items}) == total
    past = client.get(SPEEDS, params={"since": since, "page": 10_000, "size": 7}, headers=TOKEN).json()
    assert past["data"]["items"] == [] and past["data"]["total"] == total


def test_air_csv(client: httpx.Client, gen: CityGenerator, now: datetime) -> None:
    start_utc = now - timedelta(days=6)
    start_local = (start_utc + LOCAL).strftime("%Y-%m-%d %H:%M:%S")
    r = client.get("/env/aqi/hourly.csv", params={"start": start_local})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["站点编码", "站点名称", "监测时间", "SO2", "NO2", "PM10", "PM2.5", "CO", "O3"]
    data = rows[1:]
    truth = gen.air(start_utc, now).set_index(["entity_id", "ts"])
    assert len(data) == len(truth)
    names = gen.catalogue.air_stations.set_index("entity_id")["name"]
    empties = 0
    cols = {"SO2": "so2", "NO2": "no2", "PM10": "pm10", "PM2.5": "pm25", "O3": "o3"}
    for rec in data:
        d = dict(zip(rows[0], rec, strict=True))
        ts = _local_naive(d["监测时间"])
        assert start_utc < ts <= now and ts.minute == 0
        assert d["站点名称"] == names[d["站点编码"]]
        t = truth.loc[(d["站点编码"], pd.Timestamp(ts))]
        for head, col in cols.items():
            if d[head] == "":
                empties += 1
                assert np.isnan(t[col])
            else:
                assert float(d[head]) == t[col]
        if d["CO"] != "":
            assert float(d["CO"]) == pytest.approx(t["co"] * 1000, abs=0.5)  # µg/m³
            assert float(d["CO"]) > 50
    assert empties == int(truth[list(cols.values())].isna().sum().sum())
    assert empties > 0  # sensor gaps show as empty cells


def test_water_levels_and_rain(client: httpx.Client, gen: CityGenerator, now: datetime) -> None:
    since = now - timedelta(hours=3)
    levels = client.get("/water/levels.json", params={"from": _ms(since)}).json()
    truth = gen.water(since, now).set_index(["entity_id", "ts"])
    assert len(levels) == len(truth) == 36 * len(gen.catalogue.hydro_stations)
    kinds = gen.catalogue.hydro_stations.set_index("entity_id")["station_type"]
    for row in levels:
        assert set(row) == {"STCD", "TM", "Z", "Q"}
        ts = _local_naive(row["TM"])
        assert since < ts <= now
        t = truth.loc[(row["STCD"], pd.Timestamp(ts))]
        assert isinstance(row["Z"], int) and row["Z"] == round(t["level_m"] * 100)  # cm
        if kinds[row["STCD"]] == "reservoir":
            assert row["Q"] is None
        else:
            assert row["Q"] == pytest.approx(t["discharge_m3s"])
    rain = client.get("/water/rain.json", params={"from": _ms(since)}).json()
    rtruth = gen.rain(since, now).set_index(["entity_id", "ts"])
    assert len(rain) == len(rtruth)
    for row in rain:
        assert set(row) == {"STCD", "TM", "DRP"}
        t = rtruth.loc[(row["STCD"], pd.Timestamp(_local_naive(row["TM"])))]
        assert isinstance(row["DRP"], int) and row["DRP"] == round(t["rain_mm"] * 10)  # 0.1 mm
    assert max(r["DRP"] for r in rain) > 20  # it is pouring: > 2 mm in some 5 minutes


def test_emergency_incidents(client: httpx.Client, gen: CityGenerator, now: datetime) -> None:
    since = now - timedelta(hours=12)
    res = client.get("/emergency/incidents", params={"updatedSince": _iso(since)}).json()["result"]
    assert res, "the storm brings incidents"
    truth = gen.incidents(since - timedelta(days=2), now + timedelta(seconds=1), now).set_index("incident_id")
    for ev in res:
        assert set(ev) >= {
            "eventId",
            "eventType",
            "level",
            "state",
            "reportTime",
            "dispatchTime",
            "finishTime",
            "bdLng",
            "bdLat",
            "areaCode",
            "content",
            "reportDept",
        }
        assert ev["eventType"] in {"内涝", "交通事故", "山体滑坡", "火灾", "树木倒伏"}
        assert ev["level"] in {"Ⅰ级", "Ⅱ级", "Ⅲ级", "Ⅳ级"}
        assert ev["state"] in {"待处置", "处置中", "已办结"}
        rep = datetime.fromisoformat(ev["reportTime"])
        assert ev["reportTime"].endswith("+08:00") and rep <= now
        times = [datetime.fromisoformat(ev[k]) for k in ("reportTime", "dispatchTime", "finishTime") if ev[k]]
        assert since < max(times) <= now
        assert (ev["finishTime"] is None) == (ev["state"] != "已办结")
        assert (ev["dispatchTime"] is None) == (ev["state"] == "待处置")
        t = truth.loc[ev["eventId"]]
        assert ev["areaCode"] == t["district_code"] and ev["content"] == t["description"]
        assert (
            int(ev["level"][0].translate({0x2160: "1", 0x2161: "2", 0x2162: "3", 0x2163: "4"}))
            == t["severity"]
        )
        # BD-09 is about a kilometre away from WGS-84 in Qingyuan.
        assert 0.5 < _km(ev["bdLng"], ev["bdLat"], t["lon"], t["lat"]) < 1.5
    assert "内涝" in {ev["eventType"] for ev in res}
    later = client.get("/emergency/incidents", params={"updatedSince": res[-1]["updateTime"]}).json()[
        "result"
    ]
    assert later == []


def test_nothing_later_than_now_and_the_clock_moves_on(
    server: DemoFeedServer, client: httpx.Client, now: datetime
) -> None:
    clock = server.clock
    assert isinstance(clock, FixedClock)
    since = _iso(now - timedelta(minutes=10))
    first = client.get(SPEEDS, params={"since": since, "size": 5000}, headers=TOKEN).json()["data"]
    assert max(datetime.fromisoformat(i["collectTime"]) for i in first["items"]) <= now
    future = _iso(now + timedelta(hours=1))
    assert client.get(SPEEDS, params={"since": future}, headers=TOKEN).json()["data"]["total"] == 0
    assert client.get("/water/rain.json", params={"from": _ms(now + timedelta(hours=1))}).json() == []
    clock.advance(timedelta(minutes=10))
    second = client.get(SPEEDS, params={"since": since, "size": 5000}, headers=TOKEN).json()["data"]
    assert second["total"] == first["total"] + 2 * len(server.generator.catalogue.road_segments)
    assert second["items"][: first["total"]] == first["items"]
    levels = client.get("/water/levels.json", params={"from": _ms(now)}).json()
    assert {_local_naive(r["TM"]) for r in levels} == {
        now.replace(second=0) + timedelta(minutes=m) for m in (3, 8)
    }


def test_window_is_capped_to_seven_days(client: httpx.Client, now: datetime) -> None:
    old = "2020-01-01T00:00:00Z"
    rows = client.get("/water/rain.json", params={"from": 0}).json()
    earliest = min(_local_naive(r["TM"]) for r in rows)
    assert earliest >= now - timedelta(days=7)
    assert earliest < now - timedelta(days=7) + timedelta(minutes=5)
    data = client.get(SPEEDS, params={"since": old, "size": 1}, headers=TOKEN).json()["data"]
    assert data["total"] == 7 * 288 * 12


@pytest.mark.parametrize(
    ("path", "params", "headers"),
    [
        (SPEEDS, {}, TOKEN),
        (SPEEDS, {"since": "yesterday"}, TOKEN),
        (SPEEDS, {"since": "2026-06-15T00:00:00"}, TOKEN),  # no offset
        (SPEEDS, {"since": "2026-06-15T00:00:00Z", "page": "0"}, TOKEN),
        (SPEEDS, {"since": "2026-06-15T00:00:00Z", "size": "100000"}, TOKEN),
        (SPEEDS, {"since": "2026-06-15T00:00:00Z", "page": "two"}, TOKEN),
        ("/env/aqi/hourly.csv", {"start": "2026-06-15T08:00:00"}, {}),
        ("/env/aqi/hourly.csv", {"start": "2026-13-45 08:00:00"}, {}),
        ("/env/aqi/hourly.csv", {}, {}),
        ("/water/levels.json", {"from": "abc"}, {}),
        ("/water/levels.json", {"from": "-5"}, {}),
        ("/water/rain.json", {}, {}),
        ("/emergency/incidents", {"updatedSince": "2026-06-15"}, {}),
        ("/emergency/incidents", {}, {}),
    ],
)
def test_bad_parameters_are_400(client: httpx.Client, path: str, params: dict, headers: dict) -> None:
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 400 and body["error"] == "bad_request" and body["message"]


def test_unencoded_plus_in_offset_is_accepted(client: httpx.Client, now: datetime) -> None:
    local = (now - timedelta(minutes=20) + LOCAL).strftime("%Y-%m-%dT%H:%M:%S")
    r = client.get(f"/emergency/incidents?updatedSince={local}+08:00")
    assert r.status_code == 200
    r = client.get(f"{SPEEDS}?since={local}%2B08:00", headers=TOKEN)
    assert r.status_code == 200 and r.json()["data"]["total"] == 4 * 12


@pytest.mark.parametrize("kind", ["500", "404"])
def test_status_faults(server: DemoFeedServer, client: httpx.Client, kind: str) -> None:
    server.set_fault("/water/", kind)
    r = client.get("/water/levels.json", params={"from": 0})
    assert r.status_code == int(kind) and r.json()["code"] == int(kind)
    assert client.get("/healthz").status_code == 200  # other paths unaffected
    server.set_fault("/water/", "none")
    assert client.get("/water/levels.json", params={"from": 0}).status_code == 200


def test_malformed_fault_truncates_the_body(
    server: DemoFeedServer, client: httpx.Client, now: datetime
) -> None:
    server.set_fault("/emergency", "malformed")
    r = client.get("/emergency/incidents", params={"updatedSince": _iso(now - timedelta(hours=6))})
    assert r.status_code == 200
    with pytest.raises(ValueError):  # JSONDecodeError, or UnicodeDecodeError when cut mid-character
        json.loads(r.content)
    server.set_fault("/env/", "malformed")
    r = client.get("/env/aqi/hourly.csv", params={"start": "2026-06-14 00:00:00"})
    full_rows = 1 + 6 * 24 * len(server.generator.catalogue.air_stations)
    assert r.status_code == 200 and len(r.content.decode("utf-8", "replace").splitlines()) < full_rows


def test_hang_fault_until_the_client_gives_up(server: DemoFeedServer) -> None:
    server.set_fault("/traffic", "hang")
    with (
        httpx.Client(base_url=server.url, timeout=httpx.Timeout(5.0, read=0.3)) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.get(SPEEDS, params={"since": "2026-06-15T00:00:00Z"}, headers=TOKEN)
    server.set_fault("/traffic", "none")
    with httpx.Client(base_url=server.url, timeout=5) as c:
        assert c.get(SPEEDS, params={"since": "2026-06-15T00:00:00Z"}, headers=TOKEN).status_code == 200


def test_unknown_fault_kind_is_refused(server: DemoFeedServer) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        server.set_fault("/x", "slow")
