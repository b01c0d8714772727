"""Open Referral HSDS 3.0 data packages: export, import, the admin upload page.

The functions of directory/hsds/ are tested without a request; the
CLI commands and the admin page only call them. Every bad input must leave
the database exactly as it was, with a report naming file, row and field."""

from __future__ import annotations

import copy
import csv
import io
import json
import uuid
import zipfile
from datetime import date, time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from flask_babel import force_locale
from sqlalchemy import func, select, update

from conftest import clear_all_rows, csrf_token, login, soup
from directory import geocoding
from directory.costs import keep_free_flag
from directory.hsds import export as hsds_export
from directory.hsds import importer, mapping, reader, validator
from directory.hsds import report as hsds_report
from directory.extensions import db
from directory.models import (
    Accessibility,
    Address,
    AuditEvent,
    Contact,
    CostOption,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    Taxonomy,
    TaxonomyTerm,
)

HSDS_DIR = mapping.HSDS_DIR
OFFICIAL = json.loads((HSDS_DIR / "datapackage.json").read_text(encoding="utf-8"))
OFFICIAL_BY_NAME = {r["name"]: r for r in OFFICIAL["resources"]}
HSDS_TABLES = ["organization", "service", "location", "address", "service_at_location", "phone", "contact",
               "schedule", "language", "accessibility", "required_document", "taxonomy", "taxonomy_term",
               "attribute"]

# Not the directory's data: accounts, their history, residents' reports stay
# in this database and are never exported; geocode_cache is a cache of the
# geocoder's answers (the import asks it only for addresses without
# coordinates).
NOT_EXPORTED = {"user_account", "organization_editor", "revision", "audit_event", "outbox_message",
                "problem_report", "geocode_cache"}
# Set by the database when a row is written (timestamps) or changed
# (`version`, the optimistic-locking counter of the edit forms): a row the
# import writes once starts at version 1 and at the time of the import.
NOT_COMPARED_COLUMNS = {"created_at", "updated_at", "version"}


# ---------------------------------------------------------------- helpers


def all_rows() -> dict[str, list[tuple]]:
    """Every row of every table, every column: the database "exactly as it was"."""
    db.session.rollback()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(table.select())), key=repr)
        for table in db.metadata.sorted_tables
    }


def directory_rows() -> dict[str, list[tuple]]:
    """The directory's data, without what the database sets itself."""
    db.session.rollback()
    result = {}
    for table in db.metadata.sorted_tables:
        if table.name in NOT_EXPORTED:
            continue
        columns = [c for c in table.c if c.name not in NOT_COMPARED_COLUMNS]
        result[table.name] = sorted((tuple(row) for row in db.session.execute(select(*columns))), key=repr)
    return result


def empty_database() -> None:
    db.session.rollback()
    db.session.remove()
    clear_all_rows()


def org(slug: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def enrich() -> None:
    """Give the starter data a value in every column the export carries, so
    that the round trip checks them all (the sources state few of them)."""
    vigante = org("vigante")
    saskarsme = org("saskarsme")
    vigante.email = "vigante@example.lv"
    vigante.alternate_name = "SAKC “Vīgante”"
    vigante.legal_status = "pašvaldības iestāde"
    vigante.last_verified = date(2024, 5, 2)
    saskarsme.status = "pending"
    saskarsme.text_language = "ru"
    service = vigante.services[0]
    service.url = "https://www.example.lv/vigante"
    service.email = "pakalpojumi@example.lv"
    service.alternate_name = "Krīzes centrs"
    service.application_process = 'Zvaniet: "+371 6000 0000", tad\nnāciet, ar komatu, semikolu; un tabulāciju\t.'
    service.minimum_age, service.maximum_age = 3, 17
    service.last_verified = date(2024, 6, 1)
    # Free of charge follows from the cost options (directory/costs.py).
    service.cost_options = [CostOption(amount=0, currency="EUR", option="Krīzes centrā")]
    keep_free_flag(service)
    service.status = "temporarily closed"
    location = vigante.locations[0]
    location.transportation = "Autobuss 7"
    location.wheelchair_accessible = False
    address = location.addresses[0]
    address.address_2 = "2. stāvs"
    address.attention = "Vadītājai"
    address.postal_code = "LV-5107"
    address.state_province = "Vidzeme"
    address.last_verified = date(2024, 6, 2)
    db.session.add_all([
        Phone(organization=vigante, number="+371 6512 3456", type="voice", description="Reģistratūra",
              source=vigante.source, last_verified=date(2024, 1, 1)),
        Phone(service=service, location=location, number="+371 2000 0000", extension=12, type="cell"),
        Contact(service=service, name="Anna Bērziņa", title="Vadītāja", department="Krīzes centrs",
                email="anna@example.lv", last_verified=date(2024, 2, 2)),
        Schedule(service=service, byday="MO", opens_at=time(9, 0), closes_at=time(17, 30),
                 valid_from=date(2024, 1, 1), valid_to=date(2025, 12, 31), description="Darba dienās",
                 open_on_public_holidays=True, source=vigante.source),
        Schedule(location=location, byday="SA", opens_at=time(10, 0), closes_at=time(12, 0)),
        Language(service=service, code="lv", name="latviešu", note="Arī krievu valodā pēc vienošanās"),
        Language(location=location, code="ru"),
        Accessibility(location=location, description="Uzbrauktuve", details="Pie sētas durvīm",
                      url="https://www.example.lv/pieejamiba"),
        # Ids against the order: the order is the position's.
        RequiredDocument(id="ffffffff-0000-4000-8000-000000000001", service=service, position=0,
                         document="Pase vai personas apliecība", source=vigante.source,
                         last_verified=date(2024, 6, 3)),
        RequiredDocument(id="00000000-0000-4000-8000-000000000002", service=service, position=1,
                         document="Nosūtījums, ar komatu; un \"pēdiņām\"",
                         uri="https://www.example.lv/nosutijums.pdf"),
    ])
    taxonomy = db.session.scalar(select(Taxonomy).where(Taxonomy.code == "service-type"))
    taxonomy.uri, taxonomy.version = "https://www.example.lv/taxonomy", "2024"
    terms = taxonomy.terms
    terms[1].parent_id = terms[0].id
    terms[1].term_uri = "https://www.example.lv/terms/1"
    geocoding.locate_changed_addresses(db.session, location.addresses)  # the address moved: located, as a save does
    db.session.commit()


def export(app, folder: Path) -> Path:
    with app.app_context():
        hsds_export.export_package(db.session, folder)
        db.session.rollback()
    return folder


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, prefix + path.name)
    return target


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], encoding="utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def edit_csv(folder: Path, file: str, change) -> int | None:
    """Apply `change(header, rows)` to a CSV file; it may return the index
    of the row it changed, answered as the row number a report uses (the
    header is row 1)."""
    header, rows = read_csv(folder / file)
    index = change(header, rows)
    write_csv(folder / file, header, rows)
    return None if index is None else index + 2


