"""`cityops rules check|backtest` and `cityops warnings list` on real data, as a user runs them."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from cityops.alerting import Alerting, load_rule_pack
from cityops.base.settings import Settings, load_settings
from cityops.demo import DEMO_CONFIG, DEMO_TOKEN, DEMO_TOKEN_ENV
from sample_data.generator import Scenario
from tests.helpers import build_demo_city, run_cityops

SCENARIO = Scenario()


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cityops(*args, cwd=cwd, env={"COLUMNS": "220", DEMO_TOKEN_ENV: DEMO_TOKEN}, timeout=300)


def _settings_from_a_config_file(data_dir: Path, feeds_url: str) -> Settings:
    """The demo city's settings as a user has them: a ``cityops.toml`` next to ``data_dir``, read back."""
    text = DEMO_CONFIG.read_text("utf-8").replace("{feeds_url}", feeds_url)
    base = DEMO_CONFIG.parent
    text = text.replace('"districts.geojson"', f'"{base / "districts.geojson"}"')
    text = text.replace('["entities.geojson"]', f'["{base / "entities.geojson"}"]')
    text = text.replace('"../rules/', f'"{base.parent / "rules"}/')
    path = data_dir.parent / "cityops.toml"
    path.write_text(f'[storage]\ndata_dir = "{data_dir}"\n\n' + text, "utf-8")
    return load_settings(path, environ={DEMO_TOKEN_ENV: DEMO_TOKEN})


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    """A configuration file for the demo city, with a warehouse holding the rainstorm's morning."""
    folder = tmp_path_factory.mktemp("cli-warnings")
    with build_demo_city(
        folder,
        now=SCENARIO.storm_peak + timedelta(hours=3),
        settings=_settings_from_a_config_file,
        backfill_since=SCENARIO.storm_peak - timedelta(hours=6),
    ) as city:
        Alerting(city.runtime, load_rule_pack(city.settings)).tick()
    yield folder / "cityops.toml"  # the warehouse is closed: the commands open it


def test_rules_check_lists_the_layered_pack(config: Path) -> None:
    result = cli("rules", "check", "--config", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr
    assert "national 2026.1 + guangdong 2026.1 + qingyuan 2026.2" in result.stdout
    assert "water.basin.corroborated" in result.stdout and "compound" in result.stdout


def test_backtest_prints_counts_per_rule_and_level(config: Path) -> None:
    start = (SCENARIO.storm_peak - timedelta(hours=2)).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    )
    end = start + timedelta(hours=4)
    result = cli(
        "rules",
        "backtest",
        "--from",
        f"{start:%Y-%m-%dT%H:%M}",
        "--to",
        f"{end:%Y-%m-%dT%H:%M}",
        "--step",
        "15m",
        "--events",
        "--config",
        str(config),
        cwd=config.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "16 ticks" in result.stdout
    lines = [ln for ln in result.stdout.splitlines() if "rain.signal" in ln and "orange" in ln]
    assert lines, result.stdout
    assert "raised" in result.stdout and "warnings still open at the end" in result.stdout


def test_backtest_rejects_a_reversed_range(config: Path) -> None:
    result = cli(
        "rules",
        "backtest",
        "--from",
        "2026-06-15",
        "--to",
        "2026-06-14",
        "--config",
        str(config),
        cwd=config.parent,
    )
    assert result.returncode == 2 and "--to must be after --from" in result.stderr


def test_warnings_list_shows_open_warnings(config: Path) -> None:
    result = cli("warnings", "list", "--active", "--config", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr
    assert "warnings (open):" in result.stdout and "rule pack: national 2026.1" in result.stdout
    assert "rain.signal" in result.stdout


def test_status_prints_the_index_per_district(config: Path) -> None:
    result = cli("status", "--config", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr
    assert "city-operations index" in result.stdout
    for district in ("清城区", "清新区", "英德市", "连州市"):
        assert district in result.stdout
    assert "open warnings:" in result.stdout


def test_rules_check_names_a_metric_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        '[pack]\nid = "x"\nversion = "1"\ntitle = "x"\n[[rules]]\nid = "w"\ntitle = "w"\n'
        'kind = "ladder"\ndomain = "water"\nmetric = "levle_m"\ncitation = "c"\n'
        "effective = 2020-01-01\nlevels = { yellow = 1 }\n",
        "utf-8",
    )
    (tmp_path / "c.toml").write_text('[warnings]\npacks = ["p.toml"]\n', "utf-8")
    result = cli("rules", "check", "--config", str(tmp_path / "c.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "rule w: water has no metric 'levle_m'; allowed:" in result.stderr and "level_m" in result.stderr
