"""Sending a rendered day to the notification targets whose events include ``snapshot``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from dashboard.i18n import t
from dashboard.snapshot.result import SnapshotResult
from dashboard.snapshot.window import snapshot_window

# WeCom refuses an image message over 2 MB: a larger summary image goes as its link only.
WECOM_IMAGE_LIMIT = 2 * 1024 * 1024

LevelKey = Literal["red", "orange", "yellow", "blue"]
LEVELS_WORST_FIRST: tuple[LevelKey, ...] = ("red", "orange", "yellow", "blue")


def snapshot_notification(rt: Any, result: SnapshotResult, *, at: datetime) -> Any:
    """The :class:`~cityops.notify.Notification` of a rendered day: headline numbers, the link to the
    archived report and (WeCom) the summary image itself."""
    from cityops.notify import Notification

    settings = rt.settings
    s = result.summary
    counts = s.get("warnings", {}).get("counts", {})
    worst: LevelKey = "blue"
    for key in LEVELS_WORST_FIRST:
        if any(counts.get(e, {}).get(key) for e in ("raised", "escalated")) or any(
            w.get("level") == key for w in s.get("warnings", {}).get("open_at_cut_off", [])
        ):
            worst = key
            break
    headline = "；".join(f"{h['label']} {h['value']}" for h in s.get("headline", []))
    if result.status != "ok":
        headline = f"{t('snapshot.status.' + result.status)}：{result.reason}；{headline}"
    base = settings.snapshots.base_url or settings.warnings.dashboard_url
    day = result.day.isoformat()
    link = f"{base.rstrip('/')}/snapshots/{day}/report.html" if base else None
    image_path = result.directory / "summary.png"
    image = image_path.read_bytes() if image_path.exists() else None
    image_url = f"{base.rstrip('/')}/snapshots/{day}/summary.png" if base and image is not None else None
    end = snapshot_window(result.day, settings.city.timezone, settings.snapshots.cut_off_time).end
    return Notification(
        event="snapshot",
        warning_id=f"snapshot-{day}",
        dedup_key=f"snapshot:{day}",
        rule_id="snapshot.daily",
        rule_title=t("snapshot.title", "zh").format(city=settings.city.name, day=day),
        level=worst,
        state=result.status,
        department=t("snapshot.dept.centre", "zh"),
        district=settings.city.name,
        summary=headline,
        raised_at=end,
        at=at,
        link=link,
        image_url=image_url,
        image=image if image is not None and len(image) <= WECOM_IMAGE_LIMIT else None,
        extra={
            "day": day,
            "status": result.status,
            "reason": result.reason,
            "counts": counts,
            "open_at_cut_off": len(s.get("warnings", {}).get("open_at_cut_off", [])),
            "pack_version": result.pack_version,
        },
    )


def deliver_snapshot(
    rt: Any,
    result: SnapshotResult,
    *,
    now: Callable[[], datetime] | None = None,
    client: Any = None,
    sleep: Callable[[float], Any] | None = None,
) -> list[Any]:
    """Send a rendered day to every enabled target whose events include ``snapshot``, with retries;
    each outcome goes to the delivery log. Returns the delivery records."""
    from cityops.notify import deliver

    targets = [tg for tg in rt.settings.notifications if tg.enabled and "snapshot" in tg.events]
    if not targets:
        return []
    clock = now or rt.clock.now
    note = snapshot_notification(rt, result, at=rt.clock.now())
    return deliver(
        targets,
        note,
        client=client,
        now=clock,
        environ=rt.environ,
        sleep=sleep or time.sleep,
        log=rt.warehouse.log_delivery,
        timezone=rt.settings.city.timezone,
    )
