"""How fresh a page's data is: "数据截至 <local time of the newest observation> (n 分钟前)".

The time is the data's, never the clock's: a page passes the newest observation it shows (naive UTC as
the warehouse stores it, or aware), and the line says when that was in the city's time and how long ago
by the service clock (the demo's simulated clock included). :func:`newest_observation` finds the newest
observation of every domain when a page shows them all (the map, the warning console).

One call per page::

    freshness_line(svc, newest_observation(svc), lang)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from cityops.base.times import aware_utc
from dashboard.i18n import t

#: The class of the line (styled in ``assets/explore.css``; muted text, no warning colour).
CLASS_NAME = "freshness-line"


def newest_observation(svc: Any) -> datetime | None:
    """The newest observation (naive UTC) of any domain (configured departments' too), not after now."""
    from dashboard.explore.catalog import explore_domains

    newest: datetime | None = svc.warehouse.newest_observation(
        list(explore_domains(svc.settings).values()), until=svc.now()
    )
    return newest


def age_text(minutes: float, lang: str) -> str:
    """``3 分钟前`` / ``2 小时前`` / ``5 天前`` (``刚刚`` under a minute)."""
    m = max(0, int(minutes))
    if m < 1:
        return t("fresh.now", lang)
    if m < 120:
        return t("fresh.minutes", lang).format(n=m)
    if m < 48 * 60:
        return t("fresh.hours", lang).format(n=m // 60)
    return t("fresh.days", lang).format(n=m // (24 * 60))


def freshness_text(svc: Any, at: Any, lang: str) -> str:
    """The line's text for the newest observation ``at`` (``None``: there is no data yet)."""
    moment = aware_utc(at)
    if moment is None:
        return t("fresh.none", lang)
    local = svc.local(moment).strftime("%Y-%m-%d %H:%M")
    age = (svc.now() - moment).total_seconds() / 60.0
    return t("fresh.asof", lang).format(time=local, age=age_text(age, lang))


def freshness_line(svc: Any, at: Any, lang: str, *, component_id: str | None = None) -> html.Div:
    """A small line "数据截至 2026-06-15 12:00 (3 分钟前)" for the newest observation ``at``."""
    text = freshness_text(svc, at, lang)
    if component_id is not None:
        return html.Div(text, id=component_id, className=CLASS_NAME)
    return html.Div(text, className=CLASS_NAME)
