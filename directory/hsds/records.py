"""HSDS objects as the API answers them. Each object's own fields are its
row of the one mapping (`mapping.hsds_row`, the same values the export
writes), as JSON values; its children are nested as HSDS 3.1 nests them.

HSDS fields are never null: a value the directory does not hold is left
out, except the strings an object's JSON schema requires (an address's
postal code, an organization's description), which are "" rather than a
guess. Times are local to the place unless the schedule's `timezone` says
otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import cache
from typing import Any

from ..confidential import public_location
from ..models import (
    Contact,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    ServiceCapacity,
    ServiceTermLink,
    Taxonomy,
    TaxonomyTerm,
)
from .mapping import API_VERSION, HSDS_DIR, HSDS_VERSION, _utc, hsds_row

# The HSDS profile this API serves: the base specification's schemas (the
# specification's Profiles reference names them as HSDS's canonical address).
PROFILE = "https://github.com/openreferral/specification/tree/3.1/schema"


@cache
def _required_strings(table: str) -> frozenset[str]:
    """The string properties an object's JSON schema requires."""
    schema = json.loads((HSDS_DIR / f"{table}.json").read_text(encoding="utf-8"))
    return frozenset(
        name for name in schema.get("required", [])
        if schema["properties"].get(name, {}).get("type") == "string"
    )


def json_value(value: Any) -> Any:
    """A mapping value as JSON: dates and times in ISO 8601, times of day
    to the second, datetimes in UTC."""
    if isinstance(value, datetime):
        return _utc(value).isoformat(timespec="milliseconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def fields(table: str, record: Any) -> dict[str, Any]:
    """One object's own HSDS fields."""
    data = {name: json_value(value) for name, value in hsds_row(table, record).items() if value is not None}
    for name in _required_strings(table):
        data.setdefault(name, "")
    return data


def _by_id(records) -> list:
    """Nested lists in a fixed order: the database returns unordered
    collections in whatever order its pages hold them, and the same record
    must read the same in a list and on its own."""
    return sorted(records, key=lambda record: record.id)


def _many(table: str, records) -> list[dict[str, Any]]:
    return [fields(table, record) for record in _by_id(records)]


def phone_dict(phone: Phone) -> dict:
    return {**fields("phone", phone), "languages": _many("language", phone.languages)}


def _phones(phones) -> list[dict]:
    return [phone_dict(phone) for phone in _by_id(phones)]


def contact_dict(contact: Contact) -> dict:
    return {**fields("contact", contact), "phones": _phones(contact.phones)}


def _contacts(contacts) -> list[dict]:
    return [contact_dict(contact) for contact in _by_id(contacts)]


def taxonomy_dict(taxonomy: Taxonomy) -> dict:
    return fields("taxonomy", taxonomy)


def taxonomy_term_dict(term: TaxonomyTerm) -> dict:
    """The term's name is in `language` (the directory's own terms: Latvian;
    their names in other languages stay on the website)."""
    data = fields("taxonomy_term", term)
    if term.taxonomy is not None:
        data["taxonomy_detail"] = taxonomy_dict(term.taxonomy)
    return data


def attribute_dict(link: ServiceTermLink) -> dict:
    """A service's link to a taxonomy term."""
    return {**fields("attribute", link), "taxonomy_term": taxonomy_term_dict(link.term)}


def capacity_dict(capacity: ServiceCapacity) -> dict:
    return {**fields("service_capacity", capacity), "unit": fields("unit", capacity.unit)}


def location_dict(location: Location, nested: bool = True) -> dict:
    """Coordinates are what geocoding found: for an address without a street
    that is the town (or the municipality's town), as on the website's map.
    A confidential location has its town's coordinates and addresses without
    street or postal code (directory/confidential.py): the API is public.
    Not `nested`: the one-to-one fields only."""
    location = public_location(location)
    data = fields("location", location)
    if not nested:
        return data
    data.update(
        addresses=_many("address", location.addresses),
        phones=_phones(location.phones),
        schedules=_many("schedule", location.schedules),
        languages=_many("language", location.languages),
        accessibility=_many("accessibility", location.accessibility),
        contacts=_contacts(location.contacts),
    )
    return data


def service_at_location_dict(sal: ServiceAtLocation, nested: bool = True, with_service: bool = False) -> dict:
    """An HSDS service_at_location with its location, fully nested or (not
    `nested`) its one-to-one fields only; `with_service` adds the service
    (HSDS's list shape has it): as /services/{id} gives it, or as a
    /services list item."""
    data = fields("service_at_location", sal)
    data["location"] = location_dict(sal.location, nested=nested)
    if nested:
        data.update(
            service_areas=_many("service_area", sal.service_areas),
            contacts=_contacts(sal.contacts),
            phones=_phones(sal.phones),
            schedules=_many("schedule", sal.schedules),
        )
    if with_service:
        data["service"] = service_dict(sal.service, nested=nested)
    return data


def service_dict(service: Service, nested: bool = True, with_organization: bool = True) -> dict:
    """An HSDS service: one-to-one fields (the list shape), and with `nested`
    everything HSDS nests in a service that the directory holds."""
    data = fields("service", service)
    if with_organization:
        # Fully nested: with the organization's registration numbers, which
        # a social worker checks a provider by (its one-to-one fields otherwise).
        data["organization"] = organization_dict(service.organization, with_identifiers=nested)
    if nested:
        data.update(
            additional_urls=_many("url", service.urls),
            service_at_locations=[service_at_location_dict(sal) for sal in _by_id(service.service_at_locations)],
            schedules=_many("schedule", service.schedules),
            service_areas=_many("service_area", service.service_areas),
            phones=_phones(service.phones),
            contacts=_contacts(service.contacts),
            languages=_many("language", service.languages),
            required_documents=[fields("required_document", document) for document in service.required_documents],
            # In the service's own order (its position), as the website lists them.
            cost_options=[fields("cost_option", option) for option in service.cost_options],
            capacities=[capacity_dict(capacity) for capacity in _by_id(service.capacities)],
            attributes=[attribute_dict(link) for link in sorted(
                service.term_links, key=lambda link: (link.term.position, link.taxonomy_term_id))],
        )
    return data


def organization_dict(org: Organization, nested: bool = False, with_identifiers: bool = False) -> dict:
    """An HSDS organization; with `nested` its registration numbers,
    websites, phones, contacts, locations and (not an HSDS field) its active
    services in the list shape; `with_identifiers`: its registration numbers
    only (in a fully nested service)."""
    data = fields("organization", org)
    if nested or with_identifiers:
        data["organization_identifiers"] = [fields("organization_identifier", identifier)
                                            for identifier in org.identifiers]
    if nested:
        data.update(
            additional_websites=_many("url", org.urls),
            phones=_phones(org.phones),
            contacts=_contacts(org.contacts),
            locations=[location_dict(location) for location in org.locations],
            services=[
                service_dict(s, nested=False, with_organization=False)
                for s in org.services
                if s.status == "active"
            ],
        )
    return data


def api_info(openapi_url: str, links: Mapping[str, str], publisher: Mapping[str, Any] | None = None) -> dict:
    """GET /api/: HSDS's meta information (version, profile), the publisher,
    this API's own version and links."""
    info = {
        "version": HSDS_VERSION,
        "profile": PROFILE,
        "api_version": API_VERSION,
        "openapi_url": openapi_url,
        "links": dict(links),
    }
    if publisher is not None:
        info["publisher"] = dict(publisher)
    return info
