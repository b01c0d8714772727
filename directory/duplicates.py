"""Likely duplicates of an organization being created (proposed, imported,
approved): the same name in the same place, or nearly the same name a few
hundred metres away. A warning for a person to judge, never a refusal.

Names are compared folded: no case, no diacritics, no quotes or
punctuation, words in any order, and without the words that say what kind
of body it is (IGNORED_WORDS), which two listings of one centre often
disagree on. The directory is indexed once (`DuplicateIndex`), so an import
checks each new organization in constant time, not against every other."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from .gazetteer import fold
from .models import Address, Location, Organization

# Words that name the kind of body, not the body: "Dienas centrs “Saskarsme”"
# and "Saskarsme" are one centre. Folded (no diacritics, lower case).
IGNORED_WORDS = frozenset({
    "centrs", "centras", "centre", "center",  # lv, lt, en
    "sia", "uab", "vsi",  # companies and public bodies (lv SIA; lt UAB, VšĮ)
    "biedriba", "nodibinajums", "asociacija",  # associations and foundations
    "pasvaldibas", "savivaldybes",  # "of the municipality"
})
NEARBY_METRES = 300  # "a few hundred metres": the same building or street
SIMILAR_RATIO = 0.8  # difflib ratio of two folded names
SHARED_WORDS = 0.6  # or this share of the words of the shorter name
EARTH_RADIUS_M = 6_371_000
# Grid cells of about 550 m (latitude) by 600 m (longitude at 56° N): a
# location's neighbours within NEARBY_METRES are in its cell or the next ones.
CELL_LAT, CELL_LON = 0.005, 0.01


def name_words(name: str | None) -> tuple[str, ...]:
    """The words that tell one organization from another, sorted."""
    words = fold(name or "").split()
    kept = [word for word in words if word not in IGNORED_WORDS]
    return tuple(sorted(kept or words))


def place_keys(city: str | None, municipality: str | None) -> frozenset[str]:
    """Where a location is, folded: its municipality and its town (the
    starter listings often name only the town)."""
    return frozenset(key for key in (fold(municipality or ""), fold(city or "")) if key)


@dataclass(frozen=True)
class Place:
    """A location of an organization: its town/municipality and coordinates."""

    keys: frozenset[str] = frozenset()
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Match:
    """An existing organization that may be the same: `same_name` (in the
    same place) or only a similar name nearby, `metres` away."""

    id: str
    slug: str
    name: str
    status: str
    same_name: bool
    metres: int | None = None


@dataclass
class _Entry:
    id: str
    slug: str
    name: str
    status: str
    words: tuple[str, ...]
    places: list[Place] = field(default_factory=list)


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance: exact enough at a few hundred metres, and cheap
    enough for an import of thousands (geopy's geodesic is 50× slower)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def similar_names(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Nearly alike: few letters differ, or most words are shared."""
    if not a or not b:
        return False
    if SequenceMatcher(None, " ".join(a), " ".join(b)).ratio() >= SIMILAR_RATIO:
        return True
    shared = len(set(a) & set(b))
    return shared / min(len(set(a)), len(set(b))) >= SHARED_WORDS


def _cell(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude / CELL_LAT), math.floor(longitude / CELL_LON)


