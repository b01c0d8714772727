"""/api/: a read-only Open Referral HSDS 3.1 API of the public listings, for
other directories and apps. No language prefix (HSDS text is the listings'
own), no session, CORS open for GET. Every error under /api/ is JSON."""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, redirect, request, stream_with_context, url_for
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..hsds import openapi as openapi_document, parameters, queries, records
from ..hsds.paging import ndjson_lines
from .. import merging
from ..extensions import csrf, db
from ..web import or_404
from . import bp

CORS(bp, methods=["GET", "HEAD", "OPTIONS"])
# Nothing here changes state or reads a session: no CSRF token to ask for.
csrf.exempt(bp)

READ_METHODS = ["GET", "HEAD", "OPTIONS"]


@bp.before_request
def only_known_parameters():
    """A parameter the endpoint does not take is a 400 naming it, never ignored."""
    if request.method != "OPTIONS" and request.endpoint not in (None, "api.unknown_url"):
        parameters.check_names(request.args, request.endpoint.removeprefix("api."))


def publisher() -> dict:
    """Who runs this directory, from the settings."""
    config = current_app.config
    found = {"name": config["PUBLISHER_NAME"], "url": config["PUBLIC_BASE_URL"],
             "email": config.get("PUBLISHER_EMAIL")}
    return {key: value for key, value in found.items() if value}


def answer(results, query: parameters.ListQuery):
    """An HSDS page, or with format=ndjson every result streamed, read a chunk at a time.
    What can fail (a 400) is decided before the stream starts; the stream
    reads with a session of its own (Flask ends the view's before it runs),
    so nothing it needs (no open cursor) is carried over from the view."""
    if query.stream:
        return Response(stream_with_context(ndjson_lines(results.stream())), mimetype="application/x-ndjson")
    return results.page(query.paging)


@bp.get("/")
def index():
    """The API's front door: HSDS version and profile, its publisher, links to every list and to the OpenAPI description."""
    links = {
        name: url_for(f"api.{name}", _external=True)
        for name in (
            "services", "service_at_locations", "organizations", "taxonomies", "taxonomy_terms", "openapi"
        )
    }
    return records.api_info(url_for("api.openapi", _external=True), links, publisher())


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    found = publisher()
    return openapi_document.openapi_document(found["name"], found.get("url", ""), found.get("email", ""))


@bp.get("/services")
def services():
    """Public services, as pages or a stream, filtered by the query string."""
    query = parameters.read_query(request.args)
    return answer(queries.service_results(db.session, query), query)


@bp.get("/services/<service_id>")
def service(service_id: str):
    """One public service with everything HSDS nests under it."""
    found = or_404(queries.get_public_service(db.session, service_id), "No public service with this id")
    return records.service_dict(found)


@bp.get("/service_at_locations")
def service_at_locations():
    """Services at their locations, as pages or a stream, filtered by the query string."""
    query = parameters.read_query(request.args)
    return answer(queries.service_at_location_results(db.session, query), query)


@bp.get("/service_at_locations/<service_at_location_id>")
def service_at_location(service_at_location_id: str):
    """One service at one location, with the service and the location nested."""
    found = or_404(queries.get_public_service_at_location(db.session, service_at_location_id),
                   "No public service at location with this id")
    return records.service_at_location_dict(found, nested=True, with_service=True)


@bp.get("/organizations")
def organizations():
    """Published organizations, as pages or a stream, filtered by the query string."""
    query = parameters.read_query(request.args)
    return answer(queries.organization_results(db.session, query), query)


@bp.get("/organizations/<organization_id>")
def organization(organization_id: str):
    """One published organization with its locations and services (?full_service=true: fully nested)."""
    full_service = parameters.read_boolean(request.args, "full_service")
    found = queries.get_public_organization(db.session, organization_id, full_service)
    if found is None and (kept := merging.kept_for_id(db.session, organization_id)) is not None:
        return redirect(url_for("api.organization", organization_id=kept.id, **request.args), 301)  # merged
    found = or_404(found, "No published organization with this id")
    return queries.organization_record(found, nested=True, full_service=full_service)


@bp.get("/taxonomies")
def taxonomies():
    """The vocabularies the services are classified by."""
    query = parameters.read_query(request.args)
    return answer(queries.taxonomy_results(db.session, query), query)


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str):
    """One vocabulary."""
    found = or_404(queries.get_taxonomy(db.session, taxonomy_id), "No taxonomy with this id")
    return records.taxonomy_dict(found)


@bp.get("/taxonomy_terms")
def taxonomy_terms():
    """Terms of the vocabularies, as pages or a stream, filtered by the query string."""
    query = parameters.read_query(request.args)
    return answer(queries.taxonomy_term_results(db.session, query), query)


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


@bp.errorhandler(parameters.InvalidQuery)
def invalid_query(error: parameters.InvalidQuery):
    return jsonify(error=str(error), **error.details), 400


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    response = jsonify(error=error.description)
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
