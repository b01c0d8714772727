"""A package written to HSDS by another publisher, using what the standard
allows and this directory never writes itself: AIRS and Open Eligibility
codes, Estonian and US addresses, weekday lists, times with an offset, a
fortnightly and a monthly rule, ISO 639-3 and name-only languages, a phone on
a contact and one on a service at a location, a contact on a location, a
location without an organization, only the required columns plus a few, and
a column of the publisher's own. It imports, shows, and comes back out of
the export as it went in."""

from __future__ import annotations

import csv
import json
from datetime import datetime, time, timezone
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from directory.extensions import db
from directory.hsds import export as hsds_export
from directory.hsds import importer
from directory.hsds.mapping import hsds_descriptor
from directory.models import Language, Location, Schedule, Service, ServiceTermLink, TaxonomyTerm

ORG = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a1001"
SERVICE = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a2001"
LOCATION_EE = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a3001"
LOCATION_US = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a3002"
SAL = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a4001"
TAXONOMY = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a5001"
TERM_AIRS = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a6001"
TERM_FOOD = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a6002"
ATTRIBUTE = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a7001"
CONTACT = "6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a8001"
LAST_MODIFIED = "2025-03-04T05:06:07Z"

TABLES = {
    "organization": (["id", "name", "description", "x_publisher_note"], [
        [ORG, "Tartu Toidupank (näide)", "An example food bank across the border.", "internal"],
    ]),
    "service": (["id", "organization_id", "name", "status", "description", "last_modified"], [
        [SERVICE, ORG, "Toiduabi", "active", "Food parcels for families in need.", LAST_MODIFIED],
    ]),
    "location": (["id", "location_type", "name", "latitude", "longitude"], [
        [LOCATION_EE, "physical", "Tartu jaotuspunkt", "58.378", "26.729"],
        [LOCATION_US, "physical", "Sister pantry", "", ""],
    ]),
    "address": (["id", "location_id", "address_1", "city", "state_province", "postal_code", "country",
                 "address_type"], [
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a9001", LOCATION_EE, "Rüütli 1", "Tartu", "Tartumaa", "51007", "ee",
         "physical"],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a9002", LOCATION_US, "1 Main St", "Springfield", "IL", "62701", "US",
         "physical"],
    ]),
    "service_at_location": (["id", "service_id", "location_id"], [
        [SAL, SERVICE, LOCATION_EE],
    ]),
    "schedule": (["id", "service_id", "freq", "interval", "byday", "bymonthday", "dtstart", "opens_at",
                  "closes_at", "description"], [
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ab001", SERVICE, "WEEKLY", "", "MO,TU,WE", "", "",
         "09:00:00+02:00", "17:00:00+02:00", ""],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ab002", SERVICE, "weekly", "2", "FR", "", "2026-01-02",
         "10:00", "12:00", ""],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ab003", SERVICE, "MONTHLY", "", "", "15", "", "14:00", "16:00", ""],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ab004", SERVICE, "", "", "", "", "", "", "",
         "Open on the first day of the school year."],
    ]),
    "language": (["id", "service_id", "name", "code"], [
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ac001", SERVICE, "", "lav"],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ac002", SERVICE, "", "rus"],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ac003", SERVICE, "Estonian", ""],
    ]),
    "contact": (["id", "location_id", "name"], [
        [CONTACT, LOCATION_EE, "Mari Maasikas"],
    ]),
    "phone": (["id", "contact_id", "service_at_location_id", "number"], [
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ad001", CONTACT, "", "+372 5555 0000"],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ad002", "", SAL, "+372 5555 0001"],
    ]),
    "taxonomy": (["id", "name", "description"], [
        [TAXONOMY, "AIRS/211 Taxonomy", "The 211 LA County taxonomy."],
    ]),
    "taxonomy_term": (["id", "code", "name", "description", "taxonomy", "language", "taxonomy_id"], [
        [TERM_AIRS, "BD-1800.2000", "Food Pantries", "Programs that distribute food.", "", "eng", TAXONOMY],
        [TERM_FOOD, "Emergency Food", "Emergency Food", "Open Eligibility.", "Open Eligibility", "en", ""],
    ]),
    "attribute": (["id", "link_id", "taxonomy_term_id", "link_entity", "label"], [
        [ATTRIBUTE, SERVICE, TERM_AIRS, "service", "Primary"],
        ["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0a7002", SERVICE, TERM_FOOD, "service", ""],
    ]),
}


def write_package(folder: Path) -> Path:
    """Only the columns above (most optional ones left out), with the
    official descriptor's resources for the tables given."""
    folder.mkdir(parents=True, exist_ok=True)
    official = {r["name"]: r for r in hsds_descriptor()["resources"]}
    for name, (header, rows) in TABLES.items():
        with (folder / official[name]["path"]).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    descriptor = {"name": "liberal", "profile": "tabular-data-package",
                  "resources": [official[name] for name in TABLES]}
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return folder


@pytest.fixture
def imported(seeded_app, tmp_path):
    package = write_package(tmp_path / "liberal")
    with seeded_app.app_context():
        report = importer.import_package(db.session, package)
        assert report.ok, [str(p) for p in report.problems]
    return seeded_app, report


