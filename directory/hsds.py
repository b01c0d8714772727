"""Open Referral HSDS 3.0 for the public JSON API: which records are public,
plain functions turning models into HSDS dicts, paging, and the OpenAPI
document. The views in api/routes.py only call these.

HSDS fields are strings, never null: a value the directory does not have is
left out, except the address fields HSDS requires, which are "" rather than
a guess. Times are local to the centre (Europe/Riga, Europe/Vilnius), as
the listings give them.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .facets import facet_index
from .models import (
    Accessibility,
    Address,
    Contact,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from .search import (
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    SearchFilters,
    full_text_backend,
    parse_filters,
    query_terms,
    resolve_origin,
    search_services,
)
from .textnorm import sort_key

HSDS_VERSION = "3.0"
API_VERSION = "1.0.0"
SCHEMA_DIR = Path(__file__).resolve().parent / "hsds_schema"

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# The directory's own search filters, read as the website reads its query string.
DIRECTORY_FILTERS = ("place", "type", "group", "language", "free", "wheelchair", "open", "near", "radius")
# Which website filter a term of each vocabulary is.
FILTER_OF_TAXONOMY = {"service-type": "type", "target-group": "group"}
# Attributes (service ↔ term links) have no row of their own: their ids are
# derived from the pair, so they stay the same between requests. Never change it.
ATTRIBUTE_NAMESPACE = uuid.UUID("0b9c7a52-3f1e-4d8a-9c64-5e2f8d1a7b30")
# Said for a service whose listing only has the free-of-charge flag.
FREE_TEXT = {"lv": ("Bez maksas.", "Par maksu."), "lt": ("Nemokamai.", "Mokama.")}


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


# ------------------------------------------------------------ serialization


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the directory does not know: HSDS types are never null."""
    return {key: value for key, value in values.items() if value is not None}


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they are stored in UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat(timespec="milliseconds")


def fees_description(service: Service) -> str | None:
    """The listing's own words; else what its free-of-charge flag says, in
    the organization's language; else nothing."""
    if service.fees_description:
        return service.fees_description
    if service.free_of_charge is None:
        return None
    free, paid = FREE_TEXT.get(service.organization.text_language, FREE_TEXT["lv"])
    return free if service.free_of_charge else paid


def _by_id(records) -> list:
    """Nested lists in a fixed order: the database returns unordered
    collections in whatever order its pages hold them, and the same record
    must read the same in a list and on its own."""
    return sorted(records, key=lambda record: record.id)


def service_dict(service: Service, nested: bool = True, with_organization: bool = True) -> dict:
    """An HSDS service: one-to-one fields (the list shape), and with `nested`
    everything HSDS nests in a service."""
    data = _compact(
        {
            "id": service.id,
            "organization_id": service.organization_id,
            "name": service.name,
            "alternate_name": service.alternate_name,
            "description": service.description,
            "url": service.url,
            "email": service.email,
            "status": service.status,
            "application_process": service.application_process,
            "fees_description": fees_description(service),
            "eligibility_description": service.eligibility_description,
            "minimum_age": service.minimum_age,
            "maximum_age": service.maximum_age,
            "assured_date": _date(service.last_verified),
            "last_modified": _datetime(service.updated_at),
        }
    )
    if with_organization:
        data["organization"] = organization_dict(service.organization)
    if nested:
        data.update(
            service_at_locations=[service_at_location_dict(sal) for sal in _by_id(service.service_at_locations)],
            schedules=[schedule_dict(s) for s in _by_id(service.schedules)],
            phones=[phone_dict(p) for p in _by_id(service.phones)],
            contacts=[contact_dict(c) for c in _by_id(service.contacts)],
            languages=[language_dict(lang) for lang in _by_id(service.languages)],
            required_documents=[required_document_dict(d) for d in service.required_documents],
            attributes=[attribute_dict(service.id, "service", term)
                        for term in sorted(service.taxonomy_terms, key=lambda t: (t.position, t.id))],
            # Structured prices are not kept; fees_description says what is known.
            cost_options=[],
        )
    return data


def organization_dict(org: Organization, nested: bool = False) -> dict:
    """An HSDS organization; with `nested` its phones, contacts, locations
    and (not an HSDS field) its public services in the list shape."""
    data = _compact(
        {
            "id": org.id,
            "name": org.name,
            "alternate_name": org.alternate_name,
            "description": org.description or "",  # required by HSDS
            "email": org.email,
            "website": org.website,
            "legal_status": org.legal_status,
            "parent_organization_id": org.parent_organization_id,
        }
    )
    if nested:
        data.update(
            phones=[phone_dict(p) for p in _by_id(org.phones)],
            contacts=[contact_dict(c) for c in _by_id(org.contacts)],
            locations=[location_dict(loc) for loc in org.locations],
            services=[
                service_dict(s, nested=False, with_organization=False)
                for s in org.services
                if s.status == "active"
            ],
        )
    return data


