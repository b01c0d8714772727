"""An in-memory facet index: for every filter value, the set of services
that have it, as a bitset (a Python int, bit i = the service in slot i), and for every
word of the services' search documents the services that have it (a
bitset, or for a rare word an array of slots). Filtering is AND, facet
counts are popcounts, the first page of an unranked search is the lowest
set bits; no search asks the database which services a word matches.

Slots. A full build gives every public service a slot in name order. A
write does not make a process build it again: the change log (migration
0011) names the services each write changed; each of them gets a new slot
at the end (its old slot leaves all_bits) and is placed in name order
through `tail`; its filters and words (full_text.py) are added to the
bitsets. So an edit costs milliseconds, not a rebuild. A new index is
built beside the current one and swapped in only when that stops paying:
the taxonomy changed, a bulk write touched thousands of services, the tail
grew long, or the log was pruned past what the process had seen.

Refreshing. Every search reads search_state (one row). The request that
sees it move is answered from the index it has, and a background thread
(one per process and database) applies the change and swaps the new index
in; it then keeps reading the counter every SEARCH_INDEX_POLL_SECONDS while
searches come, so an idle process is current within a second too. The
indexes that follow one another share the append-only lists (slot → id,
coordinates) and the id → slot maps, which only the refreshing thread
writes. With SEARCH_INDEX_REFRESH = "inline" (the tests) the request that
sees the change applies it first, as a single-process deployment may want.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import pickle
import subprocess
import sys
import threading
from time import monotonic
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import cache, cached_property
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import full_text
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
from .full_text import Folder
from .search_index import CHANGES_RECORDED_ONE_BY_ONE
from .textnorm import sort_key

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
# Services placed through the tail before a new index is built in name order.
TAIL_LIMIT = 2000
# Change-log entries read again behind the last one applied: on PostgreSQL a
# transaction may commit after one that took a later id.
CHANGE_MARGIN = 1000
# Query words' matches remembered per index, in bytes of bitsets; at least
# 64 words. (A prefix of many rare words costs a union of their slots.)
TERM_CACHE_BYTES = 8 * 1024 * 1024
# From this many services a whole index is built in a process of its own.
BUILD_ELSEWHERE_FROM = 20_000
# A refreshing thread stops reading the counter this long after the last search.
IDLE_SECONDS = 300.0
ROWS_PER_FETCH = 20_000
# Guards the per-index word caches; gunicorn threads share them.
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


@dataclass(frozen=True)
class SearchState:
    """search_state's row: `version` moves on every write search can see;
    `generation` tells two databases apart; `pruned_through` is the last
    change-log entry deleted."""

    generation: str
    version: int
    pruned_through: int


def read_state(session: Session) -> SearchState:
    row = session.execute(
        text("SELECT generation, version, pruned_through FROM search_state WHERE id = 1")
    ).first()
    return SearchState(*row) if row else SearchState("", 0, 0)


@dataclass
class FacetIndex:
    state: SearchState
    change_cursor: int  # the last change-log entry seen
    applied: frozenset[int]  # entries within CHANGE_MARGIN of it already applied
    size: int  # slots in this index
    service_ids: list[str]  # slot -> service id (shared, append-only)
    slot_of: dict[str, int]  # service id -> its current slot (shared)
    main_keys: SortedKeys  # name keys of slots [0, len(main_keys)), ascending
    tail: list[tuple[str, int, int]]  # later slots: (name key, place among main_keys, slot), ascending
    all_bits: int  # the public services
    types: dict[str, Term]
    groups: dict[str, Term]
    term_bits: dict[str, int]  # term id -> services with the term
    places: list[str]
    place_bits: dict[str, int]
    languages: list[str]
    language_bits: dict[str, int]
    flag_bits: dict[str, int]  # "free", "wheelchair"
    schedule_bits: dict[ScheduleGroup | RuleGroup, int]
    latitudes: array  # slot -> degrees, NaN where none (shared, append-only)
    longitudes: array
    located: array  # slots with coordinates (shared, append-only)
    located_count: int
    located_bits: int
    words: WordIndex  # every word of the search documents
    name_words: WordIndex  # the words of the services' and their centres' names
    term_cache: OrderedDict = field(default_factory=OrderedDict)

    @property
    def main_size(self) -> int:
        return len(self.main_keys)

    def coordinates_of(self, slot: int) -> tuple[float, float] | None:
        latitude = self.latitudes[slot]
        return None if math.isnan(latitude) else (latitude, self.longitudes[slot])

    def approximate_distances(self, latitude: float, longitude: float) -> list[tuple[float, int]]:
        """(km, slot) for every service with coordinates (some no longer
        public: callers keep the slots their bitsets allow): an
        equirectangular estimate, off by well under 1 % within 100 km."""
        scale = math.cos(math.radians(latitude))
        origin_lat, origin_lon = math.radians(latitude), math.radians(longitude)
        latitudes, longitudes, radians, hypot = self.latitudes, self.longitudes, math.radians, math.hypot
        radius = EARTH_RADIUS_KM
        return [
            (radius * hypot(radians(latitudes[s]) - origin_lat, (radians(longitudes[s]) - origin_lon) * scale), s)
            for s in self.located[: self.located_count]
        ]

    @property
    def term_cache_size(self) -> int:
        return max(64, min(2000, TERM_CACHE_BYTES * 8 // max(1, self.size)))

    def term_matches(self, term: str, names_only: bool) -> int:
        """Services with a word starting with `term` (in their names only, or
        anywhere), as a bitset. Remembered, and kept in step with writes."""
        cache_key = (term, names_only)
        with _lock:
            bits = self.term_cache.get(cache_key)
            if bits is not None:
                self.term_cache.move_to_end(cache_key)
                return bits
        bits = (self.name_words if names_only else self.words).matching(term)
        with _lock:
            self.term_cache[cache_key] = bits
            while len(self.term_cache) > self.term_cache_size:
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
        """The `count` slots of `bits` after skipping `start`, in name order:
        the main slots are in it already; each tail slot goes before the main
        slot at its place."""
        main_size = self.main_size
        tail_bits = bits >> main_size
        if not tail_bits:
            return lowest_positions(bits, start, count)
        tail = [(at, slot) for _key, at, slot in self.tail if tail_bits >> (slot - main_size) & 1]
        main = bits & ((1 << main_size) - 1)
        # A tail slot's rank: the main slots before its place, and the tail slots before it.
        ranked = [((main & ((1 << at) - 1)).bit_count() + j, slot) for j, (at, slot) in enumerate(tail)]
        places = [at for at, _slot in tail]
        first_main = max(0, start - len(tail))
        for rank, slot in enumerate(lowest_positions(main, first_main, start + count - first_main), first_main):
            ranked.append((rank + bisect_right(places, slot), slot))
        ranked.sort()
        return [slot for rank, slot in ranked if start <= rank < start + count]


class SortedKeys:
    """Strings in ascending order, held as one string and the offsets of
    each: a list of 100k short strings costs some 8 MB, this a third."""

    def __init__(self, keys: list[str]):
        self.text = "".join(keys)
        self.offsets = array("q", [0])
        end = 0
        for key in keys:
            end += len(key)
            self.offsets.append(end)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, at: int) -> str:
        if not 0 <= at < len(self):
            raise IndexError(at)
        return self.text[self.offsets[at]:self.offsets[at + 1]]


LAST_CHARACTER = "\U0010ffff"


@dataclass
class WordIndex:
    """Word -> services. The words of the build are held compactly: a word
    at least one service in 32 has keeps a bitset; the slots of the others
    lie word after word in one array (a prefix's rare words are then one
    slice of it). Writes since the build are added per word in `added`."""

    words: SortedKeys  # the build's words, ascending
    starts: array  # word number -> where its slots start in `slots` (and where they end: the next start)
    slots: array
    dense_numbers: array  # numbers of the words with a bitset, ascending
    dense_bits: list[int]  # their bitsets
    added: dict[str, array] = field(default_factory=dict)  # word -> slots added since the build
    added_words: list[str] = field(default_factory=list)  # the words of `added`, ascending

    @classmethod
    def build(cls, lists: dict[str, array], size: int) -> WordIndex:
        dense = max(1, size // 32)
        words = sorted(lists)
        starts, slots = array("q", [0]), array("I")
        dense_numbers, dense_bits = array("q"), []
        for number, word in enumerate(words):
            found = lists.pop(word)
            if len(found) >= dense:
                dense_numbers.append(number)
                dense_bits.append(bits_of(found))
            else:
                slots.extend(sorted(set(found)))
            starts.append(len(slots))
        return cls(SortedKeys(words), starts, slots, dense_numbers, dense_bits)

    def matching(self, prefix: str) -> int:
        """The services with a word that starts with `prefix`."""
        end = prefix + LAST_CHARACTER
        first = bisect_left(self.words, prefix)
        last = bisect_left(self.words, end, first)
        bits = 0
        for at in range(bisect_left(self.dense_numbers, first), bisect_left(self.dense_numbers, last)):
            bits |= self.dense_bits[at]
        scattered = self.slots[self.starts[first]:self.starts[last]]
        for word in self.added_words[bisect_left(self.added_words, prefix):bisect_left(self.added_words, end)]:
            scattered.extend(self.added[word])
        return bits | bits_of(scattered) if scattered else bits

    def with_slots(self, new: dict[int, set[str]]) -> WordIndex:
        """A copy with each slot added to the postings of its words."""
        added, added_words = dict(self.added), self.added_words
        slots_of: dict[str, list[int]] = defaultdict(list)
        for slot, words in new.items():
            for word in words:
                slots_of[word].append(slot)
        for word, slots in slots_of.items():
            if word in added:
                added[word] = added[word] + array("I", slots)
            else:
                added[word] = array("I", slots)
                if added_words is self.added_words:
                    added_words = list(added_words)
                insort(added_words, word)
        return replace(self, added=added, added_words=added_words)


def lowest_positions(bits: int, start: int, count: int) -> list[int]:
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


# ------------------------------------------------------------ reading the facts


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


def _public_services(session: Session, only: list[str] | None = None) -> list[tuple]:
    """(name key, service id, free of charge) of the public services (of
    `only`), in name order: letters compare as the search compares them,
    whatever the database's collation."""
    query = (
        select(Service.name, Service.id, Service.free_of_charge)
        .join(Organization, Organization.id == Service.organization_id)
        .where(Service.status == "active", Organization.status == "published")
    )
    if only is not None:
        query = query.where(Service.id.in_(only))
    rows = [(sort_key(name), service_id, bool(free)) for name, service_id, free in _stream(session, query)]
    rows.sort()
    return rows


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
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .outerjoin(Address, Address.location_id == Location.id)
        .order_by(ServiceAtLocation.service_id, ServiceAtLocation.id, Address.id)
    )
    if only is not None:
        located = located.where(ServiceAtLocation.service_id.in_(only))
    for service_id, location_id, city, municipality, country, accessible, latitude, longitude in _stream(
        session, located
    ):
        if (at := slots.get(service_id)) is None:
            continue
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
    return facts


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
    for term_id, label in session.execute(select(TaxonomyTermLabel.term_id, TaxonomyTermLabel.name)):
        label_words[term_id] |= folder.words(label)
    for term_id, members in facts.terms.items():
        add(set(), label_words.get(term_id, set()), members)
    for place, members in facts.places.items():
        add(set(), folder.words(place), members)
    return everywhere, in_names


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
    service_ids = [service_id for _name, service_id, _free in rows]
    slot_of = {service_id: slot for slot, service_id in enumerate(service_ids)}
    main_keys = SortedKeys([name for name, _id, _free in rows])
    facts = _read_facts(session, slot_of, None)
    facts.free = [slot for slot, row in enumerate(rows) if row[2]]
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
        schedule_bits=_merged({}, facts.schedules),
        latitudes=latitudes,
        longitudes=longitudes,
        located=located,
        located_count=len(located),
        located_bits=bits_of(facts.coordinates),
        words=WordIndex.build(everywhere, size),
        name_words=WordIndex.build(in_names, size),
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
    for name, service_id, _free in rows:
        slot = len(service_ids)
        service_ids.append(service_id)
        new_slots[service_id] = slot
        insort(tail, (name, bisect_right(index.main_keys, name), slot))
    public = set(new_slots)
    for service_id in changed:
        if service_id not in public:
            slot_of.pop(service_id, None)
    slot_of.update(new_slots)

    facts = _read_facts(session, new_slots, list(new_slots)) if new_slots else Facts()
    facts.free = [new_slots[service_id] for _n, service_id, free in rows if free]
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
        schedule_bits=_merged(index.schedule_bits, facts.schedules),
        latitudes=latitudes,
        longitudes=longitudes,
        located=located,
        located_count=len(located),
        located_bits=(index.located_bits & ~gone) | bits_of(facts.coordinates),
        words=index.words.with_slots(everywhere),
        name_words=index.name_words.with_slots(in_names),
        term_cache=_cache_with(index, in_names, everywhere),
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


