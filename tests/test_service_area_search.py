""""Serves my place" and the age filter (issue 18): areas across the
Latvia–Lithuania border, services that do not say kept and marked, a place
that names no municipality, ages at the edges of a range, a confidential
place found by its town only."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from sqlalchemy import select, text

from conftest import soup
from directory import facet_build, live_index
from directory.extensions import db
from directory.models import Address, Location, Organization, Service, ServiceArea, ServiceAtLocation
from directory.search import (
    SearchFilters,
    parse_filters,
    resolve_origin,
    resolve_served_place,
    search_services,
)

# Zarasai, across the border from Daugavpils (some 25 km).
ZARASAI = (55.73225, 26.25115)
DAUGAVPILS = (55.88333, 26.53333)


def add_centre(slug: str, city: str, country: str, position, *, confidential: bool = False) -> Organization:
    centre = Organization(slug=slug, name=f"Centras {slug}", text_language="lt" if country == "LT" else "lv")
    location = Location(name=f"Vieta {slug}", latitude=position[0], longitude=position[1],
                        geocode_precision="address", confidential=confidential)
    location.addresses.append(Address(address_1="Sodų g. 1", city=city, country=country))
    centre.locations.append(location)
    db.session.add(centre)
    return centre


def add_service(centre: Organization, name: str, areas=(), location_areas=(), minimum_age=None,
                maximum_age=None) -> Service:
    """A service at the centre's place; `areas` on the service itself,
    `location_areas` on the service at its location: (code, words) each."""
    service = Service(name=name, organization=centre, minimum_age=minimum_age, maximum_age=maximum_age)
    at_location = ServiceAtLocation(location=centre.locations[0])
    service.service_at_locations.append(at_location)
    for code, words in areas:
        service.service_areas.append(ServiceArea(area_code=code, name=words))
    for code, words in location_areas:
        at_location.service_areas.append(ServiceArea(area_code=code, name=words))
    db.session.add(service)
    return service


@pytest.fixture
def border_app(app):
    """Services of a centre in Zarasai (Lithuania) serving various areas, and
    one in Daugavpils (Latvia) with age ranges."""
    with app.app_context():
        zarasai = add_centre("zarasai", "Zarasai", "LT", ZARASAI)
        add_service(zarasai, "Pagalba Daugavpils gyventojams", areas=[("LV-DGV", None)])
        add_service(zarasai, "Zarasų rajono pagalba", location_areas=[("LT-60", "Zarasų rajonas")])
        add_service(zarasai, "Visos Lietuvos linija", areas=[("LT", None)])
        add_service(zarasai, "Nenurodyta teritorija")
        add_service(zarasai, "Ežerų krašto pagalba", areas=[(None, "Ežerų kraštas")])
        daugavpils = add_centre("daugavpils", "Daugavpils", "LV", DAUGAVPILS)
        add_service(daugavpils, "Jauniešu centrs", areas=[("LV-DGV", None)], minimum_age=16, maximum_age=25)
        add_service(daugavpils, "Pieaugušo atbalsts", areas=[("LV", None)], minimum_age=18)
        add_service(daugavpils, "Bērnu rotaļu istaba", areas=[("LV-DGV", None)], maximum_age=12)
        db.session.commit()
    return app


ZARASAI_SERVICES = {"Pagalba Daugavpils gyventojams", "Zarasų rajono pagalba", "Visos Lietuvos linija",
                    "Nenurodyta teritorija", "Ežerų krašto pagalba"}
DAUGAVPILS_SERVICES = {"Jauniešu centrs", "Pieaugušo atbalsts", "Bērnu rotaļu istaba"}
NOT_STATED = {"Nenurodyta teritorija", "Ežerų krašto pagalba"}


def cards(client, url) -> dict[str, str]:
    """Each result's name and the text of its card (after the redirect
    that drops a form's empty fields)."""
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    return {li.select_one("h3 a").get_text(strip=True): li.get_text(" ", strip=True)
            for li in soup(response).select(".result")}


