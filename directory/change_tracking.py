"""A service's `updated_at` (HSDS `last_modified`, the /api/ change feed's
`modified_after`) moves whenever its HSDS record changes: the service, or
anything HSDS nests under it.

HSDS: last_modified is "the datetime when the service, or any related
information about the service, has changed". A service's record holds its
phones, schedules, contacts, languages, required documents, urls,
capacities, cost options and service areas, its service_at_locations with
their own phones, schedules, contacts and areas, the locations those point
to with their addresses, phones, schedules, languages, accessibility and
contacts, its organization's fields and registration numbers, and its
taxonomy terms. One `before_flush` listener on the app's session finds,
for every new, changed or deleted object of those kinds, the services whose
record it is part of, and sets their `updated_at` with one UPDATE (per 500
ids). Services nothing touched keep theirs. A flush that sets a service's
`updated_at` itself (an import carrying the publisher's last_modified) is
obeyed for the rest of that transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from flask import Flask
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import RelationshipDirection, Session, attributes
from sqlalchemy.orm.base import instance_state

from .extensions import db
from .models import (
    Accessibility,
    Address,
    Contact,
    CostOption,
    Language,
    Location,
    Organization,
    OrganizationIdentifier,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceCapacity,
    ServiceTermLink,
    Taxonomy,
    TaxonomyTerm,
    Unit,
    Url,
    service_taxonomy_term,
    utcnow,
)

# Records that belong to their owners: each foreign key leads to the kind
# of record it names. (An organization's own phones, contacts and urls are
# not part of its services' records; its registration numbers are, in a
# fully nested service's organization: hsds/records.py.)
OWNED_BY: dict[type, dict[str, str]] = {
    Phone: {"service_id": "service", "service_at_location_id": "service_at_location",
            "location_id": "location", "contact_id": "contact"},
    Schedule: {"service_id": "service", "service_at_location_id": "service_at_location", "location_id": "location"},
    Contact: {"service_id": "service", "service_at_location_id": "service_at_location", "location_id": "location"},
    Language: {"service_id": "service", "location_id": "location", "phone_id": "phone"},
    RequiredDocument: {"service_id": "service"},
    Url: {"service_id": "service"},
    ServiceCapacity: {"service_id": "service"},
    CostOption: {"service_id": "service"},
    OrganizationIdentifier: {"organization_id": "organization"},
    ServiceArea: {"service_id": "service", "service_at_location_id": "service_at_location"},
    ServiceAtLocation: {"service_id": "service"},
    ServiceTermLink: {"service_id": "service"},  # usually written through Service.taxonomy_terms
    Address: {"location_id": "location"},
    Accessibility: {"location_id": "location"},
}
# Records nested in services whose own fields count: (kind, whether its
# deletion changes the services it was in; an organization takes its
# services along).
NESTED: dict[type, tuple[str, bool]] = {
    Location: ("location", True),
    Organization: ("organization", False),
    TaxonomyTerm: ("taxonomy_term", True),
    Taxonomy: ("taxonomy", True),
    Unit: ("unit", True),
}
# Bookkeeping columns that are no fact of the record.
IGNORED_COLUMNS = frozenset({"version", "updated_at", "created_at"})
CHUNK = 500
_PINNED = "change_tracking.pinned_service_ids"


def init_app(app: Flask) -> None:
    """Listen on the app's session, once per process (db.session is one
    scoped session whatever the number of apps)."""
    if not event.contains(db.session, "before_flush", bump_changed_services):
        event.listen(db.session, "before_flush", bump_changed_services)
        event.listen(db.session, "after_transaction_end", _forget_pins)


def bump_changed_services(session: Session, flush_context, instances) -> None:
    """before_flush: set `updated_at` of every service whose record this flush changes."""
    pinned: set[str] = session.info.setdefault(_PINNED, set())
    anchors: set[tuple[str, str]] = set()
    skip: set[str] = set()
    for obj in session.new:
        if isinstance(obj, Service):
            _note_service(obj, pinned, skip)
        elif type(obj) in OWNED_BY:
            anchors.update(_owners(obj))
    for obj in session.deleted:
        if isinstance(obj, Service):
            skip.add(instance_state(obj).identity[0])
        elif type(obj) in OWNED_BY:
            anchors.update(_owners(obj))
        elif type(obj) in NESTED and NESTED[type(obj)][1]:
            anchors.add((NESTED[type(obj)][0], instance_state(obj).identity[0]))
    for obj in session.dirty:
        kind = type(obj)
        if kind is Service:
            _note_service(obj, pinned, skip)
            if _columns_changed(obj) or attributes.get_history(obj, "taxonomy_terms").has_changes():
                anchors.add(("service", instance_state(obj).identity[0]))
        elif kind in OWNED_BY and session.is_modified(obj):
            anchors.update(_owners(obj))
        elif kind in NESTED and _columns_changed(obj):
            anchors.add((NESTED[kind][0], instance_state(obj).identity[0]))
    if not anchors:
        return
    service_ids = services_of(session, anchors) - pinned - skip
    if service_ids:
        _bump(session, sorted(service_ids))


def _note_service(service: Service, pinned: set[str], skip: set[str]) -> None:
    """A service new to this flush keeps its default; one whose updated_at
    the flush sets keeps that value for the rest of the transaction."""
    state = instance_state(service)
    if state.key is None:
        if service.id:
            skip.add(service.id)
        return
    if attributes.get_history(service, "updated_at").added:
        pinned.add(state.identity[0])


def _columns_changed(obj) -> bool:
    state = inspect(obj)
    return any(
        state.attrs[column.key].history.has_changes()
        for column in state.mapper.column_attrs
        if column.key not in IGNORED_COLUMNS
    )


def _owners(obj, seen: set[int] | None = None) -> Iterator[tuple[str, str]]:
    """(kind, id) of each record `obj` belongs to, before and after this
    flush: its foreign keys' old and new values, and the records its
    many-to-one relationships point to (a new one: what that belongs to)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    state = inspect(obj)
    kinds = OWNED_BY.get(type(obj), {})
    for key, kind in kinds.items():
        for value in _values(state, key):
            if isinstance(value, str):
                yield kind, value
    for relationship in state.mapper.relationships:
        if relationship.direction is not RelationshipDirection.MANYTOONE:
            continue
        kind = next((kinds[c.key] for c in relationship.local_columns if c.key in kinds), None)
        if kind is None:
            continue
        history = state.attrs[relationship.key].history
        for other in (*history.added, *history.unchanged, *history.deleted):
            if other is None or not hasattr(other, "_sa_instance_state"):
                continue
            other_state = instance_state(other)
            if other_state.key is not None:
                yield kind, other_state.identity[0]
            elif type(other) in OWNED_BY:  # a new contact, phone or location: whose is it?
                yield from _owners(other, seen)


