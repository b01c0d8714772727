"""Residents' problem reports: stored, and sent to the centre's editors and
the administrators through the e-mail outbox."""

from __future__ import annotations

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import audit
from .mail import public_url, queue_email
from .models import Organization, ProblemReport, User, organization_editor

# What staff pages call a report's kind and status.
PROBLEM_KIND_LABELS = {
    "address": _l("Wrong address"),
    "closed": _l("The centre has closed"),
    "hours": _l("Wrong opening hours"),
    "other": _l("Something else"),
}
REPORT_STATUS_LABELS = {
    "open": _l("Open"),
    "resolved": _l("Resolved"),
}


def file_report(session: Session, organization: Organization, kind: str, comment: str) -> ProblemReport:
    report = ProblemReport(organization=organization, kind=kind, comment=(comment or "").strip())
    session.add(report)
    session.flush()
    recipients = session.scalars(
        select(User)
        .outerjoin(organization_editor, organization_editor.c.user_id == User.id)
        .where(
            User.status == "active",
            or_(User.role == "admin", organization_editor.c.organization_id == organization.id),
        )
        .distinct()
    )
    for user in recipients:
        with force_locale(user.language):
            queue_email(
                session,
                user.email,
                _("Problem reported: %(centre)s", centre=organization.name),
                _("A resident reports a problem with the listing of %(centre)s (%(kind)s):\n\n%(comment)s\n\n%(url)s",
                  centre=organization.name, kind=kind, comment=report.comment or "—",
                  url=public_url("public.centre", lang_code=user.language, slug=organization.slug)),
            )
    audit.record(session, "problem-report", None, "organization", organization.id, kind=kind)
    return report
