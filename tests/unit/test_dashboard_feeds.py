"""The /feeds page's builders and callback, as plain functions (component trees compared as data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from dashboard.i18n import LANGUAGES, TEXT, t
from dashboard.pages.feeds import build_health_table, build_quarantine_table
from ingest.health import FeedHealth
from tests.helpers import component_texts

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


class FakeServices:
    def local(self, at: datetime) -> datetime:
        from zoneinfo import ZoneInfo

        return at.astimezone(ZoneInfo("Asia/Shanghai"))


def _health(name: str, freshness: str, error: str | None = None) -> FeedHealth:
    return FeedHealth(
        name,
        "市交通运输局",
        "traffic",
        freshness,
        timedelta(minutes=5),  # type: ignore[arg-type]
        NOW,
        NOW - timedelta(minutes=3),
        NOW,
        error,
        1 if error else 0,
        timedelta(minutes=3),
    )


def test_every_text_has_both_languages() -> None:
    for key, entry in TEXT.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key


def test_health_table_rows_show_state_time_and_error() -> None:
    runs = pd.DataFrame(
        [
            {
                "feed": "traffic",
                "started_at": pd.Timestamp("2026-06-15 11:58"),
                "status": "failed",
                "rows_inserted": 10,
                "rows_updated": 2,
                "rows_rejected": 3,
            }
        ]
    )
    table = build_health_table(
        [_health("traffic", "late", "HTTP 500"), _health("air", "fresh")], runs, FakeServices(), "zh"
    )
    body = table.children[1]
    assert [row.className for row in body.children] == ["row-late", "row-fresh"]
    first = component_texts(body.children[0])
    assert "traffic" in first and t("freshness.late", "zh") in first and "HTTP 500" in first
    assert "06-15 19:57" in first  # last data 11:57 UTC shown in Asia/Shanghai
    assert "12 / 3" in first  # loaded / quarantined of the last run
    assert any(t("status.failed", "zh") in x for x in first)
    assert "3分 / 5分" in first  # the data's lag against the cadence


def test_spans_read_naturally() -> None:
    from dashboard.pages.feeds import format_span

    assert [format_span(timedelta(seconds=s), "en") for s in (45, 12 * 60, 3.5 * 3600, 2.1 * 86400)] == [
        "45 s",
        "12 min",
        "3.5 h",
        "2.1 d",
    ]


def test_empty_states_say_so() -> None:
    assert component_texts(build_health_table([], pd.DataFrame(), FakeServices(), "en")) == [
        t("feeds.none", "en")
    ]
    assert component_texts(build_quarantine_table(pd.DataFrame(), "zh")) == [t("feeds.no_quarantine", "zh")]


def test_quarantine_text_is_rendered_as_text() -> None:
    rows = pd.DataFrame(
        [
            {
                "feed": "incidents",
                "row_number": 3,
                "reason": "<script>alert(1)</script>",
                "raw_row": '{"content": "<img src=x onerror=alert(1)>"}',
            }
        ]
    )
    table = build_quarantine_table(rows, "zh")
    texts = component_texts(table)
    # Dash renders children strings as text nodes, never as HTML: the markup survives as literal text.
    assert "<script>alert(1)</script>" in texts


def test_skipped_runs_are_said_on_the_feeds_row() -> None:
    from dataclasses import replace

    busy = replace(_health("traffic", "late", ""), skipped_runs=12)
    table = build_health_table([busy, _health("air", "fresh")], pd.DataFrame(), FakeServices(), "zh")
    body = table.children[1]
    assert any("12 次运行被跳过" in x for x in component_texts(body.children[0]))
    assert not any("跳过" in x for x in component_texts(body.children[1]))
