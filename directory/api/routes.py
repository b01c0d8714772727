"""/api/: a read-only Open Referral HSDS 3.1 API of the public listings, for
other directories and apps. No language prefix (HSDS text is the listings'
own), no session, CORS open for GET. Every error under /api/ is JSON."""

from __future__ import annotations

from flask import abort, jsonify, request, url_for
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..hsds import openapi as openapi_document, queries, records
from ..extensions import csrf, db
from ..web import or_404
from . import bp

CORS(bp, methods=["GET", "HEAD", "OPTIONS"])
# Nothing here changes state or reads a session: no CSRF token to ask for.
csrf.exempt(bp)

READ_METHODS = ["GET", "HEAD", "OPTIONS"]


@bp.get("/")
def index():
    """The API's front door: its version and links to every list and to the OpenAPI description."""
    links = {
        name: url_for(f"api.{name}", _external=True)
        for name in (
            "services", "service_at_locations", "organizations", "taxonomies", "taxonomy_terms", "openapi"
        )
    }
    return records.api_info(url_for("api.openapi", _external=True), links)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    return openapi_document.openapi_document()


@bp.get("/services")
def services():
    """Public services, a page at a time, filtered by the query string (?full=true nests details)."""
    paging = queries.parse_paging(request.args)
    full = queries.parse_boolean(request.args, "full")
    return queries.search_service_page(db.session, request.args, paging, nested=full)


@bp.get("/services/<service_id>")
def service(service_id: str):
    """One public service with everything HSDS nests under it."""
    found = or_404(queries.get_public_service(db.session, service_id), "No public service with this id")
    return records.service_dict(found)


@bp.get("/service_at_locations")
def service_at_locations():
    """Services at their locations, a page at a time, filtered by the query string."""
    paging = queries.parse_paging(request.args)
    full = queries.parse_boolean(request.args, "full")
    return queries.service_at_location_page(db.session, request.args, paging, nested=full)


@bp.get("/service_at_locations/<service_at_location_id>")
def service_at_location(service_at_location_id: str):
    """One service at one location, with the service and the location nested."""
    found = or_404(queries.get_public_service_at_location(db.session, service_at_location_id),
                   "No public service at location with this id")
    return records.service_at_location_dict(found, nested=True, with_service=True)


@bp.get("/organizations")
def organizations():
    """Published organizations, a page at a time (?search= narrows by name)."""
    paging = queries.parse_paging(request.args)
    return queries.organization_page(db.session, request.args.get("search", ""), paging)


@bp.get("/organizations/<organization_id>")
def organization(organization_id: str):
    """One published organization with its services and locations."""
    found = or_404(queries.get_public_organization(db.session, organization_id),
                   "No published organization with this id")
    return records.organization_dict(found, nested=True)


@bp.get("/taxonomies")
def taxonomies():
    """The vocabularies the services are classified by."""
    return queries.taxonomy_page(db.session, queries.parse_paging(request.args))


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str):
    """One vocabulary."""
    found = or_404(queries.get_taxonomy(db.session, taxonomy_id), "No taxonomy with this id")
    return records.taxonomy_dict(found)


@bp.get("/taxonomy_terms")
def taxonomy_terms():
    """Terms of the vocabularies, a page at a time (?taxonomy_id= narrows to one)."""
    paging = queries.parse_paging(request.args)
    return queries.taxonomy_term_page(db.session, request.args.get("taxonomy_id"), paging)


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id: str):
    """One term of a vocabulary."""
    found = or_404(queries.get_taxonomy_term(db.session, term_id), "No taxonomy term with this id")
    return records.taxonomy_term_dict(found)


@bp.route("/", defaults={"unknown": ""}, methods=["POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:unknown>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def unknown_url(unknown: str):
    """Unknown URLs and write methods under /api/ get a JSON error here:
    the site's error handler would answer with an HTML page."""
    if request.method not in READ_METHODS:
        raise MethodNotAllowed(valid_methods=READ_METHODS)
    abort(404, "No such API endpoint; see /api/openapi.json")


@bp.after_request
def read_only_allow_header(response):
    """Flask's automatic OPTIONS answer would list the write methods the
    catch-all above takes only to refuse them."""
    if request.method == "OPTIONS":
        response.headers["Allow"] = ", ".join(READ_METHODS)
    return response


@bp.errorhandler(queries.InvalidQuery)
def invalid_query(error: queries.InvalidQuery):
    return jsonify(error=str(error), **error.details), 400


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    response = jsonify(error=error.description)
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