# ------------------------------------------------------------ one per process


class LiveIndex:
    """The current index of one database in this process, and the thread
    that keeps it current."""

    def __init__(self, engine: Engine, languages: tuple[str, ...]):
        self.engine = engine
        self.languages = languages
        self.index: FacetIndex | None = None
        self.poll_seconds = 0.0
        self.last_used = monotonic()
        self._refreshing = threading.Lock()  # one build or refresh at a time
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()

    def current(self, session: Session, inline: bool) -> FacetIndex:
        """The index to answer from now: the current one, however far the
        data has moved (a refresh is started), unless there is none yet for
        this database or `inline` asks for the data as it is."""
        self.last_used = monotonic()
        state = read_state(session)
        index = self.index
        if index is not None and index.state == state:
            return index
        if index is None or index.state.generation != state.generation or inline:
            with self._refreshing:
                self.refresh(session, state)
            return self.index
        self._refresh_after_this_request()
        return index

    def _refresh_after_this_request(self) -> None:
        """Start refreshing once this request is done (init_app), so that
        the thread does not share the interpreter with it; at once outside
        a request."""
        if has_request_context():
            g.setdefault("search_indexes_to_refresh", set()).add(self)
        else:
            self._start_refreshing()

    def refresh(self, session: Session, state: SearchState | None = None) -> None:
        """Bring the index up to `state` (default: the database's now); the
        caller holds _refreshing."""
        state = state or read_state(session)
        before = self.index
        if before is not None and before.state == state:
            return
        changes = None
        if before is not None and before.state.generation == state.generation \
                and state.pruned_through <= before.change_cursor:
            changes = read_changes(session, before)
            if changes.everything or len(before.tail) + len(changes.service_ids) > TAIL_LIMIT:
                changes = None
        if changes is not None:
            self.index = apply_changes(session, before, changes, state, self.languages)
            return
        started = monotonic()
        del before
        self.index = self._build(session, state)
        _give_back_memory()
        log.info("search index built in %.1f s (%d services)", monotonic() - started, self.index.size)

    def _build(self, session: Session, state: SearchState) -> FacetIndex:
        """A whole index: for a large directory in a process of its own (its
        garbage and its CPU time never this worker's; this one only reads the
        result), else here."""
        url = self.engine.url
        in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        if not in_memory and session.execute(select(func.count()).select_from(Service)).scalar() >= BUILD_ELSEWHERE_FROM:
            try:
                return build_in_child(url.render_as_string(hide_password=False), self.languages)
            except ChildBuildFailed as failure:
                log.error("search index: the child build failed, building here: %s", failure)
        return build_facet_index(session, self.languages, state)

    def _start_refreshing(self) -> None:
        with self._thread_lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="search-index-refresh", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                with Session(self.engine) as session, self._refreshing:
                    self.refresh(session)
            except Exception:  # the requests go on with the index they have
                log.exception("the search index could not be refreshed")
                with self._thread_lock:
                    self._thread = None
                return
            with self._thread_lock:
                idle = monotonic() - self.last_used > IDLE_SECONDS
                if not self._wake.is_set() and (not self.poll_seconds or idle):
                    self._thread = None
                    return
            if not self._wake.is_set():
                self._wake.wait(self.poll_seconds)

    def wait_until_idle(self, timeout: float = 5.0) -> bool:
        """For tests and benchmarks: whether the refreshing thread finished
        within `timeout` seconds."""
        deadline = monotonic() + timeout
        while monotonic() < deadline:
            with self._thread_lock:
                thread = self._thread
            if thread is None:
                return True
            thread.join(min(0.05, max(0.0, deadline - monotonic())))
        return False


