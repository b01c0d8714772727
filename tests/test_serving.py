"""Production serving: compressed pages, fingerprinted static files with long
cache lifetimes, a health check, a quiet boot, and the benchmark scripts in
short mode."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from conftest import soup

ROOT = Path(__file__).resolve().parent.parent


def test_health_check_answers_with_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_check_reports_a_database_that_does_not_answer(seeded_app, monkeypatch):
    from directory.extensions import db

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with seeded_app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        response = seeded_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_pages_and_fragments_are_compressed(client):
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/lv/?q=centrs", headers={"Accept-Encoding": "br, gzip", **headers})
        assert response.headers["Content-Encoding"] in ("br", "gzip")
        assert "Accept-Encoding" in response.headers["Vary"]


def test_static_files_are_fingerprinted_and_cached_for_a_year(client):
    if not (ROOT / "static" / "cache_manifest.json").exists():
        pytest.fail("run `make assets` (part of `make test`) to fingerprint the static files")
    page = soup(client.get("/lv/"))
    urls = [tag.get("href") or tag.get("src") for tag in page.select("link[rel=stylesheet], script[src]")]
    assert len(urls) == 3
    for url in urls:
        assert re.search(r"-[0-9a-f]{32}\.(css|js)$", url), url
        with client.get(url, headers={"Accept-Encoding": "br"}) as response:
            assert response.status_code == 200
            assert response.headers["Content-Encoding"] == "br"
            assert "immutable" in response.headers["Cache-Control"]
            assert "max-age=315360000" in response.headers["Cache-Control"]


@pytest.mark.same_on_every_database  # each benchmark builds its own SQLite file
@pytest.mark.parametrize(
    "script, arguments, expected",
    [
        ("bench/search.py", ["300"], r"fragment, cold words: p50 +[\d.]+ ms +p95"),
        ("bench/weight.py", [], r"target: first visit at most 60 KB: met"),
        ("bench/load.py", ["--smoke"], r"errors: 0\n"),
        ("bench/import.py", ["--short"], r"c\. ours: first import +[\d.]+[\s\S]*d\. ours: re-import, unchanged +[\d.]+"),
    ],
)
def test_benchmarks_run_in_short_mode(script, arguments, expected):
    result = subprocess.run(
        [sys.executable, str(ROOT / script), *arguments],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(expected, result.stdout), result.stdout


@pytest.mark.same_on_every_database
def test_building_the_app_logs_nothing_from_alembic(tmp_path):
    """Each gunicorn worker builds the app with logging on (gunicorn.conf.py:
    INFO); create_app() imports Flask-Migrate and so Alembic, whose plugin
    registry must not fill the boot log. Alembic speaks when migrations run."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'boot.sqlite'}", "SECRET_KEY": "boot-log-test"}
    boot = subprocess.run(
        [sys.executable, "-c",
         "import logging; logging.basicConfig(level=logging.DEBUG)\n"
         "from directory import create_app; create_app()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert boot.returncode == 0, boot.stderr
    assert "alembic" not in (boot.stdout + boot.stderr).lower(), boot.stdout + boot.stderr

    migration = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "directory", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert migration.returncode == 0, migration.stderr
    assert "[alembic.runtime.migration] Running upgrade" in migration.stderr, migration.stderr
    assert "setup plugin" not in migration.stderr, migration.stderr


@pytest.mark.same_on_every_database
def test_a_serving_worker_does_without_alembic(tmp_path):
    """gunicorn's workers (create_app(serving=True)) have no `flask db`
    commands and so never load Alembic, Mako and Pygments (some 11 MB each)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'boot.sqlite'}", "SECRET_KEY": "boot-test"}
    boot = subprocess.run(
        [sys.executable, "-c",
         "import sys\n"
         "from directory import create_app\n"
         "app = create_app(serving=True)\n"
         "print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules), 'db' in app.cli.commands)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert boot.returncode == 0, boot.stderr
    assert boot.stdout.split() == ["[]", "False"]
