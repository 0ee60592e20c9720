"""One language at a time: every page, rendered in Chinese and in English during the demo storm, shows
no text of the other language outside data values.

Data values are what departments and the configuration name: stations, districts, departments, rivers,
feeds, users. They are taken from the warehouse and the settings and removed before the check; what
is left is the interface's own text, Plotly's included (SVG text is read as well as HTML text).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from cityops.server import Server
from tests.helpers import sign_in

PAGES = ["/wall", "/map", "/explore", "/warnings", "/feeds", "/snapshots", "/notifications", "/audit"]
TEXTS = """() => {
  const out = [document.body.innerText];
  for (const t of document.querySelectorAll('svg text')) out.push(t.textContent);
  for (const e of document.querySelectorAll('input[placeholder]')) out.push(e.placeholder);
  return out.join('\\n');
}"""
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]+")
WORD = re.compile(r"(?<![A-Za-z0-9_.\-/@:])[A-Za-z][a-z]{2,}(?:[ -][a-z]{2,})*(?![A-Za-z0-9_\-/@])")
# Chinese that an English interface shows as it is: the language switch that offers Chinese.
CJK_IN_EN = {"中文"}
# Latin text that a Chinese interface shows as it is: units, pollutants, file formats, product names,
# and the language switch that offers English.
LATIN_IN_ZH = {
    "English",
    "AQI",
    "CSV",
    "Parquet",
    "PNG",
    "HTML",
    "JSON",
    "PDF",
    "Excel",
    "cityops",
    "Plotly",
    "MapLibre",
    "OpenStreetMap",
    "mm",
    "km",
    "min",
}


def data_values(server: Server) -> list[str]:
    """Every name that comes from departments or the configuration (longest first)."""
    svc = server.services
    wh = svc.warehouse
    names: set[str] = set()
    for frame in (wh.entities(), wh.districts()):
        for col in ("name", "name_en", "entity_id", "department", "code", "road_name"):
            if col in frame.columns:
                names |= {str(v) for v in frame[col].dropna() if str(v).strip()}
    settings = svc.settings
    for name, feed in settings.feeds.items():
        names |= {name, feed.department}
        names |= {str(v) for v in feed.fields.values() if str(v).strip()}  # the department's own field names
        names |= {str(v) for by_column in feed.values.values() for v in by_column if str(v).strip()}
    # What departments wrote about their incidents.
    incidents = wh.incidents_since(datetime(2000, 1, 1, tzinfo=UTC))
    for col in ("description", "reporting_department"):
        names |= {str(v) for v in incidents[col].dropna() if str(v).strip()}
    names |= {u.name for u in settings.auth.users} | {
        u.display_name for u in settings.auth.users if u.display_name
    }
    pack = svc.alerting.pack  # the rule packs in force, named by their ids ("national 2026.1 + …")
    names |= {pack.version} | {part.split(" ")[0] for part in pack.version.split(" + ")}
    for layer in svc.base_layers():
        names |= {n for by_lang in layer.names for n in by_lang.values() if n}
    return sorted(names, key=len, reverse=True)


def other_language(text: str, lang: str, values: list[str]) -> list[str]:
    for value in values:
        text = text.replace(value, " ")
    if lang == "en":
        return sorted({c for m in CJK.finditer(text) if (c := m.group(0)) not in CJK_IN_EN})
    return sorted({w for m in WORD.finditer(text) if (w := m.group(0)) not in LATIN_IN_ZH})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_speaks_one_language(watched_page: Any, ticked_server: Server, lang: str) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in(page, ticked_server.url, "admin", "admin-demo", "/feeds")
    values = data_values(ticked_server)
    found: dict[str, list[str]] = {}
    # One warning's detail as well: its rule, citation, evidence and audit trail.
    open_warnings = ticked_server.services.warehouse.warnings(open_only=True)
    assert len(open_warnings), "the demo storm raised no warning"
    detail = f"/warnings?id={open_warnings.iloc[0]['warning_id']}&"
    for path in [*PAGES, detail]:
        sep = "" if path.endswith("&") else "?"
        page.goto(f"{ticked_server.url}{path}{sep}lang={lang}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(2500)  # the first refresh of each page's data
        stray = other_language(page.evaluate(TEXTS), lang, values)
        if stray:
            found[path] = stray
    assert found == {}, "\n".join(f"{p}: {v}" for p, v in found.items())
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)