class ChildBuildFailed(Exception):
    pass


def build_in_child(database_url: str, languages: tuple[str, ...]) -> FacetIndex:
    """build_facet_index in a new Python process (directory/index_builder.py),
    read back as it is unpickled from the pipe. The URL goes through stdin,
    never the command line (`ps` shows that to every user)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "directory.index_builder"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        child.stdin.write(json.dumps({"url": database_url, "languages": list(languages)}).encode() + b"\n")
        child.stdin.close()
        try:
            index = pickle.load(child.stdout)  # our own child's answer
        except (EOFError, pickle.UnpicklingError) as error:
            raise ChildBuildFailed(f"{error!r}: {child.stderr.read().decode(errors='replace')[-2000:]}") from None
        if child.wait() != 0:
            raise ChildBuildFailed(child.stderr.read().decode(errors="replace")[-2000:])
        return index
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()


@cache
def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return None


def _give_back_memory() -> None:
    """A build frees the tens of MB it read through; glibc keeps freed
    memory for the process unless asked to return it."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


_cache: dict[tuple, LiveIndex] = {}
_cache_lock = threading.Lock()


def live_index(session: Session, languages=None) -> LiveIndex:
    if languages is None:
        languages = current_app.config["LANGUAGES"] if has_app_context() else ()
    engine = session.get_bind()
    cache_key = (str(engine.url), tuple(languages))
    with _cache_lock:
        live = _cache.get(cache_key)
        if live is None:
            live = _cache[cache_key] = LiveIndex(engine, tuple(languages))
    live.engine = engine  # each app (each test) has its own engine for one URL
    if has_app_context():
        live.poll_seconds = float(current_app.config.get("SEARCH_INDEX_POLL_SECONDS", 0.5))
    return live


def facet_index(session: Session, languages=None) -> FacetIndex:
    """The index to answer a search from: built on first use in this
    process; after a write the one before it, until the change is applied
    (SEARCH_INDEX_REFRESH = "inline": the change is applied first).
    `languages` (default: the app's LANGUAGES) come first among the
    language filters, offered even where no service speaks them yet."""
    inline = has_app_context() and current_app.config.get("SEARCH_INDEX_REFRESH", "background") == "inline"
    return live_index(session, languages).current(session, inline)


def init_app(app: Flask) -> None:
    @app.teardown_request
    def refresh_search_indexes(_error=None) -> None:
        for live in g.pop("search_indexes_to_refresh", ()):
            live._start_refreshing()


def warm_up(session: Session) -> FacetIndex:
    """Build this process's index before it takes requests (gunicorn's
    post_worker_init), so that no resident waits for it."""
    return facet_index(session)
