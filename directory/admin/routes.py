"""/<lang>/admin/: the administrators' pages."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from .. import i18n
from ..extensions import db
from ..models import User
from ..permissions import role_required

bp = i18n.localized_blueprint("admin", __name__, "/admin")


@bp.get("/")
@role_required("admin")
def index():
    return render_template("admin/index.html")


@bp.get("/accounts")
@role_required("admin")
def accounts():
    users = db.session.scalars(select(User).order_by(User.status.desc(), User.created_at)).all()
    return render_template("admin/accounts.html", users=users)