def row_of(rows: list[dict[str, str]], **match) -> int:
    return next(i for i, row in enumerate(rows) if all(row[k] == v for k, v in match.items()))


def en(message) -> str:
    """A message in English (outside a request the default locale, Latvian,
    would apply). Needs an application context."""
    with force_locale("en"):
        return str(message)


def where(report: hsds_report.Report) -> set[tuple]:
    return {(p.file, p.row, p.field) for p in report.problems}


def vigante_id(app) -> str:
    with app.app_context():
        return org("vigante").id


@pytest.fixture
def enriched_app(seeded_app):
    with seeded_app.app_context():
        enrich()
    return seeded_app


@pytest.fixture
def package(enriched_app, tmp_path) -> Path:
    """The enriched starter data, exported."""
    return export(enriched_app, tmp_path / "package")


# ---------------------------------------------------------------- export


def test_export_writes_the_hsds_tables_with_exactly_their_columns(package):
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["profile"] == "tabular-data-package"
    by_name = {r["name"]: r for r in descriptor["resources"]}
    for name in HSDS_TABLES + ["url", "service_area", "cost_option", "organization_identifier"]:
        resource = by_name[name]
        official = copy.deepcopy(OFFICIAL_BY_NAME[name])
        # The official descriptor, unchanged but for foreign keys to tables
        # the package does not ship (services.csv's program_id → programs.csv).
        keys = [k for k in official["schema"].pop("foreignKeys", []) if k["reference"]["resource"] in by_name]
        if keys:
            official["schema"]["foreignKeys"] = keys
        assert resource == official, name
        header, _rows = read_csv(package / resource["path"])
        assert header == [f["name"] for f in OFFICIAL_BY_NAME[name]["schema"]["fields"]], name
    # Tables the directory has no data for are not in the package.
    assert {"program", "funding", "metadata"}.isdisjoint(by_name)
    # The directory's own fields: in files marked as not HSDS.
    extras = [r for r in descriptor["resources"] if r["name"] not in OFFICIAL_BY_NAME]
    assert extras and all(r["name"].startswith("x_") and r["path"].startswith("x_") for r in extras)
    assert all(r["hsds"] is False and r["description"].startswith("Not part of HSDS") for r in extras)
    # HSDS 3.1 tables whose official tabular descriptor lacks their columns.
    for name in ("unit", "service_capacity"):
        assert by_name[name]["path"].startswith("x_") and by_name[name]["hsds"] is False
    # No foreign key names a resource that is not shipped.
    for resource in descriptor["resources"]:
        for key in resource["schema"].get("foreignKeys", []):
            assert key["reference"]["resource"] in by_name, (resource["name"], key)
    for resource in descriptor["resources"]:
        (package / resource["path"]).read_bytes().decode("utf-8")  # UTF-8, without a byte-order mark
        assert not (package / resource["path"]).read_bytes().startswith(b"\xef\xbb\xbf")
    json_tables = json.loads((package / "directory.json").read_text(encoding="utf-8"))
    assert list(json_tables) == [r["name"] for r in descriptor["resources"]]


def test_export_maps_the_directorys_fields_honestly(enriched_app, package):
    with enriched_app.app_context():
        vigante = org("vigante")
        service = vigante.services[0]
        address = vigante.locations[0].addresses[0]
        bauska_address = db.session.scalar(select(Address).where(Address.municipality == "Bauskas novads"))
        saskarsme = org("saskarsme")
        ids = dict(vigante=vigante.id, service=service.id, address=address.id, bauska=bauska_address.id,
                   saskarsme=saskarsme.id, parent=saskarsme.parent_organization_id, source=vigante.source_id)
    # HSDS requires a postal code and a state/province; the source states neither:
    # the address is not written as an invalid row but in its own x_ file.
    _h, addresses = read_csv(package / "addresses.csv")
    assert all(row["postal_code"] and row["state_province"] and row["address_1"] and row["city"]
               for row in addresses)
    _h, incomplete = read_csv(package / "x_incomplete_addresses.csv")
    bauska = incomplete[row_of(incomplete, id=ids["bauska"])]
    assert bauska["region"] == "Bauskas novads"  # Address.municipality
    assert bauska["postal_code"] == "" and bauska["state_province"] == ""  # not stated: empty, not invented
    _h, services = read_csv(package / "services.csv")
    exported = services[row_of(services, id=ids["service"])]
    assert exported["assured_date"] == "2024-06-01"  # Service.last_verified
    assert exported["program_id"] == "" and exported["wait_time"] == ""  # columns the directory does not hold
    assert exported["last_modified"].endswith("Z")
    assert exported["application_process"].startswith('Zvaniet: "+371')
    _h, organizations = read_csv(package / "organizations.csv")
    assert organizations[row_of(organizations, id=ids["saskarsme"])]["parent_organization_id"] == ids["parent"]
    _h, extras = read_csv(package / "x_organizations.csv")
    vigante_extra = extras[row_of(extras, id=ids["vigante"])]
    assert vigante_extra["slug"] == "vigante" and vigante_extra["source_id"] == ids["source"]
    assert extras[row_of(extras, id=ids["saskarsme"])]["status"] == "pending"
    _h, labels = read_csv(package / "x_taxonomy_term_labels.csv")
    assert {row["locale"] for row in labels} == {"lv", "lt", "en", "ru"}
    _h, attributes = read_csv(package / "attributes.csv")
    assert attributes and {row["link_entity"] for row in attributes} == {"service"}
    assert all(uuid.UUID(row["id"]) for row in attributes)
    # The JSON file has the same rows, typed.
    json_tables = json.loads((package / "directory.json").read_text(encoding="utf-8"))
    service_json = next(row for row in json_tables["service"] if row["id"] == ids["service"])
    assert service_json["minimum_age"] == 3 and service_json["assured_date"] == "2024-06-01"
    assert "program_id" not in service_json  # HSDS JSON has no nulls
    bauska_json = next(row for row in json_tables["x_incomplete_address"] if row["id"] == ids["bauska"])
    assert "postal_code" not in bauska_json  # not stated by the source
    for name in json_tables:
        _header, csv_rows = read_csv(package / mapping.tables()[name].path)
        assert len(csv_rows) == len(json_tables[name]), name


def hsds_registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8")),
                                           default_specification=DRAFT202012))
        for path in HSDS_DIR.glob("*.json")
        if path.name not in ("datapackage.json", "openapi.json")
    ]
    return Registry().with_resources(resources)


