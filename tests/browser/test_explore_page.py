"""/explore in a real browser: charts with data, the URL holds the view, a map click drills into a station,
exports download the charted rows; no console errors and nothing leaves the host."""

from __future__ import annotations

import io
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pyarrow.parquet as pq

from cityops.server import Server
from tests.helpers import wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
STATION = "HYD-DY-YUANTAN"  # 源潭: past its guaranteed level at the fixture's clock


def _query(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def _wait_series(page: Any) -> None:
    page.locator("#explore-series .scatterlayer .trace").first.wait_for(state="attached", timeout=30_000)


def _wait_url(page: Any, key: str, value: str) -> None:
    wait_until(
        page, f"new URLSearchParams(window.location.search).get({key!r}) === {value!r}", timeout=20_000
    )


def _dropdown_value(page: Any, component_id: str) -> Any:
    return page.evaluate(
        """(id) => { const el = document.getElementById(id);
        const key = Object.keys(el).find(k => k.startsWith('__reactFiber'));
        let f = el[key];
        while (f) {
            if (f.memoizedProps && 'value' in f.memoizedProps && f.memoizedProps.id === id) {
                return f.memoizedProps.value;
            }
            f = f.return;
        }
        return undefined; }""",
        component_id,
    )


def _pick(page: Any, component_id: str, name: str | None = None) -> None:
    """Open a dropdown and choose the option called ``name`` (or the first)."""
    page.locator(f"#{component_id}").click()
    listbox = page.locator(f'[id="{page.locator(f"#{component_id}").get_attribute("aria-controls")}"]')
    options = listbox.get_by_role("option")
    (options.get_by_text(name, exact=True) if name else options).first.click()


def _checks(page: Any) -> None:
    assert page.external == [], page.external
    assert page.console_errors == [], page.console_errors


def test_page_renders_the_station_with_its_levels(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1600, "height": 1300})
    page.goto(f"{demo_server.url}/explore?domain=water&entity={STATION}")
    _wait_series(page)
    page.locator("#explore-compare .scatterlayer .trace, #explore-compare .barlayer .trace").first.wait_for(
        state="attached"
    )
    page.locator("#explore-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(2500)
    page.screenshot(path=str(OUTPUT / "explore.png"), full_page=True)
    title = page.locator("#explore-series .gtitle").text_content() or ""
    assert "源潭" in title and "水位" in title, title
    levels = page.locator("#explore-series .annotation-text").all_text_contents()
    assert any("警戒水位 15" in x for x in levels) and any("保证水位 16.69" in x for x in levels), levels
    assert page.locator("#explore-heatmap .heatmaplayer .hm, #explore-heatmap image").count() > 0
    assert page.locator("#explore-distribution .barlayer .point").count() > 0
    _checks(page)


def test_choosing_a_domain_updates_the_url_and_a_reload_restores_it(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1600, "height": 1300})
    page.goto(f"{demo_server.url}/explore?lang=en")
    _wait_series(page)
    _pick(page, "explore-domain", "Rain")
    _wait_url(page, "domain", "rain")
    _pick(page, "explore-district", "Qingcheng District")
    _wait_url(page, "district", "441802")
    _pick(page, "explore-entity")
    wait_until(page, "new URLSearchParams(window.location.search).get('entity') !== null", timeout=20_000)
    wait_until(
        page,
        "(document.querySelector('#explore-series .gtitle') || {}).textContent"
        "?.startsWith('Time series — Rain · Rainfall · ')",
        timeout=20_000,
    )
    page.wait_for_timeout(1000)
    before = _query(page)
    assert before["domain"] == "rain" and before["metric"] == "rain_mm" and before["lang"] == "en", before
    title_before = page.locator("#explore-series .gtitle").text_content()
    page.screenshot(path=str(OUTPUT / "explore-en-rain.png"), full_page=True)

    page.reload()
    _wait_series(page)
    page.wait_for_timeout(1500)
    assert _query(page) == before
    for cid, key in (
        ("explore-domain", "domain"),
        ("explore-district", "district"),
        ("explore-entity", "entity"),
        ("explore-metric", "metric"),
    ):
        assert _dropdown_value(page, cid) == before[key], cid
    assert page.locator("#explore-series .gtitle").text_content() == title_before
    _checks(page)


