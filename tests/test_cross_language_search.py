"""Searching in any of the four languages: a query in Latvian, Lithuanian,
English or Russian finds the services whose type or target group it names
(labels and synonyms in every language, Snowball stems, stopwords), the
name-first order stays, and an admin's synonyms reach the search."""

from __future__ import annotations

import threading

import pytest
from conftest import csrf_token, login, make_user, soup
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from directory import search_language
from directory.extensions import db
from directory.models import (
    Organization,
    Service,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
)
from directory.search import (
    MAX_QUERY_TERMS,
    SearchFilters,
    search_services,
    search_terms,
)
from directory.search_language import alternatives, fold, snowball_stems

HOME_CARE = "Rūpes ikdienā"  # a home-care service for seniors; neither word in any query below
NAMED = "Mājas aprūpe un ēdināšana"  # says "home care" in its name, but is a soup kitchen
HYGIENE = "Higiēnas centri"  # starter data: hygiene, low income (Biržai)
DAY_CENTRES = {"Dienas centrs “Saskarsme”", "Dienas centrs"}  # starter data: day-centre
DAY_CARE = "Dienas aprūpes centrs personām ar garīga rakstura traucējumiem"  # day-care-centre
SENIORS = "Daudzfunkcionālais sociālo pakalpojumu centrs"  # starter data: seniors among others


def term(code: str, taxonomy: str = "service-type") -> TaxonomyTerm:
    return db.session.scalar(
        select(TaxonomyTerm).join(Taxonomy).where(Taxonomy.code == taxonomy, TaxonomyTerm.code == code))


@pytest.fixture
def directory(seeded_app):
    """The starter data, a home-care service for seniors whose texts name
    none of the query words, and a soup kitchen that has "Mājas aprūpe" in
    its name."""
    with seeded_app.app_context():
        centre = Organization(slug="rupes", name="Biedrība “Rūpes”", description="Apmeklējumi divreiz nedēļā.")
        kitchen = Organization(slug="virtuve", name="Zupas biedrība", description="Pusdienas darbdienās.")
        db.session.add_all([
            Service(organization=centre, name=HOME_CARE, description="Apmeklējumi divreiz nedēļā.",
                    taxonomy_terms=[term("home-care"), term("seniors", "target-group")]),
            Service(organization=kitchen, name=NAMED, description="Pusdienas darbdienās.",
                    taxonomy_terms=[term("soup-kitchen")]),
        ])
        db.session.commit()
    return seeded_app


def found(app, q: str) -> list[str]:
    with app.app_context():
        return [s.name for s in search_services(db.session, SearchFilters(q=q), page_size=100).services]


# ------------------------------------------------------------ the queries


@pytest.mark.parametrize("q", ["care at home", "pagalba namuose", "уход на дому", "aprūpe mājās",
                               "home help", "помощь на дому", "pagalba į namus", "palīdzība mājās"])
def test_home_care_in_every_language(directory, q):
    results = found(directory, q)
    assert HOME_CARE in results
    # Nothing else in the directory is care at home (the soup kitchen's name
    # holds only "mājas aprūpe", in Latvian).
    assert set(results) <= {HOME_CARE, NAMED}, results


@pytest.mark.parametrize("q", ["skalbimas", "veļas mazgāšana", "laundry", "стирка", "прачечная", "душ",
                               "skalbykla", "dušas", "shower"])
def test_washing_clothes_or_oneself_finds_the_hygiene_centre(directory, q):
    assert found(directory, q) == [HYGIENE]


@pytest.mark.parametrize("q", ["дневной центр", "dienos centras", "day centre", "dienas centrs"])
def test_day_centre_in_every_language(directory, q):
    results = set(found(directory, q))
    assert DAY_CENTRES <= results
    assert HYGIENE not in results and HOME_CARE not in results
    # Only day centres, a day-care centre and the services of its centre
    # (whose name says "Dienas aprūpes centrs").
    assert results <= DAY_CENTRES | {DAY_CARE, "Kanisterapija bērniem", "Specializētā darbnīca"}, results


@pytest.mark.parametrize("q", ["для пожилых", "пенсионеры", "senjorams", "pagyvenę žmonės", "elderly",
                               "for older people", "pensionāri", "seniori"])
