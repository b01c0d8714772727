"""The public read-only JSON API under /api/: Open Referral HSDS 3.1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import routes  # noqa: E402  (the views register on bp)
