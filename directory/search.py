"""Resident search: full-text matching that ignores case and diacritics,
filters, facet counts and paging. Plain functions over a session; the view
only parses the query string and renders.

Words are matched, filters applied and facets counted in the in-memory
facet index (facets.py, words as full_text.py folds them), which follows
every write without stalling a search; the database is asked only for the
page of services shown.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from textwrap import shorten
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from geopy.distance import geodesic

from . import listings, municipalities, search_language
from .facet_build import service_areas
from .facets import FacetIndex, Term, bits_of
from .live_index import facet_index
from .full_text import query_words
from .gazetteer import GazetteerGeocoder, closest_names, fold
from .models import (
    Address,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    service_taxonomy_term,
)
from .opening_hours import DEFAULT_COUNTRY
from .search_language import light_stem

PAGE_SIZE = 20
MAP_LIMIT = 500  # markers on one map
MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 8
MAX_PAGE = 10_000
MAX_AGE = 120
AREA_WORDS_SHOWN = 160  # characters of an area described in words, on a card
SERVES_HERE = "here"  # "serves my place": the municipality of the place searched near
# Tables the search index adds by hand (not in the models; see 0002, 0003).
SEARCH_INDEX_TABLES = ("service_fts", "service_search", "search_state", "search_change")


def is_search_index_table(name: str) -> bool:
    return name.startswith(SEARCH_INDEX_TABLES)


def include_in_autogenerate(name, type_, parent_names) -> bool:
    """Alembic hook: the index tables are made by hand in migration 0002."""
    return not (type_ == "table" and is_search_index_table(name or ""))


# ---------------------------------------------------------------- the query


@dataclass(frozen=True)
class SearchFilters:
    """Everything a search is: it round-trips through the query string."""

    q: str = ""
    place: str = ""
    type: str = ""
    group: str = ""
    language: str = ""
    free: bool = False
    wheelchair: bool = False
    open: bool = False
    near: str = ""  # a town or address typed by the visitor
    lat: float | None = None  # "use my location" (browser geolocation)
    lon: float | None = None
    radius: int = 0  # km; 0: any distance
    serves: str = ""  # a municipality code, or SERVES_HERE; "": any area
    age: str = ""  # as typed: kept to show with its error when it is not an age (age_years)
    page: int = 1

    FLAGS = ("free", "wheelchair", "open")
    CHOICES = ("place", "type", "group", "language")
    RADII = (5, 10, 25, 50)

    def to_args(self, **changes) -> dict[str, str | int | float]:
        """Query-string arguments, without defaults, for url_for()."""
        filters = replace(self, **changes)
        args: dict[str, str | int | float] = {}
        for name in ("q", *self.CHOICES, "near"):
            if getattr(filters, name):
                args[name] = getattr(filters, name)
        for name in self.FLAGS:
            if getattr(filters, name):
                args[name] = 1
        if filters.has_position:
            args["lat"], args["lon"] = round(filters.lat, 5), round(filters.lon, 5)
        if filters.radius and filters.wants_distance:
            args["radius"] = filters.radius
        if filters.serves:
            args["serves"] = filters.serves
        if filters.age:
            args["age"] = filters.age if filters.age_years is None else str(filters.age_years)
        if filters.page > 1:
            args["page"] = filters.page
        return args

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def wants_distance(self) -> bool:
        return bool(self.near) or self.has_position

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.wants_distance
            or self.serves
            or self.age
            or any(getattr(self, n) for n in (*self.CHOICES, *self.FLAGS))
        )

    @property
    def age_years(self) -> int | None:
        """The age to filter on: whole years from 0 to MAX_AGE; None when
        none was typed, or what was typed is not one (age_is_invalid)."""
        if self.age.isascii() and self.age.isdigit() and int(self.age) <= MAX_AGE:
            return int(self.age)
        return None

    @property
    def age_is_invalid(self) -> bool:
        return bool(self.age) and self.age_years is None


def _first(args: Mapping, name: str) -> str:
    value = args.get(name, "")
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()


def parse_filters(args: Mapping) -> SearchFilters:
    """Read a query string forgivingly: whatever comes in, a valid search
    comes out (a long q is cut, a bad page number is page 1)."""
    q = " ".join(_first(args, "q").split())[:MAX_QUERY_LENGTH]
    try:
        page = int(_first(args, "page") or 1)
    except ValueError:
        page = 1
    return SearchFilters(
        q=q,
        place=_first(args, "place")[:200],
        type=_first(args, "type")[:60],
        group=_first(args, "group")[:60],
        language=_first(args, "language")[:8],
        free=_first(args, "free") in ("1", "on", "true"),
        wheelchair=_first(args, "wheelchair") in ("1", "on", "true"),
        open=_first(args, "open") in ("1", "on", "true"),
        near=" ".join(_first(args, "near").split())[:200],
        lat=_coordinate(_first(args, "lat"), 90),
        lon=_coordinate(_first(args, "lon"), 180),
        radius=_radius(_first(args, "radius")),
        serves=_serves(_first(args, "serves")),
        age=" ".join(_first(args, "age").split())[:20],
        page=min(max(page, 1), MAX_PAGE),
    )


def _coordinate(value: str, limit: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _radius(value: str) -> int:
    return int(value) if value in {str(r) for r in SearchFilters.RADII} else 0


def _serves(value: str) -> str:
    """SERVES_HERE or a code as it is written ("lv-dgv" is LV-DGV); whether
    it names a municipality, normalise_filters decides."""
    value = value[:20]
    return SERVES_HERE if value.lower() == SERVES_HERE else value.upper()


# ------------------------------------------------------------ tokenisation

def query_terms(q: str) -> list[str]:
    """Words of a query as safe search terms: letters and digits only, folded
    and lightly stemmed, stopwords kept (what unmet_need counts and the
    benchmark asks the database for). Operators, quotes and punctuation are
    dropped, never parsed."""
    terms: list[str] = []
    for word in query_words(q):
        if (stem := light_stem(word)) not in terms:
            terms.append(stem)
    return terms[:MAX_QUERY_TERMS]


def search_terms(q: str) -> list[tuple[str, ...]]:
    """What a query is matched by, in any of the four languages
    (search_language): its content words, each as the prefixes that may
    match it; at most MAX_QUERY_TERMS."""
    return search_language.search_terms(q, MAX_QUERY_TERMS)


def match_terms(index: FacetIndex, terms: list[tuple[str, ...]]) -> tuple[int, int]:
    """The services every term matches (a term: any of its alternatives
    begins one of their words), anywhere and in their or their centre's
    names, as bitsets."""
    found = in_names = index.all_bits
    for alternatives in terms:
        anywhere = named = 0
        for prefix in alternatives:
            anywhere |= index.term_matches(prefix, False)
            named |= index.term_matches(prefix, True)
        found &= anywhere
        in_names &= named
    return found, in_names


# ------------------------------------------------------------- near a place


@dataclass(frozen=True)
class Origin:
    """The point distances are measured from."""

    latitude: float
    longitude: float
    label: str  # the place found for what the visitor typed; "" for a device position
    precision: str  # "town", "approximate" or "device"


def resolve_origin(filters: SearchFilters) -> tuple[Origin | None, list[str]]:
    """Where "near" points, and when it points nowhere the closest known
    names. Residents' words stay on this server: the offline gazetteer
    answers, whatever geocoder listings use."""
    if filters.has_position:
        return Origin(filters.lat, filters.lon, "", "device"), []
    if not filters.near:
        return None, []
    found = GazetteerGeocoder().geocode(filters.near)
    if found is None:
        return None, closest_names(filters.near)
    return Origin(found.latitude, found.longitude, found.raw["name"], found.raw["precision"]), []


def exact_km(origin: Origin, latitude: float, longitude: float) -> float:
    return geodesic((origin.latitude, origin.longitude), (latitude, longitude)).km


def _within_radius(index: FacetIndex, origin: Origin, approximate, radius: int) -> int:
    """Services within `radius` km; the ellipsoid decides near the edge."""
    inside = []
    for km, position in approximate:
        if km <= radius * 0.99:
            inside.append(position)
        elif km <= radius * 1.01:
            latitude, longitude = index.coordinates_of(position)
            if exact_km(origin, latitude, longitude) <= radius:
                inside.append(position)
    return bits_of(inside)


# ---------------------------------------------------------- serves my place


@dataclass(frozen=True)
class ServedPlace:
    """What "serves my place" came to: the municipality whose people the
    services must serve (None: no area filter, the visitor is asked to
    choose one), and how it was found: "chosen" from the list, or for
    SERVES_HERE from the place typed in `near` ("near") or the device's
    position ("position"), or "nothing" to find it from."""

    municipality: municipalities.Municipality | None
    how: str
    place: str = ""  # the place typed, or the town nearest the device

    @property
    def area_codes(self) -> tuple[str, ...]:
        return municipalities.area_codes_covering(self.municipality.code) if self.municipality else ()


def resolve_served_place(filters: SearchFilters) -> ServedPlace | None:
    """The municipality `filters.serves` means; None for any area. As for
    "near", the device's position wins over a typed place, and the offline
    gazetteer answers."""
    if not filters.serves:
        return None
    if filters.serves != SERVES_HERE:
        return ServedPlace(municipalities.get(filters.serves), "chosen")
    if filters.has_position:
        found = municipalities.resolve_position(filters.lat, filters.lon)
        return ServedPlace(found.municipality, "position", found.place)
    if filters.near:
        found = municipalities.resolve(filters.near)
        return ServedPlace(found.municipality, "near", found.place or filters.near)
    return ServedPlace(None, "nothing")


@functools.cache  # a fixed list; sorting it ignoring diacritics costs milliseconds
def area_choices() -> list[tuple[str, list[municipalities.Municipality]]]:
    """The municipalities of the "serves my place" list, by country."""
    return [(country, municipalities.all_municipalities(country)) for country in municipalities.COUNTRY_CODES]


# --------------------------------------------------------------- the result


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchPage:
    filters: SearchFilters
    total: int
    services: list[ServiceSummary]
    origin: Origin | None = None
    facets: dict[str, list[FacetOption]] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    served: ServedPlace | None = None
    # Of the results, how many the area filter and the age filter kept
    # because they do not say (0 without that filter).
    area_not_stated: int = 0
    age_not_stated: int = 0

    @property
    def filters_by_area(self) -> bool:
        return bool(self.served and self.served.municipality)

    @property
    def filters_by_age(self) -> bool:
        return self.filters.age_years is not None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @property
    def has_coordinates(self) -> bool:
        return any(s.latitude is not None for s in self.services)


def normalise_filters(filters: SearchFilters, index: FacetIndex) -> SearchFilters:
    """Drop filter values nothing could match (unknown codes from an old or
    hand-edited link) instead of failing."""
    return replace(
        filters,
        type=filters.type if filters.type in index.types else "",
        group=filters.group if filters.group in index.groups else "",
        place=filters.place if filters.place in index.place_bits else "",
        language=filters.language if filters.language in index.languages else "",
        serves=filters.serves if filters.serves == SERVES_HERE or municipalities.get(filters.serves) else "",
    )


def _selections(filters: SearchFilters, index: FacetIndex, open_bits,
                served: ServedPlace | None = None) -> dict[str, int]:
    """The bitset each active filter allows. The area and age filters keep
    the services that do not say (the cards say so)."""
    chosen: dict[str, int] = {}
    if served and served.municipality:
        chosen["area"] = index.serving_any_of(served.area_codes) | index.area_not_stated_bits
    if filters.age_years is not None:
        chosen["age"] = index.taking_age(filters.age_years) | index.age_not_stated_bits
    if filters.type:
        chosen["type"] = index.term_bits.get(index.types[filters.type].id, 0)
    if filters.group:
        chosen["group"] = index.term_bits.get(index.groups[filters.group].id, 0)
    if filters.place:
        chosen["place"] = index.place_bits[filters.place]
    if filters.language:
        chosen["language"] = index.language_bits.get(filters.language, 0)
    if filters.free:
        chosen["free"] = index.flag_bits["free"]
    if filters.wheelchair:
        chosen["wheelchair"] = index.flag_bits["wheelchair"]
    if filters.open:
        chosen["open"] = open_bits()
    return chosen


def _intersect(bits: int, selections: dict[str, int], leave_out: str | None = None) -> int:
    for name, allowed in selections.items():
        if name != leave_out:
            bits &= allowed
    return bits


def review_days(now: datetime) -> tuple[date, int]:
    """Today in the directory's time zone, and STALE_AFTER_DAYS: a centre
    last reviewed more than that many days before today (or never) "may be
    out of date" (as publishing.is_stale says)."""
    return listings.local_date(now), listings.stale_after_days()


