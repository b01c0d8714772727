"""Confidential addresses: a location marked `confidential` (a shelter for
people escaping violence) shows the public only its town, municipality and
country, placed at the town's centre. Everything that leaves the directory
for anyone (pages, fragments, the map, the API, a published export, printed
cards and slips) reads such a location through `public_location`; signed-in
social workers, the centre's editors and admins see it whole on the centre
page and the referral form (`may_see_address`)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .gazetteer import GazetteerGeocoder
from .models import Address, Location, Organization

# What a confidential address withholds; the town, municipality, region and
# country stay public.
WITHHELD_ADDRESS_PARTS = frozenset({"attention", "address_1", "address_2", "postal_code"})
# "How to get there" leads to the door as surely as the street does.
WITHHELD_LOCATION_FIELDS = frozenset({"transportation", "geocoded_query"})


def may_see_address(user: Any, organization: Organization | None) -> bool:
    """Whether `user` (Flask-Login's current user, perhaps anonymous) sees a
    confidential address of `organization`: active social workers and
    admins, and the organization's own editors."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role in ("social_worker", "admin"):
        return True
    return organization is not None and user.may_edit(organization)


@functools.lru_cache(maxsize=4096)
def town_point(city: str | None, country: str | None) -> tuple[float, float, str] | None:
    """(latitude, longitude, "town") of the town from the offline gazetteer;
    None when it does not know the town (its fallback to a municipality's
    town would be another place). The street is never asked about, so the
    point says no more than the town's name does. The search index places
    confidential locations by the same rule (facet_build.py)."""
    if not city or not city.strip():
        return None
    found = GazetteerGeocoder().geocode({"city": city}, country_codes=country or None)
    if found is None or found.raw["precision"] != "town":
        return None
    return found.latitude, found.longitude, "town"


def address_town_point(address: Address | None) -> tuple[float, float, str] | None:
    if address is None:
        return None
    return town_point(address.city, address.country)


def town_points(session: Session, location_ids: Iterable[str]) -> dict[str, tuple[float | None, float | None]]:
    """The public (town) coordinates of each of these locations, by id."""
    wanted = sorted(set(location_ids))
    if not wanted:
        return {}
    located = session.scalars(select(Location).where(Location.id.in_(wanted)).options(selectinload(Location.addresses)))
    return {location.id: (address_town_point(location.physical_address) or (None, None, None))[:2]
            for location in located}


class PublicAddress:
    """A confidential location's address as anyone may read it: the street,
    second line, postal code and attention are None; `withheld` tells the
    templates to say why."""

    withheld = True

    def __init__(self, address: Address):
        self._address = address

    def __getattr__(self, name: str) -> Any:
        if name in WITHHELD_ADDRESS_PARTS:
            return None
        return getattr(self._address, name)


class PublicLocation:
    """A confidential location as anyone may read it: its addresses without
    the street, the town's coordinates (precision "town", or none) instead
    of its own, no directions."""

    withheld = True

    def __init__(self, location: Location):
        self._location = location
        self.addresses = [PublicAddress(address) for address in location.addresses]
        physical = location.physical_address
        self.physical_address = PublicAddress(physical) if physical is not None else None
        point = address_town_point(physical)
        self.latitude, self.longitude, self.geocode_precision = point or (None, None, None)

    def __getattr__(self, name: str) -> Any:
        if name in WITHHELD_LOCATION_FIELDS:
            return None
        return getattr(self._location, name)


def public_location(location: Location) -> Location | PublicLocation:
    """The location as anyone may read it."""
    return PublicLocation(location) if location.confidential else location


def shown_location(location: Location, reveal: bool) -> Location | PublicLocation:
    """The location whole for someone who may see it (`reveal`), else as anyone reads it."""
    return location if reveal else public_location(location)


def public_record(record: Any, confidential_location_ids: set[str] | frozenset[str]) -> Any:
    """A record of any table as a public release shows it: a confidential
    location, or an address of one, read as anyone may; any other record as it is."""
    if isinstance(record, Location):
        return public_location(record)
    if isinstance(record, Address) and record.location_id in confidential_location_ids:
        return PublicAddress(record)
    return record
