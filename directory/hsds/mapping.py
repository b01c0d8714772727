"""The one mapping between HSDS tables and the directory's models: which column is held where, what is derived, what travels in x_ files."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import list_currencies
from flask_babel import lazy_gettext as _l

from .. import municipalities
from ..administration import TERM_CODE
from ..gazetteer import fold
from ..models import (
    SERVICE_STATUSES,
    WEEKDAYS,
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
    SourceDocument,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
    Unit,
    Url,
    service_taxonomy_term,
)

HSDS_VERSION = "3.1"
API_VERSION = "1.0.0"
HSDS_DIR = Path(__file__).resolve().parent / "schema"
DESCRIPTOR_NAME = "datapackage.json"
JSON_NAME = "directory.json"
# Ids of the attribute rows for a service's link to a term that no publisher
# gave an id: derived from the pair, so they stay the same between requests,
# exports and re-imports. Never change it.
ATTRIBUTE_NAMESPACE = uuid.UUID("0d6f9a52-3c1e-4b7a-9e55-7c2f0b6d8e14")
# The language of a taxonomy term's `name` when the term does not say (the
# directory's own terms: Latvian; the others are in x_taxonomy_term_labels.csv).
TERM_NAME_LANGUAGE = "lv"
GEOCODE_PRECISIONS = ("address", "street", "town", "approximate")
ORGANIZATION_STATUSES = ("published", "pending")
# Said for a service whose listing only has the free-of-charge flag.
FREE_TEXT = {"lv": ("Bez maksas.", "Par maksu."), "lt": ("Nemokamai.", "Mokama.")}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives stored UTC times back without their zone
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def same_value(held: Any, given: Any) -> bool:
    """Whether a value read from the database equals one from a package:
    SQLite hands stored UTC times back without their zone, and a package's
    times (Table Schema's datetime) are whole seconds."""
    if isinstance(held, datetime) and isinstance(given, datetime):
        return _utc(held).replace(microsecond=0) == _utc(given).replace(microsecond=0)
    return held == given


def attribute_id(service_id: str, term_id: str) -> str:
    return str(uuid.uuid5(ATTRIBUTE_NAMESPACE, f"{service_id}:{term_id}"))


def fees_description(service: Service) -> str | None:
    """The listing's own words; else what its free-of-charge flag says, in
    the organization's language; else nothing."""
    if service.fees_description:
        return service.fees_description
    if service.free_of_charge is None:
        return None
    free, paid = FREE_TEXT.get(service.organization.text_language, FREE_TEXT["lv"])
    return free if service.free_of_charge else paid


# A service area that is a country or a municipality (ServiceArea.area_code)
# is named, for other publishers, by its ISO 3166 code's page at ISO.
AREA_URI = "https://www.iso.org/obp/ui/#iso:code:3166:{code}"
AREA_URI_FORM = re.compile(r"^https?://(?:www\.)?iso\.org/obp/ui/?#iso:code:3166:([A-Za-z]{2}(?:-[A-Za-z0-9]{1,3})?)/?$")


def coded_area_name(code: str | None) -> str | None:
    """A municipality's official name, or a country's English name (HSDS
    text is the listing's own, not translated); None for no known code."""
    municipality = municipalities.get(code)
    if municipality is not None:
        return municipality.name
    if code in municipalities.COUNTRY_CODES:
        return Locale("en").territories[code]
    return None


def coded_area_uri(code: str | None) -> str | None:
    return AREA_URI.format(code=code) if municipalities.is_area_code(code) else None


def area_name(area: ServiceArea) -> str | None:
    """What the area is called: its own words, else its code's name."""
    return area.name or coded_area_name(area.area_code)


def area_uri(area: ServiceArea) -> str | None:
    return area.uri or coded_area_uri(area.area_code)


@cache
def _country_names() -> dict[str, str]:
    """Folded names of the countries areas may be ("latvia", "latvija", "lv"…) → code."""
    names = {code.lower(): code for code in municipalities.COUNTRY_CODES}
    for language in ("en", "lv", "lt", "ru", "et", "pl", "de"):
        territories = Locale(language).territories
        for code in municipalities.COUNTRY_CODES:
            names.setdefault(fold(territories[code]), code)
    return names


def recognised_area_code(name: str | None, uri: str | None) -> str | None:
    """The country or municipality another publisher's area is: an ISO 3166
    page as `uri` (as the export writes it), else a `name` that says a
    municipality ("Zarasų r. sav.", "LV-111") or a country ("Latvia", "LT").
    None: an area described otherwise (kept as it is, without a code)."""
    found = AREA_URI_FORM.match((uri or "").strip())
    if found and municipalities.is_area_code(found.group(1).upper()):
        return found.group(1).upper()
    text = (name or "").strip()
    if not text or len(text) > 200:
        return None
    country = _country_names().get(fold(text))
    if country is not None:
        return country
    municipality = municipalities.find_by_name(text)
    return municipality.code if municipality is not None else None



# ------------------------------------------------------------------ the tables


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"  # Table Schema: string, number, integer, boolean, date, time, datetime
    format: str | None = None  # uuid, email, uri
    required: bool = False  # the import refuses a row without a value
    enum: tuple[str, ...] | None = None
    attr: str | None = None  # the model attribute it maps to; None: not held here
    derived: bool = False  # written on export, never read back
    export: Callable[[Any], Any] | None = None  # a value not read from `attr`
    reference: str | None = None  # the table whose id (or key) it names
    relationship: str | None = None  # the model relationship to set from `reference`
    integer: bool = False  # a number held in an integer column
    max_length: int | None = None
    check: Callable[[Any], Any] | None = None  # extra check: a message, or None
    # Read from packages of earlier versions (and turned into what holds the
    # fact now, see validator.py), never written: x_service.free_of_charge.
    legacy: bool = False

    @property
    def held(self) -> bool:
        return self.attr is not None and not self.derived and not self.legacy


@dataclass(frozen=True)
class Table:
    name: str  # the data package resource's name: "organization", "x_organization"
    path: str  # its file: "organizations.csv"
    model: type | None
    columns: tuple[Column, ...]
    hsds: bool
    extends: str | None = None  # x_ tables: the HSDS table whose rows they add columns to
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        """Every column read (an export writes `written_columns`)."""
        return [c.name for c in self.columns]

    @property
    def written_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.legacy)