def test_seniors_in_every_language(directory, q):
    assert set(found(directory, q)) == {SENIORS, HOME_CARE}


def test_every_word_must_still_match(directory):
    # Seniors and laundry: no service is both.
    assert found(directory, "пожилые прачечная") == []
    assert found(directory, "skalbimas senjorams") == []


def test_a_name_match_still_comes_first(directory):
    # The soup kitchen has both words in its name; the home-care service
    # only in its type's label.
    assert found(directory, "mājas aprūpe") == [NAMED, HOME_CARE]
    assert found(directory, "aprūpe mājās") == [NAMED, HOME_CARE]
    # In another language only the type matches: the soup kitchen is not found.
    assert found(directory, "уход на дому") == [HOME_CARE]


def test_stopwords_are_dropped_unless_nothing_else_is_typed(directory):
    # "для" alone is searched for: it finds Russian labels with "для…".
    alone = found(directory, "для")
    assert alone and "Specializētā darbnīca" in alone  # "(для людей с инвалидностью)"
    # With another word, "для" is not required.
    assert set(found(directory, "для детей")) == set(found(directory, "детей"))
    assert "Kanisterapija bērniem" in found(directory, "для детей")
    # "at" alone: words beginning with "at" (Atbalsta…).
    assert "Atbalsta centrs cilvēkiem ar invaliditāti" in found(directory, "at")


def test_the_page_finds_them_in_every_language(directory):
    client = directory.test_client()
    for lang, q in (("ru", "дневной центр"), ("lt", "skalbimas"), ("en", "care at home"), ("lv", "veļas mazgāšana")):
        names = [a.get_text(strip=True) for a in soup(client.get(f"/{lang}/?q={q}")).select(".result h3 a")]
        assert names, (lang, q)
        assert {"ru": DAY_CENTRES, "lt": {HYGIENE}, "en": {HOME_CARE}, "lv": {HYGIENE}}[lang] <= set(names)


def test_the_api_search_is_the_same(directory):
    client = directory.test_client()
    items = client.get("/api/services?search=уход на дому").get_json()["contents"]
    assert [item["name"] for item in items] == [HOME_CARE]


# ------------------------------------------------------------ synonyms


def admin_client(app):
    make_user(app, "admin@example.lv", "admin")
    client = app.test_client()
    assert login(client, "admin@example.lv").status_code == 302
    return client


def term_form(client, term_id: str) -> dict[str, str]:
    """The term form's fields as the page holds them."""
    page = soup(client.get(f"/en/admin/taxonomy/terms/{term_id}"))
    data = {i["name"]: i.get("value", "") for i in page.select("form.form input[name]")}
    data.update({t["name"]: t.get_text() for t in page.select("form.form textarea[name]")})
    return data


def test_the_term_form_shows_and_saves_synonyms(directory):
    with directory.app_context():
        home_care = term("home-care").id
    client = admin_client(directory)
    page = soup(client.get(f"/en/admin/taxonomy/terms/{home_care}"))
    assert page.select_one("#synonyms_lt").get_text().strip().splitlines()[0] == "pagalba namuose"
    assert page.select_one("#synonyms_ru")["lang"] == "ru"
    assert page.select_one("label[for=synonyms_ru]")
    assert "Other words people search for" in page.select_one("fieldset.term-synonyms legend").get_text()
    assert found(directory, "kopšana") == []

    data = term_form(client, home_care)
    data["synonyms_lv"] += "\n  kopšana   mājās \n\nKopšana mājās\n"
    response = client.post(f"/en/admin/taxonomy/terms/{home_care}", data=data)
    assert response.status_code == 302
    with directory.app_context():
        label = db.session.get(TaxonomyTermLabel, (home_care, "lv"))
        assert label.synonyms.splitlines()[-1] == "kopšana mājās"  # trimmed, said once
    # The edit reaches the search (the term's services are indexed anew).
    assert found(directory, "kopšana") == [HOME_CARE]
    # A service given the term later is found by it too (an incremental
    # update reads the search document view).
    with directory.app_context():
        centre = db.session.scalar(select(Organization).where(Organization.slug == "rupes"))
        db.session.add(Service(organization=centre, name="Otrā komanda", description="Vakaros.",
                               taxonomy_terms=[term("home-care")]))
        db.session.commit()
        terms = db.session.execute(text(
            "SELECT d.terms FROM service_search_document d JOIN service s ON s.id = d.service_id "
            "WHERE s.name = 'Otrā komanda'")).scalar()
        assert "kopšana mājās" in terms
    assert set(found(directory, "kopšana")) == {HOME_CARE, "Otrā komanda"}

    # Taken out again: no longer found.
    data = term_form(client, home_care)
    data["synonyms_lv"] = "aprūpe mājās"
    assert client.post(f"/en/admin/taxonomy/terms/{home_care}", data=data).status_code == 302
    assert found(directory, "kopšana") == []
    assert HOME_CARE in found(directory, "aprūpe mājās")


