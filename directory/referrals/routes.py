"""/<lang>/referrals/: a social worker sends a client to a service and follows
the referral until the centre answers. The centre's side is in
/<lang>/manage/referrals/ (directory.manage.referral_routes).

Social workers send; social workers see the referrals they sent, and
administrators see all. Every look at a referral is written to the audit log.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from .. import municipalities, publishing, sharing
from .. import referral_workflow as workflow
from ..confidential import may_see_address
from ..contact_card import contact_card
from ..database import writes_database
from ..extensions import db
from ..models import Referral, Service
from ..permissions import role_required
from ..qr import qr_svg
from ..web import or_404
from . import bp
from ..referral_forms import ReferralForm, StatusForm

SENDERS = ("social_worker", "admin")


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _referral(referral_id: int) -> Referral:
    """A referral the signed-in sender (or an admin) may see; 404 / 403 otherwise."""
    referral = or_404(db.session.get(Referral, referral_id), "No referral with this number")
    if not (workflow.is_sender(current_user, referral) or current_user.is_admin):
        abort(403)
    return referral


@bp.get("/")
@writes_database  # audited: the look is written to the log
@role_required(*SENDERS)
def index():
    """The referrals the social worker sent (all, for an admin)."""
    group = request.args.get("status") if request.args.get("status") in workflow.STATUS_GROUPS else None
    if current_user.is_admin:
        listed = workflow.received_by(db.session, current_user, group, _page_number())
    else:
        listed = workflow.sent_by(db.session, current_user, group, _page_number())
    workflow.record_list_view(db.session, current_user, listed.referrals, "sender-list")
    db.session.commit()
    return render_template("referrals/index.html", listed=listed, group=group,
                           groups=workflow.STATUS_GROUP_LABELS, status_labels=workflow.STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@role_required("social_worker")
def new():
    """The referral form, for one service (?service=<id>, from the shortlist or a centre page)."""
    form = ReferralForm()
    service_id = form.service_id.data if request.method == "POST" else request.args.get("service", "")
    service = db.session.get(Service, service_id) if service_id and len(service_id) <= 36 else None
    # An organization waiting for review is not public: nor are its services, to anyone referring.
    if service is None or service.organization.status != "published":
        abort(404, "No service with this id")
    if request.method == "GET":
        form.service_id.data = service.id
        form.client_language.data = g.lang
    status = 200
    outside = False
    if request.method == "POST":
        valid = form.validate_on_submit()
        outside = valid and _outside_area(form, service)
        if valid and not outside:
            try:
                referral = workflow.send_referral(
                    db.session, service, current_user,
                    client_name=form.client_name.data, client_contact=form.client_contact.data,
                    client_language=form.client_language.data, need=form.need.data,
                    consent=form.consent.data,
                )
            except workflow.Refused as refused:
                db.session.rollback()
                flash(str(refused), "error")
                status = 409 if not workflow.referrable(service) else 400
            else:
                db.session.commit()
                flash(_("The referral is sent. You will see here when the centre answers."), "info")
                return redirect(url_for("referrals.referral", referral_id=referral.id))
        else:
            status = 400
    return render_template(
        "referrals/new.html", form=form, service=service,
        card=contact_card(service, reveal=may_see_address(current_user, service.organization)),
        referrable=workflow.referrable(service), receivers=workflow.has_receivers(db.session, service),
        areas=[publishing.area_label(code) for code in sorted(municipalities.area_codes_of(service))],
        outside=outside,
    ), status


def _outside_area(form: ReferralForm, service: Service) -> bool:
    """A client from a municipality the service says it does not serve, not
    yet confirmed: the form says so on the field and asks again."""
    code = form.client_municipality.data
    if not code or municipalities.get(code) is None or form.outside_area_confirmed.data:
        return False
    if municipalities.service_serves(service, code) is not False:
        return False
    form.client_municipality.errors = [*form.client_municipality.errors, _(
        "This service does not say it serves %(municipality)s. Check with the centre; if it agrees, tick "
        "“Send it anyway” and send again.", municipality=municipalities.get(code).label)]
    return True


@bp.get("/<int:referral_id>")
@writes_database  # audited: the look is written to the log
@role_required(*SENDERS)
def referral(referral_id: int):
    """One referral the social worker sent (any, for an admin): its state, the answer, a withdraw button."""
    item = _referral(referral_id)
    workflow.record_view(db.session, current_user, item, "sender")
    db.session.commit()
    return render_template(
        "referrals/referral.html", referral=item, form=StatusForm(),
        status_labels=workflow.STATUS_LABELS, reason_labels=workflow.DECLINE_REASON_LABELS,
        may_withdraw=(item.status, "withdrawn") in workflow.TRANSITIONS,
    )


@bp.post("/<int:referral_id>/withdraw")
@role_required(*SENDERS)
def withdraw(referral_id: int):
    """Withdraw a referral that is still sent or accepted; the centre is told."""
    item = _referral(referral_id)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("The form was not complete. Nothing was saved."), "error")
        return redirect(url_for("referrals.referral", referral_id=item.id))
    try:
        workflow.change_status(db.session, item, current_user, "withdrawn",
                               expected_status=form.expected.data, note=form.note.data)
        db.session.commit()
    except workflow.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone changed this referral at the same moment. Nothing was saved; look again."), "error")
    else:
        flash(_("The referral is withdrawn. The centre is told."), "info")
    return redirect(url_for("referrals.referral", referral_id=item.id))


@bp.get("/<int:referral_id>/slip")
@writes_database  # audited: the look is written to the log
@role_required(*SENDERS)
def slip(referral_id: int):
    """A printable slip for the client, in the language of this URL (the
    referral page links to the client's language)."""
    item = _referral(referral_id)
    workflow.record_view(db.session, current_user, item, "slip")
    db.session.commit()
    service = item.service
    # A QR code to the service online, while residents can find it there.
    online = service is not None and service.status == "active" and service.organization.status == "published"
    service_link = sharing.service_link(service, g.lang) if online else None
    return render_template(
        "referrals/slip.html", referral=item, status_label=workflow.STATUS_LABELS[item.status],
        # The slip goes to the client: a confidential address is never on it.
        card=contact_card(service, reveal=False) if service is not None else None,
        service_link=service_link,
        service_qr=qr_svg(service_link, _("QR code: this service online")) if service_link else None,
    )
