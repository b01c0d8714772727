"""Open Referral's own HSDS example data (3.0 and 3.1, tests/data/hsds-examples,
CC BY-SA 4.0): another publisher's data. The import points at exactly its
few genuine schema errors (a latitude of 100, references to records the
package does not contain) and at nothing else; with skip_invalid it takes
in the rest; once those rows are mended the whole package imports and shows
in search, on the centre page and in the API."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from flask_babel import force_locale

from conftest import edit_csv
from directory.extensions import db
from directory.hsds import importer
from directory.models import Organization, Service, Taxonomy

EXAMPLES = Path(__file__).resolve().parent / "data" / "hsds-examples"

# The genuine errors of the CSV packages: (file, row, field).
GENUINE_3_0 = {
    ("locations.csv", 2, "latitude"),  # 100: outside −90…90
    ("locations.csv", 2, "organization_id"),
    ("organizations.csv", 2, "parent_organization_id"),
    ("contacts.csv", 2, "organization_id"),
    ("contacts.csv", 2, "service_at_location_id"),
    ("taxonomy_terms.csv", 2, "taxonomy_id"),
    ("taxonomy_terms.csv", 2, "parent_id"),
}
GENUINE = {
    "3.0": GENUINE_3_0,
    "3.1": GENUINE_3_0 | {
        ("service_areas.csv", 2, "service_at_location_id"),
        ("service_capacity.csv", 2, "service_id"),
        ("service_capacity.csv", 2, "unit_id"),
    },
}
SERVICE = "ac148810-d857-441c-9679-408f346de14b"  # "Community Counselling"
ORGANIZATION = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
TAXONOMY = "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
# Every problem the examples may give is one of these kinds.
GENUINE_KINDS = ("Latitude must be between", "with this id in the package or the database")


def problems_of(report) -> set[tuple]:
    return {(p.file, p.row, p.field) for p in report.problems}


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_the_import_points_at_exactly_the_genuine_errors(seeded_app, version):
    with seeded_app.app_context(), force_locale("en"):
        report = importer.import_package(db.session, EXAMPLES / version / "csv")
        assert not report.imported
        assert problems_of(report) == GENUINE[version]
        assert db.session.get(Service, SERVICE) is None  # all or nothing
        # What the directory does not keep is said, not refused.
        left_out = {w.file for w in report.warnings}
        assert {"programs.csv", "funding.csv"} <= left_out


@pytest.mark.parametrize("version", ["3.0", "3.1"])
@pytest.mark.parametrize("shape", ["tabular.json", "service_full.json", "service_list.json",
                                   "organization_full.json", "organization_list.json",
                                   "service_at_location_full.json", "service_at_location_list.json",
                                   "taxonomy_term_list.json", "taxonomy_list.json", "location.json"])
def test_the_json_shapes_are_read_and_only_genuine_errors_named(seeded_app, version, shape):
    with seeded_app.app_context(), force_locale("en"):
        report = importer.import_package(db.session, EXAMPLES / version / shape)
        messages = [str(p.message) for p in report.problems]
        assert all(any(kind in message for kind in GENUINE_KINDS) for message in messages), messages
        if report.ok:  # nothing wrong in this shape: it was taken in
            assert report.imported and report.totals().created > 0


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_skip_invalid_takes_in_the_rest_and_lists_what_it_skipped(seeded_app, version):
    with seeded_app.app_context(), force_locale("en"):
        report = importer.import_package(db.session, EXAMPLES / version / "csv", skip_invalid=True)
        assert report.ok and report.imported, [str(p) for p in report.problems]
        skipped = {(p.file, p.row, p.field) for p in report.skipped}
        assert GENUINE[version] <= skipped
        # The organization names a parent that does not exist: skipped, and
        # what depends on it (its service, the service's rows) with it.
        assert ("services.csv", 2, "organization_id") in skipped
        assert db.session.get(Organization, ORGANIZATION) is None
        assert db.session.get(Service, SERVICE) is None
        # The rest was taken in.
        assert db.session.get(Taxonomy, TAXONOMY) is not None
        assert report.totals().created > 0


def mend(folder: Path, version: str) -> None:
    """Mend the genuine errors the way their publisher would: a real
    latitude, and references to records that exist (or none)."""
    def edit(name, change):
        edit_csv(folder / name, change)

    def first_id(name):
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            return next(csv.DictReader(handle))["id"]

    edit("locations.csv", lambda row: row.update(latitude="40.1", longitude="-88.2", organization_id=ORGANIZATION))
    edit("organizations.csv", lambda row: row.update(parent_organization_id=""))
    sal = first_id("service_at_location.csv")
    edit("contacts.csv", lambda row: row.update(organization_id=ORGANIZATION, service_at_location_id=sal))
    taxonomy = first_id("taxonomies.csv")
    edit("taxonomy_terms.csv", lambda row: row.update(taxonomy_id=taxonomy, parent_id=""))
    if version == "3.1":
        edit("service_areas.csv", lambda row: row.update(service_at_location_id=sal))
        unit = first_id("units.csv")
        edit("service_capacity.csv", lambda row: row.update(service_id=SERVICE, unit_id=unit))


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_mended_the_whole_package_imports_and_shows(seeded_app, tmp_path, version):
    folder = tmp_path / version
    shutil.copytree(EXAMPLES / version / "csv", folder)
    mend(folder, version)
    with seeded_app.app_context(), force_locale("en"):
        report = importer.import_package(db.session, folder)
        assert report.ok and report.imported, [str(p) for p in report.problems]
        organization = db.session.get(Organization, ORGANIZATION)
        slug = organization.slug
        service = db.session.get(Service, SERVICE)
        assert service.service_at_locations and service.service_at_locations[0].location.latitude == 40.1
        if version == "3.1":
            assert service.capacities and service.capacities[0].unit.name == "Kilogram"
    client = seeded_app.test_client()
    assert "Community Counselling" in client.get("/en/?q=Counselling").get_data(as_text=True)
    centre = client.get(f"/en/centres/{slug}")
    assert centre.status_code == 200 and "Community Counselling" in centre.get_data(as_text=True)
    api = client.get(f"/api/services/{SERVICE}").get_json()
    assert api["name"] == "Community Counselling"
    assert api["service_at_locations"][0]["location"]["latitude"] == 40.1
    if version == "3.1":
        assert api["capacities"][0]["unit"]["name"] == "Kilogram"
