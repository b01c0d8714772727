"""An in-memory facet index: for every filter value, the set of services
that have it, as a bitset (a Python int, bit i = the i-th service in name
order). Filtering is AND, facet counts are popcounts, the first page of an
unranked search is the lowest set bits. Each process builds it once and
rebuilds it when the database's search_state version moves (migration 0003),
so every worker sees every write.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, time

from flask import current_app, has_app_context
from sqlalchemy import literal_column, select, text
from sqlalchemy.orm import Session

from .models import (
    Address,
    Organization,
    Language,
    Location,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
    service_taxonomy_term,
)
from .opening_hours import DEFAULT_COUNTRY, LocalMoment, is_open
from .recurrence import RULE_FIELDS, Rule, weekdays_of
from .textnorm import sort_key


EARTH_RADIUS_KM = 6371.0088
# Guards the per-process caches; gunicorn threads share them.
_lock = threading.RLock()


@dataclass(frozen=True)
class Term:
    """A taxonomy term as plain data, safe to keep between requests."""

    id: str
    code: str
    name: str
    taxonomy: str  # "service-type" or "target-group"
    labels: dict[str, str]

    def label(self, locale: str) -> str:
        return self.labels.get(locale, self.name)


@dataclass(frozen=True)
class ScheduleGroup:
    """Services that share one weekly opening interval in one country."""

    country: str
    byday: str
    opens_at: time
    closes_at: time
    valid_from: date | None
    valid_to: date | None
    open_on_public_holidays: bool

    def covers(self, moment: LocalMoment) -> bool:
        return (
            self.byday == moment.weekday
            and self.opens_at <= moment.time < self.closes_at
            and (self.valid_from is None or self.valid_from <= moment.day)
            and (self.valid_to is None or moment.day <= self.valid_to)
            and (not moment.holiday or self.open_on_public_holidays)
        )


@dataclass(frozen=True)
class RuleGroup:
    """Services that share one schedule of any other rule (fortnightly,
    monthly, bounded, times in another UTC offset) in one country; open only
    when the rule certainly applies (opening_hours.is_open)."""

    country: str
    rule: Rule

    def covers(self, moment: LocalMoment) -> bool:
        return is_open(self.rule, self.country, moment.instant)


@dataclass
class FacetIndex:
    key: tuple
    service_ids: list[str]  # position -> service id, in (name, id) order
    position_by_key: dict  # full-text key (SQLite rowid or service id) -> position
    all_bits: int
    types: dict[str, Term]
    groups: dict[str, Term]
    term_bits: dict[str, int]  # term id -> services with the term
    places: list[str]
    place_bits: dict[str, int]
    languages: list[str]
    language_bits: dict[str, int]
    flag_bits: dict[str, int]  # "free", "wheelchair"
    schedule_bits: dict[ScheduleGroup | RuleGroup, int] = field(default_factory=dict)
    coordinates: dict[int, tuple[float, float]] = field(default_factory=dict)  # position -> (lat, lon)
    term_cache: OrderedDict = field(default_factory=OrderedDict)

    @cached_property
    def located_bits(self) -> int:
        return bits_of(self.coordinates)

    def approximate_distances(self, latitude: float, longitude: float) -> list[tuple[float, int]]:
        """(km, position) for every service with coordinates: an
        equirectangular estimate, off by well under 1 % within 100 km."""
        scale = math.cos(math.radians(latitude))
        origin_lat, origin_lon = math.radians(latitude), math.radians(longitude)
        radius = EARTH_RADIUS_KM
        return [
            (radius * math.hypot(lat - origin_lat, (lon - origin_lon) * scale), position)
            for position, (lat, lon) in self._radians.items()
        ]

    @cached_property
    def _radians(self) -> dict[int, tuple[float, float]]:
        return {p: (math.radians(lat), math.radians(lon)) for p, (lat, lon) in self.coordinates.items()}

    TERM_CACHE_SIZE = 2000

    def term_matches(self, term: str, names_only: bool, fetch) -> int:
        """Services with a word starting with `term` (in their names only, or
        anywhere), as a bitset; `fetch(term, names_only)` asks the full-text
        index for their keys. Remembered until the data changes."""
        cache_key = (term, names_only)
        with _lock:
            bits = self.term_cache.get(cache_key)
            if bits is not None:
                self.term_cache.move_to_end(cache_key)
                return bits
        position_of = self.position_by_key.get
        bits = bits_of(p for key in fetch(term, names_only) if (p := position_of(key)) is not None)
        with _lock:
            self.term_cache[cache_key] = bits
            if len(self.term_cache) > self.TERM_CACHE_SIZE:
                self.term_cache.popitem(last=False)
        return bits

    @cached_property
    def terms_by_id(self) -> dict[str, Term]:
        return {term.id: term for term in (*self.types.values(), *self.groups.values())}

    def open_bits(self, now: datetime) -> int:
        moments: dict[str, LocalMoment] = {}
        bits = 0
        for group, members in self.schedule_bits.items():
            if group.country not in moments:  # imported listings may be in any country
                moments[group.country] = LocalMoment.of(group.country, now)
            if group.covers(moments[group.country]):
                bits |= members
        return bits

    def positions(self, bits: int, start: int, count: int) -> list[int]:
        """The `count` set bits of `bits` after skipping `start`, lowest first."""
        found: list[int] = []
        raw = bits.to_bytes((bits.bit_length() + 7) // 8 or 1, "little")
        seen = 0
        for byte_index, byte in enumerate(raw):
            if not byte:
                continue
            ones = byte.bit_count()
            if seen + ones <= start:
                seen += ones
                continue
            for bit in range(8):
                if byte >> bit & 1:
                    if seen >= start:
                        found.append(byte_index * 8 + bit)
                        if len(found) == count:
                            return found
                    seen += 1
        return found


def bits_of(positions) -> int:
    """A bitset with the given positions set."""
    positions = list(positions)
    if not positions:
        return 0
    raw = bytearray(max(positions) // 8 + 1)
    for position in positions:
        raw[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(raw, "little")


_cache: dict[str, FacetIndex] = {}


def state_key(session: Session) -> tuple:
    row = session.execute(text("SELECT generation, version FROM search_state WHERE id = 1")).first()
    return (str(session.get_bind().url), *(row or ("", 0)))


def facet_index(session: Session, full_text_key: str, languages: Sequence[str] | None = None) -> FacetIndex:
    """The current index for this database, rebuilt when the data moved on.
    `languages` (default: the app's LANGUAGES) come first among the language
    filters, offered even where no service speaks them yet."""
    if languages is None:
        languages = current_app.config["LANGUAGES"] if has_app_context() else ()
    languages = tuple(languages)
    key = state_key(session) + (full_text_key, languages)
    cache_key = f"{key[0]} {full_text_key} {' '.join(languages)}"
    index = _cache.get(cache_key)
    if index is not None and index.key == key:
        return index
    with _lock:
        index = _cache.get(cache_key)
        if index is None or index.key != key:
            index = build_facet_index(session, key, full_text_key, languages)
            _cache[cache_key] = index
    return index


def build_facet_index(
    session: Session, key: tuple, full_text_key: str, base_languages: Sequence[str] = ()
) -> FacetIndex:
    key_column = literal_column("service.rowid") if full_text_key == "rowid" else Service.id
    rows = session.execute(
        select(Service.id, key_column, Service.free_of_charge)
        .join(Organization, Organization.id == Service.organization_id)
        .where(Service.status == "active", Organization.status == "published")
        .order_by(Service.name, Service.id)
    ).all()
    service_ids = [row[0] for row in rows]
    position = {service_id: i for i, service_id in enumerate(service_ids)}
    position_by_key = {row[1]: i for i, row in enumerate(rows)}

    types, groups = _load_terms(session)
    term_members: dict[str, list[int]] = defaultdict(list)
    links = select(service_taxonomy_term.c.service_id, service_taxonomy_term.c.taxonomy_term_id)
    for service_id, term_id in session.execute(links):
        if service_id in position:
            term_members[term_id].append(position[service_id])

    place_members: dict[str, list[int]] = defaultdict(list)
    wheelchair: list[int] = []
    country_of: dict[int, str] = {}
    locations_of: dict[int, list[str]] = defaultdict(list)
    coordinates: dict[int, tuple[float, float]] = {}
    located = session.execute(
        select(
            ServiceAtLocation.service_id,
            ServiceAtLocation.location_id,
            Address.city,
            Address.municipality,
            Address.country,
            Location.wheelchair_accessible,
            Location.latitude,
            Location.longitude,
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .outerjoin(Address, Address.location_id == Location.id)
        .order_by(ServiceAtLocation.service_id, ServiceAtLocation.id, Address.id)
    )
    for service_id, location_id, city, municipality, country, accessible, latitude, longitude in located:
        if service_id not in position:
            continue
        at = position[service_id]
        if latitude is not None and longitude is not None and at not in coordinates:
            coordinates[at] = (latitude, longitude)
        locations_of[at].append(location_id)
        for place in (city, municipality):
            if place:
                place_members[place].append(at)
        if accessible:
            wheelchair.append(at)
        if country and at not in country_of:
            country_of[at] = country

    language_members: dict[str, list[int]] = defaultdict(list)
    location_languages: dict[str, set[str]] = defaultdict(set)
    for service_id, location_id, code in session.execute(
        select(Language.service_id, Language.location_id, Language.code)
    ):
        if service_id in position:
            language_members[code].append(position[service_id])
        elif location_id:
            location_languages[location_id].add(code)
    for at, location_ids in locations_of.items():
        for location_id in location_ids:
            for code in location_languages.get(location_id, ()):
                language_members[code].append(at)

    schedule_bits = _schedule_bits(session, position, locations_of, country_of)

    places = sorted(place_members, key=sort_key)
    languages = list(base_languages) + sorted(set(language_members) - set(base_languages))
    return FacetIndex(
        key=key,
        service_ids=service_ids,
        position_by_key=position_by_key,
        all_bits=(1 << len(service_ids)) - 1,
        types=types,
        groups=groups,
        term_bits={term: bits_of(members) for term, members in term_members.items()},
        places=places,
        place_bits={place: bits_of(members) for place, members in place_members.items()},
        languages=languages,
        language_bits={code: bits_of(members) for code, members in language_members.items()},
        flag_bits={
            "free": bits_of(i for i, row in enumerate(rows) if row[2]),
            "wheelchair": bits_of(wheelchair),
        },
        schedule_bits=schedule_bits,
        coordinates=coordinates,
    )


def _load_terms(session: Session) -> tuple[dict[str, Term], dict[str, Term]]:
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for term_id, locale, name in session.execute(
        select(TaxonomyTermLabel.term_id, TaxonomyTermLabel.locale, TaxonomyTermLabel.name)
    ):
        labels[term_id][locale] = name
    vocabularies: dict[str, dict[str, Term]] = {"service-type": {}, "target-group": {}}
    for term_id, code, name, taxonomy in session.execute(
        select(TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.name, Taxonomy.code)
        .join(Taxonomy)
        .order_by(Taxonomy.code, TaxonomyTerm.position, TaxonomyTerm.code)
    ):
        if taxonomy in vocabularies:
            vocabularies[taxonomy][code] = Term(term_id, code, name, taxonomy, labels.get(term_id, {}))
    return vocabularies["service-type"], vocabularies["target-group"]


def _schedule_bits(session, position, locations_of, country_of) -> dict[ScheduleGroup | RuleGroup, int]:
    """A service's own hours count; a service without hours of its own keeps
    the hours of the locations it is offered at (as the result cards do).
    A plain weekly row counts on each of its weekdays; any other rule keeps
    all its parts (RuleGroup)."""
    own: dict[int, list] = defaultdict(list)
    at_location: dict[str, list] = defaultdict(list)
    for row in session.execute(
        select(Schedule.service_id, Schedule.location_id, *(getattr(Schedule, name) for name in RULE_FIELDS))
        .where(Schedule.opens_at.is_not(None), Schedule.closes_at.is_not(None))
    ):
        rule = Rule(**{name: row._mapping[name] for name in RULE_FIELDS})
        if row.service_id in position:
            own[position[row.service_id]].append(rule)
        elif row.location_id:
            at_location[row.location_id].append(rule)

    members: dict[ScheduleGroup | RuleGroup, list[int]] = defaultdict(list)
    for at in range(len(position)):
        rules = own.get(at) or [
            rule for location_id in locations_of.get(at, ()) for rule in at_location.get(location_id, ())
        ]
        country = country_of.get(at, DEFAULT_COUNTRY)
        for rule in rules:
            for group in _groups(country, rule):
                members[group].append(at)
    return {group: bits_of(ats) for group, ats in members.items()}


def _groups(country: str, rule: Rule) -> list[ScheduleGroup | RuleGroup]:
    days = weekdays_of(rule)
    # Only a rule the weekday check says all about: local times, no start or end date.
    if days is None or rule.timezone is not None or rule.dtstart or rule.until:
        return [RuleGroup(country, rule)]
    return [
        ScheduleGroup(country, day, rule.opens_at, rule.closes_at, rule.valid_from, rule.valid_to,
                      bool(rule.open_on_public_holidays))
        for day in sorted(days)
    ]
