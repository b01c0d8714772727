"""Shortlists: anyone keeps services aside, prints and shares them; a
signed-in user's list is saved and follows them to another computer."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from conftest import csrf_token, login, soup
from directory.extensions import db
from directory.models import Organization, Service, ShortlistItem


def services_of(app, slug: str) -> list[tuple[str, str]]:
    with app.app_context():
        return db.session.execute(
            select(Service.id, Service.name).join(Service.organization)
            .where(Organization.slug == slug, Service.status == "active").order_by(Service.name)
        ).all()


def add(client, service_ids, next_url="/lv/", headers=None):
    token = csrf_token(client, "/lv/centres/saskarsme")
    if isinstance(service_ids, str):
        service_ids = [service_ids]
    return client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": service_ids, "next": next_url},
                       headers=headers or {})


def listed_names(client, url="/lv/shortlist/") -> list[str]:
    return [h.get_text(strip=True) for h in soup(client.get(url)).select(".shortlist-item h2")]


def nav_count(client, url="/lv/") -> str:
    return soup(client.get(url)).select_one("#shortlist-link").get_text(" ", strip=True)


def test_a_resident_adds_from_the_search_results_and_goes_back_to_them(client, seeded_app):
    page = soup(client.get("/lv/?q=dienas"))
    form = page.select_one(".result form.shortlist-toggle")
    assert form is not None and form["action"] == "/lv/shortlist/add"
    service_id = form.select_one('input[name="service_id"]')["value"]
    assert form.select_one('input[name="next"]')["value"] == "/lv/?q=dienas"

    response = add(client, service_id, next_url="/lv/?q=dienas")
    assert response.status_code == 302 and response.headers["Location"] == "/lv/?q=dienas"
    assert "(1)" in nav_count(client)
    results = soup(client.get("/lv/?q=dienas"))
    toggle = results.select_one(f'.result form.shortlist-toggle:has(input[value="{service_id}"])')
    assert toggle["action"] == "/lv/shortlist/remove"
    with seeded_app.app_context():
        name = db.session.get(Service, service_id).name
    assert listed_names(client) == [name]


def test_the_next_address_never_leads_off_the_site(client, seeded_app):
    service_id = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[0][0]
    response = add(client, service_id, next_url="https://evil.example/")
    assert response.headers["Location"] == "/lv/shortlist/"


def test_with_htmx_only_the_button_and_the_count_come_back(client, seeded_app):
    service_id, name = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[0]
    response = add(client, service_id, headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/lv/?q=x"})
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.select_one("html") is None
    toggle = fragment.select_one("form.shortlist-toggle")
    assert toggle["action"] == "/lv/shortlist/remove"
    assert toggle.select_one('input[name="next"]')["value"] == "/lv/?q=x"
    assert name in toggle.get_text()
    link = fragment.select_one("#shortlist-link")
    assert link["hx-swap-oob"] == "true" and "(1)" in link.get_text()

    token = csrf_token(client, "/lv/centres/saskarsme")
    response = client.post("/lv/shortlist/remove", data={"csrf_token": token, "service_id": service_id},
                           headers={"HX-Request": "true"})
    fragment = soup(response)
    assert fragment.select_one("form.shortlist-toggle")["action"] == "/lv/shortlist/add"
    assert "(" not in fragment.select_one("#shortlist-link").get_text()


def test_the_list_shows_what_a_printed_page_needs(client, seeded_app):
    service_id, name = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[0]
    add(client, service_id)
    page = soup(client.get("/lv/shortlist/"))
    item = page.select_one(".shortlist-item")
    assert item.select_one("h2").get_text(strip=True) == name
    assert item.select_one(".address address") is not None
    # The starter data gives no phone or hours: said plainly, not left blank.
    assert "nav" in item.select_one(".phone").get_text() or item.select_one(".phone .missing") is not None
    assert item.select_one(".hours .missing") is not None
    # The print button needs JavaScript: hidden until the script shows it.
    assert page.select_one("[data-print]").has_attr("hidden")
    assert page.select_one(".print-footer") is not None


def test_remove_and_empty(client, seeded_app):
    (first, first_name), (second, second_name) = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[:2]
    add(client, [first, second])
    assert listed_names(client) == [first_name, second_name]
    token = csrf_token(client, "/lv/centres/saskarsme")
    client.post("/lv/shortlist/remove", data={"csrf_token": token, "service_id": first, "next": "/lv/shortlist/"})
    assert listed_names(client) == [second_name]
    client.post("/lv/shortlist/clear", data={"csrf_token": token})
    assert listed_names(client) == []
    assert soup(client.get("/lv/shortlist/")).select_one("#empty-shortlist") is not None


def test_a_shared_link_shows_the_same_services_to_someone_else(client, seeded_app):
    services = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[:2]
    add(client, [service_id for service_id, _ in services])
    share_url = soup(client.get("/lv/shortlist/")).select_one("#share-url")["value"]
    parts = urlsplit(share_url)
    assert parts.path == "/lv/shortlist/shared"

    stranger = seeded_app.test_client()
    shared_page = f"{parts.path}?{parts.query}"
    assert listed_names(stranger, shared_page) == [name for _, name in services]
    assert listed_names(stranger) == []  # seeing is not keeping
    form = soup(stranger.get(shared_page)).select_one('form[action="/lv/shortlist/add"]')
    ids = [field["value"] for field in form.select('input[name="service_id"]')]
    response = add(stranger, ids, next_url="/lv/shortlist/")
    assert response.headers["Location"] == "/lv/shortlist/"
    assert listed_names(stranger) == [name for _, name in services]


def test_a_retired_service_leaves_the_list_and_cannot_be_added(client, seeded_app):
    (first, _), (second, second_name) = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[:2]
    add(client, [first, second])
    with seeded_app.app_context():
        db.session.get(Service, first).status = "inactive"
        db.session.commit()
    assert listed_names(client) == [second_name]
    token = csrf_token(client, "/lv/centres/saskarsme")
    client.post("/lv/shortlist/clear", data={"csrf_token": token})
    response = add(client, first)
    assert response.status_code == 302
    follow = soup(client.get(response.headers["Location"]))
    assert follow.select_one(".flash-error") is not None
    assert listed_names(client) == []
    # A shared link naming it says that one is gone.
    page = soup(client.get(f"/lv/shortlist/shared?s={first}&s={second}"))
    assert page.select_one("#gone") is not None


def test_a_full_list_says_so(client, seeded_app):
    seeded_app.config["SHORTLIST_LIMIT"] = 1
    (first, first_name), (second, _) = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[:2]
    add(client, first)
    response = add(client, second)
    assert "1" in soup(client.get(response.headers["Location"])).select_one(".flash-error").get_text()
    assert listed_names(client) == [first_name]


def test_a_signed_in_list_is_saved_and_joined_by_what_was_picked_before(seeded_app, accounts):
    (first, first_name), (second, second_name) = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[:2]
    browser = seeded_app.test_client()
    add(browser, first)  # before signing in
    assert login(browser, "worker@example.lv").status_code == 302
    add(browser, second)
    assert listed_names(browser) == [first_name, second_name]
    with seeded_app.app_context():
        saved = db.session.scalars(select(ShortlistItem.service_id).where(ShortlistItem.user_id == accounts["social_worker"])).all()
    assert sorted(saved) == sorted([first, second])

    other_computer = seeded_app.test_client()
    login(other_computer, "worker@example.lv")
    assert listed_names(other_computer) == [first_name, second_name]
    # Social workers refer from their list.
    refer = soup(other_computer.get("/lv/shortlist/")).select(".item-actions a")
    assert refer[0]["href"] == f"/lv/referrals/new?service={first}"


def test_residents_see_no_referral_button(client, seeded_app):
    add(client, services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[0][0])
    assert soup(client.get("/lv/shortlist/")).select('a[href*="/referrals/new"]') == []


def test_shortlist_posts_need_a_csrf_token(client, seeded_app):
    service_id = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[0][0]
    assert client.post("/lv/shortlist/add", data={"service_id": service_id}).status_code == 400
    assert client.post("/lv/shortlist/remove", data={"service_id": service_id}).status_code == 400
    assert client.post("/lv/shortlist/clear").status_code == 400
    assert listed_names(client) == []


def test_centre_pages_offer_the_shortlist_and_social_workers_a_referral(client, seeded_app, accounts):
    service_id, _name = services_of(seeded_app, "daugavpils-dienas-aprupes-centrs")[0]
    page = soup(client.get("/lv/centres/daugavpils-dienas-aprupes-centrs"))
    section = page.select_one(f'section.service:has(#service-{service_id})')
    form = section.select_one("form.shortlist-toggle")
    assert form.select_one('input[name="next"]')["value"] == f"/lv/centres/daugavpils-dienas-aprupes-centrs#service-{service_id}"
    assert section.select_one('a[href*="/referrals/new"]') is None
    login(client, "worker@example.lv")
    section = soup(client.get("/lv/centres/daugavpils-dienas-aprupes-centrs")).select_one(
        f'section.service:has(#service-{service_id})')
    assert section.select_one('a[href*="/referrals/new"]')["href"] == f"/lv/referrals/new?service={service_id}"