def _latitude(value: float):
    return None if -90 <= value <= 90 else _l("Latitude must be between -90 and 90.")


def _longitude(value: float):
    return None if -180 <= value <= 180 else _l("Longitude must be between -180 and 180.")


@cache
def iso_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (Babel's territories, without its groupings)."""
    names = Locale("en").territories
    return frozenset(c for c in names if len(c) == 2 and c.isalpha() and c.isupper()) - {
        "EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"
    }


def _country(value: str):
    # Any country: a cross-border directory lists Estonian and Polish services
    # too (search and geocoding know LV and LT best).
    if value not in iso_countries():
        return _l("Not an ISO 3166-1 country code (two letters, such as LV).")
    return None


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def _language_code(value: str):
    return None if LANGUAGE_CODE.match(value) else _l("Not a language code (ISO 639-1, such as lv).")


def _code(value: str):
    """A taxonomy's code (x_taxonomies.csv): the directory's key in URLs."""
    return None if TERM_CODE.match(value) else _l("Use only lowercase letters a–z, digits and hyphens, such as day-centre.")


BYDAY_ITEM = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
NUMBER_LIST_ITEM = re.compile(r"^[+-]?\d{1,3}$")


def _byday(value: str):
    """RRULE BYDAY: weekdays, each with an optional ordinal (1MO, -1FR)."""
    items = [item.strip() for item in value.split(",")]
    if all(BYDAY_ITEM.match(item) for item in items):
        return None
    return _l("Weekday codes separated by commas (%(days)s), each may have a week number such as 1MO or -1FR.",
              days=", ".join(WEEKDAYS))


def _number_list(value: str):
    """RRULE BYMONTHDAY, BYWEEKNO, BYYEARDAY: whole numbers separated by commas."""
    if all(NUMBER_LIST_ITEM.match(item.strip()) for item in value.split(",")):
        return None
    return _l("Whole numbers separated by commas, such as 1,15 or -1.")


@cache
def iso_currencies() -> frozenset[str]:
    """ISO 4217 codes (Babel's list, which holds the withdrawn ones too)."""
    return frozenset(code for code in list_currencies() if len(code) == 3 and code.isalpha())


def _currency(value: str):
    if value not in iso_currencies():
        return _l("Not an ISO 4217 currency code (three letters, such as EUR).")
    return None


def _area_code(value: str):
    if not municipalities.is_area_code(value):
        return _l("Not a country (LV, LT) or municipality code (ISO 3166-2, such as LV-111 or LT-60).")
    return None


def _non_negative(value: int):
    return None if value >= 0 else _l("Must be 0 or more.")


def _positive(value: int):
    return None if value >= 1 else _l("Must be 1 or more.")


# The HSDS columns this directory holds, by table: HSDS column → attribute.
HELD: dict[str, tuple[type | None, dict[str, str]]] = {
    "organization": (Organization, {
        "id": "id", "name": "name", "alternate_name": "alternate_name", "description": "description",
        "email": "email", "website": "website", "legal_status": "legal_status",
        "parent_organization_id": "parent_organization_id",
    }),
    "service": (Service, {
        "id": "id", "organization_id": "organization_id", "name": "name", "alternate_name": "alternate_name",
        "description": "description", "url": "url", "email": "email", "status": "status",
        "application_process": "application_process", "fees_description": "fees_description",
        "eligibility_description": "eligibility_description", "minimum_age": "minimum_age",
        "maximum_age": "maximum_age", "assured_date": "last_verified", "last_modified": "updated_at",
    }),
    "location": (Location, {
        "id": "id", "location_type": "location_type", "url": "url", "organization_id": "organization_id",
        "name": "name", "alternate_name": "alternate_name", "description": "description",
        "transportation": "transportation", "latitude": "latitude", "longitude": "longitude",
    }),
    "address": (Address, {
        "id": "id", "location_id": "location_id", "attention": "attention", "address_1": "address_1",
        "address_2": "address_2", "city": "city", "region": "municipality", "state_province": "state_province",
        "postal_code": "postal_code", "country": "country", "address_type": "address_type",
    }),
    "service_at_location": (ServiceAtLocation, {
        "id": "id", "service_id": "service_id", "location_id": "location_id", "description": "description",
    }),
    "phone": (Phone, {
        "id": "id", "location_id": "location_id", "service_id": "service_id", "organization_id": "organization_id",
        "contact_id": "contact_id", "service_at_location_id": "service_at_location_id",
        "number": "number", "extension": "extension", "type": "type", "description": "description",
    }),
    "contact": (Contact, {
        "id": "id", "organization_id": "organization_id", "service_id": "service_id",
        "service_at_location_id": "service_at_location_id", "location_id": "location_id", "name": "name",
        "title": "title", "department": "department", "email": "email",
    }),
    "schedule": (Schedule, {
        "id": "id", "service_id": "service_id", "location_id": "location_id",
        "service_at_location_id": "service_at_location_id", "valid_from": "valid_from", "valid_to": "valid_to",
        "dtstart": "dtstart", "timezone": "timezone", "until": "until", "count": "count", "wkst": "wkst",
        "freq": "freq", "interval": "interval", "byday": "byday", "byweekno": "byweekno",
        "bymonthday": "bymonthday", "byyearday": "byyearday", "description": "description",
        "opens_at": "opens_at", "closes_at": "closes_at", "schedule_link": "schedule_link",
        "attending_type": "attending_type", "notes": "notes",
    }),
    "language": (Language, {
        "id": "id", "service_id": "service_id", "location_id": "location_id", "phone_id": "phone_id",
        "name": "name", "code": "code", "note": "note",
    }),
    "accessibility": (Accessibility, {
        "id": "id", "location_id": "location_id", "description": "description", "details": "details", "url": "url",
    }),
    "required_document": (RequiredDocument, {
        "id": "id", "service_id": "service_id", "document": "document", "uri": "uri",
    }),
    "taxonomy": (Taxonomy, {
        "id": "id", "name": "name", "description": "description", "uri": "uri", "version": "version",
    }),
    "taxonomy_term": (TaxonomyTerm, {
        "id": "id", "code": "code", "name": "name", "description": "description", "parent_id": "parent_id",
        "taxonomy": "taxonomy_name", "language": "language", "taxonomy_id": "taxonomy_id", "term_uri": "term_uri",
    }),
    # A service's link to a term (service_taxonomy_term); links of other
    # entities are reported as left out.
    "attribute": (ServiceTermLink, {"id": "id", "link_id": "service_id", "taxonomy_term_id": "taxonomy_term_id",
                                    "link_type": "link_type", "link_entity": "link_entity", "value": "value",
                                    "label": "label"}),
    "url": (Url, {
        "id": "id", "label": "label", "url": "url", "organization_id": "organization_id", "service_id": "service_id",
    }),
    "service_area": (ServiceArea, {
        "id": "id", "service_id": "service_id", "service_at_location_id": "service_at_location_id", "name": "name",
        "description": "description", "extent": "extent", "extent_type": "extent_type", "uri": "uri",
    }),
    "cost_option": (CostOption, {
        "id": "id", "service_id": "service_id", "valid_from": "valid_from", "valid_to": "valid_to",
        "option": "option", "currency": "currency", "amount": "amount", "amount_description": "amount_description",
    }),
    "organization_identifier": (OrganizationIdentifier, {
        "id": "id", "organization_id": "organization_id", "identifier_scheme": "identifier_scheme",
        "identifier_type": "identifier_type", "identifier": "identifier",
    }),
    # The official tabular descriptor of 3.1 lists no columns for these two
    # (an omission of the specification): their columns come from the JSON
    # schemas, and the export ships them as x_ files (see export.py).
    "unit": (Unit, {"id": "id", "name": "name", "scheme": "scheme", "identifier": "identifier", "uri": "uri"}),
    "service_capacity": (ServiceCapacity, {
        "id": "id", "service_id": "service_id", "unit_id": "unit_id", "available": "available",
        "maximum": "maximum", "description": "description", "updated": "updated",
    }),
}
# Tables whose official descriptor resource lacks the columns of their JSON schema.
FROM_JSON_SCHEMA = ("unit", "service_capacity")

# Written on export from the directory's data, not read back on import.
DERIVED: dict[tuple[str, str], Callable[[Any], Any]] = {}
# Held and read back, but written out through a function: the value the
# directory states when the column itself is empty.
OUTGOING: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("service", "fees_description"): lambda service: fees_description(service),
    ("service", "last_modified"): lambda service: _utc(service.updated_at),
    ("taxonomy_term", "language"): lambda term: term.language or TERM_NAME_LANGUAGE,
    ("taxonomy_term", "taxonomy"): lambda term: term.taxonomy_name or (term.taxonomy.name if term.taxonomy else None),
    # A link without a publisher's id has one derived from the pair.
    ("attribute", "id"): lambda link: link.id or attribute_id(link.service_id, link.taxonomy_term_id),
    ("attribute", "link_entity"): lambda link: "service",
    # A country or municipality: its name and ISO page, unless the area has
    # its own (the import drops them again when they are exactly these).
    ("service_area", "name"): area_name,
    ("service_area", "uri"): area_uri,
}