def test_the_term_form_keeps_typed_synonyms_on_error(directory):
    with directory.app_context():
        hygiene = term("hygiene").id
    client = admin_client(directory)
    data = term_form(client, hygiene)
    too_many = "\n".join(f"vārds {n}" for n in range(31))
    data.update({"synonyms_lv": too_many, "synonyms_en": "x" * 81, "synonyms_lt": "skalbimas\npirtis"})
    response = client.post(f"/en/admin/taxonomy/terms/{hygiene}", data=data)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#synonyms_lv-error").get_text(strip=True) == "Use at most 30 lines."
    assert page.select_one("#synonyms_en-error").get_text(strip=True) == "Use at most 80 characters on a line."
    assert page.select_one("#synonyms_lv")["aria-invalid"] == "true"
    assert page.select_one("#synonyms_lv").get_text().strip() == too_many
    assert page.select_one("#synonyms_lt").get_text().strip() == "skalbimas\npirtis"
    # Nothing was saved.
    with directory.app_context():
        assert "duša" in db.session.get(TaxonomyTermLabel, (hygiene, "lv")).synonyms.splitlines()

    # A missing name keeps the synonyms typed, too.
    data = term_form(client, hygiene)
    data.update({"label_en": " ", "synonyms_en": "bath\nshower"})
    page = soup(client.post(f"/en/admin/taxonomy/terms/{hygiene}", data=data))
    assert page.select_one("#label_en-error")
    assert page.select_one("#synonyms_en").get_text().strip() == "bath\nshower"


def test_a_new_term_gets_its_synonyms(directory):
    with directory.app_context():
        types = db.session.scalar(select(Taxonomy).where(Taxonomy.code == "service-type"))
    client = admin_client(directory)
    token = csrf_token(client, "/en/admin/taxonomy/service-type/new")
    response = client.post("/en/admin/taxonomy/service-type/new", data={
        "csrf_token": token, "code": "meals-on-wheels", "label_lv": "Ēdiena piegāde", "label_lt": "Maisto pristatymas",
        "label_en": "Meals on wheels", "label_ru": "Доставка еды", "synonyms_ru": "обеды на дом\n",
    })
    assert response.status_code == 302
    with directory.app_context():
        new = db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.taxonomy_id == types.id,
                                                           TaxonomyTerm.code == "meals-on-wheels"))
        labels = {label.locale: label.synonyms for label in new.labels}
    assert labels == {"lv": None, "lt": None, "en": None, "ru": "обеды на дом"}


