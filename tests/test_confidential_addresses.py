"""Confidential addresses (issue 18): a shelter's street, postal code,
directions and exact coordinates reach no public output — no page or htmx
fragment, no API answer in any shape, no map data, no published export, no
printed card or client's slip, no search document — while its town does,
and a search near the town still finds it. Signed-in social workers, the
centre's editors and admins see it whole on the centre page.

The public outputs are crawled from the URL map (every GET rule of the
public, root, ops and API blueprints, every API parameter), so a page or a
parameter added later is checked too, or fails here until the crawl is
taught how to fill it in."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlencode

import pytest
from flask import url_for
from flask_babel import force_locale, gettext
from geopy.location import Location as GeoLocation
from sqlalchemy import select

from conftest import clear_all_rows, csrf_token, make_user, signed_in, soup
from directory import confidential, full_text, geocoding
from directory.config import LANGUAGES
from directory.contact_card import contact_card
from directory.extensions import db
from directory.hsds import importer
from directory.hsds.parameters import ENDPOINT_PARAMETERS
from directory.models import (
    Address,
    Location,
    Organization,
    OutboxMessage,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    SourceDocument,
    TaxonomyTerm,
    User,
)
from directory.referral_workflow import send_referral
from directory.search import Origin, exact_km, parse_filters, search_services
from directory.templating import format_distance

SLUG = "drosa-maja"
ORG_ID = "6f1c2a55-0c3e-4d7b-9a51-2b7f3c9e0a11"
SHELTER_ID = "6f1c2a55-0c3e-4d7b-9a51-2b7f3c9e0a12"  # the confidential location
OFFICE_ID = "6f1c2a55-0c3e-4d7b-9a51-2b7f3c9e0a13"  # the same centre's public office
SERVICE_ID = "6f1c2a55-0c3e-4d7b-9a51-2b7f3c9e0a14"
SAL_ID = "6f1c2a55-0c3e-4d7b-9a51-2b7f3c9e0a15"
OFFICE_SAL_ID = "6f1c2a55-0c3e-4d7b-9a51-2b7f3c9e0a16"  # after SAL_ID: cards take the shelter's place first
OPEN_SLUG = "atverts-centrs"  # another centre, with a postal code to measure from

TOWN, MUNICIPALITY = "Krāslava", "Krāslavas novads"
STREET, SECOND_LINE, ATTENTION = "Slepenā iela 7", "Sētas māja", "Ievai Ozolai"
POSTCODE = "LV-5617"
DIRECTIONS = "Autobuss līdz pieturai Zaļā birzs"
# The shelter's own point: 7 km west of the town, toward Daugavpils.
EXACT = (55.889913, 27.058246)
OFFICE_STREET = "Rīgas iela 51"
OPEN_POSTCODE = "LV-5401"  # Daugavpils: 34 km from the shelter, 41 km from its town

WORKER, EDITOR, OTHER_EDITOR, ADMIN = "worker@example.lv", "shelter@example.lv", "other@example.lv", "admin@example.lv"

# What must never be public, as text: the street and second line (with and
# without diacritics), the attention line, the directions, the postal code
# and the exact coordinates in any notation a page or file may use.
SECRETS = [
    re.compile(pattern, re.IGNORECASE) for pattern in (
        r"slepen", r"sētas māja", r"setas maja", r"ievai ozolai", r"zaļā birzs", r"zala birzs",
        r"(?<![\w-])(lv-?)?5617(?!\w)",
        r"55[.,]8899", r"27[.,]0582", r"27[.,]058(?!\d)",
    )
]


def town_point() -> tuple[float, float]:
    found = confidential.town_point(TOWN, "LV")
    assert found is not None and found[2] == "town"
    return found[0], found[1]


class ExactGeocoder:
    """Finds every address at the shelter's exact point, as an online
    geocoder that knows the street would."""

    def geocode(self, query, **options):
        return GeoLocation(query, EXACT, {"precision": "address"})


def readable(text: str) -> tuple[str, list]:
    """`text` as a reader sees it (JSON's \\u escapes decoded) and the JSON
    documents in it (one, or an ndjson stream's)."""
    try:
        documents = [json.loads(text)]
    except ValueError:
        documents = []
        for line in text.splitlines():  # ndjson
            try:
                documents.append(json.loads(line))
            except ValueError:
                documents = []
                break
    return "\n".join([text, *(json.dumps(d, ensure_ascii=False) for d in documents)]), documents


def leaks(text: str) -> list[str]:
    """The confidential parts found in `text` (JSON numbers near the exact
    point count too, however they are written)."""
    decoded, documents = readable(text)
    found = [pattern.pattern for pattern in SECRETS if pattern.search(decoded)]
    for number in _numbers(documents):
        if abs(number - EXACT[0]) < 0.002 or abs(number - EXACT[1]) < 0.002:
            found.append(f"coordinate {number}")
    return found


def _numbers(node):
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        yield float(node)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value)


@pytest.fixture
def shelter(seeded_app):
    """A centre with a confidential shelter (geocoded to its exact point by a
    geocoder that knows streets) and a public office, another centre with a
    postal code, and accounts: a social worker, the shelter's editor, an
    editor of another centre and an admin."""
    with seeded_app.app_context():
        session = db.session
        shelter_type = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "shelter"))
        crisis = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "crisis"))
        org = Organization(id=ORG_ID, slug=SLUG, name="Drošā māja", description="Krīzes centrs sievietēm un bērniem",
                           email="palidziba@example.lv", text_language="lv", status="published")
        shelter = Location(id=SHELTER_ID, organization=org, name="Drošā māja – patvērums", confidential=True,
                           transportation=DIRECTIONS, description="Patvērums sievietēm ar bērniem")
        address = Address(location=shelter, address_1=STREET, address_2=SECOND_LINE, attention=ATTENTION,
                          city=TOWN, municipality=MUNICIPALITY, postal_code=POSTCODE, country="LV")
        shelter.phones.append(Phone(number="+371 26000000", description="diennakts"))
        shelter.schedules.append(Schedule(freq="WEEKLY", byday="MO,TU,WE,TH,FR,SA,SU"))
        office = Location(id=OFFICE_ID, organization=org, name="Konsultāciju punkts")
        office_address = Address(location=office, address_1=OFFICE_STREET, city=TOWN, municipality=MUNICIPALITY,
                                 postal_code="LV-5601", country="LV")
        service = Service(id=SERVICE_ID, organization=org, name="Patvērums un krīzes palīdzība",
                          description="Drošs patvērums un psihologa atbalsts", status="active",
                          taxonomy_terms=[shelter_type, crisis])
        service.service_at_locations.append(ServiceAtLocation(id=SAL_ID, location=shelter))
        service.service_at_locations.append(ServiceAtLocation(id=OFFICE_SAL_ID, location=office))
        other = Organization(slug=OPEN_SLUG, name="Atvērtais dienas centrs", description="Dienas centrs",
                             text_language="lv", status="published")
        open_location = Location(organization=other, name="Atvērtais dienas centrs")
        open_address = Address(location=open_location, address_1="Saules iela 1", city="Daugavpils",
                               postal_code=OPEN_POSTCODE, country="LV")
        other_service = Service(organization=other, name="Dienas centrs pieaugušajiem", status="active")
        other_service.service_at_locations.append(ServiceAtLocation(location=open_location))
        session.add_all([org, other])
        session.flush()
        # Staff save an address and it is geocoded, confidential or not: to
        # the street's point by a geocoder that knows it, to the town offline.
        exact = geocoding.GeocodingService(ExactGeocoder(), "exact-test")
        geocoding.locate_changed_addresses(session, [address], exact)
        geocoding.locate_changed_addresses(session, [office_address, open_address],
                                           seeded_app.extensions["geocoding"])
        session.commit()
        assert (shelter.latitude, shelter.longitude, shelter.geocode_precision) == (*EXACT, "address")
        assert open_location.latitude is not None
        source = session.scalars(select(SourceDocument.id)).first()
        ids = {
            "source": source,
            "taxonomy": shelter_type.taxonomy_id,
            "term": shelter_type.id,
        }
    ids["worker"] = make_user(seeded_app, WORKER, "social_worker")
    ids["editor"] = make_user(seeded_app, EDITOR, "editor", organizations=[SLUG])
    ids["other_editor"] = make_user(seeded_app, OTHER_EDITOR, "editor", organizations=[OPEN_SLUG])
    ids["admin"] = make_user(seeded_app, ADMIN, "admin")
    return ids


