"""The configured languages: complete catalogues, the language in the URL, plural forms."""

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from flask_babel import ngettext

from conftest import soup
from directory.config import LANGUAGES  # each configured language needs a complete catalogue

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages the code uses now, extracted as `make extract-messages` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "translations/babel.cfg"),
         "-k", "_l", "-k", "lazy_ngettext:1,2", "-o", str(pot), str(ROOT)]
    )
    with pot.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.same_on_every_database
def test_catalogue_is_complete(extracted, lang):
    with (ROOT / f"translations/{lang}/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=lang)
    assert len(extracted) > 50
    problems = []
    for message in extracted:
        translated = catalogue.get(message.id)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif isinstance(translated.string, tuple):
            if len(translated.string) != catalogue.num_plurals or not all(s.strip() for s in translated.string):
                problems.append(f"plural forms incomplete: {message.id!r}")
        elif not translated.string.strip():
            problems.append(f"empty: {message.id!r}")
        elif translated.python_format and set(_placeholders(translated.string)) != set(_placeholders(message.id)):
            problems.append(f"placeholders differ: {message.id!r}")
    assert problems == []


def _placeholders(text):
    import re

    return re.findall(r"%\(\w+\)[sd]", text)


@pytest.mark.parametrize(
    "lang, heading, search_button",
    [
        ("lv", "Atrodiet sociālo pakalpojumu", "Meklēt"),
        ("en", "Find a social service", "Search"),
    ],
)
def test_each_language_home_page_speaks_it(client, lang, heading, search_button):
    page = soup(client.get(f"/{lang}/"))
    assert page.html["lang"] == lang
    assert page.h1.get_text(strip=True) == heading
    assert page.select_one("#search-form button[type=submit]").get_text(strip=True) == search_button


def test_lithuanian_and_russian_pages_are_translated(client):
    english = soup(client.get("/en/"))
    for lang in ("lt", "ru"):
        page = soup(client.get(f"/{lang}/"))
        assert page.html["lang"] == lang
        for selector in ("h1", "#search-form button[type=submit]", "label[for=q]", "#results-heading"):
            assert page.select_one(selector).get_text(strip=True) != english.select_one(selector).get_text(strip=True), (lang, selector)
    # Cyrillic on the Russian page.
    assert any("а" <= ch <= "я" for ch in soup(client.get("/ru/")).h1.get_text())


def test_taxonomy_labels_follow_the_language(client):
    page = soup(client.get("/lt/?type=hygiene"))
    assert "Asmens higienos paslaugos" in page.select_one(".result .tags").text
    page = soup(client.get("/ru/?type=day-centre"))
    assert "Дневной центр" in page.select_one(".result .tags").text
    # The centre's own text stays in Latvian and says so.
    link = page.select_one(".result h3 a")
    assert link["lang"] == "lv"


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("lv", {0: "0 pakalpojumu atrasts", 1: "1 pakalpojums atrasts", 2: "2 pakalpojumi atrasti",
                5: "5 pakalpojumi atrasti", 11: "11 pakalpojumi atrasti", 21: "21 pakalpojums atrasts"}),
        ("lt", {0: "0 paslaugų rasta", 1: "1 paslauga rasta", 2: "2 paslaugos rastos",
                5: "5 paslaugos rastos", 11: "11 paslaugų rasta", 21: "21 paslauga rasta"}),
        ("ru", {0: "Найдено 0 услуг", 1: "Найдена 1 услуга", 2: "Найдено 2 услуги",
                5: "Найдено 5 услуг", 11: "Найдено 11 услуг", 21: "Найдена 21 услуга"}),
        ("en", {0: "0 services found", 1: "1 service found", 2: "2 services found",
                5: "5 services found", 11: "11 services found", 21: "21 services found"}),
    ],
)
def test_plural_forms(seeded_app, lang, expected):
    with seeded_app.test_request_context(f"/{lang}/"):
        from flask import g

        g.lang = lang
        for number, text in expected.items():
            assert ngettext("%(num)d service found", "%(num)d services found", number) == text


def test_switcher_keeps_the_page_and_query(client):
    page = soup(client.get("/lv/?q=dienas&type=day-centre"))
    links = {a["hreflang"]: a["href"] for a in page.select(".language-switcher a")}
    assert links == {
        "lt": "/lt/?q=dienas&type=day-centre",
        "en": "/en/?q=dienas&type=day-centre",
        "ru": "/ru/?q=dienas&type=day-centre",
    }
    assert page.select_one(".language-switcher [aria-current]").get_text(strip=True) == "Latviešu"
    centre = soup(client.get("/ru/centres/saskarsme"))
    assert centre.select_one('.language-switcher a[hreflang="lv"]')["href"] == "/lv/centres/saskarsme"
    alternates = {link["hreflang"]: link["href"] for link in centre.select('link[rel="alternate"]')}
    assert alternates["lt"] == "http://localhost/lt/centres/saskarsme"
    assert set(alternates) == set(LANGUAGES)


@pytest.mark.parametrize(
    "header, target",
    [
        ("lt-LT,lt;q=0.9,en;q=0.5", "/lt/"),
        ("ru", "/ru/"),
        ("en-GB,en;q=0.8", "/en/"),
        ("de-DE,fr;q=0.5", "/lv/"),
        ("", "/lv/"),
    ],
)
def test_root_negotiates_the_language(client, header, target):
    response = client.get("/", headers={"Accept-Language": header} if header else {})
    assert response.status_code == 302 and response.headers["Location"] == target


def test_dates_and_numbers_follow_the_locale(seeded_app):
    client = seeded_app.test_client()
    lv = soup(client.get("/lv/sources/000_67ca51d3bbea5567.txt")).text
    en = soup(client.get("/en/sources/000_67ca51d3bbea5567.txt")).text
    assert "2021. gada 7. septembris" in lv
    assert "September 7, 2021" in en
