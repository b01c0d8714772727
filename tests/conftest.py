"""Fixtures. The suite runs on SQLite by default and on PostgreSQL when
TEST_DATABASE_URL is set (see scripts/with-postgres.sh). DATABASE_URL alone
is never used by the tests, so they cannot wipe a developer's database."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import sqlite3

import pytest
from bs4 import BeautifulSoup
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool
from werkzeug.security import generate_password_hash

from directory import create_app, facets
from directory.extensions import db
from directory.seeding import seed_starter_data


def make_app(database_uri: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
    }
    config.update(overrides)
    app = create_app(config)
    _apps_made.append(app)
    return app


# Apps made during the current test: their connections are closed before the
# test's database is dropped (a connection left to the garbage collector
# warns, and on PostgreSQL would hold the database open).
_apps_made: list = []


def close_apps_made() -> None:
    while _apps_made:
        app = _apps_made.pop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


class DatabaseTemplates:
    """Two databases made once per test process: one migrated and empty, one
    also seeded with the starter data. Each test gets its own copy of one of
    them (SQLite: a copy of the file; PostgreSQL: CREATE DATABASE … TEMPLATE),
    so no test pays for migrating or seeding, and none sees another's rows."""

    def __init__(self, workdir, postgres_url: str | None):
        self.workdir = workdir
        self.postgres_url = postgres_url
        # Names carry the xdist worker, so that two workers never share one.
        self.prefix = "t_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.copies = itertools.count(1)
        self.admin = None
        if postgres_url:
            base = make_url(postgres_url)
            self.base = base
            self.admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.empty = self._new_database(f"{self.prefix}_empty", template=None)
        self._migrate(self.empty)
        self.seeded = self._new_database(f"{self.prefix}_seeded", template=self.empty)
        self._seed(self.seeded)

    # ------------------------------------------------------------ copies
    def copy(self, seeded: bool) -> str:
        return self._new_database(f"{self.prefix}_{next(self.copies)}", template=self.seeded if seeded else self.empty)

    def drop(self, uri: str) -> None:
        if self.admin is not None:
            name = make_url(uri).database
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            path = uri.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path + suffix)

    def close(self) -> None:
        if self.admin is not None:
            self.drop(self.seeded)
            self.drop(self.empty)
            self.admin.dispose()

    # ------------------------------------------------------------ making
    def _new_database(self, name: str, template: str | None) -> str:
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                source = f' TEMPLATE "{make_url(template).database}"' if template else ""
                connection.execute(text(f'CREATE DATABASE "{name}"{source}'))
            return self.base.set(database=name).render_as_string(hide_password=False)
        path = self.workdir / f"{name}.sqlite"
        if template:
            shutil.copyfile(template.removeprefix("sqlite:///"), path)
        return "sqlite:///" + str(path)

    def _migrate(self, uri: str) -> None:
        app = make_app(uri)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        self._settle(uri)

    def _seed(self, uri: str) -> None:
        app = make_app(uri)
        with app.app_context():
            seed_starter_data(db.session)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        self._settle(uri)

    @staticmethod
    def _settle(uri: str) -> None:
        """SQLite: fold the write-ahead log into the file, so that a copy of
        the file alone is the whole database."""
        if uri.startswith("sqlite:///"):
            with contextlib.closing(sqlite3.connect(uri.removeprefix("sqlite:///"))) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory):
    templates = DatabaseTemplates(tmp_path_factory.mktemp("db"), os.environ.get("TEST_DATABASE_URL"))
    yield templates
    templates.close()


@pytest.fixture
def database_uri(database_templates, request):
    """This test's own database: a seeded copy when the test asks for the
    starter data (seeded_app, client and what builds on them), else a
    migrated, empty one."""
    uri = database_templates.copy(seeded="seeded_app" in request.fixturenames)
    yield uri
    close_apps_made()
    facets._cache.clear()  # search indexes of databases that are about to go
    database_templates.drop(uri)


def clear_all_rows() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def app(database_uri):
    """An application on this test's own database (empty, or seeded when
    the test uses seeded_app)."""
    app = make_app(database_uri)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seeded_app(app):
    """An application on a copy of the database seeded with the starter data."""
    return app


@pytest.fixture
def client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


# ------------------------------------------------------------- accounts

PASSWORD = "correct horse battery"


@functools.cache
def test_password_hash() -> str:
    """PASSWORD hashed with scrypt as the app does, at a lower work factor:
    the suite signs in hundreds of times, and each check at the production
    cost takes 75 ms. Signing in verifies it with the app's own code; the
    production cost is tested where accounts set passwords (test_auth)."""
    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def make_user(app, email, role, status="active", organizations=()):
    """An account; `organizations` are slugs the user edits."""
    from directory.models import Organization, User

    with app.app_context():
        user = User(email=email, name=email.split("@")[0].title(), role=role, status=status,
                    password_hash=test_password_hash())
        for slug in organizations:
            user.organizations.append(db.session.scalar(db.select(Organization).where(Organization.slug == slug)))
        db.session.add(user)
        db.session.commit()
        return user.id


def csrf_token(client, url):
    """The CSRF token of the form on `url`, as a browser would send it."""
    page = soup(client.get(url))
    field = page.select_one('input[name="csrf_token"]')
    assert field is not None, f"no CSRF token on {url}"
    return field["value"]


def login(client, email, password=PASSWORD, lang="lv"):
    token = csrf_token(client, f"/{lang}/account/login")
    return client.post(
        f"/{lang}/account/login",
        data={"csrf_token": token, "email": email, "password": password},
    )


def signed_in(app, email):
    """A test client of `email`, signed in."""
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def accounts(seeded_app):
    """One account of each kind; the editor edits Saskarsme only."""
    return {
        "admin": make_user(seeded_app, "admin@example.lv", "admin"),
        "editor": make_user(seeded_app, "editor@example.lv", "editor", organizations=["saskarsme"]),
        "other_editor": make_user(seeded_app, "other@example.lv", "editor", organizations=["vigante"]),
        "social_worker": make_user(seeded_app, "worker@example.lv", "social_worker"),
        "pending": make_user(seeded_app, "pending@example.lv", "editor", status="pending"),
    }
