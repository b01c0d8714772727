"""A schedule's recurrence rule (HSDS 3.1 / iCalendar RRULE parts): which
days it applies on, and what it says in words. Plain functions of anything
with a Schedule's rule attributes (a Schedule, or a `Rule` kept between
requests); no database, no request except for the wording, which follows
the current Flask-Babel locale.

What the directory evaluates: FREQ=WEEKLY (BYDAY weekdays, INTERVAL counted
from DTSTART or else VALID_FROM, WKST) and FREQ=MONTHLY (BYMONTHDAY incl.
negative days, BYDAY with ordinals such as 1MO or -1FR), bounded by DTSTART,
UNTIL, COUNT (from DTSTART) and the schedule's validity. A row without FREQ
but with plain weekdays is weekly (what the dashboard writes). Everything
else (other frequencies, BYWEEKNO, BYYEARDAY, malformed parts) is kept and
shown as it is, but never evaluated: `occurs_on` answers None."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, time, timedelta
from functools import lru_cache

from babel import Locale
from babel.dates import get_day_names
from babel.lists import format_list
from flask_babel import format_date, format_time, get_locale, gettext, ngettext

from .models import WEEKDAYS

_TOKEN = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")


@dataclass(frozen=True)
class Rule:
    """The parts of a Schedule these functions read, as hashable plain data
    (the "open now" filter keeps rules in its per-process index)."""

    freq: str | None = None
    byday: str | None = None
    interval: int | None = None
    bymonthday: str | None = None
    byweekno: str | None = None
    byyearday: str | None = None
    wkst: str | None = None
    dtstart: date | None = None
    until: date | None = None
    count: int | None = None
    opens_at: time | None = None
    closes_at: time | None = None
    timezone: float | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    open_on_public_holidays: bool = False

    @classmethod
    def of(cls, schedule) -> Rule:
        return cls(**{name: getattr(schedule, name) for name in RULE_FIELDS})


RULE_FIELDS = tuple(f.name for f in fields(Rule))


# ------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class _Parsed:
    freq: str | None  # "WEEKLY" or "MONTHLY"; None: the schedule states no rule
    interval: int = 1
    days: tuple[tuple[int | None, str], ...] = ()  # (ordinal or None, weekday code)
    monthdays: tuple[int, ...] = ()
    wkst: int = 0  # index in WEEKDAYS
    count: int | None = None


_NO_RULE = _Parsed(None)


def _items(text: str | None) -> list[str]:
    return [item.strip().upper() for item in (text or "").split(",") if item.strip()]


@lru_cache(maxsize=1024)
def _parse_parts(freq, byday, interval, bymonthday, byweekno, byyearday, wkst, count) -> _Parsed | None:
    """The rule, or None when the directory cannot evaluate it."""
    freq = (freq or "").strip().upper() or None
    try:
        interval = 1 if interval is None else int(interval)
        count = None if count is None else int(count)
        monthdays = tuple(dict.fromkeys(int(item) for item in _items(bymonthday)))
    except (TypeError, ValueError):
        return None
    days = []
    for token in dict.fromkeys(_items(byday)):
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        ordinal = int(match[1]) if match[1] else None
        if ordinal is not None and not 1 <= abs(ordinal) <= 5:  # a month has at most five of a weekday
            return None
        days.append((ordinal, match[2]))
    wkst = (wkst or "MO").strip().upper()
    if (
        interval < 1
        or (count is not None and count < 1)
        or any(not 1 <= abs(day) <= 31 for day in monthdays)
        or _items(byweekno)
        or _items(byyearday)
        or wkst not in WEEKDAYS
    ):
        return None
    ordinals = any(ordinal is not None for ordinal, _ in days)
    if freq is None:
        if not days and not monthdays:
            return _NO_RULE
        # What the dashboard writes (and older rows): plain weekdays, no FREQ.
        if ordinals or monthdays:
            return None
        freq = "WEEKLY"
    if freq not in ("WEEKLY", "MONTHLY") or (freq == "WEEKLY" and (ordinals or monthdays)):
        return None
    return _Parsed(freq, interval, tuple(days), monthdays, WEEKDAYS.index(wkst), count)


def _parse(schedule) -> _Parsed | None:
    return _parse_parts(
        schedule.freq, schedule.byday, schedule.interval, schedule.bymonthday,
        schedule.byweekno, schedule.byyearday, schedule.wkst, schedule.count,
    )


def weekdays_of(schedule) -> frozenset[str] | None:
    """The weekdays ("MO" … "SU") the rule applies on every week; None when
    it is not a simple weekly rule (an interval, ordinals, monthly, BYWEEKNO,
    BYYEARDAY, COUNT, no weekdays…). DTSTART, UNTIL and the validity dates
    bound a simple rule without changing its weekdays."""
    rule = _parse(schedule)
    if rule is None or rule.freq != "WEEKLY" or rule.interval != 1 or rule.count is not None or not rule.days:
        return None
    return frozenset(code for _, code in rule.days)


# --------------------------------------------------------------- evaluation


def _week_start(day: date, wkst: int) -> date:
    return day - timedelta(days=(day.weekday() - wkst) % 7)


def _days_in_month(day: date) -> int:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - timedelta(days=1)).day


def _monthday_matches(number: int, day: date) -> bool:
    return day.day == (number if number > 0 else _days_in_month(day) + number + 1)


def _weekday_matches(ordinal: int | None, code: str, day: date) -> bool:
    if WEEKDAYS[day.weekday()] != code:
        return False
    if ordinal is None:
        return True
    if ordinal > 0:
        return (day.day - 1) // 7 + 1 == ordinal
    return (_days_in_month(day) - day.day) // 7 + 1 == -ordinal


def _matches(rule: _Parsed, day: date, dtstart: date | None, anchor: date | None) -> bool | None:
    """Whether the rule's pattern (not its bounds) takes in `day`; None:
    cannot tell. `anchor` counts the interval (DTSTART, else VALID_FROM)."""
    if rule.freq == "WEEKLY":
        codes = {code for _, code in rule.days}
        if not codes:
            if dtstart is None:
                return None  # RFC 5545: the weekday of DTSTART
            codes = {WEEKDAYS[dtstart.weekday()]}
        if WEEKDAYS[day.weekday()] not in codes:
            return False
        if rule.interval == 1:
            return True
        if anchor is None:
            return None
        weeks = (_week_start(day, rule.wkst) - _week_start(anchor, rule.wkst)).days // 7
        return weeks % rule.interval == 0
    # MONTHLY: BYMONTHDAY and BYDAY both given limit each other (RFC 5545).
    if not rule.days and not rule.monthdays:
        if dtstart is None:
            return None  # RFC 5545: the day of the month of DTSTART
        if day.day != dtstart.day:
            return False
    if rule.monthdays and not any(_monthday_matches(number, day) for number in rule.monthdays):
        return False
    if rule.days and not any(_weekday_matches(ordinal, code, day) for ordinal, code in rule.days):
        return False
    if rule.interval == 1:
        return True
    if anchor is None:
        return None
    return ((day.year - anchor.year) * 12 + day.month - anchor.month) % rule.interval == 0


@lru_cache(maxsize=256)
def _last_counted(rule: _Parsed, dtstart: date) -> date:
    """The day of the COUNT-th occurrence from DTSTART (a century at most)."""
    end = date(min(dtstart.year + 100, date.max.year), 12, 31)
    seen, day = 0, dtstart
    while day < end:
        if _matches(rule, day, dtstart, dtstart):
            seen += 1
            if seen == rule.count:
                return day
        day += timedelta(days=1)
    return end


def occurs_on(schedule, day: date) -> bool | None:
    """Whether the rule has an occurrence on `day` (a date in the schedule's
    own time); None when the directory cannot tell: no rule, a rule it does
    not evaluate, an interval with nothing to count it from, a COUNT without
    DTSTART."""
    # Outside its dates a rule certainly does not apply, evaluable or not.
    if any(first and day < first for first in (schedule.valid_from, schedule.dtstart)):
        return False
    if any(last and day > last for last in (schedule.valid_to, schedule.until)):
        return False
    rule = _parse(schedule)
    if rule is None or rule.freq is None:
        return None
    matches = _matches(rule, day, schedule.dtstart, schedule.dtstart or schedule.valid_from)
    if not matches or rule.count is None:
        return matches
    if schedule.dtstart is None:
        return None
    return day <= _last_counted(rule, schedule.dtstart)


# ------------------------------------------------------------------ wording


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


def _day_name(code: str) -> str:
    return get_day_names("wide", locale=_locale())[WEEKDAYS.index(code)]


def _list(items: list[str]) -> str:
    return format_list(items, locale=_locale())


def _with(text: str, detail: str) -> str:
    if not text:
        return detail
    return gettext("%(schedule)s, %(detail)s", schedule=text, detail=detail)


def _date(day: date) -> str:
    return format_date(day, "long")


# The nth weekday of a month. The weekday is Babel's name, in the nominative.
_ORDINAL_WEEKDAY = {
    1: lambda weekday: gettext("the first %(weekday)s", weekday=weekday),
    2: lambda weekday: gettext("the second %(weekday)s", weekday=weekday),
    3: lambda weekday: gettext("the third %(weekday)s", weekday=weekday),
    4: lambda weekday: gettext("the fourth %(weekday)s", weekday=weekday),
    5: lambda weekday: gettext("the fifth %(weekday)s", weekday=weekday),
    -1: lambda weekday: gettext("the last %(weekday)s", weekday=weekday),
    -2: lambda weekday: gettext("the second to last %(weekday)s", weekday=weekday),
}


def _weekday_in_month(ordinal: int | None, code: str) -> str:
    weekday = _day_name(code)
    if ordinal is None:
        return gettext("every %(weekday)s", weekday=weekday)
    if ordinal in _ORDINAL_WEEKDAY:
        return _ORDINAL_WEEKDAY[ordinal](weekday)
    return ngettext("the %(weekday)s %(num)d week before the last one",
                    "the %(weekday)s %(num)d weeks before the last one", -ordinal - 1, weekday=weekday)


# A day of the month by the locale's ordinal category (CLDR): English has
# four (1st, 2nd, 3rd, 4th); Latvian, Lithuanian and Russian only "other".
_ORDINAL_DAY = {
    "one": lambda day: gettext("the %(day)sst", day=day),
    "two": lambda day: gettext("the %(day)snd", day=day),
    "few": lambda day: gettext("the %(day)srd", day=day),
    "other": lambda day: gettext("the %(day)sth", day=day),
}


def _month_day(number: int) -> str:
    if number > 0:
        return _ORDINAL_DAY.get(_locale().ordinal_form(number), _ORDINAL_DAY["other"])(number)
    if number == -1:
        return gettext("the last day")
    return ngettext("%(num)d day before the last day", "%(num)d days before the last day", -number - 1)


def _pattern(rule: _Parsed, dtstart: date | None) -> str | None:
    """The rule's repetition in words; None when it has no wording here."""
    n = rule.interval
    if rule.freq == "WEEKLY":
        codes = [code for code in WEEKDAYS if any(c == code for _, c in rule.days)]
        if not codes and dtstart is not None:
            codes = [WEEKDAYS[dtstart.weekday()]]
        if not codes:
            if n == 1:
                return gettext("Every week")
            if n == 2:
                return gettext("Every other week")
            return ngettext("Every %(num)d week", "Every %(num)d weeks", n)
        days = _list([_day_name(code) for code in codes])
        if n == 1:
            return gettext("Every week on %(days)s", days=days)
        if n == 2:
            return gettext("Every other week on %(days)s", days=days)
        return ngettext("Every %(num)d week on %(days)s", "Every %(num)d weeks on %(days)s", n, days=days)
    if rule.days and rule.monthdays:
        return None  # "Friday the 13th": rare enough to be shown as the rule itself
    items = [_month_day(number) for number in rule.monthdays]
    items += [_weekday_in_month(ordinal, code) for ordinal, code in rule.days]
    if not items and dtstart is not None:
        items = [_month_day(dtstart.day)]
    if not items:
        if n == 1:
            return gettext("Every month")
        if n == 2:
            return gettext("Every other month")
        return ngettext("Every %(num)d month", "Every %(num)d months", n)
    days = _list(items)
    if n == 1:
        return gettext("On %(days)s of every month", days=days)
    if n == 2:
        return gettext("On %(days)s of every other month", days=days)
    return ngettext("On %(days)s of every %(num)d month", "On %(days)s of every %(num)d months", n, days=days)


