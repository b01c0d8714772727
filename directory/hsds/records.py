"""HSDS objects as the API answers them, nested as the specification nests them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from typing import Any

from ..models import (
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
from .mapping import API_VERSION, ATTRIBUTE_NAMESPACE, HSDS_VERSION, fees_description

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
    """HSDS 3.1 links a service to a taxonomy term through an attribute;
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


