"""SQLite as a server database, and wiping purged client data from free space.

SQLite serves several gunicorn threads and workers at once. Out of the box it
would lock readers out while anyone writes and answer "database is locked"
after pysqlite's 5 seconds. So every SQLite connection gets:

- `journal_mode=WAL`: readers never wait for a writer, nor a writer for readers;
- `busy_timeout` (SQLITE_BUSY_TIMEOUT_SECONDS): a writer queues behind
  another writer instead of failing;
- `foreign_keys=ON`: the ON DELETE rules the migrations declare are kept
  (SQLite ignores them otherwise); migrations/env.py turns it off around
  Alembic's batch table rebuilds;
- `secure_delete=ON`: deleted or overwritten rows are zeroed on their page.

Transactions: pysqlite's own transaction handling is switched off and we send
BEGIN ourselves (SQLAlchemy's documented recipe for pysqlite). A transaction
that will write starts with BEGIN IMMEDIATE, so it takes the write lock first
and waits for it with the busy timeout. A deferred transaction that reads and
then writes cannot wait: SQLite fails it at once (SQLITE_BUSY) when another
connection wrote meanwhile. Requests by GET/HEAD/OPTIONS begin deferred so
that readers never queue behind writers; everything else (other methods,
CLI commands, work outside a request) begins IMMEDIATE. A GET view that
writes (the audit log of referral views) says so with @writes_database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TypeVar

import click
from flask import Flask, current_app, has_request_context, request
from sqlalchemy import Engine, event

from .extensions import db

log = logging.getLogger(__name__)

# Methods that should not write; their transactions begin deferred.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

View = TypeVar("View", bound=Callable)


def writes_database(view: View) -> View:
    """Mark a GET view that writes (e.g. an audit record): its transactions
    begin IMMEDIATE like a POST's. The mark survives functools.wraps, so the
    decorator may sit anywhere under the route decorator."""
    view.writes_database = True  # type: ignore[attr-defined]
    return view


def transaction_writes() -> bool:
    """Whether a transaction begun now should be BEGIN IMMEDIATE."""
    if click.get_current_context(silent=True) is not None:
        return True  # a CLI command (purge, import, seed…), even inside test_request_context
    if not has_request_context():
        return True
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "writes_database", False))


def init_app(app: Flask) -> None:
    """Set SQLite connections up (after db.init_app, which makes the engines)."""
    timeout_ms = int(float(app.config["SQLITE_BUSY_TIMEOUT_SECONDS"]) * 1000)
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, timeout_ms)


def _configure_sqlite(engine: Engine, timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, connection_record) -> None:
        # Without this pysqlite sends its own BEGIN (deferred, only before
        # INSERT/UPDATE/DELETE) and COMMITs before some statements.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms:d}")  # first: switching to WAL may wait
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if transaction_writes() else "BEGIN")


def vacuum_after_purge(engine: Engine | None = None) -> None:
    """Rewrite what held purged client data, so that it does not linger in
    free pages: SQLite, the whole file (and the write-ahead log emptied);
    PostgreSQL, the referral tables. Both run outside a transaction."""
    from .models import Referral, ReferralEvent

    engine = engine if engine is not None else db.engine
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            connection = raw.driver_connection  # isolation_level None: no transaction around it
            connection.execute("VACUUM")
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("VACUUM done, but readers kept the write-ahead log from being emptied; "
                            "it is emptied at a later checkpoint")
        finally:
            raw.close()
    elif engine.dialect.name == "postgresql":
        quote = engine.dialect.identifier_preparer.quote
        tables = ", ".join(quote(model.__table__.name) for model in (Referral, ReferralEvent))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM {tables}")
