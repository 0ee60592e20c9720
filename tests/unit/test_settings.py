"""Settings: each bad configuration gives one ConfigError line.

The line names the file, the key and what is allowed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cityops.base.errors import ConfigError
from cityops.base.settings import (
    load_settings,
    parse_duration,
    resolve_secret,
    settings_from_dict,
)

FEED = """
[feeds.city-traffic]
department = "交通运输局"
domain = "{domain}"
cadence = "5m"
{extra}

[feeds.city-traffic.source]
type = "http"
url = "http://127.0.0.1:9/speeds"
"""


def config_error(tmp_path: Path, text: str, name: str = "cityops.toml") -> str:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert "\n" not in message, "one line"
    assert str(path.resolve()) in message, "names the file"
    return message


def test_unknown_key(tmp_path):
    message = config_error(tmp_path, "[server]\nport = 8050\nprot = 8060\n")
    assert f"{tmp_path.resolve() / 'cityops.toml'}:3: server.prot: unknown key" in message
    assert "check its spelling" in message


def test_unknown_key_inside_a_feed_source(tmp_path):
    message = config_error(tmp_path, FEED.format(domain="traffic", extra="") + 'records_path = "data"\n')
    assert "feeds.city-traffic.source.records_path: unknown key" in message


def test_wrong_type(tmp_path):
    message = config_error(tmp_path, '[server]\nport = "eighty"\n')
    assert ":2: server.port: Input should be a valid integer" in message


def test_out_of_range_value_says_what_is_allowed(tmp_path):
    message = config_error(tmp_path, "[server]\nport = 70000\n")
    assert "server.port" in message and "65535" in message


def test_bad_duration(tmp_path):
    message = config_error(tmp_path, '[ingest]\nread_timeout = "soon"\n')
    assert "ingest.read_timeout: a duration such as '30s', '5m', '1h' or '1d', not 'soon'" in message


def test_missing_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    message = str(info.value)
    assert "\n" not in message
    assert f"configuration file {path} does not exist" in message
    assert "--config" in message  # and what to do


def test_not_toml(tmp_path):
    message = config_error(tmp_path, "[server\nport = 1\n")
    assert "not valid TOML" in message and "line 1" in message


def test_bad_cron(tmp_path):
    message = config_error(tmp_path, FEED.format(domain="traffic", extra='schedule = {cron = "61 * * * *"}'))
    assert "feeds.city-traffic.schedule.cron" in message
    assert "5-field crontab expression" in message and "'61 * * * *' is invalid" in message


def test_schedule_needs_exactly_one_of_interval_or_cron(tmp_path):
    message = config_error(
        tmp_path, FEED.format(domain="traffic", extra='schedule = {interval = "5m", cron = "*/5 * * * *"}')
    )
    assert "feeds.city-traffic.schedule" in message and "exactly one of 'interval' or 'cron'" in message


def test_bad_timezone(tmp_path):
    message = config_error(tmp_path, '[city]\ntimezone = "Asia/Shanghi"\n')
    assert ":2: city.timezone: an IANA timezone name such as 'Asia/Shanghai', not 'Asia/Shanghi'" in message


def test_bad_feed_timezone(tmp_path):
    message = config_error(tmp_path, FEED.format(domain="traffic", extra='timezone = "Mars/Olympus"'))
    assert "feeds.city-traffic.timezone: an IANA timezone name" in message


def test_non_string_timezone_is_a_config_error(tmp_path):
    message = config_error(tmp_path, "[city]\ntimezone = 8\n")
    assert "city.timezone" in message


def test_unknown_domain(tmp_path):
    message = config_error(tmp_path, FEED.format(domain="firefighting", extra=""))
    assert "feeds.city-traffic.domain: 'firefighting' is not a domain" in message
    assert "allowed: air, incident, rain, traffic, water" in message


def test_configured_domain_is_allowed(tmp_path):
    text = FEED.format(domain="hydrant", extra="") + (
        '\n[domains.hydrant]\nmetrics = [{name = "pressure_mpa", unit = "MPa", min = 0, max = 2.5}]\n'
    )
    path = tmp_path / "ok.toml"
    path.write_text(text, "utf-8")
    settings = load_settings(path, environ={})
    assert settings.feeds["city-traffic"].domain == "hydrant"
    assert settings.domains["hydrant"].metrics[0].max == 2.5


def test_domain_may_not_shadow_a_builtin(tmp_path):
    message = config_error(tmp_path, '[domains.air]\nmetrics = [{name = "x"}]\n')
    assert "domains.air" in message and "built-in" in message


def test_unknown_source_type(tmp_path):
    message = config_error(
        tmp_path, FEED.format(domain="traffic", extra="").replace('type = "http"', 'type = "ftp"')
    )
    assert "feeds.city-traffic.source: source.type must be one of 'http', 'file', 'database'" in message


def test_database_query_needs_since(tmp_path):
    text = """
