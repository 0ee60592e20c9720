"""The two editions of HJ 633 and when each is in force.

HJ 633-2026 replaced HJ 633-2012 on 2026-03-01; 2012 is kept for historical data.

Edition switch (a convention, not fixed by the standards): HJ 633-2026 applies from 2026-03-01 00:00
China Standard Time (UTC+8), i.e. 2026-02-28 16:00 UTC (:data:`EDITION_2026_EFFECTIVE`). Naive
datetimes are UTC (the warehouse's convention); a ``datetime.date`` is a calendar day in China. Reports
pick the edition by the *start* of each averaging period (the hour for the real-time report, the local
day for the daily report), so the hour 2026-02-28 23:00–24:00 (CST) is still 2012 and the day
2026-03-01 is 2026.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

import pandas as pd

EDITION_2012: Final = "HJ 633-2012"
EDITION_2026: Final = "HJ 633-2026"
EDITIONS: Final = (EDITION_2012, EDITION_2026)
DEFAULT_EDITION: Final = EDITION_2026

#: HJ 633-2026 takes effect at 2026-03-01 00:00 China Standard Time (UTC+8, no DST).
CST: Final = timezone(timedelta(hours=8), "CST")
EDITION_2026_EFFECTIVE: Final = datetime(2026, 3, 1, tzinfo=CST)
EFFECTIVE_UTC_NS: Final = int(pd.Timestamp(EDITION_2026_EFFECTIVE).value)


def edition_for(ts: Any) -> str:
    """The HJ 633 edition in force at ``ts`` (before 2026-03-01 00:00 CST → 2012, from then on → 2026).

    ``ts`` may be a ``datetime`` / ``pandas.Timestamp`` / ``numpy.datetime64`` / ISO string (naive ones
    are UTC, like the warehouse's timestamps; aware ones are converted) or a ``datetime.date`` (a calendar
    day in China).

    >>> edition_for("2026-02-28 15:59"), edition_for("2026-02-28 16:00")
    ('HJ 633-2012', 'HJ 633-2026')
    >>> edition_for(date(2026, 3, 1))
    'HJ 633-2026'
    """
    if isinstance(ts, date) and not isinstance(ts, datetime):
        return EDITION_2026 if ts >= EDITION_2026_EFFECTIVE.date() else EDITION_2012
    stamp = pd.Timestamp(ts)
    if stamp is pd.NaT:
        raise ValueError("edition_for needs a timestamp, got NaT")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return EDITION_2026 if stamp >= pd.Timestamp(EDITION_2026_EFFECTIVE) else EDITION_2012