# ---------------------------------------------------------------- the crawl

# Public blueprints: everything they answer is for anyone.
PUBLIC_BLUEPRINTS = ("root", "public", "ops", "api")
# Query strings tried on every public page (pages ignore what they do not read).
PAGE_QUERIES = [
    {}, {"q": TOWN}, {"near": TOWN}, {"near": TOWN, "radius": 5}, {"place": TOWN}, {"q": "patvērums"},
    {"lat": 55.9, "lon": 26.9}, {"s": SERVICE_ID}, {"format": "json"}, {"type": "shelter"},
]


def url_values(shelter: dict) -> dict[str, list[str]]:
    """What each URL argument of a public rule is filled with: the test data's."""
    return {
        "lang_code": list(LANGUAGES),
        "slug": [SLUG],
        "file_name": [shelter["source"]],
        "service_id": [SERVICE_ID],
        "organization_id": [ORG_ID],
        "service_at_location_id": [SAL_ID, OFFICE_SAL_ID],
        "taxonomy_id": [shelter["taxonomy"]],
        "term_id": [shelter["term"]],
    }


def api_values(shelter: dict) -> dict[str, list[dict[str, str]]]:
    """The queries each API parameter is tried with (alone, or with the one it needs)."""
    return {
        "search": [{"search": TOWN}, {"search": "Patvērums"}],
        "page": [{"page": "1"}],
        "per_page": [{"per_page": "200"}],
        "format": [{"format": "json"}, {"format": "ndjson"}],
        "taxonomy_term_id": [{"taxonomy_term_id": shelter["term"]}],
        "taxonomy_id": [{"taxonomy_id": shelter["taxonomy"]}],
        "organization_id": [{"organization_id": ORG_ID}],
        "modified_after": [{"modified_after": "2000-01-01T00:00:00Z"}],
        "minimal": [{"minimal": "true"}],
        "full": [{"full": "true"}, {"full": "true", "format": "ndjson"}],
        "full_service": [{"full_service": "true"}],
        "top_only": [{"top_only": "true"}],
        "parent_id": [{"parent_id": shelter["term"]}],
        "place": [{"place": TOWN}],
        "type": [{"type": "shelter"}],
        "group": [{"group": "crisis"}],
        "language": [{"language": "lv"}],
        "free": [{"free": "true"}],
        "wheelchair": [{"wheelchair": "true"}],
        "open": [{"open": "true"}],
        "near": [{"near": TOWN}, {"near": "Daugavpils", "full": "true"}],
        "radius": [{"near": TOWN, "radius": "5"}],
        "postcode": [{"postcode": OPEN_POSTCODE, "full": "true"}],
        "proximity": [{"postcode": OPEN_POSTCODE, "proximity": str(p)} for p in (30_000, 37_500, 45_000)],
    }


