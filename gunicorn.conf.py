"""gunicorn settings for `make run`: production serving on loopback (put a
reverse proxy or load balancer in front). PORT, WORKERS and THREADS come from
the environment; the Makefile passes its defaults."""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from gunicorn.glogging import Logger

HERE = Path(__file__).resolve().parent

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Workers share nothing but the database; restart them now and then so that
# memory stays bounded over months of uptime.
# Not too often: a new worker builds its search index before it serves
# (seconds at 100k services, a minute or two at a million).
max_requests = 100_000
max_requests_jitter = 10_000
preload_app = False



def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class AccessLogWithoutQueries(Logger):
    """Residents' search words, places and device coordinates travel in query
    strings (?q=…&near=…&lat=…&lon=…), and again in the Referer of the next
    request: the access log keeps paths only, never a query string."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("RAW_URI", "").split("?", 1)[0] or atoms["U"]
        atoms["r"] = f"{atoms['m']} {path} {atoms['H']}"
        atoms["q"] = "-"
        for key in ("f", "{referer}i"):
            if atoms.get(key) not in (None, "-"):
                atoms[key] = without_query(atoms[key])
        return atoms


def on_starting(server):
    """Once, in the master: rate-limit counters in memory:// are per process,
    so with several workers each allows the full limit (sign-in attempts
    multiply by WORKERS). The setting is read as the app reads it."""
    from flask import Config

    config = Config(str(HERE / "directory"))
    config.from_pyfile(str(HERE / "directory" / "config.py"))  # the file only, not the whole app
    config.from_pyfile(str(HERE / "instance" / "config.py"), silent=True)
    config.from_prefixed_env()
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if server.cfg.workers > 1 and storage.startswith("memory://"):
        server.log.warning(
            "%d workers share no rate-limit counters (RATELIMIT_STORAGE_URI=%s): each counts on its own, "
            "so limits allow %d times as much. Set FLASK_RATELIMIT_STORAGE_URI to shared storage "
            "(e.g. redis://localhost:6379) or run one worker.",
            server.cfg.workers, storage, server.cfg.workers,
        )


# Logs on stdout/stderr in one standard format, access log with the time taken
# and the path without its query string (see AccessLogWithoutQueries).
accesslog = "-"
errorlog = "-"
logger_class = AccessLogWithoutQueries
access_log_format = '%(h)s - %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "standard": {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "standard", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
logconfig_dict["formatters"]["access"] = {"format": "%(message)s"}


def post_worker_init(worker):
    """Build the worker's search index before it takes its first request
    (at 100k services a few seconds; the other workers serve meanwhile), so
    that no resident waits for it, after a start or a max_requests restart."""
    import threading

    app = worker.wsgi
    built = threading.Event()

    def heartbeat():  # the arbiter restarts a worker silent for `timeout` seconds
        while not built.wait(5):
            worker.notify()

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        from directory.extensions import db
        from directory.live_index import warm_up

        with app.app_context():
            warm_up(db.session)
            db.session.remove()
    except Exception:  # a database not migrated yet: the first search builds it
        worker.log.exception("the search index could not be built at start")
    finally:
        built.set()
