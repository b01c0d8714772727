"""The API's OpenAPI document: Open Referral's HSDS 3.1 API description
(schema/openapi.json) as this directory implements it. Every GET operation
and every parameter of the official document is here, each declared with
the values it takes and what it does; write operations (HSDS's POST search
variants) are left out, the API is read-only. Added: the directory's own
filters, the 400 error shape, /openapi.json itself. Response schemas are
the official HSDS schemas, referenced within the document."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from ..search import MAX_PAGE
from .mapping import API_VERSION, HSDS_VERSION
from .mapping import HSDS_DIR as SCHEMA_DIR
from .records import PROFILE as HSDS_PROFILE
from .parameters import (
    DEFAULT_PER_PAGE,
    DIRECTORY_FILTERS,
    ENDPOINT_PARAMETERS,
    FORMATS,
    MAX_MINIMAL_PER_PAGE,
    MAX_PER_PAGE,
    POSTCODE_PATTERN,
    UUID_PATTERN,
)

# The base HSDS 3.1 profile (no profile of another body): the specification's
# schema directory, the canonical URL its Profiles reference names.
NDJSON = "application/x-ndjson"

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


def official_document() -> dict:
    """Open Referral's HSDS 3.1 API description, as published."""
    return _read_schema("openapi.json")


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


# ------------------------------------------------------------ parameters

_ID = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
_BOOLEAN = {"type": "boolean", "default": False}
# The value each parameter takes here (the official document says "string"
# for most); anything else is a 400 naming it.
_VALUES: dict[str, dict] = {
    "search": {"type": "string"},
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    "format": {"type": "string", "enum": list(FORMATS), "default": "json"},
    "taxonomy_term_id": _ID, "taxonomy_id": _ID, "organization_id": _ID, "parent_id": _ID,
    "modified_after": {"type": "string", "format": "date-time"},
    "minimal": _BOOLEAN, "full": _BOOLEAN, "full_service": _BOOLEAN, "top_only": _BOOLEAN,
    "postcode": {"type": "string", "pattern": POSTCODE_PATTERN},
    "proximity": {"type": "number", "exclusiveMinimum": 0},
}
_FLAG = "1, on or true: only those; any other value: no filter (as on the website)."
# What each parameter does here; (endpoint, name) says it for one endpoint.
_MEANINGS: dict[str | tuple[str, str], str] = {
    "search": "Every word must match, ignoring case and diacritics.",
    ("services", "search"): "The website's full text: words match word beginnings in the service's and its "
    "centre's texts, ignoring case and diacritics; names holding every word come first.",
    ("service_at_locations", "search"): "The services' full text, as on /services.",
    ("taxonomies", "search"): "Every word in the taxonomy's name or description, ignoring case and diacritics.",
    ("taxonomy_terms", "search"): "Every word in the term's code, name, description or its name in any of "
    "the directory's languages, ignoring case and diacritics.",
    ("organizations", "search"): "Every word in the name or alternate name, ignoring case and diacritics.",
    "page": "From 1; a page past the last one is empty. Not with format=ndjson.",
    "per_page": f"Items per page: 1 to {MAX_PER_PAGE}, default {DEFAULT_PER_PAGE}. Not with format=ndjson.",
    ("services", "per_page"): f"Items per page: 1 to {MAX_PER_PAGE}, default {DEFAULT_PER_PAGE}; with "
    f"minimal=true 1 to {MAX_MINIMAL_PER_PAGE}, default {MAX_MINIMAL_PER_PAGE}. Not with format=ndjson.",
    "format": f"json: an HSDS page. ndjson: every result, unpaged, one JSON object a line ({NDJSON}), "
    "streamed as it is read.",
    "taxonomy_term_id": "Services with this taxonomy term. A UUID; one no record has matches nothing.",
    ("organizations", "taxonomy_term_id"): "Organizations offering a public service with this taxonomy "
    "term. A UUID; one no record has matches nothing.",
    "taxonomy_id": "Services with any term of this taxonomy. A UUID; one no record has matches nothing.",
    ("organizations", "taxonomy_id"): "Organizations offering a public service with a term of this "
    "taxonomy. A UUID; one no record has matches nothing.",
    ("taxonomy_terms", "taxonomy_id"): "Terms of this taxonomy. A UUID; one no record has no terms.",
    "organization_id": "Services of this organization. A UUID; one no record has matches nothing.",
    "parent_id": "Terms whose parent is this term. A UUID; one no record has no children.",
    "top_only": "true: only terms without a parent (the top of each hierarchy).",
    "modified_after": "Services whose last_modified is at or after this RFC 3339 date-time (a date alone "
    "is midnight UTC, a time without a zone UTC). last_modified moves whenever the service or anything "
    "nested in it changes (hours, phones, locations and their addresses, its organization, its terms…).",
    ("service_at_locations", "modified_after"): "Items whose service's last_modified is at or after this "
    "RFC 3339 date-time (see /services).",
    "minimal": "true: items are only the service's id and last_modified (and per_page may be up to "
    f"{MAX_MINIMAL_PER_PAGE}, its default). Not with full=true.",
    "full": "true: fully nested services, as /services/{id} gives them. Not with minimal=true.",
    ("organizations", "full"): "true: fully nested organizations (phones, contacts, locations with their "
    "details, and their public services as list items), as /organizations/{id} gives them.",
    ("service_at_locations", "full"): "true: the location fully nested and the service as /services/{id} "
    "gives it, as /service_at_locations/{id} does.",
    "full_service": "true: the organization fully nested, with its public services fully nested too "
    "(as /services/{id} gives them, less the organization).",
    "postcode": "LV-1234 or LT-12345 (the hyphen may be left out). Located from the directory's own "
    "addresses (the centre of its geocoded locations with that code); a code no address has is a 400. "
    "Items come nearest the code first; a service whose service areas have a GeoJSON extent is listed only "
    "when an area holds the code.",
    "proximity": "With postcode: only locations within this many metres of the postal code's centre.",
    "place": "Town or municipality, as written in addresses (e.g. Viesīte, Bauskas novads); unknown: no filter.",
    "type": "Service type code (a term code of the service-type taxonomy); unknown: no filter.",
    "group": "Target group code (a term code of the target-group taxonomy); unknown: no filter.",
    "language": "ISO 639-1 code of a language spoken; unknown: no filter.",
    "free": "Free of charge. " + _FLAG,
    "wheelchair": "Wheelchair accessible. " + _FLAG,
    "open": "Open now (local time; public holidays closed unless listed). " + _FLAG,
    "near": "A Latvian or Lithuanian town or address (the offline gazetteer): nearest first. A place it "
    "does not know is a 400 with suggestions.",
    "radius": "With near: 5, 10, 25 or 50 (km); any other value: any distance.",
}


