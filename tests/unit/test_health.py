"""Feed freshness and the /healthz document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.health import classify_freshness

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


def test_health_document_reflects_feeds_and_database(tmp_path) -> None:
    from cityops.base.clock import FixedClock
    from cityops.base.settings import settings_from_dict
    from cityops.base.warehouse import Warehouse
    from dashboard.services import Services
    from ingest.pipeline import Runtime

    feed = {
        "department": "d",
        "domain": "traffic",
        "cadence": "5m",
        "source": {"type": "http", "url": "http://h/x"},
    }
    settings = settings_from_dict(
        {"storage": {"data_dir": str(tmp_path)}, "feeds": {"a": feed, "b": feed}}, environ={}
    )
    wh = Warehouse(settings.storage.database_path)
    svc = Services(Runtime(settings, wh, FixedClock(NOW)))
    doc = svc.health()
    assert doc == {
        "status": "ok",
        "database": "ok",
        "scheduler": "not running in this process",
        "feeds": {"a": "never", "b": "never"},
    }
    wh.start_run("r1", "a", "manual", NOW - timedelta(hours=1))
    import pandas as pd

    from cityops.base.domains import TRAFFIC

    rows = pd.DataFrame(
        {
            "entity_id": ["S"],
            "ts": [pd.Timestamp(NOW - timedelta(hours=1)).tz_localize(None)],
            "speed_kmh": [30.0],
            "volume_vph": [None],
            "occupancy_pct": [None],
        }
    )
    wh.commit_run(
        run_id="r1",
        feed="a",
        department="d",
        domain=TRAFFIC,
        accepted=rows,
        quarantined=pd.DataFrame(),
        summary={"status": "ok", "finished_at": NOW, "duration_s": 1},
        watermark_after=None,
        success=True,
    )
    doc = svc.health()
    assert doc["feeds"] == {"a": "stale", "b": "never"} and doc["status"] == "degraded"
    wh.close()
    down = svc.health()
    assert down["status"] == "down" and down["database"].startswith("error")


def test_a_new_feed_that_keeps_failing_degrades_health(tmp_path) -> None:
    from cityops.base.clock import FixedClock
    from cityops.base.settings import settings_from_dict
    from cityops.base.warehouse import Warehouse
    from dashboard.services import Services
    from ingest.pipeline import Runtime

    feed = {
        "department": "d",
        "domain": "traffic",
        "cadence": "5m",
        "source": {"type": "http", "url": "http://h/x"},
    }
    settings = settings_from_dict({"storage": {"data_dir": str(tmp_path)}, "feeds": {"a": feed}}, environ={})
    wh = Warehouse(":memory:")
    import pandas as pd

    from cityops.base.domains import TRAFFIC

    wh.start_run("r1", "a", "manual", NOW)
    wh.commit_run(
        run_id="r1",
        feed="a",
        department="d",
        domain=TRAFFIC,
        accepted=pd.DataFrame(),
        quarantined=pd.DataFrame(),
        summary={"status": "failed", "finished_at": NOW, "duration_s": 1, "error": "refused"},
        watermark_after=None,
        success=False,
    )
    doc = Services(Runtime(settings, wh, FixedClock(NOW))).health()
    assert doc["feeds"] == {"a": "never"} and doc["status"] == "degraded"