def test_what_the_standard_allows_is_taken_in(imported):
    app, report = imported
    with app.app_context(), force_locale("en"):
        # The publisher's own column is left out, and said so; nothing is refused.
        assert any(w.field == "x_publisher_note" and "left out" in str(w.message) for w in report.warnings)
        service = db.session.get(Service, SERVICE)
        assert service.updated_at.replace(tzinfo=timezone.utc) == datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
        rules = {s.id[-4:]: s for s in service.schedules}
        weekly = rules["b001"]
        assert (weekly.byday, weekly.opens_at, weekly.closes_at, weekly.timezone) == (
            "MO,TU,WE", time(9), time(17), 2.0)
        fortnightly = rules["b002"]
        assert (fortnightly.freq, fortnightly.interval, fortnightly.byday) == ("WEEKLY", 2, "FR")
        assert (rules["b003"].freq, rules["b003"].bymonthday) == ("MONTHLY", "15")
        assert rules["b004"].freq is None and rules["b004"].description.startswith("Open on the first day")
        assert sorted(language.code for language in service.languages) == ["et", "lv", "ru"]
        terms = {term.id: term for term in db.session.scalars(select(TaxonomyTerm).where(
            TaxonomyTerm.id.in_([TERM_AIRS, TERM_FOOD])))}
        assert (terms[TERM_AIRS].code, terms[TERM_AIRS].language) == ("BD-1800.2000", "en")
        assert (terms[TERM_FOOD].code, terms[TERM_FOOD].taxonomy_id, terms[TERM_FOOD].taxonomy_name) == (
            "Emergency Food", None, "Open Eligibility")
        link = db.session.scalar(select(ServiceTermLink).where(ServiceTermLink.taxonomy_term_id == TERM_AIRS))
        assert (link.id, link.label) == (ATTRIBUTE, "Primary")
        assert db.session.get(Location, LOCATION_US).organization_id is None
        assert db.session.get(Location, LOCATION_EE).addresses[0].country == "EE"


def test_the_service_shows_its_rules_in_words_and_its_languages(imported):
    app, _report = imported
    client = app.test_client()
    with app.app_context():
        service = db.session.get(Service, SERVICE)
        slug = service.organization.slug
    page = client.get(f"/en/centres/{slug}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Every other week" in text and "15th" in text
    assert "Open on the first day of the school year." in text


def test_the_language_filter_finds_a_language_given_as_iso_639_3(imported):
    app, _report = imported
    page = app.test_client().get("/en/?language=lv&q=Toiduabi")
    assert page.status_code == 200 and "Toiduabi" in page.get_data(as_text=True)


def test_the_api_gives_back_what_was_imported(imported):
    app, _report = imported
    service = app.test_client().get(f"/api/services/{SERVICE}").get_json()
    assert service["last_modified"].startswith("2025-03-04T05:06:07")
    attributes = {a["id"]: a for a in service["attributes"]}
    assert attributes[ATTRIBUTE]["label"] == "Primary"
    assert attributes[ATTRIBUTE]["taxonomy_term"]["code"] == "BD-1800.2000"
    assert attributes[ATTRIBUTE]["taxonomy_term"]["language"] == "en"
    rules = {s["id"][-4:]: s for s in service["schedules"]}
    assert (rules["b002"]["interval"], rules["b002"]["byday"]) == (2, "FR")
    [at_location] = service["service_at_locations"]
    assert at_location["phones"][0]["number"] == "+372 5555 0001"
    assert at_location["location"]["contacts"][0]["phones"][0]["number"] == "+372 5555 0000"


def test_the_export_gives_back_what_was_imported(imported, tmp_path):
    app, _report = imported
    folder = tmp_path / "out"
    with app.app_context():
        hsds_export.export_package(db.session, folder)
    rows = {}
    for name in ("service", "schedule", "taxonomy_term", "attribute", "language", "location", "phone"):
        path = folder / next(r["path"] for r in hsds_descriptor()["resources"] if r["name"] == name)
        with path.open(encoding="utf-8", newline="") as handle:
            rows[name] = {row["id"]: row for row in csv.DictReader(handle)}
    assert rows["service"][SERVICE]["last_modified"] == LAST_MODIFIED
    assert rows["taxonomy_term"][TERM_AIRS]["language"] == "en"
    assert rows["taxonomy_term"][TERM_AIRS]["code"] == "BD-1800.2000"
    assert rows["taxonomy_term"][TERM_FOOD]["taxonomy"] == "Open Eligibility"
    assert rows["attribute"][ATTRIBUTE]["label"] == "Primary"
    fortnightly = rows["schedule"]["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ab002"]
    assert (fortnightly["interval"], fortnightly["byday"], fortnightly["dtstart"]) == ("2", "FR", "2026-01-02")
    weekly = rows["schedule"]["6c1a6a53-3b0e-4d0c-9a59-0d1d7e0ab001"]
    assert (weekly["byday"], weekly["opens_at"], weekly["timezone"]) == ("MO,TU,WE", "09:00:00", "2.0")
    assert rows["location"][LOCATION_US]["organization_id"] == ""
    assert {row["code"] for row in rows["language"].values() if row["service_id"] == SERVICE} >= {"lv", "ru", "et"}

    # The export imported into the same directory changes nothing.
    with app.app_context():
        again = importer.import_package(db.session, folder)
        assert again.ok, [str(p) for p in again.problems]
        assert again.totals().created == 0 and again.totals().updated == 0, again.counts
