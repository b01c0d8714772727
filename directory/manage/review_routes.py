"""The review page a reminder's one-click link opens (directory/review_cycle.py):
the listing's facts, "Still correct" or "Edit". The link works for the user it
was sent to (signed in as them; otherwise sign-in, then back here) and only
until the listing is reviewed again."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import publishing, review_cycle
from ..extensions import db
from ..form_base import ActionForm
from ..permissions import role_required
from . import EDITORS, bp


def _link_problem(status: int):
    """A clear page instead of an error: the link is not one we made (400), or its purpose is done (410)."""
    if status == 400:
        message = _("This review link is not valid. Please copy the whole link from the e-mail, "
                    "or open the listing from your centres' page.")
    else:
        message = _("This review link is no longer needed: the listing has been reviewed since the e-mail "
                    "was sent, or the link is too old. You can still open the listing from your centres' page.")
    return render_template("manage/review.html", problem=message), status


@bp.route("/review/<token>", methods=["GET", "POST"])
@role_required(*EDITORS)
def review(token: str):
    """GET: the listing and the two choices. POST (CSRF): "Still correct"."""
    try:
        link = review_cycle.read_review_token(db.session, token)
    except review_cycle.InvalidLink:
        return _link_problem(400)
    except review_cycle.OutdatedLink as outdated:
        if outdated.link is not None and outdated.link.user_id != current_user.id:
            abort(403, "This review link was sent to someone else.")
        return _link_problem(410)
    org = link.organization
    if link.user_id != current_user.id or not current_user.may_edit(org):
        abort(403, "This review link was sent to someone else.")
    form = ActionForm()
    if form.is_submitted():
        if not form.validate():
            abort(400, "The form expired or did not come from this site.")
        publishing.verify(db.session, org, current_user)
        db.session.commit()
        flash(_("Thank you. The listing of %(organization)s is marked as checked today.", organization=org.name),
              "info")
        return redirect(url_for("manage.dashboard"))
    return render_template("manage/review.html", org=org, form=form,
                           services=[service for service in org.services if service.status == "active"])