def test_the_migration_gives_an_existing_install_the_starter_synonyms(directory):
    with directory.app_context():
        hygiene = term("hygiene").id
        db.session.remove()
        downgrade(revision="0014")
        db.engine.dispose()
        # Before: no synonyms; the search document knows the labels only.
        terms = db.session.execute(text(
            "SELECT d.terms FROM service_search_document d JOIN service s ON s.id = d.service_id "
            "WHERE s.name = :name"), {"name": HYGIENE}).scalar()
        assert "Higiēnas pakalpojums" in terms and "skalbimas" not in terms
        db.session.remove()
        upgrade()
        db.engine.dispose()
        label = db.session.get(TaxonomyTermLabel, (hygiene, "lt"))
        assert label.synonyms.splitlines()[:3] == ["dušas", "skalbykla", "skalbimas"]
        terms = db.session.execute(text(
            "SELECT d.terms FROM service_search_document d JOIN service s ON s.id = d.service_id "
            "WHERE s.name = :name"), {"name": HYGIENE}).scalar()
        assert "skalbimas" in terms
        if db.engine.dialect.name == "sqlite":  # the database's own full-text table follows
            hits = db.session.execute(text("SELECT count(*) FROM service_fts WHERE service_fts MATCH 'skalbimas'"))
        else:
            hits = db.session.execute(text(
                "SELECT count(*) FROM service_search WHERE document @@ to_tsquery('simple', 'skalbimas')"))
        assert hits.scalar() == 1


def test_every_starter_term_has_a_few_synonyms_in_every_language(seeded_app):
    with seeded_app.app_context():
        labels = db.session.scalars(select(TaxonomyTermLabel)).all()
        assert len(labels) == 4 * len(db.session.scalars(select(TaxonomyTerm.id)).all()) > 0
        for label in labels:
            words = (label.synonyms or "").splitlines()
            assert 3 <= len(words) <= 8 and all(len(w) <= 80 for w in words), (label.term_id, label.locale)


# ------------------------------------------------------------ search_language


@pytest.mark.parametrize("word, expected", [
    ("пожилых", "пожил"),  # Russian Snowball
    ("дневной", "дневн"),
    ("ёлки", "елк"),  # ё read as е
    ("skalbimas", "skalbim"),  # Lithuanian Snowball
    ("senjorams", "senjor"),
    ("namuose", "namu"),  # Lithuanian "nam": too short for a Latin-script word
    ("šunimis", "sunim"),  # Lithuanian "šun": too short
    ("zzedit", "zzedit"),  # no inflected ending: left whole
    ("elderly", "elder"),  # English Snowball
    ("mājās", "maja"),  # Latvian light stem, folded
    ("laundry", "laundr"),  # not Snowball English "laundri": a prefix of the word only
    ("krīzes", "kriz"),
])
def test_alternatives(word, expected):
    assert alternatives(word) == (expected,)


@pytest.mark.parametrize("word", ["laundry", "vaikučiai", "pagyvenę", "užimtumas", "мастерская", "families",
                                  "happy", "ёжик", "centrs", "x", "ir"])
def test_alternatives_are_prefixes_of_the_folded_word(word):
    for alternative in alternatives(word):
        assert fold(word).startswith(alternative)
        assert len(alternative) >= 3 or alternative == fold(word)


def test_cyrillic_words_get_the_russian_stemmer_and_latin_ones_the_others():
    assert snowball_stems("пожилых") == ["пожил"]
    assert snowball_stems("skalbimas") == ["skalbim", "skalbima"]  # Lithuanian, English


def test_search_terms_drop_stopwords_and_keep_the_limit():
    assert search_terms("для пожилых") == [("пожил",)]
    assert search_terms("care at home") == [("care",), ("home",)]
    assert search_terms("pagalba į namus") == [("pagalb",), ("namu",)]
    assert search_terms("уход на дому") == [("уход",), ("дом",)]
    assert search_terms("un ar par") == [("un",), ("ar",), ("par",)]  # nothing else: kept
    assert search_terms("и") == [("и",)]
    assert search_terms('"dienas" AND (krīz* OR NEAR(x)) -') == [("dien",), ("kriz",), ("near",), ("x",)]
    assert len(search_terms(" ".join(f"vārds{n}" for n in range(30)))) == MAX_QUERY_TERMS
    assert search_terms("---") == []


def test_stemmers_are_used_from_many_threads():
    words = ["skalbimas", "пожилых", "senjorams", "дневной", "namuose", "laundry"] * 50
    expected = [snowball_stems(word) for word in words]
    results, errors = [], []

    def stem_all():
        try:
            results.append([snowball_stems(word) for word in words])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=stem_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [expected] * 8


def test_synonym_lines():
    assert search_language.synonym_lines(" a  b \n\nA B\nc\r\n") == ["a b", "c"]
    assert search_language.synonyms_text([]) is None
