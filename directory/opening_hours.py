"""Is a service open now? Weekly schedules read in the centre's own time zone,
with the national public holidays of its country treated as closed unless the
schedule says it opens on holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .models import WEEKDAYS, Schedule

COUNTRY_TIMEZONES = {"LV": ZoneInfo("Europe/Riga"), "LT": ZoneInfo("Europe/Vilnius")}
DEFAULT_COUNTRY = "LV"


@lru_cache(maxsize=32)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def is_public_holiday(country: str, day: date) -> bool:
    return day in _holidays(country, day.year)


def local_now(country: str, now: datetime) -> datetime:
    return now.astimezone(COUNTRY_TIMEZONES.get(country, COUNTRY_TIMEZONES[DEFAULT_COUNTRY]))


@dataclass(frozen=True)
class LocalMoment:
    """What 'now' means at a centre in one country."""

    country: str
    weekday: str  # MO … SU
    day: date
    time: time
    holiday: bool

    @classmethod
    def of(cls, country: str, now: datetime) -> LocalMoment:
        local = local_now(country, now)
        return cls(
            country=country,
            weekday=WEEKDAYS[local.weekday()],
            day=local.date(),
            time=local.time().replace(tzinfo=None),
            holiday=is_public_holiday(country, local.date()),
        )


@dataclass(frozen=True)
class OpenStatus:
    state: str  # "open", "closed" or "unknown" (no hours listed)
    closes_at: time | None = None
    next_weekday: str | None = None  # when closed: the day it opens next
    next_opens_at: time | None = None
    holiday: bool = False


def _applies(schedule: Schedule, day: date, holiday: bool) -> bool:
    if schedule.valid_from and day < schedule.valid_from:
        return False
    if schedule.valid_to and day > schedule.valid_to:
        return False
    if holiday and not schedule.open_on_public_holidays:
        return False
    return schedule.opens_at is not None and schedule.closes_at is not None


def opening_status(schedules: list[Schedule], country: str, now: datetime) -> OpenStatus:
    """Open or closed at `now`, and when it next opens; "unknown" without hours."""
    if not schedules:
        return OpenStatus("unknown")
    moment = LocalMoment.of(country, now)
    for schedule in schedules:
        if (
            schedule.byday == moment.weekday
            and _applies(schedule, moment.day, moment.holiday)
            and schedule.opens_at <= moment.time < schedule.closes_at
        ):
            return OpenStatus("open", closes_at=schedule.closes_at)
    # Look ahead a week, today first (it may open later today).
    for offset in range(8):
        day = moment.day + timedelta(days=offset)
        weekday = WEEKDAYS[day.weekday()]
        holiday = is_public_holiday(country, day)
        candidates = sorted(
            s.opens_at
            for s in schedules
            if s.byday == weekday
            and _applies(s, day, holiday)
            and (offset > 0 or s.opens_at > moment.time)
        )
        if candidates:
            return OpenStatus(
                "closed",
                next_weekday=None if offset == 0 else weekday,
                next_opens_at=candidates[0],
                holiday=moment.holiday,
            )
    return OpenStatus("closed", holiday=moment.holiday)
