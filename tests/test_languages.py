"""Languages as HSDS publishers give them -> the code the directory stores
(ISO 639-1 where there is one, else ISO 639-3), and display names."""

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from directory.languages import language_name, normalise_language

pytestmark = pytest.mark.same_on_every_database


@pytest.mark.parametrize(
    "code, expected",
    [
        # ISO 639-1, any case, with a region or script after - or _
        ("lv", "lv"), ("LV", "lv"), ("lv-LV", "lv"), ("lv_LV", "lv"), (" lt ", "lt"),
        ("ru-RU", "ru"), ("zh-Hant-TW", "zh"),
        # ISO 639-3 / 639-2/T and 639-2/B -> the 639-1 code
        ("lav", "lv"), ("LAV", "lv"), ("lit", "lt"), ("eng", "en"), ("rus", "ru"),
        ("est", "et"), ("pol", "pl"), ("ukr", "uk"), ("deu", "de"), ("ger", "de"),
        ("fre", "fr"), ("lav-LV", "lv"),
        # ISO 639-3 languages without a 639-1 code keep their 3 letters
        ("ltg", "ltg"), ("sgs", "sgs"), ("lsl", "lsl"), ("lls", "lls"), ("LTG", "ltg"),
        # ISO 639-2/639-5 collective codes
        ("sgn", "sgn"), ("bat", "bat"),
    ],
)
def test_codes(code, expected):
    assert normalise_language(code, None) == (expected, None)


@pytest.mark.parametrize("code", ["xx", "zzz", "qaa", "latvian", "lv-", "l", "lvxx", "1v", "x-klingon", "ļv"])
def test_not_an_iso_code_is_a_problem(code):
    stored, problem = normalise_language(code, None)
    assert stored is None
    assert problem is not None


def test_problem_is_a_lazy_translated_message():
    app = Flask(__name__)
    Babel(app)
    _, problem = normalise_language("xx", "Latvian")  # a bad code is not excused by a good name
    with app.app_context(), force_locale("lv"):
        assert "ISO 639" in str(problem)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Latvian", "lv"), ("latviešu", "lv"), ("latvių", "lv"), ("латышский", "lv"),
        ("Lettisch", "lv"), ("läti", "lv"), ("łotewski", "lv"),
        ("English", "en"), ("angļu", "en"), ("anglų", "en"), ("английский", "en"),
        ("Russian", "ru"), ("русский", "ru"), ("krievu", "ru"), ("rusų", "ru"),
        ("Lithuanian", "lt"), ("lietuvių", "lt"), ("lietuviešu", "lt"), ("литовский", "lt"),
        ("Polish", "pl"), ("polski", "pl"), ("Estonian", "et"), ("eesti", "et"),
        ("Ukrainian", "uk"), ("українська", "uk"), ("ukraiņu", "uk"), ("беларуская", "be"),
        ("Latgalian", "ltg"), ("latgalių", "ltg"), ("Samogitian", "sgs"), ("žemaičių", "sgs"),
        ("Latvian Sign Language", "lsl"),  # an ISO 639-3 English name
        # case and whitespace do not matter
        ("LATVIAN", "lv"), ("  Latviešu ", "lv"), ("Latvian  Sign\tLanguage", "lsl"),
    ],
)
def test_names_when_the_code_is_empty(name, expected):
    assert normalise_language(None, name) == (expected, None)
    assert normalise_language("", name) == (expected, None)
    assert normalise_language("  ", name) == (expected, None)


@pytest.mark.parametrize(
    "name",
    [
        "Klingonese", "latviesu",  # letters are matched exactly, no guessing
        "Sign language",  # which one? (Latvian Sign Language is lsl, Lithuanian lls)
        "ruanda",  # Kinyarwanda in Latvian, Rwa in Estonian: two languages
        "", "   ", None,
    ],
)
def test_names_that_match_nothing_give_nothing(name):
    assert normalise_language(None, name) == (None, None)


def test_the_code_wins_over_the_name():
    assert normalise_language("ru", "Latvian") == ("ru", None)
    assert normalise_language("lav", "русский") == ("lv", None)


def test_nothing_given():
    assert normalise_language(None, None) == (None, None)


@pytest.mark.parametrize(
    "code, locale, expected",
    [
        ("lv", "lv", "latviešu"), ("lv", "lt", "latvių"), ("lv", "en", "Latvian"), ("lv", "ru", "латышский"),
        ("lt", "lv", "lietuviešu"), ("ru", "en", "Russian"),
        ("sgs", "lt", "žemaičių"),  # Babel's (CLDR) name
        ("lsl", "lt", "Latvių gestų kalba"),  # pycountry's translation of the ISO name
        ("ltg", "lv", "Latgalian"),  # neither has a Latvian name: the ISO 639-3 English name
        ("lsl", "en", "Latvian Sign Language"),
        ("sgn", "en", "sign languages"),  # ISO 639-5
        ("lav", "en", "Latvian"),  # any form normalise_language reads
    ],
)
def test_language_name(code, locale, expected):
    assert language_name(code, locale) == expected


def test_language_name_of_nothing_or_an_unknown_code():
    assert language_name(None, "lv") is None
    assert language_name("", "lv") is None
    assert language_name("zzz", "lv") == "zzz"


def test_language_name_takes_a_babel_locale():
    from babel import Locale

    assert language_name("lt", Locale("ru")) == "литовский"
