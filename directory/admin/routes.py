"""/<lang>/admin/: the administrators' pages. Thin views: the queries and the
changes are in directory/administration.py; every POST goes through a
Flask-WTF form (CSRF), is written to the audit log there and ends with a
translated message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from .. import administration, i18n
from ..form_base import ActionForm
from ..reports import PROBLEM_KIND_LABELS, REPORT_STATUS_LABELS
from ..extensions import db
from ..mail import public_url
from ..permissions import role_required
from ..web import or_404, safe_next, signed_in_user
from . import bp, forms
from .forms import AuditFilterForm, LinkOrganizationForm, NewTermForm, RoleForm, TermForm


@bp.context_processor
def admin_context() -> dict:
    return {
        "role_labels": forms.ROLE_LABELS,
        "status_labels": forms.STATUS_LABELS,
        "organization_status_labels": forms.ORGANIZATION_STATUS_LABELS,
        "problem_kind_labels": PROBLEM_KIND_LABELS,
        "report_status_labels": REPORT_STATUS_LABELS,
        "vocabulary_labels": forms.VOCABULARY_LABELS,
        "format_datetime": format_datetime,
        "iso_datetime": _iso_datetime,
        "organization_place": administration.organization_place,
    }


def _iso_datetime(value: datetime) -> str:
    """For <time datetime>: stored times are UTC (SQLite returns them naive)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat(timespec="seconds")


def _act(change: Callable[[], object], success: str, default_url: str):
    """Run one change from a button: commit and say so, or roll back and say
    why not; then back to the page the button was on."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change()
    except administration.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(success, "info")
    return redirect(safe_next(form.next.data) or default_url)


# ---------------------------------------------------------------- index


@bp.get("/")
@role_required("admin")
def index():
    """The administrators' start page: what waits for them, and a link to every admin page."""
    return render_template("admin/index.html", counts=administration.counts(db.session))


# ---------------------------------------------------------------- accounts


@bp.get("/accounts")
@role_required("admin")
def accounts():
    """Every account by state: sign-up requests to approve, active and disabled accounts."""
    return render_template("admin/accounts.html", lists=administration.list_accounts(db.session))


def _render_account(user, role_form=None, link_form=None, status=200):
    if role_form is None:
        role_form = RoleForm(formdata=None, data={"role": user.role})
    linkable = administration.linkable_organizations(db.session, user) if user.role == "editor" else []
    if link_form is None:
        link_form = LinkOrganizationForm(formdata=None)
    link_form.organization.choices = _organization_choices(linkable)
    return render_template(
        "admin/account.html", user=user, role_form=role_form, link_form=link_form, linkable=linkable
    ), status


def _organization_choices(organizations) -> list[SelectChoice]:
    choices = []
    for org in organizations:
        place = administration.organization_place(org)
        label = f"{org.name} ({place})" if place else org.name
        if org.status == "pending":
            label = f"{label} · {forms.ORGANIZATION_STATUS_LABELS['pending']}"
        choices.append(SelectChoice(org.id, label, render_kw={"lang": org.text_language}))
    return choices


@bp.get("/accounts/<int:user_id>")
@role_required("admin")
def account(user_id: int):
    """One account: its role, the organizations a centre editor edits, and the buttons to change them."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    return _render_account(user)


@bp.post("/accounts/<int:user_id>/approve")
@role_required("admin")
def approve_account(user_id: int):
    """Approve a sign-up request; an e-mail tells its owner they can sign in."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    name = user.name
    return _act(
        lambda: administration.approve_account(
            db.session, user, signed_in_user(),
            sign_in_url=lambda lang: public_url("auth.login", lang_code=lang),
        ),
        _("Account approved: %(name)s. An e-mail tells them they can sign in.", name=name),
        url_for("admin.accounts"),
    )


@bp.post("/accounts/<int:user_id>/refuse")
@role_required("admin")
def refuse_account(user_id: int):
    """Refuse a sign-up request: the request is deleted."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    name = user.name
    return _act(
        lambda: administration.refuse_account(db.session, user, signed_in_user()),
        _("Request refused and deleted: %(name)s.", name=name),
        url_for("admin.accounts"),
    )


@bp.post("/accounts/<int:user_id>/disable")
@role_required("admin")
def disable_account(user_id: int):
    """Disable an account: its owner can no longer sign in."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    return _act(
        lambda: administration.disable_account(db.session, user, signed_in_user()),
        _("Account disabled: %(name)s can no longer sign in.", name=user.name),
        url_for("admin.accounts"),
    )


