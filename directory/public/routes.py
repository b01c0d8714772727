"""Public pages. Every URL but `/` carries the language: /<lang>/…"""

from __future__ import annotations

from datetime import date, datetime, timezone

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_blocks

from .. import claims, confidential, i18n, listings, merging, reports, search, unmet_need
from ..extensions import db, limiter
from ..web import or_404, wants_fragment
from . import bp, presenters, root, shortcuts
from .forms import ProblemReportForm


@root.get("/")
def language_root():
    """The bare address `/`: to the home page in the visitor's best language."""
    return redirect(url_for("public.home", lang_code=i18n.negotiated_language()))


@bp.get("/")
def home():
    """The search page. Without JavaScript the form reloads this page; with
    htmx the same URL answers with the filters and results blocks alone."""
    filters = search.parse_filters(request.args)
    if not wants_fragment() and any(value == "" for value in request.args.values()):
        # A submitted form sends its empty fields too: answer with the short
        # address of the same search, which is the one worth sharing.
        return redirect(url_for("public.home", **filters.to_args()))
    now = datetime.now(timezone.utc)
    origin, suggestions = search.resolve_origin(filters)
    result = search.search_services(db.session, filters, locale=g.lang, now=now, origin=origin)
    places, statuses = presenters.result_details(result, now)
    chips = presenters.search_chips(result)
    context = dict(
        result=result,
        filters=result.filters,
        chips=chips,
        folded_filter_count=presenters.folded_filter_count(chips),
        # Before any search the facets count every service: a shortcut is
        # offered only for a need some service meets.
        shortcuts=[] if result.filters.active else shortcuts.shown_shortcuts(result.facets),
        places=places,
        statuses=statuses,
        near_suggestions=suggestions,
        radii=search.SearchFilters.RADII,
        area_choices=search.area_choices(),
        page_size=search.PAGE_SIZE,
        max_query_length=search.MAX_QUERY_LENGTH,
    )
    if wants_fragment():
        body = render_blocks(
            "public/home.html",
            ["lead", "shortcuts", "filter_summary", "distance", "area_and_age", "filters", "results"],
            fragment=True, **context,
        )
    else:
        body = render_template("public/home.html", fragment=False, **context)
    response = make_response(body)
    response.vary.add("HX-Request")
    unmet_need.count_after_response(response, db.engine, result, request)
    return response


@bp.get("/map")
def results_map():
    """The current search on a map (Leaflet is loaded on this page only),
    with the same results as a list for those without the map."""
    filters = search.parse_filters(request.args)
    origin, suggestions = search.resolve_origin(filters)
    result = search.search_services(
        db.session, filters, locale=g.lang, origin=origin, page_size=search.MAP_LIMIT, with_facets=False
    )
    return render_template(
        "public/map.html",
        result=result,
        filters=result.filters,
        places=presenters.result_details(result, datetime.now(timezone.utc))[0],
        markers=presenters.map_markers(result),
        map_limit=search.MAP_LIMIT,
    )


@bp.get("/centres/")
def centres():
    """Every centre, by country and name: the directory at a glance."""
    return render_template("public/centres.html", centres=listings.list_centres(db.session))


@bp.get("/centres/<slug>")
def centre(slug: str):
    """The centre's public page: services, hours, contacts, and a form to report a problem."""
    org = listings.get_centre(db.session, slug)
    if org is None and (kept := merging.kept_for_slug(db.session, slug)) is not None:
        return redirect(url_for("public.centre", slug=kept.slug), 301)  # merged into another centre
    return render_centre(or_404(org, "No centre with this address"), ProblemReportForm())


@bp.post("/centres/<slug>/report")
@limiter.limit(lambda: current_app.config["REPORT_RATE_LIMIT"])
def report_problem(slug: str):
    """A resident says a listing is wrong; no account needed."""
    org = published_centre(slug)
    form = ProblemReportForm()
    if not form.validate_on_submit():
        return render_centre(org, form), 400
    reports.file_report(db.session, org, form.kind.data, form.comment.data)
    db.session.commit()
    flash(_("Thank you. The centre and the directory's administrators will check it."), "info")
    return redirect(url_for("public.centre", slug=slug) + "#report")


def published_centre(slug: str):
    """The published centre at this address; 404 for any other."""
    return or_404(listings.get_centre(db.session, slug), "No centre with this address")


def render_centre(org, report_form: ProblemReportForm):
    reveal = confidential.may_see_address(current_user, org)
    body = render_template(
        "public/centre.html",
        org=org,
        locations=[confidential.shown_location(location, reveal) for location in org.locations],
        services=[s for s in org.services if s.status == "active"],
        phones=listings.centre_phones(org),
        hours=listings.shown_hours(listings.centre_schedules(org)),
        verification=listings.verification_state(
            org.last_verified, date.today(), current_app.config["STALE_AFTER_DAYS"]
        ),
        report_form=report_form,
        kept_by_centre=claims.is_kept_by_centre(db.session, org),
    )
    response = make_response(body)
    if reveal and any(location.confidential for location in org.locations):
        # A page with a confidential address is kept by no cache, not even the browser's.
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/sources/<file_name>")
def source_document(file_name: str):
    """A source document the listings were taken from: its title, publisher and full text."""
    document = or_404(listings.get_source_document(db.session, file_name), "No source document with this name")
    return render_template("public/source.html", document=document)
