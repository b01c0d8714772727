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


# ------------------------------------------------------------- accounts

PASSWORD = "correct horse battery"


def make_user(app, email, role, status="active", organizations=()):
    """An account; `organizations` are slugs the user edits."""
    from directory.accounts import set_password
    from directory.models import Organization, User

    with app.app_context():
        user = User(email=email, name=email.split("@")[0].title(), role=role, status=status)
        set_password(user, PASSWORD)
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