def _page_of_tiers(index: FacetIndex, tiers: list[int], start: int, count: int) -> list[int]:
    """Positions `start` to `start + count` of the tiers' services, tier
    after tier, each tier in name order."""
    in_page: list[int] = []
    for tier in tiers:
        size = tier.bit_count()
        if start >= size:
            start -= size
            continue
        in_page += index.positions(tier, start, count - len(in_page))
        start = 0
        if len(in_page) >= count:
            break
    return in_page


def search_services(
    session: Session,
    filters: SearchFilters,
    locale: str = "lv",
    now: datetime | None = None,
    with_facets: bool = True,
    origin: Origin | None = None,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """One page of services matching `filters`, best matches first (name
    matches before description matches), reviewed listings before those
    that may be out of date, then by name; nearest first when an `origin`
    is given (distance alone: the card says when a listing may be out of
    date); with facet counts."""
    now = now or datetime.now(timezone.utc)
    today, stale_after_days = review_days(now)
    index = facet_index(session)
    filters = normalise_filters(filters, index)
    terms = search_terms(filters.q)

    open_cache: list[int] = []

    def open_bits() -> int:
        if not open_cache:
            open_cache.append(index.open_bits(now))
        return open_cache[0]

    served = resolve_served_place(filters)
    selections = _selections(filters, index, open_bits, served)
    approximate = index.approximate_distances(origin.latitude, origin.longitude) if origin else []
    if origin and filters.radius:
        selections["radius"] = _within_radius(index, origin, approximate, filters.radius)
    allowed = _intersect(index.all_bits, selections)
    found, in_names = match_terms(index, terms)
    matching = found & allowed
    total = matching.bit_count()
    pages = max(1, math.ceil(total / page_size))
    if filters.page > pages:
        filters = replace(filters, page=pages)
    start = (filters.page - 1) * page_size

    if origin:
        in_page = _nearest_first(index, matching, approximate, start, page_size)
    else:
        # Services whose own or centre's name has every word first, then the
        # other matches; within each, reviewed listings before those that
        # may be out of date; each tier by name (positions are in name order).
        first_tier = matching & in_names if terms else matching
        later_tier = matching & ~first_tier
        stale = index.stale_bits(today - timedelta(days=stale_after_days))
        tiers = [first_tier & ~stale, first_tier & stale, later_tier & ~stale, later_tier & stale]
        in_page = _page_of_tiers(index, tiers, start, page_size)
    services = summarise_services(session, [index.service_ids[p] for p in in_page], index,
                                  today, stale_after_days)
    add_areas(session, services)
    if origin:
        for summary in services:
            if summary.latitude is not None:
                summary.distance_km = exact_km(origin, summary.latitude, summary.longitude)
        # The page in exact (ellipsoid) order; services without coordinates last.
        services.sort(key=lambda s: (s.distance_km is None, s.distance_km or 0.0))

    result = SearchPage(filters=filters, total=total, services=services, origin=origin, served=served)
    if "area" in selections:
        result.area_not_stated = (matching & index.area_not_stated_bits).bit_count()
    if "age" in selections:
        result.age_not_stated = (matching & index.age_not_stated_bits).bit_count()
    if with_facets:
        result.facets = _facets(filters, index, found, selections, locale)
        result.flag_counts = {
            "free": (_intersect(found, selections, "free") & index.flag_bits["free"]).bit_count(),
            "wheelchair": (
                _intersect(found, selections, "wheelchair") & index.flag_bits["wheelchair"]
            ).bit_count(),
            "open": (_intersect(found, selections, "open") & open_bits()).bit_count(),
        }
    return result


def _nearest_first(index: FacetIndex, matching: int, approximate, start: int, count: int) -> list[int]:
    """Positions of matching services by distance (a fast flat-earth estimate,
    within a fraction of a per cent at these distances), then those without
    coordinates by name."""
    allowed = matching.to_bytes(index.size // 8 + 1, "little")
    nearest = sorted(
        (km, position) for km, position in approximate if allowed[position >> 3] >> (position & 7) & 1
    )
    in_page = [position for _, position in nearest[start : start + count]]
    if len(in_page) < count:
        unplaced = matching & ~index.located_bits
        in_page += index.positions(unplaced, max(0, start - len(nearest)), count - len(in_page))
    return in_page


@dataclass
class ServiceSummary:
    """What a result card shows, read in four queries for a whole page."""

    id: str
    name: str
    centre_name: str
    centre_slug: str
    text_language: str
    types: list[Term] = field(default_factory=list)
    groups: list[Term] = field(default_factory=list)
    city: str | None = None
    municipality: str | None = None
    country: str = DEFAULT_COUNTRY
    location_ids: list[str] = field(default_factory=list)
    own_schedules: list[Schedule] = field(default_factory=list)
    location_schedules: list[Schedule] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    precision: str | None = None
    distance_km: float | None = None
    # Whom it serves (add_areas): the areas the search can check,
    # as (code, municipality name; "" for a whole country), and those only
    # described in words.
    served_areas: list[tuple[str, str]] = field(default_factory=list)
    area_words: list[str] = field(default_factory=list)
    minimum_age: int | None = None
    maximum_age: int | None = None
    # Its centre's review: listings.verification_state ("verified", "stale",
    # "unverified"); the card says so unless verified.
    verification: str = "verified"

    @property
    def states_ages(self) -> bool:
        return self.minimum_age is not None or self.maximum_age is not None

    @property
    def schedules(self) -> list[Schedule]:
        """The service's own hours, else those of the locations it is offered at."""
        return self.own_schedules or self.location_schedules


def summarise_services(session: Session, service_ids: list[str], index: FacetIndex,
                       today: date | None = None, stale_after_days: int | None = None) -> list[ServiceSummary]:
    """The cards of `service_ids`, in that order. Anyone reads them (the
    results, the map's markers): a confidential location is placed at its
    town (confidential.town_point), never at its own point."""
    from .confidential import town_point

    if not service_ids:
        return []
    if today is None or stale_after_days is None:
        today, stale_after_days = review_days(datetime.now(timezone.utc))
    summaries = {
        row.id: ServiceSummary(row.id, row.name, row.centre_name, row.slug, row.text_language,
                               minimum_age=row.minimum_age, maximum_age=row.maximum_age,
                               verification=listings.verification_state(row.last_verified, today,
                                                                        stale_after_days))
        for row in session.execute(
            select(
                Service.id,
                Service.name,
                Organization.name.label("centre_name"),
                Organization.slug,
                Organization.text_language,
                Service.minimum_age,
                Service.maximum_age,
                Organization.last_verified,
            )
            .join(Organization)
            .where(Service.id.in_(service_ids))
        )
    }
    stt = service_taxonomy_term
    for service_id, term_id in session.execute(
        select(stt.c.service_id, stt.c.taxonomy_term_id).where(stt.c.service_id.in_(service_ids))
    ):
        term = index.terms_by_id.get(term_id)
        if term is not None:
            summary = summaries[service_id]
            (summary.types if term.taxonomy == "service-type" else summary.groups).append(term)
    by_location: dict[str, list[ServiceSummary]] = {}
    for (service_id, location_id, city, municipality, country, latitude, longitude, precision,
         is_confidential) in session.execute(
        select(
            ServiceAtLocation.service_id,
            ServiceAtLocation.location_id,
            Address.city,
            Address.municipality,
            Address.country,
            Location.latitude,
            Location.longitude,
            Location.geocode_precision,
            Location.confidential,
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .outerjoin(Address, Address.location_id == ServiceAtLocation.location_id)
        .where(ServiceAtLocation.service_id.in_(service_ids))
        .order_by(ServiceAtLocation.service_id, ServiceAtLocation.id, Address.id)
    ):
        summary = summaries[service_id]
        if is_confidential:
            latitude, longitude, precision = town_point(city, country) or (None, None, None)
        if not summary.location_ids and country:
            summary.city, summary.municipality, summary.country = city, municipality, country
        if summary.latitude is None and latitude is not None:
            summary.latitude, summary.longitude, summary.precision = latitude, longitude, precision
        if location_id not in summary.location_ids:
            summary.location_ids.append(location_id)
            by_location.setdefault(location_id, []).append(summary)
    for schedule in session.scalars(
        select(Schedule).where(
            or_(Schedule.service_id.in_(service_ids), Schedule.location_id.in_(list(by_location)))
        )
    ):
        if schedule.service_id in summaries:
            summaries[schedule.service_id].own_schedules.append(schedule)
        for summary in by_location.get(schedule.location_id, ()):
            summary.location_schedules.append(schedule)
    order = {term_id: i for i, term_id in enumerate(index.terms_by_id)}
    for summary in summaries.values():
        summary.types.sort(key=lambda t: order[t.id])
        summary.groups.sort(key=lambda t: order[t.id])
    return [summaries[service_id] for service_id in service_ids if service_id in summaries]


def add_areas(session: Session, summaries: list[ServiceSummary]) -> None:
    """Whom each service of a page is for: the areas it serves, its own and
    those of the locations it is offered at (its ages come with the summary)."""
    by_id = {summary.id: summary for summary in summaries}
    if not by_id:
        return
    areas = session.execute(service_areas(list(by_id), ServiceArea.area_code, ServiceArea.name,
                                          ServiceArea.description)).all()
    for owner, code, name, description in sorted(areas, key=lambda row: (row[2] or row[3] or "", row[1] or "")):
        summary = by_id.get(owner)
        if summary is None:
            continue
        if municipalities.is_area_code(code):
            municipality = municipalities.get(code)
            area = (code, municipality.label if municipality else "")
            if area not in summary.served_areas:
                summary.served_areas.append(area)
        elif (words := shorten(name or description or "", AREA_WORDS_SHOWN, placeholder="…")) \
                and words not in summary.area_words:
            summary.area_words.append(words)
    for summary in summaries:
        # Whole countries first, then municipalities by name.
        summary.served_areas.sort(key=lambda area: (bool(area[1]), fold(area[1]), area[0]))


def _facets(filters, index: FacetIndex, found: int, selections, locale) -> dict[str, list[FacetOption]]:
    """For each filter, how many results each of its values would give with
    every other active filter kept."""

    def term_options(name: str, terms) -> list[FacetOption]:
        base = _intersect(found, selections, name)
        return [
            FacetOption(
                code,
                term.label(locale),
                (base & index.term_bits.get(term.id, 0)).bit_count(),
                code == getattr(filters, name),
            )
            for code, term in terms.items()
        ]

    place_base = _intersect(found, selections, "place")
    language_base = _intersect(found, selections, "language")
    return {
        "type": term_options("type", index.types),
        "group": term_options("group", index.groups),
        "place": [
            FacetOption(p, p, (place_base & index.place_bits[p]).bit_count(), p == filters.place)
            for p in index.places
        ],
        "language": [
            FacetOption(
                code,
                code,
                (language_base & index.language_bits.get(code, 0)).bit_count(),
                code == filters.language,
            )
            for code in index.languages
        ],
    }
