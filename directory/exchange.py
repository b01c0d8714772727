"""Open Referral HSDS 3.0 data packages: export and import.

Plain functions over a session; `flask export` / `flask import` and the
admin upload page only call them.

- `export_package(session, folder)` writes a tabular data package: a
  datapackage.json following directory/hsds_schema/datapackage.json, one CSV
  per HSDS table with exactly the descriptor's columns (those this directory
  does not hold are present and empty), and the same rows as JSON in
  directory.json ({table: [rows]}).
- `read_package(path)` reads a folder with a datapackage.json, a .zip of
  one, or a JSON file, within the limits below; it answers a `Package`, or a
  `Report` saying why the files cannot be read.
- `validate(session, package)` checks every row: required fields, the
  descriptor's types, uuids, coordinates, country codes, references between
  tables (in the package or the database), unknown taxonomy terms, duplicate
  ids, loops of parents, codes and slugs used by another record.
- `import_package(session, path, user=None)` reads, validates and, when there
  is no problem at all, writes everything in one transaction: a record whose
  id exists is updated, the others are created. Nothing is ever deleted,
  except a service's links to taxonomy terms, which become those the package
  lists when it has an attributes table.

What HSDS has no column for travels in extra files whose names start with
`x_` (listed in datapackage.json, described there as not part of HSDS):
source documents, where each record comes from (`source_id`), slugs,
taxonomy codes, term labels in each language, flags residents filter on.
A package without them (from another HSDS publisher) imports all the same:
slugs and codes are then made from names.

Mapped honestly: Address.municipality is HSDS `region`; Service.last_verified
is HSDS `assured_date`; Service.updated_at is written as `last_modified` and
not read back (the database keeps its own timestamps). HSDS requires some
address fields (address_1, city, state_province, postal_code) that the
directory's sources often do not state: they are written as empty strings and
accepted empty on import, never invented.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import logging
import math
import re
import stat
import unicodedata
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from . import audit
from .administration import TERM_CODE
from .geocoding import address_query, locate_changed_addresses
from .models import (
    COUNTRIES,
    SERVICE_STATUSES,
    WEEKDAYS,
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
    SourceDocument,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
    service_taxonomy_term,
)
from .publishing import MAX_HOUR_ROWS, MAX_PHONES, MAX_REQUIRED_DOCUMENTS, slugify

# ------------------------------------------------------------------ limits
# Checked before anything is unpacked or parsed; change them here.

MAX_FILE_BYTES = 20 * 1024 * 1024  # one CSV or JSON file, uncompressed
MAX_ROWS = 100_000  # rows of one table
MAX_ARCHIVE_MEMBERS = 200  # entries of a .zip, folders included
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024  # sum of a .zip's uncompressed sizes
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a file sent to the admin upload page
MAX_PROBLEMS = 500  # problems listed in a report; the rest are counted
# Rows one record may hold: the centre dashboard's caps (directory/publishing.py).
# Counted in the package; rows already in the database are not added in.
ROWS_PER_RECORD = {
    "phone": (MAX_PHONES, ("organization_id", "service_id", "location_id")),
    "schedule": (MAX_HOUR_ROWS, ("service_id", "location_id")),
    "required_document": (MAX_REQUIRED_DOCUMENTS, ("service_id",)),
}

HSDS_DIR = Path(__file__).resolve().parent / "hsds_schema"
DESCRIPTOR_NAME = "datapackage.json"
JSON_NAME = "directory.json"
# Ids of the attribute rows (a service's link to a term, which has no id of
# its own here) derive from this namespace; never change it, or a re-import
# of an older export would see other ids.
ATTRIBUTE_NAMESPACE = uuid.UUID("0d6f9a52-3c1e-4b7a-9e55-7c2f0b6d8e14")
# The language of a taxonomy term's `name` (its Latvian name; the others are
# in x_taxonomy_term_labels.csv).
TERM_NAME_LANGUAGE = "lv"
GEOCODE_PRECISIONS = ("address", "street", "town", "approximate")
ORGANIZATION_STATUSES = ("published", "pending")
CHUNK = 500  # ids per IN (…) query

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------ reports


@dataclass
class Problem:
    """One thing wrong (or, in `Report.warnings`, left out): where and what.
    `row` counts the header as row 1 in a CSV file (as a spreadsheet shows
    it) and the first object as row 1 in a JSON list."""

    file: str
    row: int | None
    field: str | None
    message: Any  # a lazy translated string

    def __str__(self) -> str:
        return format_problem(self)


@dataclass
class TableCount:
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # only links between services and terms are ever removed


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    counts: dict[str, TableCount] = field(default_factory=dict)  # by table, in import order
    problem_count: int = 0  # all problems found, also those beyond MAX_PROBLEMS
    imported: bool = False

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def unlisted(self) -> int:
        return self.problem_count - len(self.problems)

    def problem(self, file: str, row: int | None, field_name: str | None, message) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(file, row, field_name, message))

    def warn(self, file: str, row: int | None, field_name: str | None, message) -> None:
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(Problem(file, row, field_name, message))

    def totals(self) -> TableCount:
        total = TableCount("")
        for count in self.counts.values():
            total.created += count.created
            total.updated += count.updated
            total.unchanged += count.unchanged
            total.removed += count.removed
        return total


def format_problem(problem: Problem) -> str:
    """One line for a terminal, in the current locale."""
    values = {"file": problem.file, "row": problem.row, "field": problem.field, "message": problem.message}
    if problem.row is not None and problem.field:
        return gettext("%(file)s, row %(row)s, %(field)s: %(message)s", **values)
    if problem.row is not None:
        return gettext("%(file)s, row %(row)s: %(message)s", **values)
    if problem.field:
        return gettext("%(file)s, %(field)s: %(message)s", **values)
    return gettext("%(file)s: %(message)s", **values)


def format_size(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB" if size >= 1024 * 1024 else f"{size / 1024:g} KB"


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

    @property
    def held(self) -> bool:
        return self.attr is not None and not self.derived


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
        return [c.name for c in self.columns]


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
    if value not in iso_countries():
        return _l("Not an ISO 3166-1 country code (two letters, such as LV).")
    if value not in COUNTRIES:
        return _l("This directory lists addresses in %(countries)s only.", countries=", ".join(COUNTRIES))
    return None


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def _language_code(value: str):
    return None if LANGUAGE_CODE.match(value) else _l("Not a language code (ISO 639-1, such as lv).")


def _code(value: str):
    return None if TERM_CODE.match(value) else _l("Use only lowercase letters a–z, digits and hyphens, such as day-centre.")


def _weekday(value: str):
    if value in WEEKDAYS:
        return None
    return _l("One weekday code (%(days)s): one row for each day.", days=", ".join(WEEKDAYS))


def _non_negative(value: int):
    return None if value >= 0 else _l("Must be 0 or more.")


# The HSDS columns this directory holds, by table: HSDS column → attribute.
HELD: dict[str, tuple[type, dict[str, str]]] = {
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
        "maximum_age": "maximum_age", "assured_date": "last_verified",
    }),
    "location": (Location, {
        "id": "id", "location_type": "location_type", "organization_id": "organization_id", "name": "name",
        "description": "description", "transportation": "transportation", "latitude": "latitude",
        "longitude": "longitude",
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
        "number": "number", "extension": "extension", "type": "type", "description": "description",
    }),
    "contact": (Contact, {
        "id": "id", "organization_id": "organization_id", "service_id": "service_id", "name": "name",
        "title": "title", "department": "department", "email": "email",
    }),
    "schedule": (Schedule, {
        "id": "id", "service_id": "service_id", "location_id": "location_id", "valid_from": "valid_from",
        "valid_to": "valid_to", "freq": "freq", "byday": "byday", "description": "description",
        "opens_at": "opens_at", "closes_at": "closes_at",
    }),
    "language": (Language, {
        "id": "id", "service_id": "service_id", "location_id": "location_id", "name": "name", "code": "code",
        "note": "note",
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
        "taxonomy_id": "taxonomy_id", "term_uri": "term_uri",
    }),
    "attribute": (None, {"id": "id", "link_id": "link_id", "taxonomy_term_id": "taxonomy_term_id",
                         "link_entity": "link_entity"}),
}

# Written on export from the directory's data, not read back on import.
DERIVED: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("service", "last_modified"): lambda service: _utc(service.updated_at),
    ("taxonomy_term", "taxonomy"): lambda term: term.taxonomy.name,
    ("taxonomy_term", "language"): lambda term: TERM_NAME_LANGUAGE,
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
    ("contact", "organization_id"): ("organization", "organization"),
    ("contact", "service_id"): ("service", "service"),
    ("schedule", "service_id"): ("service", "service"),
    ("schedule", "location_id"): ("location", "location"),
    ("language", "service_id"): ("service", "service"),
    ("language", "location_id"): ("location", "location"),
    ("accessibility", "location_id"): ("location", "location"),
    ("required_document", "service_id"): ("service", "service"),
    ("taxonomy_term", "taxonomy_id"): ("taxonomy", "taxonomy"),
    ("taxonomy_term", "parent_id"): ("taxonomy_term", None),  # no relationship: the column is set
    ("attribute", "taxonomy_term_id"): ("taxonomy_term", None),
    ("attribute", "link_id"): ("service", None),  # when link_entity is "service"
    ("x_taxonomy_term_label", "term_id"): ("taxonomy_term", "term"),
}
for _table in ("organization", "service", "location", "address", "phone", "contact", "schedule",
               "required_document"):
    REFERENCES[(f"x_{_table}", "source_id")] = ("x_source_document", "source")

# Required here although HSDS does not require them (the directory's own
# NOT NULL columns).
ALSO_REQUIRED = {
    ("location", "organization_id"), ("address", "location_id"), ("accessibility", "location_id"),
    ("language", "code"), ("schedule", "byday"), ("taxonomy_term", "taxonomy_id"),
    ("required_document", "service_id"), ("required_document", "document"),
}
# Required by HSDS, but the directory states only what its sources state:
# accepted empty (and exported as empty strings), never invented.
NOT_REQUIRED_HERE = {
    ("address", "address_1"), ("address", "city"), ("address", "state_province"), ("address", "postal_code"),
    ("organization", "description"), ("taxonomy", "description"), ("taxonomy_term", "description"),
}
# Rows that must name at least one owner.
OWNERS = {
    "phone": ("organization_id", "service_id", "location_id"),
    "contact": ("organization_id", "service_id"),
    "schedule": ("service_id", "location_id"),
    "language": ("service_id", "location_id"),
}
# Narrower than HSDS: what the directory can hold.
ENUMS = {
    ("schedule", "freq"): ("WEEKLY",),
}
CHECKS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("location", "latitude"): _latitude,
    ("location", "longitude"): _longitude,
    ("address", "country"): _country,
    ("schedule", "byday"): _weekday,
    ("language", "code"): _language_code,
    ("taxonomy_term", "code"): _code,
    ("service", "minimum_age"): _non_negative,
    ("service", "maximum_age"): _non_negative,
}
# Values written in another case are accepted in the usual one.
UPPER = {("address", "country"), ("schedule", "byday"), ("schedule", "freq")}


@cache
def hsds_descriptor() -> dict[str, Any]:
    """The official HSDS 3.0 tabular data package descriptor."""
    with (HSDS_DIR / DESCRIPTOR_NAME).open(encoding="utf-8") as handle:
        return json.load(handle)


def _string_length(model: type | None, attr: str | None) -> int | None:
    if model is None or attr is None or attr not in model.__table__.c:
        return None
    return getattr(model.__table__.c[attr].type, "length", None)


def _is_integer_column(model: type | None, attr: str | None) -> bool:
    if model is None or attr is None or attr not in model.__table__.c:
        return False
    return model.__table__.c[attr].type.python_type is int


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
            export=DERIVED.get(key),
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


X_NOTE = "Not part of HSDS: fields of this directory that HSDS has no column for, joined to {path} by id."


@cache
def tables() -> dict[str, Table]:
    """Every table the directory exports and imports, parents first."""
    official = {r["name"]: r for r in hsds_descriptor()["resources"]}
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
    for name in ("taxonomy", "taxonomy_term", "organization", "service", "location", "address",
                 "service_at_location", "contact", "phone", "schedule", "language", "accessibility",
                 "required_document", "attribute"):
        result[name] = _hsds_table(official[name])
    x_table("x_taxonomy", Taxonomy, "taxonomy", Column("code", attr="code", check=_code))
    x_table("x_taxonomy_term", TaxonomyTerm, "taxonomy_term",
            Column("lt_catalogue_code", attr="lt_catalogue_code"),
            Column("position", type="integer", attr="position"))
    result["x_taxonomy_term_label"] = _x(
        "x_taxonomy_term_label", "x_taxonomy_term_labels.csv", TaxonomyTermLabel, None,
        "Not part of HSDS (which has no translated fields): the name of each taxonomy term in each "
        "language; taxonomy_terms.csv holds its Latvian name.",
        Column("term_id", format="uuid", required=True, attr="term_id"),
        Column("locale", required=True, attr="locale", check=_language_code),
        Column("name", required=True, attr="name"),
    )
    x_table("x_organization", Organization, "organization",
            Column("slug", attr="slug", check=_code),
            Column("text_language", attr="text_language", check=_language_code),
            Column("status", attr="status", enum=ORGANIZATION_STATUSES),
            *_provenance())
    x_table("x_service", Service, "service", *_provenance(verified=False),
            Column("free_of_charge", type="boolean", attr="free_of_charge"))
    x_table("x_location", Location, "location", *_provenance(),
            Column("wheelchair_accessible", type="boolean", attr="wheelchair_accessible"),
            Column("geocode_precision", attr="geocode_precision", enum=GEOCODE_PRECISIONS))
    x_table("x_address", Address, "address", *_provenance())
    x_table("x_contact", Contact, "contact", *_provenance())
    x_table("x_phone", Phone, "phone", *_provenance())
    x_table("x_schedule", Schedule, "schedule", *_provenance(),
            Column("open_on_public_holidays", type="boolean", attr="open_on_public_holidays"))
    x_table("x_required_document", RequiredDocument, "required_document", *_provenance(),
            Column("position", type="integer", attr="position", check=_non_negative))
    return result


def _key(table: Table, values: dict[str, Any]) -> Any:
    if table.name == "x_taxonomy_term_label":
        return (values.get("term_id"), values.get("locale"))
    return values.get("id")


# ------------------------------------------------------------------ export


@dataclass
class ExportSummary:
    folder: Path
    rows: dict[str, int]  # by file name
    json_file: Path


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives stored UTC times back without their zone
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def attribute_id(service_id: str, term_id: str) -> str:
    return str(uuid.uuid5(ATTRIBUTE_NAMESPACE, f"{service_id}:{term_id}"))


def _export_rows(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows as Python values (None: no value)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in tables().values():
        if table.name == "attribute":
            links = session.execute(
                select(service_taxonomy_term.c.service_id, service_taxonomy_term.c.taxonomy_term_id)
                .order_by(service_taxonomy_term.c.service_id, service_taxonomy_term.c.taxonomy_term_id)
            )
            rows[table.name] = [
                {**dict.fromkeys(table.column_names), "id": attribute_id(service_id, term_id),
                 "link_id": service_id, "taxonomy_term_id": term_id, "link_entity": "service"}
                for service_id, term_id in links
            ]
            continue
        query = select(table.model)
        if table.model is TaxonomyTermLabel:
            query = query.order_by(TaxonomyTermLabel.term_id, TaxonomyTermLabel.locale)
        elif table.model is RequiredDocument:
            # In each service's order: a reader without x_required_documents.csv keeps it.
            query = query.order_by(RequiredDocument.service_id, RequiredDocument.position, RequiredDocument.id)
        else:
            query = query.order_by(table.model.id)
        if table.model is TaxonomyTerm:
            query = query.options(selectinload(TaxonomyTerm.taxonomy))
        result = []
        for record in session.scalars(query):
            row = {}
            for column in table.columns:
                if column.export is not None:
                    row[column.name] = column.export(record)
                elif column.attr is not None:
                    row[column.name] = getattr(record, column.attr)
                else:
                    row[column.name] = None
            result.append(row)
        rows[table.name] = result
    return rows


def _text_value(value: Any) -> str:
    """A value as a CSV cell (Table Schema's default formats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)  # floats: the shortest text that reads back as the same number


def _json_value(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    return _text_value(value)


def _json_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """HSDS JSON has no nulls: a value the directory lacks is left out; one
    HSDS requires is an empty string, as in the CSV."""
    result = {}
    for column in table.columns:
        value = row[column.name]
        if value is not None:
            result[column.name] = _json_value(value)
        elif table.hsds and _hsds_required(table.name, column.name):
            result[column.name] = ""
    return result


@cache
def _hsds_required_columns() -> frozenset[tuple[str, str]]:
    return frozenset(
        (resource["name"], spec["name"])
        for resource in hsds_descriptor()["resources"]
        for spec in resource["schema"]["fields"]
        if spec.get("constraints", {}).get("required")
    )


def _hsds_required(table: str, column: str) -> bool:
    return (table, column) in _hsds_required_columns()


def _x_descriptor(table: Table) -> dict[str, Any]:
    fields = []
    for column in table.columns:
        spec: dict[str, Any] = {"name": column.name, "type": column.type}
        if column.format:
            spec["format"] = column.format
        constraints: dict[str, Any] = {"required": column.required}
        if column.enum:
            constraints["enum"] = list(column.enum)
        spec["constraints"] = constraints
        fields.append(spec)
    schema: dict[str, Any] = {"fields": fields}
    if table.name == "x_taxonomy_term_label":
        schema["primaryKey"] = ["term_id", "locale"]
    else:
        schema["primaryKey"] = "id"
    foreign_keys = []
    if table.extends:
        foreign_keys.append({"fields": "id", "reference": {"resource": table.extends, "fields": "id"}})
    for column in table.columns:
        if column.reference and column.name != "id":
            foreign_keys.append({"fields": column.name, "reference": {"resource": column.reference, "fields": "id"}})
    if foreign_keys:
        schema["foreignKeys"] = foreign_keys
    return {
        "name": table.name,
        "path": table.path,
        "description": table.description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "profile": "tabular-data-resource",
        "hsds": False,
        "schema": schema,
    }


def _descriptor() -> dict[str, Any]:
    official = hsds_descriptor()
    by_name = {r["name"]: r for r in official["resources"]}
    resources = []
    for table in tables().values():
        if table.hsds:
            resources.append(copy.deepcopy(by_name[table.name]))
        else:
            resources.append(_x_descriptor(table))
    return {
        "name": "lv-lt-border-social-services",
        "title": "Social services directory of the Latvia–Lithuania border region",
        "description": (
            "An Open Referral HSDS 3.0 tabular data package (the resources this directory has data for, "
            "with the columns and types of HSDS's own datapackage.json; columns the directory does not "
            "hold are present and empty). Resources named x_… are not part of HSDS: they hold what HSDS "
            "has no column for (source documents, source_id, slugs, codes, term labels in each language, "
            "flags). Address.region holds the municipality (novads / savivaldybė); service.assured_date "
            "is the day a person last confirmed the listing; required HSDS fields the sources do not state "
            "are empty. directory.json holds the same rows as JSON: {resource name: [rows]}."
        ),
        "profile": "tabular-data-package",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hsds_version": official["version"],
        "homepage": official["homepage"],
        "sources": [{"title": official["title"] + " " + official["version"], "path": official["homepage"]}],
        "resources": resources,
    }


# Columns through which a row belongs to an organization, service, location
# or another row (x_ tables share their base row's id).
_OWNER_COLUMNS = ("id", "organization_id", "service_id", "location_id", "link_id")


def _without_unpublished(session: Session, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows minus organizations still waiting for review and everything
    that belongs to them. Tables come base first, so a dropped row's id also
    drops the rows that hang on it (an address on a dropped location, the
    x_ row of a dropped phone)."""
    pending = set(session.scalars(select(Organization.id).where(Organization.status != "published")))
    if not pending:
        return rows
    excluded = set(pending)
    excluded.update(session.scalars(select(Service.id).where(Service.organization_id.in_(pending))))
    excluded.update(session.scalars(select(Location.id).where(Location.organization_id.in_(pending))))
    kept: dict[str, list[dict[str, Any]]] = {}
    for name, table_rows in rows.items():
        kept[name] = []
        for row in table_rows:
            if any(row.get(column) in excluded for column in _OWNER_COLUMNS):
                if row.get("id") is not None:
                    excluded.add(row["id"])
            else:
                kept[name].append(row)
    return kept


def export_package(session: Session, folder: str | Path, published_only: bool = False) -> ExportSummary:
    """Write the directory to `folder` (made if missing): datapackage.json, one
    CSV per table (UTF-8) and directory.json with the same rows. With
    `published_only`, organizations waiting for review are left out, with
    everything that belongs to them: what a public open-data release needs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = _export_rows(session)
    if published_only:
        rows = _without_unpublished(session, rows)
    counts = {}
    for table in tables().values():
        with (folder / table.path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.column_names)
            for row in rows[table.name]:
                writer.writerow([_text_value(row[name]) for name in table.column_names])
        counts[table.path] = len(rows[table.name])
    with (folder / DESCRIPTOR_NAME).open("w", encoding="utf-8") as handle:
        json.dump(_descriptor(), handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    json_file = folder / JSON_NAME
    with json_file.open("w", encoding="utf-8") as handle:
        json.dump({table.name: [_json_row(table, row) for row in rows[table.name]] for table in tables().values()},
                  handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    return ExportSummary(folder, counts, json_file)


# ------------------------------------------------------------------ reading


class Refused(Exception):
    """The files cannot be read at all: one problem says why."""

    def __init__(self, file: str, message, row: int | None = None, field_name: str | None = None):
        super().__init__(str(message))
        self.problem = Problem(file, row, field_name, message)


@dataclass
class RawTable:
    table: str
    file: str  # as reports name it
    header: list[str] | None  # a CSV file's header; None for JSON
    header_row: int | None
    rows: list[tuple[int, dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)  # rows that could not be read


@dataclass
class Package:
    source: str
    tables: dict[str, RawTable] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # files that could not be read
    # Filled by validate(): the rows as Python values, by table.
    valid: dict[str, list[tuple[int, dict[str, Any]]]] | None = None
    derived: dict[str, dict[Any, Any]] = field(default_factory=dict)


class _Files:
    """Where the package's files are: a folder or a .zip."""

    label = ""

    def read(self, name: str) -> bytes:
        raise NotImplementedError


def _safe_relative(name: str) -> PurePosixPath | None:
    """A relative path inside the package, or None (absolute, .., a drive,
    a URL, backslashes)."""
    if not name or "\\" in name or "\x00" in name or ":" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts):
        return None
    return path


class _Folder(_Files):
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.label = root.name

    def has(self, name: str) -> bool:
        return (self.root / name).is_file()

    def read(self, name: str) -> bytes:
        relative = _safe_relative(name)
        if relative is None:
            raise Refused(name, _l("Unsafe file path: it must name a file inside the package."))
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise Refused(name, _l("Unsafe file path: it must name a file inside the package."))
        try:
            info = path.stat()
        except FileNotFoundError:
            raise Refused(name, _l("The file is missing.")) from None
        if not stat.S_ISREG(info.st_mode):
            raise Refused(name, _l("Not a file."))
        if info.st_size > MAX_FILE_BYTES:
            raise Refused(name, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise Refused(name, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
        return data


class _Zip(_Files):
    """A .zip checked from its directory before a byte is unpacked: number of
    entries, declared sizes, paths that would leave the folder, links,
    encryption. Reading then stops at the declared size (zipfile checks the
    CRC), so a lying header cannot unpack more."""

    def __init__(self, archive: zipfile.ZipFile, label: str):
        self.archive = archive
        self.label = label
        infos = archive.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise Refused(label, _l("The archive holds more than %(limit)d entries.", limit=MAX_ARCHIVE_MEMBERS))
        total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            relative = _safe_relative(info.filename)
            if relative is None:
                raise Refused(label, _l("Unsafe path in the archive: %(path)s. Nothing was unpacked.",
                                        path=info.filename))
            if stat.S_ISLNK(info.external_attr >> 16):
                raise Refused(label, _l("The archive holds a link (%(path)s). Nothing was unpacked.",
                                        path=info.filename))
            if info.flag_bits & 0x1:
                raise Refused(label, _l("The archive is encrypted."))
            if info.file_size > MAX_FILE_BYTES:
                raise Refused(label, _l("%(path)s would unpack to more than %(limit)s. Nothing was unpacked.",
                                        path=info.filename, limit=format_size(MAX_FILE_BYTES)))
            total += info.file_size
            if total > MAX_ARCHIVE_BYTES:
                raise Refused(label, _l("The archive would unpack to more than %(limit)s. Nothing was unpacked.",
                                        limit=format_size(MAX_ARCHIVE_BYTES)))
            if not info.is_dir():
                self.members[str(relative)] = info
        self.prefix = ""

    def find_root(self) -> str | None:
        """The datapackage.json at the top or in one folder; the JSON file
        when there is none; None when neither."""
        descriptors = [n for n in self.members if PurePosixPath(n).name == DESCRIPTOR_NAME
                       and len(PurePosixPath(n).parts) <= 2]
        if len(descriptors) > 1:
            raise Refused(self.label, _l("The archive holds more than one datapackage.json."))
        if descriptors:
            parent = str(PurePosixPath(descriptors[0]).parent)
            self.prefix = "" if parent == "." else parent + "/"
            return DESCRIPTOR_NAME
        json_files = [n for n in self.members if n.lower().endswith(".json") and len(PurePosixPath(n).parts) <= 2]
        if len(json_files) == 1:
            return json_files[0]
        raise Refused(self.label, _l("The archive holds no datapackage.json."))

    def has(self, name: str) -> bool:
        return self.prefix + name in self.members

    def read(self, name: str) -> bytes:
        relative = _safe_relative(name)
        if relative is None:
            raise Refused(name, _l("Unsafe file path: it must name a file inside the package."))
        info = self.members.get(self.prefix + str(relative))
        if info is None:
            raise Refused(name, _l("The file is missing."))
        try:
            with self.archive.open(info) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError):
            raise Refused(name, _l("The archive is damaged: this file cannot be unpacked.")) from None
        if len(data) > MAX_FILE_BYTES:
            raise Refused(name, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
        return data


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise Refused(file, _l("Not UTF-8 text (line %(line)d). Save the file with the UTF-8 encoding.",
                               line=line), row=line) from None


def _parse_json(data: bytes, file: str) -> Any:
    text = _decode(data, file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Refused(file, _l("Not valid JSON (line %(line)d, column %(column)d).",
                               line=error.lineno, column=error.colno), row=error.lineno) from None
    except RecursionError:
        raise Refused(file, _l("Not valid JSON: nested too deeply.")) from None


def _parse_csv(data: bytes, file: str, table: str) -> RawTable:
    text = _decode(data, file)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row_number = 0
    header: list[str] | None = None
    raw = RawTable(table, file, None, 1, [])
    try:
        for cells in reader:
            row_number += 1
            if header is None:
                header = raw.header = [cell.strip() for cell in cells]
                continue
            if not cells or cells == [""]:
                continue  # a blank line
            if len(raw.rows) >= MAX_ROWS:
                raise Refused(file, _l("The file has more than %(limit)d rows.", limit=MAX_ROWS))
            if len(cells) != len(header):
                raw.problems.append(Problem(file, row_number, None, _l(
                    "The row has %(found)d cells; the header has %(expected)d.",
                    found=len(cells), expected=len(header))))
                continue
            raw.rows.append((row_number, dict(zip(header, cells))))
    except csv.Error as error:
        raise Refused(file, _l("Not valid CSV: %(error)s.", error=str(error)), row=row_number + 1) from None
    if header is None or header == [""]:
        raise Refused(file, _l("The file is empty: it needs a header row with the column names."), row=1)
    return raw


def _read_json_package(data: bytes, file: str, package: Package) -> None:
    document = _parse_json(data, file)
    if not isinstance(document, dict):
        raise Refused(file, _l("The JSON file must hold an object: {\"table name\": [rows]}."))
    known = tables()
    hsds_names = {r["name"] for r in hsds_descriptor()["resources"]}
    for name, rows in document.items():
        label = f"{file} [{name}]"
        if name not in known:
            _ignored_table(package, label, name in hsds_names)
            continue
        if not isinstance(rows, list):
            raise Refused(label, _l("A list of rows expected."))
        if len(rows) > MAX_ROWS:
            raise Refused(label, _l("The file has more than %(limit)d rows.", limit=MAX_ROWS))
        table_rows = []
        for index, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise Refused(label, _l("Each row must be an object."), row=index)
            table_rows.append((index, row))
        package.tables[name] = RawTable(name, label, None, None, table_rows)


def _ignored_table(package: Package, label: str, is_hsds: bool) -> None:
    if is_hsds:
        message = _l("Not imported: this directory does not keep this HSDS table.")
    else:
        message = _l("Not imported: not a table this directory knows.")
    package.warnings.append(Problem(label, None, None, message))


def _read_tabular_package(files: _Files, package: Package) -> None:
    descriptor = _parse_json(files.read(DESCRIPTOR_NAME), DESCRIPTOR_NAME)
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list):
        raise Refused(DESCRIPTOR_NAME, _l("datapackage.json must be an object with a list of resources."))
    known = tables()
    by_path = {table.path: table.name for table in known.values()}
    hsds_names = {r["name"] for r in hsds_descriptor()["resources"]}
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
            raise Refused(DESCRIPTOR_NAME, _l("Each resource needs a name and the path of one file."))
        name, path = resource["name"], resource.get("path")
        if not isinstance(path, str):
            raise Refused(DESCRIPTOR_NAME, _l("Each resource needs a name and the path of one file."), field_name=name)
        if name not in known and by_path.get(path) is not None:
            name = by_path[path]
        if name not in known:
            _ignored_table(package, path, name in hsds_names)
            continue
        if name in package.tables:
            raise Refused(DESCRIPTOR_NAME, _l("The resource is listed twice."), field_name=name)
        if _safe_relative(path) is None:
            raise Refused(DESCRIPTOR_NAME, _l("Unsafe file path: it must name a file inside the package."),
                          field_name=name)
        try:
            package.tables[name] = _parse_csv(files.read(path), path, name)
        except Refused as refused:  # one file: the others are still checked
            package.problems.append(refused.problem)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def read_package(path: str | Path, name: str | None = None) -> Package | Report:
    """The rows of a data package (folder, .zip, datapackage.json or JSON
    file), or a report saying why it cannot be read. `name`: what reports
    call the file (an upload's own name), its file name by default."""
    path = Path(path)
    label = name or path.name
    package = Package(source=label)
    try:
        if path.is_dir():
            folder = _Folder(path)
            if not folder.has(DESCRIPTOR_NAME):
                raise Refused(label, _l("The folder has no datapackage.json."))
            _read_tabular_package(folder, package)
        elif not path.is_file():
            raise Refused(label, _l("No such file or folder."))
        elif path.name == DESCRIPTOR_NAME:
            _read_tabular_package(_Folder(path.parent), package)
        elif _is_zip(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    files = _Zip(archive, label)
                    root = files.find_root()
                    if root == DESCRIPTOR_NAME:
                        _read_tabular_package(files, package)
                    else:
                        _read_json_package(files.read(root), root, package)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
                raise Refused(label, _l("Not a valid ZIP archive.")) from None
        else:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise Refused(label, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise Refused(label, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
            _read_json_package(data, label, package)
    except Refused as refused:
        report = Report(warnings=list(package.warnings))
        problem = refused.problem
        report.problem(problem.file, problem.row, problem.field, problem.message)
        return report
    return package


# ------------------------------------------------------------------ values


class Invalid(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


UUID_FORM = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_FORM = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
TRUE_VALUES = {"true", "1", "yes"}
FALSE_VALUES = {"false", "0", "no"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _web_address(value: str) -> bool:
    from urllib.parse import urlsplit

    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def convert(table: str, column: Column, value: Any) -> Any:
    """A cell (CSV text or a JSON value) as a Python value, None when empty;
    Invalid says what is wrong."""
    if _missing(value):
        return None
    kind = column.type
    if kind == "string":
        if not isinstance(value, str):
            raise Invalid(_l("Text expected."))
        if column.format or column.enum or column.check:
            value = value.strip()
        if (table, column.name) in UPPER:
            value = value.upper()
        if column.format == "uuid":
            if not UUID_FORM.match(value):
                raise Invalid(_l("Not an id in UUID form, such as 0a034c5e-dfa1-575b-9fde-c5cbdd882753."))
            value = value.lower()
        elif column.format == "email":
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                raise Invalid(_l("Not an e-mail address.")) from None
        elif column.format == "uri":
            if not _web_address(value):
                raise Invalid(_l("Not a web address starting with http:// or https://."))
        if column.enum and value not in column.enum:
            raise Invalid(_l("Use one of: %(choices)s.", choices=", ".join(column.enum)))
        if column.check is not None:  # the more telling message first
            message = column.check(value)
            if message is not None:
                raise Invalid(message)
        if column.max_length and len(value) > column.max_length:
            raise Invalid(_l("Use at most %(max)d characters.", max=column.max_length))
        return value
    elif kind in ("number", "integer"):
        if isinstance(value, bool):
            raise Invalid(_l("Not a number."))
        if isinstance(value, str):
            try:
                value = float(value.strip()) if not re.fullmatch(r"\s*[+-]?\d+\s*", value) else int(value)
            except ValueError:
                raise Invalid(_l("Not a number.")) from None
        if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
            raise Invalid(_l("Not a number."))
        if kind == "integer" or column.integer:
            if isinstance(value, float):
                if not value.is_integer():
                    raise Invalid(_l("Not a whole number."))
                value = int(value)
            if abs(value) > 2**31 - 1:
                raise Invalid(_l("The number is too large."))
        elif isinstance(value, int):
            value = float(value)
    elif kind == "boolean":
        if isinstance(value, str):
            text = value.strip().lower()
            if text in TRUE_VALUES:
                value = True
            elif text in FALSE_VALUES:
                value = False
        if not isinstance(value, bool):
            raise Invalid(_l("Not true or false."))
    elif kind == "date":
        if not isinstance(value, str) or not DATE_FORM.match(value.strip()):
            raise Invalid(_l("Not a date in the form YYYY-MM-DD."))
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(_l("Not a date in the form YYYY-MM-DD.")) from None
    elif kind == "time":
        if not isinstance(value, str) or not TIME_FORM.match(value.strip()):
            raise Invalid(_l("Not a time in the form HH:MM or HH:MM:SS."))
        try:
            value = time.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(_l("Not a time in the form HH:MM or HH:MM:SS.")) from None
    elif kind == "datetime":
        try:
            value = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            value = None
        if value is None:
            raise Invalid(_l("Not a date and time in ISO 8601 form, such as 2024-05-31T09:00:00Z."))
    if column.check is not None:
        message = column.check(value)
        if message is not None:
            raise Invalid(message)
    return value


# ------------------------------------------------------------------ validation

REFERENCE_MESSAGES = {
    "organization": _l("No organization with this id in the package or the database."),
    "service": _l("No service with this id in the package or the database."),
    "location": _l("No location with this id in the package or the database."),
    "taxonomy": _l("No taxonomy with this id in the package or the database."),
    "taxonomy_term": _l("Unknown taxonomy term: no term with this id in the package or the database."),
    "x_source_document": _l("No source document with this id in the package or the database."),
}
MODELS = {
    "organization": Organization, "service": Service, "location": Location, "taxonomy": Taxonomy,
    "taxonomy_term": TaxonomyTerm, "x_source_document": SourceDocument, "address": Address,
    "service_at_location": ServiceAtLocation, "contact": Contact, "phone": Phone, "schedule": Schedule,
    "language": Language, "accessibility": Accessibility, "required_document": RequiredDocument,
}


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _existing_ids(session: Session, model: type, ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(session.scalars(select(model.id).where(model.id.in_(chunk))))
    return found


def _check_header(raw: RawTable, table: Table, report: Report) -> bool:
    names = table.column_names
    good = True
    if raw.header is not None and len(raw.header) == 1 and ";" in raw.header[0]:
        # A spreadsheet saved with the Baltic locales' list separator.
        report.problem(raw.file, raw.header_row, None,
                       _l("Columns must be separated by commas; this file uses semicolons."))
        return False
    if raw.header is not None:
        seen: set[str] = set()
        for name in raw.header:
            if name in seen:
                report.problem(raw.file, raw.header_row, name, _l("The column appears twice."))
                good = False
            elif name not in names:
                report.problem(raw.file, raw.header_row, name,
                               _l("Unknown column: %(table)s has no column of this name.", table=table.path))
                good = False
            seen.add(name)
        for name in names:
            if name not in seen:
                report.problem(raw.file, raw.header_row, name, _l("Missing column."))
                good = False
    else:
        unknown: dict[str, int] = {}
        for number, row in raw.rows:
            for name in row:
                if name not in names and name not in unknown:
                    unknown[name] = number
        for name, number in unknown.items():
            report.problem(raw.file, number, name,
                           _l("Unknown field: %(table)s has no column of this name.", table=table.name))
            good = False
    return good


def validate(session: Session, package: Package) -> Report:
    """Check every row of `package`; the report lists every problem (file,
    row, field) and what will be left out. Nothing is written."""
    report = Report(warnings=list(package.warnings))
    for problem in package.problems:
        report.problem(problem.file, problem.row, problem.field, problem.message)
    known = tables()
    valid: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    files = {name: raw.file for name, raw in package.tables.items()}
    rows_by_key: dict[str, dict[Any, tuple[int, dict[str, Any]]]] = {}
    unreadable = {table.name for table in known.values() if table.path in {p.file for p in package.problems}}
    invalid_cells: dict[tuple[str, int], set[str]] = {}  # (table, row) → columns with a wrong value

    # 1. Each row on its own: types, required fields, duplicates.
    for name in known:
        raw = package.tables.get(name)
        if raw is None:
            continue
        table = known[name]
        if not _check_header(raw, table, report):
            unreadable.add(name)
            continue  # the rows cannot be read against a wrong header
        for problem in raw.problems:
            report.problem(problem.file, problem.row, problem.field, problem.message)
        rows, by_key = [], {}
        unheld: Counter[str] = Counter()
        for number, cells in raw.rows:
            values: dict[str, Any] = {}
            invalid_columns = set()
            for column in table.columns:
                try:
                    value = convert(name, column, cells.get(column.name))
                except Invalid as invalid:
                    report.problem(raw.file, number, column.name, invalid.message)
                    invalid_columns.add(column.name)
                    continue
                if value is None and column.required:
                    report.problem(raw.file, number, column.name, _l("Required: this field must not be empty."))
                values[column.name] = value
                if value is not None and not column.held and not column.derived:
                    unheld[column.name] += 1
            invalid_cells[(name, number)] = invalid_columns
            for field_name, message, involved in _row_problems(name, values):
                if not involved & invalid_columns:  # a wrong value is reported once
                    report.problem(raw.file, number, field_name, message)
            key = _key(table, values)
            if key is not None and None not in (key if isinstance(key, tuple) else (key,)):
                if key in by_key and table.name == "x_taxonomy_term_label":
                    report.problem(raw.file, number, "locale", _l(
                        "Duplicate: row %(row)d has a name of the same term in the same language.",
                        row=by_key[key][0]))
                elif key in by_key:
                    report.problem(raw.file, number, "id", _l("Duplicate id: row %(row)d has the same one.",
                                                              row=by_key[key][0]))
                else:
                    by_key[key] = (number, values)
            rows.append((number, values))
        for column_name, count in unheld.items():
            report.warn(raw.file, None, column_name, _l(
                "%(count)d values not imported: this directory has no place for this column.", count=count))
        valid[name] = rows
        rows_by_key[name] = by_key

    # 2. References to other tables, in the package or the database.
    wanted: dict[str, set[str]] = defaultdict(set)
    for (name, column_name), (target, _relationship) in REFERENCES.items():
        for number, values in valid.get(name, []):
            value = values.get(column_name)
            if value is None or (name == "attribute" and values.get("link_entity") != "service"):
                continue
            if value not in rows_by_key.get(target, {}):
                wanted[target].add(value)
    in_database = {target: _existing_ids(session, MODELS[target], ids) for target, ids in wanted.items()}
    for (name, column_name), (target, _relationship) in REFERENCES.items():
        for number, values in valid.get(name, []):
            value = values.get(column_name)
            if value is None or (name == "attribute" and values.get("link_entity") != "service"):
                continue
            if target in unreadable:
                continue  # its file's problem is reported already
            if value not in rows_by_key.get(target, {}) and value not in in_database.get(target, set()):
                report.problem(files[name], number, column_name, REFERENCE_MESSAGES[target])

    # 3. The x_ rows belong to a row of their HSDS table.
    for name, table in known.items():
        if table.extends is None:
            continue
        for number, values in valid.get(name, []):
            if table.extends in unreadable:
                break
            main = rows_by_key.get(table.extends, {}).get(values.get("id"))
            if values.get("id") is not None and main is None:
                report.problem(files[name], number, "id", _l("No row with this id in %(file)s.",
                                                             file=known[table.extends].path))
            elif (name == "x_location" and values.get("geocode_precision") and main[1].get("latitude") is None
                  and "latitude" not in invalid_cells.get((table.extends, main[0]), ())):
                report.problem(files[name], number, "geocode_precision",
                               _l("A geocode precision needs the location's coordinates."))

    # 4. Attributes of other things than services: left out, said so.
    skipped = Counter(values.get("link_entity") for _n, values in valid.get("attribute", [])
                      if values.get("link_entity") not in (None, "service"))
    for entity, count in skipped.items():
        report.warn(files["attribute"], None, "link_entity", _l(
            "%(count)d links to %(entity)s not imported: this directory links taxonomy terms to services only.",
            count=count, entity=entity))

    # 5. Loops of parents; codes, slugs and links another record already uses.
    _check_parents(session, package, valid, files, report, "organization", Organization,
                   Organization.parent_organization_id, "parent_organization_id")
    _check_parents(session, package, valid, files, report, "taxonomy_term", TaxonomyTerm,
                   TaxonomyTerm.parent_id, "parent_id")
    _check_unique_codes(session, package, valid, files, report)
    _check_rows_per_record(valid, files, report)

    package.valid = valid
    return report


def _too_many(table: str, count: int, limit: int):
    if table == "phone":
        return _l("Too many phones for one record (%(count)d, at most %(max)d).", count=count, max=limit)
    if table == "schedule":
        return _l("Too many opening hours for one record (%(count)d, at most %(max)d).", count=count, max=limit)
    return _l("Too many things to bring for one service (%(count)d, at most %(max)d).", count=count, max=limit)


def _check_rows_per_record(valid, files, report: Report) -> None:
    """One problem per record with more rows than ROWS_PER_RECORD allows,
    at the first row over the cap."""
    for table, (limit, owner_columns) in ROWS_PER_RECORD.items():
        for column in owner_columns:
            rows_of: dict[str, list[int]] = defaultdict(list)
            for number, values in valid.get(table, []):
                if values.get(column) is not None:
                    rows_of[values[column]].append(number)
            for numbers in rows_of.values():
                if len(numbers) > limit:
                    report.problem(files[table], numbers[limit], column, _too_many(table, len(numbers), limit))


def _row_problems(table: str, values: dict[str, Any]) -> list[tuple[str, Any, set[str]]]:
    """Checks across the fields of one row: (field, message, fields involved)."""
    problems = []
    if table == "location":
        if (values.get("latitude") is None) != (values.get("longitude") is None):
            missing = "latitude" if values.get("latitude") is None else "longitude"
            problems.append((missing, _l("Latitude and longitude go together: give both or neither."),
                             {"latitude", "longitude"}))
    if table == "service":
        low, high = values.get("minimum_age"), values.get("maximum_age")
        if low is not None and high is not None and low > high:
            problems.append(("minimum_age", _l("The minimum age is above the maximum age."),
                             {"minimum_age", "maximum_age"}))
    if table == "schedule":
        opens, closes = values.get("valid_from"), values.get("valid_to")
        if opens is not None and closes is not None and opens > closes:
            problems.append(("valid_from", _l("valid_from is after valid_to."), {"valid_from", "valid_to"}))
    if table in OWNERS and all(values.get(name) is None for name in OWNERS[table]):
        problems.append((OWNERS[table][0], _l("The row must name one of: %(fields)s.",
                                              fields=", ".join(OWNERS[table])), set(OWNERS[table])))
    return problems


def _check_parents(session, package, valid, files, report, name, model, parent_column, field_name) -> None:
    rows = valid.get(name, [])
    if not rows:
        return
    parents = dict(session.execute(select(model.id, parent_column)).all())
    for _number, values in rows:
        if values.get("id") is not None:
            parents[values["id"]] = values.get(field_name)
    for number, values in rows:
        start = values.get("id")
        if start is None or values.get(field_name) is None:
            continue
        seen, current = {start}, values.get(field_name)
        while current is not None:
            if current in seen:
                message = (_l("The organization would be among its own parents (a loop of parent organizations).")
                           if name == "organization" else _l("The term would be among its own parents (a loop)."))
                report.problem(files[name], number, field_name, message)
                break
            seen.add(current)
            current = parents.get(current)


def _make_code(name: str | None, fallback: str, limit: int = 50) -> str:
    """A code from a name: lowercase ASCII letters, digits and hyphens."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-") or fallback


def _settle(kind: str, rows, existing: dict[str, tuple[Any, str]], stated_of, make, group, clash,
            derived: dict[str, dict[Any, Any]], report: Report) -> None:
    """Decide a unique value (slug, code) for every row: the one the package
    states (a clash with another record is a problem), else the record's
    own, else one made from its name. `existing`: {id: (group, value)} in
    the database; `stated_of(values)` → (file, row, field, value) or None."""
    final = dict(existing)
    stated = {}
    for _number, values in rows:
        id_ = values.get("id")
        if id_ is None:
            continue
        where = stated_of(values)
        if where is not None:
            stated[id_] = where
            final[id_] = (group(values), where[3])
        elif id_ in existing:
            final[id_] = (group(values), existing[id_][1])
    owners: dict[tuple[Any, str], str] = {}
    for id_, key in final.items():
        if id_ not in stated:
            owners.setdefault(key, id_)
    # A record keeping its own value keeps it; the one taking it is told.
    keeping = sorted(stated, key=lambda id_: existing.get(id_, (None, None))[1] != stated[id_][3])
    for id_ in keeping:
        file, row, field_name, _value = stated[id_]
        if owners.setdefault(final[id_], id_) != id_:
            report.problem(file, row, field_name, clash)
    taken = set(final.values())
    for _number, values in rows:
        id_ = values.get("id")
        if id_ is None:
            continue
        if id_ in final:
            derived[kind][id_] = final[id_][1]
            continue
        base = make(values)
        candidate, counter = base, 2
        while (group(values), candidate) in taken:
            candidate, counter = f"{base}-{counter}", counter + 1
        taken.add((group(values), candidate))
        derived[kind][id_] = candidate


def _check_unique_codes(session: Session, package: Package, valid, files, report: Report) -> None:
    """Slugs, taxonomy codes, term codes and service–location links stay
    unique; a record without one (a package from another publisher) gets one
    made from its name. The values decided are kept for the import."""
    derived: dict[str, dict[Any, Any]] = {"slug": {}, "taxonomy_code": {}, "term_code": {}, "term_position": {}}
    package.derived = derived
    no_group = lambda values: None  # noqa: E731

    def x_rows(name):
        return {values["id"]: (number, values) for number, values in valid.get(name, []) if values.get("id")}

    def stated_in_x(name, column):
        rows = x_rows(name)

        def stated_of(values):
            number, x_values = rows.get(values["id"], (None, {}))
            value = x_values.get(column)
            return (files[name], number, column, value) if value is not None else None

        return stated_of

    if valid.get("organization"):
        existing = {id_: (None, slug) for id_, slug in session.execute(select(Organization.id, Organization.slug))}
        _settle("slug", valid["organization"], existing, stated_in_x("x_organization", "slug"),
                make=lambda values: slugify(values.get("name") or ""), group=no_group,
                clash=_l("Another organization already uses this slug."), derived=derived, report=report)

    if valid.get("taxonomy"):
        existing = {id_: (None, code) for id_, code in session.execute(select(Taxonomy.id, Taxonomy.code))}
        _settle("taxonomy_code", valid["taxonomy"], existing, stated_in_x("x_taxonomy", "code"),
                make=lambda values: _make_code(values.get("name"), "taxonomy"), group=no_group,
                clash=_l("Another taxonomy already uses this code."), derived=derived, report=report)

    terms = valid.get("taxonomy_term")
    if terms:
        existing_terms = session.execute(
            select(TaxonomyTerm.id, TaxonomyTerm.taxonomy_id, TaxonomyTerm.code, TaxonomyTerm.position)).all()
        existing = {id_: (taxonomy_id, code) for id_, taxonomy_id, code, _position in existing_terms}
        numbers = {values.get("id"): number for number, values in terms}

        def stated_code(values):
            code = values.get("code")
            return (files["taxonomy_term"], numbers[values["id"]], "code", code) if code is not None else None

        _settle("term_code", terms, existing, stated_code,
                make=lambda values: _make_code(values.get("name"), "term"),
                group=lambda values: values.get("taxonomy_id"),
                clash=_l("Another term of this taxonomy already uses this code."), derived=derived, report=report)
        # New terms without a position come after the others of their taxonomy.
        last: dict[str, int] = defaultdict(lambda: -1)
        for _id, taxonomy_id, _code, position in existing_terms:
            last[taxonomy_id] = max(last[taxonomy_id], position or 0)
        positions = {id_: values.get("position") for id_, (_n, values) in x_rows("x_taxonomy_term").items()}
        for _number, values in terms:
            if positions.get(values.get("id")) is not None:
                taxonomy_id = values.get("taxonomy_id")
                last[taxonomy_id] = max(last[taxonomy_id], positions[values["id"]])
        for _number, values in terms:
            id_ = values.get("id")
            if id_ is None or id_ in existing or positions.get(id_) is not None:
                continue
            last[values.get("taxonomy_id")] += 1
            derived["term_position"][id_] = last[values.get("taxonomy_id")]

    links = valid.get("service_at_location")
    if links:
        service_ids = {values.get("service_id") for _n, values in links if values.get("service_id")}
        package_ids = {values.get("id") for _n, values in links}
        taken: dict[tuple[str, str], str] = {}
        for chunk in _chunks(service_ids):
            for id_, service_id, location_id in session.execute(
                select(ServiceAtLocation.id, ServiceAtLocation.service_id, ServiceAtLocation.location_id)
                .where(ServiceAtLocation.service_id.in_(chunk))
            ):
                if id_ not in package_ids:  # the package says where the others go
                    taken[(service_id, location_id)] = id_
        for number, values in links:
            pair = (values.get("service_id"), values.get("location_id"))
            if None in pair or values.get("id") is None:
                continue
            other = taken.setdefault(pair, values["id"])
            if other != values["id"]:
                report.problem(files["service_at_location"], number, "location_id",
                               _l("This service is already offered at this location (id %(id)s).", id=other))


# ------------------------------------------------------------------ import


class _Writer:
    """Upserts rows by id in one session, parents first, counting."""

    def __init__(self, session: Session, package: Package, report: Report):
        self.session = session
        self.package = package
        self.report = report
        self.valid = package.valid or {}
        self.objects: dict[str, dict[Any, Any]] = defaultdict(dict)
        self.unchanged: set[tuple[str, Any]] = set()  # (table, id) of records put without a change
        self.x = {name: {values["id"]: values for _n, values in rows if values.get("id")}
                  for name, rows in self.valid.items() if name.startswith("x_") and name != "x_taxonomy_term_label"}

    def count(self, name: str) -> TableCount:
        if name not in self.report.counts:
            self.report.counts[name] = TableCount(self.package.tables[name].file)
        return self.report.counts[name]

    def load(self, name: str, ids: Iterable[str], *options) -> None:
        model = MODELS[name]
        for chunk in _chunks(set(ids) - set(self.objects[name])):
            for record in self.session.scalars(select(model).where(model.id.in_(chunk)).options(*options)):
                self.objects[name][record.id] = record

    def get(self, name: str, id_: str):
        record = self.objects[name].get(id_)
        if record is None:
            record = self.session.get(MODELS[name], id_)
            if record is not None:
                self.objects[name][id_] = record
        return record

    def put(self, name: str, model: type, id_: Any, values: dict[str, Any], refs: dict[str, tuple[str, str, str | None]],
            create: Callable[[], Any] | None = None):
        """Set `values` (attribute → value) and `refs` (attribute → (table,
        relationship, id)) on the record with this id, made if missing."""
        record = self.objects[name].get(id_)
        created = record is None
        if created:
            record = create() if create else model(id=id_)
            self.session.add(record)
            self.objects[name][id_] = record
        changed = False
        for attr, value in values.items():
            if created or getattr(record, attr) != value:
                if not created or value is not None:
                    setattr(record, attr, value)
                    changed = True
        for attr, (target, relationship, ref_id) in refs.items():
            if created or getattr(record, attr) != ref_id:
                if relationship is None:
                    setattr(record, attr, ref_id)
                else:
                    setattr(record, relationship, self.get(target, ref_id) if ref_id is not None else None)
                changed = True
        count = self.count(name)
        if created:
            count.created += 1
        elif changed:
            count.updated += 1
        else:
            count.unchanged += 1
            self.unchanged.add((name, id_))
        return record

    def changed_later(self, name: str, id_: Any) -> None:
        """A record put without a change was changed afterwards."""
        if (name, id_) in self.unchanged:
            self.unchanged.discard((name, id_))
            self.count(name).unchanged -= 1
            self.count(name).updated += 1

    def values_of(self, name: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple]]:
        """An HSDS row and its x_ row as attribute values and references."""
        table = tables()[name]
        plain: dict[str, Any] = {}
        refs: dict[str, tuple] = {}
        sources = [(table, values, True)]
        x_name = f"x_{name}"
        x_row = self.x.get(x_name, {}).get(values["id"])
        if x_row is not None:
            sources.append((tables()[x_name], x_row, False))
        for source_table, row, _hsds in sources:
            for column in source_table.columns:
                if not column.held or column.name == "id":
                    continue
                value = row.get(column.name)
                if column.reference is not None:
                    refs[column.attr] = (column.reference, column.relationship, value)
                else:
                    plain[column.attr] = value
        return plain, refs

    def table(self, name: str, model: type, keep_when_empty: dict[str, Any] | None = None, tweak=None) -> None:
        """Upsert every row of an HSDS table (with its x_ columns)."""
        rows = self.valid.get(name, [])
        if not rows:
            return
        self.load(name, [values["id"] for _n, values in rows], *self._options(name))
        for _number, values in rows:
            plain, refs = self.values_of(name, values)
            record = self.objects[name].get(values["id"])
            # Directory fields the package does not state keep their value, or
            # take their default on a new record.
            for attr, default in (keep_when_empty or {}).items():
                if plain.get(attr) is None:
                    if record is not None:
                        plain.pop(attr, None)
                    else:
                        plain[attr] = default(values) if callable(default) else default
            if f"x_{name}" in tables() and values["id"] not in self.x.get(f"x_{name}", {}):
                # No x_ row: the directory's own fields stay as they are.
                for column in tables()[f"x_{name}"].columns:
                    if column.name != "id" and column.held and record is not None:
                        plain.pop(column.attr, None)
                        refs.pop(column.attr, None)
            if tweak is not None:
                tweak(values, plain, refs, record)
            self.put(name, model, values["id"], plain, refs)

    def _options(self, name: str) -> tuple:
        if name == "location":
            return (selectinload(Location.addresses),)
        if name == "service":
            return (selectinload(Service.taxonomy_terms),)
        return ()


def _parents_first(rows: list[tuple[int, dict[str, Any]]], field_name: str) -> list[tuple[int, dict[str, Any]]]:
    by_id = {values["id"]: (number, values) for number, values in rows}
    ordered, placed = [], set()

    def place(id_, depth=0):
        if id_ in placed or id_ not in by_id or depth > len(by_id):
            return
        parent = by_id[id_][1].get(field_name)
        if parent is not None:
            place(parent, depth + 1)
        placed.add(id_)
        ordered.append(by_id[id_])

    for _number, values in rows:
        place(values["id"])
    return ordered


def _write(session: Session, package: Package, report: Report) -> None:
    writer = _Writer(session, package, report)
    valid, derived = writer.valid, package.derived

    # Source documents and taxonomies first: the rest names them.
    writer.load("x_source_document", [values["id"] for _n, values in valid.get("x_source_document", [])])
    for _number, values in valid.get("x_source_document", []):
        plain = {c.attr: values.get(c.name) for c in tables()["x_source_document"].columns if c.name != "id"}
        if plain["language"] is None:
            plain["language"] = getattr(writer.objects["x_source_document"].get(values["id"]), "language", None) or "lv"
        writer.put("x_source_document", SourceDocument, values["id"], plain, {})
    writer.table("taxonomy", Taxonomy, keep_when_empty={"code": lambda v: derived["taxonomy_code"][v["id"]]},
                 tweak=lambda v, plain, refs, record: plain.update(description=plain.get("description") or ""))

    def term_tweak(values, plain, refs, record):
        plain["description"] = plain.get("description") or ""
        if plain.get("code") is None:
            plain["code"] = derived["term_code"][values["id"]]
        if plain.get("position") is None:
            if record is None:
                plain["position"] = derived["term_position"].get(values["id"], 0)
            else:
                plain.pop("position", None)

    valid_terms = valid.get("taxonomy_term")
    if valid_terms:
        writer.valid["taxonomy_term"] = _parents_first(valid_terms, "parent_id")
    writer.table("taxonomy_term", TaxonomyTerm, tweak=term_tweak)
    labels = valid.get("x_taxonomy_term_label", [])
    if labels:
        existing = {}
        term_ids = {values["term_id"] for _n, values in labels}
        for chunk in _chunks(term_ids):
            for label in session.scalars(select(TaxonomyTermLabel).where(TaxonomyTermLabel.term_id.in_(chunk))):
                existing[(label.term_id, label.locale)] = label
        writer.objects["x_taxonomy_term_label"] = existing
        for _number, values in labels:
            key = (values["term_id"], values["locale"])
            writer.put("x_taxonomy_term_label", TaxonomyTermLabel, key, {"name": values["name"]},
                       {"term_id": ("taxonomy_term", "term", values["term_id"])},
                       create=lambda values=values: TaxonomyTermLabel(locale=values["locale"]))

    # Organizations, parents before their children.
    organizations = valid.get("organization")
    if organizations:
        writer.valid["organization"] = _parents_first(organizations, "parent_organization_id")
    writer.table("organization", Organization, keep_when_empty={
        "slug": lambda v: derived["slug"][v["id"]], "text_language": "lv", "status": "published",
    }, tweak=lambda v, plain, refs, record: plain.update(description=plain.get("description") or ""))

    writer.table("service", Service, keep_when_empty={"status": "active"},
                 tweak=lambda v, plain, refs, record: plain.update(description=plain.get("description") or ""))

    # Locations, then their addresses, then the coordinates the package states.
    coordinates = {}

    def location_tweak(values, plain, refs, record):
        coordinates[values["id"]] = (plain.pop("latitude", None), plain.pop("longitude", None),
                                     plain.pop("geocode_precision", None), values["id"] in writer.x.get("x_location", {}))

    writer.table("location", Location, keep_when_empty={"location_type": "physical"}, tweak=location_tweak)
    writer.table("address", Address, keep_when_empty={"address_type": "physical"})
    for id_, (latitude, longitude, precision, stated) in coordinates.items():
        if latitude is None:
            continue  # not stated: geocoded from the address, as any saved location
        location = writer.objects["location"][id_]
        if not stated:  # another publisher's coordinates: as exact as they say, unless they did not move
            same = (location.latitude, location.longitude) == (latitude, longitude)
            precision = location.geocode_precision if same else None
        address = location.physical_address
        # The address these coordinates belong to: the geocoding hook then
        # leaves them alone, and asks again when the address changes.
        query = address_query(address) if address is not None else None
        for attr, value in (("latitude", latitude), ("longitude", longitude),
                            ("geocode_precision", precision), ("geocoded_query", query)):
            if getattr(location, attr) != value:
                setattr(location, attr, value)
                writer.changed_later("location", id_)
    locate_changed_addresses(session, writer.objects["address"].values())  # new or moved addresses: map positions

    writer.table("service_at_location", ServiceAtLocation)
    writer.table("contact", Contact)
    writer.table("phone", Phone)
    writer.table("schedule", Schedule, keep_when_empty={"freq": "WEEKLY", "open_on_public_holidays": False})
    writer.table("language", Language)
    writer.table("accessibility", Accessibility)

    # What to bring: a new document the package gives no position comes after
    # its service's documents in the database and those before it in the
    # package (a known one keeps its own).
    positions: dict[str, int] = {}

    def next_position(values: dict[str, Any]) -> int:
        service_id = values["service_id"]
        if service_id not in positions:
            last = session.scalar(select(func.max(RequiredDocument.position))
                                  .where(RequiredDocument.service_id == service_id))
            positions[service_id] = -1 if last is None else last
        positions[service_id] += 1
        return positions[service_id]

    writer.table("required_document", RequiredDocument, keep_when_empty={"position": next_position})

    # Links between services and taxonomy terms: each service the package
    # lists gets exactly the links its attributes name.
    attributes = [values for _n, values in valid.get("attribute", []) if values.get("link_entity") == "service"]
    if "attribute" in valid:
        wanted: dict[str, list[str]] = defaultdict(list)
        for values in attributes:
            if values["taxonomy_term_id"] not in wanted[values["link_id"]]:
                wanted[values["link_id"]].append(values["taxonomy_term_id"])
        for _n, values in valid.get("service", []):
            wanted.setdefault(values["id"], [])
        writer.load("service", wanted.keys(), selectinload(Service.taxonomy_terms))
        count = writer.count("attribute")
        in_services_file = {values["id"] for _n, values in valid.get("service", [])}
        for service_id, term_ids in wanted.items():
            service = writer.get("service", service_id)
            current = {term.id for term in service.taxonomy_terms}
            # A service the package does not list keeps its other links.
            target = set(term_ids) | (set() if service_id in in_services_file else current)
            count.created += len(target - current)
            count.unchanged += len(target & current)
            count.removed += len(current - target)
            if target != current:
                service.taxonomy_terms = [writer.get("taxonomy_term", term_id) for term_id in sorted(target)]


# PostgreSQL's answers to a write racing another: serialization failure,
# deadlock, lock not available.
RACE_SQLSTATES = ("40001", "40P01", "55P03")


def _changed_meanwhile(error: SQLAlchemyError) -> bool:
    """Whether a write refused after a clean validation lost a race: a record
    edited since it was read (its version moved), one created or deleted
    since the checks (a key or a reference), or a lock held too long."""
    if isinstance(error, (StaleDataError, IntegrityError)):
        return True
    if isinstance(error, OperationalError):
        original = error.orig
        return getattr(original, "sqlstate", None) in RACE_SQLSTATES or "database is locked" in str(original)
    return False


def import_package(session: Session, path: str | Path, user=None, name: str | None = None) -> Report:
    """Read, validate and import a package in one transaction: everything, or
    nothing when any row has a problem. Never raises for bad input. `user`:
    who imports (for the audit log); `name`: what reports call the file."""
    package = read_package(path, name)
    if isinstance(package, Report):
        return package
    report = validate(session, package)
    if not report.ok:
        session.rollback()
        return report
    try:
        with session.no_autoflush:
            _write(session, package, report)
        session.flush()
        totals = report.totals()
        audit.record(session, "data-import", user, "package", None, file=package.source,
                     created=totals.created, updated=totals.updated, removed=totals.removed)
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        report.counts.clear()
        detail = str(getattr(error, "orig", None) or error).splitlines()[0][:300]
        if _changed_meanwhile(error):
            logger.warning("Import of %s lost a race with another write: %s", package.source, detail)
            report.problem(package.source, None, None,
                           _l("Someone changed these records meanwhile; run the import again."))
        else:
            report.problem(package.source, None, None,
                           _l("The database refused the import (%(error)s). Nothing was imported.", error=detail))
        return report
    report.imported = True
    return report
