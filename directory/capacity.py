"""Free places: how many of a unit a service has free now (HSDS 3.1
service_capacity and unit). A centre's editors state it in one click on the
dashboard; residents and social workers see it with its age, and as "may be
out of date" once nobody has confirmed it for STALE_AFTER_DAYS.

Stating it is optional: most services never do, and then nothing is shown.
The dashboard counts in its own units (DASHBOARD_UNITS: places, beds), made
on first use with the scheme "directory"; their names are translated only
when shown. Units that came with an import are kept as they came and shown by
their name. Saving the same number again is a confirmation: `updated` moves.

A service's `updated_at` (HSDS last_modified, the API's `modified_after`)
follows every capacity change by itself: change_tracking counts
service_capacity rows, and their units, as part of the service's record. A
referral never changes the number: only the centre knows its free places.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask_babel import LazyString, format_decimal, format_timedelta, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .models import Service, ServiceCapacity, Unit, User, utcnow

# A number nobody confirmed for longer than this "may be out of date":
# free places change by the week, not by the year like a listing.
STALE_AFTER_DAYS = 14
MAX_AVAILABLE = 100_000
UNIT_SCHEME = "directory"
# How a unit of an import is named in a form's choices (its id after this).
IMPORTED_PREFIX = "unit:"


@dataclass(frozen=True)
class DashboardUnit:
    identifier: str  # Unit.identifier, and the form's value
    name: str  # Unit.name as stored and served by the API
    label: LazyString  # the unit in the reader's language, for the form
    free: Callable[[int], str]  # "3 places free"
    none_free: Callable[[], str]  # "No places free"


DASHBOARD_UNITS: dict[str, DashboardUnit] = {
    unit.identifier: unit for unit in (
        DashboardUnit("place", "Place", _l("places"),
                      lambda n: ngettext("%(num)d place free", "%(num)d places free", n),
                      lambda: gettext("No places free")),
        DashboardUnit("bed", "Bed", _l("beds"),
                      lambda n: ngettext("%(num)d bed free", "%(num)d beds free", n),
                      lambda: gettext("No beds free")),
    )
}
DEFAULT_UNIT = "place"


# ------------------------------------------------------------ units


def dashboard_unit(unit: Unit | None) -> DashboardUnit | None:
    """The dashboard's own unit this row is, if it is one."""
    if unit is None or unit.scheme != UNIT_SCHEME:
        return None
    return DASHBOARD_UNITS.get(unit.identifier or "")


def unit_code(unit: Unit) -> str:
    """A unit's value in the form: "place", "bed", or "unit:<id>" for an imported one."""
    own = dashboard_unit(unit)
    return own.identifier if own is not None else IMPORTED_PREFIX + unit.id


def unit_for(session: Session, code: str) -> Unit | None:
    """The Unit a form value names; a dashboard unit is made on first use."""
    if code in DASHBOARD_UNITS:
        own = DASHBOARD_UNITS[code]
        unit = session.scalars(
            select(Unit).where(Unit.scheme == UNIT_SCHEME, Unit.identifier == code).order_by(Unit.id)
        ).first()
        if unit is None:
            unit = Unit(name=own.name, scheme=UNIT_SCHEME, identifier=code)
            session.add(unit)
        return unit
    if code.startswith(IMPORTED_PREFIX):
        return session.get(Unit, code[len(IMPORTED_PREFIX):])
    return None


def unit_choices(service: Service) -> list[tuple[str, str]]:
    """The units the dashboard offers for this service: its own ones, and the
    imported units the service's capacities are counted in."""
    choices = [(unit.identifier, str(unit.label)) for unit in DASHBOARD_UNITS.values()]
    for capacity in _newest_first(service.capacities):
        if dashboard_unit(capacity.unit) is None:
            choices.append((unit_code(capacity.unit), capacity.unit.name))
    return list(dict.fromkeys(choices))


# ------------------------------------------------------------ reading


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def _newest_first(capacities) -> list[ServiceCapacity]:
    """Newest first; the id settles ties, so the order is never the database's."""
    return sorted(capacities, key=lambda c: (_aware(c.updated) if c.updated else _NEVER, c.id or ""), reverse=True)


def tracked(service: Service) -> ServiceCapacity | None:
    """The capacity the dashboard's form shows and sets: the one in a
    dashboard unit, else the newest imported one; None when none is stated."""
    capacities = _newest_first(service.capacities)
    own = [capacity for capacity in capacities if dashboard_unit(capacity.unit) is not None]
    return (own or capacities or [None])[0]


