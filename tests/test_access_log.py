"""The production server's logs (gunicorn.conf.py, as `make run` starts it):
the access log never records what residents search for, where, or where
their device is; several workers on per-process rate-limit counters are
warned about once; the workers boot without Alembic's import-time lines."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRIVATE = ("krizu", "centrs", "Daugavpils", "56.123", "26.456", "Rezekne", "secretword", "q=", "near=")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_the_access_log_has_paths_without_searches_places_or_coordinates(seeded_app, database_uri):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "access-log-test", "PORT": str(port),
           "WORKERS": "2", "THREADS": "1"}
    env.pop("FLASK_RATELIMIT_STORAGE_URI", None)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "directory:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/healthz") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        referer = f"http://127.0.0.1:{port}/lv/?q=secretword&near=Rezekne"
        assert get(port, "/lv/?q=krizu+centrs&near=Daugavpils&radius=25", {"Referer": referer}) == 200
        assert get(port, "/lv/map?lat=56.123&lon=26.456", {"Referer": referer}) == 200
        assert get(port, "/api/services?search=krizu") == 200
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    lines = [line for line in stdout.splitlines() if '"GET ' in line]
    assert any('"GET /lv/ HTTP/1.1" 200' in line and f'"http://127.0.0.1:{port}/lv/"' in line for line in lines), \
        stdout
    assert any('"GET /lv/map HTTP/1.1" 200' in line for line in lines), stdout
    assert any('"GET /api/services HTTP/1.1" 200' in line for line in lines), stdout
    for word in PRIVATE:
        assert word not in stdout, (word, stdout)
    assert "alembic" not in stdout + stderr, stderr  # no migration runs, so Alembic says nothing
    # Two workers on memory:// counters: said once, by the master.
    warnings = re.findall(r"WARNING .*rate-limit counters.*", stderr)
    assert len(warnings) == 1 and "RATELIMIT_STORAGE_URI=memory://" in warnings[0], stderr
