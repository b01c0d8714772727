"""Merging two organizations that are one (directory/merging.py): an admin
names both, sees what will move, confirms; a merge can be undone while
nothing changed since. Also the likely duplicates the review queue shows."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField

from .. import duplicates, merging
from ..extensions import db
from ..form_base import ActionForm
from ..models import Organization, OrganizationMerge
from ..permissions import role_required
from ..web import or_404, signed_in_user
from . import bp

# What a merge moves, by table, as an admin reads it.
MOVED_LABELS = {
    "service": _l("Services"),
    "location": _l("Locations"),
    "phone": _l("Phone numbers"),
    "contact": _l("Contacts"),
    "url": _l("Further web addresses"),
    "organization_identifier": _l("Registration numbers"),
    "organization_editor": _l("Editors"),
    "revision": _l("Revisions in the history"),
    "referral": _l("Referrals"),
    "problem_report": _l("Problem reports"),
    "listing_claim": _l("Requests to keep the listing"),
    "review_reminder": _l("Review reminders"),
    "organization": _l("Organizations it operates"),
    "organization_merge": _l("Earlier merges into it"),
}


class MergeForm(ActionForm):
    """The confirmation: the two organizations, by id, and the CSRF token."""

    keep = HiddenField()
    merge = HiddenField()


@bp.context_processor
def duplicate_context() -> dict:
    return {"duplicates_of": _duplicates_of, "moved_labels": MOVED_LABELS}


def _duplicates_of(organization: Organization) -> list[duplicates.Match]:
    """Likely duplicates of one organization; the directory indexed once per page."""
    if "duplicate_index" not in g:
        g.duplicate_index = duplicates.index_directory(db.session)
    return duplicates.duplicates_of_organization(g.duplicate_index, organization)


@bp.get("/merge")
@role_required("admin")
def merge_form():
    """Name the organization to keep and the one to merge into it (id or
    address), and see what would move; a plain GET form."""
    keep, merge = request.args.get("keep", "").strip(), request.args.get("merge", "").strip()
    preview, error = None, None
    if keep or merge:
        kept, merged = merging.find_organization(db.session, keep), merging.find_organization(db.session, merge)
        missing = [key for key, org in ((keep, kept), (merge, merged)) if org is None]
        if missing:
            error = _("No organization has this id or address: %(keys)s.", keys=", ".join(k or "—" for k in missing))
        else:
            try:
                preview = merging.preview(db.session, kept, merged)
            except merging.Refused as refused:
                error = str(refused)
    form = MergeForm(keep=preview.kept.id if preview else "", merge=preview.merged.id if preview else "")
    return render_template("admin/merge.html", keep=keep, merge=merge, preview=preview, error=error, form=form,
                           merges=merging.recent_merges(db.session)), 400 if error else 200


@bp.post("/merge")
@role_required("admin")
def merge_organizations():
    """Merge: everything of one organization moves to the other, which stays."""
    form = MergeForm()
    if not form.validate_on_submit():
        abort(400)
    kept = or_404(db.session.get(Organization, form.keep.data or ""), "No organization with this id")
    merged = or_404(db.session.get(Organization, form.merge.data or ""), "No organization with this id")
    names = {"merged": merged.name, "kept": kept.name}
    try:
        record = merging.merge(db.session, kept, merged, signed_in_user())
    except merging.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return redirect(url_for("admin.merge_form", keep=form.keep.data, merge=form.merge.data))
    db.session.commit()
    flash(_("Merged: everything of %(merged)s is now part of %(kept)s, and its address leads there.", **names),
          "info")
    return redirect(url_for("admin.merge_record", merge_id=record.id))


@bp.get("/merges/<int:merge_id>")
@role_required("admin")
def merge_record(merge_id: int):
    """One merge: what moved, and undo while it still can be."""
    record = or_404(db.session.get(OrganizationMerge, merge_id), "No merge with this number")
    return render_template("admin/merge_record.html", record=record, counts=merging.moved_counts(record),
                           why_not=merging.why_not_undo(db.session, record), form=MergeForm())


@bp.post("/merges/<int:merge_id>/undo")
@role_required("admin")
def undo_merge(merge_id: int):
    """Undo a merge: the merged organization comes back with exactly what moved."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    record = or_404(db.session.get(OrganizationMerge, merge_id), "No merge with this number")
    try:
        merging.undo(db.session, record, signed_in_user())
    except merging.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("Undone: %(name)s is back, with everything the merge had moved.", name=record.merged_name), "info")
    return redirect(url_for("admin.merge_record", merge_id=merge_id))