def rrule_text(schedule) -> str:
    """The rule's parts as iCalendar writes them: "FREQ=YEARLY;BYWEEKNO=1"."""
    parts = [("FREQ", schedule.freq), ("INTERVAL", schedule.interval), ("BYDAY", schedule.byday),
             ("BYMONTHDAY", schedule.bymonthday), ("BYWEEKNO", schedule.byweekno),
             ("BYYEARDAY", schedule.byyearday), ("WKST", schedule.wkst)]
    return ";".join(f"{name}={str(value).replace(' ', '')}" for name, value in parts if value not in (None, ""))


def _offset(hours: float) -> str:
    minutes = round(hours * 60)
    whole, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{whole:02d}:{rest:02d}"


def _times(schedule) -> str:
    opens, closes = schedule.opens_at, schedule.closes_at
    if opens and closes:
        text = gettext("%(opens)s–%(closes)s", opens=format_time(opens, "short"), closes=format_time(closes, "short"))
    elif opens:
        text = gettext("from %(time)s", time=format_time(opens, "short"))
    elif closes:
        text = gettext("until %(time)s", time=format_time(closes, "short"))
    else:
        return ""
    if schedule.timezone is not None:
        text = gettext("%(times)s (UTC%(offset)s)", times=text, offset=_offset(schedule.timezone))
    return text


