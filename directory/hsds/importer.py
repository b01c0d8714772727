"""Writing a valid package into the database in one transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..geocoding import address_query, locate_changed_addresses
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
    SourceDocument,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
)
from .mapping import same_value, tables
from .reader import Package, read_package
from .report import Report, TableCount, logger
from .validator import MODELS, _chunks, validate

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
            if created or not same_value(getattr(record, attr), value):
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
