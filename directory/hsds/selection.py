"""Which public services a /services (or /service_at_locations) request
matches, in the website's order: the website's search and filters over the
in-memory facet index (search.py, facets.py), narrowed by HSDS's own
filters. Positions are read off bitsets a page or a chunk at a time, so
even every result never becomes one list of records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..facets import FacetIndex, bits_of
from ..live_index import facet_index
from ..models import Service, TaxonomyTerm
from ..search import (
    Origin,
    _selections,  # the website's filter bitsets: one definition of what a filter means
    _within_radius,
    exact_km,
    match_terms,
    normalise_filters,
    parse_filters,
    resolve_origin,
    search_terms,
)
from .paging import CHUNK_SIZE
from .parameters import InvalidQuery, ListQuery


@dataclass
class ServiceSelection:
    """The matching services of one request. Without an origin: services
    whose own or centre's name holds every word first, then the others,
    each tier by name (index positions are in name order). With one
    (`near`): nearest first, those without coordinates last by name."""

    index: FacetIndex
    first: int  # bitset of the first tier
    later: int  # bitset of the second tier
    origin: Origin | None = None
    nearest: list[int] = field(default_factory=list)  # located matches, nearest first

    @property
    def total(self) -> int:
        return self.first.bit_count() + self.later.bit_count()

    def ids(self, start: int, count: int) -> list[str]:
        """The ids of `count` services from the `start`th, as the website pages them."""
        if self.origin is None:
            in_page = self.index.positions(self.first, start, count)
            if len(in_page) < count:
                skip = max(0, start - self.first.bit_count())
                in_page += self.index.positions(self.later, skip, count - len(in_page))
        else:
            in_page = self.nearest[start : start + count]
            if len(in_page) < count:
                unplaced = (self.first | self.later) & ~self.index.located_bits
                skip = max(0, start - len(self.nearest))
                in_page += self.index.positions(unplaced, skip, count - len(in_page))
            # The page in exact (ellipsoid) order, as the website shows it.
            in_page.sort(key=self._exact_km)
        return [self.index.service_ids[position] for position in in_page]

    def all_ids(self) -> Iterator[str]:
        """Every matching id, in order, a chunk at a time."""
        for start in range(0, self.total, CHUNK_SIZE):
            yield from self.ids(start, CHUNK_SIZE)

    def _exact_km(self, position: int) -> tuple[bool, float]:
        point = self.index.coordinates_of(position)
        return (True, 0.0) if point is None else (False, exact_km(self.origin, *point))


def select_services(session: Session, query: ListQuery, now: datetime | None = None) -> ServiceSelection:
    """The services `query` matches: the website's full text and filters
    (`search` is its `q`), then HSDS's taxonomy_term_id, taxonomy_id,
    organization_id and modified_after, all of them at once (HSDS: filters
    are cumulative). A `near` no one knows is a 400 with suggestions."""
    filters = parse_filters({**query.website, "q": query.search})
    origin, suggestions = resolve_origin(filters)
    if filters.near and origin is None:
        # The website shows every service and a "did you mean"; a program
        # would take those for services near the place, so say it instead.
        raise InvalidQuery(f"No known place matches near={filters.near!r}", parameter="near",
                           suggestions=suggestions)
    index = facet_index(session)
    filters = normalise_filters(filters, index)
    now = now or datetime.now(timezone.utc)
    selections = _selections(filters, index, lambda: index.open_bits(now))
    approximate = index.approximate_distances(origin.latitude, origin.longitude) if origin else []
    if origin and filters.radius:
        selections["radius"] = _within_radius(index, origin, approximate, filters.radius)
    allowed = _hsds_bits(session, index, query)
    for bits in selections.values():
        allowed &= bits
    terms = search_terms(filters.q)
    found, in_names = match_terms(index, terms)
    matching = found & allowed
    first = matching & in_names if terms else matching
    selection = ServiceSelection(index, first, matching & ~first, origin)
    if origin:
        # Bytes, not shifts of one big int: a shift costs as much as the index is long.
        allowed_bytes = matching.to_bytes(index.size // 8 + 1, "little")
        selection.nearest = [position for _km, position in sorted(
            (km, position) for km, position in approximate
            if allowed_bytes[position >> 3] >> (position & 7) & 1
        )]
    return selection


def _hsds_bits(session: Session, index: FacetIndex, query: ListQuery) -> int:
    """The services HSDS's filters allow; an id of no record allows none."""
    bits = index.all_bits
    if query.taxonomy_term_id:
        bits &= index.term_bits.get(query.taxonomy_term_id, 0)
    if query.taxonomy_id:
        in_taxonomy = 0
        for term_id in session.scalars(select(TaxonomyTerm.id).where(TaxonomyTerm.taxonomy_id == query.taxonomy_id)):
            in_taxonomy |= index.term_bits.get(term_id, 0)
        bits &= in_taxonomy
    if query.organization_id:
        bits &= _bits_of_ids(index, session.scalars(
            select(Service.id).where(Service.organization_id == query.organization_id)))
    if query.modified_after:
        bits &= _bits_of_ids(index, session.scalars(
            select(Service.id).where(Service.updated_at >= query.modified_after)))
    return bits


def _bits_of_ids(index: FacetIndex, service_ids) -> int:
    """A bitset of services by id (ids of services not public are left out)."""
    slot_of = index.slot_of
    return bits_of(slot for service_id in service_ids if (slot := slot_of.get(service_id)) is not None) & index.all_bits