@bp.post("/accounts/<int:user_id>/enable")
@role_required("admin")
def enable_account(user_id: int):
    """Enable a disabled account again."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    return _act(
        lambda: administration.enable_account(db.session, user, signed_in_user()),
        _("Account enabled: %(name)s can sign in again.", name=user.name),
        url_for("admin.accounts"),
    )


@bp.post("/accounts/<int:user_id>/role")
@role_required("admin")
def change_role(user_id: int):
    """Give an account another role (administrator, centre editor, social worker)."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    form = RoleForm()
    if not form.validate():
        return _render_account(user, role_form=form, status=400 if form.csrf_token.errors else 200)
    try:
        changed = administration.change_role(db.session, user, signed_in_user(), form.role.data)
    except administration.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        if changed:
            flash(_("Role changed: %(name)s is now %(role)s.", name=user.name,
                    role=forms.ROLE_LABELS[user.role]), "info")
        else:
            flash(_("Nothing changed."), "info")
    return redirect(url_for("admin.account", user_id=user.id))


@bp.post("/accounts/<int:user_id>/organizations")
@role_required("admin")
def link_organization(user_id: int):
    """Let a centre editor edit one more organization."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    if user.role != "editor":
        flash(_("Only centre editors can be linked to organizations."), "error")
        return redirect(url_for("admin.account", user_id=user.id))
    form = LinkOrganizationForm()
    form.organization.choices = _organization_choices(administration.linkable_organizations(db.session, user))
    if not form.validate():
        return _render_account(user, link_form=form, status=400 if form.csrf_token.errors else 200)
    organization = or_404(administration.get_organization(db.session, form.organization.data),
                          "No organization with this id")
    try:
        administration.link_organization(db.session, user, signed_in_user(), organization)
    except administration.Refused as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("%(name)s now edits %(organization)s.", name=user.name, organization=organization.name), "info")
    return redirect(url_for("admin.account", user_id=user.id))


@bp.post("/accounts/<int:user_id>/organizations/<organization_id>/remove")
@role_required("admin")
def unlink_organization(user_id: int, organization_id: str):
    """Stop a centre editor editing an organization."""
    user = or_404(administration.get_user(db.session, user_id), "No account with this id")
    organization = or_404(administration.get_organization(db.session, organization_id),
                          "No organization with this id")
    return _act(
        lambda: administration.unlink_organization(db.session, user, signed_in_user(), organization),
        _("%(name)s no longer edits %(organization)s.", name=user.name, organization=organization.name),
        url_for("admin.account", user_id=user.id),
    )


# ---------------------------------------------------------------- review queue


@bp.get("/review")
@role_required("admin")
def review():
    """Organizations proposed by centre editors that wait for review before they are public."""
    organizations = administration.pending_organizations(db.session)
    editors = {org.id: administration.editors_of(db.session, org) for org in organizations}
    return render_template("admin/review.html", organizations=organizations, editors=editors)


@bp.post("/review/<organization_id>/approve")
@role_required("admin")
def approve_organization(organization_id: str):
    """Publish a proposed organization: residents find it in the search from now on."""
    organization = or_404(administration.get_organization(db.session, organization_id),
                          "No organization with this id")
    slug, name = organization.slug, organization.name
    return _act(
        lambda: administration.approve_organization(
            db.session, organization, signed_in_user(),
            centre_url=lambda lang: public_url("public.centre", lang_code=lang, slug=slug),
        ),
        _("Published: %(name)s. Residents find it in the search now.", name=name),
        url_for("admin.review"),
    )


@bp.post("/review/<organization_id>/reject")
@role_required("admin")
def reject_organization(organization_id: str):
    """Reject a proposed organization: it is deleted."""
    organization = or_404(administration.get_organization(db.session, organization_id),
                          "No organization with this id")
    name = organization.name
    return _act(
        lambda: administration.reject_organization(db.session, organization, signed_in_user()),
        _("Rejected and deleted: %(name)s.", name=name),
        url_for("admin.review"),
    )


# ---------------------------------------------------------------- taxonomy


@bp.get("/taxonomy")
@role_required("admin")
def taxonomy():
    """The vocabularies (types of service, target groups) and their terms in every language."""
    return render_template("admin/taxonomy.html", vocabularies=administration.vocabularies(db.session))


@bp.route("/taxonomy/terms/<term_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_term(term_id: str):
    """Change a term's names and synonyms in the four languages and its Lithuanian catalogue code."""
    term = or_404(administration.get_term(db.session, term_id), "No term with this id")
    labels = administration.term_labels(term)
    synonyms = administration.term_synonyms(term)
    form = TermForm(data={**{f"label_{locale}": name for locale, name in labels.items()},
                          **{f"synonyms_{locale}": words for locale, words in synonyms.items()},
                          "lt_catalogue_code": term.lt_catalogue_code or ""})
    if form.validate_on_submit():
        try:
            changed = administration.update_term(
                db.session, term, signed_in_user(), labels=form.labels(), lt_catalogue_code=form.lt_catalogue_code.data,
                synonyms=form.synonyms(),
            )
        except administration.Refused as refused:
            db.session.rollback()
            flash(str(refused), "error")
        else:
            db.session.commit()
            if changed:
                flash(_("Saved: %(name)s.", name=term.label(i18n.select_locale())), "info")
            else:
                flash(_("Nothing changed."), "info")
            return redirect(url_for("admin.taxonomy", _anchor=f"term-{term.id}"))
    return render_template("admin/term_form.html", form=form, term=term, taxonomy=term.taxonomy)