def names(client, url) -> set[str]:
    return set(cards(client, url))


# ------------------------------------------------------------ serves my place


def test_a_service_across_the_border_is_found_for_the_municipality_it_serves(border_app):
    client = border_app.test_client()
    found = names(client, "/en/?serves=LV-DGV")
    assert "Pagalba Daugavpils gyventojams" in found  # in Zarasai, serving Daugavpils
    assert "Zarasų rajono pagalba" not in found  # serves Zarasai district only
    assert "Visos Lietuvos linija" not in found  # serves Lithuania only
    assert "Pieaugušo atbalsts" in found  # serves all of Latvia
    assert NOT_STATED <= found  # kept, and marked (below)
    assert names(client, "/en/?near=Daugavpils&serves=here") == found


def test_the_place_searched_near_names_the_municipality(border_app):
    client = border_app.test_client()
    page = soup(client.get("/en/?near=Daugavpils&serves=here"))
    note = page.select_one(".served-note").get_text(" ", strip=True)
    assert note.startswith("Services serving Daugavpils (the municipality of Daugavpils).")
    assert "2 of them do not say which area they serve." in note
    # From Zarasai: its district's service, Lithuania's, not Daugavpils's.
    found = names(client, "/en/?near=Zarasai&serves=here")
    assert {"Zarasų rajono pagalba", "Visos Lietuvos linija"} <= found
    assert "Pagalba Daugavpils gyventojams" not in found and "Pieaugušo atbalsts" not in found
    note = soup(client.get("/en/?near=Zarasai&serves=here")).select_one(".served-note").get_text(" ", strip=True)
    assert "Services serving Zarasai (the municipality of Zarasai District Municipality)." in note


def test_a_service_serving_only_its_district_is_found_with_any_area(border_app):
    client = border_app.test_client()
    assert "Zarasų rajono pagalba" not in names(client, "/en/?serves=LV-DGV")
    assert "Zarasų rajono pagalba" in names(client, "/en/?serves=LT-60")
    assert names(client, "/en/?serves=") == ZARASAI_SERVICES | DAUGAVPILS_SERVICES
    assert names(client, "/en/") == ZARASAI_SERVICES | DAUGAVPILS_SERVICES


def test_a_service_serving_a_whole_country_is_found_from_its_municipalities(border_app):
    client = border_app.test_client()
    found = names(client, "/en/?serves=LT-60")
    assert "Visos Lietuvos linija" in found
    assert "Pieaugušo atbalsts" not in found  # Latvia
    assert "Visos Lietuvos linija" in names(client, "/en/?near=Zarasai&serves=here")


def test_services_that_do_not_say_are_kept_and_marked(border_app):
    client = border_app.test_client()
    shown = cards(client, "/en/?serves=LT-60")
    assert "Area served not stated" in shown["Nenurodyta teritorija"]
    assert "Area served not stated in a way the search can check: Ežerų kraštas" in shown["Ežerų krašto pagalba"]
    assert "not stated" not in shown["Zarasų rajono pagalba"]
    assert "Serves: Zarasai District Municipality" in shown["Zarasų rajono pagalba"]
    # Without the filter nothing is marked; what is stated is still shown.
    shown = cards(client, "/en/")
    assert "not stated" not in shown["Nenurodyta teritorija"]
    assert "Area served: Ežerų kraštas" in shown["Ežerų krašto pagalba"]
    assert "Serves: Lithuania" in shown["Visos Lietuvos linija"]


