"""Geocoding: the offline default, a fake Nominatim driven end to end through
geopy's real Nominatim class, the cache, and search near a place."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from conftest import make_app, signed_in, soup
from directory.extensions import db
from directory.geocoding import geocode_location, locate_changed_addresses, make_geocoding_service
from directory.models import Address, GeocodeCache, Location, Organization
from directory.seeding import seed_starter_data

# --------------------------------------------------------- a fake Nominatim


class FakeNominatim(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        query = parse_qs(urlparse(self.path).query).get("q", [""])[0]
        FakeNominatim.requests.append(query)
        if "slow" in query:
            time.sleep(1.5)
        if "broken" in query:
            self.send_response(500)
            self.end_headers()
            return
        results = []
        if query.startswith("Liepājas iela 4"):
            results = [{"lat": "55.8731", "lon": "26.5151", "display_name": "Liepājas iela 4, Daugavpils",
                        "addresstype": "building", "type": "house", "class": "building"}]
        body = json.dumps(results).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def nominatim():
    FakeNominatim.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def nominatim_app(database_uri, nominatim):
    app = make_app(
        database_uri,
        GEOCODER="nominatim",
        GEOCODER_OPTIONS={"domain": nominatim, "scheme": "http"},
        GEOCODER_TIMEOUT=0.5,
        GEOCODER_MIN_DELAY_SECONDS=0.01,
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def geocode(app, query, country="LV"):
    with app.app_context():
        result = app.extensions["geocoding"].geocode(db.session, query, country)
        db.session.commit()
        return result


def test_nominatim_hit_is_cached(nominatim_app):
    first = geocode(nominatim_app, "Liepājas iela 4, Daugavpils, Latvia")
    assert first.found and first.precision == "address"
    assert (round(first.latitude, 4), round(first.longitude, 4)) == (55.8731, 26.5151)
    again = geocode(nominatim_app, "Liepājas iela 4, Daugavpils, Latvia")
    assert again == first
    assert FakeNominatim.requests == ["Liepājas iela 4, Daugavpils, Latvia"]
    with nominatim_app.app_context():
        assert db.session.scalar(select(GeocodeCache.found)) is True


def test_nominatim_without_result_falls_back_to_the_town(nominatim_app):
    result = geocode(nominatim_app, "Nezināmā iela 9, Daugavpils, Latvia")
    assert result.found and result.precision == "town"
    nowhere = geocode(nominatim_app, "Nowhere 1, Atlantis")
    assert not nowhere.found
    geocode(nominatim_app, "Nowhere 1, Atlantis")
    assert FakeNominatim.requests.count("Nowhere 1, Atlantis") == 1  # "not found" is cached too


@pytest.mark.parametrize("query", ["slow street 1, Daugavpils", "broken street 1, Daugavpils"])
def test_time_outs_and_errors_are_logged_and_not_cached(nominatim_app, query, caplog):
    with caplog.at_level(logging.WARNING, logger="directory.geocoding"):
        assert not geocode(nominatim_app, query).found
    assert "failed" in caplog.text
    geocode(nominatim_app, query)
    assert FakeNominatim.requests.count(query) == 2  # asked again later
    with nominatim_app.app_context():
        assert db.session.scalars(select(GeocodeCache)).all() == []


def new_location(address_1, city, country="LV"):
    org = Organization(slug="test", name="Test centre")
    location = Location(name="Test")
    location.addresses.append(Address(address_1=address_1, city=city, country=country))
    org.locations.append(location)
    db.session.add(org)
    return location


def test_a_listing_is_saved_even_when_the_geocoder_fails(nominatim_app):
    with nominatim_app.app_context():
        location = new_location("broken street 1", "Rēzekne")
        assert locate_changed_addresses(db.session, location.addresses) == [location]
        db.session.commit()
        saved = db.session.scalar(select(Location).where(Location.name == "Test"))
        assert saved is not None and saved.latitude is None and saved.geocode_precision is None


def test_a_changed_address_is_geocoded_again(nominatim_app):
    with nominatim_app.app_context():
        location = new_location("Liepājas iela 4", "Daugavpils")
        locate_changed_addresses(db.session, location.addresses)
        db.session.commit()
        assert location.geocode_precision == "address"
        # Located as it is: not asked again.
        assert locate_changed_addresses(db.session, location.addresses) == []
        location.addresses[0].address_1 = None
        location.addresses[0].city = "Zarasai"
        location.addresses[0].country = "LT"
        assert locate_changed_addresses(db.session, location.addresses) == [location]
        db.session.commit()
        assert location.geocode_precision == "town"
        assert location.longitude == pytest.approx(26.25, abs=0.1)
    assert FakeNominatim.requests == ["Liepājas iela 4, Daugavpils, Latvia", "Zarasai, Lithuania"]


def test_a_plain_commit_never_geocodes(nominatim_app):
    """Geocoding is explicit: no flush listener locates an address behind
    the caller's back, new or changed."""
    with nominatim_app.app_context():
        location = new_location("Liepājas iela 4", "Daugavpils")
        db.session.commit()
        assert (location.latitude, location.geocode_precision, location.geocoded_query) == (None, None, None)
        location.addresses[0].city = "Zarasai"
        db.session.add(Location(name="Other", organization=location.organization,
                                addresses=[Address(city="Rēzekne", country="LV")]))
        db.session.commit()
        assert all(loc.latitude is None and loc.geocoded_query is None for loc in db.session.scalars(select(Location)))
    assert FakeNominatim.requests == []


