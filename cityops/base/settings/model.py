"""What every section of the configuration shares: strict, frozen models, timezones and crontabs."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Section(BaseModel):
    """A part of the configuration: unknown keys are errors and values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_timezone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"an IANA timezone name such as 'Asia/Shanghai' (a string), not {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"an IANA timezone name such as 'Asia/Shanghai', not {value!r}") from exc
    return value


Timezone = Annotated[str, BeforeValidator(_check_timezone)]


def check_crontab(value: str, *, example: str) -> str:
    """``value`` when it is a 5-field crontab expression; else a ValueError that shows ``example``."""
    # Imported here: the scheduler library is only needed once a schedule is validated.
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(
            f"a 5-field crontab expression (minute hour day month weekday), e.g. '{example}'; "
            f"{value!r} is invalid: {exc}"
        ) from exc
    return value
