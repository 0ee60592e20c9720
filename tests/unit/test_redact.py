"""Redacting URLs, messages and log records: tricky inputs, secrets from the configuration, the filter."""

from __future__ import annotations

import doctest
import io
import logging
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cityops.base.redact as redact
from cityops.base.redact import (
    RedactingFilter,
    add_logging_secrets,
    install_redaction,
    redact_text,
    redact_url,
    secret_values,
)
from cityops.base.settings import settings_from_dict
from ingest.sources import feed_secrets


def test_the_module_examples_hold() -> None:
    result = doctest.testmod(redact, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15 and result.failed == 0


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("http://h.example/api/aqi", "http://h.example/api/aqi"),  # no query: unchanged
        ("http://h/p?appKey=SECRET123&page=1", "http://h/p?appKey=***&page=***"),
        ("http://h/p?appKey=SECRET123#frag", "http://h/p?appKey=***#frag"),
        ("http://h/p#access_token=SECRET123", "http://h/p#access_token=***"),
        ("http://[2001:db8::1]:8443/p?k=SECRET123", "http://[2001:db8::1]:8443/p?k=***"),
        ("https://user:pa%3Ass@h:1/p", "https://***@h:1/p"),
        ("https://user@h/p", "https://***@h/p"),
        ("postgresql://etl:p@ss@db:5432/x?sslmode=require", "postgresql://***@db:5432/x?sslmode=***"),
        ("http://h/p?k=SE%43RET%20123&k=again", "http://h/p?k=***&k=***"),
        ("http://h/p?SECRET123", "http://h/p?***"),
        ("http://h/p?", "http://h/p?"),
        ("http://h/a@b/c", "http://h/a@b/c"),  # an @ in the path is not user-info
        ("", ""),
        ("清城区水位站", "清城区水位站"),
    ],
)
def test_redact_url(url: str, want: str) -> None:
    assert redact_url(url) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Server error '503 Service Unavailable' for url 'http://h/p?key=SECRET123'",
            "Server error '503 Service Unavailable' for url 'http://h/p?key=***'",
        ),
        ('failed ("http://h/p?key=SECRET123")', 'failed ("http://h/p?key=***")'),
        ("(see http://h/p?key=SECRET123)", "(see http://h/p?key=***)"),
        ("at <http://h/p?key=SECRET123>.", "at <http://h/p?key=***>."),
        ("one http://a/?x=1, two https://b/?y=2;", "one http://a/?x=***, two https://b/?y=***;"),
        ("mysql://root:SECRET123@10.1.2.3:3306/db refused", "mysql://***@10.1.2.3:3306/db refused"),
        ("no URL here: PM2.5 > 75 µg/m³; 12:30; a?b=c", "no URL here: PM2.5 > 75 µg/m³; 12:30; a?b=c"),
        ("page 2 of 5 (cursor 'abc')", "page 2 of 5 (cursor 'abc')"),
        ("", ""),
    ],
)
def test_redact_text(text: str, want: str) -> None:
    assert redact_text(text) == want


def test_known_secrets_are_masked_in_any_form_and_short_ones_are_not() -> None:
    text = "token tok/9+f refused; encoded tok%2F9%2Bf; plus-form tok%2F9%2Bf; pin 42 kept"
    assert (
        redact_text(text, ["tok/9+f", "42"]) == "token *** refused; encoded ***; plus-form ***; pin 42 kept"
    )
    assert redact_text("abcdef and abc", ["abc", "abcdef"]) == "*** and abc"  # longest first; 3 chars kept


def test_junk_never_raises() -> None:
    for junk in (
        "http://[::1",
        "http://%zz@/?=&&==#==",
        "a" * 10_000 + "://x?" + "=" * 1000,
        "\x00://\x00?\x00=\x00",
    ):
        assert isinstance(redact_url(junk), str)
        assert isinstance(redact_text(junk, ["\x00\x00\x00\x00"]), str)
    assert redact_text(None) is None  # type: ignore[arg-type]


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5})?", fullmatch=True),
    secret=st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", min_size=6, max_size=30),
    before=st.text(max_size=20).filter(lambda s: "://" not in s),
    quote=st.sampled_from(["'", '"', "(", "<", " ", ""]),
)
def test_a_query_value_never_survives_in_text(host: str, secret: str, before: str, quote: str) -> None:
    close = {"(": ")", "<": ">"}.get(quote, quote)
    text = f"{before} {quote}https://{host}/p?key={secret}&n=1{close} after"
    out = redact_text(text)
    assert f"key={secret}" not in out and "key=***" in out
    assert out.endswith(f"{close} after")


def test_secret_values_from_the_configuration() -> None:
    settings = settings_from_dict(
        {
            "feeds": {
                "speeds": {
                    "department": "交通运输局",
                    "domain": "traffic",
                    "cadence": "5m",
                    "source": {
                        "type": "http",
                        "url": "https://api.example/v1?appKey=URLKEY99&page=1",
                        "headers": {"Authorization": "Bearer ${TOKEN}", "Accept": "application/json"},
                        "params": {"sign": "PARAMSIG", "area": "qingcheng"},
                    },
                    "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
                },
                "gates": {
                    "department": "水利局",
                    "domain": "water",
                    "cadence": "5m",
                    "source": {
                        "type": "database",
                        "dsn": "postgresql://etl:${DB_PASS}@db:5432/x",
                        "query": "SELECT * FROM t WHERE tm > :since",
                        "watermark_column": "tm",
                    },
                    "fields": {"entity_id": "stcd", "ts": "tm"},
                },
            }
        },
        environ={"TOKEN": "tok-abcdef", "DB_PASS": "pg-secret-1"},
    )
    found = feed_secrets(settings, {"TOKEN": "tok-abcdef", "DB_PASS": "pg-secret-1"})
    assert {"tok-abcdef", "Bearer tok-abcdef", "pg-secret-1", "URLKEY99", "PARAMSIG"} <= found
    assert not found & {"application/json", "qingcheng", "1"}
    assert secret_values(references=["${MISSING}"], environ={}) == {"${MISSING}"}  # nothing resolved


def _logger_with_stream() -> tuple[logging.Logger, logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test.redact.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, handler, stream


def test_the_filter_redacts_the_final_message_and_the_traceback() -> None:
    logger, handler, stream = _logger_with_stream()
    filt = install_redaction([handler])
    install_redaction([handler])  # idempotent: one filter per handler
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    filt.add_secrets(["hdr-token-77"])
    logger.warning("feed %s: %s", "speeds", "GET http://h/p?appKey=SECRET123 with hdr-token-77 failed")
    logger.info("plain %d%%", 5)
    try:
        raise RuntimeError("connect to mysql://root:SECRET123@db/x failed")
    except RuntimeError:
        logger.exception("run %s crashed", "r1")
    out = stream.getvalue()
    assert "SECRET123" not in out and "hdr-token-77" not in out
    assert "appKey=***" in out and "with *** failed" in out and "plain 5%" in out
    assert "mysql://***@db/x" in out and "Traceback" in out


def test_secrets_reach_the_root_handlers_filters() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        install_redaction([handler])
        add_logging_secrets(["db-pass-9876"])
        logging.getLogger("test.redact.root").error("login with db-pass-9876 refused")
    finally:
        root.removeHandler(handler)
    assert stream.getvalue() == "login with *** refused\n"
