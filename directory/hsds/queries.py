"""Which records the API shows, its query parameters and paging."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..facets import facet_index
from ..models import (
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from ..search import (
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    SearchFilters,
    full_text_backend,
    parse_filters,
    query_terms,
    resolve_origin,
    search_services,
)
from ..textnorm import sort_key
from .records import (
    organization_dict,
    service_at_location_dict,
    service_dict,
    taxonomy_dict,
    taxonomy_term_dict,
)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# The directory's own search filters, read as the website reads its query string.
DIRECTORY_FILTERS = ("place", "type", "group", "language", "free", "wheelchair", "open", "near", "radius")
# Which website filter a term of each vocabulary is.
FILTER_OF_TAXONOMY = {"service-type": "type", "target-group": "group"}


class InvalidQuery(ValueError):
    """A request the API refuses (400) instead of guessing what was meant."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details



# ------------------------------------------------------------------ paging


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _bounded_int(args: Mapping, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,12}", raw) or not low <= int(raw) <= high:
        raise InvalidQuery(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def parse_paging(args: Mapping) -> Paging:
    """`page` and `per_page` as the OpenAPI document states them; anything
    else is a 400, never silently another page than the one asked for."""
    return Paging(
        page=_bounded_int(args, "page", 1, 1, MAX_PAGE),
        per_page=_bounded_int(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
    )


def parse_boolean(args: Mapping, name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise InvalidQuery(f"{name} must be true or false")
    return raw == "true"


def page_object(contents: list[dict], total: int, paging: Paging) -> dict:
    """The HSDS page wrapper. There is always a first page, empty or not; a
    page past the last one is empty."""
    total_pages = max(1, math.ceil(total / paging.per_page))
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": paging.page,
        "size": len(contents),
        "first_page": paging.page == 1,
        "last_page": paging.page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def _plausible_id(value: str | None) -> bool:
    """Ids are UUID strings. Anything longer, or with a NUL byte (PostgreSQL
    refuses those), names no record and is not sent to the database."""
    return bool(value) and len(value) <= 36 and "\x00" not in value


# ----------------------------------------------------------------- queries


def _is_public():
    return (Service.status == "active") & Service.organization.has(Organization.status == "published")


_LOCATION_PARTS = (
    Location.addresses,
    Location.phones,
    Location.schedules,
    Location.accessibility,
    Location.languages,
)


def _service_loads(nested: bool) -> list:
    loads = [selectinload(Service.organization)]
    if nested:
        loads += [
            selectinload(Service.phones),
            selectinload(Service.schedules),
            selectinload(Service.languages),
            selectinload(Service.contacts),
            selectinload(Service.required_documents),
            selectinload(Service.taxonomy_terms).selectinload(TaxonomyTerm.taxonomy),
        ]
        at_location = selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location)
        loads += [at_location.selectinload(part) for part in _LOCATION_PARTS]
    return loads


def get_public_service(session: Session, service_id: str) -> Service | None:
    """An active service of a published organization, with everything HSDS nests."""
    if not _plausible_id(service_id):
        return None
    query = select(Service).where(Service.id == service_id, _is_public()).options(*_service_loads(True))
    return session.scalars(query).first()


def load_services(session: Session, service_ids: list[str], nested: bool) -> list[Service]:
    """Services by id, in the order given (the search's ranking)."""
    if not service_ids:
        return []
    query = select(Service).where(Service.id.in_(service_ids), _is_public()).options(*_service_loads(nested))
    by_id = {service.id: service for service in session.scalars(query)}
    return [by_id[service_id] for service_id in service_ids if service_id in by_id]


def search_service_page(
    session: Session, args: Mapping, paging: Paging, nested: bool = False, now: datetime | None = None
) -> dict:
    """/services: the website's search (same filters, same ranking, nearest
    first with `near`) as an HSDS page."""
    raw = {name: args.get(name) for name in DIRECTORY_FILTERS if args.get(name) is not None}
    raw["q"] = args.get("search", "")
    filters = replace(parse_filters(raw), page=paging.page)
    term_id = args.get("taxonomy_term_id")
    if term_id:  # empty, as a form sends it, is no filter
        filters = _with_term(session, filters, term_id)
        if filters is None:
            return page_object([], 0, paging)
    origin, suggestions = resolve_origin(filters)
    if filters.near and origin is None:
        # The website shows every service and a "did you mean"; a program
        # would take those for services near the place, so say it instead.
        raise InvalidQuery(f"No known place matches near={filters.near!r}", suggestions=suggestions)
    result = search_services(
        session, filters, now=now, with_facets=False, origin=origin, page_size=paging.per_page
    )
    if result.filters.page != paging.page:  # past the last page: search_services gave the last one
        return page_object([], result.total, paging)
    services = load_services(session, [summary.id for summary in result.services], nested)
    return page_object([service_dict(s, nested=nested) for s in services], result.total, paging)


def _with_term(session: Session, filters: SearchFilters, term_id: str) -> SearchFilters | None:
    """The filters with the term's own filter (type or group) set; None when
    nothing can match: an unknown term, or another value of that filter."""
    term = session.get(TaxonomyTerm, term_id) if _plausible_id(term_id) else None
    name = FILTER_OF_TAXONOMY.get(term.taxonomy.code) if term is not None else None
    if name is None or getattr(filters, name) not in ("", term.code):
        return None
    return replace(filters, **{name: term.code})


def _organization_loads() -> list:
    loads = [
        selectinload(Organization.phones),
        selectinload(Organization.contacts),
        selectinload(Organization.services),
    ]
    return loads + [selectinload(Organization.locations).selectinload(part) for part in _LOCATION_PARTS]


def organization_page(session: Session, search: str, paging: Paging) -> dict:
    """/organizations: published organizations by name; `search` keeps those
    whose name or alternate name holds every word, ignoring case and
    diacritics (in Python, so SQLite and PostgreSQL agree)."""
    words = sort_key(search.replace("\x00", "")[:MAX_QUERY_LENGTH]).split()
    rows = session.execute(
        select(Organization.id, Organization.name, Organization.alternate_name).where(
            Organization.status == "published"
        )
    ).all()
    matching = sorted(
        (
            (sort_key(name), org_id)
            for org_id, name, alternate_name in rows
            if all(word in sort_key(f"{name} {alternate_name or ''}") for word in words)
        )
    )
    in_page = [org_id for _, org_id in matching[paging.offset : paging.offset + paging.per_page]]
    by_id = {
        org.id: org for org in session.scalars(select(Organization).where(Organization.id.in_(in_page)))
    }
    contents = [organization_dict(by_id[org_id]) for org_id in in_page if org_id in by_id]
    return page_object(contents, len(matching), paging)


def get_public_organization(session: Session, organization_id: str) -> Organization | None:
    if not _plausible_id(organization_id):
        return None
    query = (
        select(Organization)
        .where(Organization.id == organization_id, Organization.status == "published")
        .options(*_organization_loads())
    )
    return session.scalars(query).first()


def ranked_service_ids(session: Session, search: str) -> list[str]:
    """Every public service matching `search` (the website's full text), in
    /services' order without `near`: services whose own or centre's name has
    every word first, then the other matches, each tier by name. No words:
    every public service, by name."""
    backend = full_text_backend(session)
    index = facet_index(session, backend.key)

    def fetch(term: str, names_only: bool) -> list:
        return backend.matching_keys(session, term, names_only)

    found = in_names = index.all_bits
    for term in query_terms(parse_filters({"q": search}).q):
        found &= index.term_matches(term, False, fetch)
        in_names &= index.term_matches(term, True, fetch)
    everything = len(index.service_ids)
    positions = index.positions(found & in_names, 0, everything)
    positions += index.positions(found & ~in_names, 0, everything)
    return [index.service_ids[p] for p in positions]


def _service_at_location_loads(nested: bool) -> list:
    location = selectinload(ServiceAtLocation.location)
    service = selectinload(ServiceAtLocation.service)
    if not nested:
        return [location, service.selectinload(Service.organization)]
    return [
        *(location.selectinload(part) for part in _LOCATION_PARTS),
        service.options(*_service_loads(True)),
    ]


def service_at_location_page(session: Session, args: Mapping, paging: Paging, nested: bool = False) -> dict:
    """/service_at_locations: where public services are offered, one item per
    service and location. Services come in /services' order (`search` is its
    full text), each one's locations by name. `organization_id`,
    `taxonomy_term_id` and `taxonomy_id` keep the services of that
    organization, with that term, with a term of that vocabulary; empty is no
    filter, an unknown id matches nothing."""
    query = (
        select(ServiceAtLocation.id, ServiceAtLocation.service_id, Location.name)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(_is_public())
    )
    conditions = {
        "organization_id": lambda value: Service.organization_id == value,
        "taxonomy_term_id": lambda value: Service.taxonomy_terms.any(TaxonomyTerm.id == value),
        "taxonomy_id": lambda value: Service.taxonomy_terms.any(TaxonomyTerm.taxonomy_id == value),
    }
    for name, condition in conditions.items():
        value = args.get(name)
        if not value:  # empty, as a form sends it, is no filter
            continue
        if not _plausible_id(value):
            return page_object([], 0, paging)
        query = query.where(condition(value))
    rank = {service_id: i for i, service_id in enumerate(ranked_service_ids(session, args.get("search", "")))}
    matching = sorted(
        (rank[service_id], sort_key(location_name or ""), sal_id)
        for sal_id, service_id, location_name in session.execute(query)
        if service_id in rank
    )
    in_page = [sal_id for _, _, sal_id in matching[paging.offset : paging.offset + paging.per_page]]
    by_id = {}
    if in_page:
        loaded = select(ServiceAtLocation).where(ServiceAtLocation.id.in_(in_page))
        by_id = {sal.id: sal for sal in session.scalars(loaded.options(*_service_at_location_loads(nested)))}
    contents = [
        service_at_location_dict(by_id[sal_id], nested=nested, with_service=True)
        for sal_id in in_page
        if sal_id in by_id
    ]
    return page_object(contents, len(matching), paging)


def get_public_service_at_location(session: Session, sal_id: str) -> ServiceAtLocation | None:
    """A service_at_location of a public service, with its location and service fully loaded."""
    if not _plausible_id(sal_id):
        return None
    query = (
        select(ServiceAtLocation)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .where(ServiceAtLocation.id == sal_id, _is_public())
        .options(*_service_at_location_loads(True))
    )
    return session.scalars(query).first()


def get_taxonomy(session: Session, taxonomy_id: str) -> Taxonomy | None:
    return session.get(Taxonomy, taxonomy_id) if _plausible_id(taxonomy_id) else None


def get_taxonomy_term(session: Session, term_id: str) -> TaxonomyTerm | None:
    if not _plausible_id(term_id):
        return None
    query = select(TaxonomyTerm).where(TaxonomyTerm.id == term_id)
    return session.scalars(query.options(selectinload(TaxonomyTerm.taxonomy))).first()


def taxonomy_page(session: Session, paging: Paging) -> dict:
    total = session.scalar(select(func.count()).select_from(Taxonomy))
    query = select(Taxonomy).order_by(Taxonomy.name, Taxonomy.id).offset(paging.offset).limit(paging.per_page)
    return page_object([taxonomy_dict(t) for t in session.scalars(query)], total, paging)


def taxonomy_term_page(session: Session, taxonomy_id: str | None, paging: Paging) -> dict:
    """Terms in their vocabulary's order; `taxonomy_id` keeps one vocabulary
    (an unknown one has no terms)."""
    query = select(TaxonomyTerm).join(Taxonomy)
    if taxonomy_id:
        query = query.where(TaxonomyTerm.taxonomy_id == (taxonomy_id if _plausible_id(taxonomy_id) else None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    query = (
        query.options(selectinload(TaxonomyTerm.taxonomy))
        .order_by(Taxonomy.code, TaxonomyTerm.position, TaxonomyTerm.code, TaxonomyTerm.id)
        .offset(paging.offset)
        .limit(paging.per_page)
    )
    return page_object([taxonomy_term_dict(t) for t in session.scalars(query)], total, paging)


