"""Fixtures. The suite runs on SQLite by default and on PostgreSQL when
TEST_DATABASE_URL is set (see scripts/with-postgres.sh). DATABASE_URL alone
is never used by the tests, so they cannot wipe a developer's database."""

from __future__ import annotations

import os

import pytest
from bs4 import BeautifulSoup
from flask_migrate import upgrade
from sqlalchemy import text

from directory import create_app
from directory.extensions import db
from directory.seeding import seed_starter_data


def make_app(database_uri: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory) -> str:
    uri = os.environ.get("TEST_DATABASE_URL")
    if not uri:
        uri = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "directory-test.sqlite")
    app = make_app(uri)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # A clean schema each run; the database is a throw-away one.
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()
    return uri


def clear_all_rows() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def app(database_uri):
    """An application on the migrated test database, emptied of rows."""
    app = make_app(database_uri)
    with app.app_context():
        clear_all_rows()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seeded_app(app):
    with app.app_context():
        seed_starter_data(db.session)
    return app


@pytest.fixture
def client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")