def is_stale(capacity: ServiceCapacity, now: datetime | None = None) -> bool:
    """Not confirmed for more than STALE_AFTER_DAYS: "may be out of date"."""
    now = now or utcnow()
    return now - _aware(capacity.updated) > timedelta(days=STALE_AFTER_DAYS)


# ------------------------------------------------------------ presenting


@dataclass(frozen=True)
class ShownCapacity:
    capacity_id: str
    text: str  # "3 places free"
    updated: datetime  # UTC
    age: str  # "updated 2 days ago"
    stale: bool


def free_text(capacity: ServiceCapacity) -> str:
    """"3 places free", "No beds free"; an imported unit by its name: "Kilogram: 2.5 free"."""
    available = capacity.available
    own = dashboard_unit(capacity.unit)
    if own is not None and float(available).is_integer():
        count = int(available)
        return own.free(count) if count > 0 else own.none_free()
    return gettext("%(unit)s: %(num)s free", unit=capacity.unit.name, num=format_decimal(available))


def age_text(updated: datetime, now: datetime | None = None) -> str:
    """"updated just now", "updated 2 days ago", in the reader's language."""
    age = (now or utcnow()) - _aware(updated)
    if age < timedelta(minutes=1):
        return gettext("updated just now")
    # Babel words a negative time as the past ("2 days ago").
    return gettext("updated %(ago)s", ago=format_timedelta(-age, granularity="minute", add_direction=True))


def present(capacity: ServiceCapacity, now: datetime | None = None) -> ShownCapacity:
    now = now or utcnow()
    return ShownCapacity(
        capacity_id=capacity.id,
        text=free_text(capacity),
        updated=_aware(capacity.updated),
        age=age_text(capacity.updated, now),
        stale=is_stale(capacity, now),
    )


def shown(service: Service, now: datetime | None = None) -> list[ShownCapacity]:
    """What a service's page says about its free places, newest first; an
    empty list (say nothing) when the service states none."""
    now = now or utcnow()
    return [present(capacity, now) for capacity in _newest_first(service.capacities)]


# ------------------------------------------------------------ writing


_KEEP = object()


def set_capacity(
    session: Session,
    service: Service,
    available: int | float,
    unit_code: str,
    maximum: Any = _KEEP,
    user: User | None = None,
) -> ServiceCapacity:
    """State how many `unit_code` the service has free now (`maximum`: of how
    many; None states none; left out, the maximum already stated in that unit
    stays while the new figure fits under it — the dashboard asks only for
    the free places, and must not wipe what an import said). The capacity in
    that unit is updated; else the one in another dashboard unit changes unit
    (the centre counts otherwise now); else a new one is added. Imported
    capacities of other units stay."""
    if not 0 <= available <= MAX_AVAILABLE:
        raise ValueError(f"available must be from 0 to {MAX_AVAILABLE}")
    if maximum is not _KEEP and maximum is not None and not available <= maximum <= MAX_AVAILABLE:
        raise ValueError("maximum must be from available to MAX_AVAILABLE")
    unit = unit_for(session, unit_code)
    if unit is None:
        raise ValueError(f"no unit {unit_code!r}")
    capacities = _newest_first(service.capacities)
    capacity = next((c for c in capacities if c.unit is unit), None) \
        or next((c for c in capacities if dashboard_unit(c.unit) is not None), None)
    before = None
    if capacity is None:
        capacity = ServiceCapacity(service=service)
        session.add(capacity)
    else:
        before = {"unit": capacity.unit.name if capacity.unit else None, "available": capacity.available,
                  "maximum": capacity.maximum}
    if maximum is _KEEP:
        kept = capacity.maximum if capacity.unit is unit else None
        maximum = kept if kept is not None and available <= kept else None
    capacity.unit = unit
    capacity.available = available
    capacity.maximum = maximum
    capacity.updated = utcnow()  # a confirmation of the same number moves it too
    audit.record(session, "capacity-set", user, "service", service.id, unit=unit.name,
                 available=available, maximum=maximum, before=before)
    return capacity


def clear_capacity(session: Session, service: Service, user: User | None = None) -> int:
    """"No longer tracked": the service states no free places any more (its
    imported capacities too: the centre knows best). Returns how many went."""
    gone = list(service.capacities)
    for capacity in gone:
        service.capacities.remove(capacity)  # delete-orphan: deleted at the flush
    if gone:
        audit.record(session, "capacity-clear", user, "service", service.id,
                     before=[{"unit": c.unit.name if c.unit else None, "available": c.available} for c in gone])
    return len(gone)
