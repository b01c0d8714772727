"""Writing a tabular data package (CSV + datapackage.json) and the same rows as JSON."""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..confidential import public_record
from ..models import (
    CostOption,
    Location,
    Organization,
    RequiredDocument,
    Service,
    ServiceTermLink,
    TaxonomyTerm,
    TaxonomyTermLabel,
)
from .mapping import (
    DESCRIPTOR_NAME,
    HSDS_REQUIRED_ADDRESS_PARTS,
    INCOMPLETE_ADDRESS,
    JSON_NAME,
    Table,
    _utc,
    hsds_descriptor,
    hsds_row,
    tables,
)

# ------------------------------------------------------------------ export


@dataclass
class ExportSummary:
    folder: Path
    rows: dict[str, int]  # by file name
    json_file: Path


def _export_rows(session: Session, public: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows as Python values (None: no value), from the one
    mapping (mapping.hsds_row). `public`: confidential locations and their
    addresses as anyone may read them (directory/confidential.py): the
    town's coordinates, no street, postal code or directions."""
    hidden = set(session.scalars(select(Location.id).where(Location.confidential))) if public else set()

    def shown(record: Any) -> Any:
        return public_record(record, hidden) if hidden else record

    rows: dict[str, list[dict[str, Any]]] = {}
    for table in tables().values():
        if table.name == INCOMPLETE_ADDRESS:
            continue  # filled with the addresses below
        query = select(table.model)
        if table.model is TaxonomyTermLabel:
            query = query.order_by(TaxonomyTermLabel.term_id, TaxonomyTermLabel.locale)
        elif table.model is ServiceTermLink:
            query = query.order_by(ServiceTermLink.service_id, ServiceTermLink.taxonomy_term_id)
        elif table.model is RequiredDocument:
            # In each service's order: a reader without x_required_documents.csv keeps it.
            query = query.order_by(RequiredDocument.service_id, RequiredDocument.position, RequiredDocument.id)
        elif table.model is CostOption and table.hsds:
            # The same: a reader without x_cost_options.csv keeps each service's order.
            query = query.order_by(CostOption.service_id, CostOption.position, CostOption.id)
        else:
            query = query.order_by(table.model.id)
        if table.model is TaxonomyTerm:
            query = query.options(selectinload(TaxonomyTerm.taxonomy))
        elif table.model is Service:
            query = query.options(selectinload(Service.organization))
        elif table.model is Location and hidden:
            query = query.options(selectinload(Location.addresses))
        rows[table.name] = [hsds_row(table.name, shown(record)) for record in session.scalars(query)]
    # HSDS requires every part of an address; the directory states only what
    # its sources state: an address lacking a part goes to its own x_ file.
    complete, incomplete = [], []
    for row in rows["address"]:
        (complete if all(row[part] for part in HSDS_REQUIRED_ADDRESS_PARTS) else incomplete).append(row)
    rows["address"], rows[INCOMPLETE_ADDRESS] = complete, incomplete
    return {name: rows[name] for name in tables()}  # base tables before the rows hanging on them


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
    for column in table.written_columns:
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
    for column in table.written_columns:
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
    if table.extends and table.extends != "address":  # an address may be in either address file
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
    # A foreign key may only name a resource the package ships (services.csv's
    # program_id names programs.csv, which the directory has no data for).
    shipped = {resource["name"] for resource in resources}
    for resource in resources:
        keys = resource["schema"].get("foreignKeys")
        if keys is not None:
            kept = [key for key in keys if key["reference"].get("resource", resource["name"]) in shipped]
            if kept:
                resource["schema"]["foreignKeys"] = kept
            else:
                del resource["schema"]["foreignKeys"]
    return {
        "name": "lv-lt-border-social-services",
        "title": "Social services directory of the Latvia–Lithuania border region",
        "description": (
            "An Open Referral HSDS 3.1 tabular data package (the resources this directory has data for, "
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
# or another row (x_ tables share their base row's id; a service area or a
# phone may belong to a service at a location or a contact only).
_OWNER_COLUMNS = ("id", "organization_id", "service_id", "location_id", "link_id", "service_at_location_id",
                  "contact_id", "phone_id")


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
    everything that belongs to them, and confidential addresses show only
    their town: what a public open-data release needs. Without it the
    export is a complete backup, confidential addresses and all: for the
    directory's administrators only."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = _export_rows(session, public=published_only)
    if published_only:
        rows = _without_unpublished(session, rows)
    counts = {}
    for table in tables().values():
        names = [column.name for column in table.written_columns]
        with (folder / table.path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(names)
            for row in rows[table.name]:
                writer.writerow([_text_value(row[name]) for name in names])
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