# Columns naming another table's row: (table, column) → (table named, relationship).
REFERENCES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("organization", "parent_organization_id"): ("organization", "parent"),
    ("service", "organization_id"): ("organization", "organization"),
    ("location", "organization_id"): ("organization", "organization"),
    ("address", "location_id"): ("location", "location"),
    ("service_at_location", "service_id"): ("service", "service"),
    ("service_at_location", "location_id"): ("location", "location"),
    ("phone", "organization_id"): ("organization", "organization"),
    ("phone", "service_id"): ("service", "service"),
    ("phone", "location_id"): ("location", "location"),
    ("phone", "contact_id"): ("contact", "contact"),
    ("phone", "service_at_location_id"): ("service_at_location", "service_at_location"),
    ("contact", "organization_id"): ("organization", "organization"),
    ("contact", "service_id"): ("service", "service"),
    ("contact", "location_id"): ("location", "location"),
    ("contact", "service_at_location_id"): ("service_at_location", "service_at_location"),
    ("schedule", "service_id"): ("service", "service"),
    ("schedule", "location_id"): ("location", "location"),
    ("schedule", "service_at_location_id"): ("service_at_location", "service_at_location"),
    ("language", "service_id"): ("service", "service"),
    ("language", "location_id"): ("location", "location"),
    ("language", "phone_id"): ("phone", "phone"),
    ("accessibility", "location_id"): ("location", "location"),
    ("required_document", "service_id"): ("service", "service"),
    ("taxonomy_term", "taxonomy_id"): ("taxonomy", "taxonomy"),
    ("taxonomy_term", "parent_id"): ("taxonomy_term", None),  # no relationship: the column is set
    ("attribute", "taxonomy_term_id"): ("taxonomy_term", None),
    ("attribute", "link_id"): ("service", None),  # when link_entity is "service"
    ("url", "organization_id"): ("organization", "organization"),
    ("url", "service_id"): ("service", "service"),
    ("service_area", "service_id"): ("service", "service"),
    ("service_area", "service_at_location_id"): ("service_at_location", "service_at_location"),
    ("service_capacity", "service_id"): ("service", "service"),
    ("service_capacity", "unit_id"): ("unit", "unit"),
    ("cost_option", "service_id"): ("service", "service"),
    ("organization_identifier", "organization_id"): ("organization", "organization"),
    ("x_taxonomy_term_label", "term_id"): ("taxonomy_term", "term"),
}
for _table in ("organization", "service", "location", "address", "phone", "contact", "schedule",
               "required_document"):
    REFERENCES[(f"x_{_table}", "source_id")] = ("x_source_document", "source")
