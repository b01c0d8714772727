"""The in-memory search index of a process: for every filter value the
set of services that have it, as a bitset (a Python int, bit i = the
service in slot i), and for every word of the services' search documents
the services that have it (a bitset, or for a rare word a run of slots).
Filtering is AND, facet counts are popcounts, the first page of an
unranked search is the lowest set bits; no search asks the database which
services a word matches.

Slots. A full build (facet_build.py) gives every public service a slot in
name order. A write does not make a process build it again: each service
it changed gets a new slot at the end (its old one leaves all_bits) and is
placed in name order through `tail`. Which index a search reads, and how
it follows the writes, is live_index.py's.
"""

from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import cached_property

from .opening_hours import LocalMoment, is_open
from .recurrence import Rule

EARTH_RADIUS_KM = 6371.0088
# Query words' matches remembered per index, in bytes of bitsets; at least
# 64 words. (A prefix of many rare words costs a union of their slots.)
TERM_CACHE_BYTES = 8 * 1024 * 1024
LAST_CHARACTER = "\U0010ffff"
# Guards the per-index word caches; gunicorn threads share them.
_lock = threading.RLock()
# The month key of a centre never reviewed: before every month.
NEVER_REVIEWED = -1
# Days whose stale services an index remembers (one a day in service; the
# tests travel in time).
STALE_CACHE_DAYS = 8


def review_month(day: date | None) -> int:
    """The month key of a review date: months counted from year 0."""
    return NEVER_REVIEWED if day is None else day.year * 12 + day.month - 1


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
    area_bits: dict[str, int]  # area code ("LV", "LT-60") -> services with an area of that code
    area_stated_bits: int  # services with an area the search can check (a known code)
    minimum_age_bits: dict[int | None, int]  # lowest age -> services (None: no lower bound)
    maximum_age_bits: dict[int | None, int]  # highest age -> services (None: no upper bound)
    age_stated_bits: int  # services stating an age range (at least one bound)
    schedule_bits: dict[ScheduleGroup | RuleGroup, int]
    latitudes: array  # slot -> degrees, NaN where none (shared, append-only)
    longitudes: array
    located: array  # slots with coordinates (shared, append-only)
    located_count: int
    located_bits: int
    words: WordIndex  # every word of the search documents
    name_words: WordIndex  # the words of the services' and their centres' names
    # The day their centre was last reviewed (last_verified), for "may be out
    # of date": per month a bitset (NEVER_REVIEWED: no review), per day the slots.
    review_month_bits: dict[int, int]
    review_day_slots: dict[int, array]  # date ordinal -> slots
    term_cache: OrderedDict = field(default_factory=OrderedDict)
    age_cache: dict[int, int] = field(default_factory=dict)
    stale_cache: dict[int, int] = field(default_factory=dict)  # first fresh day's ordinal -> stale_bits

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

    def serving_any_of(self, area_codes) -> int:
        """Services with an area of one of these codes (a municipality's own
        and its country's: municipalities.area_codes_covering)."""
        bits = 0
        for code in area_codes:
            bits |= self.area_bits.get(code, 0)
        return bits

    @property
    def area_not_stated_bits(self) -> int:
        """Public services with no area the search can check: kept by the
        area filter and marked, never silently dropped."""
        return self.all_bits & ~self.area_stated_bits

    @property
    def age_not_stated_bits(self) -> int:
        return self.all_bits & ~self.age_stated_bits

    def taking_age(self, age: int) -> int:
        """Services whose stated age range includes `age` (a missing bound is
        open). At most a few dozen distinct bounds, OR-ed once per age and
        remembered: the ages asked are few (0–120)."""
        bits = self.age_cache.get(age)
        if bits is None:
            old_enough = young_enough = 0
            for minimum, members in self.minimum_age_bits.items():
                if minimum is None or minimum <= age:
                    old_enough |= members
            for maximum, members in self.maximum_age_bits.items():
                if maximum is None or age <= maximum:
                    young_enough |= members
            bits = old_enough & young_enough
            with _lock:
                self.age_cache[age] = bits
        return bits

    def stale_bits(self, fresh_from: date) -> int:
        """Services whose centre was last reviewed before `fresh_from`, or
        never: an OR per month before its month (a few dozen), and the slots
        of the days of its month before it. Remembered per day, and carried
        to the next index by apply_changes."""
        key = fresh_from.toordinal()
        bits = self.stale_cache.get(key)
        if bits is None:
            month = review_month(fresh_from)
            bits = 0
            for reviewed_in, members in self.review_month_bits.items():
                if reviewed_in < month:
                    bits |= members
            first_of_month = fresh_from.replace(day=1).toordinal()
            slots = array("I")
            for day in range(first_of_month, key):
                slots.extend(self.review_day_slots.get(day, ()))
            bits |= bits_of(slots)
            with _lock:
                if len(self.stale_cache) >= STALE_CACHE_DAYS:
                    self.stale_cache.clear()
                self.stale_cache[key] = bits
        return bits

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


