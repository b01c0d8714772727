"""Which records the API shows, how they are found and loaded. Parameters
are read in parameters.py, the services' search and order in selection.py,
pages and streams in paging.py; HSDS dicts come from records.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Contact,
    Location,
    Organization,
    Phone,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceCapacity,
    ServiceTermLink,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
)
from .. import confidential
from ..search import MAX_QUERY_LENGTH
from ..textnorm import sort_key
from . import nearby
from .paging import CHUNK_SIZE, Results, ScannedResults
from .parameters import (  # noqa: F401  (the API's limits and errors, where callers look for them)
    DEFAULT_PER_PAGE,
    DIRECTORY_FILTERS,
    MAX_PER_PAGE,
    InvalidQuery,
    ListQuery,
    Paging,
)
from .records import (
    organization_dict,
    service_at_location_dict,
    service_dict,
    taxonomy_dict,
    taxonomy_term_dict,
)
from .selection import select_services


def _plausible_id(value: str | None) -> bool:
    """Ids in a path are UUID strings. Anything longer, or with a NUL byte
    (PostgreSQL refuses those), names no record and is not sent to the database."""
    return bool(value) and len(value) <= 36 and "\x00" not in value


def _is_public():
    return (Service.status == "active") & Service.organization.has(Organization.status == "published")


def _words(search: str) -> list[str]:
    """Search words, folded as sort_key folds (case and diacritics)."""
    return sort_key(search.replace("\x00", "")[:MAX_QUERY_LENGTH]).split()


def _holds(words: list[str], *texts: str | None) -> bool:
    """Every word is somewhere in the texts, ignoring case and diacritics
    (in Python, so that SQLite and PostgreSQL agree)."""
    folded = sort_key(" ".join(text for text in texts if text))
    return all(word in folded for word in words)


# ------------------------------------------------------------ services

def _phones(relationship) -> list:
    """A list of phones, with the languages HSDS nests in each."""
    return [selectinload(relationship).selectinload(Phone.languages)]


def _contacts(relationship) -> list:
    """A list of contacts, with their phones."""
    return [selectinload(relationship).selectinload(Contact.phones).selectinload(Phone.languages)]


def _location_parts(path) -> list:
    """Everything HSDS nests in a location reached by `path` (a loader option)."""
    return [
        path.selectinload(Location.addresses),
        path.selectinload(Location.phones).selectinload(Phone.languages),
        path.selectinload(Location.schedules),
        path.selectinload(Location.accessibility),
        path.selectinload(Location.languages),
        path.selectinload(Location.contacts).selectinload(Contact.phones).selectinload(Phone.languages),
    ]


def _service_at_location_parts(path) -> list:
    """What HSDS nests in a service_at_location reached by `path`, its location's parts too."""
    return [
        *_location_parts(path.selectinload(ServiceAtLocation.location)),
        path.selectinload(ServiceAtLocation.service_areas),
        path.selectinload(ServiceAtLocation.schedules),
        path.selectinload(ServiceAtLocation.phones).selectinload(Phone.languages),
        path.selectinload(ServiceAtLocation.contacts).selectinload(Contact.phones).selectinload(Phone.languages),
    ]


def _service_loads(nested: bool, with_organization: bool = True) -> list:
    """Loader options for services as records.py shows them: one query per
    kind of nested record, whatever the number of services."""
    loads = []
    if with_organization:
        organization = selectinload(Service.organization)
        loads.append(organization.selectinload(Organization.identifiers) if nested else organization)
    if nested:
        loads += [
            *_phones(Service.phones),
            *_contacts(Service.contacts),
            selectinload(Service.schedules),
            selectinload(Service.languages),
            selectinload(Service.required_documents),
            selectinload(Service.urls),
            selectinload(Service.service_areas),
            selectinload(Service.cost_options),
            selectinload(Service.capacities).selectinload(ServiceCapacity.unit),
            selectinload(Service.term_links).selectinload(ServiceTermLink.term).selectinload(TaxonomyTerm.taxonomy),
            selectinload(Service.taxonomy_terms).selectinload(TaxonomyTerm.taxonomy),
            *_service_at_location_parts(selectinload(Service.service_at_locations)),
        ]
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


