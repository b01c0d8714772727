"""/<lang>/manage/: centre editors keep their own listings.

Every view needs an editor or an admin, and every record is checked with
`require_editor_of` (403 for another centre's editor, 404 for an unknown id).
The views are thin: `directory.publishing` does the work. Every page works
without JavaScript; with htmx, the "Add a row" buttons swap only their rows.
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import administration, capacity, duplicates, publishing, referral_workflow
from ..form_base import ActionForm
from ..reports import PROBLEM_KIND_LABELS
from ..extensions import db
from ..models import Location, Organization, ProblemReport, Revision, Service
from ..permissions import require_editor_of, role_required
from ..web import or_404, wants_fragment
from . import EDITORS, bp
from .forms import CapacityForm, LocationForm, OrganizationForm, ProposeForm, ServiceForm

# Form buttons that only steer the form; never carried back from the conflict page.
CONTROL_FIELDS = {"csrf_token", "version", "save", "back_to_form"}


# ------------------------------------------------------------ presenting values
# A field's label and how its values read come from the registry
# (publishing.FIELDS): `field_label(entity_type, name)` and
# `present(entity_type, name, value)` in the templates.


def when(moment) -> str:
    return format_datetime(moment, "short") if moment else ""


ACTION_LABELS = {
    "create": lambda: _("created"),
    "update": lambda: _("changed"),
    "retire": lambda: _("retired"),
    "verify": lambda: _("checked as still correct"),
    "revert": lambda: _("undid a change"),
}


@bp.context_processor
def manage_helpers() -> dict:
    return {
        "present": publishing.present,
        "field_label": publishing.label_of,
        "when": when,
        "action_label": lambda action: ACTION_LABELS[action]() if action in ACTION_LABELS else action,
        "is_stale": publishing.is_stale,
        "decode_changes": publishing.decode_changes,
    }


# ------------------------------------------------------------ loading records


def _organization(org_id: str) -> Organization:
    return require_editor_of(db.session.get(Organization, org_id))


def _location(location_id: str) -> tuple[Location, Organization]:
    location = db.session.get(Location, location_id)
    return location, require_editor_of(location.organization if location is not None else None)


def _service(service_id: str) -> tuple[Service, Organization]:
    service = db.session.get(Service, service_id)
    return service, require_editor_of(service.organization if service is not None else None)


def _saved(org: Organization, revision: Revision | None) -> None:
    if revision is None:
        flash(_("Nothing was changed."), "info")
    elif org.status == "published":
        flash(_("Saved. The change is public now."), "info")
    else:
        flash(_("Saved. The organization is not public yet: it waits for an administrator's review."), "info")


def _to_organization(org: Organization):
    return redirect(url_for("manage.organization", org_id=org.id))


# ------------------------------------------------------------ editing, shared


def _row_request(form, template: str, context: dict):
    """"Add a row" (no saving): the whole page again with one more empty row,
    or for htmx only that group's rows. None when no such button was pressed."""
    for rows in getattr(form, "ROW_LISTS", ()):
        if request.form.get(f"add_{rows}"):
            form[rows].append_entry()
            if wants_fragment():
                return render_template("manage/_rows.html", rows=form[rows], action=context["action"])
            return render_template(template, **context)
    return None


def _conflict(entity, org: Organization, form, conflict: publishing.EditConflict, action: str):
    """409: both versions side by side; nothing was saved. The editor can go
    back to the form with their values, now based on the saved version."""
    yours = form.to_values()
    theirs = conflict.current
    rows = [(field, yours.get(name), theirs.get(name))
            for name, field in publishing.FIELDS[conflict.entity_type].items() if name in yours]
    carried = [(key, value) for key, value in request.form.items(multi=True)
               if key not in CONTROL_FIELDS and not key.startswith("add_")]
    body = render_template(
        "manage/conflict.html", org=org, entity=entity, rows=rows, carried=carried, action=action,
        version=conflict.version, latest=publishing.latest_revision(db.session, entity),
    )
    return body, 409


def _edit(entity, org: Organization, form_class, template: str, action: str, **extra):
    """GET: the form with the saved values. POST: add a row, come back from
    the conflict page, or validate and save (publishing.apply_changes)."""
    if request.method == "GET":
        form = form_class(data=form_class.initial(publishing.current_values(entity), entity.version))
    else:
        form = form_class()
    context = dict(form=form, org=org, entity=entity, action=action, **extra)
    if request.method == "POST":
        response = _row_request(form, template, context)
        if response is not None:
            return response
        if request.form.get("back_to_form"):
            return render_template(template, restored=True, **context)
        if form.validate_on_submit():
            try:
                publishing.check_version(entity, form.version.data)
                revision = publishing.apply_changes(db.session, entity, form.to_values(), current_user)
                publishing.commit(db.session, entity)
            except publishing.EditConflict as conflict:
                db.session.rollback()
                return _conflict(entity, org, form, conflict, action)
            _saved(org, revision)
            return _to_organization(org)
    return render_template(template, **context)