def test_exported_rows_validate_against_the_hsds_json_schemas(package):
    registry = hsds_registry()
    json_tables = json.loads((package / "directory.json").read_text(encoding="utf-8"))
    checked = 0
    for name in HSDS_TABLES:
        validator = Draft202012Validator({"$ref": f"{name}.json"}, registry=registry, format_checker=FormatChecker())
        for row in json_tables[name]:
            errors = [error.message for error in validator.iter_errors(row)]
            assert errors == [], (name, row.get("id"), errors)
            checked += 1
    assert checked > 100 and all(json_tables[name] for name in HSDS_TABLES if name != "address")
    # The CSV files hold the same values.
    for name in HSDS_TABLES:
        _header, csv_rows = read_csv(package / OFFICIAL_BY_NAME[name]["path"])
        for csv_row, json_row in zip(csv_rows, json_tables[name]):
            for column, value in csv_row.items():
                expected = json_row.get(column, "")
                assert value == (expected if isinstance(expected, str) else hsds_export._text_value(expected)), (
                    name, column)


def test_a_schema_violation_would_be_caught():
    """The validation above is real: a wrong row fails it."""
    validator = Draft202012Validator({"$ref": "service.json"}, registry=hsds_registry(),
                                     format_checker=FormatChecker())
    assert list(validator.iter_errors({"id": str(uuid.uuid4()), "name": "x", "status": "open"}))
    assert list(validator.iter_errors({"id": str(uuid.uuid4()), "status": "active"}))


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("form", ["folder", "datapackage.json", "zip", "zip with a folder", "json", "zipped json"])
def test_an_export_imported_into_an_empty_database_gives_the_same_data_back(enriched_app, package, tmp_path, form):
    with enriched_app.app_context():
        before = directory_rows()
        assert before["phone"] and before["schedule"] and before["language"] and before["accessibility"]
        assert before["required_document"]
        assert before["taxonomy_term_label"] and before["service_taxonomy_term"] and before["source_document"]
        empty_database()
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 0
        if form == "folder":
            path = package
        elif form == "datapackage.json":
            path = package / "datapackage.json"
        elif form == "zip":
            path = zip_folder(package, tmp_path / "export.zip")
        elif form == "zip with a folder":
            path = zip_folder(package, tmp_path / "export.zip", prefix="export/")
        elif form == "json":
            path = package / "directory.json"
        else:
            path = tmp_path / "json.zip"
            with zipfile.ZipFile(path, "w") as archive:
                archive.write(package / "directory.json", "directory.json")
        report = importer.import_package(db.session, path)
        assert report.ok and report.imported, [str(p) for p in report.problems]
        assert report.warnings == []
        assert report.counts["organization"].created == 15
        assert report.totals().updated == 0
        after = directory_rows()
        for table in before:
            assert after[table] == before[table], table


def test_what_to_bring_travels_in_order_with_its_link_and_source(enriched_app, package):
    with enriched_app.app_context():
        service = org("vigante").services[0]
        service_id, source_id = service.id, org("vigante").source_id
    _h, documents = read_csv(package / "required_documents.csv")
    assert [(row["service_id"], row["document"], row["uri"]) for row in documents] == [
        (service_id, "Pase vai personas apliecība", ""),
        (service_id, 'Nosūtījums, ar komatu; un "pēdiņām"', "https://www.example.lv/nosutijums.pdf"),
    ]
    _h, extras = read_csv(package / "x_required_documents.csv")
    assert [(row["position"], row["source_id"], row["last_verified"]) for row in extras] == [
        ("0", source_id, "2024-06-03"), ("1", "", "")]
    with enriched_app.app_context():
        empty_database()
        report = importer.import_package(db.session, package)
        assert report.ok and report.counts["required_document"].created == 2
        service = db.session.get(Service, service_id)
        assert [(d.document, d.uri, d.source_id) for d in service.required_documents] == [
            ("Pase vai personas apliecība", None, source_id),
            ('Nosūtījums, ar komatu; un "pēdiņām"', "https://www.example.lv/nosutijums.pdf", None),
        ]


def test_what_to_bring_keeps_its_order_without_the_directorys_own_files(enriched_app, package):
    """Another publisher's package has no positions: the rows' order is the list's."""
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if r["name"] != "x_required_document"]
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    (package / "x_required_documents.csv").unlink()
    with enriched_app.app_context():
        service_id = org("vigante").services[0].id
        empty_database()
        assert importer.import_package(db.session, package).ok
        documents = db.session.get(Service, service_id).required_documents
        assert [(d.position, d.document) for d in documents] == [
            (0, "Pase vai personas apliecība"), (1, 'Nosūtījums, ar komatu; un "pēdiņām"')]


def test_the_round_trip_keeps_coordinates_without_asking_the_geocoder(enriched_app, package, monkeypatch):
    with enriched_app.app_context():
        before = {loc.id: (loc.latitude, loc.longitude, loc.geocode_precision, loc.geocoded_query)
                  for loc in db.session.scalars(select(Location))}
        assert any(values[0] is not None for values in before.values())
        empty_database()
        asked = []
        service = enriched_app.extensions["geocoding"]
        original = service._ask
        monkeypatch.setattr(service, "_ask", lambda query, country: asked.append(query) or original(query, country))
        assert importer.import_package(db.session, package).ok
        after = {loc.id: (loc.latitude, loc.longitude, loc.geocode_precision, loc.geocoded_query)
                 for loc in db.session.scalars(select(Location))}
        assert after == before
        # Only addresses the geocoder found nothing for are asked again.
        assert len(asked) == sum(1 for values in before.values() if values[0] is None)


def test_the_imported_directory_works(enriched_app, package):
    client = enriched_app.test_client()

    def found(query):
        return [a.get_text(strip=True) for a in soup(client.get(f"/en/?q={query}")).select(".result h3 a")]

    before = found("centrs"), found("Daugavpils")
    assert before[0] and before[1]
    with enriched_app.app_context():
        empty_database()
        assert found("centrs") == []
        assert importer.import_package(db.session, package).ok
    assert client.get("/lv/centres/vigante").status_code == 200
    assert (found("centrs"), found("Daugavpils")) == before  # the search index follows the import


# ---------------------------------------------------------------- re-import


def test_reimporting_updates_records_by_id(enriched_app, package):
    vigante = vigante_id(enriched_app)
    edit_csv(package, "organizations.csv",
             lambda header, rows: rows[row_of(rows, id=vigante)].update(name="Vīgantes centrs (jauns nosaukums)"))
    with enriched_app.app_context():
        counts = {name: len(rows) for name, rows in directory_rows().items()}
        version = org("vigante").version
        report = importer.import_package(db.session, package)
        assert report.ok, [str(p) for p in report.problems]
        assert report.counts["organization"].updated == 1
        assert report.counts["organization"].created == 0
        assert report.counts["organization"].unchanged == 14
        assert report.counts["service"].updated == 0 and report.counts["attribute"].created == 0
        assert {name: len(rows) for name, rows in directory_rows().items()} == counts
        record = org("vigante")
        assert record.name == "Vīgantes centrs (jauns nosaukums)"
        assert record.version == version + 1  # an editor's form opened before the import gets a conflict
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "data-import"))
        assert event is not None and '"updated": 1' in event.detail

        # The same package again: nothing changes.
        again = importer.import_package(db.session, package)
        assert again.ok and again.totals().created == 0 and again.totals().updated == 0


