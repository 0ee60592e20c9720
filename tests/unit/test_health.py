"""Feed freshness and the /healthz document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cityops.base.clock import FixedClock
from cityops.base.domains import TRAFFIC
from cityops.base.settings import Settings, settings_from_dict
from cityops.base.warehouse import Warehouse
from dashboard.services import Services
from ingest.health import classify_freshness
from ingest.pipeline import Runtime
from tests.helpers import commit_frame

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
FIVE = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), "fresh"),
        (timedelta(minutes=10), "fresh"),  # exactly late_after × cadence is still fresh
        (timedelta(minutes=10, seconds=1), "late"),
        (timedelta(minutes=30), "late"),
        (timedelta(minutes=30, seconds=1), "stale"),
        (timedelta(days=3), "stale"),
    ],
)
def test_freshness_against_cadence(age: timedelta, expected: str) -> None:
    assert classify_freshness(NOW - age, FIVE, NOW, late_after=2, stale_after=6) == expected


def test_never_and_naive_times() -> None:
    assert classify_freshness(None, FIVE, NOW) == "never"
    naive_utc = (NOW - timedelta(minutes=1)).replace(tzinfo=None)
    assert classify_freshness(naive_utc, FIVE, NOW) == "fresh"


def settings_with_feeds(tmp_path: Path, *names: str) -> Settings:
    """A configuration whose feeds ``names`` are alike: traffic every 5 minutes."""
    feed = {
        "department": "d",
        "domain": "traffic",
        "cadence": "5m",
        "source": {"type": "http", "url": "http://h/x"},
    }
    return settings_from_dict(
        {"storage": {"data_dir": str(tmp_path)}, "feeds": dict.fromkeys(names, feed)}, environ={}
    )


def test_health_document_reflects_feeds_and_database(tmp_path: Path) -> None:
    settings = settings_with_feeds(tmp_path, "a", "b")
    wh = Warehouse(settings.storage.database_path)
    svc = Services(Runtime(settings, wh, FixedClock(NOW)))
    doc = svc.health()
    assert doc == {
        "status": "ok",
        "database": "ok",
        "scheduler": "not running in this process",
        "feeds": {"a": "never", "b": "never"},
        "engine": {"status": "ok", "faults": []},
    }
    rows = pd.DataFrame(
        {
            "entity_id": ["S"],
            "ts": [pd.Timestamp(NOW - timedelta(hours=1)).tz_localize(None)],
            "speed_kmh": [30.0],
            "volume_vph": [None],
            "occupancy_pct": [None],
        }
    )
    commit_frame(wh, "r1", TRAFFIC, rows, NOW - timedelta(hours=1), finished_at=NOW, feed="a")
    doc = svc.health()
    assert doc["feeds"] == {"a": "stale", "b": "never"} and doc["status"] == "degraded"
    wh.close()
    down = svc.health()
    assert down["status"] == "down" and down["database"].startswith("error")


def test_a_new_feed_that_keeps_failing_degrades_health(tmp_path: Path) -> None:
    settings = settings_with_feeds(tmp_path, "a")
    wh = Warehouse(":memory:")
    commit_frame(wh, "r1", TRAFFIC, pd.DataFrame(), NOW, feed="a", error="refused")
    doc = Services(Runtime(settings, wh, FixedClock(NOW))).health()
    assert doc["feeds"] == {"a": "never"} and doc["status"] == "degraded"
