"""Whole recurrence rules (HSDS 3.1 / iCalendar): on which days they apply,
how they read in words, what "open now" makes of them, and where the pages
show them. Schedules are built in memory; only the page tests use the
seeded database."""

from datetime import date, datetime, time, timezone

import pytest
from babel.dates import format_date, get_day_names
from bs4 import BeautifulSoup
from flask_babel import force_locale
from sqlalchemy import select

from conftest import soup
from directory.contact_card import contact_card
from directory.extensions import db
from directory.listings import other_hours, shown_hours, weekly_hours
from directory.models import Organization, Schedule, Service
from directory.opening_hours import is_open, opening_status
from directory.recurrence import Rule, describe, occurs_on, weekdays_of
from directory.search import SearchFilters, search_services


def rule(**parts):
    return Schedule(**parts)


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def english(app):
    with app.test_request_context("/en/"), force_locale("en"):
        yield


@pytest.fixture
def latvian(app):
    with app.test_request_context("/lv/"), force_locale("lv"):
        yield


def words(schedule):
    # CLDR puts a narrow no-break space before AM/PM.
    return describe(schedule).replace("\u202f", " ")


# ------------------------------------------------------------ which days

def test_weekday_lists_are_simple_weekly_rules():
    assert weekdays_of(rule(freq="WEEKLY", byday="MO,TU,WE")) == {"MO", "TU", "WE"}
    assert weekdays_of(rule(byday="FR")) == {"FR"}  # no FREQ: what the dashboard writes
    assert weekdays_of(rule(freq="WEEKLY", byday="MO", until=date(2026, 12, 31))) == {"MO"}
    for other in [
        rule(freq="WEEKLY", byday="MO", interval=2),
        rule(freq="WEEKLY", byday="MO", count=5, dtstart=date(2026, 3, 2)),
        rule(freq="MONTHLY", byday="1MO"),
        rule(freq="MONTHLY", bymonthday="15"),
        rule(freq="WEEKLY", byday="MO", byweekno="1,3"),
        rule(freq="WEEKLY", byday="MO", byyearday="100"),
        rule(freq="WEEKLY"),
        rule(description="By appointment"),
    ]:
        assert weekdays_of(other) is None


def test_a_weekday_list_applies_on_each_of_its_days():
    schedule = rule(freq="WEEKLY", byday="MO,TU,WE")
    # 2 March 2026 is a Monday.
    assert [occurs_on(schedule, date(2026, 3, d)) for d in range(2, 9)] == [True, True, True] + [False] * 4


def test_fortnightly_counts_from_dtstart_or_valid_from():
    schedule = rule(freq="WEEKLY", byday="MO,WE", interval=2, dtstart=date(2026, 3, 2))
    assert occurs_on(schedule, date(2026, 3, 2)) and occurs_on(schedule, date(2026, 3, 4))
    assert occurs_on(schedule, date(2026, 3, 9)) is False
    assert occurs_on(schedule, date(2026, 3, 16)) is True
    assert occurs_on(schedule, date(2026, 2, 16)) is False  # before its start
    from_validity = rule(freq="WEEKLY", byday="MO", interval=2, valid_from=date(2026, 3, 9))
    assert occurs_on(from_validity, date(2026, 3, 9)) and occurs_on(from_validity, date(2026, 3, 23))
    assert occurs_on(from_validity, date(2026, 3, 16)) is False
    unanchored = rule(freq="WEEKLY", byday="MO", interval=2)
    assert occurs_on(unanchored, date(2026, 3, 9)) is None  # which weeks? cannot tell
    assert occurs_on(unanchored, date(2026, 3, 10)) is False  # a Tuesday, whatever the weeks


def test_the_week_start_decides_which_sundays_are_on():
    # Week 0 holds 2 March; with weeks from Monday, Sunday 8 March is in it.
    monday_weeks = rule(freq="WEEKLY", byday="MO,SU", interval=2, dtstart=date(2026, 3, 2))
    sunday_weeks = rule(freq="WEEKLY", byday="MO,SU", interval=2, dtstart=date(2026, 3, 2), wkst="SU")
    assert occurs_on(monday_weeks, date(2026, 3, 8)) and not occurs_on(monday_weeks, date(2026, 3, 15))
    assert not occurs_on(sunday_weeks, date(2026, 3, 8)) and occurs_on(sunday_weeks, date(2026, 3, 15))


