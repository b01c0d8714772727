"""/<lang>/manage/: a centre editor's own organizations."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from .. import i18n
from ..permissions import role_required

bp = i18n.localized_blueprint("manage", __name__, "/manage")


@bp.get("/")
@role_required("editor", "admin")
def dashboard():
    return render_template("manage/dashboard.html", organizations=current_user.organizations)