def service_at_location_dict(sal: ServiceAtLocation, nested: bool = True, with_service: bool = False) -> dict:
    """An HSDS service_at_location with its location, fully nested or (not
    `nested`) its one-to-one fields only; `with_service` adds the service
    (HSDS's list shape has it): as /services/{id} gives it, or as a
    /services list item."""
    data = _compact(
        {
            "id": sal.id,
            "service_id": sal.service_id,
            "location_id": sal.location_id,
            "description": sal.description,
            "location": location_dict(sal.location, nested=nested),
        }
    )
    if with_service:
        data["service"] = service_dict(sal.service, nested=nested)
    return data


def location_dict(location: Location, nested: bool = True) -> dict:
    """Coordinates are what geocoding found: for an address without a street
    that is the town (or the municipality's town), as on the website's map.
    Not `nested`: the one-to-one fields only."""
    data = _compact(
        {
            "id": location.id,
            "location_type": location.location_type,
            "organization_id": location.organization_id,
            "name": location.name,
            "description": location.description,
            "transportation": location.transportation,
            "latitude": location.latitude,
            "longitude": location.longitude,
        }
    )
    if not nested:
        return data
    data.update(
        addresses=[address_dict(a) for a in _by_id(location.addresses)],
        phones=[phone_dict(p) for p in _by_id(location.phones)],
        schedules=[schedule_dict(s) for s in _by_id(location.schedules)],
        languages=[language_dict(lang) for lang in _by_id(location.languages)],
        accessibility=[accessibility_dict(a) for a in _by_id(location.accessibility)],
    )
    return data


def address_dict(address: Address) -> dict:
    """HSDS requires address_1, city, state_province and postal_code: ""
    when the listing does not give them. The municipality (novads,
    savivaldybė) is the region and, lacking another, the state/province."""
    return _compact(
        {
            "id": address.id,
            "location_id": address.location_id,
            "attention": address.attention,
            "address_1": address.address_1 or "",
            "address_2": address.address_2,
            "city": address.city or "",
            "region": address.municipality,
            "state_province": address.state_province or address.municipality or "",
            "postal_code": address.postal_code or "",
            "country": address.country,
            "address_type": address.address_type,
        }
    )


def schedule_dict(schedule: Schedule) -> dict:
    return _compact(
        {
            "id": schedule.id,
            "service_id": schedule.service_id,
            "location_id": schedule.location_id,
            "freq": schedule.freq,
            "byday": schedule.byday,
            "opens_at": _time(schedule.opens_at),
            "closes_at": _time(schedule.closes_at),
            "valid_from": _date(schedule.valid_from),
            "valid_to": _date(schedule.valid_to),
            "description": schedule.description,
        }
    )


def phone_dict(phone: Phone) -> dict:
    return _compact(
        {
            "id": phone.id,
            "organization_id": phone.organization_id,
            "location_id": phone.location_id,
            "service_id": phone.service_id,
            "number": phone.number,
            "extension": phone.extension,
            "type": phone.type,
            "description": phone.description,
        }
    )


def required_document_dict(document: RequiredDocument) -> dict:
    return _compact(
        {
            "id": document.id,
            "service_id": document.service_id,
            "document": document.document,
            "uri": document.uri,
        }
    )


def contact_dict(contact: Contact) -> dict:
    return _compact(
        {
            "id": contact.id,
            "organization_id": contact.organization_id,
            "service_id": contact.service_id,
            "name": contact.name,
            "title": contact.title,
            "department": contact.department,
            "email": contact.email,
        }
    )


def language_dict(language: Language) -> dict:
    return _compact(
        {
            "id": language.id,
            "service_id": language.service_id,
            "location_id": language.location_id,
            "name": language.name,
            "code": language.code,
            "note": language.note,
        }
    )


def accessibility_dict(accessibility: Accessibility) -> dict:
    return _compact(
        {
            "id": accessibility.id,
            "location_id": accessibility.location_id,
            "description": accessibility.description,
            "details": accessibility.details,
            "url": accessibility.url,
        }
    )


