"""/<lang>/manage/referrals/: a centre's editors see the referrals sent to
their services and answer them: accept, decline (with a reason), complete.
Administrators see every centre's. Every look is written to the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from .. import referral_workflow as workflow
from ..database import writes_database
from ..extensions import db
from ..models import Referral
from ..permissions import role_required
from ..referral_forms import StatusForm
from ..web import or_404
from . import EDITORS, bp


def _received(referral_id: int) -> Referral:
    referral = or_404(db.session.get(Referral, referral_id), "No referral with this number")
    if not workflow.is_receiver(current_user, referral):
        abort(403)
    return referral


@bp.get("/referrals/")
@writes_database  # audited: the look is written to the log
@role_required(*EDITORS)
def referrals():
    """The referrals sent to the editor's centres (every centre's, for an admin), by state, a page at a time."""
    group = request.args.get("status", "open")
    if group not in workflow.STATUS_GROUPS and group != "all":
        group = "open"
    listed = workflow.received_by(db.session, current_user, None if group == "all" else group,
                                  request.args.get("page", 1, type=int) or 1)
    workflow.record_list_view(db.session, current_user, listed.referrals, "centre-list")
    db.session.commit()
    return render_template("manage/referrals.html", listed=listed, group=group,
                           groups=workflow.STATUS_GROUP_LABELS, status_labels=workflow.STATUS_LABELS)


@bp.get("/referrals/<int:referral_id>")
@writes_database  # audited: the look is written to the log
@role_required(*EDITORS)
def referral(referral_id: int):
    """One referral sent to the centre, with the buttons to accept, decline or complete it."""
    item = _received(referral_id)
    workflow.record_view(db.session, current_user, item, "centre")
    db.session.commit()
    return _referral_page(item, StatusForm())


def _referral_page(item: Referral, form: StatusForm, status: int = 200):
    moves = [target for (source, target), actor in workflow.TRANSITIONS.items()
             if source == item.status and actor == "centre"]
    return render_template(
        "manage/referral.html", referral=item, form=form, moves=moves,
        status_labels=workflow.STATUS_LABELS, reason_labels=workflow.DECLINE_REASON_LABELS,
    ), status


@bp.post("/referrals/<int:referral_id>/status")
@role_required(*EDITORS)
def referral_status(referral_id: int):
    """Accept, decline or complete. An answer out of order, or to a referral
    someone else answered meanwhile, changes nothing and says why."""
    item = _received(referral_id)
    form = StatusForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400, "The form expired: reload the page")
        flash(_("The form was not complete. Nothing was saved."), "error")
        return _referral_page(item, form, 400)
    try:
        workflow.change_status(db.session, item, current_user, form.status.data,
                               expected_status=form.expected.data, reason=form.reason.data or None,
                               note=form.note.data)
        db.session.commit()
    except workflow.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return _referral_page(db.session.get(Referral, referral_id), form, 409)
    except PermissionError:
        db.session.rollback()
        abort(403)
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone changed this referral at the same moment. Nothing was saved; look again."), "error")
        return redirect(url_for("manage.referral", referral_id=referral_id))
    flash(_("Saved: the referral is now “%(status)s”. The social worker is told.",
            status=workflow.STATUS_LABELS[form.status.data]), "info")
    return redirect(url_for("manage.referral", referral_id=referral_id))
