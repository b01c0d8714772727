"""What a social worker decides on, as centres edit it (issue 18): the area
served, costs, registration numbers and a confidential address, through the
edit forms without JavaScript; and the referral form's check of the client's
municipality against the area the service serves."""

from __future__ import annotations

from flask_babel import force_locale, gettext

from conftest import signed_in, soup
from directory import municipalities, publishing
from directory.extensions import db
from directory.models import Location, Organization, Service
from test_manage import (
    ORG_URL,
    SASKARSME,
    SASKARSME_LOCATION,
    SASKARSME_SERVICE,
    SERVICE_URL,
    form_values,
    post,
    replace,
    service_form,
)
from test_referrals import referral_form, service_of

ORG_EDIT_URL = f"{ORG_URL}/edit"
LOCATION_URL = f"/en/manage/locations/{SASKARSME_LOCATION}"


def org_form(client):
    page = soup(client.get(ORG_EDIT_URL))
    return page, form_values(page, "#organization-form")


def error_of(page, field_id: str) -> str:
    element = page.select_one(f"#{field_id}-error")
    return element.get_text(" ", strip=True) if element is not None else ""


# ------------------------------------------------------------ registration numbers


def test_a_registration_number_of_the_wrong_form_is_a_field_error_and_the_form_keeps_it(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = org_form(client)
    page = soup(post(client, ORG_EDIT_URL, replace(data, add_identifiers="1")))
    data = replace(form_values(page, "#organization-form"),
                   **{"identifiers-0-scheme": "LV-RE", "identifiers-0-identifier": "4000 800", "save": "1"})
    response = post(client, ORG_EDIT_URL, data)
    assert response.status_code == 200  # the form again, as the dashboard answers every refused save
    page = soup(response)
    assert "11 digits" in error_of(page, "identifiers-0-identifier")
    assert page.select_one("#identifiers-0-identifier")["value"] == "4000 800"
    data = replace(form_values(page, "#organization-form"),
                   **{"identifiers-0-scheme": "LT-RC", "identifiers-0-identifier": "18800000A", "save": "1"})
    page = soup(post(client, ORG_EDIT_URL, data))
    assert "9 digits" in error_of(page, "identifiers-0-identifier")
    with seeded_app.app_context():
        assert db.session.get(Organization, SASKARSME).identifiers == []  # nothing half-written


def test_a_registration_number_is_saved_without_its_spaces_and_shown_with_its_register(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = org_form(client)
    page = soup(post(client, ORG_EDIT_URL, replace(data, add_identifiers="1")))
    data = replace(form_values(page, "#organization-form"),
                   **{"identifiers-0-scheme": "LV-RE", "identifiers-0-identifier": "400 0800 0001", "save": "1"})
    assert post(client, ORG_EDIT_URL, data).status_code == 302
    with seeded_app.app_context():
        organization = db.session.get(Organization, SASKARSME)
        [identifier] = organization.identifiers
        assert (identifier.identifier_scheme, identifier.identifier) == ("LV-RE", "40008000001")
        assert identifier.identifier_type == "Latvian Register of Enterprises registration number"
        slug = organization.slug
    shown = soup(client.get(f"/en/centres/{slug}")).select_one('[data-fields="identifiers"]')
    assert shown.get_text(" ", strip=True) == "Latvian Register of Enterprises: 40008000001"


# ------------------------------------------------------------ costs


def test_costs_replace_the_free_flag_and_the_search_filter_follows_them(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    page = soup(post(client, SERVICE_URL, replace(data, add_cost_options="1")))
    data = replace(form_values(page, "#service-form"),
                   **{"cost_options-0-amount": "five", "cost_options-0-option": "A night", "save": "1"})
    response = post(client, SERVICE_URL, data)
    page = soup(response)
    assert page.select_one(".error-summary")
    assert "such as 5 or 5,50" in error_of(page, "cost_options-0-amount")
    assert page.select_one("#cost_options-0-option")["value"] == "A night"
    data = replace(form_values(page, "#service-form"), **{"cost_options-0-amount": "0", "save": "1"})
    assert post(client, SERVICE_URL, data).status_code == 302
    with seeded_app.app_context():
        service = db.session.get(Service, SASKARSME_SERVICE)
        assert service.free_of_charge is True
        assert [(o.amount, o.currency, o.option) for o in service.cost_options] == [(0.0, "EUR", "A night")]
        slug = service.organization.slug
    assert "Free of charge — A night" in soup(client.get(f"/en/centres/{slug}")).select_one(
        '[data-fields="cost_options"]').get_text(" ", strip=True)
    assert SASKARSME_SERVICE in client.get("/en/?free=1").get_data(as_text=True)

    # A price instead: no longer free, and shown in the page's currency format.
    page, data = service_form(client)
    data = replace(data, **{"cost_options-0-amount": "5,5", "save": "1"})
    assert post(client, SERVICE_URL, data).status_code == 302
    with seeded_app.app_context():
        assert db.session.get(Service, SASKARSME_SERVICE).free_of_charge is False
    assert "€5.50 — A night" in soup(client.get(f"/en/centres/{slug}")).select_one(
        '[data-fields="cost_options"]').get_text(" ", strip=True)
    assert "5,50\xa0€" in soup(client.get(f"/lv/centres/{slug}")).select_one(
        '[data-fields="cost_options"]').get_text(" ", strip=True)
    assert SASKARSME_SERVICE not in client.get("/en/?free=1").get_data(as_text=True)


# ------------------------------------------------------------ area served


def test_the_area_served_is_ticked_from_the_municipality_list_and_shown_on_the_centre_page(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    boxes = {box["value"] for box in page.select('input[name="area_codes"]')}
    assert {"LV", "LT", "LV-DGV", "LV-111", "LT-60"} <= boxes and len(boxes) == 2 + 43 + 60
    data = replace(data, area_codes=["LV-DGV", "LT-60"], area_words="Demenes pagasts", save="1")
    assert post(client, SERVICE_URL, data).status_code == 302
    with seeded_app.app_context():
        service = db.session.get(Service, SASKARSME_SERVICE)
        assert sorted(area.area_code or area.name for area in service.service_areas) == [
            "Demenes pagasts", "LT-60", "LV-DGV"]
        assert municipalities.service_serves(service, "LV-DGV") is True
        assert municipalities.service_serves(service, "LV-111") is False
        slug = service.organization.slug
    page = soup(client.get(f"/en/centres/{slug}"))
    assert [li.get_text(strip=True) for li in page.select('[data-fields="area_codes"] li')] == [
        "Daugavpils", "Zarasai District Municipality"]
    assert "Demenes pagasts" in page.select_one('[data-fields="area_words"]').get_text()


def test_an_unknown_area_code_is_refused(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    _page, data = service_form(client)
    response = post(client, SERVICE_URL, replace(data, area_codes=["LV-999"], save="1"))
    assert soup(response).select_one("#area_codes-error")
    with seeded_app.app_context():
        assert db.session.get(Service, SASKARSME_SERVICE).service_areas == []


# ------------------------------------------------------------ confidential address


def test_an_editor_marks_an_address_confidential_and_the_history_says_so(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page = soup(client.get(LOCATION_URL))
    assert page.select_one('input[name="confidential"]')["type"] == "checkbox"
    data = replace(form_values(page, "#location-form"), confidential="y", save="1")
    assert post(client, LOCATION_URL, data).status_code == 302
    with seeded_app.app_context():
        assert db.session.get(Location, SASKARSME_LOCATION).confidential is True
    history = soup(client.get(ORG_URL)).select_one('tr[data-field="confidential"]')
    assert history.select_one("th").get_text(strip=True) == "Do not publish this address"
    assert history.select_one(".after").get_text(strip=True) == "Yes"


# ------------------------------------------------------------ the referral form


def _serve_only(app, codes):
    with app.app_context():
        service = db.session.get(Service, service_of(app, "saskarsme"))
        publishing.apply_changes(db.session, service, {"area_codes": codes}, None)
        db.session.commit()
        return service.id


def test_the_referral_form_warns_when_the_client_lives_outside_the_area(seeded_app, accounts):
    service_id = _serve_only(seeded_app, ["LT-60"])
    worker = signed_in(seeded_app, "worker@example.lv")
    page = soup(worker.get(f"/en/referrals/new?service={service_id}"))
    assert page.select_one("dd.areas").get_text(strip=True) == "Zarasai District Municipality"
    groups = [group["label"] for group in page.select("#client_municipality optgroup")]
    assert groups == ["Latvia", "Lithuania"]

    response = worker.post("/en/referrals/new", data=referral_form(worker, service_id,
                                                                   client_municipality="LV-DGV"))
    assert response.status_code == 400
    page = soup(response)
    assert "does not say it serves Daugavpils" in error_of(page, "client_municipality")
    assert page.select_one("#outside_area_confirmed")
    assert page.select_one("#client_municipality option[selected]")["value"] == "LV-DGV"

    confirmed = referral_form(worker, service_id, client_municipality="LV-DGV", outside_area_confirmed="y")
    assert worker.post("/en/referrals/new", data=confirmed).status_code == 302


def test_the_referral_form_sends_without_a_warning_inside_the_area_or_when_none_is_stated(seeded_app, accounts):
    worker = signed_in(seeded_app, "worker@example.lv")
    service_id = service_of(seeded_app, "saskarsme")
    page = soup(worker.get(f"/en/referrals/new?service={service_id}"))
    assert page.select_one("dd.areas").get_text(strip=True) == "Not stated"
    assert worker.post("/en/referrals/new", data=referral_form(
        worker, service_id, client_municipality="LV-DGV")).status_code == 302
    _serve_only(seeded_app, ["LV"])  # all of Latvia
    assert worker.post("/en/referrals/new", data=referral_form(
        worker, service_id, client_municipality="LV-DGV")).status_code == 302


def test_the_clients_slip_says_the_ages_and_costs_in_the_clients_language(seeded_app, accounts):
    with seeded_app.app_context():
        service = db.session.get(Service, service_of(seeded_app, "saskarsme"))
        publishing.apply_changes(db.session, service, {
            "minimum_age": 16, "maximum_age": 25,
            "cost_options": [{"amount": 2.5, "currency": "EUR", "option": "Pusdienas"}]}, None)
        db.session.commit()
        service_id = service.id
    worker = signed_in(seeded_app, "worker@example.lv")
    response = worker.post("/en/referrals/new", data=referral_form(worker, service_id, client_language="lt"))
    referral_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    slip = soup(worker.get(f"/lt/referrals/{referral_id}/slip"))
    with seeded_app.test_request_context("/lt/"), force_locale("lt"):
        in_lithuanian = gettext("Ages %(minimum)s–%(maximum)s", minimum=16, maximum=25)
    assert in_lithuanian != "Ages 16–25"  # the catalogue has it
    assert slip.select_one("dd.ages").get_text(strip=True) == in_lithuanian
    assert slip.select_one("dd.cost-options").get_text(strip=True).startswith("2,50\xa0€ — Pusdienas")


def test_a_lithuanian_municipality_has_its_english_name_on_english_pages_only(seeded_app):
    with seeded_app.test_request_context("/en/"), force_locale("en"):
        assert municipalities.get("LT-60").label == "Zarasai District Municipality"
        assert municipalities.get("LT-15").label == "Kaunas City Municipality"
        assert municipalities.get("LV-111").label == "Augšdaugavas novads"
        assert municipalities.find_by_name("Kaunas City Municipality").code == "LT-15"
    with seeded_app.test_request_context("/lv/"), force_locale("lv"):
        assert municipalities.get("LT-60").label == "Zarasų rajono savivaldybė"