def _parameter(endpoint: str, name: str, official: dict | None) -> dict:
    meaning = _MEANINGS.get((endpoint, name), _MEANINGS[name])
    if official is None:
        description = "The directory's own filter (not HSDS), read as the website reads it. " + meaning
    else:
        description = f"HSDS: {official.get('description', '').strip()}\n\nHere: {meaning}"
    values = copy.deepcopy(_VALUES.get(name, {"type": "string"}))
    if (endpoint, name) == ("services", "per_page"):
        values["maximum"] = MAX_MINIMAL_PER_PAGE
    return {"name": name, "in": "query", "required": False, "description": description, "schema": values}


def _official_parameters(document: dict, operation: dict) -> dict[str, dict]:
    """An official operation's parameters by name, references resolved."""
    found = {}
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            resolved = dict(document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]])
            if parameter.get("description"):
                resolved["description"] = parameter["description"]
            parameter = resolved
        found[parameter["name"]] = parameter
    return found


# ------------------------------------------------------------ responses

def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _listed(description: str, item: dict) -> dict:
    """A list's answer: an HSDS page, or with format=ndjson every item, a line each."""
    page = {"allOf": [_ref("Page")], "properties": {"contents": {"type": "array", "items": item}}}
    return {
        "description": description,
        "content": {"application/json": {"schema": page}, NDJSON: {"schema": item}},
    }


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "404": {"$ref": "#/components/responses/NotFound"},
}
_FULL_SERVICE_AT_LOCATION = {
    "allOf": [_ref("service_at_location")],
    "properties": {"service": {**_ref("service"), "description": "The service, as /services/{id} gives it."}},
}
_ORGANIZATION_WITH_SERVICES = {
    "allOf": [_ref("organization")],
    "properties": {"services": {
        "type": "array",
        "description": "Its public services: list items, or fully nested with full_service=true.",
        "items": {"anyOf": [_ref("service_list"), _ref("service")]},
    }},
}
# What each path of the official document answers here: (view, 200 response).
_ANSWERS: dict[str, tuple[str, dict]] = {
    "/": ("index", _json("About this API.", _ref("ApiInfo"))),
    "/services": ("services", _listed(
        "Services: list items (one-to-one fields and the organization), fully nested (full=true) or minimal.",
        {"anyOf": [_ref("service_list"), _ref("service"), _ref("MinimalService")]},
    )),
    "/services/{id}": ("service", _json("The fully nested service.", _ref("service"))),
    "/taxonomies": ("taxonomies", _listed("Taxonomies.", _ref("taxonomy"))),
    "/taxonomies/{id}": ("taxonomy", _json("The taxonomy.", _ref("taxonomy"))),
    "/taxonomy_terms": ("taxonomy_terms", _listed("Taxonomy terms (names in Latvian).", _ref("taxonomy_term"))),
    "/taxonomy_terms/{id}": ("taxonomy_term", _json("The taxonomy term.", _ref("taxonomy_term"))),
    "/organizations": ("organizations", _listed(
        "Organizations: one-to-one fields, or fully nested (full, full_service).",
        {"anyOf": [_ref("organization_list"), _ORGANIZATION_WITH_SERVICES]},
    )),
    "/organizations/{id}": ("organization", _json("The organization with its locations and public services.",
                                                  _ORGANIZATION_WITH_SERVICES)),
    "/service_at_locations": ("service_at_locations", _listed(
        "Services at locations: the location's and the service's one-to-one fields, or fully nested (full=true).",
        {"anyOf": [_ref("service_at_location_list"), _FULL_SERVICE_AT_LOCATION]},
    )),
    "/service_at_locations/{id}": ("service_at_location", _json(
        "The service_at_location with its location and service fully nested.", _FULL_SERVICE_AT_LOCATION)),
}
# The official document gives these two operations each other's ids.
_OPERATION_IDS = {"/taxonomy_terms": "getPaginatedListOfTaxonomyTerms", "/taxonomy_terms/{id}": "getTaxonomyTermById"}