def test_monthly_by_day_of_the_month():
    fifteenth = rule(freq="MONTHLY", bymonthday="15")
    assert occurs_on(fifteenth, date(2026, 3, 15)) and not occurs_on(fifteenth, date(2026, 3, 16))
    last = rule(freq="MONTHLY", bymonthday="-1")
    assert occurs_on(last, date(2026, 2, 28)) and occurs_on(last, date(2026, 3, 31))
    assert occurs_on(last, date(2028, 2, 29)) and not occurs_on(last, date(2028, 2, 28))
    every_other = rule(freq="MONTHLY", bymonthday="15", interval=2, dtstart=date(2026, 1, 1))
    assert [occurs_on(every_other, date(2026, m, 15)) for m in (1, 2, 3)] == [True, False, True]
    assert occurs_on(rule(freq="MONTHLY", bymonthday="15", interval=2), date(2026, 3, 15)) is None


def test_monthly_by_ordinal_weekday():
    first_monday = rule(freq="MONTHLY", byday="1MO")
    assert occurs_on(first_monday, date(2026, 3, 2)) and not occurs_on(first_monday, date(2026, 3, 9))
    last_friday = rule(freq="MONTHLY", byday="-1FR")
    assert occurs_on(last_friday, date(2026, 3, 27)) and not occurs_on(last_friday, date(2026, 3, 20))
    second_and_fourth = rule(freq="MONTHLY", byday="2TU,4TU")
    assert [occurs_on(second_and_fourth, date(2026, 3, d)) for d in (3, 10, 17, 24, 31)] == [
        False, True, False, True, False]


def test_until_and_count():
    until = rule(freq="WEEKLY", byday="MO", until=date(2026, 12, 31))
    assert occurs_on(until, date(2026, 12, 28)) and occurs_on(until, date(2027, 1, 4)) is False
    three = rule(freq="WEEKLY", byday="MO", count=3, dtstart=date(2026, 3, 2))
    assert [occurs_on(three, date(2026, 3, d)) for d in (2, 9, 16, 23)] == [True, True, True, False]
    monthly = rule(freq="MONTHLY", byday="1MO", count=2, dtstart=date(2026, 3, 1))
    assert [occurs_on(monthly, date(2026, m, d)) for m, d in ((3, 2), (4, 6), (5, 4))] == [True, True, False]
    no_start = rule(freq="WEEKLY", byday="MO", count=3)
    assert occurs_on(no_start, date(2026, 3, 2)) is None and occurs_on(no_start, date(2026, 3, 3)) is False


def test_validity_bounds_every_rule():
    summer = rule(freq="WEEKLY", byday="MO", valid_from=date(2026, 6, 1), valid_to=date(2026, 8, 31))
    assert occurs_on(summer, date(2026, 6, 1)) is True
    assert occurs_on(summer, date(2026, 5, 25)) is False and occurs_on(summer, date(2026, 9, 7)) is False
    unreadable = rule(freq="YEARLY", byweekno="1", valid_to=date(2026, 8, 31))
    assert occurs_on(unreadable, date(2026, 1, 1)) is None and occurs_on(unreadable, date(2026, 9, 1)) is False


def test_a_description_only_schedule_has_no_days(english):
    schedule = rule(freq=None, description="By appointment, call first")
    assert occurs_on(schedule, date(2026, 3, 2)) is None and weekdays_of(schedule) is None
    assert describe(schedule) == "By appointment, call first"


# ------------------------------------------------------------ in words

