"""Endpoints for whoever runs the service: health checks."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from . import routes  # noqa: E402  (the views register on bp)