# ------------------------------------------------------------ views


@bp.get("/")
@role_required(*EDITORS)
def dashboard():
    """The editor's start page: their centres, when each was last checked, open reports and waiting referrals."""
    return _dashboard_page()


# Free places are set from the dashboard for at most this many services (a
# centre's editor); beyond (an administrator sees every centre) from each
# organization's page.
DASHBOARD_CAPACITY_SERVICES = 40


def _dashboard_page(capacity_forms: dict | None = None):
    """`capacity_forms`: a free-places form sent back with its errors, by service id."""
    organizations = publishing.editable_organizations(db.session, current_user)
    services = [service for org in organizations if org.status == "published"
                for service in org.services if service.status == "active"]
    if len(services) > DASHBOARD_CAPACITY_SERVICES:
        services = []
    return render_template(
        "manage/dashboard.html",
        organizations=organizations,
        problems=publishing.open_problem_counts(db.session, [org.id for org in organizations]),
        waiting_referrals=referral_workflow.waiting_count(db.session, current_user),
        capacity_services=services,
        capacity_forms={**{service.id: CapacityForm.for_service(service) for service in services},
                        **(capacity_forms or {})},
    )


@bp.get("/org/<org_id>")
@role_required(*EDITORS)
def organization(org_id: str):
    """One organization for its editors: its details, open problem reports and the history of changes."""
    org = _organization(org_id)
    form = OrganizationForm(data=OrganizationForm.initial(publishing.current_values(org), org.version))
    return _organization_page(org, form)


def _organization_page(org: Organization, form: OrganizationForm, capacity_forms: dict | None = None):
    """`capacity_forms`: a form sent back with its errors, by service id; the
    other active services get theirs with what is saved."""
    revisions = publishing.history(db.session, org)
    names = {org.id: org.name}
    names.update({location.id: location.name or org.name for location in org.locations})
    names.update({service.id: service.name for service in org.services})
    reports = db.session.scalars(
        select(ProblemReport)
        .where(ProblemReport.organization_id == org.id, ProblemReport.status == "open")
        .order_by(ProblemReport.created_at.desc())
    ).all()
    return render_template(
        "manage/organization.html", org=org, form=form, revisions=revisions, names=names,
        action=url_for("manage.edit_organization", org_id=org.id),
        revertible=publishing.REVERTIBLE_ACTIONS, reports=reports,
        problem_kind_labels=PROBLEM_KIND_LABELS, resolve_form=ActionForm(),
        capacity_forms={**{service.id: CapacityForm.for_service(service)
                           for service in org.services if service.status == "active"}, **(capacity_forms or {})},
    )


@bp.post("/reports/<int:report_id>/resolve")
@role_required(*EDITORS)
def resolve_report(report_id: int):
    """The centre's editors, like the admins, close a resident's report."""
    report = db.session.get(ProblemReport, report_id)
    org = require_editor_of(report.organization if report is not None else None)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        administration.resolve_report(db.session, report, current_user)
    except administration.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("The report is marked resolved."), "info")
    return redirect(url_for("manage.organization", org_id=org.id) + "#reports")


