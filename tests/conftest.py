"""Fixtures. The suite runs on SQLite by default and on PostgreSQL when
TEST_DATABASE_URL is set (see scripts/with-postgres.sh). DATABASE_URL alone
is never used by the tests, so they cannot wipe a developer's database."""

from __future__ import annotations

import functools
import inspect
import os

import pytest
from bs4 import BeautifulSoup
from jinja2 import BytecodeCache
from werkzeug.security import generate_password_hash

from databases import DatabaseTemplates
from directory import create_app, live_index
from directory.extensions import db


def make_app(database_uri: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        # A write and the search after it, one after the other: the search
        # sees the write (test_search_at_scale tests the background refresh).
        "SEARCH_INDEX_REFRESH": "inline",
        "SEARCH_INDEX_POLL_SECONDS": 0,
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    _apps_made.append(app)
    return app


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per test process, not once per app: each test
    builds its own app, and compiling the pages it renders cost about as much
    as the test itself. Jinja checks each template's source against what was
    compiled, so an edited template is compiled again."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def _build_url_rules_once() -> None:
    """Every test builds its own app, and Werkzeug generates and compiles the
    URL-building code of each of its ~80 rules anew: 40 ms an app, a fifth of
    the suite's time outside the browser. The code depends only on the rule's
    parts and defaults (converters are looked up on the rule when a URL is
    built), so the same rule in the next app reuses it."""
    from werkzeug.routing.rules import Rule

    build_code = Rule._compile_builder
    compiled: dict = {}

    def compile_builder_once(self, append_unknown: bool = True):
        key = (tuple(self._trace), tuple(sorted((self.defaults or {}).items(), key=repr)), append_unknown)
        if key not in compiled:
            compiled[key] = build_code(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = compile_builder_once


_build_url_rules_once()


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


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory):
    templates = DatabaseTemplates(tmp_path_factory.mktemp("db"), os.environ.get("TEST_DATABASE_URL"), make_app)
    yield templates
    templates.close()


@pytest.fixture
def database_uri(database_templates, request):
    """This test's own database: a seeded copy when the test asks for the
    starter data (seeded_app, client and what builds on them), else a
    migrated, empty one (see databases.py)."""
    seeded = "seeded_app" in request.fixturenames
    uri = database_templates.copy(seeded=seeded)
    yield uri
    # Search indexes of databases about to go: their threads stop before the
    # engines they read through are disposed.
    live_index.forget_all()
    close_apps_made()
    # A test that takes the URI itself may hand it to another process, whose
    # writes no one sees: its copy is never reused.
    takes_the_uri = "database_uri" in inspect.signature(request.function).parameters
    database_templates.give_back(uri, seeded, reusable=not takes_the_uri)


def clear_all_rows() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def app(database_uri):
    """An application on this test's own database (empty, or seeded when
    the test uses seeded_app)."""
    return make_app(database_uri)  # closed with the database (close_apps_made)


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


# ------------------------------------------------------------- collection

def pytest_collection_modifyitems(session, config, items):
    """Every test has an id of its own. schemathesis names each API operation's
    test by its function only under pytest 9.2 (which builds ids from
    `originalname`), and pytest-xdist schedules by id: ten of eleven
    operations would silently not run on two cores. Give each its operation."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and item.id.params is None:
            item._id = item.parent.id.child(item.originalname).with_params(label)
    seen: dict[str, int] = {}
    for item in items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    duplicates = sorted(nodeid for nodeid, count in seen.items() if count > 1)
    if duplicates:
        raise pytest.UsageError("tests that share an id (pytest-xdist would run only one): " + ", ".join(duplicates))


def edit_csv(path, change) -> None:
    """Change each row of a CSV file in place (`change(row)` edits the dict)."""
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        change(row)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