def _bounds(schedule, count: int | None) -> list[str]:
    start, end = schedule.dtstart, schedule.until
    details = []
    if count is not None:
        if start:
            details.append(ngettext("%(num)d time from %(date)s", "%(num)d times from %(date)s", count,
                                    date=_date(start)))
        else:
            details.append(ngettext("%(num)d time", "%(num)d times", count))
        start = None
    if start and end:
        details.append(gettext("from %(start)s until %(end)s", start=_date(start), end=_date(end)))
    elif start:
        details.append(gettext("from %(date)s", date=_date(start)))
    elif end:
        details.append(gettext("until %(date)s", date=_date(end)))
    return details


def _validity(schedule) -> str:
    start, end = schedule.valid_from, schedule.valid_to
    if start and end:
        return gettext("valid from %(start)s to %(end)s", start=_date(start), end=_date(end))
    if start:
        return gettext("valid from %(date)s", date=_date(start))
    if end:
        return gettext("valid until %(date)s", date=_date(end))
    return ""


def describe_rule(schedule) -> str:
    """The rule, times and dates in words, without the schedule's own
    description and notes (which are in the centre's language); "" when the
    schedule states none of them."""
    rule = _parse(schedule)
    stated = rule is None or rule.freq is not None
    if rule is None:
        text = gettext("By the recurrence rule %(rule)s", rule=rrule_text(schedule))
    elif rule.freq is None:
        text = ""
    else:
        text = _pattern(rule, schedule.dtstart)
        if text is None:
            text = gettext("By the recurrence rule %(rule)s", rule=rrule_text(schedule))
    for detail in [_times(schedule), *(_bounds(schedule, schedule.count) if stated else []), _validity(schedule)]:
        if detail:
            text = _with(text, detail)
    return text[:1].upper() + text[1:]


def notes_of(schedule) -> tuple[str, ...]:
    """The schedule's own description and notes, as given."""
    return tuple(text.strip() for text in (schedule.description, schedule.notes) if text and text.strip())


def describe(schedule) -> str:
    """The whole schedule in words in the current locale: "Every other week
    on Monday, Tuesday, and Wednesday, 9:00 AM–5:00 PM"; "On the first Monday
    of every month"; with its description and notes after a colon. A
    schedule with only a description is its description."""
    text, notes = describe_rule(schedule), " · ".join(notes_of(schedule))
    if text and notes:
        return gettext("%(schedule)s: %(note)s", schedule=text, note=notes)
    return text or notes
