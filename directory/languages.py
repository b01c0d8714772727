"""Languages as Open Referral HSDS publishers give them, read as the code the
directory stores.

HSDS's `language.code` may be ISO 639-1 ("lv") or ISO 639-3 ("lav"), and
publishers also write ISO 639-2/B codes ("ger"), locale tags ("lv-LV",
"lv_LV"), upper case, or leave the code empty and give only a name
("Latvian", "latviešu", "латышский"). The search's language filter and its
facet count ISO 639-1 codes, so a service published with `lav` must be
stored as `lv` or it is never found by "Latvian". The rule, the same as
`Language.code`'s:

- a language with an ISO 639-1 code is stored as that code ("lav", "LV",
  "lv-LV" -> "lv"; "ger", "deu" -> "de");
- an ISO 639-3 language without one keeps its 3-letter code ("ltg"
  Latgalian, "sgs" Samogitian, "lsl" Latvian Sign Language), and so does an
  ISO 639-2/639-5 collective code ("sgn" sign languages, "bat" Baltic
  languages);
- a code that is none of these is a problem to report, never a guess;
- only when the code is empty is the name read: its English name, its own
  name, or its name in Latvian, Lithuanian, Russian, Estonian, Polish or
  German (case-insensitive, surrounding and repeated whitespace ignored, but
  letters exact: "latviesu" is not "latviešu"). A name that matches no
  language, or that names two different ones, gives no code: the name is
  kept as given and no language is guessed.

When both are given the code wins: the name is not compared with it.

The ISO 639 tables come from pycountry (Debian's iso-codes data): ISO 639-3
with each language's 639-1, 639-2/T and 639-2/B codes, ISO 639-5 families,
and translations of their names. Display names come from Babel (CLDR),
which names the common languages in each locale; pycountry's translations and
its English names cover the rest.

Both tables are built once per process (about 0.4 s, a quarter of it pycountry
reading its JSON); after that every call is a few dictionary look-ups.
"""

from __future__ import annotations

import gettext
import re
from collections import defaultdict
from functools import cache

import pycountry
from babel import Locale
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

# Locales whose whole list of language names is read (the region's
# languages, English and the neighbours').
NAME_LOCALES = ("en", "lv", "lt", "ru", "et", "pl", "de")
# Languages whose own name ("українська") is read too, beyond NAME_LOCALES:
# those the region's services are most often asked for. Reading every
# locale Babel has would take most of a second.
OWN_NAME_LOCALES = ("uk", "be", "fi", "sv", "no", "fr", "es", "it", "he", "ar")

# A primary language subtag, then any region or script after "-" or "_".
_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*")


def normalise_language(code: str | None, name: str | None) -> tuple[str | None, LazyString | None]:
    """(code to store, problem) for a language given as an HSDS code and/or
    name. The problem is a lazy translated message, only for a code that is
    not an ISO 639 code; an empty code with a name no language is known by
    gives (None, None)."""
    code = (code or "").strip()
    if code:
        found = _code(code)
        if found is None:
            return None, _l("Not an ISO 639 language code (such as lv or ltg).")
        return found, None
    if name and name.strip():
        return _names().get(_name_key(name)), None
    return None, None


def language_name(code: str | None, locale: str | Locale) -> str | None:
    """The language's name in `locale` ("lv", "lt", "en", "ru"...): Babel's
    (CLDR) name, else pycountry's translation of the ISO name, else the ISO
    639 English name; the code itself when no table knows it, None for no
    code. Accepts any form `normalise_language` does ("lav", "lv-LV")."""
    if not code or not code.strip():
        return None
    stored = _code(code.strip()) or code.strip()
    locale = str(locale)
    babel_name = _babel_names(locale).get(stored)
    if babel_name:
        return babel_name
    english = _iso_names().get(stored)
    if english is None:
        return stored
    domain = "iso639-5" if stored in _families() else "iso639-3"
    return _iso_translation(domain, locale).gettext(english)


def _code(value: str) -> str | None:
    """The stored form of an ISO 639 code or a tag starting with one."""
    match = _TAG.fullmatch(value)
    return _codes().get(match.group(1).lower()) if match else None


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@cache
def _codes() -> dict[str, str]:
    """Every ISO 639 code pycountry knows, lower case -> stored code: 639-1
    as itself, 639-3 and 639-2 T/B as the 639-1 code when there is one."""
    codes: dict[str, str] = {}
    for language in pycountry.languages:
        stored = getattr(language, "alpha_2", None) or language.alpha_3
        for form in (stored, language.alpha_3, getattr(language, "bibliographic", None)):
            if form:
                codes[form] = stored
    for family in pycountry.language_families:
        codes.setdefault(family.alpha_3, family.alpha_3)
    return codes


@cache
def _families() -> frozenset[str]:
    return frozenset(family.alpha_3 for family in pycountry.language_families)


@cache
def _iso_names() -> dict[str, str]:
    """Stored code -> ISO 639-3 (or 639-5) English name."""
    names = {family.alpha_3: family.name for family in pycountry.language_families}
    for language in pycountry.languages:
        names[getattr(language, "alpha_2", None) or language.alpha_3] = language.name
    return names


@cache
def _names() -> dict[str, str]:
    """Language name (casefolded, whitespace collapsed) -> stored code.

    Babel's names come first: those of NAME_LOCALES and each language's own
    name. The ISO English names fill in the names Babel does not use. A name
    that two sources give to different languages ("ruanda": Kinyarwanda in
    Latvian, Rwa in Estonian) is left out rather than guessed."""
    babel: defaultdict[str, set[str]] = defaultdict(set)

    def add(key: str, name: str) -> None:
        stored = _code(key) if "_" not in key else None  # en_GB etc.: variants, not languages
        if stored and name:
            babel[_name_key(name)].add(stored)

    for locale in NAME_LOCALES:
        for key, name in Locale.parse(locale).languages.items():
            add(key, name)
    for locale in OWN_NAME_LOCALES:
        add(locale, Locale.parse(locale).languages.get(locale, ""))

    iso: defaultdict[str, set[str]] = defaultdict(set)
    for stored, name in _iso_names().items():
        iso[_name_key(name)].add(stored)
    found = {key: next(iter(c)) for key, c in iso.items() if len(c) == 1 and key not in babel}
    found.update((key, next(iter(c))) for key, c in babel.items() if len(c) == 1)
    return found


@cache
def _babel_names(locale: str) -> dict[str, str]:
    return dict(Locale.parse(locale.replace("-", "_")).languages)


@cache
def _iso_translation(domain: str, locale: str) -> gettext.NullTranslations:
    return gettext.translation(
        domain, pycountry.LOCALES_DIR, languages=[locale.replace("-", "_")], fallback=True
    )
