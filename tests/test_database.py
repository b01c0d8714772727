"""SQLite as a server database (directory/database.py): concurrent readers and
writers get answers, not "database is locked"; foreign keys hold; a purge
leaves no copy of the client's data in the database files; migrations keep
data when they rebuild tables.

The SQLite tests use an SQLite database even when the suite runs on
PostgreSQL: SQLite is the default deployment."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from conftest import clear_all_rows, csrf_token, make_app, make_user, signed_in, soup
from directory.extensions import db
from directory.models import (
    AuditEvent,
    Organization,
    ProblemReport,
    Referral,
    ReferralEvent,
    Service,
    ShortlistItem,
    User,
    organization_editor,
)
from directory.seeding import seed_starter_data

# Users see a server error as a 5xx page, not as an exception in the test.
NO_PROPAGATION = {"PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def sqlite_uri(database_uri, tmp_path) -> str:
    """This test's database when the suite runs on SQLite, otherwise a
    seeded SQLite file of its own."""
    if database_uri.startswith("sqlite"):
        return database_uri
    uri = "sqlite:///" + str(tmp_path / "directory.sqlite")
    app = make_app(uri)
    with app.app_context():
        upgrade()
        seed_starter_data(db.session)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return uri


def sqlite_path(uri: str) -> Path:
    return Path(uri.removeprefix("sqlite:///"))


@pytest.fixture
def sqlite_app(sqlite_uri, seeded_app):
    """A seeded application on SQLite, serving 5xx pages instead of raising,
    without rate limits (many anonymous posts from one address)."""
    app = make_app(sqlite_uri, RATELIMIT_ENABLED=False, **NO_PROPAGATION)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def service_of(app, slug: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Service.id).join(Service.organization)
            .where(Organization.slug == slug, Service.status == "active").order_by(Service.name)
        )


def send_referral(app, worker, client_name: str = "Anna K.",
                  need: str = "Needs a warm place during the day.") -> int:
    """A referral to a Saskarsme service, sent through the form."""
    service_id = service_of(app, "saskarsme")
    token = csrf_token(worker, f"/en/referrals/new?service={service_id}")
    response = worker.post("/en/referrals/new", data={
        "csrf_token": token, "service_id": service_id, "client_name": client_name,
        "client_contact": "+371 20000000", "client_language": "lv",
        "need": need, "consent": "y",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        return db.session.scalar(select(func.max(Referral.id)))


def referral_setup(app) -> dict:
    make_user(app, "editor@example.lv", "editor", organizations=["saskarsme"])
    make_user(app, "worker@example.lv", "social_worker")
    worker = signed_in(app, "worker@example.lv")
    editor = signed_in(app, "editor@example.lv")
    return {"worker": worker, "editor": editor, "id": send_referral(app, worker)}


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


# ------------------------------------------------------------ the connection


def test_sqlite_connections_use_wal_foreign_keys_secure_delete_and_a_long_busy_timeout(sqlite_app):
    with sqlite_app.app_context():
        with db.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("secure_delete") == 1
            assert pragma("busy_timeout") == 15_000


def test_foreign_keys_refuse_orphans_and_deleting_an_account_deletes_its_shortlist(sqlite_app):
    user_id = make_user(sqlite_app, "worker@example.lv", "social_worker")
    service_id = service_of(sqlite_app, "saskarsme")
    with sqlite_app.app_context():
        db.session.add(ShortlistItem(user_id=user_id, service_id=service_id))
        db.session.commit()
        db.session.add(ShortlistItem(user_id=user_id, service_id="no-such-service"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()

        db.session.delete(db.session.get(User, user_id))
        db.session.commit()
        # ON DELETE CASCADE of the migrations: no saved list left without its owner.
        assert db.session.scalars(select(ShortlistItem)).all() == []


# ------------------------------------------------------------ concurrency


def run_together(jobs, timeout: float = 60):
    """Run the callables in threads, started at once; their results in order."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def runner(index, job):
        start.wait()
        try:
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=runner, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "requests still waiting after the time limit"
    return results