def minimal_service(service: Service) -> dict:
    """HSDS's `minimal` item: the id and when the service last changed."""
    data = service_dict(service, nested=False, with_organization=False)
    return {key: data[key] for key in ("id", "last_modified") if key in data}


def service_results(session: Session, query: ListQuery, now: datetime | None = None) -> Results:
    """/services: the website's search (same filters, same ranking, nearest
    first with `near`) narrowed by HSDS's filters; list items, fully nested
    services (`full`) or ids with their last change (`minimal`)."""
    selection = select_services(session, query, now)
    if query.minimal:
        show = minimal_service
    else:
        def show(service: Service) -> dict:
            return service_dict(service, nested=query.full)
    return Results(selection.total, selection.ids, selection.all_ids,
                   lambda ids: load_services(session, ids, query.full), show)



# ------------------------------------------------------- organizations


def _organization_loads(full_service: bool = False) -> list:
    services = selectinload(Organization.services)
    return [
        *_phones(Organization.phones),
        *_contacts(Organization.contacts),
        selectinload(Organization.urls),
        selectinload(Organization.identifiers),
        services.options(*_service_loads(True, with_organization=False)) if full_service else services,
        *_location_parts(selectinload(Organization.locations)),
    ]


def organization_record(organization: Organization, nested: bool = True, full_service: bool = False) -> dict:
    """An organization as HSDS nests it; `full_service`: fully nested, its
    services too (as /services/{id} gives them, less the organization)."""
    data = organization_dict(organization, nested=nested or full_service)
    if full_service:
        data["services"] = [
            service_dict(service, nested=True, with_organization=False)
            for service in organization.services
            if service.status == "active"
        ]
    return data


def _with_public_services_having(query: ListQuery):
    """Organizations offering a public service with the term, or with a term of the taxonomy."""
    services = select(Service.organization_id).where(_is_public())
    if query.taxonomy_term_id:
        services = services.where(Service.taxonomy_terms.any(TaxonomyTerm.id == query.taxonomy_term_id))
    if query.taxonomy_id:
        services = services.where(Service.taxonomy_terms.any(TaxonomyTerm.taxonomy_id == query.taxonomy_id))
    return Organization.id.in_(services)


def organization_results(session: Session, query: ListQuery) -> Results:
    """/organizations: published organizations by name. `search` keeps those
    whose name or alternate name holds every word; `taxonomy_term_id` and
    `taxonomy_id` those offering a public service with that term, or a term
    of that taxonomy. Items: one-to-one fields; `full`: fully nested;
    `full_service`: fully nested with fully nested services."""
    words = _words(query.search)
    rows = select(Organization.id, Organization.name, Organization.alternate_name).where(
        Organization.status == "published"
    )
    if query.taxonomy_term_id or query.taxonomy_id:
        rows = rows.where(_with_public_services_having(query))
    matching = sorted(
        (sort_key(name), org_id)
        for org_id, name, alternate_name in session.execute(rows)
        if _holds(words, name, alternate_name)
    )
    nested = query.full or query.full_service

    def load(ids: list[str]) -> list[Organization]:
        loaded = select(Organization).where(Organization.id.in_(ids))
        if nested:
            loaded = loaded.options(*_organization_loads(query.full_service))
        by_id = {org.id: org for org in session.scalars(loaded)}
        return [by_id[org_id] for org_id in ids if org_id in by_id]

    return Results.of_ids([org_id for _, org_id in matching], load,
                          lambda org: organization_record(org, nested, query.full_service))



def get_public_organization(session: Session, organization_id: str, full_service: bool = False) -> Organization | None:
    if not _plausible_id(organization_id):
        return None
    query = (
        select(Organization)
        .where(Organization.id == organization_id, Organization.status == "published")
        .options(*_organization_loads(full_service))
    )
    return session.scalars(query).first()


# ------------------------------------------------ service_at_locations