@pytest.mark.parametrize("url, message", [
    ("/en/?near=D%C5%ABk%C5%A1tas&serves=here",  # a Lithuanian village linked to no municipality
     "We could not tell which municipality “Dūkštas” is in"),
    ("/en/?near=Nowhereville&serves=here", "We could not tell which municipality “Nowhereville” is in"),
    ("/en/?lat=57.5&lon=19.5&serves=here",  # the Baltic Sea, far from every town
     "We could not tell which municipality your location is in"),
    ("/en/?serves=here", "There is no place to search near yet"),
])
def test_a_place_that_names_no_municipality_asks_to_choose_one(border_app, url, message):
    client = border_app.test_client()
    page = soup(client.get(url))
    notice = page.select_one(".area-notice[role=alert]").get_text(" ", strip=True)
    assert message in notice
    assert "Please choose your municipality from the list “Serves people from”." in notice
    # No area filter: everything is found.
    assert {a.get_text(strip=True) for a in page.select(".result h3 a")} == ZARASAI_SERVICES | DAUGAVPILS_SERVICES
    assert not page.select_one(".served-note")
    assert page.select_one("#serves option[value=here]").has_attr("selected")


def test_the_device_position_names_the_municipality(border_app):
    client = border_app.test_client()
    lat, lon = DAUGAVPILS
    page = soup(client.get(f"/en/?lat={lat}&lon={lon}&serves=here"))
    assert page.select_one(".served-note").get_text(" ", strip=True).startswith(
        "Services serving your location, near Daugavpils (the municipality of Daugavpils).")
    assert "Zarasų rajono pagalba" not in {a.get_text(strip=True) for a in page.select(".result h3 a")}


def test_the_list_of_municipalities_by_country(border_app):
    page = soup(border_app.test_client().get("/lv/"))
    fieldset = page.select_one("fieldset#area-and-age")
    assert fieldset.select_one("legend")
    select_ = fieldset.select_one("select#serves[name=serves]")
    assert page.select_one("label[for=serves]")
    options = select_.find_all("option", recursive=False)
    assert [o["value"] for o in options] == ["", "here"]
    assert [g["label"] for g in select_.select("optgroup")] == ["Latvija", "Lietuva"]
    latvia, lithuania = select_.select("optgroup")
    assert "Augšdaugavas novads" in [o.get_text() for o in latvia.select("option")]
    assert lithuania.select_one("option[value=LT-60]").get_text() == "Zarasų rajono savivaldybė"
    assert len(latvia.select("option")) == 43 and len(lithuania.select("option")) == 60
    chosen = soup(border_app.test_client().get("/lv/?serves=LT-60"))
    assert chosen.select_one("#serves option[value=LT-60]").has_attr("selected")


@pytest.mark.parametrize("value", ["LV-XYZ", "Daugavpils", "lv-dgvx", "<script>", "here2"])
def test_unknown_area_values_are_dropped(border_app, value):
    client = border_app.test_client()
    page = soup(client.get("/en/", query_string={"serves": value}))
    assert {a.get_text(strip=True) for a in page.select(".result h3 a")} == ZARASAI_SERVICES | DAUGAVPILS_SERVICES
    assert not page.select_one("#serves option[selected]")
    assert not page.select(".chips .chip:not(.chip-clear)")


