"""Every parameter of Open Referral's official HSDS 3.1 API description, on
every endpoint, does what it says or is a 400 naming it: never a silent
200 with the answer one would get without it. Then each parameter on its
own, NDJSON streaming, and the change feed behind `modified_after`
(directory/change_tracking.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from directory.extensions import db
from directory.hsds import paging
from directory.models import (
    Address,
    Location,
    Organization,
    Phone,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

OFFICIAL = json.loads(
    (Path(__file__).resolve().parent.parent / "directory" / "hsds" / "schema" / "openapi.json").read_text()
)
UNKNOWN_ID = "6f1d3c2a-9b0e-4c55-8a43-000000000000"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def aware(moment: datetime) -> datetime:
    """SQLite hands stored UTC times back without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _place(name, city, postcode, country, latitude, longitude, organization) -> Location:
    return Location(
        name=name, organization=organization, latitude=latitude, longitude=longitude, geocode_precision="town",
        addresses=[Address(address_1="Centra iela 1", city=city, postal_code=postcode, country=country)],
    )


@pytest.fixture
def small(app):
    """Three public services of two organizations (one more hidden), two
    vocabularies, a child term, places in Daugavpils, Jēkabpils and Zarasai."""
    with app.app_context():
        types = Taxonomy(code="service-type", name="Pakalpojumu veidi", description="Kas tiek darīts")
        groups = Taxonomy(code="target-group", name="Mērķa grupas", description="Kam")
        day = TaxonomyTerm(taxonomy=types, code="day-centre", name="Dienas centrs", position=1)
        youth = TaxonomyTerm(taxonomy=types, code="youth-day-centre", name="Jauniešu dienas centrs", position=2)
        crisis = TaxonomyTerm(taxonomy=types, code="crisis-centre", name="Krīzes centrs", position=3)
        children = TaxonomyTerm(taxonomy=groups, code="children", name="Bērni", position=1)
        db.session.add_all([types, groups, day, youth, crisis, children])
        db.session.flush()
        youth.parent_id = day.id
        alfa = Organization(slug="alfa", name="Alfa centrs", description="Alfa")
        beta = Organization(slug="beta", name="Beta biedrība", description="Beta")
        hidden = Organization(slug="gamma", name="Gamma", description="Gaida", status="pending")
        daugavpils = _place("Daugavpils filiāle", "Daugavpils", "LV-5401", "LV", 55.8714, 26.5161, alfa)
        zarasai = _place("Zarasų skyrius", "Zarasai", "LT-32001", "LT", 55.7319, 26.2450, alfa)
        jekabpils = _place("Jēkabpils birojs", "Jēkabpils", "LV-5201", "LV", 56.4990, 25.8570, beta)
        s1 = Service(organization=alfa, name="Dienas centrs bērniem", description="Rotaļas",
                     taxonomy_terms=[day, children], updated_at=at("2024-01-01"),
                     service_at_locations=[ServiceAtLocation(location=daugavpils)],
                     phones=[Phone(number="+371 65400001")])
        s3 = Service(organization=alfa, name="Jauniešu dienas centrs", description="Pulciņi",
                     taxonomy_terms=[youth], updated_at=at("2025-01-01"),
                     service_at_locations=[ServiceAtLocation(location=zarasai)])
        s2 = Service(organization=beta, name="Krīzes centrs", description="Palīdzība krīzē",
                     taxonomy_terms=[crisis], updated_at=at("2024-06-01"),
                     service_at_locations=[ServiceAtLocation(location=jekabpils)])
        s4 = Service(organization=hidden, name="Slēpts", description="Nav publisks", taxonomy_terms=[day])
        db.session.add_all([s1, s2, s3, s4])
        db.session.commit()
        ids = {
            "types": types.id, "groups": groups.id, "day": day.id, "youth": youth.id, "crisis": crisis.id,
            "children": children.id, "alfa": alfa.id, "beta": beta.id, "s1": s1.id, "s2": s2.id, "s3": s3.id,
            "s4": s4.id, "jekabpils": jekabpils.id, "zarasai": zarasai.id, "daugavpils": daugavpils.id,
        }
    return app, ids


def answer(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:500])
    if response.mimetype == "application/x-ndjson":
        return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert response.mimetype == "application/json", url
    return response.get_json()


