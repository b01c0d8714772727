"""`/healthz`: for a load balancer or a monitor. 200 when the database
answers, 503 when it does not; never cached."""

from flask import current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from . import bp


@bp.get("/healthz")
def health():
    """Health check for a load balancer or monitor: 200 when the database answers, 503 when not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("Health check: the database does not answer")
        response = jsonify(status="error", database="unavailable")
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