def test_area_code_letters_and_the_round_trip(border_app):
    assert parse_filters({"serves": "lv-dgv"}).serves == "LV-DGV"
    assert parse_filters({"serves": "HERE"}).serves == "here"
    filters = parse_filters({"q": "pagalba", "near": "Daugavpils", "serves": "here", "age": "16"})
    assert filters.to_args() == {"q": "pagalba", "near": "Daugavpils", "serves": "here", "age": "16"}
    assert parse_filters(filters.to_args()) == filters
    # A submitted form's empty fields: the short address keeps both filters.
    response = border_app.test_client().get("/lv/?q=&near=&serves=LV-DGV&age=16&place=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/lv/?serves=LV-DGV&age=16"


def test_the_chips_of_the_area_and_the_age(border_app):
    page = soup(border_app.test_client().get("/en/?serves=LV-DGV&age=16"))
    chips = {a.select_one("span").get_text(strip=True): unquote(a["href"])
             for a in page.select(".chips a.chip:not(.chip-clear)")}
    assert chips == {"Serving Daugavpils": "/en/?age=16", "Age 16": "/en/?serves=LV-DGV"}


def test_the_search_function_resolves_the_place_itself(border_app):
    with border_app.app_context():
        filters = SearchFilters(near="Zarasai", serves="here")
        served = resolve_served_place(filters)
        assert served.municipality.code == "LT-60" and served.how == "near" and served.place == "Zarasai"
        result = search_services(db.session, filters)
        assert result.served == served
        assert result.area_not_stated == 2
        assert "Pagalba Daugavpils gyventojams" not in {s.name for s in result.services}
        assert resolve_served_place(SearchFilters()) is None


def test_an_area_written_in_plain_sql_reaches_the_search(border_app):
    """Triggers (migration 0013) log an area's service, whether the area is
    the service's own or its location's."""
    client = border_app.test_client()
    assert "Nenurodyta teritorija" in names(client, "/en/?serves=LV-111")
    with border_app.app_context():
        at_location = db.session.execute(text(
            "SELECT sal.id FROM service_at_location sal JOIN service s ON s.id = sal.service_id "
            "WHERE s.name = 'Nenurodyta teritorija'")).scalar()
        db.session.execute(text("INSERT INTO service_area (id, service_at_location_id, area_code) "
                                "VALUES ('area-in-sql', :sal, 'LT-60')"), {"sal": at_location})
        db.session.commit()
    assert "Nenurodyta teritorija" not in names(client, "/en/?serves=LV-111")
    assert "Nenurodyta teritorija" in names(client, "/en/?serves=LT-60")
    with border_app.app_context():
        db.session.execute(text("UPDATE service_area SET area_code = 'LV' WHERE id = 'area-in-sql'"))
        db.session.commit()
    assert "Nenurodyta teritorija" in names(client, "/en/?serves=LV-111")
    assert "Nenurodyta teritorija" not in names(client, "/en/?serves=LT-60")
    with border_app.app_context():
        db.session.execute(text("DELETE FROM service_area WHERE id = 'area-in-sql'"))
        db.session.commit()
    shown = cards(client, "/en/?serves=LT-60")
    assert "Area served not stated" in shown["Nenurodyta teritorija"]


# ---------------------------------------------------------------------- age


def test_age_at_the_edges_of_a_range(border_app):
    client = border_app.test_client()
    assert "Jauniešu centrs" in names(client, "/en/?age=16")  # 16–25
    assert "Jauniešu centrs" in names(client, "/en/?age=25")
    assert "Jauniešu centrs" not in names(client, "/en/?age=15")
    assert "Jauniešu centrs" not in names(client, "/en/?age=26")
    # An open bound: from 18, up to 12.
    assert "Pieaugušo atbalsts" not in names(client, "/en/?age=17")
    assert "Pieaugušo atbalsts" in names(client, "/en/?age=120")
    assert "Bērnu rotaļu istaba" in names(client, "/en/?age=0")
    assert "Bērnu rotaļu istaba" not in names(client, "/en/?age=13")


def test_services_without_an_age_range_are_kept_and_marked(border_app):
    client = border_app.test_client()
    shown = cards(client, "/en/?age=40")
    assert set(shown) == ZARASAI_SERVICES | {"Pieaugušo atbalsts"}
    assert "Age range not stated" in shown["Nenurodyta teritorija"]
    assert "Age range not stated" not in shown["Pieaugušo atbalsts"]
    note = soup(client.get("/en/?age=40")).select_one(".age-note").get_text(" ", strip=True)
    assert note == "Services for people aged 40. 5 of them do not say which ages they take."
    # Ranges are shown on every card that states one.
    shown = cards(client, "/en/")
    assert "Ages 16–25" in shown["Jauniešu centrs"]
    assert "From age 18" in shown["Pieaugušo atbalsts"]
    assert "Up to age 12" in shown["Bērnu rotaļu istaba"]
    assert "Age range not stated" not in shown["Nenurodyta teritorija"]


@pytest.mark.parametrize("typed", ["abc", "-1", "121", "16.5", "1e2", "٣", "99999999999999999999999"])
def test_a_bad_age_is_kept_explained_and_not_applied(border_app, typed):
    client = border_app.test_client()
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/en/", query_string={"age": typed}, headers=headers)
        assert response.status_code == 200
        page = soup(response)
        field = page.select_one("#age")
        assert field["value"] == typed[:20]
        assert field["aria-invalid"] == "true"
        assert "age-error" in field["aria-describedby"].split()
        assert page.select_one("#age-error").get_text(strip=True).startswith(
            "Enter the age as a whole number of years, from 0 to 120.")
        assert {a.get_text(strip=True) for a in page.select(".result h3 a")} == ZARASAI_SERVICES | DAUGAVPILS_SERVICES
        assert not page.select_one(".age-note")
    assert not soup(client.get("/en/?age=16")).select_one("#age-error")


def test_the_age_error_is_translated(border_app):
    page = soup(border_app.test_client().get("/en/?age=abc"))
    assert page.select_one("#age-error")
    lv = soup(border_app.test_client().get("/lv/?age=abc")).select_one("#age-error")
    assert lv is not None  # through gettext: Latvian once the catalogue has it


def test_the_fragment_redraws_the_area_and_age_fields(border_app):
    response = border_app.test_client().get("/en/?age=abc&serves=LV-DGV", headers={"HX-Request": "true"})
    page = soup(response)
    assert page.select_one("#area-and-age")["hx-swap-oob"] == "true"
    assert page.select_one("#age-error")
    assert page.select_one("#serves option[value=LV-DGV]").has_attr("selected")


def test_area_and_age_combine(border_app):
    client = border_app.test_client()
    assert names(client, "/en/?serves=LV-DGV&age=16") == {
        "Pagalba Daugavpils gyventojams", "Jauniešu centrs", *NOT_STATED}
    assert names(client, "/en/?serves=LV-DGV&age=10") == {
        "Pagalba Daugavpils gyventojams", "Bērnu rotaļu istaba", *NOT_STATED}


# ------------------------------------------------------- confidential places


def test_a_confidential_place_is_in_the_index_at_its_town(app):
    with app.app_context():
        shelter = add_centre("patvers", "Zarasai", "LT", (55.7401, 26.2601), confidential=True)
        add_service(shelter, "Krīzes patversme")
        hidden = add_centre("slepta", "Nezinomas Kaimelis", "LT", (55.7, 26.3), confidential=True)
        add_service(hidden, "Slepta vieta")
        db.session.commit()
        index = facet_build.build_facet_index(db.session)
        by_name = {service_id: slot for slot, service_id in enumerate(index.service_ids)}
        shelter_id = db.session.scalar(select(Service.id).where(Service.name == "Krīzes patversme"))
        hidden_id = db.session.scalar(select(Service.id).where(Service.name == "Slepta vieta"))
        assert index.coordinates_of(by_name[shelter_id]) == ZARASAI  # the town's point, not its own
        assert index.coordinates_of(by_name[hidden_id]) is None  # a town the gazetteer does not know
        # Near Zarasai still finds it, by its town.
        origin, _ = resolve_origin(SearchFilters(near="Zarasai"))
        result = search_services(db.session, SearchFilters(near="Zarasai", radius=5), origin=origin)
        assert "Krīzes patversme" in {s.name for s in result.services}
        # Kept in step: made confidential after the index was built.
        location = db.session.scalar(select(Location).where(Location.name == "Vieta patvers"))
        location.confidential = False
        db.session.commit()
        live = live_index.facet_index(db.session)
        assert live.coordinates_of(live.slot_of[shelter_id]) == (55.7401, 26.2601)
        location.confidential = True
        db.session.commit()
        live = live_index.facet_index(db.session)
        assert live.coordinates_of(live.slot_of[shelter_id]) == ZARASAI
