"""The OpenAPI document of the API, built on the official HSDS schemas."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from ..search import (
    MAX_PAGE,
)
from .mapping import API_VERSION, HSDS_VERSION
from .mapping import HSDS_DIR as SCHEMA_DIR
from .queries import DEFAULT_PER_PAGE, MAX_PER_PAGE

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
                    "service (not an HSDS 3.1 field of service_at_location) as /services/{id} gives it."
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
            "summary": "Read-only Open Referral HSDS 3.1 API of the directory's public listings.",
            "description": (
                "GET only, no authentication, CORS open. Errors are JSON `{\"error\": …}`. `page` "
                f"(1–{MAX_PAGE}) and `per_page` (1–{MAX_PER_PAGE}, default {DEFAULT_PER_PAGE}) outside "
                "their range, or not whole numbers, are a 400; the directory's own filters are read "
                "forgivingly, as the website reads them. Schemas: Open Referral HSDS 3.1 "
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
