"""A database of its own for every test, without migrating or seeding per test.

Two templates are made once per test process (per pytest-xdist worker): one
migrated and empty, one also seeded with the starter data. A test gets a
copy of one of them: on SQLite a copy of the file (about a millisecond); on
PostgreSQL `CREATE DATABASE … TEMPLATE` (tens of milliseconds, so a copy the
test only read from is handed to the next test that wants the same kind, and
copies that were written to are dropped on a background thread)."""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from directory.extensions import db
from directory.seeding import seed_starter_data

# Statements that leave a database as it was. Anything else (and a SELECT
# that moves a sequence) marks the copy as written to.
READ_ONLY = re.compile(r"\s*(SELECT|SHOW|EXPLAIN|SET|RESET|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)\b", re.IGNORECASE)
MOVES_A_SEQUENCE = re.compile(r"\b(nextval|setval)\s*\(", re.IGNORECASE)


class DatabaseTemplates:
    def __init__(self, workdir: Path, postgres_url: str | None, make_app: Callable[..., Flask]):
        self.workdir = workdir
        self.make_app = make_app
        # Names carry the xdist worker, so that two workers never share one.
        self.prefix = "t_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.numbers = itertools.count(1)
        self.admin = None
        if postgres_url:
            self.base = make_url(postgres_url)
            self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            self.spare: dict[bool, str] = {}  # seeded? -> an unused-looking copy
            self.written: set[str] = set()  # database names written to since handed out
            self.drops: queue.Queue = queue.Queue()
            self.dropper = threading.Thread(target=self._drop_in_turn, daemon=True)
            self.dropper.start()
            event.listen(Engine, "before_cursor_execute", self._note_writes)
        self.empty = self._new_database(f"{self.prefix}_empty", template=None)
        self._migrate(self.empty)
        self.seeded = self._new_database(f"{self.prefix}_seeded", template=self.empty)
        self._seed(self.seeded)

    # ------------------------------------------------------------ copies
    def copy(self, seeded: bool) -> str:
        if self.admin is not None and seeded in self.spare:
            return self.spare.pop(seeded)
        return self._new_database(f"{self.prefix}_{next(self.numbers)}", template=self.seeded if seeded else self.empty)

    def give_back(self, uri: str, seeded: bool, reusable: bool) -> None:
        """The test is over. A PostgreSQL copy nothing wrote to serves the
        next test; any other copy goes."""
        if self.admin is None:
            self._remove_sqlite_file(uri)
            return
        name = make_url(uri).database
        if reusable and name not in self.written and seeded not in self.spare:
            self.spare[seeded] = uri
        else:
            self.written.discard(name)
            self.drops.put(name)

    def close(self) -> None:
        if self.admin is None:
            return
        event.remove(Engine, "before_cursor_execute", self._note_writes)
        for uri in [*self.spare.values(), self.seeded, self.empty]:
            self.drops.put(make_url(uri).database)
        self.drops.put(None)
        self.dropper.join()
        self.admin.dispose()

    # ------------------------------------------------------------ PostgreSQL
    def _note_writes(self, connection, cursor, statement, parameters, context, executemany) -> None:
        if not READ_ONLY.match(statement) or MOVES_A_SEQUENCE.search(statement):
            self.written.add(connection.engine.url.database)

    def _drop_in_turn(self) -> None:
        while (name := self.drops.get()) is not None:
            self._drop(name)

    def _drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    # ------------------------------------------------------------ making
    def _new_database(self, name: str, template: str | None) -> str:
        if self.admin is not None:
            self._drop(name)
            source = f' TEMPLATE "{make_url(template).database}"' if template else ""
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"{source}'))
            return self.base.set(database=name).render_as_string(hide_password=False)
        path = self.workdir / f"{name}.sqlite"
        if template:
            shutil.copyfile(template.removeprefix("sqlite:///"), path)
        return "sqlite:///" + str(path)

    def _migrate(self, uri: str) -> None:
        app = self.make_app(uri)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        self._settle(uri)

    def _seed(self, uri: str) -> None:
        app = self.make_app(uri)
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

    @staticmethod
    def _remove_sqlite_file(uri: str) -> None:
        path = uri.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path + suffix)