def ids_of(page) -> list[str]:
    return [item["id"] for item in page["contents"]]


def service_ids(client, url: str) -> list[str]:
    return [item.get("service_id", item["id"]) for item in answer(client, url)["contents"]]


# ------------------------------------- every official parameter, generically

# For each (path, parameter) of the official document: a query with a valid
# value that must change the answer, and the query it is compared with.
# {name} fills in an id of the small directory.
VALID = {
    ("/services", "search"): ("search=krizes", ""),
    ("/services", "page"): ("page=2&per_page=2", "per_page=2"),
    ("/services", "per_page"): ("per_page=1", ""),
    ("/services", "format"): ("format=ndjson", ""),
    ("/services", "taxonomy_term_id"): ("taxonomy_term_id={day}", ""),
    ("/services", "taxonomy_id"): ("taxonomy_id={groups}", ""),
    ("/services", "organization_id"): ("organization_id={beta}", ""),
    ("/services", "modified_after"): ("modified_after=2024-12-01T00:00:00Z", ""),
    ("/services", "minimal"): ("minimal=true", ""),
    ("/services", "full"): ("full=true", ""),
    ("/taxonomies", "search"): ("search=veidi", ""),
    ("/taxonomies", "page"): ("page=2&per_page=1", "per_page=1"),
    ("/taxonomies", "per_page"): ("per_page=1", ""),
    ("/taxonomies", "format"): ("format=ndjson", ""),
    ("/taxonomy_terms", "search"): ("search=krizes", ""),
    ("/taxonomy_terms", "page"): ("page=2&per_page=2", "per_page=2"),
    ("/taxonomy_terms", "per_page"): ("per_page=1", ""),
    ("/taxonomy_terms", "format"): ("format=ndjson", ""),
    ("/taxonomy_terms", "taxonomy_id"): ("taxonomy_id={groups}", ""),
    ("/taxonomy_terms", "top_only"): ("top_only=true", ""),
    ("/taxonomy_terms", "parent_id"): ("parent_id={day}", ""),
    ("/organizations", "search"): ("search=beta", ""),
    ("/organizations", "full_service"): ("full_service=true", ""),
    ("/organizations", "full"): ("full=true", ""),
    ("/organizations", "taxonomy_term_id"): ("taxonomy_term_id={crisis}", ""),
    ("/organizations", "taxonomy_id"): ("taxonomy_id={groups}", ""),
    ("/organizations", "page"): ("page=2&per_page=1", "per_page=1"),
    ("/organizations", "per_page"): ("per_page=1", ""),
    ("/organizations", "format"): ("format=ndjson", ""),
    ("/organizations/{id}", "full_service"): ("full_service=true", ""),
    ("/service_at_locations", "search"): ("search=krizes", ""),
    ("/service_at_locations", "taxonomy_term_id"): ("taxonomy_term_id={day}", ""),
    ("/service_at_locations", "taxonomy_id"): ("taxonomy_id={groups}", ""),
    ("/service_at_locations", "organization_id"): ("organization_id={beta}", ""),
    ("/service_at_locations", "modified_after"): ("modified_after=2024-12-01", ""),
    ("/service_at_locations", "full"): ("full=true", ""),
    ("/service_at_locations", "page"): ("page=2&per_page=2", "per_page=2"),
    ("/service_at_locations", "per_page"): ("per_page=1", ""),
    ("/service_at_locations", "format"): ("format=ndjson", ""),
    ("/service_at_locations", "postcode"): ("postcode=LV-5201", ""),
    ("/service_at_locations", "proximity"): ("postcode=LV-5201&proximity=10000", "postcode=LV-5201"),
}
# A value each parameter cannot take (None: every value is a valid one).
MALFORMED = {
    "search": None, "page": "0", "per_page": "x", "format": "xml", "taxonomy_term_id": "day-centre",
    "taxonomy_id": "1", "organization_id": "alfa", "parent_id": "", "modified_after": "yesterday",
    "minimal": "yes", "full": "1", "full_service": "on", "top_only": "TRUE", "postcode": "5401 Daugavpils",
    "proximity": "-5",
}


