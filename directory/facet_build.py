"""Building a search index (facets.py) from the database, and applying to
it the services a write changed.

A write leaves its trace in two places (migrations 0003, 0011, 0013):
search_state's counter moves, and search_change names each service whose
search facts the write changed (a NULL: everything, a taxonomy changed).
`read_changes` reads the entries an index has not applied; `apply_changes`
gives those services new slots and adds their filters and words, sharing
with the index before it the append-only lists (slot -> id, coordinates)
and the id -> slot map.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right, insort
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import or_, select, text, union_all
from sqlalchemy.orm import Session

from . import confidential, full_text, municipalities
from .facets import (
    FacetIndex,
    RuleGroup,
    ScheduleGroup,
    SearchState,
    SortedKeys,
    Term,
    WordIndex,
    _lock,
    bits_of,
    review_month,
)
from .full_text import Folder
from .models import (
    Address,
    Organization,
    Language,
    Location,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
    service_taxonomy_term,
)
from .opening_hours import DEFAULT_COUNTRY
from .recurrence import RULE_FIELDS, Rule, weekdays_of
from .search_index import CHANGES_RECORDED_ONE_BY_ONE
from .textnorm import sort_key

# Change-log entries read again behind the last one applied: on PostgreSQL a
# transaction may commit after one that took a later id.
CHANGE_MARGIN = 1000
ROWS_PER_FETCH = 20_000


def read_state(session: Session) -> SearchState:
    row = session.execute(
        text("SELECT generation, version, pruned_through FROM search_state WHERE id = 1")
    ).first()
    return SearchState(*row) if row else SearchState("", 0, 0)


@dataclass
class Facts:
    """What the filters know of some services, by slot."""

    terms: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    places: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    languages: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    wheelchair: list[int] = field(default_factory=list)
    free: list[int] = field(default_factory=list)
    schedules: dict[ScheduleGroup | RuleGroup, list[int]] = field(default_factory=lambda: defaultdict(list))
    coordinates: dict[int, tuple[float, float]] = field(default_factory=dict)
    areas: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    minimum_ages: dict[int | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    maximum_ages: dict[int | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    reviews: dict[date | None, list[int]] = field(default_factory=lambda: defaultdict(list))  # centre's last_verified


class PublicService(NamedTuple):
    name_key: str
    id: str
    free: bool
    minimum_age: int | None
    maximum_age: int | None
    reviewed: date | None  # the centre's last_verified


def _public_services(session: Session, only: list[str] | None = None) -> list[PublicService]:
    """The public services (of `only`) in name order: letters compare as
    the search compares them, whatever the database's collation."""
    query = (
        select(Service.name, Service.id, Service.free_of_charge, Service.minimum_age, Service.maximum_age,
               Organization.last_verified)
        .join(Organization, Organization.id == Service.organization_id)
        .where(Service.status == "active", Organization.status == "published")
    )
    if only is not None:
        query = query.where(Service.id.in_(only))
    rows = [PublicService(sort_key(name), service_id, bool(free), minimum, maximum, reviewed)
            for name, service_id, free, minimum, maximum, reviewed in _stream(session, query)]
    rows.sort()
    return rows


def _add_row_facts(facts: Facts, rows: list[PublicService], slot_of: dict[str, int]) -> None:
    """What the service rows themselves say: free of charge, the age range,
    when their centre was last reviewed."""
    for row in rows:
        at = slot_of[row.id]
        facts.reviews[row.reviewed].append(at)
        if row.free:
            facts.free.append(at)
        # Both bounds missing: no range stated (kept by the age filter, and marked).
        if row.minimum_age is not None or row.maximum_age is not None:
            facts.minimum_ages[row.minimum_age].append(at)
            facts.maximum_ages[row.maximum_age].append(at)


def _stream(session: Session, query):
    """Plain rows (no ORM in between) in batches: on PostgreSQL a server-side
    cursor, so that a million rows never sit in memory at once."""
    # On the statement: Connection.execution_options() would change the
    # connection itself, and every later statement of its transaction.
    return session.connection().execute(query.execution_options(yield_per=ROWS_PER_FETCH))