def test_twenty_writers_and_searches_during_a_long_read_all_get_answers(sqlite_app):
    """A long read (an export, a statistics page) in progress, then 20 people
    report problems, social workers open referrals (audited: a GET that
    writes) and residents search, all at once: nobody gets a server error,
    every write lands. (Before WAL, the writers waited for the long read and
    the searches for the writers, and both answered 500 "database is locked"
    after 5 s.)"""
    referral = referral_setup(sqlite_app)
    worker_cookie = referral["worker"].get_cookie("session")
    views_before = audit_count(sqlite_app, "referral-view")

    def report(n):
        client = sqlite_app.test_client()
        token = csrf_token(client, "/lv/centres/saskarsme")

        def job():
            return client.post("/lv/centres/saskarsme/report",
                               data={"csrf_token": token, "kind": "other", "comment": f"Report {n}"}).status_code
        return job

    def search(words):
        def job():
            return [sqlite_app.test_client().get(f"/lv/?q={words}").status_code for _ in range(3)]
        return job

    def view_referral():
        client = sqlite_app.test_client()
        client.set_cookie("session", worker_cookie.value, domain=worker_cookie.domain)
        return [client.get(f"/en/referrals/{referral['id']}").status_code for _ in range(3)]

    long_read = sqlite3.connect(sqlite_path(str(sqlite_app.config["SQLALCHEMY_DATABASE_URI"])))
    try:
        long_read.execute("BEGIN")
        long_read.execute("SELECT count(*) FROM service").fetchone()  # holds its read until the end
        results = run_together(
            [report(n) for n in range(20)]
            + [search(words) for words in ("dienas", "krīzes", "centrs", "aprūpe")]
            + [view_referral for _ in range(4)]
        )
    finally:
        long_read.close()

    statuses = []
    for result in results:
        assert not isinstance(result, Exception), repr(result)
        statuses.extend(result if isinstance(result, list) else [result])
    assert [status for status in statuses if status >= 500] == []
    assert statuses[:20] == [302] * 20
    assert set(statuses[20:]) == {200}
    with sqlite_app.app_context():
        comments = set(db.session.scalars(select(ProblemReport.comment)))
    assert comments == {f"Report {n}" for n in range(20)}
    assert audit_count(sqlite_app, "referral-view") - views_before == 12