@pytest.mark.parametrize("schedule, expected", [
    (rule(freq="WEEKLY", byday="MO,TU,WE", interval=2),
     "Every other week on Monday, Tuesday, and Wednesday"),
    (rule(freq="WEEKLY", byday="SA", interval=3), "Every 3 weeks on Saturday"),
    (rule(freq="MONTHLY", byday="1MO"), "On the first Monday of every month"),
    (rule(freq="MONTHLY", byday="-1FR"), "On the last Friday of every month"),
    (rule(freq="MONTHLY", byday="2TU,4TU", interval=2),
     "On the second Tuesday and the fourth Tuesday of every other month"),
    (rule(freq="MONTHLY", bymonthday="15"), "On the 15th of every month"),
    (rule(freq="MONTHLY", bymonthday="1,2,3,22"), "On the 1st, the 2nd, the 3rd, and the 22nd of every month"),
    (rule(freq="MONTHLY", bymonthday="-1"), "On the last day of every month"),
    (rule(freq="WEEKLY", byday="MO", until=date(2026, 12, 31)), "Every week on Monday, until December 31, 2026"),
    (rule(freq="WEEKLY", byday="MO", count=5, dtstart=date(2026, 3, 1)),
     "Every week on Monday, 5 times from March 1, 2026"),
    (rule(freq="WEEKLY", byday="MO", interval=2, dtstart=date(2026, 3, 2)),
     "Every other week on Monday, from March 2, 2026"),
    (rule(freq="WEEKLY", byday="MO", opens_at=time(9), closes_at=time(17)), "Every week on Monday, 9:00 AM–5:00 PM"),
    (rule(freq="WEEKLY", byday="MO", opens_at=time(9), closes_at=time(17), timezone=2.0),
     "Every week on Monday, 9:00 AM–5:00 PM (UTC+02:00)"),
    (rule(freq="WEEKLY", byday="MO", opens_at=time(9), closes_at=time(17), timezone=-3.5),
     "Every week on Monday, 9:00 AM–5:00 PM (UTC-03:30)"),
    (rule(freq="WEEKLY", byday="SA", valid_from=date(2026, 6, 1), valid_to=date(2026, 8, 31)),
     "Every week on Saturday, valid from June 1, 2026 to August 31, 2026"),
    (rule(freq="WEEKLY", byday="MO", description="Drop-in", notes="Closed in August"),
     "Every week on Monday: Drop-in · Closed in August"),
    (rule(opens_at=time(10), closes_at=time(12), description="By appointment"), "10:00 AM–12:00 PM: By appointment"),
    (rule(freq="YEARLY", byweekno="1,3"), "By the recurrence rule FREQ=YEARLY;BYWEEKNO=1,3"),
])
def test_rules_in_english(english, schedule, expected):
    assert words(schedule) == expected


def test_rules_in_latvian_use_babels_names(latvian):
    days = get_day_names("wide", locale="lv")
    text = describe(rule(freq="WEEKLY", byday="MO,TU", interval=2, until=date(2026, 12, 31)))
    assert f"{days[0]} un {days[1]}" in text  # Babel's list, in Latvian
    assert format_date(date(2026, 12, 31), "long", locale="lv") in text and "decembris" in text
    assert "Monday" not in text and "December" not in text
    monthly = describe(rule(freq="MONTHLY", byday="-1FR", opens_at=time(9), closes_at=time(17)))
    assert days[4] in monthly and "09:00" in monthly and "Friday" not in monthly


# ------------------------------------------------------------ open now

def test_open_now_on_each_day_of_a_weekday_list():
    schedules = [rule(freq="WEEKLY", byday="MO,TU", opens_at=time(9), closes_at=time(17))]
    # Tuesday 24 November 2026, 10:00 UTC = 12:00 in Riga.
    assert opening_status(schedules, "LV", utc(2026, 11, 24, 10)).state == "open"
    wednesday = opening_status(schedules, "LV", utc(2026, 11, 25, 10))
    assert wednesday.state == "closed" and (wednesday.next_weekday, wednesday.next_opens_at) == ("MO", time(9))


def test_fortnightly_is_open_only_on_its_weeks():
    schedules = [rule(freq="WEEKLY", byday="MO", interval=2, dtstart=date(2026, 11, 23),
                      opens_at=time(9), closes_at=time(17))]
    assert opening_status(schedules, "LV", utc(2026, 11, 23, 10)).state == "open"
    off_week = opening_status(schedules, "LV", utc(2026, 11, 30, 10))
    assert off_week.state == "closed" and (off_week.next_weekday, off_week.next_opens_at) == ("MO", time(9))
    # The day after an opening the next is 13 days away: beyond the week looked at.
    assert opening_status(schedules, "LV", utc(2026, 11, 24, 10)).next_opens_at is None


