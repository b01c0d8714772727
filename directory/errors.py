"""Friendly error pages in the visitor's language.

Before a page is drawn the database session is rolled back: whatever the
failed request changed must not be saved by anything after it, and after a
failed flush the session refuses every query (the error page's own: the
signed-in menu, the shortlist count) until it is rolled back."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .extensions import db

MESSAGES = {
    400: _l("The request could not be read. Go back, check what you entered and try again."),
}


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


def message_for(error: HTTPException) -> str | None:
    """What the page says beyond its title; None: the general text."""
    specific = getattr(error, "user_message", None)
    if specific is not None:
        return specific
    if error.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            return gettext("What you sent is too large: this site takes at most %(limit)s at once. "
                           "Go back, shorten it and try again.", limit=_size(limit))
        return gettext("What you sent is too large. Go back, shorten it and try again.")
    return MESSAGES.get(error.code)


def roll_back() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the database is gone: the page is drawn without it
        current_app.logger.exception("Rolling back before an error page failed")


def _plain_page(code: int):
    """The last resort when the friendly page cannot be drawn (the database is down)."""
    text = gettext("The page could not be shown (error %(code)s). Please try again in a moment.", code=code)
    body = f"<!doctype html><title>{code}</title><p>{escape(text)}</p>"
    return body, code, {"Content-Type": "text/html; charset=utf-8"}


def render_error(error: HTTPException):
    roll_back()
    code = error.code or 500
    template = "errors/404.html" if code == 404 else "errors/error.html"
    try:
        return render_template(template, error=error, message=message_for(error)), code
    except Exception:
        if code < 500:
            raise  # becomes a 500, drawn by this function again
        current_app.logger.exception("The error page could not be drawn")
        return _plain_page(code)


def init_app(app: Flask) -> None:
    # Also the 500 of an unexpected exception (InternalServerError is an HTTPException).
    app.register_error_handler(HTTPException, render_error)