def test_a_service_gets_exactly_the_taxonomy_terms_the_package_lists(enriched_app, package):
    with enriched_app.app_context():
        service = org("vigante").services[0]
        service_id, before = service.id, sorted(t.id for t in service.taxonomy_terms)
        other = db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.id.not_in(before)))
        other_id = other.id
    assert len(before) >= 2

    def change(header, rows):
        links = [row for row in rows if row["link_id"] == service_id]
        rows.remove(links[0])  # one link less
        rows.append({**links[1], "id": str(uuid.uuid4()), "taxonomy_term_id": other_id})  # one more

    edit_csv(package, "attributes.csv", change)
    with enriched_app.app_context():
        report = importer.import_package(db.session, package)
        assert report.ok
        assert (report.counts["attribute"].created, report.counts["attribute"].removed) == (1, 1)
        after = sorted(t.id for t in db.session.get(Service, service_id).taxonomy_terms)
        assert after == sorted(set(before[1:]) | {other_id})


def test_a_package_from_another_publisher_without_the_directorys_own_files(enriched_app, package):
    """Only the HSDS files: slugs and codes are made from names, and the
    directory's own fields keep their values on records it already has."""
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if not r["path"].startswith("x_")]
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    for path in package.glob("x_*.csv"):
        path.unlink()
    with enriched_app.app_context():
        assert importer.import_package(db.session, package).ok  # over the existing records
        assert org("vigante").source_id is not None and org("saskarsme").status == "pending"
        empty_database()
        report = importer.import_package(db.session, package)
        assert report.ok, [str(p) for p in report.problems]
        names = {o.name: o for o in db.session.scalars(select(Organization))}
        assert len(names) == 15 and all(o.status == "published" and o.source_id is None for o in names.values())
        slugs = [o.slug for o in names.values()]
        assert len(set(slugs)) == 15 and all(mapping.TERM_CODE.match(slug) for slug in slugs)
        codes = {t.code for t in db.session.scalars(select(Taxonomy))}
        assert codes == {"pakalpojumu-veidi", "merka-grupas"}
        assert db.session.scalar(select(func.count()).select_from(TaxonomyTerm)) == 41


def test_columns_and_tables_the_directory_does_not_keep_are_reported_as_left_out(enriched_app, package):
    def add_tax_ids(header, rows):
        for row in rows[:2]:
            row["tax_id"] = "LV900"

    edit_csv(package, "organizations.csv", add_tax_ids)
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"].append(OFFICIAL_BY_NAME["program"])
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    write_csv(package / "programs.csv", [f["name"] for f in OFFICIAL_BY_NAME["program"]["schema"]["fields"]], [])
    with enriched_app.app_context():
        report = importer.import_package(db.session, package)
        assert report.ok
        notes = {(w.file, w.field): en(w.message) for w in report.warnings}
        assert "2 values not imported" in notes[("organizations.csv", "tax_id")]
        assert "does not keep" in notes[("programs.csv", None)]


# ---------------------------------------------------------------- bad input


def _set(file, match_column, value_column, value):
    """Change one cell of the first row (or the row whose `match_column` is
    not empty); answer the row number."""
    def change(folder):
        def edit(header, rows):
            index = next(i for i, row in enumerate(rows) if row[match_column]) if match_column else 0
            rows[index][value_column] = value
            return index
        return edit_csv(folder, file, edit)
    return change


def _rename_column(file, old, new):
    def change(folder):
        header, rows = read_csv(folder / file)
        header = [new if name == old else name for name in header]
        rows = [{(new if k == old else k): v for k, v in row.items()} for row in rows]
        write_csv(folder / file, header, rows)
        return 1
    return change


def _drop_column(file, name):
    def change(folder):
        header, rows = read_csv(folder / file)
        write_csv(folder / file, [h for h in header if h != name], [{k: v for k, v in r.items() if k != name} for r in rows])
        return 1
    return change


def _duplicate_row(file):
    def change(folder):
        return edit_csv(folder, file, lambda header, rows: rows.append(dict(rows[0])) or len(rows) - 1)
    return change


BAD_CELLS = {
    "missing required field": (_set("services.csv", None, "name", "  "), "services.csv", "name", "Required"),
    "missing id": (_set("locations.csv", None, "id", ""), "locations.csv", "id", "Required"),
    "latitude outside the world": (_set("locations.csv", "latitude", "latitude", "91"), "locations.csv", "latitude",
                                   "between -90 and 90"),
    "longitude outside the world": (_set("locations.csv", "longitude", "longitude", "-180.5"), "locations.csv",
                                    "longitude", "between -180 and 180"),
    "latitude without longitude": (_set("locations.csv", "longitude", "longitude", ""), "locations.csv",
                                   "longitude", "give both or neither"),
    "not a number": (_set("locations.csv", "latitude", "latitude", "56,5"), "locations.csv", "latitude",
                     "Not a number"),
    "unknown taxonomy term": (_set("attributes.csv", None, "taxonomy_term_id", str(uuid.uuid4())), "attributes.csv",
                              "taxonomy_term_id", "Unknown taxonomy term"),
    "unknown organization": (_set("services.csv", None, "organization_id", str(uuid.uuid4())), "services.csv",
                             "organization_id", "No organization with this id"),
    "unknown location": (_set("x_incomplete_addresses.csv", None, "location_id", str(uuid.uuid4())),
                         "x_incomplete_addresses.csv", "location_id", "No location with this id"),
    "unknown source document": (_set("x_organizations.csv", None, "source_id", "no-such-file.txt"),
                                "x_organizations.csv", "source_id", "No source document"),
    "not a uuid": (_set("services.csv", None, "organization_id", "vigante"), "services.csv", "organization_id",
                   "UUID"),
    "duplicate id": (_duplicate_row("organizations.csv"), "organizations.csv", "id", "Duplicate id"),
    "not a country code": (_set("x_incomplete_addresses.csv", None, "country", "Latvija"),
                           "x_incomplete_addresses.csv", "country", "ISO 3166-1"),
    "not a web address": (_set("organizations.csv", None, "website", "javascript:alert(1)"), "organizations.csv",
                          "website", "http://"),
    "not an e-mail address": (_set("contacts.csv", None, "email", "anna at example.lv"), "contacts.csv", "email",
                              "e-mail"),
    "not a status": (_set("services.csv", None, "status", "open"), "services.csv", "status", "active, inactive"),
    "not a date": (_set("services.csv", "assured_date", "assured_date", "1.6.2024"), "services.csv",
                   "assured_date", "YYYY-MM-DD"),
    "not a time": (_set("schedules.csv", None, "opens_at", "9am"), "schedules.csv", "opens_at", "HH:MM"),
    "not a weekday": (_set("schedules.csv", None, "byday", "MO,XX"), "schedules.csv", "byday",
                      "Weekday codes separated by commas"),
    "a yearly schedule (not in HSDS 3.1)": (_set("schedules.csv", None, "freq", "YEARLY"), "schedules.csv", "freq",
                                            "WEEKLY, MONTHLY"),
    "an interval of 0": (_set("schedules.csv", None, "interval", "0"), "schedules.csv", "interval", "1 or more"),
    "times in two time zones": (lambda folder: edit_csv(folder, "schedules.csv", lambda h, rows: rows[0].update(
        opens_at="09:00:00+02:00", closes_at="17:00:00+03:00")), "schedules.csv", "opens_at", "same time zone"),
    "not a language code": (_set("languages.csv", None, "code", "xx"), "languages.csv", "code", "ISO 639"),
    "not a whole number": (_set("services.csv", "minimum_age", "minimum_age", "3.5"), "services.csv",
                           "minimum_age", "whole number"),
    "a slug taken by another organization": (_set("x_organizations.csv", None, "slug", "vigante"),
                                             "x_organizations.csv", "slug", "already uses this slug"),
    "a bad slug": (_set("x_organizations.csv", None, "slug", "Vīgante centrs"), "x_organizations.csv", "slug",
                   "lowercase letters"),
    "too long": (_set("organizations.csv", None, "name", "x" * 301), "organizations.csv", "name", "at most 300"),
    "a row with too many cells": (None, "organizations.csv", None, "cells"),
    "a document without text": (_set("required_documents.csv", None, "document", " "), "required_documents.csv",
                                "document", "Required"),
    "a document link that is not a web address": (_set("required_documents.csv", None, "uri", "javascript:alert(1)"),
                                                  "required_documents.csv", "uri", "http://"),
    "a document of an unknown service": (_set("required_documents.csv", None, "service_id", str(uuid.uuid4())),
                                         "required_documents.csv", "service_id", "No service with this id"),
    "a negative document position": (_set("x_required_documents.csv", None, "position", "-1"),
                                     "x_required_documents.csv", "position", "0 or more"),
    "an extra row for a record not in the package": (_set("x_services.csv", None, "id", str(uuid.uuid4())),
                                                     "x_services.csv", "id", "No row with this id in services.csv"),
}