@bp.route("/taxonomy/<taxonomy_code>/new", methods=["GET", "POST"])
@role_required("admin")
def new_term(taxonomy_code: str):
    """Add a term to a vocabulary."""
    taxonomy = or_404(administration.get_taxonomy(db.session, taxonomy_code), "No vocabulary with this id")
    form = NewTermForm()
    if form.validate_on_submit():
        if administration.term_code_taken(db.session, taxonomy, form.code.data):
            form.code.errors.append(_("A term with this code already exists in this vocabulary."))
        else:
            try:
                term = administration.add_term(
                    db.session, taxonomy, signed_in_user(), code=form.code.data, labels=form.labels(),
                    lt_catalogue_code=form.lt_catalogue_code.data, synonyms=form.synonyms(),
                )
            except administration.Refused as refused:
                db.session.rollback()
                flash(str(refused), "error")
            else:
                db.session.commit()
                flash(_("Added: %(name)s.", name=term.label(i18n.select_locale())), "info")
                return redirect(url_for("admin.taxonomy", _anchor=f"term-{term.id}"))
    return render_template("admin/term_form.html", form=form, term=None, taxonomy=taxonomy)


# ---------------------------------------------------------------- audit log


@bp.get("/audit")
@role_required("admin")
def audit_log():
    """The audit log: who did what and when, filtered by action, a page at a time."""
    actions = administration.audit_actions(db.session)
    action = request.args.get("action", "")
    if action not in actions:
        action = ""
    form = AuditFilterForm(formdata=None, data={"action": action})
    form.action.choices = [SelectChoice("", _("All actions"))] + [SelectChoice(a, a) for a in actions]
    result = administration.audit_page(db.session, administration.parse_page(request.args.get("page")), action)
    return render_template(
        "admin/audit.html", form=form, result=result, detail_text=administration.detail_text
    )


# ---------------------------------------------------------------- problem reports


@bp.get("/reports")
@role_required("admin")
def reports():
    """Problems residents reported about listings, open and resolved."""
    return render_template("admin/reports.html", reports=administration.problem_reports(db.session))


@bp.post("/reports/<int:report_id>/resolve")
@role_required("admin")
def resolve_report(report_id: int):
    """Mark a resident's problem report resolved."""
    report = or_404(administration.get_report(db.session, report_id), "No report with this id")
    return _act(
        lambda: administration.resolve_report(db.session, report, signed_in_user()),
        _("Report marked resolved."),
        url_for("admin.reports"),
    )

