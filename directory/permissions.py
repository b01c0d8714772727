"""Who may do what, checked on the server for every request."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .models import Organization


def role_required(*roles: str):
    """Signed in (else to the sign-in page) with one of `roles` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require_editor_of(organization: Organization | None) -> Organization:
    """The organization, if the signed-in user may edit it; 404 / 403 otherwise."""
    if organization is None:
        abort(404)
    if not current_user.may_edit(organization):
        abort(403)
    return organization
