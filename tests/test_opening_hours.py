"""Open or closed, in the centre's own time zone, with national holidays."""

from datetime import date, datetime, time, timezone

from directory.models import Schedule
from directory.opening_hours import is_public_holiday, opening_status


def weekdays(opens=time(9), closes=time(17), **extra):
    return [Schedule(byday=d, opens_at=opens, closes_at=closes, **extra) for d in ("MO", "TU", "WE", "TH", "FR")]


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_open_until_closing_time_in_local_time():
    # 14:30 UTC on Monday 23 November 2026 is 16:30 in Riga (UTC+2).
    status = opening_status(weekdays(), "LV", utc(2026, 11, 23, 14, 30))
    assert status.state == "open" and status.closes_at == time(17)
    assert opening_status(weekdays(), "LV", utc(2026, 11, 23, 15, 0)).state == "closed"


def test_summer_time_is_followed():
    # 1 July 2026 is a Wednesday; Riga is UTC+3 in summer: 06:00 UTC = 09:00.
    assert opening_status(weekdays(), "LV", utc(2026, 7, 1, 6, 0)).state == "open"
    assert opening_status(weekdays(), "LV", utc(2026, 7, 1, 5, 59)).state == "closed"


def test_closed_says_when_it_opens_next():
    friday_evening = utc(2026, 11, 27, 16, 0)
    status = opening_status(weekdays(), "LT", friday_evening)
    assert status.state == "closed"
    assert (status.next_weekday, status.next_opens_at) == ("MO", time(9))
    morning = opening_status(weekdays(), "LT", utc(2026, 11, 23, 5, 0))
    assert (morning.next_weekday, morning.next_opens_at) == (None, time(9))  # later today


def test_national_holidays_close_unless_the_listing_says_otherwise():
    assert is_public_holiday("LV", date(2026, 11, 18)) and not is_public_holiday("LT", date(2026, 11, 18))
    assert is_public_holiday("LT", date(2026, 2, 16)) and not is_public_holiday("LV", date(2026, 2, 16))
    independence_day = utc(2026, 11, 18, 10, 0)
    closed = opening_status(weekdays(), "LV", independence_day)
    assert closed.state == "closed" and closed.holiday
    assert (closed.next_weekday, closed.next_opens_at) == ("TH", time(9))
    assert opening_status(weekdays(), "LT", independence_day).state == "open"
    assert opening_status(weekdays(open_on_public_holidays=True), "LV", independence_day).state == "open"


def test_schedules_outside_their_validity_do_not_count():
    summer_only = weekdays(valid_from=date(2026, 6, 1), valid_to=date(2026, 8, 31))
    assert opening_status(summer_only, "LV", utc(2026, 7, 1, 8, 0)).state == "open"
    assert opening_status(summer_only, "LV", utc(2026, 11, 23, 8, 0)).state == "closed"


def test_no_hours_is_unknown_not_closed():
    assert opening_status([], "LV", utc(2026, 11, 23, 8, 0)).state == "unknown"
