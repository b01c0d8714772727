"""Reading what the HSDS standard allows (directory/hsds/reader.py and
shapes.py): Open Referral's own example data in each of its shapes (3.0 and
3.1, copied in tests/data/hsds-examples/), CSV files without a
datapackage.json, columns and tables the directory does not keep, documents
that are nothing HSDS, the limits, and the options of `flask import`.

Expected tables and row counts are counted here from the example files
themselves, never written down as numbers."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import zipfile
from array import array
from collections import defaultdict
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from directory import cli
from directory.hsds import reader
from directory.hsds.mapping import hsds_descriptor, tables
from directory.hsds.report import (
    MAX_ARCHIVE_BYTES,
    MAX_FILE_BYTES,
    MAX_ROWS,
    Limits,
    Report,
)

EXAMPLES = Path(__file__).resolve().parent / "data" / "hsds-examples"
VERSIONS = ["3.0", "3.1"]
MB = 1024 * 1024
# The API's shapes and the kind of object each holds (its file name says it).
API_FILES = {
    "service_full.json": "service", "service_list.json": "service",
    "organization_full.json": "organization", "organization_list.json": "organization",
    "service_at_location_full.json": "service_at_location", "service_at_location_list.json": "service_at_location",
    "location.json": "location", "taxonomy.json": "taxonomy", "taxonomy_list.json": "taxonomy",
    "taxonomy_term.json": "taxonomy_term", "taxonomy_term_list.json": "taxonomy_term",
}
# How the HSDS API nests objects: property → the table of the objects in it
# (the property names of the specification's object schemas, and the
# services of GET /organizations/{id}, the service of a service_at_location).
NESTED = {
    "phones": "phone", "schedules": "schedule", "service_areas": "service_area",
    "service_at_locations": "service_at_location", "languages": "language", "organization": "organization",
    "funding": "funding", "cost_options": "cost_option", "program": "program", "programs": "program",
    "required_documents": "required_document", "contacts": "contact", "capacities": "service_capacity",
    "unit": "unit", "attributes": "attribute", "taxonomy_term": "taxonomy_term", "taxonomy_detail": "taxonomy",
    "metadata": "metadata", "location": "location", "locations": "location", "addresses": "address",
    "accessibility": "accessibility", "additional_urls": "url", "additional_websites": "url",
    "organization_identifiers": "organization_identifier", "services": "service", "service": "service",
}


@pytest.fixture(scope="module")
def babel_app():
    app = Flask(__name__)
    Babel(app)
    return app


@pytest.fixture
def messages(babel_app):
    """English messages without the whole application."""
    with babel_app.app_context(), force_locale("en"):
        yield


def en(message) -> str:
    return str(message)


def held(table: str) -> bool:
    return table in tables()


def table_of_file(name: str) -> str:
    return {r["path"]: r["name"] for r in hsds_descriptor()["resources"]}[name]


def csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.DictReader(handle) if any(row.values()))


def objects_in(value, table: str, found: dict[str, set[str]]) -> None:
    """The ids of every object in `value` (a `table` object), by table."""
    found[table].add(value["id"])
    for key, child in value.items():
        if key in NESTED and isinstance(child, (dict, list)):
            for item in child if isinstance(child, list) else [child]:
                objects_in(item, NESTED[key], found)


def expected_objects(path: Path) -> dict[str, int]:
    document = json.loads(path.read_text(encoding="utf-8"))
    top = document["contents"] if isinstance(document, dict) and "contents" in document else [document]
    found: dict[str, set[str]] = defaultdict(set)
    for item in top:
        objects_in(item, API_FILES[path.name], found)
    return {table: len(ids) for table, ids in found.items()}


def read(path, **kwargs) -> reader.Package:
    package = reader.read_package(path, **kwargs)
    assert isinstance(package, reader.Package), [str(p) for p in package.problems]
    return package


def left_out(package, label: str) -> list[str]:
    return [en(w.message) for w in package.warnings if w.file == label and w.field is None]


def check_tables(package, expected: dict[str, int], label_of) -> None:
    """Each table the directory keeps is read with its rows; each other one
    is a warning that names it with its row count."""
    kept = {table: count for table, count in expected.items() if held(table)}
    assert {name: len(raw) for name, raw in package.tables.items()} == kept
    for table, count in expected.items():
        if not held(table):
            notes = left_out(package, label_of(table))
            assert len(notes) == 1 and f"({count} row" in notes[0] and "does not keep" in notes[0], (table, notes)


def copy_csv_package(version: str, target: Path, descriptor: bool = True) -> Path:
    shutil.copytree(EXAMPLES / version / "csv", target)
    for path in target.iterdir():
        path.chmod(0o644)
    if not descriptor:
        (target / "datapackage.json").unlink()
    return target


# ---------------------------------------------------------------- the examples


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("descriptor", [True, False], ids=["with datapackage.json", "csv files only"])
def test_the_csv_examples(messages, tmp_path, version, descriptor):
    folder = copy_csv_package(version, tmp_path / "csv", descriptor)
    package = read(folder)
    assert package.shape == ("datapackage" if descriptor else "csv")
    expected = {table_of_file(p.name): csv_rows(p) for p in folder.glob("*.csv")}
    check_tables(package, expected, lambda table: next(r["path"] for r in hsds_descriptor()["resources"]
                                                       if r["name"] == table))
    assert package.problems == []
    for raw in package.tables.values():  # rows as the file has them, header = row 1
        with (folder / raw.file).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [number for number, _row in raw.rows] == list(range(2, len(rows) + 2))
        assert [row for _number, row in raw.rows] == [{k: v for k, v in r.items() if k in raw.columns}
                                                      for r in rows]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_zip_of_csv_files_in_a_folder_without_datapackage_json(messages, tmp_path, version):
    folder = copy_csv_package(version, tmp_path / "csv", descriptor=False)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.iterdir()):
            handle.write(path, f"hsds-{version}/{path.name}")
        handle.writestr("README.md", "Not a table.")
    package = read(archive)
    assert package.shape == "csv"
    assert {name: len(raw) for name, raw in package.tables.items()} == {
        table_of_file(p.name): csv_rows(p) for p in folder.glob("*.csv") if held(table_of_file(p.name))}


@pytest.mark.parametrize("version", VERSIONS)
def test_tabular_json(messages, version):
    path = EXAMPLES / version / "tabular.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    package = read(path)
    assert package.shape == "tables"
    check_tables(package, {table_of_file(key): len(rows) for key, rows in document.items()},
                 lambda table: f"tabular.json [{next(k for k in document if table_of_file(k) == table)}]")
    service = next(row for _n, row in package.tables["service"].rows)
    assert service == {k: v for k, v in document["services.csv"][0].items() if k in tables()["service"].column_names}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("file", sorted(API_FILES))
def test_the_api_shapes(messages, version, file):
    path = EXAMPLES / version / file
    package = read(path)
    assert package.shape == API_FILES[file]
    check_tables(package, expected_objects(path), lambda table: f"{file} [{table}]")
    for raw in package.tables.values():
        assert [number for number, _row in raw.rows] == list(range(1, len(raw) + 1))
        for number, _row in raw.rows:
            label, position = raw.locate(number)
            assert label.startswith(f"{file} (") and position >= 1


def strip_links(value, top: bool = True):
    """The same objects without the ids by which they name each other."""
    if isinstance(value, list):
        return [strip_links(item, False) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: strip_links(item, False) for key, item in value.items()
            if top or not (key.endswith("_id") or key in ("link_id", "link_entity"))}


def test_nested_objects_carry_their_parents_ids(messages, tmp_path):
    document = json.loads((EXAMPLES / "3.1" / "service_full.json").read_text(encoding="utf-8"))
    bare = strip_links(document)
    bare.pop("organization_id", None), bare.pop("program_id", None)
    path = tmp_path / "service_full.json"
    path.write_text(json.dumps(bare), encoding="utf-8")
    package = read(path)
    rows = {name: {row["id"]: row for _n, row in raw.rows} for name, raw in package.tables.items()}
    service = rows["service"][document["id"]]
    assert service["organization_id"] == document["organization"]["id"]  # service.organization
    assert service["program_id"] == document["program"]["id"]
    for phone in document["phones"]:
        assert rows["phone"][phone["id"]]["service_id"] == document["id"]
        for language in phone["languages"]:
            assert rows["language"][language["id"]]["phone_id"] == phone["id"]
    for link in document["service_at_locations"]:
        location = link["location"]
        assert rows["service_at_location"][link["id"]]["service_id"] == document["id"]
        assert rows["service_at_location"][link["id"]]["location_id"] == location["id"]
        for address in location["addresses"]:
            assert rows["address"][address["id"]]["location_id"] == location["id"]
        for contact in link["contacts"]:
            for phone in contact["phones"]:
                assert rows["phone"][phone["id"]]["contact_id"] == contact["id"]
    for attribute in document["attributes"]:
        row = rows["attribute"][attribute["id"]]
        term = attribute["taxonomy_term"]
        assert (row["link_id"], row["link_entity"], row["taxonomy_term_id"]) == (document["id"], "service", term["id"])
        assert rows["taxonomy_term"][term["id"]]["taxonomy_id"] == term["taxonomy_detail"]["id"]
    for capacity in document["capacities"]:
        assert rows["service_capacity"][capacity["id"]]["unit_id"] == capacity["unit"]["id"]
    for location in document["organization"]["locations"]:
        assert rows["location"][location["id"]]["organization_id"] == document["organization"]["id"]
    phones = package.tables["phone"]
    first = document["phones"][0]
    number = next(n for n, row in phones.rows if row["id"] == first["id"])
    assert phones.locate(number) == ("service_full.json (services[1].phones[1])", 1)


def test_an_object_met_twice_is_one_row_and_a_different_copy_is_a_warning(messages, tmp_path):
    service = json.loads((EXAMPLES / "3.1" / "service_list.json").read_text(encoding="utf-8"))["contents"][0]
    same, other = dict(service), dict(service, name="Another name")
    path = tmp_path / "services.json"
    path.write_text(json.dumps([service, same, other]), encoding="utf-8")
    package = read(path)
    assert [row["name"] for _n, row in package.tables["service"].rows] == [service["name"]]
    assert len(package.tables["organization"]) == 1  # each copy nests the same organization
    notes = [w for w in package.warnings if w.field == "name"]
    assert len(notes) == 1 and notes[0].file == "services.json (services[3])"
    assert "services[1]" in en(notes[0].message)


# ---------------------------------------------------------------- what is left out


def test_columns_and_files_the_directory_does_not_know_are_warnings(messages, tmp_path):
    folder = copy_csv_package("3.1", tmp_path / "csv", descriptor=False)
    with (folder / "organizations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = ["\ufeff ID ", "Name", "colour"] + [c for c in rows[0] if c not in ("id", "name", "email")]
    with (folder / "organizations.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row["id"], row["name"], "blue"] + [row[c] for c in header[3:]] + ["", ""])
        writer.writerow([""] * len(header))  # a spreadsheet's empty row
    (folder / "widgets.csv").write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a table", encoding="utf-8")
    package = read(folder)
    raw = package.tables["organization"]
    assert "colour" not in raw.columns and "email" not in raw.columns  # left out; absent
    assert raw.header == ["id", "name"] + header[3:]
    assert [row for _n, row in raw.rows] == [{k: v for k, v in r.items() if k != "email"} for r in rows]
    assert raw.problems == []
    notes = {(w.file, w.field): en(w.message) for w in package.warnings}
    assert "left out" in notes[("organizations.csv", "colour")]
    assert "(2 rows): not a table this directory knows" in notes[("widgets.csv", None)]
    assert not any(w.file == "notes.txt" for w in package.warnings)
    assert not any(w.field == "email" for w in package.warnings)  # a missing column is no fault


def test_a_field_of_a_publishers_own_in_json_is_a_warning(messages, tmp_path):
    document = json.loads((EXAMPLES / "3.1" / "organization_list.json").read_text(encoding="utf-8"))
    document["contents"][0]["colour"] = "blue"
    path = tmp_path / "organizations.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    package = read(path)
    assert "colour" not in package.tables["organization"].columns
    [note] = [w for w in package.warnings if w.field == "colour"]
    assert note.file == "organizations.json (organizations[1])" and "left out" in en(note.message)


@pytest.mark.parametrize("content", [
    None,  # Open Referral's base.json: the API's description, no data
    {"version": "3.1", "profile": "x"},
    {"widgets": [{"id": "1"}]},
    [{"id": "1", "colour": "blue"}],
    {"id": "5c4d79d7-cc55-470e-9f1f-8cad074e4892", "name": "Which kind?"},
    [],
    {"contents": []},
])
def test_a_json_document_with_nothing_hsds_in_it_is_a_problem(messages, tmp_path, content):
    if content is None:
        path = EXAMPLES / "3.1" / "base.json"
    else:
        path = tmp_path / "document.json"
        path.write_text(json.dumps(content), encoding="utf-8")
    report = reader.read_package(path)
    assert isinstance(report, Report) and not report.ok
    assert report.problems[0].file == path.name
    assert "Nothing in this file is an HSDS table or object" in en(report.problems[0].message)


@pytest.mark.parametrize("content, file, text", [
    ({"contents": [1]}, "document.json", "Each row must be an object"),
    ({"id": "x", "name": "n", "organization_id": "o", "program_id": "p", "phones": {"id": "p"}},
     "document.json (services[1])",
     "A list of rows expected"),
    ("text", "document.json", "must hold an object"),
])
def test_a_json_document_of_the_wrong_structure_is_refused(messages, tmp_path, content, file, text):
    path = tmp_path / "document.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    report = reader.read_package(path)
    assert [(p.file, text in en(p.message)) for p in report.problems] == [(file, True)]


def test_a_folder_or_a_lone_csv_file_that_is_no_package(messages, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.csv").write_text("a,b\n", encoding="utf-8")
    report = reader.read_package(tmp_path / "empty")
    assert "no datapackage.json" in en(report.problems[0].message)
    report = reader.read_package(EXAMPLES / "3.1" / "csv" / "services.csv")
    assert "One CSV file alone" in en(report.problems[0].message)


@pytest.mark.parametrize("content, field, text", [
    ("id;name\n1;a\n", None, "semicolons"),
    ("id,name,ID\n1,a,1\n", "id", "appears twice"),
    ("", None, "empty"),
])
def test_a_csv_file_that_cannot_be_read_is_a_problem_of_its_own(messages, tmp_path, content, field, text):
    folder = copy_csv_package("3.1", tmp_path / "csv", descriptor=False)
    (folder / "services.csv").write_text(content, encoding="utf-8")
    package = read(folder)
    assert "service" not in package.tables and "organization" in package.tables
    assert [(p.file, p.field, text in en(p.message)) for p in package.problems] == [("services.csv", field, True)]


# ---------------------------------------------------------------- limits and memory


def test_limits_are_the_module_constants_unless_given(messages, tmp_path, monkeypatch):
    assert Limits() == Limits(MAX_FILE_BYTES, MAX_ROWS, MAX_ARCHIVE_BYTES, reader.MAX_ARCHIVE_MEMBERS)
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "taxonomies.csv").write_text("id,name\n" + "".join(f"{i},t{i}\n" for i in range(3)), "utf-8")
    assert len(read(folder).tables["taxonomy"]) == 3
    report = reader.read_package(folder, limits=Limits(max_rows=2))
    assert [(p.file, "more than 2 rows" in en(p.message)) for p in report.problems] == [("taxonomies.csv", True)]
    monkeypatch.setattr(reader, "MAX_ROWS", 2)  # the defaults are read at each call
    assert reader.default_limits().max_rows == 2 and reader.read_package(folder).problems
    report = reader.read_package(folder, limits=Limits(max_file_bytes=10))
    assert "larger than" in en(report.problems[0].message)


def test_raw_tables_are_compact_and_still_give_dicts():
    raw = reader.RawTable.from_rows("phone", "phones.json [phone]", [(1, {"id": "a", "number": 1}),
                                                                      (2, {"id": "b", "extension": None})])
    assert raw.columns == ("id", "number", "extension") and raw.cells[1] == ("b", reader.ABSENT, None)
    assert list(raw.rows) == list(raw.iter_rows()) == [(1, {"id": "a", "number": 1}),
                                                      (2, {"id": "b", "extension": None})]
    assert len(raw.rows) == 2 and raw.rows[1] == (2, {"id": "b", "extension": None}) and raw.rows[:1] == [raw.rows[0]]
    raw.labels, raw.positions = ["x.json (phones[1])", "x.json (phones[2])"], array("L", [1, 2])
    raw.rows = [(number, row) for number, row in raw.rows if number == 2]  # as skip_invalid does
    assert list(raw.rows) == [(2, {"id": "b", "extension": None})] and raw.locate(2) == ("x.json (phones[2])", 2)


def test_a_large_package_is_held_compactly(tmp_path):
    """Each row is one tuple of its cells; a cell repeated across files (a
    service's id) is one string."""
    folder = tmp_path / "package"
    folder.mkdir()
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(2000)]
    (folder / "services.csv").write_text("id,name\n" + "".join(f"{i},Service {n}\n" for n, i in enumerate(ids)),
                                         encoding="utf-8")
    (folder / "languages.csv").write_text("id,service_id,code\n" + "".join(f"L{n},{i},lv\n" for n, i in enumerate(ids)),
                                          encoding="utf-8")
    package = read(folder)
    services, languages = package.tables["service"], package.tables["language"]
    assert all(type(cells) is tuple for cells in services.cells) and len(services.numbers) == 2000
    assert all(s[0] is lang[1] for s, lang in zip(services.cells, languages.cells))