def _service_at_location_loads(nested: bool) -> list:
    service = selectinload(ServiceAtLocation.service)
    if not nested:
        return [selectinload(ServiceAtLocation.location), service.selectinload(Service.organization)]
    # The service_at_location's own parts: loaded from the root, not through a path.
    own = [
        *_location_parts(selectinload(ServiceAtLocation.location)),
        selectinload(ServiceAtLocation.service_areas),
        selectinload(ServiceAtLocation.schedules),
        *_phones(ServiceAtLocation.phones),
        *_contacts(ServiceAtLocation.contacts),
    ]
    return [*own, service.options(*_service_loads(True))]


def service_at_location_results(session: Session, query: ListQuery, now: datetime | None = None) -> Results:
    """/service_at_locations: where the services /services would give are
    offered, one item per service and location; services in /services'
    order, each one's locations by name. With `postcode`: nearest that
    postal code first, only where the service's areas (when they have a
    GeoJSON extent) hold it, and with `proximity` only within that many
    metres of it. A postal code no listing has is a 400."""
    origin = None
    if query.postcode:
        origin = nearby.locate_postcode(session, query.postcode)
        if origin is None:
            raise InvalidQuery(
                f"postcode {query.postcode} cannot be located: no address in the directory has it",
                parameter="postcode",
            )
    selection = select_services(session, query, now)
    rank = {service_id: i for i, service_id in enumerate(selection.all_ids())}
    rows = session.execute(
        select(ServiceAtLocation.id, ServiceAtLocation.service_id, ServiceAtLocation.location_id, Location.name,
               Location.latitude, Location.longitude, Location.confidential)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(_is_public())
    ).all()
    rows = _public_points(session, [row for row in rows if row.service_id in rank])
    if origin is not None:
        rows = _near_postcode(session, rows, origin, query.proximity_m)
        matching = sorted(
            (row.latitude is None, nearby.estimate_m(origin, row.latitude, row.longitude) if row.latitude is not None
             else 0.0, rank[row.service_id], sort_key(row.name or ""), row.id)
            for row in rows
        )
    else:
        matching = sorted((rank[row.service_id], sort_key(row.name or ""), row.id) for row in rows)

    def load(ids: list[str]) -> list[ServiceAtLocation]:
        loaded = select(ServiceAtLocation).where(ServiceAtLocation.id.in_(ids))
        by_id = {sal.id: sal for sal in session.scalars(loaded.options(*_service_at_location_loads(query.full)))}
        return [by_id[sal_id] for sal_id in ids if sal_id in by_id]

    return Results.of_ids([key[-1] for key in matching], load,
                          lambda sal: service_at_location_dict(sal, nested=query.full, with_service=True))


class _Placed(NamedTuple):
    id: str
    service_id: str
    name: str | None
    latitude: float | None
    longitude: float | None


def _public_points(session: Session, rows: list) -> list[_Placed]:
    """The rows with a confidential location at its town: distances and
    `proximity` measured from its own point would give that point away."""
    towns = confidential.town_points(session, (row.location_id for row in rows if row.confidential))
    return [
        _Placed(row.id, row.service_id, row.name, *towns.get(row.location_id, (None, None)))
        if row.confidential else _Placed(row.id, row.service_id, row.name, row.latitude, row.longitude)
        for row in rows
    ]


def _near_postcode(session: Session, rows: list, origin: nearby.Point, proximity_m: float | None) -> list:
    """The rows whose service areas (their own or their service's) hold the
    postal code, when any area can tell; within `proximity_m` of it when given."""
    verdicts: dict[str, list[bool]] = {}  # service or service_at_location id -> what its areas say
    areas = select(ServiceArea.service_id, ServiceArea.service_at_location_id, ServiceArea.extent,
                   ServiceArea.extent_type).where(ServiceArea.extent.is_not(None))
    for service_id, sal_id, extent, extent_type in session.execute(areas):
        holds = nearby.area_holds(extent, extent_type, origin)
        if holds is not None:
            verdicts.setdefault(sal_id or service_id, []).append(holds)
    kept = []
    for row in rows:
        said = verdicts.get(row.id, []) + verdicts.get(row.service_id, [])
        if said and not any(said):
            continue
        if proximity_m is not None and not nearby.within_m(origin, row.latitude, row.longitude, proximity_m):
            continue
        kept.append(row)
    return kept



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


