"""What every blueprint's views share: telling an htmx request for part of a
page, where to go back to after a form, a 404 for a missing record, and the
signed-in user. The blueprints import these from here, never from each other."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from flask import abort, request
from flask_login import current_user

if TYPE_CHECKING:
    from .models import User

T = TypeVar("T")


def wants_fragment() -> bool:
    """An htmx request for part of a page; a history restore needs the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never send someone elsewhere after sign-in
    or after a form."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def or_404(value: T | None, reason: str | None = None) -> T:
    """`value`, or a 404 (saying `reason`) when there is none."""
    if value is None:
        if reason is None:
            abort(404)
        abort(404, reason)
    return value


def signed_in_user() -> User:
    """The signed-in user itself, not Flask-Login's proxy: what is stored in a
    relationship or an audit record must be the real object."""
    return current_user._get_current_object()