# ---------------------------------------------------------------- flask import


def write_taxonomies(folder: Path, count: int) -> Path:
    folder.mkdir()
    (folder / "taxonomies.csv").write_text(
        "id,name,description\n" + "".join(f"5c4d79d7-cc55-470e-9f1f-8cad074e48{i:02d},Taxonomy {i},\n"
                                         for i in range(count)), encoding="utf-8")
    return folder


def test_the_import_command_takes_the_limits(app, tmp_path):
    folder = write_taxonomies(tmp_path / "package", 2)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "--max-rows", "1", str(folder)])
    assert result.exit_code == 1 and "taxonomies.csv: The file has more than 1 rows." in result.output
    result = runner.invoke(args=["import", "--max-file-mb", "0.0001", str(folder)])
    assert result.exit_code == 1 and "larger than" in result.output
    result = runner.invoke(args=["import", "--max-rows", "1000000", "--max-file-mb", "500", str(folder)])
    assert result.exit_code == 0, result.output
    assert reader.MAX_ROWS == MAX_ROWS and reader.MAX_FILE_BYTES == MAX_FILE_BYTES  # nothing left changed
    for bad in (["--max-rows", "0"], ["--max-file-mb", "-1"], ["--max-archive-mb", "x"]):
        assert runner.invoke(args=["import", *bad, str(folder)]).exit_code == 2


