"""The start-up self-check: every external URL the map, assets and pages would load, refused offline."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cityops.base.settings import settings_from_dict
from dashboard.offline import OfflineCheckError, find_external_urls, self_check

ASSETS = Path(__file__).resolve().parents[2] / "dashboard" / "assets"


def test_the_shipped_assets_and_default_map_are_clean() -> None:
    assert find_external_urls(settings_from_dict({}, environ={}), None, ASSETS) == []


def test_the_real_app_loads_nothing_from_outside(tmp_path: Path) -> None:
    from cityops.base.clock import SystemClock
    from cityops.base.warehouse import Warehouse
    from dashboard.app import create_app
    from dashboard.services import Services
    from ingest.pipeline import Runtime

    settings = settings_from_dict({"storage": {"data_dir": str(tmp_path)}}, environ={})
    app = create_app(Services(Runtime(settings, Warehouse(":memory:"), SystemClock())))
    assert find_external_urls(settings, app, Path(app.config.assets_folder)) == []


def test_a_cdn_font_in_an_asset_is_found_and_refused(tmp_path: Path) -> None:
    (tmp_path / "theme.css").write_text(
        "@import url('https://fonts.googleapis.com/css2?family=Noto+Sans+SC');\n", "utf-8"
    )
    settings = settings_from_dict({}, environ={})
    found = find_external_urls(settings, None, tmp_path)
    assert [str(f) for f in found] == [
        "asset theme.css: https://fonts.googleapis.com/css2?family=Noto+Sans+SC"
    ]
    with pytest.raises(OfflineCheckError, match=r"would load from outside: asset theme\.css"):
        self_check(settings, None, tmp_path)


def test_an_intranet_tile_server_is_allowed_by_host_and_warn_mode_only_warns(tmp_path: Path, caplog) -> None:
    tiles = {"tile_url": "http://gis.qy.gov.cn/tiles/{z}/{x}/{y}.png", "tile_datum": "gcj02"}
    with pytest.raises(OfflineCheckError, match=r"map style: http://gis\.qy\.gov\.cn"):
        self_check(settings_from_dict({"map": tiles}, environ={}))
    assert (
        self_check(settings_from_dict({"map": {**tiles, "allowed_hosts": ["gis.qy.gov.cn"]}}, environ={}))
        == []
    )
    with caplog.at_level(logging.WARNING, logger="dashboard.offline"):
        found = self_check(settings_from_dict({"map": {**tiles, "self_check": "warn"}}, environ={}))
    assert found and "OFFLINE CHECK" in caplog.text


def test_webhooks_outside_the_intranet_are_named_but_do_not_block(caplog) -> None:
    settings = settings_from_dict(
        {
            "notifications": [
                {
                    "name": "duty-wecom",
                    "format": "wecom",
                    "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
                },
                {"name": "internal", "format": "generic", "url": "http://hooks.ops.local/cityops"},
            ],
            "map": {"allowed_hosts": ["hooks.ops.local"]},
        },
        environ={},
    )
    with caplog.at_level(logging.WARNING, logger="dashboard.offline"):
        assert self_check(settings) == []
    assert "notification target duty-wecom" in caplog.text and "internal" not in caplog.text
