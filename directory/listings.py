"""Reading listings for the public pages: which centres exist, one centre
with everything shown about it, and its weekly hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import (
    WEEKDAYS,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    SourceDocument,
    TaxonomyTerm,
)

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


def weekly_hours(schedules: list[Schedule]) -> list[DayHours]:
    """Opening intervals per weekday, Monday first; empty when no hours are listed."""
    if not schedules:
        return []
    by_day: dict[str, list[tuple[time | None, time | None]]] = {day: [] for day in WEEKDAYS}
    for schedule in schedules:
        if schedule.byday in by_day:
            by_day[schedule.byday].append((schedule.opens_at, schedule.closes_at))
    return [
        DayHours(day, tuple(sorted(by_day[day], key=lambda i: i[0] or time.min)))
        for day in WEEKDAYS
    ]


def centre_schedules(org: Organization) -> list[Schedule]:
    schedules: list[Schedule] = []
    for location in org.locations:
        schedules.extend(location.schedules)
    return schedules



def verification_state(last_verified: date | None, today: date, stale_after_days: int) -> str:
    """"unverified" (never confirmed by the centre), "stale" (confirmed more
    than `stale_after_days` ago: may be out of date) or "verified"."""
    if last_verified is None:
        return "unverified"
    if (today - last_verified).days > stale_after_days:
        return "stale"
    return "verified"