@pytest.mark.parametrize("url", [
    "/en/referrals/", "/en/referrals/{id}", "/en/referrals/{id}/slip",
    "/en/manage/referrals/", "/en/manage/referrals/{id}",
])
def test_an_audited_referral_page_waits_for_a_writer_and_is_recorded(sqlite_app, url):
    """Referral pages are GETs that write to the audit log. While another
    connection is writing they wait their turn, instead of failing with
    "database is locked" as a deferred transaction that reads and then
    writes does; and a search meanwhile does not wait at all."""
    referral = referral_setup(sqlite_app)
    client = referral["editor"] if "/manage/" in url else referral["worker"]
    action = "referral-view" if "{id}" in url else "referral-list-view"
    url = url.format(id=referral["id"])
    before = audit_count(sqlite_app, action)

    writer = sqlite3.connect(sqlite_path(str(sqlite_app.config["SQLALCHEMY_DATABASE_URI"])), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE search_state SET version = version")  # holds the write lock
        answered = {}

        def open_page():
            answered["status"] = client.get(url).status_code
            answered["at"] = time.monotonic()

        page = threading.Thread(target=open_page, daemon=True)
        page.start()
        search_started = time.monotonic()
        assert sqlite_app.test_client().get("/lv/?q=dienas").status_code == 200
        assert time.monotonic() - search_started < 2  # readers do not queue behind the writer
        time.sleep(0.5)
        released = time.monotonic()
        writer.execute("COMMIT")
        page.join(20)
    finally:
        writer.close()
    assert answered["status"] == 200
    assert answered["at"] >= released  # it waited for the writer …
    assert audit_count(sqlite_app, action) == before + 1  # … and the look is on record


# ------------------------------------------------------------ the purge


def test_the_purge_leaves_no_copy_of_the_client_data_in_the_database(seeded_app):
    """After `flask purge`, the client's name, contact, need and the centre's
    notes are gone from the database files too, not only from the pages:
    SQLite's free pages and write-ahead log, PostgreSQL's dead rows."""
    app = seeded_app
    make_user(app, "editor@example.lv", "editor", organizations=["saskarsme"])
    make_user(app, "worker@example.lv", "social_worker")
    worker = signed_in(app, "worker@example.lv")
    editor = signed_in(app, "editor@example.lv")
    marker = "Zelmīra Kviešpļava"
    # A need as social workers write it: a paragraph, longer than what stays.
    need = (f"{marker} lost her flat in March and sleeps at a friend's. She needs a warm place "
            "during the day, a hot meal, help with documents for housing benefit and someone who "
            "speaks Latvian and Russian. She has a dog and will not go where it cannot come. ") * 3
    referral_id = send_referral(app, worker, client_name=marker, need=need)
    url = f"/en/manage/referrals/{referral_id}"
    for status, expected in (("accepted", "sent"), ("completed", "accepted")):
        response = editor.post(f"{url}/status", data={
            "csrf_token": csrf_token(editor, url), "status": status, "expected": expected,
            "note": f"{marker} comes on Monday"})
        assert response.status_code in (200, 302)
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral.status == "completed"
        referral.closed_at = datetime.now(timezone.utc) - timedelta(days=400)
        db.session.commit()
        dialect = db.engine.dialect.name

    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "ago): 1" in result.output
    with app.app_context():
        assert db.session.get(Referral, referral_id).client_name is None
        assert all(note is None for note in db.session.scalars(
            select(ReferralEvent.note).where(ReferralEvent.referral_id == referral_id)))

        if dialect == "sqlite":
            # The pool's connections stay open, as in a running server: the
            # write-ahead log file stays too.
            path = sqlite_path(str(app.config["SQLALCHEMY_DATABASE_URI"]))
            needle = marker.encode()
            files = [file for file in path.parent.glob(path.name + "*") if file.is_file()]
            assert path in files
            assert [file.name for file in files if needle in file.read_bytes()] == []
            # Rewritten: no free page is left where older rows could linger
            # (SQLite builds without secure_delete leave them as they were).
            check = sqlite3.connect(path)
            try:
                assert check.execute("PRAGMA freelist_count").fetchone() == (0,)
            finally:
                check.close()
        else:
            # PostgreSQL: the referral tables were vacuumed, so the dead row
            # versions holding the client's data are pruned.
            db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
            vacuumed = dict(db.session.execute(text(
                "SELECT relname, last_vacuum FROM pg_stat_user_tables "
                "WHERE relname IN ('referral', 'referral_event')")).all())
            assert set(vacuumed) == {"referral", "referral_event"}
            assert all(when is not None for when in vacuumed.values()), vacuumed


# ------------------------------------------------------------ migrations


def test_downgrading_and_upgrading_a_rebuilt_table_keeps_what_points_at_it(seeded_app):
    """Downgrading 0007 rebuilds the referral table (SQLite batch mode). With
    foreign keys on during the rebuild, dropping the old table would cascade
    to each referral's history and to nothing else; they are off meanwhile,
    so the history and the editors' links survive."""
    referral = referral_setup(seeded_app)
    url = f"/en/manage/referrals/{referral['id']}"
    response = referral["editor"].post(f"{url}/status", data={
        "csrf_token": csrf_token(referral["editor"], url), "status": "accepted", "expected": "sent"})
    assert response.status_code in (200, 302)

    def counts():
        with seeded_app.app_context():
            return (
                db.session.scalar(select(func.count()).select_from(Referral)),
                db.session.scalar(select(func.count()).select_from(ReferralEvent)),
                db.session.scalar(select(func.count()).select_from(organization_editor)),
            )

    before = counts()
    assert before[0] == 1 and before[1] >= 2 and before[2] == 1
    with seeded_app.app_context():
        downgrade(revision="0006")
        upgrade()
        db.engine.dispose()
    assert counts() == before
    # Sign-ins (migration 0008) end with a downgrade past them: sign in again.
    page = soup(signed_in(seeded_app, "worker@example.lv").get(f"/en/referrals/{referral['id']}"))
    assert "Anna K." in page.get_text()
