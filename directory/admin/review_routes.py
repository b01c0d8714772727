"""/<lang>/admin/review-ages: the published centres by how long ago they
were last reviewed, oldest first, with counts per municipality, and the
same list as CSV (directory/review_ages.py)."""

from __future__ import annotations

from flask import (
    Response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from .. import administration, publishing, review_ages
from ..extensions import db
from ..mail import public_url
from ..permissions import role_required
from . import bp


@bp.get("/review-ages")
@role_required("admin")
def review_age_list():
    """A page of the list, and the counts per municipality and age band."""
    if request.args.get("format") == "csv":
        return redirect(url_for("admin.review_ages_csv"))
    result = review_ages.review_ages_page(
        db.session, publishing.local_today(), administration.parse_page(request.args.get("page")),
        review_ages.PAGE_SIZE,
    )
    return render_template("admin/review_ages.html", result=result, bands=review_ages.BANDS,
                           band_labels=review_ages.BAND_LABELS)


@bp.get("/review-ages.csv")
@role_required("admin")
def review_ages_csv():
    """The whole list as CSV, streamed a batch of centres at a time. A BOM
    first: spreadsheets then read the names' diacritics as UTF-8."""
    centres = review_ages.all_review_ages(db.session, publishing.local_today())
    lines = review_ages.csv_lines(centres, lambda slug: public_url("public.centre", slug=slug))
    body = stream_with_context(_with_bom(lines))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="review-ages.csv"',
    })


def _with_bom(lines):
    yield "\ufeff"
    yield from lines
