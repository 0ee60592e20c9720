"""The /snapshots page's builders as plain functions, and its file route over real HTTP requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard.pages.snapshots import build_archive, manifest_files


class FakeServices:
    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo("Asia/Shanghai"))


def _walk(component: Any) -> list[Any]:
    out = [component]
    children = getattr(component, "children", None)
    for c in children if isinstance(children, list | tuple) else [children]:
        if c is not None and not isinstance(c, str | int | float):
            out.extend(_walk(c))
    return out


RECORDS = pd.DataFrame(
    [
        {
            "day": "2026-06-15",
            "status": "ok",
            "reason": None,
            "rendered_at": datetime(2026, 6, 15, 0, 5),
            "warnings": 12,
        },
        {
            "day": "2026-06-14",
            "status": "partial",
            "reason": "PNG export: no browser",
            "rendered_at": datetime(2026, 6, 14, 0, 5),
            "warnings": 3,
        },
    ]
)


def test_archive_rows_links_and_admin_buttons() -> None:
    files = {
        "2026-06-15": [
            {"path": "report.html"},
            {"path": "summary.png"},
            {"path": "data/warnings.parquet"},
            {"path": "manifest.json"},
        ],
        "2026-06-14": [{"path": "report.html"}, {"path": "manifest.json"}],
    }
    table = build_archive(
        RECORDS, FakeServices(), "zh", can_rerender=False, running={}, files_of=lambda d: files[d.isoformat()]
    )
    nodes = _walk(table)
    hrefs = [n.href for n in nodes if getattr(n, "href", None)]
    assert "/snapshots/2026-06-15/report.html" in hrefs and "/snapshots/2026-06-15/summary.png" in hrefs
    assert "/snapshots/2026-06-15/data/warnings.parquet?download=1" in hrefs
    assert "/snapshots/2026-06-14/summary.png" not in hrefs  # no image that day: no link to one
    texts = [n.children for n in nodes if isinstance(getattr(n, "children", None), str)]
    assert "报告完整" in texts and "报告不完整" in texts and "PNG export: no browser" in texts
    assert "06-15 08:05" in texts  # rendered_at in the city's time
    assert not [
        n for n in nodes if getattr(n, "id", None) and isinstance(n.id, dict)
    ]  # no buttons for a viewer
    admin = _walk(
        build_archive(
            RECORDS,
            FakeServices(),
            "en",
            can_rerender=True,
            running={"2026-06-14": "admin"},
            files_of=lambda d: [],
        )
    )
    buttons = [n.id for n in admin if isinstance(getattr(n, "id", None), dict)]
    assert buttons == [{"type": "snapshots-rerender", "day": "2026-06-15"}]  # 06-14 is rendering right now
    assert "rendering…" in [n.children for n in admin if isinstance(getattr(n, "children", None), str)]


def test_empty_archive_says_so() -> None:
    empty = build_archive(RECORDS.iloc[0:0], FakeServices(), "zh", can_rerender=True, running={})
    assert "尚无快报" in empty.children


def test_manifest_files_tolerate_a_broken_manifest(tmp_path: Path) -> None:
    assert manifest_files(tmp_path) == []
    (tmp_path / "manifest.json").write_text("{broken", "utf-8")
    assert manifest_files(tmp_path) == []
    (tmp_path / "manifest.json").write_text(
        json.dumps({"files": [{"path": "report.html", "sha256": "x"}, {"nope": 1}]}), "utf-8"
    )
    assert [f["path"] for f in manifest_files(tmp_path)] == ["report.html", "manifest.json"]


def test_files_are_served_from_the_day_only(tmp_path: Path) -> None:
    from dashboard.app import create_app
    from dashboard.services import Services
    from tests.conftest import build_runtime

    rt = build_runtime(tmp_path, {}, extra={"server": {"anonymous_viewer": True}})
    try:
        day = rt.settings.storage.data_dir / "snapshots" / "2026-06-14"
        (day / "data").mkdir(parents=True)
        (day / "report.html").write_text("<html>report</html>", "utf-8")
        (day / "data" / "w.parquet").write_bytes(b"PAR1")
        (rt.settings.storage.data_dir / "secret.txt").write_text("no", "utf-8")
        client = create_app(Services(rt)).server.test_client()
        ok = client.get("/snapshots/2026-06-14/report.html")
        assert ok.status_code == 200 and ok.get_data(as_text=True) == "<html>report</html>"
        ok.close()
        dl = client.get("/snapshots/2026-06-14/data/w.parquet?download=1")
        assert dl.status_code == 200 and "attachment" in dl.headers["Content-Disposition"]
        dl.close()
        for bad in (
            "/snapshots/2026-06-14/../secret.txt",
            "/snapshots/2026-06-14/..%2Fsecret.txt",
            "/snapshots/2026-6-14/report.html",
            "/snapshots/2026-06-13/report.html",
            "/snapshots/../../secret.txt",
        ):
            r = client.get(bad)
            assert r.status_code == 404, bad
            r.close()
    finally:
        rt.warehouse.close()


def test_rendered_at_without_timezone_is_utc() -> None:
    from dashboard.components import local_time as _fmt_time

    assert _fmt_time(FakeServices(), pd.Timestamp("2026-06-15 00:05")) == "06-15 08:05"
    assert _fmt_time(FakeServices(), datetime(2026, 6, 15, 0, 5, tzinfo=UTC)) == "06-15 08:05"
    assert _fmt_time(FakeServices(), None) == "—"