def public_requests(app, shelter: dict) -> list[tuple[str, str, str]]:
    """(method, URL, endpoint) of every public rule, filled with the test data; a rule
    with an argument this crawl cannot fill fails the test (teach it here)."""
    values = url_values(shelter)
    found = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint not in PUBLIC_BLUEPRINTS or rule.endpoint == "api.unknown_url":
            continue
        unknown = set(rule.arguments) - set(values)
        assert not unknown, f"the crawl cannot fill {sorted(unknown)} of {rule.rule}: teach url_values"
        combinations = [{}]
        for name in sorted(rule.arguments):
            combinations = [{**done, name: value} for done in combinations for value in values[name]]
        with app.test_request_context():
            for arguments in combinations:
                url = url_for(rule.endpoint, **arguments)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    found.append((method, url, rule.endpoint))
    return found


def assert_no_leak(response, label: str) -> str:
    text = response.get_data(as_text=True)
    assert leaks(text) == [], f"{label} ({response.status_code}) shows {leaks(text)}"
    for name, value in response.headers.items():
        assert leaks(value) == [], f"{label}: header {name} shows {leaks(value)}"
    return text


def test_no_public_page_fragment_or_api_answer_shows_the_confidential_address(seeded_app, shelter):
    client = seeded_app.test_client()
    requests = public_requests(seeded_app, shelter)
    endpoints = {endpoint for _method, _url, endpoint in requests}
    # The crawl reaches what matters (a renamed endpoint must not drop out unnoticed).
    assert {"public.home", "public.results_map", "public.centre", "public.centres", "public.shortlist",
            "public.shortlist_shared", "api.services", "api.service", "api.service_at_locations",
            "api.service_at_location", "api.organizations", "api.organization"} <= endpoints
    # The visitor's shortlist holds the shelter's service, so its pages print it.
    token = csrf_token(client, f"/lv/centres/{SLUG}")
    client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": SERVICE_ID})
    api_parameters = api_values(shelter)
    seen_town = set()
    count = 0
    for method, url, endpoint in requests:
        if method == "POST":
            data = {"csrf_token": token, "service_id": SERVICE_ID, "next": "/lv/", "kind": "address",
                    "comment": "Kur tieši jūs atrodaties?"}
            for headers in ({}, {"HX-Request": "true"}):
                response = client.post(url, data=data, headers=headers)
                assert_no_leak(response, f"POST {url} {headers}")
                count += 1
            client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": SERVICE_ID})
            continue
        if endpoint.startswith("api."):
            name = endpoint.removeprefix("api.")
            queries = [{}]
            for parameter in ENDPOINT_PARAMETERS.get(name, ()):
                assert parameter in api_parameters, f"the crawl does not know API parameter {parameter!r}"
                queries += api_parameters[parameter]
            header_sets = [{}]
        else:
            lang = url.split("/")[1]
            queries = PAGE_QUERIES if lang in ("lv", "en") else [{}, {"q": TOWN}]
            header_sets = [{}, {"HX-Request": "true"}]
        for query in queries:
            full_url = url + ("?" + urlencode(query) if query else "")
            for headers in header_sets:
                response = client.get(full_url, headers=headers)
                assert response.status_code < 500, full_url
                text = readable(assert_no_leak(response, f"GET {full_url} {headers}"))[0]
                count += 1
                if "Patvērums un krīzes palīdzība" in text and TOWN in text:
                    seen_town.add(endpoint)
    assert count > 300
    # Not vacuous: the shelter's service was there, with its town, on these.
    assert {"public.home", "public.results_map", "public.centre", "public.shortlist", "public.shortlist_shared",
            "api.services", "api.service", "api.service_at_location", "api.organization"} <= seen_town
    with seeded_app.app_context():
        bodies = [message.body for message in db.session.scalars(select(OutboxMessage))]
    assert bodies and all(leaks(body) == [] for body in bodies)  # the problem reports went out without it


