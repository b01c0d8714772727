"""Databases for the benchmarks: a fresh one per run (a temporary SQLite
file, or a new database on the PostgreSQL server the environment names),
and running a script again under scripts/with-postgres.sh when none is
named."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")


def rerun_under_postgres(script: str) -> int:
    """No PostgreSQL named: run `script` again (with this process's
    arguments) inside scripts/with-postgres.sh, which starts a throw-away
    cluster and sets TEST_DATABASE_URL."""
    wrapper = ROOT / "scripts" / "with-postgres.sh"
    return subprocess.call([str(wrapper), sys.executable, str(Path(script).resolve()), *sys.argv[1:]])


@contextmanager
def fresh_database(kind: str, prefix: str):
    """The URL of a new, empty database, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/{prefix}.sqlite"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(server_url()))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
