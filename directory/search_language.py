"""A query in any of the directory's four languages: which of its words
count, and what each may match.

A resident types Latvian, Lithuanian, English or Russian, whatever language
a listing is written in; the taxonomy's labels and synonyms in all four
are part of every service's words (facet_build, full_text), so the query
only has to meet them half-way:

- small words (`для`, `at`, `ir`, `un`…) are dropped, unless the query is
  nothing else;
- each word may match by any of its *alternatives*: the word itself, the
  light Latvian/Lithuanian stem (light_stem), the Lithuanian Snowball
  stem of a Latin-script word, the Russian one of a Cyrillic word (ё read
  as е), the English one. Words are matched as prefixes of a document's
  words, so a stem is kept only when it is a prefix of the folded word
  (Snowball's English turns "laundry" into "laundri", which would find
  nothing) and long enough (_usable_stems).

Plain functions; the stemmers (PyStemmer) are not thread-safe, so each
thread has its own.
"""

from __future__ import annotations

import functools
import threading
import unicodedata

import Stemmer

from .full_text import WORD, query_words
from .textnorm import strip_diacritics

MIN_STEM = 3  # letters of a Russian stem
MIN_LATIN_STEM = 4  # of a Lithuanian or English one (as search.light_stem's)
# How a Latin-script word that Snowball may stem ends (folded): the
# Lithuanian and Latvian inflections end in a vowel or s, as English plurals do.
INFLECTED_ENDINGS = frozenset("aeiouys")

# Words that say nothing about a service, per language (as typed; folded
# below as query words are). Kept small: a word here is never searched for.
STOPWORDS = {
    "lv": ("un", "ar", "par", "uz", "pie", "no", "vai", "kā", "kas", "priekš", "pēc"),
    "lt": ("ir", "su", "į", "prie", "iš", "nuo", "už", "apie", "per", "po", "dėl", "iki", "ar"),
    "en": ("the", "a", "an", "at", "for", "of", "in", "on", "with", "to", "and", "or", "by", "from", "my", "me"),
    "ru": ("в", "во", "на", "для", "и", "с", "со", "по", "у", "к", "ко", "от", "из", "о", "об", "при", "до",
           "за", "или", "а", "мне", "меня"),
}


# Synonyms of a term's label: one per line, stored as text.
MAX_SYNONYMS = 30
MAX_SYNONYM_LENGTH = 80


def synonym_lines(value: str | None) -> list[str]:
    """The synonyms of a stored or typed text: one per line, trimmed, inner
    spaces collapsed, empty lines and repeats (ignoring case) left out."""
    found: list[str] = []
    seen: set[str] = set()
    for line in (value or "").splitlines():
        line = " ".join(line.split())
        if line and line.casefold() not in seen:
            seen.add(line.casefold())
            found.append(line)
    return found


def synonyms_text(synonyms) -> str | None:
    """How a list of synonyms is stored (None for none)."""
    lines = synonym_lines("\n".join(synonyms))
    return "\n".join(lines) if lines else None


def fold(word: str) -> str:
    """A word as query_words and the index fold it (case and diacritics)."""
    return "".join(query_words(word))


# Latvian and Lithuanian case endings, longest first, without diacritics.
_ENDINGS = sorted(
    {
        "iem", "ams", "ems", "ims", "oms", "ose", "yse", "uose", "ius", "ais",
        "am", "em", "im", "um", "os", "as", "es", "is", "us", "ys", "ai", "ei", "ui",
        "s", "a", "e", "i", "u", "o", "y",
    },
    key=len,
    reverse=True,
)
_MIN_LIGHT_STEM = MIN_LATIN_STEM


def light_stem(word: str) -> str:
    """Drop one inflection ending so that 'krīzes' finds 'krīzes centrs' and
    'seniori' finds 'senioriem'; matching is by prefix, so the stem suffices."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_LIGHT_STEM:
            return word[: -len(ending)]
    return word


ALL_STOPWORDS = frozenset(fold(word) for words in STOPWORDS.values() for word in words)

_local = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    """This thread's stemmer for `language` (PyStemmer objects must not be
    shared between threads)."""
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if language not in stemmers:
        stemmers[language] = Stemmer.Stemmer(language)
    return stemmers[language]


def is_cyrillic(word: str) -> bool:
    return any("CYRILLIC" in unicodedata.name(char, "") for char in word)


def snowball_stems(word: str) -> list[str]:
    """Snowball stems of a casefolded word (diacritics kept: the stemmers
    need them): Russian for a Cyrillic word, else Lithuanian and English."""
    if is_cyrillic(word):
        return [_stemmer("russian").stemWord(word.replace("ё", "е"))]
    return [_stemmer("lithuanian").stemWord(word), _stemmer("english").stemWord(word)]


def _usable_stems(word: str, folded: str) -> list[str]:
    """The Snowball stems of `word` worth matching by: prefixes of the folded
    word, at least MIN_STEM letters (Russian) or MIN_LATIN_STEM (Latin
    script, where three letters begin too many words of four languages:
    "car", "hom"), and for a Latin-script word only when it ends as an
    inflected word does (a vowel or s): "zzedit" or "help" are left whole."""
    if is_cyrillic(word):
        shortest = MIN_STEM
    elif folded[-1] in INFLECTED_ENDINGS:
        shortest = MIN_LATIN_STEM
    else:
        return []
    stems = (fold(stem) for stem in snowball_stems(word))
    return [stem for stem in stems if len(stem) >= shortest and folded.startswith(stem)]


@functools.lru_cache(maxsize=4096)
def alternatives(word: str) -> tuple[str, ...]:
    """What a query word (casefolded, diacritics kept) may match, folded:
    the shortest of the word, its light stem and its usable Snowball stems.
    Every one is a prefix of the folded word, so any document word a longer
    one begins also begins with the shortest: one is enough (a term is a
    tuple so that alternatives that are not prefixes of each other could
    join it; search.match_terms ORs them)."""
    folded = fold(word)
    if not folded:
        return ()
    candidates = [folded, light_stem(folded), *_usable_stems(word, folded)]
    return (min(candidates, key=len),)


def content_words(words: list[str]) -> list[str]:
    """The words of a query without its stopwords; all of them when the
    query is nothing but stopwords (a search for "и" still searches)."""
    kept = [word for word in words if fold(word) not in ALL_STOPWORDS]
    return kept or list(words)


def raw_words(q: str) -> list[str]:
    """The query's words, casefolded with their diacritics; a word that
    folds into several (rare) becomes those several, as documents do."""
    found: list[str] = []
    for word in WORD.findall(unicodedata.normalize("NFC", q).casefold()):
        parts = WORD.findall(strip_diacritics(word))
        if len(parts) == 1:
            found.append(word)
        else:
            found.extend(parts)
    return found


def search_terms(q: str, limit: int) -> list[tuple[str, ...]]:
    """The query's terms, at most `limit`, in the order typed: for each
    content word, the prefixes that may match it (a term matches a service
    when any of its alternatives begins one of its words; every term must
    match). Letters and digits only: operators and quotes are never parsed."""
    terms: list[tuple[str, ...]] = []
    for word in content_words(raw_words(q)):
        term = alternatives(word)
        if term and term not in terms:
            terms.append(term)
    return terms[:limit]