class DuplicateIndex:
    """The directory's organizations by folded name and by grid cell."""

    def __init__(self, entries: Iterable[_Entry]):
        self.entries: dict[str, _Entry] = {}
        self.by_words: dict[tuple[str, ...], list[_Entry]] = defaultdict(list)
        self.by_cell: dict[tuple[int, int], list[tuple[_Entry, float, float]]] = defaultdict(list)
        for entry in entries:
            self.entries[entry.id] = entry
            self.by_words[entry.words].append(entry)
            for place in entry.places:
                if place.latitude is not None and place.longitude is not None:
                    self.by_cell[_cell(place.latitude, place.longitude)].append(
                        (entry, place.latitude, place.longitude))

    def find(self, name: str | None, places: Iterable[Place] = (), exclude: Iterable[str] = ()) -> list[Match]:
        """Likely duplicates of an organization called `name` at `places`.
        Same name: in a shared town or municipality, or anywhere when either
        side has no place at all. Similar name: within NEARBY_METRES."""
        words = name_words(name)
        places = list(places)
        excluded = set(exclude)
        found: dict[str, Match] = {}
        keys = frozenset().union(*(place.keys for place in places)) if places else frozenset()
        for entry in self.by_words.get(words, []) if words else []:
            entry_keys = frozenset().union(*(place.keys for place in entry.places)) if entry.places else frozenset()
            if entry.id not in excluded and (keys & entry_keys or not keys or not entry_keys):
                found[entry.id] = Match(entry.id, entry.slug, entry.name, entry.status, same_name=True)
        for place in places:
            if place.latitude is None or place.longitude is None:
                continue
            row, column = _cell(place.latitude, place.longitude)
            for d_row in (-1, 0, 1):
                for d_column in (-1, 0, 1):
                    for entry, latitude, longitude in self.by_cell.get((row + d_row, column + d_column), []):
                        if entry.id in excluded:
                            continue
                        metres = metres_between((place.latitude, place.longitude), (latitude, longitude))
                        if metres > NEARBY_METRES or not similar_names(words, entry.words):
                            continue
                        earlier = found.get(entry.id)
                        if earlier is None or (earlier.metres is not None and metres < earlier.metres) \
                                or (earlier.same_name and earlier.metres is None):
                            found[entry.id] = Match(entry.id, entry.slug, entry.name, entry.status,
                                                    same_name=words == entry.words, metres=round(metres))
        return sorted(found.values(), key=lambda m: (not m.same_name, m.metres or 0, m.name, m.id))


def index_directory(session: Session, exclude: Iterable[str] = ()) -> DuplicateIndex:
    """Every organization in the database (but `exclude`), in two queries."""
    excluded = set(exclude)
    entries = {
        org_id: _Entry(org_id, slug, name, status, name_words(name))
        for org_id, slug, name, status in session.execute(
            select(Organization.id, Organization.slug, Organization.name, Organization.status))
        if org_id not in excluded
    }
    rows = session.execute(
        select(Location.organization_id, Location.id, Location.latitude, Location.longitude,
               Address.city, Address.municipality)
        .outerjoin(Address, Address.location_id == Location.id)
        .where(Location.organization_id.is_not(None))
    )
    for org_id, _location_id, latitude, longitude, city, municipality in rows:
        if org_id in entries:
            entries[org_id].places.append(Place(place_keys(city, municipality), latitude, longitude))
    return DuplicateIndex(entries.values())


def places_of(organization: Organization) -> list[Place]:
    return [Place(frozenset().union(*(place_keys(a.city, a.municipality) for a in location.addresses)),
                  location.latitude, location.longitude)
            for location in organization.locations]


def likely_duplicates(session: Session, name: str | None, places: Iterable[Place] = (),
                      exclude: Iterable[str] = ()) -> list[Match]:
    """One organization's likely duplicates (a proposal, a review)."""
    return index_directory(session, exclude).find(name, places)


def duplicates_of_organization(index: DuplicateIndex, organization: Organization) -> list[Match]:
    """Another organization of the directory that may be this one."""
    return index.find(organization.name, places_of(organization), exclude=[organization.id])


def duplicates_in_package(session: Session, valid: dict[str, list[tuple[int, dict]]]) -> list[tuple[int, str, list[Match]]]:
    """For an import: each organization of the package that is not in the
    database yet, with its row number, name and likely duplicates among the
    organizations already there. `valid`: the validated rows by table."""
    organizations = valid.get("organization", [])
    if not organizations:
        return []
    index = index_directory(session)
    addresses: dict[str, set[str]] = defaultdict(set)
    for _number, values in valid.get("address", []):
        addresses[values.get("location_id")] |= place_keys(values.get("city"), values.get("region"))
    places: dict[str, list[Place]] = defaultdict(list)
    for _number, values in valid.get("location", []):
        if values.get("organization_id") is not None:
            places[values["organization_id"]].append(Place(frozenset(addresses.get(values.get("id"), ())),
                                                           values.get("latitude"), values.get("longitude")))
    found = []
    for number, values in organizations:
        org_id = values.get("id")
        if org_id in index.entries:
            continue  # an update of a record the directory has
        matches = index.find(values.get("name"), places.get(org_id, []))
        if matches:
            found.append((number, values.get("name") or "", matches))
    return found