REFERENCES[("x_incomplete_address", "location_id")] = ("location", "location")

# Required here although HSDS does not require them (the directory's own
# NOT NULL columns).
ALSO_REQUIRED = {
    ("required_document", "document"), ("url", "url"), ("service_capacity", "service_id"),
}
# Required by HSDS, but the directory states only what its sources state:
# accepted empty, never invented. The export moves an address lacking one of
# them to x_addresses.csv's companion file rather than write an invalid row.
NOT_REQUIRED_HERE = {
    ("address", "address_1"), ("address", "city"), ("address", "state_province"), ("address", "postal_code"),
    ("organization", "description"), ("taxonomy", "description"), ("taxonomy_term", "description"),
}
# Rows that belong to something: a row naming none of these has nothing to
# be shown with here, and is reported as left out (HSDS does not require them).
OWNERS = {
    "phone": ("organization_id", "service_id", "location_id", "contact_id", "service_at_location_id"),
    "contact": ("organization_id", "service_id", "location_id", "service_at_location_id"),
    "schedule": ("service_id", "location_id", "service_at_location_id"),
    "language": ("service_id", "location_id", "phone_id"),
    "address": ("location_id",),
    "x_incomplete_address": ("location_id",),
    "accessibility": ("location_id",),
    "required_document": ("service_id",),
    "url": ("organization_id", "service_id"),
    "service_area": ("service_id", "service_at_location_id"),
}
# Narrower than HSDS: what the directory can hold.
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {}
CHECKS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("location", "latitude"): _latitude,
    ("location", "longitude"): _longitude,
    ("address", "country"): _country,
    ("schedule", "byday"): _byday,
    ("schedule", "bymonthday"): _number_list,
    ("schedule", "byweekno"): _number_list,
    ("schedule", "byyearday"): _number_list,
    ("schedule", "interval"): _positive,
    ("schedule", "count"): _positive,
    ("service", "minimum_age"): _non_negative,
    ("service", "maximum_age"): _non_negative,
    ("cost_option", "currency"): _currency,
    ("cost_option", "amount"): _non_negative,
}
# Values written in another case are accepted in the usual one.
UPPER = {("address", "country"), ("schedule", "byday"), ("schedule", "freq"), ("schedule", "wkst"),
         ("cost_option", "currency"), ("x_service_area", "area_code")}