def test_the_centre_page_shows_the_town_and_says_why_the_street_is_missing(seeded_app, shelter):
    client = seeded_app.test_client()
    for lang in LANGUAGES:
        page = soup(client.get(f"/{lang}/centres/{SLUG}"))
        addresses = [element.get_text(" ", strip=True) for element in page.select("dd.address address")]
        with seeded_app.test_request_context(f"/{lang}/"), force_locale(lang):
            note = gettext("Address not published: the centre will tell you where to go.")
        shelter_address = next(text for text in addresses if note in text)
        assert TOWN in shelter_address and MUNICIPALITY in shelter_address
        # The same centre's public office keeps its street.
        assert any(OFFICE_STREET in text for text in addresses)
        assert DIRECTIONS not in page.get_text()


@pytest.mark.parametrize("email, sees", [
    (WORKER, True), (EDITOR, True), (ADMIN, True), (OTHER_EDITOR, False),
])
def test_social_workers_the_centres_editors_and_admins_see_the_address(seeded_app, shelter, email, sees):
    client = signed_in(seeded_app, email)
    response = client.get(f"/en/centres/{SLUG}")
    text = response.get_data(as_text=True)
    assert (STREET in text and POSTCODE in text and DIRECTIONS in text) is sees
    if sees:
        assert "Not published: residents see only the town." in text
        assert "no-store" in response.headers["Cache-Control"]  # no cache keeps a page with it
    else:
        assert leaks(text) == [] and "Address not published" in text
    anonymous = seeded_app.test_client().get(f"/en/centres/{SLUG}").get_data(as_text=True)
    assert leaks(anonymous) == []


def test_signed_in_staff_still_print_lists_without_it(seeded_app, shelter):
    """Shortlists and search cards go to residents: no one sees the street there."""
    client = signed_in(seeded_app, WORKER)
    token = csrf_token(client, f"/lv/centres/{SLUG}")
    client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": SERVICE_ID})
    for url in ("/lv/shortlist/", f"/lv/shortlist/shared?s={SERVICE_ID}", f"/lv/?q={TOWN}", f"/lv/map?q={TOWN}"):
        text = client.get(url).get_data(as_text=True)
        assert "Patvērums un krīzes palīdzība" in text and leaks(text) == [], url