_PICK_MARKER = """
() => {
  const gd = document.querySelector('#explore-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const canvas = map.getCanvas().getBoundingClientRect();
  const all = [], candidates = [];
  gd._fullData.forEach((tr) => {
    if (!tr.lon || tr.type !== 'scattermap' || tr.visible !== true) return;
    const lats = Array.from(tr.lat), custom = tr.customdata ? Array.from(tr.customdata) : [];
    Array.from(tr.lon).forEach((lon, j) => {
      if (lon === null || lats[j] === null || Number.isNaN(lon)) return;
      const p = map.project([lon, lats[j]]);
      all.push(p);
      const c = custom[j];
      if (typeof c === 'string' && c.startsWith('entity:') && tr.mode === 'markers') {
        candidates.push({p, id: c.slice(7)});
      }
    });
  });
  for (const {p, id} of candidates) {
    // clear of the legend
    if (p.x < 300 || p.y < 40 || p.x > canvas.width - 40 || p.y > canvas.height - 40) continue;
    const near = all.filter(q => Math.hypot(q.x - p.x, q.y - p.y) < 28).length;
    if (near === 1) return {id, x: canvas.left + p.x, y: canvas.top + p.y};
  }
  return null;
}
"""


def test_clicking_a_station_on_the_map_drills_into_it(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1600, "height": 1300})
    page.goto(f"{demo_server.url}/explore?domain=air&metric=pm25")
    _wait_series(page)
    page.locator("#explore-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(3000)  # MapLibre places the markers
    target = page.evaluate(_PICK_MARKER)
    assert target is not None, "no isolated station marker in view"
    page.mouse.move(target["x"], target["y"])
    page.wait_for_timeout(300)
    page.mouse.click(target["x"], target["y"])
    _wait_url(page, "entity", target["id"])
    page.wait_for_timeout(1000)
    assert _dropdown_value(page, "explore-entity") == target["id"]
    page.screenshot(path=str(OUTPUT / "explore-map-drill.png"), full_page=True)
    _checks(page)


def test_clicking_a_heatmap_day_narrows_the_range_to_that_day(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1600, "height": 1300})
    page.goto(f"{demo_server.url}/explore?domain=water&entity={STATION}")
    page.locator("#explore-heatmap .nsewdrag").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(1000)
    day = page.evaluate(
        "() => document.querySelector('#explore-heatmap .js-plotly-plot').data[0].y.slice(-1)[0]"
    )
    box = page.locator("#explore-heatmap .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] - 5)  # the last day's row
    _wait_url(page, "range", "custom")
    q = _query(page)
    assert q["start"] == q["end"] == day, q
    assert page.locator("#explore-dates").is_visible()
    _checks(page)


def test_exports_download_the_charted_rows_as_csv_and_parquet(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.goto(f"{demo_server.url}/explore?domain=water&entity={STATION}")
    _wait_series(page)
    page.wait_for_timeout(800)
    with page.expect_download() as csv_info:
        page.locator("#explore-export-csv").click()
    with page.expect_download() as par_info:
        page.locator("#explore-export-parquet").click()
    csv_dl, par_dl = csv_info.value, par_info.value
    assert csv_dl.suggested_filename == f"cityops-explore-water-level_m-24h-441802-{STATION}.csv"
    assert par_dl.suggested_filename.endswith(".parquet")
    raw = Path(csv_dl.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    csv = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    par = pq.read_table(par_dl.path()).to_pandas()
    assert len(csv) == len(par) > 0
    assert list(csv["chart"]) == list(par["chart"]) and "源潭" in set(par["name"].dropna())
    # the series rows are the points of the time series drawn on the page
    ys = page.evaluate(
        "() => { const d = document.querySelector('#explore-series .js-plotly-plot')._fullData;"
        " return Array.from(d[d.length - 1].y); }"
    )
    series = par[par["chart"] == "series"]
    assert list(series["value"].round(6)) == [round(y, 6) for y in ys]
    _checks(page)


def _figure(page: Any, graph_id: str) -> Any:
    return page.evaluate(
        "(id) => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');"
        " return {data: gd._fullData.map(d => ({name: d.name, y: d.y ? Array.from(d.y) : null,"
        " customdata: d.customdata ? Array.from(d.customdata) : null, yaxis: d.yaxis})),"
        " shapes: (gd.layout.shapes || []).map(s => ({y0: s.y0, y1: s.y1, yref: s.yref})),"
        " annotations: (gd.layout.annotations || []).map(a => a.text)}; }",
        graph_id,
    )


def test_a_link_without_state_opens_the_city_aqi_with_rain_and_rivers_against_warning(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/explore")
    _wait_series(page)
    page.locator("#explore-compare .scatterlayer .trace").first.wait_for(state="attached", timeout=30_000)
    page.locator("#explore-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    assert (
        _dropdown_value(page, "explore-domain") == "air" and _dropdown_value(page, "explore-metric") == "aqi"
    )
    title = page.locator("#explore-series .gtitle").text_content() or ""
    assert "空气质量指数 AQI" in title and "全市" in title, title
    series = _figure(page, "explore-series")
    values = [y for y in series["data"][-1]["y"] if y is not None]
    assert len(values) >= 2 and all(0 < y < 500 for y in values), values
    # the AQI category bounds up to the next one above the data (a clean day is not flattened)
    bounds = sorted(s["y0"] for s in series["shapes"])
    top = max(values)
    assert bounds and bounds[0] == 50 and bounds[-1] > top and all(b <= top for b in bounds[:-1]), bounds
    # the comparison: the day's rainfall, and rivers as metres above their warning levels, with a 0 line
    compare = _figure(page, "explore-compare")
    rivers = [
        d for d in compare["data"] if d["customdata"] and str(d["customdata"][0]).startswith("entity:HYD-")
    ]
    assert rivers, compare["data"]
    axis = rivers[0]["yaxis"]
    assert all(d["yaxis"] == axis for d in rivers)
    yref = "y" if axis == "y" else axis
    assert any(s["y0"] == 0 and s["y1"] == 0 and s["yref"] == yref for s in compare["shapes"]), compare
    assert "警戒水位" in compare["annotations"] and "河道水位（相对警戒水位） (m)" in compare["annotations"]
    levels = [y for d in rivers for y in d["y"] if y is not None]
    assert min(levels) < 5 and max(levels) > -10, levels  # relative to warning, not absolute datums
    assert any("面雨量" in a for a in compare["annotations"])
    assert page.locator("#explore-heatmap .heatmaplayer .hm, #explore-heatmap image").count() > 0
    page.wait_for_timeout(2500)
    page.screenshot(path=str(OUTPUT / "explore-default-1920.png"), full_page=True)
    _checks(page)


def test_the_freshness_line_names_the_newest_observation_not_the_clock(
    watched_page: Any, demo_server: Server
) -> None:
    from cityops.base.domains import AIR
    from dashboard.explore import ExploreState, load_catalog, resolve_state, series_query, time_window

    svc = demo_server.services
    catalog = load_catalog(svc)
    state = resolve_state(ExploreState(), catalog)
    start, end = time_window(state, svc.now(), svc.settings.city.timezone)
    newest = svc.warehouse.explore_newest(series_query(AIR, "aqi", start, end))
    assert newest is not None
    expect = svc.local(newest.replace(tzinfo=UTC)).strftime("%Y-%m-%d %H:%M")
    page = watched_page
    page.goto(f"{demo_server.url}/explore")
    _wait_series(page)
    line = page.locator("#explore-freshness")
    wait_until(
        page, "(document.querySelector('#explore-freshness') || {}).textContent?.startsWith('数据截至')"
    )
    text = line.text_content() or ""
    assert text.startswith(f"数据截至 {expect}（") and "前）" in text, (text, expect)
    assert svc.local(svc.now()).strftime("%Y-%m-%d %H:%M") != expect  # the data's time, not the clock's
    _checks(page)


def test_choosing_a_district_zooms_the_map_to_it(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/explore?lang=en")
    _wait_series(page)
    page.locator("#explore-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(2000)
    view = (
        "() => { const gd = document.querySelector('#explore-map .js-plotly-plot');"
        " const m = gd._fullLayout.map._subplot.map; const b = m.getBounds();"
        " const f = gd.data[0].geojson.features.find(x => x.id === '441802');"
        " const pts = f ? f.geometry.coordinates.flat(3) : [];"
        " const lons = [], lats = [];"
        " for (let i = 0; i < pts.length; i += 2) { lons.push(pts[i]); lats.push(pts[i + 1]); }"
        " return {zoom: m.getZoom(), w: b.getWest(), e: b.getEast(), s: b.getSouth(), n: b.getNorth(),"
        " dw: Math.min(...lons), de: Math.max(...lons), ds: Math.min(...lats), dn: Math.max(...lats),"
        " layoutZoom: gd.layout.map.zoom}; }"
    )
    city = page.evaluate(view)
    _pick(page, "explore-district", "Qingcheng District")
    _wait_url(page, "district", "441802")
    wait_until(
        page,
        "(() => { const gd = document.querySelector('#explore-map .js-plotly-plot');"
        f" return gd && gd._fullLayout.map && gd._fullLayout.map._subplot.map.getZoom()"
        f" > {city['zoom']} + 0.3; }})()",
        timeout=20_000,
    )
    page.wait_for_timeout(1500)
    v = page.evaluate(view)
    assert v["zoom"] > city["zoom"] + 0.3, (city, v)
    # the whole district is in view, and the view is not much larger than the district
    assert v["w"] <= v["dw"] and v["e"] >= v["de"] and v["s"] <= v["ds"] and v["n"] >= v["dn"], v
    assert (v["e"] - v["w"]) < 4 * (v["de"] - v["dw"]), v
    _checks(page)


def test_a_custom_range_with_times_of_day_round_trips_in_the_url(
    watched_page: Any, demo_server: Server
) -> None:
    svc = demo_server.services
    local_now = svc.local(svc.now())
    day = local_now.date().isoformat()
    lo = (local_now.replace(minute=0) - timedelta(hours=2)).strftime("%H:%M")
    hi = (local_now.replace(minute=0) - timedelta(hours=1)).strftime("%H:%M")
    if lo > hi:  # just after midnight: the window crosses days; use the whole day
        lo, hi = "00:00", "01:00"
    page = watched_page
    page.goto(f"{demo_server.url}/explore?range=custom&start={day}&end={day}&domain=water&entity={STATION}")
    _wait_series(page)
    page.locator("#explore-start-time").fill(lo)
    _wait_url(page, "start", f"{day}T{lo}")
    page.locator("#explore-end-time").fill(hi)
    _wait_url(page, "end", f"{day}T{hi}")
    wait_until(
        page,
        "(() => { const gd = document.querySelector('#explore-series .js-plotly-plot');"
        f" const x = gd && gd.data.length ? Array.from(gd.data[gd.data.length - 1].x) : [];"
        " return x.length > 0 && x.map(v => String(v).replace('T', ' '))"
        f".every(v => v >= '{day} {lo}' && v < '{day} {hi}'); }})()",
        timeout=20_000,
    )
    before = _query(page)
    page.reload()
    _wait_series(page)
    assert _query(page) == before
    assert page.locator("#explore-start-time").input_value() == lo
    assert page.locator("#explore-end-time").input_value() == hi
    xs = page.evaluate(
        "() => { const gd = document.querySelector('#explore-series .js-plotly-plot');"
        " return Array.from(gd.data[gd.data.length - 1].x).map(v => String(v).replace('T', ' ')); }"
    )
    assert xs and all(f"{day} {lo}" <= x < f"{day} {hi}" for x in xs), xs
    _checks(page)


def test_an_unknown_metric_in_the_url_says_so(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.goto(f"{demo_server.url}/explore?metric=nonsense")
    _wait_series(page)
    notice = page.locator("#explore-notice")
    assert notice.is_visible()
    text = notice.text_content() or ""
    assert "nonsense" in text and "空气质量指数 AQI" in text, text
    _checks(page)


def test_a_map_drill_down_into_an_air_station_opens_its_aqi(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/explore?domain=water")
    _wait_series(page)
    page.locator("#explore-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(3000)
    target = page.evaluate(_PICK_MARKER.replace("c.startsWith('entity:')", "c.startsWith('entity:AIR')"))
    assert target is not None, "no isolated air station marker in view"
    page.mouse.move(target["x"], target["y"])
    page.wait_for_timeout(300)
    page.mouse.click(target["x"], target["y"])
    _wait_url(page, "entity", target["id"])
    _wait_url(page, "metric", "aqi")
    assert _query(page)["domain"] == "air"
    wait_until(
        page,
        "(document.querySelector('#explore-series .gtitle') || {}).textContent?.includes('AQI')",
        timeout=20_000,
    )
    page.wait_for_timeout(2500)
    page.screenshot(path=str(OUTPUT / "explore-drill-air-1920.png"), full_page=True)
    _checks(page)