def _values(state, key: str) -> Iterable:
    """A column's value before and after the flush; loaded if it was expired."""
    history = state.attrs[key].history
    values = (*history.added, *history.unchanged, *history.deleted)
    if not values and state.key is not None and key not in state.dict:
        values = (getattr(state.obj(), key),)
    return values


def services_of(session: Session, anchors: set[tuple[str, str]]) -> set[str]:
    """The services whose records hold these records (read as the database
    has them before the flush; new links come as their own objects)."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, record_id in anchors:
        by_kind[kind].add(record_id)

    def fetch(columns, where_column, ids) -> list:
        rows = []
        for chunk in _chunks(sorted(ids)):
            rows += session.execute(select(*columns).where(where_column.in_(chunk))).all()
        return rows

    # Phones and contacts belong to services, service_at_locations or locations.
    for owner_kind, model in (("phone", Phone), ("contact", Contact)):
        if by_kind[owner_kind]:
            owners = OWNED_BY[model]
            columns = [getattr(model, key) for key in owners]
            for row in fetch(columns, model.id, by_kind[owner_kind]):
                for kind, value in zip(owners.values(), row, strict=True):
                    if value is not None:
                        by_kind[kind].add(value)
    if by_kind["taxonomy"]:
        by_kind["taxonomy_term"].update(
            row[0] for row in fetch([TaxonomyTerm.id], TaxonomyTerm.taxonomy_id, by_kind["taxonomy"]))
    links = service_taxonomy_term.c
    routes = (
        ("service_at_location", [ServiceAtLocation.service_id], ServiceAtLocation.id),
        ("location", [ServiceAtLocation.service_id], ServiceAtLocation.location_id),
        ("organization", [Service.id], Service.organization_id),
        ("taxonomy_term", [links.service_id], links.taxonomy_term_id),
        ("unit", [ServiceCapacity.service_id], ServiceCapacity.unit_id),
    )
    services = set(by_kind["service"])
    for kind, columns, where_column in routes:
        if by_kind[kind]:
            services.update(row[0] for row in fetch(columns, where_column, by_kind[kind]))
    return services


def _bump(session: Session, service_ids: list[str]) -> None:
    """One UPDATE per chunk, beside the ORM: the services' versions (their
    edit forms' optimistic locks) stay, and loaded ones see the new time."""
    now = utcnow()
    table = Service.__table__
    for chunk in _chunks(service_ids):
        session.execute(update(table).where(table.c.id.in_(chunk)).values(updated_at=now))
    for service_id in service_ids:
        loaded = session.identity_map.get(session.identity_key(Service, service_id))
        if loaded is not None:
            attributes.set_committed_value(loaded, "updated_at", now)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _forget_pins(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PINNED, None)
