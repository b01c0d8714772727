"""The parts of a bulk import (bulk.py) that are more than rows of their
table: a service's links to taxonomy terms (the attribute file); the
coordinates a package states, which go with the address they were found
for, and the changed addresses without them, geocoded as any saved address
is; and services' last_modified, which moves with what HSDS nests in them
(directory/change_tracking.py does it for ORM writes, bulk writes here)."""

from __future__ import annotations

from collections import defaultdict
from hashlib import sha1
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import selectinload

from .. import change_tracking
from ..geocoding import address_query, locate_changed_addresses
from ..models import Address, Contact, Location, Phone, Service, ServiceAtLocation, service_taxonomy_term, utcnow
from .mapping import ATTRIBUTE_NAMESPACE, same_value, tables

STT = service_taxonomy_term
# Kinds of records change_tracking follows into the services that hold them.
KINDS = {Service: "service", ServiceAtLocation: "service_at_location", Contact: "contact", Phone: "phone",
         **{model: kind for model, (kind, _deleted) in change_tracking.NESTED.items()}}

ADDRESS_QUERY_ATTRS = ("id", "location_id", "address_type", "address_1", "city", "municipality",
                       "postal_code", "country")


def pair_id(service_id: str, term_id: str) -> str:
    """mapping.attribute_id (a uuid5 of the pair), a few times faster: a
    large package names it for every one of its attributes."""
    digest = bytearray(sha1(ATTRIBUTE_NAMESPACE.bytes + f"{service_id}:{term_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Parts:
    """BulkWriter's methods for links, locations and last_modified (it gives
    `chunks`, `among`, `read`, `count`, `insert`, `run`, `connection`,
    `session`, `valid`, `x_rows`)."""

    # ------------------------------------------------------------------ links to terms

    def write_links(self) -> None:
        """Each service the package lists gets exactly the terms its
        attributes name (a service only named by attributes keeps its others)."""
        count = self.count("attribute")
        attrs = [(c.name, c.attr) for c in tables()["attribute"].columns
                 if c.held and c.attr in STT.c and c.attr not in ("service_id", "taxonomy_term_id")]
        wanted: dict[str, dict[str, dict[str, Any]]] = {}
        for _number, values in self.valid.get("attribute", []):
            if values.get("link_entity") != "service":
                continue
            service_id, term_id = values["link_id"], values["taxonomy_term_id"]
            link = {attr: values.get(name) for name, attr in attrs}
            if link.get("id") is not None and link["id"] == pair_id(service_id, term_id):
                link["id"] = None  # the id derived from the pair: not kept twice
            wanted.setdefault(service_id, {}).setdefault(term_id, link)
        listed = {values["id"] for _n, values in self.valid.get("service", [])}
        for service_id in listed:
            wanted.setdefault(service_id, {})
        for chunk in self.chunks(sorted(wanted)):
            current: dict[str, dict[str, Any]] = defaultdict(dict)
            for row in self.read(select(STT).where(self.among(STT.c.service_id, chunk))):
                current[row["service_id"]][row["taxonomy_term_id"]] = row
            new, gone, changed = [], [], defaultdict(list)
            for service_id in chunk:
                have, want = current.get(service_id, {}), wanted[service_id]
                for term_id, link in want.items():
                    old = have.get(term_id)
                    if old is None:
                        new.append({**dict.fromkeys(STT.c.keys()), **link,
                                    "service_id": service_id, "taxonomy_term_id": term_id})
                        continue
                    difference = {a: v for a, v in link.items() if not same_value(old[a], v)}
                    if difference:
                        count.updated += 1
                        changed[frozenset(difference)].append(
                            {"k_service_id": service_id, "k_taxonomy_term_id": term_id, **difference})
                    else:
                        count.unchanged += 1
                for term_id in have.keys() - want.keys():
                    if service_id in listed:
                        gone.append({"k_service_id": service_id, "k_taxonomy_term_id": term_id})
                    else:
                        count.unchanged += 1
            count.created += len(new)
            count.removed += len(gone)
            self.write_link_rows(new, gone, changed)
            self.services.update(row["k_service_id"] for row in gone)
            self.services.update(row["service_id"] for row in new)
            self.anchors.update(("service", service_id) for service_id in {
                *(row["k_service_id"] for row in gone), *(row["service_id"] for row in new),
                *(row["k_service_id"] for rows in changed.values() for row in rows)})
        self.done += len(self.valid.get("attribute", []))

    def write_link_rows(self, new, gone, changed) -> None:
        where = (STT.c.service_id == bindparam("k_service_id", type_=STT.c.service_id.type),
                 STT.c.taxonomy_term_id == bindparam("k_taxonomy_term_id", type_=STT.c.taxonomy_term_id.type))
        if gone:
            self.run(("delete", STT.name), lambda: STT.delete().where(*where), gone)
        self.insert(STT, new)
        for attrs, params in changed.items():
            self.run(("update", STT.name, attrs), lambda attrs=attrs: STT.update().where(*where).values(
                {STT.c[a]: bindparam(a, type_=STT.c[a].type) for a in attrs}), params)

    # ------------------------------------------------------------------ locations

    def physical_addresses(self, rows) -> dict[str, dict[str, Any] | None]:
        """Each location's physical address as it will be after this import
        (for locations whose coordinates the package states): the geocoded
        query that goes with those coordinates."""
        locations = sorted(values["id"] for _n, values in rows if values.get("latitude") is not None)
        if not locations:
            return {}
        columns = [Address.__table__.c[a] for a in ADDRESS_QUERY_ATTRS]
        by_location: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        known: dict[str, dict[str, Any]] = {}
        for chunk in self.chunks(locations):
            for row in self.read(select(*columns).where(self.among(Address.location_id, chunk))):
                known[row["id"]] = by_location[row["location_id"]][row["id"]] = dict(row)
        address_rows = self.valid.get("address", [])
        for chunk in self.chunks(sorted(values["id"] for _n, values in address_rows)):
            for row in self.read(select(*columns).where(self.among(Address.id, chunk))):
                known.setdefault(row["id"], dict(row))
        own = [(c.name, c.attr) for c in tables()["address"].columns if c.held and c.attr in ADDRESS_QUERY_ATTRS]
        for _number, values in address_rows:
            old = known.get(values["id"])
            attrs = dict(old or {}, **{attr: values.get(name) for name, attr in own})
            attrs["address_type"] = attrs.get("address_type") or (old or {}).get("address_type") or "physical"
            if old is not None and old["location_id"] != attrs["location_id"]:
                by_location[old["location_id"]].pop(values["id"], None)
            by_location[attrs["location_id"]][values["id"]] = attrs
        physical = {}
        for location_id in locations:
            addresses = list(by_location.get(location_id, {}).values())
            physical[location_id] = next((a for a in addresses if a["address_type"] == "physical"),
                                         addresses[0] if addresses else None)
        return physical

    def coordinates(self, values: dict[str, Any], plain: dict[str, Any], old) -> None:
        """Stated coordinates with the address they belong to (the geocoder
        then leaves them alone); none stated: the address is geocoded."""
        latitude, longitude = plain.pop("latitude", None), plain.pop("longitude", None)
        precision = plain.pop("geocode_precision", None)
        if latitude is None:
            return
        if values["id"] not in self.x_rows.get("x_location", {}):
            # Another publisher's coordinates: as exact as they say, unless they did not move.
            moved = old is None or (old["latitude"], old["longitude"]) != (latitude, longitude)
            precision = None if moved else old["geocode_precision"]
        address = self.physical.get(values["id"])
        plain.update(latitude=latitude, longitude=longitude, geocode_precision=precision,
                     geocoded_query=address_query(SimpleNamespace(**address)) if address else None)
        self.stated_coordinates.add(values["id"])

    def geocode(self) -> None:
        """Locations of the package's addresses whose address changed since
        they were located, and whose coordinates the package does not state:
        geocoded as any saved address is (one call, ORM objects for them only)."""
        candidates = sorted({values.get("location_id") for _n, values in self.valid.get("address", [])}
                            - self.stated_coordinates - {None})
        columns = [Address.__table__.c[a] for a in ADDRESS_QUERY_ATTRS]
        changed = []
        for chunk in self.chunks(candidates):
            located = dict(self.connection.execute(
                select(Location.id, Location.geocoded_query).where(self.among(Location.id, chunk))).all())
            addresses: dict[str, list] = defaultdict(list)
            for row in self.read(select(*columns).where(self.among(Address.location_id, chunk))):
                addresses[row["location_id"]].append(row)
            for location_id, rows in addresses.items():
                physical = next((r for r in rows if r["address_type"] == "physical"), rows[0])
                if located.get(location_id) != address_query(SimpleNamespace(**physical)):
                    changed.append(location_id)
        if not changed:
            return
        # Location writes only move search_state: its triggers may run, suspended or not.
        objects = []
        for chunk in self.chunks(changed):
            objects += self.session.scalars(select(Address).where(Address.location_id.in_(chunk)).options(
                selectinload(Address.location).selectinload(Location.addresses))).all()
        for location in locate_changed_addresses(self.session, objects):
            self.expected_versions["location"].pop(location.id, None)  # the geocoder's save moved it on
        self.session.flush()

    # ------------------------------------------------------------------ last_modified

    def track(self, model: type, key: Any, plain: dict[str, Any], old, difference=None) -> None:
        """Note the records whose services this row's writing changes (as
        change_tracking's before_flush does for the ORM)."""
        kind = KINDS.get(model)
        if model is Service:
            self.stamped.add(key)  # a new or changed service has its own time already
        elif model in change_tracking.OWNED_BY:
            for attr, owner in change_tracking.OWNED_BY[model].items():
                for value in (plain.get(attr), old.get(attr) if old is not None else None):
                    if value is not None and value not in self.created[owner]:  # owners are written first
                        self.anchors.add((owner, value))
        if kind is None:
            return
        if old is None:
            self.created[kind].add(key)
        elif model in change_tracking.NESTED and set(difference) - change_tracking.IGNORED_COLUMNS:
            self.anchors.add((kind, key))

    def stamp_services(self) -> None:
        """Services whose record changed through what it holds get now as
        their updated_at, unless the package states theirs. What points to
        a record made by this import is left out: whatever links that record
        to an older service is itself a new or changed row, and counted."""
        anchors = {(kind, id_) for kind, id_ in self.anchors if id_ not in self.created[kind]}
        if not anchors:
            return
        services = sorted(change_tracking.services_of(self.session, anchors) - self.stamped - self.pinned)
        now = utcnow()
        for chunk in self.chunks(services):
            self.before_write()
            self.connection.execute(update(Service.__table__).where(self.among(Service.id, chunk))
                                    .values(updated_at=now))