@pytest.mark.parametrize("case", list(BAD_CELLS))
def test_a_bad_package_changes_nothing_and_says_where(enriched_app, package, case):
    change, file, field, text = BAD_CELLS[case]
    vigante = vigante_id(enriched_app)
    # A good change beside the bad one: it must not be imported either.
    edit_csv(package, "organizations.csv",
             lambda header, rows: rows[row_of(rows, id=vigante)].update(name="Jauns nosaukums"))
    if change is None:  # a CSV row with one cell too many
        with (package / "organizations.csv").open("a", encoding="utf-8", newline="") as handle:
            handle.write("a,b\n" + ",".join(["x"] * 20) + "\n")
        row = None
    else:
        row = change(package)
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        assert not report.ok and not report.imported
        assert report.counts == {}
        matching = [p for p in report.problems if p.file == file and p.field == field and text in en(p.message)]
        assert matching, (case, [str(p) for p in report.problems])
        if row is not None:
            assert any(p.row == row for p in matching), (case, row, [str(p) for p in matching])
        else:
            assert all(p.row is not None for p in matching)
        assert all_rows() == before


def test_a_loop_of_parent_organizations_is_refused(enriched_app, package):
    with enriched_app.app_context():
        child = org("saskarsme")
        child_id, parent_id = child.id, child.parent_organization_id

    def change(header, rows):
        rows[row_of(rows, id=parent_id)]["parent_organization_id"] = child_id
        return row_of(rows, id=parent_id)

    row = edit_csv(package, "organizations.csv", change)
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        assert ("organizations.csv", row, "parent_organization_id") in where(report)
        assert all_rows() == before


def test_a_file_that_is_not_utf8_is_refused_clearly(enriched_app, package):
    header, rows = read_csv(package / "organizations.csv")
    write_csv(package / "organizations.csv", header, rows, encoding="cp1257")  # Excel on a Baltic Windows
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        problem = next(p for p in report.problems if p.file == "organizations.csv")
        assert "Not UTF-8" in en(problem.message) and problem.row >= 2
        assert "line" in en(problem.message)
        assert all_rows() == before


def test_a_csv_file_saved_with_semicolons_is_explained(enriched_app, package):
    header, rows = read_csv(package / "services.csv")
    with (package / "services.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    with enriched_app.app_context():
        report = importer.import_package(db.session, package)
        assert [(p.file, p.row, p.field, en(p.message)) for p in report.problems if p.file == "services.csv"] == [
            ("services.csv", 1, None, "Columns must be separated by commas; this file uses semicolons.")]


@pytest.mark.parametrize("content, text", [
    (b"{not json", "Not valid JSON"),
    (b"[1, 2]", "must hold an object"),
    (b'{"organization": {"id": 1}}', "A list of rows"),
    (b'{"organization": [1]}', "Each row must be an object"),
    (b'\xff\xfe{"organization": []}', "Not UTF-8"),
])
def test_a_bad_json_file_is_refused(seeded_app, tmp_path, content, text):
    path = tmp_path / "directory.json"
    path.write_bytes(content)
    with seeded_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, path)
        assert not report.ok and text in en(report.problems[0].message), [str(p) for p in report.problems]
        assert report.problems[0].file.startswith("directory.json")
        assert all_rows() == before


def test_bad_values_in_the_json_file_name_their_table_row_and_field(enriched_app, package):
    tables = json.loads((package / "directory.json").read_text(encoding="utf-8"))
    tables["location"][1]["latitude"] = "north"
    tables["location"][2]["longitude"] = 200
    tables["organization"][0]["colour"] = "blue"
    (package / "directory.json").write_text(json.dumps(tables), encoding="utf-8")
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package / "directory.json")
        assert {("directory.json [location]", 2, "latitude"),
                ("directory.json [location]", 3, "longitude")} == where(report)
        # A field of the publisher's own is no fault: it is left out, and said so.
        assert any(w.field == "colour" and "left out" in en(w.message) for w in report.warnings)
        assert all_rows() == before


def test_a_missing_or_empty_file(enriched_app, package, tmp_path):
    (package / "phones.csv").unlink()
    (package / "contacts.csv").write_bytes(b"")
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        messages = {p.file: en(p.message) for p in report.problems}
        assert "missing" in messages["phones.csv"] and "empty" in messages["contacts.csv"]
        assert all_rows() == before
        empty = tmp_path / "empty"
        empty.mkdir()
        assert "no datapackage.json" in en(importer.import_package(db.session, empty).problems[0].message)
        assert "No such file" in en(importer.import_package(db.session, tmp_path / "nothing").problems[0].message)