def test_geocode_on_save_off_locates_nothing(database_uri):
    app = make_app(database_uri, GEOCODE_ON_SAVE=False)
    with app.app_context():
        location = new_location(None, "Daugavpils")
        assert locate_changed_addresses(db.session, location.addresses) == []
        assert location.latitude is None
        db.session.rollback()
        db.engine.dispose()


def test_an_address_saved_through_the_manage_form_is_located(seeded_app, accounts):
    from test_manage import SASKARSME_LOCATION, form_values, post, replace

    client = signed_in(seeded_app, "editor@example.lv")
    url = f"/en/manage/locations/{SASKARSME_LOCATION}"
    data = form_values(soup(client.get(url)), "#location-form")
    # Another field alone leaves the map position as it is.
    assert post(client, url, replace(data, transportation="Autobuss Nr. 5", save="1")).status_code == 302
    with seeded_app.app_context():
        located = db.session.get(Location, SASKARSME_LOCATION)
        before = (located.latitude, located.longitude, located.geocoded_query)
        assert before[0] is not None
    data = form_values(soup(client.get(url)), "#location-form")
    moved = replace(data, address_1="", city="Zarasai", municipality="", postal_code="", country="LT", save="1")
    assert post(client, url, moved).status_code == 302
    with seeded_app.app_context():
        located = db.session.get(Location, SASKARSME_LOCATION)
        assert located.geocoded_query == "Zarasai, Lithuania" and located.geocoded_query != before[2]
        assert located.geocode_precision == "town"
        assert (located.latitude, located.longitude) == (pytest.approx(55.73, abs=0.1), pytest.approx(26.25, abs=0.1))


def test_an_imported_address_is_located(seeded_app, tmp_path):
    from directory.hsds import importer
    from test_exchange import edit_csv, export, row_of
    from test_manage import SASKARSME_LOCATION

    package = export(seeded_app, tmp_path / "package")

    def move(header, rows):
        rows[row_of(rows, location_id=SASKARSME_LOCATION)].update(
            address_1="", city="Zarasai", region="", state_province="", postal_code="", country="LT")

    def forget_position(header, rows):
        rows[row_of(rows, id=SASKARSME_LOCATION)].update(latitude="", longitude="")

    edit_csv(package, "x_incomplete_addresses.csv", move)  # no postal code: not a complete HSDS address
    edit_csv(package, "locations.csv", forget_position)
    edit_csv(package, "x_locations.csv", lambda header, rows: rows[row_of(rows, id=SASKARSME_LOCATION)].update(
        geocode_precision=""))
    with seeded_app.app_context():
        report = importer.import_package(db.session, package)
        assert report.ok, [str(problem) for problem in report.problems]
        located = db.session.get(Location, SASKARSME_LOCATION)
        assert located.geocoded_query == "Zarasai, Lithuania" and located.geocode_precision == "town"
        assert located.longitude == pytest.approx(26.25, abs=0.1)