@bp.route("/org/<org_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_organization(org_id: str):
    """Edit the organization's name, description, e-mail and website."""
    org = _organization(org_id)
    return _edit(org, org, OrganizationForm, "manage/organization_form.html",
                 url_for("manage.edit_organization", org_id=org.id))


@bp.post("/org/<org_id>/verify")
@role_required(*EDITORS)
def verify(org_id: str):
    """Mark the organization, its locations and services as checked today ("still correct")."""
    org = _organization(org_id)
    publishing.verify(db.session, org, current_user)
    db.session.commit()
    flash(_("Thank you. The listing is marked as checked today."), "info")
    return _to_organization(org)


@bp.route("/locations/<location_id>", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_location(location_id: str):
    """Edit one of the organization's locations: address, transport, accessibility."""
    location, org = _location(location_id)
    return _edit(location, org, LocationForm, "manage/location_form.html",
                 url_for("manage.edit_location", location_id=location.id))


@bp.route("/services/<service_id>", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_service(service_id: str):
    """Edit one of the organization's services: what it offers, to whom, hours, phones, fees."""
    service, org = _service(service_id)
    return _edit(service, org, ServiceForm, "manage/service_form.html",
                 url_for("manage.edit_service", service_id=service.id))


@bp.route("/org/<org_id>/services/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def new_service(org_id: str):
    """Add a service to the organization."""
    org = _organization(org_id)
    form = ServiceForm() if request.method == "POST" else ServiceForm(data={"status": "active"})
    template = "manage/service_form.html"
    context = dict(form=form, org=org, entity=None, action=url_for("manage.new_service", org_id=org.id))
    if request.method == "POST":
        response = _row_request(form, template, context)
        if response is not None:
            return response
        if form.validate_on_submit():
            service = publishing.create_service(db.session, org, form.to_values(), current_user)
            db.session.commit()
            _saved(org, publishing.latest_revision(db.session, service))
            return _to_organization(org)
    return render_template(template, **context)


@bp.post("/services/<service_id>/capacity")
@role_required(*EDITORS)
def service_capacity(service_id: str):
    """Free places now, in one click: how many and of what, or "No longer
    tracked". Without JavaScript: back to the organization page with a
    message. With htmx: only this service's block, errors too (with 200:
    htmx swaps 2xx answers only)."""
    service, org = _service(service_id)
    if service.status != "active":
        abort(404, "Only an active service states free places")
    # Where the form was (a fixed choice, never a URL taken from the request).
    from_dashboard = request.args.get("from") == "dashboard"
    form = CapacityForm.for_service(service, request.form)
    said = None
    if form.clear.data:  # its CSRF token was checked before the view (CSRFProtect)
        capacity.clear_capacity(db.session, service, current_user)
        db.session.commit()
        said = _("Not tracked: residents see nothing about free places.")
    elif form.validate_on_submit():
        saved = capacity.set_capacity(db.session, service, form.available.data, form.unit.data, user=current_user)
        db.session.commit()
        said = _("Saved: %(capacity)s.", capacity=capacity.free_text(saved))
    if wants_fragment():
        shown_form = CapacityForm.for_service(service) if said else form
        response = make_response(render_template(
            "manage/_capacity.html", service=service, capacity_form=shown_form, said=said,
            came_from="dashboard" if from_dashboard else None))
    elif said:
        flash(said, "info")
        back = url_for("manage.dashboard") if from_dashboard else url_for("manage.organization", org_id=org.id)
        response = redirect(back + f"#capacity-{service.id}")
    elif from_dashboard:
        response = make_response(_dashboard_page({service.id: form}), 400)
    else:
        org_form = OrganizationForm(formdata=None, data=OrganizationForm.initial(
            publishing.current_values(org), org.version))
        response = make_response(_organization_page(org, org_form, {service.id: form}), 400)
    response.vary.add("HX-Request")
    return response


@bp.post("/services/<service_id>/retire")
@role_required(*EDITORS)
def retire_service(service_id: str):
    """Retire a service: residents no longer find it; its editors can make it active again."""
    service, org = _service(service_id)
    if publishing.retire_service(db.session, service, current_user) is None:
        flash(_("Nothing was changed."), "info")
    else:
        db.session.commit()
        flash(_("The service is retired: residents no longer find it. You can make it active again."), "info")
    return _to_organization(org)


@bp.route("/propose", methods=["GET", "POST"])
@role_required(*EDITORS)
def propose_organization():
    """Propose a new organization; it is public only once an administrator approves it."""
    form = ProposeForm()
    if form.validate_on_submit():
        values = form.to_values()
        if not form.different_organization.data:
            place = duplicates.Place(duplicates.place_keys(values["location"].get("city"),
                                                           values["location"].get("municipality")))
            matches = duplicates.likely_duplicates(db.session, values.get("name"), [place])
            if matches:  # "Is it one of these?": saved only once the editor says it is not
                return render_template("manage/propose.html", form=form, duplicates=matches)
        org = publishing.propose_organization(db.session, values, current_user)
        db.session.commit()
        flash(_("Thank you. The organization is not public yet: an administrator will review it."), "info")
        return _to_organization(org)
    return render_template("manage/propose.html", form=form)


@bp.post("/revisions/<int:revision_id>/revert")
@role_required("admin")
def revert_revision(revision_id: int):
    """Undo one change from an organization's history (administrators only)."""
    revision = or_404(db.session.get(Revision, revision_id))
    org = db.session.get(Organization, revision.organization_id) if revision.organization_id else None
    try:
        publishing.revert(db.session, revision, current_user)
    except publishing.ChangedSince as changed:
        db.session.rollback()
        flash(_("This change cannot be undone: %(fields)s changed again since. Undo the later change first.",
                fields=", ".join(publishing.label_of(revision.entity_type, name) for name in changed.fields)), "error")
    except ValueError:
        db.session.rollback()
        flash(_("This change cannot be undone: it was undone already, or its record no longer exists."), "error")
    else:
        db.session.commit()
        flash(_("The change is undone: the earlier values are back."), "info")
    if org is None:
        return redirect(url_for("manage.dashboard"))
    return _to_organization(org)