def test_the_import_command_says_when_nothing_is_hsds(app):
    result = app.test_cli_runner().invoke(args=["import", str(EXAMPLES / "3.1" / "base.json")])
    assert result.exit_code == 1 and "Nothing in this file is an HSDS table or object" in result.output


def test_the_import_command_passes_its_options_and_shows_progress(app, tmp_path, monkeypatch):
    calls = []

    def import_package(session, path, user=None, name=None, *, skip_invalid=False, limits=None, progress=None):
        calls.append({"path": path, "skip_invalid": skip_invalid, "limits": limits})
        for done in range(3):
            progress("Reading", done, 2)
        progress("Checking", 1, 1)
        return Report()

    monkeypatch.setattr(cli, "import_package", import_package)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "--max-file-mb", "500", "--max-rows", "1000000", "--max-archive-mb",
                                 "300", "--skip-invalid", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls[-1] == {"path": tmp_path, "skip_invalid": True, "limits": Limits(
        max_file_bytes=500 * MB, max_rows=1_000_000, max_archive_bytes=300 * MB,
        max_archive_members=reader.MAX_ARCHIVE_MEMBERS)}
    assert result.stderr.splitlines()[:2] == ["Reading: 2", "Checking"]  # not a terminal: a line a stage
    assert runner.invoke(args=["import", str(tmp_path)]).exit_code == 0
    assert calls[-1]["limits"] is None and calls[-1]["skip_invalid"] is False  # the reader's own defaults


def test_skip_invalid_with_an_importer_that_cannot_skip_is_refused(app, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "import_package", lambda session, path, user=None, name=None: Report())
    result = app.test_cli_runner().invoke(args=["import", "--skip-invalid", str(tmp_path)])
    assert result.exit_code == 2 and "--skip-invalid" in result.output


def test_progress_on_a_terminal_is_one_line_that_updates(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    progress = cli.ImportProgress()
    progress("Reading", 0, 4)
    progress("Reading", 4, 4)
    progress("Writing", 1, 1)
    progress.close()
    shown = sys.stderr.getvalue()
    assert shown.count("\n") == 2 and "\rReading: 4/4 (100%)" in shown and "\rWriting: 1/1 (100%)" in shown


def test_the_import_command_documents_how_to_lift_the_limits(app):
    result = app.test_cli_runner().invoke(args=["import", "--help"])
    assert "--max-rows 1000000 --max-file-mb 500" in " ".join(result.output.split())
    assert {"--max-file-mb", "--max-rows", "--max-archive-mb", "--skip-invalid"} <= set(result.output.split())
