"""Flask extensions, created unbound here and bound to the app in create_app()."""

import logging

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_static_digest import FlaskStaticDigest
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

class Base(DeclarativeBase):
    # Named constraints, so that Alembic migrations can alter them on every
    # database (SQLite batch mode needs names to drop a constraint).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)


def init_migrations(app, **options) -> None:
    """Flask-Migrate's `flask db` commands. Imported here, not at the top:
    it imports Alembic (and Mako, Pygments), some 11 MB a process that a
    serving worker never uses (create_app(serving=True) leaves it out)."""
    # Alembic's plugin registry logs a line per built-in plugin at INFO
    # ("setup plugin alembic.autogenerate.tables"…); only that logger is
    # quietened, before the import: a migration that runs still logs its steps.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from flask_migrate import Migrate

    Migrate().init_app(app, db, **options)
babel = Babel()
csrf = CSRFProtect()
compress = Compress()  # gzip / brotli for pages and fragments
static_digest = FlaskStaticDigest()  # static_url_for(): fingerprinted file names
login_manager = LoginManager()
# Counters live in RATELIMIT_STORAGE_URI (memory:// for one process; e.g.
# redis://… when several processes or machines serve).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