def _read_facts(session: Session, slots: dict[str, int], only: list[str] | None) -> Facts:
    """The facts of the services in `slots` (service id -> slot); `only`
    narrows the queries to those services (None: read every row)."""
    facts = Facts()
    stt = service_taxonomy_term
    links = select(stt.c.service_id, stt.c.taxonomy_term_id)
    if only is not None:
        links = links.where(stt.c.service_id.in_(only))
    for service_id, term_id in _stream(session, links):
        if (at := slots.get(service_id)) is not None:
            facts.terms[term_id].append(at)

    country_of: dict[int, str] = {}
    locations_of: dict[int, list[str]] = defaultdict(list)
    located = (
        select(
            ServiceAtLocation.service_id,
            ServiceAtLocation.location_id,
            Address.city,
            Address.municipality,
            Address.country,
            Location.wheelchair_accessible,
            Location.latitude,
            Location.longitude,
            Location.confidential,
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .outerjoin(Address, Address.location_id == Location.id)
        .order_by(ServiceAtLocation.service_id, ServiceAtLocation.id, Address.id)
    )
    if only is not None:
        located = located.where(ServiceAtLocation.service_id.in_(only))
    town_position = _TownPositions()
    for service_id, location_id, city, municipality, country, accessible, latitude, longitude, withheld in _stream(
        session, located
    ):
        if (at := slots.get(service_id)) is None:
            continue
        if withheld:
            latitude, longitude = town_position(city, country)
        if latitude is not None and longitude is not None and at not in facts.coordinates:
            facts.coordinates[at] = (latitude, longitude)
        if location_id not in locations_of[at]:
            locations_of[at].append(location_id)
        for place in (city, municipality):
            if place:
                facts.places[place].append(at)
        if accessible:
            facts.wheelchair.append(at)
        if country and at not in country_of:
            country_of[at] = country

    location_ids = sorted({lid for ids in locations_of.values() for lid in ids}) if only is not None else None
    location_languages: dict[str, set[str]] = defaultdict(set)
    languages = select(Language.service_id, Language.location_id, Language.code)
    if only is not None:
        languages = languages.where(or_(Language.service_id.in_(only), Language.location_id.in_(location_ids)))
    for service_id, location_id, code in _stream(session, languages):
        if (at := slots.get(service_id)) is not None:
            facts.languages[code].append(at)
        elif location_id:
            location_languages[location_id].add(code)
    for at, ids in locations_of.items():
        for location_id in ids:
            for code in location_languages.get(location_id, ()):
                facts.languages[code].append(at)

    _read_schedules(session, slots, only, location_ids, locations_of, country_of, facts)
    _read_areas(session, slots, only, facts)
    return facts


class _TownPositions:
    """The point of a confidential location's town, never its own
    (confidential.town_point, the rule the result cards follow too): a search
    near a place still finds it by its town, and no distance gives the exact
    point away. Remembered per town for one build."""

    def __init__(self):
        self.known: dict[tuple, tuple[float | None, float | None]] = {}

    def __call__(self, city: str | None, country: str | None) -> tuple[float | None, float | None]:
        key = (city, country)
        if key not in self.known:
            self.known[key] = (confidential.town_point(city, country) or (None, None, None))[:2]
        return self.known[key]


def service_areas(only: list[str] | None, *columns):
    """(service id, *columns) of each area of the services (in `only`):
    stated on the service, or on one of its service_at_location rows (it
    counts for the service too). Two indexed lookups: an OR across the
    join would read the whole table."""
    own = select(ServiceArea.service_id, *columns).where(ServiceArea.service_id.is_not(None))
    at_location = (
        select(ServiceAtLocation.service_id, *columns)
        .select_from(ServiceArea)
        .join(ServiceAtLocation, ServiceAtLocation.id == ServiceArea.service_at_location_id)
    )
    if only is not None:
        own = own.where(ServiceArea.service_id.in_(only))
        at_location = at_location.where(ServiceAtLocation.service_id.in_(only))
    return union_all(own, at_location)


def _read_areas(session: Session, slots: dict[str, int], only: list[str] | None, facts: Facts) -> None:
    """The areas the services serve that the search can check: a country or
    a municipality code. Areas in words alone are the cards' only."""
    for service_id, code in _stream(session, service_areas(only, ServiceArea.area_code)):
        if code and (at := slots.get(service_id)) is not None and municipalities.is_area_code(code):
            facts.areas[code].append(at)


def _read_schedules(session, slots, only, location_ids, locations_of, country_of, facts: Facts) -> None:
    """A service's own hours count; a service without hours of its own keeps
    the hours of the locations it is offered at (as the result cards do).
    A plain weekly row counts on each of its weekdays; any other rule keeps
    all its parts (RuleGroup)."""
    own: dict[int, list] = defaultdict(list)
    at_location: dict[str, list] = defaultdict(list)
    query = select(Schedule.service_id, Schedule.location_id, *(getattr(Schedule, name) for name in RULE_FIELDS)).where(
        Schedule.opens_at.is_not(None), Schedule.closes_at.is_not(None)
    )
    if only is not None:
        query = query.where(or_(Schedule.service_id.in_(only), Schedule.location_id.in_(location_ids)))
    rules: dict[tuple, Rule] = {}  # most rows repeat a few rules
    for row in _stream(session, query):
        parts = tuple(row[2:])
        if (rule := rules.get(parts)) is None:
            rule = rules[parts] = Rule(**dict(zip(RULE_FIELDS, parts)))
        if (at := slots.get(row[0])) is not None:
            own[at].append(rule)
        elif row[1]:
            at_location[row[1]].append(rule)
    groups: dict[tuple[str, Rule], list] = {}
    for at in slots.values():
        rules_of = own.get(at) or [
            rule for location_id in locations_of.get(at, ()) for rule in at_location.get(location_id, ())
        ]
        country = country_of.get(at, DEFAULT_COUNTRY)
        for rule in rules_of:
            if (found := groups.get((country, rule))) is None:
                found = groups[(country, rule)] = _groups(country, rule)
            for group in found:
                facts.schedules[group].append(at)


def _read_words(session: Session, slots: dict[str, int], facts: Facts) -> tuple[dict, dict]:
    """Word -> slots, of whole documents and of names, for every service in
    `slots`: each text is folded once (a centre's, a term label, a place)
    and its words given to all the services that share it."""
    folder = Folder()
    everywhere: dict[str, array] = defaultdict(lambda: array("I"))
    in_names: dict[str, array] = defaultdict(lambda: array("I"))

    def add(names: set[str], others: set[str], members) -> None:
        for word in names:
            in_names[word].extend(members)
            everywhere[word].extend(members)
        for word in others - names:
            everywhere[word].extend(members)

    services_of: dict[str, array] = defaultdict(lambda: array("I"))
    texts = select(Service.id, Service.organization_id, Service.name, Service.alternate_name, Service.description)
    for service_id, organization_id, name, alternate_name, description in _stream(session, texts):
        if (at := slots.get(service_id)) is not None:
            services_of[organization_id].append(at)
            add(folder.words(name) | folder.words(alternate_name), folder.words(description), (at,))
    centres = select(Organization.id, Organization.name, Organization.alternate_name, Organization.description)
    for organization_id, name, alternate_name, description in _stream(session, centres):
        if members := services_of.get(organization_id):
            add(folder.words(name) | folder.words(alternate_name), folder.words(description), members)
    label_words: dict[str, set[str]] = defaultdict(set)
    # A label's synonyms are words of it (as the view's `terms` says).
    for term_id, label, synonyms in session.execute(
            select(TaxonomyTermLabel.term_id, TaxonomyTermLabel.name, TaxonomyTermLabel.synonyms)):
        label_words[term_id] |= folder.words(label) | folder.words(synonyms)
    for term_id, members in facts.terms.items():
        add(set(), label_words.get(term_id, set()), members)
    for place, members in facts.places.items():
        add(set(), folder.words(place), members)
    return everywhere, in_names


def _members(members: dict[object, list[int]]) -> int:
    """The slots of any of the values, as a bitset."""
    return bits_of(slot for slots in members.values() for slot in slots)


def _review_months(bitsets: dict[int, int], reviews: dict[date | None, list[int]]) -> dict[int, int]:
    """A copy of the month bitsets with the reviewed slots added."""
    return _merged(bitsets, _by_month(reviews))


def _by_month(reviews: dict[date | None, list[int]]) -> dict[int, list[int]]:
    months: dict[int, list[int]] = defaultdict(list)
    for day, slots in reviews.items():
        months[review_month(day)].extend(slots)
    return months


def _review_days(day_slots: dict[int, array], reviews: dict[date | None, list[int]]) -> dict[int, array]:
    """A copy of the day -> slots map with the reviewed slots added (a
    changed day gets a new array: the index before keeps its own)."""
    merged = dict(day_slots)
    for day, slots in reviews.items():
        if day is not None:
            key = day.toordinal()
            merged[key] = merged.get(key, array("I")) + array("I", slots)
    return merged


def _stale_cache_with(index: FacetIndex, reviews: dict[date | None, list[int]]) -> dict[int, int]:
    """The remembered stale services with the new slots added where their
    centre's review is older than the day (a leaving slot's bit may stay:
    every search keeps to all_bits)."""
    with _lock:
        cache = dict(index.stale_cache)
    for key, bits in cache.items():
        cache[key] = bits | bits_of(slot for day, slots in reviews.items()
                                    if day is None or day.toordinal() < key for slot in slots)
    return cache


def _merged(bitsets: dict, members: dict[object, list[int]]) -> dict:
    """A copy of `bitsets` with the `members` added."""
    merged = dict(bitsets)
    for value, slots in members.items():
        merged[value] = merged.get(value, 0) | bits_of(slots)
    return merged


# ------------------------------------------------------------ building, applying


def build_facet_index(session: Session, base_languages=(), state: SearchState | None = None) -> FacetIndex:
    """A whole index, in name order, of what the database holds now."""
    state = state or read_state(session)
    # Before the data: an entry logged while the data is read is applied later.
    cursor, applied = _log_position(session)
    rows = _public_services(session)
    service_ids = [row.id for row in rows]
    slot_of = {service_id: slot for slot, service_id in enumerate(service_ids)}
    main_keys = SortedKeys([row.name_key for row in rows])
    facts = _read_facts(session, slot_of, None)
    _add_row_facts(facts, rows, slot_of)
    del rows
    size = len(service_ids)
    everywhere, in_names = _read_words(session, slot_of, facts)
    latitudes, longitudes = array("d", [math.nan]) * size, array("d", [math.nan]) * size
    located = array("l", sorted(facts.coordinates))
    for slot, (latitude, longitude) in facts.coordinates.items():
        latitudes[slot], longitudes[slot] = latitude, longitude
    types, groups = _load_terms(session)
    places = sorted(facts.places, key=sort_key)
    languages = list(base_languages) + sorted(set(facts.languages) - set(base_languages))
    return FacetIndex(
        state=state,
        change_cursor=cursor,
        applied=applied,
        size=size,
        service_ids=service_ids,
        slot_of=slot_of,
        main_keys=main_keys,
        tail=[],
        all_bits=(1 << size) - 1,
        types=types,
        groups=groups,
        term_bits=_merged({}, facts.terms),
        places=places,
        place_bits=_merged({}, facts.places),
        languages=languages,
        language_bits=_merged({}, facts.languages),
        flag_bits={"free": bits_of(facts.free), "wheelchair": bits_of(facts.wheelchair)},
        area_bits=_merged({}, facts.areas),
        area_stated_bits=_members(facts.areas),
        minimum_age_bits=_merged({}, facts.minimum_ages),
        maximum_age_bits=_merged({}, facts.maximum_ages),
        age_stated_bits=_members(facts.minimum_ages),
        schedule_bits=_merged({}, facts.schedules),
        latitudes=latitudes,
        longitudes=longitudes,
        located=located,
        located_count=len(located),
        located_bits=bits_of(facts.coordinates),
        words=WordIndex.build(everywhere, size),
        name_words=WordIndex.build(in_names, size),
        review_month_bits=_review_months({}, facts.reviews),
        review_day_slots=_review_days({}, facts.reviews),
    )


def _log_position(session: Session) -> tuple[int, frozenset[int]]:
    """The last change-log entry, and the entries near it, all seen now."""
    cursor = session.execute(text("SELECT coalesce(max(id), 0) FROM search_change")).scalar()
    near = session.execute(text("SELECT id FROM search_change WHERE id > :low"), {"low": cursor - CHANGE_MARGIN})
    return cursor, frozenset(row[0] for row in near if row[0] <= cursor)


@dataclass
class Changes:
    service_ids: set[str]
    everything: bool
    cursor: int
    applied: frozenset[int]


def read_changes(session: Session, index: FacetIndex) -> Changes:
    """The change-log entries this index has not applied yet."""
    limit = CHANGE_MARGIN + CHANGES_RECORDED_ONE_BY_ONE + 1
    rows = session.execute(
        text("SELECT id, service_id FROM search_change WHERE id > :low ORDER BY id LIMIT :limit"),
        {"low": index.change_cursor - CHANGE_MARGIN, "limit": limit},
    ).all()
    new = [(entry, service_id) for entry, service_id in rows if entry not in index.applied]
    cursor = max([index.change_cursor, *(entry for entry, _ in rows)])
    applied = frozenset(e for e in (*index.applied, *(entry for entry, _ in new)) if e > cursor - CHANGE_MARGIN)
    service_ids = {service_id for _entry, service_id in new if service_id is not None}
    everything = len(rows) == limit or any(service_id is None for _entry, service_id in new)
    return Changes(service_ids, everything, cursor, applied)


def apply_changes(session: Session, index: FacetIndex, changes: Changes, state: SearchState,
                  base_languages=()) -> FacetIndex:
    """The index that follows `index`: the changed services leave their
    slots, and those still public come back in new ones at the end."""
    changed = sorted(changes.service_ids)
    leaving = [slot for service_id in changed if (slot := index.slot_of.get(service_id)) is not None]
    rows = _public_services(session, changed) if changed else []
    # Shared with the indexes before this one: only ever appended to, and
    # written by one refreshing thread at a time.
    service_ids, slot_of = index.service_ids, index.slot_of
    new_slots: dict[str, int] = {}
    leaving_slots = set(leaving)
    tail = [entry for entry in index.tail if entry[2] not in leaving_slots]
    for row in rows:
        slot = len(service_ids)
        service_ids.append(row.id)
        new_slots[row.id] = slot
        insort(tail, (row.name_key, bisect_right(index.main_keys, row.name_key), slot))
    public = set(new_slots)
    for service_id in changed:
        if service_id not in public:
            slot_of.pop(service_id, None)
    slot_of.update(new_slots)

    facts = _read_facts(session, new_slots, list(new_slots)) if new_slots else Facts()
    _add_row_facts(facts, rows, new_slots)
    latitudes, longitudes, located = index.latitudes, index.longitudes, index.located
    for slot in new_slots.values():
        latitude, longitude = facts.coordinates.get(slot, (math.nan, math.nan))
        latitudes.append(latitude)
        longitudes.append(longitude)
        if slot in facts.coordinates:
            located.append(slot)
    added = bits_of(new_slots.values())
    gone = bits_of(leaving)
    all_bits = (index.all_bits & ~gone) | added
    place_bits = _merged(index.place_bits, facts.places)
    language_bits = _merged(index.language_bits, facts.languages)
    # A place or language the leaving services alone had is offered no more.
    places = [p for p in index.places if not (place_bits[p] & gone) or place_bits[p] & all_bits]
    for place in set(index.places) - set(places):
        del place_bits[place]
    for place in facts.places:
        if place not in index.place_bits:
            insort(places, place, key=sort_key)
    languages = [code for code in index.languages if code in base_languages
                 or not (language_bits.get(code, 0) & gone) or language_bits[code] & all_bits]
    for code in sorted(facts.languages):
        if code not in languages:
            languages.append(code)
    documents = full_text.documents(session, list(new_slots)) if new_slots else {}
    in_names = {new_slots[service_id]: names for service_id, (names, _all) in documents.items()}
    everywhere = {new_slots[service_id]: words for service_id, (_names, words) in documents.items()}
    return FacetIndex(
        state=state,
        change_cursor=changes.cursor,
        applied=changes.applied,
        size=len(service_ids),
        service_ids=service_ids,
        slot_of=slot_of,
        main_keys=index.main_keys,
        tail=tail,
        all_bits=all_bits,
        types=index.types,
        groups=index.groups,
        term_bits=_merged(index.term_bits, facts.terms),
        places=places,
        place_bits=place_bits,
        languages=languages,
        language_bits=language_bits,
        flag_bits=_merged(index.flag_bits, {"free": facts.free, "wheelchair": facts.wheelchair}),
        # A leaving slot's bits may stay: every search keeps to all_bits.
        area_bits=_merged(index.area_bits, facts.areas),
        area_stated_bits=index.area_stated_bits | _members(facts.areas),
        minimum_age_bits=_merged(index.minimum_age_bits, facts.minimum_ages),
        maximum_age_bits=_merged(index.maximum_age_bits, facts.maximum_ages),
        age_stated_bits=index.age_stated_bits | _members(facts.minimum_ages),
        schedule_bits=_merged(index.schedule_bits, facts.schedules),
        latitudes=latitudes,
        longitudes=longitudes,
        located=located,
        located_count=len(located),
        located_bits=(index.located_bits & ~gone) | bits_of(facts.coordinates),
        words=index.words.with_slots(everywhere),
        name_words=index.name_words.with_slots(in_names),
        review_month_bits=_review_months(index.review_month_bits, facts.reviews),
        review_day_slots=_review_days(index.review_day_slots, facts.reviews),
        term_cache=_cache_with(index, in_names, everywhere),
        stale_cache=_stale_cache_with(index, facts.reviews),
    )


def _cache_with(index: FacetIndex, in_names: dict[int, set[str]], everywhere: dict[int, set[str]]) -> OrderedDict:
    """The remembered word matches with the new slots added where their
    documents have the word."""
    with _lock:
        cache = OrderedDict(index.term_cache)
    if not cache or not everywhere:
        return cache
    sorted_words = {False: {slot: sorted(words) for slot, words in everywhere.items()},
                    True: {slot: sorted(words) for slot, words in in_names.items()}}
    for (term, names_only), bits in cache.items():
        matching = [slot for slot, words in sorted_words[names_only].items() if full_text.has_prefix(words, term)]
        if matching:
            cache[(term, names_only)] = bits | bits_of(matching)
    return cache


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


