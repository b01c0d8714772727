"""/<lang>/admin/unmet-need: what residents searched for and did not find,
beside the referrals declined for lack of places, per month and
municipality; and the same as CSV. The figures: directory/unmet_need.py."""

from __future__ import annotations

from datetime import datetime

from flask import Response, render_template, request
from flask_babel import format_date

from .. import municipalities, unmet_need
from ..extensions import db
from ..permissions import role_required
from ..referral_stats import RIGA
from . import bp


def requested_months() -> tuple[list[str], str]:
    """?month=YYYY-MM, one month; without it (or with a malformed one) this
    month and the previous. Returns the months and the chosen one ("")."""
    chosen = request.args.get("month", "").strip()
    if unmet_need.is_month(chosen):
        return [chosen], chosen
    return unmet_need.default_months(datetime.now(RIGA).date()), ""


def month_name(month: str) -> str:
    return format_date(datetime.strptime(month, "%Y-%m").date(), "LLLL yyyy")


def municipality_name(code: str) -> str:
    found = municipalities.get(code)
    return found.label if found else code


@bp.get("/unmet-need")
@role_required("admin")
def unmet_need_page():
    """The top unmet searches of the chosen months, the rarer ones counted together."""
    months, chosen = requested_months()
    return render_template(
        "admin/unmet_need.html",
        reports=unmet_need.report(db.session, months),
        chosen=chosen,
        month_choices=unmet_need.month_choices(db.session, datetime.now(RIGA).date()),
        month_name=month_name,
        municipality_name=municipality_name,
        threshold=unmet_need.K_ANONYMITY,
        unmet_below=unmet_need.UNMET_BELOW,
    )


@bp.get("/unmet-need.csv")
@role_required("admin")
def unmet_need_csv():
    """The same figures as the page, for a spreadsheet."""
    months, _chosen = requested_months()
    # UTF-8 with a byte-order mark, so that spreadsheet programs read ā, š, ū right.
    body = "\ufeff" + unmet_need.csv_text(unmet_need.report(db.session, months))
    return Response(
        body.encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename=unmet-need-{months[-1]}.csv",
        },
    )
