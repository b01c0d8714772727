"""Importing a large package in bulk (directory/hsds/bulk.py): the counts,
the search index and the facets right after the import, a re-import of the
same package that writes nothing, the search triggers put back as the
migrations made them; and the admin upload as a background job.

The package is bench/hsds_package.py's clearly synthetic one, small here."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select, text

from conftest import csrf_token, login, soup
from directory import search_index
from directory.extensions import db
from directory.hsds import bulk, bulk_parts, importer, mapping
from directory.hsds.report import Report
from directory.models import ImportJob, Service
from directory.search import parse_filters, search_services

ROOT = Path(__file__).resolve().parent.parent
SERVICES = 300
MARK = "Zilonkaulaspulveris"  # a word only the first service's description has
WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|COPY)\b", re.IGNORECASE)


def _synthetic_module():
    spec = importlib.util.spec_from_file_location("hsds_package", ROOT / "bench" / "hsds_package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def edit_csv(path: Path, change) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)


def edit_services(folder: Path, change) -> None:
    edit_csv(folder / "services.csv", change)


@pytest.fixture
def package(tmp_path) -> tuple[Path, dict[str, int]]:
    folder = tmp_path / "package"
    rows = _synthetic_module().write_synthetic_package(folder, SERVICES)

    def mark(rows):
        rows[0]["description"] += f" {MARK}."

    edit_services(folder, mark)
    return folder, rows


def first_service(folder: Path) -> dict[str, str]:
    with (folder / "services.csv").open(encoding="utf-8", newline="") as handle:
        return next(csv.DictReader(handle))


def found(word: str):
    return search_services(db.session, parse_filters({"q": word}), "en")


def state_version() -> int:
    return db.session.execute(text("SELECT version FROM search_state WHERE id = 1")).scalar()


def trigger_state() -> set[tuple]:
    """The search triggers as the database holds them (SQLite: their SQL;
    PostgreSQL: their table and whether they are enabled)."""
    if db.engine.dialect.name == "sqlite":
        return set(db.session.execute(text(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%'")))
    return set(db.session.execute(text(
        "SELECT t.tgname, c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgname LIKE 'search%'")))


class Statements:
    """The SQL statements run while it is open."""

    def __init__(self):
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self.note)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self.note)

    def note(self, connection, cursor, statement, parameters, context, executemany):
        self.seen.append(statement)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.seen if WRITES.match(s)]


# ---------------------------------------------------------------- the import


def test_a_large_package_imports_in_bulk_and_is_found_at_once(app, package, monkeypatch):
    folder, rows = package
    monkeypatch.setattr(bulk, "COPY_AT_LEAST", 100)  # PostgreSQL: COPY, as for a large package
    service = first_service(folder)
    with app.app_context():
        triggers, version = trigger_state(), state_version()
        assert found(MARK).total == 0  # the facet index is built before the import
        stages = []
        report = importer.import_package(db.session, folder, progress=lambda *args: stages.append(args))
        assert report.ok and report.imported, [str(p) for p in report.problems]
        by_file = {count.file: count for count in report.counts.values()}
        assert {file: by_file[file].created for file in rows} == rows
        assert report.totals().updated == report.totals().unchanged == 0
        assert db.session.scalar(select(func.count()).select_from(Service)) == SERVICES
        assert [s for s, _d, _t in stages][:2] == ["reading", "validating"] and stages[-1][0] == "indexing"
        writing = [(done, total) for stage, done, total in stages if stage == "writing"]
        assert writing[-1] == (sum(rows.values()), sum(rows.values()))

        # The full-text index was rebuilt, the search state moved once (the facets follow it).
        assert state_version() == version + 1
        page = found(MARK.lower())
        assert page.total == 1 and page.services[0].id == service["id"]
        town = page.services[0].city
        assert {o.value: o.count for o in page.facets["place"]}[town] == 1
        assert {o.value: o.count for o in page.facets["language"]}["lv"] == 1
        assert found("SINTĒTISKS").total == SERVICES
        # The triggers are back, as the migrations made them.
        assert trigger_state() == triggers


def test_an_unchanged_reimport_writes_nothing_but_its_audit_record(app, package):
    folder, rows = package
    with app.app_context():
        assert importer.import_package(db.session, folder).imported
        version = state_version()
        with Statements() as statements:
            again = importer.import_package(db.session, folder)
        assert again.ok and again.imported
        totals = again.totals()
        assert (totals.created, totals.updated, totals.removed) == (0, 0, 0)
        assert totals.unchanged == sum(rows.values())
        assert [s.split("(")[0].strip() for s in statements.writes] == ["INSERT INTO audit_event"]
        assert state_version() == version


def test_a_changed_description_is_updated_and_found_and_a_stated_time_kept(app, package):
    folder, _rows = package
    with app.app_context():
        assert importer.import_package(db.session, folder).imported
        first, second = db.session.scalars(select(Service).order_by(Service.name).limit(2))
        first_id, second_id = first.id, second.id
        db.session.rollback()

    def change(rows):
        row = next(r for r in rows if r["id"] == first_id)
        row["description"] = "Jauns apraksts: pūcesspalva."
        row = next(r for r in rows if r["id"] == second_id)
        row["name"] += " (pārdēvēts)"
        row["last_modified"] = "2024-03-01T10:00:00Z"

    edit_services(folder, change)
    started = datetime.now(timezone.utc)
    with app.app_context():
        report = importer.import_package(db.session, folder)
        assert report.ok and report.imported
        assert (report.counts["service"].updated, report.counts["service"].unchanged) == (2, SERVICES - 2)
        assert report.totals().updated == 2
        first, second = db.session.get(Service, first_id), db.session.get(Service, second_id)
        assert first.description == "Jauns apraksts: pūcesspalva." and first.version == 2
        assert bulk._utc(first.updated_at) >= started.replace(microsecond=0)  # no time stated: now
        assert bulk._utc(second.updated_at) == datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)  # stated: kept
        assert [s.id for s in found("pucesspalva").services] == [first_id]  # diacritics folded, as always
        assert first_id == first_service(folder)["id"]  # the one with the MARK (names are numbered)
        assert found(MARK.lower()).total == 0  # the old words left the index


def test_a_service_last_modified_moves_with_what_it_holds(app, package):
    """HSDS: last_modified is when the service or anything related changed
    (directory/change_tracking.py); bulk writes keep to it, unless the
    package states the time."""
    folder, _rows = package
    with app.app_context():
        assert importer.import_package(db.session, folder).imported
        before = dict(db.session.execute(select(Service.id, Service.updated_at).order_by(Service.name)).all())
        first, second = list(before)[:2]
        db.session.rollback()

    def later_closing(rows):
        for row in rows:
            if row["service_id"] in (first, second):
                row["closes_at"] = "18:00"

    edit_csv(folder / "schedules.csv", later_closing)
    edit_services(folder, lambda rows: next(r for r in rows if r["id"] == second).update(
        last_modified="2024-05-01T08:00:00Z"))
    with app.app_context():
        report = importer.import_package(db.session, folder)
        assert report.imported and report.counts["schedule"].updated == 4
        assert (report.counts["service"].updated, report.counts["service"].unchanged) == (1, SERVICES - 1)
        after = dict(db.session.execute(select(Service.id, Service.updated_at)).all())
        assert bulk._utc(after.pop(first)) > bulk._utc(before.pop(first))  # its hours changed: now
        assert bulk._utc(after.pop(second)) == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)  # stated: kept
        del before[second]
        assert after == before  # nothing else moved


def test_an_import_that_fails_leaves_the_triggers_and_the_data_as_they_were(app, package, monkeypatch):
    folder, _rows = package
    with app.app_context():
        assert importer.import_package(db.session, folder).imported
    edit_services(folder, lambda rows: [row.update(description="Cits apraksts.") for row in rows])
    with app.app_context():
        triggers, version = trigger_state(), state_version()
        write = importer._write

        def write_while_an_editor_saves(session, package_, report, *args):
            writer = write(session, package_, report, *args)
            assert trigger_state() != triggers  # suspended meanwhile
            session.execute(text("UPDATE service SET version = version + 1"))  # an editor's save
            return writer

        monkeypatch.setattr(importer, "_write", write_while_an_editor_saves)
        with Statements() as statements:
            report = importer.import_package(db.session, folder)
        assert not report.imported
        with force_locale("en"):
            assert "changed these records meanwhile" in str(report.problems[0].message)
        assert not db.session.scalar(select(func.count()).where(Service.description == "Cits apraksts."))
        assert (trigger_state(), state_version()) == (triggers, version)
        assert not [s for s in statements.writes if s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT")]


def test_a_role_that_may_not_alter_the_tables_keeps_the_triggers_running(app, package, monkeypatch):
    """PostgreSQL: ALTER TABLE … DISABLE TRIGGER needs the tables' owner;
    another role imports with the triggers doing their work row by row."""
    folder, _rows = package
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no table owners")
        monkeypatch.setattr(search_index, "_owns", lambda connection, tables: False)
        triggers = trigger_state()
        with Statements() as statements:
            assert importer.import_package(db.session, folder).imported
        assert not [s for s in statements.writes if s.startswith("ALTER TABLE")]
        assert trigger_state() == triggers
        assert [s.id for s in found(MARK.lower()).services] == [first_service(folder)["id"]]


def test_the_search_triggers_are_those_the_migrations_made(app):
    with app.app_context():
        dialect = db.engine.dialect.name
        expected = search_index.triggers(dialect)
        # The change log's own pruning trigger stays on through a bulk write.
        held = {row for row in trigger_state() if row[0] != "search_change_prune"}
        if dialect == "sqlite":
            assert held == {(t.name, t.table, t.sql) for t in expected}
        else:
            assert held == {(t.name, t.table, "O") for t in expected}


def test_the_pair_id_is_the_attribute_id_of_the_mapping():
    pairs = [("0d6f9a52-3c1e-4b7a-9e55-7c2f0b6d8e14", "a1b2c3d4-0000-4000-8000-000000000001"),
             ("x", "y")]
    assert all(bulk_parts.pair_id(s, t) == mapping.attribute_id(s, t) for s, t in pairs)


# ---------------------------------------------------------------- jobs


def admin_client(app):
    client = app.test_client()
    assert login(client, "admin@example.lv").status_code == 302
    return client


def add_job(app, **values) -> int:
    with app.app_context():
        job = ImportJob(file_name="export.zip", **values)
        db.session.add(job)
        db.session.commit()
        return job.id


def test_a_running_job_shows_its_progress_and_refreshes_itself(seeded_app, accounts):
    job_id = add_job(seeded_app, status="running", stage="writing", done=50, total=200)
    client = admin_client(seeded_app)
    url = f"/en/admin/imports/{job_id}"
    page = soup(client.get(url))
    block = page.select_one("#import-result")
    assert block["hx-get"] == url and block["hx-trigger"] == "every 2s"
    progress = block.select_one("progress#import-progress")
    assert (progress["value"], progress["max"]) == ("50", "200")
    assert page.select_one("#import-stage").get_text(strip=True) == "Writing the records…"
    assert 'http-equiv="refresh"' in str(page.select_one("head noscript"))  # without JavaScript
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'hx-trigger="every 2s"' in fragment
    # Reading and checking have no row counts: the bar only says it is busy.
    with seeded_app.app_context():
        db.session.get(ImportJob, job_id).stage = "validating"
        db.session.commit()
    progress = soup(client.get(url)).select_one("progress#import-progress")
    assert not progress.has_attr("value")


def test_a_finished_job_shows_its_report_in_the_readers_language(seeded_app, accounts):
    report = Report()
    report.problem("broken.zip", None, None, importer._l("Not a valid ZIP archive."))
    job_id = add_job(seeded_app, status="done", report=importer.report_to_json(report))
    client = admin_client(seeded_app)
    page = soup(client.get(f"/en/admin/imports/{job_id}"))
    assert not page.select_one("#import-result").has_attr("hx-get")
    assert not page.select("head noscript") and not page.select_one("progress")
    cells = [td.get_text(strip=True) for td in page.select("#import-problems tbody td")]
    assert cells == ["broken.zip", "—", "—", "Not a valid ZIP archive."]
    with seeded_app.test_request_context(), force_locale("lv"):
        restored = importer.report_from_json(importer.report_to_json(report))
        assert str(restored.problems[0].message) == str(importer._l("Not a valid ZIP archive."))
    assert seeded_app.test_client().get(f"/en/admin/imports/{job_id}").status_code == 302  # signed out
    editor = seeded_app.test_client()
    login(editor, "editor@example.lv")
    assert editor.get(f"/en/admin/imports/{job_id}").status_code == 403
    assert client.get("/en/admin/imports/99999").status_code == 404


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def test_an_upload_redirects_to_its_job_which_imports_it(seeded_app, accounts, tmp_path):
    folder = tmp_path / "small"
    _synthetic_module().write_synthetic_package(folder, 12)
    client = admin_client(seeded_app)
    response = client.post("/en/admin/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/en/admin/import"), "package": (io.BytesIO(zipped(folder)), "small.zip")})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/en/admin/imports/\d+", location)
    page = soup(client.get(location))
    assert page.select_one("#import-success").get_text(strip=True).startswith("Imported: ")
    assert page.select_one("#count-service .count-created").get_text(strip=True) == "12"
    with seeded_app.app_context():
        job = db.session.get(ImportJob, int(location.rsplit("/", 1)[1]))
        assert job.status == "done" and job.created_by_id == accounts["admin"] and job.file_name == "small.zip"
        assert job.started_at is not None and job.finished_at is not None
    listed = soup(client.get("/en/admin/import")).select_one(f"#import-job-{job.id}")
    assert listed.select_one(".import-job-status").get_text(strip=True) == "Imported"
    assert listed.select_one("a")["href"] == location


def test_queued_jobs_are_run_by_the_command(seeded_app, tmp_path, monkeypatch):
    # An absolute folder: the instance folder is left alone.
    monkeypatch.setattr(importer, "IMPORTS_FOLDER", str(tmp_path / "imports"))
    folder = tmp_path / "small"
    _synthetic_module().write_synthetic_package(folder, 6)
    job_id = add_job(seeded_app, status="queued")
    (tmp_path / "imports").mkdir()
    (tmp_path / "imports" / f"{job_id}.zip").write_bytes(zipped(folder))
    gone = add_job(seeded_app, status="queued")  # its file is missing
    result = seeded_app.test_cli_runner().invoke(args=["run-import-jobs"])
    assert result.exit_code == 0, result.output
    assert f"import job {job_id}: done" in result.output and "2 import jobs run." in result.output
    with seeded_app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.status == "done" and importer.report_from_json(job.report).imported
        assert not importer.report_from_json(db.session.get(ImportJob, gone).report).imported
    assert not (tmp_path / "imports" / f"{job_id}.zip").exists()