# ---------------------------------------------------------------- limits


def test_a_file_over_the_size_limit_is_refused(enriched_app, package, monkeypatch):
    edit_csv(package, "organizations.csv", lambda header, rows: rows[0].update(description="ā" * 100_000))
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 150_000)
    assert (package / "organizations.csv").stat().st_size > 150_000 > (package / "datapackage.json").stat().st_size
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        assert any(p.file == "organizations.csv" and "larger than" in en(p.message) for p in report.problems)
        (package / "directory.json").write_bytes(b" " * 150_001)
        assert "larger than" in en(importer.import_package(db.session, package / "directory.json").problems[0].message)
        assert all_rows() == before


def test_a_file_with_too_many_rows_is_refused(enriched_app, package, monkeypatch):
    monkeypatch.setattr(reader, "MAX_ROWS", 10)
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        assert any(p.file == "organizations.csv" and "more than 10 rows" in en(p.message) for p in report.problems)
        report = importer.import_package(db.session, package / "directory.json")
        assert "more than 10 rows" in en(report.problems[0].message)
        assert all_rows() == before


def test_the_real_limits():
    assert reader.MAX_FILE_BYTES == 20 * 1024 * 1024 and reader.MAX_ROWS == 100_000
    assert hsds_report.MAX_UPLOAD_BYTES <= reader.MAX_ARCHIVE_BYTES