def attribute_dict(link_id: str, link_entity: str, term: TaxonomyTerm) -> dict:
    """HSDS 3.0 links a service to a taxonomy term through an attribute;
    link_type says which vocabulary (service-type, target-group)."""
    return {
        "id": str(uuid.uuid5(ATTRIBUTE_NAMESPACE, f"{link_entity}:{link_id}:{term.id}")),
        "link_id": link_id,
        "link_entity": link_entity,
        "link_type": term.taxonomy.code,
        "taxonomy_term_id": term.id,
        "taxonomy_term": taxonomy_term_dict(term),
    }


def taxonomy_term_dict(term: TaxonomyTerm) -> dict:
    """Name in Latvian (the directory's default); translations stay on the website."""
    return _compact(
        {
            "id": term.id,
            "code": term.code,
            "name": term.name,
            "description": term.description or "",
            "parent_id": term.parent_id,
            "taxonomy": term.taxonomy.name,
            "taxonomy_id": term.taxonomy_id,
            "language": "lv",
            "term_uri": term.term_uri,
        }
    )


def taxonomy_dict(taxonomy: Taxonomy) -> dict:
    return _compact(
        {
            "id": taxonomy.id,
            "name": taxonomy.name,
            "description": taxonomy.description or "",
            "uri": taxonomy.uri,
            "version": taxonomy.version,
        }
    )


def api_info(openapi_url: str, links: Mapping[str, str]) -> dict:
    """GET /api/: HSDS's meta information, plus this API's version and links."""
    return {
        "version": HSDS_VERSION,
        "api_version": API_VERSION,
        "openapi_url": openapi_url,
        "links": dict(links),
    }


# ------------------------------------------------------- the OpenAPI document

# JSON Schema keywords kept from the HSDS files; the rest ("core", "constraints",
# "datapackage_type", examples of the wrong type…) are annotations for other tools.
_SCHEMA_KEYWORDS = frozenset(
    {"type", "properties", "items", "required", "enum", "format", "description", "title", "$ref"}
)


def _clean_schema(node: Any) -> Any:
    """An HSDS schema as an OpenAPI component: JSON Schema keywords only,
    file references ("phone.json") turned into component references."""
    if isinstance(node, list):
        return [_clean_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            cleaned[key] = {name: _clean_schema(sub) for name, sub in value.items()}
        elif key == "$ref":
            cleaned[key] = "#/components/schemas/" + value.removesuffix(".json")
        elif key in _SCHEMA_KEYWORDS:
            cleaned[key] = _clean_schema(value)
    return cleaned


def _read_schema(relative_path: str) -> dict:
    return json.loads((SCHEMA_DIR / relative_path).read_text(encoding="utf-8"))


def hsds_component_schemas() -> dict[str, dict]:
    """Every HSDS object schema, plus the list shapes HSDS's API uses."""
    schemas = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("type") == "object" and "properties" in raw and path.stem != "meta_table_description":
            schemas[path.stem] = _clean_schema(raw)
    for name in ("service_list", "organization_list", "service_at_location_list"):
        schemas[name] = _clean_schema(_read_schema(f"compiled/{name}.json"))
    return schemas


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _paged(item_ref: str) -> dict:
    return {
        "allOf": [{"$ref": "#/components/schemas/Page"}],
        "properties": {"contents": {"type": "array", "items": {"$ref": item_ref}}},
    }


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "404": {"$ref": "#/components/responses/NotFound"},
}


