"""The export passes Open Referral's own HSDS 3.1 tabular descriptor when
validated with frictionless (types, required fields, uniqueness, foreign
keys), for the starter data and after importing another publisher's
package; and the API and the export say the same things about a record,
because both come from one mapping."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from frictionless import validate as frictionless_validate

from directory.extensions import db
from directory.hsds import export as hsds_export
from directory.hsds import importer
from directory.hsds.mapping import hsds_descriptor
from test_hsds_liberal import write_package

OFFICIAL = {resource["name"]: resource for resource in hsds_descriptor()["resources"]}


def export(app, folder: Path) -> Path:
    with app.app_context():
        hsds_export.export_package(db.session, folder)
        db.session.rollback()
    return folder


def errors_of(folder: Path) -> list[str]:
    report = frictionless_validate(str(folder / "datapackage.json"))
    found = [f"{error.type}: {error.message}" for error in report.errors]
    for task in report.tasks:
        found.extend(f"{task.name}: {error.type}: {error.message}" for error in task.errors)
    return found


def test_the_export_of_the_starter_data_validates(seeded_app, tmp_path):
    folder = export(seeded_app, tmp_path / "out")
    assert errors_of(folder) == []
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    official_shipped = [r for r in descriptor["resources"] if r["name"] in OFFICIAL and r.get("hsds", True)]
    # The HSDS resources are the official ones (their columns and constraints).
    for resource in official_shipped:
        assert resource["schema"]["fields"] == OFFICIAL[resource["name"]]["schema"]["fields"]
    assert {"organization", "service", "location", "service_at_location", "taxonomy_term"} <= {
        r["name"] for r in official_shipped}


def test_a_broken_row_would_fail_the_validation(seeded_app, tmp_path):
    """The check above is real: an empty required name and a duplicated id fail it."""
    folder = export(seeded_app, tmp_path / "out")
    path = folder / "services.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    rows[0]["name"] = ""
    rows.append(dict(rows[1]))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    found = errors_of(folder)
    assert any("constraint-error" in error and "name" in error for error in found), found
    assert any("primary-key" in error or "unique" in error for error in found), found


def test_the_export_after_another_publishers_package_validates(seeded_app, tmp_path):
    with seeded_app.app_context():
        report = importer.import_package(db.session, write_package(tmp_path / "in"))
        assert report.ok, [str(p) for p in report.problems]
    folder = export(seeded_app, tmp_path / "out")
    assert errors_of(folder) == []
    with (folder / "taxonomy_terms.csv").open(encoding="utf-8", newline="") as handle:
        codes = [row["code"] for row in csv.DictReader(handle) if row["code"]]
    assert len(codes) == len(set(codes)) and "BD-1800.2000" in codes


@pytest.fixture
def exported_rows(seeded_app, tmp_path):
    with seeded_app.app_context():
        assert importer.import_package(db.session, write_package(tmp_path / "in")).ok
    folder = export(seeded_app, tmp_path / "out")
    return json.loads((folder / "directory.json").read_text(encoding="utf-8"))


def _same(api_value, exported_value) -> bool:
    if isinstance(api_value, str) and isinstance(exported_value, str) and "T" in api_value:
        return api_value[:19] == exported_value[:19]  # one datetime, milliseconds or not
    return api_value == exported_value


def test_the_api_and_the_export_say_the_same_of_every_service(seeded_app, exported_rows):
    """One mapping: every field the export writes for a service and for the
    rows nested in it is what the API answers for it."""
    client = seeded_app.test_client()
    by_id = {name: {row["id"]: row for row in rows if "id" in row} for name, rows in exported_rows.items()}
    nested = {"phones": "phone", "schedules": "schedule", "languages": "language",
              "required_documents": "required_document", "attributes": "attribute", "contacts": "contact"}
    compared = 0
    for service_id, row in by_id["service"].items():
        api = client.get(f"/api/services/{service_id}").get_json()
        for column, value in row.items():
            assert _same(api.get(column), value), (service_id, column, api.get(column), value)
            compared += 1
        for key, table in nested.items():
            for item in api.get(key, []):
                exported = by_id[table][item["id"]]
                for column, value in exported.items():
                    assert _same(item.get(column), value), (table, item["id"], column, item.get(column), value)
                    compared += 1
        for at_location in api["service_at_locations"]:
            location = at_location["location"]
            for column, value in by_id["location"][location["id"]].items():
                assert _same(location.get(column), value), ("location", location["id"], column)
                compared += 1
            for address in location["addresses"]:
                exported = by_id["address"].get(address["id"]) or by_id["x_incomplete_address"][address["id"]]
                for column, value in exported.items():
                    assert _same(address.get(column), value), ("address", address["id"], column)
                    compared += 1
    assert compared > 300