def test_the_referral_form_shows_the_address_and_the_slip_says_the_centre_will_tell(seeded_app, shelter):
    worker = signed_in(seeded_app, WORKER)
    form = worker.get(f"/en/referrals/new?service={SERVICE_ID}").get_data(as_text=True)
    assert STREET in form and POSTCODE in form  # the social worker sees where the client goes
    with seeded_app.app_context():
        referral = send_referral(db.session, db.session.get(Service, SERVICE_ID), db.session.get(User, shelter["worker"]),
                                 client_name="A. K.", client_contact="+371 20000000", client_language="lt",
                                 need="Drošs patvērums šonakt", consent=True)
        db.session.commit()
        referral_id = referral.id
    page = soup(worker.get(f"/en/referrals/{referral_id}"))
    slip_url = page.select_one("#slip-link")["href"]
    assert slip_url == f"/lt/referrals/{referral_id}/slip"
    for lang in LANGUAGES:
        response = worker.get(f"/{lang}/referrals/{referral_id}/slip")
        assert response.status_code == 200
        slip = soup(response)
        assert slip.html["lang"] == lang
        with seeded_app.test_request_context(f"/{lang}/"), force_locale(lang):
            sentence = gettext("The centre will tell you where to go.")
        addresses = [element.get_text(" ", strip=True) for element in slip.select(".address address")]
        assert any(sentence in text and TOWN in text for text in addresses), (lang, addresses)
        assert leaks(response.get_data(as_text=True)) == [], lang


def test_search_finds_it_by_its_town_never_by_its_street(seeded_app, shelter):
    client = seeded_app.test_client()

    def found(url):
        page = soup(client.get(url))
        return SERVICE_ID in json.dumps([a["href"] for a in page.select(".result-list a")]) or any(
            "Patvērums un krīzes palīdzība" in a.get_text() for a in page.select(".result-list h3 a"))

    assert found(f"/lv/?q={TOWN}")
    assert found(f"/lv/?near={TOWN}&radius=5")  # 7 km from its own point: found by its town
    assert found(f"/lv/?place={TOWN}")
    for words in ("Slepenā", "slepena iela", "5617", "LV-5617", "Sētas māja", "Zaļā birzs", "Ievai"):
        assert not found(f"/lv/?q={words}"), words
        answer = client.get("/api/services?" + urlencode({"search": words})).get_json()
        assert SERVICE_ID not in [item["id"] for item in answer["contents"]], words
    with seeded_app.app_context():
        _names, words = full_text.documents(db.session, [SERVICE_ID])[SERVICE_ID]
    assert "kraslava" in words
    assert not {word for word in words if word.startswith(("slepen", "5617", "setas", "ievai", "birzs"))}


def test_cards_and_markers_stand_at_the_town_and_distances_are_measured_from_it(seeded_app, shelter):
    town = town_point()
    with seeded_app.app_context():
        daugavpils = confidential.town_point("Daugavpils", "LV")
        origin = Origin(daugavpils[0], daugavpils[1], "Daugavpils", "town")
        result = search_services(db.session, parse_filters({"q": "patvērums"}), origin=origin)
        summary = next(s for s in result.services if s.id == SERVICE_ID)
        assert (summary.latitude, summary.longitude, summary.precision) == (*town, "town")
        assert summary.distance_km == pytest.approx(exact_km(origin, *town))
        # The exact point is 7 km nearer: a distance from it would tell.
        assert exact_km(origin, *EXACT) < summary.distance_km - 5
        with force_locale("en"):
            shown = format_distance(summary.distance_km, True)
    page = soup(seeded_app.test_client().get("/en/?q=patvērums&near=Daugavpils"))
    card = next(item for item in page.select(".result-list li") if "Patvērums" in item.get_text())
    assert card.select_one(".distance").get_text(strip=True) == shown
    markers = json.loads(soup(seeded_app.test_client().get(f"/en/map?q={TOWN}")).select_one("#map-markers").string)
    marker = next(m for m in markers if any(s["name"] == "Patvērums un krīzes palīdzība" for s in m["services"]))
    assert (marker["lat"], marker["lon"], marker["approximate"]) == (*town, True)