@functools.cache
def openapi_document() -> dict:
    """The API's OpenAPI 3.1 document, built once from the HSDS schema files."""
    paging = [{"$ref": "#/components/parameters/page"}, {"$ref": "#/components/parameters/per_page"}]
    flag = "Any value but 1, on or true means no filter (as on the website)."
    by_id = {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
    with_400 = {"400": _ERRORS["400"]}
    nested_service_at_location = {
        "allOf": [{"$ref": "#/components/schemas/service_at_location"}],
        "properties": {
            "service": {
                "$ref": "#/components/schemas/service",
                "description": "The fully nested service, as /services/{id} gives it.",
            }
        },
    }
    paths = {
        "/": {
            "get": {
                "operationId": "getAPIMetaInformation",
                "summary": "HSDS version, this API's version and links.",
                "responses": {"200": _json("About this API.", {"$ref": "#/components/schemas/ApiInfo"})},
            }
        },
        "/services": {
            "get": {
                "operationId": "getPaginatedListOfServices",
                "summary": "Public services, searched and filtered as on the website.",
                "description": (
                    "Active services of published organizations. Ranking follows the website: names "
                    "holding every word first, then other matches, each by name; nearest first with "
                    "`near`. Items have the one-to-one fields and the organization; `full=true` "
                    "gives fully nested services, as /services/{id}."
                ),
                "parameters": [
                    _query("search", "Full text: words match word beginnings, ignoring case and diacritics."),
                    _query(
                        "taxonomy_term_id",
                        "Services with this taxonomy term (a service type or target group); empty: "
                        "no filter. An unknown term, or a different `type`/`group` beside it, "
                        "matches nothing.",
                    ),
                    *paging,
                    _query("full", "true: fully nested services.", {"type": "boolean", "default": False}),
                    _query(
                        "place", "Town or municipality, as written in addresses (e.g. Viesīte, Bauskas novads)."
                    ),
                    _query("type", "Service type code (taxonomy term code); an unknown code is ignored."),
                    _query("group", "Target group code (taxonomy term code); an unknown code is ignored."),
                    _query("language", "ISO 639-1 code of a language spoken; an unknown code is ignored."),
                    _query("free", "1: free of charge only. " + flag),
                    _query("wheelchair", "1: wheelchair accessible only. " + flag),
                    _query("open", "1: open now (local time, public holidays closed unless listed). " + flag),
                    _query(
                        "near",
                        "A Latvian or Lithuanian town or address; results come nearest first. A place "
                        "the offline gazetteer does not know is a 400 with suggestions.",
                    ),
                    _query(
                        "radius",
                        "With `near`: 5, 10, 25 or 50 (km). Any other value means any distance.",
                    ),
                ],
                "responses": {
                    "200": _json("A page of services.", _paged("#/components/schemas/service_list")),
                    **with_400,
                },
            }
        },
        "/services/{id}": {
            "get": {
                "operationId": "getFullyNestedServiceById",
                "summary": "A fully nested public service.",
                "description": (
                    "Taxonomy terms are `attributes` (link_type: service-type or target-group). "
                    "Address fields HSDS requires but the listing lacks are empty strings; opening "
                    "times are local."
                ),
                "parameters": [{**by_id, "description": "The service's id."}],
                "responses": {
                    "200": _json("The service.", {"$ref": "#/components/schemas/service"}),
                    "404": _ERRORS["404"],
                },
            }
        },
        "/organizations": {
            "get": {
                "operationId": "getPaginatedListOfOrganizations",
                "summary": "Published organizations by name.",
                "parameters": [
                    _query("search", "Words in the name or alternate name, ignoring case and diacritics."),
                    *paging,
                ],
                "responses": {
                    "200": _json(
                        "A page of organizations.", _paged("#/components/schemas/organization_list")
                    ),
                    **with_400,
                },
            }
        },
        "/organizations/{id}": {
            "get": {
                "operationId": "getOrganizationById",
                "summary": "A published organization with its locations and public services.",
                "parameters": [{**by_id, "description": "The organization's id."}],
                "responses": {
                    "200": _json(
                        "The organization.",
                        {
                            "allOf": [{"$ref": "#/components/schemas/organization"}],
                            "properties": {
                                "services": {
                                    "type": "array",
                                    "description": "Its active services, one-to-one fields only.",
                                    "items": {"$ref": "#/components/schemas/service_list"},
                                }
                            },
                        },
                    ),
                    "404": _ERRORS["404"],
                },
            }
        },
        "/service_at_locations": {
            "get": {
                "operationId": "getPaginatedListOfServiceAtLocation",
                "summary": "Where public services are offered: one item per service and location.",
                "description": (
                    "Locations of active services of published organizations. Services come in the "
                    "order of /services (with `search`, its ranking), each one's locations by name. "
                    "Items have the one-to-one fields of the service_at_location, its location and "
                    "its service (with the organization); `full=true` nests the location fully and "
                    "gives the service as /services/{id}, as /service_at_locations/{id} does."
                ),
                "parameters": [
                    _query(
                        "search",
                        "The services' full text, as on /services: words match word beginnings, "
                        "ignoring case and diacritics.",
                    ),
                    _query(
                        "taxonomy_term_id",
                        "Services with this taxonomy term (a service type or target group); empty: no "
                        "filter; an unknown term matches nothing.",
                    ),
                    _query(
                        "taxonomy_id",
                        "Services with any term of this taxonomy; empty: no filter; an unknown id "
                        "matches nothing.",
                    ),
                    _query(
                        "organization_id",
                        "Services of this organization; empty: no filter; an unknown id matches nothing.",
                    ),
                    *paging,
                    _query(
                        "full",
                        "true: fully nested locations and services.",
                        {"type": "boolean", "default": False},
                    ),
                ],
                "responses": {
                    "200": _json(
                        "A page of service_at_locations.",
                        _paged("#/components/schemas/service_at_location_list"),
                    ),
                    **with_400,
                },
            }
        },
        "/service_at_locations/{id}": {
            "get": {
                "operationId": "getServiceAtLocationWithNestedDataById",
                "summary": "A public service at one of its locations, fully nested.",
                "description": (
                    "The location with addresses, hours, phones, languages and accessibility; the "
                    "service (not an HSDS 3.0 field of service_at_location) as /services/{id} gives it."
                ),
                "parameters": [{**by_id, "description": "The service_at_location's id."}],
                "responses": {
                    "200": _json("The service_at_location.", nested_service_at_location),
                    "404": _ERRORS["404"],
                },
            }
        },
        "/taxonomies": {
            "get": {
                "operationId": "getPaginatedListOfTaxonomies",
                "summary": "The vocabularies: service types and target groups.",
                "parameters": paging,
                "responses": {
                    "200": _json("A page of taxonomies.", _paged("#/components/schemas/taxonomy")),
                    **with_400,
                },
            }
        },
        "/taxonomies/{id}": {
            "get": {
                "operationId": "getTaxonomyById",
                "summary": "A taxonomy (vocabulary).",
                "parameters": [{**by_id, "description": "The taxonomy's id."}],
                "responses": {
                    "200": _json("The taxonomy.", {"$ref": "#/components/schemas/taxonomy"}),
                    "404": _ERRORS["404"],
                },
            }
        },
        "/taxonomy_terms": {
            "get": {
                "operationId": "getPaginatedListOfTaxonomyTerms",
                "summary": "Taxonomy terms, names in Latvian.",
                "parameters": [
                    _query(
                        "taxonomy_id", "Terms of this taxonomy only (empty: all); an unknown id has none."
                    ),
                    *paging,
                ],
                "responses": {
                    "200": _json("A page of taxonomy terms.", _paged("#/components/schemas/taxonomy_term")),
                    **with_400,
                },
            }
        },
        "/taxonomy_terms/{id}": {
            "get": {
                "operationId": "getTaxonomyTermById",
                "summary": "A taxonomy term, name in Latvian.",
                "parameters": [{**by_id, "description": "The taxonomy term's id."}],
                "responses": {
                    "200": _json("The taxonomy term.", {"$ref": "#/components/schemas/taxonomy_term"}),
                    "404": _ERRORS["404"],
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenAPIDocument",
                "summary": "This document.",
                "responses": {"200": _json("OpenAPI 3.1 document.", {"type": "object"})},
            }
        },
    }
    page_schema = copy.deepcopy(_read_schema("openapi.json")["components"]["schemas"]["Page"])
    page_schema["required"] = [
        "total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"
    ]
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Social services directory of the Latvia–Lithuania border region: HSDS API",
            "version": API_VERSION,
            "summary": "Read-only Open Referral HSDS 3.0 API of the directory's public listings.",
            "description": (
                "GET only, no authentication, CORS open. Errors are JSON `{\"error\": …}`. `page` "
                f"(1–{MAX_PAGE}) and `per_page` (1–{MAX_PER_PAGE}, default {DEFAULT_PER_PAGE}) outside "
                "their range, or not whole numbers, are a 400; the directory's own filters are read "
                "forgivingly, as the website reads them. Schemas: Open Referral HSDS 3.0 "
                "(CC BY-SA 4.0, © Open Referral)."
            ),
        },
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {
            "parameters": {
                "page": {
                    **_query("page", "Page number, from 1. A page past the last one is empty."),
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                },
                "per_page": {
                    **_query("per_page", "Items per page."),
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PER_PAGE,
                        "default": DEFAULT_PER_PAGE,
                    },
                },
            },
            "responses": {
                "BadRequest": _json("A parameter the API refuses; `error` says which.", error),
                "NotFound": _json("No public record with this id.", error),
            },
            "schemas": {
                "Page": page_schema,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "suggestions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Known places like an unknown `near`.",
                        },
                    },
                },
                "ApiInfo": {
                    "type": "object",
                    "required": ["version", "api_version", "openapi_url", "links"],
                    "properties": {
                        "version": {"type": "string", "const": HSDS_VERSION, "description": "HSDS version."},
                        "api_version": {"type": "string"},
                        "openapi_url": {"type": "string", "format": "uri"},
                        "links": {
                            "type": "object",
                            "additionalProperties": {"type": "string", "format": "uri"},
                        },
                    },
                },
                **hsds_component_schemas(),
            },
        },
    }
