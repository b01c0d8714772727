"""The social services directory of the Latvia–Lithuania border region."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from whitenoise import WhiteNoise

from . import change_tracking, cli, errors, live_index, geocoding, i18n, publishing, security_headers, templating
from .extensions import babel, compress, csrf, db, init_migrations, limiter, login_manager, static_digest
from .search import include_in_autogenerate
from . import database
from . import request_guards

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: Mapping[str, Any] | None = None, serving: bool = False) -> Flask:
    """Build the application: defaults, then instance/config.py, then the
    environment, then `config` (tests pass theirs here). A `serving` app
    (gunicorn's workers) has no `flask db` commands, so no Alembic in memory."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object("directory.config")
    app.config.from_pyfile("config.py", silent=True)
    _load_environment(app)
    if config:
        app.config.update(config)
    _ensure_database_uri(app)
    _ensure_secret_key(app)
    _ensure_trusted_hosts(app)

    db.init_app(app)
    database.init_app(app)  # SQLite: WAL, busy timeout, foreign keys, BEGIN IMMEDIATE for writes
    change_tracking.init_app(app)  # a service's updated_at moves with anything nested in it
    live_index.init_app(app)  # a search that met a write starts the index's refresh when it is done
    if not serving:
        init_migrations(
            app,
            directory=MIGRATIONS_DIR,
            render_as_batch=True,
            include_name=include_in_autogenerate,
        )
    csrf.init_app(app)
    compress.init_app(app)
    static_digest.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    i18n.init_app(app, babel)
    errors.init_app(app)
    request_guards.init_app(app)  # NUL characters in the path, query or form: 400
    security_headers.init_app(app)
    templating.init_app(app)
    # The editable fields, each with its label and display (templates/_fields.html).
    app.add_template_global(publishing.FIELDS, "field_registry")
    geocoding.init_app(app)
    cli.init_app(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .manage import bp as manage_bp
    from .ops import bp as ops_bp
    from .public import bp as public_bp, root as root_bp
    from .referrals import bp as referrals_bp

    app.register_blueprint(root_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(api_bp)
    _trust_proxies(app)
    _serve_static_files(app)
    return app


def _init_login(app: Flask) -> None:
    from flask import g, redirect, request, url_for
    from flask_babel import lazy_gettext as _l

    from . import sign_ins

    login_manager.init_app(app)
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        # The id names one sign-in (see sign_ins.py): ended or expired, it is no one.
        return sign_ins.user_for(db.session, user_id)

    @login_manager.unauthorized_handler
    def to_login():
        from flask import flash

        flash(login_manager.login_message, "info")
        lang = getattr(g, "lang", None) or app.config["BABEL_DEFAULT_LOCALE"]
        return redirect(url_for("auth.login", lang_code=lang, next=request.full_path.rstrip("?")))


# Names made by `flask digest compile`: name-<md5>.ext, safe to cache for a year.
FINGERPRINTED = re.compile(r"-[0-9a-f]{32}\.[\w.]+$")


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, take the client's address
    and scheme from the X-Forwarded-For / -Proto headers they add (and only
    as many entries as there are proxies: the rest could come from anyone).
    The Host header is never taken from X-Forwarded-Host: the proxy passes
    the original Host on, and TRUSTED_HOSTS checks it."""
    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _ensure_trusted_hosts(app: Flask) -> None:
    """Flask answers 400 to a request for a host not in TRUSTED_HOSTS. Unset,
    it is the host of PUBLIC_BASE_URL plus the loopback names (for health
    checks and `make run`)."""
    if app.config.get("TRUSTED_HOSTS") is None:
        public_host = urlsplit(app.config["PUBLIC_BASE_URL"]).hostname
        app.config["TRUSTED_HOSTS"] = sorted({public_host, "localhost", "127.0.0.1"} - {None})

    @app.errorhandler(SecurityError)
    def unknown_host(error):
        # No URL can be built for a host the site is not: a plain page, no links.
        return "<!doctype html><title>400</title><p>Unknown host.</p>", 400, {"Content-Type": "text/html; charset=utf-8"}


def _serve_static_files(app: Flask) -> None:
    """WhiteNoise serves /static/: pre-compressed .br / .gz files when the
    browser takes them, fingerprinted names cached for a year as immutable,
    other files for an hour."""
    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=app.static_folder,
        prefix=app.static_url_path,
        max_age=app.config["STATIC_MAX_AGE"],
        immutable_file_test=lambda path, url: bool(FINGERPRINTED.search(url)),
    )


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out (postgres://, postgresql://)
    and use the psycopg 3 driver this project installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _load_environment(app: Flask) -> None:
    app.config.from_prefixed_env()  # FLASK_SOMETHING=… sets SOMETHING
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]


def _ensure_database_uri(app: Flask) -> None:
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        os.makedirs(app.instance_path, exist_ok=True)
        uri = "sqlite:///" + os.path.join(app.instance_path, "directory.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(uri)


def _ensure_secret_key(app: Flask) -> None:
    """A deployment sets SECRET_KEY; a local checkout gets one generated once
    into instance/secret_key, so that `make run` needs no setup and sessions
    survive a restart."""
    if app.config.get("SECRET_KEY"):
        return
    os.makedirs(app.instance_path, exist_ok=True)
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()
