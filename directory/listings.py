"""Reading listings for the public pages: which centres exist, one centre
with everything shown about it, and its hours: a weekly table of the plain
weekly rows, and every other schedule in words (directory.recurrence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import (
    WEEKDAYS,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceCapacity,
    SourceDocument,
    TaxonomyTerm,
)
from .recurrence import describe_rule, notes_of, weekdays_of

_CENTRE_LOADS = (
    selectinload(Organization.parent),
    selectinload(Organization.source),
    selectinload(Organization.phones),
    selectinload(Organization.contacts),
    selectinload(Organization.locations).selectinload(Location.addresses),
    selectinload(Organization.locations).selectinload(Location.phones),
    selectinload(Organization.locations).selectinload(Location.schedules),
    selectinload(Organization.locations).selectinload(Location.accessibility),
    selectinload(Organization.locations).selectinload(Location.languages),
    selectinload(Organization.services)
    .selectinload(Service.taxonomy_terms)
    .selectinload(TaxonomyTerm.labels),
    selectinload(Organization.services)
    .selectinload(Service.taxonomy_terms)
    .selectinload(TaxonomyTerm.taxonomy),
    selectinload(Organization.services).selectinload(Service.schedules),
    selectinload(Organization.services).selectinload(Service.phones),
    selectinload(Organization.services).selectinload(Service.languages),
    selectinload(Organization.services).selectinload(Service.required_documents),
    selectinload(Organization.services).selectinload(Service.contacts),
    selectinload(Organization.services).selectinload(Service.source),
    selectinload(Organization.services).selectinload(Service.capacities).selectinload(ServiceCapacity.unit),
)


def list_centres(session: Session) -> list[Organization]:
    """Organizations that offer at least one service, by name. Bodies that
    only operate centres (a municipality) are not centres themselves."""
    query = (
        select(Organization)
        .where(Organization.services.any(Service.status == "active"), Organization.status == "published")
        .options(
            selectinload(Organization.locations).selectinload(Location.addresses),
            selectinload(Organization.services)
            .selectinload(Service.taxonomy_terms)
            .selectinload(TaxonomyTerm.labels),
            selectinload(Organization.services)
            .selectinload(Service.taxonomy_terms)
            .selectinload(TaxonomyTerm.taxonomy),
        )
        .order_by(Organization.name, Organization.id)
    )
    return list(session.scalars(query))


def get_centre(session: Session, slug: str) -> Organization | None:
    """A published organization; one waiting for review is not public yet."""
    query = (
        select(Organization)
        .where(Organization.slug == slug, Organization.status == "published")
        .options(*_CENTRE_LOADS)
    )
    return session.scalars(query).first()


def get_source_document(session: Session, file_name: str) -> SourceDocument | None:
    return session.get(SourceDocument, file_name)


def centre_phones(org: Organization) -> list[Phone]:
    """Every phone listed for the centre, its locations and its services."""
    phones = list(org.phones)
    for location in org.locations:
        phones.extend(location.phones)
    for service in org.services:
        phones.extend(service.phones)
    return phones


@dataclass(frozen=True)
class DayHours:
    weekday: str  # MO … SU
    intervals: tuple[tuple[time | None, time | None], ...]


@dataclass(frozen=True)
class OtherHours:
    """A schedule the weekly table cannot show, in words."""

    words: str  # the rule, times and dates in the visitor's language; may be ""
    notes: tuple[str, ...]  # its description and notes, in the centre's language


@dataclass(frozen=True)
class Hours:
    """What a page shows of a set of schedules (templates/_contact_card.html
    hours_table): the weekly table and, under it, every other schedule."""

    days: list[DayHours]
    other: list[OtherHours]

    def __bool__(self) -> bool:
        return bool(self.days or self.other)


def in_weekly_table(schedule: Schedule) -> bool:
    """Whether the weekly table says all about the schedule: every week on
    plain weekdays, both times in the place's time, no dates, no notes."""
    return (
        weekdays_of(schedule) is not None
        and schedule.opens_at is not None
        and schedule.closes_at is not None
        and schedule.timezone is None
        and not any((schedule.dtstart, schedule.until, schedule.valid_from, schedule.valid_to))
        and not notes_of(schedule)
    )


def weekly_hours(schedules: list[Schedule]) -> list[DayHours]:
    """Opening intervals per weekday, Monday first, of the schedules the
    weekly table shows (a weekday list counts on each of its days); empty
    when there are none."""
    table = [schedule for schedule in schedules if in_weekly_table(schedule)]
    if not table:
        return []
    by_day: dict[str, list[tuple[time | None, time | None]]] = {day: [] for day in WEEKDAYS}
    for schedule in table:
        for day in weekdays_of(schedule):
            by_day[day].append((schedule.opens_at, schedule.closes_at))
    return [
        DayHours(day, tuple(sorted(by_day[day], key=lambda i: i[0] or time.min)))
        for day in WEEKDAYS
    ]


def other_hours(schedules: list[Schedule]) -> list[OtherHours]:
    """Every schedule the weekly table does not show, in words, in their order."""
    shown = []
    for schedule in schedules:
        if in_weekly_table(schedule):
            continue
        words, notes = describe_rule(schedule), notes_of(schedule)
        if words or notes:
            shown.append(OtherHours(words, notes))
    return shown


def shown_hours(schedules: list[Schedule]) -> Hours:
    """The weekly table and the other schedules in words; false when neither
    has anything to show."""
    return Hours(weekly_hours(schedules), other_hours(schedules))


def centre_schedules(org: Organization) -> list[Schedule]:
    schedules: list[Schedule] = []
    for location in org.locations:
        schedules.extend(location.schedules)
    return schedules



DEFAULT_STALE_AFTER_DAYS = 365


def local_date(moment: datetime) -> date:
    """The date of `moment` in the directory's time zone (a naive moment is
    UTC, as SQLite gives it back)."""
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Riga") if has_app_context() else "Europe/Riga"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(zone)).date()


def local_today() -> date:
    """Today in the directory's time zone."""
    return local_date(datetime.now(timezone.utc))


def stale_after_days() -> int:
    """STALE_AFTER_DAYS: a listing confirmed longer ago "may be out of date"."""
    if not has_app_context():
        return DEFAULT_STALE_AFTER_DAYS
    return int(current_app.config.get("STALE_AFTER_DAYS", DEFAULT_STALE_AFTER_DAYS))


def verification_state(last_verified: date | None, today: date, stale_after_days: int) -> str:
    """"unverified" (never confirmed by the centre), "stale" (confirmed more
    than `stale_after_days` ago: may be out of date) or "verified"."""
    if last_verified is None:
        return "unverified"
    if (today - last_verified).days > stale_after_days:
        return "stale"
    return "verified"