[feeds.db]
department = "水利局"
domain = "water"
cadence = "5m"
source = {type = "database", dsn = "postgresql://u@h/db", \
query = "SELECT * FROM t", watermark_column = "updated_at"}
"""
    message = config_error(tmp_path, text)
    assert "feeds.db.source.query" in message and ":since" in message


def test_several_problems_are_counted_on_the_one_line(tmp_path):
    message = config_error(tmp_path, '[server]\nport = "x"\nthreads = 0\n')
    assert "(and 1 more:" in message


def test_unknown_unit_is_rejected_at_start(tmp_path):
    config_error(tmp_path, FEED.format(domain="traffic", extra='units = {speed_kmh = "furlong/fortnight"}'))


def test_secret_resolution():
    assert resolve_secret("Bearer ${TOKEN}", {"TOKEN": "abc"}) == "Bearer abc"
    assert (
        resolve_secret("postgresql://${U}:${P}@h/db", {"U": "ops", "P": "p@ss"})
        == "postgresql://ops:p@ss@h/db"
    )
    assert resolve_secret("no variables", {}) == "no variables"
    with pytest.raises(ConfigError) as info:
        resolve_secret("Bearer ${TOKEN}", {})
    assert (
        str(info.value) == "environment variable TOKEN is not set — export TOKEN=... before starting cityops"
    )


def test_secrets_stay_unresolved_in_settings(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        FEED.format(domain="traffic", extra="").replace(
            'type = "http"', 'type = "http"\nheaders = {Authorization = "Bearer ${TOKEN}"}'
        ),
        "utf-8",
    )
    settings = load_settings(path, environ={})  # TOKEN is not needed to load, only to fetch
    assert settings.feeds["city-traffic"].source.headers == {"Authorization": "Bearer ${TOKEN}"}


def test_environment_override():
    settings = settings_from_dict({"server": {"port": 8050}}, environ={"CITYOPS__SERVER__PORT": "8060"})
    assert settings.server.port == 8060
    settings = settings_from_dict({}, environ={"CITYOPS__INGEST__READ_TIMEOUT": "45s", "UNRELATED": "x"})
    assert settings.ingest.read_timeout == timedelta(seconds=45)


def test_bad_environment_override_names_the_key():
    with pytest.raises(ConfigError) as info:
        settings_from_dict({}, environ={"CITYOPS__SERVER__PORT": "eighty"})
    assert "server.port: Input should be a valid integer" in str(info.value)
    with pytest.raises(ConfigError) as info:
        settings_from_dict({}, environ={"CITYOPS__SERVER__PROT": "1"})
    assert "server.prot: unknown key" in str(info.value)


def test_relative_paths_are_relative_to_the_file(tmp_path):
    path = tmp_path / "conf" / "cityops.toml"
    path.parent.mkdir()
    path.write_text(
        '[storage]\ndata_dir = "data"\n[feeds.drop]\ndepartment = "x"\ndomain = "rain"\ncadence = "1h"\n'
        'source = {type = "file", path = "incoming"}\n',
        "utf-8",
    )
    settings = load_settings(path, environ={})
    assert settings.storage.data_dir == path.parent.resolve() / "data"
    assert settings.feeds["drop"].source.path == path.parent.resolve() / "incoming"
    assert settings.source_path == path.resolve()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("5min", 300), ("1.5h", 5400), ("1d", 86400), ("250ms", 0.25), (90, 90)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "", "-5m", True])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError, match="a duration such as"):
        parse_duration(bad)


def test_a_mapping_to_a_column_the_domain_lacks_is_rejected_at_start(tmp_path):
    message = config_error(tmp_path, FEED.format(domain="traffic", extra='fields = {speedkmh = "v"}'))
    assert "feeds.city-traffic.fields.speedkmh: not a column of domain 'traffic'" in message
    assert "speed_kmh" in message  # the allowed names are listed


def test_a_unit_that_cannot_convert_is_rejected_at_start(tmp_path):
    message = config_error(tmp_path, FEED.format(domain="traffic", extra='units = {speed_kmh = "cm"}'))
    assert "feeds.city-traffic.units.speed_kmh: cannot convert 'cm' to 'km/h'" in message
