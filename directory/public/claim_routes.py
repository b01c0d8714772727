"""/<lang>/centres/<slug>/claim: someone at a centre asks to keep its listing,
without an account (directory/claims.py); an administrator decides."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _

from .. import claims, errors, i18n, listings
from ..extensions import db, limiter
from ..web import or_404
from . import bp
from .forms import ClaimForm


def _organization_key() -> str:
    """Rate-limit key of the centre claimed, whatever address asks."""
    return "claim-organization:" + str((request.view_args or {}).get("slug", ""))[:120]


@bp.route("/centres/<slug>/claim", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CLAIM_RATE_LIMIT"], methods=["POST"])
# Only claims filed count for the centre: a flood of broken forms from many
# addresses must not stop its real staff from asking.
@limiter.limit(lambda: current_app.config["CLAIM_ORGANIZATION_RATE_LIMIT"], methods=["POST"],
               key_func=_organization_key, deduct_when=lambda response: response.status_code == 200)
def claim(slug: str):
    """The form to ask to keep a centre's listing, and its thank-you page."""
    org = or_404(listings.get_centre(db.session, slug), "No centre with this address")
    form = ClaimForm()
    if claims.is_kept_by_centre(db.session, org):
        return render_template("public/claim.html", org=org, form=None), 409 if request.method == "POST" else 200
    if not form.validate_on_submit():
        return render_template("public/claim.html", org=org, form=form), 400 if request.method == "POST" else 200
    try:
        claims.ask_to_keep(db.session, org, name=form.name.data, email=form.email.data, role=form.role.data,
                           message=form.message.data or "", language=i18n.select_locale())
    except claims.AlreadyKept:
        return render_template("public/claim.html", org=org, form=None), 409
    db.session.commit()
    # The same answer for a new claim and a repeated one.
    return render_template("public/claim_sent.html", org=org)


@bp.errorhandler(429)
def too_many_requests(error):
    """The claim form says why it stops answering; other pages keep the general text."""
    if request.endpoint == "public.claim":
        error.user_message = _("This form was sent too many times. Please wait a while and try again later.")
    return errors.render_error(error)
