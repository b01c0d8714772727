"""A language is said once: LANGUAGES in the config. Adding a fifth is a
catalogue plus one line, and here not even the catalogue: Estonian has none,
so its pages show the messages' English originals, and every page still
works under /et/. A language left out of LANGUAGES has no pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import clear_all_rows, csrf_token, login, make_app, make_user, soup
from directory.extensions import db
from directory.i18n import autonym
from directory.models import Organization, Service, SourceDocument, Taxonomy, TaxonomyTerm
from directory.seeding import seed_starter_data

WITH_ESTONIAN = ["lv", "lt", "en", "ru", "et"]


def _app_with(database_uri, languages):
    """An app speaking `languages`, on this test's database, seeded with the
    starter data as that app sees it (so the seed runs with its languages)."""
    app = make_app(database_uri, LANGUAGES=languages)
    with app.app_context():
        clear_all_rows()
        seed_starter_data(db.session)
    return app


@pytest.fixture
def estonian_app(database_uri):
    app = _app_with(database_uri, WITH_ESTONIAN)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _term(app, vocabulary: str, code: str) -> TaxonomyTerm:
    with app.app_context():
        return db.session.scalar(
            select(TaxonomyTerm).join(Taxonomy).where(Taxonomy.code == vocabulary, TaxonomyTerm.code == code)
        )


def _public_urls(app) -> list[str]:
    """Every GET page of the public blueprint under /et/, each argument filled
    with a real value; plus searches with a query and with filters, and the
    pages of signing in and up."""
    with app.app_context():
        values = {
            "slug": db.session.scalar(select(Organization.slug).where(Organization.slug == "saskarsme")),
            "file_name": db.session.scalar(select(SourceDocument.id).order_by(SourceDocument.id)),
        }
        service_id = db.session.scalar(select(Service.id).order_by(Service.name))
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("public.") or "GET" not in rule.methods:
            continue
        arguments = {name: values[name] for name in rule.arguments if name != "lang_code"}
        assert all(arguments.values()), (rule.rule, "give its arguments a real value above")
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for(rule.endpoint, lang_code="et", **arguments))
    assert "/et/" in urls and "/et/centres/saskarsme" in urls and "/et/map" in urls
    return urls + [
        "/et/?q=dienas",
        "/et/?type=day-centre&place=Daugavpils",
        "/et/?type=day-centre&group=seniors&language=et&free=1&open=1",
        "/et/map?q=dienas&type=day-centre",
        f"/et/shortlist/shared?s={service_id}",
        "/et/account/login",
        "/et/account/signup",
        "/et/account/reset",
    ]


def test_every_public_page_speaks_estonian(estonian_app):
    client = estonian_app.test_client()
    with estonian_app.app_context():
        service_id, service_name = db.session.execute(select(Service.id, Service.name).order_by(Service.name)).first()
    # Something on the shortlist, so that its page shows a card.
    added = client.post("/et/shortlist/add", data={"csrf_token": csrf_token(client, "/et/"), "service_id": service_id})
    assert added.status_code in (200, 302, 303)

    for url in _public_urls(estonian_app):
        response = client.get(url)
        assert response.status_code == 200, url
        if response.mimetype != "text/html":
            continue
        page = soup(response)
        assert page.html["lang"] == "et", url
        switcher = page.select_one(".language-switcher")
        current = switcher.select_one("[aria-current]")
        assert current["lang"] == "et" and current.get_text(strip=True).lower() == "eesti", url
        # The other languages are offered, each in its own name.
        assert {a["hreflang"]: a.get_text(strip=True) for a in switcher.select("a")} == {
            "lv": "Latviešu", "lt": "Lietuvių", "en": "English", "ru": "Русский",
        }, url
        alternates = {link["hreflang"] for link in page.select('link[rel="alternate"]')}
        assert alternates == set(WITH_ESTONIAN), url

    # The searches found what they should, with the terms' labels.
    page = soup(client.get("/et/?type=day-centre&place=Daugavpils"))
    assert len(page.select(".result")) == 1 and "Dienas centrs" in page.select_one(".result .tags").text
    # Residents may filter by services given in Estonian.
    assert "et" in {option["value"] for option in page.select("select[name=language] option")}
    assert service_name in soup(client.get("/et/shortlist/")).get_text()


def test_estonian_is_offered_everywhere_in_its_own_name(estonian_app):
    assert autonym("et").lower() == "eesti"
    page = soup(estonian_app.test_client().get("/lv/?q=dienas"))
    link = page.select_one('.language-switcher a[hreflang="et"]')
    assert link["href"] == "/et/?q=dienas" and link["lang"] == "et"
    assert link.get_text(strip=True) == autonym("et")
    # Pages outside a language prefix (the root) negotiate Estonian too.
    response = estonian_app.test_client().get("/", headers={"Accept-Language": "et-EE,et;q=0.9"})
    assert response.headers["Location"] == "/et/"


def test_the_seed_skips_a_language_without_labels(estonian_app):
    with estonian_app.app_context():
        terms = db.session.scalars(select(TaxonomyTerm)).all()
        assert terms
        for term in terms:
            locales = {label.locale for label in term.labels}
            assert locales == {"lv", "lt", "en", "ru"}, term.code
    # Without an Estonian label a term shows its own (Latvian) name.
    page = soup(estonian_app.test_client().get("/et/?type=day-centre"))
    assert "Dienas centrs" in page.select_one(".result .tags").text


def test_the_admin_gives_each_term_an_estonian_label(estonian_app):
    make_user(estonian_app, "admin@example.lv", "admin")
    client = estonian_app.test_client()
    assert login(client, "admin@example.lv", lang="et").status_code == 302
    day_centre = _term(estonian_app, "service-type", "day-centre")

    taxonomy = soup(client.get("/et/admin/taxonomy"))
    assert taxonomy.select_one(f"#term-{day_centre.id} td.label-et .missing")

    url = f"/et/admin/taxonomy/terms/{day_centre.id}"
    page = soup(client.get(url))
    fields = [element["id"] for element in page.select(".term-names input")]
    assert fields == [f"label_{code}" for code in WITH_ESTONIAN]
    assert page.select_one("#label_et")["lang"] == "et" and page.select_one("#label_et")["value"] == ""
    assert page.select_one("label[for=label_et]").get_text(strip=True)
    assert page.select_one("#label_lv-hint")  # the default language's name is the term's own
    for code in ("code", "label_et"):
        assert soup(client.get("/et/admin/taxonomy/target-group/new")).select_one(f"#{code}"), code

    labels = {"label_lv": "Dienas centrs", "label_lt": "Dienos centras", "label_en": "Day centre",
              "label_ru": "Дневной центр"}
    # Every configured language needs its label: Estonian too.
    missing = client.post(url, data={"csrf_token": csrf_token(client, url), **labels})
    assert missing.status_code == 200 and soup(missing).select_one("#label_et-error")

    saved = client.post(url, data={"csrf_token": csrf_token(client, url), **labels, "label_et": "Päevakeskus"})
    assert saved.status_code == 302
    with estonian_app.app_context():
        assert db.session.get(TaxonomyTerm, day_centre.id).label("et") == "Päevakeskus"
    page = soup(estonian_app.test_client().get("/et/?type=day-centre"))
    assert "Päevakeskus" in page.select_one(".result .tags").text


def test_a_language_left_out_has_no_pages(database_uri):
    app = _app_with(database_uri, ["lv", "en"])
    try:
        client = app.test_client()
        assert client.get("/lv/").status_code == 200
        assert client.get("/en/centres/saskarsme").status_code == 200
        for url in ("/ru/", "/ru/centres/saskarsme", "/lt/", "/ru/account/login"):
            assert client.get(url).status_code == 404, url
        page = soup(client.get("/lv/"))
        assert {a["hreflang"] for a in page.select(".language-switcher a")} == {"en"}
        assert client.get("/", headers={"Accept-Language": "ru"}).headers["Location"] == "/lv/"
        with app.app_context():
            # The seed wrote labels in the configured languages only.
            term = db.session.scalars(select(TaxonomyTerm)).first()
            assert {label.locale for label in term.labels} == {"lv", "en"}
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