def test_a_rule_it_cannot_evaluate_is_never_open():
    unknown = [rule(freq="WEEKLY", byday="MO", interval=2, opens_at=time(9), closes_at=time(17)),
               rule(description="Mornings", opens_at=time(9), closes_at=time(12)),
               rule(freq="YEARLY", byweekno="48", opens_at=time(9), closes_at=time(17))]
    monday = utc(2026, 11, 23, 8)
    assert opening_status(unknown, "LV", monday).state == "unknown"
    assert not any(is_open(schedule, "LV", monday) for schedule in unknown)
    # Beside a rule it can evaluate, it is left out.
    weekly = rule(byday="MO", opens_at=time(13), closes_at=time(17))
    status = opening_status([*unknown, weekly], "LV", monday)
    assert status.state == "closed" and (status.next_weekday, status.next_opens_at) == (None, time(13))


def test_times_in_another_offset_are_read_in_local_time():
    # 09:00–17:00 at UTC+0 is 11:00–19:00 in Riga in November (UTC+2).
    schedules = [rule(freq="WEEKLY", byday="MO", opens_at=time(9), closes_at=time(17), timezone=0.0)]
    before = opening_status(schedules, "LV", utc(2026, 11, 23, 8, 30))
    assert before.state == "closed" and (before.next_weekday, before.next_opens_at) == (None, time(11))
    during = opening_status(schedules, "LV", utc(2026, 11, 23, 16, 30))
    assert during.state == "open" and during.closes_at == time(19)
    # 20:00–22:00 on Monday at UTC-5 is 03:00–05:00 on Tuesday in Riga.
    evening = [rule(byday="MO", opens_at=time(20), closes_at=time(22), timezone=-5.0)]
    assert opening_status(evening, "LV", utc(2026, 11, 24, 1, 30)).state == "open"
    assert opening_status(evening, "LV", utc(2026, 11, 23, 19)).state == "closed"
    assert is_open(Rule.of(evening[0]), "LV", utc(2026, 11, 24, 1, 30))


def test_monthly_rules_and_validity_in_the_open_status():
    first_monday = [rule(freq="MONTHLY", byday="1MO", opens_at=time(9), closes_at=time(12))]
    assert opening_status(first_monday, "LT", utc(2026, 12, 7, 8)).state == "open"  # 7 Dec: first Monday
    assert opening_status(first_monday, "LT", utc(2026, 12, 14, 8)).state == "closed"
    ended = [rule(byday="MO", opens_at=time(9), closes_at=time(17), until=date(2026, 11, 22))]
    assert opening_status(ended, "LV", utc(2026, 11, 23, 10)).state == "closed"


# ------------------------------------------------------------ the pages

def test_the_weekly_table_and_the_other_times(english):
    simple = rule(freq="WEEKLY", byday="MO,TU", opens_at=time(9), closes_at=time(17))
    lunch = rule(byday="MO", opens_at=time(13), closes_at=time(15))
    fortnightly = rule(freq="WEEKLY", byday="SA", interval=2, dtstart=date(2026, 3, 7),
                       opens_at=time(10), closes_at=time(12))
    monthly = rule(freq="MONTHLY", byday="1MO", description="Legal advice")
    days = {day.weekday: day.intervals for day in weekly_hours([simple, lunch, fortnightly, monthly])}
    assert days["MO"] == ((time(9), time(17)), (time(13), time(15)))
    assert days["TU"] == ((time(9), time(17)),) and days["SA"] == () and days["WE"] == ()
    other = other_hours([simple, lunch, fortnightly, monthly])
    assert [(o.words.replace("\u202f", " "), o.notes) for o in other] == [
        ("Every other week on Saturday, 10:00 AM–12:00 PM, from March 7, 2026", ()),
        ("On the first Monday of every month", ("Legal advice",)),
    ]
    # No plain weekly row: no table (not seven "closed" days), only the words.
    only_other = shown_hours([monthly])
    assert only_other and only_other.days == [] and len(only_other.other) == 1
    assert not shown_hours([])