@cache
def hsds_descriptor() -> dict[str, Any]:
    """The official HSDS 3.1 tabular data package descriptor."""
    with (HSDS_DIR / DESCRIPTOR_NAME).open(encoding="utf-8") as handle:
        return json.load(handle)


def _database_columns(model: type | None):
    return model.__table__.c if model is not None else service_taxonomy_term.c


def _string_length(model: type | None, attr: str | None) -> int | None:
    if attr is None or attr not in _database_columns(model):
        return None
    return getattr(_database_columns(model)[attr].type, "length", None)


def _is_integer_column(model: type | None, attr: str | None) -> bool:
    if attr is None or attr not in _database_columns(model):
        return False
    return _database_columns(model)[attr].type.python_type is int


JSON_SCHEMA_TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}


def _json_schema_resource(name: str, path: str) -> dict[str, Any]:
    """A tabular resource for an HSDS table from its JSON schema: its scalar
    properties as columns (for the tables FROM_JSON_SCHEMA)."""
    schema = json.loads((HSDS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    fields = []
    for column, spec in schema["properties"].items():
        kind = spec.get("type")
        if kind not in JSON_SCHEMA_TYPES:
            continue
        field: dict[str, Any] = {"name": column, "type": JSON_SCHEMA_TYPES[kind],
                                 "description": spec.get("description", "")}
        if spec.get("format") == "uuid":
            field["format"] = "uuid"
        elif spec.get("format") == "date-time":
            field["type"] = "datetime"
        elif spec.get("format") == "date":
            field["type"] = "date"
        elif spec.get("format") == "uri":
            field["format"] = "uri"
        if column in schema.get("required", []) or (column == "unit_id" and "unit" in schema.get("required", [])):
            field["constraints"] = {"required": True}
        fields.append(field)
    return {"name": name, "path": path, "description": schema.get("description", ""),
            "schema": {"fields": fields, "primaryKey": "id"}}


def _hsds_table(resource: dict[str, Any]) -> Table:
    name = resource["name"]
    model, held = HELD[name]
    columns = []
    for spec in resource["schema"]["fields"]:
        column_name = spec["name"]
        key = (name, column_name)
        constraints = spec.get("constraints", {})
        required = (constraints.get("required", False) or key in ALSO_REQUIRED) and key not in NOT_REQUIRED_HERE
        attr = held.get(column_name)
        derived = key in DERIVED
        reference = REFERENCES.get(key)
        outgoing = DERIVED.get(key) or OUTGOING.get(key)
        enum = ENUMS.get(key) or (tuple(constraints["enum"]) if "enum" in constraints else None)
        if key == ("service", "status"):
            enum = SERVICE_STATUSES
        columns.append(Column(
            name=column_name,
            type=spec.get("type", "string"),
            format=spec.get("format"),
            required=required,
            enum=enum,
            attr=attr,
            derived=derived,
            export=outgoing,
            reference=reference[0] if reference else None,
            relationship=reference[1] if reference else None,
            integer=_is_integer_column(model, attr),
            max_length=_string_length(model, attr),
            check=CHECKS.get(key),
        ))
    return Table(name, resource["path"], model, tuple(columns), hsds=True,
                 description=resource.get("description", ""))


def _x(name: str, path: str, model: type, extends: str | None, description: str, *columns: Column) -> Table:
    """A non-HSDS table: the directory's own fields."""
    filled = []
    for column in columns:
        reference = REFERENCES.get((name, column.name))
        filled.append(Column(
            **{**column.__dict__,
               "max_length": column.max_length or _string_length(model, column.attr),
               "integer": column.integer or _is_integer_column(model, column.attr),
               "reference": reference[0] if reference else None,
               "relationship": reference[1] if reference else None}
        ))
    return Table(name, path, model, tuple(filled), hsds=False, extends=extends, description=description)


def _id_column() -> Column:
    return Column("id", format="uuid", required=True, attr="id")


def _provenance(verified: bool = True) -> list[Column]:
    columns = [Column("source_id", attr="source_id")]
    if verified:
        columns.append(Column("last_verified", type="date", attr="last_verified"))
    return columns


# Addresses lacking a part HSDS requires travel in their own x_ file.
INCOMPLETE_ADDRESS = "x_incomplete_address"
HSDS_REQUIRED_ADDRESS_PARTS = ("address_1", "city", "state_province", "postal_code")

X_NOTE = "Not part of HSDS: fields of this directory that HSDS has no column for, joined to {path} by id."


@cache
def tables() -> dict[str, Table]:
    """Every table the directory exports and imports, parents first."""
    official = {r["name"]: dict(r) for r in hsds_descriptor()["resources"]}
    result: dict[str, Table] = {}

    def x_table(name, model, extends, *columns):
        path = f"x_{official[extends]['path']}"
        result[name] = _x(name, path, model, extends, X_NOTE.format(path=official[extends]["path"]),
                          _id_column(), *columns)

    result["x_source_document"] = _x(
        "x_source_document", "x_source_documents.csv", SourceDocument, None,
        "Not part of HSDS: the public documents the directory's facts are taken from, with their text; "
        "source_id in the other x_ files names them.",
        Column("id", required=True, attr="id"),
        Column("title", required=True, attr="title"),
        Column("publisher", attr="publisher"),
        Column("summary", attr="summary"),
        Column("language", attr="language", check=_language_code),
        Column("last_changed", type="date", attr="last_changed"),
        Column("text", required=True, attr="text"),
    )
    for name in FROM_JSON_SCHEMA:
        official[name] = _json_schema_resource(name, official[name]["path"])
    for name in ("taxonomy", "taxonomy_term", "organization", "service", "location", "address",
                 "service_at_location", "contact", "phone", "schedule", "language", "accessibility",
                 "required_document", "attribute", "url", "service_area", "cost_option", "organization_identifier",
                 "unit", "service_capacity"):
        result[name] = _hsds_table(official[name])
    for name in FROM_JSON_SCHEMA:
        table = result[name]
        result[name] = replace(table, path=f"x_{table.path}", hsds=False, description=(
            f"HSDS 3.1 {name} with the columns of its JSON schema: the official tabular descriptor lists "
            "none (or not all) of them, so this file is not checked against it."))
    address = result["address"]
    result[INCOMPLETE_ADDRESS] = replace(address, name=INCOMPLETE_ADDRESS, path="x_incomplete_addresses.csv",
                                         hsds=False, description=(
        "Not part of HSDS: addresses (the same columns as addresses.csv) whose sources do not state every part "
        "HSDS requires (address_1, city, state_province, postal_code). Nothing is invented to fill them, so "
        "they are kept here rather than written as invalid rows of addresses.csv."))
    x_table("x_taxonomy", Taxonomy, "taxonomy", Column("code", attr="code", check=_code))
    x_table("x_taxonomy_term", TaxonomyTerm, "taxonomy_term",
            Column("lt_catalogue_code", attr="lt_catalogue_code"),
            Column("position", type="integer", attr="position"))
    result["x_taxonomy_term_label"] = _x(
        "x_taxonomy_term_label", "x_taxonomy_term_labels.csv", TaxonomyTermLabel, None,
        "Not part of HSDS (which has no translated fields): the name of each taxonomy term in each "
        "language, and other words the search finds it by (one per line); taxonomy_terms.csv holds "
        "its Latvian name.",
        Column("term_id", format="uuid", required=True, attr="term_id"),
        Column("locale", required=True, attr="locale", check=_language_code),
        Column("name", required=True, attr="name"),
        Column("synonyms", attr="synonyms"),
    )
    x_table("x_organization", Organization, "organization",
            Column("slug", attr="slug", check=_code),
            Column("text_language", attr="text_language", check=_language_code),
            Column("status", attr="status", enum=ORGANIZATION_STATUSES),
            *_provenance())
    # free_of_charge follows from the service's cost options now (costs.py),
    # which cost_options.csv carries: one fact in one place, so the export no
    # longer writes it. Packages of earlier versions still have it, and are
    # read: a flag of a service without cost options becomes one (validator.py).
    x_table("x_service", Service, "service", *_provenance(verified=False),
            Column("free_of_charge", type="boolean", attr="free_of_charge", legacy=True))
    x_table("x_location", Location, "location", *_provenance(),
            Column("wheelchair_accessible", type="boolean", attr="wheelchair_accessible"),
            Column("geocode_precision", attr="geocode_precision", enum=GEOCODE_PRECISIONS),
            Column("confidential", type="boolean", attr="confidential"))
    # The code of an area that is a country or a municipality: exact, where
    # services_areas.csv only has the name and ISO page other publishers read
    # (a package without this file: the import recognises them, validator.py).
    x_table("x_service_area", ServiceArea, "service_area", Column("area_code", attr="area_code", check=_area_code))
    x_table("x_cost_option", CostOption, "cost_option",
            Column("position", type="integer", attr="position", check=_non_negative))
    x_table("x_address", Address, "address", *_provenance())
    x_table("x_contact", Contact, "contact", *_provenance())
    x_table("x_phone", Phone, "phone", *_provenance())
    x_table("x_schedule", Schedule, "schedule", *_provenance(),
            Column("open_on_public_holidays", type="boolean", attr="open_on_public_holidays"))
    x_table("x_required_document", RequiredDocument, "required_document", *_provenance(),
            Column("position", type="integer", attr="position", check=_non_negative))
    return result


def hsds_row(table_name: str, record: Any) -> dict[str, Any]:
    """One record's row of an HSDS (or x_) table as Python values, None
    where the directory holds nothing: what the export writes and what the
    API's objects are made of."""
    row = {}
    for column in tables()[table_name].written_columns:
        if column.export is not None:
            row[column.name] = column.export(record)
        elif column.attr is not None:
            row[column.name] = getattr(record, column.attr)
        else:
            row[column.name] = None
    return row


def _key(table: Table, values: dict[str, Any]) -> Any:
    if table.name == "x_taxonomy_term_label":
        return (values.get("term_id"), values.get("locale"))
    return values.get("id")


