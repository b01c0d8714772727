"""What a resident sees: the list of centres, each centre page, error pages."""

import json

import pytest

from conftest import csrf_token, soup
from test_seed import STARTER_CENTRES

NOT_PROVIDED = "vēl nav norādīts"


def test_root_redirects_to_latvian(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/lv/"


def test_home_links_every_starter_centre(client):
    response = client.get("/lv/")
    assert response.status_code == 200
    page = soup(response)
    assert page.html["lang"] == "lv"
    centre_links = {a["href"].split("#")[0] for a in page.select(".result h3 a")}
    assert centre_links == {f"/lv/centres/{slug}" for slug in STARTER_CENTRES}
    assert page.select_one("#results-heading").get_text(strip=True) == "15 pakalpojumi atrasti"
    # Operators that run no service of their own are not listed as centres.
    assert "Biržu rajona pašvaldības administrācija" not in page.select_one("#results").text


@pytest.mark.parametrize("slug", sorted(STARTER_CENTRES))
def test_every_centre_page_shows_and_names_its_source(client, slug):
    response = client.get(f"/lv/centres/{slug}")
    assert response.status_code == 200
    page = soup(response)
    source_link = page.select_one(".source a")
    assert source_link["href"].startswith("/lv/sources/")
    assert client.get(source_link["href"]).status_code == 200
    assert page.select_one(".last-verified .missing")
    assert page.select(".service")


def fields(page, selector):
    return [element.get_text(" ", strip=True) for element in page.select(selector)]


def test_saskarsme_shows_its_facts_and_no_phone_or_hours(client):
    page = soup(client.get("/lv/centres/saskarsme"))
    assert page.h1.get_text(strip=True) == "Dienas centrs “Saskarsme”"
    address = page.select_one(".address").get_text(" ", strip=True)
    assert "Liepājas iela 4" in address and "Daugavpils" in address and "Latvija" in address
    operator = page.select_one(".operator").get_text(" ", strip=True)
    assert "Daugavpils pilsētas pašvaldības iestāde “Sociālais dienests”" in operator
    assert page.select_one(".operator a")["href"] == "https://www.socd.lv"
    assert page.select_one(".phone").get_text(strip=True) == NOT_PROVIDED
    assert page.select_one(".hours").get_text(strip=True) == NOT_PROVIDED
    assert page.select_one(".email").get_text(strip=True) == NOT_PROVIDED
    assert fields(page, ".service-types li") == ["Dienas centrs"]
    assert set(fields(page, ".target-groups li")) == {
        "Neaizsargātās grupas",
        "Cilvēki ar īpašām vajadzībām",
    }
    assert "novusa galds" in page.select_one(".description").text
    assert "000_67ca51d3bbea5567.txt" in page.select_one(".source").text


def test_daugavpils_day_care_centre_has_workshop_and_canistherapy(client):
    page = soup(client.get("/lv/centres/daugavpils-dienas-aprupes-centrs"))
    services = fields(page, ".service h3")
    assert "Specializētā darbnīca" in services
    assert "Kanisterapija bērniem" in services
    assert set(fields(page, ".service-types li")) == {
        "Dienas aprūpes centrs",
        "Specializētā darbnīca",
        "Kanisterapija",
    }
    assert {"Bērni", "Personas ar funkcionāliem traucējumiem"} <= set(
        fields(page, ".target-groups li")
    )
    # The texts give the city but no street.
    assert "iela un mājas numurs vēl nav norādīti" in page.select_one(".address").text
    assert "003_8254bab0842b1aac.txt" in page.select_one(".source").text


def test_sarkana_skola_does_not_borrow_the_administration_address(client):
    response = client.get("/lv/centres/sarkana-skola")
    text = response.get_data(as_text=True)
    assert "Vecumnieki" in text and "Bauskas novads" in text
    # Rīgas iela 29 and 63976100 belong to the Vecumnieki administration.
    assert "Rīgas iela 29" not in text
    assert "63976100" not in text
    page = soup(response)
    assert set(fields(page, ".target-groups li")) == {
        "Personas ar funkcionāliem traucējumiem",
        "Seniori",
        "Ģimenes ar bērniem ar invaliditāti",
        "Riska ģimenes",
        "Riska grupas jaunieši un bērni",
    }
    assert page.select_one(".operator").get_text(strip=True) == NOT_PROVIDED


@pytest.mark.parametrize(
    "slug, place, service_type, target_group",
    [
        ("vigante", "Jaunjelgava", "Krīzes centrs", "Personas krīzes situācijā"),
        ("jaunjelgavas-jaunatnes-iniciativu-centrs", "Jaunjelgava", "Jaunatnes iniciatīvu centrs", "Jaunieši"),
        ("viesites-dienas-centrs", "Viesīte", "Dienas centrs", None),
        ("viesites-veselibas-un-socialas-aprupes-centrs", "Viesīte", "Veselības un sociālās aprūpes centrs", None),
        ("cistiskas-fibrozes-atbalsta-centrs-viesitei", "Viesīte", None, "Personas ar invaliditāti"),
        ("viesites-jaunatnes-iniciativu-centrs", "Viesīte", "Jaunatnes iniciatīvu centrs", "Jaunieši"),
        ("birzu-rajona-daudzfunkcionalie-centri", "Lietuva", "Higiēnas pakalpojums", "Maznodrošinātie iedzīvotāji"),
        ("antazave", "Lietuva", "Sociālā nometne", "Neaizsargātās grupas"),
    ],
)
def test_centre_facts_from_the_sources(client, slug, place, service_type, target_group):
    page = soup(client.get(f"/lv/centres/{slug}"))
    assert place in page.select_one(".address").text
    if service_type:
        assert service_type in fields(page, ".service-types li")
    if target_group:
        assert target_group in fields(page, ".target-groups li")
    assert page.select_one(".phone").get_text(strip=True) == NOT_PROVIDED
    assert page.select_one(".hours").get_text(strip=True) == NOT_PROVIDED


def test_named_people_and_operators(client):
    vsac = soup(client.get("/lv/centres/viesites-veselibas-un-socialas-aprupes-centrs"))
    assert "Ilga Laizāne" in vsac.select_one(".contacts").text
    cf = soup(client.get("/lv/centres/cistiskas-fibrozes-atbalsta-centrs-viesitei"))
    assert "Latvijas Cistiskās fibrozes biedrība" in cf.select_one(".operator").text
    antazave = soup(client.get("/lv/centres/antazave"))
    assert "Zarasu rajona pašvaldības administrācija" in antazave.select_one(".operator").text
    birzai = soup(client.get("/lv/centres/birzu-rajona-daudzfunkcionalie-centri"))
    assert "Biržu rajona pašvaldības administrācija" in birzai.select_one(".operator").text


def test_source_document_page_shows_the_text(client):
    page = soup(client.get("/lv/sources/004_2d0772eb96869357.txt"))
    assert "Ilga Laizāne" in page.select_one(".source-text").text
    assert page.h1.get_text(strip=True) == "Avota dokuments"


@pytest.mark.parametrize(
    "url",
    ["/lv/centres/no-such-centre", "/lv/sources/no-such-file.txt", "/xx/", "/de/centres/saskarsme"],
)
def test_unknown_pages_get_a_friendly_latvian_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    page = soup(response)
    assert page.html["lang"] == "lv"
    assert page.h1.get_text(strip=True) == "Lapa nav atrasta"
    assert page.select_one("main a")["href"] == "/lv/"


def test_centre_text_is_escaped(seeded_app):
    from sqlalchemy import select

    from directory.extensions import db
    from directory.models import Organization

    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        org.description = "<script>alert(1)</script>"
        db.session.commit()
    text = seeded_app.test_client().get("/lv/centres/vigante").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text


def test_centres_page_lists_every_starter_centre(client):
    page = soup(client.get("/lv/centres/"))
    links = {a["href"] for a in page.select(".centre-card h2 a")}
    assert links == {f"/lv/centres/{slug}" for slug in STARTER_CENTRES}
    assert page.select_one(".lead").get_text(strip=True) == "Katalogā ir 11 centri"
    # Operators that run no service of their own are not centres.
    assert "Biržu rajona pašvaldības administrācija" not in page.select_one(".centre-list").text
    assert soup(client.get("/lv/")).select_one('.site-nav a[href="/lv/centres/"]')


def test_hours_given_for_a_service_show_with_that_service(seeded_app):
    from datetime import time

    from sqlalchemy import select

    from directory.extensions import db
    from directory.models import Schedule, Service

    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        service.schedules.append(Schedule(byday="TU", opens_at=time(10), closes_at=time(12)))
        db.session.commit()
    page = soup(seeded_app.test_client().get("/en/centres/daugavpils-dienas-aprupes-centrs"))
    hours = page.select_one(".service-hours").get_text(" ", strip=True)
    assert "Tuesday" in hours and "10:00" in hours and "12:00" in hours
    # No "not yet provided" for the centre as a whole: the hours are given per service.
    assert page.select_one("dd.hours") is None


def test_what_to_bring_shows_with_its_service(seeded_app):
    from sqlalchemy import select

    from directory.extensions import db
    from directory.models import RequiredDocument, Service

    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        service.required_documents = [
            RequiredDocument(document="Ārsta nosūtījums", uri="https://www.example.lv/nosutijums.pdf", position=1),
            RequiredDocument(document="Bērna dzimšanas apliecība", position=0),
        ]
        db.session.commit()
        service_id = service.id
        other_id = db.session.scalar(select(Service.id).where(Service.name == "Specializētā darbnīca"))
    page = soup(seeded_app.test_client().get("/en/centres/daugavpils-dienas-aprupes-centrs"))
    facts = page.select_one(f'section.service[aria-labelledby="service-{service_id}"] dl.facts')
    documents = facts.select_one("dd.required-documents")
    assert documents.find_previous_sibling("dt").get_text(strip=True) == "What to bring"
    assert documents.select_one("ul")["lang"] == "lv"  # the centre's language, not the page's
    assert [li.get_text(strip=True) for li in documents.select("li")] == [
        "Bērna dzimšanas apliecība", "Ārsta nosūtījums"]  # in the centre's order
    link = documents.select_one("li a")
    assert link.get_text(strip=True) == "Ārsta nosūtījums"
    assert link["href"] == "https://www.example.lv/nosutijums.pdf" and link["rel"] == ["noopener"]
    # A service that says nothing about it.
    other = page.select_one(f'section.service[aria-labelledby="service-{other_id}"] dd.required-documents')
    assert other.get_text(strip=True) == "not yet provided" and not other.select("ul")


def test_what_to_bring_not_yet_provided_in_latvian(client):
    page = soup(client.get("/lv/centres/saskarsme"))
    assert [dd.get_text(strip=True) for dd in page.select(".service dd.required-documents")] == [NOT_PROVIDED]


def test_every_link_to_a_service_lands_on_its_section_of_its_centre_page(client):
    """One address per service (service_url): the search results, the map's
    list and markers, the shortlist and the centre page's own "next" link all
    say the same, and the centre page has the section it points at."""
    home = {(a.get_text(strip=True), a["href"]) for a in soup(client.get("/lv/")).select(".result h3 a")}
    map_page = soup(client.get("/lv/map?near=Daugavpils"))
    listed = {(a.get_text(strip=True), a["href"]) for a in map_page.select(".result h3 a")}
    marked = {(s["name"], s["url"]) for m in json.loads(map_page.select_one("#map-markers").string) for s in m["services"]}
    assert len(home) == 15 and listed == home and marked and marked <= home
    for name, href in home:
        path, anchor = href.split("#")
        centre = soup(client.get(path))
        section = centre.select_one(f"section.service[aria-labelledby='{anchor}'] h3#{anchor}")
        assert section is not None and section.get_text(strip=True) == name
        assert centre.select_one(f"#{anchor} ~ .item-actions input[name=next]")["value"] == href

    name, href = min(home)
    service_id = href.split("#service-")[1]
    client.post("/lv/shortlist/add", data={"service_id": service_id, "csrf_token": csrf_token(client, "/lv/")})
    assert soup(client.get("/lv/shortlist/")).select_one(f"#item-{service_id} h2 a")["href"] == href