@pytest.fixture
def never_unpacked(monkeypatch):
    """Call it once the archive is written: from then on, opening any entry
    of an archive fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("an entry was unpacked")
    return lambda: monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def _zip_with(path: Path, package: Path, extra: dict[str, bytes] | None = None, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compress) as archive:
        for file in sorted(package.iterdir()):
            archive.write(file, file.name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(enriched_app, package, tmp_path, never_unpacked):
    bomb = tmp_path / "bomb.zip"
    _zip_with(bomb, package, {"padding.csv": b"\0" * (reader.MAX_FILE_BYTES + 1)})
    assert bomb.stat().st_size < 1024 * 1024  # small on disk, huge unpacked
    never_unpacked()
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, bomb)
        assert [(p.file, en(p.message)) for p in report.problems] == [
            ("bomb.zip", "padding.csv would unpack to more than 20 MB. Nothing was unpacked.")]
        assert all_rows() == before


def test_an_archive_too_large_in_total_or_with_too_many_entries(enriched_app, package, tmp_path, monkeypatch,
                                                                 never_unpacked):
    archive = zip_folder(package, tmp_path / "export.zip")
    never_unpacked()
    with enriched_app.app_context():
        monkeypatch.setattr(reader, "MAX_ARCHIVE_BYTES", 10_000)
        report = importer.import_package(db.session, archive)
        assert "would unpack to more than" in en(report.problems[0].message)
        monkeypatch.setattr(reader, "MAX_ARCHIVE_BYTES", 10**9)
        monkeypatch.setattr(reader, "MAX_ARCHIVE_MEMBERS", 5)
        report = importer.import_package(db.session, archive)
        assert "more than 5 entries" in en(report.problems[0].message)


@pytest.mark.parametrize("name", ["../organizations.csv", "../../etc/passwd", "/tmp/evil.csv",
                                  "a/../../evil.csv", "C:/evil.csv", "..\\evil.csv"])
def test_a_zip_whose_paths_leave_the_folder_is_refused(enriched_app, package, tmp_path, never_unpacked, name):
    archive = _zip_with(tmp_path / "evil.zip", package, {name: b"id,name\n"})
    never_unpacked()
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, archive)
        assert len(report.problems) == 1
        assert report.problems[0].file == "evil.zip" and "Unsafe path" in en(report.problems[0].message)
        assert name in en(report.problems[0].message)
        assert all_rows() == before
    assert not (tmp_path.parent / "organizations.csv").exists() and not (tmp_path / "evil.csv").exists()


def test_a_datapackage_naming_a_file_outside_the_folder_is_refused(enriched_app, package, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("id\n", encoding="utf-8")
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"][0]["path"] = "../outside.csv"
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with enriched_app.app_context():
        report = importer.import_package(db.session, package)
        assert any("Unsafe file path" in en(p.message) for p in report.problems)


def test_a_damaged_or_fake_zip_is_refused(enriched_app, package, tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    archive = zip_folder(package, tmp_path / "export.zip")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with enriched_app.app_context():
        for path in (fake, truncated):
            report = importer.import_package(db.session, path)
            assert not report.ok and "ZIP" in en(report.problems[0].message), path


# ---------------------------------------------------------------- CLI


def test_the_export_and_import_commands(enriched_app, tmp_path):
    runner = enriched_app.test_cli_runner()
    folder = tmp_path / "cli-export"
    result = runner.invoke(args=["export", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "datapackage.json").exists() and (folder / "organizations.csv").exists()
    assert (folder / "directory.json").exists()
    assert "organizations.csv\t15" in result.output and "Wrote" in result.output

    with enriched_app.app_context():
        empty_database()
    result = runner.invoke(args=["import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Imported: " in result.output and "organizations.csv: 15 new" in result.output
    with enriched_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 15


def test_the_import_command_prints_the_report_and_exits_1(enriched_app, package):
    row = _set("locations.csv", "latitude", "latitude", "123")(package)
    runner = enriched_app.test_cli_runner()
    with enriched_app.app_context():
        before = all_rows()
    result = runner.invoke(args=["import", str(package)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a report, no traceback
    assert f"locations.csv, row {row}, latitude: Latitude must be between -90 and 90." in result.output
    assert "Nothing was imported: 1 problem." in result.output
    for bad in ("/no/such/path", str(package / "organizations.csv")):
        result = runner.invoke(args=["import", bad])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    with enriched_app.app_context():
        assert all_rows() == before


# ---------------------------------------------------------------- admin upload


def admin_client(app):
    client = app.test_client()
    assert login(client, "admin@example.lv").status_code == 302
    return client


def upload(client, data: bytes, name="export.zip", lang="en", token=True, headers=None):
    form = {"package": (io.BytesIO(data), name)}
    if token:
        form["csrf_token"] = csrf_token(client, f"/{lang}/admin/import")
    # Without htmx the upload redirects to its import job's page (POST/redirect/GET).
    return client.post(f"/{lang}/admin/import", data=form, content_type="multipart/form-data",
                       headers=headers or {}, follow_redirects=True)


def test_the_import_page_works_without_javascript_and_shows_progress_with_htmx(seeded_app, accounts):
    client = admin_client(seeded_app)
    page = soup(client.get("/en/admin/import"))
    form = page.select_one("form#import-form")
    assert form["method"] == "post" and form["enctype"] == "multipart/form-data"
    assert form["action"] == "/en/admin/import" and form["hx-post"] == "/en/admin/import"
    assert form["hx-indicator"] == "#import-indicator" and form["hx-target"] == "#import-result"
    assert page.select_one("#import-indicator").get_text(strip=True) == "Importing…"
    assert "htmx-indicator" in page.select_one("#import-indicator")["class"]
    file_input = form.select_one("input[type=file][name=package]")
    assert page.select_one(f"label[for='{file_input['id']}']")
    assert form.select_one("input[name=csrf_token]") and form.select_one("button[type=submit]").get_text(strip=True)
    assert page.select_one("#import-result") is not None
    assert '="None"' not in str(page)
    index = soup(client.get("/en/admin/"))
    assert index.select_one("#link-import")["href"] == "/en/admin/import"


def test_an_admin_imports_a_package(enriched_app, accounts, package, tmp_path):
    vigante = vigante_id(enriched_app)
    edit_csv(package, "organizations.csv",
             lambda header, rows: rows[row_of(rows, id=vigante)].update(name="Vīgante (augšupielādēts)"))
    archive = zip_folder(package, tmp_path / "export.zip").read_bytes()
    client = admin_client(enriched_app)
    response = upload(client, archive)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#import-success").get_text(strip=True).startswith("Imported: 0 new, 1 updated")
    counts = page.select_one("#import-counts")
    assert counts.select("th[scope=col]")
    row = counts.select_one("#count-organization")
    assert row.select_one("th").get_text(strip=True) == "organizations.csv"
    assert row.select_one(".count-updated").get_text(strip=True) == "1"
    with enriched_app.app_context():
        assert org("vigante").name == "Vīgante (augšupielādēts)"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "data-import"))
        assert event.user_id == accounts["admin"] and "export.zip" in event.detail
    # The JSON file works too.
    response = upload(client, (package / "directory.json").read_bytes(), name="directory.json")
    assert soup(response).select_one("#import-success")


def test_an_admin_sees_the_problems_and_nothing_is_imported(enriched_app, accounts, package, tmp_path):
    row = _set("locations.csv", "latitude", "latitude", "-95")(package)
    vigante = vigante_id(enriched_app)
    edit_csv(package, "organizations.csv",
             lambda header, rows: rows[row_of(rows, id=vigante)].update(name="<b>Nav</b>"))
    edit_csv(package, "services.csv", lambda header, rows: rows[0].update(name=""))
    archive = zip_folder(package, tmp_path / "export.zip").read_bytes()
    client = admin_client(enriched_app)
    with enriched_app.app_context():
        before = all_rows()
    response = upload(client, archive)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#import-failed").get_text(strip=True) == "Nothing was imported: 2 problems."
    table = page.select_one("#import-problems")
    assert [th.get_text(strip=True) for th in table.select("th[scope=col]")] == ["File", "Row", "Field", "Problem"]
    cells = [[td.get_text(strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]
    assert ["locations.csv", str(row), "latitude", "Latitude must be between -90 and 90."] in cells
    assert ["services.csv", "2", "name", "Required: this field must not be empty."] in cells
    assert not page.select_one("#import-success")
    with enriched_app.app_context():
        after = all_rows()
    # The admin's own sign-in and the import job are all that changed.
    assert {k: v for k, v in after.items() if k not in ("audit_event", "user_account", "import_job")} == \
        {k: v for k, v in before.items() if k not in ("audit_event", "user_account", "import_job")}
    with enriched_app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "data-import")) == 0

    # An archive that is not one: the upload's own name in the report.
    page = soup(upload(client, b"PK\x03\x04 not really", name="broken.zip"))
    assert [td.get_text(strip=True) for td in page.select("#import-problems tbody td")][:1] == ["broken.zip"]


def test_with_htmx_the_same_template_answers_with_the_result_block(enriched_app, accounts, package, tmp_path):
    client = admin_client(enriched_app)
    archive = zip_folder(package, tmp_path / "export.zip").read_bytes()
    response = upload(client, archive, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<form" not in html
    fragment = soup(response)
    assert fragment.select_one("div#import-result") and fragment.select_one("#import-success")
    _set("locations.csv", "latitude", "latitude", "-95")(package)
    archive = zip_folder(package, tmp_path / "export2.zip").read_bytes()
    response = upload(client, archive, headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert soup(response).select_one("#import-problems")
    # No file chosen: the message comes in the result block.
    token = csrf_token(client, "/en/admin/import")
    response = client.post("/en/admin/import", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert soup(response).select_one("#import-form-error").get_text(strip=True) == "Choose a file to import."


def test_the_form_says_when_no_file_was_chosen(seeded_app, accounts):
    client = admin_client(seeded_app)
    token = csrf_token(client, "/en/admin/import")
    response = client.post("/en/admin/import", data={"csrf_token": token})
    assert response.status_code == 200
    assert soup(response).select_one("#package-error").get_text(strip=True) == "Choose a file to import."


def test_an_upload_over_the_limit_is_refused_unread(seeded_app, accounts, monkeypatch):
    client = admin_client(seeded_app)
    monkeypatch.setattr(hsds_report, "MAX_UPLOAD_BYTES", 1000)
    from directory.admin import imports as admin_imports
    monkeypatch.setattr(admin_imports, "FORM_OVERHEAD_BYTES", 0)
    with seeded_app.app_context():
        before = all_rows()
    response = upload(client, b"x" * 5000)
    assert response.status_code == 413
    assert soup(response).select_one("#import-upload-error").get_text(strip=True) == \
        "The file is larger than 0.976562 KB. Nothing was imported."
    with seeded_app.app_context():
        assert all_rows() == before
    # Anyone else gets the plain error page.
    anonymous = seeded_app.test_client()
    response = anonymous.post("/en/admin/import", data={"package": (io.BytesIO(b"x" * 5000), "a.zip")},
                              content_type="multipart/form-data")
    assert response.status_code == 413 and not soup(response).select_one("#import-form")


def test_only_admins_may_import(seeded_app, accounts):
    anonymous = seeded_app.test_client()
    token = csrf_token(anonymous, "/lv/account/login")
    for response in (anonymous.get("/lv/admin/import"), anonymous.post("/lv/admin/import", data={"csrf_token": token})):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/lv/account/login?next=")
    for email in ("editor@example.lv", "worker@example.lv"):
        client = seeded_app.test_client()
        assert login(client, email).status_code == 302
        assert client.get("/lv/admin/import").status_code == 403
        token = csrf_token(client, "/lv/")
        response = client.post("/lv/admin/import", data={"csrf_token": token, "package": (io.BytesIO(b"{}"), "a.json")},
                               content_type="multipart/form-data")
        assert response.status_code == 403


def test_a_post_without_csrf_token_is_refused(enriched_app, accounts, package, tmp_path):
    client = admin_client(enriched_app)
    archive = zip_folder(package, tmp_path / "export.zip").read_bytes()
    with enriched_app.app_context():
        before = all_rows()
    assert upload(client, archive, token=False).status_code == 400
    response = client.post("/en/admin/import", data={"csrf_token": "forged", "package": (io.BytesIO(archive), "a.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    with enriched_app.app_context():
        assert all_rows() == before


def test_the_result_page_is_accessible(enriched_app, accounts, package, tmp_path):
    client = admin_client(enriched_app)
    _set("locations.csv", "latitude", "latitude", "-95")(package)
    edit_csv(package, "organizations.csv", lambda header, rows: rows[0].update(tax_id="1"))
    page = soup(upload(client, zip_folder(package, tmp_path / "export.zip").read_bytes()))
    ids = [element["id"] for element in page.select("[id]")]
    assert len(ids) == len(set(ids))
    for table in page.select("main table"):
        assert table.select("th[scope=col]") and table.select_one("caption")
    assert page.select_one("#import-warnings")  # what was left out is listed too


# ---------------------------------------------------------------- plain functions


def test_read_package_and_validate_work_without_a_request(enriched_app, package):
    read = reader.read_package(package)
    assert isinstance(read, reader.Package)
    assert set(read.tables) >= set(HSDS_TABLES)
    with enriched_app.app_context():
        report = validator.validate(db.session, read)
        assert report.ok and report.problems == []
    refused = reader.read_package(package / "nothing.zip")
    assert isinstance(refused, hsds_report.Report) and not refused.ok


def test_the_problem_list_is_capped(enriched_app, package, monkeypatch):
    monkeypatch.setattr(hsds_report, "MAX_PROBLEMS", 3)
    def no_names(header, rows):
        for row in rows:
            row["name"] = ""

    edit_csv(package, "taxonomy_terms.csv", no_names)
    with enriched_app.app_context():
        report = importer.import_package(db.session, package)
        assert len(report.problems) == 3 and report.problem_count == 41 and report.unlisted == 38


def test_a_published_only_export_leaves_out_organizations_waiting_for_review(enriched_app, tmp_path):
    from directory import publishing

    with enriched_app.app_context():
        org = publishing.propose_organization(db.session, {
            "name": "Zarasų dienos centras", "description": "Naujas centras",
            "location": {"city": "Zarasai", "country": "LT", "address_1": "Sėlių g. 1"},
        }, None)
        service = publishing.create_service(db.session, org, {"name": "Dienos užimtumas"}, None)
        db.session.commit()
        pending_ids = {org.id, service.id, *(location.id for location in org.locations)}
        waiting = db.session.scalar(select(func.count()).select_from(Organization)
                                    .where(Organization.status == "pending"))
    runner = enriched_app.test_cli_runner()
    full, public = tmp_path / "full", tmp_path / "public"
    assert runner.invoke(args=["export", str(full)]).exit_code == 0
    result = runner.invoke(args=["export", "--published-only", str(public)])
    assert result.exit_code == 0, result.output

    def ids_in(folder):
        found = set()
        for path in folder.glob("*.csv"):
            for row in read_csv(path)[1]:
                found.update(value for key, value in row.items()
                             if key in ("id", "organization_id", "service_id", "location_id", "link_id"))
        return found

    assert pending_ids <= ids_in(full)  # a backup keeps everything
    assert not pending_ids & ids_in(public)
    _, organizations = read_csv(public / "organizations.csv")
    assert len(organizations) == len(read_csv(full / "organizations.csv")[1]) - waiting
    # What is left is a whole package: it imports cleanly.
    with enriched_app.app_context():
        empty_database()
    result = runner.invoke(args=["import", str(public)])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- bounded input and races


def _more_rows_for_one_service(folder: Path, file: str, count: int) -> tuple[str, int, int]:
    """`count` more rows in `file` for the service of its first row (copies of
    that row with new ids): (service id, the row number of the first row over
    the cap, how many rows the service then has)."""
    header, rows = read_csv(folder / file)
    template = next(row for row in rows if row.get("service_id"))
    service_id = template["service_id"]
    for number in range(count):
        rows.append({**template, "id": str(uuid.uuid4()),
                     **{owner: "" for owner in ("organization_id", "location_id") if owner in header},
                     **({"number": f"+371 6{number:07d}"} if "number" in header else {})})
    write_csv(folder / file, header, rows)
    numbers = [index + 2 for index, row in enumerate(rows) if row["service_id"] == service_id]
    return service_id, numbers[hsds_report.ROWS_PER_RECORD[file.removesuffix("s.csv")][0]], len(numbers)


def test_a_record_with_more_phones_or_hours_than_it_may_hold_is_refused(enriched_app, package):
    _, phone_row, phones = _more_rows_for_one_service(package, "phones.csv", hsds_report.MAX_PHONES)
    _, hours_row, hours = _more_rows_for_one_service(package, "schedules.csv", hsds_report.MAX_HOUR_ROWS)
    with enriched_app.app_context():
        before = all_rows()
        report = importer.import_package(db.session, package)
        assert not report.ok and not report.imported
        found = {(p.file, p.row, p.field): en(p.message) for p in report.problems}
        assert found == {
            ("phones.csv", phone_row, "service_id"):
                f"Too many phones for one record ({phones}, at most {hsds_report.MAX_PHONES}).",
            ("schedules.csv", hours_row, "service_id"):
                f"Too many opening hours for one record ({hours}, at most {hsds_report.MAX_HOUR_ROWS}).",
        }
        assert all_rows() == before


def test_an_import_beaten_by_a_concurrent_edit_says_to_run_it_again(enriched_app, accounts, package, tmp_path,
                                                                    monkeypatch):
    row = _set("services.csv", None, "name", "Renamed by the import")(package)
    _, rows = read_csv(package / "services.csv")
    service_id = rows[row - 2]["id"]
    write = importer._write

    def write_while_an_editor_saves(session, package_, report, *args):
        writer = write(session, package_, report, *args)
        # An editor saves the service meanwhile: its version moves under the import.
        session.execute(update(Service).where(Service.id == service_id)
                        .values(name="Saved by the editor", version=Service.version + 1)
                        .execution_options(synchronize_session=False))
        return writer

    monkeypatch.setattr(importer, "_write", write_while_an_editor_saves)
    message = "Someone changed these records meanwhile; run the import again."
    client = admin_client(enriched_app)
    response = upload(client, zip_folder(package, tmp_path / "export.zip").read_bytes())
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#import-failed")
    assert [cell.get_text(strip=True) for cell in page.select("#import-problems .problem-message")] == [message]
    result = enriched_app.test_cli_runner().invoke(args=["import", str(package), "--lang", "en"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{message}" in result.output and "UPDATE" not in result.output
    with enriched_app.app_context():
        service = db.session.get(Service, service_id)
        assert service.name not in ("Renamed by the import", "Saved by the editor")  # nothing half-written