def _operation(document: dict, path: str, official: dict) -> dict:
    view, answer = _ANSWERS[path]
    given = _official_parameters(document, official)
    names = ENDPOINT_PARAMETERS.get(view, ())
    missing = set(given) - set(names)
    if missing:  # a newer official document: the API must implement them first
        raise RuntimeError(f"{path}: official parameters not implemented: {sorted(missing)}")
    parameters = [_parameter(view, name, given[name]) for name in given]
    parameters += [_parameter(view, name, None) for name in names if name in DIRECTORY_FILTERS]
    operation = {
        "operationId": _OPERATION_IDS.get(path, official["operationId"]),
        "summary": official.get("summary", ""),
        "responses": {"200": answer, "400": _ERRORS["400"]},
    }
    if parameters:
        operation["parameters"] = parameters
    if "{id}" in path:
        operation["responses"]["404"] = _ERRORS["404"]
    return operation


# ------------------------------------------------------------ the document


@functools.cache
def openapi_document(publisher_name: str = "", publisher_url: str = "", publisher_email: str = "") -> dict:
    """The API's OpenAPI 3.1 document, built once (per publisher) from the
    official description and schema files."""
    official = official_document()
    paths: dict[str, dict] = {}
    for path, item in official["paths"].items():
        if "get" not in item:
            continue
        paths[path] = {"get": _operation(official, path, item["get"])}
        if "parameters" in item:  # the {id} of the path
            paths[path]["parameters"] = copy.deepcopy(item["parameters"])
    paths["/openapi.json"] = {"get": {
        "operationId": "getOpenAPIDocument",
        "summary": "This document.",
        "responses": {"200": _json("OpenAPI 3.1 document.", {"type": "object"}), "400": _ERRORS["400"]},
    }}
    contact = {key: value for key, value in
               (("name", publisher_name), ("url", publisher_url), ("email", publisher_email)) if value}
    info = {
        "title": f"{publisher_name or 'Social services directory'}: Open Referral HSDS {HSDS_VERSION} API",
        "version": API_VERSION,
        "summary": f"Read-only Open Referral HSDS {HSDS_VERSION} API of the directory's public listings.",
        "description": (
            "GET only, no authentication, CORS open. Every parameter of the HSDS 3.1 API is implemented; "
            "a parameter an endpoint does not take, or a value it cannot read, is a 400 whose JSON names "
            "the parameter (`{\"error\": …, \"parameter\": …}`), never ignored. Filters are cumulative. "
            "Lists answer HSDS pages, or every result as NDJSON with format=ndjson. Schemas: Open Referral "
            "HSDS 3.1 (CC BY-SA 4.0, © Open Referral)."
        ),
        **({"contact": contact} if contact else {}),
    }
    page_schema = copy.deepcopy(official["components"]["schemas"]["Page"])
    page_schema["required"] = [
        "total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"
    ]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": info,
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {
            "responses": {
                "BadRequest": _json("A parameter the API refuses; `parameter` names it.", _ref("Error")),
                "NotFound": _json("No public record with this id.", _ref("Error")),
            },
            "schemas": {"Page": page_schema, **_own_schemas(), **hsds_component_schemas()},
        },
    }


def _own_schemas() -> dict[str, dict]:
    """The shapes this API adds to HSDS's."""
    uri = {"type": "string", "format": "uri"}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "What is wrong, in English."},
                "parameter": {"type": "string", "description": "The query parameter at fault."},
                "suggestions": {"type": "array", "items": {"type": "string"},
                                "description": "Known places like an unknown `near`."},
            },
        },
        "MinimalService": {
            "type": "object",
            "required": ["id"],
            "description": "A /services item with minimal=true.",
            "properties": {"id": {"type": "string"}, "last_modified": {"type": "string", "format": "date-time"}},
        },
        "ApiInfo": {
            "type": "object",
            "required": ["version", "profile", "openapi_url", "api_version", "links", "publisher"],
            "properties": {
                "version": {"type": "string", "const": HSDS_VERSION, "description": "HSDS version of this API."},
                "profile": {**uri, "const": HSDS_PROFILE,
                            "description": "The HSDS profile: the base specification, HSDS 3.1 itself."},
                "openapi_url": {**uri, "description": "This API's OpenAPI document."},
                "api_version": {"type": "string"},
                "links": {"type": "object", "additionalProperties": uri},
                "publisher": {
                    "type": "object",
                    "required": ["name", "url"],
                    "description": "Who publishes this directory.",
                    "properties": {"name": {"type": "string"}, "url": uri,
                                   "email": {"type": "string", "format": "email"}},
                },
            },
        },
    }
