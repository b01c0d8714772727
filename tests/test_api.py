"""The HSDS 3.1 JSON API under /api/: every answer checked against Open
Referral's own schemas (directory/hsds/schema), search and filters equal to
the website's, paging, errors as JSON, CORS, and schemathesis against the
API's OpenAPI document."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import date, time
from pathlib import Path

import pytest
import schemathesis
from geopy.distance import geodesic
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import event, select

from conftest import make_app, soup
from directory.extensions import db
from directory.hsds.queries import MAX_PER_PAGE
from directory.models import (
    Accessibility,
    Address,
    Contact,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.textnorm import sort_key

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "directory" / "hsds" / "schema"
# Where Open Referral publishes these files; the relative $refs resolve against it.
BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"


# ------------------------------------------------------- schema validation


@pytest.fixture(scope="module")
def hsds():
    """validate(instance, "service.json") against the official HSDS 3.1
    schemas, formats (uuid, email, date) checked too."""
    resources = []
    for path in [*SCHEMA_DIR.glob("*.json"), *SCHEMA_DIR.glob("compiled/*.json")]:
        contents = json.loads(path.read_text(encoding="utf-8"))
        name = path.relative_to(SCHEMA_DIR).as_posix()
        resources.append((BASE + name, Resource.from_contents(contents, default_specification=DRAFT202012)))
    registry = Registry().with_resources(resources)

    def validate(instance, name: str):
        validator = Draft202012Validator(
            {"$ref": BASE + name}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
        return instance

    return validate


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json", url
    return response.get_json()


def get_page(client, url, hsds, item_schema):
    page = get_json(client, url)
    hsds(page, "openapi.json#/components/schemas/Page")
    assert set(page) == {
        "total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"
    }
    assert page["size"] == len(page["contents"])
    assert page["empty"] == (not page["contents"])
    for item in page["contents"]:
        hsds(item, item_schema)
    return page


def names(page) -> list[str]:
    return [item["name"] for item in page["contents"]]


def public_service_ids(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Service.id)
                .join(Organization)
                .where(Service.status == "active", Organization.status == "published")
            )
        )


def public_service_at_location_ids(app) -> set[str]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(ServiceAtLocation.id)
                .join(Service)
                .join(Organization)
                .where(Service.status == "active", Organization.status == "published")
            )
        )


def service_order(page) -> list[str]:
    """The service ids of a page of service_at_locations, each once, in order."""
    return list(dict.fromkeys(item["service_id"] for item in page["contents"]))


@contextmanager
def counted_queries(app):
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def website_names(client, query: str) -> list[str]:
    page = soup(client.get(f"/lv/?{query}"))
    return [a.get_text(strip=True) for a in page.select(".result h3 a")]


# ---------------------------------------------------------------- /api/


def test_api_root_gives_versions_profile_publisher_and_links(client, hsds):
    info = get_json(client, "/api/")
    # The official document's answer to /: version, profile, openapi_url.
    hsds(info, "openapi.json#/paths/~1/get/responses/200/content/application~1json/schema")
    assert info["version"] == "3.1"
    # No profile of another body: the base specification's schema directory.
    assert info["profile"] == "https://github.com/openreferral/specification/tree/3.1/schema"
    assert info["api_version"]
    assert info["openapi_url"] == "http://localhost/api/openapi.json"
    assert info["publisher"] == {
        "name": "Social services directory of the Latvia–Lithuania border region",
        "url": "http://127.0.0.1:5000",
    }
    for name in ("services", "service_at_locations", "organizations", "taxonomies", "taxonomy_terms"):
        assert client.get(info["links"][name]).status_code == 200


def test_openapi_document_describes_exactly_the_api_routes(seeded_app, client):
    document = get_json(client, "/api/openapi.json")
    assert document["openapi"].startswith("3.1")
    documented = {"/api" + path.replace("{id}", "<id>") for path in document["paths"]}
    routed = {
        re.sub(r"<[a-z_]+>", "<id>", rule.rule)
        for rule in seeded_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.unknown_url"
    }
    assert documented == routed
    for path in ("/taxonomies/{id}", "/taxonomy_terms/{id}", "/service_at_locations/{id}"):
        assert path in document["paths"] and path.removesuffix("/{id}") in document["paths"]
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for method, op in item.items() if method != "parameters"
    ]
    assert len(operation_ids) == len(set(operation_ids))
    # Self-contained: nothing is fetched from elsewhere to read it.
    assert '"$ref": "http' not in json.dumps(document)


# ------------------------------------------------------------- services


def test_every_starter_service_is_a_valid_fully_nested_hsds_service(seeded_app, client, hsds):
    ids = public_service_ids(seeded_app)
    assert len(ids) == 15
    for service_id in ids:
        service = hsds(get_json(client, f"/api/services/{service_id}"), "service.json")
        hsds(service, "compiled/service_with_definitions.json")
        assert service["id"] == service_id and service["status"] == "active"
        assert service["organization"]["id"] == service["organization_id"]
        assert service["attributes"], "every starter service has a type or a group"
        for attribute in service["attributes"]:
            assert attribute["link_id"] == service_id and attribute["link_entity"] == "service"
            # Which vocabulary: the term's taxonomy (link_type is the publisher's own, if any).
            assert attribute["taxonomy_term"]["taxonomy_detail"]["name"] in ("Pakalpojumu veidi", "Mērķa grupas")
            assert attribute["taxonomy_term"]["id"] == attribute["taxonomy_term_id"]
            assert attribute["taxonomy_term"]["language"] == "lv"
        assert isinstance(service["cost_options"], list)  # HSDS cost_option: none stated is an empty list
        for at_location in service["service_at_locations"]:
            assert at_location["service_id"] == service_id
            for address in at_location["location"]["addresses"]:
                assert address["country"] in ("LV", "LT")


def test_service_maps_the_directory_fields_to_hsds(seeded_app, client, hsds):
    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        service_id, location = service.id, service.service_at_locations[0].location
        location_id = location.id
        address = location.addresses[0]
        address.address_1, address.postal_code, address.municipality = None, None, "Daugavpils valstspilsēta"
        service.last_verified = date(2024, 5, 2)
        service.free_of_charge, service.fees_description = True, None
        service.schedules.append(Schedule(freq="WEEKLY", byday="MO", opens_at=time(9), closes_at=time(17, 30)))
        service.phones.append(Phone(number="+371 65400000", type="voice"))
        service.languages.append(Language(code="ru", name="krievu"))
        service.contacts.append(Contact(name="A. Bērziņa", email="info@example.lv"))
        location.accessibility.append(Accessibility(description="Uzbrauktuve"))
        location.schedules.append(Schedule(byday="TU", opens_at=time(8), closes_at=time(12)))
        db.session.commit()
    service = hsds(get_json(client, f"/api/services/{service_id}"), "service.json")
    assert service["assured_date"] == "2024-05-02"
    assert service["fees_description"] == "Bez maksas."
    [schedule] = service["schedules"]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "WEEKLY", "MO", "09:00:00", "17:30:00"
    )
    assert service["phones"][0]["number"] == "+371 65400000"
    assert service["languages"][0]["code"] == "ru"
    assert service["contacts"][0]["email"] == "info@example.lv"
    [at_location] = [s for s in service["service_at_locations"] if s["location_id"] == location_id]
    nested = at_location["location"]
    assert nested["accessibility"][0]["description"] == "Uzbrauktuve"
    assert nested["schedules"][0]["opens_at"] == "08:00:00"
    [address] = nested["addresses"]
    # Required by HSDS but not given by the listing: empty, never invented.
    assert address["address_1"] == "" and address["postal_code"] == ""
    assert address["region"] == "Daugavpils valstspilsēta"
    assert isinstance(address["state_province"], str)  # required by HSDS: "" or what the listing says


def test_what_to_bring_is_in_the_service_as_hsds_required_documents(seeded_app, client, hsds):
    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        service.required_documents = [
            RequiredDocument(document="Ārsta nosūtījums", uri="https://www.example.lv/nosutijums.pdf", position=1),
            RequiredDocument(document="Bērna dzimšanas apliecība", position=0),
        ]
        db.session.commit()
        service_id = service.id
        ids = [d.id for d in service.required_documents]
    service = hsds(get_json(client, f"/api/services/{service_id}"), "service.json")
    hsds(service, "compiled/service_with_definitions.json")
    assert service["required_documents"] == [
        {"id": ids[0], "service_id": service_id, "document": "Bērna dzimšanas apliecība"},
        {"id": ids[1], "service_id": service_id, "document": "Ārsta nosūtījums",
         "uri": "https://www.example.lv/nosutijums.pdf"},
    ]
    for document in service["required_documents"]:
        hsds(document, "required_document.json")
    # The nested list gives the same; the one-to-one list shape has none.
    page = get_page(client, f"/api/services?full=true&per_page={MAX_PER_PAGE}", hsds, "service.json")
    [listed] = [s for s in page["contents"] if s["id"] == service_id]
    assert listed["required_documents"] == service["required_documents"]
    assert all(s["required_documents"] == [] for s in page["contents"] if s["id"] != service_id)
    assert "required_documents" not in get_json(client, "/api/services")["contents"][0]


def test_fees_text_wins_over_the_flag(seeded_app, client):
    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Higiēnas centri"))
        service.free_of_charge, service.fees_description = True, "Dušas izmantošana bez maksas."
        db.session.commit()
        service_id = service.id
    service = get_json(client, f"/api/services/{service_id}")
    assert service["fees_description"] == "Dušas izmantošana bez maksas."


def test_services_list_is_an_hsds_page_of_every_public_service(seeded_app, client, hsds):
    page = get_page(client, "/api/services", hsds, "compiled/service_list.json")
    assert page["total_items"] == 15 and page["total_pages"] == 1
    assert page["first_page"] and page["last_page"] and page["page_number"] == 1
    assert {s["id"] for s in page["contents"]} == set(public_service_ids(seeded_app))
    # The list has one-to-one fields only; full=true nests as /services/{id} does.
    assert "attributes" not in page["contents"][0]
    full = get_page(client, "/api/services?full=true&per_page=3", hsds, "service.json")
    assert full["contents"][0] == get_json(client, f"/api/services/{full['contents'][0]['id']}")


def test_services_not_public_are_not_served(seeded_app, client):
    with seeded_app.app_context():
        retired = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        retired.status = "inactive"
        pending_org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        pending_org.status = "pending"
        hidden = [retired.id, *(s.id for s in pending_org.services)]
        hidden_org = pending_org.id
        db.session.commit()
    for service_id in hidden:
        assert get_json(client, f"/api/services/{service_id}", 404)["error"]
    listed = {s["id"] for s in get_json(client, f"/api/services?per_page={MAX_PER_PAGE}")["contents"]}
    assert listed.isdisjoint(hidden) and len(listed) == 15 - len(hidden)
    assert get_json(client, f"/api/organizations/{hidden_org}", 404)["error"]
    organizations = get_json(client, f"/api/organizations?per_page={MAX_PER_PAGE}")["contents"]
    assert hidden_org not in {o["id"] for o in organizations}


# --------------------------------------------------------------- search


def test_search_finds_without_diacritics_and_ranks_as_the_website(client):
    page = get_json(client, "/api/services?search=krizes")
    assert "Sociālās aprūpes un krīzes centrs “Vīgante”" in names(page)
    assert names(get_json(client, "/api/services?search=darbnica")) == website_names(client, "q=darbnica")
    assert names(get_json(client, "/api/services?search=krizes+daugavpils")) == []


@pytest.mark.parametrize(
    "query",
    [
        "type=day-centre",
        "group=youth",
        "place=Viesīte",
        "place=Bauskas+novads",
        "place=Daugavpils&group=children",
        "q=centrs&place=Jaunjelgava&type=youth-centre",
        "type=no-such-type",  # unknown codes are dropped, as on the website
        "near=Daugavpils",
        "near=Zarasai&radius=25",
    ],
)
def test_directory_filters_give_the_websites_results(client, query):
    api_query = query.replace("q=", "search=")
    assert names(get_json(client, f"/api/services?{api_query}")) == website_names(client, query)


def test_taxonomy_term_id_filters_by_type_or_group(seeded_app, client):
    with seeded_app.app_context():
        terms = {
            (t.taxonomy.code, t.code): t.id for t in db.session.scalars(select(TaxonomyTerm))
        }
    day_centre, youth = terms[("service-type", "day-centre")], terms[("target-group", "youth")]
    assert names(get_json(client, f"/api/services?taxonomy_term_id={day_centre}")) == website_names(
        client, "type=day-centre"
    )
    assert names(get_json(client, f"/api/services?taxonomy_term_id={youth}")) == website_names(
        client, "group=youth"
    )
    assert names(get_json(client, f"/api/services?taxonomy_term_id={youth}&place=Viesīte")) == website_names(
        client, "group=youth&place=Viesīte"
    )
    # The same filter twice, with different values, matches nothing.
    assert get_json(client, f"/api/services?taxonomy_term_id={day_centre}&type=camp")["total_items"] == 0
    page = get_json(client, "/api/services?taxonomy_term_id=6f1d3c2a-9b0e-4c55-8a43-000000000000")
    assert page["total_items"] == 0 and page["empty"]
    # Not an id at all: said, not taken for an id of nothing.
    for malformed in ("x" * 500, "", "day-centre"):
        error = get_json(client, f"/api/services?taxonomy_term_id={malformed}", 400)
        assert error["parameter"] == "taxonomy_term_id" and "taxonomy_term_id" in error["error"]


def test_paging(client, hsds):
    everything = names(get_json(client, "/api/services"))
    page = get_page(client, "/api/services?per_page=4&page=2", hsds, "compiled/service_list.json")
    assert names(page) == everything[4:8]
    assert (page["total_items"], page["total_pages"], page["page_number"], page["size"]) == (15, 4, 2, 4)
    assert not page["first_page"] and not page["last_page"]
    last = get_json(client, "/api/services?per_page=4&page=4")
    assert names(last) == everything[12:] and last["last_page"]
    beyond = get_json(client, "/api/services?per_page=4&page=9")
    assert beyond["empty"] and beyond["last_page"] and beyond["page_number"] == 9
    assert beyond["total_items"] == 15


def test_near_sorts_by_distance_and_radius_limits(client, hsds):
    origin = (55.8714, 26.5161)  # Daugavpils
    page = get_page(client, "/api/services?near=Daugavpils&full=true", hsds, "service.json")
    distances = []
    for service in page["contents"]:
        points = [
            (s["location"]["latitude"], s["location"]["longitude"])
            for s in service["service_at_locations"]
            if "latitude" in s["location"]
        ]
        if points:
            distances.append(min(geodesic(origin, point).km for point in points))
    assert distances and distances == sorted(distances)
    assert distances[0] < 5
    within = get_json(client, "/api/services?near=Daugavpils&radius=10")
    assert 0 < within["total_items"] < page["total_items"]


def test_unknown_place_is_a_400_with_suggestions(client):
    error = get_json(client, "/api/services?near=Daugavpilz", 400)
    assert "Daugavpilz" in error["error"]
    assert "Daugavpils" in error["suggestions"]


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=",
        "page=1.5",
        "page=%D9%A3",  # an Arabic-Indic digit: int() would take it
        "page=10001",
        "page=99999999999999999999999",
        "per_page=0",
        f"per_page={MAX_PER_PAGE + 1}",
        "per_page=ten",
        "full=yes",
    ],
)
def test_bad_paging_is_a_json_400(client, query):
    for endpoint in ("services", "service_at_locations", "organizations", "taxonomies", "taxonomy_terms"):
        if query.startswith("full") and endpoint not in ("services", "service_at_locations"):
            continue
        error = get_json(client, f"/api/{endpoint}?{query}", 400)
        assert error["error"]


# ------------------------------------------------------------ not found


@pytest.mark.parametrize(
    "url",
    [
        "/api/services/00000000-0000-0000-0000-000000000000",
        "/api/services/not-an-id",
        "/api/services/" + "x" * 300,
        "/api/organizations/00000000-0000-0000-0000-000000000000",
        "/api/service_at_locations/00000000-0000-0000-0000-000000000000",
        "/api/service_at_locations/not-an-id",
        "/api/service_at_locations/" + "x" * 300,
        "/api/taxonomies/00000000-0000-0000-0000-000000000000",
        "/api/taxonomies/" + "x" * 300,
        "/api/taxonomy_terms/00000000-0000-0000-0000-000000000000",
        "/api/taxonomy_terms/" + "x" * 300,
        "/api/service_at_locations/",
        "/api/no-such-endpoint",
        "/api/services/",
        "/api/services/a/b",
    ],
)
def test_unknown_is_a_json_404(client, url):
    assert get_json(client, url, 404)["error"]


@pytest.mark.parametrize("url", [
    "/api/services/a%00b",
    "/api/organizations/a%00b",
    "/api/service_at_locations/a%00b",
    "/api/taxonomies/a%00b",
    "/api/taxonomy_terms/a%00b",
    "/api/services?taxonomy_term_id=a%00b",
    "/api/services?search=kr%C4%ABzes%00",
    "/api/service_at_locations?organization_id=a%00b",
])
def test_a_nul_character_is_a_json_400_on_every_database(client, url):
    assert "NUL" in get_json(client, url, 400)["error"]


def test_write_methods_are_a_json_405(client):
    for url in ("/api/services", "/api/", "/api/services/x"):
        response = client.post(url, json={})
        assert response.status_code == 405 and response.mimetype == "application/json"
        assert response.get_json()["error"]
        assert "POST" not in response.headers["Allow"]


def test_the_website_keeps_its_html_error_pages(client):
    response = client.get("/lv/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


# ----------------------------------------------------------------- CORS


def test_cors_allows_any_origin_to_read(client, seeded_app):
    origin = {"Origin": "https://example.org"}
    for url in ("/api/", "/api/services", f"/api/services/{public_service_ids(seeded_app)[0]}"):
        response = client.get(url, headers=origin)
        assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://example.org")
    preflight = client.options(
        "/api/services", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]
    assert "POST" not in preflight.headers["Allow"]
    # Errors can be read across origins too.
    assert client.get("/api/services?page=0", headers=origin).headers["Access-Control-Allow-Origin"]
    # The website is not opened to other origins.
    assert "Access-Control-Allow-Origin" not in client.get("/lv/", headers=origin).headers


# ------------------------------------------------- service_at_locations


def test_service_at_locations_list_every_public_service_where_it_is_offered(seeded_app, client, hsds):
    url = f"/api/service_at_locations?per_page={MAX_PER_PAGE}"
    page = get_page(client, url, hsds, "compiled/service_at_location_list.json")
    assert page["total_items"] == len(page["contents"]) == len(public_service_at_location_ids(seeded_app))
    assert {item["id"] for item in page["contents"]} == public_service_at_location_ids(seeded_app)
    # Services in /services' order; each item names its service and location.
    services = get_json(client, f"/api/services?per_page={MAX_PER_PAGE}")["contents"]
    assert service_order(page) == [s["id"] for s in services]
    by_id = {s["id"]: s for s in services}
    for item in page["contents"]:
        hsds(item, "service_at_location.json")
        assert item["service"] == by_id[item["service_id"]]  # the /services list shape
        assert item["location"]["id"] == item["location_id"]
        # One-to-one fields only; full=true nests.
        assert "addresses" not in item["location"] and "attributes" not in item["service"]
    url = "/api/service_at_locations?full=true&per_page=3"
    full = get_page(client, url, hsds, "service_at_location.json")
    for item in full["contents"]:
        assert item == get_json(client, f"/api/service_at_locations/{item['id']}")


def test_every_service_at_location_is_valid_and_fully_nested(seeded_app, client, hsds):
    ids = public_service_at_location_ids(seeded_app)
    assert ids
    for sal_id in ids:
        item = hsds(get_json(client, f"/api/service_at_locations/{sal_id}"), "service_at_location.json")
        hsds(item, "compiled/service_at_location_list.json")
        assert item["id"] == sal_id
        assert item["location"]["id"] == item["location_id"]
        for address in item["location"]["addresses"]:
            assert address["country"] in ("LV", "LT")
        service = hsds(item["service"], "service.json")
        hsds(service, "compiled/service_with_definitions.json")
        assert service == get_json(client, f"/api/services/{item['service_id']}")
        assert sal_id in {s["id"] for s in service["service_at_locations"]}


def test_a_service_at_two_locations_is_listed_once_for_each(seeded_app, client, hsds):
    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        branch = Location(
            organization_id=service.organization_id,
            name="A filiāle",
            latitude=55.87,
            longitude=26.52,
            addresses=[Address(address_1="Rīgas iela 1", city="Daugavpils", country="LV")],
        )
        at_branch = ServiceAtLocation(location=branch, description="Otrdienās")
        service.service_at_locations.append(at_branch)
        db.session.commit()
        service_id, branch_id, at_branch_id = service.id, branch.id, at_branch.id
    page = get_json(client, f"/api/service_at_locations?per_page={MAX_PER_PAGE}")
    mine = [item for item in page["contents"] if item["service_id"] == service_id]
    assert len(mine) == 2 and page["total_items"] == len(public_service_at_location_ids(seeded_app))
    # Together, in /services' order, its locations by name.
    order = [i["service_id"] for i in page["contents"]]
    first = order.index(service_id)
    assert order[first : first + 2] == [service_id, service_id]
    assert service_order(page) == [s["id"] for s in get_json(client, "/api/services")["contents"]]
    location_names = [i["location"]["name"] for i in mine]
    assert "A filiāle" in location_names and location_names == sorted(location_names, key=sort_key)
    item = hsds(get_json(client, f"/api/service_at_locations/{at_branch_id}"), "service_at_location.json")
    assert item["description"] == "Otrdienās" and item["location_id"] == branch_id
    assert item["location"]["addresses"][0]["address_1"] == "Rīgas iela 1"
    assert len(item["service"]["service_at_locations"]) == 2


def test_service_at_locations_filters(seeded_app, client, hsds):
    with seeded_app.app_context():
        terms = {(t.taxonomy.code, t.code): t.id for t in db.session.scalars(select(TaxonomyTerm))}
        groups = db.session.scalar(select(Taxonomy).where(Taxonomy.code == "target-group"))
        with_a_group = {
            s.id for s in db.session.scalars(select(Service)) if s.target_groups and s.status == "active"
        }
        biggest = max(db.session.scalars(select(Organization)), key=lambda o: len(o.services))
        org_id, org_services = biggest.id, {s.id for s in biggest.services if s.status == "active"}
        groups_id = groups.id

    def listed(query: str) -> list[str]:
        url = f"/api/service_at_locations?per_page={MAX_PER_PAGE}&{query}"
        return service_order(get_page(client, url, hsds, "compiled/service_at_location_list.json"))

    def services(query: str) -> list[str]:
        page = get_json(client, f"/api/services?per_page={MAX_PER_PAGE}&{query}")
        return [s["id"] for s in page["contents"]]

    everything = listed("")
    # search and taxonomy_term_id: the same services, in the same order, as /services.
    for query in ("search=centrs", "search=krizes", "search=darbnica", "search=zzzz"):
        assert listed(query) == services(query)
    assert listed("search=krizes") and not listed("search=zzzz")
    for term in (terms[("service-type", "day-centre")], terms[("target-group", "youth")]):
        assert listed(f"taxonomy_term_id={term}") == services(f"taxonomy_term_id={term}")
        assert 0 < len(listed(f"taxonomy_term_id={term}")) < len(everything)
    assert set(listed(f"taxonomy_id={groups_id}")) == with_a_group
    assert 1 < len(org_services) and set(listed(f"organization_id={org_id}")) == org_services
    # Filters combine; an empty one is no filter.
    youth = terms[("target-group", "youth")]
    assert listed(f"taxonomy_term_id={youth}&search=centrs") == [
        s for s in services("search=centrs") if s in services(f"taxonomy_term_id={youth}")
    ]
    assert listed("search=") == everything
    # Ids of no record match nothing; what is no id at all is a 400 naming it.
    for name in ("taxonomy_term_id", "taxonomy_id", "organization_id"):
        page = get_json(client, f"/api/service_at_locations?{name}=6f1d3c2a-9b0e-4c55-8a43-000000000000")
        assert page["total_items"] == 0 and page["empty"]
        for malformed in ("x" * 500, ""):
            assert get_json(client, f"/api/service_at_locations?{name}={malformed}", 400)["parameter"] == name


def test_service_at_locations_paging(client, hsds):
    everything = [i["id"] for i in get_json(client, "/api/service_at_locations")["contents"]]
    assert len(everything) == 15
    url = "/api/service_at_locations?per_page=4&page=2"
    page = get_page(client, url, hsds, "compiled/service_at_location_list.json")
    assert [i["id"] for i in page["contents"]] == everything[4:8]
    assert (page["total_items"], page["total_pages"], page["page_number"], page["size"]) == (15, 4, 2, 4)
    assert not page["first_page"] and not page["last_page"]
    last = get_json(client, "/api/service_at_locations?per_page=4&page=4")
    assert [i["id"] for i in last["contents"]] == everything[12:] and last["last_page"]
    beyond = get_json(client, "/api/service_at_locations?per_page=4&page=9")
    assert beyond["empty"] and beyond["last_page"] and beyond["total_items"] == 15


def test_service_at_locations_of_services_not_public_are_not_served(seeded_app, client):
    with seeded_app.app_context():
        retired = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        retired.status = "inactive"
        pending_org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        pending_org.status = "pending"
        hidden = {sal.id for s in (retired, *pending_org.services) for sal in s.service_at_locations}
        pending_id = pending_org.id
        db.session.commit()
    assert len(hidden) >= 2
    for sal_id in hidden:
        assert get_json(client, f"/api/service_at_locations/{sal_id}", 404)["error"]
    for query in ("", "full=true", "search=krizes", f"organization_id={pending_id}"):
        page = get_json(client, f"/api/service_at_locations?per_page={MAX_PER_PAGE}&{query}")
        assert hidden.isdisjoint(i["id"] for i in page["contents"])
    assert get_json(client, f"/api/service_at_locations?organization_id={pending_id}")["total_items"] == 0
    listed = get_json(client, f"/api/service_at_locations?per_page={MAX_PER_PAGE}")
    assert listed["total_items"] == 15 - len(hidden)


def test_a_page_of_service_at_locations_takes_as_many_queries_as_one(seeded_app, client):
    """Eager loading: the number of queries does not grow with the page."""
    counts = {}
    for full in ("false", "true"):
        client.get("/api/service_at_locations")  # the search index is built once
        for per_page in (1, MAX_PER_PAGE):
            with counted_queries(seeded_app) as statements:
                page = get_json(client, f"/api/service_at_locations?full={full}&per_page={per_page}")
            assert page["size"] == min(per_page, 15)
            counts[full, per_page] = len(statements)
        assert counts[full, MAX_PER_PAGE] <= counts[full, 1] + 2, counts
    with counted_queries(seeded_app) as statements:
        get_json(client, f"/api/service_at_locations/{page['contents'][0]['id']}")
    assert len(statements) <= counts["true", 1], statements



# -------------------------------------------------------- organizations


def test_organizations_list_and_search(seeded_app, client, hsds):
    url = f"/api/organizations?per_page={MAX_PER_PAGE}"
    page = get_page(client, url, hsds, "compiled/organization_list.json")
    for organization in page["contents"]:
        hsds(organization, "organization.json")
    with seeded_app.app_context():
        assert page["total_items"] == len(db.session.scalars(select(Organization.id)).all())
    found = names(get_json(client, "/api/organizations?search=BIRZU"))
    assert "Biržu rajona pašvaldības administrācija" in found
    # The alternate (Lithuanian) name counts too.
    assert "Biržu rajona pašvaldības administrācija" in names(
        get_json(client, "/api/organizations?search=savivaldybes+birzu")
    )
    assert get_json(client, "/api/organizations?search=zzzz")["empty"]


def test_every_organization_is_valid_with_locations_and_public_services(seeded_app, client, hsds):
    with seeded_app.app_context():
        organizations = {
            org.id: (org.parent_organization_id, {s.id for s in org.services if s.status == "active"})
            for org in db.session.scalars(select(Organization))
        }
    for org_id, (parent_id, service_ids) in organizations.items():
        organization = hsds(get_json(client, f"/api/organizations/{org_id}"), "organization.json")
        assert organization.get("parent_organization_id") == parent_id
        assert {s["id"] for s in organization["services"]} == service_ids
        for service in organization["services"]:
            hsds(service, "compiled/service_list.json")
        for location in organization["locations"]:
            assert location["organization_id"] == org_id


# ----------------------------------------------------------- taxonomies


def test_taxonomies_and_terms(seeded_app, client, hsds):
    taxonomies = get_page(client, "/api/taxonomies", hsds, "taxonomy.json")
    assert {t["name"] for t in taxonomies["contents"]} == {"Pakalpojumu veidi", "Mērķa grupas"}
    with seeded_app.app_context():
        term_count = db.session.query(TaxonomyTerm).count()
        groups = db.session.scalar(select(Taxonomy).where(Taxonomy.code == "target-group"))
        group_id, group_terms = groups.id, len(groups.terms)
    terms = get_page(client, f"/api/taxonomy_terms?per_page={MAX_PER_PAGE}", hsds, "taxonomy_term.json")
    assert terms["total_items"] == term_count == len(terms["contents"])
    only_groups = get_page(client, f"/api/taxonomy_terms?taxonomy_id={group_id}", hsds, "taxonomy_term.json")
    assert only_groups["total_items"] == group_terms
    assert {t["taxonomy"] for t in only_groups["contents"]} == {"Mērķa grupas"}
    assert {t["taxonomy_id"] for t in only_groups["contents"]} == {group_id}
    assert get_json(client, "/api/taxonomy_terms?taxonomy_id=6f1d3c2a-9b0e-4c55-8a43-000000000000")["empty"]
    assert get_json(client, "/api/taxonomy_terms?taxonomy_id=nope", 400)["parameter"] == "taxonomy_id"
    second = get_json(client, "/api/taxonomy_terms?per_page=5&page=2")
    assert [t["id"] for t in second["contents"]] == [t["id"] for t in terms["contents"][5:10]]


def test_each_taxonomy_and_term_by_id(client, hsds):
    for taxonomy in get_json(client, "/api/taxonomies")["contents"]:
        assert hsds(get_json(client, f"/api/taxonomies/{taxonomy['id']}"), "taxonomy.json") == taxonomy
    terms = get_json(client, f"/api/taxonomy_terms?per_page={MAX_PER_PAGE}")["contents"]
    assert terms
    for term in terms:
        assert hsds(get_json(client, f"/api/taxonomy_terms/{term['id']}"), "taxonomy_term.json") == term
    # A taxonomy is not a term, nor the other way round.
    taxonomy_id = get_json(client, "/api/taxonomies")["contents"][0]["id"]
    assert get_json(client, f"/api/taxonomy_terms/{taxonomy_id}", 404)["error"]
    assert get_json(client, f"/api/taxonomies/{terms[0]['id']}", 404)["error"]


# ---------------------------------------------------------- schemathesis


# Loaded at collection from an app of its own: serving the document needs no
# database. (schemathesis.pytest.from_fixture would load it from the seeded
# app, but it sets pytest's Node._nodeid, which pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", make_app("sqlite://"))


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_openapi_document(case, seeded_app):
    """Generated requests, valid and not, sent to the seeded app: never a
    5xx, and every answer as the document says (status, content type,
    schema with formats, and 4xx for what the document rules out)."""
    case.call_and_validate(
        app=seeded_app,
        # Flask-Compress would answer br/gzip, which a WSGI call leaves undecoded.
        headers={"Accept-Encoding": "identity"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
            negative_data_rejection,
        ],
    )