def test_the_api_places_it_at_its_town_and_measures_proximity_from_there(seeded_app, shelter):
    client = seeded_app.test_client()
    town = town_point()
    location = client.get(f"/api/service_at_locations/{SAL_ID}").get_json()["location"]
    assert (location["latitude"], location["longitude"]) == town
    assert "transportation" not in location
    (address,) = location["addresses"]
    assert address["city"] == TOWN and address["region"] == MUNICIPALITY and address["country"] == "LV"
    assert address["address_1"] == "" and address["postal_code"] == ""  # HSDS requires them: empty, not invented
    assert "address_2" not in address and "attention" not in address
    # From Daugavpils the town is 41 km away, the shelter itself 34 km.
    with seeded_app.app_context():
        daugavpils = db.session.scalar(select(Location).join(Address).where(Address.postal_code == OPEN_POSTCODE))
        origin = Origin(daugavpils.latitude, daugavpils.longitude, "", "town")
        assert exact_km(origin, *EXACT) < 37.5 < exact_km(origin, *town)

    def near(proximity):
        answer = client.get(f"/api/service_at_locations?postcode={OPEN_POSTCODE}&proximity={proximity}"
                            "&per_page=200").get_json()
        return SAL_ID in [item["id"] for item in answer["contents"]]

    assert not near(37_500) and near(45_000)
    # Its postal code locates nothing, exactly as a code no listing has.
    unknown = client.get("/api/service_at_locations?postcode=LV-5699")
    own = client.get(f"/api/service_at_locations?postcode={POSTCODE}")
    assert own.status_code == unknown.status_code == 400
    assert own.get_json()["error"] == unknown.get_json()["error"].replace("LV-5699", POSTCODE)


def test_cards_withhold_the_address_unless_told_to_reveal_it(seeded_app, shelter):
    with seeded_app.app_context():
        service = db.session.get(Service, SERVICE_ID)
        public = contact_card(service)
        assert {address.city for address in public.addresses} == {TOWN}
        assert {address.address_1 for address in public.addresses} == {OFFICE_STREET, None}
        assert all(address.postal_code is None for address in public.addresses if getattr(address, "withheld", False))
        staff = contact_card(service, reveal=True)
        assert {address.address_1 for address in staff.addresses} == {OFFICE_STREET, STREET}


def test_a_published_export_withholds_it_and_a_backup_keeps_it_and_its_flag(seeded_app, shelter, tmp_path):
    runner = seeded_app.test_cli_runner()
    public, backup = tmp_path / "public", tmp_path / "backup"
    result = runner.invoke(args=["export", "--published-only", str(public)])
    assert result.exit_code == 0, result.output
    assert "confidential" not in result.output
    for path in sorted(public.iterdir()):
        assert leaks(path.read_text(encoding="utf-8")) == [], path.name
    town = town_point()
    locations = {row["id"]: row for row in csv.DictReader(io.StringIO((public / "locations.csv").read_text()))}
    assert (float(locations[SHELTER_ID]["latitude"]), float(locations[SHELTER_ID]["longitude"])) == town
    x_locations = {row["id"]: row for row in csv.DictReader(io.StringIO((public / "x_locations.csv").read_text()))}
    assert x_locations[SHELTER_ID]["confidential"] == "true"
    assert x_locations[SHELTER_ID]["geocode_precision"] == "town"
    assert TOWN in (public / "x_incomplete_addresses.csv").read_text()  # no street: an incomplete address

    result = runner.invoke(args=["export", str(backup)])
    assert result.exit_code == 0
    assert "confidential address" in result.output and "keep it private" in result.output
    assert STREET in (backup / "x_incomplete_addresses.csv").read_text()  # the sources give no state_province
    # The backup restores the address, its point and the flag.
    with seeded_app.app_context():
        db.session.remove()
        clear_all_rows()
        report = importer.import_package(db.session, backup)
        assert report.ok, report.problems
        db.session.commit()
        location = db.session.get(Location, SHELTER_ID)
        assert location.confidential and location.physical_address.address_1 == STREET
        assert (location.latitude, location.longitude) == EXACT
    text = seeded_app.test_client().get(f"/lv/centres/{SLUG}").get_data(as_text=True)
    assert TOWN in text and leaks(text) == []
