"""Requests refused before anything reads them.

A NUL character (\\x00) in the path, the query string or a form field has no
place in anything a person types; PostgreSQL cannot store or even compare
text holding one (psycopg raises), so without this check it is a 500 there
and a harmless miss on SQLite. Refused here once, as a 400 with the friendly
error page, the same on every database."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

NUL = "\x00"


class UnreadableCharacters(BadRequest):
    """400: the request holds a character no one can type."""

    # For the API's JSON errors (in English, as the API's other errors).
    description = "The request holds a NUL character (\\x00) in its path, query string or form."
    user_message = _l("The address or the form holds a character this site cannot read. "
                      "Check what you typed or pasted and try again.")


def _any_nul(texts: Iterable[str | None]) -> bool:
    return any(NUL in text for text in texts if text)


def refuse_nul_bytes() -> None:
    if NUL in request.path or _any_nul(key + value for key, value in request.args.items(multi=True)):
        raise UnreadableCharacters()
    # Only a body sent as a form is read here (the CSRF check reads it anyway);
    # uploaded files are kept apart, only their field and file names are checked.
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if _any_nul(key + value for key, value in request.form.items(multi=True)):
            raise UnreadableCharacters()
        if _any_nul(key + (upload.filename or "") for key, upload in request.files.items(multi=True)):
            raise UnreadableCharacters()


def init_app(app: Flask) -> None:
    # First of all before-request functions: no check, limiter or view should
    # see such a value.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)