def test_the_contact_card_shows_the_other_times(app, english):
    org = Organization(name="Centrs", text_language="lv", locations=[])
    service = Service(name="Konsultācijas", organization=org, phones=[], required_documents=[],
                      schedules=[rule(freq="MONTHLY", bymonthday="15", description="Pieteikties iepriekš")])
    card = contact_card(service)
    html = app.jinja_env.get_template("_contact_card.html").module.card_facts(card)
    hours = BeautifulSoup(str(html), "html.parser").select_one("dd.hours")
    assert hours.select_one("table") is None
    item = hours.select_one(".other-hours li")
    assert item.get_text(" ", strip=True) == "On the 15th of every month Pieteikties iepriekš"
    assert item.select_one("span")["lang"] == "lv"


def add_schedules(app, service_name=None, centre_slug=None, *schedules):
    """Schedules of a service, or else of the first location of a centre."""
    with app.app_context():
        if service_name:
            owner = db.session.scalar(select(Service).where(Service.name == service_name))
        else:
            owner = db.session.scalar(select(Organization).where(Organization.slug == centre_slug)).locations[0]
        owner.schedules.extend(schedules)
        db.session.commit()


def test_the_centre_page_shows_other_rules_in_words(seeded_app):
    add_schedules(seeded_app, "Kanisterapija bērniem", None,
                  rule(byday="TU", opens_at=time(10), closes_at=time(12)),
                  rule(freq="MONTHLY", byday="1MO", opens_at=time(10), closes_at=time(12),
                       description="Pieteikties pa tālruni"))
    add_schedules(seeded_app, None, "saskarsme",
                  rule(freq="WEEKLY", byday="MO,WE", interval=2, dtstart=date(2026, 3, 2)))
    client = seeded_app.test_client()

    page = soup(client.get("/en/centres/daugavpils-dienas-aprupes-centrs"))
    hours = page.select_one(".service-hours")
    assert "Tuesday" in hours.select_one("table").get_text()
    item = hours.select_one(".other-hours li")
    assert item.get_text(" ", strip=True).replace("\u202f", " ") == (
        "On the first Monday of every month, 10:00 AM–12:00 PM Pieteikties pa tālruni")
    assert item.select_one("span")["lang"] == "lv"

    centre = soup(client.get("/en/centres/saskarsme")).select_one("dd.hours")
    assert centre.select_one("table") is None  # not a week of "closed"
    assert centre.select_one(".other-hours li").get_text(strip=True) == (
        "Every other week on Monday and Wednesday, from March 2, 2026")
    latvian = soup(client.get("/lv/centres/saskarsme")).select_one("dd.hours").get_text()
    assert get_day_names("wide", locale="lv")[2] in latvian and "Wednesday" not in latvian


def test_open_now_filter_reads_whole_rules(seeded_app):
    add_schedules(seeded_app, "Higiēnas centri", None,  # Lithuania
                  rule(freq="WEEKLY", byday="MO,TU", opens_at=time(9), closes_at=time(17)))
    add_schedules(seeded_app, "Dienas centrs “Saskarsme”", None,  # Latvia
                  rule(freq="WEEKLY", byday="TU", interval=2, dtstart=date(2026, 11, 24),
                       opens_at=time(9), closes_at=time(17)),
                  rule(freq="WEEKLY", byday="WE", interval=2, opens_at=time(9), closes_at=time(17)))

    def open_at(moment):
        with seeded_app.app_context():
            return sorted(s.name for s in search_services(db.session, SearchFilters(open=True), now=moment).services)

    tuesday, next_tuesday = utc(2026, 11, 24, 10), utc(2026, 12, 1, 10)
    assert open_at(tuesday) == ["Dienas centrs “Saskarsme”", "Higiēnas centri"]
    assert open_at(next_tuesday) == ["Higiēnas centri"]  # Saskarsme's off week
    assert open_at(utc(2026, 11, 25, 10)) == []  # a fortnightly rule with no start is never open
