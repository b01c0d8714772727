"""/<lang>/admin/claims: requests to keep a centre's listing, approved (the
person becomes its editor) or refused with a reason (directory/claims.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from .. import claims
from ..administration import Refused
from ..extensions import db
from ..form_base import ActionForm
from ..permissions import role_required
from ..web import or_404, signed_in_user
from . import bp
from .forms import RefuseClaimForm


@bp.context_processor
def claims_context() -> dict:
    # A function, so that only the page showing the figure (the admin index) counts.
    return {"count_pending_claims": lambda: claims.count_pending(db.session)}


def _refuse_form(claim, **options) -> RefuseClaimForm:
    # A prefix per claim: the queue shows one form each, and ids stay unique.
    return RefuseClaimForm(prefix=f"claim-{claim.id}", **options)


def _render_queue(refusing=None, status=200):
    """The queue; `refusing` is a refuse form sent back with its errors."""
    pending = claims.pending_claims(db.session)
    forms = {claim.id: _refuse_form(claim, formdata=None) for claim in pending}
    if refusing is not None:
        forms[refusing[0]] = refusing[1]
    kept = {claim.id: claims.is_kept_by_centre(db.session, claim.organization) for claim in pending}
    return render_template("admin/claims.html", claims=pending, refuse_forms=forms, kept=kept), status


@bp.get("/claims")
@role_required("admin")
def claims_queue():
    """Requests to keep a listing that wait for an administrator."""
    return _render_queue()


@bp.post("/claims/<int:claim_id>/approve")
@role_required("admin")
def approve_claim(claim_id: int):
    """Make the person an editor of the centre (a new account or their own) and tell them by e-mail."""
    claim = or_404(claims.get_claim(db.session, claim_id), "No request with this id")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        user = claims.approve_claim(db.session, claim, signed_in_user())
    except Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("Approved: %(name)s now keeps the listing of %(organization)s. An e-mail tells them how to sign in.",
                name=user.name, organization=claim.organization.name), "info")
    return redirect(url_for("admin.claims_queue"))


@bp.post("/claims/<int:claim_id>/refuse")
@role_required("admin")
def refuse_claim(claim_id: int):
    """Refuse a request; the reason is required and e-mailed to the person."""
    claim = or_404(claims.get_claim(db.session, claim_id), "No request with this id")
    form = _refuse_form(claim)
    if not form.validate():
        return _render_queue((claim.id, form), 400 if form.csrf_token.errors else 200)
    try:
        claims.refuse_claim(db.session, claim, signed_in_user(), form.reason.data)
    except Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("Refused. An e-mail gives %(name)s the reason.", name=claim.name), "info")
    return redirect(url_for("admin.claims_queue"))

