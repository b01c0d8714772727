"""Issue 18 in HSDS: organizations' registration numbers
(organization_identifier), what services cost (cost_option), the country
or municipality a service area is (service_area with its ISO 3166 page,
x_service_areas.csv with its code) and confidential locations
(x_locations.csv). Each travels through the export and back unchanged,
validates against HSDS 3.1, is checked row by row on import, shows in the
API and moves a service's last_modified; free_of_charge follows from the
cost options, also for a package of an earlier version that only had the flag."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select, update

from conftest import soup
from directory.costs import keep_free_flag
from directory.extensions import db
from directory.hsds import bulk, importer, mapping
from directory.hsds.export import export_package
from directory.hsds.validator import legacy_cost_option_id
from directory.models import (
    CostOption,
    Location,
    Organization,
    OrganizationIdentifier,
    Service,
    ServiceArea,
)
from test_exchange import (
    admin_client,
    edit_csv,
    empty_database,
    en,
    export,
    hsds_registry,
    read_csv,
    row_of,
    upload,
    write_csv,
    zip_folder,
)
from test_hsds_validity import errors_of

ISO = "https://www.iso.org/obp/ui/#iso:code:3166:"
# Ids against the order, so that only the positions (x_cost_options.csv) keep it.
FREE, PAID, UNSTATED = ("ffffffff-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b",
                        "80000000-0000-4000-8000-00000000000c")
LV_RE, SPSR, FOREIGN = ("a1000000-0000-4000-8000-000000000001", "a1000000-0000-4000-8000-000000000002",
                        "a1000000-0000-4000-8000-000000000003")
MUNICIPALITY, COUNTRY, NAMED, WORDED, AT_LOCATION = (f"b2000000-0000-4000-8000-00000000000{n}" for n in range(1, 6))


def org(slug: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def add_issue18_data() -> dict[str, str]:
    """Registration numbers, cost options, coded and worded areas on a
    service and on a service at a location, a confidential location."""
    vigante, saskarsme = org("vigante"), org("saskarsme")
    vigante.identifiers = [
        OrganizationIdentifier(id=LV_RE, identifier_scheme="LV-RE", identifier="40900012345",
                               identifier_type="Latvian Register of Enterprises registration number"),
        OrganizationIdentifier(id=SPSR, identifier_scheme="LV-SPSR", identifier="SP-123",
                               identifier_type="Latvian register of social service providers number"),
        # Another publisher's scheme, not one the directory checks: as it came.
        OrganizationIdentifier(id=FOREIGN, identifier_scheme="EE-RIK", identifier="80 000 000 x",
                               identifier_type="Estonian Business Register code"),
    ]
    service = vigante.services[0]
    service.cost_options = [
        CostOption(id=FREE, position=0, amount=0, currency="EUR", option="Pensionāriem",
                   amount_description="par dienu", valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31)),
        CostOption(id=PAID, position=1, amount=12.5, currency="EUR", option="Citiem", amount_description="par nakti"),
        CostOption(id=UNSTATED, position=2, option="Transports", amount_description="pēc vienošanās"),
    ]
    keep_free_flag(service)
    paid = saskarsme.services[0]
    paid.cost_options = [CostOption(amount=5.75, currency="PLN", option="Viesiem no Polijas")]
    keep_free_flag(paid)
    service.service_areas = [
        ServiceArea(id=MUNICIPALITY, area_code="LV-111"),
        ServiceArea(id=COUNTRY, area_code="LT", description="Iedzīvotājiem ar nosūtījumu"),
        # A code with the area's own name and page: both kept, the code from the x_ file.
        ServiceArea(id=NAMED, area_code="LV-DGV", name="Daugavpils un apkārtne", uri="https://www.example.lv/area"),
        ServiceArea(id=WORDED, name="Daugavas krasts", description="Abos krastos",
                    extent='{"type": "Point", "coordinates": [26.5, 55.9]}', extent_type="geojson"),
    ]
    at_location = service.service_at_locations[0]
    at_location.service_areas = [ServiceArea(id=AT_LOCATION, area_code="LT-60")]
    location = vigante.locations[0]
    location.confidential = True
    db.session.commit()
    return {"service": service.id, "paid": paid.id, "organization": vigante.id, "location": location.id,
            "at_location": at_location.id}


def issue18_rows() -> dict[str, list[tuple]]:
    """Everything issue 18 added, as the database holds it."""
    db.session.rollback()

    def rows(*columns):
        return sorted((tuple(row) for row in db.session.execute(select(*columns))), key=repr)

    return {
        "organization_identifier": rows(*OrganizationIdentifier.__table__.c),
        "cost_option": rows(*CostOption.__table__.c),
        "service_area": rows(*ServiceArea.__table__.c),
        "confidential": rows(Location.id, Location.confidential),
        "free_of_charge": rows(Service.id, Service.free_of_charge, Service.fees_description),
    }


@pytest.fixture
def issue18(seeded_app):
    with seeded_app.app_context():
        ids = add_issue18_data()
    return seeded_app, ids


@pytest.fixture
def package(issue18, tmp_path) -> Path:
    app, _ids = issue18
    return export(app, tmp_path / "package")


def drop_files(package: Path, *names: str) -> None:
    """A package without these resources (another publisher's, or an earlier version's)."""
    files = {mapping.tables()[name].path for name in names}
    for path in files:
        (package / path).unlink()
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if r["path"] not in files]
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")


def problems(report) -> list[tuple]:
    return [(p.file, p.row, p.field, en(p.message)) for p in report.problems]


# ------------------------------------------------------------------ export


def test_the_export_writes_the_new_tables_and_validates_against_hsds_3_1(issue18, package):
    _app, ids = issue18
    assert errors_of(package) == []
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    official = {r["name"]: r for r in mapping.hsds_descriptor()["resources"]}
    by_name = {r["name"]: r for r in descriptor["resources"]}
    for name in ("cost_option", "organization_identifier"):
        assert by_name[name]["schema"]["fields"] == official[name]["schema"]["fields"]
    # Every row of the tables issue 18 touches passes its 3.1 JSON schema.
    json_tables = json.loads((package / "directory.json").read_text(encoding="utf-8"))
    registry = hsds_registry()
    for name in ("cost_option", "organization_identifier", "service_area", "location"):
        validator = Draft202012Validator({"$ref": f"{name}.json"}, registry=registry, format_checker=FormatChecker())
        assert json_tables[name]
        for row in json_tables[name]:
            assert [e.message for e in validator.iter_errors(row)] == [], (name, row)
    # A coded area is named, for other publishers, by its name and ISO page.
    _header, areas = read_csv(package / "service_areas.csv")
    areas = {row["id"]: row for row in areas}
    assert (areas[MUNICIPALITY]["name"], areas[MUNICIPALITY]["uri"]) == ("Augšdaugavas novads", ISO + "LV-111")
    assert (areas[COUNTRY]["name"], areas[COUNTRY]["uri"]) == ("Lithuania", ISO + "LT")
    assert (areas[AT_LOCATION]["name"], areas[AT_LOCATION]["uri"]) == ("Zarasų rajono savivaldybė", ISO + "LT-60")
    assert areas[AT_LOCATION]["service_at_location_id"] == ids["at_location"]
    assert (areas[NAMED]["name"], areas[NAMED]["uri"]) == ("Daugavpils un apkārtne", "https://www.example.lv/area")
    assert (areas[WORDED]["name"], areas[WORDED]["uri"]) == ("Daugavas krasts", "")
    _header, x_areas = read_csv(package / "x_service_areas.csv")
    assert {row["id"]: row["area_code"] for row in x_areas} == {
        MUNICIPALITY: "LV-111", COUNTRY: "LT", NAMED: "LV-DGV", WORDED: "", AT_LOCATION: "LT-60"}
    # Cost options in each service's order, with their dates and amounts.
    _header, options = read_csv(package / "cost_options.csv")
    mine = [row for row in options if row["service_id"] == ids["service"]]
    assert [row["id"] for row in mine] == [FREE, PAID, UNSTATED]
    assert mine[0] == {"id": FREE, "service_id": ids["service"], "valid_from": "2025-01-01",
                            "valid_to": "2025-12-31", "option": "Pensionāriem", "currency": "EUR", "amount": "0.0",
                            "amount_description": "par dienu"}
    assert (mine[2]["amount"], mine[2]["currency"]) == ("", "")
    # The flag is the cost options' now: x_services.csv no longer writes it.
    header, _rows = read_csv(package / "x_services.csv")
    assert "free_of_charge" not in header
    assert "free_of_charge" not in json.dumps(json_tables["x_service"])
    _header, x_locations = read_csv(package / "x_locations.csv")
    assert {row["id"]: row["confidential"] for row in x_locations}[ids["location"]] == "true"
    _header, numbers = read_csv(package / "organization_identifiers.csv")
    assert {row["identifier"] for row in numbers} == {"40900012345", "SP-123", "80 000 000 x"}


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("into", ["an empty database", "changed records"])
@pytest.mark.parametrize("form", ["csv", "directory.json"])
def test_every_new_field_travels_there_and_back_unchanged(issue18, package, form, into, monkeypatch):
    app, _ids = issue18
    with app.app_context():
        before = issue18_rows()
        assert all(before.values())
        if into == "an empty database":
            empty_database()
            monkeypatch.setattr(bulk, "COPY_AT_LEAST", 1)  # PostgreSQL: the COPY path too
        else:  # every value different: the rows are updated back
            db.session.execute(update(OrganizationIdentifier).values(identifier="1", identifier_scheme=None))
            db.session.execute(update(CostOption).values(amount=99, currency="USD", valid_to=None, option="x",
                                                         position=7))
            db.session.execute(update(ServiceArea).values(area_code=None, name="?", uri=None))
            db.session.execute(update(Location).values(confidential=False))
            db.session.execute(update(Service).values(free_of_charge=None))
            db.session.commit()
        report = importer.import_package(db.session, package if form == "csv" else package / "directory.json")
        assert report.ok and report.imported, problems(report)
        assert report.warnings == []
        assert issue18_rows() == before
        if into == "changed records":
            assert report.counts["cost_option"].updated == 4
            assert report.counts["organization_identifier"].updated == 3
        # Imported again: nothing to write.
        again = importer.import_package(db.session, package)
        assert again.ok and again.totals().created == again.totals().updated == 0
        assert issue18_rows() == before


def test_the_apis_own_service_reads_back_with_its_areas_recognised(issue18, tmp_path):
    """Another publisher's copy of /api/services/{id}: no x_ files, so each
    area's code comes from its ISO page; registration numbers come with the
    organization, cost options with the service."""
    app, ids = issue18
    document = app.test_client().get(f"/api/services/{ids['service']}").get_json()
    path = tmp_path / "service_full.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with app.app_context():
        before = issue18_rows()
        empty_database()
        report = importer.import_package(db.session, path)
        assert report.ok and report.imported, problems(report)
        after = issue18_rows()
        assert after["organization_identifier"] == before["organization_identifier"]
        assert after["cost_option"] == [row for row in before["cost_option"] if row[1] == ids["service"]]
        codes = {area.id: (area.area_code, area.name, area.uri) for area in db.session.scalars(select(ServiceArea))}
        assert codes == {
            MUNICIPALITY: ("LV-111", None, None),
            COUNTRY: ("LT", None, None),
            NAMED: (None, "Daugavpils un apkārtne", "https://www.example.lv/area"),  # its own words: no code said
            WORDED: (None, "Daugavas krasts", None),
            AT_LOCATION: ("LT-60", None, None),
        }
        assert db.session.get(Service, ids["service"]).free_of_charge is True


def test_another_publishers_areas_are_recognised_liberally_and_never_dropped(issue18, package):
    app, _ids = issue18
    drop_files(package, "x_service_area")
    names = {MUNICIPALITY: ("Zarasų r. sav.", ""), COUNTRY: ("Latvia", ""), NAMED: ("LT", ""),
             WORDED: ("The MyCity area", "http://example.com"),
             AT_LOCATION: ("", "http://www.iso.org/obp/ui/#iso:code:3166:lv-dgv")}

    def rename(header, rows):
        for row in rows:
            row["name"], row["uri"] = names[row["id"]]

    edit_csv(package, "service_areas.csv", rename)
    with app.app_context():
        report = importer.import_package(db.session, package)
        assert report.ok and report.imported, problems(report)
        areas = {area.id: area for area in db.session.scalars(select(ServiceArea))}
        assert {id_: area.area_code for id_, area in areas.items()} == {
            MUNICIPALITY: "LT-60", COUNTRY: "LV", NAMED: "LT", WORDED: None, AT_LOCATION: "LV-DGV"}
        # The publisher's own words stay; only what the code says itself is not kept twice.
        assert areas[MUNICIPALITY].name == "Zarasų r. sav." and areas[COUNTRY].name is None
        assert areas[AT_LOCATION].uri == "http://www.iso.org/obp/ui/#iso:code:3166:lv-dgv"
        worded = areas[WORDED]
        assert (worded.name, worded.uri, worded.description, worded.extent_type) == (
            "The MyCity area", "http://example.com", "Abos krastos", "geojson")


# ------------------------------------------------------------------ checks


def test_registration_numbers_are_checked_row_by_row(issue18, package):
    app, _ids = issue18

    def spoil(header, rows):
        rows[row_of(rows, id=LV_RE)]["identifier"] = "4090001234"  # 10 digits
        rows[row_of(rows, id=FOREIGN)].update(identifier_scheme="LT-RC", identifier="30000000A")

    edit_csv(package, "organization_identifiers.csv", spoil)
    _header, rows = read_csv(package / "organization_identifiers.csv")
    lv_row, lt_row = row_of(rows, id=LV_RE) + 2, row_of(rows, id=FOREIGN) + 2
    with app.app_context():
        before = issue18_rows()
        report = importer.import_package(db.session, package)
        assert not report.ok and not report.imported
        found = {(file, row, name): message for file, row, name, message in problems(report)}
        assert set(found) == {("organization_identifiers.csv", lv_row, "identifier"),
                              ("organization_identifiers.csv", lt_row, "identifier")}
        assert "Latvian Register of Enterprises" in found[("organization_identifiers.csv", lv_row, "identifier")]
        assert "11 digits" in found[("organization_identifiers.csv", lv_row, "identifier")]
        assert "9 digits" in found[("organization_identifiers.csv", lt_row, "identifier")]
        assert issue18_rows() == before


def test_spaces_in_a_registered_number_and_a_schemes_case_are_mended(issue18, package):
    app, _ids = issue18
    edit_csv(package, "organization_identifiers.csv", lambda header, rows: rows[row_of(rows, id=LV_RE)].update(
        identifier_scheme="lv-re", identifier="409 0001 2346"))
    with app.app_context():
        report = importer.import_package(db.session, package)
        assert report.ok, problems(report)
        number = db.session.get(OrganizationIdentifier, LV_RE)
        assert (number.identifier_scheme, number.identifier) == ("LV-RE", "40900012346")
        # Another scheme's number is kept exactly as it came.
        assert db.session.get(OrganizationIdentifier, FOREIGN).identifier == "80 000 000 x"


@pytest.mark.parametrize("column, value, text", [
    ("currency", "EURO", "ISO 4217"),
    ("currency", "XYZ", "ISO 4217"),
    ("amount", "-1", "0 or more"),
    ("amount", "pieci", "Not a number"),
    ("valid_to", "2024-12-31", "valid_from is after valid_to"),
])
def test_a_bad_cost_option_is_a_row_level_error(issue18, package, column, value, text):
    app, _ids = issue18
    edit_csv(package, "cost_options.csv", lambda header, rows: rows[row_of(rows, id=FREE)].update({column: value}))
    _header, rows = read_csv(package / "cost_options.csv")
    with app.app_context():
        before = issue18_rows()
        report = importer.import_package(db.session, package)
        assert not report.ok and not report.imported
        field = "valid_from" if column == "valid_to" else column
        assert [(file, row, name) for file, row, name, message in problems(report) if text in message] == [
            ("cost_options.csv", row_of(rows, id=FREE) + 2, field)], problems(report)
        assert issue18_rows() == before


def test_a_currency_in_lowercase_is_read_in_uppercase(issue18, package):
    app, _ids = issue18
    edit_csv(package, "cost_options.csv", lambda header, rows: rows[row_of(rows, id=PAID)].update(currency="gbp"))
    with app.app_context():
        assert importer.import_package(db.session, package).ok
        assert db.session.get(CostOption, PAID).currency == "GBP"


def test_free_of_charge_follows_from_the_imported_cost_options(issue18, package):
    app, ids = issue18
    edit_csv(package, "cost_options.csv", lambda header, rows: rows[row_of(rows, id=FREE)].update(amount="3"))
    with app.app_context():
        version = db.session.get(Service, ids["service"]).version
        assert db.session.get(Service, ids["service"]).free_of_charge is True
        report = importer.import_package(db.session, package)
        assert report.ok, problems(report)
        service = db.session.get(Service, ids["service"])
        assert service.free_of_charge is False and service.version == version
        assert db.session.get(Service, ids["paid"]).free_of_charge is False
    edit_csv(package, "cost_options.csv", lambda header, rows: rows[row_of(rows, service_id=ids["paid"])].update(
        amount="0"))
    with app.app_context():
        assert importer.import_package(db.session, package).ok
        assert db.session.get(Service, ids["paid"]).free_of_charge is True


def as_an_earlier_version(package: Path, ids: dict[str, str]) -> None:
    drop_files(package, "cost_option", "x_cost_option")
    header, rows = read_csv(package / "x_services.csv")
    flags = {ids["service"]: "true", ids["paid"]: "false"}
    for row in rows:
        row["free_of_charge"] = flags.get(row["id"], "")
    write_csv(package / "x_services.csv", header + ["free_of_charge"], rows)
    edit_csv(package, "services.csv", lambda header, rows: rows[row_of(rows, id=ids["service"])].update(
        fees_description="Bez maksas."))


def test_a_package_of_an_earlier_version_with_only_the_flag_imports_into_cost_options(issue18, package):
    """Before issue 18 the export wrote x_services.csv free_of_charge (and
    fees_description in words from it) and had no cost_options.csv."""
    app, ids = issue18
    as_an_earlier_version(package, ids)
    with app.app_context():
        empty_database()
        report = importer.import_package(db.session, package)
        assert report.ok and report.imported, problems(report)
        notes = {(w.file, w.field): en(w.message) for w in report.warnings}
        assert set(notes) == {("x_services.csv", "free_of_charge")} and len(report.warnings) == 2
        assert {en(w.message).split(" (")[0] for w in report.warnings} == {
            "Imported as a cost option of 0 EUR", "Imported as a cost option without an amount"}
        free, paid = db.session.get(Service, ids["service"]), db.session.get(Service, ids["paid"])
        assert [(o.id, o.amount, o.currency) for o in free.cost_options] == [
            (legacy_cost_option_id(free.id), 0.0, "EUR")]
        assert [(o.amount, o.currency) for o in paid.cost_options] == [(None, None)]
        assert (free.free_of_charge, paid.free_of_charge) == (True, False)
        assert free.fees_description is None  # the flag's own words, not the listing's
        # Imported again: the options it made are there; nothing new.
        again = importer.import_package(db.session, package)
        assert again.ok and again.warnings == [] and again.totals().created == 0
        assert len(db.session.scalars(select(CostOption)).all()) == 2


def test_an_admins_upload_takes_them_in_and_says_what_became_of_a_flag(issue18, accounts, package, tmp_path):
    app, ids = issue18
    archive = zip_folder(package, tmp_path / "export.zip").read_bytes()
    with app.app_context():
        before = issue18_rows()
        db.session.execute(update(Location).values(confidential=False))
        db.session.execute(update(CostOption).values(amount=1))
        db.session.execute(update(OrganizationIdentifier).values(identifier="2"))
        db.session.execute(update(ServiceArea).values(area_code=None))
        db.session.commit()
    client = admin_client(app)
    assert soup(upload(client, archive)).select_one("#import-success")
    with app.app_context():
        assert issue18_rows() == before
        db.session.execute(CostOption.__table__.delete())
        db.session.commit()
    as_an_earlier_version(package, ids)
    page = upload(client, zip_folder(package, tmp_path / "earlier.zip").read_bytes()).get_data(as_text=True)
    assert "Imported as a cost option of 0 EUR" in page and "x_services.csv" in page
    with app.app_context():
        assert db.session.get(CostOption, legacy_cost_option_id(ids["service"])).amount == 0
        assert db.session.get(Service, ids["paid"]).free_of_charge is False


# ------------------------------------------------------------------ the API


def test_the_api_carries_cost_options_areas_and_registration_numbers(issue18):
    app, ids = issue18
    client = app.test_client()
    service = client.get(f"/api/services/{ids['service']}").get_json()
    assert [o["id"] for o in service["cost_options"]] == [FREE, PAID, UNSTATED]
    assert service["cost_options"][0] == {
        "id": FREE, "service_id": ids["service"], "valid_from": "2025-01-01", "valid_to": "2025-12-31",
        "option": "Pensionāriem", "currency": "EUR", "amount": 0.0, "amount_description": "par dienu"}
    assert "amount" not in service["cost_options"][2]  # no nulls: an amount not stated is left out
    assert service["fees_description"] == "Bez maksas."
    areas = {area["id"]: area for area in service["service_areas"]}
    assert areas[MUNICIPALITY] == {"id": MUNICIPALITY, "service_id": ids["service"], "name": "Augšdaugavas novads",
                                   "uri": ISO + "LV-111"}
    assert areas[COUNTRY]["uri"] == ISO + "LT" and areas[COUNTRY]["name"] == "Lithuania"
    assert "uri" not in areas[WORDED]
    [at_location] = [s for s in service["service_at_locations"] if s["id"] == ids["at_location"]]
    assert at_location["service_areas"][0]["uri"] == ISO + "LT-60"
    # A fully nested service's organization carries its registration numbers.
    assert {n["identifier"] for n in service["organization"]["organization_identifiers"]} == {
        "40900012345", "SP-123", "80 000 000 x"}
    organization = client.get(f"/api/organizations/{ids['organization']}").get_json()
    [number] = [n for n in organization["organization_identifiers"] if n["id"] == LV_RE]
    assert number == {"id": LV_RE, "organization_id": ids["organization"], "identifier_scheme": "LV-RE",
                      "identifier_type": "Latvian Register of Enterprises registration number",
                      "identifier": "40900012345"}
    registry = hsds_registry()
    for instance, name in ((service, "service.json"), (organization, "organization.json")):
        validator = Draft202012Validator({"$ref": name}, registry=registry, format_checker=FormatChecker())
        assert [e.message for e in validator.iter_errors(instance)] == []


# ------------------------------------------------------------------ the change feed


def _stamp_in_the_past(service_ids) -> datetime:
    past = datetime(2020, 1, 1, tzinfo=timezone.utc)
    db.session.execute(update(Service).where(Service.id.in_(service_ids)).values(updated_at=past))
    db.session.commit()
    return past


def _moved(service_id: str, past: datetime) -> bool:
    db.session.expire_all()
    held = db.session.get(Service, service_id).updated_at
    return (held if held.tzinfo else held.replace(tzinfo=timezone.utc)) > past


@pytest.mark.parametrize("change", ["cost option", "new cost option", "service area", "area at a location",
                                    "registration number"])
def test_what_issue_18_nests_in_a_service_moves_its_last_modified(issue18, change):
    app, ids = issue18
    with app.app_context():
        others = [s.id for s in db.session.scalars(select(Service)) if s.organization_id != ids["organization"]]
        past = _stamp_in_the_past([ids["service"], *others])
        if change == "cost option":
            db.session.get(CostOption, PAID).amount = 13
        elif change == "new cost option":
            db.session.add(CostOption(service_id=ids["service"], amount=1, currency="EUR", position=5))
        elif change == "service area":
            db.session.get(ServiceArea, MUNICIPALITY).area_code = "LV-DGV"
        elif change == "area at a location":
            db.session.get(ServiceArea, AT_LOCATION).area_code = "LT"
        else:
            db.session.get(OrganizationIdentifier, LV_RE).identifier = "40900012346"
        db.session.commit()
        assert _moved(ids["service"], past)
        assert not any(_moved(other, past) for other in others)


def test_an_import_that_changes_a_cost_option_moves_its_service(issue18, package):
    app, ids = issue18
    edit_csv(package, "cost_options.csv", lambda header, rows: rows[row_of(rows, id=PAID)].update(amount="14"))

    def unstated(header, rows):
        for row in rows:
            row["last_modified"] = ""

    edit_csv(package, "services.csv", unstated)
    with app.app_context():
        past = _stamp_in_the_past([s.id for s in db.session.scalars(select(Service))])
        report = importer.import_package(db.session, package)
        assert report.ok, problems(report)
        assert _moved(ids["service"], past) and not _moved(ids["paid"], past)


# ------------------------------------------------------------------ a published export


def test_a_published_export_leaves_out_the_areas_of_an_organization_waiting_for_review(issue18, tmp_path):
    """An area that only a service at a location owns goes with it (and the
    export still passes HSDS's descriptor: no reference to a row left out)."""
    app, ids = issue18
    with app.app_context():
        pending = org("saskarsme")
        pending.status = "pending"
        at_location = pending.services[0].service_at_locations[0]
        at_location.service_areas = [ServiceArea(area_code="LV-DGV")]
        db.session.commit()
        area_id = at_location.service_areas[0].id
        folder = tmp_path / "public"
        export_package(db.session, folder, published_only=True)
        db.session.rollback()
    assert errors_of(folder) == []
    for name in ("service_areas.csv", "x_service_areas.csv", "cost_options.csv", "x_cost_options.csv"):
        _header, rows = read_csv(folder / name)
        assert area_id not in {row["id"] for row in rows}
        assert ids["paid"] not in {row.get("service_id") for row in rows}
