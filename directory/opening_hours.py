"""Is a service open now? Schedules read in the centre's own time zone
(times given with a UTC offset are converted to it), with the national
public holidays of its country treated as closed unless the schedule says
it opens on holidays. Which days a schedule applies on is its recurrence
rule (directory.recurrence.occurs_on): weekday lists, fortnightly and
monthly rules count on their own days; a rule the directory cannot
evaluate is left out, never taken as open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from babel.core import get_global

from .models import WEEKDAYS, Schedule
from .recurrence import occurs_on

COUNTRY_TIMEZONES = {"LV": ZoneInfo("Europe/Riga"), "LT": ZoneInfo("Europe/Vilnius")}
DEFAULT_COUNTRY = "LV"


@lru_cache(maxsize=32)
def _holidays(country: str, year: int) -> holidays.HolidayBase | dict:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:  # a country the holidays library does not know
        return {}


def is_public_holiday(country: str, day: date) -> bool:
    """Whether `day` is a national public holiday in the country."""
    return day in _holidays(country, day.year)


@lru_cache(maxsize=64)
def place_zone(country: str) -> ZoneInfo:
    """The time zone of a place's country: Latvia's and Lithuania's, or for
    an imported listing elsewhere the zone of a one-zone country (Estonia,
    Poland). For a country with several zones, or none known, Latvia's: the
    directory cannot tell (a schedule's own UTC offset, when it states one,
    is used instead)."""
    if country in COUNTRY_TIMEZONES:
        return COUNTRY_TIMEZONES[country]
    zones = get_global("territory_zones").get(country or "")
    try:
        return ZoneInfo(zones[0]) if zones and len(zones) == 1 else COUNTRY_TIMEZONES[DEFAULT_COUNTRY]
    except (KeyError, ValueError):
        return COUNTRY_TIMEZONES[DEFAULT_COUNTRY]


def local_now(country: str, now: datetime) -> datetime:
    """`now` (aware) as the place's own clock reads it."""
    return now.astimezone(place_zone(country))


@dataclass(frozen=True)
class LocalMoment:
    """What 'now' means at a centre in one country."""

    country: str
    weekday: str  # MO … SU
    day: date
    time: time
    holiday: bool
    instant: datetime | None = None  # the same moment, aware, in the place's zone

    @classmethod
    def of(cls, country: str, now: datetime) -> LocalMoment:
        local = local_now(country, now)
        return cls(
            country=country,
            weekday=WEEKDAYS[local.weekday()],
            day=local.date(),
            time=local.time().replace(tzinfo=None),
            holiday=is_public_holiday(country, local.date()),
            instant=local,
        )


@dataclass(frozen=True)
class OpenStatus:
    state: str  # "open", "closed" or "unknown" (no hours the directory can evaluate)
    closes_at: time | None = None
    next_weekday: str | None = None  # when closed: the day it opens next
    next_opens_at: time | None = None
    holiday: bool = False


def _given_zone(schedule, country: str) -> tzinfo | None:
    """The zone the schedule's times are in; None for an offset no zone has."""
    if schedule.timezone is None:
        return place_zone(country)
    if not -24 < schedule.timezone < 24:
        return None
    return dt_timezone(timedelta(hours=schedule.timezone))


def openings(schedule, country: str, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """(opens, closes) as aware datetimes in the place's zone, for the days
    from `first` to `last` (in the schedule's own time) the rule certainly
    applies on; public holidays left out unless the schedule opens on them.
    A closing time before the opening time is the next morning."""
    opens, closes = schedule.opens_at, schedule.closes_at
    given = _given_zone(schedule, country)
    if opens is None or closes is None or given is None or opens == closes:
        return []
    zone = place_zone(country)
    found = []
    day = first
    while day <= last:
        if occurs_on(schedule, day):
            start = datetime.combine(day, opens, given).astimezone(zone)
            end_day = day + timedelta(days=1) if closes < opens else day
            end = datetime.combine(end_day, closes, given).astimezone(zone)
            if schedule.open_on_public_holidays or not is_public_holiday(country, start.date()):
                found.append((start, end))
        day += timedelta(days=1)
    return found


def is_open(schedule, country: str, now: datetime) -> bool:
    """Whether the schedule certainly has the place open at `now`."""
    day = local_now(country, now).date()
    # A day either side: an offset or a night opening moves the schedule's day.
    return any(start <= now < end for start, end in openings(schedule, country, day - timedelta(days=1),
                                                             day + timedelta(days=1)))


def _evaluable(schedule, first: date, last: date) -> bool:
    if schedule.opens_at is None or schedule.closes_at is None:
        return False
    return all(occurs_on(schedule, first + timedelta(days=i)) is not None for i in range((last - first).days + 1))


def opening_status(schedules: list[Schedule], country: str, now: datetime) -> OpenStatus:
    """Open or closed at `now`, and when it next opens within a week;
    "unknown" without hours, or when no schedule can be evaluated (a rule the
    directory cannot read, times missing): those are left out."""
    if not schedules:
        return OpenStatus("unknown")
    moment = LocalMoment.of(country, now)
    first, last = moment.day - timedelta(days=1), moment.day + timedelta(days=8)
    usable = [s for s in schedules if _evaluable(s, first, last)]
    if not usable:
        return OpenStatus("unknown")
    found = [interval for s in usable for interval in openings(s, country, first, last)]
    for start, end in found:
        if start <= now < end:
            return OpenStatus("open", closes_at=end.time())
    # Today (it may open later today) and the next seven days.
    upcoming = [start for start, _ in found if now < start and start.date() <= moment.day + timedelta(days=7)]
    if upcoming:
        start = min(upcoming)
        return OpenStatus(
            "closed",
            next_weekday=None if start.date() == moment.day else WEEKDAYS[start.weekday()],
            next_opens_at=start.time(),
            holiday=moment.holiday,
        )
    return OpenStatus("closed", holiday=moment.holiday)
