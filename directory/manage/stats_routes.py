"""/<lang>/manage/referrals/stats: monthly referral figures for centre
editors (their own centres) and admins (every centre), as a page with a
chart and tables, and as CSV. Registers on the manage blueprint
(directory/manage/__init__.py imports it)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request
from flask_babel import format_date
from flask_login import current_user

from .. import publishing, referral_stats
from ..extensions import db
from ..models import Organization
from ..permissions import require_editor_of, role_required
from . import EDITORS, bp

MONTH_CHOICES = (3, 6, 12, 24, 36)


def requested_months() -> int:
    """?months=1…36; anything else (missing, not a number, out of range) gives the default."""
    months = request.args.get("months", type=int)
    if months is None or not 1 <= months <= referral_stats.MAX_MONTHS:
        return referral_stats.DEFAULT_MONTHS
    return months


def requested_scope() -> tuple[list[Organization], Organization | None, list[str] | None]:
    """The user's organizations, the one ?org= narrows to (403 when the user
    may not edit it, 404 when unknown), and the ids to count (None: all)."""
    organizations = publishing.editable_organizations(db.session, current_user)
    org_id = request.args.get("org", "").strip()
    if org_id:
        chosen = require_editor_of(db.session.get(Organization, org_id))
        return organizations, chosen, [chosen.id]
    if current_user.role == "admin":
        return organizations, None, None
    return organizations, None, [org.id for org in organizations]


def counted(ids: list[str] | None, months: int) -> tuple[referral_stats.Stats, date]:
    """The figures, with months and today in the directory's time zone."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Riga")
    today = datetime.now(zone).date()
    return referral_stats.monthly_counts(db.session, ids, months, today, zone=zone), today


# Endpoint manage.referral_stats (the function is named apart from the module).
@bp.get("/referrals/stats", endpoint="referral_stats")
@role_required(*EDITORS)
def referral_stats_page():
    """Monthly referral figures: a chart and tables, for one centre or all the user's centres."""
    months = requested_months()
    organizations, chosen, ids = requested_scope()
    stats = counted(ids, months)[0]
    chart = referral_stats.bar_chart_svg(stats, referral_stats.chart_labels(stats)) if stats.total else None
    choices = sorted(set(MONTH_CHOICES) | {months})
    return render_template(
        "manage/referral_stats.html",
        stats=stats,
        chart=chart,
        months=months,
        month_choices=choices,
        organizations=organizations,
        chosen=chosen,
        status_labels=referral_stats.REFERRAL_STATUS_LABELS,
        month_name=lambda month: format_date(month, "LLLL yyyy"),
    )


@bp.get("/referrals/stats.csv")
@role_required(*EDITORS)
def referral_stats_csv():
    """The same monthly referral figures as a CSV file for a spreadsheet."""
    months = requested_months()
    ids = requested_scope()[2]
    stats, today = counted(ids, months)
    # UTF-8 with a byte-order mark, so that spreadsheet programs read ā, š, ū right.
    body = "\ufeff" + referral_stats.csv_text(stats)
    return Response(
        body.encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename=referrals-{today:%Y-%m}.csv",
        },
    )
