"""gunicorn settings for `make run`: production serving on loopback (put a
reverse proxy or load balancer in front). PORT, WORKERS and THREADS come from
the environment; the Makefile passes its defaults."""

import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Workers share nothing but the database; restart them now and then so that
# memory stays bounded over months of uptime.
max_requests = 5000
max_requests_jitter = 500
preload_app = False

# Logs on stdout/stderr in one standard format, access log with the time taken.
accesslog = "-"
errorlog = "-"
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