def official_parameters() -> list[tuple[str, str]]:
    """(path, parameter name) of every GET operation of the official document."""
    found = []
    for path, item in OFFICIAL["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if "$ref" in parameter:
                parameter = OFFICIAL["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
            found.append((path, parameter["name"]))
    return found


def test_the_official_document_has_the_parameters_the_issue_lists():
    assert len(official_parameters()) == 41
    assert {name for _, name in official_parameters()} == set(MALFORMED)


@pytest.mark.parametrize("path, name", official_parameters())
def test_every_official_parameter_works_or_is_refused_by_name(small, path, name):
    app, ids = small
    client = app.test_client()
    assert (path, name) in VALID, f"{name} on {path}: a new parameter of the official document"
    url = "/api" + path.replace("{id}", ids["alfa"])
    query, baseline = (part.format(**ids) for part in VALID[path, name])
    changed = client.get(f"{url}?{query}")
    unchanged = client.get(f"{url}?{baseline}")
    assert changed.status_code == unchanged.status_code == 200, changed.get_data(as_text=True)
    assert (changed.mimetype, changed.get_data()) != (unchanged.mimetype, unchanged.get_data())
    if MALFORMED[name] is not None:
        extra = "&postcode=LV-5201" if name == "proximity" else ""
        error = answer(client, f"{url}?{name}={MALFORMED[name]}{extra}", 400)
        assert error["parameter"] == name and name in error["error"]


@pytest.mark.parametrize("url", [
    "/api/services?lat=56.9", "/api/services?q=krizes", "/api/taxonomies?place=Daugavpils",
    "/api/organizations?minimal=true", "/api/taxonomy_terms?full=true", "/api/service_at_locations?minimal=true",
    "/api/services/" + UNKNOWN_ID + "?full=true", "/api/?x=1", "/api/openapi.json?v=2",
])
def test_a_parameter_an_endpoint_does_not_take_is_a_400_naming_it(small, url):
    error = answer(small[0].test_client(), url, 400)
    name = url.split("?")[1].split("=")[0]
    assert error["parameter"] == name and repr(name) in error["error"]


def test_a_parameter_given_twice_is_a_400(small):
    error = answer(small[0].test_client(), "/api/services?page=1&page=2", 400)
    assert error["parameter"] == "page"


def test_the_directorys_own_filters_still_work(small):
    app, ids = small
    client = app.test_client()
    assert service_ids(client, "/api/services?place=Zarasai") == [ids["s3"]]
    assert service_ids(client, "/api/services?type=crisis-centre") == [ids["s2"]]
    assert service_ids(client, "/api/service_at_locations?group=children") == [ids["s1"]]
    # Nearest first, as on the website; cumulative with HSDS's filters.
    assert service_ids(client, "/api/services?near=Jēkabpils")[0] == ids["s2"]
    assert service_ids(client, f"/api/services?near=Jēkabpils&organization_id={ids['alfa']}") == [
        ids["s1"], ids["s3"]
    ]


# ------------------------------------------------------ each parameter


def test_organization_id_taxonomy_term_id_and_taxonomy_id(small):
    app, ids = small
    client = app.test_client()
    for endpoint in ("services", "service_at_locations"):
        assert service_ids(client, f"/api/{endpoint}?organization_id={ids['alfa']}") == [ids["s1"], ids["s3"]]
        # A term matches itself, not its children; a taxonomy, any of its terms.
        assert service_ids(client, f"/api/{endpoint}?taxonomy_term_id={ids['day']}") == [ids["s1"]]
        assert service_ids(client, f"/api/{endpoint}?taxonomy_term_id={ids['youth']}") == [ids["s3"]]
        assert service_ids(client, f"/api/{endpoint}?taxonomy_id={ids['types']}") == [ids["s1"], ids["s3"], ids["s2"]]
        assert service_ids(client, f"/api/{endpoint}?taxonomy_id={ids['groups']}") == [ids["s1"]]
        # Cumulative; an id of nothing matches nothing; the hidden service never shows.
        assert service_ids(client, f"/api/{endpoint}?organization_id={ids['beta']}&taxonomy_id={ids['groups']}") == []
        for name in ("organization_id", "taxonomy_term_id", "taxonomy_id"):
            assert answer(client, f"/api/{endpoint}?{name}={UNKNOWN_ID}")["empty"]
    assert ids_of(answer(client, f"/api/organizations?taxonomy_term_id={ids['crisis']}")) == [ids["beta"]]
    assert ids_of(answer(client, f"/api/organizations?taxonomy_id={ids['groups']}")) == [ids["alfa"]]
    assert ids_of(answer(client, f"/api/organizations?taxonomy_id={ids['types']}")) == [ids["alfa"], ids["beta"]]


def test_modified_after_is_inclusive_and_reads_any_offset(small):
    app, ids = small
    client = app.test_client()
    for value, expected in [
        ("2024-06-01T00:00:00Z", [ids["s3"], ids["s2"]]),  # on or after
        ("2024-06-01T00:00:00.001Z", [ids["s3"]]),
        ("2024-06-01T03:00:00%2B03:00", [ids["s3"], ids["s2"]]),  # the same instant
        ("2024-06-01", [ids["s3"], ids["s2"]]),
        ("2099-01-01T00:00:00Z", []),
    ]:
        assert service_ids(client, f"/api/services?modified_after={value}") == expected, value
    for bad in ("2024-13-01", "2024-06-01T25:00:00Z", "01.06.2024", "2024-06-01T00:00:00+25:00", ""):
        assert answer(client, f"/api/services?modified_after={bad}", 400)["parameter"] == "modified_after"


def test_minimal_gives_ids_and_last_changes_in_one_page(small):
    app, ids = small
    page = answer(app.test_client(), "/api/services?minimal=true")
    assert [(item["id"], datetime.fromisoformat(item["last_modified"])) for item in page["contents"]] == [
        (ids["s1"], at("2024-01-01")), (ids["s3"], at("2025-01-01")), (ids["s2"], at("2024-06-01"))
    ]
    assert all(set(item) == {"id", "last_modified"} for item in page["contents"])
    client = app.test_client()
    assert answer(client, "/api/services?minimal=true&per_page=10000")["total_pages"] == 1
    assert answer(client, "/api/services?per_page=10000", 400)["parameter"] == "per_page"
    assert answer(client, "/api/services?minimal=true&full=true", 400)["parameter"] == "minimal"


def test_full_service_nests_each_service_fully(small):
    app, ids = small
    client = app.test_client()
    plain = answer(client, f"/api/organizations/{ids['alfa']}")
    full = answer(client, f"/api/organizations/{ids['alfa']}?full_service=true")
    assert [s["id"] for s in full["services"]] == [s["id"] for s in plain["services"]] == [ids["s1"], ids["s3"]]
    for service in full["services"]:
        whole = answer(client, f"/api/services/{service['id']}")
        assert service == {key: value for key, value in whole.items() if key != "organization"}
    assert "phones" not in plain["services"][0]
    listed = answer(client, "/api/organizations?full_service=true")["contents"]
    assert listed[0] == full
    assert answer(client, "/api/organizations?full=true")["contents"][0] == plain
    assert "locations" not in answer(client, "/api/organizations")["contents"][0]


def test_top_only_and_parent_id(small):
    app, ids = small
    client = app.test_client()
    every = ids_of(answer(client, "/api/taxonomy_terms"))
    assert set(every) == {ids["day"], ids["youth"], ids["crisis"], ids["children"]}
    assert ids_of(answer(client, "/api/taxonomy_terms?top_only=true")) == [t for t in every if t != ids["youth"]]
    assert ids_of(answer(client, "/api/taxonomy_terms?top_only=false")) == every
    assert ids_of(answer(client, f"/api/taxonomy_terms?parent_id={ids['day']}")) == [ids["youth"]]
    assert answer(client, f"/api/taxonomy_terms?parent_id={ids['crisis']}")["empty"]
    assert answer(client, f"/api/taxonomy_terms?parent_id={ids['day']}&top_only=true")["empty"]


def test_search_on_taxonomies_and_terms(small):
    app, ids = small
    client = app.test_client()
    assert ids_of(answer(client, "/api/taxonomies?search=MERKA")) == [ids["groups"]]
    assert ids_of(answer(client, "/api/taxonomy_terms?search=jauniesu")) == [ids["youth"]]
    assert ids_of(answer(client, "/api/taxonomy_terms?search=crisis-centre")) == [ids["crisis"]]


def test_postcode_and_proximity(small):
    app, ids = small
    client = app.test_client()

    def located(query):
        return [item["location_id"] for item in answer(client, f"/api/service_at_locations?{query}")["contents"]]

    # Nearest the postal code first; within `proximity` metres only.
    assert located("postcode=LV-5201")[0] == ids["jekabpils"]
    assert located("postcode=LT32001")[0] == ids["zarasai"]
    assert located("postcode=LV-5201&proximity=5000") == [ids["jekabpils"]]
    assert located("postcode=LV-5201&proximity=85000")[1:] == [ids["daugavpils"]]  # 81 km; Zarasai 88 km
    assert len(located("postcode=LV-5201&proximity=100000")) == 3
    # A service whose area has an extent is listed only where the area holds the code.
    with app.app_context():
        around_zarasai = {"type": "Polygon", "coordinates": [[[26.0, 55.6], [26.5, 55.6], [26.5, 55.9],
                                                             [26.0, 55.9], [26.0, 55.6]]]}
        db.session.add(ServiceArea(service_id=ids["s3"], name="Zarasų rajonas", extent=json.dumps(around_zarasai),
                                   extent_type="geojson"))
        db.session.commit()
    assert ids["zarasai"] in located("postcode=LT-32001")
    assert ids["zarasai"] not in located("postcode=LV-5201")
    # A code no address has, or none at all: said, by name.
    for query in ("postcode=LV-9999", "postcode=LV-54011", "postcode=", "proximity=100", "postcode=LV-5201&proximity=0"):
        error = answer(client, f"/api/service_at_locations?{query}", 400)
        assert error["parameter"] in query and error["error"]


def test_ndjson_streams_every_result_as_the_pages_give_them(small):
    app, _ids = small
    client = app.test_client()
    for endpoint in ("services", "service_at_locations", "organizations", "taxonomies", "taxonomy_terms"):
        for extra in ("", "&full=true" if endpoint != "taxonomies" and endpoint != "taxonomy_terms" else ""):
            response = client.get(f"/api/{endpoint}?format=ndjson{extra}")
            assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
            assert response.is_streamed
            lines = response.get_data(as_text=True).splitlines()
            paged = answer(client, f"/api/{endpoint}?per_page=200{extra}")["contents"]
            assert [json.loads(line) for line in lines] == paged
    assert answer(client, "/api/services?format=ndjson&minimal=true") == answer(
        client, "/api/services?minimal=true")["contents"]
    assert answer(client, "/api/services?format=json")["total_items"] == 3
    for query in ("format=ndjson&page=1", "format=ndjson&per_page=5", "format=NDJSON", "format="):
        error = answer(client, f"/api/services?{query}", 400)
        assert error["parameter"] in query


def test_chunks_follow_each_other_without_a_gap_or_a_repeat(small, monkeypatch):
    """Terms and taxonomies are read a page of keys after another, services
    a slice of the ranking after another: with chunks of 2 the stream is
    still every page's items, in order."""
    from directory.hsds import queries, selection

    app, ids = small
    client = app.test_client()
    expected = {
        endpoint: answer(client, f"/api/{endpoint}?per_page=200")["contents"]
        for endpoint in ("services", "service_at_locations", "organizations", "taxonomies", "taxonomy_terms")
    }
    for module in (paging, queries, selection):
        monkeypatch.setattr(module, "CHUNK_SIZE", 2)
    for endpoint, items in expected.items():
        assert answer(client, f"/api/{endpoint}?format=ndjson") == items, endpoint
    assert ids_of(answer(client, "/api/taxonomy_terms?per_page=3&page=2")) == [t["id"] for t in expected["taxonomy_terms"][3:]]


def test_a_large_ndjson_answer_is_read_in_chunks_by_a_generator(small, monkeypatch):
    app, ids = small
    with app.app_context():
        db.session.execute(insert(Service), [
            {"id": f"00000000-0000-4000-8000-{n:012d}", "organization_id": ids["beta"], "name": f"Pakalpojums {n:04d}",
             "description": "", "status": "active", "version": 1, "updated_at": at("2023-01-01")}
            for n in range(1234)
        ])
        db.session.commit()
    chunks: list[int] = []
    original = paging.chunked

    def counted(items, size=None):
        for chunk in original(items, size):
            chunks.append(len(chunk))
            yield chunk

    monkeypatch.setattr(paging, "chunked", counted)
    response = app.test_client().get("/api/services?format=ndjson")
    assert response.is_streamed and not isinstance(response.response, (list, tuple))
    body = iter(response.response)
    first = next(body)
    assert chunks == [500]  # the first line needs the first chunk, and only that
    records = [json.loads(first), *(json.loads(line) for line in body)]
    assert len(records) == 1237 and len({r["id"] for r in records}) == 1237
    assert chunks == [500, 500, 237]
    assert [r["name"] for r in records[:2]] == ["Dienas centrs bērniem", "Jauniešu dienas centrs"]


# ------------------------------------------------- the change feed


def services_changed_after(client, moment: datetime) -> list[str]:
    value = moment.isoformat().replace("+00:00", "Z")
    return service_ids(client, f"/api/services?modified_after={value}")


def last_modified(app, ids) -> dict[str, datetime]:
    with app.app_context():
        return {sid: s.updated_at for sid, s in ((k, db.session.get(Service, ids[k])) for k in ("s1", "s2", "s3"))}


def test_editing_a_phone_moves_its_service_and_no_other(small):
    app, ids = small
    client = app.test_client()
    before = last_modified(app, ids)
    started = datetime.now(timezone.utc)
    with app.app_context():
        phone = db.session.scalar(select(Phone).where(Phone.service_id == ids["s1"]))
        phone.number = "+371 65400002"
        version = db.session.get(Service, ids["s1"]).version
        db.session.commit()
        assert db.session.get(Service, ids["s1"]).version == version  # edit forms' locks stay
    after = last_modified(app, ids)
    assert aware(after["s1"]) >= started
    assert {k: after[k] for k in ("s2", "s3")} == {k: before[k] for k in ("s2", "s3")}
    assert services_changed_after(client, started) == [ids["s1"]]
    assert datetime.fromisoformat(answer(client, f"/api/services/{ids['s1']}")["last_modified"]) >= started.replace(
        microsecond=started.microsecond // 1000 * 1000)


@pytest.mark.parametrize("change", [
    "address", "location", "organization", "term link", "term name", "new schedule", "removed phone",
    "service at another location", "moved phone",
])
def test_what_is_nested_in_a_service_moves_it(small, change):
    app, ids = small
    client = app.test_client()
    started = datetime.now(timezone.utc)
    with app.app_context():
        s1, s2 = db.session.get(Service, ids["s1"]), db.session.get(Service, ids["s2"])
        jekabpils = db.session.get(Location, ids["jekabpils"])
        expected = {"address": [ids["s2"]], "location": [ids["s2"]], "organization": [ids["s2"]],
                    "term link": [ids["s2"]], "term name": [ids["s1"]], "new schedule": [ids["s1"]],
                    "removed phone": [ids["s1"]], "service at another location": [ids["s1"]],
                    "moved phone": [ids["s1"], ids["s2"]]}[change]
        if change == "address":
            jekabpils.addresses[0].address_1 = "Brīvības iela 2"
        elif change == "location":
            jekabpils.transportation = "Autobuss 3"
        elif change == "organization":
            db.session.get(Organization, ids["beta"]).email = "info@beta.example.lv"
        elif change == "term link":
            s2.taxonomy_terms.append(db.session.get(TaxonomyTerm, ids["children"]))
        elif change == "term name":
            db.session.get(TaxonomyTerm, ids["children"]).name = "Bērni un jaunieši"
        elif change == "new schedule":
            from directory.models import Schedule
            s1.schedules.append(Schedule(byday="MO"))
        elif change == "removed phone":
            s1.phones.remove(s1.phones[0])
        elif change == "service at another location":
            s1.service_at_locations.append(ServiceAtLocation(location=jekabpils))
            expected = [ids["s1"]]
        elif change == "moved phone":
            s2.phones.append(s1.phones[0])
        db.session.commit()
    assert sorted(services_changed_after(client, started)) == sorted(expected)


def test_an_import_that_sets_last_modified_keeps_it(small):
    app, ids = small
    client = app.test_client()
    started = datetime.now(timezone.utc)
    with app.app_context():
        s2 = db.session.get(Service, ids["s2"])
        s2.updated_at = at("2024-07-01")  # the publisher's last_modified
        s2.phones.append(Phone(number="+371 65200000"))
        db.session.flush()
        s2.phones.append(Phone(number="+371 65200001"))  # a later flush of the same import
        db.session.commit()
        assert aware(db.session.get(Service, ids["s2"]).updated_at) == at("2024-07-01")
    assert services_changed_after(client, started) == []