# ------------------------------------------------------ the starter data


def test_starter_locations_are_geocoded_at_seed_time(seeded_app):
    with seeded_app.app_context():
        locations = {loc.name: loc for loc in db.session.scalars(select(Location))}
        assert all(loc.latitude is not None for loc in locations.values())
        assert {loc.geocode_precision for loc in locations.values()} <= {"town", "approximate"}
        assert locations["Bijusī Antazavas bērnu māja"].geocode_precision == "approximate"
        saskarsme = locations["Dienas centrs “Saskarsme”"]
        assert (round(saskarsme.latitude), round(saskarsme.longitude)) == (56, 27)


def test_geocode_command_fills_missing_coordinates(seeded_app):
    with seeded_app.app_context():
        for location in db.session.scalars(select(Location)):
            location.latitude = location.longitude = None
        db.session.commit()
    result = seeded_app.test_cli_runner().invoke(args=["geocode"])
    assert result.exit_code == 0, result.output
    assert "11 locations: 9 found, 2 approximate, 0 not found." in result.output
    with seeded_app.app_context():
        assert all(loc.latitude is not None for loc in db.session.scalars(select(Location)))


def test_geocoder_by_configuration():
    config = make_app("sqlite://").config
    assert make_geocoding_service(config).provider == "offline"
    online = make_geocoding_service({**config, "GEOCODER": "nominatim", "GEOCODER_OPTIONS": {"domain": "x.test"}})
    assert online.provider == "nominatim:x.test"
    assert online.geocoder.headers["User-Agent"].startswith("border-social-directory")


# ------------------------------------------------------- near a place


def result_names(client, url):
    return [a.get_text(strip=True) for a in soup(client.get(url)).select(".result h3 a")]


def test_near_daugavpils_puts_saskarsme_before_birzai(client):
    found = result_names(client, "/lv/?near=Daugavpils")
    assert found.index("Dienas centrs “Saskarsme”") < found.index("Higiēnas centri")
    page = soup(client.get("/lv/?near=daugavpils"))
    assert "Daugavpils" in page.select_one(".origin-note").text
    first = page.select_one(".result .distance").get_text(strip=True)
    assert first.endswith("km") or first.endswith("m")


def test_radius_excludes_far_centres(client):
    near = result_names(client, "/lv/?near=Daugavpils&radius=10")
    assert "Dienas centrs “Saskarsme”" in near
    assert "Sociālās nometnes" not in near and "Higiēnas centri" not in near
    # Antazavė is placed at Zarasai (approximate), some 23 km from Daugavpils;
    # Biržai is over 100 km away.
    wider = result_names(client, "/lv/?near=Daugavpils&radius=25")
    assert "Sociālās nometnes" in wider and "Higiēnas centri" not in wider


def test_near_combines_with_other_filters_and_position(client):
    assert result_names(client, "/lv/?near=Viesīte&radius=10&group=youth") == ["Jaunatnes iniciatīvu centrs"]
    by_position = result_names(client, "/lv/?lat=55.87&lon=26.53&radius=10")
    assert "Dienas centrs “Saskarsme”" in by_position and "Higiēnas centri" not in by_position


def test_unknown_place_says_so_and_suggests_names(client):
    response = client.get("/lv/?near=Daugavpil")
    assert response.status_code == 200
    notice = soup(response).select_one(".notice")
    assert "“Daugavpil”" in notice.text
    assert "Daugavpils" in [a.get_text(strip=True) for a in notice.select("a")]
    assert client.get("/lv/?near=%21%3F%21&radius=5").status_code == 200


def test_map_page_has_markers_and_loads_leaflet_only_there(client):
    page = soup(client.get("/lv/map?near=Daugavpils"))
    markers = json.loads(page.select_one("#map-markers").string)
    assert any("Saskarsme" in s["name"] for m in markers for s in m["services"])
    assert all(m["approximate"] for m in markers)
    assert page.select_one('script[src*="leaflet"]')
    assert len(page.select(".result")) == 15  # the list is there without the map
    assert not soup(client.get("/lv/")).select_one('script[src*="leaflet"]')
    assert soup(client.get("/lv/?q=centrs")).select_one(".map-link a")["href"] == "/lv/map?q=centrs"