# ----------------------------------------------------------- taxonomies


def get_taxonomy(session: Session, taxonomy_id: str) -> Taxonomy | None:
    return session.get(Taxonomy, taxonomy_id) if _plausible_id(taxonomy_id) else None


def get_taxonomy_term(session: Session, term_id: str) -> TaxonomyTerm | None:
    if not _plausible_id(term_id):
        return None
    query = select(TaxonomyTerm).where(TaxonomyTerm.id == term_id)
    return session.scalars(query.options(selectinload(TaxonomyTerm.taxonomy))).first()


def _keyset_rows(session: Session, statement, keys: list) -> Iterator:
    """The rows of `statement`, whose first columns are `keys` (its order),
    read CHUNK_SIZE at a time, each read starting after the last key seen:
    no cursor stays open between reads, and memory holds one chunk."""
    last = None
    while True:
        page = statement if last is None else statement.where(tuple_(*keys) > tuple_(*last))
        rows = session.execute(page.order_by(*keys).limit(CHUNK_SIZE)).all()
        yield from rows
        if len(rows) < CHUNK_SIZE:
            return
        last = tuple(rows[-1])[: len(keys)]


def taxonomy_results(session: Session, query: ListQuery) -> ScannedResults:
    """/taxonomies by name; `search`: every word in the name or description."""
    words = _words(query.search)

    keys = [Taxonomy.name, Taxonomy.id]

    def ordered_ids() -> Iterator[str]:
        rows = _keyset_rows(session, select(*keys, Taxonomy.description), keys)
        return (row.id for row in rows if _holds(words, row.name, row.description))

    def load(ids: list[str]) -> list[Taxonomy]:
        by_id = {t.id: t for t in session.scalars(select(Taxonomy).where(Taxonomy.id.in_(ids)))}
        return [by_id[i] for i in ids if i in by_id]

    return ScannedResults(ordered_ids, load, taxonomy_dict)


def taxonomy_term_results(session: Session, query: ListQuery) -> ScannedResults:
    """/taxonomy_terms in their vocabulary's order. `taxonomy_id`: one
    vocabulary; `parent_id`: the children of a term; `top_only`: terms
    without a parent; `search`: every word in the code, name, description or
    a label of the term in any language. An unknown id has no terms."""
    words = _words(query.search)
    labels: dict[str, list[str]] = {}
    if words:
        for term_id, name in session.execute(select(TaxonomyTermLabel.term_id, TaxonomyTermLabel.name)):
            labels.setdefault(term_id, []).append(name)
    # The vocabulary's order; the taxonomy's code is labelled apart from the term's.
    keys = [Taxonomy.code, TaxonomyTerm.position, TaxonomyTerm.code, TaxonomyTerm.id]
    rows = (
        select(Taxonomy.code.label("taxonomy_code"), *keys[1:], TaxonomyTerm.name, TaxonomyTerm.description)
        .select_from(TaxonomyTerm)
        .join(Taxonomy, Taxonomy.id == TaxonomyTerm.taxonomy_id)
    )
    if query.taxonomy_id:
        rows = rows.where(TaxonomyTerm.taxonomy_id == query.taxonomy_id)
    if query.parent_id:
        rows = rows.where(TaxonomyTerm.parent_id == query.parent_id)
    if query.top_only:
        rows = rows.where(TaxonomyTerm.parent_id.is_(None))

    def ordered_ids() -> Iterator[str]:
        return (
            row.id for row in _keyset_rows(session, rows, keys)
            if _holds(words, row.code, row.name, row.description, *labels.get(row.id, ()))
        )

    def load(ids: list[str]) -> list[TaxonomyTerm]:
        loaded = select(TaxonomyTerm).where(TaxonomyTerm.id.in_(ids)).options(selectinload(TaxonomyTerm.taxonomy))
        by_id = {t.id: t for t in session.scalars(loaded)}
        return [by_id[i] for i in ids if i in by_id]

    return ScannedResults(ordered_ids, load, taxonomy_term_dict)

